//! The sockets of one Durable Object, seen from wskit's side: each connection's [`Host`] (send,
//! close, clock, timers, topics), and what a socket keeps in its attachment across hibernation.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use worker::{WebSocket, js_sys, wasm_bindgen::JsValue};
use wskit::local::{Host, HostError, LocalBoxFuture};

/// The property of a JS `WebSocket` object that holds its connection's client id while the
/// object's instance lives (hibernation gives new JS objects: then the attachment tells).
const ID_PROPERTY: &str = "__wskitClientId";

/// What a socket's attachment holds, as one JSON string: the client id, the connection data
/// (its JSON) and the topics, in subscription order. Tags cannot hold the topics: they are
/// fixed when the socket is accepted.
#[derive(Serialize)]
struct AttachmentOut<'a> {
    id: &'a str,
    topics: &'a [String],
    data: &'a RawValue,
}

/// An attachment read back.
#[derive(Deserialize)]
pub(crate) struct Attachment {
    pub(crate) id: String,
    pub(crate) topics: Vec<String>,
    pub(crate) data: Box<RawValue>,
}

/// An attachment's JSON text, or why it is not kept (larger than the limit).
pub(crate) fn attachment_text(
    id: &str,
    topics: &[String],
    data: &RawValue,
    limit: usize,
) -> Result<String, HostError> {
    let text = serde_json::to_string(&AttachmentOut { id, topics, data })
        .map_err(|e| HostError::Failed(e.to_string()))?;
    let size = serialized_size(&text);
    if size > limit {
        return Err(HostError::Exhausted(format!(
            "the socket's attachment would be {size} bytes, over the limit of {limit} \
             (connection data and topics are kept there across hibernation)"
        )));
    }
    Ok(text)
}

/// An upper bound of a string's size in the runtime's serialized form (V8's structured clone:
/// a few bytes of header, then one byte a character for a Latin-1 string, else two a UTF-16
/// unit).
fn serialized_size(text: &str) -> usize {
    const HEADER: usize = 8;
    if text.chars().all(|c| u32::from(c) < 0x100) {
        HEADER + text.chars().count()
    } else {
        HEADER + 2 * text.encode_utf16().count()
    }
}

/// Writes an attachment.
pub(crate) fn write_attachment(ws: &WebSocket, text: String) -> Result<(), HostError> {
    ws.serialize_attachment(text)
        .map_err(|e| HostError::Failed(e.to_string()))
}

/// Reads an attachment written by [`write_attachment`]; `None` for a socket without one (not
/// accepted by wskit) or with another shape.
pub(crate) fn read_attachment(ws: &WebSocket) -> Option<Attachment> {
    let text: String = ws.deserialize_attachment().ok()??;
    serde_json::from_str(&text).ok()
}

/// The client id remembered on this JS object, if any.
pub(crate) fn remembered_id(ws: &WebSocket) -> Option<String> {
    let raw: &JsValue = ws.as_ref();
    js_sys::Reflect::get(raw, &JsValue::from_str(ID_PROPERTY))
        .ok()?
        .as_string()
}

/// Remembers the client id on this JS object (a lookup without reading the attachment).
pub(crate) fn remember_id(ws: &WebSocket, id: &str) {
    let raw: &JsValue = ws.as_ref();
    let _ = js_sys::Reflect::set(raw, &JsValue::from_str(ID_PROPERTY), &JsValue::from_str(id));
}

/// One open socket.
struct Socket {
    ws: WebSocket,
    /// The connection data's JSON, as last written to the attachment.
    data: Box<RawValue>,
    /// Subscribed topics, in subscription order.
    topics: Vec<String>,
    /// Set once wskit or the application closed it: code and reason.
    closed: Option<(u16, String)>,
}

/// The object's sockets and topics: what every connection's [`Host`] shares. Not generic over
/// the connection data (kept here as JSON).
pub(crate) struct Core {
    sockets: RefCell<HashMap<String, Socket>>,
    /// Subscribers of each topic, by client id, in subscription order.
    topics: RefCell<HashMap<String, Vec<String>>>,
    max_attachment_bytes: usize,
}

