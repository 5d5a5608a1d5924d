//! The kiosk's state machine stepped through boots, heartbeat answers, failures and
//! revocations with made-up clocks: no sockets, no sleeping, the same result every run.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use oshirase_common::kiosk_token::KioskToken;
use oshirase_device::protocol::{
    Action, DisplayState, Event, HeartbeatAnswer, HeartbeatReply, Kiosk, Timing, View, checkin_url,
};
use oshirase_common::pass::PassId;
use oshirase_device::passes::{PassKey, RevocationList};
use oshirase_device::storage::Identity;

/// 2025-11-24T16:00:00Z, the start of step 58 800 000.
const SERVER_NOW_MS: i64 = 1_764_000_000_000;
/// A Pi without RTC after a power cut: its clock says 2000-01-01.
const WRONG_SYSTEM_MS: i64 = 946_684_800_000;

fn identity() -> Identity {
    Identity { pass_public_key: None, ..Identity::example() }
}

fn kiosk(seed: u64) -> Kiosk {
    Kiosk::paired(identity(), Timing::default(), seed)
}

fn tick(now_monotonic_ms: u64, system_time_ms: i64, system_clock_synced: bool) -> Event {
    Event::Tick {
        now_monotonic_ms,
        system_time_ms,
        system_clock_synced,
    }
}

/// The system clock as it runs on from `WRONG_SYSTEM_MS` at monotonic 0.
fn wrong_tick(now_monotonic_ms: u64) -> Event {
    tick(
        now_monotonic_ms,
        WRONG_SYSTEM_MS + i64::try_from(now_monotonic_ms).unwrap(),
        false,
    )
}

fn answer(sent: u64, answered: u64, server_time_ms: i64, disabled: bool) -> Event {
    Event::HeartbeatAnswered(HeartbeatAnswer {
        sent_at_monotonic_ms: sent,
        answered_at_monotonic_ms: answered,
        reply: HeartbeatReply {
            server_time_ms,
            disabled,
            step_seconds: 30,
            window_behind_steps: 10,
            window_ahead_steps: 1,
            venue_name: "市民体育館".into(),
            pass_public_key: None,
            revocations: None,
        },
    })
}

/// Boots with a wrong clock and gets a heartbeat answer: sent at 1 000, answered at 1 200,
/// the server's clock saying `SERVER_NOW_MS` halfway, at 1 100.
fn trusted_kiosk(seed: u64) -> Kiosk {
    let mut k = kiosk(seed);
    k.handle(wrong_tick(1_000));
    assert_eq!(k.next_action(), Action::SendHeartbeat);
    k.handle(Event::HeartbeatSent {
        at_monotonic_ms: 1_000,
    });
    k.handle(answer(1_000, 1_200, SERVER_NOW_MS, false));
    k.handle(wrong_tick(1_200));
    k
}

fn wait_ms(k: &Kiosk) -> u64 {
    match k.next_action() {
        Action::Wait { ms } => ms,
        Action::SendHeartbeat => panic!("expected a wait, the kiosk wants to send a heartbeat"),
        Action::SendScans { after } => panic!("expected a wait, the kiosk wants to send scans after {after}"),
    }
}

fn url(step: u64) -> String {
    let id = identity();
    format!(
        "HTTPS://OSHIRASE.EXAMPLE.JP/K/{}",
        KioskToken::issue(&id.kiosk_id, &id.kiosk_secret, step)
    )
}

#[test]
fn a_kiosk_booted_without_a_synchronised_clock_shows_no_code_and_asks_the_server() {
    let mut k = kiosk(1);
    assert_eq!(k.view(), View::ClockUntrusted, "before any tick");
    k.handle(wrong_tick(0));
    assert_eq!(k.view(), View::ClockUntrusted);
    assert_eq!(k.current_display(), DisplayState::ClockUntrusted);
    assert_eq!(k.trusted_now_ms(), None);
    assert_eq!(
        k.next_action(),
        Action::SendHeartbeat,
        "the first heartbeat goes out at once"
    );
    let report = k.heartbeat_report();
    assert_eq!(
        (report.screen, report.clock_offset_ms, report.sent_at_ms),
        ("clock_untrusted", None, WRONG_SYSTEM_MS)
    );
}

