//! Authentication at the HTTP upgrade (PROTOCOL.md section 5): rejections, token helpers and
//! subprotocol selection.
//!
//! ```
//! use wskit::server::{auth, http};
//! let req = http::Request::get("/ws?access_token=s3cret").body(()).unwrap();
//! assert_eq!(auth::token_from_query(&req).as_deref(), Some("s3cret"));
//! let req = http::Request::get("/ws")
//!     .header("sec-websocket-protocol", "chat.v1, bearer.s3cret")
//!     .body(()).unwrap();
//! assert_eq!(auth::token_from_subprotocol(&req).as_deref(), Some("s3cret"));
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::auth::{self as shared};
use tokio_tungstenite::tungstenite::http;

/// The answer to a refused upgrade: an HTTP status and a text body. No handler runs.
///
/// ```
/// use wskit::server::{auth::Rejection, http::StatusCode};
/// let r = Rejection::unauthorized();
/// assert_eq!((r.status(), r.body()), (StatusCode::UNAUTHORIZED, "Unauthorized"));
/// let r = Rejection::new(StatusCode::FORBIDDEN, "banned");
/// assert_eq!(r.status().as_u16(), 403);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: http::StatusCode,
    body: String,
}

impl Rejection {
    /// A rejection with this status and body.
    pub fn new(status: http::StatusCode, body: impl Into<String>) -> Self {
        Rejection {
            status,
            body: body.into(),
        }
    }

    /// `401 Unauthorized` with body `Unauthorized` (the default rejection).
    pub fn unauthorized() -> Self {
        Rejection::new(http::StatusCode::UNAUTHORIZED, "Unauthorized")
    }

    /// The status.
    pub fn status(&self) -> http::StatusCode {
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

/// Which browser origins may open a connection: the `Origin` header of the upgrade, checked
/// before auth; a refused origin gets `403 Forbidden` and no handler or auth function runs.
///
/// Browsers send `Origin` on every WebSocket upgrade and let any page open a socket to any
/// server: with cookie auth, a page on another site could act as the user (cross-site
/// WebSocket hijacking). Token auth (`access_token`, `bearer.` subprotocol) is not exposed to
/// that, since another site does not have the token. Clients that are not browsers send no
/// `Origin`: an [`AllowList`](OriginPolicy::AllowList) lets them through (set
/// [`Check`](OriginPolicy::check) to decide otherwise).
///
/// ```
/// use wskit::server::auth::OriginPolicy;
/// let policy = OriginPolicy::allow(["https://app.example", "http://127.0.0.1:3000"]);
/// assert!(policy.allows(Some("https://app.example")));
/// assert!(!policy.allows(Some("https://evil.example")));
/// assert!(policy.allows(None)); // not a browser
/// let strict = OriginPolicy::check(|origin| origin.is_some_and(|o| o.ends_with(".app.example")));
/// assert!(!strict.allows(None));
/// assert!(OriginPolicy::Any.allows(Some("https://evil.example")));
/// ```
#[derive(Clone, Default)]
pub enum OriginPolicy {
    /// Every origin (the default, as ws-kit: pair it with token auth).
    #[default]
    Any,
    /// Only these origins (`scheme://host[:port]`, compared ASCII case-insensitively), and
    /// requests without an `Origin` header.
    AllowList(Vec<String>),
    /// A function of the `Origin` header (`None` when absent): `true` lets the request through.
    Check(OriginCheck),
}

/// The function of an [`OriginPolicy::Check`].
pub type OriginCheck = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;

impl OriginPolicy {
    /// An [`AllowList`](Self::AllowList).
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(origins: I) -> Self {
        OriginPolicy::AllowList(origins.into_iter().map(Into::into).collect())
    }

    /// A [`Check`](Self::Check).
    pub fn check(f: impl Fn(Option<&str>) -> bool + Send + Sync + 'static) -> Self {
        OriginPolicy::Check(Arc::new(f))
    }

    /// Whether a request with this `Origin` header may go on.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match self {
            OriginPolicy::Any => true,
            OriginPolicy::AllowList(list) => {
                origin.is_none_or(|o| list.iter().any(|a| a.eq_ignore_ascii_case(o.trim())))
            }
            OriginPolicy::Check(f) => f(origin),
        }
    }
}

