// Runs the built Worker (build/index.js, from `worker-build --release`) on workerd through
// miniflare, on 127.0.0.1 and a free port, with the ROOMS Durable Object namespace of
// wrangler.toml. Prints one line, `listening on http://127.0.0.1:<port>/`, once it answers, then
// serves until stdin closes (the parent process is gone) or SIGTERM/SIGINT.
//
//   node serve.mjs [--port N]
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const portArg = process.argv.indexOf("--port");
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;

const mf = new Miniflare({
  host: "127.0.0.1",
  port,
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  scriptPath: path.join(here, "build", "index.js"),
  // Same as wrangler.toml.
  compatibilityDate: "2026-04-01",
  durableObjects: { ROOMS: "ChatRoom" },
  // Keep nothing on disk: every run starts with empty rooms.
  durableObjectsPersist: false,
});

const url = await mf.ready;
console.log(`listening on ${url}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
