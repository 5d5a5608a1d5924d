//! The sandbox's settings: the channel it pretends to be (secret, access token, bot user id,
//! basic id) and the knobs tests turn (webhook URL, redelivery, reply-token lifetime, monthly
//! quota, rate limits, plain-HTTP media). Defaults are LINE's documented behaviour; `PUT
//! /sandbox/config` changes the knobs at run time through [`ConfigUpdate`].
//!
//! One knob is a deliberate, named deviation from LINE: [`Knobs::allow_http_media`] (off by
//! default) also accepts `http://` image URLs, because the local demo and the tests serve
//! images from a server on plain `http://127.0.0.1:PORT`. LINE itself accepts only HTTPS.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// Everything a sandbox is started with.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Signs delivered webhooks (`x-line-signature`).
    pub channel_secret: SecretString,
    /// The only token the Messaging API accepts as `Authorization: Bearer …`.
    pub channel_access_token: SecretString,
    /// The bot's own user id, sent as `destination` in webhooks.
    pub bot_user_id: String,
    /// The official account's basic id (with `@`), expected in `/R/oaMessage/{basicId}/` links.
    pub basic_id: String,
    /// Where webhooks go; none means events happen but nothing is delivered.
    pub webhook_url: Option<String>,
    /// The sandbox's own base URL as others reach it (deep links must point here). When
    /// `None`, `http://<bound address>` is used.
    pub public_base_url: Option<String>,
    /// Settings that tests change at run time.
    pub knobs: Knobs,
}

/// The settings `PUT /sandbox/config` may change, with LINE's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Knobs {
    /// Redeliver webhooks that were not answered 2xx (LINE's opt-in "webhook redelivery").
    pub redelivery: bool,
    /// Wait before the first redelivery, in ms; each further one waits twice as long.
    pub redelivery_backoff_ms: u64,
    /// How many redeliveries follow a failed delivery.
    pub redelivery_attempts: u32,
    /// How long the sandbox waits for the webhook receiver (LINE: 2 s).
    pub webhook_timeout_ms: u64,
    /// How long a reply token stays valid (LINE: about a minute).
    pub reply_token_ttl_ms: u64,
    /// Messages per month (each push/multicast recipient counts one); `None` is unlimited.
    pub monthly_quota: Option<u64>,
    /// Requests per second each sending endpoint accepts.
    pub rate_limits: RateLimits,
    /// **Deviation from LINE, for local use only.** Also accept `http://` URLs where LINE
    /// fetches an image (an image message's `originalContentUrl` and `previewImageUrl`, a
    /// buttons template's `thumbnailImageUrl`, a sender's `iconUrl`), so a server on
    /// `http://127.0.0.1:PORT` can serve them in the demo and tests. Off by default: LINE
    /// refuses anything but `https://` with a 400, and so does the sandbox.
    pub allow_http_media: bool,
}

/// Requests per second per endpoint, LINE's published defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// `POST /v2/bot/message/push` (LINE: 2,000 req/s).
    pub push: u32,
    /// `POST /v2/bot/message/multicast` (LINE: 200 req/s).
    pub multicast: u32,
    /// `POST /v2/bot/message/reply` (LINE: 2,000 req/s).
    pub reply: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { push: 2000, multicast: 200, reply: 2000 }
    }
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            redelivery: true,
            redelivery_backoff_ms: 1000,
            redelivery_attempts: 3,
            webhook_timeout_ms: 2000,
            reply_token_ttl_ms: 60_000,
            // A prefecture runs on a paid plan; 30,000 is the standard plan's monthly allowance.
            monthly_quota: Some(30_000),
            rate_limits: RateLimits::default(),
            allow_http_media: false,
        }
    }
}

impl SandboxConfig {
    /// A sandbox for the channel with this secret and access token; everything else default
    /// (bot user id [`SandboxConfig::DEFAULT_BOT_USER_ID`], basic id `@oshirase`, no webhook).
    pub fn new(channel_secret: impl Into<String>, channel_access_token: impl Into<String>) -> Self {
        Self {
            channel_secret: SecretString::from(channel_secret.into()),
            channel_access_token: SecretString::from(channel_access_token.into()),
            bot_user_id: Self::DEFAULT_BOT_USER_ID.to_owned(),
            basic_id: "@oshirase".to_owned(),
            webhook_url: None,
            public_base_url: None,
            knobs: Knobs::default(),
        }
    }

    /// The bot user id used unless one is given.
    pub const DEFAULT_BOT_USER_ID: &str = "U0a5b1e0000000000000000000000cafe";

    /// The same configuration delivering webhooks to `url`.
    pub fn with_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }
}

