//! The socket side of a connection: the WebSocket stream (`ws`), the TCP socket it shares with
//! direct writes of publications (`socket`), the outbound queue (`outbound`), the tally of
//! the bytes read (`tally`), and the buffers a worker thread keeps between batches (`spare`).

pub(crate) mod outbound;
pub(crate) mod socket;
pub(crate) mod spare;
pub(crate) mod tally;
pub(crate) mod ws;
