//! The health centre's console in headless Chromium (issue 6), walked the way two staff
//! members would: an investigator signs in, creates a case, finds the place by typing part of
//! its name, adds the time the positive person was there and reads how many residents the
//! alert would reach; signs out. An approver — another account — signs in, opens the case and
//! approves it, and the page follows the sending by itself until it says 送信済み. Then the
//! LINE sandbox shows who got the alert: every resident whose visit overlapped, once, and no
//! one else; the alert names no place, date or time.
//!
//! The residents are real: the real server and LINE sandbox binaries, residents who add the
//! account, agree and scan the poster's URL, so their visits are stored at the time of the
//! scan (now). The exposure is therefore today, from a few minutes ago to now.
//!
//! Every page action of the two staff members is counted (see [`Person`]) and the counts are
//! bounded, so a change that adds steps to this journey fails here. One test, because
//! starting a browser is the slow part. Screenshots land in `target/screenshots/`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::elements::Element;
use oshirase_e2e::line::now_ms;
use oshirase_e2e::texts::{assert_japanese_first, button, catalog, confirm_templates, texts};
use oshirase_e2e::{Browser, LineWorld, TestServer, target_dir, valid_venue};
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

/// The place the positive person was at (a shop: residents are assumed to stay 30 minutes).
const PLACE_NAME: &str = "ドラッグストアひかり 浦和西口店";
/// Another place whose name shares the searched word, so the investigator must pick a row.
const OTHER_PLACE_NAME: &str = "ひかり書房 北浦和店";
/// What the investigator types into the place search: part of the name.
const SEARCH: &str = "ひかり";
const REFERENCE: &str = "2026-URAWA-0001";
const INVESTIGATOR: (&str, &str) = ("sato", "佐藤 一郎");
const APPROVER: (&str, &str) = ("suzuki", "鈴木 花子");
/// How long an element may take to appear after a click or navigation.
const PAGE_WAIT: Duration = Duration::from_secs(10);
/// How long the alert may take to go out once approved (the sender looks every half second).
const SEND_WAIT: Duration = Duration::from_secs(30);
/// Messages a first-time resident holds after scanning and agreeing (see `line_checkin.rs`).
const AFTER_FIRST_SCAN: usize = 5;
const AFTER_CONSENT: usize = 7;
/// Upper bounds on page actions: today's journey takes exactly these; a change that adds a
/// step to either part fails here and should be a deliberate decision.
/// Investigator: open the console, sign in (3), create the case (2), search (2), the two
/// times (the date field already holds today) and 追加 (3), sign out (1).
const MAX_INVESTIGATOR_ACTIONS: usize = 12;
/// Approver: open the console, sign in (3), open the case from the list, approve.
const MAX_APPROVER_ACTIONS: usize = 6;
const MAX_TOTAL_ACTIONS: usize = MAX_INVESTIGATOR_ACTIONS + MAX_APPROVER_ACTIONS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_investigator_adds_an_exposure_a_second_person_approves_and_only_the_overlapping_residents_are_alerted() {
    let started = Instant::now();
    let world = LineWorld::start().await;
    let place = register(&world, PLACE_NAME, "retail").await;
    let other = register(&world, OTHER_PLACE_NAME, "retail").await;

    // Residents: two were at the place, one was at the other place at the same time, and one
    // was at the place but has blocked the account since (counted apart, sent nothing).
    let first_scan = now_ms();
    let overlapping = [consented_resident(&world, &place, "山田 太郎").await, consented_resident(&world, &place, "田中 美咲").await];
    let elsewhere = consented_resident(&world, &other, "高橋 健").await;
    let blocked = consented_resident(&world, &place, "伊藤 翼").await;
    let answer = world.line.block(&blocked).await;
    assert_eq!(answer["delivered"], true, "the server took the unfollow event: {answer}");
    let last_scan = now_ms();

    let investigator_password = world.server.create_staff(INVESTIGATOR.0, INVESTIGATOR.1, "investigator");
    let approver_password = world.server.create_staff(APPROVER.0, APPROVER.1, "approver");
    let browser = Browser::start().await;

    // ---- the investigator ----
    let mut investigator = Person::new(&browser, "investigator");
    investigator.open(&world.server.url("/staff/cases"), "事例の一覧（ブックマーク）").await;
    sign_in(&mut investigator, &world.server, INVESTIGATOR.0, &investigator_password).await;
    find(&browser, "#reference").await;
    investigator.type_into("#reference", "管理番号", REFERENCE).await;
    investigator.click("form[action='/staff/cases'] button[type=submit]", "事例を作成").await;
    wait_until_gone(&browser, "#reference").await;
    assert_console_page(&browser, &world.server, "creating the case").await;
    find(&browser, "#q").await;
    let case_path = browser.current_url().await.expect("URL").path().to_owned();
    assert!(case_path.starts_with("/staff/cases/"), "creating a case opens its page: {case_path}");
    assert_eq!(data(&browser, "#case-status", "data-status").await, "open");
    assert!(find(&browser, "h1").await.text().await.expect("title").contains(REFERENCE), "the page names the case");

    investigator.type_into("#q", "場所を探す", SEARCH).await;
    investigator.click("form[method=get] button[type=submit]", "検索").await;
    find(&browser, "#places").await;
    let rows = browser.find_all(Locator::Css("#places tr.place")).await.expect("result rows");
    assert_eq!(rows.len(), 2, "both places named with {SEARCH} are found");
    let row = row_naming(&rows, PLACE_NAME).await;
    assert_eq!(row.attr("data-location").await.expect("data-location").as_deref(), Some(place.location_id.as_str()));

    // The date field starts at today (Japan time): the exposure is today, so it stays.
    let date = field(&row, "input[name=date]").await.prop("value").await.expect("date").unwrap_or_default();
    let (from, to) = exposure_times(&date, OffsetDateTime::now_utc());
    investigator.type_into_field(&field(&row, "input[name=from]").await, "入室", &time_keys(&from)).await;
    investigator.type_into_field(&field(&row, "input[name=to]").await, "退出", &time_keys(&to)).await;
    assert_eq!(field(&row, "input[name=from]").await.prop("value").await.expect("from").as_deref(), Some(from.as_str()));
    assert_eq!(field(&row, "input[name=to]").await.prop("value").await.expect("to").as_deref(), Some(to.as_str()));
    investigator.click_element(&field(&row, "button[type=submit]").await, "追加").await;
    // The page comes back with the search kept and the exposure listed above it.
    find(&browser, "#exposures tr.exposure").await;
    assert!(browser.find(Locator::Css("div.summary")).await.is_err(), "no error after adding: {}", page_text(&browser).await);
    let exposures = browser.find_all(Locator::Css("#exposures tr.exposure")).await.expect("exposure rows");
    assert_eq!(exposures.len(), 1);
    let shown = exposures[0].text().await.expect("exposure text");
    assert!(shown.contains(PLACE_NAME) && shown.contains(&from) && shown.contains(&to), "the exposure shows the place and the times: {shown}");
    assert_eq!(number(&browser, "#preview-total").await, 2, "the two residents who overlapped and still follow the account");
    assert_eq!(number(&browser, "#preview-blocked").await, 1, "the one who blocked the account");
    assert!(browser.find(Locator::Css("#approve")).await.is_err(), "an investigator cannot approve");
    browser.screenshot(&screenshot("console-case-investigator.png")).await;

    investigator.click("form[action='/staff/logout'] button[type=submit]", "ログアウト").await;
    find(&browser, "#login").await;
    assert_eq!(browser.current_url().await.expect("URL").path(), "/staff/login", "signing out leads back to the sign-in page");
    let investigator = investigator.into_actions();

    // ---- the approver ----
    let mut approver = Person::new(&browser, "approver");
    approver.open(&world.server.url("/staff/cases"), "事例の一覧（ブックマーク）").await;
    sign_in(&mut approver, &world.server, APPROVER.0, &approver_password).await;
    let link = find(&browser, &format!("a[href='{case_path}']")).await;
    assert_eq!(link.text().await.expect("link text"), REFERENCE, "the case list names the case by its reference");
    approver.click_element(&link, REFERENCE).await;
    find(&browser, "#approve").await;
    assert_eq!(number(&browser, "#preview-total").await, 2, "the approver sees the same counts");
    assert_eq!(number(&browser, "#preview-blocked").await, 1);
    browser.screenshot(&screenshot("console-case-before-approval.png")).await;
    approver.click("#approve", "承認して送信する").await;
    wait_until_gone(&browser, "#approve").await;
    assert_console_page(&browser, &world.server, "approving").await;

    find(&browser, "#progress").await;
    let first_status = data(&browser, "#case-status", "data-status").await;
    assert!(["sending", "sent"].contains(&first_status.as_str()), "approval starts the sending: {first_status}");
    wait_for_status(&browser, "sent", SEND_WAIT).await;
    assert_eq!(data(&browser, "#progress", "data-sent").await, "2", "{}", page_text(&browser).await);
    browser.screenshot(&screenshot("console-case-sent.png")).await;
    let approver = approver.into_actions();
    browser.quit().await;

    // ---- what residents got ----
    let dates_and_times = forbidden_in_alert(&date, &[&from, &to], first_scan, last_scan);
    for user in &overlapping {
        let inbox = world.line.inbox(user).await;
        let alerts = alerts(&inbox);
        assert_eq!(alerts.len(), 1, "{user} overlapped and gets exactly one alert: {inbox:#?}");
        let alert = &alerts[0];
        for word in [PLACE_NAME, OTHER_PLACE_NAME, SEARCH, "浦和"].iter().copied().chain(dates_and_times.iter().map(String::as_str)) {
            assert!(!alert.contains(word), "the alert must not name a place, date or time, but it contains {word:?}:\n{alert}");
        }
        assert_japanese_first(&inbox);
    }
    let alert = alerts(&world.line.inbox(&overlapping[0]).await);
    assert_eq!(alert, alerts(&world.line.inbox(&overlapping[1]).await), "everyone gets the same text");
    println!("the alert:\n{}", alert[0]);
    for (who, user) in [("the resident at another place", &elsewhere), ("the resident who blocked the account", &blocked)] {
        let inbox = world.line.inbox(user).await;
        assert!(alerts(&inbox).is_empty(), "{who} gets no alert: {inbox:#?}");
        assert_eq!(inbox.len(), AFTER_CONSENT, "{who} got nothing after checking in: {inbox:#?}");
    }
    let multicasts = world.line.requests().await.into_iter().filter(|r| r["path"] == "/v2/bot/message/multicast").count();
    assert_eq!(multicasts, 1, "one batch, sent once");

    let total = investigator.len() + approver.len();
    println!("page actions: investigator {} ({}), approver {} ({}), total {total}", investigator.len(), investigator.join(", "), approver.len(), approver.join(", "));
    println!("first status after approving: {first_status}; whole test {:.1} s", started.elapsed().as_secs_f64());
    assert!(investigator.len() <= MAX_INVESTIGATOR_ACTIONS, "the investigator needed {} actions: {}", investigator.len(), investigator.join(", "));
    assert!(approver.len() <= MAX_APPROVER_ACTIONS, "the approver needed {} actions: {}", approver.len(), approver.join(", "));
    assert!(total <= MAX_TOTAL_ACTIONS, "{total} actions in all");
}

