//! The chat protocol, shared by the chat server (`chat.rs`) and, later, the chat client example.
//!
//! Declared with the DSL it reads:
//!
//! ```text
//! wskit::protocol! {
//!     /// A multi-room chat.
//!     pub protocol Chat {
//!         message JoinRoom { room_id: String }
//!         message LeaveRoom { room_id: String }
//!         message SendMessage { room_id: String, text: String }
//!         event NewMessage { room_id: String, user: String, text: String }
//!         event UserJoined { room_id: String, user: String }
//!         event UserLeft { room_id: String, user: String }
//!         rpc ListMembers(room_id: String) -> Members { room_id: String, members: Vec<String> }
//!     }
//! }
//! ```
//!
//! Until the `protocol!` macro lands, the code below is what it generates, written by hand
//! (message structs, their decoding, the description, the handler trait and the service).
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wskit::describe::{MessageDesc, MessageKind, ProtocolDesc};
use wskit::server::{Context, Request, RpcContext, Service};
use wskit::validate::{Decode, Issues, Path, field, object_entries, unknown_key};
use wskit::{Error, Message, NoMeta, NoProgress, Rpc, Validate};

macro_rules! chat_message {
    ($name:ident, $ty:literal, { $($field:ident : $fty:ty => $wire:literal),* }) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $(#[serde(rename = $wire)] pub $field: $fty,)* }

        impl Decode for $name {
            fn decode(raw: &serde_json::value::RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
                let entries = object_entries(raw, path, issues)?;
                $(let mut $field: Option<Option<$fty>> = None;)*
                for (k, v) in &entries {
                    match &**k {
                        $($wire => $field = Some(field::<$fty>(Some(*v), &path.field($wire), issues)),)*
                        other => unknown_key(&path.field(other), issues),
                    }
                }
                $(let $field = $field.unwrap_or_else(|| field::<$fty>(None, &path.field($wire), issues));)*
                Some($name { $($field: $field?,)* })
            }
        }

        impl Validate for $name {
            fn validate(&self, _: &Path<'_>, _: &mut Issues) {}
        }

        impl Message for $name {
            const TYPE: &'static str = $ty;
            const HAS_PAYLOAD: bool = true;
            type Meta = NoMeta;
        }
    };
}

chat_message!(JoinRoom, "JOIN_ROOM", { room_id: String => "roomId" });
chat_message!(LeaveRoom, "LEAVE_ROOM", { room_id: String => "roomId" });
chat_message!(SendMessage, "SEND_MESSAGE", { room_id: String => "roomId", text: String => "text" });
chat_message!(NewMessage, "NEW_MESSAGE", { room_id: String => "roomId", user: String => "user", text: String => "text" });
chat_message!(UserJoined, "USER_JOINED", { room_id: String => "roomId", user: String => "user" });
chat_message!(UserLeft, "USER_LEFT", { room_id: String => "roomId", user: String => "user" });
chat_message!(ListMembers, "LIST_MEMBERS", { room_id: String => "roomId" });
chat_message!(Members, "MEMBERS", { room_id: String => "roomId", members: Vec<String> => "members" });

impl Rpc for ListMembers {
    type Response = Members;
    type Progress = NoProgress;
}

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

/// The protocol's description.
pub static CHAT: ProtocolDesc = ProtocolDesc {
    name: "Chat",
    docs: "A multi-room chat.",
    messages: &[
        desc("JoinRoom", "JOIN_ROOM", MessageKind::Message),
        desc("LeaveRoom", "LEAVE_ROOM", MessageKind::Message),
        desc("SendMessage", "SEND_MESSAGE", MessageKind::Message),
        desc("NewMessage", "NEW_MESSAGE", MessageKind::Event),
        desc("UserJoined", "USER_JOINED", MessageKind::Event),
        desc("UserLeft", "USER_LEFT", MessageKind::Event),
        desc("ListMembers", "LIST_MEMBERS", MessageKind::Request),
        desc("Members", "MEMBERS", MessageKind::Response),
    ],
    types: &[],
};

/// The handler trait.
pub trait ChatHandler: Send + Sync + 'static {
    type Data: Send + Sync + 'static;
    fn join_room(
        &self,
        ctx: Context<Self::Data>,
        msg: JoinRoom,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn leave_room(
        &self,
        ctx: Context<Self::Data>,
        msg: LeaveRoom,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn send_message(
        &self,
        ctx: Context<Self::Data>,
        msg: SendMessage,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn list_members(
        &self,
        ctx: RpcContext<Self::Data, ListMembers>,
        req: ListMembers,
    ) -> impl Future<Output = Result<Members, Error>> + Send;
}

/// `Chat::server(handler)`.
pub struct ChatService<H>(Arc<H>);

pub struct Chat;

impl Chat {
    pub fn server<H: ChatHandler>(handler: H) -> ChatService<H> {
        ChatService(Arc::new(handler))
    }
}

impl<H: ChatHandler> Service<H::Data> for ChatService<H> {
    fn description(&self) -> &'static ProtocolDesc {
        &CHAT
    }

    fn call(&self, request: Request<H::Data>) -> futures_util::future::BoxFuture<'static, ()> {
        let h = self.0.clone();
        match request.wire_type() {
            "JOIN_ROOM" => {
                wskit::__private::serve_message(request, move |ctx, m: JoinRoom| async move {
                    h.join_room(ctx, m).await
                })
            }
            "LEAVE_ROOM" => {
                wskit::__private::serve_message(request, move |ctx, m: LeaveRoom| async move {
                    h.leave_room(ctx, m).await
                })
            }
            "SEND_MESSAGE" => {
                wskit::__private::serve_message(request, move |ctx, m: SendMessage| async move {
                    h.send_message(ctx, m).await
                })
            }
            "LIST_MEMBERS" => {
                wskit::__private::serve_rpc(request, move |ctx, r: ListMembers| async move {
                    h.list_members(ctx, r).await
                })
            }
            _ => wskit::__private::serve_unknown(request),
        }
    }
}
