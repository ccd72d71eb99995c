//! Serve a wskit protocol from a Cloudflare Durable Object, on the WebSocket Hibernation API.
//!
//! A Durable Object holds [`DurableSockets`]: it answers the WebSocket upgrade (auth by the
//! token rules every wskit host shares, [`wskit::auth`], refused with `401` by default; the
//! subprotocol chosen as the tokio server chooses it; an `x-client-id` header), accepts the
//! socket with `state.accept_web_socket`, and hands each frame of `websocket_message` to a
//! [`wskit::local::LocalServer`], which decides every answer as the tokio server does (bad JSON,
//! unknown types, validation, heartbeat ack, `$ws:abort`, RPC terminal rules, progress,
//! deadlines). Publications reach the subscribed sockets of the same object.
//!
//! Across hibernation (the runtime evicts an idle object and keeps its sockets), each socket's
//! attachment keeps its client id, its connection data (`D`, as JSON: `D: Serialize +
//! DeserializeOwned`) and its topics; the sessions are rebuilt from them on the first event of
//! the new instance. Tags are not used for topics: they are fixed when a socket is accepted.
//! An attachment holds at most [`MAX_ATTACHMENT_BYTES`] by default (workerd's limit): a
//! subscription that would not fit is refused (`RESOURCE_EXHAUSTED`, as the tokio server refuses a full topic set), and connection data that grows
//! past it closes the connection with 1011.
//!
//! Handlers implement the non-`Send` `<Protocol>LocalHandler` trait that `protocol!` generates
//! when wskit has its `local` feature (this crate turns it on); the same `protocol!` block serves
//! the tokio server through `<Protocol>Handler`. Connection data is read with
//! `ctx.data()`: keep what handlers change in a `RefCell` (or `Cell`) of it; it is written back to
//! the attachment after each frame when its JSON changed.
//!
//! ```no_run
//! use std::collections::BTreeSet;
//! use std::cell::RefCell;
//! use worker::{DurableObject, Env, Request, Response, Result, State, WebSocket,
//!              WebSocketIncomingMessage, durable_object};
//! use worker::wasm_bindgen; // `#[durable_object]` expands to `wasm_bindgen` paths
//! use wskit::local::{Context, LocalServer};
//! use wskit_cloudflare::{DurableSockets, Rejection};
//!
//! wskit::protocol! {
//!     pub protocol Echo {
//!         message Say { text: String }
//!         event Said { who: String, text: String }
//!     }
//! }
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct User { name: String, seen: RefCell<BTreeSet<String>> }
//!
//! struct App;
//! impl EchoLocalHandler for App {
//!     type Data = User;
//!     async fn say(&self, ctx: Context<User>, msg: Say) -> std::result::Result<(), wskit::Error> {
//!         ctx.subscribe("all")?;
//!         let said = Said { who: ctx.data().name.clone(), text: msg.text };
//!         ctx.publish("all", &said, Default::default())?;
//!         Ok(())
//!     }
//! }
//!
//! #[durable_object]
//! pub struct Room { sockets: DurableSockets<User> }
//!
//! impl DurableObject for Room {
//!     fn new(state: State, _env: Env) -> Self {
//!         let server = LocalServer::builder().service(Echo::local_server(App)).build();
//!         let sockets = DurableSockets::new(state, server.expect("one service"), |req: &Request| {
//!             let name = wskit_cloudflare::token(req);
//!             async move {
//!                 let name = name.ok_or_else(Rejection::unauthorized)?;
//!                 Ok(User { name, seen: RefCell::default() })
//!             }
//!         });
//!         Room { sockets }
//!     }
//!     async fn fetch(&self, req: Request) -> Result<Response> {
//!         self.sockets.upgrade(req).await
//!     }
//!     async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
//!         self.sockets.message(ws, msg).await
//!     }
//!     async fn websocket_close(&self, ws: WebSocket, code: usize, reason: String, _clean: bool) -> Result<()> {
//!         self.sockets.close(ws, code, reason).await
//!     }
//!     async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
//!         self.sockets.error(ws).await
//!     }
//! }
//! ```

mod sockets;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use worker::{Headers, Request, Response, Result, State, WebSocket, WebSocketIncomingMessage};
use wskit::local::{LocalBoxFuture, LocalServer, Session};
use wskit::wire::close;

use sockets::{Core, SocketHost};

pub use wskit;

