//! A resident's conversation with the official account: friend added, consent, check-ins,
//! deletion, help. One function, [`handle`], turns one webhook event into its stored effect
//! (through the store, once per event id) and the reply to send. It knows no LINE JSON: it
//! reads [`Event`]s and answers with [`Message`]s.

pub mod commands;
pub mod passes;

use oshirase_common::LineUserId;
use oshirase_common::kiosk_token::{KioskToken, TokenError};
use time::{Duration, OffsetDateTime};

use self::commands::{PostbackCommand, TextCommand};
use crate::config::{CheckinSettings, KioskSettings};
use crate::line::messages::{Message, Postback};
use crate::line::webhook::{Event, EventKind, Mode};
use crate::messages::{Question, Text, catalog};
use crate::pages::jst;
use crate::store::{CheckInOutcome, CheckInRequest, EventKey, HistoryCodeIssue, HistoryOf, Place, Processed, RecordedVisit, Store, StoreError};

/// How long the deletion question's buttons work.
const DELETE_QUESTION_VALIDITY: Duration = Duration::minutes(10);
/// At most this many visits are confirmed one by one after consent (LINE allows 5 messages).
const CONFIRMED_ONE_BY_ONE: usize = 3;
/// An event's own timestamp is trusted unless it is this far ahead of the server's clock.
const FUTURE_TOLERANCE: Duration = Duration::minutes(5);

/// What the conversation needs to know.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Check-in rules.
    pub settings: &'a CheckinSettings,
    /// Kiosk code rules.
    pub kiosk: &'a KioskSettings,
    /// Pass key and rules.
    pub passes: &'a crate::passes::Passes,
    /// The privacy policy's public URL, linked from the consent request.
    pub privacy_url: String,
    /// Now, by the server's clock.
    pub now: OffsetDateTime,
}

/// A reply to send for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The event's reply token.
    pub token: String,
    /// One to five messages.
    pub messages: Vec<Message>,
}

/// Handles one event. `Ok(None)`: nothing to answer (standby, unfollow, an event seen
/// before, or one oshirase does not act on).
pub async fn handle(ctx: &Context<'_>, event: &Event) -> Result<Option<Reply>, StoreError> {
    if event.mode == Mode::Standby {
        return Ok(None);
    }
    let Some(user) = event.user_id.as_deref().and_then(|u| LineUserId::parse(u).ok()) else {
        return Ok(None);
    };
    let key = EventKey { id: event.webhook_event_id.clone(), received_at: ctx.now };
    let messages = match &event.kind {
        EventKind::Follow { .. } => on_follow(ctx, key, user).await?,
        EventKind::Unfollow => {
            ctx.store.unfollow(key, user).await?;
            None
        }
        EventKind::Text { text } => on_text(ctx, key, user, text, event.timestamp_ms).await?,
        EventKind::Postback { data } => on_postback(ctx, key, user, data).await?,
        EventKind::Other { .. } => None,
    };
    Ok(match (messages, &event.reply_token) {
        (Some(messages), Some(token)) if !messages.is_empty() => Some(Reply { token: token.clone(), messages }),
        _ => None,
    })
}

async fn on_follow(ctx: &Context<'_>, key: EventKey, user: LineUserId) -> Result<Option<Vec<Message>>, StoreError> {
    let Processed::New(state) = ctx.store.follow(key, user, ctx.settings.terms_version.clone()).await? else {
        return Ok(None);
    };
    let c = catalog();
    Ok(Some(if state.consented {
        vec![Message::Text(c.welcome_back.render(&[]))]
    } else {
        let mut messages = vec![Message::Text(c.welcome.render(&[]))];
        messages.extend(consent_request(ctx));
        messages
    }))
}