/// A partial change of the run-time settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigUpdate {
    /// New webhook URL; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    pub webhook_url: Option<Option<String>>,
    /// Redelivery on or off.
    pub redelivery: Option<bool>,
    /// First redelivery wait, in ms.
    pub redelivery_backoff_ms: Option<u64>,
    /// Number of redeliveries.
    pub redelivery_attempts: Option<u32>,
    /// Webhook timeout, in ms.
    pub webhook_timeout_ms: Option<u64>,
    /// Reply-token lifetime, in ms.
    pub reply_token_ttl_ms: Option<u64>,
    /// Monthly quota; `null` makes it unlimited.
    #[serde(default, deserialize_with = "present")]
    pub monthly_quota: Option<Option<u64>>,
    /// New per-endpoint rate limits (only those given change).
    pub rate_limits: Option<RateLimitsUpdate>,
    /// Accept `http://` image URLs too (a deviation from LINE; see [`Knobs::allow_http_media`]).
    pub allow_http_media: Option<bool>,
}

/// A partial change of [`RateLimits`].
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsUpdate {
    /// Push requests per second.
    pub push: Option<u32>,
    /// Multicast requests per second.
    pub multicast: Option<u32>,
    /// Reply requests per second.
    pub reply: Option<u32>,
}

/// Why a configuration change was refused (nothing was changed).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The webhook URL is not an absolute http(s) URL.
    #[error("webhook_url must be an absolute http or https URL")]
    WebhookUrl,
    /// A timeout or lifetime of zero would make every call fail.
    #[error("{0} must be greater than 0")]
    Zero(&'static str),
}

impl ConfigUpdate {
    /// Applies the change to `knobs` and `webhook_url`, or changes nothing and says why.
    pub fn apply(&self, knobs: &mut Knobs, webhook_url: &mut Option<String>) -> Result<(), ConfigError> {
        if let Some(Some(url)) = &self.webhook_url {
            check_webhook_url(url)?;
        }
        for (name, value) in [("webhook_timeout_ms", self.webhook_timeout_ms), ("reply_token_ttl_ms", self.reply_token_ttl_ms)] {
            if value == Some(0) {
                return Err(ConfigError::Zero(name));
            }
        }
        if let Some(url) = &self.webhook_url {
            webhook_url.clone_from(url);
        }
        set(&mut knobs.redelivery, self.redelivery);
        set(&mut knobs.redelivery_backoff_ms, self.redelivery_backoff_ms);
        set(&mut knobs.redelivery_attempts, self.redelivery_attempts);
        set(&mut knobs.webhook_timeout_ms, self.webhook_timeout_ms);
        set(&mut knobs.reply_token_ttl_ms, self.reply_token_ttl_ms);
        set(&mut knobs.monthly_quota, self.monthly_quota);
        set(&mut knobs.allow_http_media, self.allow_http_media);
        if let Some(limits) = self.rate_limits {
            set(&mut knobs.rate_limits.push, limits.push);
            set(&mut knobs.rate_limits.multicast, limits.multicast);
            set(&mut knobs.rate_limits.reply, limits.reply);
        }
        Ok(())
    }
}

/// Refuses webhook URLs reqwest could not post to.
pub fn check_webhook_url(url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        _ => Err(ConfigError::WebhookUrl),
    }
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
    use super::*;

    fn update(json: &str) -> ConfigUpdate {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn absent_fields_keep_their_values_and_null_clears_them() {
        let mut knobs = Knobs::default();
        let mut url = Some("http://127.0.0.1:1/webhook".to_owned());
        update(r#"{"redelivery": false}"#).apply(&mut knobs, &mut url).unwrap();
        assert!(!knobs.redelivery);
        assert_eq!(knobs.monthly_quota, Some(30_000));
        assert!(url.is_some());
        update(r#"{"monthly_quota": null, "webhook_url": null, "rate_limits": {"push": 3}}"#).apply(&mut knobs, &mut url).unwrap();
        assert_eq!(knobs.monthly_quota, None);
        assert_eq!(url, None);
        assert_eq!(knobs.rate_limits, RateLimits { push: 3, ..RateLimits::default() });
        assert!(!knobs.allow_http_media, "LINE's rule (https only) unless asked");
        update(r#"{"allow_http_media": true}"#).apply(&mut knobs, &mut url).unwrap();
        assert!(knobs.allow_http_media);
    }

    #[test]
    fn a_bad_change_changes_nothing() {
        let mut knobs = Knobs::default();
        let mut url = None;
        let bad = update(r#"{"redelivery": false, "webhook_url": "ftp://example.com/"}"#);
        assert_eq!(bad.apply(&mut knobs, &mut url), Err(ConfigError::WebhookUrl));
        assert_eq!(knobs, Knobs::default());
        let zero = update(r#"{"reply_token_ttl_ms": 0}"#);
        assert_eq!(zero.apply(&mut knobs, &mut url), Err(ConfigError::Zero("reply_token_ttl_ms")));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<ConfigUpdate>(r#"{"webhook": "x"}"#).is_err());
    }
}