#[test]
fn a_heartbeat_answer_makes_the_clock_trusted_and_codes_follow_the_servers_time() {
    let k = trusted_kiosk(1);
    // 100 ms after the middle of the round trip.
    assert_eq!(k.trusted_now_ms(), Some(SERVER_NOW_MS + 100));
    assert_eq!(
        k.clock_offset_ms(),
        Some(SERVER_NOW_MS + 100 - (WRONG_SYSTEM_MS + 1_200))
    );
    assert_eq!(
        k.view(),
        View::ShowCode {
            step: 58_800_000,
            seconds_to_next: 30
        }
    );
    assert_eq!(
        k.current_display(),
        DisplayState::Code {
            venue_name: "市民体育館".into(),
            checkin_url: url(58_800_000),
            seconds_to_next: 30,
            offline_since_ms: None
        }
    );
    let report = k.heartbeat_report();
    assert_eq!(
        (report.screen, report.clock_offset_ms),
        ("idle", k.clock_offset_ms())
    );
    assert_eq!(
        wait_ms(&k),
        60_000,
        "the next heartbeat is a minute after the answer"
    );
}

#[test]
fn codes_rotate_with_the_corrected_clock_and_count_down_to_the_next() {
    let mut k = trusted_kiosk(1);
    k.handle(wrong_tick(21_100)); // 20 s after SERVER_NOW_MS
    assert_eq!(
        k.view(),
        View::ShowCode {
            step: 58_800_000,
            seconds_to_next: 10
        }
    );
    k.handle(wrong_tick(31_100));
    assert_eq!(
        k.view(),
        View::ShowCode {
            step: 58_800_001,
            seconds_to_next: 30
        }
    );
    assert!(
        matches!(k.current_display(), DisplayState::Code { checkin_url, .. } if checkin_url == url(58_800_001))
    );
}

#[test]
fn a_jump_of_the_system_clock_after_an_answer_does_not_move_the_codes() {
    let mut k = trusted_kiosk(1);
    // NTP steps the system clock to the right time 5 s later.
    k.handle(tick(6_100, SERVER_NOW_MS + 5_000, true));
    assert_eq!(k.trusted_now_ms(), Some(SERVER_NOW_MS + 5_000));
    assert_eq!(k.clock_offset_ms(), Some(0));
    assert_eq!(
        k.view(),
        View::ShowCode {
            step: 58_800_000,
            seconds_to_next: 25
        }
    );
}

#[test]
fn a_synchronised_system_clock_shows_codes_at_once() {
    let mut k = kiosk(1);
    k.handle(tick(0, SERVER_NOW_MS + 12_500, true));
    assert_eq!(
        k.view(),
        View::ShowCode {
            step: 58_800_000,
            seconds_to_next: 18
        }
    );
    assert!(
        matches!(k.current_display(), DisplayState::Code { checkin_url, .. } if checkin_url == url(58_800_000))
    );
    assert_eq!(k.clock_offset_ms(), None, "no server time yet");
    assert_eq!(k.next_action(), Action::SendHeartbeat);
}

