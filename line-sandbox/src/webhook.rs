//! Webhook events and their delivery, as LINE does it: events shaped per `webhook.yml`, one
//! POST per delivery with `x-line-signature` = base64(HMAC-SHA256(channel secret, raw body)),
//! user agent `LineBotWebhook/2.0`, a 2-second timeout, and — when redelivery is on — the
//! identical events resent with `deliveryContext.isRedelivery: true` after growing waits until
//! one attempt is answered 2xx. The first attempt is awaited (so a control call can report what
//! the server answered); redeliveries run in the background and appear in the webhook log.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::ids::now_ms;
use crate::sandbox::Sandbox;

/// What one resident action delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// True when the webhook receiver answered 2xx to the first attempt.
    pub delivered: bool,
    /// Its HTTP status; `null` on timeout, connection failure, or no webhook URL.
    pub status: Option<u16>,
    /// The `webhookEventId`s of the events sent.
    pub events: Vec<String>,
}

/// One POST to the webhook URL, as `GET /sandbox/webhook-log` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookAttempt {
    /// The events' ids, in body order.
    pub webhook_event_ids: Vec<String>,
    /// The receiver's HTTP status; `null` on timeout or connection failure.
    pub status: Option<u16>,
    /// Why there is no status.
    pub error: Option<String>,
    /// False for the first attempt, true for redeliveries.
    pub is_redelivery: bool,
    /// 0 for the first attempt, then 1, 2, 3 …
    pub attempt: u32,
    /// When the attempt started (Unix ms).
    pub at: u64,
    /// Where it was sent.
    pub url: String,
}

/// The events the sandbox produces (`webhook.yml`: FollowEvent, UnfollowEvent, MessageEvent
/// with TextMessageContent, PostbackEvent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Friend added (`is_unblocked: false`) or unblocked (`true`).
    Follow {
        /// `follow.isUnblocked`.
        is_unblocked: bool,
    },
    /// The resident blocked the account.
    Unfollow,
    /// A text message.
    Text {
        /// `message.id`.
        id: String,
        /// `message.quoteToken`.
        quote_token: String,
        /// `message.text`.
        text: String,
    },
    /// A postback action.
    Postback {
        /// `postback.data`.
        data: String,
    },
}

/// An event with its identity fixed, so that redeliveries resend it unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The resident.
    pub user_id: String,
    /// A ULID.
    pub webhook_event_id: String,
    /// When it happened (Unix ms); the same on redelivery.
    pub timestamp: u64,
    /// Present for follow, message and postback.
    pub reply_token: Option<String>,
}

impl Event {
    /// The event object of LINE's webhook body.
    pub fn to_json(&self, is_redelivery: bool) -> Value {
        let mut event = json!({
            "type": self.type_name(),
            "mode": "active",
            "timestamp": self.timestamp,
            "source": {"type": "user", "userId": self.user_id},
            "webhookEventId": self.webhook_event_id,
            "deliveryContext": {"isRedelivery": is_redelivery},
        });
        if let Some(token) = &self.reply_token {
            event["replyToken"] = json!(token);
        }
        match &self.kind {
            EventKind::Follow { is_unblocked } => event["follow"] = json!({"isUnblocked": is_unblocked}),
            EventKind::Unfollow => {}
            EventKind::Text { id, quote_token, text } => {
                event["message"] = json!({"id": id, "type": "text", "quoteToken": quote_token, "text": text});
            }
            EventKind::Postback { data } => event["postback"] = json!({"data": data}),
        }
        event
    }

    fn type_name(&self) -> &'static str {
        match self.kind {
            EventKind::Follow { .. } => "follow",
            EventKind::Unfollow => "unfollow",
            EventKind::Text { .. } => "message",
            EventKind::Postback { .. } => "postback",
        }
    }
}

