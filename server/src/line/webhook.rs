//! LINE webhook bodies as our own types. Parsing is lenient where LINE is known to change
//! (unknown event and message types are kept as [`EventKind::Other`] and ignored; IDs are not
//! checked against `U[0-9a-f]{32}`, since LINE's own SDK fixtures use `U123`) and strict where
//! we depend on a field (an event without `webhookEventId` cannot be deduplicated and is
//! reported as malformed).

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// A whole webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookBody {
    /// The bot's user id the events are for.
    pub destination: String,
    /// Events that parsed, in delivery order.
    pub events: Vec<Event>,
    /// Events that did not parse; the rest are still processed.
    pub malformed: Vec<MalformedEvent>,
}

/// An event that could not be read, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedEvent {
    /// Its position in `events`.
    pub index: usize,
    /// What was wrong.
    pub reason: String,
}

/// Why a body could not be read at all.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("malformed webhook body: {0}")]
pub struct BodyError(String);

/// One webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// `active`, or `standby` (another channel answers; never reply).
    pub mode: Mode,
    /// When it happened (Unix ms), the same on redelivery.
    pub timestamp_ms: i64,
    /// The user who caused it, if the source is a user.
    pub user_id: Option<String>,
    /// Unique per event; the key for processing each event once.
    pub webhook_event_id: String,
    /// True when LINE resends an event we did not acknowledge.
    pub is_redelivery: bool,
    /// Token to reply with (single use, about a minute), if the event has one.
    pub reply_token: Option<String>,
}

/// Channel state of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Our channel answers.
    Active,
    /// Another channel answers; must not be replied to.
    Standby,
}

/// The events oshirase acts on; everything else is [`EventKind::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Friend added, or unblocked.
    Follow {
        /// True when the user unblocked the account.
        is_unblocked: bool,
    },
    /// The user blocked the account.
    Unfollow,
    /// A text message.
    Text {
        /// What the user sent.
        text: String,
    },
    /// A postback action (e.g. the consent button).
    Postback {
        /// The action's data (≤ 300 characters).
        data: String,
    },
    /// Any other event or message type; accepted and ignored.
    Other {
        /// LINE's `type` (and message type, as `message/image`).
        name: String,
    },
}

