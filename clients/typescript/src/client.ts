// The client: one connection that reconnects, with the Rust client's behaviour (PROTOCOL.md
// section 7), typed from the descriptors of a generated protocol.ts.
import type { z } from "zod";

import { DEFAULT_RECONNECT, type ReconnectOptions, backoffDelay } from "./backoff.ts";
import type {
  Descriptor,
  EventDescriptor,
  MessageDescriptor,
  MetaIn,
  PayloadArgs,
  PayloadOut,
  ProgressOf,
  RequestDescriptor,
  ResponseOf,
} from "./descriptor.ts";
import {
  ClientError,
  type Issue,
  RpcError,
  ValidationError,
  readErrorPayload,
} from "./errors.ts";
import { OfflineQueue, type QueuePolicy, type Queued } from "./queue.ts";

/** The connection states of PROTOCOL.md section 7. */
export type ConnectionState = "closed" | "connecting" | "open" | "closing" | "reconnecting";

/** How the token travels: `?access_token=` (default) or a `bearer.<token>` subprotocol. */
export type TokenTransport = "query" | "subprotocol";

/** A connection attempt that ended before the connection opened. */
export interface ConnectFailure {
  /** The attempt's number since the last open (1-based). */
  attempt: number;
  /** The close code the runtime reported (1006 for a refused or failed upgrade). */
  code: number;
  /** The HTTP status of a refused upgrade, when the runtime exposes it (Bun does; browsers never). */
  status: number | undefined;
  /** What the runtime said. */
  message: string;
}

/** What the client tells `onError` about: nothing here fails an operation the caller awaits. */
export type ClientReport =
  | { kind: "connect"; failure: ConnectFailure }
  | { kind: "parse"; text: string; message: string }
  | { kind: "invalid"; type: string; issues: Issue[] }
  | { kind: "server-error"; error: RpcError }
  | { kind: "queue-overflow"; type: string }
  | { kind: "listener-threw"; type: string; error: unknown };

/** A reconnect after a lost connection (as the Rust client's `Gap`): catch up on what you missed. */
export interface Gap {
  /** From the loss to the new open, in ms. */
  offlineMs: number;
  /** Connection attempts it took. */
  attempts: number;
  /** Subscription messages sent again. */
  resubscribed: number;
  /** Idempotent requests in flight sent again. */
  resent: number;
}

/** A frame nobody listened for. */
export interface UnhandledFrame {
  type: string;
  frame: Record<string, unknown>;
}

/** The constructor of a WebSocket (the global one by default). */
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Client options; only `url` is required. */
export interface ClientOptions {
  /** `ws://` or `wss://` URL of the server. */
  url: string;
  /** The token, or a function asked before every connection attempt. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** How the token travels (default `"query"`). */
  tokenTransport?: TokenTransport;
  /** Query parameter of the token (default `access_token`). */
  queryParam?: string;
  /** Subprotocol prefix of the token (default `bearer.`). */
  protocolPrefix?: string;
  /** Subprotocols to offer besides the token. */
  protocols?: string[];
  /** Reconnect backoff (defaults: 300 ms, 10 s, unlimited), or `false` never to reconnect. */
  reconnect?: ReconnectOptions | false;
  /** Offline queue policy (default `drop-newest`). */
  queue?: QueuePolicy;
  /** Offline queue size (default 1000). */
  queueSize?: number;
  /** Default request timeout (default 30 s), counted from the moment the request is written. */
  requestTimeoutMs?: number;
  /** Requests pending at once (default 1000). */
  maxPending?: number;
  /** Time for the connection to open before the attempt counts as failed (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * Whether an attempt refused by the server's auth (HTTP 401/403) is retried (default false:
   * the client stops, like the Rust client, and `connect()` rejects).
   */
  retryRejected?: boolean;
  /**
   * Decides whether a failed attempt was an auth refusal, where the runtime hides the HTTP
   * status (browsers): e.g. ask an HTTP endpoint of the server whether the token is valid.
   */
  isRejected?: (failure: ConnectFailure) => boolean | Promise<boolean>;
  /** Uniform random numbers in [0, 1) for the jitter (default `Math.random`). */
  random?: () => number;
  /** The WebSocket constructor (default `globalThis.WebSocket`). */
  WebSocket?: WebSocketCtor;
  /** Problems that fail no awaited operation (bad frames, server errors without a request). */
  onError?: (report: ClientReport) => void;
  /** Frames of a type nobody listens for. */
  onUnhandled?: (frame: UnhandledFrame) => void;
  /** Each reconnect after a lost connection, once the connection is open again. */
  onGap?: (gap: Gap) => void;
}

