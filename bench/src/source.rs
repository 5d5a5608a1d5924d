//! What the generator sends: signed webhook bodies, each one text message event
//! `来場登録 <CODE>` from a resident, with a unique event id, the current time and a reply
//! token. Each connection owns its own residents, so a resident's events are sent one after
//! the other and their timestamps can be kept strictly increasing: with the repeat window at
//! 0, every event is then a new visit, and the visit count must equal the 200s.

use hyper::Request;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use http_body_util::Full;
use oshirase_line_sandbox::Sandbox;

use crate::body::{Signer, TextEvent, event_id, message_id, write_text_event_body};
use crate::load::RequestSource;

/// The webhook's path on the server (and on the bare handler).
pub const WEBHOOK_PATH: &str = "/line/webhook";

/// Where reply tokens come from.
#[derive(Debug, Clone)]
pub enum Tokens {
    /// From the sandbox, `batch` at a time per resident: replies to them are accepted.
    Sandbox {
        /// The running sandbox.
        sandbox: Sandbox,
        /// Tokens fetched per resident per call.
        batch: usize,
    },
    /// Made up (32 hex digits, like real ones): for the bare handler, which never replies.
    MadeUp,
}

/// What every connection shares.
#[derive(Debug, Clone)]
pub struct Channel {
    /// The server's `host:port`, for the `host` header.
    pub host: String,
    /// The bot's user id (`destination`).
    pub destination: String,
    /// Signs bodies.
    pub signer: Signer,
    /// The check-in text, `来場登録 <CODE>`.
    pub text: String,
    /// Where reply tokens come from.
    pub tokens: Tokens,
}

/// The requests of one connection.
#[derive(Debug)]
pub struct WebhookSource {
    channel: Channel,
    host: HeaderValue,
    stream: u16,
    sequence: u64,
    residents: Vec<Resident>,
    next: usize,
    body: Vec<u8>,
}

#[derive(Debug)]
struct Resident {
    user_id: String,
    last_timestamp_ms: u64,
    tokens: Vec<String>,
}

impl WebhookSource {
    /// Connection number `stream`, speaking for `residents` (at least one).
    pub fn new(channel: Channel, stream: u16, residents: Vec<String>) -> Result<WebhookSource, String> {
        if residents.is_empty() {
            return Err(format!("connection {stream} has no residents"));
        }
        let host = HeaderValue::from_str(&channel.host).map_err(|e| e.to_string())?;
        let residents = residents.into_iter().map(|user_id| Resident { user_id, last_timestamp_ms: 0, tokens: Vec::new() }).collect();
        Ok(WebhookSource { channel, host, stream, sequence: 0, residents, next: 0, body: Vec::with_capacity(1024) })
    }

    fn reply_token(&mut self, index: usize) -> Result<String, String> {
        let sequence = self.sequence;
        let resident = &mut self.residents[index];
        match &self.channel.tokens {
            Tokens::MadeUp => Ok(format!("{:016x}{sequence:016x}", u64::from(self.stream))),
            Tokens::Sandbox { sandbox, batch } => {
                if resident.tokens.is_empty() {
                    resident.tokens = sandbox.issue_reply_tokens(&resident.user_id, *batch).map_err(|e| format!("reply tokens for {}: {e}", resident.user_id))?;
                }
                resident.tokens.pop().ok_or_else(|| "the sandbox issued no reply token".to_owned())
            }
        }
    }
}

impl RequestSource for WebhookSource {
    fn next_request(&mut self) -> Result<Request<Full<Bytes>>, String> {
        let index = self.next;
        self.next = (self.next + 1) % self.residents.len();
        self.sequence += 1;
        let reply_token = self.reply_token(index)?;
        let resident = &mut self.residents[index];
        // Strictly increasing per resident: a repeat within the same millisecond would be
        // "the same visit", and every event here must be a new one.
        let timestamp_ms = oshirase_line_sandbox::ids::now_ms().max(resident.last_timestamp_ms + 1);
        resident.last_timestamp_ms = timestamp_ms;
        let id = event_id(timestamp_ms, self.stream, self.sequence);
        let event = TextEvent {
            destination: &self.channel.destination,
            user_id: &resident.user_id,
            webhook_event_id: &id,
            timestamp_ms,
            reply_token: &reply_token,
            message_id: message_id(self.stream, self.sequence),
            text: &self.channel.text,
        };
        write_text_event_body(&event, &mut self.body);
        let signature = self.channel.signer.sign(&self.body);
        Request::post(WEBHOOK_PATH)
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .header("x-line-signature", signature)
            .header("user-agent", "LineBotWebhook/2.0")
            .body(Full::new(Bytes::copy_from_slice(&self.body)))
            .map_err(|e| e.to_string())
    }
}

/// Deals `residents` out to `connections` connections round-robin: connection `c` gets
/// residents `c`, `c + connections`, … Needs at least as many residents as connections.
pub fn deal(residents: &[String], connections: usize) -> Result<Vec<Vec<String>>, String> {
    if connections == 0 || residents.len() < connections {
        return Err(format!("{} residents cannot be dealt to {connections} connections (each needs at least one)", residents.len()));
    }
    let mut hands = vec![Vec::new(); connections];
    for (i, resident) in residents.iter().enumerate() {
        hands[i % connections].push(resident.clone());
    }
    Ok(hands)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use http_body_util::BodyExt;
    use serde_json::Value;

    use super::*;

    fn made_up_channel() -> Channel {
        Channel { host: "127.0.0.1:9".into(), destination: "Ubot".into(), signer: Signer::new("s3cret"), text: "来場登録 7K3M9QX2P4".into(), tokens: Tokens::MadeUp }
    }

    async fn json(request: Request<Full<Bytes>>) -> (String, Value) {
        let signature = request.headers()["x-line-signature"].to_str().unwrap().to_owned();
        let body = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(Signer::new("s3cret").sign(&body), signature, "the signature covers the raw body");
        (signature, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_residents_events_have_unique_ids_and_strictly_increasing_timestamps() {
        let mut source = WebhookSource::new(made_up_channel(), 7, vec!["Ua".into(), "Ub".into()]).unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut last = std::collections::HashMap::new();
        for _ in 0..50 {
            let (_, body) = json(source.next_request().unwrap()).await;
            let event = &body["events"][0];
            assert!(seen.insert(event["webhookEventId"].as_str().unwrap().to_owned()));
            let user = event["source"]["userId"].as_str().unwrap().to_owned();
            let at = event["timestamp"].as_u64().unwrap();
            assert!(last.insert(user, at).is_none_or(|before| before < at));
            assert_eq!(event["message"]["text"], "来場登録 7K3M9QX2P4");
        }
    }

    #[test]
    fn residents_are_dealt_round_robin_and_every_connection_gets_one() {
        let residents: Vec<String> = (0..5).map(|i| format!("U{i}")).collect();
        assert_eq!(deal(&residents, 2).unwrap(), vec![vec!["U0", "U2", "U4"], vec!["U1", "U3"]]);
        assert!(deal(&residents, 6).is_err());
        assert!(deal(&residents, 0).is_err());
    }
}
