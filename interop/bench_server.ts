// The benchmark protocol (bench/src/frames.rs) served by ws-kit on Bun: the peer that users would
// otherwise pick. Validation with zod (@ws-kit/zod), pub/sub with the in-memory adapter
// (@ws-kit/memory). Binds 127.0.0.1 on an ephemeral port (or $PORT) and prints
// `listening on 127.0.0.1:<port>`, the line bench/run.sh waits for.
//
//   interop/node_modules/@oven/bun-linux-x64/bin/bun interop/bench_server.ts
import { createBunHandler } from "@ws-kit/bun";
import { memoryPubSub } from "@ws-kit/memory";
import { createRouter, message, rpc, withPubSub, withZod, z } from "@ws-kit/zod";

const Echo = rpc(
  "ECHO",
  { text: z.string().min(1).max(65536), n: z.number().int() },
  "ECHO_REPLY",
  { text: z.string(), n: z.number().int() },
);
const Subscribe = rpc("SUBSCRIBE", { topic: z.string().min(1).max(128) }, "SUBSCRIBED", {
  topic: z.string(),
});
const Publish = rpc(
  "PUBLISH",
  { topic: z.string().min(1).max(128), text: z.string().max(65536) },
  "PUBLISHED",
  { matched: z.number().int() },
);
const News = message("NEWS", { text: z.string() });

const router = createRouter()
  .plugin(withZod())
  .plugin(withPubSub({ adapter: memoryPubSub() }))
  .rpc(Echo, (ctx) => {
    ctx.reply({ text: ctx.payload.text, n: ctx.payload.n });
  })
  .rpc(Subscribe, async (ctx) => {
    await ctx.topics.subscribe(ctx.payload.topic);
    ctx.reply({ topic: ctx.payload.topic });
  })
  .rpc(Publish, async (ctx) => {
    const result = await ctx.publish(ctx.payload.topic, News, { text: ctx.payload.text });
    ctx.reply({ matched: result.ok ? (result.matched ?? 0) : 0 });
  });

const { fetch, websocket } = createBunHandler(router);
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  fetch,
  websocket,
});
console.log(`listening on 127.0.0.1:${server.port}`);
