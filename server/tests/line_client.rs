//! The Messaging API client against the LINE sandbox (in-process, real HTTP): success, 4xx
//! with LINE's details, 409 on a retried key, 5xx retried with the same body, outages
//! outlasted, the two kinds of 429, timeouts, a wrong token, profiles and quota.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::time::Duration;

use oshirase_common::LineUserId;
use oshirase_line_sandbox::config::RateLimitsUpdate;
use oshirase_line_sandbox::{ConfigUpdate, FaultSettings, Sandbox, SandboxConfig, SandboxHandle};
use oshirase_server::config::PublicBaseUrl;
use oshirase_server::line::client::{Delivery, LineClient, LineError, RetryPolicy, new_retry_key};
use oshirase_server::line::messages::Message;
use secrecy::SecretString;

const TOKEN: &str = "test-access-token";

async fn sandbox() -> SandboxHandle {
    Sandbox::start(SandboxConfig::new("test-channel-secret", TOKEN)).await.unwrap()
}

fn client(line: &SandboxHandle, token: &str, timeout: Duration, retry: RetryPolicy) -> LineClient {
    LineClient::new(PublicBaseUrl::parse(&line.base_url()).unwrap(), SecretString::from(token), timeout, retry).unwrap()
}

fn quick() -> RetryPolicy {
    RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(20) }
}

async fn friend(line: &SandboxHandle, name: &str) -> LineUserId {
    let resident = line.sandbox().add_resident(name).unwrap();
    line.sandbox().follow(&resident.user_id).await.unwrap();
    LineUserId::parse(&resident.user_id).unwrap()
}

fn hello() -> Vec<Message> {
    vec![Message::Text("こんにちは".into())]
}

#[tokio::test]
async fn a_push_is_delivered_once_and_its_retried_key_is_already_accepted() {
    let line = sandbox().await;
    let user = friend(&line, "山田").await;
    let c = client(&line, TOKEN, Duration::from_secs(2), quick());
    let key = new_retry_key();
    let Delivery::Accepted { request_id } = c.push(&user, &hello(), &key).await.unwrap() else { panic!("accepted") };
    let again = c.push(&user, &hello(), &key).await.unwrap();
    assert_eq!(again, Delivery::AlreadyAccepted { accepted_request_id: request_id });
    assert_eq!(line.sandbox().inbox(user.as_str()).unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_body_is_rejected_with_lines_details_and_not_retried() {
    let line = sandbox().await;
    let user = friend(&line, "山田").await;
    let c = client(&line, TOKEN, Duration::from_secs(2), quick());
    let err = c.push(&user, &[Message::Text(String::new())], &new_retry_key()).await.unwrap_err();
    let LineError::Rejected { status, details, .. } = err else { panic!("rejected: {err:?}") };
    assert_eq!(status, 400);
    assert!(details.iter().any(|d| d.property == "messages[0].text"), "{details:?}");
    assert_eq!(line.sandbox().request_log().len(), 1, "4xx is never retried");
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_key_and_then_reported() {
    let line = sandbox().await;
    let user = friend(&line, "山田").await;
    line.sandbox().set_faults(FaultSettings { error_rate: 1.0, seed: 7, ..FaultSettings::default() }).unwrap();
    let c = client(&line, TOKEN, Duration::from_secs(2), quick());
    let key = new_retry_key();
    let err = c.push(&user, &hello(), &key).await.unwrap_err();
    assert!(matches!(err, LineError::Server { status: 500, attempts: 3, .. }), "{err:?}");
    let log = line.sandbox().request_log();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|r| r.retry_key.as_deref() == Some(key.as_str())), "every attempt carries the same key");
    assert!(line.sandbox().inbox(user.as_str()).unwrap().is_empty());
}

#[tokio::test]
async fn a_short_outage_is_outlasted_by_the_retries() {
    let line = sandbox().await;
    let user = friend(&line, "山田").await;
    line.sandbox().set_faults(FaultSettings { outage_for_ms: Some(150), ..FaultSettings::default() }).unwrap();
    let c = client(&line, TOKEN, Duration::from_secs(2), RetryPolicy { attempts: 5, first_backoff: Duration::from_millis(60) });
    assert!(matches!(c.push(&user, &hello(), &new_retry_key()).await.unwrap(), Delivery::Accepted { .. }));
    assert_eq!(line.sandbox().inbox(user.as_str()).unwrap().len(), 1);
    assert!(line.sandbox().request_log().len() >= 2, "the first attempt met the outage");
}

#[tokio::test]
async fn the_monthly_quota_and_the_rate_limit_are_told_apart() {
    let line = sandbox().await;
    let a = friend(&line, "A").await;
    let b = friend(&line, "B").await;
    let c = client(&line, TOKEN, Duration::from_secs(2), quick());
    line.sandbox().update_config(&ConfigUpdate { monthly_quota: Some(Some(1)), ..ConfigUpdate::default() }).unwrap();
    let quota = c.multicast(&[a.clone(), b.clone()], &hello(), &new_retry_key()).await.unwrap_err();
    assert!(matches!(quota, LineError::QuotaExhausted { .. }), "{quota:?}");

    line.sandbox()
        .update_config(&ConfigUpdate { monthly_quota: Some(None), rate_limits: Some(RateLimitsUpdate { push: Some(1), ..RateLimitsUpdate::default() }), ..ConfigUpdate::default() })
        .unwrap();
    c.push(&a, &hello(), &new_retry_key()).await.unwrap();
    let rate = c.push(&b, &hello(), &new_retry_key()).await.unwrap_err();
    assert!(matches!(rate, LineError::RateLimited { .. }), "{rate:?}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_reported_as_unreachable() {
    let line = sandbox().await;
    let user = friend(&line, "山田").await;
    line.sandbox().set_faults(FaultSettings { latency_ms: 400, ..FaultSettings::default() }).unwrap();
    let c = client(&line, TOKEN, Duration::from_millis(100), RetryPolicy { attempts: 2, first_backoff: Duration::from_millis(10) });
    let err = c.push(&user, &hello(), &new_retry_key()).await.unwrap_err();
    assert!(matches!(err, LineError::Unreachable { attempts: 2, .. }), "{err:?}");
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let line = sandbox().await;
    let user = friend(&line, "山田").await;
    let c = client(&line, "not-the-token", Duration::from_secs(2), quick());
    assert!(matches!(c.push(&user, &hello(), &new_retry_key()).await.unwrap_err(), LineError::Unauthorized { status: 401, .. }));
}

#[tokio::test]
async fn profiles_exist_for_friends_only_and_quota_is_read() {
    let line = sandbox().await;
    let user = friend(&line, "山田 花子").await;
    let c = client(&line, TOKEN, Duration::from_secs(2), quick());
    assert_eq!(c.profile(&user).await.unwrap().map(|p| p.display_name), Some("山田 花子".into()));
    line.sandbox().block(user.as_str()).await.unwrap();
    assert_eq!(c.profile(&user).await.unwrap(), None);
    let quota = c.quota().await.unwrap();
    assert_eq!(quota.limit, Some(30_000));
}

#[tokio::test]
async fn an_unknown_reply_token_is_rejected() {
    let line = sandbox().await;
    let c = client(&line, TOKEN, Duration::from_secs(2), quick());
    let err = c.reply("no-such-token", &hello()).await.unwrap_err();
    assert!(matches!(err, LineError::Rejected { status: 400, .. }), "{err:?}");
}
