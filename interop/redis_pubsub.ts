// A thin Redis pub/sub adapter for ws-kit 0.10, on the bus of ws-kit's own Redis adapter
// (packages/redis in the ws-kit repository, not published on npm; PROTOCOL.md section 6):
// every publication is one PUBLISH of the envelope's JSON ({topic, payload, type, meta}) on
// `<prefix><topic>`; one connection PSUBSCRIBEs `<prefix>*` and hands every envelope with a
// topic to the router, which delivers it to the local subscribers (the publishing node included:
// delivery comes only from the bus). Local subscriptions are kept by @ws-kit/memory.
import { memoryPubSub } from "@ws-kit/memory";
import type { PubSubAdapter, PublishEnvelope } from "@ws-kit/pubsub";
import { createClient } from "redis";

export function redisPubSub(url: string, prefix = ""): PubSubAdapter {
  const local = memoryPubSub();
  const pub = createClient({ url });
  const sub = pub.duplicate();
  pub.on("error", (err) => console.error("[redis pub]", err));
  sub.on("error", (err) => console.error("[redis sub]", err));
  return {
    async publish(envelope: PublishEnvelope) {
      try {
        await pub.publish(prefix + envelope.topic, JSON.stringify(envelope));
        return { ok: true, capability: "unknown" };
      } catch (cause) {
        return { ok: false, error: "ADAPTER_ERROR", retryable: true, adapter: "redis", cause };
      }
    },
    subscribe: (clientId, topic) => local.subscribe(clientId, topic),
    unsubscribe: (clientId, topic) => local.unsubscribe(clientId, topic),
    getSubscribers: (topic) => local.getSubscribers(topic),
    replace: (clientId, topics) => local.replace!(clientId, topics),
    listTopics: () => local.listTopics!(),
    hasTopic: (topic) => local.hasTopic!(topic),
    async start(onRemote) {
      await pub.connect();
      await sub.connect();
      await sub.pSubscribe(`${prefix}*`, (message) => {
        let envelope: unknown;
        try {
          envelope = JSON.parse(message);
        } catch {
          return; // not JSON: dropped, as ws-kit's adapter does
        }
        // Without a topic (wskit's control messages): ignored, as ws-kit's adapter does.
        if (envelope && typeof (envelope as PublishEnvelope).topic === "string") {
          void onRemote(envelope as PublishEnvelope);
        }
      });
      return async () => {
        await sub.quit();
        await pub.quit();
      };
    },
  };
}