impl Core {
    pub(crate) fn new(max_attachment_bytes: usize) -> Rc<Core> {
        Rc::new(Core {
            sockets: RefCell::default(),
            topics: RefCell::default(),
            max_attachment_bytes,
        })
    }

    pub(crate) fn max_attachment_bytes(&self) -> usize {
        self.max_attachment_bytes
    }

    /// Registers an open socket, with its topics.
    pub(crate) fn insert(&self, id: &str, ws: WebSocket, data: Box<RawValue>, topics: Vec<String>) {
        {
            let mut index = self.topics.borrow_mut();
            for topic in &topics {
                let subscribers = index.entry(topic.clone()).or_default();
                if !subscribers.iter().any(|s| s == id) {
                    subscribers.push(id.to_owned());
                }
            }
        }
        let socket = Socket {
            ws,
            data,
            topics,
            closed: None,
        };
        self.sockets.borrow_mut().insert(id.to_owned(), socket);
    }

    /// Forgets a socket and its subscriptions; the close code and reason wskit gave it, if it
    /// closed it.
    pub(crate) fn remove(&self, id: &str) -> Option<Option<(u16, String)>> {
        let socket = self.sockets.borrow_mut().remove(id)?;
        self.drop_subscriptions(id, &socket.topics);
        Some(socket.closed)
    }

    /// Whether wskit or the application closed this socket (and with what).
    pub(crate) fn closed(&self, id: &str) -> Option<(u16, String)> {
        self.sockets.borrow().get(id)?.closed.clone()
    }

    fn drop_subscriptions(&self, id: &str, topics: &[String]) {
        let mut index = self.topics.borrow_mut();
        for topic in topics {
            if let Some(subscribers) = index.get_mut(topic) {
                subscribers.retain(|s| s != id);
                if subscribers.is_empty() {
                    index.remove(topic);
                }
            }
        }
    }

    /// Keeps new connection data (its JSON) in the socket's attachment when it changed.
    pub(crate) fn save_data(&self, id: &str, data: Box<RawValue>) -> Result<(), HostError> {
        let mut sockets = self.sockets.borrow_mut();
        let Some(socket) = sockets.get_mut(id) else {
            return Err(HostError::Closed);
        };
        if socket.data.get() == data.get() {
            return Ok(());
        }
        let text = attachment_text(id, &socket.topics, &data, self.max_attachment_bytes)?;
        write_attachment(&socket.ws, text)?;
        socket.data = data;
        Ok(())
    }

    fn send(&self, id: &str, frame: &str) -> Result<(), HostError> {
        let sockets = self.sockets.borrow();
        let socket = sockets.get(id).ok_or(HostError::Closed)?;
        if socket.closed.is_some() {
            return Err(HostError::Closed);
        }
        socket
            .ws
            .send_with_str(frame)
            .map_err(|_| HostError::Closed)
    }

    fn close(&self, id: &str, code: u16, reason: &str) {
        let topics = {
            let mut sockets = self.sockets.borrow_mut();
            let Some(socket) = sockets.get_mut(id) else {
                return;
            };
            if socket.closed.is_some() {
                return;
            }
            socket.closed = Some((code, reason.to_owned()));
            // The socket may already be closing (the peer's close is on its way): nothing to do.
            let _ = socket.ws.close(Some(code), Some(reason));
            std::mem::take(&mut socket.topics)
        };
        self.drop_subscriptions(id, &topics);
    }

    fn publish(&self, topic: &str, frame: &str, exclude: Option<&str>) -> usize {
        let subscribers = self.topics.borrow().get(topic).cloned().unwrap_or_default();
        let sockets = self.sockets.borrow();
        subscribers
            .iter()
            .filter(|id| Some(id.as_str()) != exclude)
            .filter_map(|id| sockets.get(id))
            .filter(|s| s.closed.is_none() && s.ws.send_with_str(frame).is_ok())
            .count()
    }

