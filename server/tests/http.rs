//! Handler tests through `app()` with `oneshot`: no socket, a real SQLite file in a temp
//! folder, the real poster renderer.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use oshirase_server::config::LimitSettings;
use serde_json::{Value, json};
use support::{TestApp, json_body, text};

fn valid() -> Value {
    json!({
        "business_type": "restaurant",
        "daily_visitors": 120,
        "name": "カフェ・ド・浦和",
        "postal_code": "330-9301",
        "address": "埼玉県さいたま市浦和区高砂3-15-1",
        "phone": "048-824-2111",
        "email": "info@example.jp"
    })
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn a_venue_registers_through_the_api_and_gets_its_code_and_secret_once() {
    let app = TestApp::new();
    let response = app.post_json("/api/v1/venues", &valid().to_string()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body = json_body(response).await;
    let token = body["registration"]["manage_token"].as_str().unwrap().to_owned();
    let venue = &body["venues"][0];
    let code = venue["code"].as_str().unwrap();
    assert_eq!(venue["checkin_url"], format!("HTTPS://OSHIRASE.EXAMPLE.JP/C/{code}"));
    assert_eq!(venue["name"], "カフェ・ド・浦和");
    assert_eq!(venue["phone"], "0488242111");
    assert_eq!(venue["postal_code"], "330-9301");
    assert_eq!(app.venue_rows(), 1);

    // The management view never hands the secret out again.
    let manage = app.send(Request::get("/api/v1/manage").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()).await;
    assert_eq!(manage.status(), StatusCode::OK);
    let manage = json_body(manage).await;
    assert!(manage["registration"].get("manage_token").is_none());
    assert_eq!(manage["venues"][0]["code"], code);
}

#[tokio::test]
async fn the_stored_secret_is_a_hash_not_the_token() {
    let app = TestApp::new();
    let body = json_body(app.post_json("/api/v1/venues", &valid().to_string()).await).await;
    let token = body["registration"]["manage_token"].as_str().unwrap();
    let stored: Vec<u8> = rusqlite::Connection::open(&app.db).unwrap().query_row("SELECT manage_token_hash FROM registrations", [], |r| r.get(0)).unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(token));
    let raw = std::fs::read(&app.db).unwrap();
    assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()), "the token is in the database file");
}

