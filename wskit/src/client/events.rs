//! Typed delivery of server events: one bounded channel per [`Events`] stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use wskit_core::EventSet;
use wskit_core::validate::Issues;
use wskit_core::wire::InboundFrame;

/// What offering a frame to one stream did.
pub(crate) enum Dispatch {
    /// Not one of this stream's events.
    NoMatch,
    /// Delivered.
    Delivered,
    /// One of its events, but the payload failed validation.
    Invalid(Issues),
    /// One of its events, dropped: the stream's buffer is full.
    Full,
    /// The stream was dropped.
    Gone,
}

/// The type-erased sending half of one [`Events`] stream.
pub(crate) struct EventSink {
    offer: Box<dyn FnMut(&InboundFrame<'_>) -> Dispatch + Send>,
}

impl EventSink {
    pub fn new<E: EventSet>(buffer: usize) -> (EventSink, Events<E>) {
        let (tx, rx) = mpsc::channel::<E>(buffer);
        let offer = move |frame: &InboundFrame<'_>| {
            if tx.is_closed() {
                return Dispatch::Gone;
            }
            match E::decode_event(frame) {
                None => Dispatch::NoMatch,
                Some(Err(issues)) => Dispatch::Invalid(issues),
                Some(Ok(event)) => match tx.try_send(event) {
                    Ok(()) => Dispatch::Delivered,
                    Err(mpsc::error::TrySendError::Full(_)) => Dispatch::Full,
                    Err(mpsc::error::TrySendError::Closed(_)) => Dispatch::Gone,
                },
            }
        };
        (
            EventSink {
                offer: Box::new(offer),
            },
            Events { rx },
        )
    }

    pub fn offer(&mut self, frame: &InboundFrame<'_>) -> Dispatch {
        (self.offer)(frame)
    }
}

/// A stream of the server events of one protocol (`ChatEvent`), in arrival order.
///
/// Events that arrive while no stream of their protocol exists go to the `on_unhandled` hook;
/// a stream that falls `event_buffer` events behind drops new ones and reports
/// [`ErrorReport::EventOverflow`](super::ErrorReport::EventOverflow).
///
/// ```no_run
/// # async fn demo<E: wskit::EventSet + std::fmt::Debug>(client: wskit::client::Client) {
/// let mut events = client.events::<E>();
/// while let Some(event) = events.recv().await {
///     println!("{event:?}");
/// }
/// # }
/// ```
pub struct Events<E: EventSet> {
    rx: mpsc::Receiver<E>,
}

impl<E: EventSet> Events<E> {
    /// The next event; `None` once the client is gone.
    pub async fn recv(&mut self) -> Option<E> {
        self.rx.recv().await
    }
}

impl<E: EventSet> Stream for Events<E> {
    type Item = E;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<E>> {
        self.rx.poll_recv(cx)
    }
}

impl<E: EventSet> std::fmt::Debug for Events<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}
