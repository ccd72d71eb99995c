// The chat page (examples/web, served by the Rust chat example) in real Chromium, driven by
// playwright-core: two pages chat, a request gets its reply, the history progress bar
// advances, the pages reconnect and rejoin after a server restart on the same port, and a bad
// token shows an error. Saves a screenshot in target/chat-page.png (with UPDATE_SCREENSHOT=1, as
// docs/chat-page.png, the README's). Run: npm run browser-test (Node 20).
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { startChat } from "../test/chat-server.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT = { timeout: 20_000 };

/** @type {import("../test/chat-server.mjs").ChatServer} */
let server;
/** @type {import("playwright-core").Browser} */
let browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install -y chromium)`);
  server = await startChat();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page of its own (own context: own storage) joined to `room` with `token`. */
async function open(token, room = "general") {
  const context = await browser.newContext({ viewport: { width: 1000, height: 620 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.httpUrl}/?token=${token}&room=${room}`);
  return { page, errors };
}

const state = (page, s) => page.waitForSelector(`#state[data-state="${s}"]`, WAIT);
const logHas = (page, text) =>
  page.waitForFunction((t) => document.querySelector("#log").textContent.includes(t), text, WAIT);

async function say(page, text) {
  await page.fill('#say input[name="text"]', text);
  await page.click("#say button");
}

test("two pages chat, rpc, progress, restart, bad token", async () => {
  const alice = await open("alice-token");
  await state(alice.page, "open");
  await logHas(alice.page, "joined #general");
  const bob = await open("bob-token");
  await state(bob.page, "open");

  // Joins and lines go through the Rust server to the other page.
  await logHas(alice.page, "bob joined");
  await say(alice.page, "hello from alice");
  await logHas(bob.page, "alice: hello from alice");
  await say(bob.page, "hi alice, bob here");
  await logHas(alice.page, "bob: hi alice, bob here");

  // The members list is a LIST_MEMBERS request and its reply.
  await alice.page.click("#who button");
  await alice.page.waitForFunction(
    () => [...document.querySelectorAll("#members li")].map((li) => li.textContent).join(",") === "alice,bob",
    null,
    WAIT,
  );

  // History: a request with progress; record every value the bar takes.
  for (let i = 1; i <= 10; i++) await say(alice.page, `line ${i}`);
  await logHas(bob.page, "alice: line 10");
  await alice.page.evaluate(() => {
    const bar = document.querySelector("#history-progress");
    window.__values = [];
    new MutationObserver(() => window.__values.push([bar.value, bar.max])).observe(bar, {
      attributes: true,
      attributeFilter: ["value", "max"],
    });
  });
  await alice.page.click("#hist button");
  await alice.page.waitForSelector('#history-progress[data-finished="true"]', WAIT);
  const total = 12; // two lines of talk and ten numbered lines
  const values = await alice.page.evaluate(() => window.__values);
  const done = values.map(([v]) => v);
  assert.ok(done.length >= 3, `progress moved ${done.length} times: ${JSON.stringify(values)}`);
  assert.deepEqual(done, [...done].sort((a, b) => a - b), "progress only goes forward");
  assert.equal(done.at(-1), total);
  assert.equal(await alice.page.getAttribute("#history-progress", "data-updates"), "4"); // 0, 5, 10, 12
  assert.equal(await alice.page.locator("#history li").count(), total);
  assert.equal(await alice.page.locator("#history li").last().textContent(), "alice: line 10");

  const shot = process.env.UPDATE_SCREENSHOT ? "docs/chat-page.png" : "target/chat-page.png";
  mkdirSync(path.dirname(path.join(ROOT, shot)), { recursive: true });
  await alice.page.screenshot({ path: path.join(ROOT, shot) });

  // The server stops: both pages show the banner; it starts again on the same port: they
  // reconnect, join again (the JOIN_ROOM subscription is re-sent) and chat.
  const port = server.port;
  await server.stop();
  await Promise.all([alice.page, bob.page].map((p) => p.waitForSelector("#banner", { state: "visible", ...WAIT })));
  server = await startChat(`127.0.0.1:${port}`);
  await Promise.all([alice.page, bob.page].map((p) => state(p, "open")));
  await Promise.all([alice.page, bob.page].map((p) => p.waitForSelector("#banner", { state: "hidden", ...WAIT })));
  await logHas(alice.page, "reconnected: joined again");
  await logHas(bob.page, "reconnected: joined again");
  await alice.page.waitForFunction(
    () => [...document.querySelectorAll("#members li")].map((li) => li.textContent).join(",") === "alice,bob",
    null,
    WAIT,
  );
  await say(bob.page, "back after the restart");
  await logHas(alice.page, "bob: back after the restart");

  // A bad token: the page says so (the browser hides the 401; the page asks /whoami).
  const mallory = await open("mallory");
  await mallory.page.waitForSelector("#error", { state: "visible", ...WAIT });
  assert.match(await mallory.page.textContent("#error"), /Bad token/);
  assert.equal(await mallory.page.getAttribute("#state", "data-state"), "closed");

  for (const p of [alice, bob, mallory]) assert.deepEqual(p.errors, []);
  for (const p of [alice, bob]) assert.equal(await p.page.isHidden("#error"), true);
});
