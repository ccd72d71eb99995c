// The chat protocol (examples/chat_protocol.rs) as zod 4 schemas and descriptors, in the shape of
// the TypeScript export (`wskit::export::typescript`). Written by hand until the exporter's output
// replaces it; keep it in that shape.
import { z } from "zod";

/** One line of a room's history. */
export const Line = z.strictObject({ user: z.string(), text: z.string() });
export type Line = z.infer<typeof Line>;

/** Enter a room: its messages, joins and leaves are delivered from then on. */
export const JoinRoom = {
  name: "JoinRoom",
  type: "JOIN_ROOM",
  kind: "message",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string().min(1).max(64) }),
  meta: z.strictObject({}),
  subscription: true,
  idempotent: false,
} as const;
export type JoinRoom = z.infer<typeof JoinRoom.payload>;

/** Leave a room. */
export const LeaveRoom = {
  name: "LeaveRoom",
  type: "LEAVE_ROOM",
  kind: "message",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string() }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type LeaveRoom = z.infer<typeof LeaveRoom.payload>;

/** Say something in a room one has joined. */
export const SendMessage = {
  name: "SendMessage",
  type: "SEND_MESSAGE",
  kind: "message",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string(), text: z.string().min(1).max(2000) }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type SendMessage = z.infer<typeof SendMessage.payload>;

/** A line said in a room (published to the room, the sender included). */
export const NewMessage = {
  name: "NewMessage",
  type: "NEW_MESSAGE",
  kind: "event",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string(), user: z.string(), text: z.string() }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type NewMessage = z.infer<typeof NewMessage.payload>;

/** Someone entered a room. */
export const UserJoined = {
  name: "UserJoined",
  type: "USER_JOINED",
  kind: "event",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string(), user: z.string() }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type UserJoined = z.infer<typeof UserJoined.payload>;

/** Someone left a room (or disconnected). */
export const UserLeft = {
  name: "UserLeft",
  type: "USER_LEFT",
  kind: "event",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string(), user: z.string() }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type UserLeft = z.infer<typeof UserLeft.payload>;

export const Members = {
  name: "Members",
  type: "MEMBERS",
  kind: "response",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string(), members: z.array(z.string()) }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type Members = z.infer<typeof Members.payload>;

/** Who is in a room. */
export const ListMembers = {
  name: "ListMembers",
  type: "LIST_MEMBERS",
  kind: "request",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string() }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: true,
  response: Members,
  progress: undefined,
} as const;
export type ListMembers = z.infer<typeof ListMembers.payload>;

export const HistoryPage = {
  name: "HistoryPage",
  type: "HISTORY_PAGE",
  kind: "response",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string(), lines: z.array(Line) }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type HistoryPage = z.infer<typeof HistoryPage.payload>;

export const HistoryProgress = {
  name: "HistoryProgress",
  type: "HISTORY_PROGRESS",
  kind: "progress",
  payloadForm: "fields",
  payload: z.strictObject({
    done: z.number().int().min(0).max(4294967295),
    total: z.number().int().min(0).max(4294967295),
  }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: false,
} as const;
export type HistoryProgress = z.infer<typeof HistoryProgress.payload>;

/** The last lines said in a room (at most 100, oldest first), with progress updates. */
export const History = {
  name: "History",
  type: "HISTORY",
  kind: "request",
  payloadForm: "fields",
  payload: z.strictObject({ roomId: z.string() }),
  meta: z.strictObject({}),
  subscription: false,
  idempotent: true,
  response: HistoryPage,
  progress: HistoryProgress,
} as const;
export type History = z.infer<typeof History.payload>;

/** A multi-room chat. */
export const Chat = {
  name: "Chat",
  messages: [JoinRoom, LeaveRoom, SendMessage],
  events: [NewMessage, UserJoined, UserLeft],
  requests: [ListMembers, History],
} as const;

/** The error codes of PROTOCOL.md section 3 (a server may also send custom codes). */
export const ErrorCode = z.enum([
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "INVALID_ARGUMENT",
  "FAILED_PRECONDITION",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "UNIMPLEMENTED",
  "CANCELLED",
  "DEADLINE_EXCEEDED",
  "RESOURCE_EXHAUSTED",
  "UNAVAILABLE",
  "ABORTED",
  "INTERNAL",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

const Meta = z.object({ correlationId: z.string().optional(), timestamp: z.number().optional() });
const ErrorPayload = z.strictObject({
  code: z.union([ErrorCode, z.string()]),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  retryable: z.boolean().optional(),
  retryAfterMs: z.number().optional(),
});

/** Every frame a client sends. */
export const ClientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("JOIN_ROOM"), meta: Meta.optional(), payload: JoinRoom.payload }),
  z.object({ type: z.literal("LEAVE_ROOM"), meta: Meta.optional(), payload: LeaveRoom.payload }),
  z.object({ type: z.literal("SEND_MESSAGE"), meta: Meta.optional(), payload: SendMessage.payload }),
  z.object({ type: z.literal("LIST_MEMBERS"), meta: Meta.optional(), payload: ListMembers.payload }),
  z.object({ type: z.literal("HISTORY"), meta: Meta.optional(), payload: History.payload }),
  z.object({ type: z.literal("$ws:abort"), meta: z.object({ correlationId: z.string() }) }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Every frame a server sends. */
export const ServerMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("NEW_MESSAGE"), meta: Meta.optional(), payload: NewMessage.payload }),
  z.object({ type: z.literal("USER_JOINED"), meta: Meta.optional(), payload: UserJoined.payload }),
  z.object({ type: z.literal("USER_LEFT"), meta: Meta.optional(), payload: UserLeft.payload }),
  z.object({ type: z.literal("MEMBERS"), meta: Meta.optional(), payload: Members.payload }),
  z.object({ type: z.literal("HISTORY_PAGE"), meta: Meta.optional(), payload: HistoryPage.payload }),
  z.object({
    type: z.literal("$ws:rpc-progress"),
    meta: Meta.optional(),
    payload: HistoryProgress.payload,
  }),
  z.object({ type: z.literal("RPC_ERROR"), meta: Meta.optional(), payload: ErrorPayload }),
  z.object({ type: z.literal("ERROR"), meta: Meta.optional(), payload: ErrorPayload }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