/// A staff member at the browser, counting what they do. One action is one of: opening an
/// address (typing it or choosing a bookmark), one click, or typing into one field. Waiting
/// for a page, reading it and a page reloading by itself are not actions.
#[derive(Debug)]
struct Person<'a> {
    browser: &'a Browser,
    who: &'static str,
    actions: Vec<String>,
}

impl<'a> Person<'a> {
    fn new(browser: &'a Browser, who: &'static str) -> Person<'a> {
        Person { browser, who, actions: Vec::new() }
    }

    async fn open(&mut self, url: &str, what: &str) {
        self.browser.goto(url).await.unwrap_or_else(|e| panic!("{} opens {url}: {e}", self.who));
        self.actions.push(format!("open {what}"));
    }

    async fn type_into(&mut self, css: &str, what: &str, text: &str) {
        let element = find(self.browser, css).await;
        self.type_into_field(&element, what, text).await;
    }

    async fn type_into_field(&mut self, element: &Element, what: &str, text: &str) {
        element.send_keys(text).await.unwrap_or_else(|e| panic!("{} types into {what}: {e}", self.who));
        self.actions.push(format!("type {what}"));
    }

    async fn click(&mut self, css: &str, what: &str) {
        let element = find(self.browser, css).await;
        self.click_element(&element, what).await;
    }

    async fn click_element(&mut self, element: &Element, what: &str) {
        element.click().await.unwrap_or_else(|e| panic!("{} clicks {what}: {e}", self.who));
        self.actions.push(format!("click {what}"));
    }

    /// What they did, one entry per action.
    fn into_actions(self) -> Vec<String> {
        self.actions
    }
}

