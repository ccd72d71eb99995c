//! ws-kit users: a ws-kit 0.10 server on Bun (`interop/export_server.ts`) built with
//! `@ws-kit/zod`'s `message()`/`rpc()` from the schemas `wskit::export::typescript` generated for
//! a Rust protocol (`interop/generated/shop.ts`, committed), and wskit's generated Rust client
//! against it: a message answered with an event, an rpc and its response, an `RPC_ERROR`, and
//! frames the generated schema refuses on the ws-kit side. The server also type-checks against
//! ws-kit's own types (`tsc --strict`, `tests/ts-export/tsconfig.interop.json`).
//!
//! The Bun test needs Bun and the ws-kit packages in `interop/node_modules` (`npm ci` in
//! `interop/`; `.ci/run` does it). Run with
//! `cargo test -p wskit-tests --test main interop_export -- --ignored`.

use std::path::PathBuf;

use wskit::Protocol;
use wskit::client::{Backoff, Client, ClientError};
use wskit_tests::client_peer::within;

use crate::interop_bun::start_bun_script;

wskit::protocol! {
    /// A shop declared in Rust and served by ws-kit on Bun from its generated schemas.
    pub protocol Shop {
        /// A line of a basket.
        type Line {
            #[validate(length(min = 1, max = 16), pattern = "^[A-Z0-9-]+$")] sku: String,
            #[validate(range(min = 1, max = 99))] qty: u32,
        }
        enum Size { Small, Large }
        /// Put an item in the basket: answered with `BasketChanged`.
        message AddItem {
            #[validate(length(min = 1, max = 16), pattern = "^[A-Z0-9-]+$")] sku: String,
            #[validate(range(min = 1, max = 99))] qty: u32,
            size: Option<Size>,
        }
        /// The basket after a change.
        event BasketChanged { lines: Vec<Line>, total_qty: u32 }
        /// The connection's basket; `NOT_FOUND` unless the owner is "me".
        #[idempotent]
        rpc GetBasket(#[validate(length(min = 1))] owner: String) -> Basket { owner: String, lines: Vec<Line> }
    }
}

const GENERATED: &str = "interop/generated/shop.ts";

fn generated_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(GENERATED)
}

/// The committed module is what the export gives for `Shop` today
/// (`WSKIT_REGENERATE=1` rewrites it).
#[test]
fn interop_generated_schemas_are_up_to_date() {
    let fresh = wskit::export::typescript(Shop::description());
    let path = generated_path();
    if std::env::var_os("WSKIT_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{GENERATED} is stale: regenerate it with \
         `WSKIT_REGENERATE=1 cargo test -p wskit-tests --test main interop_generated_schemas_are_up_to_date`"
    );
}

/// `interop/export_server.ts` type-checks under `tsc --strict` against ws-kit's own types: the
/// generated descriptors fit `message()`/`rpc()`, and handlers get typed payloads and replies.
#[test]
#[ignore = "needs node and npm packages (.ci/run installs them)"]
fn ws_kit_server_from_generated_schemas_type_checks() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let check = root.join("tests/ts-export");
    for needed in [
        check.join("node_modules/typescript"),
        root.join("interop/node_modules/@ws-kit/zod"),
    ] {
        assert!(
            needed.exists(),
            "{} is missing: run `npm ci` in tests/ts-export/ and interop/ (.ci/run does)",
            needed.display()
        );
    }
    let out = std::process::Command::new("node")
        .args([
            "node_modules/typescript/bin/tsc",
            "-p",
            "tsconfig.interop.json",
        ])
        .current_dir(&check)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "tsc refuses interop/export_server.ts:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
#[ignore = "needs Bun: run by .ci/run"]
async fn ws_kit_server_from_generated_schemas_serves_the_rust_client() {
    let server = start_bun_script("export_server.ts", &[]).await;
    let client = Client::builder(server.url.clone())
        .backoff(Backoff::Never)
        .build();
    within("connect", client.connect()).await.unwrap();
    let shop = ShopClient::new(client);
    let mut events = shop.events();

    // A message, answered with an event that ws-kit validated against the generated schema.
    shop.add_item(AddItem {
        sku: "TEA-1".into(),
        qty: 2,
        size: Some(Size::Large),
    })
    .unwrap();
    let line = |sku: &str, qty| Line {
        sku: sku.into(),
        qty,
    };
    assert_eq!(
        within("BASKET_CHANGED", events.recv()).await,
        Some(ShopEvent::BasketChanged(BasketChanged {
            lines: vec![line("TEA-1", 2)],
            total_qty: 2,
        }))
    );

    // An rpc and its response.
    let basket = within(
        "GET_BASKET",
        shop.get_basket(GetBasket { owner: "me".into() })
            .into_future(),
    )
    .await
    .unwrap();
    assert_eq!(
        basket,
        Basket {
            owner: "me".into(),
            lines: vec![line("TEA-1", 2)],
        }
    );
    // And an RPC_ERROR.
    match within(
        "GET_BASKET",
        shop.get_basket(GetBasket {
            owner: "you".into(),
        })
        .into_future(),
    )
    .await
    {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code, wskit::ErrorCode::NotFound),
        other => panic!("expected NOT_FOUND, got {other:?}"),
    }

    // ws-kit enforces the generated constraints: on a raw socket, frames that break them (a
    // lowercase sku against `pattern`, qty 0 against `range`, an unknown key against the strict
    // object) never reach the handler; the valid frame after them is the only line added.
    let mut raw = wskit_tests::connect_to(server.url.as_str()).await;
    for bad in [
        r#"{"type":"ADD_ITEM","payload":{"sku":"tea","qty":1}}"#,
        r#"{"type":"ADD_ITEM","payload":{"sku":"TEA","qty":0}}"#,
        r#"{"type":"ADD_ITEM","payload":{"sku":"TEA","qty":1,"gift":true}}"#,
        r#"{"type":"ADD_ITEM","payload":{"sku":"TEA","qty":1,"size":"medium"}}"#,
    ] {
        raw.send(bad).await;
    }
    raw.send(r#"{"type":"ADD_ITEM","payload":{"sku":"COFFEE","qty":3,"size":null}}"#)
        .await;
    let reply: serde_json::Value = raw.recv_json().await;
    assert_eq!(reply["type"], "BASKET_CHANGED");
    assert_eq!(
        reply["payload"],
        serde_json::json!({"lines": [{"sku": "COFFEE", "qty": 3}], "totalQty": 3})
    );
}
