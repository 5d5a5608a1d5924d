//! The whole alert journey (issue 6), end to end with the real binaries: the server, the LINE
//! sandbox and a paired kiosk. Venues register (one with a printed poster, one with a kiosk,
//! a third as a bystander); sandbox residents scan at chosen times; an investigator records
//! where and when a positive person was, previews counts, a second staff member approves, and
//! the server's sender multicasts the alert. Then:
//!
//! - exactly the residents whose assumed stay overlaps get one alert each (a resident seen at
//!   both places too), and nobody else gets anything: not the one outside the window, not the
//!   one who blocked the account (counted apart in the preview), not the one who deleted
//!   their data, not the one at another place;
//! - no alert names a place, an address, a postal code, a date or a time (R9), checked on
//!   every message the sandbox delivered to anybody during the test;
//! - the venues see exactly the same management page and API answers before any visit and
//!   after the alert was sent (R17).
//!
//! The time window is designed so that minutes decide: a kiosk accepts codes up to five
//! minutes old and the visit is stored at the code's step time, so older codes (made from
//! the kiosk's own secret in its `identity.json`, as a phone that photographed the screen
//! earlier would show them) give visits 1, 2, 3 and 4 minutes ago. The case overrides the
//! dwell time and the tail with one minute each; with the defaults (a hall: 120 minutes'
//! dwell, 30 minutes' tail) everyone at the kiosk would match.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use oshirase_common::kiosk_token::{KioskId, KioskSecret, KioskToken, Steps};
use oshirase_e2e::line::now_ms;
use oshirase_e2e::texts::{assert_japanese_first, button, catalog, confirm_templates, jst, texts};
use oshirase_e2e::{KioskProcess, LineWorld, TestServer, pair_kiosk};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The consultation contact the alert gives. No digits on purpose: any digit in an alert must
/// then have come from somewhere it must not (a date, a time, a postal code, a code).
const CONTACT: &str = "県の受診・相談センター（お住まいの地域の保健所）";
/// Seconds per kiosk code (the server's default, which the kiosk learns when it pairs).
const STEP_SECONDS: u32 = 30;
/// How long the case may take from approval to "sent".
const SENDING_WAIT: Duration = Duration::from_secs(30);

/// A place registered through the JSON API, with everything that identifies it.
#[derive(Debug, Clone)]
struct Place {
    name: String,
    address: String,
    postal_code: String,
    phone: String,
    email: String,
    code: String,
    location_id: String,
    checkin_url: String,
    manage_token: String,
}

async fn register(server: &TestServer, business_type: &str, name: &str, postal_code: &str, address: &str, phone: &str, email: &str) -> Place {
    let form = json!({
        "business_type": business_type, "daily_visitors": 150, "name": name, "postal_code": postal_code,
        "address": address, "phone": phone, "email": email,
    });
    let body = server.register(&form).await;
    let venue = &body["venues"][0];
    let field = |v: &Value, key: &str| v[key].as_str().unwrap_or_else(|| panic!("registration answer lacks {key}: {body}")).to_owned();
    Place {
        name: name.to_owned(),
        address: address.to_owned(),
        postal_code: postal_code.to_owned(),
        phone: phone.to_owned(),
        email: email.to_owned(),
        code: field(venue, "code"),
        location_id: field(venue, "location_id"),
        checkin_url: field(venue, "checkin_url"),
        manage_token: field(&body["registration"], "manage_token"),
    }
}

// ---- residents ----

/// A new resident who adds the account and agrees to the terms before any scan (four
/// messages: welcome, consent request, question, thanks).
/// The resident scans `url` and is told the visit at `place` was recorded; returns the visit's
/// stored time.
async fn check_in(world: &LineWorld, user: &str, url: &str, place: &Place) -> i64 {
    let before = world.line.inbox(user).await.len();
    let report = world.line.scan(user, url).await;
    assert_eq!((report["outcome"].as_str(), report["delivered"].as_bool()), (Some("message_sent"), Some(true)), "scan of {url}: {report}");
    let inbox = world.wait_for_inbox(user, before + 1).await;
    let times = visit_times(world, user, place);
    let at = *times.last().unwrap_or_else(|| panic!("{user} has no visit at {} after scanning {url}: {inbox:#?}", place.name));
    assert_eq!(texts(&inbox[before..]), [catalog().text("recorded", &[("venue", &place.name), ("time", &jst(at))])], "{inbox:#?}");
    at
}