/// The sign-in page (reached by opening a console page): login, password, ログイン.
async fn sign_in(person: &mut Person<'_>, server: &TestServer, login: &str, password: &str) {
    find(person.browser, "#login").await;
    person.type_into("#login", "ログイン名", login).await;
    person.type_into("#password", "パスワード", password).await;
    person.click("form[action='/staff/login'] button[type=submit]", "ログイン").await;
    wait_until_gone(person.browser, "#password").await;
    assert_console_page(person.browser, server, &format!("{} signing in as {login}", person.who)).await;
}

/// After a form was sent: the browser shows a console page, not an error page. A refused
/// form shows the site's 403 page ("この操作はできません"), which has no console menu; the
/// failure shows the page and what the server logged about refusing it.
async fn assert_console_page(browser: &Browser, server: &TestServer, after: &str) {
    if browser.find(Locator::Css("header.site nav")).await.is_ok() {
        return;
    }
    let url = browser.current_url().await.map(|u| u.to_string()).unwrap_or_default();
    let output = server.output();
    let refusals: Vec<&str> = output.lines().filter(|l| l.contains("refused")).collect();
    panic!(
        "{after}: the browser shows no console page but {url}:\n{}\n\nthe server logged:\n{}\n\n\
         (Chromium sends `Origin: null` with every form posted from a page served with \
         `Referrer-Policy: no-referrer`; the console's same-origin check must accept a form \
         posted by the console's own page.)",
        page_text(browser).await,
        refusals.join("\n")
    );
}


