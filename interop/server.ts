// A ws-kit server on Bun for wskit's client interop test (tests/interop_bun.rs).
// Binds 127.0.0.1 on an ephemeral port and prints `listening on 127.0.0.1:<port>`.
//
//   interop/node_modules/@oven/bun-linux-x64/bin/bun interop/server.ts
//
// Auth: a token by query parameter `access_token` or by subprotocol `bearer.<token>`;
// the token "alice-token" is user "alice", "bob-token" is "bob"; anything else gets 401.
import { createBunHandler } from "@ws-kit/bun";
import { memoryPubSub } from "@ws-kit/memory";
import { createRouter, message, rpc, withPubSub, withZod, z } from "@ws-kit/zod";

const USERS: Record<string, string> = { "alice-token": "alice", "bob-token": "bob" };

// Client -> server message, answered with the ECHOED event.
const Chat = message("CHAT", { text: z.string() });
const Echoed = message("ECHOED", { text: z.string(), user: z.string() });
// Request / reply, and RPC_ERROR for an unknown user.
const GetUser = rpc("GET_USER", { userId: z.string() }, "USER_DATA", { name: z.string() });
// Who the connection authenticated as.
const WhoAmI = rpc("WHO_AM_I", { probe: z.boolean() }, "YOU_ARE", { user: z.string() });
// Streaming: `rows` progress updates, then the reply (ws-kit validates progress against the
// response schema, so both share one shape).
const Export = rpc("EXPORT", { rows: z.number().int().min(0).max(100) }, "EXPORTED", {
  done: z.number().int(),
});
// Pub/sub: join a room (topic), say something to it.
const Join = rpc("JOIN", { room: z.string() }, "JOINED", { room: z.string() });
const Say = message("SAY", { room: z.string(), text: z.string() });
const NewMessage = message("NEW_MESSAGE", { room: z.string(), text: z.string(), from: z.string() });

// No payload (`message("X")`: frames have no payload key) and an empty payload
// (`message("X", {})`: frames carry "payload":{}), each answered in its own form.
const PingNone = message("PING_NONE");
const PongNone = message("PONG_NONE");
const PingEmpty = message("PING_EMPTY", {});
const PongEmpty = message("PONG_EMPTY", {});
// An rpc whose request and reply are empty objects.
const Touch = rpc("TOUCH", {}, "TOUCHED", {});

type Data = { user: string };

const router = createRouter<Data>()
  .plugin(withZod())
  .plugin(withPubSub({ adapter: memoryPubSub() }))
  .on(PingNone, (ctx) => {
    ctx.send(PongNone);
  })
  .on(PingEmpty, (ctx) => {
    ctx.send(PongEmpty, {});
  })
  .rpc(Touch, (ctx) => {
    ctx.reply({});
  })
  .on(Chat, (ctx) => {
    ctx.send(Echoed, { text: ctx.payload.text, user: ctx.data.user });
  })
  .rpc(GetUser, (ctx) => {
    if (ctx.payload.userId === "u1") {
      ctx.reply({ name: "Ada" });
    } else {
      ctx.error("NOT_FOUND", "no such user", { userId: ctx.payload.userId });
    }
  })
  .rpc(WhoAmI, (ctx) => {
    ctx.reply({ user: ctx.data.user });
  })
  .rpc(Export, async (ctx) => {
    for (let i = 1; i <= ctx.payload.rows; i++) {
      ctx.progress({ done: i });
    }
    ctx.reply({ done: ctx.payload.rows });
  })
  .rpc(Join, async (ctx) => {
    await ctx.topics.subscribe(`room:${ctx.payload.room}`);
    ctx.reply({ room: ctx.payload.room });
  })
  .on(Say, async (ctx) => {
    await ctx.publish(`room:${ctx.payload.room}`, NewMessage, {
      room: ctx.payload.room,
      text: ctx.payload.text,
      from: ctx.data.user,
    });
  });

function tokenOf(req: Request): string | undefined {
  const query = new URL(req.url).searchParams.get("access_token");
  if (query) return query;
  const offered = req.headers.get("sec-websocket-protocol") ?? "";
  for (const p of offered.split(",")) {
    const v = p.trim();
    if (v.startsWith("bearer.")) return v.slice("bearer.".length);
  }
  return undefined;
}

const { fetch, websocket } = createBunHandler(router, {
  authenticate: (req) => {
    const token = tokenOf(req);
    const user = token ? USERS[token] : undefined;
    return user ? { user } : undefined;
  },
});

const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch, websocket });
console.log(`listening on 127.0.0.1:${server.port}`);
