//! Deletes data whose retention has ended: visits after `retention.visit_days`, and with them
//! the places, times and recipients of cases (a case keeps its counts only); waiting scans,
//! history codes and staff sessions once expired; processed webhook ids after
//! `retention.webhook_event_days`.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::config::RetentionSettings;
use crate::store::{PurgeBefore, Purged, Store, StoreError};

/// The cut-off instants for `now`.
pub fn cutoffs(settings: &RetentionSettings, now: OffsetDateTime) -> PurgeBefore {
    PurgeBefore {
        visits: now - time::Duration::days(i64::from(settings.visit_days)),
        pending_scans: now,
        webhook_events: now - time::Duration::days(i64::from(settings.webhook_event_days)),
    }
}

/// One purge.
pub async fn run_once(store: &dyn Store, settings: &RetentionSettings, now: OffsetDateTime) -> Result<Purged, StoreError> {
    let purged = store.purge(cutoffs(settings, now)).await?;
    if purged != Purged::default() {
        tracing::info!(
            visits = purged.visits,
            pending_scans = purged.pending_scans,
            webhook_events = purged.webhook_events,
            history_codes = purged.history_codes,
            case_details = purged.case_details,
            staff_sessions = purged.staff_sessions,
            passes = purged.passes,
            "purged data past its retention"
        );
    }
    Ok(purged)
}

/// Purges now and then every `purge_every_minutes`, until the task is dropped.
pub async fn run(store: Arc<dyn Store>, settings: RetentionSettings) {
    let every = Duration::from_secs(u64::from(settings.purge_every_minutes.max(1)) * 60);
    loop {
        if let Err(e) = run_once(store.as_ref(), &settings, OffsetDateTime::now_utc()).await {
            tracing::error!(error = %e, "purge failed; trying again next round");
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_follow_the_configured_days() {
        let now = OffsetDateTime::from_unix_timestamp(1_764_000_000).expect("valid");
        let c = cutoffs(&RetentionSettings { visit_days: 31, webhook_event_days: 7, purge_every_minutes: 60 }, now);
        assert_eq!(now - c.visits, time::Duration::days(31));
        assert_eq!(now - c.webhook_events, time::Duration::days(7));
        assert_eq!(c.pending_scans, now);
    }
}
