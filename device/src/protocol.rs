//! What the kiosk does and shows, as a state machine without I/O (issue 5: rotating codes,
//! no RTC, heartbeat; the shape follows rumqttc's `MqttState`).
//!
//! The run loop in `main.rs` owns the clocks, the timers and the HTTP client. It feeds
//! everything that happens to a [`Kiosk`] as one closed [`Event`] enum and asks it
//! [`Kiosk::next_action`] (send a heartbeat, or wait) and [`Kiosk::view`] /
//! [`Kiosk::current_display`] (what the screen shows). Tests step it through boots, answers,
//! failures and revocations with made-up times, deterministically.
//!
//! **Clock.** A Raspberry Pi has no real-time clock: after a power cut its system clock may be
//! hours or years off until NTP fixes it, and a code from the wrong step is refused by the
//! server. So the kiosk trusts a time only when the system clock is synchronised (an input of
//! every [`Event::Tick`]) or once a heartbeat was answered; until then it shows
//! [`View::ClockUntrusted`] and no code. A heartbeat answer gives the server's time at the
//! middle of the round trip; it is held against the monotonic clock, so a later jump of the
//! system clock (NTP's first correction) does not move the codes. Seen from the system clock
//! this is "system time + offset", with the offset ([`Kiosk::clock_offset_ms`]) reported in
//! every heartbeat.
//!
//! **Heartbeat.** Every [`Timing::heartbeat_every_ms`] (60 s); after a failure sooner and then
//! less often (exponential backoff with jitter from a seeded generator, so tests are
//! deterministic). A failed heartbeat makes the kiosk [`View::Offline`], but it keeps showing
//! valid codes: its clock stays trusted. `disabled` from the server (a revoked kiosk or a
//! withdrawn place) stops the codes; `401` (the server does not know the kiosk) shows
//! [`View::Unpaired`].
//!
//! **Scan sync** (issue 7). The scan buffer (`buffer.rs`) commits each accepted pass scan
//! with a sequence number ([`Event::ScanCommitted`]); the machine asks for
//! [`Action::SendScans`] after the server's last acknowledgement, one batch at a time, with its
//! own backoff after a failure; a due heartbeat always goes first. The server is idempotent by
//! (kiosk, sequence), so a batch sent twice after a crash is counted once.
//!
//! **Passes** (issue 7). The machine keeps what checking a pass needs from the server: the
//! pass key (in the identity, from pairing and every heartbeat answer) and the revocation list
//! ([`Kiosk::revocations`]), replaced whole when an answer brings a new one; the heartbeat
//! reports the list's version and the number of unsent scans.

use oshirase_common::kiosk_token::{KioskToken, Steps};

use crate::passes::{PassKey, RevocationList};
use crate::storage::Identity;

/// How often the kiosk talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Between answered heartbeats.
    pub heartbeat_every_ms: u64,
    /// The first delay after a failed heartbeat; it doubles with each further failure.
    pub backoff_first_ms: u64,
    /// The longest delay between failed heartbeats.
    pub backoff_max_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            heartbeat_every_ms: 60_000,
            backoff_first_ms: 10_000,
            backoff_max_ms: 300_000,
        }
    }
}

