//! A server built from several protocols: one route table, duplicate wire types refused.

use wskit::describe::{MessageDesc, MessageKind, ProtocolDesc};
use wskit::server::{BuildError, Request, Service};
use wskit::validate::{Decode, Issues, Path};
use wskit::{Message, NoMeta, Validate};
use wskit_tests::*;

/// A second protocol, by hand: `protocol Greeter { message Hello {} }`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct Hello {}

impl Decode for Hello {
    fn decode(
        raw: &serde_json::value::RawValue,
        path: &Path<'_>,
        issues: &mut Issues,
    ) -> Option<Self> {
        let entries = wskit::validate::object_entries(raw, path, issues)?;
        for (k, _) in &entries {
            wskit::validate::unknown_key(&path.field(k), issues);
        }
        Some(Hello {})
    }
}

impl Validate for Hello {
    fn validate(&self, _: &Path<'_>, _: &mut Issues) {}
}

impl Message for Hello {
    const TYPE: &'static str = "HELLO";
    const HAS_PAYLOAD: bool = false;
    type Meta = NoMeta;
}

const fn message(name: &'static str, wire_type: &'static str) -> MessageDesc {
    MessageDesc {
        name,
        wire_type,
        kind: MessageKind::Message,
        docs: "",
        fields: &[],
        meta: &[],
        response: None,
        progress: None,
        idempotent: false,
        subscription: false,
    }
}

static GREETER: ProtocolDesc = ProtocolDesc {
    name: "Greeter",
    docs: "",
    messages: &[message("Hello", "HELLO")],
    types: &[],
};

/// Claims `SAY`, which `Demo` already has.
static CLASHING: ProtocolDesc = ProtocolDesc {
    name: "Clashing",
    docs: "",
    messages: &[message("Say", "SAY")],
    types: &[],
};

/// Declares the event `SAID`, as `Demo` does.
static SHARES_AN_EVENT: ProtocolDesc = ProtocolDesc {
    name: "SharesAnEvent",
    docs: "",
    messages: &[MessageDesc {
        kind: MessageKind::Event,
        ..message("Said", "SAID")
    }],
    types: &[],
};

struct Greeter(&'static ProtocolDesc);

impl Service<String> for Greeter {
    fn description(&self) -> &'static ProtocolDesc {
        self.0
    }

    fn call(&self, request: Request<String>) -> futures_util::future::BoxFuture<'static, ()> {
        match request.wire_type() {
            "HELLO" => wskit::__private::serve_message(request, |ctx, _m: Hello| async move {
                ctx.send(&Said {
                    text: format!("hello {}", *ctx.data()),
                })?;
                Ok(())
            }),
            _ => wskit::__private::serve_unknown(request),
        }
    }
}

#[tokio::test]
async fn two_protocols_share_one_server() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe).service(Greeter(&GREETER))).await;
    let mut c = connect_to(server.url("/?access_token=gus")).await;
    c.send(r#"{"type":"HELLO"}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SAID","meta":{},"payload":{"text":"hello gus"}}"#
    );
    c.send(r#"{"type":"SAY","payload":{"text":"demo"}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SAID","meta":{},"payload":{"text":"demo"}}"#
    );
}

#[tokio::test]
async fn a_type_claimed_by_two_protocols_is_a_build_error_naming_both() {
    let (probe, _events) = probe();
    let err = demo_builder(&probe)
        .service(Greeter(&CLASHING))
        .build()
        .err()
        .expect("duplicate refused");
    assert_eq!(
        err,
        BuildError::DuplicateType {
            wire_type: "SAY",
            first: "Demo",
            second: "Clashing"
        }
    );
    assert_eq!(
        err.to_string(),
        "wire type \"SAY\" is handled by both protocol Demo and protocol Clashing"
    );
    // Events are not routes: a protocol may declare the same event as another.
    assert!(
        demo_builder(&probe)
            .service(Greeter(&SHARES_AN_EVENT))
            .build()
            .is_ok()
    );
}
