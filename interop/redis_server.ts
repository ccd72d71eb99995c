// A ws-kit node on Bun sharing a Redis bus with wskit nodes (tests/tests/interop_redis_bun.rs).
// REDIS_URL and WSKIT_PREFIX say which bus; binds 127.0.0.1 on an ephemeral port and prints
// `listening on 127.0.0.1:<port>` once it is subscribed.
//
//   REDIS_URL=redis://127.0.0.1:6379 WSKIT_PREFIX=app: \
//     interop/node_modules/@oven/bun-linux-x64/bin/bun interop/redis_server.ts
//
// Clients connect with `?name=<who>`: JOIN subscribes to a room, SAY publishes NEW_MESSAGE to
// it (from: <who>), excluding the sender when it asks.
import { createBunHandler } from "@ws-kit/bun";
import { createRouter, message, rpc, withPubSub, withZod, z } from "@ws-kit/zod";
import { redisPubSub } from "./redis_pubsub.ts";

const Join = rpc("JOIN", { room: z.string() }, "JOINED", { room: z.string() });
const Say = message("SAY", { room: z.string(), text: z.string(), excludeSelf: z.boolean() });
const NewMessage = message("NEW_MESSAGE", { room: z.string(), text: z.string(), from: z.string() });

type Data = { name: string };

const adapter = redisPubSub(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", process.env.WSKIT_PREFIX ?? "");

const router = createRouter<Data>()
  .plugin(withZod())
  .plugin(withPubSub({ adapter }))
  .rpc(Join, async (ctx) => {
    await ctx.topics.subscribe(ctx.payload.room);
    ctx.reply({ room: ctx.payload.room });
  })
  .on(Say, async (ctx) => {
    const { room, text, excludeSelf } = ctx.payload;
    await ctx.publish(room, NewMessage, { room, text, from: ctx.data.name }, { excludeSelf });
  });

// ws-kit 0.10's Bun handler does not start the broker consumer itself.
await router.pubsub.init();

const { fetch, websocket } = createBunHandler(router, {
  authenticate: (req) => ({ name: new URL(req.url).searchParams.get("name") ?? "anon" }),
});

const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch, websocket });
console.log(`listening on 127.0.0.1:${server.port}`);
