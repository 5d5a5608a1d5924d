//! Residents checking in through LINE, end to end: the real `oshirase-server` and the real
//! `oshirase-line-sandbox` binaries talking real HTTP to each other (webhooks one way, the
//! Messaging API the other), each test with its own pair and a fresh SQLite file. What the
//! resident reads is compared with the server's own catalogue of texts; what was stored is
//! read from the database file itself. Replies are sent after the webhook is answered, so
//! every wait for one polls the resident's inbox until a deadline.

use std::path::Path;

use oshirase_e2e::line::{CHANNEL_SECRET, REPLY_WAIT, closed_port, now_ms};
use oshirase_e2e::texts::{assert_japanese_first, button, catalog, confirm_templates, count_text, jst, texts};
use oshirase_e2e::{LineWorld, Venue, sign_webhook};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The terms residents agree to unless the server is told otherwise.
const TERMS_VERSION: &str = "2026-11";
/// Messages a first-time resident holds after scanning: welcome, consent request and question
/// (follow), then "waiting for consent" with the privacy link and the question (the check-in).
const AFTER_FIRST_SCAN: usize = 5;
/// … and after agreeing: thanks, and the confirmation of the waiting visit.
const AFTER_CONSENT: usize = 7;
/// The `destination` of webhook bodies the tests post themselves (the sandbox's bot).
const BOT_USER_ID: &str = "U0a5b1e0000000000000000000000cafe";
/// The path of the reply endpoint in the sandbox's request log.
const REPLY_PATH: &str = "/v2/bot/message/reply";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_time_resident_scans_a_poster_agrees_and_the_visit_is_recorded_at_its_scan_time() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let user = world.line.add_resident("山田 花子").await;
    assert_eq!(world.line.resident(&user).await["friendship"], "not_friend");

    let before_scan = now_ms();
    let report = world.line.scan(&user, &venue.checkin_url).await;
    let after_scan = now_ms();
    assert_eq!(report["outcome"], "message_sent", "the poster's URL leads into the official account's chat: {report}");
    assert_eq!(report["text"], catalog().checkin_text(&venue.code), "{report}");
    assert_eq!(report["followed"], true, "a resident who is not a friend adds the account first: {report}");
    assert_eq!(report["delivered"], true, "the server answered both webhooks 2xx: {report}");
    assert_eq!(world.line.resident(&user).await["friendship"], "friend");

    let inbox = world.wait_for_inbox(&user, AFTER_FIRST_SCAN).await;
    let privacy_url = world.server.url("/privacy");
    let consent_request = catalog().text("consent_request", &[("privacy_url", &privacy_url)]);
    assert_eq!(count_text(&inbox, &catalog().text("welcome", &[])), 1, "one welcome: {inbox:#?}");
    assert_eq!(count_text(&inbox, &consent_request), 1, "the consent request with the privacy link follows the welcome: {inbox:#?}");
    let waiting = catalog().text("waiting_for_consent", &[("venue", &venue.name), ("privacy_url", &privacy_url)]);
    assert_eq!(count_text(&inbox, &waiting), 1, "the reply to the scan says the visit waits for consent: {inbox:#?}");
    for text in [&consent_request, &waiting] {
        assert!(text.contains(&privacy_url), "{text:?} links {privacy_url}");
    }
    assert_eq!(world.server.get(&privacy_url).await.status(), StatusCode::OK, "the privacy link works");
    let questions = confirm_templates(&inbox);
    assert_eq!(questions.len(), 2, "{inbox:#?}");
    let consent = catalog().question("consent_question");
    for question in &questions {
        assert_eq!(question["text"], consent.ja.as_str());
        assert_eq!(button(question, &consent.yes)["data"], format!("consent={TERMS_VERSION}"));
        assert_eq!(button(question, &consent.no)["data"], "consent=decline");
    }

    assert_eq!(count(&world, "visits"), 0, "nothing is a visit before consent");
    let waiting_scans = pending_scans(&world, &user);
    assert_eq!(waiting_scans.len(), 1, "the scan waits for consent");
    let scanned_at = waiting_scans[0];
    assert!((before_scan..=after_scan).contains(&scanned_at), "the waiting scan keeps the time of the scan: {scanned_at} not in {before_scan}..={after_scan}");

    let tapped_at = now_ms();
    let answer = world.line.tap(&user, &button(&questions[1], &consent.yes)).await;
    assert_eq!(answer["delivered"], true, "{answer}");
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT).await;
    assert_eq!(texts(&inbox[AFTER_FIRST_SCAN..]), [catalog().text("consent_thanks", &[]), recorded(&venue, scanned_at)], "{inbox:#?}");
    assert!(texts(&inbox[AFTER_FIRST_SCAN..])[1].contains(&venue.name), "the confirmation names the venue");

    let visits = visits(&world, &user);
    assert_eq!(visits.len(), 1, "consent turned the waiting scan into one visit");
    assert_eq!(visits[0].location_id, venue.location_id);
    assert_eq!(visits[0].scanned_at_ms, scanned_at, "the visit keeps the original scan time, not the time of consent");
    assert!(visits[0].scanned_at_ms < tapped_at && tapped_at <= visits[0].recorded_at_ms, "{:?}, consent at {tapped_at}", visits[0]);
    assert_eq!(count(&world, "pending_scans"), 0);
    assert_eq!(consent_terms(&world, &user).as_deref(), Some(TERMS_VERSION));
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_resident_is_confirmed_at_once_and_a_double_scan_is_one_visit() {
    let world = LineWorld::start().await;
    let first = world.register_venue("カフェ・ド・浦和").await;
    let second = world.register_venue("浦和駅前書店").await;
    let user = consented_resident(&world, &first, "山田 花子").await;

    let report = world.line.scan(&user, &second.checkin_url).await;
    assert_eq!((report["outcome"].as_str(), report["followed"].as_bool()), (Some("message_sent"), Some(false)), "already a friend: {report}");
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 1).await;
    let at_second = visit_times(&world, &user, &second);
    assert_eq!(at_second.len(), 1, "a consented resident's scan is a visit at once");
    assert_eq!(texts(&inbox[AFTER_CONSENT..]), [recorded(&second, at_second[0])], "confirmed at once, no consent question: {inbox:#?}");

    // Scanning the same poster again straight away (within the default 120 s) is the same visit.
    world.line.scan(&user, &second.checkin_url).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 2).await;
    let repeat = catalog().text("repeat", &[("venue", &second.name), ("time", &jst(at_second[0]))]);
    assert!(repeat.contains("すでに記録しています"), "{repeat}");
    assert_eq!(texts(&inbox[AFTER_CONSENT + 1..]), [repeat], "{inbox:#?}");
    assert_eq!(visit_times(&world, &user, &second), at_second, "the double scan added no visit");
    assert_eq!(count(&world, "visits"), 2);
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_of_the_same_place_outside_the_repeat_window_are_separate_visits() {
    let world = LineWorld::start_with(&[("OSHIRASE_CHECKIN__REPEAT_WINDOW_SECONDS", "0")]).await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let user = consented_resident(&world, &venue, "山田 花子").await;

    world.line.scan(&user, &venue.checkin_url).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 1).await;
    let times = visit_times(&world, &user, &venue);
    assert_eq!(times.len(), 2, "a later scan of the same place is a second visit");
    assert!(times[0] < times[1], "each visit has its own scan time: {times:?}");
    assert_eq!(texts(&inbox[AFTER_CONSENT..]), [recorded(&venue, times[1])], "{inbox:#?}");
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_who_refuses_consent_is_told_so_and_nothing_is_stored() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let user = world.line.add_resident("山田 花子").await;
    world.line.scan(&user, &venue.checkin_url).await;
    let inbox = world.wait_for_inbox(&user, AFTER_FIRST_SCAN).await;
    assert_eq!(pending_scans(&world, &user).len(), 1);

    let questions = confirm_templates(&inbox);
    let refuse = button(questions.last().expect("a consent question"), &catalog().question("consent_question").no);
    world.line.tap(&user, &refuse).await;
    let inbox = world.wait_for_inbox(&user, AFTER_FIRST_SCAN + 1).await;
    assert_eq!(texts(&inbox[AFTER_FIRST_SCAN..]), [catalog().text("consent_declined", &[])], "{inbox:#?}");
    assert_eq!(count(&world, "visits"), 0, "no visit");
    assert_eq!(count(&world, "pending_scans"), 0, "the waiting scan is dropped");
    assert_eq!(consent_terms(&world, &user), None, "no consent is recorded");
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_code_shows_a_page_and_nothing_is_delivered_or_stored() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let withdrawn = world.server.withdraw(&venue.manage_token, &venue.location_id).await;
    assert!(withdrawn.status().is_success(), "withdraw: {}", withdrawn.status());
    let user = world.line.add_resident("山田 花子").await;

    let report = world.line.scan(&user, &venue.checkin_url).await;
    assert_eq!(report["outcome"], "page", "a withdrawn code does not lead into LINE: {report}");
    assert_eq!(report["status"], 410, "{report}");
    let title = report["title"].as_str().unwrap_or_default();
    assert!(title.contains("このQRコードは使えません"), "the page's title says the code is not accepted: {title:?}");

    assert_eq!(world.line.resident(&user).await["friendship"], "not_friend", "the account was not added");
    assert!(world.line.inbox(&user).await.is_empty(), "nothing reached the resident");
    assert!(world.line.webhook_log().await.is_empty(), "no event was delivered");
    for table in ["residents", "pending_scans", "visits", "webhook_events"] {
        assert_eq!(count(&world, table), 0, "nothing stored in {table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_resident_is_marked_blocked_receives_no_pushes_and_following_again_unblocks() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let user = consented_resident(&world, &venue, "山田 花子").await;
    assert_eq!(blocked_at(&world, &user), None);

    let answer = world.line.block(&user).await;
    assert_eq!(answer["delivered"], true, "{answer}");
    assert!(blocked_at(&world, &user).is_some(), "the server marks the resident blocked");

    let notice = json!([{ "type": "text", "text": "お知らせのテストです。\n\nA test notice." }]);
    let (status, body) = world.line.push(&user, &notice).await;
    assert_eq!(status, StatusCode::OK, "LINE accepts pushes to residents who blocked the account: {body}");
    assert_eq!(world.line.inbox(&user).await.len(), AFTER_CONSENT, "but they reach nobody");

    let answer = world.line.follow(&user).await;
    assert_eq!(answer["delivered"], true, "{answer}");
    assert_eq!(blocked_at(&world, &user), None, "following again unblocks");
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 1).await;
    assert_eq!(texts(&inbox[AFTER_CONSENT..]), [catalog().text("welcome_back", &[])], "a consented resident is welcomed back, not asked again: {inbox:#?}");
    assert_eq!(count(&world, "visits"), 1, "blocking kept the visit");

    let (status, _) = world.line.push(&user, &notice).await;
    assert_eq!(status, StatusCode::OK);
    let inbox = world.line.inbox(&user).await;
    assert_eq!(inbox.len(), AFTER_CONSENT + 2, "pushes reach the resident again");
    assert_eq!(inbox[AFTER_CONSENT + 1]["via"], "push");
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_who_asks_for_deletion_and_confirms_it_loses_every_row_and_no_one_else_does() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let user = consented_resident(&world, &venue, "山田 花子").await;
    let neighbour = consented_resident(&world, &venue, "佐藤 一郎").await;

    world.line.send_text(&user, "こんにちは").await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 1).await;
    assert_eq!(texts(&inbox[AFTER_CONSENT..]), [catalog().text("help", &[])], "other texts get the help: {inbox:#?}");

    let asked_at = now_ms();
    world.line.send_text(&user, &catalog().delete_command()).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 2).await;
    let question = confirm_templates(&inbox[AFTER_CONSENT + 1..]).pop().unwrap_or_else(|| panic!("削除 is answered with a question: {inbox:#?}"));
    let delete = catalog().question("delete_question");
    assert_eq!(question["text"], delete.ja.as_str());
    assert_eq!(button(&question, &delete.no)["data"], "delete=cancel");
    let yes = button(&question, &delete.yes);
    let until: i64 = yes["data"]
        .as_str()
        .and_then(|d| d.strip_prefix("delete=confirm&until="))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("the yes button carries its expiry: {yes}"));
    let ten_minutes = 10 * 60 * 1000;
    assert!(asked_at + ten_minutes - 5_000 <= until && until <= now_ms() + ten_minutes, "the question works for ten minutes: until {until}");

    // A button from an old question (its time is up) deletes nothing.
    world.line.postback(&user, &format!("delete=confirm&until={}", asked_at - 1), Some(&delete.yes)).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 3).await;
    assert_eq!(texts(&inbox[AFTER_CONSENT + 2..]), [catalog().text("delete_expired", &[])], "{inbox:#?}");
    assert_eq!((resident_rows(&world, &user), visits(&world, &user).len()), (1, 1), "an expired button deletes nothing");

    world.line.tap(&user, &yes).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 4).await;
    assert_eq!(texts(&inbox[AFTER_CONSENT + 3..]), [catalog().text("deleted", &[])], "{inbox:#?}");
    assert_eq!(resident_rows(&world, &user), 0, "the resident's row is gone");
    assert_eq!(count(&world, "residents"), 1, "the neighbour's row stays");
    assert_eq!(visits(&world, &neighbour).len(), 1, "the neighbour's visit stays");
    assert_eq!(count(&world, "visits"), 1, "the resident's visit went with them");
    assert_eq!(count(&world, "pending_scans"), 0);
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_or_duplicated_event_is_recorded_and_answered_once() {
    let world = LineWorld::start().await;
    let first = world.register_venue("カフェ・ド・浦和").await;
    let second = world.register_venue("浦和駅前書店").await;
    let third = world.register_venue("浦和図書館").await;
    let user = consented_resident(&world, &first, "山田 花子").await;

    // The first delivery of the check-in finds nobody listening; LINE redelivers it later,
    // by which time the server is back.
    let nowhere = format!("http://127.0.0.1:{}/line/webhook", closed_port());
    world.line.set_config(&json!({ "webhook_url": nowhere, "redelivery_backoff_ms": 300 })).await;
    let report = world.line.scan(&user, &second.checkin_url).await;
    assert_eq!((report["outcome"].as_str(), report["delivered"].as_bool()), (Some("message_sent"), Some(false)), "{report}");
    assert_eq!(report["status"], Value::Null, "the first attempt could not connect: {report}");
    let event_id = report["events"][0].as_str().unwrap_or_else(|| panic!("the check-in event's id: {report}")).to_owned();
    world.line.set_config(&json!({ "webhook_url": world.webhook_url() })).await;

    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 1).await;
    let log = world.line.wait_for_webhook_log("the redelivery answered 200", REPLY_WAIT, |log| attempts_of(log, &event_id).iter().any(|a| a["status"] == 200)).await;
    let attempts = attempts_of(&log, &event_id);
    assert_eq!(attempts[0]["status"], Value::Null, "{attempts:#?}");
    assert_eq!(attempts[0]["is_redelivery"], false, "{attempts:#?}");
    let answered: Vec<&Value> = attempts.iter().copied().filter(|a| a["status"] == 200).collect();
    assert_eq!(answered.len(), 1, "the event landed once: {attempts:#?}");
    assert_eq!(answered[0]["is_redelivery"], true, "what landed was the redelivery: {attempts:#?}");
    let at_second = visit_times(&world, &user, &second);
    assert_eq!(at_second.len(), 1, "exactly one visit");
    let first_try = attempts[0]["at"].as_i64().expect("attempt time");
    assert!(at_second[0] <= first_try, "the visit keeps the event's own time ({}), not the redelivery's ({})", at_second[0], answered[0]["at"]);
    assert_eq!(texts(&inbox[AFTER_CONSENT..]), [recorded(&second, at_second[0])], "{inbox:#?}");

    // The same signed body twice, straight to the server (LINE may deliver an event twice).
    let token = world.line.reply_tokens(&user, 1).await.remove(0);
    let body = text_event_body(&user, &catalog().checkin_text(&third.code), "01JE2E0DVP11CATE0000000001", &token, now_ms());
    let signature = sign_webhook(CHANNEL_SECRET, &body);
    let replies_before = reply_requests(&world).await.len();
    assert_eq!(world.post_webhook(&body, Some(&signature)).await, StatusCode::OK);
    assert_eq!(world.post_webhook(&body, Some(&signature)).await, StatusCode::OK, "a duplicate is acknowledged, so LINE stops sending it");
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 2).await;
    let at_third = visit_times(&world, &user, &third);
    assert_eq!(at_third.len(), 1, "the duplicated event is one visit");
    assert_eq!(texts(&inbox[AFTER_CONSENT + 1..]), [recorded(&third, at_third[0])], "{inbox:#?}");

    // A later event, answered, shows that no reply to the duplicate was still on its way.
    world.line.send_text(&user, "こんにちは").await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 3).await;
    assert_eq!(texts(&inbox[AFTER_CONSENT + 2..]), [catalog().text("help", &[])], "{inbox:#?}");
    let replies = reply_requests(&world).await;
    assert_eq!(replies.len() - replies_before, 2, "one reply to the duplicated event, one to the later text: {replies:#?}");
    assert_eq!(count(&world, "visits"), 3);
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_is_refused_and_nothing_is_stored() {
    let world = LineWorld::start().await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let stranger = "U0123456789abcdef0123456789abcdef";
    let body = text_event_body(stranger, &catalog().checkin_text(&venue.code), "01JE2E0F0RGED0000000000001", "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f", now_ms());

    let forged = sign_webhook("not-the-channel-secret", &body);
    assert_eq!(world.post_webhook(&body, Some(&forged)).await, StatusCode::UNAUTHORIZED, "signed with another secret");
    assert_eq!(world.post_webhook(&body, None).await, StatusCode::UNAUTHORIZED, "not signed");
    let tampered = String::from_utf8(body.clone()).expect("UTF-8").replace(stranger, "U0123456789abcdef0123456789abcdee");
    assert_eq!(world.post_webhook(tampered.as_bytes(), Some(&sign_webhook(CHANNEL_SECRET, &body))).await, StatusCode::UNAUTHORIZED, "changed after signing");
    for table in ["residents", "pending_scans", "visits", "webhook_events"] {
        assert_eq!(count(&world, table), 0, "nothing stored in {table}");
    }

    // The same body, truly signed, is taken: only the signature was wrong.
    assert_eq!(world.post_webhook(&body, Some(&sign_webhook(CHANNEL_SECRET, &body))).await, StatusCode::OK);
    assert_eq!(pending_scans(&world, stranger).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_is_stored_when_line_refuses_the_reply_and_retries_get_replies_through() {
    let world = LineWorld::start_with(&[("OSHIRASE_CHECKIN__REPEAT_WINDOW_SECONDS", "0")]).await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let user = consented_resident(&world, &venue, "山田 花子").await;

    // Every Messaging API call answers 500: the server retries the reply, then gives up.
    world.line.set_faults(&json!({ "error_rate": 1.0, "seed": 1 })).await;
    let seen = reply_requests(&world).await.len();
    let report = world.line.scan(&user, &venue.checkin_url).await;
    assert_eq!(report["delivered"], true, "the webhook itself is answered: {report}");
    assert_eq!(visit_times(&world, &user, &venue).len(), 2, "the visit is stored although no confirmation can be sent");
    let log = world.line.wait_for_requests("four reply attempts", REPLY_WAIT, |log| replies_in(log).len() >= seen + 4).await;
    let failed = statuses(&replies_in(&log)[seen..seen + 4]);
    assert_eq!(failed, [500, 500, 500, 500], "the server tried the reply four times");
    assert_eq!(world.line.inbox(&user).await.len(), AFTER_CONSENT, "no confirmation reached the resident");

    // Rate limited (429): not retried, and the visit still stands.
    world.line.clear_faults().await;
    world.line.set_config(&json!({ "rate_limits": { "reply": 0 } })).await;
    let seen = reply_requests(&world).await.len();
    world.line.scan(&user, &venue.checkin_url).await;
    assert_eq!(visit_times(&world, &user, &venue).len(), 3, "stored while LINE answers 429");
    let log = world.line.wait_for_requests("a rate-limited reply", REPLY_WAIT, |log| replies_in(log).len() > seen).await;
    assert_eq!(statuses(&replies_in(&log)[seen..seen + 1]), [429]);
    assert_eq!(world.line.inbox(&user).await.len(), AFTER_CONSENT, "no confirmation reached the resident");

    // LINE is well again: the next scan is confirmed.
    world.line.set_config(&json!({ "rate_limits": { "reply": 2000 } })).await;
    world.line.scan(&user, &venue.checkin_url).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 1).await;
    let times = visit_times(&world, &user, &venue);
    assert_eq!(times.len(), 4);
    assert_eq!(texts(&inbox[AFTER_CONSENT..]), [recorded(&venue, times[3])], "{inbox:#?}");

    // Half the calls fail (seed 16 fails the first two draws): the retries, with the same
    // body, get the one confirmation through.
    world.line.set_faults(&json!({ "error_rate": 0.5, "seed": 16 })).await;
    let seen = reply_requests(&world).await.len();
    world.line.scan(&user, &venue.checkin_url).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 2).await;
    let times = visit_times(&world, &user, &venue);
    assert_eq!(times.len(), 5);
    assert_eq!(texts(&inbox[AFTER_CONSENT + 1..]), [recorded(&venue, times[4])], "one confirmation: {inbox:#?}");
    let attempts = statuses(&reply_requests(&world).await[seen..]);
    assert!(attempts.len() >= 2 && attempts[..attempts.len() - 1].iter().all(|s| *s == 500), "failed attempts first: {attempts:?}");
    assert_eq!(attempts.last(), Some(&200), "then one accepted: {attempts:?}");
    assert_japanese_first(&inbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_over_the_hourly_limit_is_politely_refused_and_no_visit_is_added() {
    let world = LineWorld::start_with(&[("OSHIRASE_CHECKIN__MAX_PER_HOUR", "2"), ("OSHIRASE_CHECKIN__REPEAT_WINDOW_SECONDS", "0")]).await;
    let venue = world.register_venue("カフェ・ド・浦和").await;
    let user = consented_resident(&world, &venue, "山田 花子").await;

    world.line.scan(&user, &venue.checkin_url).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 1).await;
    let times = visit_times(&world, &user, &venue);
    assert_eq!(times.len(), 2);
    assert_eq!(texts(&inbox[AFTER_CONSENT..]), [recorded(&venue, times[1])], "{inbox:#?}");

    world.line.scan(&user, &venue.checkin_url).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT + 2).await;
    assert_eq!(texts(&inbox[AFTER_CONSENT + 1..]), [catalog().text("rate_limited", &[])], "{inbox:#?}");
    assert_eq!(visit_times(&world, &user, &venue), times, "no third visit");
    assert_japanese_first(&inbox);
}

