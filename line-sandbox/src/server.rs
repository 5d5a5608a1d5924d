//! Running the sandbox: [`app`] assembles the routes (testable without a socket), and
//! [`Sandbox::start`] binds a socket and serves in the background, for other crates' tests and
//! for the binary.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SandboxConfig;
use crate::line_error::LineError;
use crate::sandbox::Sandbox;
use crate::{control, messaging, page};

/// Every route: the Messaging API (`/v2/…`), the control API (`/sandbox/…`), the page (`/`,
/// `/ui/…`) and LINE's deep-link landing page (`/R/oaMessage/…`).
pub fn app(sandbox: Sandbox) -> Router {
    Router::new()
        .merge(messaging::router(sandbox.clone()))
        .merge(control::router(sandbox.clone()))
        .merge(page::router(sandbox))
        .fallback(not_found)
}

/// LINE's 404 body under `/v2`, a short bilingual text elsewhere.
async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/v2/") {
        return LineError::NotFound.into_response();
    }
    (StatusCode::NOT_FOUND, "ページが見つかりません / Not found").into_response()
}

/// A sandbox serving in the background; stops when dropped or on [`SandboxHandle::stop`].
#[derive(Debug)]
pub struct SandboxHandle {
    sandbox: Sandbox,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Sandbox {
    /// Starts a sandbox on `127.0.0.1:0` (a free port): the way tests use it.
    pub async fn start(config: SandboxConfig) -> std::io::Result<SandboxHandle> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a sandbox on `addr` (port 0 picks a free one). Unless the configuration names
    /// a public base URL, the base URL becomes `http://<bound address>`.
    pub async fn start_on(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<SandboxHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let has_public_url = config.public_base_url.is_some();
        let sandbox = Sandbox::new(config);
        if !has_public_url && let Ok(url) = Url::parse(&format!("http://{addr}")) {
            sandbox.set_base_url(url);
        }
        let (shutdown, stopped) = oneshot::channel::<()>();
        let router = app(sandbox.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(SandboxHandle { sandbox, addr, shutdown: Some(shutdown), task })
    }
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT` (or the configured public base URL), without a trailing slash.
    pub fn base_url(&self) -> String {
        self.sandbox.base_url()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The running sandbox, to act on or inspect directly.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stops serving and waits until open connections are done.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// Serves until the process gets Ctrl-C (or SIGTERM), then stops.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        self.stop().await
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