async fn on_text(ctx: &Context<'_>, key: EventKey, user: LineUserId, text: &str, timestamp_ms: i64) -> Result<Option<Vec<Message>>, StoreError> {
    let c = catalog();
    match commands::parse_text(text) {
        TextCommand::CheckIn(code) => check_in(ctx, key, user, Place::Code(code), scan_time(ctx.now, timestamp_ms)).await,
        TextCommand::KioskCheckIn(token) => match kiosk_place(ctx, &token).await? {
            Ok((place, shown_at)) => check_in(ctx, key, user, place, shown_at).await,
            Err(refusal) => only_once(ctx, key, vec![Message::Text(refusal.render(&[]))]).await,
        },
        TextCommand::MalformedCheckIn => only_once(ctx, key, vec![Message::Text(c.unknown_code.render(&[]))]).await,
        TextCommand::Delete => {
            let until = ctx.now + DELETE_QUESTION_VALIDITY;
            let until_ms = i64::try_from(until.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
            let question = question(&c.delete_question, commands::confirm_delete_data(until_ms), commands::CANCEL_DELETE_DATA.to_owned());
            only_once(ctx, key, vec![question]).await
        }
        TextCommand::HistoryCode(pass) => {
            let code = crate::secrets::HistoryCode::generate();
            let hours = ctx.settings.history_code_hours;
            let expires = ctx.now + Duration::hours(i64::from(hours));
            let ending = pass.as_deref().map(|e| oshirase_common::base32::canonical(e).unwrap_or_default());
            let of = ending.clone().map_or(HistoryOf::Resident, HistoryOf::Pass);
            let vars = [("code", code.grouped()), ("hours", hours.to_string()), ("short", ending.unwrap_or_default())];
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let text = match ctx.store.create_history_code(key, user, code.hash(), expires, of).await? {
                Processed::Duplicate => return Ok(None),
                Processed::New(HistoryCodeIssue::Issued) if pass.is_some() => &c.history_code_pass,
                Processed::New(HistoryCodeIssue::Issued) => &c.history_code,
                Processed::New(HistoryCodeIssue::NoVisits) => &c.history_code_none,
                Processed::New(HistoryCodeIssue::UnknownPass) => &c.pass_revoke_unknown,
                Processed::New(HistoryCodeIssue::AmbiguousPass) => &c.pass_revoke_ambiguous,
            };
            Ok(Some(vec![Message::Text(text.render(&vars))]))
        }
        TextCommand::Pass(name) => passes::issue(ctx, key, user, &name).await,
        TextCommand::PassList => passes::list(ctx, key, user).await,
        TextCommand::PassRevoke(ending) => passes::revoke(ctx, key, user, &ending).await,
        TextCommand::Other => only_once(ctx, key, vec![Message::Text(c.help.render(&[]))]).await,
    }
}

async fn on_postback(ctx: &Context<'_>, key: EventKey, user: LineUserId, data: &str) -> Result<Option<Vec<Message>>, StoreError> {
    let c = catalog();
    match commands::parse_postback(data) {
        PostbackCommand::Consent(version) if version == ctx.settings.terms_version => {
            let Processed::New(recorded) = ctx.store.consent(key, user, version).await? else {
                return Ok(None);
            };
            let mut messages = vec![Message::Text(c.consent_thanks.render(&[]))];
            if recorded.len() <= CONFIRMED_ONE_BY_ONE {
                messages.extend(recorded.iter().map(|v| Message::Text(visit_text(&c.recorded, v))));
            } else {
                messages.push(Message::Text(c.recorded_many.render(&[("count", &recorded.len().to_string())])));
            }
            Ok(Some(messages))
        }
        PostbackCommand::Consent(_) => {
            let mut messages = vec![Message::Text(c.consent_outdated.render(&[]))];
            messages.extend(consent_request(ctx));
            only_once(ctx, key, messages).await
        }
        PostbackCommand::DeclineConsent => {
            let Processed::New(_) = ctx.store.decline_consent(key, user).await? else {
                return Ok(None);
            };
            Ok(Some(vec![Message::Text(c.consent_declined.render(&[]))]))
        }
        PostbackCommand::ConfirmDelete { until_ms } if i128::from(until_ms) * 1_000_000 >= ctx.now.unix_timestamp_nanos() => {
            let Processed::New(_) = ctx.store.delete_resident(key, user).await? else {
                return Ok(None);
            };
            Ok(Some(vec![Message::Text(c.deleted.render(&[]))]))
        }
        PostbackCommand::ConfirmDelete { .. } => only_once(ctx, key, vec![Message::Text(c.delete_expired.render(&[]))]).await,
        PostbackCommand::CancelDelete => only_once(ctx, key, vec![Message::Text(c.delete_cancelled.render(&[]))]).await,
        PostbackCommand::Unknown => only_once(ctx, key, vec![Message::Text(c.help.render(&[]))]).await,
    }
}

async fn check_in(ctx: &Context<'_>, key: EventKey, user: LineUserId, place: Place, scanned_at: OffsetDateTime) -> Result<Option<Vec<Message>>, StoreError> {
    let request = CheckInRequest {
        user,
        place,
        scanned_at,
        terms_version: ctx.settings.terms_version.clone(),
        pending_until: ctx.now + Duration::minutes(i64::from(ctx.settings.pending_scan_minutes)),
        repeat_window: Duration::seconds(i64::from(ctx.settings.repeat_window_seconds)),
        max_per_hour: ctx.settings.max_per_hour,
    };
    let Processed::New(outcome) = ctx.store.check_in(key, request).await? else {
        return Ok(None);
    };
    Ok(Some(checkin_reply(ctx, outcome)))
}

/// The place and time of a kiosk's rotating code, or the text refusing it.
async fn kiosk_place(ctx: &Context<'_>, token: &KioskToken) -> Result<Result<(Place, OffsetDateTime), &'static Text>, StoreError> {
    let c = catalog();
    let Some(kiosk) = ctx.store.kiosk(token.kiosk().clone()).await? else {
        return Ok(Err(&c.unknown_code));
    };
    let now_step = ctx.kiosk.steps().at(u64::try_from(ctx.now.unix_timestamp()).unwrap_or(0));
    match token.verify(&kiosk.secret, now_step, ctx.kiosk.window()) {
        Err(TokenError::Expired | TokenError::Future) => return Ok(Err(&c.expired_code)),
        Err(_) => return Ok(Err(&c.unknown_code)),
        Ok(()) => {}
    }
    if kiosk.revoked_at.is_some() || !kiosk.place_active {
        return Ok(Err(&c.withdrawn_code));
    }
    let start = i64::try_from(ctx.kiosk.steps().start(token.step())).unwrap_or(i64::MAX);
    let shown_at = OffsetDateTime::from_unix_timestamp(start).unwrap_or(ctx.now);
    Ok(Ok((Place::Location(kiosk.location_id), shown_at)))
}

/// Answers with `messages` the first time the event is seen, and not again.
async fn only_once(ctx: &Context<'_>, key: EventKey, messages: Vec<Message>) -> Result<Option<Vec<Message>>, StoreError> {
    Ok(match ctx.store.mark_event(key).await? {
        Processed::New(()) => Some(messages),
        Processed::Duplicate => None,
    })
}

fn checkin_reply(ctx: &Context<'_>, outcome: CheckInOutcome) -> Vec<Message> {
    let c = catalog();
    match outcome {
        CheckInOutcome::Recorded(visit) => vec![Message::Text(visit_text(&c.recorded, &visit))],
        CheckInOutcome::Repeat(visit) => vec![Message::Text(visit_text(&c.repeat, &visit))],
        CheckInOutcome::AwaitingConsent { venue } => {
            // The waiting notice carries the privacy link itself; then only the question.
            let c = catalog();
            let waiting = c.waiting_for_consent.render(&[("venue", venue.as_str()), ("privacy_url", &ctx.privacy_url)]);
            vec![Message::Text(waiting), question(&c.consent_question, commands::consent_data(&ctx.settings.terms_version), commands::DECLINE_DATA.to_owned())]
        }
        CheckInOutcome::UnknownCode => vec![Message::Text(c.unknown_code.render(&[]))],
        CheckInOutcome::Withdrawn => vec![Message::Text(c.withdrawn_code.render(&[]))],
        CheckInOutcome::RateLimited => vec![Message::Text(c.rate_limited.render(&[]))],
    }
}

fn visit_text(text: &Text, visit: &RecordedVisit) -> String {
    text.render(&[("venue", visit.venue.as_str()), ("time", &jst(visit.scanned_at))])
}

/// The consent request: the explanation with the privacy link, then the yes/no question.
fn consent_request(ctx: &Context<'_>) -> Vec<Message> {
    let c = catalog();
    vec![
        Message::Text(c.consent_request.render(&[("privacy_url", &ctx.privacy_url)])),
        question(&c.consent_question, commands::consent_data(&ctx.settings.terms_version), commands::DECLINE_DATA.to_owned()),
    ]
}

fn question(q: &Question, yes: String, no: String) -> Message {
    Message::Confirm {
        alt_text: format!("{} / {}", q.ja, q.en),
        text: q.ja.clone(),
        yes: Postback { label: q.yes.clone(), data: yes },
        no: Postback { label: q.no.clone(), data: no },
    }
}

/// The scan time: the event's own timestamp (the same on redelivery), unless it lies
/// implausibly far in the future.
fn scan_time(now: OffsetDateTime, timestamp_ms: i64) -> OffsetDateTime {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(timestamp_ms) * 1_000_000) {
        Ok(t) if t <= now + FUTURE_TOLERANCE => t,
        _ => now,
    }
}
