// Fails when examples/web/dist/chat.js is not what `npm run bundle` builds from the sources now.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const committed = "../../examples/web/dist/chat.js";
const fresh = path.join(mkdtempSync(path.join(tmpdir(), "wskit-bundle-")), "chat.js");
const script = JSON.parse(readFileSync("package.json", "utf8")).scripts.bundle;
const args = script.split(" ").slice(1).map((a) => (a.startsWith("--outfile=") ? `--outfile=${fresh}` : a));
execFileSync("node_modules/.bin/esbuild", args, { stdio: ["ignore", "ignore", "inherit"] });
if (readFileSync(fresh, "utf8") !== readFileSync(committed, "utf8")) {
  console.error(`${committed} is stale: run \`npm run bundle\` in clients/typescript and commit it`);
  process.exit(1);
}
console.log(`${committed} is up to date`);
