//! The open and close hooks of a server (the error hook is [`super::report`]'s).

use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::close::CloseReason;
use super::connection::Connection;

pub(crate) type OpenHook<D> =
    Arc<dyn Fn(Connection<D>) -> BoxFuture<'static, Result<(), CloseReason>> + Send + Sync>;
pub(crate) type CloseHook<D> =
    Arc<dyn Fn(Connection<D>, CloseReason) -> BoxFuture<'static, ()> + Send + Sync>;

/// The hooks of one server.
pub(crate) struct Hooks<D> {
    pub open: Vec<OpenHook<D>>,
    pub close: Vec<CloseHook<D>>,
}

impl<D> Default for Hooks<D> {
    fn default() -> Self {
        Hooks {
            open: Vec::new(),
            close: Vec::new(),
        }
    }
}

pub(crate) fn open_hook<D, F, Fut>(f: F) -> OpenHook<D>
where
    F: Fn(Connection<D>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), CloseReason>> + Send + 'static,
{
    Arc::new(move |c| Box::pin(f(c)))
}

pub(crate) fn close_hook<D, F, Fut>(f: F) -> CloseHook<D>
where
    F: Fn(Connection<D>, CloseReason) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |c, r| Box::pin(f(c, r)))
}
