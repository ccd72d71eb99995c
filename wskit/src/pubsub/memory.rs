//! The in-memory pub/sub backend: one process, exact match counts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures_util::future::BoxFuture;

use super::backend::{
    ClientId, Frame, FrameSink, Matched, PubSub, PubSubError, Publication, Subscriber,
};

/// Subscribers warmed ([`FrameSink::warm`]) together before a fan-out delivers to them.
const WARM_BATCH: usize = 16;

/// Topics and their subscribers in this process.
///
/// Delivery never blocks: each subscriber's sink gets a clone of the shared frame bytes (the
/// server writes them straight to an idle subscriber's socket, or queues them). Subscribers get
/// a publication in the order they subscribed.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use wskit::pubsub::{ClientId, Frame, FrameSink, Matched, MemoryPubSub, PubSub, Publication, Subscriber};
///
/// struct Inbox(Mutex<Vec<Frame>>);
/// impl FrameSink for Inbox {
///     fn deliver(&self, frame: Frame) { self.0.lock().unwrap().push(frame) }
/// }
/// let bus = MemoryPubSub::new();
/// let inbox = Arc::new(Inbox(Mutex::new(Vec::new())));
/// let id = ClientId::new();
/// bus.subscribe("room:1", Subscriber { client_id: id, sink: inbox.clone() }).unwrap();
/// let publication = Publication {
///     topic: "room:1".into(), wire_type: "NEW_MESSAGE",
///     frame: r#"{"type":"NEW_MESSAGE"}"#.into(), exclude: None,
/// };
/// let matched = futures_util::FutureExt::now_or_never(bus.publish(publication)).unwrap().unwrap();
/// assert_eq!(matched, Matched::Exact(1));
/// assert_eq!(inbox.0.lock().unwrap().len(), 1);
/// ```
#[derive(Default)]
pub struct MemoryPubSub {
    topics: RwLock<HashMap<String, Subscribers>>,
}

/// One topic's subscribers in the order they subscribed.
///
/// Delivering in that order (rather than a hash map's) measured about 25% more deliveries per
/// second in the 10,000-subscriber fan-out benchmark, for the raw baseline as much as for wskit:
/// subscribers' sockets, and their state in the kernel, were mostly created in that order too.
#[derive(Default)]
struct Subscribers {
    /// In subscription order; `None` where a subscriber left.
    slots: Vec<Option<Subscriber>>,
    /// Where each subscriber is in `slots`.
    index: HashMap<ClientId, usize>,
}

impl Subscribers {
    fn len(&self) -> usize {
        self.index.len()
    }

    fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds a subscriber at the end; one already there keeps its place and takes the new sink.
    fn insert(&mut self, subscriber: Subscriber) {
        match self.index.get(&subscriber.client_id) {
            Some(&at) => self.slots[at] = Some(subscriber),
            None => {
                self.index.insert(subscriber.client_id, self.slots.len());
                self.slots.push(Some(subscriber));
            }
        }
    }

    /// Removes a subscriber; whether it was there. The slots are compacted (keeping the order)
    /// once more than half of them are empty.
    fn remove(&mut self, client_id: ClientId) -> bool {
        let Some(at) = self.index.remove(&client_id) else {
            return false;
        };
        self.slots[at] = None;
        if self.index.len() < self.slots.len() / 2 {
            self.slots.retain(Option::is_some);
            for (at, sub) in self.slots.iter().flatten().enumerate() {
                self.index.insert(sub.client_id, at);
            }
        }
        true
    }

    fn iter(&self) -> impl Iterator<Item = &Subscriber> {
        self.slots.iter().flatten()
    }
}

impl MemoryPubSub {
    /// An empty bus.
    pub fn new() -> Self {
        MemoryPubSub::default()
    }