impl fmt::Debug for OriginPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginPolicy::Any => f.write_str("Any"),
            OriginPolicy::AllowList(list) => f.debug_tuple("AllowList").field(list).finish(),
            OriginPolicy::Check(_) => f.write_str("Check(..)"),
        }
    }
}

/// The boxed form of an authentication function.
pub(crate) type AuthFn<D> =
    Arc<dyn Fn(&http::Request<()>) -> BoxFuture<'static, Result<D, Rejection>> + Send + Sync>;

pub(crate) fn boxed<D, F, Fut>(f: F) -> AuthFn<D>
where
    F: Fn(&http::Request<()>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<D, Rejection>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

/// The token in the `access_token` query parameter, percent-decoded
/// ([`wskit::auth::token_in_query`](crate::auth::token_in_query)).
pub fn token_from_query<B>(req: &http::Request<B>) -> Option<String> {
    req.uri().query().and_then(shared::token_in_query)
}

/// The token of a `bearer.<token>` value among the `Sec-WebSocket-Protocol` values.
pub fn token_from_subprotocol<B>(req: &http::Request<B>) -> Option<String> {
    shared::token_in_subprotocols(&offered_subprotocols(req))
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive), for
/// clients that can set headers (browsers cannot on a WebSocket).
///
/// ```
/// use wskit::server::{auth, http};
/// let req = http::Request::get("/ws").header("authorization", "Bearer s3cret").body(()).unwrap();
/// assert_eq!(auth::token_from_header(&req).as_deref(), Some("s3cret"));
/// let req = http::Request::get("/ws").header("authorization", "Basic dTpw").body(()).unwrap();
/// assert_eq!(auth::token_from_header(&req), None);
/// ```
pub fn token_from_header<B>(req: &http::Request<B>) -> Option<String> {
    let value = req.headers().get(http::header::AUTHORIZATION)?;
    shared::token_in_authorization(value.to_str().ok()?)
}

/// The token from the query parameter, else from a `bearer.` subprotocol (the two transports
/// of `@ws-kit/client`), else from an `Authorization: Bearer` header.
///
/// ```
/// use wskit::server::{auth, http};
/// let req = http::Request::get("/ws?access_token=q")
///     .header("authorization", "Bearer h")
///     .body(()).unwrap();
/// assert_eq!(auth::token(&req).as_deref(), Some("q"));
/// let req = http::Request::get("/ws").header("authorization", "Bearer h").body(()).unwrap();
/// assert_eq!(auth::token(&req).as_deref(), Some("h"));
/// let req = http::Request::get("/ws")
///     .header("sec-websocket-protocol", "chat.v1, bearer.s")
///     .header("authorization", "Bearer h")
///     .body(()).unwrap();
/// assert_eq!(auth::token(&req).as_deref(), Some("s"));
/// ```
pub fn token<B>(req: &http::Request<B>) -> Option<String> {
    // The order is `wskit::auth::token_in`'s, the one a Cloudflare Worker uses too.
    let authorization = req.headers().get(http::header::AUTHORIZATION);
    shared::token_in(
        req.uri().query(),
        &offered_subprotocols(req),
        authorization.and_then(|v| v.to_str().ok()),
    )
}

/// The subprotocols a client offers, in order.
pub fn offered_subprotocols<B>(req: &http::Request<B>) -> Vec<&str> {
    let values = req.headers().get_all(http::header::SEC_WEBSOCKET_PROTOCOL);
    shared::offered_subprotocols(values.iter().filter_map(|v| v.to_str().ok()))
}

pub use shared::select_subprotocol;
