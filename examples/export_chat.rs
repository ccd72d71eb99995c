//! Writes the chat protocol (`chat_protocol.rs`) as TypeScript and JSON Schema for the browser
//! page: `examples/web/protocol.ts` (zod 4 schemas and descriptors) and
//! `examples/web/protocol.schema.json` (JSON Schema 2020-12).
//!
//! ```sh
//! cargo run --example export_chat            # into examples/web/
//! cargo run --example export_chat -- out/    # into another directory
//! ```
//!
//! A test (`tests/tests/export_chat.rs`) fails when the committed files are stale.

#[path = "chat_protocol.rs"]
mod chat_protocol;

use std::path::PathBuf;

use wskit::Protocol;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web"));
    std::fs::create_dir_all(&dir)?;
    let desc = chat_protocol::Chat::description();
    let ts = dir.join("protocol.ts");
    std::fs::write(&ts, wskit::export::typescript(desc))?;
    let schema = dir.join("protocol.schema.json");
    std::fs::write(&schema, wskit::export::json_schema(desc))?;
    println!("wrote {} and {}", ts.display(), schema.display());
    Ok(())
}