    /// Hands `frame` to every subscriber of `topic` but `exclude`; how many got it. A cluster
    /// backend delivers what arrives on its bus through this.
    pub(crate) fn deliver(&self, topic: &str, frame: &Frame, exclude: Option<ClientId>) -> usize {
        // The sinks are collected under the lock and delivered to after it is released: a sink
        // (the slow-consumer policy, its error hook) may subscribe or unsubscribe, and other
        // publications need not wait for this fan-out.
        let sinks: Vec<Arc<dyn FrameSink>> = {
            let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
            topics.get(topic).map_or_else(Vec::new, |subs| {
                subs.iter()
                    .filter(|sub| Some(sub.client_id) != exclude)
                    .map(|sub| sub.sink.clone())
                    .collect()
            })
        };
        // A delivery is mostly a socket write, and the first touch of each subscriber's state
        // is a cache miss: a batch's subscribers are warmed together (their misses overlap),
        // then delivered to one by one.
        for batch in sinks.chunks(WARM_BATCH) {
            batch.iter().for_each(|sink| sink.warm());
            for sink in batch {
                sink.deliver(frame.clone());
            }
        }
        sinks.len()
    }

    /// The number of topics that have at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.topics.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl PubSub for MemoryPubSub {
    fn subscribe(&self, topic: &str, subscriber: Subscriber) -> Result<(), PubSubError> {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        topics
            .entry(topic.to_owned())
            .or_default()
            .insert(subscriber);
        Ok(())
    }

