//! systemd integration: `READY=1` once the server listens, and, when the unit sets
//! `WatchdogSec=`, a `WATCHDOG=1` ping every half period for as long as the database answers.
//! A server whose database hangs stops pinging and systemd restarts it. Outside systemd
//! (no `NOTIFY_SOCKET`) every call does nothing.

use std::sync::Arc;

use sd_notify::NotifyState;

use crate::store::Store;

/// Tells systemd the server is ready.
pub fn ready() {
    if let Err(e) = sd_notify::notify(&[NotifyState::Ready]) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Pings systemd's watchdog while the database answers; returns at once if no watchdog is set.
pub async fn run(store: Arc<dyn Store>) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = period / 2;
    loop {
        match store.ping().await {
            Ok(()) => {
                if let Err(e) = sd_notify::notify(&[NotifyState::Watchdog]) {
                    tracing::warn!(error = %e, "cannot ping systemd's watchdog");
                }
            }
            Err(e) => tracing::error!(error = %e, "database does not answer; not pinging the watchdog"),
        }
        tokio::time::sleep(every).await;
    }
}
