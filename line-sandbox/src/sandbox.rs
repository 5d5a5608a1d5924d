//! The sandbox's one shared state and every operation on it: what the bot does through the
//! Messaging API (reply, push, multicast, profile, quota) and what residents do (add the
//! account, block it, write, press buttons, scan codes). HTTP handlers in
//! [`crate::messaging`], [`crate::control`] and [`crate::page`] only translate to and from
//! these methods, and tests in other crates can call them directly.
//!
//! All state sits behind one mutex that is never held across an `.await`: the server under
//! test calls the reply endpoint *while* the sandbox waits for its webhook answer.
//!
//! Image messages are fetched after the API has answered, by a task per message (see
//! [`crate::media`]); what it finds is kept per message id, beside the inboxes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::config::{ConfigError, ConfigUpdate, Knobs, SandboxConfig};
use crate::faults::{FaultError, FaultSettings, Faults, FaultsView, Verdict};
use crate::ids::{UlidGenerator, new_message_id, new_quote_token, new_reply_token, new_user_id, now_ms};
use crate::line_error::LineError;
use crate::media::{self, Fetch, ImageContent, Media};
use crate::rate_limit::RateLimiter;
use crate::residents::{ChatLine, Friendship, InboxEntry, Resident, ResidentView, Via};
use crate::scan::{self, ScanReport, Visit, deep_link_text, percent_encode};
use crate::validate::{MediaSchemes, MulticastRequest, PushRequest, ReplyRequest};
use crate::webhook::{self, Delivery, Event, EventKind, Target, WebhookAttempt};

/// The sandbox: cheap to clone, all clones share one state.
#[derive(Debug, Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

/// Why a resident's action was refused (nothing happened).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ActionError {
    /// No resident has this id (404).
    #[error("no resident has the id {0}")]
    UnknownResident(String),
    /// Following an account one already follows (409).
    #[error("the resident is already a friend of the account")]
    AlreadyFriend,
    /// Blocking twice (409).
    #[error("the resident has already blocked the account")]
    AlreadyBlocked,
    /// Writing to, pressing buttons of, or blocking an account never added (409).
    #[error("the resident has not added the account as a friend")]
    NotFriend,
    /// Writing to or pressing buttons of a blocked account (409).
    #[error("the resident has blocked the account")]
    Blocked,
    /// The input is unusable (400).
    #[error("{0}")]
    Invalid(String),
}

impl ActionError {
    /// The same, in Japanese, for the page.
    pub fn japanese(&self) -> String {
        match self {
            Self::UnknownResident(_) => "この住民は見つかりません。".to_owned(),
            Self::AlreadyFriend => "すでに友だちです。".to_owned(),
            Self::AlreadyBlocked => "すでにブロックしています。".to_owned(),
            Self::NotFriend => "まだ友だち追加していません。先に友だち追加してください。".to_owned(),
            Self::Blocked => "ブロック中です。先にブロックを解除してください。".to_owned(),
            Self::Invalid(why) => format!("入力が正しくありません（{why}）。"),
        }
    }
}

/// One Messaging API call, as `GET /sandbox/requests` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// When it arrived (Unix ms).
    pub at: u64,
    /// `GET` or `POST`.
    pub method: String,
    /// The path called.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// `X-Line-Retry-Key`, if sent.
    pub retry_key: Option<String>,
    /// The `x-line-request-id` answered.
    pub request_id: String,
}

/// Counts, as `GET /sandbox/stats` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Messaging API calls, whatever their answer.
    pub api_requests: u64,
    /// Calls answered 2xx.
    pub api_success: u64,
    /// Calls answered 4xx or 5xx.
    pub api_errors: u64,
    /// Replies accepted.
    pub replies: u64,
    /// Pushes accepted.
    pub pushes: u64,
    /// Multicasts accepted.
    pub multicasts: u64,
    /// Message objects that reached an inbox.
    pub messages_delivered: u64,
    /// Recipients of accepted requests who got nothing (blocked, not a friend, unknown).
    pub recipients_not_reached: u64,
    /// Webhook POSTs (first attempts and redeliveries).
    pub webhook_attempts: u64,
    /// Webhook POSTs not answered 2xx.
    pub webhook_failures: u64,
    /// This month's quota usage.
    pub total_usage: u64,
    /// Residents.
    pub residents: usize,
    /// Residents who are friends.
    pub friends: usize,
    /// Residents who blocked the account.
    pub blocked: usize,
}

