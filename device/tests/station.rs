//! The scanning station: a pass read by the camera is checked against the kiosk's state
//! machine (trusted time, pass key, revocations), committed to the buffer before it is
//! confirmed, and answered with a screen, a light and sound, a line on stdout and an event;
//! batches for scan sync come from the buffer and what the server acknowledged is pruned.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use oshirase_common::pass::{self, Pass, PassId};
use oshirase_device::buffer::ScanBuffer;
use oshirase_device::feedback::Outcome;
use oshirase_device::pairing::ScansReply;
use oshirase_device::passes::{PassKey, RevocationList};
use oshirase_device::protocol::{Event, HeartbeatAnswer, HeartbeatReply, Kiosk, Timing};
use oshirase_device::scanner::Unavailable;
use oshirase_device::screen::{RefusalReason, Screen};
use oshirase_device::station::{Answer, NotRecorded, ScanOutcome, Station};
use oshirase_device::storage::Identity;

/// docs/protocol.md's public key of the seed 01 01 … 01.
const KEY: &str = "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=";
/// 2026-11-25T10:30:00Z = 19:30 in Japan.
const SERVER_NOW_MS: i64 = 1_795_602_600_000;
/// A Pi without RTC after a power cut: its clock says 2000-01-01.
const WRONG_SYSTEM_MS: i64 = 946_684_800_000;
const EXPIRES: u32 = 1_800_000_000;

fn identity() -> Identity {
    Identity::example()
}

fn pass_id(n: u8) -> PassId {
    PassId::from_random([n; 10])
}

/// A pass signed with the key of `seed` (1 is the server's).
fn signed(seed: u8, n: u8, expires_at: u32) -> String {
    let key = From::from(&[seed; 32]);
    pass::issue(&key, &Pass { id: pass_id(n), expires_at })
}

fn valid(n: u8) -> Vec<String> {
    vec![signed(1, n, EXPIRES)]
}

/// A kiosk whose clock is wrong and which learnt the server's time from a heartbeat answered
/// at monotonic 1 000 ms; `tick(at)` moves both clocks on.
struct World {
    kiosk: Kiosk,
    station: Station,
    dir: tempfile::TempDir,
}

impl World {
    fn new(capacity: u64) -> World {
        let dir = tempfile::tempdir().unwrap();
        let station = Station::open(dir.path(), capacity, 3000).unwrap();
        let mut kiosk = Kiosk::paired(identity(), Timing::default(), 1);
        kiosk.handle(tick(1_000));
        kiosk.handle(Event::HeartbeatSent { at_monotonic_ms: 1_000 });
        kiosk.handle(Event::HeartbeatAnswered(HeartbeatAnswer {
            sent_at_monotonic_ms: 1_000,
            answered_at_monotonic_ms: 1_000,
            reply: HeartbeatReply {
                server_time_ms: SERVER_NOW_MS,
                disabled: false,
                step_seconds: 30,
                window_behind_steps: 10,
                window_ahead_steps: 1,
                venue_name: "市民体育館".into(),
                pass_public_key: PassKey::from_base64(KEY),
                revocations: Some(RevocationList::new(Some(4), [pass_id(9)])),
            },
        }));
        World { kiosk, station, dir }
    }

    fn frame(&mut self, texts: &[String], at: u64) -> Option<Answer> {
        self.kiosk.handle(tick(at));
        self.station.frame(texts, at, &self.kiosk)
    }
}

fn tick(at: u64) -> Event {
    Event::Tick { now_monotonic_ms: at, system_time_ms: WRONG_SYSTEM_MS + i64::try_from(at).unwrap(), system_clock_synced: false }
}

#[test]
fn an_accepted_pass_is_committed_before_it_is_confirmed_and_held_up_it_is_one_scan() {
    let mut world = World::new(100);
    let answer = world.frame(&valid(1), 2_000).unwrap();
    assert_eq!(world.station.pending().unwrap(), 1, "committed by the time the answer exists");
    assert_eq!(answer.outcome, ScanOutcome::Accepted { seq: 1 });
    assert_eq!(answer.screen, Some(Screen::ScanAccepted { label: None, time: "19:30".into() }));
    assert_eq!(answer.feedback, Outcome::Accepted);
    assert_eq!(answer.line, format!("scan accepted seq=1 pass=…{}", pass_id(1).short()));
    assert_eq!(answer.event, Some(Event::ScanCommitted { seq: 1 }));
    world.kiosk.handle(answer.event.unwrap());
    assert_eq!(world.kiosk.pending_scans(), 1);

    for at in (2_100..12_000).step_by(100) {
        assert_eq!(world.frame(&valid(1), at), None, "still held up at {at} ms");
    }
    let again = world.frame(&valid(1), 16_000).unwrap();
    assert_eq!(again.outcome, ScanOutcome::Accepted { seq: 2 }, "shown again after the window");
    assert_eq!((world.station.accepted_scans(), world.station.last_scan()), (2, Some(ScanOutcome::Accepted { seq: 2 })));
}

