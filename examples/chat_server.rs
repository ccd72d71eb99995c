//! The chat server's handlers and configuration (used by `chat.rs`, and by the integration test
//! that checks the README's walkthrough).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::chat_protocol::*;
use wskit::Error;
use wskit::server::{
    BuildError, CloseReason, Connection, Context, ErrorCause, InboundBudget, PublishOptions,
    RateLimit, RpcContext, Server,
    auth::{self, OriginPolicy},
    http,
};

/// Who may connect: token -> user name. A real server would check a signed token instead.
const TOKENS: [(&str, &str); 3] = [
    ("alice-token", "alice"),
    ("bob-token", "bob"),
    ("carol-token", "carol"),
];

/// What auth produced, kept per connection.
pub struct User {
    name: String,
    rooms: BTreeSet<String>,
}

/// Room members, by room id.
#[derive(Default)]
struct Rooms(Mutex<HashMap<String, BTreeSet<String>>>);

impl Rooms {
    fn join(&self, room: &str, user: &str) {
        let mut rooms = self.0.lock().unwrap();
        rooms
            .entry(room.to_owned())
            .or_default()
            .insert(user.to_owned());
    }

    fn leave(&self, room: &str, user: &str) {
        let mut rooms = self.0.lock().unwrap();
        if let Some(members) = rooms.get_mut(room) {
            members.remove(user);
            if members.is_empty() {
                rooms.remove(room);
            }
        }
    }