/// Everything that happens to the kiosk. Times are milliseconds: `monotonic` from a clock that
/// never jumps (counting from the start of the process), `system` since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The clocks, read now. The run loop sends one at least every second.
    Tick {
        /// The monotonic clock.
        now_monotonic_ms: u64,
        /// The system clock (may be far off on a Pi without RTC).
        system_time_ms: i64,
        /// Whether the operating system says the system clock is synchronised (NTP).
        system_clock_synced: bool,
    },
    /// A heartbeat request left.
    HeartbeatSent {
        /// When.
        at_monotonic_ms: u64,
    },
    /// The server answered a heartbeat (`200`).
    HeartbeatAnswered(HeartbeatAnswer),
    /// A heartbeat got no usable answer (network, timeout, 5xx, malformed body).
    HeartbeatFailed {
        /// When the failure was seen.
        at_monotonic_ms: u64,
        /// What went wrong, reported in the next heartbeat that gets through.
        error: String,
    },
    /// The server does not know the kiosk's sync token (`401`): it has to be paired again.
    HeartbeatRefused {
        /// When.
        at_monotonic_ms: u64,
    },
    /// At start: the revocation list kept on disk.
    RevocationsRestored(RevocationList),
    /// At start: what the scan buffer holds (the server acknowledged everything up to
    /// `acknowledged_through` before the restart; `last_seq` is the newest scan kept).
    ScansRestored {
        /// Unsent scans start after this.
        acknowledged_through: u64,
        /// The newest scan in the buffer.
        last_seq: u64,
    },
    /// A scan was committed to the buffer with this sequence number.
    ScanCommitted {
        /// Its sequence number.
        seq: u64,
    },
    /// A batch of scans left, up to `through`.
    ScansSent {
        /// When (monotonic).
        at_monotonic_ms: u64,
        /// The batch's last sequence number.
        through: u64,
    },
    /// The server acknowledged every scan up to `through` (the run loop prunes the buffer).
    ScansAcknowledged {
        /// When (monotonic).
        at_monotonic_ms: u64,
        /// The highest sequence number the server has.
        through: u64,
    },
    /// A batch got no usable answer; it is sent again later (the server is idempotent by
    /// kiosk and sequence number).
    ScansFailed {
        /// When (monotonic).
        at_monotonic_ms: u64,
        /// What went wrong.
        error: String,
    },
}

/// The server's answer to a heartbeat (`docs/protocol.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatReply {
    /// The server's clock, Unix milliseconds.
    pub server_time_ms: i64,
    /// A revoked kiosk or a withdrawn place: show no codes.
    pub disabled: bool,
    /// Seconds per code.
    pub step_seconds: u32,
    /// Steps into the past the server accepts.
    pub window_behind_steps: u32,
    /// Steps ahead the server accepts.
    pub window_ahead_steps: u32,
    /// The place's name now.
    pub venue_name: String,
    /// The server's pass key (`None` from a server without passes: keep the one known).
    pub pass_public_key: Option<PassKey>,
    /// A new revocation list, or `None` when the kiosk's is current.
    pub revocations: Option<RevocationList>,
}

impl HeartbeatReply {
    /// The event for the state machine, with when the request left and the answer came.
    pub fn answer(self, sent_at_monotonic_ms: u64, answered_at_monotonic_ms: u64) -> HeartbeatAnswer {
        HeartbeatAnswer { sent_at_monotonic_ms, answered_at_monotonic_ms, reply: self }
    }
}

/// The server's answer to a heartbeat, with the kiosk's own times around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    /// When the request left (monotonic).
    pub sent_at_monotonic_ms: u64,
    /// When the answer arrived (monotonic).
    pub answered_at_monotonic_ms: u64,
    /// What the server said.
    pub reply: HeartbeatReply,
}

/// What the run loop should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a heartbeat now (then report [`Event::HeartbeatSent`] and its outcome).
    SendHeartbeat,
    /// Send the buffer's scans after `after` (then report [`Event::ScansSent`] and the outcome).
    SendScans {
        /// The server has everything up to this sequence number.
        after: u64,
    },
    /// Nothing is due for this long; the loop still ticks every second for the screen.
    Wait {
        /// Milliseconds.
        ms: u64,
    },
}

