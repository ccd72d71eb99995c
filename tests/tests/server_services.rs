//! A server built from several protocols: one route table, duplicate wire types refused.

use wskit::server::{BuildError, Context};
use wskit_tests::*;

mod greeter {
    wskit::protocol! {
        /// A second protocol beside `Demo`.
        pub protocol Greeter { message Hello {} }
    }
}

mod clashing {
    wskit::protocol! {
        /// Claims `SAY`, which `Demo` already has.
        pub protocol Clashing { message Say { text: String } }
    }
}

mod sharing {
    wskit::protocol! {
        /// Declares the event `SAID`, as `Demo` does.
        pub protocol SharesAnEvent { message Other {} event Said { text: String } }
    }
}

struct Greet;

impl greeter::GreeterHandler for Greet {
    type Data = String;
    async fn hello(&self, ctx: Context<String>, _msg: greeter::Hello) -> Result<(), wskit::Error> {
        let text = format!("hello {}", *ctx.data());
        ctx.send(&Said { text })?;
        Ok(())
    }
}

impl clashing::ClashingHandler for Greet {
    type Data = String;
    async fn say(&self, _ctx: Context<String>, _msg: clashing::Say) -> Result<(), wskit::Error> {
        Ok(())
    }
}

impl sharing::SharesAnEventHandler for Greet {
    type Data = String;
    async fn other(&self, _ctx: Context<String>, _msg: sharing::Other) -> Result<(), wskit::Error> {
        Ok(())
    }
}

#[tokio::test]
async fn two_protocols_share_one_server() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe).service(greeter::Greeter::server(Greet));
    let server = start(builder).await;
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
        .service(clashing::Clashing::server(Greet))
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
    let shared = demo_builder(&probe).service(sharing::SharesAnEvent::server(Greet));
    assert!(shared.build().is_ok());
}