/// base64(HMAC-SHA256(channel secret, body)): LINE's `x-line-signature`.
pub fn sign(channel_secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(channel_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The webhook body for `events` (compact JSON, as LINE sends it).
pub fn body(destination: &str, events: &[Event], is_redelivery: bool) -> Vec<u8> {
    let events: Vec<Value> = events.iter().map(|e| e.to_json(is_redelivery)).collect();
    serde_json::to_vec(&json!({"destination": destination, "events": events})).unwrap_or_else(|_| unreachable!("JSON values serialize"))
}

/// Where and how to deliver, read from the settings at the time of an attempt.
#[derive(Debug, Clone)]
pub struct Target {
    /// The webhook URL.
    pub url: String,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Whether failed deliveries are retried.
    pub redelivery: bool,
    /// First redelivery wait.
    pub backoff: Duration,
    /// Number of redeliveries.
    pub attempts: u32,
}

/// Delivers `events` once now and, if that fails and redelivery is on, again later in the
/// background. Answers what the first attempt got.
pub async fn deliver(sandbox: &Sandbox, events: Vec<Event>) -> Delivery {
    let ids: Vec<String> = events.iter().map(|e| e.webhook_event_id.clone()).collect();
    let Some(target) = sandbox.webhook_target() else {
        tracing::info!(events = ids.len(), "no webhook URL set; events not delivered");
        return Delivery { delivered: false, status: None, events: ids };
    };
    let first = attempt(sandbox, &target, &events, 0).await;
    let delivered = first.is_some_and(|s| (200..300).contains(&s));
    if !delivered && target.redelivery && target.attempts > 0 {
        let sandbox = sandbox.clone();
        tokio::spawn(async move { redeliver(sandbox, events, target).await });
    }
    Delivery { delivered, status: first, events: ids }
}

async fn redeliver(sandbox: Sandbox, events: Vec<Event>, first_target: Target) {
    let mut wait = first_target.backoff;
    for n in 1..=first_target.attempts {
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
        // Settings may have changed meanwhile (tests turn redelivery off or move the URL).
        let Some(target) = sandbox.webhook_target().filter(|t| t.redelivery) else { return };
        let status = attempt(&sandbox, &target, &events, n).await;
        if status.is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
    }
}

/// One POST; logs it and answers the status, or `None` on timeout or connection failure.
async fn attempt(sandbox: &Sandbox, target: &Target, events: &[Event], n: u32) -> Option<u16> {
    let is_redelivery = n > 0;
    let body = body(sandbox.bot_user_id(), events, is_redelivery);
    let signature = sign(sandbox.channel_secret(), &body);
    let at = now_ms();
    let result = sandbox
        .webhook_client()
        .post(&target.url)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-line-signature", signature)
        .header("user-agent", "LineBotWebhook/2.0")
        .timeout(target.timeout)
        .body(body)
        .send()
        .await;
    let (status, error) = match result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) if e.is_timeout() => (None, Some(format!("no answer within {} ms", target.timeout.as_millis()))),
        Err(e) => (None, Some(format!("could not connect: {e}"))),
    };
    tracing::info!(url = %target.url, attempt = n, ?status, error = error.as_deref(), "webhook delivery");
    sandbox.log_webhook_attempt(WebhookAttempt {
        webhook_event_ids: events.iter().map(|e| e.webhook_event_id.clone()).collect(),
        status,
        error,
        is_redelivery,
        attempt: n,
        at,
        url: target.url.clone(),
    });
    status
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
    use std::collections::BTreeSet;

    use yaml_rust2::{Yaml, YamlLoader};

    use super::*;

    #[test]
    fn signatures_match_lines_published_example() {
        let body = br#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#;
        assert_eq!(sign("8c570fa6dd201bb328f1c1eac23a96d8", body), "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=");
    }

    fn event(kind: EventKind, reply: bool) -> Event {
        Event {
            kind,
            user_id: format!("U{}", "a".repeat(32)),
            webhook_event_id: "01ARYZ6S41TSV4RRFFQ69G5FAV".into(),
            timestamp: 1_700_000_000_000,
            reply_token: reply.then(|| "b".repeat(32)),
        }
    }

    fn all_events() -> Vec<Event> {
        vec![
            event(EventKind::Follow { is_unblocked: true }, true),
            event(EventKind::Unfollow, false),
            event(EventKind::Text { id: "1".repeat(18), quote_token: "q".into(), text: "チェックイン ABC".into() }, true),
            event(EventKind::Postback { data: "consent=yes".into() }, true),
        ]
    }

    #[test]
    fn a_redelivered_event_differs_only_in_its_delivery_context() {
        for e in all_events() {
            let mut first = e.to_json(false);
            let mut again = e.to_json(true);
            assert_eq!(again["deliveryContext"]["isRedelivery"], json!(true));
            first.as_object_mut().unwrap().remove("deliveryContext");
            again.as_object_mut().unwrap().remove("deliveryContext");
            assert_eq!(first, again);
        }
    }

    /// Reads `webhook.yml` and checks every event the sandbox makes has each field the
    /// schema requires (walking `allOf` and `$ref`), the right `mode` value, and nothing
    /// the sandbox does not mean to send.
    #[test]
    fn events_have_every_field_webhook_yml_requires() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/webhook.yml")).unwrap();
        let doc = YamlLoader::load_from_str(&text).unwrap().remove(0);
        let schemas = &doc["components"]["schemas"];
        let body: Value = serde_json::from_slice(&body(&format!("U{}", "0".repeat(32)), &all_events(), false)).unwrap();
        check(schemas, &schemas["CallbackRequest"], &body, "body");
        let modes: Vec<&str> = schemas["EventMode"]["enum"].as_vec().unwrap().iter().filter_map(Yaml::as_str).collect();
        for (event, name) in body["events"].as_array().unwrap().iter().zip(["FollowEvent", "UnfollowEvent", "MessageEvent", "PostbackEvent"]) {
            check(schemas, &schemas[name], event, name);
            assert!(modes.contains(&event["mode"].as_str().unwrap()));
            let mapped = schemas["Event"]["discriminator"]["mapping"][event["type"].as_str().unwrap()].as_str().unwrap();
            assert_eq!(mapped, format!("#/components/schemas/{name}"));
        }
        let message = &body["events"][2]["message"];
        check(schemas, &schemas["TextMessageContent"], message, "TextMessageContent");
        check(schemas, &schemas["UserSource"], &body["events"][0]["source"], "UserSource");
    }

    /// Required fields (recursively through `$ref`, `allOf` and object properties) and, where
    /// the schema says, the JSON type and pattern of the destination.
    fn check(schemas: &Yaml, schema: &Yaml, value: &Value, at: &str) {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.trim_start_matches("#/components/schemas/");
            return check(schemas, &schemas[name], value, at);
        }
        for part in schema["allOf"].as_vec().into_iter().flatten() {
            check(schemas, part, value, at);
        }
        let required: BTreeSet<&str> = schema["required"].as_vec().into_iter().flatten().filter_map(Yaml::as_str).collect();
        for field in &required {
            assert!(value.get(field).is_some(), "{at} lacks required {field}");
        }
        if let Some(properties) = schema["properties"].as_hash() {
            for (name, property) in properties {
                let name = name.as_str().unwrap();
                let Some(field) = value.get(name) else { continue };
                let ok = match property["type"].as_str() {
                    Some("string") => field.is_string(),
                    Some("integer") => field.is_u64() || field.is_i64(),
                    Some("boolean") => field.is_boolean(),
                    Some("array") => field.is_array(),
                    Some("object") => field.is_object(),
                    _ => true,
                };
                assert!(ok, "{at}.{name} has the wrong JSON type: {field}");
                if let (Some(len), Some(s)) = (property["maxLength"].as_i64(), field.as_str()) {
                    assert!(i64::try_from(s.len()).unwrap() <= len, "{at}.{name} too long");
                }
                check(schemas, property, field, &format!("{at}.{name}"));
            }
        }
    }
}
