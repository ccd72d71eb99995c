//! The socket side of a connection: the WebSocket stream (`ws`), the TCP socket it shares with
//! direct writes of publications (`socket`), the outbound queue (`outbound`), and the tally of
//! the bytes read (`tally`).

pub(crate) mod outbound;
pub(crate) mod socket;
pub(crate) mod tally;
pub(crate) mod ws;
