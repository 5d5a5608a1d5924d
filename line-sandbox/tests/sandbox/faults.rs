//! Fault injection: a seeded 5xx rate that refuses before anything is accepted, an outage
//! window, and added latency — on the Messaging API only.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestSandbox, answer};

async fn statuses_with_seed(seed: u64) -> (Vec<u16>, usize) {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    t.control(Method::PUT, "/sandbox/faults", Some(json!({"error_rate": 0.5, "seed": seed})), 200).await;
    let mut statuses = Vec::new();
    for i in 0..20 {
        let (status, body) = answer(t.push_text(&id, &i.to_string()).await).await;
        if status == 500 {
            assert_eq!(body, json!({"message": "An error occurred in the server"}));
        }
        statuses.push(status);
    }
    (statuses, t.inbox(&id).await.len())
}

#[tokio::test]
async fn a_seeded_error_rate_fails_the_same_calls_every_run_and_failed_calls_deliver_nothing() {
    let (first, delivered) = statuses_with_seed(7).await;
    let (second, _) = statuses_with_seed(7).await;
    assert_eq!(first, second);
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!((3..=17).contains(&failures), "about half fail: {first:?}");
    assert_eq!(delivered, first.iter().filter(|s| **s == 200).count());
}

#[tokio::test]
async fn during_an_outage_every_call_answers_503_until_it_ends_or_is_cleared() {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    t.control(Method::PUT, "/sandbox/faults", Some(json!({"outage_for_ms": 1000})), 200).await;
    assert_eq!(answer(t.push_text(&id, "a").await).await.0, 503);
    assert_eq!(answer(t.api_get("/v2/bot/message/quota").await).await.0, 503);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(answer(t.push_text(&id, "b").await).await.0, 200);

    let view = t.control(Method::PUT, "/sandbox/faults", Some(json!({"outage_until_cleared": true})), 200).await;
    assert_eq!(view["outage"], true);
    assert_eq!(answer(t.push_text(&id, "c").await).await.0, 503);
    // Faults never touch the control API.
    assert_eq!(t.inbox(&id).await.len(), 1);
    t.control(Method::DELETE, "/sandbox/faults", None, 200).await;
    assert_eq!(answer(t.push_text(&id, "d").await).await.0, 200);
    assert_eq!(t.inbox(&id).await.len(), 2);
}

#[tokio::test]
async fn added_latency_delays_api_answers_but_not_the_control_api() {
    let t = TestSandbox::start().await;
    t.control(Method::PUT, "/sandbox/faults", Some(json!({"latency_ms": 800})), 200).await;
    let start = Instant::now();
    assert_eq!(answer(t.api_get("/v2/bot/message/quota").await).await.0, 200);
    assert!(start.elapsed() >= Duration::from_millis(800), "{:?}", start.elapsed());
    let start = Instant::now();
    t.control(Method::GET, "/sandbox/stats", None, 200).await;
    assert!(start.elapsed() < Duration::from_millis(800), "{:?}", start.elapsed());
}

#[tokio::test]
async fn an_error_rate_outside_zero_to_one_is_refused() {
    let t = TestSandbox::start().await;
    t.control(Method::PUT, "/sandbox/faults", Some(json!({"error_rate": 1.5})), 400).await;
    let view = t.control(Method::GET, "/sandbox/faults", None, 200).await;
    assert_eq!(view["error_rate"], 0.0);
}