/// A resident who scanned `venue` for the first time and agreed: [`AFTER_CONSENT`] messages,
/// one visit. Returns their user id.
async fn consented_resident(world: &LineWorld, venue: &Venue, name: &str) -> String {
    let user = world.line.add_resident(name).await;
    let report = world.line.scan(&user, &venue.checkin_url).await;
    assert_eq!((report["outcome"].as_str(), report["delivered"].as_bool()), (Some("message_sent"), Some(true)), "{report}");
    let inbox = world.wait_for_inbox(&user, AFTER_FIRST_SCAN).await;
    let question = confirm_templates(&inbox).pop().unwrap_or_else(|| panic!("a consent question: {inbox:#?}"));
    world.line.tap(&user, &button(&question, &catalog().question("consent_question").yes)).await;
    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT).await;
    let times = visit_times(world, &user, venue);
    assert_eq!(times.len(), 1, "consent recorded the visit");
    assert_eq!(texts(&inbox[AFTER_FIRST_SCAN..]), [catalog().text("consent_thanks", &[]), recorded(venue, times[0])], "{inbox:#?}");
    user
}

/// The confirmation of a visit to `venue` scanned at `scanned_at_ms`.
fn recorded(venue: &Venue, scanned_at_ms: i64) -> String {
    catalog().text("recorded", &[("venue", &venue.name), ("time", &jst(scanned_at_ms))])
}

