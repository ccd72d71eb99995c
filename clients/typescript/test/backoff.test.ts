// The reconnect delays match the Rust client's (wskit/src/client/backoff.rs).
import { expect, test } from "bun:test";

import { DEFAULT_RECONNECT, OfflineQueue, backoffDelay } from "../src/index.ts";

test("caps double from 300 ms to 10 s; full jitter floors", () => {
  const caps = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 1, DEFAULT_RECONNECT));
  expect(caps).toEqual([300, 600, 1200, 2400, 4800, 9600, 10000, 10000]);
  expect(backoffDelay(1000, 1, DEFAULT_RECONNECT)).toBe(10000);
  expect(backoffDelay(3, 0.5, DEFAULT_RECONNECT)).toBe(600);
  expect(backoffDelay(3, 0, DEFAULT_RECONNECT)).toBe(0);
  expect(backoffDelay(2, 0.3333, DEFAULT_RECONNECT)).toBe(199);
  const limited = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 5 };
  expect(backoffDelay(4, 1, limited)).toBe(800);
  expect(backoffDelay(5, 1, limited)).toBe(1000);
  expect(backoffDelay(6, 1, limited)).toBeUndefined();
});

test("queue policies", () => {
  const q = new OfflineQueue("drop-newest", 2);
  const f = (text: string) => ({ kind: "frame", type: "T", text }) as const;
  expect(q.push(f("a")).result).toBe("queued");
  expect(q.push(f("b")).result).toBe("queued");
  expect(q.push(f("c")).result).toBe("refused");
  expect(q.drain()).toEqual([f("a"), f("b")]);

  const o = new OfflineQueue("drop-oldest", 2);
  o.push(f("a"));
  o.push({ kind: "request", id: "r" });
  expect(o.push(f("c"))).toEqual({ result: "evicted", evicted: f("a") });
  o.removeRequest("r");
  expect(o.drain()).toEqual([f("c")]);

  expect(new OfflineQueue("off", 5).push(f("a")).result).toBe("refused");
});
