// The client against the real Rust chat server (target/debug/examples/chat) on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";

import {
  Client,
  ClientError,
  type ClientOptions,
  type ClientReport,
  type ConnectionState,
  type Gap,
  RpcError,
  ValidationError,
} from "../src/index.ts";
import {
  History,
  JoinRoom,
  LeaveRoom,
  ListMembers,
  NewMessage,
  SendMessage,
  UserJoined,
} from "../../../examples/web/protocol.ts";
import { type ChatServer, startChat } from "./chat-server.mjs";

let server: ChatServer;
beforeAll(async () => {
  server = await startChat();
});
afterAll(async () => {
  await server?.stop();
});

/** Resolves with the first value `arm` hands to its callback, or fails after `ms`. */
function next<T>(arm: (cb: (v: T) => void) => void, what: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    arm((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/** Resolves once `client` is in `state`. */
function reaches(client: Client, state: ConnectionState, ms = 15_000): Promise<void> {
  if (client.state === state) return Promise.resolve();
  return next<void>((cb) => {
    const off = client.onState((s) => {
      if (s === state) {
        off();
        cb();
      }
    });
  }, `state ${state}`, ms);
}

/** A WebSocket that records the frames its client writes and reads. */
function recordingSocket(sent: string[], received: string[]): typeof WebSocket {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (e) => received.push(String(e.data)));
    }
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      sent.push(String(data));
      super.send(data);
    }
  };
}

