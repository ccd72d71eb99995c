// The browser chat page: the typed client (clients/typescript) against the chat example's
// protocol (protocol.ts). Bundled into dist/chat.js by `npm run bundle` in clients/typescript.
import { Client, ClientError, RpcError } from "../../clients/typescript/src/index.ts";
import {
  History,
  JoinRoom,
  ListMembers,
  NewMessage,
  SendMessage,
  UserJoined,
  UserLeft,
} from "./protocol.ts";

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const log = $<HTMLUListElement>("#log");
const banner = $<HTMLDivElement>("#banner");
const errorBox = $<HTMLDivElement>("#error");
const stateBadge = $<HTMLSpanElement>("#state");
const joinForm = $<HTMLFormElement>("#join");
const sayForm = $<HTMLFormElement>("#say");
const whoForm = $<HTMLFormElement>("#who");
const histForm = $<HTMLFormElement>("#hist");
const membersList = $<HTMLUListElement>("#members");
const progress = $<HTMLProgressElement>("#history-progress");
const historyList = $<HTMLUListElement>("#history");
const historyStatus = $<HTMLDivElement>("#history-status");

let client: Client | undefined;
let room = "";
let wasOpen = false;

function line(text: string, user?: string): void {
  const li = document.createElement("li");
  if (user === undefined) {
    li.className = "system";
    li.textContent = text;
  } else {
    const b = document.createElement("b");
    b.textContent = `${user}: `;
    li.append(b, text);
  }
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

function showError(message: string | undefined): void {
  errorBox.hidden = message === undefined;
  errorBox.textContent = message ?? "";
}

function enable(on: boolean): void {
  for (const form of [sayForm, whoForm, histForm]) {
    for (const el of form.querySelectorAll<HTMLInputElement | HTMLButtonElement>("input, button")) {
      el.disabled = !on;
    }
  }
}

function describe(e: unknown): string {
  if (e instanceof RpcError) return `${e.code}: ${e.message}`;
  if (e instanceof ClientError) return `${e.kind}: ${e.message}`;
  return String(e);
}

async function refreshMembers(): Promise<void> {
  if (!client) return;
  try {
    const { members } = await client.request(ListMembers, { roomId: room }, { timeoutMs: 5000 });
    membersList.replaceChildren(
      ...members.map((m) => Object.assign(document.createElement("li"), { textContent: m })),
    );
  } catch (e) {
    showError(`Who is here failed: ${describe(e)}`);
  }
}

/** Does the server know this token? (A browser is not told why an upgrade was refused.) */
async function tokenRefused(token: string): Promise<boolean> {
  const r = await fetch("/whoami", { headers: { authorization: `Bearer ${token}` } });
  return r.status === 401;
}

async function join(token: string, roomId: string): Promise<void> {
  await client?.close();
  showError(undefined);
  log.replaceChildren();
  membersList.replaceChildren();
  room = roomId;
  wasOpen = false;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const c = new Client({
    url: `${scheme}://${location.host}/`,
    token,
    isRejected: () => tokenRefused(token),
    onGap: (g) =>
      line(`back after ${(g.offlineMs / 1000).toFixed(1)} s (${g.attempts} attempt(s)): you may have missed messages`),
    onError: (r) => {
      if (r.kind === "server-error") showError(`Server: ${r.error.code}: ${r.error.message}`);
    },
  });
  client = c;
  c.onState((s) => {
    stateBadge.textContent = s;
    stateBadge.dataset.state = s;
    if (s === "open") {
      banner.hidden = true;
      enable(true);
      if (wasOpen) {
        line("reconnected: joined again");
        void refreshMembers();
      }
      wasOpen = true;
    } else {
      enable(false);
      banner.hidden = !(wasOpen && (s === "reconnecting" || s === "connecting"));
    }
  });
  c.on(NewMessage, (m) => m.roomId === room && line(m.text, m.user));
  c.on(UserJoined, (m) => {
    if (m.roomId !== room) return;
    line(`${m.user} joined`);
    void refreshMembers();
  });
  c.on(UserLeft, (m) => {
    if (m.roomId !== room) return;
    line(`${m.user} left`);
    void refreshMembers();
  });
  // A subscription: sent on open, and again after every reconnect.
  c.send(JoinRoom, { roomId });
  try {
    await c.connect();
  } catch (e) {
    if (client !== c) return;
    showError(
      e instanceof ClientError && e.kind === "rejected"
        ? "Bad token: the server refused it (401 Unauthorized)."
        : `Cannot connect: ${describe(e)}`,
    );
    return;
  }
  const who = await fetch("/whoami", { headers: { authorization: `Bearer ${token}` } });
  $<HTMLSpanElement>("#whoami").textContent = who.ok ? `as ${await who.text()} in #${roomId}` : "";
  line(`joined #${roomId}`);
  await refreshMembers();
}

joinForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const data = new FormData(joinForm);
  void join(String(data.get("token") ?? ""), String(data.get("room") ?? ""));
});

sayForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const input = sayForm.elements.namedItem("text") as HTMLInputElement;
  const text = input.value.trim();
  if (!client || text === "") return;
  try {
    client.send(SendMessage, { roomId: room, text });
    input.value = "";
  } catch (err) {
    showError(`Not sent: ${describe(err)}`);
  }
});

whoForm.addEventListener("submit", (e) => {
  e.preventDefault();
  void refreshMembers();
});

histForm.addEventListener("submit", (e) => {
  e.preventDefault();
  if (!client) return;
  historyList.replaceChildren();
  progress.value = 0;
  progress.dataset.updates = "0";
  client
    .request(History, { roomId: room }, {
      timeoutMs: 10_000,
      onProgress: ({ done, total }) => {
        progress.max = Math.max(total, 1);
        progress.value = done;
        progress.dataset.updates = String(Number(progress.dataset.updates) + 1);
        progress.dataset.done = `${done}/${total}`;
        historyStatus.textContent = `${done} of ${total} lines`;
      },
    })
    .then((page) => {
      historyList.replaceChildren(
        ...page.lines.map((l) =>
          Object.assign(document.createElement("li"), { textContent: `${l.user}: ${l.text}` }),
        ),
      );
      progress.dataset.finished = "true";
    })
    .catch((err) => showError(`History failed: ${describe(err)}`));
});

// ?token=...&room=... joins at once (the browser tests use it).
const params = new URLSearchParams(location.search);
const token = params.get("token");
if (token !== null) {
  (joinForm.elements.namedItem("token") as HTMLInputElement).value = token;
  const r = params.get("room");
  if (r) (joinForm.elements.namedItem("room") as HTMLInputElement).value = r;
  joinForm.requestSubmit();
}
