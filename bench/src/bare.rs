//! The yardstick: a bare axum handler on the webhook's path that reads the body and answers
//! 200 with a tiny body, doing none of the work. Driven by the same generator with the same
//! signed bodies, it shows what HTTP alone costs on this machine, so the server's rate can be
//! read as a fraction of it.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::source::WEBHOOK_PATH;

/// A bare handler serving in the background until dropped.
#[derive(Debug)]
pub struct BareServer {
    addr: SocketAddr,
    _shutdown: oneshot::Sender<()>,
}

impl BareServer {
    /// Serves on `127.0.0.1:0` from the current runtime.
    pub async fn start() -> std::io::Result<BareServer> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router())
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(BareServer { addr, _shutdown: shutdown })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// `POST /line/webhook` → 200 `ok`.
pub fn router() -> Router {
    Router::new().route(WEBHOOK_PATH, post(|_body: Bytes| async { "ok" }))
}
