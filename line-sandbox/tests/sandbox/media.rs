//! Image messages: LINE's https-only rule (and the sandbox's `allow_http_media` deviation), the
//! fetch of both URLs after the API has answered, what the inbox and the page show, and the
//! control route serving the fetched original back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oshirase_line_sandbox::SandboxConfig;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::helpers::{SECRET, TOKEN, TestSandbox, answer};

/// A small grey PNG, as the server's pass would be.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 40, 40);
    encoder.set_color(png::ColorType::Grayscale);
    let pixels: Vec<u8> = (0..40 * 40).map(|i| u8::try_from(i % 251).unwrap()).collect();
    encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
    out
}

/// PNG magic followed by zeros, `size` bytes in all.
fn png_sized(size: usize) -> Vec<u8> {
    let mut body = png();
    body.resize(size, 0);
    body
}

#[derive(Clone)]
struct Images {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    gate: Arc<Semaphore>,
}

/// A stand-in for the oshirase server serving images: `/pass.png` and `/preview.png` (the
/// PNG), `/large.png` (1.5 MB: a fine original, too large for a preview), `/huge.png` (just
/// over 10 MB), `/page.html`, `/missing.png` (404), `/fake.png` (says PNG, is a GIF),
/// `/jpeg-as-png` (says PNG, is a JPEG), `/slow.png` (the PNG once [`ImageServer::release`]
/// is called). Counts requests per path.
struct ImageServer {
    base: String,
    images: Images,
}

