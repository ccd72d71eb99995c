//! Serve a wskit protocol from a Cloudflare Durable Object (WebSocket Hibernation API).
//! (Skeleton: the adapter lands with `wskit::local`.)
