//! The chat protocol (`examples/chat_protocol.rs`, the very block the tokio chat server serves)
//! served from Cloudflare Durable Objects: the Worker routes `/ws?room=<name>` to the object of
//! that name, which holds the room's sockets (`wskit_cloudflare::DurableSockets`) and answers as
//! the tokio chat server (`examples/chat_server.rs`) does: same tokens, same errors, members and
//! history kept in the object's storage (so that they outlive hibernation).
//!
//! `/stats?room=<name>` tells which instance of the room's object answers (a random id per
//! construction), how many instances this isolate has constructed, and how many sockets the
//! object holds: the tests see hibernation happen with it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Request, Response, Result, State, Storage, WebSocket,
    WebSocketIncomingMessage, durable_object, event,
};
// `#[durable_object]` expands to `wasm_bindgen` paths.
use worker::wasm_bindgen;
use wskit::Error;
use wskit::local::{Context, LocalServer, RpcContext, Session};
use wskit::topic::PublishOptions;
use wskit_cloudflare::{DurableSockets, Rejection};

#[path = "../../chat_protocol.rs"]
mod chat_protocol;
use chat_protocol::*;

/// Who may connect: token -> user name (as the tokio chat server).
const TOKENS: [(&str, &str); 3] = [
    ("alice-token", "alice"),
    ("bob-token", "bob"),
    ("carol-token", "carol"),
];

/// How many lines of each room's history are kept.
const HISTORY_LINES: usize = 100;

/// History is sent in pages of this many lines, with a progress update after each.
const HISTORY_PAGE: usize = 5;

/// The largest frame a client may send, in bytes: 64 KiB, the tokio chat server's limit
/// (`MAX_FRAME_BYTES` of `examples/chat_server.rs`); a bigger one closes the socket with 1009
/// "frame too big", as there. workerd's own limit is far higher: it closes the socket with 1009
/// "Message is too large" past 32 MiB (measured on workerd 1.20260426, hibernatable sockets), and
/// hands the object every smaller message whole; without a limit of its own (`LocalServer`'s
/// default is 1 MiB) the object would parse frames far bigger than any chat frame (at most about
/// 25 KB).
const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The Worker: `/ws?room=..` and `/stats?room=..` go to the room's Durable Object.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: worker::Context) -> Result<Response> {
    let path = req.path();
    if path != "/ws" && path != "/stats" {
        return Response::error("Not Found", 404);
    }
    let url = req.url()?;
    let room = url
        .query_pairs()
        .find(|(k, _)| k == "room")
        .map(|(_, v)| v.into_owned())
        .filter(|r| !r.is_empty());
    let Some(room) = room else {
        return Response::error("a room is required: ?room=<name>", 400);
    };
    let stub = env
        .durable_object("ROOMS")?
        .id_from_name(&room)?
        .get_stub()?;
    stub.fetch_with_request(req).await
}

/// What auth produced, kept per connection (in the socket's attachment, across hibernation).
#[derive(Serialize, Deserialize)]
pub struct User {
    name: String,
    /// The rooms joined on this connection.
    rooms: RefCell<BTreeSet<String>>,
}

/// The topic of a room.
fn topic(room_id: &str) -> String {
    format!("room:{room_id}")
}

/// The handlers: members and history in the object's storage.
struct ChatRoomHandler {
    storage: Rc<Storage>,
}

async fn members(storage: &Storage, room_id: &str) -> Result<BTreeSet<String>> {
    Ok(storage
        .get(&format!("members:{room_id}"))
        .await?
        .unwrap_or_default())
}

async fn set_members(storage: &Storage, room_id: &str, members: &BTreeSet<String>) -> Result<()> {
    let key = format!("members:{room_id}");
    if members.is_empty() {
        storage.delete(&key).await?;
    } else {
        storage.put(&key, members).await?;
    }
    Ok(())
}

async fn leave(storage: &Storage, room_id: &str, user: &str) -> Result<()> {
    let mut list = members(storage, room_id).await?;
    if list.remove(user) {
        set_members(storage, room_id, &list).await?;
    }
    Ok(())
}

/// A storage failure, as the handler's answer.
fn unavailable(e: worker::Error) -> Error {
    Error::unavailable(format!("storage: {e}"))
}

impl ChatLocalHandler for ChatRoomHandler {
    type Data = User;

    async fn join_room(&self, ctx: Context<User>, msg: JoinRoom) -> std::result::Result<(), Error> {
        ctx.subscribe(&topic(&msg.room_id))?;
        let user = ctx.data().name.clone();
        ctx.data().rooms.borrow_mut().insert(msg.room_id.clone());
        let mut list = members(&self.storage, &msg.room_id)
            .await
            .map_err(unavailable)?;
        if list.insert(user.clone()) {
            set_members(&self.storage, &msg.room_id, &list)
                .await
                .map_err(unavailable)?;
        }
        let joined = UserJoined {
            room_id: msg.room_id.clone(),
            user,
        };
        ctx.publish(
            &topic(&msg.room_id),
            &joined,
            PublishOptions::default().exclude_self(),
        )?;
        Ok(())
    }

    async fn leave_room(
        &self,
        ctx: Context<User>,
        msg: LeaveRoom,
    ) -> std::result::Result<(), Error> {
        if !ctx.data().rooms.borrow_mut().remove(&msg.room_id) {
            return Err(Error::failed_precondition("not in this room"));
        }
        ctx.unsubscribe(&topic(&msg.room_id))?;
        let user = ctx.data().name.clone();
        leave(&self.storage, &msg.room_id, &user)
            .await
            .map_err(unavailable)?;
        let left = UserLeft {
            room_id: msg.room_id.clone(),
            user,
        };
        ctx.publish(&topic(&msg.room_id), &left, PublishOptions::default())?;
        Ok(())
    }

