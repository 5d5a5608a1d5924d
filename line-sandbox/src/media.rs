//! What LINE does with an image message after accepting it: it fetches `originalContentUrl`
//! and `previewImageUrl` itself, and the resident sees the image, or a broken one. The API
//! answer does not wait for this and never reports it, so the sandbox fetches off the request
//! path too (a task per message, [`FETCH_TIMEOUT`] per URL) and keeps what it found per
//! message: a [`Media`] record (shown in the inbox and on the page) and the original's bytes
//! (served back by the control API, so the page never loads anything from elsewhere).
//!
//! LINE's rules for the two files, checked here: JPEG or PNG (by `Content-Type` *and* by
//! the bytes' magic numbers, which must agree), the original at most 10 MB and the preview at
//! most 1 MB. LINE does not say whether a megabyte is 10⁶ or 2²⁰ bytes; the sandbox takes the
//! stricter 10⁶, so what passes here passes LINE either way. Redirects are followed (up to
//! five); LINE does not document this either.

use std::time::Duration;

use axum::body::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Serialize;
use thiserror::Error;

/// Largest original image LINE takes (10 MB).
pub const ORIGINAL_LIMIT: u64 = 10_000_000;
/// Largest preview image LINE takes (1 MB).
pub const PREVIEW_LIMIT: u64 = 1_000_000;
/// How long one fetch (connection, headers and body) may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of originals kept at once; beyond it the oldest are let go (their records stay,
/// and the content route answers 404 for them).
pub const KEPT_BYTES_BUDGET: usize = 256 * 1024 * 1024;

/// The HTTP client that fetches images: a bounded time, a few redirects.
pub fn media_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .timeout(FETCH_TIMEOUT)
        .user_agent("oshirase-line-sandbox-media")
        .build()
        .unwrap_or_else(|e| panic!("the HTTP client could not be built: {e}"))
}

/// Where a fetch (or both of a message's fetches) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    /// Not finished yet.
    Pending,
    /// Fetched and acceptable to LINE.
    Fetched,
    /// Unreachable or not acceptable to LINE.
    Failed,
}

/// Why a fetched image would not show in LINE.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FetchError {
    /// The server answered a status other than 2xx.
    #[error("HTTP {0}")]
    Status(u16),
    /// `Content-Type` is not `image/jpeg` or `image/png` (`(none)` when missing).
    #[error("content type {0} is not image/jpeg or image/png")]
    ContentType(String),
    /// The bytes are one format, `Content-Type` names the other.
    #[error("the bytes are {found}, but the content type says {declared}")]
    Mismatch {
        /// The type the server declared.
        declared: &'static str,
        /// The type the bytes are.
        found: &'static str,
    },
    /// The body is larger than LINE takes.
    #[error("larger than {limit} bytes")]
    TooLarge {
        /// The limit exceeded, in bytes.
        limit: u64,
    },
    /// The bytes start like neither a PNG nor a JPEG.
    #[error("the bytes are neither PNG nor JPEG")]
    NotPngOrJpeg,
    /// No complete answer within [`FETCH_TIMEOUT`].
    #[error("no answer within {} s", FETCH_TIMEOUT.as_secs())]
    Timeout,
    /// No connection, or it broke.
    #[error("could not connect: {0}")]
    Unreachable(String),
}

impl FetchError {
    /// A stable code for scripts: `http_status`, `content_type`, `too_large`,
    /// `not_png_or_jpeg`, `timeout` or `unreachable`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Status(_) => "http_status",
            Self::ContentType(_) | Self::Mismatch { .. } => "content_type",
            Self::TooLarge { .. } => "too_large",
            Self::NotPngOrJpeg => "not_png_or_jpeg",
            Self::Timeout => "timeout",
            Self::Unreachable(_) => "unreachable",
        }
    }

    /// The same, in Japanese, for the page.
    pub fn japanese(&self) -> String {
        match self {
            Self::Status(status) => format!("サーバーが HTTP {status} を返しました"),
            Self::ContentType(content_type) => format!("形式が JPEG・PNG ではありません（Content-Type: {content_type}）"),
            Self::Mismatch { declared, found } => format!("中身（{found}）と Content-Type（{declared}）が一致しません"),
            Self::TooLarge { limit } => format!("ファイルが大きすぎます（上限 {limit} バイト）"),
            Self::NotPngOrJpeg => "中身が PNG・JPEG ではありません".to_owned(),
            Self::Timeout => format!("{} 秒以内に応答がありませんでした", FETCH_TIMEOUT.as_secs()),
            Self::Unreachable(why) => format!("接続できませんでした（{why}）"),
        }
    }
}