/// The settings as `GET`/`PUT /sandbox/config` report them (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigView {
    /// The bot's user id (`destination` of webhooks).
    pub bot_user_id: String,
    /// The official account's basic id.
    pub basic_id: String,
    /// This sandbox's base URL; deep links must start with it.
    pub base_url: String,
    /// Where webhooks go.
    pub webhook_url: Option<String>,
    /// The run-time settings.
    #[serde(flatten)]
    pub knobs: Knobs,
}

/// How long an accepted retry key is remembered.
const RETRY_KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Most entries kept in each log (the oldest are dropped).
const LOG_LIMIT: usize = 10_000;
/// Most reply tokens [`Sandbox::issue_reply_tokens`] hands out in one call.
pub const MAX_TOKENS_PER_CALL: usize = 10_000;

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    channel_secret: SecretString,
    access_token: SecretString,
    bot_user_id: String,
    basic_id: String,
    base_url: Mutex<Url>,
    webhook_client: reqwest::Client,
    phone_client: reqwest::Client,
    media_client: reqwest::Client,
}

#[derive(Debug)]
struct State {
    knobs: Knobs,
    webhook_url: Option<String>,
    residents: Vec<Resident>,
    /// Each resident's position in `residents`, by user id (residents are never removed).
    by_user_id: HashMap<String, usize>,
    reply_tokens: HashMap<String, IssuedToken>,
    retry_keys: HashMap<String, AcceptedKey>,
    total_usage: u64,
    limiters: HashMap<Endpoint, RateLimiter>,
    faults: Faults,
    requests: VecDeque<RequestRecord>,
    webhooks: VecDeque<WebhookAttempt>,
    stats: Stats,
    ulids: UlidGenerator,
    /// What fetching each delivered image message found, by message id.
    media: HashMap<String, MediaRecord>,
    /// Ids of messages whose original bytes are kept, oldest first.
    kept: VecDeque<String>,
    /// Their total size.
    kept_bytes: usize,
}

#[derive(Debug)]
struct MediaRecord {
    media: Media,
    content: Option<ImageContent>,
}

/// An image message to fetch once the API has answered.
#[derive(Debug)]
struct MediaJob {
    message_id: String,
    original_url: String,
    preview_url: String,
}

#[derive(Debug)]
struct IssuedToken {
    user_id: String,
    expires: Instant,
}

#[derive(Debug)]
struct AcceptedKey {
    request_id: String,
    sent_messages: Option<Value>,
    accepted: Instant,
}

/// The rate-limited sending endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/v2/bot/message/reply`.
    Reply,
    /// `/v2/bot/message/push`.
    Push,
    /// `/v2/bot/message/multicast`.
    Multicast,
}