#[test]
fn a_failed_heartbeat_goes_offline_but_keeps_showing_codes_and_recovers_on_the_next_answer() {
    let mut k = trusted_kiosk(7);
    k.handle(wrong_tick(61_200));
    assert_eq!(k.next_action(), Action::SendHeartbeat);
    k.handle(Event::HeartbeatSent {
        at_monotonic_ms: 61_200,
    });
    k.handle(Event::HeartbeatFailed {
        at_monotonic_ms: 71_200,
        error: "cannot reach the server: timed out".into(),
    });
    k.handle(wrong_tick(71_200));
    let since = SERVER_NOW_MS + 70_100;
    assert_eq!(
        k.view(),
        View::Offline {
            since_ms: since,
            step: 58_800_002,
            seconds_to_next: 20
        }
    );
    assert!(
        matches!(k.current_display(), DisplayState::Code { checkin_url, offline_since_ms: Some(s), .. } if checkin_url == url(58_800_002) && s == since)
    );
    let report = k.heartbeat_report();
    assert_eq!(
        (report.screen, report.last_error.as_deref()),
        ("offline", Some("cannot reach the server: timed out"))
    );

    // Backoff: 10 s, 20 s, 40 s … up to 5 minutes, each between half and all of it.
    let mut now = 71_200;
    let mut waits = Vec::new();
    for _ in 0..8 {
        let wait = wait_ms(&k);
        waits.push(wait);
        now += wait;
        k.handle(wrong_tick(now));
        assert_eq!(k.next_action(), Action::SendHeartbeat);
        k.handle(Event::HeartbeatSent {
            at_monotonic_ms: now,
        });
        k.handle(Event::HeartbeatFailed {
            at_monotonic_ms: now,
            error: "503".into(),
        });
        k.handle(wrong_tick(now));
        assert!(
            matches!(k.view(), View::Offline { since_ms, .. } if since_ms == since),
            "offline since the first failure"
        );
    }
    for (wait, base) in waits.iter().zip([
        10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]) {
        assert!(
            (base / 2..=base).contains(wait),
            "{wait} ms for a base of {base} ms ({waits:?})"
        );
    }
    assert!(
        waits[..5].windows(2).all(|w| w[1] > w[0]),
        "the delay grows: {waits:?}"
    );

    k.handle(answer(
        now,
        now + 300,
        SERVER_NOW_MS + i64::try_from(now).unwrap(),
        false,
    ));
    k.handle(wrong_tick(now + 300));
    assert!(matches!(k.view(), View::ShowCode { .. }));
    assert_eq!(k.heartbeat_report().last_error, None);
    assert_eq!(wait_ms(&k), 60_000, "back to one heartbeat a minute");
}

#[test]
fn the_backoffs_jitter_is_the_same_for_a_seed_and_differs_between_seeds() {
    let first_wait = |seed| {
        let mut k = trusted_kiosk(seed);
        k.handle(Event::HeartbeatFailed {
            at_monotonic_ms: 1_200,
            error: "x".into(),
        });
        wait_ms(&k)
    };
    assert_eq!(first_wait(42), first_wait(42));
    let waits: std::collections::BTreeSet<u64> = (0..8).map(first_wait).collect();
    assert!(waits.len() > 4, "seeds spread kiosks out: {waits:?}");
}

#[test]
fn a_disabled_kiosk_shows_no_code_until_the_server_says_otherwise() {
    let mut k = trusted_kiosk(1);
    k.handle(answer(61_200, 61_300, SERVER_NOW_MS + 60_100, true));
    k.handle(wrong_tick(61_300));
    assert_eq!(k.view(), View::Disabled);
    assert_eq!(k.current_display(), DisplayState::Disabled);
    assert_eq!(k.heartbeat_report().screen, "disabled");
    assert_eq!(wait_ms(&k), 60_000, "it keeps reporting");
    k.handle(Event::HeartbeatFailed {
        at_monotonic_ms: 121_300,
        error: "x".into(),
    });
    assert_eq!(
        k.view(),
        View::Disabled,
        "losing the server does not bring codes back"
    );
    k.handle(answer(131_300, 131_400, SERVER_NOW_MS + 130_200, false));
    assert!(matches!(k.view(), View::ShowCode { .. }));
}

