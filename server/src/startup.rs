//! Turning settings into a running server: open the store, load the poster font, bind the
//! socket, serve until told to stop. Kept out of `main.rs` so tests can start the same thing.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::{LineSettings, PublicBaseUrl, Settings};
use crate::line::client::{LineClient, RetryPolicy};
use crate::metrics::Metrics;
use crate::passes::{PassKey, Passes};
use crate::poster::PosterRenderer;
use crate::routes::{AppState, LineChannel, LineLinks, app};
use crate::store::SqliteStore;

/// A server bound to its socket, ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Opens everything the settings name. Fails with a message saying which part failed.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let store = SqliteStore::open(&settings.database.path).with_context(|| format!("opening database {}", settings.database.path.display()))?;
        let posters = PosterRenderer::load(&settings.poster.font_path).context("loading the poster font")?;
        let listener = TcpListener::bind(settings.server.listen).await.with_context(|| format!("binding {}", settings.server.listen))?;
        let local = listener.local_addr()?;
        let base_url = match settings.server.public_base_url {
            Some(url) => url,
            None => PublicBaseUrl::parse(&format!("http://{local}")).map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        let key_path = settings.passes.key_path(&settings.database.path);
        let pass_key = PassKey::load_or_create(&key_path).context("loading the pass signing key")?;
        let passes = Arc::new(Passes { key: pass_key, settings: settings.passes, base_url: base_url.clone() });
        let state = AppState {
            store: Arc::new(store),
            pass_cards: posters.pass_cards().context("loading the pass card font")?,
            posters,
            metrics: Arc::new(Metrics::default()),
            base_url,
            limits: settings.limits,
            metrics_token: settings.metrics.token,
            line_links: LineLinks { deep_link_base: settings.line.deep_link_base_url.clone(), basic_id: settings.line.basic_id.clone() },
            line_channel: line_channel(&settings.line)?,
            checkin: settings.checkin,
            retention: settings.retention,
            kiosk: settings.kiosk,
            staff: settings.staff,
            login_limiter: Arc::default(),
            matching: settings.matching,
            alerts: settings.alerts,
            alert_wakeup: Arc::default(),
            passes,
        };
        Ok(Application { listener, state })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The public URL of the server.
    pub fn base_url(&self) -> &PublicBaseUrl {
        &self.state.base_url
    }

    /// Serves (and runs the background workers) until `shutdown` completes, then finishes
    /// the requests in flight.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let purge = tokio::spawn(crate::workers::purge::run(Arc::clone(&self.state.store), self.state.retention.clone()));
        let watchdog = tokio::spawn(crate::workers::watchdog::run(Arc::clone(&self.state.store)));
        let sender = self
            .state
            .line_channel
            .as_ref()
            .map(|channel| {
                let wake = Arc::clone(&self.state.alert_wakeup);
                tokio::spawn(crate::workers::alerts::run(Arc::clone(&self.state.store), channel.client.clone(), self.state.alerts.requests_per_second, wake))
            });
        crate::workers::watchdog::ready();
        let served = axum::serve(self.listener, app(self.state).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await.context("serving HTTP");
        purge.abort();
        watchdog.abort();
        if let Some(sender) = sender {
            sender.abort();
        }
        served
    }
}

/// The LINE channel, if both its secret and its access token are configured.
fn line_channel(line: &LineSettings) -> anyhow::Result<Option<LineChannel>> {
    let (Some(secret), Some(token)) = (&line.channel_secret, &line.channel_access_token) else {
        tracing::warn!("no LINE channel configured (line.channel_secret, line.channel_access_token): the webhook answers 503");
        return Ok(None);
    };
    let timeout = std::time::Duration::from_millis(line.request_timeout_ms);
    let client = LineClient::new(line.api_base_url.clone(), token.clone(), timeout, RetryPolicy::default()).context("building the LINE client")?;
    Ok(Some(LineChannel { channel_secret: secret.clone(), client }))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}
