//! The test protocol, declared with `protocol!`.

/// A user's custom validator with a bug: it panics on 13.
pub fn buggy_check(n: &u32) -> Result<(), String> {
    assert!(*n != 13, "unlucky number");
    if *n > 100 {
        return Err("must be at most 100".into());
    }
    Ok(())
}

wskit::protocol! {
    /// The protocol of the integration tests.
    pub protocol Demo {
        message Say { text: String }
        message Ping;
        message Touch {}
        event Poked {}
        /// Empty request and response objects: `"payload":{}` both ways.
        rpc Nudge() -> Nudged {}
        message Join { room: String }
        message Leave { room: String }
        message Flood { count: u32, size: u32 }
        event Said { text: String }
        event NewMessage { text: String }
        rpc GetUser(user_id: String) -> UserData { name: String, email: Option<String> }
        rpc Slow(ms: u64) -> SlowDone
        rpc Count(to: u32) -> Counted { total: u32 } progress CountProgress { n: u32 }
        rpc Twice(mode: String) -> TwiceDone { n: u32 }
        rpc Post(room: String, text: String, exclude_self: bool) -> Posted { matched: u32 }
        rpc WhoAmI -> Me { client_id: String, user: String }
        rpc Check(#[validate(custom = crate::protocol::buggy_check)] n: u32) -> Checked
        rpc EchoMeta -> MetaSeen { keys: Vec<String> } meta { trace: Option<String> }
        rpc Late(n: u32) -> LateDone progress LateProgress { n: u32 }
    }
}

/// `Demo::server(app)`.
pub fn demo_server<H: DemoHandler>(app: H) -> DemoService<H> {
    Demo::server(app)
}
