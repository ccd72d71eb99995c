//! One connection on a local host: its id, data and host, and its requests in flight.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::{Rc, Weak};

use super::host::Host;
use super::request::ReqState;

/// One connection: made by the host when the socket opens (or when it wakes from hibernation:
/// a session holds nothing a host cannot rebuild but the requests in flight, and a hibernated
/// object has none).
///
/// ```
/// # use std::rc::Rc;
/// # struct NoHost;
/// # impl wskit::local::Host for NoHost {
/// #     fn send(&self, _: &str) -> Result<(), wskit::local::HostError> { Ok(()) }
/// #     fn close(&self, _: u16, _: &str) {}
/// #     fn now_ms(&self) -> u64 { 0 }
/// #     fn sleep(&self, _: u64) -> wskit::local::LocalBoxFuture<'static, ()> { Box::pin(async {}) }
/// #     fn publish(&self, _: &str, _: &str, _: bool) -> Result<usize, wskit::local::HostError> { Ok(0) }
/// #     fn subscribe(&self, _: &str) -> Result<(), wskit::local::HostError> { Ok(()) }
/// #     fn unsubscribe(&self, _: &str) -> Result<(), wskit::local::HostError> { Ok(()) }
/// # }
/// let session = wskit::local::Session::new("client-1", String::from("ada"), Rc::new(NoHost));
/// assert_eq!((session.client_id(), session.data().as_str()), ("client-1", "ada"));
/// assert_eq!(session.in_flight(), 0);
/// ```
pub struct Session<D> {
    client_id: String,
    data: D,
    host: Rc<dyn Host>,
    /// The RPCs still running, by correlationId: for `$ws:abort` and duplicate ids.
    pub(super) requests: RefCell<HashMap<String, Rc<ReqState>>>,
    /// RPCs still running whose id a newer request took over (they had sent their reply):
    /// cancelled with the others when the connection closes.
    pub(super) replaced: RefCell<Vec<Weak<ReqState>>>,
    /// Requests (messages and RPCs) running now.
    pub(super) in_flight: Cell<usize>,
}

impl<D> fmt::Debug for Session<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("client_id", &self.client_id)
            .field("in_flight", &self.in_flight.get())
            .finish_non_exhaustive()
    }
}

impl<D: 'static> Session<D> {
    /// A connection with this id (the host's choice: a UUID string, say) and connection data
    /// (what the host's authentication produced).
    pub fn new(client_id: impl Into<String>, data: D, host: Rc<dyn Host>) -> Rc<Self> {
        Rc::new(Session {
            client_id: client_id.into(),
            data,
            host,
            requests: RefCell::default(),
            replaced: RefCell::default(),
            in_flight: Cell::new(0),
        })
    }

    /// The connection's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The connection's data.
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The host side of the connection.
    pub fn host(&self) -> &dyn Host {
        &*self.host
    }

    /// Requests running now on this connection.
    pub fn in_flight(&self) -> usize {
        self.in_flight.get()
    }

    /// Sends an encoded frame; a failure is logged (the frame is lost with the connection).
    pub(super) fn send_frame(&self, frame: &[u8]) -> bool {
        // Encoded frames are JSON written by `wire::encode_*`: UTF-8.
        let Ok(text) = std::str::from_utf8(frame) else {
            return false;
        };
        match self.host.send(text) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(client_id = %self.client_id, error = %e, "frame not sent");
                false
            }
        }
    }

    /// `$ws:abort`: cancels the RPC with this correlationId; no terminal frame is owed.
    pub(super) fn abort(&self, correlation_id: &str) {
        let req = self.requests.borrow().get(correlation_id).cloned();
        if let Some(req) = req {
            req.mark_terminal();
            req.cancel();
        }
    }

    /// Cancels every request in flight: the connection closed.
    pub fn close_requests(&self) {
        let mut requests: Vec<_> = self.requests.borrow_mut().drain().map(|(_, r)| r).collect();
        requests.extend(self.replaced.take().iter().filter_map(Weak::upgrade));
        for req in requests {
            req.mark_terminal();
            req.cancel();
        }
    }
}