/// A place registered through the JSON API.
#[derive(Debug)]
struct Place {
    location_id: String,
    checkin_url: String,
}

async fn register(world: &LineWorld, name: &str, business_type: &str) -> Place {
    let mut form = valid_venue(name);
    form["business_type"] = Value::from(business_type);
    let body = world.server.register(&form).await;
    let venue = &body["venues"][0];
    let text = |key: &str| venue[key].as_str().unwrap_or_else(|| panic!("the registration answer has {key}: {body}")).to_owned();
    Place { location_id: text("location_id"), checkin_url: text("checkin_url") }
}

/// A resident who adds the account by scanning the place's poster and agrees: one visit, now.
async fn consented_resident(world: &LineWorld, place: &Place, name: &str) -> String {
    let user = world.line.add_resident(name).await;
    let report = world.line.scan(&user, &place.checkin_url).await;
    assert_eq!((report["outcome"].as_str(), report["delivered"].as_bool()), (Some("message_sent"), Some(true)), "{report}");
    let inbox = world.wait_for_inbox(&user, AFTER_FIRST_SCAN).await;
    let question = confirm_templates(&inbox).pop().unwrap_or_else(|| panic!("a consent question: {inbox:#?}"));
    world.line.tap(&user, &button(&question, &catalog().question("consent_question").yes)).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT).await;
    assert!(texts(&inbox).iter().any(|t| t.contains("への来場を記録しました")), "the visit was recorded: {inbox:#?}");
    user
}

/// The texts the resident received by multicast: the alerts (replies come by reply).
fn alerts(inbox: &[Value]) -> Vec<String> {
    texts(&inbox.iter().filter(|e| e["via"] == "multicast").cloned().collect::<Vec<_>>())
}