/// What the screen shows, as the state machine sees it (the binary maps it to
/// `screen::Screen`; [`Kiosk::current_display`] adds the venue name and the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The code of `step`, online.
    ShowCode {
        /// The step the code is for.
        step: u64,
        /// Seconds until the next code.
        seconds_to_next: u32,
    },
    /// Not paired, or the server no longer knows the kiosk.
    Unpaired,
    /// No trustworthy time yet: no code.
    ClockUntrusted,
    /// The server is unreachable; codes go on with the trusted clock.
    Offline {
        /// When the server was last found unreachable first, Unix milliseconds.
        since_ms: i64,
        /// The step the code is for.
        step: u64,
        /// Seconds until the next code.
        seconds_to_next: u32,
    },
    /// Revoked kiosk or withdrawn place: no code.
    Disabled,
}

impl View {
    /// The name the heartbeat reports (`screen` in `docs/protocol.md`).
    pub fn heartbeat_name(&self) -> &'static str {
        match self {
            View::ShowCode { .. } => "idle",
            View::Unpaired => "unpaired",
            View::ClockUntrusted => "clock_untrusted",
            View::Offline { .. } => "offline",
            View::Disabled => "disabled",
        }
    }
}

/// Everything needed to draw the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayState {
    /// A QR code for `checkin_url`.
    Code {
        /// The place's name.
        venue_name: String,
        /// `HTTPS://HOST/K/<token>`, the QR code's content.
        checkin_url: String,
        /// Seconds until the next code.
        seconds_to_next: u32,
        /// Set while the server is unreachable: since when (Unix milliseconds).
        offline_since_ms: Option<i64>,
    },
    /// How to pair the kiosk.
    Unpaired,
    /// Waiting for a trustworthy time.
    ClockUntrusted,
    /// The kiosk was revoked or its place withdrawn.
    Disabled,
}

/// What a heartbeat reports about the kiosk (the body in `docs/protocol.md`, without the
/// version, which is the crate's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatReport {
    /// Seconds since the process started.
    pub uptime_seconds: u64,
    /// Server time minus the system clock, once known.
    pub clock_offset_ms: Option<i64>,
    /// The screen's name ([`View::heartbeat_name`]).
    pub screen: &'static str,
    /// The last heartbeat failure since the last success.
    pub last_error: Option<String>,
    /// The system clock now, Unix milliseconds.
    pub sent_at_ms: i64,
    /// Scans kept and not yet acknowledged by the server.
    pub pending_scans: u64,
    /// The version of the revocation list the kiosk holds, if it has one.
    pub revocations_version: Option<u64>,
}

/// The kiosk's state. Changes only through [`Kiosk::handle`].
#[derive(Debug, Clone)]
pub struct Kiosk {
    timing: Timing,
    /// `None` until paired; kept up to date with the server's answers.
    identity: Option<Identity>,
    /// The server answered 401 to the last heartbeat.
    refused: bool,
    disabled: bool,
    clocks: Option<Clocks>,
    /// The server's time at a monotonic instant, from the last answered heartbeat.
    server_clock: Option<ServerClock>,
    next_heartbeat_at_ms: u64,
    in_flight_since_ms: Option<u64>,
    failures: u32,
    offline_since_monotonic_ms: Option<u64>,
    last_error: Option<String>,
    jitter: SplitMix64,
    sync: SyncState,
    revocations: RevocationList,
}

/// Where scan sync is: acknowledged up to, the newest scan, a batch in flight, and its own
/// backoff (a heartbeat and a sync fail independently).
#[derive(Debug, Clone, Copy, Default)]
struct SyncState {
    acknowledged_through: u64,
    last_seq: u64,
    in_flight_since_ms: Option<u64>,
    next_at_ms: u64,
    failures: u32,
}

impl Kiosk {
    /// A paired kiosk; `seed` drives the backoff's jitter.
    pub fn paired(identity: Identity, timing: Timing, seed: u64) -> Kiosk {
        Kiosk::new(Some(identity), timing, seed)
    }

    /// A kiosk without an identity: it shows how to pair and sends nothing.
    pub fn unpaired(timing: Timing) -> Kiosk {
        Kiosk::new(None, timing, 0)
    }