impl Sandbox {
    /// A sandbox with no residents. Its base URL is the configured public one, or
    /// `http://127.0.0.1:8090` until [`Sandbox::start`] binds a socket.
    pub fn new(config: SandboxConfig) -> Sandbox {
        let base_url = config.public_base_url.as_deref().and_then(|u| Url::parse(u).ok());
        let base_url = base_url.unwrap_or_else(|| Url::parse("http://127.0.0.1:8090").unwrap_or_else(|_| unreachable!("a valid literal")));
        let state = State {
            knobs: config.knobs,
            webhook_url: config.webhook_url,
            residents: Vec::new(),
            by_user_id: HashMap::new(),
            reply_tokens: HashMap::new(),
            retry_keys: HashMap::new(),
            total_usage: 0,
            limiters: HashMap::new(),
            faults: Faults::default(),
            requests: VecDeque::new(),
            webhooks: VecDeque::new(),
            stats: Stats::default(),
            ulids: UlidGenerator::default(),
            media: HashMap::new(),
            kept: VecDeque::new(),
            kept_bytes: 0,
        };
        let webhook_client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("the HTTP client could not be built: {e}"));
        Sandbox {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                channel_secret: config.channel_secret,
                access_token: config.channel_access_token,
                bot_user_id: config.bot_user_id,
                basic_id: config.basic_id,
                base_url: Mutex::new(base_url),
                webhook_client,
                phone_client: scan::phone_client(),
                media_client: media::media_client(),
            }),
        }
    }

    /// This sandbox's base URL, without a trailing slash (`http://127.0.0.1:PORT`). The
    /// Messaging API, the control API, the page and deep links all live under it.
    pub fn base_url(&self) -> String {
        self.base_url_parsed().as_str().trim_end_matches('/').to_owned()
    }

    /// The official account's basic id, e.g. `@oshirase`.
    pub fn basic_id(&self) -> &str {
        &self.shared.basic_id
    }

    /// The bot's user id (`destination` of webhooks).
    pub fn bot_user_id(&self) -> &str {
        &self.shared.bot_user_id
    }

    /// The deep link LINE would open for `text`: `<base>/R/oaMessage/%40oshirase/?<text>`.
    pub fn deep_link(&self, text: &str) -> String {
        format!("{}/R/oaMessage/{}/?{}", self.base_url(), percent_encode(self.basic_id()), percent_encode(text))
    }

    /// The current settings.
    pub fn config(&self) -> ConfigView {
        let state = self.lock();
        ConfigView {
            bot_user_id: self.shared.bot_user_id.clone(),
            basic_id: self.shared.basic_id.clone(),
            base_url: self.base_url(),
            webhook_url: state.webhook_url.clone(),
            knobs: state.knobs.clone(),
        }
    }

    /// Changes run-time settings; all or nothing.
    pub fn update_config(&self, update: &ConfigUpdate) -> Result<ConfigView, ConfigError> {
        {
            let mut state = self.lock();
            let State { knobs, webhook_url, .. } = &mut *state;
            update.apply(knobs, webhook_url)?;
        }
        Ok(self.config())
    }

    /// Sets the webhook URL (a shortcut for tests).
    pub fn set_webhook_url(&self, url: &str) -> Result<(), ConfigError> {
        self.update_config(&ConfigUpdate { webhook_url: Some(Some(url.to_owned())), ..ConfigUpdate::default() }).map(drop)
    }

    /// A new resident who has not yet added the account.
    pub fn add_resident(&self, display_name: &str) -> Result<ResidentView, ActionError> {
        let name = display_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ActionError::Invalid("display_name must be 1 to 100 characters".to_owned()));
        }
        let resident = Resident::new(new_user_id(), name.to_owned());
        let view = resident.view();
        let mut state = self.lock();
        let position = state.residents.len();
        state.by_user_id.insert(resident.user_id.clone(), position);
        state.residents.push(resident);
        Ok(view)
    }

    /// Every resident, oldest first.
    pub fn residents(&self) -> Vec<ResidentView> {
        self.lock().residents.iter().map(Resident::view).collect()
    }

    /// One resident.
    pub fn resident(&self, user_id: &str) -> Result<ResidentView, ActionError> {
        self.with_resident(user_id, |r| r.view())
    }

    /// Every message that reached a resident, in order; image messages with what fetching
    /// their URLs found so far.
    pub fn inbox(&self, user_id: &str) -> Result<Vec<InboxEntry>, ActionError> {
        let mut state = self.lock();
        let inbox = state.resident_mut(user_id)?.inbox.clone();
        Ok(inbox.into_iter().map(|entry| state.with_media(entry)).collect())
    }

    /// The original image of message `message_id` in the resident's inbox, as fetched:
    /// `None` when the inbox has no such message, it is not an image, its fetch is pending or
    /// failed (either URL), or its bytes are no longer kept.
    pub fn image(&self, user_id: &str, message_id: &str) -> Result<Option<ImageContent>, ActionError> {
        let mut state = self.lock();
        let received = state.resident_mut(user_id)?.inbox.iter().any(|e| e.message_id == message_id);
        Ok(state.media.get(message_id).filter(|_| received).and_then(|record| record.content.clone()))
    }

    /// The resident adds the account as a friend, or unblocks it: a follow event.
    pub async fn follow(&self, user_id: &str) -> Result<Delivery, ActionError> {
        let event = {
            let mut state = self.lock();
            let resident = state.resident_mut(user_id)?;
            if resident.friendship == Friendship::Friend {
                return Err(ActionError::AlreadyFriend);
            }
            self.befriend(&mut state, user_id)?
        };
        Ok(webhook::deliver(self, vec![event]).await)
    }

    /// The resident blocks the account: an unfollow event; pushes stop reaching them.
    pub async fn block(&self, user_id: &str) -> Result<Delivery, ActionError> {
        let event = {
            let mut state = self.lock();
            let resident = state.resident_mut(user_id)?;
            match resident.friendship {
                Friendship::Friend => {}
                Friendship::Blocked => return Err(ActionError::AlreadyBlocked),
                Friendship::NotFriend => return Err(ActionError::NotFriend),
            }
            resident.friendship = Friendship::Blocked;
            resident.chat.push(ChatLine::Note { at: now_ms(), text: "ブロックしました".to_owned() });
            state.new_event(EventKind::Unfollow, user_id, false)
        };
        Ok(webhook::deliver(self, vec![event]).await)
    }

    /// The resident sends a text message: a message event with a reply token.
    pub async fn send_text(&self, user_id: &str, text: &str) -> Result<Delivery, ActionError> {
        check_text(text)?;
        let event = {
            let mut state = self.lock();
            state.require_friend(user_id)?;
            state.text_event(user_id, text)?
        };
        Ok(webhook::deliver(self, vec![event]).await)
    }

    /// The resident presses a postback button: a postback event with a reply token.
    /// `display_text` (the action's `displayText`) appears in their chat as LINE shows it.
    pub async fn postback(&self, user_id: &str, data: &str, display_text: Option<&str>) -> Result<Delivery, ActionError> {
        if data.encode_utf16().count() > crate::validate::limits::POSTBACK_DATA {
            return Err(ActionError::Invalid("postback data is limited to 300 characters".to_owned()));
        }
        let event = {
            let mut state = self.lock();
            state.require_friend(user_id)?;
            let resident = state.resident_mut(user_id)?;
            let shown = display_text.filter(|t| !t.is_empty()).unwrap_or("（ボタンを押しました）");
            resident.chat.push(ChatLine::FromResident { at: now_ms(), text: shown.to_owned(), postback_data: Some(data.to_owned()) });
            state.new_event(EventKind::Postback { data: data.to_owned() }, user_id, true)
        };
        Ok(webhook::deliver(self, vec![event]).await)
    }

    /// Fresh reply tokens for `count` message events of `user_id` that happen outside the
    /// sandbox: a load generator signs and posts its own webhooks (as LINE would deliver
    /// them) and needs tokens the Messaging API accepts. Each token behaves exactly like a
    /// delivered event's: it works once, within the configured lifetime, and its reply reaches
    /// this resident. Like writing a message, it needs the resident to be a friend.
    ///
    /// Unlike a delivered event, issuing does not sweep expired tokens out of the table (a
    /// benchmark calls this thousands of times a second, and a sweep is a pass over every
    /// outstanding token): expired ones are still refused when used, and swept at the next
    /// delivered event.
    pub fn issue_reply_tokens(&self, user_id: &str, count: usize) -> Result<Vec<String>, ActionError> {
        if !(1..=MAX_TOKENS_PER_CALL).contains(&count) {
            return Err(ActionError::Invalid(format!("count must be 1 to {MAX_TOKENS_PER_CALL}")));
        }
        let mut state = self.lock();
        state.require_friend(user_id)?;
        Ok((0..count).map(|_| state.issue_reply_token(user_id)).collect())
    }

    /// The resident's phone reads a QR code holding `url` (see [`crate::scan`]).
    pub async fn scan(&self, user_id: &str, url: &str) -> Result<ScanReport, ActionError> {
        self.resident(user_id)?;
        let report = match scan::visit(&self.shared.phone_client, url).await {
            Visit::Unreachable(error) => ScanReport::Unreachable { error },
            Visit::Page { status, title } => ScanReport::Page { status, title },
            Visit::Redirect { status, location } => match deep_link_text(&location, &self.base_url_parsed(), self.basic_id()) {
                Some(text) => self.open_chat_and_send(user_id, &text).await?,
                None => ScanReport::Redirect { status, location: location.to_string() },
            },
        };
        Ok(report)
    }

    /// What LINE does with an `oaMessage` deep link and a tap on "send": add the account as a
    /// friend if needed (a follow event), then send the text (a message event).
    pub async fn open_chat_and_send(&self, user_id: &str, text: &str) -> Result<ScanReport, ActionError> {
        check_text(text)?;
        let follow = {
            let mut state = self.lock();
            let friendship = state.resident_mut(user_id)?.friendship;
            if friendship == Friendship::Friend { None } else { Some(self.befriend(&mut state, user_id)?) }
        };
        let mut deliveries = Vec::new();
        if let Some(event) = follow {
            deliveries.push(webhook::deliver(self, vec![event]).await);
        }
        let event = self.lock().text_event(user_id, text)?;
        let message = webhook::deliver(self, vec![event]).await;
        let status = message.status;
        deliveries.push(message);
        Ok(ScanReport::MessageSent {
            text: text.to_owned(),
            followed: deliveries.len() == 2,
            delivered: deliveries.iter().all(|d| d.delivered),
            status,
            events: deliveries.iter().flat_map(|d| d.events.clone()).collect(),
            deliveries,
        })
    }

    /// Every webhook attempt, oldest first.
    pub fn webhook_log(&self) -> Vec<WebhookAttempt> {
        self.lock().webhooks.iter().cloned().collect()
    }

    /// Every Messaging API call, oldest first.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.lock().requests.iter().cloned().collect()
    }

    /// Counts of what happened.
    pub fn stats(&self) -> Stats {
        let state = self.lock();
        let count = |f: Friendship| state.residents.iter().filter(|r| r.friendship == f).count();
        Stats {
            total_usage: state.total_usage,
            residents: state.residents.len(),
            friends: count(Friendship::Friend),
            blocked: count(Friendship::Blocked),
            ..state.stats.clone()
        }
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, settings: FaultSettings) -> Result<FaultsView, FaultError> {
        let now = Instant::now();
        let faults = Faults::new(settings, now)?;
        let mut state = self.lock();
        state.faults = faults;
        Ok(state.faults.view(now))
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) -> FaultsView {
        let mut state = self.lock();
        state.faults = Faults::default();
        state.faults.view(Instant::now())
    }

    /// The injected faults.
    pub fn faults(&self) -> FaultsView {
        self.lock().faults.view(Instant::now())
    }

    // ---- crate-internal: the Messaging API ----

    pub(crate) fn set_base_url(&self, url: Url) {
        *self.shared.base_url.lock().unwrap_or_else(PoisonError::into_inner) = url;
    }

    pub(crate) fn base_url_parsed(&self) -> Url {
        self.shared.base_url.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn channel_secret(&self) -> &str {
        self.shared.channel_secret.expose_secret()
    }

    pub(crate) fn webhook_client(&self) -> &reqwest::Client {
        &self.shared.webhook_client
    }

    pub(crate) fn webhook_target(&self) -> Option<Target> {
        let state = self.lock();
        state.webhook_url.as_ref().map(|url| Target {
            url: url.clone(),
            timeout: Duration::from_millis(state.knobs.webhook_timeout_ms),
            redelivery: state.knobs.redelivery,
            backoff: Duration::from_millis(state.knobs.redelivery_backoff_ms),
            attempts: state.knobs.redelivery_attempts,
        })
    }

    pub(crate) fn log_webhook_attempt(&self, attempt: WebhookAttempt) {
        let mut state = self.lock();
        state.stats.webhook_attempts += 1;
        if !attempt.status.is_some_and(|s| (200..300).contains(&s)) {
            state.stats.webhook_failures += 1;
        }
        push_capped(&mut state.webhooks, attempt);
    }

    pub(crate) fn log_request(&self, record: RequestRecord) {
        let mut state = self.lock();
        state.stats.api_requests += 1;
        if (200..300).contains(&record.status) {
            state.stats.api_success += 1;
        } else {
            state.stats.api_errors += 1;
        }
        push_capped(&mut state.requests, record);
    }

    /// Checks `Authorization: Bearer <token>`.
    pub(crate) fn authorize(&self, header: Option<&str>) -> Result<(), LineError> {
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim);
        if token == Some(self.shared.access_token.expose_secret()) { Ok(()) } else { Err(LineError::Unauthorized) }
    }

    /// The latency to add and the fate of one call.
    pub(crate) fn judge_faults(&self) -> (Duration, Verdict) {
        let mut state = self.lock();
        let latency = state.faults.latency();
        (latency, state.faults.judge(Instant::now()))
    }

    pub(crate) fn check_rate(&self, endpoint: Endpoint) -> Result<(), LineError> {
        let mut state = self.lock();
        let limits = state.knobs.rate_limits;
        let per_second = match endpoint {
            Endpoint::Reply => limits.reply,
            Endpoint::Push => limits.push,
            Endpoint::Multicast => limits.multicast,
        };
        let ok = state.limiters.entry(endpoint).or_default().try_acquire(Instant::now(), per_second);
        if ok { Ok(()) } else { Err(LineError::RateLimited) }
    }

    /// 409 if `key` was accepted within 24 hours.
    pub(crate) fn check_retry_key(&self, key: &str) -> Result<(), LineError> {
        self.lock().check_retry_key(key)
    }

    pub(crate) fn reply(&self, request: &ReplyRequest) -> Result<Value, LineError> {
        let mut state = self.lock();
        let issued = state.reply_tokens.remove(&request.reply_token).ok_or(LineError::InvalidReplyToken)?;
        if issued.expires <= Instant::now() {
            return Err(LineError::InvalidReplyToken);
        }
        let ids = message_ids(&request.messages);
        let jobs = state.deliver(&[issued.user_id], Via::Reply, &request.messages, &ids);
        state.stats.replies += 1;
        drop(state);
        self.fetch_media(jobs);
        Ok(json!({ "sentMessages": sent_messages(&request.messages, &ids) }))
    }

    pub(crate) fn push(&self, request: &PushRequest, retry_key: Option<&str>, request_id: &str) -> Result<Value, LineError> {
        let mut state = self.lock();
        if let Some(key) = retry_key {
            state.check_retry_key(key)?;
        }
        state.charge(1)?;
        let ids = message_ids(&request.messages);
        let sent = sent_messages(&request.messages, &ids);
        let jobs = state.deliver(std::slice::from_ref(&request.to), Via::Push, &request.messages, &ids);
        state.stats.pushes += 1;
        if let Some(key) = retry_key {
            state.accept_retry_key(key, request_id, Some(sent.clone()));
        }
        drop(state);
        self.fetch_media(jobs);
        Ok(json!({ "sentMessages": sent }))
    }

    pub(crate) fn multicast(&self, request: &MulticastRequest, retry_key: Option<&str>, request_id: &str) -> Result<Value, LineError> {
        let mut seen = HashSet::new();
        let recipients: Vec<String> = request.to.iter().filter(|id| seen.insert(id.as_str())).cloned().collect();
        let mut state = self.lock();
        if let Some(key) = retry_key {
            state.check_retry_key(key)?;
        }
        state.charge(u64::try_from(recipients.len()).unwrap_or(u64::MAX))?;
        let ids = message_ids(&request.messages);
        let jobs = state.deliver(&recipients, Via::Multicast, &request.messages, &ids);
        state.stats.multicasts += 1;
        if let Some(key) = retry_key {
            state.accept_retry_key(key, request_id, None);
        }
        drop(state);
        self.fetch_media(jobs);
        Ok(json!({}))
    }

    pub(crate) fn profile(&self, user_id: &str) -> Result<Value, LineError> {
        let state = self.lock();
        let friend = state.by_user_id.get(user_id).map(|&i| &state.residents[i]).filter(|r| r.friendship == Friendship::Friend);
        let resident = friend.ok_or(LineError::NotFound)?;
        Ok(json!({"userId": resident.user_id, "displayName": resident.display_name, "language": "ja"}))
    }

    pub(crate) fn quota(&self) -> Value {
        match self.lock().knobs.monthly_quota {
            Some(value) => json!({"type": "limited", "value": value}),
            None => json!({"type": "none"}),
        }
    }

    pub(crate) fn consumption(&self) -> Value {
        json!({"totalUsage": self.lock().total_usage})
    }

    /// The URL schemes image URLs may have: LINE's `https`, or `http` too when
    /// `allow_http_media` is set.
    pub(crate) fn media_schemes(&self) -> MediaSchemes {
        MediaSchemes::allowing_http(self.lock().knobs.allow_http_media)
    }

    /// Fetches each image in the background, as LINE does after accepting a message.
    fn fetch_media(&self, jobs: Vec<MediaJob>) {
        if jobs.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Only reachable when called outside a runtime, which the HTTP handlers never are.
            let error = media::FetchError::Unreachable("the sandbox has no async runtime to fetch with".to_owned());
            for job in jobs {
                let failed = Fetch::Failed { error: error.clone(), content_type: None };
                self.finish_media(&job.message_id, Media { original: failed.clone(), preview: failed }, None);
            }
            return;
        };
        for job in jobs {
            let sandbox = self.clone();
            runtime.spawn(async move {
                let client = &sandbox.shared.media_client;
                let ((original, content), (preview, _)) = tokio::join!(
                    media::fetch(client, &job.original_url, media::ORIGINAL_LIMIT),
                    media::fetch(client, &job.preview_url, media::PREVIEW_LIMIT),
                );
                let media = Media { original, preview };
                tracing::info!(message_id = %job.message_id, status = ?media.status(), failure = ?media.failure(), "image fetched");
                sandbox.finish_media(&job.message_id, media, content);
            });
        }
    }

    /// Records what fetching a message's image found, keeping the original's bytes when both
    /// URLs were fine, within [`media::KEPT_BYTES_BUDGET`] (the oldest are let go first).
    fn finish_media(&self, message_id: &str, media: Media, content: Option<ImageContent>) {
        let mut state = self.lock();
        let State { media: records, kept, kept_bytes, .. } = &mut *state;
        let Some(record) = records.get_mut(message_id) else { return };
        let shown = media.status() == media::FetchStatus::Fetched;
        record.media = media;
        if let Some(content) = content.filter(|_| shown) {
            *kept_bytes += content.bytes.len();
            record.content = Some(content);
            kept.push_back(message_id.to_owned());
        }
        while *kept_bytes > media::KEPT_BYTES_BUDGET
            && let Some(oldest) = kept.pop_front()
        {
            if let Some(content) = records.get_mut(&oldest).and_then(|r| r.content.take()) {
                *kept_bytes -= content.bytes.len();
            }
        }
    }

    // ---- crate-internal: the page ----

    /// Every resident's full record (the page renders chats from it), image messages with
    /// what fetching them found so far.
    pub(crate) fn snapshot(&self) -> Vec<Resident> {
        let state = self.lock();
        let mut residents = state.residents.clone();
        for resident in &mut residents {
            let inbox = std::mem::take(&mut resident.inbox);
            resident.inbox = inbox.into_iter().map(|entry| state.with_media(entry)).collect();
        }
        residents
    }

    /// Remembers what happened to a resident's last page action.
    pub(crate) fn set_notice(&self, user_id: &str, notice: String) {
        if let Ok(resident) = self.lock().resident_mut(user_id) {
            resident.notice = Some(notice);
        }
    }

    fn befriend(&self, state: &mut State, user_id: &str) -> Result<Event, ActionError> {
        let resident = state.resident_mut(user_id)?;
        let is_unblocked = resident.friendship == Friendship::Blocked;
        resident.friendship = Friendship::Friend;
        let note = if is_unblocked { "ブロックを解除しました" } else { "友だち追加しました" };
        resident.chat.push(ChatLine::Note { at: now_ms(), text: note.to_owned() });
        Ok(state.new_event(EventKind::Follow { is_unblocked }, user_id, true))
    }

    fn with_resident<T>(&self, user_id: &str, f: impl FnOnce(&Resident) -> T) -> Result<T, ActionError> {
        let mut state = self.lock();
        state.resident_mut(user_id).map(|r| f(r))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn resident_mut(&mut self, user_id: &str) -> Result<&mut Resident, ActionError> {
        match self.by_user_id.get(user_id) {
            Some(&i) => Ok(&mut self.residents[i]),
            None => Err(ActionError::UnknownResident(user_id.to_owned())),
        }
    }

    fn require_friend(&mut self, user_id: &str) -> Result<(), ActionError> {
        match self.resident_mut(user_id)?.friendship {
            Friendship::Friend => Ok(()),
            Friendship::Blocked => Err(ActionError::Blocked),
            Friendship::NotFriend => Err(ActionError::NotFriend),
        }
    }

    fn text_event(&mut self, user_id: &str, text: &str) -> Result<Event, ActionError> {
        let resident = self.resident_mut(user_id)?;
        resident.chat.push(ChatLine::FromResident { at: now_ms(), text: text.to_owned(), postback_data: None });
        let kind = EventKind::Text { id: new_message_id(), quote_token: new_quote_token(), text: text.to_owned() };
        Ok(self.new_event(kind, user_id, true))
    }

    /// An event with a fresh ULID, the current time and, if `with_reply_token`, a reply token
    /// valid for the configured lifetime.
    fn new_event(&mut self, kind: EventKind, user_id: &str, with_reply_token: bool) -> Event {
        let timestamp = now_ms();
        let reply_token = with_reply_token.then(|| {
            self.forget_expired_reply_tokens(Instant::now());
            self.issue_reply_token(user_id)
        });
        Event { kind, user_id: user_id.to_owned(), webhook_event_id: self.ulids.next(timestamp), timestamp, reply_token }
    }

    fn forget_expired_reply_tokens(&mut self, now: Instant) {
        self.reply_tokens.retain(|_, t| t.expires > now);
    }

    /// A new reply token for `user_id`, valid for the configured lifetime.
    fn issue_reply_token(&mut self, user_id: &str) -> String {
        let token = new_reply_token();
        let expires = Instant::now() + Duration::from_millis(self.knobs.reply_token_ttl_ms);
        self.reply_tokens.insert(token.clone(), IssuedToken { user_id: user_id.to_owned(), expires });
        token
    }

    fn check_retry_key(&mut self, key: &str) -> Result<(), LineError> {
        let now = Instant::now();
        self.retry_keys.retain(|_, k| now.duration_since(k.accepted) < RETRY_KEY_LIFETIME);
        match self.retry_keys.get(&key.to_ascii_lowercase()) {
            Some(accepted) => Err(LineError::RetryKeyAccepted {
                accepted_request_id: accepted.request_id.clone(),
                sent_messages: accepted.sent_messages.clone(),
            }),
            None => Ok(()),
        }
    }

    fn accept_retry_key(&mut self, key: &str, request_id: &str, sent_messages: Option<Value>) {
        let accepted = AcceptedKey { request_id: request_id.to_owned(), sent_messages, accepted: Instant::now() };
        self.retry_keys.insert(key.to_ascii_lowercase(), accepted);
    }

    /// Counts `recipients` against the monthly quota, or refuses all of them.
    fn charge(&mut self, recipients: u64) -> Result<(), LineError> {
        if let Some(quota) = self.knobs.monthly_quota
            && self.total_usage.saturating_add(recipients) > quota
        {
            return Err(LineError::QuotaExceeded);
        }
        self.total_usage += recipients;
        Ok(())
    }

    /// Puts `messages` (with their `ids`) in the inbox of each recipient who is a friend;
    /// others silently get nothing, as with LINE. Answers the images to fetch: those of
    /// messages that reached anyone, each recorded as pending.
    fn deliver(&mut self, recipients: &[String], via: Via, messages: &[Value], ids: &[String]) -> Vec<MediaJob> {
        let now = now_ms();
        let delivered_count = u64::try_from(messages.len()).unwrap_or(u64::MAX);
        let mut reached = false;
        for id in recipients {
            let position = self.by_user_id.get(id).copied();
            match position.map(|i| &mut self.residents[i]).filter(|r| r.friendship == Friendship::Friend) {
                Some(resident) => {
                    for (message, message_id) in messages.iter().zip(ids) {
                        resident.receive(now, via, message_id.clone(), message.clone());
                    }
                    self.stats.messages_delivered += delivered_count;
                    reached = true;
                }
                None => self.stats.recipients_not_reached += 1,
            }
        }
        if !reached {
            return Vec::new();
        }
        let mut jobs = Vec::new();
        for (message, message_id) in messages.iter().zip(ids) {
            if let (Some("image"), Some(original), Some(preview)) =
                (message["type"].as_str(), message["originalContentUrl"].as_str(), message["previewImageUrl"].as_str())
            {
                self.media.insert(message_id.clone(), MediaRecord { media: Media::pending(), content: None });
                jobs.push(MediaJob { message_id: message_id.clone(), original_url: original.to_owned(), preview_url: preview.to_owned() });
            }
        }
        jobs
    }

    /// `entry` with what fetching its image found, if it is an image message.
    fn with_media(&self, mut entry: InboxEntry) -> InboxEntry {
        entry.media = self.media.get(&entry.message_id).map(|record| record.media.clone());
        entry
    }
}

/// A new message id for each message.
fn message_ids(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|_| new_message_id()).collect()
}

/// `sentMessages` of a response: each message's id, and a quote token for those that can be
/// quoted.
fn sent_messages(messages: &[Value], ids: &[String]) -> Value {
    let sent: Vec<Value> = messages
        .iter()
        .zip(ids)
        .map(|(m, id)| match m["type"].as_str() {
            Some("text" | "image") => json!({"id": id, "quoteToken": new_quote_token()}),
            _ => json!({"id": id}),
        })
        .collect();
    Value::Array(sent)
}

fn check_text(text: &str) -> Result<(), ActionError> {
    let length = text.encode_utf16().count();
    if length == 0 || length > crate::validate::limits::TEXT {
        return Err(ActionError::Invalid("text must be 1 to 5000 characters".to_owned()));
    }
    Ok(())
}

fn push_capped<T>(log: &mut VecDeque<T>, entry: T) {
    if log.len() == LOG_LIMIT {
        log.pop_front();
    }
    log.push_back(entry);
}
