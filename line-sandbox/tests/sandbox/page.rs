//! The page at `/`: residents, their chats with pressable buttons, and scanning by URL or by
//! an uploaded QR picture.

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::helpers::{Receiver, TestSandbox};

/// A QR code for `text`, as an RGBA PNG with a quiet zone.
fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let modules = code.width();
    let scale = 6;
    let size = (modules + 8) * scale;
    let mut pixels = vec![255u8; size * size * 4];
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % modules + 4, i / modules + 4);
            for y in my * scale..(my + 1) * scale {
                for x in mx * scale..(mx + 1) * scale {
                    pixels[(y * size + x) * 4..][..3].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(size).unwrap();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Rgba);
    encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
    out
}

/// Serves `/c/GOOD` redirecting to the sandbox's deep link for `チェックイン GOOD`.
async fn venue(deep_link: String) -> String {
    let app = Router::new().route("/c/GOOD", get(move || async move { (StatusCode::FOUND, [(LOCATION, deep_link)]).into_response() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn page(t: &TestSandbox) -> String {
    let response = t.http.get(t.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn an_uploaded_qr_picture_is_read_and_scanned() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let venue = venue(t.sandbox().deep_link("チェックイン GOOD")).await;
    let id = t.resident("佐藤").await;
    let form = Form::new().text("url", "").part("qr", Part::bytes(qr_png(&format!("{venue}/c/GOOD"))).file_name("poster.png").mime_str("image/png").unwrap());
    let response = t.http.post(t.url(&format!("/ui/residents/{id}/scan"))).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/#resident-{id}").as_str());
    let types: Vec<String> = receiver.events().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, ["follow", "message"]);
    assert_eq!(receiver.events()[1]["message"]["text"], "チェックイン GOOD");
    assert!(page(&t).await.contains("「チェックイン GOOD」を送信しました"));
}

#[tokio::test]
async fn a_jpeg_upload_is_refused_with_a_japanese_notice_and_sends_nothing() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.resident("佐藤").await;
    let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
    let form = Form::new().part("qr", Part::bytes(jpeg).file_name("photo.jpg").mime_str("image/jpeg").unwrap());
    let response = t.http.post(t.url(&format!("/ui/residents/{id}/scan"))).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert!(page(&t).await.contains("JPEG画像には対応していません"));
    assert!(receiver.events().is_empty());
}

#[tokio::test]
async fn the_page_shows_residents_their_chat_and_buttons_that_post_back() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.friend("佐藤 一郎").await;
    let stranger = t.resident("鈴木 二郎").await;
    let consent = json!({"type": "template", "altText": "同意のお願い", "template": {"type": "confirm", "text": "記録に同意しますか",
        "actions": [{"type": "postback", "label": "同意する", "data": "consent=yes", "displayText": "同意する"},
                    {"type": "postback", "label": "同意しない", "data": "consent=no", "displayText": "同意しない"}]}});
    let (status, _) = crate::helpers::answer(t.api_post("/v2/bot/message/push", &json!({"to": id, "messages": [{"type": "text", "text": "ようこそ"}, consent]})).await).await;
    assert_eq!(status, 200);

    let html = page(&t).await;
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains(&format!("id=\"resident-{id}\"")) && html.contains(&format!("id=\"resident-{stranger}\"")));
    assert!(html.contains("class=\"state friend\"") && html.contains("class=\"state not-friend\""));
    assert_eq!(html.matches("<li class=\"message\"").count(), 2, "{html}");
    assert!(html.contains("ようこそ") && html.contains("記録に同意しますか"));
    assert!(html.contains("form class=\"scan\"") && html.contains("name=\"url\"") && html.contains("type=\"file\" name=\"qr\""));
    assert!(!html.contains("<script") && !html.contains("https://"), "no scripts, no external resources");

    // Pressing 同意する posts its data back as a postback event.
    let response = t
        .http
        .post(t.url(&format!("/ui/residents/{id}/postback")))
        .form(&[("data", "consent=yes"), ("display_text", "同意する")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let events = receiver.events();
    assert_eq!(events.last().unwrap()["postback"], json!({"data": "consent=yes"}));
    let html = page(&t).await;
    assert!(html.contains("<li class=\"sent\" data-postback=\"consent=yes\">"), "{html}");
}

#[tokio::test]
async fn residents_are_created_blocked_and_unblocked_from_the_page() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let response = t.http.post(t.url("/ui/residents")).form(&[("display_name", "高橋 三郎")]).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let id = t.sandbox().residents()[0].user_id.clone();
    for action in ["follow", "block", "follow"] {
        let response = t.http.post(t.url(&format!("/ui/residents/{id}/{action}"))).send().await.unwrap();
        assert_eq!(response.status(), 303);
    }
    let types: Vec<String> = receiver.events().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, ["follow", "unfollow", "follow"]);
    let response = t.http.post(t.url(&format!("/ui/residents/{id}/text"))).form(&[("text", "こんばんは")]).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(receiver.events()[3]["message"]["text"], "こんばんは");
    assert!(page(&t).await.contains("メッセージを送信しました（webhook: HTTP 200）"));
}
