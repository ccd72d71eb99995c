//! The chat example's generated TypeScript and JSON Schema (`examples/web/`) are up to date with
//! its protocol (`examples/chat_protocol.rs`).

use std::path::PathBuf;

use wskit::Protocol;

use crate::chat_protocol::Chat;

fn committed(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/web")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn chat_protocol_exports_are_up_to_date() {
    let desc = Chat::description();
    for (name, fresh) in [
        ("protocol.ts", wskit::export::typescript(desc)),
        ("protocol.schema.json", wskit::export::json_schema(desc)),
    ] {
        assert!(
            committed(name) == fresh,
            "examples/web/{name} is stale: the chat protocol changed. Regenerate it with \
             `cargo run --example export_chat` and commit the result."
        );
    }
}
