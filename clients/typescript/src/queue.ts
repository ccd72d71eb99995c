// The offline queue: what is sent while the connection is not open, flushed in order on open.

/** What the queue does while the connection is not open (PROTOCOL.md section 7). */
export type QueuePolicy = "drop-newest" | "drop-oldest" | "off";

/** One queued item: a ready message frame, or a request waiting in the pending table. */
export type Queued =
  | { readonly kind: "frame"; readonly type: string; readonly text: string }
  | { readonly kind: "request"; readonly id: string };

/** What a push did. */
export type Pushed =
  | { readonly result: "queued" }
  | { readonly result: "evicted"; readonly evicted: Queued }
  | { readonly result: "refused" };

/** A bounded FIFO with an overflow policy. */
export class OfflineQueue {
  private items: Queued[] = [];

  constructor(
    readonly policy: QueuePolicy,
    readonly capacity: number,
  ) {}

  get length(): number {
    return this.items.length;
  }

  push(item: Queued): Pushed {
    if (this.policy === "off" || this.capacity <= 0) return { result: "refused" };
    if (this.items.length >= this.capacity) {
      if (this.policy === "drop-newest") return { result: "refused" };
      const evicted = this.items.shift()!;
      this.items.push(item);
      return { result: "evicted", evicted };
    }
    this.items.push(item);
    return { result: "queued" };
  }

  /** Drops a request's entry (it failed, timed out or was aborted while queued). */
  removeRequest(id: string): void {
    this.items = this.items.filter((i) => !(i.kind === "request" && i.id === id));
  }

  /** Takes every item, oldest first. */
  drain(): Queued[] {
    const out = this.items;
    this.items = [];
    return out;
  }
}
