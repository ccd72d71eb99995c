//! What a server's connections share and what depends on the connection data type: the services,
//! the route table (wire type -> service, middleware), auth, the open and close hooks.

use std::sync::Arc;

use super::auth::AuthFn;
use super::hooks::Hooks;
use super::middleware::Chain;
use super::plain::HttpFn;
use super::runtime::Runtime;
use super::service::Service;
use crate::heartbeat::Heartbeat;
use crate::routes::RouteTable;

/// Where one wire type goes.
pub(crate) struct Route<D> {
    /// The wire type, with a static lifetime.
    pub ty: &'static str,
    /// Index of the service in `ServerState::services`.
    pub service: usize,
    /// The middleware around its handler (global, then per type); `None` when there is none.
    pub chain: Option<Chain<D>>,
    /// Whether its service decodes frames the server has not parsed ([`Service::__decodes_unparsed`]):
    /// only then may a frame be routed on its peeked type.
    pub fast: bool,
}

/// Everything a server's connections share: the runtime, the services and their routes, auth,
/// hooks and heartbeat.
pub(crate) struct ServerState<D> {
    pub rt: Arc<Runtime>,
    pub services: Vec<Box<dyn Service<D>>>,
    pub routes: RouteTable<Route<D>>,
    pub auth: AuthFn<D>,
    pub hooks: Hooks<D>,
    pub heartbeat: Option<Heartbeat>,
    /// The handler of plain HTTP requests (embedded server only); `None` refuses them.
    pub http: Option<HttpFn>,
}
