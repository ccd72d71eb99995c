//! The integration tests over real sockets on 127.0.0.1, as one test binary: one link instead of
//! one per file. Each module is one concern (`server_*`: the server against raw WebSocket
//! peers; `client_*`: the client against a raw peer or a wskit server; `interop_bun`: against
//! ws-kit on Bun, ignored unless asked for). Run one with `cargo test -p wskit-tests server_rpc`.

// The chat example's protocol and server, as `examples/chat.rs` includes them (used by
// `server_chat_example`).
#[path = "../../examples/chat_protocol.rs"]
mod chat_protocol;
#[path = "../../examples/chat_server.rs"]
mod chat_server;

mod client_connection;
mod client_events;
mod client_generated;
mod client_queue;
mod client_reconnect;
mod client_requests;
mod client_robustness;
mod client_server;
mod client_tls;
mod cloudflare_do;
mod encode_parity;
mod export_chat;
mod export_ts;
mod interop_bun;
mod interop_export;
mod interop_redis_bun;
mod local_host;
mod server_abuse;
mod server_auth;
mod server_axum;
mod server_bad_input;
mod server_chat_example;
mod server_fast_path;
mod server_frames;
mod server_heartbeat;
mod server_hooks;
mod server_http_handler;
mod server_limits;
mod server_middleware;
mod server_nats;
mod server_pubsub;
mod server_redis;
mod server_rpc;
mod server_services;
mod server_shutdown;
