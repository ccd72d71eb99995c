//! One inbound frame routed to a service ([`Request`]), and its count in flight.

use std::rc::Rc;

use super::session::Session;
use wskit_core::wire::FrameParts;

/// One inbound frame routed to a [`Service`](super::Service), with its connection.
pub struct Request<D> {
    pub(super) ty: &'static str,
    pub(super) text: Rc<str>,
    pub(super) parts: Option<FrameParts>,
    pub(super) received_ms: u64,
    pub(super) session: Rc<Session<D>>,
    pub(super) guard: InFlight<D>,
}

impl<D> Request<D> {
    /// The frame's wire type.
    pub fn wire_type(&self) -> &str {
        self.ty
    }

    /// The frame's text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Counts a request in flight on its connection until dropped.
pub(super) struct InFlight<D> {
    pub session: Rc<Session<D>>,
}

impl<D> InFlight<D> {
    pub(super) fn new(session: &Rc<Session<D>>) -> Self {
        session.in_flight.set(session.in_flight.get() + 1);
        InFlight {
            session: session.clone(),
        }
    }
}

impl<D> Drop for InFlight<D> {
    fn drop(&mut self) {
        let n = self.session.in_flight.get();
        self.session.in_flight.set(n.saturating_sub(1));
    }
}
