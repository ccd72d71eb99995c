// The descriptor shape the TypeScript export writes into protocol.ts (one object per message,
// event, request, response and progress), and the types the client derives from it.
import type { z } from "zod";

/** What a descriptor describes. */
export type Kind = "message" | "event" | "request" | "response" | "progress";

/** How the payload travels: no `payload` key, `"payload":{}`, or an object of fields. */
export type PayloadForm = "none" | "empty" | "fields";

/** Any descriptor of the generated protocol.ts. */
export interface Descriptor {
  readonly name: string;
  readonly type: string;
  readonly kind: Kind;
  readonly payloadForm: PayloadForm;
  readonly payload: z.ZodType;
  readonly meta: z.ZodType;
  readonly subscription: boolean;
  readonly idempotent: boolean;
}

/** A fire-and-forget message the client sends (`client.send`). */
export interface MessageDescriptor extends Descriptor {
  readonly kind: "message";
}

/** A frame the server pushes (`client.on`): an event, or a message a server may also send. */
export interface EventDescriptor extends Descriptor {
  readonly kind: "event" | "message";
}

/** An RPC request (`client.request`), naming its response and progress descriptors. */
export interface RequestDescriptor extends Descriptor {
  readonly kind: "request";
  readonly response: Descriptor;
  readonly progress: Descriptor | undefined;
}

/** What the client passes for a descriptor's payload (before zod's transforms and defaults). */
export type PayloadIn<D extends Descriptor> = z.input<D["payload"]>;

/** What the client receives for a descriptor's payload (after validation). */
export type PayloadOut<D extends Descriptor> = z.output<D["payload"]>;

/** The declared extra meta fields of a descriptor, as the sender writes them. */
export type MetaIn<D extends Descriptor> = z.input<D["meta"]>;

/** The reply type of a request. */
export type ResponseOf<R extends RequestDescriptor> = z.output<R["response"]["payload"]>;

/** The progress update type of a request; `never` when it declares no progress. */
export type ProgressOf<R extends RequestDescriptor> = R["progress"] extends Descriptor
  ? z.output<R["progress"]["payload"]>
  : never;

/**
 * The payload argument(s) of `send`/`request`: required for a payload with fields, optional
 * (and `{}`/`undefined` only) for the other forms.
 */
export type PayloadArgs<D extends Descriptor, O> = D["payloadForm"] extends "fields"
  ? [payload: PayloadIn<D>, options?: O]
  : [payload?: PayloadIn<D>, options?: O];
