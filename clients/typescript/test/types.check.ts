// Type tests: `npm run typecheck` (tsc --strict) fails if any line marked @ts-expect-error
// compiles, i.e. if the client's types accept what the protocol does not. Never run.
import { Client, type ProgressOf, type ResponseOf } from "../src/index.ts";
import {
  History,
  HistoryPage,
  HistoryProgress,
  JoinRoom,
  ListMembers,
  Members,
  NewMessage,
  SendMessage,
} from "../../../examples/web/protocol.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

export async function typeTests(client: Client): Promise<void> {
  // Requests: the payload is the request's, the reply is its response's.
  const members: Members = await client.request(ListMembers, { roomId: "general" });
  assertType<Equal<typeof members, { roomId: string; members: string[] }>>(true);
  // @ts-expect-error roomId is a string, not a number
  await client.request(ListMembers, { roomId: 1 });
  // @ts-expect-error a key the request does not declare
  await client.request(ListMembers, { roomId: "a", extra: true });
  // @ts-expect-error roomId is required
  await client.request(ListMembers, {});
  // @ts-expect-error a payload with fields is required
  await client.request(ListMembers);
  // @ts-expect-error the reply has no such field
  members.nobody;
  // @ts-expect-error a message is not a request
  await client.request(JoinRoom, { roomId: "a" });

  // Progress: typed from the request's progress descriptor; none for requests without one.
  const page: HistoryPage = await client.request(History, { roomId: "a" }, {
    timeoutMs: 1000,
    signal: new AbortController().signal,
    onProgress: (p) => {
      assertType<Equal<typeof p, HistoryProgress>>(true);
      p.done.toFixed();
    },
  });
  page.lines[0]?.user.toUpperCase();
  assertType<Equal<ProgressOf<typeof ListMembers>, never>>(true);
  assertType<Equal<ResponseOf<typeof History>, HistoryPage>>(true);
  await client.request(ListMembers, { roomId: "a" }, {
    // @ts-expect-error ListMembers declares no progress
    onProgress: (p: { done: number }) => p,
  });
  await client.request(History, { roomId: "a" }, {
    // @ts-expect-error the progress update has no such field
    onProgress: (p) => p.percent,
  });

  // Messages: send takes messages only, with their payload.
  client.send(JoinRoom, { roomId: "general" });
  client.send(SendMessage, { roomId: "general", text: "hi" });
  // @ts-expect-error text is missing
  client.send(SendMessage, { roomId: "general" });
  // @ts-expect-error a request is not sent with send
  client.send(ListMembers, { roomId: "general" });
  // @ts-expect-error an event is not sent by the client
  client.send(NewMessage, { roomId: "r", user: "u", text: "t" });

  // Events: the callback gets the event's payload type.
  client.on(NewMessage, (m) => {
    assertType<Equal<typeof m, NewMessage>>(true);
    // @ts-expect-error no such field on NEW_MESSAGE
    m.roomName;
  });
  // @ts-expect-error a request is not an event
  client.on(ListMembers, () => {});
}