#[tokio::test]
async fn invalid_fields_get_a_japanese_message_per_field_and_store_nothing() {
    let app = TestApp::new();
    let mut form = valid();
    form["postal_code"] = json!("12345");
    form["email"] = json!("not-an-email");
    form["daily_visitors"] = json!(0);
    let response = app.post_json("/api/v1/venues", &form.to_string()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json_body(response).await;
    let fields = &body["error"]["fields"];
    assert!(fields["postal_code"]["message"].as_str().unwrap().contains("7桁"));
    assert_eq!(fields["email"]["code"], "email_format");
    assert_eq!(fields["daily_visitors"]["code"], "out_of_range");
    assert!(fields.get("name").is_none());
    assert_eq!(app.venue_rows(), 0);
}

#[tokio::test]
async fn malformed_bodies_get_a_clear_error_and_store_nothing() {
    let app = TestApp::with_limits(LimitSettings { body_bytes: 4096, ..LimitSettings::default() });
    let cases: Vec<(Response, StatusCode, &str)> = vec![
        (app.post_json("/api/v1/venues", "{\"name\": ").await, StatusCode::BAD_REQUEST, "malformed_body"),
        (app.post_json("/api/v1/venues", "[1,2]").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
        (app.post_json("/api/v1/venues", &json!({"fax": "1"}).to_string()).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
        (app.post_json("/api/v1/venues", &json!({"name": 5}).to_string()).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
        (
            app.send(Request::post("/api/v1/venues").header(header::CONTENT_TYPE, "text/plain").body(Body::from(valid().to_string())).unwrap()).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            app.post_json("/api/v1/venues", &json!({"name": "あ".repeat(5000)}).to_string()).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (response, status, code) in cases {
        assert_eq!(response.status(), status);
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(app.venue_rows(), 0);
}

#[tokio::test]
async fn bulk_registration_is_all_or_nothing() {
    let app = TestApp::new();
    let mut bad = valid();
    bad["phone"] = json!("12");
    let response = app.post_json("/api/v1/venues/bulk", &json!({"venues": [valid(), bad, valid()]}).to_string()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json_body(response).await;
    assert_eq!(body["error"]["places"][0]["index"], 1);
    assert_eq!(body["error"]["places"][0]["fields"]["phone"]["code"], "phone_format");
    assert_eq!(app.venue_rows(), 0);

    let mut second = valid();
    second["name"] = json!("カフェ・ド・浦和 2号店");
    let response = app.post_json("/api/v1/venues/bulk", &json!({"venues": [valid(), second]}).to_string()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json_body(response).await;
    let token = body["registration"]["manage_token"].as_str().unwrap();
    assert_eq!(body["registration"]["posters_pdf_url"], format!("https://oshirase.example.jp/manage/{token}/posters.pdf"));
    let codes: Vec<&str> = body["venues"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), 2);
    assert_ne!(codes[0], codes[1]);
    assert_eq!(app.venue_rows(), 2);
}

#[tokio::test]
async fn bulk_registration_refuses_empty_and_oversized_lists() {
    let app = TestApp::with_limits(LimitSettings { bulk_max_places: 2, ..LimitSettings::default() });
    let empty = app.post_json("/api/v1/venues/bulk", r#"{"venues": []}"#).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_body(empty).await["error"]["code"], "no_places");
    let many = app.post_json("/api/v1/venues/bulk", &json!({"venues": [valid(), valid(), valid()]}).to_string()).await;
    assert_eq!(many.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_body(many).await["error"]["code"], "too_many_places");
    assert_eq!(app.venue_rows(), 0);
}

#[tokio::test]
async fn the_html_form_shows_errors_beside_the_fields_and_keeps_the_values() {
    let app = TestApp::new();
    let body = form_body(&[
        ("business_type", "restaurant"),
        ("daily_visitors", "120"),
        ("name", "カフェ・ド・浦和"),
        ("postal_code", "12345"),
        ("address", "埼玉県さいたま市浦和区高砂3-15-1"),
        ("phone", "048-824-2111"),
        ("email", "info@example.jp"),
    ]);
    let response = app.post_form("/venues", &body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains("id=\"postal_code-error\""));
    assert!(html.contains("郵便番号は7桁の数字で入力してください"));
    assert!(html.contains("value=\"カフェ・ド・浦和\""));
    assert!(!html.contains("id=\"email-error\""));
    assert_eq!(app.venue_rows(), 0);
}

#[tokio::test]
async fn a_valid_html_form_redirects_to_the_new_management_page() {
    let app = TestApp::new();
    let body = form_body(&[
        ("business_type", "cinema_theatre"),
        ("daily_visitors", "１，２００"),
        ("name", "シネマ浦和 スクリーン3"),
        ("postal_code", "３３０－９３０１"),
        ("address", "埼玉県さいたま市浦和区高砂3-15-1"),
        ("phone", "０４８－８２４－２１１１"),
        ("email", "cinema@example.jp"),
    ]);
    let response = app.post_form("/venues", &body).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("/manage/") && location.ends_with("?registered=1"), "{location}");
    let page = app.get(&location).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = text(page).await;
    assert!(html.contains("登録が完了しました"));
    assert!(html.contains("シネマ浦和 スクリーン3"));
    assert!(html.contains("1200人"));
    // The notice shows the full management URL so the venue can save it.
    assert!(html.contains(&format!("https://oshirase.example.jp{}", location.trim_end_matches("?registered=1"))));
}

#[tokio::test]
async fn the_html_form_refuses_unknown_fields_and_wrong_content_types() {
    let app = TestApp::new();
    assert_eq!(app.post_form("/venues", "name=x&admin=1").await.status(), StatusCode::BAD_REQUEST);
    let json = app.post_json("/venues", &valid().to_string()).await;
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(text(json).await.contains("lang=\"ja\""));
    assert_eq!(app.venue_rows(), 0);
}

#[tokio::test]
async fn an_active_code_leads_into_line_and_a_withdrawn_one_is_refused_with_a_japanese_page() {
    let app = TestApp::new();
    let body = json_body(app.post_json("/api/v1/venues", &valid().to_string()).await).await;
    let token = body["registration"]["manage_token"].as_str().unwrap().to_owned();
    let code = body["venues"][0]["code"].as_str().unwrap().to_owned();
    let location = body["venues"][0]["location_id"].as_str().unwrap().to_owned();

    // An active code leads into LINE: the chat opens with the check-in text and the code.
    let deep_link = format!("https://line.me/R/oaMessage/%40oshirase/?%E6%9D%A5%E5%A0%B4%E7%99%BB%E9%8C%B2%20{code}");
    let before = app.get(&format!("/C/{code}")).await;
    assert_eq!(before.status(), StatusCode::SEE_OTHER);
    assert_eq!(before.headers()[header::LOCATION], deep_link.as_str());
    let lower = app.get(&format!("/c/{}", code.to_lowercase())).await;
    assert_eq!(lower.headers()[header::LOCATION], deep_link.as_str());

    // Withdrawal needs the confirmation box.
    let unconfirmed = app.post_form(&format!("/manage/{token}/venues/{location}/withdraw"), "").await;
    assert_eq!(unconfirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&format!("/C/{code}")).await.status(), StatusCode::SEE_OTHER);

    let confirmed = app.post_form(&format!("/manage/{token}/venues/{location}/withdraw"), "confirm=yes").await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let after = app.get(&format!("/C/{code}")).await;
    assert_eq!(after.status(), StatusCode::GONE);
    let html = text(after).await;
    assert!(html.contains("このQRコードは現在受け付けていません"));
    assert!(!html.contains("カフェ・ド・浦和"), "a withdrawn code's page must not name the venue");
    assert_eq!(app.get(&format!("/manage/{token}/venues/{location}/poster.pdf")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_codes_and_secrets_are_plain_not_found() {
    let app = TestApp::new();
    let unknown = app.get("/c/7K3M9QX2P4").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(text(unknown).await.contains("このQRコードは登録されていません"));
    assert_eq!(app.get("/c/not-a-code!").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/manage/{}", "A".repeat(43))).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/manage/short").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/no/such/page").await.status(), StatusCode::NOT_FOUND);
    let api = app.send(Request::get("/api/v1/manage").header(header::AUTHORIZATION, format!("Bearer {}", "A".repeat(43))).body(Body::empty()).unwrap()).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/manage").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn posters_and_codes_download_for_an_active_place() {
    let app = TestApp::new();
    let body = json_body(app.post_json("/api/v1/venues", &valid().to_string()).await).await;
    let token = body["registration"]["manage_token"].as_str().unwrap();
    let location = body["venues"][0]["location_id"].as_str().unwrap();
    let base = format!("/manage/{token}/venues/{location}");
    for (file, content_type, magic) in [("poster.pdf", "application/pdf", &b"%PDF"[..]), ("qr.png", "image/png", &b"\x89PNG"[..]), ("qr.svg", "image/svg+xml", &b"<svg"[..])] {
        let response = app.get(&format!("{base}/{file}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
        assert!(response.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
        let head = &bytes[start..];
        assert!(head.starts_with(magic) || (file == "qr.svg" && String::from_utf8_lossy(head).contains("<svg")), "{file}");
    }
    assert_eq!(app.get(&format!("{base}/secrets.txt")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_page_carries_security_headers() {
    let app = TestApp::new();
    let response = app.get("/venues/new").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = text(response).await;
    assert!(html.contains("<html lang=\"ja\">"));
    for label in ["業態", "1日あたり利用想定人数", "施設・店舗・イベント名", "郵便番号", "住所", "電話番号", "メールアドレス"] {
        assert!(html.contains(label), "{label}");
    }
    for kind in ["飲食店", "小売店", "商業施設", "映画館・劇場", "集会場・展示場", "博物館・美術館", "運動施設", "屋内イベント", "屋外イベント", "その他"] {
        assert!(html.contains(kind), "{kind}");
    }
}

#[tokio::test]
async fn the_bulk_csv_template_downloads_with_japanese_headers() {
    let app = TestApp::new();
    let response = app.get("/venues/bulk/template.csv").await;
    assert_eq!(response.status(), StatusCode::OK);
    let csv = text(response).await;
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("業態,1日あたり利用想定人数,施設・店舗・イベント名,郵便番号,住所,電話番号,メールアドレス"));
}

#[tokio::test]
async fn readiness_and_metrics_answer() {
    let app = TestApp::new();
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let _ = app.post_json("/api/v1/venues", &valid().to_string()).await;
    let metrics = text(app.get("/metrics").await).await;
    assert!(metrics.contains("oshirase_venue_registrations_total{channel=\"api\"} 1"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/venues\",status=\"201\""), "{metrics}");
}

#[tokio::test]
async fn the_public_pages_explain_the_service_and_state_the_retention_period() {
    let app = TestApp::new();
    let privacy = text(app.get("/privacy").await).await;
    assert!(privacy.contains("読み取った日から31日が過ぎると自動的に削除します"), "{privacy}");
    assert!(privacy.contains("版：2026-11"));
    let faq = text(app.get("/faq").await).await;
    assert!(faq.contains("お知らせに日時や場所は書かれていますか？"));
    let how = text(app.get("/how-it-works").await).await;
    assert!(how.contains("<html lang=\"ja\">") && how.contains("利用する方へ"));
}