/** Options of `send`. */
export interface SendOptions<D extends Descriptor> {
  /** The message's declared extra meta fields. */
  meta?: MetaIn<D>;
}

/** Options of `request`. */
export interface RequestOptions<R extends RequestDescriptor> {
  /** This request's timeout (default: the client's `requestTimeoutMs`). */
  timeoutMs?: number;
  /** Aborting rejects the promise and sends `$ws:abort` for a request that went out. */
  signal?: AbortSignal;
  /**
   * Progress updates, validated with the request's progress schema (only for a request that
   * declares progress).
   */
  onProgress?: R["progress"] extends Descriptor ? (update: ProgressOf<R>) => void : never;
  /** The request's declared extra meta fields. */
  meta?: MetaIn<R>;
}

/** Meta a frame arrived with. */
export type InboundMeta = Record<string, unknown>;

interface Pending {
  seq: number;
  type: string;
  text: string;
  idempotent: boolean;
  written: boolean;
  timeoutMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  request: RequestDescriptor;
  onProgress: ((update: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  cleanup: () => void;
}

type Listener = { descriptor: Descriptor; cb: (payload: unknown, meta: InboundMeta) => void };

const ABORT = "$ws:abort";
const PROGRESS = "$ws:rpc-progress";
const HEARTBEAT_ACK = "__heartbeat_ack";

/** A random UUID (v4). */
function uuid(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    path: ["payload", ...i.path.map(String)].join("."),
    message: i.message,
  }));
}

/** `url` with `name=value` added to its query. */
function withQuery(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.append(name, value);
  return u.toString();
}

