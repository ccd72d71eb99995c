// A raw `Bun.serve` WebSocket echo: every frame sent back as it came, no router, no validation.
// The baseline of what Bun itself holds per connection (bench/run.sh's `bun-echo`, scenario
// `idle-10k`); the load generator's rpc accepts the request itself as its reply. Binds
// 127.0.0.1 on an ephemeral port (or $PORT) and prints `listening on 127.0.0.1:<port>`, the
// line bench/run.sh waits for.
//
//   interop/node_modules/@oven/bun-linux-x64/bin/bun interop/bun_echo.ts
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response("WebSocket only", { status: 426 });
  },
  websocket: {
    message(ws, message) {
      ws.send(message);
    },
  },
});
console.log(`listening on 127.0.0.1:${server.port}`);
