//! Sends approved alerts from the outbox, exactly once (issue 6).
//!
//! [`send_batch`] sends one due batch as one multicast with the batch's own
//! `X-Line-Retry-Key` ([`send_one`] takes the next due batch and sends it); [`run`] starts
//! batches no faster than `requests_per_second`, with at most [`IN_FLIGHT`] waiting for
//! LINE at once (so LINE's latency, not our pace, is what a round trip costs).
//!
//! - accepted, or `409` (LINE accepted this key before: a crash came between LINE's answer
//!   and our commit) → the batch is sent;
//! - `5xx` and timeouts (after the client's own retries with the same key and body), and
//!   rate-limit `429` → tried again later with the same key, backing off;
//! - the monthly quota `429` → the case is paused and staff see why; resuming re-queues it;
//! - any other `4xx` → the batch failed for good (logged, audited; retrying cannot help).
//!
//! Everything lives in the database, so a restart (or `kill -9`) resumes where it stopped:
//! a batch LINE took but we did not mark comes back as `409` and is marked then.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use oshirase_common::LineUserId;
use time::OffsetDateTime;

use crate::audit::{Actor, AuditEvent};
use crate::line::client::{LineClient, LineError};
use crate::line::messages::Message;
use crate::store::cases::DueBatch;
use crate::store::{Store, StoreError};
use tokio::task::JoinSet;

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing is due.
    Idle,
    /// A batch was accepted by LINE (now or before).
    Sent {
        /// Residents in it.
        recipients: usize,
    },
    /// A batch will be tried again.
    Retry,
    /// The case was paused (monthly quota).
    Paused,
    /// A batch was refused for good.
    Failed,
}

/// The delay before retrying a batch tried `attempts` times: 1 s, doubling, at most 256 s.
pub fn backoff(attempts: u32) -> time::Duration {
    let seconds = 2i64.saturating_pow(attempts.min(8)).min(300);
    time::Duration::seconds(seconds)
}

/// Multicasts waiting for LINE's answer at once.
pub const IN_FLIGHT: usize = 8;

/// Sends the next due batch, if any.
pub async fn send_one(store: &dyn Store, line: &LineClient, now: OffsetDateTime) -> Result<Outcome, StoreError> {
    match store.next_due_batch(now).await? {
        Some(batch) => send_batch(store, line, batch).await,
        None => Ok(Outcome::Idle),
    }
}

/// Sends one batch with the alert text fixed on its case at approval, and records the outcome.
pub async fn send_batch(store: &dyn Store, line: &LineClient, batch: DueBatch) -> Result<Outcome, StoreError> {
    let message = Message::Text(batch.text.clone());
    let recipients: &[LineUserId] = &batch.recipients;
    match line.multicast(recipients, std::slice::from_ref(&message), &batch.retry_key).await {
        Ok(_) => {
            store.batch_sent(batch.id, OffsetDateTime::now_utc()).await?;
            Ok(Outcome::Sent { recipients: recipients.len() })
        }
        Err(LineError::QuotaExhausted { message }) => {
            tracing::warn!(case = batch.case_id, %message, "LINE's monthly quota is exhausted; the case is paused");
            let audit = AuditEvent::new(Actor::System, "case.paused").about(format!("case:{}", batch.case_id)).with(serde_json::json!({ "reason": "quota", "line": message }));
            store.pause_case(batch.case_id, "LINEの月間送信数の上限に達しました（monthly quota exhausted）".to_owned(), OffsetDateTime::now_utc(), audit).await?;
            Ok(Outcome::Paused)
        }
        Err(e @ (LineError::RateLimited { .. } | LineError::Server { .. } | LineError::Unreachable { .. } | LineError::Unexpected(_))) => {
            let retry_at = OffsetDateTime::now_utc() + backoff(batch.attempts);
            tracing::warn!(case = batch.case_id, batch = batch.id, error = %e, %retry_at, "alert batch not sent yet; will retry with the same key");
            store.batch_retry(batch.id, retry_at, e.to_string()).await?;
            Ok(Outcome::Retry)
        }
        Err(e @ (LineError::Rejected { .. } | LineError::Unauthorized { .. })) => {
            tracing::error!(case = batch.case_id, batch = batch.id, error = %e, "LINE refused an alert batch");
            if matches!(e, LineError::Unauthorized { .. }) {
                // A wrong channel token is fixed by an operator, not by giving up on residents.
                store.batch_retry(batch.id, OffsetDateTime::now_utc() + backoff(batch.attempts.max(5)), e.to_string()).await?;
                return Ok(Outcome::Retry);
            }
            store.batch_failed(batch.id, OffsetDateTime::now_utc(), e.to_string()).await?;
            Ok(Outcome::Failed)
        }
    }
}