    fn members(&self, room: &str) -> Vec<String> {
        let rooms = self.0.lock().unwrap();
        rooms
            .get(room)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// How many lines of each room's history the server keeps.
pub const HISTORY_LINES: usize = 100;

/// History is sent in pages of this many lines, with a progress update after each.
const HISTORY_PAGE: usize = 5;

/// The last [`HISTORY_LINES`] lines of each room, oldest first.
#[derive(Default)]
struct Transcripts(Mutex<HashMap<String, VecDeque<Line>>>);

impl Transcripts {
    fn push(&self, room: &str, line: Line) {
        let mut rooms = self.0.lock().unwrap();
        let lines = rooms.entry(room.to_owned()).or_default();
        if lines.len() == HISTORY_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    fn lines(&self, room: &str) -> Vec<Line> {
        let rooms = self.0.lock().unwrap();
        rooms
            .get(room)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The largest frame a client may send, in bytes: 64 KiB (a bigger one closes the connection
/// with 1009). A valid chat frame is far smaller: a 2,000-character line in a 64-character room,
/// every character written as an escaped surrogate pair (`\ud83d\ude00`, 12 bytes), is about
/// 25 KB. The Durable Object chat (`examples/cloudflare-chat`) sets the same limit.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The topic of a room.
fn topic(room_id: &str) -> String {
    format!("room:{room_id}")
}

pub struct ChatServer {
    rooms: Arc<Rooms>,
    history: Transcripts,
}

impl ChatHandler for ChatServer {
    type Data = User;

    async fn join_room(&self, ctx: Context<User>, msg: JoinRoom) -> Result<(), Error> {
        ctx.subscribe(&topic(&msg.room_id))?;
        let user = ctx.update_data(|u| {
            u.rooms.insert(msg.room_id.clone());
            u.name.clone()
        });
        self.rooms.join(&msg.room_id, &user);
        let joined = UserJoined {
            room_id: msg.room_id.clone(),
            user,
        };
        ctx.publish(
            &topic(&msg.room_id),
            &joined,
            PublishOptions::default().exclude_self(),
        )
        .await?;
        Ok(())
    }

    async fn leave_room(&self, ctx: Context<User>, msg: LeaveRoom) -> Result<(), Error> {
        if !ctx.unsubscribe(&topic(&msg.room_id)) {
            return Err(Error::failed_precondition("not in this room"));
        }
        let user = ctx.update_data(|u| {
            u.rooms.remove(&msg.room_id);
            u.name.clone()
        });
        self.rooms.leave(&msg.room_id, &user);
        let left = UserLeft {
            room_id: msg.room_id.clone(),
            user,
        };
        ctx.publish(&topic(&msg.room_id), &left, PublishOptions::default())
            .await?;
        Ok(())
    }

    async fn send_message(&self, ctx: Context<User>, msg: SendMessage) -> Result<(), Error> {
        let user = {
            let data = ctx.data();
            if !data.rooms.contains(&msg.room_id) {
                return Err(Error::failed_precondition("join the room first"));
            }
            data.name.clone()
        };
        if msg.text.trim().is_empty() {
            return Err(Error::invalid_argument("empty message"));
        }
        self.history.push(
            &msg.room_id,
            Line {
                user: user.clone(),
                text: msg.text.clone(),
            },
        );
        let line = NewMessage {
            room_id: msg.room_id.clone(),
            user,
            text: msg.text,
        };
        // Everyone in the room, the sender included, receives the message.
        ctx.publish(&topic(&msg.room_id), &line, PublishOptions::default())
            .await?;
        Ok(())
    }

    async fn list_members(
        &self,
        _ctx: RpcContext<User, ListMembers>,
        req: ListMembers,
    ) -> Result<Members, Error> {
        let members = self.rooms.members(&req.room_id);
        if members.is_empty() {
            return Err(Error::not_found(format!("no room {:?}", req.room_id)));
        }
        Ok(Members {
            room_id: req.room_id,
            members,
        })
    }

    async fn history(
        &self,
        ctx: RpcContext<User, History>,
        req: History,
    ) -> Result<HistoryPage, Error> {
        let all = self.history.lines(&req.room_id);
        let total = all.len() as u32;
        let mut lines = Vec::with_capacity(all.len());
        ctx.progress(HistoryProgress { done: 0, total });
        for page in all.chunks(HISTORY_PAGE) {
            // Stands in for reading a slow store, so that a page's progress bar can be seen.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
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

/// The chat server: rooms through pub/sub, `LIST_MEMBERS`, token auth, a rate limit.
pub fn chat_server() -> Result<Server<User>, BuildError> {
    chat_server_on(wskit::pubsub::MemoryPubSub::new())
}

/// The chat server on this pub/sub backend: with `RedisPubSub`, several chat servers form one
/// chat (`LIST_MEMBERS` still lists the members connected to this server).
pub fn chat_server_on(pubsub: impl wskit::pubsub::PubSub) -> Result<Server<User>, BuildError> {
    let rooms = Arc::new(Rooms::default());
    let on_close_rooms = rooms.clone();
    Server::<User>::builder()
        .pubsub(pubsub)
        .service(Chat::server(ChatServer {
            rooms: rooms.clone(),
            history: Transcripts::default(),
        }))
        // The token comes as `?access_token=` or as a `bearer.<token>` subprotocol.
        .auth(|req: &http::Request<()>| {
            let token = auth::token(req);
            async move {
                let name = TOKENS
                    .iter()
                    .find(|(t, _)| Some(*t) == token.as_deref())
                    .map(|(_, name)| name.to_string())
                    .ok_or_else(auth::Rejection::unauthorized)?;
                Ok(User {
                    name,
                    rooms: BTreeSet::new(),
                })
            }
        })
        .on_open(|conn: Connection<User>| async move {
            tracing::info!(user = %conn.data().name, client_id = %conn.client_id(), "connected");
            Ok(())
        })
        .on_close(move |conn: Connection<User>, reason: CloseReason| {
            let rooms = on_close_rooms.clone();
            async move {
                let (name, held) = {
                    let data = conn.data();
                    (data.name.clone(), data.rooms.clone())
                };
                for room_id in held {
                    rooms.leave(&room_id, &name);
                    let left = UserLeft {
                        room_id: room_id.clone(),
                        user: name.clone(),
                    };
                    let _ = conn
                        .publish(&topic(&room_id), &left, PublishOptions::default())
                        .await;
                }
                tracing::info!(user = %name, %reason, "disconnected");
            }
        })
        // What a client got wrong (bad frames, validation, its rate limit) is logged at debug,
        // so that a hostile client cannot flood the log (a soak test once wrote 4.5M lines);
        // what went wrong in the server (a panic, an internal error) at warn.
        .on_error(|e| match (&e.cause, &e.error.code) {
            (ErrorCause::Panic(_), _) | (_, wskit::ErrorCode::Internal) => {
                tracing::warn!(cause = ?e.cause, code = %e.error.code, "request failed");
            }
            _ => tracing::debug!(cause = ?e.cause, code = %e.error.code, "request failed"),
        }) // Plain HTTP on the same port: the browser chat page (examples/web).
        .http_handler(page::serve)
        // 20 frames at once, then 5 per second, per connection.
        .middleware(RateLimit::per_connection(20, 5.0))
        // Every inbound frame, before it is decoded (bad frames, heartbeats and pings too, which
        // the rate limit above never sees): 50 a second and 1 MiB a second per connection, past
        // which the connection is not read until it is within them again.
        .inbound_budget(InboundBudget::new(50, 1024 * 1024))
        .max_frame_bytes(MAX_FRAME_BYTES)
        // Browsers: only pages served from this machine (another site's page is refused with
        // 403 before auth). Clients that are not browsers send no Origin and are let through.
        .origins(OriginPolicy::check(|origin| {
            origin.is_none_or(|o| {
                ["http://127.0.0.1", "http://localhost"]
                    .iter()
                    .any(|local| {
                        o.strip_prefix(local)
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
                    })
            })
        }))
        .build()
}

/// The browser chat page (`examples/web`: `index.html` and the bundled client), embedded so that
/// `cargo run --example chat` serves it with nothing installed; and `/whoami`, which tells the
/// page whose token it holds (a browser does not see why an upgrade was refused).
mod page {
    use super::TOKENS;
    use wskit::server::{auth, http};

    const INDEX: &str = include_str!("web/index.html");
    const SCRIPT: &str = include_str!("web/dist/chat.js");

    fn respond(status: u16, content_type: &str, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("cache-control", "no-cache")
            .header("x-content-type-options", "nosniff")
            .body(body.as_bytes().to_vec())
            .expect("a valid response")
    }

    /// `GET /`, `/chat.js`, `/whoami` (token as for the WebSocket: query, subprotocol or
    /// `Authorization: Bearer`); anything else is 404, other methods 405.
    pub async fn serve(req: http::Request<()>) -> http::Response<Vec<u8>> {
        if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
            return respond(405, "text/plain; charset=utf-8", "Method Not Allowed");
        }
        match req.uri().path() {
            "/" | "/index.html" => respond(200, "text/html; charset=utf-8", INDEX),
            "/chat.js" => respond(200, "text/javascript; charset=utf-8", SCRIPT),
            "/whoami" => {
                let token = auth::token(&req);
                match TOKENS.iter().find(|(t, _)| Some(*t) == token.as_deref()) {
                    Some((_, name)) => respond(200, "text/plain; charset=utf-8", name),
                    None => respond(401, "text/plain; charset=utf-8", "Unauthorized"),
                }
            }
            _ => respond(404, "text/plain; charset=utf-8", "Not Found"),
        }
    }
}
