//! Where a client's token is at the WebSocket upgrade (PROTOCOL.md section 5), read from the
//! parts of any HTTP request: the rules every host shares (the tokio server's
//! [`server::auth`](crate::server::auth) for `http::Request`s, a Cloudflare Worker's request,
//! ...). Runtime-free: no features needed.
//!
//! ```
//! use wskit::auth;
//! assert_eq!(auth::token_in(Some("room=a&access_token=q%20x"), &[], None).as_deref(), Some("q x"));
//! assert_eq!(auth::token_in(None, &["chat.v1", "bearer.s3cret"], None).as_deref(), Some("s3cret"));
//! assert_eq!(auth::token_in(None, &[], Some("Bearer h")).as_deref(), Some("h"));
//! assert_eq!(auth::token_in(Some("room=a"), &[], Some("Basic dTpw")), None);
//! ```

use crate::percent;

/// The query parameter that carries a token (`?access_token=..`, percent-encoded).
pub const TOKEN_QUERY_PARAM: &str = "access_token";

/// The prefix of the subprotocol that carries a token (`bearer.<token>`).
pub const BEARER_SUBPROTOCOL_PREFIX: &str = "bearer.";

/// The token in the `access_token` parameter of a URL's query (without the `?`), percent-decoded.
///
/// ```
/// assert_eq!(wskit::auth::token_in_query("a=1&access_token=s%2B3").as_deref(), Some("s+3"));
/// assert_eq!(wskit::auth::token_in_query("access_token="), None);
/// ```
pub fn token_in_query(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == TOKEN_QUERY_PARAM && !v.is_empty()).then(|| percent::decode(v))
    })
}

/// The token of a `bearer.<token>` value among the offered subprotocols
/// ([`offered_subprotocols`]).
///
/// ```
/// assert_eq!(wskit::auth::token_in_subprotocols(&["chat.v1", "bearer.t"]).as_deref(), Some("t"));
/// assert_eq!(wskit::auth::token_in_subprotocols(&["bearer."]), None);
/// ```
pub fn token_in_subprotocols(offered: &[&str]) -> Option<String> {
    offered
        .iter()
        .find_map(|p| p.strip_prefix(BEARER_SUBPROTOCOL_PREFIX))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme is
/// case-insensitive), for clients that can set headers (browsers cannot on a WebSocket).
///
/// ```
/// assert_eq!(wskit::auth::token_in_authorization("bearer  s3cret ").as_deref(), Some("s3cret"));
/// assert_eq!(wskit::auth::token_in_authorization("Basic dTpw"), None);
/// ```
pub fn token_in_authorization(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The token from the query parameter, else from a `bearer.` subprotocol (the two transports
/// of `@ws-kit/client`), else from an `Authorization: Bearer` header value.
///
/// ```
/// assert_eq!(wskit::auth::token_in(Some("access_token=q"), &[], Some("Bearer h")).as_deref(), Some("q"));
/// ```
pub fn token_in(
    query: Option<&str>,
    offered_subprotocols: &[&str],
    authorization: Option<&str>,
) -> Option<String> {
    query
        .and_then(token_in_query)
        .or_else(|| token_in_subprotocols(offered_subprotocols))
        .or_else(|| authorization.and_then(token_in_authorization))
}

/// The subprotocols offered in `Sec-WebSocket-Protocol` header values, in order.
///
/// ```
/// assert_eq!(wskit::auth::offered_subprotocols(["chat.v1, bearer.t", " x "]), ["chat.v1", "bearer.t", "x"]);
/// ```
pub fn offered_subprotocols<'a>(header_values: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    header_values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// PROTOCOL.md section 5: the first offered subprotocol the application supports, else the
/// first one offered (browsers fail a connection whose answer names none of theirs).
///
/// ```
/// use wskit::auth::select_subprotocol;
/// assert_eq!(select_subprotocol(&["bearer.t", "chat.v1"], &["chat.v1".into()]), Some("chat.v1"));
/// assert_eq!(select_subprotocol(&["bearer.t", "x"], &[]), Some("bearer.t"));
/// assert_eq!(select_subprotocol(&[], &["chat.v1".into()]), None);
/// ```
pub fn select_subprotocol<'a>(offered: &[&'a str], supported: &[String]) -> Option<&'a str> {
    offered
        .iter()
        .find(|p| supported.iter().any(|s| s == *p))
        .or_else(|| offered.first())
        .copied()
}