/// The outcome of fetching one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "FetchView")]
pub enum Fetch {
    /// Not finished yet.
    Pending,
    /// Fetched and acceptable.
    Fetched {
        /// `Content-Type` as served.
        content_type: String,
        /// Body size in bytes.
        bytes: u64,
    },
    /// Not acceptable, or not fetched.
    Failed {
        /// Why.
        error: FetchError,
        /// `Content-Type` as served, if there was an answer with one.
        content_type: Option<String>,
    },
}

impl Fetch {
    /// Pending, fetched or failed.
    pub fn status(&self) -> FetchStatus {
        match self {
            Self::Pending => FetchStatus::Pending,
            Self::Fetched { .. } => FetchStatus::Fetched,
            Self::Failed { .. } => FetchStatus::Failed,
        }
    }

    fn error(&self) -> Option<&FetchError> {
        match self {
            Self::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// [`Fetch`] as JSON: `{status, reason, error, content_type, bytes}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchView {
    /// `pending`, `fetched` or `failed`.
    pub status: FetchStatus,
    /// [`FetchError::reason`] when failed.
    pub reason: Option<&'static str>,
    /// What went wrong, when failed.
    pub error: Option<String>,
    /// `Content-Type` as served, when known.
    pub content_type: Option<String>,
    /// Body size, when fetched.
    pub bytes: Option<u64>,
}

impl From<Fetch> for FetchView {
    fn from(fetch: Fetch) -> Self {
        let status = fetch.status();
        match fetch {
            Fetch::Pending => FetchView { status, reason: None, error: None, content_type: None, bytes: None },
            Fetch::Fetched { content_type, bytes } => FetchView { status, reason: None, error: None, content_type: Some(content_type), bytes: Some(bytes) },
            Fetch::Failed { error, content_type } => {
                FetchView { status, reason: Some(error.reason()), error: Some(error.to_string()), content_type, bytes: None }
            }
        }
    }
}

/// What the sandbox found fetching one image message's two URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "MediaView")]
pub struct Media {
    /// `originalContentUrl`.
    pub original: Fetch,
    /// `previewImageUrl`.
    pub preview: Fetch,
}

impl Media {
    /// Both fetches still to do.
    pub fn pending() -> Self {
        Self { original: Fetch::Pending, preview: Fetch::Pending }
    }

    /// Failed if either failed, else pending if either is pending, else fetched.
    pub fn status(&self) -> FetchStatus {
        match (self.original.status(), self.preview.status()) {
            (FetchStatus::Failed, _) | (_, FetchStatus::Failed) => FetchStatus::Failed,
            (FetchStatus::Pending, _) | (_, FetchStatus::Pending) => FetchStatus::Pending,
            _ => FetchStatus::Fetched,
        }
    }

    /// The first failure (the original's before the preview's), with the field it concerns.
    pub fn failure(&self) -> Option<(&'static str, &FetchError)> {
        let original = self.original.error().map(|e| ("originalContentUrl", e));
        original.or_else(|| self.preview.error().map(|e| ("previewImageUrl", e)))
    }
}

/// [`Media`] as the inbox shows it: the overall status and first failure, the original's type
/// and size at the top, and the preview's own outcome under `preview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaView {
    /// `fetched` when both URLs were fetched and acceptable, `failed` when either was not,
    /// `pending` until both are done.
    pub status: FetchStatus,
    /// [`FetchError::reason`] of the first failure.
    pub reason: Option<&'static str>,
    /// The first failure, prefixed with its field: `previewImageUrl: HTTP 404`.
    pub error: Option<String>,
    /// The original's `Content-Type` as served.
    pub content_type: Option<String>,
    /// The original's size in bytes, when fetched.
    pub bytes: Option<u64>,
    /// The preview's own outcome.
    pub preview: FetchView,
}

impl From<Media> for MediaView {
    fn from(media: Media) -> Self {
        let status = media.status();
        let (reason, error) = match media.failure() {
            Some((field, e)) => (Some(e.reason()), Some(format!("{field}: {e}"))),
            None => (None, None),
        };
        let original = FetchView::from(media.original);
        MediaView { status, reason, error, content_type: original.content_type, bytes: original.bytes, preview: media.preview.into() }
    }
}

/// A fetched original image as the sandbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageContent {
    /// `image/png` or `image/jpeg`, as the bytes are.
    pub content_type: &'static str,
    /// The bytes exactly as fetched.
    pub bytes: Bytes,
}