/// The attachment limit by default: 16,384 bytes of serialized form, what workerd accepts in
/// `serializeAttachment` (checked on workerd 1.20260426: "A WebSocket 'attachment' cannot be
/// larger than 16384 bytes"). A socket's attachment holds its client id, topics and connection
/// data as one JSON string: about one byte a character when it is all Latin-1, two otherwise.
pub const MAX_ATTACHMENT_BYTES: usize = 16_384;

/// The answer to a refused upgrade: an HTTP status and a text body. No handler runs.
///
/// ```
/// use wskit_cloudflare::Rejection;
/// let r = Rejection::unauthorized();
/// assert_eq!((r.status(), r.body()), (401, "Unauthorized"));
/// assert_eq!(Rejection::new(403, "banned").status(), 403);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: u16,
    body: String,
}

impl Rejection {
    /// A rejection with this status and body.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Rejection {
            status,
            body: body.into(),
        }
    }

    /// `401 Unauthorized` with body `Unauthorized` (the tokio server's default rejection).
    pub fn unauthorized() -> Self {
        Rejection::new(401, "Unauthorized")
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }
}

impl Default for Rejection {
    fn default() -> Self {
        Rejection::unauthorized()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl std::error::Error for Rejection {}

/// The client's token in an upgrade request, by the rules of [`wskit::auth::token_in`]: the
/// `access_token` query parameter, else a `bearer.<token>` subprotocol, else an
/// `Authorization: Bearer` header.
///
/// ```no_run
/// # fn f(req: &worker::Request) {
/// let token: Option<String> = wskit_cloudflare::token(req);
/// # }
/// ```
pub fn token(req: &Request) -> Option<String> {
    let url = req.url().ok()?;
    let protocols = header(req.headers(), "sec-websocket-protocol");
    let offered = wskit::auth::offered_subprotocols(protocols.as_deref());
    let authorization = header(req.headers(), "authorization");
    wskit::auth::token_in(url.query(), &offered, authorization.as_deref())
}

fn header(headers: &Headers, name: &str) -> Option<String> {
    headers.get(name).ok().flatten()
}

/// The boxed authentication function.
type AuthFn<D> =
    Box<dyn Fn(&Request) -> LocalBoxFuture<'static, std::result::Result<D, Rejection>>>;

/// The boxed close hook.
type CloseFn<D> = Box<dyn Fn(Rc<Session<D>>, u16, String) -> LocalBoxFuture<'static, ()>>;

/// The WebSocket connections of one Durable Object, served by a [`LocalServer`]: the upgrade,
/// then each event of the Hibernation API (`websocket_message`, `websocket_close`,
/// `websocket_error`). See [the crate](crate) for a whole Durable Object.
///
/// `D` is the connection data that the auth function produces: it is kept (as JSON) in the
/// socket's attachment, so that it survives hibernation.
pub struct DurableSockets<D> {
    state: State,
    server: LocalServer<D>,
    auth: AuthFn<D>,
    on_close: Vec<CloseFn<D>>,
    subprotocols: Vec<String>,
    core: Rc<Core>,
    /// The sessions of the open sockets, by client id.
    sessions: RefCell<HashMap<String, Rc<Session<D>>>>,
    /// Whether this instance has rebuilt the sessions of the sockets it found (after
    /// hibernation, or in a new instance).
    loaded: Cell<bool>,
}

impl<D> fmt::Debug for DurableSockets<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableSockets")
            .field("sessions", &self.sessions.borrow().len())
            .field("subprotocols", &self.subprotocols)
            .finish_non_exhaustive()
    }
}

