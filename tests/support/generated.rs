//! By hand, what `protocol!` will generate for the test protocol below (until the macro lands;
//! then this file is replaced by the macro call):
//!
//! ```text
//! protocol Demo {
//!     message Say { text: String }
//!     message Ping {}
//!     message Join { room: String }
//!     message Leave { room: String }
//!     message Flood { count: u32, size: u32 }
//!     event Said { text: String }
//!     event NewMessage { text: String }
//!     rpc GetUser(user_id: String) -> UserData { name: String, email: Option<String> }
//!     rpc Slow(ms: u64) -> SlowDone {}
//!     rpc Count(to: u32) -> Counted { total: u32 } progress CountProgress { n: u32 }
//!     rpc Twice(mode: String) -> TwiceDone { n: u32 }
//!     rpc Post(room: String, text: String, exclude_self: bool) -> Posted { matched: u32 }
//!     rpc WhoAmI() -> Me { client_id: String, user: String }
//!     rpc Check(#[validate(custom = buggy_check)] n: u32) -> Checked {}
//! }
//! ```

use std::future::Future;

use serde::{Deserialize, Serialize};
use wskit::describe::{MessageDesc, MessageKind, ProtocolDesc};
use wskit::server::{Context, Request, RpcContext, Service};
use wskit::validate::{Decode, Issues, Path, field, object_entries, unknown_key};
use wskit::{Error, Message, NoMeta, NoProgress, Rpc, Validate};