/// Every visit of `user` at `place`, oldest first, from the server's database.
fn visit_times(world: &LineWorld, user: &str, place: &Place) -> Vec<i64> {
    let db = rusqlite::Connection::open(world.server.database_path()).expect("open the server's database");
    let mut statement = db
        .prepare("SELECT v.scanned_at_ms FROM visits v JOIN residents r ON r.id = v.resident_id WHERE r.line_user_id = ?1 AND v.location_id = ?2 ORDER BY v.scanned_at_ms")
        .expect("prepare");
    let rows = statement.query_map([user, place.location_id.as_str()], |r| r.get(0)).expect("query visits");
    rows.collect::<Result<_, _>>().expect("read visits")
}

/// `GET /sandbox/residents`: every simulated resident, with `inbox_count`.
async fn sandbox_residents(world: &LineWorld) -> Vec<Value> {
    let url = format!("{}/sandbox/residents", world.line.base_url());
    let answer: Value = reqwest::get(&url).await.expect("list residents").json().await.expect("JSON");
    answer.as_array().cloned().unwrap_or_else(|| panic!("a list of residents: {answer}"))
}

async fn sandbox_get(world: &LineWorld, path: &str) -> Value {
    let url = format!("{}{path}", world.line.base_url());
    reqwest::get(&url).await.unwrap_or_else(|e| panic!("GET {url}: {e}")).json().await.expect("JSON")
}

/// How many messages each resident holds now.
async fn inbox_counts(world: &LineWorld) -> BTreeMap<String, usize> {
    sandbox_residents(world)
        .await
        .iter()
        .map(|r| (r["user_id"].as_str().expect("user id").to_owned(), usize::try_from(r["inbox_count"].as_u64().expect("inbox count")).expect("fits")))
        .collect()
}

// ---- staff ----




fn rfc3339_jst(unix_ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_ms / 1000).expect("a representable time").to_offset(UtcOffset::from_hms(9, 0, 0).expect("JST"));
    t.format(&Rfc3339).expect("RFC 3339")
}