const clients: Client[] = [];
function client(token: string, extra: Partial<ClientOptions> = {}, url = server.wsUrl): Client {
  const c = new Client({ url, token, ...extra });
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The members of `room` as `client` asks for them, once there are `n` (joins on other
 * connections are handled in their own order). */
async function members(client: Client, room: string, n: number): Promise<string[]> {
  for (let i = 0; ; i++) {
    const m = await client.request(ListMembers, { roomId: room }).catch(() => ({ members: [] }));
    if (m.members.length >= n || i === 100) return m.members;
    await sleep(20);
  }
}

describe("chat over the Rust server", () => {
  test("join, publish seen by a second client, members rpc", async () => {
    const room = "lobby";
    const alice = client("alice-token"); // token as ?access_token=
    const bob = client("bob-token", { tokenTransport: "subprotocol" }); // bearer.bob-token
    alice.send(JoinRoom, { roomId: room });
    await alice.connect();
    expect(alice.state).toBe("open");

    const bobJoined = next<{ user: string }>((cb) => alice.on(UserJoined, cb), "USER_JOINED");
    bob.send(JoinRoom, { roomId: room });
    await bob.connect();
    expect((await bobJoined).user).toBe("bob");

    const line = next<{ roomId: string; user: string; text: string }>(
      (cb) => bob.on(NewMessage, cb),
      "NEW_MESSAGE",
    );
    alice.send(SendMessage, { roomId: room, text: "hello bob" });
    expect(await line).toEqual({ roomId: room, user: "alice", text: "hello bob" });

    const members = await alice.request(ListMembers, { roomId: room });
    expect(members).toEqual({ roomId: room, members: ["alice", "bob"] });
  });

  test("on open, subscriptions go before what a state listener sends", async () => {
    const sent: string[] = [];
    const dave = client("carol-token", { WebSocket: recordingSocket(sent, []) });
    let reply: Promise<unknown> | undefined;
    dave.onState((s) => {
      if (s === "open") reply = dave.request(ListMembers, { roomId: "order" });
    });
    dave.send(JoinRoom, { roomId: "order" });
    await dave.connect();
    expect(await reply).toEqual({ roomId: "order", members: ["carol"] });
    expect(sent.map((s) => JSON.parse(s).type)).toEqual(["JOIN_ROOM", "LIST_MEMBERS"]);
  });

  test("history with progress updates", async () => {
    const room = "progress";
    const alice = client("alice-token");
    alice.send(JoinRoom, { roomId: room });
    await alice.connect();
    const seen = next<void>((cb) => {
      let n = 0;
      alice.on(NewMessage, () => ++n === 12 && cb());
    }, "12 lines");
    for (let i = 1; i <= 12; i++) alice.send(SendMessage, { roomId: room, text: `line ${i}` });
    await seen;

    const updates: { done: number; total: number }[] = [];
    const page = await alice.request(History, { roomId: room }, { onProgress: (u) => updates.push(u) });
    expect(page.roomId).toBe(room);
    expect(page.lines.map((l) => l.text)).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i + 1}`));
    expect(page.lines.every((l) => l.user === "alice")).toBe(true);
    // Pages of 5 lines: 0, 5, 10, 12 of 12, all before the reply.
    expect(updates).toEqual([
      { done: 0, total: 12 },
      { done: 5, total: 12 },
      { done: 10, total: 12 },
      { done: 12, total: 12 },
    ]);
  });

  test("RPC_ERROR is a typed RpcError; ERROR goes to onError; bad payloads never leave", async () => {
    const reports: ClientReport[] = [];
    const sent: string[] = [];
    const alice = client("alice-token", {
      onError: (r) => reports.push(r),
      WebSocket: recordingSocket(sent, []),
    });
    await alice.connect();
    const error = await alice.request(ListMembers, { roomId: "nobody-here" }).catch((e) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toBe('no room "nobody-here"');
    expect(error.retryable).toBe(false);
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.frameType).toBe("RPC_ERROR");

    // A message to a room not joined: the server answers ERROR (no correlation id).
    alice.send(SendMessage, { roomId: "elsewhere", text: "hi" });
    const report = await next<ClientReport>((cb) => {
      const poll = setInterval(() => {
        const r = reports.find((x) => x.kind === "server-error");
        if (r) {
          clearInterval(poll);
          cb(r);
        }
      }, 10);
    }, "an ERROR report");
    if (report.kind !== "server-error") throw new Error("unreachable");
    expect(report.error.code).toBe("FAILED_PRECONDITION");
    expect(report.error.frameType).toBe("ERROR");
    expect(report.error.details).toEqual({ type: "SEND_MESSAGE" });

    // The schema's constraints are checked before sending: nothing goes out.
    const before = sent.length;
    expect(() => alice.send(JoinRoom, { roomId: "" })).toThrow(ValidationError);
    expect(() => alice.send(SendMessage, { roomId: "r", text: "x".repeat(2001) })).toThrow(
      ValidationError,
    );
    expect(sent.length).toBe(before);
  });

  test("timeout rejects, aborts the server's handler, and drops the late reply", async () => {
    const room = "slow";
    const sent: string[] = [];
    const received: string[] = [];
    const unhandled: string[] = [];
    const alice = client("alice-token", {
      WebSocket: recordingSocket(sent, received),
      onUnhandled: (f) => unhandled.push(f.type),
    });
    alice.send(JoinRoom, { roomId: room });
    await alice.connect();
    const seen = next<void>((cb) => {
      let n = 0;
      alice.on(NewMessage, () => ++n === 15 && cb());
    }, "15 lines");
    for (let i = 1; i <= 15; i++) alice.send(SendMessage, { roomId: room, text: `l${i}` });
    await seen;

    // The server pauses 20 ms per page of 5 lines: 60 ms at least before its reply.
    const error = await alice.request(History, { roomId: room }, { timeoutMs: 5 }).catch((e) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error.kind).toBe("timeout");
    const request = JSON.parse(sent.find((s) => s.includes('"HISTORY"'))!);
    const id: string = request.meta.correlationId;
    expect(typeof request.meta.timestamp).toBe("number");
    expect(sent.map((s) => JSON.parse(s))).toContainEqual({ type: "$ws:abort", meta: { correlationId: id } });
    // The handler was cancelled: no reply ever comes (it would within ~60 ms).
    await sleep(400);
    expect(received.some((r) => r.includes('"HISTORY_PAGE"'))).toBe(false);
    expect(unhandled).toEqual([]);
  });

  test("AbortSignal rejects and sends $ws:abort after the first progress update", async () => {
    const room = "abort";
    const sent: string[] = [];
    const received: string[] = [];
    const alice = client("alice-token", { WebSocket: recordingSocket(sent, received) });
    alice.send(JoinRoom, { roomId: room });
    await alice.connect();
    const seen = next<void>((cb) => {
      let n = 0;
      alice.on(NewMessage, () => ++n === 15 && cb());
    }, "15 lines");
    for (let i = 1; i <= 15; i++) alice.send(SendMessage, { roomId: room, text: `l${i}` });
    await seen;

    const controller = new AbortController();
    const updates: number[] = [];
    const error = await alice
      .request(History, { roomId: room }, {
        signal: controller.signal,
        onProgress: (u) => {
          updates.push(u.done);
          controller.abort();
        },
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error.kind).toBe("aborted");
    expect(updates).toEqual([0]);
    const id: string = JSON.parse(sent.find((s) => s.includes('"HISTORY"'))!).meta.correlationId;
    expect(sent.map((s) => JSON.parse(s))).toContainEqual({ type: "$ws:abort", meta: { correlationId: id } });
    await sleep(400);
    expect(received.some((r) => r.includes('"HISTORY_PAGE"'))).toBe(false);

    // An already-aborted signal: the request is never sent.
    const count = sent.length;
    const early = await alice
      .request(ListMembers, { roomId: room }, { signal: AbortSignal.abort() })
      .catch((e) => e);
    expect(early.kind).toBe("aborted");
    expect(sent.length).toBe(count);
  });

  test("a bad token is refused (401) and not retried", async () => {
    const reports: ClientReport[] = [];
    const mallory = client("mallory", { onError: (r) => reports.push(r) });
    const error = await mallory.connect().catch((e) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error.kind).toBe("rejected");
    expect(error.status).toBe(401);
    expect(mallory.state).toBe("closed");
    expect(mallory.lastError?.status).toBe(401);
    await sleep(700); // past two backoff delays: nothing more happens
    expect(reports.filter((r) => r.kind === "connect").length).toBe(1);
  });

  test("offline queue: drop-newest refuses past its size, flushes in order on open; off refuses", async () => {
    const room = "queue";
    const bob = client("bob-token");
    bob.send(JoinRoom, { roomId: room });
    await bob.connect();
    // Answered after bob's JOIN_ROOM (one connection's frames are handled in order): bob is in.
    await bob.request(ListMembers, { roomId: room });
    const lines: string[] = [];
    bob.on(NewMessage, (m) => lines.push(m.text));

    const carol = client("carol-token", { queue: "drop-newest", queueSize: 2 });
    carol.send(JoinRoom, { roomId: room }); // a subscription: not in the queue
    carol.send(SendMessage, { roomId: room, text: "one" });
    carol.send(SendMessage, { roomId: room, text: "two" });
    expect(carol.queued).toBe(2);
    expect(() => carol.send(SendMessage, { roomId: room, text: "three" })).toThrow(
      expect.objectContaining({ kind: "queue-full" }),
    );
    await carol.connect();
    await next<void>((cb) => {
      const poll = setInterval(() => lines.length >= 2 && (clearInterval(poll), cb()), 10);
    }, "two lines");
    expect(lines).toEqual(["one", "two"]);

    const off = client("carol-token", { queue: "off" });
    expect(() => off.send(SendMessage, { roomId: room, text: "x" })).toThrow(
      expect.objectContaining({ kind: "not-connected" }),
    );

    const oldest = client("carol-token", { queue: "drop-oldest", queueSize: 1 });
    const evicted = oldest.request(ListMembers, { roomId: room }).catch((e) => e);
    oldest.send(SendMessage, { roomId: room, text: "newest" });
    expect((await evicted).kind).toBe("queue-full");
    expect(oldest.queued).toBe(1);
  });
});

describe("reconnect", () => {
  test("server restart on the same port: both clients reconnect, rejoin and chat", async () => {
    const own = await startChat();
    const port = own.port;
    let current = own;
    try {
      const room = "restart";
      const states: ConnectionState[] = [];
      const gaps: Gap[] = [];
      const alice = client(
        "alice-token",
        { reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, onGap: (g) => gaps.push(g) },
        own.wsUrl,
      );
      const bob = client("bob-token", { reconnect: { initialDelayMs: 50, maxDelayMs: 500 } }, own.wsUrl);
      alice.onState((s) => states.push(s));
      alice.send(JoinRoom, { roomId: room });
      bob.send(JoinRoom, { roomId: room });
      await Promise.all([alice.connect(), bob.connect()]);
      expect(await members(alice, room, 2)).toEqual(["alice", "bob"]);

      await own.stop(); // graceful: closes with 1001
      await reaches(alice, "reconnecting");
      // While down: a request waits in the offline queue.
      const queued = alice.request(ListMembers, { roomId: room });
      current = await startChat(`127.0.0.1:${port}`);
      await Promise.all([reaches(alice, "open"), reaches(bob, "open")]);
      // JOIN_ROOM went again on open, before the queued request: the new server knows both.
      const queuedMembers = (await queued).members;
      expect(queuedMembers).toContain("alice");
      const line = next<string>((cb) => bob.on(NewMessage, (m) => cb(m.text)), "a line after restart");
      // bob's own JOIN_ROOM went again too: the new server has both.
      expect(await members(alice, room, 2)).toEqual(["alice", "bob"]);
      alice.send(SendMessage, { roomId: room, text: "back again" });
      expect(await line).toBe("back again");
      expect(states).toContain("reconnecting");
      expect(states.at(-1)).toBe("open");
      expect(gaps.length).toBe(1);
      expect(gaps[0]!.resubscribed).toBe(1);
      expect(gaps[0]!.resent).toBe(0);
      expect(gaps[0]!.attempts).toBeGreaterThanOrEqual(1);
      expect(gaps[0]!.offlineMs).toBeGreaterThanOrEqual(0);
    } finally {
      await current.stop();
    }
  });

  test("an idempotent request in flight when the server dies is sent again and answered", async () => {
    const own = await startChat();
    const port = own.port;
    let current = own;
    try {
      const room = "inflight";
      const sent: string[] = [];
      const gaps: Gap[] = [];
      const alice = client("alice-token", {
        reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
        WebSocket: recordingSocket(sent, []),
        onGap: (g) => gaps.push(g),
      }, own.wsUrl);
      alice.send(JoinRoom, { roomId: room });
      alice.send(JoinRoom, { roomId: "left" });
      await alice.connect();
      alice.send(LeaveRoom, { roomId: "left" });
      expect(alice.forgetSubscription(JoinRoom, { roomId: "left" })).toBe(true);
      expect(alice.forgetSubscription(JoinRoom, { roomId: "never" })).toBe(false);
      const seen = next<void>((cb) => {
        let n = 0;
        alice.on(NewMessage, () => ++n === 15 && cb());
      }, "15 lines");
      for (let i = 1; i <= 15; i++) alice.send(SendMessage, { roomId: room, text: `l${i}` });
      await seen;
      // Messages carry a timestamp; subscriptions none (the same frame every time).
      const frames = sent.map((t) => JSON.parse(t));
      expect(frames[0]).toEqual({ type: "JOIN_ROOM", meta: {}, payload: { roomId: room } });
      expect(typeof frames.find((f) => f.type === "SEND_MESSAGE").meta.timestamp).toBe("number");
      const before = sent.length;
      let pending: Promise<unknown> | undefined;
      const first = next<void>((cb) => {
        pending = alice.request(History, { roomId: room }, { onProgress: () => cb() });
      }, "first progress");
      await first;
      await own.stop("SIGKILL"); // no goodbye: the request is in flight
      current = await startChat(`127.0.0.1:${port}`);
      // The new server has no history, so the re-sent request gets an empty page.
      const page = (await pending) as { roomId: string; lines: unknown[] };
      expect(page).toEqual({ roomId: room, lines: [] });
      expect(gaps).toEqual([expect.objectContaining({ resubscribed: 1, resent: 1 })]);
      const historyFrames = sent.filter((s) => s.includes('"type":"HISTORY"'));
      expect(historyFrames.length).toBe(2);
      expect(historyFrames[0]).toBe(historyFrames[1]!); // the same frame, the same correlation id
      // After the reconnect: the remembered subscription, then the request; not the left room.
      const again = sent.slice(before).map((t) => JSON.parse(t));
      expect(again.map((f) => `${f.type} ${f.payload?.roomId}`)).toEqual([
        "HISTORY inflight",
        `JOIN_ROOM ${room}`,
        "HISTORY inflight",
      ]);
    } finally {
      await current.stop();
    }
  });

  test("a request that is not idempotent fails with connection-closed when the server dies", async () => {
    const own = await startChat();
    try {
      const room = "once";
      const alice = client("alice-token", { reconnect: { initialDelayMs: 50, maxDelayMs: 500 } }, own.wsUrl);
      alice.send(JoinRoom, { roomId: room });
      await alice.connect();
      const seen = next<void>((cb) => {
        let n = 0;
        alice.on(NewMessage, () => ++n === 15 && cb());
      }, "15 lines");
      for (let i = 1; i <= 15; i++) alice.send(SendMessage, { roomId: room, text: `l${i}` });
      await seen;
      // The same request, declared without #[idempotent].
      const once = { ...History, idempotent: false } as const;
      let failed: Promise<unknown> | undefined;
      await next<void>((cb) => {
        // The handler is attached at once: the rejection may come while the server is stopping.
        failed = alice.request(once, { roomId: room }, { onProgress: () => cb() }).catch((e) => e);
      }, "first progress");
      await own.stop("SIGKILL");
      const error = (await failed) as ClientError;
      expect(error).toBeInstanceOf(ClientError);
      expect(error.kind).toBe("connection-closed");
    } finally {
      await own.stop();
    }
  });

  test("close() fails pending requests, clears the queue and forgets subscriptions", async () => {
    const nobody = client("alice-token", {}, "ws://127.0.0.1:9"); // nothing listens there
    nobody.send(JoinRoom, { roomId: "r" });
    nobody.send(SendMessage, { roomId: "r", text: "queued" });
    const call = nobody.request(ListMembers, { roomId: "r" }).catch((e) => e);
    expect(nobody.queued).toBe(2);
    expect(nobody.pendingRequests).toBe(1);
    await nobody.close();
    expect((await call).kind).toBe("connection-closed");
    expect(nobody.queued).toBe(0);
    expect(nobody.pendingRequests).toBe(0);
    expect(nobody.forgetSubscription(JoinRoom, { roomId: "r" })).toBe(false);
    expect(nobody.state).toBe("closed");
  });

  test("the backoff gives up after maxAttempts; the client ends closed", async () => {
    const own = await startChat();
    const reports: ClientReport[] = [];
    const alice = client("alice-token", {
      reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3 },
      onError: (r) => reports.push(r),
    }, own.wsUrl);
    await alice.connect();
    await own.stop();
    await reaches(alice, "closed");
    // Three attempts after the loss, each refused at the TCP level, then it gave up.
    expect(reports.filter((r) => r.kind === "connect").length).toBe(3);
    expect(alice.lastError?.kind).toBe("connect");
  });
});