macro_rules! wire_struct {
    ($name:ident, $ty:literal, { $($body:tt)* }) => {
        wire_struct!($name, $ty, { $($body)* }, validate = no_constraints);
    };
    ($name:ident, $ty:literal, { $($(#[$attr:meta])* $field:ident : $fty:ty => $wire:literal),* $(,)? }, validate = $check:ident) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$attr])* #[serde(rename = $wire)] pub $field: $fty,)* }

        impl Decode for $name {
            #[allow(unused_mut, unused_variables)]
            fn decode(
                raw: &serde_json::value::RawValue,
                path: &Path<'_>,
                issues: &mut Issues,
            ) -> Option<Self> {
                let entries = object_entries(raw, path, issues)?;
                // Issues in document order; missing fields last.
                $(let mut $field: Option<Option<$fty>> = None;)*
                for (k, v) in &entries {
                    match &**k {
                        $($wire => $field = Some(field::<$fty>(Some(*v), &path.field($wire), issues)),)*
                        other => unknown_key(&path.field(other), issues),
                    }
                }
                $(let $field = match $field {
                    Some(v) => v,
                    None => field::<$fty>(None, &path.field($wire), issues),
                };)*
                Some($name { $($field: $field?,)* })
            }
        }

        impl Validate for $name {
            fn validate(&self, path: &Path<'_>, issues: &mut Issues) {
                $check(self, path, issues)
            }
        }

        impl Message for $name {
            const TYPE: &'static str = $ty;
            const HAS_PAYLOAD: bool = 0 $(+ { let _ = $wire; 1 })* > 0;
            type Meta = NoMeta;
        }
    };
}

fn no_constraints<T>(_: &T, _: &Path<'_>, _: &mut Issues) {}

/// A user's custom validator with a bug: it panics on 13.
fn buggy_check(v: &Check, path: &Path<'_>, issues: &mut Issues) {
    assert!(v.n != 13, "unlucky number");
    if v.n > 100 {
        issues.push(&path.field("n"), "must be at most 100");
    }
}

wire_struct!(Say, "SAY", { text: String => "text" });
wire_struct!(Check, "CHECK", { n: u32 => "n" }, validate = buggy_check);
wire_struct!(Checked, "CHECKED", {});
wire_struct!(Ping, "PING", {});
wire_struct!(Join, "JOIN", { room: String => "room" });
wire_struct!(Leave, "LEAVE", { room: String => "room" });
wire_struct!(Flood, "FLOOD", { count: u32 => "count", size: u32 => "size" });
wire_struct!(Said, "SAID", { text: String => "text" });
wire_struct!(NewMessage, "NEW_MESSAGE", { text: String => "text" });
wire_struct!(GetUser, "GET_USER", { user_id: String => "userId" });
wire_struct!(UserData, "USER_DATA", {
    name: String => "name",
    #[serde(skip_serializing_if = "Option::is_none", default)] email: Option<String> => "email",
});
wire_struct!(Slow, "SLOW", { ms: u64 => "ms" });
wire_struct!(SlowDone, "SLOW_DONE", {});
wire_struct!(Count, "COUNT", { to: u32 => "to" });
wire_struct!(Counted, "COUNTED", { total: u32 => "total" });
wire_struct!(CountProgress, "COUNT_PROGRESS", { n: u32 => "n" });
wire_struct!(Twice, "TWICE", { mode: String => "mode" });
wire_struct!(TwiceDone, "TWICE_DONE", { n: u32 => "n" });
wire_struct!(Post, "POST", { room: String => "room", text: String => "text", exclude_self: bool => "excludeSelf" });
wire_struct!(Posted, "POSTED", { matched: u32 => "matched" });
wire_struct!(WhoAmI, "WHO_AM_I", {});
wire_struct!(Me, "ME", { client_id: String => "clientId", user: String => "user" });

macro_rules! rpc {
    ($req:ty => $resp:ty, $progress:ty) => {
        impl Rpc for $req {
            type Response = $resp;
            type Progress = $progress;
        }
    };
}

rpc!(GetUser => UserData, NoProgress);
rpc!(Slow => SlowDone, NoProgress);
rpc!(Count => Counted, CountProgress);
rpc!(Twice => TwiceDone, NoProgress);
rpc!(Post => Posted, NoProgress);
rpc!(WhoAmI => Me, NoProgress);
rpc!(Check => Checked, NoProgress);

const fn desc(name: &'static str, wire_type: &'static str, kind: MessageKind) -> MessageDesc {
    MessageDesc {
        name,
        wire_type,
        kind,
        docs: "",
        fields: &[],
        meta: &[],
        response: None,
        progress: None,
        idempotent: false,
        subscription: false,
    }
}

/// The description `protocol!` would build (only what routing reads is filled in).
pub static DEMO: ProtocolDesc = ProtocolDesc {
    name: "Demo",
    docs: "",
    messages: &[
        desc("Say", "SAY", MessageKind::Message),
        desc("Ping", "PING", MessageKind::Message),
        desc("Join", "JOIN", MessageKind::Message),
        desc("Leave", "LEAVE", MessageKind::Message),
        desc("Flood", "FLOOD", MessageKind::Message),
        desc("Said", "SAID", MessageKind::Event),
        desc("NewMessage", "NEW_MESSAGE", MessageKind::Event),
        desc("GetUser", "GET_USER", MessageKind::Request),
        desc("UserData", "USER_DATA", MessageKind::Response),
        desc("Slow", "SLOW", MessageKind::Request),
        desc("SlowDone", "SLOW_DONE", MessageKind::Response),
        desc("Count", "COUNT", MessageKind::Request),
        desc("Counted", "COUNTED", MessageKind::Response),
        desc("CountProgress", "COUNT_PROGRESS", MessageKind::Progress),
        desc("Twice", "TWICE", MessageKind::Request),
        desc("TwiceDone", "TWICE_DONE", MessageKind::Response),
        desc("Post", "POST", MessageKind::Request),
        desc("Posted", "POSTED", MessageKind::Response),
        desc("WhoAmI", "WHO_AM_I", MessageKind::Request),
        desc("Me", "ME", MessageKind::Response),
        desc("Check", "CHECK", MessageKind::Request),
        desc("Checked", "CHECKED", MessageKind::Response),
    ],
    types: &[],
};

/// The handler trait `protocol!` would generate.
pub trait DemoHandler: Send + Sync + 'static {
    type Data: Send + Sync + 'static;
    fn say(
        &self,
        ctx: Context<Self::Data>,
        msg: Say,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn ping(
        &self,
        ctx: Context<Self::Data>,
        msg: Ping,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn join(
        &self,
        ctx: Context<Self::Data>,
        msg: Join,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn leave(
        &self,
        ctx: Context<Self::Data>,
        msg: Leave,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn flood(
        &self,
        ctx: Context<Self::Data>,
        msg: Flood,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn get_user(
        &self,
        ctx: RpcContext<Self::Data, GetUser>,
        req: GetUser,
    ) -> impl Future<Output = Result<UserData, Error>> + Send;
    fn slow(
        &self,
        ctx: RpcContext<Self::Data, Slow>,
        req: Slow,
    ) -> impl Future<Output = Result<SlowDone, Error>> + Send;
    fn count(
        &self,
        ctx: RpcContext<Self::Data, Count>,
        req: Count,
    ) -> impl Future<Output = Result<Counted, Error>> + Send;
    fn twice(
        &self,
        ctx: RpcContext<Self::Data, Twice>,
        req: Twice,
    ) -> impl Future<Output = Result<TwiceDone, Error>> + Send;
    fn post(
        &self,
        ctx: RpcContext<Self::Data, Post>,
        req: Post,
    ) -> impl Future<Output = Result<Posted, Error>> + Send;
    fn who_am_i(
        &self,
        ctx: RpcContext<Self::Data, WhoAmI>,
        req: WhoAmI,
    ) -> impl Future<Output = Result<Me, Error>> + Send;
}

/// `Demo::server(handler)`.
pub struct DemoService<H>(pub std::sync::Arc<H>);

pub fn demo_server<H: DemoHandler>(handler: H) -> DemoService<H> {
    DemoService(std::sync::Arc::new(handler))
}

impl<H: DemoHandler> Service<H::Data> for DemoService<H> {
    fn description(&self) -> &'static ProtocolDesc {
        &DEMO
    }

    fn call(&self, request: Request<H::Data>) -> futures_util::future::BoxFuture<'static, ()> {
        let h = self.0.clone();
        match request.wire_type() {
            "SAY" => wskit::__private::serve_message(request, move |ctx, m: Say| async move {
                h.say(ctx, m).await
            }),
            "PING" => wskit::__private::serve_message(request, move |ctx, m: Ping| async move {
                h.ping(ctx, m).await
            }),
            "JOIN" => wskit::__private::serve_message(request, move |ctx, m: Join| async move {
                h.join(ctx, m).await
            }),
            "LEAVE" => wskit::__private::serve_message(request, move |ctx, m: Leave| async move {
                h.leave(ctx, m).await
            }),
            "FLOOD" => wskit::__private::serve_message(request, move |ctx, m: Flood| async move {
                h.flood(ctx, m).await
            }),
            "GET_USER" => wskit::__private::serve_rpc(request, move |ctx, r: GetUser| async move {
                h.get_user(ctx, r).await
            }),
            "SLOW" => wskit::__private::serve_rpc(request, move |ctx, r: Slow| async move {
                h.slow(ctx, r).await
            }),
            "COUNT" => wskit::__private::serve_rpc(request, move |ctx, r: Count| async move {
                h.count(ctx, r).await
            }),
            "TWICE" => wskit::__private::serve_rpc(request, move |ctx, r: Twice| async move {
                h.twice(ctx, r).await
            }),
            "POST" => wskit::__private::serve_rpc(request, move |ctx, r: Post| async move {
                h.post(ctx, r).await
            }),
            "WHO_AM_I" => wskit::__private::serve_rpc(request, move |ctx, r: WhoAmI| async move {
                h.who_am_i(ctx, r).await
            }),
            "CHECK" => wskit::__private::serve_rpc(request, move |_ctx, _r: Check| async move {
                Ok(Checked {})
            }),
            _ => wskit::__private::serve_unknown(request),
        }
    }
}
