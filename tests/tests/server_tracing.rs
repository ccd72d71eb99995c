//! tracing: a span per connection (with its client id) and per request (type, correlationId);
//! a client without an error hook logs its reports.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use wskit_tests::*;

/// A span's name and fields.
type SpanRecord = (String, HashMap<String, String>);

/// Records every span's name and fields.
#[derive(Clone, Default)]
struct Recorder {
    next: Arc<AtomicU64>,
    spans: Arc<Mutex<HashMap<u64, SpanRecord>>>,
    /// Every event's level, target and message.
    events: Arc<Mutex<Vec<(tracing::Level, String, String)>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = HashMap::new();
        span.record(&mut Fields(&mut fields));
        self.spans
            .lock()
            .unwrap()
            .insert(id, (span.metadata().name().to_owned(), fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let meta = event.metadata();
        self.events.lock().unwrap().push((
            *meta.level(),
            meta.target().to_owned(),
            fields.remove("message").unwrap_or_default(),
        ));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    fn spans_named(&self, name: &str) -> Vec<HashMap<String, String>> {
        let spans = self.spans.lock().unwrap();
        let mut found: Vec<(u64, HashMap<String, String>)> = spans
            .iter()
            .filter(|(_, (n, _))| n == name)
            .map(|(id, (_, f))| (*id, f.clone()))
            .collect();
        found.sort_by_key(|(id, _)| *id);
        found.into_iter().map(|(_, f)| f).collect()
    }
}

#[tokio::test]
async fn connections_and_requests_have_spans() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"t-1"},"payload":{"userId":"u1"}}"#)
        .await;
    c.recv().await;
    c.send(r#"{"type":"PING"}"#).await;
    c.frames_before_ack().await;

    let connections = recorder.spans_named("ws.connection");
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0]["client_id"], c.client_id());
    let requests = recorder.spans_named("ws.request");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["type"], "GET_USER");
    assert_eq!(requests[0]["correlation_id"], "t-1");
    assert_eq!(requests[1]["type"], "PING");
    assert!(!requests[1].contains_key("correlation_id"));
}

/// A client with no `on_error` hook is not silent: a failed connection attempt is logged at
/// WARN (target `wskit::client`).
#[tokio::test]
async fn a_client_without_an_error_hook_logs_its_reports() {
    use wskit::client::{Backoff, Client};
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::builder(url)
        .backoff(Backoff::ExponentialJitter {
            initial: std::time::Duration::from_millis(1),
            max: std::time::Duration::from_millis(1),
            max_attempts: Some(1),
        })
        .build();
    assert!(within("connect", client.connect()).await.is_err());
    let events = recorder.events.lock().unwrap().clone();
    let warned: Vec<&String> = events
        .iter()
        .filter(|(level, target, _)| *level == tracing::Level::WARN && target == "wskit::client")
        .map(|(_, _, message)| message)
        .collect();
    assert_eq!(warned.len(), 2, "{events:?}");
    assert!(
        warned
            .iter()
            .all(|m| m.starts_with("connection attempt failed")),
        "{warned:?}"
    );
}