    async fn send_message(
        &self,
        ctx: Context<User>,
        msg: SendMessage,
    ) -> std::result::Result<(), Error> {
        if !ctx.data().rooms.borrow().contains(&msg.room_id) {
            return Err(Error::failed_precondition("join the room first"));
        }
        if msg.text.trim().is_empty() {
            return Err(Error::invalid_argument("empty message"));
        }
        let user = ctx.data().name.clone();
        let key = format!("history:{}", msg.room_id);
        let mut lines: VecDeque<Line> = self
            .storage
            .get(&key)
            .await
            .map_err(unavailable)?
            .unwrap_or_default();
        if lines.len() == HISTORY_LINES {
            lines.pop_front();
        }
        lines.push_back(Line {
            user: user.clone(),
            text: msg.text.clone(),
        });
        self.storage.put(&key, &lines).await.map_err(unavailable)?;
        let line = NewMessage {
            room_id: msg.room_id.clone(),
            user,
            text: msg.text,
        };
        // Everyone in the room, the sender included, receives the message.
        ctx.publish(&topic(&msg.room_id), &line, PublishOptions::default())?;
        Ok(())
    }

    async fn list_members(
        &self,
        _ctx: RpcContext<User, ListMembers>,
        req: ListMembers,
    ) -> std::result::Result<Members, Error> {
        let list = members(&self.storage, &req.room_id)
            .await
            .map_err(unavailable)?;
        if list.is_empty() {
            return Err(Error::not_found(format!("no room {:?}", req.room_id)));
        }
        Ok(Members {
            room_id: req.room_id,
            members: list.into_iter().collect(),
        })
    }

    async fn history(
        &self,
        ctx: RpcContext<User, History>,
        req: History,
    ) -> std::result::Result<HistoryPage, Error> {
        let all: Vec<Line> = self
            .storage
            .get(&format!("history:{}", req.room_id))
            .await
            .map_err(unavailable)?
            .unwrap_or_default();
        let total = all.len() as u32;
        let mut lines = Vec::with_capacity(all.len());
        ctx.progress(HistoryProgress { done: 0, total });
        for page in all.chunks(HISTORY_PAGE) {
            // Stands in for reading a slow store, as in the tokio chat server.
            worker::Delay::from(Duration::from_millis(20)).await;
            lines.extend_from_slice(page);
            ctx.progress(HistoryProgress {
                done: lines.len() as u32,
                total,
            });
        }
        Ok(HistoryPage {
            room_id: req.room_id,
            lines,
        })
    }
}

thread_local! {
    /// Instances of `ChatRoom` this isolate constructed (workerd keeps the isolate, and with it
    /// this count, when it evicts an idle object).
    static CONSTRUCTED: Cell<u64> = const { Cell::new(0) };
}

/// One room: its sockets and its storage.
#[durable_object]
pub struct ChatRoom {
    sockets: DurableSockets<User>,
    /// A random id of this instance.
    instance: String,
}

impl DurableObject for ChatRoom {
    fn new(state: State, _env: Env) -> Self {
        CONSTRUCTED.with(|c| c.set(c.get() + 1));
        let storage = Rc::new(state.storage());
        let server = LocalServer::builder()
            .service(Chat::local_server(ChatRoomHandler {
                storage: storage.clone(),
            }))
            .max_frame_bytes(MAX_FRAME_BYTES)
            .build()
            .expect("one service, valid limits");
        let sockets = DurableSockets::new(state, server, |req: &Request| {
            // The token comes as `?access_token=`, a `bearer.<token>` subprotocol or an
            // `Authorization: Bearer` header.
            let token = wskit_cloudflare::token(req);
            async move {
                let name = TOKENS
                    .iter()
                    .find(|(t, _)| Some(*t) == token.as_deref())
                    .map(|(_, name)| name.to_string())
                    .ok_or_else(Rejection::unauthorized)?;
                Ok(User {
                    name,
                    rooms: RefCell::default(),
                })
            }
        })
        .on_close(move |session: Rc<Session<User>>, _code, _reason| {
            let storage = storage.clone();
            async move {
                let name = session.data().name.clone();
                let held = session.data().rooms.borrow().clone();
                for room_id in held {
                    if let Err(e) = leave(&storage, &room_id, &name).await {
                        worker::console_error!("leave {room_id}: {e}");
                    }
                    let left = UserLeft {
                        room_id: room_id.clone(),
                        user: name.clone(),
                    };
                    if let Ok(frame) =
                        wskit::topic::encode_publication(&topic(&room_id), &left, None)
                        && let Ok(text) = std::str::from_utf8(&frame)
                    {
                        let _ = session.host().publish(&topic(&room_id), text, false);
                    }
                }
            }
        });
        ChatRoom {
            sockets,
            instance: new_instance_id(),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path() == "/stats" {
            let stats = serde_json::json!({
                "instance": self.instance,
                "constructed": CONSTRUCTED.with(Cell::get),
                "sockets": self.sockets.state().get_websockets().len(),
            });
            return Response::from_json(&stats);
        }
        self.sockets.upgrade(req).await
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        self.sockets.message(ws, message).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.sockets.close(ws, code, reason).await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.sockets.error(ws).await
    }
}

fn new_instance_id() -> String {
    format!("{:x}", (worker::js_sys::Math::random() * 1e15) as u64)
}