#[test]
fn a_kiosk_the_server_no_longer_knows_shows_how_to_pair() {
    let mut k = trusted_kiosk(1);
    k.handle(Event::HeartbeatRefused {
        at_monotonic_ms: 61_300,
    });
    assert_eq!(k.view(), View::Unpaired);
    assert_eq!(k.current_display(), DisplayState::Unpaired);
    assert!(
        k.heartbeat_report()
            .last_error
            .unwrap()
            .contains("pair it again")
    );
}

#[test]
fn an_unpaired_kiosk_shows_how_to_pair_and_sends_nothing() {
    let mut k = Kiosk::unpaired(Timing::default());
    k.handle(tick(0, SERVER_NOW_MS, true));
    assert_eq!(k.view(), View::Unpaired);
    assert_eq!(k.current_display(), DisplayState::Unpaired);
    assert!(matches!(k.next_action(), Action::Wait { .. }));
}

#[test]
fn the_server_renaming_the_place_or_changing_the_step_is_followed() {
    let mut k = trusted_kiosk(1);
    k.handle(Event::HeartbeatAnswered(HeartbeatAnswer {
        sent_at_monotonic_ms: 61_200,
        answered_at_monotonic_ms: 61_200,
        reply: HeartbeatReply {
            server_time_ms: SERVER_NOW_MS + 60_100,
            disabled: false,
            step_seconds: 60,
            window_behind_steps: 5,
            window_ahead_steps: 1,
            venue_name: "市民体育館 サブアリーナ".into(),
            pass_public_key: None,
            revocations: None,
        },
    }));
    k.handle(wrong_tick(61_200));
    assert_eq!(k.identity().unwrap().venue_name, "市民体育館 サブアリーナ");
    assert_eq!(
        k.view(),
        View::ShowCode {
            step: 29_400_001,
            seconds_to_next: 60
        }
    );
}

#[test]
fn checkin_urls_are_upper_case_and_keep_a_path_prefix() {
    let id = identity();
    let token = KioskToken::issue(&id.kiosk_id, &id.kiosk_secret, 1);
    assert_eq!(
        checkin_url("https://oshirase.example.jp/", &token),
        format!("HTTPS://OSHIRASE.EXAMPLE.JP/K/{token}")
    );
    assert_eq!(
        checkin_url("http://127.0.0.1:8080/oshirase", &token),
        format!("HTTP://127.0.0.1:8080/oshirase/K/{token}")
    );
}

#[test]
fn committed_scans_are_sent_after_the_servers_cursor_and_acknowledged_ones_stop_counting() {
    let mut k = trusted_kiosk(1);
    assert_eq!(k.pending_scans(), 0);
    assert!(matches!(k.next_action(), Action::Wait { .. }), "nothing to sync");
    for seq in 1..=3 {
        k.handle(Event::ScanCommitted { seq });
    }
    assert_eq!(k.pending_scans(), 3);
    assert_eq!(k.next_action(), Action::SendScans { after: 0 });
    k.handle(Event::ScansSent { at_monotonic_ms: 1_300, through: 3 });
    assert!(matches!(k.next_action(), Action::Wait { .. }), "one batch at a time");
    k.handle(Event::ScanCommitted { seq: 4 });
    k.handle(Event::ScansAcknowledged { at_monotonic_ms: 1_400, through: 3 });
    assert_eq!(k.pending_scans(), 1);
    k.handle(tick(1_400, WRONG_SYSTEM_MS + 1_400, false));
    assert_eq!(k.next_action(), Action::SendScans { after: 3 }, "the scan made while the batch was out");
}

