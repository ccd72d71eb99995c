// Type-level checks of the generated module (tests/tests/export_ts.rs writes gen/everything.ts):
// `tsc --strict` must accept this file, and each `@ts-expect-error` line must be an error.
import { z } from "zod";
import * as P from "./gen/everything";

// Payload types are inferred under the message's name; keys are the wire names.
export const strings: P.Strings = {
  plain: "p",
  short: "ab",
  digits: "12-ab",
  prefix: "abc",
  word: "a cat",
  dot: "abc",
  email: "ada@example.com",
  url: "https://example.com",
  id: "67e55044-10b1-426f-9247-bb680e5fe0c8",
  "odd-key": true,
};
// @ts-expect-error: `id` is a number
export const badFetch: P.Fetch = { id: "1" };
// @ts-expect-error: strict object, no unknown key
export const extraKey: P.Fetch = { id: 1, other: 2 };

// `Option` is optional or null.
export const addresses: P.Address[] = [{ country: "fr" }, { country: "fr", street: null }, { country: "fr", street: "x" }];

// Descriptors keep their literal types.
export const kind: "request" = P.Fetch.kind;
export const idempotent: true = P.Fetch.idempotent;
export const subscription: true = P.Strings.subscription;
export const wire: "EXPORT" = P.Export.type;
export const form: "none" = P.Bare.payloadForm;
export const response: typeof P.Address = P.Fetch.response;
export const progress: typeof P.Step = P.Export.progress;
export const noProgress: undefined = P.Fetch.progress;
// @ts-expect-error: Fetch is idempotent
export const notIdempotent: false = P.Fetch.idempotent;

// Recursive and enum types.
export const tree: P.Tree = { label: "r", children: [{ label: "c", children: [] }] };
export const role: P.Role = "plain-user";
// @ts-expect-error: the wire name is `plain-user`
export const badRole: P.Role = "user";

// Declared meta is typed.
export const meta: z.input<typeof P.Nested.meta> = { traceId: "t", tenant: null };

// The unions discriminate on `type`.
export function route(m: P.ClientMessage): string {
  switch (m.type) {
    case "FETCH":
      return String(m.payload.id);
    case "NESTED":
      return m.meta.traceId;
    case "$ws:abort":
      return m.meta.correlationId;
    default:
      return m.type;
  }
}
export function onServer(m: P.ServerMessage): string {
  switch (m.type) {
    case "RPC_ERROR":
      return String(m.payload.code);
    case "EXPORTED":
      return String(m.payload.done);
    default:
      return m.type;
  }
}

// What a client sends (`z.input`) and receives (`z.output`).
export const sent: z.input<typeof P.Export.payload> = { rows: 3 };
export const received: z.output<typeof P.Export.response.payload> = { done: 3 };
export const code: P.ErrorCode = "NOT_FOUND";
// @ts-expect-error: not a standard code
export const badCode: P.ErrorCode = "NOPE";
export const raw: P.Nested["raw"] = { any: [1, null, "x"] };
export const wireTypes: readonly string[] = P.Everything.requests.map((d) => d.type);
