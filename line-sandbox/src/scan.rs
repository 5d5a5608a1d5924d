//! A resident's phone reading a QR code: it opens the URL without following redirects (as a
//! camera app hands a `line.me/R/…` redirect to the LINE app instead of loading it), then
//! either recognises LINE's `oaMessage` deep link to this sandbox — the chat opens with the
//! text typed in — or shows whatever page the server sent. The HTTP and the parsing live
//! here; what the resident then does is in [`crate::sandbox`].

use std::time::Duration;

use reqwest::Url;
use reqwest::header::LOCATION;
use serde::Serialize;

use crate::webhook::Delivery;

/// What `scan` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ScanReport {
    /// The URL led to this account's deep link; the resident (after adding the account as a
    /// friend if needed) sent the prefilled text.
    MessageSent {
        /// The text sent.
        text: String,
        /// True when a follow event was delivered first.
        followed: bool,
        /// True when every delivery was answered 2xx.
        delivered: bool,
        /// The webhook receiver's status for the message event (`null` on timeout).
        status: Option<u16>,
        /// Every event delivered, follow first.
        events: Vec<String>,
        /// Each delivery (follow, then message).
        deliveries: Vec<Delivery>,
    },
    /// The URL showed a page; nothing was sent.
    Page {
        /// Its HTTP status.
        status: u16,
        /// Its `<title>`, if it has one.
        title: Option<String>,
    },
    /// The URL redirected somewhere other than this account's deep link (another account,
    /// another site, or a deep link without text); nothing was sent.
    Redirect {
        /// The redirect status.
        status: u16,
        /// Where it pointed (absolute).
        location: String,
    },
    /// The URL could not be loaded.
    Unreachable {
        /// Why.
        error: String,
    },
}

/// What the phone saw when it opened a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visit {
    /// A 3xx with a `Location`.
    Redirect {
        /// The status.
        status: u16,
        /// The location, resolved against the URL opened.
        location: Url,
    },
    /// Anything else.
    Page {
        /// The status.
        status: u16,
        /// Its `<title>`.
        title: Option<String>,
    },
    /// No answer.
    Unreachable(String),
}

/// How long the phone waits for a page.
pub const PHONE_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client of the phone: no redirects followed, Japanese preferred.
pub fn phone_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PHONE_TIMEOUT)
        .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) oshirase-line-sandbox-phone")
        .build()
        .unwrap_or_else(|e| panic!("the HTTP client could not be built: {e}"))
}

/// Opens `url` once.
pub async fn visit(client: &reqwest::Client, url: &str) -> Visit {
    let parsed = match Url::parse(url.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return Visit::Unreachable(format!("not an http(s) URL: {url}")),
    };
    let response = match client.get(parsed.clone()).header("accept-language", "ja").send().await {
        Ok(r) => r,
        Err(e) => return Visit::Unreachable(e.to_string()),
    };
    let status = response.status();
    if status.is_redirection()
        && let Some(location) = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).and_then(|l| parsed.join(l).ok())
    {
        return Visit::Redirect { status: status.as_u16(), location };
    }
    let text = response.text().await.unwrap_or_default();
    Visit::Page { status: status.as_u16(), title: title(&text) }
}

/// The prefilled text, if `location` is `<base>/R/oaMessage/<basic_id>/?<text>` for this
/// sandbox and this account. Hosts `localhost`, `127.0.0.1` and `[::1]` are the same machine.
pub fn deep_link_text(location: &Url, base: &Url, basic_id: &str) -> Option<String> {
    let same_origin = location.scheme() == base.scheme()
        && location.port_or_known_default() == base.port_or_known_default()
        && same_host(location.host_str()?, base.host_str()?);
    if !same_origin {
        return None;
    }
    let rest = location.path().strip_prefix(base.path().trim_end_matches('/'))?;
    let encoded_id = rest.strip_prefix("/R/oaMessage/")?.trim_end_matches('/');
    let id = percent_decode(encoded_id)?;
    if !id.eq_ignore_ascii_case(basic_id) {
        return None;
    }
    percent_decode(location.query()?).filter(|text| !text.is_empty())
}

/// Decodes `%XX` escapes (a `+` stays a plus, as in LINE's deep links); `None` if the result
/// is not UTF-8 or an escape is broken.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes everything but unreserved characters, as LINE's deep links expect.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of the first `<title>` element, entities decoded, whitespace collapsed.
pub fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let text = decode_entities(&html[start..end]);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

fn same_host(a: &str, b: &str) -> bool {
    let loopback = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "[::1]" | "::1");
    a.eq_ignore_ascii_case(b) || (loopback(a) && loopback(b))
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|semi| *semi <= 10).and_then(|semi| entity(&rest[1..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_deep_link_to_this_sandbox_and_account_yields_its_text() {
        let base = url("http://127.0.0.1:8090");
        let link = url("http://localhost:8090/R/oaMessage/%40oshirase/?%E3%83%81%E3%82%A7%E3%83%83%E3%82%AF%E3%82%A4%E3%83%B3%20ABC+1");
        assert_eq!(deep_link_text(&link, &base, "@oshirase").as_deref(), Some("チェックイン ABC+1"));
    }

    #[test]
    fn deep_links_elsewhere_or_to_another_account_yield_nothing() {
        let base = url("http://127.0.0.1:8090");
        for other in [
            "http://127.0.0.1:8091/R/oaMessage/%40oshirase/?a",
            "https://line.me/R/oaMessage/%40oshirase/?a",
            "http://127.0.0.1:8090/R/oaMessage/%40someone/?a",
            "http://127.0.0.1:8090/R/ti/p/%40oshirase",
            "http://127.0.0.1:8090/R/oaMessage/%40oshirase/",
        ] {
            assert_eq!(deep_link_text(&url(other), &base, "@oshirase"), None, "{other}");
        }
    }

    #[test]
    fn encoding_and_decoding_round_trip() {
        let text = "チェックイン 01ARZ/?&=+";
        assert_eq!(percent_decode(&percent_encode(text)).as_deref(), Some(text));
        assert_eq!(percent_decode("%E3%8"), None);
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn titles_are_read_from_pages() {
        assert_eq!(title("<html><head><TITLE lang=ja>\n  無効なコード &amp; 期限切れ\n</TITLE>").as_deref(), Some("無効なコード & 期限切れ"));
        assert_eq!(title("<p>&#x30c1;</p>"), None);
        assert_eq!(title("<title>&#12481;&unknown;</title>").as_deref(), Some("チ&unknown;"));
    }
}