    fn new(identity: Option<Identity>, timing: Timing, seed: u64) -> Kiosk {
        Kiosk {
            timing,
            identity,
            refused: false,
            disabled: false,
            clocks: None,
            server_clock: None,
            next_heartbeat_at_ms: 0,
            in_flight_since_ms: None,
            failures: 0,
            offline_since_monotonic_ms: None,
            last_error: None,
            jitter: SplitMix64(seed),
            sync: SyncState::default(),
            revocations: RevocationList::default(),
        }
    }

    /// Takes in one event.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Tick {
                now_monotonic_ms,
                system_time_ms,
                system_clock_synced,
            } => {
                self.clocks = Some(Clocks {
                    monotonic_ms: now_monotonic_ms,
                    system_ms: system_time_ms,
                    synced: system_clock_synced,
                });
            }
            Event::HeartbeatSent { at_monotonic_ms } => {
                self.in_flight_since_ms = Some(at_monotonic_ms)
            }
            Event::HeartbeatAnswered(answer) => self.answered(answer),
            Event::HeartbeatFailed {
                at_monotonic_ms,
                error,
            } => self.failed(at_monotonic_ms, error),
            Event::RevocationsRestored(list) => self.revocations = list,
            Event::ScansRestored { acknowledged_through, last_seq } => {
                self.sync.acknowledged_through = acknowledged_through;
                self.sync.last_seq = last_seq.max(acknowledged_through);
            }
            Event::ScanCommitted { seq } => self.sync.last_seq = self.sync.last_seq.max(seq),
            Event::ScansSent { at_monotonic_ms, .. } => self.sync.in_flight_since_ms = Some(at_monotonic_ms),
            Event::ScansAcknowledged { at_monotonic_ms, through } => {
                self.sync.in_flight_since_ms = None;
                self.sync.failures = 0;
                self.sync.acknowledged_through = self.sync.acknowledged_through.max(through);
                self.sync.next_at_ms = at_monotonic_ms;
            }
            Event::ScansFailed { at_monotonic_ms, error } => {
                self.sync.in_flight_since_ms = None;
                self.sync.failures = self.sync.failures.saturating_add(1);
                self.last_error = Some(error);
                let delay = self.sync_backoff_ms();
                self.sync.next_at_ms = at_monotonic_ms.saturating_add(delay);
            }
            Event::HeartbeatRefused { at_monotonic_ms } => {
                self.in_flight_since_ms = None;
                self.refused = true;
                self.last_error =
                    Some("the server does not know this kiosk (401): pair it again".into());
                self.next_heartbeat_at_ms =
                    at_monotonic_ms.saturating_add(self.timing.heartbeat_every_ms);
            }
        }
    }

    /// What the run loop should do now: a due heartbeat first, then unsent scans.
    pub fn next_action(&self) -> Action {
        let every = self.timing.heartbeat_every_ms;
        let (Some(_), Some(clocks)) = (&self.identity, self.clocks) else {
            return Action::Wait { ms: every };
        };
        let heartbeat_in = match self.in_flight_since_ms {
            Some(_) => every,
            None => self.next_heartbeat_at_ms.saturating_sub(clocks.monotonic_ms),
        };
        if heartbeat_in == 0 {
            return Action::SendHeartbeat;
        }
        if self.refused || self.sync.in_flight_since_ms.is_some() || self.sync.last_seq <= self.sync.acknowledged_through {
            return Action::Wait { ms: heartbeat_in };
        }
        match self.sync.next_at_ms.saturating_sub(clocks.monotonic_ms) {
            0 => Action::SendScans { after: self.sync.acknowledged_through },
            sync_in => Action::Wait { ms: heartbeat_in.min(sync_in) },
        }
    }

    /// Scans kept but not yet acknowledged by the server (the screen shows the number).
    pub fn pending_scans(&self) -> u64 {
        self.sync.last_seq.saturating_sub(self.sync.acknowledged_through)
    }

    /// What the screen shows now.
    pub fn view(&self) -> View {
        if self.identity.is_none() || self.refused {
            return View::Unpaired;
        }
        if self.disabled {
            return View::Disabled;
        }
        let (Some(now_ms), Some(clocks)) = (self.trusted_now_ms(), self.clocks) else {
            return View::ClockUntrusted;
        };
        let steps = self.steps();
        let step = steps.at(u64::try_from(now_ms.div_euclid(1000)).unwrap_or(0));
        let next_start_ms = i64::try_from(steps.start(step.saturating_add(1)))
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let seconds_to_next =
            u32::try_from((next_start_ms.saturating_sub(now_ms) + 999) / 1000).unwrap_or(u32::MAX);
        match self.offline_since_monotonic_ms {
            None => View::ShowCode {
                step,
                seconds_to_next,
            },
            Some(since) => {
                let ago_ms =
                    i64::try_from(clocks.monotonic_ms.saturating_sub(since)).unwrap_or(i64::MAX);
                View::Offline {
                    since_ms: now_ms.saturating_sub(ago_ms),
                    step,
                    seconds_to_next,
                }
            }
        }
    }

    /// Everything needed to draw the screen now: the venue name and the check-in URL with the
    /// current token, or which screen without a code.
    pub fn current_display(&self) -> DisplayState {
        let (view, Some(identity)) = (self.view(), &self.identity) else {
            return DisplayState::Unpaired;
        };
        let (step, seconds_to_next, offline_since_ms) = match view {
            View::ShowCode {
                step,
                seconds_to_next,
            } => (step, seconds_to_next, None),
            View::Offline {
                since_ms,
                step,
                seconds_to_next,
            } => (step, seconds_to_next, Some(since_ms)),
            View::Unpaired => return DisplayState::Unpaired,
            View::ClockUntrusted => return DisplayState::ClockUntrusted,
            View::Disabled => return DisplayState::Disabled,
        };
        let token = KioskToken::issue(&identity.kiosk_id, &identity.kiosk_secret, step);
        DisplayState::Code {
            venue_name: identity.venue_name.clone(),
            checkin_url: checkin_url(&identity.public_base_url, &token),
            seconds_to_next,
            offline_since_ms,
        }
    }

    /// The time codes are computed from (Unix milliseconds), if it can be trusted.
    pub fn trusted_now_ms(&self) -> Option<i64> {
        let clocks = self.clocks?;
        match self.server_clock {
            Some(server) => {
                let elapsed =
                    i64::try_from(clocks.monotonic_ms.saturating_sub(server.at_monotonic_ms))
                        .unwrap_or(i64::MAX);
                Some(server.server_ms.saturating_add(elapsed))
            }
            None if clocks.synced => Some(clocks.system_ms),
            None => None,
        }
    }

    /// Server time minus the system clock, once a heartbeat was answered.
    pub fn clock_offset_ms(&self) -> Option<i64> {
        self.server_clock?;
        Some(
            self.trusted_now_ms()?
                .saturating_sub(self.clocks?.system_ms),
        )
    }

    /// The body of the next heartbeat.
    pub fn heartbeat_report(&self) -> HeartbeatReport {
        let clocks = self.clocks.unwrap_or(Clocks {
            monotonic_ms: 0,
            system_ms: 0,
            synced: false,
        });
        HeartbeatReport {
            uptime_seconds: clocks.monotonic_ms / 1000,
            clock_offset_ms: self.clock_offset_ms(),
            screen: self.view().heartbeat_name(),
            last_error: self.last_error.clone(),
            sent_at_ms: clocks.system_ms,
            pending_scans: self.pending_scans(),
            revocations_version: self.revocations.version(),
        }
    }

    /// The server's pass key, once pairing or a heartbeat brought it.
    pub fn pass_key(&self) -> Option<PassKey> {
        self.identity.as_ref()?.pass_public_key
    }

    /// The passes revoked as of the last heartbeat that brought a list (or the list kept on
    /// disk).
    pub fn revocations(&self) -> &RevocationList {
        &self.revocations
    }

    /// The identity, with the venue name and code settings the server last sent.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    fn steps(&self) -> Steps {
        self.identity
            .as_ref()
            .map_or(Steps { seconds: 30 }, Identity::steps)
    }

    fn answered(&mut self, answer: HeartbeatAnswer) {
        let sent = answer
            .sent_at_monotonic_ms
            .min(answer.answered_at_monotonic_ms);
        let middle = sent + (answer.answered_at_monotonic_ms - sent) / 2;
        self.server_clock = Some(ServerClock {
            server_ms: answer.reply.server_time_ms,
            at_monotonic_ms: middle,
        });
        self.in_flight_since_ms = None;
        self.refused = false;
        let reply = answer.reply;
        self.disabled = reply.disabled;
        self.failures = 0;
        self.offline_since_monotonic_ms = None;
        self.last_error = None;
        self.next_heartbeat_at_ms = answer
            .answered_at_monotonic_ms
            .saturating_add(self.timing.heartbeat_every_ms);
        if let Some(identity) = &mut self.identity {
            identity.venue_name = reply.venue_name;
            identity.step_seconds = reply.step_seconds.max(1);
            identity.window_behind_steps = reply.window_behind_steps;
            identity.window_ahead_steps = reply.window_ahead_steps;
            if reply.pass_public_key.is_some() {
                identity.pass_public_key = reply.pass_public_key;
            }
        }
        if let Some(list) = reply.revocations {
            self.revocations = list;
        }
    }

    fn failed(&mut self, at_ms: u64, error: String) {
        self.in_flight_since_ms = None;
        self.failures = self.failures.saturating_add(1);
        self.offline_since_monotonic_ms.get_or_insert(at_ms);
        self.last_error = Some(error);
        self.next_heartbeat_at_ms = at_ms.saturating_add(self.backoff_ms());
    }

    /// The sync's own backoff, with the same rules as the heartbeat's.
    fn sync_backoff_ms(&mut self) -> u64 {
        let doublings = self.sync.failures.saturating_sub(1).min(32);
        let base = self.timing.backoff_first_ms.saturating_mul(1u64 << doublings).min(self.timing.backoff_max_ms);
        let half = base / 2;
        half + self.jitter.next() % (base - half + 1)
    }

    /// "Equal jitter": half the exponential delay, plus up to the other half at random, so
    /// kiosks that lost the server together do not come back in step.
    fn backoff_ms(&mut self) -> u64 {
        let doublings = self.failures.saturating_sub(1).min(32);
        let base = self
            .timing
            .backoff_first_ms
            .saturating_mul(1u64 << doublings)
            .min(self.timing.backoff_max_ms);
        let half = base / 2;
        half + self.jitter.next() % (base - half + 1)
    }
}

/// The QR code's content for `token`: the public base URL with scheme and host upper-cased
/// (both are case-insensitive, and upper case keeps the QR code alphanumeric), a path prefix
/// as it is, then `/K/<token>`.
pub fn checkin_url(public_base_url: &str, token: &KioskToken) -> String {
    let base = public_base_url.trim().trim_end_matches('/');
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let (host, prefix) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    format!(
        "{}://{}{prefix}/K/{token}",
        scheme.to_ascii_uppercase(),
        host.to_ascii_uppercase()
    )
}

/// The clocks as of the last tick.
#[derive(Debug, Clone, Copy)]
struct Clocks {
    monotonic_ms: u64,
    system_ms: i64,
    synced: bool,
}

/// The server's time at a monotonic instant.
#[derive(Debug, Clone, Copy)]
struct ServerClock {
    server_ms: i64,
    at_monotonic_ms: u64,
}

/// A small deterministic generator (SplitMix64) for the backoff's jitter.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