/// A webhook body with one text message event, as LINE sends it.
fn text_event_body(user: &str, text: &str, event_id: &str, reply_token: &str, timestamp_ms: i64) -> Vec<u8> {
    let event = json!({
        "type": "message",
        "mode": "active",
        "timestamp": timestamp_ms,
        "source": { "type": "user", "userId": user },
        "webhookEventId": event_id,
        "deliveryContext": { "isRedelivery": false },
        "replyToken": reply_token,
        "message": { "id": "100001", "type": "text", "quoteToken": "q3Plxr4AgKd", "text": text },
    });
    serde_json::to_vec(&json!({ "destination": BOT_USER_ID, "events": [event] })).expect("JSON")
}

fn attempts_of<'a>(log: &'a [Value], event_id: &str) -> Vec<&'a Value> {
    log.iter().filter(|a| a["webhook_event_ids"].as_array().is_some_and(|ids| ids.iter().any(|id| id == event_id))).collect()
}

async fn reply_requests(world: &LineWorld) -> Vec<Value> {
    replies_in(&world.line.requests().await).into_iter().cloned().collect()
}

fn replies_in(log: &[Value]) -> Vec<&Value> {
    log.iter().filter(|r| r["path"] == REPLY_PATH).collect()
}

fn statuses<V: std::borrow::Borrow<Value>>(requests: &[V]) -> Vec<u64> {
    requests.iter().map(|r| r.borrow()["status"].as_u64().unwrap_or_default()).collect()
}

