//! Venue registration end to end: the real `oshirase-server` binary over real HTTP with a
//! fresh SQLite file per test. Posters are checked the way they will be used: rasterised
//! and scanned (poppler + rqrr), and their text extracted. Refused input is proved to have
//! stored nothing by counting rows in the database file itself.

use std::path::Path;

use oshirase_e2e::{TestServer, decode_qr_png, pdf_page_to_png, pdf_pages, pdf_text, pdf_to_png, run_server_binary, valid_venue};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

/// What a withdrawn code's page says.
const WITHDRAWN_TEXT: &str = "このQRコードは現在受け付けていません";
/// What an unknown code's page says.
const UNKNOWN_TEXT: &str = "このQRコードは登録されていません";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_venue_gets_a_checkin_url_and_a_poster_whose_qr_code_holds_it() {
    let server = TestServer::start().await;
    let body = server.register(&valid_venue("カフェ・ド・浦和")).await;
    let venue = &body["venues"][0];
    let code = text(venue, "code");
    let checkin_url = text(venue, "checkin_url");
    assert_eq!(checkin_url, format!("{}/C/{code}", server.base_url().to_ascii_uppercase()), "QR URLs are upper-case to stay alphanumeric");
    assert_eq!(text(venue, "status"), "active");
    assert_eq!(text(venue, "postal_code"), "330-9301");
    assert!(text(&body["registration"], "manage_token").len() >= 43, "{body}");

    for url in [checkin_url.clone(), server.url(&format!("/c/{code}")), server.url(&format!("/c/{}", code.to_ascii_lowercase()))] {
        server.assert_leads_into_line(&url, &code).await;
    }

    let poster = server.get(&text(venue, "poster_pdf_url")).await;
    assert_eq!(poster.status(), StatusCode::OK);
    assert_eq!(header(&poster, CONTENT_TYPE), "application/pdf");
    let poster = poster.bytes().await.expect("poster").to_vec();
    assert_eq!(pdf_pages(&poster), 1);
    assert_eq!(decode_qr_png(&pdf_to_png(&poster, 150)), vec![checkin_url.clone()], "the printed QR code scans to the check-in URL");
    let poster_text = pdf_text(&poster);
    assert!(poster_text.contains("カフェ・ド・浦和"), "the poster names the venue:\n{poster_text}");

    let png = server.get(&text(venue, "qr_png_url")).await;
    assert_eq!(header(&png, CONTENT_TYPE), "image/png");
    assert_eq!(decode_qr_png(&png.bytes().await.expect("qr.png")), vec![checkin_url]);

    let svg = server.get(&text(venue, "qr_svg_url")).await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(header(&svg, CONTENT_TYPE), "image/svg+xml");
    let svg = svg.text().await.expect("qr.svg");
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"), "qr.svg is an SVG document:\n{svg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_registration_gives_each_place_its_own_code_and_poster_page() {
    let server = TestServer::start().await;
    let names = ["浦和店 1階", "浦和店 2階", "大宮店"];
    let body = server.register_bulk(&names.map(valid_venue)).await;
    let venues = body["venues"].as_array().expect("venues");
    assert_eq!(venues.len(), 3);
    let codes: std::collections::HashSet<String> = venues.iter().map(|v| text(v, "code")).collect();
    let locations: std::collections::HashSet<String> = venues.iter().map(|v| text(v, "location_id")).collect();
    assert_eq!((codes.len(), locations.len()), (3, 3), "every place has its own code and location id: {body}");
    for (venue, name) in venues.iter().zip(names) {
        assert_eq!(text(venue, "name"), name, "places keep their order");
    }

    let token = text(&body["registration"], "manage_token");
    let listed = server.manage(&token).await;
    assert_eq!(listed["venues"].as_array().map(Vec::len), Some(3), "one token manages all three places");

    let posters = server.get_bytes(&format!("/manage/{token}/posters.pdf")).await;
    assert_eq!(pdf_pages(&posters), 3);
    for (page, venue) in venues.iter().enumerate() {
        let scanned = decode_qr_png(&pdf_page_to_png(&posters, page + 1, 150));
        assert_eq!(scanned, vec![text(venue, "checkin_url")], "page {} holds the QR code of {}", page + 1, text(venue, "name"));
    }
    let all_text = pdf_text(&posters);
    for name in names {
        assert!(all_text.contains(name), "the posters name {name}:\n{all_text}");
    }
    assert_eq!(venue_rows(&server.database_path()), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_registration_with_one_bad_row_stores_nothing() {
    let server = TestServer::start().await;
    let mut bad = valid_venue("郵便番号が違う店");
    bad["postal_code"] = json!("12345");
    let response = server.post_json("/api/v1/venues/bulk", &json!({ "venues": [valid_venue("正しい店A"), bad, valid_venue("正しい店B")] })).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    let places = body["error"]["places"].as_array().expect("errors listed per place");
    assert_eq!(places.len(), 1, "only the bad row is named: {body}");
    assert_eq!(places[0]["index"], 1);
    assert!(text(&places[0]["fields"]["postal_code"], "message").contains("7桁"), "{body}");

    assert_eq!(venue_rows(&server.database_path()), 0, "the two good rows were not stored either");
    assert_eq!(registration_rows(&server.database_path()), 0);
    let metrics = server.metrics().await;
    assert!(metrics.contains("oshirase_venue_places_registered_total 0"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_code_is_refused_and_withdrawal_needs_the_right_secret() {
    let server = TestServer::start().await;
    let body = server.register(&valid_venue("取り下げる店")).await;
    let other = server.register(&valid_venue("よその店")).await;
    let token = text(&body["registration"], "manage_token");
    let venue = &body["venues"][0];
    let (code, location) = (text(venue, "code"), text(venue, "location_id"));
    let poster_url = text(venue, "poster_pdf_url");
    let qr_png_url = text(venue, "qr_png_url");

    let forged = forge(&token);
    for wrong in [forged.as_str(), "not-a-token", ""] {
        let response = server.withdraw(wrong, &location).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "token {wrong:?}");
    }
    let no_header = server.client().post(server.url(&format!("/api/v1/manage/venues/{location}/withdraw"))).send().await.expect("POST");
    assert_eq!(no_header.status(), StatusCode::UNAUTHORIZED);
    let someone_elses = server.withdraw(&text(&other["registration"], "manage_token"), &location).await;
    assert_eq!(someone_elses.status(), StatusCode::NOT_FOUND, "a secret only reaches its own places");
    server.assert_leads_into_line(&format!("/c/{code}"), &code).await; // nothing changed
    assert_eq!(server.manage(&token).await["venues"][0]["status"], "active");

    let withdrawn = server.withdraw(&token, &location).await;
    assert_eq!(withdrawn.status(), StatusCode::OK);
    let withdrawn: Value = withdrawn.json().await.expect("JSON");
    assert_eq!(withdrawn["venues"][0]["status"], "withdrawn", "{withdrawn}");
    assert!(withdrawn["venues"][0].get("poster_pdf_url").is_none(), "no poster is offered for a withdrawn place");
    let withdrawn_at = withdrawn["venues"][0]["withdrawn_at"].clone();
    assert!(withdrawn_at.is_string(), "{withdrawn}");

    for path in [format!("/c/{code}"), format!("/C/{code}")] {
        let page = server.get(&path).await;
        assert_eq!(page.status(), StatusCode::GONE, "GET {path}");
        assert!(page.text().await.expect("page").contains(WITHDRAWN_TEXT), "{path} explains the code is withdrawn");
    }
    for url in [poster_url, qr_png_url] {
        assert_eq!(server.get(&url).await.status(), StatusCode::NOT_FOUND, "{url}");
    }

    let again = server.withdraw(&token, &location).await;
    assert_eq!(again.status(), StatusCode::OK, "withdrawing twice is harmless");
    let again: Value = again.json().await.expect("JSON");
    assert_eq!(again["venues"][0]["withdrawn_at"], withdrawn_at, "the first withdrawal time stays");
    assert!(server.metrics().await.contains("oshirase_venue_withdrawals_total 1"), "counted once");
    assert_eq!(server.withdraw(&token, "00000000000000000000000000").await.status(), StatusCode::NOT_FOUND);

    let other_code = text(&other["venues"][0], "code");
    server.assert_leads_into_line(&format!("/c/{other_code}"), &other_code).await; // other venues are untouched

    for unknown in ["/c/0000000000", "/C/ZZZZZZZZZZ", "/c/not-a-code!"] {
        let page = server.get(unknown).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "GET {unknown}");
        assert!(page.text().await.expect("page").contains(UNKNOWN_TEXT), "{unknown} explains the code is unknown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_clear_answer_and_changes_nothing() {
    let server = TestServer::start_with(&[("OSHIRASE_LIMITS__BULK_MAX_PLACES", "2")]).await;
    server.register(&valid_venue("最初の店")).await;
    let database = server.database_path();
    let valid = serde_json::to_string(&valid_venue("送ってはいけない店")).expect("JSON");

    let malformed = server.post_raw("/api/v1/venues", "application/json", r#"{"name": "#).await;
    assert_error(malformed, StatusCode::BAD_REQUEST, "malformed_body").await;

    let wrong_type = server.post_raw("/api/v1/venues", "text/plain", valid.clone()).await;
    assert_error(wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;

    let mut unknown_field = valid_venue("送ってはいけない店");
    unknown_field["fax"] = json!("048-000-0000");
    assert_error(server.post_json("/api/v1/venues", &unknown_field).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields").await;

    let oversized = valid_venue(&"あ".repeat(100 * 1024 / 3 + 100));
    assert_error(server.post_json("/api/v1/venues", &oversized).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let mut invalid = valid_venue("送ってはいけない店");
    invalid["postal_code"] = json!("12345");
    invalid["phone"] = json!("123");
    invalid["email"] = json!("not-an-address");
    invalid["daily_visitors"] = json!(0);
    let response = server.post_json("/api/v1/venues", &invalid).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields = body["error"]["fields"].as_object().expect("errors per field");
    let mut named: Vec<&str> = fields.keys().map(String::as_str).collect();
    named.sort_unstable();
    assert_eq!(named, ["daily_visitors", "email", "phone", "postal_code"], "exactly the bad fields: {body}");
    assert!(text(&fields["postal_code"], "message").contains("7桁"), "{body}");
    assert_eq!(text(&fields["postal_code"], "code"), "postal_code_format");
    for field in fields.values() {
        let message = text(field, "message");
        assert!(message.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)), "messages are in Japanese: {message}");
        assert!(!text(field, "message_en").is_empty());
    }

    let empty = server.post_json("/api/v1/venues/bulk", &json!({ "venues": [] })).await;
    assert_error(empty, StatusCode::UNPROCESSABLE_ENTITY, "no_places").await;
    let three = ["店1", "店2", "店3"].map(valid_venue);
    let too_many = server.post_json("/api/v1/venues/bulk", &json!({ "venues": three })).await;
    assert_error(too_many, StatusCode::UNPROCESSABLE_ENTITY, "too_many_places").await;

    let form = [("business_type", "restaurant"), ("daily_visitors", "10"), ("name", "フォームの店"), ("postal_code", "12345"), ("address", "埼玉県"), ("phone", "0488242111"), ("email", "a@example.jp")];
    let page = server.client().post(server.url("/venues")).form(&form).send().await.expect("POST /venues");
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = page.text().await.expect("page");
    assert!(page.contains("id=\"postal_code-error\"") && page.contains("7桁"), "the form shows the error beside the field");
    assert!(page.contains("value=\"フォームの店\""), "the form keeps what was typed");
    let garbage = server.post_raw("/venues", "application/x-www-form-urlencoded", "nonsense=1").await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);

    assert_eq!(venue_rows(&database), 1, "only the first, valid registration is stored");
    assert_eq!(registration_rows(&database), 1);
    assert!(server.metrics().await.contains("oshirase_venue_places_registered_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_and_withdrawals_survive_a_server_restart() {
    let server = TestServer::start().await;
    let body = server.register_bulk(&["残る店", "取り下げた店"].map(valid_venue)).await;
    let token = text(&body["registration"], "manage_token");
    let kept = text(&body["venues"][0], "code");
    let gone = text(&body["venues"][1], "code");
    assert_eq!(server.withdraw(&token, &text(&body["venues"][1], "location_id")).await.status(), StatusCode::OK);

    let server = server.restart().await;

    let page = server.get(&format!("/manage/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    assert!(page.contains("残る店") && page.contains("取り下げた店"), "the management page still lists both places");
    let listed = server.manage(&token).await;
    assert_eq!(listed["venues"][0]["status"], "active");
    assert_eq!(listed["venues"][1]["status"], "withdrawn");
    assert_eq!(text(&listed["venues"][0], "checkin_url"), format!("{}/C/{kept}", server.base_url().to_ascii_uppercase()));

    server.assert_leads_into_line(&format!("/C/{kept}"), &kept).await;
    assert_eq!(server.get(&format!("/C/{gone}")).await.status(), StatusCode::GONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer_without_leaking_codes_or_secrets() {
    let server = TestServer::start().await;
    for (path, expected) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = server.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        assert_eq!(response.text().await.expect("body").trim(), expected);
    }
    let body = server.register(&valid_venue("計測される店")).await;
    let code = text(&body["venues"][0], "code");
    let token = text(&body["registration"], "manage_token");
    server.assert_leads_into_line(&format!("/c/{code}"), &code).await;
    assert_eq!(server.get(&format!("/manage/{token}")).await.status(), StatusCode::OK);

    let metrics = server.metrics().await;
    assert!(metrics.contains(r#"oshirase_http_requests_total{method="GET",route="/c/{code}",status="303"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"route="/manage/{token}""#), "{metrics}");
    assert!(metrics.contains(r#"oshirase_venue_registrations_total{channel="api"} 1"#), "{metrics}");
    assert!(metrics.contains("oshirase_venue_places_registered_total 1"), "{metrics}");
    assert!(!metrics.contains(&code), "raw codes never become labels");
    assert!(!metrics.contains(&token), "secrets never become labels");
    assert!(!server.output().contains(&token), "the management secret never reaches the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_bearer_token_when_one_is_configured() {
    let server = TestServer::start_with(&[("OSHIRASE_METRICS__TOKEN", "secret")]).await;
    let url = server.url("/metrics");
    let anonymous = server.client().get(&url).send().await.expect("GET /metrics");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    for wrong in ["Bearer wrong", "Bearer secret2", "Basic c2VjcmV0", "secret"] {
        let response = server.client().get(&url).header(AUTHORIZATION, wrong).send().await.expect("GET /metrics");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "Authorization: {wrong}");
    }
    let allowed = server.client().get(&url).bearer_auth("secret").send().await.expect("GET /metrics");
    assert_eq!(allowed.status(), StatusCode::OK);
    assert!(allowed.text().await.expect("body").contains("oshirase_http_requests_total"));
    assert_eq!(server.get("/healthz").await.status(), StatusCode::OK, "health checks stay open");
}

#[test]
fn the_help_is_in_english_and_mentions_the_config_option() {
    let output = run_server_binary(&["--help"], &[]);
    assert!(output.status.success(), "--help exits with success");
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    for expected in ["Usage:", "--config", "serve", "check-config"] {
        assert!(help.contains(expected), "--help mentions {expected}:\n{help}");
    }
    assert!(help.is_ascii(), "the help is plain English:\n{help}");
}

#[test]
fn check_config_prints_the_settings_but_never_a_secret() {
    let output = run_server_binary(&["check-config"], &[("OSHIRASE_METRICS__TOKEN", "topsecret"), ("OSHIRASE_LIMITS__BULK_MAX_PLACES", "17")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "check-config succeeds:\n{stdout}\n{stderr}");
    assert!(stdout.contains("17"), "the effective settings are printed:\n{stdout}");
    assert!(!stdout.contains("topsecret") && !stderr.contains("topsecret"), "the token is redacted:\n{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shift_jis_csv_upload_registers_every_row_and_opens_the_management_page() {
    let server = TestServer::start().await;
    let csv = "業態,1日あたり利用想定人数,施設・店舗・イベント名,郵便番号,住所,電話番号,メールアドレス\r\n\
               飲食店,80,浦和の喫茶店,330-9301,埼玉県さいたま市浦和区高砂3-15-1,048-824-2111,a@example.jp\r\n\
               小売店,1200,大宮の本屋,３３０－０８５３,埼玉県さいたま市大宮区錦町630,090-1234-5678,b@example.jp\r\n";
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(csv);
    assert!(!unmappable, "the sample CSV is representable in Shift_JIS");
    assert!(std::str::from_utf8(&sjis).is_err(), "the upload really is not UTF-8");
    let part = reqwest::multipart::Part::bytes(sjis.into_owned()).file_name("店舗一覧.csv").mime_str("text/csv").expect("mime");
    let form = reqwest::multipart::Form::new().part("csv", part).text("csv_text", "");
    let response = server.client().post(server.url("/venues/bulk")).multipart(form).send().await.expect("POST /venues/bulk");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = header(&response, LOCATION);
    let token = location
        .strip_prefix("/manage/")
        .and_then(|rest| rest.strip_suffix("?registered=1"))
        .unwrap_or_else(|| panic!("redirected to the management page, not {location}"));

    let page = server.get(&location).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    assert!(page.contains("id=\"registered\""), "the page confirms the registration");
    assert!(page.contains("浦和の喫茶店") && page.contains("大宮の本屋"), "Shift_JIS names arrive intact");
    let listed = server.manage(token).await;
    assert_eq!(listed["venues"][1]["postal_code"], "330-0853", "full-width postal codes are normalised");
    assert_eq!(listed["venues"][1]["daily_visitors"], 1200);
    assert_eq!(venue_rows(&server.database_path()), 2);
    assert!(server.metrics().await.contains(r#"oshirase_venue_registrations_total{channel="bulk_form"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_upload_with_a_bad_row_registers_nothing_and_names_the_line() {
    let server = TestServer::start().await;
    let csv = "業態,1日あたり利用想定人数,施設・店舗・イベント名,郵便番号,住所,電話番号,メールアドレス\n\
               飲食店,80,良い店,330-9301,埼玉県さいたま市,048-824-2111,a@example.jp\n\
               飲食店,80,悪い店,12345,埼玉県さいたま市,048-824-2111,b@example.jp\n";
    let form = reqwest::multipart::Form::new().text("csv_text", csv);
    let response = server.client().post(server.url("/venues/bulk")).multipart(form).send().await.expect("POST /venues/bulk");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("page");
    assert!(page.contains("何も登録されていません"), "the page says nothing was registered");
    assert!(page.contains("<td>3</td>") && page.contains("7桁"), "the page names line 3 and the postal-code rule");
    assert_eq!(venue_rows(&server.database_path()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_announces_its_address_on_the_first_stdout_line() {
    let server = TestServer::start().await;
    let stdout = server.startup_stdout();
    assert_eq!(
        stdout.len(),
        1,
        "scripts read the first stdout line to find the port, so logs must not come before it (send them to stderr):\n{}",
        stdout.join("\n")
    );
    assert_eq!(stdout[0], format!("oshirase-server listening on {}", server.base_url()));
}

/// A string field of a JSON object, failing clearly if it is missing.
fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("{key} is missing from {value}")).to_owned()
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    let value = response.headers().get(&name).unwrap_or_else(|| panic!("no {name} header"));
    value.to_str().expect("ASCII header").to_owned()
}

/// Asserts an API error's status and code; returns its body.
async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.expect("errors are JSON");
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(!text(&body["error"], "message").is_empty(), "{body}");
    body
}

/// A well-formed management secret that differs from `token` in its first character.
fn forge(token: &str) -> String {
    let first = if token.starts_with('A') { 'B' } else { 'A' };
    format!("{first}{}", &token[1..])
}

fn venue_rows(database: &Path) -> i64 {
    count_rows(database, "venues")
}

fn registration_rows(database: &Path) -> i64 {
    count_rows(database, "registrations")
}

/// Counts rows straight from the server's SQLite file (read-only, beside the running server).
fn count_rows(database: &Path, table: &str) -> i64 {
    let connection = rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("open {}: {e}", database.display()));
    connection.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).unwrap_or_else(|e| panic!("count {table}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_systemd_the_server_reports_ready_and_pings_the_watchdog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("timeout");
    let path = socket_path.to_str().expect("UTF-8 path").to_owned();
    let _server = TestServer::start_with(&[("NOTIFY_SOCKET", path.as_str()), ("WATCHDOG_USEC", "200000")]).await;
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !(seen.iter().any(|m: &String| m.contains("READY=1")) && seen.iter().any(|m| m.contains("WATCHDOG=1"))) {
        let n = socket.recv(&mut buf).unwrap_or_else(|e| panic!("no notification within 20 s (got {seen:?}): {e}"));
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
}