async fn find_place(server: &TestServer, token: &str, query: &str, place: &Place) -> String {
    let (status, found) = server.staff_api(token, Method::GET, &format!("/api/v1/staff/places?q={}", urlencode(query)), None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let hit = found["places"].as_array().and_then(|p| p.iter().find(|p| p["location_id"] == place.location_id.as_str())).unwrap_or_else(|| panic!("searching {query} finds {}: {found}", place.name));
    assert_eq!(hit["name"], place.name.as_str(), "{hit}");
    hit["location_id"].as_str().expect("location id").to_owned()
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

// ---- what a venue can see (R17) ----

/// Everything a registration's secret opens: the management page, the management API, the
/// kiosk list, and every poster and QR file they link.
async fn venue_view(server: &TestServer, place: &Place) -> BTreeMap<String, Vec<u8>> {
    let mut seen = BTreeMap::new();
    let token = &place.manage_token;
    let page = server.get(&format!("/manage/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK, "the management page of {}", place.name);
    seen.insert("GET /manage/{token}".to_owned(), page.bytes().await.expect("page").to_vec());
    let mut files = Vec::new();
    for path in ["/api/v1/manage", "/api/v1/manage/kiosks"] {
        let response = server.client().get(server.url(path)).bearer_auth(token).send().await.expect(path);
        assert_eq!(response.status(), StatusCode::OK, "GET {path} for {}", place.name);
        let body = response.bytes().await.expect("body").to_vec();
        if path == "/api/v1/manage" {
            let json: Value = serde_json::from_slice(&body).expect("JSON");
            files.extend(json["registration"]["posters_pdf_url"].as_str().map(str::to_owned));
            for venue in json["venues"].as_array().into_iter().flatten() {
                for key in ["poster_pdf_url", "qr_png_url", "qr_svg_url"] {
                    files.extend(venue[key].as_str().map(str::to_owned));
                }
            }
        }
        seen.insert(format!("GET {path}"), body);
    }
    assert!(files.len() >= 4, "the management API links the posters and codes: {files:?}");
    for url in files {
        let bytes = server.get_bytes(&url).await;
        seen.insert(format!("GET {}", url.replace(token.as_str(), "{token}")), bytes);
    }
    seen
}

fn assert_same_view(place: &Place, before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "{}: the venue reaches the same things", place.name);
    for (what, old) in before {
        let new = &after[what];
        assert!(
            old == new,
            "R17: what {} sees at {what} changed after visits and an alert:\nbefore:\n{}\nafter:\n{}",
            place.name,
            String::from_utf8_lossy(old),
            String::from_utf8_lossy(new)
        );
    }
}

// ---- the alert's text (R9) ----

/// Everything that would tell a resident where or when: places, addresses, postal codes,
/// phone numbers, codes, and the dates and times of the exposures and of the visits.
fn forbidden_in_alerts(places: &[&Place], kiosk_id: &str, times_ms: &[i64]) -> Vec<String> {
    let mut words: BTreeSet<String> = BTreeSet::new();
    for place in places {
        words.insert(place.name.clone());
        words.extend(place.name.split([' ', '　', '・']).filter(|w| w.chars().count() >= 2).map(str::to_owned));
        words.insert(place.address.clone());
        // The municipality and ward parts of the address (さいたま市, 浦和区, 高砂…).
        let mut part = String::new();
        for c in place.address.chars() {
            part.push(c);
            if matches!(c, '都' | '道' | '府' | '県' | '市' | '区' | '町' | '村') {
                words.insert(part.clone());
                part.clear();
            }
        }
        words.insert(place.postal_code.clone());
        words.insert(place.postal_code.replace('-', ""));
        words.insert(place.phone.clone());
        words.insert(place.phone.replace('-', ""));
        words.insert(place.email.clone());
        words.insert(place.code.clone());
        words.insert(place.location_id.clone());
    }
    words.insert(kiosk_id.to_owned());
    let jst_offset = UtcOffset::from_hms(9, 0, 0).expect("JST");
    for &ms in times_ms {
        let utc = OffsetDateTime::from_unix_timestamp(ms / 1000).expect("time");
        for t in [utc.to_offset(jst_offset), utc] {
            let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
            words.extend([
                y.to_string(),
                format!("{m}月"),
                format!("{d}日"),
                format!("{m}/{d}"),
                format!("{y}-{m:02}-{d:02}"),
                format!("{:02}:{:02}", t.hour(), t.minute()),
                format!("{}:{:02}", t.hour(), t.minute()),
                format!("{}時", t.hour()),
                format!("{}分", t.minute()),
            ]);
        }
        words.insert(jst(ms));
    }
    words.into_iter().collect()
}

/// Every message the sandbox delivered to anybody, with who got it.
async fn every_delivered_message(world: &LineWorld) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for resident in sandbox_residents(world).await {
        let user = resident["user_id"].as_str().expect("user id").to_owned();
        for entry in world.line.inbox(&user).await {
            all.push((user.clone(), entry));
        }
    }
    all
}

/// The words a resident reads in a message: its text, a template's alt text, text and labels.
fn shown_texts(message: &Value) -> Vec<String> {
    let template = &message["template"];
    let mut shown: Vec<&Value> = vec![&message["text"], &message["altText"], &template["text"], &template["title"]];
    shown.extend(template["actions"].as_array().into_iter().flatten().flat_map(|a| [&a["label"], &a["displayText"], &a["uri"]]));
    shown.into_iter().filter_map(Value::as_str).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_case_alerts_exactly_the_overlapping_residents_once_naming_nothing_and_venues_are_never_told() {
    let started = Instant::now();
    let world = LineWorld::start_with(&[("OSHIRASE_ALERTS__CONTACT", CONTACT)]).await;
    let server = &world.server;

    // ---- venues ----
    let cafe = register(server, "restaurant", "喫茶ひまわり 浦和店", "330-0063", "埼玉県さいたま市浦和区高砂2-1-5", "048-831-0001", "himawari@example.jp").await;
    let hall = register(server, "hall", "大宮市民ホール 小ホール", "330-0846", "埼玉県さいたま市大宮区大門町3-88", "048-645-0002", "hall@example.jp").await;
    let books = register(server, "retail", "川越ほんや 本町店", "350-0062", "埼玉県川越市元町1-3-1", "049-222-0003", "books@example.jp").await;

    // ---- residents ----
    // Everyone but the newcomer adds the account and agrees first (no visit yet), so that the
    // kiosk codes below are scanned within moments of the screen being read.
    let early = world.consenting_resident("早川 一郎").await; // −4:00: left before they came (dwell)
    let before_them = world.consenting_resident("前田 二郎").await; // −3:00: still there when they came
    let both = world.consenting_resident("両方 三郎").await; // −2:00 at the hall, and at the café
    let after_them = world.consenting_resident("後藤 四郎").await; // −1:00: came within the tail
    let late = world.consenting_resident("遅野 五郎").await; // the code on screen: after the tail
    let blocker = world.consenting_resident("伴 六郎").await;
    let deleter = world.consenting_resident("出井 七子").await;
    let elsewhere = world.consenting_resident("他所 八郎").await;
    // A friend of the account who never scans anything.
    let idle = world.line.add_resident("静 九子").await;
    world.line.follow(&idle).await;
    world.wait_for_inbox(&idle, 3).await;

    // The hall's real kiosk: paired with a code from its management API, its screen read like a
    // phone reads it. The code on screen names the step it was shown in.
    let paired = pair_kiosk(server, &hall.location_id, &hall.manage_token).await;
    let kiosk = KioskProcess::run(paired.data_dir.path(), &[]).await;
    let screen_url = kiosk.wait_for_code(Duration::from_secs(20)).await;
    let kiosk_prefix = format!("{}/K/", server.base_url().to_ascii_uppercase());
    assert!(screen_url.starts_with(&kiosk_prefix), "{screen_url}");
    let screen_step = KioskToken::parse(screen_url.rsplit('/').next().expect("a token")).expect("the screen shows a kiosk token").step();
    // The kiosk is stopped now, before anything is looked at from the venue's side: its
    // heartbeats change the fleet fields (last seen, uptime) by themselves, which would make
    // the R17 comparison below fail for a reason that has nothing to do with cases. Its
    // last report stays as it is: the "no contact" mark appears only after five minutes.
    drop(kiosk);
    let identity: Value = serde_json::from_slice(&std::fs::read(paired.data_dir.path().join("identity.json")).expect("identity.json")).expect("JSON");
    let kiosk_id = KioskId::parse(identity["kiosk_id"].as_str().expect("kiosk id")).expect("a kiosk id");
    let secret = base64::engine::general_purpose::STANDARD.decode(identity["kiosk_secret"].as_str().expect("secret")).expect("base64");
    let secret = KioskSecret::new(secret.try_into().expect("32 bytes"));
    let steps = Steps { seconds: STEP_SECONDS };
    assert_eq!(identity["step_seconds"], STEP_SECONDS, "{identity}");
    // A code the screen showed `steps_back` steps (of 30 s) before the one just read: a photo
    // of the screen taken that long ago.
    let older_code = |steps_back: u64| format!("{kiosk_prefix}{}", KioskToken::issue(&kiosk_id, &secret, screen_step - steps_back));
    let step_ms = |step: u64| i64::try_from(steps.start(step)).expect("fits") * 1000;
    let shown_at = step_ms(screen_step);

    // What each venue can reach, before any visit. Asked twice: the baseline is stable.
    let places = [&cafe, &hall, &books];
    let mut before = Vec::new();
    for place in places {
        before.push(venue_view(server, place).await);
    }
    for (place, view) in places.iter().zip(&before) {
        assert_same_view(place, view, &venue_view(server, place).await);
    }

    // At the hall, by kiosk code (visits at the code's step time, relative to the code on
    // screen at `shown_at`). The positive person was there from 2:30 to 1:30 before it; with
    // one minute of dwell and one of tail, scans in (−3:30, −0:30) match.
    assert_eq!(check_in(&world, &early, &older_code(8), &hall).await, shown_at - 240_000);
    assert_eq!(check_in(&world, &before_them, &older_code(6), &hall).await, shown_at - 180_000);
    assert_eq!(check_in(&world, &both, &older_code(4), &hall).await, shown_at - 120_000);
    assert_eq!(check_in(&world, &after_them, &older_code(2), &hall).await, shown_at - 60_000);
    assert_eq!(check_in(&world, &late, &screen_url, &hall).await, shown_at, "the visit is at the screen code's step");

    // At the café, by its poster, now. The first one has never used the account: the scan
    // leads into LINE, the account is added, and the visit waits for consent.
    let newcomer = world.line.add_resident("新井 花子").await;
    let report = world.line.scan(&newcomer, &cafe.checkin_url).await;
    assert_eq!((report["outcome"].as_str(), report["followed"].as_bool()), (Some("message_sent"), Some(true)), "{report}");
    let inbox = world.wait_for_inbox(&newcomer, 5).await;
    let question = confirm_templates(&inbox).pop().unwrap_or_else(|| panic!("a consent question: {inbox:#?}"));
    world.line.tap(&newcomer, &button(&question, &catalog().question("consent_question").yes)).await;
    world.wait_for_inbox(&newcomer, 7).await;
    let newcomer_times = visit_times(&world, &newcomer, &cafe);
    assert_eq!(newcomer_times.len(), 1, "consent made the waiting scan a visit");
    let cafe_times = [
        newcomer_times[0],
        check_in(&world, &both, &cafe.checkin_url, &cafe).await,
        check_in(&world, &blocker, &cafe.checkin_url, &cafe).await,
        check_in(&world, &deleter, &cafe.checkin_url, &cafe).await,
    ];
    // At the bookshop, at the same time: no exposure there.
    let books_time = check_in(&world, &elsewhere, &books.checkin_url, &books).await;

    // One blocks the account after the visit; one deletes everything (asks, then confirms).
    let blocked = world.line.block(&blocker).await;
    assert_eq!(blocked["delivered"], true, "{blocked}");
    let inbox_before = world.line.inbox(&deleter).await.len();
    world.line.send_text(&deleter, &catalog().delete_command()).await;
    let inbox = world.wait_for_inbox(&deleter, inbox_before + 1).await;
    let question = confirm_templates(&inbox[inbox_before..]).pop().unwrap_or_else(|| panic!("削除 is answered with a question: {inbox:#?}"));
    world.line.tap(&deleter, &button(&question, &catalog().question("delete_question").yes)).await;
    let inbox = world.wait_for_inbox(&deleter, inbox_before + 2).await;
    assert_eq!(texts(&inbox).last(), Some(&catalog().text("deleted", &[])), "{inbox:#?}");
    assert!(visit_times(&world, &deleter, &cafe).is_empty(), "the deleted resident's visit is gone");

    // ---- the case ----
    server.create_staff("tanaka", "田中 調査", "investigator,approver");
    server.create_staff("suzuki", "鈴木 承認", "approver");
    let investigator = server.staff_token("tanaka", "investigator", "e2e alert journey");
    let investigator_as_approver = server.staff_token("tanaka", "approver", "e2e alert journey");
    let approver = server.staff_token("suzuki", "approver", "e2e alert journey");

    let (status, case) = server.staff_api(&investigator, Method::POST, "/api/v1/staff/cases", Some(&json!({ "reference": "E2E-ALERT-JOURNEY", "tail_minutes": 1, "dwell_minutes": 1 }))).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    assert_eq!((case["status"].as_str(), case["tail_minutes"].as_u64(), case["dwell_minutes"].as_u64()), (Some("open"), Some(1), Some(1)), "{case}");
    let case_id = case["id"].as_i64().expect("case id");
    let cafe_location = find_place(server, &investigator, "ひまわり", &cafe).await;
    let hall_location = find_place(server, &investigator, "市民ホール", &hall).await;

    // At the café from five minutes before the code on screen until now (after every café
    // scan); at the hall from 2:30 to 1:30 before it. Neither starts in the future.
    let now = now_ms();
    assert!(cafe_times.iter().all(|t| *t <= now) && books_time <= now);
    let exposures = [(cafe_location, shown_at - 300_000, now), (hall_location, shown_at - 150_000, shown_at - 90_000)];
    let mut exposure_ids = Vec::new();
    for (location, from, until) in &exposures {
        let body = json!({ "location_id": location, "starts_at": rfc3339_jst(*from), "ends_at": rfc3339_jst(*until) });
        let (status, case) = server.staff_api(&investigator, Method::POST, &format!("/api/v1/staff/cases/{case_id}/exposures"), Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}: {case}");
        let added = case["exposures"].as_array().and_then(|e| e.iter().find(|e| e["location_id"] == location.as_str())).unwrap_or_else(|| panic!("{case}"));
        exposure_ids.push(added["id"].as_i64().expect("exposure id"));
    }

    // The preview counts, never names. The hall: the three inside the window. The café: the
    // newcomer and the resident seen at both places (the one who blocked the account is counted
    // apart, per exposure as in the total). Four distinct residents can be told; one blocked.
    let (status, preview) = server.staff_api(&investigator, Method::GET, &format!("/api/v1/staff/cases/{case_id}/preview"), None).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let per_exposure: BTreeMap<i64, u64> = preview["per_exposure"].as_array().expect("per exposure").iter().map(|e| (e["exposure"].as_i64().expect("id"), e["residents"].as_u64().expect("count"))).collect();
    assert_eq!(per_exposure.keys().copied().collect::<Vec<_>>(), { let mut ids = exposure_ids.clone(); ids.sort_unstable(); ids }, "{preview}");
    assert_eq!(per_exposure[&exposure_ids[1]], 3, "the hall: {preview}");
    assert_eq!(per_exposure[&exposure_ids[0]], 2, "the café: {preview}");
    assert_eq!((preview["total"].as_u64(), preview["blocked"].as_u64()), (Some(4), Some(1)), "{preview}");
    for user in [&early, &before_them, &both, &after_them, &late, &newcomer, &blocker, &deleter, &elsewhere] {
        assert!(!preview.to_string().contains(user.as_str()), "the preview names nobody: {preview}");
    }

    // The investigator may not approve their own case, even holding the approver role.
    let (status, refused) = server.staff_api(&investigator_as_approver, Method::POST, &format!("/api/v1/staff/cases/{case_id}/approve"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["detail"].as_str().is_some_and(|d| d.contains("作成した職員とは別の承認担当者")), "refused as self-approval: {refused}");
    let (status, refused) = server.staff_api(&investigator, Method::POST, &format!("/api/v1/staff/cases/{case_id}/approve"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an investigator token cannot approve: {refused}");

    let counts_before = inbox_counts(&world).await;
    let stats_before = sandbox_get(&world, "/sandbox/stats").await;
    let (status, approved) = server.staff_api(&approver, Method::POST, &format!("/api/v1/staff/cases/{case_id}/approve"), None).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!((approved["recipients"].as_u64(), approved["blocked"].as_u64()), (Some(4), Some(1)), "{approved}");
    assert_eq!(approved["approved_by"], "鈴木 承認", "the second staff member approved: {approved}");
    let deadline = Instant::now() + SENDING_WAIT;
    let case = loop {
        let (_, case) = server.staff_api(&approver, Method::GET, &format!("/api/v1/staff/cases/{case_id}"), None).await;
        if case["status"] == "sent" {
            break case;
        }
        assert!(
            Instant::now() < deadline && matches!(case["status"].as_str(), Some("sending")),
            "the case did not reach sent within {SENDING_WAIT:?}: {case}\nrequests:\n{:#?}\nserver output:\n{}",
            world.line.requests().await,
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(case["progress"], json!({ "batches": 1, "sent_batches": 1, "failed_batches": 0, "sent_recipients": 4 }), "{case}");

    // ---- who got what ----
    let alert = {
        let inbox = world.line.inbox(&newcomer).await;
        let last = inbox.last().expect("the newcomer got the alert");
        assert_eq!(last["via"], "multicast", "{last}");
        last["message"]["text"].as_str().expect("a text alert").to_owned()
    };
    assert!(alert.contains("診断ではありません") && alert.contains(CONTACT), "R8: not a diagnosis, and where to get advice: {alert}");
    let alerted: BTreeSet<&String> = [&newcomer, &both, &before_them, &after_them].into_iter().collect();
    let counts_after = inbox_counts(&world).await;
    assert_eq!(counts_before.keys().collect::<Vec<_>>(), counts_after.keys().collect::<Vec<_>>());
    let names = sandbox_residents(&world).await.iter().map(|r| (r["user_id"].as_str().expect("id").to_owned(), r["display_name"].as_str().expect("name").to_owned())).collect::<BTreeMap<_, _>>();
    for (user, before) in &counts_before {
        let inbox = world.line.inbox(user).await;
        let new: Vec<&Value> = inbox[*before..].iter().collect();
        if alerted.contains(user) {
            assert_eq!(new.len(), 1, "{} ({user}) gets exactly one alert: {new:#?}", names[user]);
            assert_eq!((new[0]["via"].as_str(), new[0]["message"]["text"].as_str()), (Some("multicast"), Some(alert.as_str())), "{}: {new:#?}", names[user]);
        } else {
            assert!(new.is_empty(), "{} ({user}) must get nothing: {new:#?}", names[user]);
        }
    }
    let stats_after = sandbox_get(&world, "/sandbox/stats").await;
    assert_eq!(stats_after["recipients_not_reached"], stats_before["recipients_not_reached"], "the blocked resident was not even in the multicast: {stats_after}");
    assert_eq!(stats_after["multicasts"].as_u64(), stats_before["multicasts"].as_u64().map(|n| n + 1), "one batch, one multicast: {stats_after}");
    assert_eq!(stats_after["total_usage"].as_u64(), stats_before["total_usage"].as_u64().map(|n| n + 4), "four recipients charged: {stats_after}");

    // ---- R9: no alert names a place, a date or a time ----
    let mut times = vec![now, shown_at, books_time];
    times.extend(cafe_times);
    times.extend(exposures.iter().flat_map(|(_, from, until)| [*from, *until]));
    times.extend((0..=8).map(|back| shown_at - back * 30_000));
    let forbidden = forbidden_in_alerts(&places, kiosk_id.as_str(), &times);
    let everything = every_delivered_message(&world).await;
    let mut alerts_seen = 0;
    for (user, entry) in &everything {
        let via = entry["via"].as_str().unwrap_or_default();
        let shown = shown_texts(&entry["message"]);
        let is_alert = via != "reply" || shown.iter().any(|t| t == &alert);
        if !is_alert {
            continue;
        }
        alerts_seen += 1;
        assert_eq!((via, shown.as_slice()), ("multicast", std::slice::from_ref(&alert)), "the only message not answering a resident is the alert ({user}): {entry}");
        for text in &shown {
            for word in &forbidden {
                assert!(!text.contains(word.as_str()), "R9: an alert contains {word:?}: {text}");
            }
            assert!(!text.chars().any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c)), "R9: an alert contains a digit (the template and contact have none): {text}");
        }
    }
    assert_eq!(alerts_seen, 4, "four alerts in all the sandbox delivered");
    let all_entries: Vec<Value> = everything.into_iter().map(|(_, e)| e).collect();
    assert_japanese_first(&all_entries);

    // ---- R17: the venues saw nothing change ----
    for (place, view) in places.iter().zip(&before) {
        let after = venue_view(server, place).await;
        assert_same_view(place, view, &after);
        let page = String::from_utf8_lossy(&after["GET /manage/{token}"]).into_owned();
        assert!(!page.contains("E2E-ALERT-JOURNEY"), "{}'s page mentions no case", place.name);
    }

    // Checked once more at the very end: no late duplicate arrived while the venues were looked at.
    assert_eq!(inbox_counts(&world).await, counts_after, "nothing more was delivered after the case was sent");
    let multicasts: Vec<Value> = world.line.requests().await.into_iter().filter(|r| r["path"] == "/v2/bot/message/multicast").collect();
    assert_eq!(multicasts.len(), 1, "{multicasts:#?}");
    assert_eq!(multicasts[0]["status"], 200, "{multicasts:#?}");
    eprintln!("alert journey took {:?}", started.elapsed());
}