#[test]
fn a_failed_sync_backs_off_on_its_own_and_a_due_heartbeat_goes_first() {
    let mut k = trusted_kiosk(2);
    k.handle(Event::ScanCommitted { seq: 1 });
    k.handle(Event::ScansSent { at_monotonic_ms: 1_200, through: 1 });
    k.handle(Event::ScansFailed { at_monotonic_ms: 1_300, error: "connection refused".into() });
    let waited = wait_ms(&k);
    // Failed at 1 300 ms, last tick at 1 200 ms: the retry is 5–10 s after the failure.
    assert!((5_100..=10_100).contains(&waited), "the first retry comes 5–10 s after the failure: {waited}");
    assert_eq!(k.view().heartbeat_name(), "idle", "a failed sync alone does not make the kiosk offline");
    assert_eq!(k.heartbeat_report().last_error.as_deref(), Some("connection refused"), "but the next heartbeat says why");
    // Later than both the retry and the next heartbeat (60 s): the heartbeat goes first.
    k.handle(tick(70_000, WRONG_SYSTEM_MS + 70_000, false));
    assert_eq!(k.next_action(), Action::SendHeartbeat);
    k.handle(Event::HeartbeatSent { at_monotonic_ms: 70_000 });
    assert_eq!(k.next_action(), Action::SendScans { after: 0 }, "then the scans, while the heartbeat is out");
}

#[test]
fn after_a_restart_the_buffer_says_what_is_still_unsent() {
    let mut k = trusted_kiosk(3);
    k.handle(Event::ScansRestored { acknowledged_through: 40, last_seq: 52 });
    assert_eq!(k.pending_scans(), 12);
    assert_eq!(k.next_action(), Action::SendScans { after: 40 });
    let mut empty = trusted_kiosk(4);
    empty.handle(Event::ScansRestored { acknowledged_through: 52, last_seq: 52 });
    assert_eq!(empty.pending_scans(), 0);
}

/// docs/protocol.md's public key of the seed 01 01 … 01.
const PASS_KEY: &str = "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=";

fn answer_with_passes(at: u64, key: Option<PassKey>, revocations: Option<RevocationList>) -> Event {
    let Event::HeartbeatAnswered(mut answer) = answer(at, at, SERVER_NOW_MS + i64::try_from(at).unwrap(), false) else { unreachable!() };
    answer.reply.pass_public_key = key;
    answer.reply.revocations = revocations;
    Event::HeartbeatAnswered(answer)
}

#[test]
fn the_pass_key_and_the_revocation_list_come_with_heartbeats_and_an_unchanged_list_is_kept() {
    let mut k = trusted_kiosk(5);
    assert_eq!(k.pass_key(), None, "paired before passes existed");
    let report = k.heartbeat_report();
    assert_eq!((report.pending_scans, report.revocations_version), (0, None), "no list yet: the server sends its whole list");

    let key = PassKey::from_base64(PASS_KEY);
    let revoked = PassId::parse("0W3GE1R70W3GE1R7").unwrap();
    k.handle(answer_with_passes(61_200, key, Some(RevocationList::new(Some(14), [revoked.clone()]))));
    assert_eq!(k.pass_key(), key);
    assert_eq!(k.identity().unwrap().pass_public_key, key, "kept with the identity");
    assert!(k.revocations().contains(&revoked));
    k.handle(Event::ScanCommitted { seq: 3 });
    let report = k.heartbeat_report();
    assert_eq!((report.pending_scans, report.revocations_version), (3, Some(14)));

    k.handle(answer_with_passes(121_200, None, None));
    assert_eq!(k.pass_key(), key, "an answer without a key keeps the one known");
    assert_eq!(k.revocations().version(), Some(14), "null: the list is unchanged");
    k.handle(answer_with_passes(181_200, key, Some(RevocationList::new(Some(15), []))));
    assert!(k.revocations().is_empty(), "a new list replaces the old one whole");
}

#[test]
fn the_revocation_list_kept_on_disk_is_reported_after_a_restart() {
    let mut k = kiosk(6);
    k.handle(Event::RevocationsRestored(RevocationList::new(Some(9), [PassId::parse("0000000000000000").unwrap()])));
    k.handle(wrong_tick(0));
    assert_eq!(k.heartbeat_report().revocations_version, Some(9));
    assert_eq!(k.revocations().len(), 1);
}