/// Fetches `url` as LINE would, refusing more than `limit` bytes. Answers the outcome and,
/// when acceptable, the content.
pub async fn fetch(client: &reqwest::Client, url: &str, limit: u64) -> (Fetch, Option<ImageContent>) {
    match try_fetch(client, url, limit).await {
        Ok((fetch, content)) => (fetch, Some(content)),
        Err((error, content_type)) => (Fetch::Failed { error, content_type }, None),
    }
}

type Failure = (FetchError, Option<String>);

async fn try_fetch(client: &reqwest::Client, url: &str, limit: u64) -> Result<(Fetch, ImageContent), Failure> {
    let mut response = client.get(url).header(ACCEPT, "image/jpeg, image/png").send().await.map_err(|e| (transport_error(&e), None))?;
    let content_type = response.headers().get(CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let fail = |error: FetchError| (error, content_type.clone());
    if !response.status().is_success() {
        return Err(fail(FetchError::Status(response.status().as_u16())));
    }
    let declared = match content_type.as_deref().map(essence).as_deref() {
        Some("image/png") => "image/png",
        Some("image/jpeg") => "image/jpeg",
        _ => return Err(fail(FetchError::ContentType(content_type.clone().unwrap_or_else(|| "(none)".to_owned())))),
    };
    if response.content_length().is_some_and(|length| length > limit) {
        return Err(fail(FetchError::TooLarge { limit }));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| fail(transport_error(&e)))? {
        if u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX) > limit {
            return Err(fail(FetchError::TooLarge { limit }));
        }
        body.extend_from_slice(&chunk);
    }
    let found = sniff(&body).ok_or_else(|| fail(FetchError::NotPngOrJpeg))?;
    if found != declared {
        return Err(fail(FetchError::Mismatch { declared, found }));
    }
    let bytes = u64::try_from(body.len()).unwrap_or(u64::MAX);
    let fetch = Fetch::Fetched { content_type: content_type.clone().unwrap_or_default(), bytes };
    Ok((fetch, ImageContent { content_type: found, bytes: Bytes::from(body) }))
}

/// `image/png`, `image/jpeg` or `None`, by the first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// `Image/PNG; charset=x` → `image/png`.
fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn transport_error(error: &reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    // reqwest's own message is generic; the causes say what happened (refused, reset, DNS…).
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Unreachable(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
    use serde_json::json;

    use super::*;

    #[test]
    fn formats_are_told_by_their_magic_numbers() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n rest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"<!DOCTYPE html>"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(essence(" Image/PNG ; charset=binary"), "image/png");
    }

    #[test]
    fn a_message_is_fetched_only_when_both_urls_are() {
        let fetched = Fetch::Fetched { content_type: "image/png".into(), bytes: 42 };
        let failed = Fetch::Failed { error: FetchError::Status(404), content_type: Some("text/html".into()) };
        let media = |original: &Fetch, preview: &Fetch| Media { original: original.clone(), preview: preview.clone() };
        assert_eq!(Media::pending().status(), FetchStatus::Pending);
        assert_eq!(media(&fetched, &Fetch::Pending).status(), FetchStatus::Pending);
        assert_eq!(media(&fetched, &fetched).status(), FetchStatus::Fetched);
        assert_eq!(media(&Fetch::Pending, &failed).status(), FetchStatus::Failed);
        assert_eq!(
            serde_json::to_value(media(&fetched, &failed)).unwrap(),
            json!({"status": "failed", "reason": "http_status", "error": "previewImageUrl: HTTP 404", "content_type": "image/png", "bytes": 42,
                "preview": {"status": "failed", "reason": "http_status", "error": "HTTP 404", "content_type": "text/html", "bytes": null}})
        );
    }

    #[test]
    fn failures_are_explained_in_japanese_too() {
        assert_eq!(FetchError::TooLarge { limit: PREVIEW_LIMIT }.japanese(), "ファイルが大きすぎます（上限 1000000 バイト）");
        assert_eq!(FetchError::ContentType("text/html".into()).to_string(), "content type text/html is not image/jpeg or image/png");
    }
}