/** The HTTP status in a runtime's upgrade error message ("Expected 101 status code: 401"). */
function statusIn(message: string): number | undefined {
  const m = /status code:? (\d{3})\b/i.exec(message) ?? /\b(4\d\d|5\d\d)\b/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/**
 * A typed client for a wskit (or ws-kit) server.
 *
 * ```ts
 * import { Client } from "wskit-client";
 * import { JoinRoom, ListMembers, NewMessage } from "./protocol.ts";
 * const client = new Client({ url: "ws://127.0.0.1:3000", token: "alice-token" });
 * client.on(NewMessage, (m) => console.log(`${m.user}: ${m.text}`));
 * client.send(JoinRoom, { roomId: "general" }); // sent on open, and again after every reconnect
 * await client.connect();
 * const { members } = await client.request(ListMembers, { roomId: "general" }, { timeoutMs: 5000 });
 * ```
 */
export class Client {
  private readonly opts: ClientOptions;
  private readonly reconnectOpts: Required<ReconnectOptions> | false;
  private readonly queue: OfflineQueue;
  private ws: WebSocket | undefined;
  private stateValue: ConnectionState = "closed";
  private running = false;
  /** Bumped by every `connect()`/`close()`, so that a stale loop stops touching the client. */
  private generation = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last open connection was lost (`Date.now()`), until the next open. */
  private lostAt: number | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextSeq = 0;
  private readonly recent = new Set<string>();
  private readonly subscriptions: string[] = [];
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Why the last attempt failed (cleared on open). */
  lastError: ClientError | undefined;

  constructor(options: ClientOptions) {
    this.opts = options;
    this.reconnectOpts =
      options.reconnect === false ? false : { ...DEFAULT_RECONNECT, ...(options.reconnect ?? {}) };
    this.queue = new OfflineQueue(options.queue ?? "drop-newest", options.queueSize ?? 1000);
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Calls `cb` on every state change; returns the function that stops it. */
  onState(cb: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(cb);
    return () => this.stateListeners.delete(cb);
  }

  /** Items waiting in the offline queue. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Starts connecting (if not already) and resolves once the connection is open. Rejects when
   * the client stops before that: a refused token, the backoff gave up, or `close()`.
   */
  connect(): Promise<void> {
    if (this.stateValue === "open") return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.running) {
      this.running = true;
      this.generation++;
      this.attempt = 0;
      this.lastError = undefined;
      void this.dial(this.generation);
    }
    return p;
  }

  /**
   * Closes deliberately: pending requests fail, the queue is cleared and subscriptions are
   * forgotten; resolves once the socket closed.
   */
  close(): Promise<void> {
    this.generation++;
    this.lostAt = undefined;
    this.running = false;
    clearTimeout(this.retryTimer);
    this.queue.drain();
    this.subscriptions.length = 0;
    this.failPending(
      () => true,
      () => new ClientError("connection-closed", "the client was closed"),
    );
    this.settleWaiters(new ClientError("closed", "the client was closed"));
    const ws = this.ws;
    this.ws = undefined;
    if (!ws || ws.readyState === ws.CLOSED) {
      this.setState("closed");
      return Promise.resolve();
    }
    this.setState("closing");
    return new Promise((resolve) => {
      const done = () => {
        this.setState("closed");
        resolve();
      };
      ws.onclose = done;
      ws.onerror = null;
      ws.onmessage = null;
      ws.onopen = null;
      try {
        ws.close(1000);
      } catch {
        done();
      }
    });
  }

  /**
   * Sends a message. While not open it waits in the offline queue; a `subscription` message is
   * instead remembered and sent on every open. Throws `ValidationError` for a payload that does
   * not match its schema, `ClientError` (`closed`, `queue-full`, `not-connected`).
   */
  send<D extends MessageDescriptor>(descriptor: D, ...args: PayloadArgs<D, SendOptions<D>>): void {
    const [payload, options] = args;
    if (this.stateValue === "closing") throw new ClientError("closed", "the client is closing");
    // A subscription frame is sent again as it is: no timestamp, so that sending the same
    // subscription twice is recognised as one (as the Rust client does).
    const stamp = !descriptor.subscription;
    const text = this.encode(descriptor, payload, options?.meta, undefined, stamp);
    if (descriptor.subscription) {
      if (!this.subscriptions.includes(text)) this.subscriptions.push(text);
      if (this.stateValue !== "open") return; // sent on open, with the other subscriptions
    }
    this.enqueue({ kind: "frame", type: descriptor.type, text });
  }

  /**
   * Stops sending a subscription message again on reconnects (after leaving a room, say).
   * Returns whether it was remembered; payload and meta must equal the ones sent.
   */
  forgetSubscription<D extends MessageDescriptor>(
    descriptor: D,
    ...args: PayloadArgs<D, SendOptions<D>>
  ): boolean {
    const [payload, options] = args;
    const text = this.encode(descriptor, payload, options?.meta, undefined, false);
    const i = this.subscriptions.indexOf(text);
    if (i < 0) return false;
    this.subscriptions.splice(i, 1);
    return true;
  }

  /** Requests waiting for their reply. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * Sends a request; resolves with its validated reply, or rejects with `RpcError` (the server's
   * error), `ClientError` (`timeout`, `aborted`, `connection-closed`, ...) or `ValidationError`.
   * An idempotent request in flight when the connection drops is sent again on reconnect.
   */
  request<R extends RequestDescriptor>(
    descriptor: R,
    ...args: PayloadArgs<R, RequestOptions<R>>
  ): Promise<ResponseOf<R>> {
    const [payload, options] = args;
    return new Promise<ResponseOf<R>>((resolve, reject) => {
      const signal = options?.signal;
      if (this.stateValue === "closing") throw new ClientError("closed", "the client is closing");
      if (signal?.aborted) {
        throw new ClientError("aborted", "the request was aborted before it was sent");
      }
      const max = this.opts.maxPending ?? 1000;
      if (this.pending.size >= max) {
        throw new ClientError("too-many-pending", `more than ${max} requests pending`);
      }
      const id = uuid();
      const text = this.encode(descriptor, payload, options?.meta, id, true);
      const onAbort = () => {
        this.abandon(id, new ClientError("aborted", "the request was aborted"));
      };
      const p: Pending = {
        seq: this.nextSeq++,
        type: descriptor.type,
        text,
        idempotent: descriptor.idempotent,
        written: false,
        timeoutMs: options?.timeoutMs ?? this.opts.requestTimeoutMs ?? 30_000,
        timer: undefined,
        request: descriptor,
        onProgress: options?.onProgress as ((u: unknown) => void) | undefined,
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      this.pending.set(id, p);
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        this.enqueue({ kind: "request", id });
      } catch (e) {
        this.pending.delete(id);
        p.cleanup();
        throw e;
      }
    });
  }

  /**
   * Calls `cb` with every frame of this type the server sends, its payload validated (invalid
   * ones go to `onError`). Returns the function that stops it.
   */
  on<D extends EventDescriptor>(
    descriptor: D,
    cb: (payload: PayloadOut<D>, meta: InboundMeta) => void,
  ): () => void {
    const listener: Listener = {
      descriptor,
      cb: cb as (payload: unknown, meta: InboundMeta) => void,
    };
    let set = this.listeners.get(descriptor.type);
    if (!set) this.listeners.set(descriptor.type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  // ---- outbound ------------------------------------------------------------------------

  /** The frame of a message or request, its payload checked against the schema first. */
  private encode(
    d: Descriptor,
    payload: unknown,
    meta: unknown,
    correlationId: string | undefined,
    timestamp: boolean,
  ): string {
    const frame: Record<string, unknown> = { type: d.type };
    const m: Record<string, unknown> = {};
    if (meta !== undefined) {
      const checked = d.meta.safeParse(meta);
      if (!checked.success) throw new ValidationError(d.type, issuesOf(checked.error));
      Object.assign(m, checked.data);
    }
    if (correlationId !== undefined) m.correlationId = correlationId;
    if (timestamp) m.timestamp = Date.now();
    frame.meta = m;
    if (d.payloadForm === "fields") {
      const checked = d.payload.safeParse(payload);
      if (!checked.success) throw new ValidationError(d.type, issuesOf(checked.error));
      frame.payload = checked.data;
    } else if (d.payloadForm === "empty") {
      frame.payload = {};
    }
    return JSON.stringify(frame);
  }

  /** Writes `item` when open, else queues it by the policy. */
  private enqueue(item: Queued): void {
    if (this.stateValue === "open" && this.ws) {
      this.write(item);
      return;
    }
    const pushed = this.queue.push(item);
    if (pushed.result === "queued") return;
    if (pushed.result === "evicted") {
      const e = pushed.evicted;
      const type = e.kind === "frame" ? e.type : this.pending.get(e.id)?.type;
      if (e.kind === "request") {
        this.abandon(e.id, new ClientError("queue-full", "evicted from the full offline queue"));
      }
      if (type !== undefined) this.report({ kind: "queue-overflow", type });
      return;
    }
    if (this.queue.policy === "off") {
      throw new ClientError("not-connected", "not connected and the offline queue is off");
    }
    const type = item.kind === "frame" ? item.type : (this.pending.get(item.id)?.type ?? "");
    this.report({ kind: "queue-overflow", type });
    throw new ClientError("queue-full", `the offline queue is full (${this.queue.capacity})`);
  }

  /** Hands one item to the open socket; a request's clock starts at its first write. */
  private write(item: Queued): void {
    const ws = this.ws;
    if (!ws) return;
    if (item.kind === "frame") {
      ws.send(item.text);
      return;
    }
    const p = this.pending.get(item.id);
    if (!p) return; // gone meanwhile
    ws.send(p.text);
    if (!p.written) {
      p.written = true;
      p.timer = setTimeout(() => {
        this.abandon(item.id, new ClientError("timeout", `no reply within ${p.timeoutMs} ms`));
      }, p.timeoutMs);
    }
  }

  /** Gives up on a request; tells the server with `$ws:abort` when it went out. */
  private abandon(id: string, error: ClientError): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.settle(id, p);
    if (p.written && this.stateValue === "open" && this.ws) {
      this.ws.send(JSON.stringify({ type: ABORT, meta: { correlationId: id } }));
    } else {
      this.queue.removeRequest(id);
    }
    p.reject(error);
  }

  /** Forgets a pending request (answered, failed, abandoned). */
  private settle(id: string, p: Pending): void {
    clearTimeout(p.timer);
    p.cleanup();
    this.pending.delete(id);
    this.recent.add(id);
    if (this.recent.size > 1024) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  private failPending(pred: (p: Pending) => boolean, error: () => ClientError): void {
    for (const [id, p] of [...this.pending]) {
      if (!pred(p)) continue;
      this.settle(id, p);
      this.queue.removeRequest(id);
      p.reject(error());
    }
  }

  // ---- the connection loop ----------------------------------------------------------------

  private async dial(gen: number): Promise<void> {
    this.setState("connecting");
    let url = this.opts.url;
    const protocols = [...(this.opts.protocols ?? [])];
    let token: string | undefined;
    try {
      const t = this.opts.token;
      token = typeof t === "function" ? await t() : t;
    } catch (e) {
      return this.attemptFailed(gen, this.failure(0, `token provider failed: ${String(e)}`));
    }
    if (gen !== this.generation) return;
    if (token !== undefined) {
      if ((this.opts.tokenTransport ?? "query") === "query") {
        url = withQuery(url, this.opts.queryParam ?? "access_token", token);
      } else {
        protocols.push(`${this.opts.protocolPrefix ?? "bearer."}${token}`);
      }
    }
    const Ctor = this.opts.WebSocket ?? (globalThis.WebSocket as WebSocketCtor | undefined);
    if (!Ctor) {
      this.stop(new ClientError("connect", "no WebSocket in this runtime: pass options.WebSocket"));
      return;
    }
    let ws: WebSocket;
    try {
      ws = protocols.length > 0 ? new Ctor(url, protocols) : new Ctor(url);
    } catch (e) {
      // A bad URL or subprotocol: trying again would not help.
      this.stop(new ClientError("connect", `cannot open ${this.opts.url}: ${String(e)}`));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let opened = false;
    let errorMessage = "";
    const connectTimer = setTimeout(() => {
      if (!opened) {
        errorMessage = `not open within ${this.opts.connectTimeoutMs ?? 10_000} ms`;
        ws.close();
      }
    }, this.opts.connectTimeoutMs ?? 10_000);
    ws.onopen = () => {
      clearTimeout(connectTimer);
      if (gen !== this.generation) return;
      opened = true;
      this.opened();
    };
    ws.onerror = (ev: Event) => {
      const m = (ev as Event & { message?: unknown }).message;
      if (typeof m === "string") errorMessage = m;
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (gen !== this.generation) return;
      const data = ev.data;
      if (typeof data === "string") this.inbound(data);
      else if (data instanceof ArrayBuffer) this.inbound(new TextDecoder().decode(data));
    };
    ws.onclose = (ev: CloseEvent) => {
      clearTimeout(connectTimer);
      if (gen !== this.generation) return;
      this.ws = undefined;
      if (opened) {
        this.lostAt = Date.now();
        this.lost();
        this.attempt = 0;
        this.scheduleRetry(gen);
      } else {
        void this.attemptFailed(gen, {
          attempt: this.attempt + 1,
          code: ev.code,
          status: statusIn(errorMessage),
          message: errorMessage || ev.reason || `closed with ${ev.code} before opening`,
        });
      }
    };
  }

  /**
   * On open: subscriptions, then in-flight idempotent requests, then the offline queue, all
   * before the state becomes `open` (so that a state listener's own sends come after them).
   */
  private opened(): void {
    this.lastError = undefined;
    for (const text of this.subscriptions) this.write({ kind: "frame", type: "", text });
    const resend = [...this.pending]
      .filter(([, p]) => p.written)
      .sort(([, a], [, b]) => a.seq - b.seq);
    for (const [id] of resend) this.write({ kind: "request", id });
    for (const item of this.queue.drain()) this.write(item);
    const gap =
      this.lostAt === undefined
        ? undefined
        : {
            offlineMs: Date.now() - this.lostAt,
            attempts: this.attempt,
            resubscribed: this.subscriptions.length,
            resent: resend.length,
          };
    this.lostAt = undefined;
    this.attempt = 0;
    this.setState("open");
    if (gap) {
      try {
        this.opts.onGap?.(gap);
      } catch (error) {
        this.report({ kind: "listener-threw", type: "gap", error });
      }
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The open connection was lost: requests in flight fail unless idempotent. */
  private lost(): void {
    this.failPending(
      (p) => p.written && !p.idempotent,
      () => new ClientError("connection-closed", "the connection closed before the reply"),
    );
  }

  /** A failure of the coming attempt before any socket exists. */
  private failure(code: number, message: string): ConnectFailure {
    return { attempt: this.attempt + 1, code, status: undefined, message };
  }

  private async attemptFailed(gen: number, failure: ConnectFailure): Promise<void> {
    if (gen !== this.generation) return;
    this.report({ kind: "connect", failure });
    let rejected = failure.status === 401 || failure.status === 403;
    if (!rejected && this.opts.isRejected) {
      try {
        rejected = await this.opts.isRejected(failure);
      } catch {
        rejected = false;
      }
      if (gen !== this.generation) return;
    }
    this.lastError = rejected
      ? new ClientError(
          "rejected",
          `the server refused the connection${failure.status ? ` (${failure.status})` : ""}: ${failure.message}`,
          failure.status,
        )
      : new ClientError("connect", failure.message, failure.status);
    if (rejected && !this.opts.retryRejected) {
      this.stop(this.lastError);
      return;
    }
    this.scheduleRetry(gen);
  }

  private scheduleRetry(gen: number): void {
    if (this.reconnectOpts === false) {
      this.stop(this.lastError ?? new ClientError("connection-closed", "the connection closed"));
      return;
    }
    this.attempt++;
    const random = this.opts.random ?? Math.random;
    const delay = backoffDelay(this.attempt, random(), this.reconnectOpts);
    if (delay === undefined) {
      this.stop(this.lastError ?? new ClientError("connect", "gave up reconnecting"));
      return;
    }
    this.setState("reconnecting");
    this.retryTimer = setTimeout(() => {
      if (gen === this.generation) void this.dial(gen);
    }, delay);
  }

  /** The loop stops without a deliberate close: pending requests fail; queue and subscriptions stay. */
  private stop(error: ClientError): void {
    this.running = false;
    this.lostAt = undefined;
    this.generation++;
    this.failPending(() => true, () => new ClientError("connection-closed", error.message));
    this.settleWaiters(error);
    this.setState("closed");
  }

  private settleWaiters(error: ClientError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  // ---- inbound ----------------------------------------------------------------------------

  private inbound(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch (e) {
      return this.report({ kind: "parse", text, message: `not JSON: ${String(e)}` });
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      return this.report({ kind: "parse", text, message: "not a JSON object" });
    }
    const f = frame as Record<string, unknown>;
    const type = f.type;
    if (typeof type !== "string") {
      return this.report({ kind: "parse", text, message: "no string type" });
    }
    if (type === HEARTBEAT_ACK) return;
    const meta =
      typeof f.meta === "object" && f.meta !== null && !Array.isArray(f.meta)
        ? (f.meta as InboundMeta)
        : {};
    const id = typeof meta.correlationId === "string" ? meta.correlationId : undefined;
    if (id !== undefined) {
      const p = this.pending.get(id);
      if (p) return this.reply(id, p, type, f);
      if (this.recent.has(id) || type === PROGRESS) return; // late: the first terminal frame won
    } else if (type === PROGRESS) {
      return;
    }
    if (type === "ERROR" || type === "RPC_ERROR") {
      const payload = readErrorPayload(f.payload);
      if (!payload) return this.report({ kind: "parse", text, message: "malformed error payload" });
      return this.report({ kind: "server-error", error: new RpcError(payload, type) });
    }
    const set = this.listeners.get(type);
    if (!set || set.size === 0) {
      this.opts.onUnhandled?.({ type, frame: f });
      return;
    }
    let parsed: { ok: true; value: unknown } | { ok: false; issues: Issue[] } | undefined;
    for (const l of [...set]) {
      parsed ??= this.validate(l.descriptor, f);
      if (!parsed.ok) return this.report({ kind: "invalid", type, issues: parsed.issues });
      try {
        l.cb(parsed.value, meta);
      } catch (error) {
        this.report({ kind: "listener-threw", type, error });
      }
    }
  }

  /** A frame's payload checked against a descriptor's schema (by its payload form). */
  private validate(
    d: Descriptor,
    f: Record<string, unknown>,
  ): { ok: true; value: unknown } | { ok: false; issues: Issue[] } {
    if (d.payloadForm !== "fields") {
      const p = f.payload;
      const empty =
        p === undefined ||
        (typeof p === "object" && p !== null && !Array.isArray(p) && Object.keys(p).length === 0);
      return empty
        ? { ok: true, value: d.payloadForm === "empty" ? {} : undefined }
        : { ok: false, issues: [{ path: "payload", message: "expected no payload" }] };
    }
    const checked = d.payload.safeParse(f.payload);
    return checked.success
      ? { ok: true, value: checked.data }
      : { ok: false, issues: issuesOf(checked.error) };
  }

  /** A frame for a pending request: progress, its reply, or its error. */
  private reply(id: string, p: Pending, type: string, f: Record<string, unknown>): void {
    if (type === PROGRESS) {
      const progress = p.request.progress;
      if (!progress || !p.onProgress) return;
      const update = f.payload !== undefined ? f.payload : f.data;
      const checked = this.validate(progress, { payload: update });
      if (!checked.ok) return this.report({ kind: "invalid", type, issues: checked.issues });
      try {
        p.onProgress(checked.value);
      } catch (error) {
        this.report({ kind: "listener-threw", type, error });
      }
      return;
    }
    this.settle(id, p);
    if (type === "RPC_ERROR" || type === "ERROR") {
      const payload = readErrorPayload(f.payload);
      p.reject(
        payload
          ? new RpcError(payload, type)
          : new ClientError("invalid-reply", `malformed ${type} payload`),
      );
      return;
    }
    const response = p.request.response;
    if (type !== response.type) {
      p.reject(new ClientError("invalid-reply", `expected ${response.type}, got ${type}`));
      return;
    }
    const checked = this.validate(response, f);
    if (checked.ok) p.resolve(checked.value);
    else p.reject(new ValidationError(type, checked.issues));
  }

  // ---- hooks -------------------------------------------------------------------------------

  private setState(s: ConnectionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    for (const cb of [...this.stateListeners]) {
      try {
        cb(s);
      } catch (error) {
        this.report({ kind: "listener-threw", type: "state", error });
      }
    }
  }

  private report(r: ClientReport): void {
    try {
      this.opts.onError?.(r);
    } catch {
      // a throwing onError cannot report itself
    }
  }
}
