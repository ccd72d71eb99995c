//! Unit tests of the server that need its private parts.

mod close_races;