#[test]
fn the_scan_is_kept_on_the_kiosks_clock_with_the_offset_that_gives_the_servers_time() {
    let mut world = World::new(100);
    world.frame(&valid(1), 2_500).unwrap();
    let scan = world.station.batch(0).unwrap().remove(0);
    assert_eq!(scan.pass_id, pass_id(1));
    assert_eq!(scan.scanned_at_ms, WRONG_SYSTEM_MS + 2_500, "the kiosk's own clock");
    assert_eq!(scan.scanned_at_ms + scan.clock_offset_ms, SERVER_NOW_MS + 1_500, "corrected, the server's time of the scan");
}

#[test]
fn refused_passes_say_why_on_screen_and_on_stdout() {
    let mut world = World::new(100);
    let cases = [
        (signed(2, 1, EXPIRES), RefusalReason::Forged, "scan refused reason=forged"),
        (signed(1, 2, 1_700_000_000), RefusalReason::Expired, "scan refused reason=expired"),
        (signed(1, 9, EXPIRES), RefusalReason::Revoked, "scan refused reason=revoked"),
        ("HTTPS://EXAMPLE.JP/POSTER".to_owned(), RefusalReason::Unreadable, "scan refused reason=unreadable"),
    ];
    for (i, (text, reason, line)) in cases.into_iter().enumerate() {
        let at = 2_000 + u64::try_from(i).unwrap() * 10_000;
        let answer = world.frame(&[text], at).unwrap();
        assert_eq!((answer.outcome, answer.screen, answer.feedback), (ScanOutcome::Refused(reason), Some(Screen::ScanRefused { reason }), Outcome::Refused));
        assert_eq!((answer.line.as_str(), answer.event), (line, None));
    }
    assert_eq!(world.station.pending().unwrap(), 0, "nothing refused is kept");
    assert_eq!(world.station.last_scan().unwrap().reason(), Some("unreadable"));
}

#[test]
fn a_full_buffer_refuses_new_scans_and_keeps_the_old() {
    let mut world = World::new(2);
    world.frame(&valid(1), 2_000).unwrap();
    world.frame(&valid(2), 2_100).unwrap();
    let answer = world.frame(&valid(3), 2_200).unwrap();
    assert_eq!(answer.outcome, ScanOutcome::NotRecorded(NotRecorded::StorageFull));
    assert_eq!((answer.screen, answer.feedback, answer.event), (Some(Screen::StorageFull), Outcome::StorageFull, None));
    assert_eq!(answer.line, "scan not recorded reason=storage_full");
    assert_eq!(world.station.pending().unwrap(), 2);
}

#[test]
fn without_a_trusted_clock_or_a_key_nothing_is_checked_and_a_disabled_kiosk_takes_no_scans() {
    let dir = tempfile::tempdir().unwrap();
    let mut station = Station::open(dir.path(), 100, 3000).unwrap();
    let mut kiosk = Kiosk::paired(identity(), Timing::default(), 1);
    kiosk.handle(tick(0));
    let answer = station.frame(&valid(1), 0, &kiosk).unwrap();
    assert_eq!((answer.outcome, answer.screen, answer.feedback), (ScanOutcome::NotChecked(Unavailable::ClockUntrusted), None, Outcome::Error));
    assert_eq!(answer.line, "scan not checked reason=clock_untrusted");

    let mut keyless = Kiosk::paired(Identity { pass_public_key: None, ..identity() }, Timing::default(), 1);
    keyless.handle(Event::Tick { now_monotonic_ms: 0, system_time_ms: SERVER_NOW_MS, system_clock_synced: true });
    assert_eq!(station.frame(&valid(2), 10_000, &keyless).unwrap().line, "scan not checked reason=no_pass_key");

    let mut world = World::new(100);
    world.kiosk.handle(Event::HeartbeatRefused { at_monotonic_ms: 1_500 });
    assert_eq!(world.frame(&valid(1), 2_000), None, "a kiosk the server does not know takes no scans");
    assert_eq!(world.station.pending().unwrap(), 0);
}

#[test]
fn batches_come_from_the_buffer_in_order_and_what_the_server_acknowledged_is_pruned() {
    let mut world = World::new(100);
    for n in 1..=3 {
        world.frame(&valid(n), 2_000 + u64::from(n) * 100).unwrap();
    }
    let batch = world.station.batch(0).unwrap();
    assert_eq!(batch.iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let reply = |through| ScansReply { acknowledged_through: through, recorded: 2, duplicates: 0, refused: 0 };
    assert_eq!(world.station.synced(1, 3, reply(2), 9_000), Event::ScansAcknowledged { at_monotonic_ms: 9_000, through: 2 });
    assert_eq!(world.station.pending().unwrap(), 1);
    assert!(
        matches!(world.station.synced(3, 3, reply(2), 9_500), Event::ScansFailed { ref error, .. } if error.contains("none of scans 3–3")),
        "an answer that acknowledges nothing of the batch is a failure, retried after the backoff"
    );

    // After a restart the state machine learns what is still unsent.
    let path = world.dir.path().join("scans.sqlite");
    let reopened = Station::new(ScanBuffer::open(&path, 100).unwrap(), 3000);
    assert_eq!(reopened.restored().unwrap(), Event::ScansRestored { acknowledged_through: 2, last_seq: 3 });
    world.station.synced(3, 3, reply(3), 10_000);
    assert_eq!(reopened.restored().unwrap(), Event::ScansRestored { acknowledged_through: 3, last_seq: 3 }, "an empty buffer: everything acknowledged");
}