/// Sends forever: starts at most `requests_per_second` batches a second (each start is one
/// pace after the previous one's deadline, so timer lateness does not add up), with at most
/// [`IN_FLIGHT`] unanswered; when nothing is due, looks again when `wake` is notified (an
/// approval) or after half a second.
pub async fn run(store: Arc<dyn Store>, line: LineClient, requests_per_second: u32, wake: Arc<tokio::sync::Notify>) {
    let pace = Duration::from_secs_f64(1.0 / f64::from(requests_per_second.max(1)));
    let mut in_flight: JoinSet<(i64, Result<Outcome, StoreError>)> = JoinSet::new();
    let mut flying: HashSet<i64> = HashSet::new();
    let mut due: VecDeque<DueBatch> = VecDeque::new();
    let mut next_start = tokio::time::Instant::now();
    loop {
        while let Some(done) = in_flight.try_join_next() {
            finished(done, &mut flying);
        }
        if due.is_empty() && flying.len() < IN_FLIGHT {
            let skip: Vec<i64> = flying.iter().copied().collect();
            match store.due_batches(OffsetDateTime::now_utc(), u32::try_from(IN_FLIGHT * 4).unwrap_or(32), skip).await {
                Ok(batches) => due.extend(batches),
                Err(e) => {
                    tracing::error!(error = %e, "the alert sender could not reach the database; trying again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            }
        }
        match due.pop_front() {
            Some(batch) if flying.len() < IN_FLIGHT => {
                tokio::time::sleep_until(next_start).await;
                // From the deadline, not from when the timer fired; after an idle spell, from now.
                next_start = next_start.max(tokio::time::Instant::now() - pace) + pace;
                flying.insert(batch.id);
                let (store, line) = (Arc::clone(&store), line.clone());
                in_flight.spawn(async move { (batch.id, send_batch(store.as_ref(), &line, batch).await) });
            }
            Some(batch) => {
                due.push_front(batch);
                if let Some(done) = in_flight.join_next().await {
                    finished(done, &mut flying);
                }
            }
            None if flying.is_empty() => {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            None => {
                if let Some(done) = in_flight.join_next().await {
                    finished(done, &mut flying);
                }
            }
        }
    }
}

/// Forgets a finished batch; a database error is logged (the batch stays pending and is tried
/// again with the same key).
fn finished(done: Result<(i64, Result<Outcome, StoreError>), tokio::task::JoinError>, flying: &mut HashSet<i64>) {
    match done {
        Ok((id, result)) => {
            flying.remove(&id);
            if let Err(e) = result {
                tracing::error!(batch = id, error = %e, "could not record an alert batch's outcome; it will be sent again with the same key");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "an alert send task failed");
            flying.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes() {
        assert_eq!(backoff(0), time::Duration::seconds(1));
        assert_eq!(backoff(1), time::Duration::seconds(2));
        assert_eq!(backoff(3), time::Duration::seconds(8));
        assert_eq!(backoff(20), time::Duration::seconds(256));
    }
}
