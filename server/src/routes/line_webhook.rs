//! `POST /line/webhook`: where LINE delivers residents' events. The signature is checked on
//! the raw bytes before anything parses them; each event is stored once (by its
//! `webhookEventId`) before the answer goes back; replies are sent after answering, so LINE
//! gets its 200 well within its 2 seconds.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use time::OffsetDateTime;

use super::AppState;
use crate::line::client::LineClient;
use crate::line::{signature, webhook};
use crate::residents::{self, Context, Reply};

/// `/line/webhook`.
pub fn router(body_limit: usize) -> Router<AppState> {
    Router::new().route("/line/webhook", post(receive).layer(DefaultBodyLimit::max(body_limit)))
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(channel) = &state.line_channel else {
        tracing::warn!("webhook called but no LINE channel is configured");
        return (StatusCode::SERVICE_UNAVAILABLE, "LINE channel not configured\n").into_response();
    };
    let given = headers.get("x-line-signature").and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(&channel.channel_secret, &body, given) {
        tracing::warn!(error = %e, "webhook refused: bad signature");
        return (StatusCode::UNAUTHORIZED, "invalid signature\n").into_response();
    }
    let parsed = match webhook::parse(&body) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(error = %e, "webhook refused: malformed body");
            return (StatusCode::BAD_REQUEST, "malformed body\n").into_response();
        }
    };
    for bad in &parsed.malformed {
        tracing::warn!(index = bad.index, reason = %bad.reason, "webhook event skipped: malformed");
    }
    let ctx = Context {
        store: state.store.as_ref(),
        settings: &state.checkin,
        kiosk: &state.kiosk,
        passes: &state.passes,
        privacy_url: state.base_url.join("/privacy"),
        now: OffsetDateTime::now_utc(),
    };
    let mut replies = Vec::new();
    for event in &parsed.events {
        match residents::handle(&ctx, event).await {
            Ok(Some(reply)) => replies.push(reply),
            Ok(None) => {}
            Err(e) => {
                // Events before this one are stored; LINE redelivers the body and the stored
                // ones are recognised by their ids.
                tracing::error!(error = %e, "webhook event failed; answering 500 so LINE redelivers");
                send_replies(channel.client.clone(), replies);
                return (StatusCode::INTERNAL_SERVER_ERROR, "try again\n").into_response();
            }
        }
    }
    state.metrics.webhook_events(parsed.events.len());
    send_replies(channel.client.clone(), replies);
    StatusCode::OK.into_response()
}

/// Sends replies in the background. A failed reply loses only the confirmation; what the
/// event changed is already stored.
fn send_replies(client: LineClient, replies: Vec<Reply>) {
    if replies.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for reply in replies {
            if let Err(e) = client.reply(&reply.token, &reply.messages).await {
                tracing::warn!(error = %e, "reply not delivered");
            }
        }
    });
}