/// Parses a webhook body (after its signature was verified).
pub fn parse(body: &[u8]) -> Result<WebhookBody, BodyError> {
    #[derive(Deserialize)]
    struct Raw {
        destination: String,
        events: Vec<Value>,
    }
    let raw: Raw = serde_json::from_slice(body).map_err(|e| BodyError(e.to_string()))?;
    let mut events = Vec::with_capacity(raw.events.len());
    let mut malformed = Vec::new();
    for (index, value) in raw.events.into_iter().enumerate() {
        match parse_event(value) {
            Ok(event) => events.push(event),
            Err(reason) => malformed.push(MalformedEvent { index, reason }),
        }
    }
    Ok(WebhookBody { destination: raw.destination, events, malformed })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    mode: String,
    timestamp: i64,
    webhook_event_id: String,
    delivery_context: RawDeliveryContext,
    source: Option<RawSource>,
    reply_token: Option<String>,
    follow: Option<RawFollow>,
    message: Option<RawMessage>,
    postback: Option<RawPostback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDeliveryContext {
    is_redelivery: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSource {
    user_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFollow {
    is_unblocked: bool,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Deserialize)]
struct RawPostback {
    data: String,
}

fn parse_event(value: Value) -> Result<Event, String> {
    let raw: RawEvent = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let mode = match raw.mode.as_str() {
        "active" => Mode::Active,
        "standby" => Mode::Standby,
        other => return Err(format!("unknown mode {other:?}")),
    };
    let kind = match (raw.kind.as_str(), raw.follow, raw.message, raw.postback) {
        ("follow", follow, _, _) => EventKind::Follow { is_unblocked: follow.is_some_and(|f| f.is_unblocked) },
        ("unfollow", _, _, _) => EventKind::Unfollow,
        ("message", _, Some(RawMessage { kind, text: Some(text) }), _) if kind == "text" => EventKind::Text { text },
        ("message", _, Some(message), _) => EventKind::Other { name: format!("message/{}", message.kind) },
        ("postback", _, _, Some(postback)) => EventKind::Postback { data: postback.data },
        (name, _, _, _) => EventKind::Other { name: name.to_owned() },
    };
    Ok(Event {
        kind,
        mode,
        timestamp_ms: raw.timestamp,
        user_id: raw.source.and_then(|s| s.user_id),
        webhook_event_id: raw.webhook_event_id,
        is_redelivery: raw.delivery_context.is_redelivery,
        reply_token: raw.reply_token,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: &str, extra: Value) -> Value {
        let mut base = json!({
            "type": kind,
            "mode": "active",
            "timestamp": 1_764_000_000_000_i64,
            "source": { "type": "user", "userId": "U4af4980629a1b2c3d4e5f60718293a4b" },
            "webhookEventId": "01HZX8Q3W5N2P7R4T6V8Y0A2C4",
            "deliveryContext": { "isRedelivery": false }
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        base
    }

    fn body(events: Vec<Value>) -> Vec<u8> {
        json!({ "destination": "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "events": events }).to_string().into_bytes()
    }

    fn only(events: Vec<Value>) -> Event {
        let parsed = parse(&body(events)).expect("body");
        assert!(parsed.malformed.is_empty(), "{:?}", parsed.malformed);
        parsed.events.into_iter().next().expect("one event")
    }

    #[test]
    fn an_empty_event_list_is_a_connectivity_check() {
        let parsed = parse(br#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#).expect("valid");
        assert!(parsed.events.is_empty() && parsed.malformed.is_empty());
    }

    #[test]
    fn follow_unfollow_text_and_postback_events_are_read() {
        let follow = only(vec![event("follow", json!({ "replyToken": "r1", "follow": { "isUnblocked": true } }))]);
        assert_eq!(follow.kind, EventKind::Follow { is_unblocked: true });
        assert_eq!(follow.reply_token.as_deref(), Some("r1"));
        assert_eq!(follow.user_id.as_deref(), Some("U4af4980629a1b2c3d4e5f60718293a4b"));

        assert_eq!(only(vec![event("unfollow", json!({}))]).kind, EventKind::Unfollow);

        let text = only(vec![event("message", json!({ "replyToken": "r2", "message": { "id": "1", "type": "text", "text": "来場 7K3M9QX2P4", "quoteToken": "q" } }))]);
        assert_eq!(text.kind, EventKind::Text { text: "来場 7K3M9QX2P4".into() });

        let postback = only(vec![event("postback", json!({ "replyToken": "r3", "postback": { "data": "consent=v1" } }))]);
        assert_eq!(postback.kind, EventKind::Postback { data: "consent=v1".into() });
    }

    #[test]
    fn unknown_event_and_message_types_are_kept_as_other() {
        assert_eq!(only(vec![event("beacon", json!({ "beacon": { "hwid": "d41d8cd98f", "type": "enter" } }))]).kind, EventKind::Other { name: "beacon".into() });
        assert_eq!(
            only(vec![event("message", json!({ "message": { "id": "2", "type": "sticker", "packageId": "1", "stickerId": "1" } }))]).kind,
            EventKind::Other { name: "message/sticker".into() }
        );
        assert_eq!(only(vec![event("somethingNew", json!({ "future": [1, 2] }))]).kind, EventKind::Other { name: "somethingNew".into() });
    }

    #[test]
    fn standby_and_redelivered_events_are_marked() {
        let mut standby = event("message", json!({ "message": { "id": "3", "type": "text", "text": "x" } }));
        standby["mode"] = json!("standby");
        standby["deliveryContext"]["isRedelivery"] = json!(true);
        let e = only(vec![standby]);
        assert_eq!(e.mode, Mode::Standby);
        assert!(e.is_redelivery);
        assert!(e.reply_token.is_none());
    }

    #[test]
    fn placeholder_ids_from_lines_sdk_fixtures_are_accepted() {
        let mut e = event("follow", json!({ "replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", "follow": { "isUnblocked": false } }));
        e["source"]["userId"] = json!("U123");
        e["webhookEventId"] = json!("testwebhookeventid");
        assert_eq!(only(vec![e]).user_id.as_deref(), Some("U123"));
    }

    #[test]
    fn a_malformed_event_is_reported_without_losing_the_others() {
        let mut missing_id = event("unfollow", json!({}));
        if let Some(o) = missing_id.as_object_mut() {
            o.remove("webhookEventId");
        }
        let parsed = parse(&body(vec![missing_id, event("unfollow", json!({}))])).expect("body");
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.malformed.len(), 1);
        assert_eq!(parsed.malformed[0].index, 0);
        assert!(parsed.malformed[0].reason.contains("webhookEventId"));
    }

    #[test]
    fn a_body_that_is_not_a_webhook_is_refused() {
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"events": []}"#).is_err());
        assert!(parse(br#"{"destination": "U1", "events": {}}"#).is_err());
    }
}