// ---- the server's SQLite file, read beside the running server ----

#[derive(Debug)]
struct Visit {
    location_id: String,
    scanned_at_ms: i64,
    recorded_at_ms: i64,
}

fn database(world: &LineWorld) -> rusqlite::Connection {
    let path = world.server.database_path();
    open(&path)
}

fn open(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

fn count(world: &LineWorld, table: &str) -> i64 {
    database(world).query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap_or_else(|e| panic!("count {table}: {e}"))
}

fn resident_rows(world: &LineWorld, user: &str) -> i64 {
    database(world).query_row("SELECT count(*) FROM residents WHERE line_user_id = ?1", [user], |r| r.get(0)).expect("count residents")
}

fn visits(world: &LineWorld, user: &str) -> Vec<Visit> {
    let db = database(world);
    let mut statement = db
        .prepare(
            "SELECT v.location_id, v.scanned_at_ms, v.recorded_at_ms FROM visits v JOIN residents r ON r.id = v.resident_id
             WHERE r.line_user_id = ?1 ORDER BY v.scanned_at_ms",
        )
        .expect("prepare");
    let rows = statement.query_map([user], |r| Ok(Visit { location_id: r.get(0)?, scanned_at_ms: r.get(1)?, recorded_at_ms: r.get(2)? })).expect("query visits");
    rows.collect::<Result<_, _>>().expect("read visits")
}

/// Scan times of the resident's visits to `venue`, oldest first.
fn visit_times(world: &LineWorld, user: &str, venue: &Venue) -> Vec<i64> {
    visits(world, user).into_iter().filter(|v| v.location_id == venue.location_id).map(|v| v.scanned_at_ms).collect()
}

/// Scan times of the resident's scans waiting for consent.
fn pending_scans(world: &LineWorld, user: &str) -> Vec<i64> {
    let db = database(world);
    let mut statement = db
        .prepare("SELECT p.scanned_at_ms FROM pending_scans p JOIN residents r ON r.id = p.resident_id WHERE r.line_user_id = ?1 ORDER BY p.scanned_at_ms")
        .expect("prepare");
    let rows = statement.query_map([user], |r| r.get(0)).expect("query pending scans");
    rows.collect::<Result<_, _>>().expect("read pending scans")
}

fn consent_terms(world: &LineWorld, user: &str) -> Option<String> {
    database(world).query_row("SELECT consent_terms FROM residents WHERE line_user_id = ?1", [user], |r| r.get(0)).expect("the resident's row")
}

fn blocked_at(world: &LineWorld, user: &str) -> Option<i64> {
    database(world).query_row("SELECT blocked_at_ms FROM residents WHERE line_user_id = ?1", [user], |r| r.get(0)).expect("the resident's row")
}

