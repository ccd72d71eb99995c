// Starts the Rust chat example (`cargo build --example chat`) as a child process on 127.0.0.1;
// shared by the Bun unit tests and the Chromium tests (run by Node).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The chat example binary (`WSKIT_CHAT_BIN` overrides). */
export const CHAT_BIN = process.env.WSKIT_CHAT_BIN ?? path.join(ROOT, "target/debug/examples/chat");

/**
 * @typedef {object} ChatServer
 * @property {number} port
 * @property {string} wsUrl   ws://127.0.0.1:<port>
 * @property {string} httpUrl http://127.0.0.1:<port>
 * @property {() => string} log  what the server printed so far (stdout and stderr)
 * @property {(signal?: NodeJS.Signals) => Promise<void>} stop  SIGTERM (graceful) by default
 */

/**
 * Starts the chat server on `addr` (`127.0.0.1:0`: a free port) and waits for its
 * `chat server on ws://...` line.
 * @param {string} [addr]
 * @returns {Promise<ChatServer>}
 */
export function startChat(addr = "127.0.0.1:0") {
  const child = spawn(CHAT_BIN, [], {
    env: { ...process.env, WSKIT_ADDR: addr, RUST_LOG: process.env.RUST_LOG ?? "info,wskit=debug" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the chat server did not start within 20 s:\n${log}`));
    }, 20_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${CHAT_BIN} (run cargo build --example chat): ${e.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the chat server exited (${code}) before listening:\n${log}`));
    });
    child.stderr.on("data", (d) => (log += d));
    child.stdout.on("data", (d) => {
      log += d;
      const m = /chat server on ws:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (!m) return;
      clearTimeout(timer);
      const port = Number(m[1]);
      resolve({
        port,
        wsUrl: `ws://127.0.0.1:${port}`,
        httpUrl: `http://127.0.0.1:${port}`,
        log: () => log,
        stop: async (signal = "SIGTERM") => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