    fn unsubscribe(&self, topic: &str, client_id: ClientId) -> bool {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let Some(subs) = topics.get_mut(topic) else {
            return false;
        };
        let removed = subs.remove(client_id);
        if subs.is_empty() {
            topics.remove(topic);
        }
        removed
    }

    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Matched, PubSubError>> {
        let matched = self.deliver(&publication.topic, &publication.frame, publication.exclude);
        Box::pin(std::future::ready(Ok(Matched::Exact(matched))))
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        topics.get(topic).map_or(0, Subscribers::len)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures_util::FutureExt;

    use super::*;

    /// A publication of `{"type":"X"}` to topic `t`.
    fn x_on_t(exclude: Option<ClientId>) -> Publication {
        Publication {
            topic: "t".into(),
            wire_type: "X",
            frame: r#"{"type":"X"}"#.into(),
            exclude,
        }
    }

    #[derive(Default)]
    struct Inbox(Mutex<Vec<Frame>>);
    impl FrameSink for Inbox {
        fn deliver(&self, frame: Frame) {
            self.0.lock().unwrap().push(frame);
        }
    }

    #[test]
    fn one_publication_shares_its_bytes_and_honours_exclude() {
        let bus = MemoryPubSub::new();
        let inboxes: Vec<Arc<Inbox>> = (0..3).map(|_| Arc::default()).collect();
        let ids: Vec<ClientId> = (0..3).map(|_| ClientId::new()).collect();
        for (id, inbox) in ids.iter().zip(&inboxes) {
            let sub = Subscriber {
                client_id: *id,
                sink: inbox.clone(),
            };
            bus.subscribe("t", sub).unwrap();
        }
        let publication = x_on_t(Some(ids[0]));
        let original = publication.frame.as_str().as_ptr();
        let matched = bus.publish(publication).now_or_never().unwrap().unwrap();
        assert_eq!(matched, Matched::Exact(2));
        assert!(inboxes[0].0.lock().unwrap().is_empty());
        for inbox in &inboxes[1..] {
            let got = inbox.0.lock().unwrap();
            // The same bytes, not a copy.
            assert_eq!(got[0].as_str().as_ptr(), original);
        }
        assert!(bus.unsubscribe("t", ids[1]));
        assert!(!bus.unsubscribe("t", ids[1]));
        assert_eq!(bus.subscriber_count("t"), 2);
        bus.unsubscribe("t", ids[0]);
        bus.unsubscribe("t", ids[2]);
        assert_eq!(bus.topic_count(), 0);
    }

    /// A sink that subscribes while it is delivered to (as an error hook of the slow-consumer
    /// policy may): with delivery under the topics lock this deadlocked.
    struct Resubscriber {
        bus: Arc<MemoryPubSub>,
        delivered: Mutex<usize>,
    }
    impl FrameSink for Resubscriber {
        fn deliver(&self, _frame: Frame) {
            *self.delivered.lock().unwrap() += 1;
            let other = Subscriber {
                client_id: ClientId::new(),
                sink: Arc::new(Inbox::default()),
            };
            self.bus.subscribe("other", other).unwrap();
        }
    }

    #[test]
    fn a_sink_may_subscribe_during_delivery() {
        let bus = Arc::new(MemoryPubSub::new());
        let sink = Arc::new(Resubscriber {
            bus: bus.clone(),
            delivered: Mutex::new(0),
        });
        let sub = Subscriber {
            client_id: ClientId::new(),
            sink: sink.clone(),
        };
        bus.subscribe("t", sub).unwrap();
        let publication = x_on_t(None);
        let (tx, rx) = std::sync::mpsc::channel();
        let bus2 = bus.clone();
        std::thread::spawn(move || {
            let matched = bus2.publish(publication).now_or_never().unwrap().unwrap();
            let _ = tx.send(matched);
        });
        let matched = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("publish deadlocked");
        assert_eq!(matched, Matched::Exact(1));
        assert_eq!(*sink.delivered.lock().unwrap(), 1);
        assert_eq!(bus.subscriber_count("other"), 1);
    }

    /// Records the order of `warm` and `deliver` calls across all sinks.
    struct Traced {
        n: usize,
        log: Arc<Mutex<Vec<(char, usize)>>>,
    }
    impl FrameSink for Traced {
        fn deliver(&self, _frame: Frame) {
            self.log.lock().unwrap().push(('d', self.n));
        }
        fn warm(&self) {
            self.log.lock().unwrap().push(('w', self.n));
        }
    }

    #[test]
    fn a_fan_out_warms_each_batch_before_delivering_to_it() {
        let bus = MemoryPubSub::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let n = 2 * WARM_BATCH + 3;
        for i in 0..n {
            let sink = Arc::new(Traced {
                n: i,
                log: log.clone(),
            });
            let sub = Subscriber {
                client_id: ClientId::new(),
                sink,
            };
            bus.subscribe("t", sub).unwrap();
        }
        let publication = x_on_t(None);
        let matched = bus.publish(publication).now_or_never().unwrap().unwrap();
        assert_eq!(matched, Matched::Exact(n));
        let log = log.lock().unwrap();
        // Every sink is warmed once and delivered to once, in batches: all of a batch's warms,
        // then its deliveries in the same order.
        assert_eq!(log.len(), 2 * n);
        let mut at = 0;
        for size in [WARM_BATCH, WARM_BATCH, 3] {
            let (warms, delivers) = log[at..at + 2 * size].split_at(size);
            assert!(warms.iter().all(|(k, _)| *k == 'w'), "{warms:?}");
            assert!(delivers.iter().all(|(k, _)| *k == 'd'), "{delivers:?}");
            let order = |entries: &[(char, usize)]| entries.iter().map(|e| e.1).collect::<Vec<_>>();
            assert_eq!(order(warms), order(delivers));
            at += 2 * size;
        }
        let mut seen: Vec<usize> = log.iter().filter(|e| e.0 == 'd').map(|e| e.1).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn subscribers_get_a_publication_in_the_order_they_subscribed() {
        let bus = MemoryPubSub::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let ids: Vec<ClientId> = (0..100).map(|_| ClientId::new()).collect();
        let sub = |i: usize| Subscriber {
            client_id: ids[i],
            sink: Arc::new(Traced {
                n: i,
                log: log.clone(),
            }),
        };
        for i in 0..100 {
            bus.subscribe("t", sub(i)).unwrap();
        }
        // Subscribing again keeps the place; leaving (60 of them, so the slots are compacted)
        // keeps the others' order.
        bus.subscribe("t", sub(5)).unwrap();
        for i in (0..100).filter(|i| i % 5 != 0).take(60) {
            assert!(bus.unsubscribe("t", ids[i]));
        }
        assert!(!bus.unsubscribe("t", ids[1]));
        bus.subscribe("t", sub(1)).unwrap();
        let publication = x_on_t(Some(ids[10]));
        let matched = bus.publish(publication).now_or_never().unwrap().unwrap();
        let delivered: Vec<usize> = (log.lock().unwrap().iter())
            .filter(|e| e.0 == 'd')
            .map(|e| e.1)
            .collect();
        let mut expected: Vec<usize> = (0..100).filter(|i| i % 5 == 0 || *i > 75).collect();
        expected.retain(|&i| i != 10);
        expected.push(1);
        assert_eq!(delivered, expected);
        assert_eq!(matched, Matched::Exact(expected.len()));
        assert_eq!(bus.subscriber_count("t"), expected.len() + 1);
    }
}