    fn subscribe(&self, id: &str, topic: &str) -> Result<(), HostError> {
        {
            let mut sockets = self.sockets.borrow_mut();
            let socket = sockets.get_mut(id).ok_or(HostError::Closed)?;
            if socket.closed.is_some() {
                return Err(HostError::Closed);
            }
            if socket.topics.iter().any(|t| t == topic) {
                return Ok(());
            }
            let mut topics = socket.topics.clone();
            topics.push(topic.to_owned());
            let text = attachment_text(id, &topics, &socket.data, self.max_attachment_bytes)?;
            write_attachment(&socket.ws, text)?;
            socket.topics = topics;
        }
        self.topics
            .borrow_mut()
            .entry(topic.to_owned())
            .or_default()
            .push(id.to_owned());
        Ok(())
    }

    fn unsubscribe(&self, id: &str, topic: &str) -> Result<(), HostError> {
        {
            let mut sockets = self.sockets.borrow_mut();
            let socket = sockets.get_mut(id).ok_or(HostError::Closed)?;
            if !socket.topics.iter().any(|t| t == topic) {
                return Ok(());
            }
            let topics: Vec<String> = socket
                .topics
                .iter()
                .filter(|t| *t != topic)
                .cloned()
                .collect();
            let text = attachment_text(id, &topics, &socket.data, usize::MAX)?;
            write_attachment(&socket.ws, text)?;
            socket.topics = topics;
        }
        self.drop_subscriptions(id, &[topic.to_owned()]);
        Ok(())
    }
}

/// One connection's [`Host`]: its socket among the object's.
pub(crate) struct SocketHost {
    pub(crate) id: String,
    pub(crate) core: Weak<Core>,
}

impl SocketHost {
    fn core(&self) -> Result<Rc<Core>, HostError> {
        self.core.upgrade().ok_or(HostError::Closed)
    }
}

impl Host for SocketHost {
    fn send(&self, frame: &str) -> Result<(), HostError> {
        self.core()?.send(&self.id, frame)
    }

    fn close(&self, code: u16, reason: &str) {
        if let Ok(core) = self.core() {
            core.close(&self.id, code, reason);
        }
    }

    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        Box::pin(worker::Delay::from(Duration::from_millis(ms)))
    }

    fn publish(&self, topic: &str, frame: &str, exclude_self: bool) -> Result<usize, HostError> {
        let exclude = exclude_self.then_some(self.id.as_str());
        Ok(self.core()?.publish(topic, frame, exclude))
    }

    fn subscribe(&self, topic: &str) -> Result<(), HostError> {
        self.core()?.subscribe(&self.id, topic)
    }

    fn unsubscribe(&self, topic: &str) -> Result<(), HostError> {
        self.core()?.unsubscribe(&self.id, topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn an_attachment_is_one_json_text_read_back_whole() {
        let topics = ["room:a".to_owned(), "room:b".to_owned()];
        let text = attachment_text("c1", &topics, &raw(r#"{"name":"ada"}"#), 1000).unwrap();
        assert_eq!(
            text,
            r#"{"id":"c1","topics":["room:a","room:b"],"data":{"name":"ada"}}"#
        );
        let back: Attachment = serde_json::from_str(&text).unwrap();
        assert_eq!((back.id.as_str(), back.topics), ("c1", topics.to_vec()));
        assert_eq!(back.data.get(), r#"{"name":"ada"}"#);
    }

    #[test]
    fn an_attachment_over_the_limit_is_refused() {
        let data = raw(r#""xxxxxxxxxx""#);
        let text = attachment_text("c1", &[], &data, 100).unwrap();
        let size = serialized_size(&text);
        assert!(attachment_text("c1", &[], &data, size).is_ok());
        match attachment_text("c1", &[], &data, size - 1) {
            Err(HostError::Exhausted(why)) => assert!(why.contains("over the limit"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_string_beyond_latin1_counts_two_bytes_a_unit() {
        assert_eq!(serialized_size("abcé"), 8 + 4);
        assert_eq!(serialized_size("ab€"), 8 + 2 * 3);
        assert_eq!(serialized_size("a😀"), 8 + 2 * 3);
    }
}