impl ImageServer {
    async fn start() -> ImageServer {
        let images = Images { hits: Arc::default(), gate: Arc::new(Semaphore::new(0)) };
        let app = Router::new().route("/{name}", get(serve)).with_state(images.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        ImageServer { base, images }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn hits(&self, name: &str) -> usize {
        self.images.hits.lock().unwrap().get(name).copied().unwrap_or(0)
    }

    fn release(&self) {
        self.images.gate.add_permits(100);
    }
}

async fn serve(State(images): State<Images>, Path(name): Path<String>) -> Response {
    *images.hits.lock().unwrap().entry(name.clone()).or_default() += 1;
    let image = |body: Vec<u8>| ([(CONTENT_TYPE, "image/png")], body).into_response();
    match name.as_str() {
        "pass.png" | "preview.png" => image(png()),
        "large.png" => image(png_sized(1_500_000)),
        "huge.png" => image(png_sized(10_000_001)),
        "fake.png" => image(b"GIF89a\x01\x00\x01\x00".to_vec()),
        "jpeg-as-png" => image(vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
        "page.html" => ([(CONTENT_TYPE, "text/html; charset=utf-8")], "<!DOCTYPE html><title>pass</title>").into_response(),
        "slow.png" => {
            let _permit = images.gate.acquire().await.unwrap();
            image(png())
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A server that answers a 1.2 MB PNG without `Content-Length` (read until the connection
/// closes), so the size limit must be enforced while reading.
async fn unsized_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/unsized.png", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\nconnection: close\r\n\r\n";
                // The sandbox may hang up once it has read enough: write errors are expected.
                let _ = socket.write_all(head).await;
                let _ = socket.write_all(&png_sized(1_200_000)).await;
            });
        }
    });
    url
}

fn image(original: &str, preview: &str) -> Value {
    json!({"type": "image", "originalContentUrl": original, "previewImageUrl": preview})
}

/// A sandbox that accepts `http://` image URLs (the local-use deviation).
async fn allowing_http() -> TestSandbox {
    let mut config = SandboxConfig::new(SECRET, TOKEN);
    config.knobs.allow_http_media = true;
    TestSandbox::with(config).await
}

/// The inbox once no image in it is still being fetched (up to 5 s).
async fn fetched_inbox(t: &TestSandbox, id: &str) -> Vec<Value> {
    for _ in 0..250 {
        let inbox = t.inbox(id).await;
        if inbox.iter().all(|m| m["media"]["status"] != "pending") {
            return inbox;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("images still pending after 5 s: {:?}", t.inbox(id).await);
}

fn content_path(id: &str, message_id: &str) -> String {
    format!("/sandbox/residents/{id}/inbox/{message_id}/content")
}

async fn page(t: &TestSandbox) -> String {
    t.http.get(t.url("/")).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn a_pushed_image_is_fetched_and_the_sandbox_serves_its_copy() {
    let images = ImageServer::start().await;
    let t = allowing_http().await;
    let id = t.friend("佐藤").await;
    let messages = json!([{"type": "text", "text": "通行証です"}, image(&images.url("pass.png"), &images.url("preview.png"))]);
    let (status, body) = answer(t.api_post("/v2/bot/message/push", &json!({"to": id, "messages": messages})).await).await;
    assert_eq!(status, 200, "{body}");
    let message_id = body["sentMessages"][1]["id"].as_str().unwrap().to_owned();

    let inbox = fetched_inbox(&t, &id).await;
    assert!(inbox[0].get("media").is_none(), "only image messages have media: {}", inbox[0]);
    assert_eq!(inbox[1]["message_id"], message_id.as_str(), "the inbox names the id answered in sentMessages");
    let size = png().len();
    assert_eq!(
        inbox[1]["media"],
        json!({"status": "fetched", "reason": null, "error": null, "content_type": "image/png", "bytes": size,
            "preview": {"status": "fetched", "reason": null, "error": null, "content_type": "image/png", "bytes": size}})
    );
    assert_eq!((images.hits("pass.png"), images.hits("preview.png")), (1, 1));

    let response = t.http.get(t.url(&content_path(&id, &message_id))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE.as_str()], "image/png");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png(), "the copy is byte for byte what was served");

    let other = t.friend("鈴木").await;
    let text_id = inbox[0]["message_id"].as_str().unwrap();
    for path in [content_path(&id, "123456789012345678"), content_path(&other, &message_id), content_path(&id, text_id), content_path("Uffff", &message_id)] {
        t.control(Method::GET, &path, None, 404).await;
    }

    let html = page(&t).await;
    let src = content_path(&id, &message_id);
    assert!(html.contains(&format!(r#"<img class="media" src="{src}" alt="公式アカウントから届いた画像"#)), "{html}");
    assert!(html.contains(r#"data-type="image" data-media="fetched""#), "{html}");
    assert!(!html.contains(&images.base), "the page loads nothing from the URLs the bot gave");
}

#[tokio::test]
async fn images_line_would_not_show_are_recorded_with_the_reason() {
    let images = ImageServer::start().await;
    let streamed = unsized_server().await;
    let t = allowing_http().await;
    let id = t.friend("佐藤").await;
    let pass = images.url("pass.png");
    let first = json!([
        image(&images.url("missing.png"), &pass),
        image(&images.url("page.html"), &pass),
        image(&images.url("huge.png"), &pass),
        image(&pass, &images.url("large.png")),
        image(&images.url("fake.png"), &pass),
    ]);
    let second = json!([
        image(&images.url("jpeg-as-png"), &pass),
        image(&pass, &streamed),
        image("http://127.0.0.1:1/pass.png", &pass),
        image(&images.url("large.png"), &pass),
    ]);
    for messages in [first, second] {
        let (status, body) = answer(t.api_post("/v2/bot/message/push", &json!({"to": id, "messages": messages})).await).await;
        assert_eq!(status, 200, "{body}");
    }
    let inbox = fetched_inbox(&t, &id).await;
    let outcomes: Vec<(&str, &str, &str)> =
        inbox.iter().map(|m| (m["media"]["status"].as_str().unwrap(), m["media"]["reason"].as_str().unwrap_or("-"), m["media"]["error"].as_str().unwrap_or("-"))).collect();
    assert_eq!(outcomes[..7], [
        ("failed", "http_status", "originalContentUrl: HTTP 404"),
        ("failed", "content_type", "originalContentUrl: content type text/html; charset=utf-8 is not image/jpeg or image/png"),
        ("failed", "too_large", "originalContentUrl: larger than 10000000 bytes"),
        ("failed", "too_large", "previewImageUrl: larger than 1000000 bytes"),
        ("failed", "not_png_or_jpeg", "originalContentUrl: the bytes are neither PNG nor JPEG"),
        ("failed", "content_type", "originalContentUrl: the bytes are image/jpeg, but the content type says image/png"),
        ("failed", "too_large", "previewImageUrl: larger than 1000000 bytes"),
    ]);
    assert_eq!((outcomes[7].0, outcomes[7].1), ("failed", "unreachable"), "{:?}", outcomes[7]);
    assert_eq!(outcomes[8], ("fetched", "-", "-"), "1.5 MB is a fine original");
    assert_eq!(inbox[8]["media"]["bytes"], 1_500_000);
    // The original of the fourth was fine: its type and size are shown beside the preview's failure.
    assert_eq!((&inbox[3]["media"]["content_type"], &inbox[3]["media"]["bytes"]), (&json!("image/png"), &json!(png().len())));
    assert_eq!(inbox[3]["media"]["preview"]["reason"], "too_large");
    assert_eq!(inbox[0]["media"]["preview"]["status"], "fetched");

    for entry in &inbox[..8] {
        let path = content_path(&id, entry["message_id"].as_str().unwrap());
        let response = t.http.get(t.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} of a failed image");
    }
    let html = page(&t).await;
    assert_eq!(html.matches("画像を取得できませんでした").count(), 8, "{html}");
    assert!(html.contains("サーバーが HTTP 404 を返しました"), "{html}");
    assert!(html.contains("ファイルが大きすぎます（上限 1000000 バイト）"), "{html}");
    assert_eq!(html.matches(r#"<img class="media""#).count(), 1, "only the fetched one is shown");
}

#[tokio::test]
async fn the_api_answers_before_the_image_is_fetched() {
    let images = ImageServer::start().await;
    let t = allowing_http().await;
    let id = t.friend("佐藤").await;
    let push = json!({"to": id, "messages": [image(&images.url("slow.png"), &images.url("slow.png"))]});
    let (status, _) = answer(t.api_post("/v2/bot/message/push", &push).await).await;
    assert_eq!(status, 200, "answered while the image server is still holding the image back");
    let inbox = t.inbox(&id).await;
    assert_eq!(inbox[0]["media"]["status"], "pending");
    assert_eq!(inbox[0]["media"]["preview"]["status"], "pending");
    t.control(Method::GET, &content_path(&id, inbox[0]["message_id"].as_str().unwrap()), None, 404).await;
    let html = page(&t).await;
    assert!(html.contains("画像を読み込み中") && html.contains(r#"data-media="pending""#), "{html}");

    images.release();
    let inbox = fetched_inbox(&t, &id).await;
    assert_eq!(inbox[0]["media"]["status"], "fetched");
}

#[tokio::test]
async fn http_image_urls_are_refused_as_line_does_unless_allowed() {
    let images = ImageServer::start().await;
    let t = TestSandbox::start().await;
    assert_eq!(t.configure(json!({})).await["allow_http_media"], false, "LINE's rule by default");
    let id = t.friend("佐藤").await;
    let push = json!({"to": id, "messages": [image(&images.url("pass.png"), &images.url("preview.png"))]});
    let (status, body) = answer(t.api_post("/v2/bot/message/push", &push).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"message": "The request body has 2 error(s)", "details": [
            {"message": "Must be a URL with one of the schemes: https", "property": "messages[0].originalContentUrl"},
            {"message": "Must be a URL with one of the schemes: https", "property": "messages[0].previewImageUrl"},
        ]})
    );
    assert!(t.inbox(&id).await.is_empty());

    assert_eq!(t.configure(json!({"allow_http_media": true})).await["allow_http_media"], true);
    let (status, body) = answer(t.api_post("/v2/bot/message/push", &push).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fetched_inbox(&t, &id).await[0]["media"]["status"], "fetched");
    assert_eq!(images.hits("pass.png"), 1, "the refused push fetched nothing");
}

#[tokio::test]
async fn replied_and_multicast_images_are_fetched_once_per_message() {
    let images = ImageServer::start().await;
    let t = allowing_http().await;
    let (a, b, blocked) = (t.friend("佐藤").await, t.friend("鈴木").await, t.friend("高橋").await);
    t.act(&blocked, "block", None).await;
    let multicast = json!({"to": [a, b, blocked], "messages": [image(&images.url("pass.png"), &images.url("preview.png"))]});
    let (status, body) = answer(t.api_post("/v2/bot/message/multicast", &multicast).await).await;
    assert_eq!((status, body), (200, json!({})));
    let (inbox_a, inbox_b) = (fetched_inbox(&t, &a).await, fetched_inbox(&t, &b).await);
    assert_eq!(inbox_a[0]["message_id"], inbox_b[0]["message_id"], "one message, two recipients");
    assert_eq!((inbox_a[0]["media"]["status"].as_str(), inbox_b[0]["media"]["status"].as_str()), (Some("fetched"), Some("fetched")));
    assert_eq!((images.hits("pass.png"), images.hits("preview.png")), (1, 1), "fetched once, not per recipient");
    for id in [&a, &b] {
        let path = content_path(id, inbox_a[0]["message_id"].as_str().unwrap());
        assert_eq!(t.http.get(t.url(&path)).send().await.unwrap().bytes().await.unwrap().to_vec(), png());
    }
    assert!(t.inbox(&blocked).await.is_empty());

    let tokens = t.control(Method::POST, &format!("/sandbox/residents/{a}/reply-tokens"), Some(json!({"count": 1})), 200).await;
    let reply = json!({"replyToken": tokens["reply_tokens"][0], "messages": [image(&images.url("missing.png"), &images.url("preview.png"))]});
    let (status, body) = answer(t.api_post("/v2/bot/message/reply", &reply).await).await;
    assert_eq!(status, 200, "{body}");
    let inbox = fetched_inbox(&t, &a).await;
    assert_eq!(inbox[1]["message_id"], body["sentMessages"][0]["id"]);
    assert_eq!((inbox[1]["via"].as_str(), inbox[1]["media"]["reason"].as_str()), (Some("reply"), Some("http_status")));
}