/// The exposure typed into the form, `HH:MM` in Japan time on `date` (the form's date): from
/// five minutes before now (not before midnight, so it stays on `date`) to the next minute.
/// The residents scanned a little before now, so their assumed stays (30 minutes from the
/// scan at a shop) overlap it; its end may be a few seconds ahead, its start never is.
fn exposure_times(date: &str, now: OffsetDateTime) -> (String, String) {
    let now = now.to_offset(UtcOffset::from_hms(9, 0, 0).expect("JST"));
    let today = format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day());
    assert_eq!(date, today, "the exposure form starts at today in Japan time");
    let minute = i64::from(now.hour()) * 60 + i64::from(now.minute());
    let from = (minute - 5).max(0);
    let to = minute + 1; // 24:00 is written 00:00: an end before the start is the next day.
    let hh_mm = |m: i64| format!("{:02}:{:02}", (m / 60) % 24, m % 60);
    (hh_mm(from), hh_mm(to))
}

/// The keys a person presses in a time field for `HH:MM`. Headless Chromium runs in en-US,
/// where the field reads `hh:mm AM/PM`: the digits, then A or P (a 24-hour field ignores the
/// letter).
fn time_keys(hh_mm: &str) -> String {
    let hour: u32 = hh_mm[..2].parse().expect("HH:MM");
    format!("{}{}", hh_mm.replace(':', ""), if hour < 12 { "A" } else { "P" })
}

/// Dates and times the alert must not contain: the exposure's date in the usual Japanese
/// forms, its times, and the minutes the residents scanned.
fn forbidden_in_alert(date: &str, times: &[&str], first_scan_ms: i64, last_scan_ms: i64) -> Vec<String> {
    let mut words: Vec<String> = vec![date.to_owned(), date.replace('-', "/")];
    let parts: Vec<u32> = date.split('-').map(|p| p.parse().expect("a date of numbers")).collect();
    words.push(format!("{}月{}日", parts[1], parts[2]));
    words.push(format!("{}/{}", parts[1], parts[2]));
    for t in times {
        words.push((*t).to_owned());
        let (h, m) = t.split_once(':').expect("HH:MM");
        words.push(format!("{}時{}分", h.trim_start_matches('0').max("0"), m));
        words.push(format!("{}時", h.trim_start_matches('0')));
    }
    let mut at = first_scan_ms - 60_000;
    while at <= last_scan_ms + 60_000 {
        words.push(oshirase_e2e::texts::jst(at).rsplit(' ').next().expect("the time").to_owned());
        at += 60_000;
    }
    words.retain(|w| w != "時");
    words
}

/// Waits until the page says the case is `status`. The page reloads itself while sending, so
/// elements come and go; every look starts afresh.
async fn wait_for_status(browser: &Browser, status: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let css = format!("#case-status[data-status='{status}']");
    loop {
        if browser.find(Locator::Css(&css)).await.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "the case page did not come to say {status} within {timeout:?}:\n{}", page_text(browser).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_until_gone(browser: &Browser, css: &str) {
    let deadline = Instant::now() + PAGE_WAIT;
    while browser.find(Locator::Css(css)).await.is_ok() {
        assert!(Instant::now() < deadline, "{css} is still on the page after {PAGE_WAIT:?}:\n{}", page_text(browser).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The result row whose text names `name`.
async fn row_naming(rows: &[Element], name: &str) -> Element {
    for row in rows {
        if row.text().await.expect("row text").contains(name) {
            return row.clone();
        }
    }
    panic!("no row names {name}")
}

async fn field(row: &Element, css: &str) -> Element {
    row.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("the row has no {css}: {e}"))
}

/// Waits for an element to appear; fails showing the page it is not on.
async fn find(browser: &Browser, css: &str) -> Element {
    match browser.wait().at_most(PAGE_WAIT).for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => {
            let url = browser.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            panic!("{css} did not appear within {PAGE_WAIT:?} ({e}) on {url}:\n{}", page_text(browser).await)
        }
    }
}

async fn data(browser: &Browser, css: &str, name: &str) -> String {
    find(browser, css).await.attr(name).await.expect("read an attribute").unwrap_or_else(|| panic!("{css} has no {name}"))
}

async fn number(browser: &Browser, css: &str) -> u32 {
    let text = find(browser, css).await.text().await.expect("text");
    text.trim().parse().unwrap_or_else(|_| panic!("{css} shows {text:?}, not a number"))
}

async fn page_text(browser: &Browser) -> String {
    match browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(e) => format!("(no page: {e})"),
    }
}

fn screenshot(name: &str) -> PathBuf {
    target_dir().join("screenshots").join(name)
}
