//! Pub/sub topics (PROTOCOL.md section 6): the backend trait and the in-memory backend.