impl<D: Serialize + DeserializeOwned + 'static> DurableSockets<D> {
    /// The sockets of the object whose `state` this is, served by `server`; `auth` decides on
    /// each upgrade request: connection data, or a [`Rejection`] (answered as its status and
    /// body; no socket is opened).
    pub fn new<F, Fut>(state: State, server: LocalServer<D>, auth: F) -> Self
    where
        F: Fn(&Request) -> Fut + 'static,
        Fut: Future<Output = std::result::Result<D, Rejection>> + 'static,
    {
        DurableSockets {
            state,
            server,
            auth: Box::new(move |req| Box::pin(auth(req))),
            on_close: Vec::new(),
            subprotocols: Vec::new(),
            core: Core::new(MAX_ATTACHMENT_BYTES),
            sessions: RefCell::default(),
            loaded: Cell::new(false),
        }
    }

    /// The subprotocols the application speaks: the upgrade answers with the first one the
    /// client offers, else with the first offered (PROTOCOL.md section 5, as the tokio server).
    pub fn subprotocols<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        protocols: I,
    ) -> Self {
        self.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The largest attachment a socket may have (default [`MAX_ATTACHMENT_BYTES`]).
    pub fn max_attachment_bytes(mut self, bytes: usize) -> Self {
        self.core = Core::new(bytes);
        self
    }

    /// Runs once per connection after it closed (the peer closed it, it failed, or wskit or a
    /// handler closed it), with the close code and reason, after its requests were cancelled
    /// and its subscriptions removed. It may publish through `session.host()`.
    pub fn on_close<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Rc<Session<D>>, u16, String) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.on_close.push(Box::new(move |session, code, reason| {
            Box::pin(hook(session, code, reason))
        }));
        self
    }

    /// The object's state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The sessions of the open sockets (rebuilt from the attachments when this instance has not
    /// seen them yet).
    pub fn sessions(&self) -> Vec<Rc<Session<D>>> {
        self.load();
        self.sessions.borrow().values().cloned().collect()
    }

    /// Answers a request for this object: a WebSocket upgrade (`426` for anything else), auth,
    /// then `101 Switching Protocols` with the socket accepted for hibernation.
    pub async fn upgrade(&self, req: Request) -> Result<Response> {
        let upgrade = header(req.headers(), "upgrade");
        if !upgrade.is_some_and(|u| u.trim().eq_ignore_ascii_case("websocket")) {
            return Response::error("Expected a WebSocket upgrade", 426);
        }
        let data = match (self.auth)(&req).await {
            Ok(data) => data,
            Err(rejection) => return Response::error(rejection.body, rejection.status),
        };
        self.load();
        let id = new_client_id();
        let json = match to_raw(&data) {
            Ok(json) => json,
            Err(e) => return Response::error(format!("connection data: {e}"), 500),
        };
        let pair = worker::WebSocketPair::new()?;
        let limit = self.core_limit();
        let text = match sockets::attachment_text(&id, &[], &json, limit) {
            Ok(text) => text,
            Err(e) => return Response::error(e.to_string(), 500),
        };
        self.state.accept_web_socket(&pair.server);
        if let Err(e) = sockets::write_attachment(&pair.server, text) {
            let _ = pair
                .server
                .close(Some(close::INTERNAL_ERROR), Some("attachment"));
            return Response::error(e.to_string(), 500);
        }
        sockets::remember_id(&pair.server, &id);
        self.register(id.clone(), pair.server, json, Vec::new(), data);

        let headers = Headers::new();
        let protocols = header(req.headers(), "sec-websocket-protocol");
        let offered = wskit::auth::offered_subprotocols(protocols.as_deref());
        if let Some(p) = wskit::auth::select_subprotocol(&offered, &self.subprotocols) {
            headers.set("sec-websocket-protocol", p)?;
        }
        headers.set("x-client-id", &id)?;
        Ok(Response::from_websocket(pair.client)?.with_headers(headers))
    }

    /// `websocket_message`: the frame goes to the [`LocalServer`], to its end; then the
    /// connection data goes back to the attachment if it changed.
    pub async fn message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        let Some(session) = self.session_of(&ws) else {
            // Not one of wskit's sockets, or already finished.
            return Ok(());
        };
        match message {
            WebSocketIncomingMessage::String(text) => self.server.on_text(&session, &text).await,
            WebSocketIncomingMessage::Binary(bytes) => {
                self.server.on_binary(&session, &bytes).await
            }
        }
        let id = session.client_id();
        if self.core.closed(id).is_none() {
            let saved = to_raw(session.data())
                .map_err(|e| wskit::local::HostError::Failed(e.to_string()))
                .and_then(|json| self.core.save_data(id, json));
            if let Err(e) = saved {
                worker::console_error!("wskit: connection {id} closed: {e}");
                session.close_requests();
                session
                    .host()
                    .close(close::INTERNAL_ERROR, "connection data not kept");
            }
        }
        if let Some((code, reason)) = self.core.closed(id) {
            self.finish(&session, code, reason).await;
        }
        Ok(())
    }

    /// `websocket_close`: the peer closed the socket. Its requests are cancelled, the close
    /// hooks run, and the close is answered with the same code (1000 for codes that cannot be
    /// sent).
    pub async fn close(&self, ws: WebSocket, code: usize, reason: String) -> Result<()> {
        let code = u16::try_from(code).unwrap_or(close::ABNORMAL);
        let answer = if close::is_sendable(code) {
            code
        } else {
            close::NORMAL
        };
        let _ = ws.close(Some(answer), Some(&reason));
        if let Some(session) = self.session_of(&ws) {
            self.finish(&session, code, reason).await;
        }
        Ok(())
    }

    /// `websocket_error`: the socket failed; as [`close`](Self::close) with 1006.
    pub async fn error(&self, ws: WebSocket) -> Result<()> {
        if let Some(session) = self.session_of(&ws) {
            self.finish(&session, close::ABNORMAL, String::new()).await;
        }
        Ok(())
    }

    /// Forgets a closed connection and runs the close hooks, once.
    async fn finish(&self, session: &Rc<Session<D>>, code: u16, reason: String) {
        let id = session.client_id();
        if self.sessions.borrow_mut().remove(id).is_none() {
            return;
        }
        session.close_requests();
        let (code, reason) = self.core.remove(id).flatten().unwrap_or((code, reason));
        for hook in &self.on_close {
            hook(session.clone(), code, reason.clone()).await;
        }
    }

    fn core_limit(&self) -> usize {
        self.core.max_attachment_bytes()
    }

    fn register(
        &self,
        id: String,
        ws: WebSocket,
        json: Box<RawValue>,
        topics: Vec<String>,
        data: D,
    ) {
        self.core.insert(&id, ws, json, topics);
        let host = Rc::new(SocketHost {
            id: id.clone(),
            core: Rc::downgrade(&self.core),
        });
        let session = Session::new(id.clone(), data, host);
        self.sessions.borrow_mut().insert(id, session);
    }

    /// Rebuilds the sessions of the sockets this instance has not seen (once per instance).
    fn load(&self) {
        if self.loaded.replace(true) {
            return;
        }
        for ws in self.state.get_websockets() {
            self.adopt(ws);
        }
    }

    /// Rebuilds one socket's session from its attachment.
    fn adopt(&self, ws: WebSocket) -> Option<Rc<Session<D>>> {
        let attachment = sockets::read_attachment(&ws)?;
        if let Some(session) = self.sessions.borrow().get(&attachment.id) {
            sockets::remember_id(&ws, &attachment.id);
            return Some(session.clone());
        }
        let data: D = match serde_json::from_str(attachment.data.get()) {
            Ok(data) => data,
            Err(e) => {
                worker::console_error!("wskit: connection {} data unreadable: {e}", attachment.id);
                let _ = ws.close(
                    Some(close::INTERNAL_ERROR),
                    Some("connection data unreadable"),
                );
                return None;
            }
        };
        sockets::remember_id(&ws, &attachment.id);
        let id = attachment.id.clone();
        self.register(id.clone(), ws, attachment.data, attachment.topics, data);
        self.sessions.borrow().get(&id).cloned()
    }

    /// The session of a socket: by the id remembered on its JS object, else by its attachment.
    fn session_of(&self, ws: &WebSocket) -> Option<Rc<Session<D>>> {
        self.load();
        if let Some(id) = sockets::remembered_id(ws) {
            return self.sessions.borrow().get(&id).cloned();
        }
        self.adopt(ws.clone())
    }
}

fn to_raw<T: Serialize>(value: &T) -> serde_json::Result<Box<RawValue>> {
    serde_json::value::to_raw_value(value)
}

/// A new client id: a random UUID (v4) from the runtime's `crypto.randomUUID()`.
fn new_client_id() -> String {
    use worker::js_sys::{Function, Reflect};
    use worker::wasm_bindgen::{JsCast, JsValue};
    let global = worker::js_sys::global();
    let uuid = Reflect::get(&global, &JsValue::from_str("crypto"))
        .and_then(|crypto| {
            let f: Function =
                Reflect::get(&crypto, &JsValue::from_str("randomUUID"))?.dyn_into()?;
            f.call0(&crypto)
        })
        .ok()
        .and_then(|v| v.as_string());
    // Every Workers runtime has crypto.randomUUID; the fallback only keeps ids unique.
    uuid.unwrap_or_else(|| {
        let n = (worker::js_sys::Math::random() * 9.0e15) as u64;
        format!("{:016x}", n ^ (worker::js_sys::Date::now() as u64))
    })
}
