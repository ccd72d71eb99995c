// wskit-client: a typed WebSocket client for wskit servers, typed from a generated protocol.ts.
export { Client } from "./client.ts";
export type {
  ClientOptions,
  ClientReport,
  ConnectFailure,
  ConnectionState,
  Gap,
  InboundMeta,
  RequestOptions,
  SendOptions,
  TokenTransport,
  UnhandledFrame,
  WebSocketCtor,
} from "./client.ts";
export { DEFAULT_RECONNECT, backoffCap, backoffDelay } from "./backoff.ts";
export type { ReconnectOptions } from "./backoff.ts";
export { OfflineQueue } from "./queue.ts";
export type { QueuePolicy, Queued } from "./queue.ts";
export { ClientError, ERROR_CODES, RpcError, ValidationError } from "./errors.ts";
export type {
  AnyErrorCode,
  ClientErrorKind,
  ErrorPayload,
  Issue,
  StandardErrorCode,
} from "./errors.ts";
export type {
  Descriptor,
  EventDescriptor,
  Kind,
  MessageDescriptor,
  PayloadForm,
  PayloadIn,
  PayloadOut,
  ProgressOf,
  RequestDescriptor,
  ResponseOf,
} from "./descriptor.ts";
