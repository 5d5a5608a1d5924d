//! Sending an approved alert to 100,000 residents through the LINE sandbox with LINE's limits
//! enforced (issue 6: "goal ≤ 1.2× the 1 s rate-limit floor": 100,000 recipients are 200
//! multicasts of 500, and LINE takes 200 multicasts a second). Two scenarios, each with a fresh
//! sandbox, a fresh SQLite file and its own server process:
//!
//! - **friends**: 100,000 sandbox residents who added the account; afterwards every inbox must
//!   hold exactly one message, the alert, by multicast.
//! - **unknown**: the same 100,000 recipients, but the sandbox knows none of them (LINE answers
//!   200 and reaches nobody). The sandbox then does no per-recipient work, so this shows what
//!   the server and LINE's rate limit alone allow; the sandbox must count every recipient once
//!   as not reached, and every batch must have gone once (distinct retry keys).
//!
//! Each scenario:
//!
//! 1. **LINE.** The sandbox runs in this process, on its own runtime, with LINE's default rate
//!    limits (multicast 200 requests/s over a sliding second) and no monthly quota (a
//!    prefecture's paid plan). A timing layer around its router records when each Messaging
//!    API call arrived, when it was answered and with which status.
//! 2. **Residents** (friends only). `Sandbox::add_resident` and `Sandbox::follow` for each (no
//!    webhook URL is set, so the server hears nothing of it: the in-process calls are the
//!    fastest way in).
//! 3. **Server data.** The server's store creates and migrates a fresh SQLite file, registers
//!    one place (`create_registration`) and makes an investigator and an approver with an API
//!    token each (`create_staff`, `create_api_token`). Then rusqlite inserts the residents
//!    (consented, with the sandbox's user ids) and one visit each at that place, within three
//!    hours.
//! 4. **Case.** The real release `oshirase-server` starts on that file with its LINE settings
//!    pointed at the sandbox. Through the staff API: the investigator creates a case, adds the
//!    three hours at the place as an exposure and previews it; the approver approves it.
//! 5. **Sending.** From the approval's answer, `GET /api/v1/staff/cases/{id}` every 20 ms
//!    until the case is `sent`.
//! 6. **Checks.** The sandbox's answers are counted by status (429s included), the outbox rows
//!    read back from SQLite, and the deliveries checked as above.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use oshirase_bench::process::ServerProcess;
use oshirase_bench::report::Machine;
use oshirase_bench::stats::CpuByThread;
use oshirase_common::{NewVenue, VenueForm};
use oshirase_line_sandbox::{Sandbox, SandboxConfig, Via, app};
use oshirase_server::audit::{Actor, AuditEvent};
use oshirase_server::secrets::{ManageToken, StaffSecret, new_location_id, new_venue_code};
use oshirase_server::staff::{Role, Roles, StaffLogin, StaffName, password};
use oshirase_server::store::staff::{NewApiToken, NewStaff, StaffStore as _};
use oshirase_server::store::{NewPlace, NewRegistration, SqliteStore, Store as _};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::runtime::Handle;

use crate::timing::{Spread, grouped};

/// The channel secret the sandbox and the server share.
const CHANNEL_SECRET: &str = "oshirase-bench-channel-secret";
/// The channel access token the sandbox accepts.
const ACCESS_TOKEN: &str = "oshirase-bench-access-token";
/// The terms version residents consented to (the server's default).
const TERMS_VERSION: &str = "2026-11";
/// The multicast endpoint.
const MULTICAST: &str = "/v2/bot/message/multicast";
/// LINE's recipients per multicast.
const PER_MULTICAST: usize = 500;
/// LINE's multicast rate limit, requests per second.
const LINE_MULTICASTS_PER_S: f64 = 200.0;
/// The goal: total time over the rate-limit floor.
pub const GOAL_RATIO: f64 = 1.2;

/// Who the recipients are to the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipients {
    /// Sandbox residents who added the account: every inbox is checked.
    Friends,
    /// User ids the sandbox has never seen: it answers 200 and reaches nobody.
    Unknown,
}

impl Recipients {
    fn name(self) -> &'static str {
        match self {
            Recipients::Friends => "friends",
            Recipients::Unknown => "unknown",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Residents to alert.
    pub residents: usize,
    /// The scenarios, in order.
    pub scenarios: Vec<Recipients>,
    /// The `oshirase-server` binary.
    pub server_bin: PathBuf,
    /// `OSHIRASE_LOG` for the server.
    pub server_log: String,
    /// How often the case is polled.
    pub poll: Duration,
    /// `[alerts] requests_per_second` for the server (none: its default).
    pub requests_per_second: Option<u32>,
    /// How long sending may take before the run fails.
    pub timeout: Duration,
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct SendingReport {
    /// Where it ran.
    pub machine: Machine,
    /// Residents alerted in each scenario.
    pub residents: usize,
    /// `[alerts] requests_per_second` given to the server, if not its default.
    pub requests_per_second: Option<u32>,
    /// How often the case was polled, ms.
    pub poll_ms: u64,
    /// One entry per scenario, in the order they ran.
    pub scenarios: Vec<ScenarioFigures>,
}

/// One scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioFigures {
    /// `friends` or `unknown`.
    pub name: String,
    /// Sandbox residents added and following, s (friends only).
    pub sandbox_residents_s: f64,
    /// The server's database (store, then rusqlite), s.
    pub server_database_s: f64,
    /// The approval.
    pub approval: ApprovalFigures,
    /// From the approval's answer to `sent`.
    pub sending: SendingFigures,
    /// What reached whom.
    pub delivery: DeliveryFigures,
}

/// The approval through the staff API.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalFigures {
    /// `GET …/preview` total.
    pub preview_total: u64,
    /// Its round trip, ms.
    pub preview_ms: f64,
    /// `POST …/approve` round trip, ms.
    pub approve_ms: f64,
    /// Recipients the approval fixed.
    pub recipients: u64,
    /// Outbox batches.
    pub batches: u64,
}

/// Sending.
#[derive(Debug, Clone, Serialize)]
pub struct SendingFigures {
    /// Approval's answer → a poll sees `sent`, s.
    pub total_s: f64,
    /// The floor: multicasts / LINE's rate, s.
    pub floor_s: f64,
    /// `total_s / floor_s`.
    pub ratio: f64,
    /// True when `ratio ≤ 1.2`.
    pub goal_met: bool,
    /// Multicast calls the sandbox received.
    pub multicasts: u64,
    /// Answered 200.
    pub accepted: u64,
    /// Answered 429.
    pub rate_limited: u64,
    /// Answered otherwise.
    pub other: u64,
    /// Approval's answer → first multicast arrived, ms (negative: before the answer).
    pub first_after_approval_ms: f64,
    /// First multicast arrived → last answered, s.
    pub first_to_last_s: f64,
    /// Multicasts a second over that span.
    pub multicasts_per_s: f64,
    /// The most multicasts the sandbox had in hand at once.
    pub max_in_flight: usize,
    /// Share of the first → last span in which the sandbox had at least one multicast in hand.
    pub sandbox_busy_share: f64,
    /// Arrival → answer of each multicast, in the sandbox (waiting for its state lock
    /// included when several are in flight).
    pub in_sandbox: Spread,
    /// One answer → the next (in the order answered): how fast the sandbox got through them.
    pub answer_to_answer: Spread,
    /// One arrival → the next: how fast the server started them.
    pub arrival_to_arrival: Spread,
    /// Last multicast answered → a poll saw `sent`, ms.
    pub last_to_sent_seen_ms: f64,
    /// Polls made.
    pub polls: u64,
    /// CPU seconds used from the approval's answer to `sent`, by thread name: `server/…` the
    /// server's threads, `bench/…` this process's (`sandbox` is the LINE sandbox).
    pub cpu_s: BTreeMap<String, f64>,
}

/// What reached whom.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryFigures {
    /// Residents with exactly one message, none, more (friends only).
    pub inboxes: Option<[u64; 3]>,
    /// Sampled inboxes (first, middle, last) hold the alert by multicast (friends only).
    pub sampled_inboxes_ok: bool,
    /// Recipients of accepted multicasts the sandbox could not reach (unknown: all of them).
    pub recipients_not_reached: u64,
    /// Message objects that reached an inbox.
    pub messages_delivered: u64,
    /// Distinct retry keys among accepted multicasts.
    pub distinct_retry_keys: u64,
    /// Outbox rows sent.
    pub batches_sent: u64,
    /// Still pending.
    pub batches_pending: u64,
    /// Failed.
    pub batches_failed: u64,
    /// Attempts over all batches (one each when nothing was retried).
    pub attempts: u64,
}

/// One Messaging API call, as the timing layer saw it.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    arrived: Instant,
    answered: Instant,
    status: u16,
}

/// Every call, in the order they were answered.
#[derive(Debug, Clone, Default)]
struct Timeline(Arc<Mutex<Vec<Call>>>);

impl Timeline {
    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

async fn record(State(timeline): State<Timeline>, request: Request, next: Next) -> Response {
    let arrived = Instant::now();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let call = Call { path, arrived, answered: Instant::now(), status: response.status().as_u16() };
    timeline.0.lock().unwrap_or_else(PoisonError::into_inner).push(call);
    response
}

/// Runs the benchmark; the sandboxes serve on `sandbox_rt`.
pub async fn run(options: &Options, sandbox_rt: &Handle) -> anyhow::Result<SendingReport> {
    ensure!(options.residents >= 1, "--residents must be at least 1");
    let machine = Machine::this_one();
    let mut scenarios = Vec::new();
    for &recipients in &options.scenarios {
        let figures = scenario(options, sandbox_rt, recipients).await.with_context(|| format!("the {} scenario", recipients.name()))?;
        eprintln!("{}: {:.2} s, {:.2} × the floor", recipients.name(), figures.sending.total_s, figures.sending.ratio);
        scenarios.push(figures);
    }
    Ok(SendingReport {
        machine,
        residents: options.residents,
        requests_per_second: options.requests_per_second,
        poll_ms: u64::try_from(options.poll.as_millis()).unwrap_or(u64::MAX),
        scenarios,
    })
}

async fn scenario(options: &Options, sandbox_rt: &Handle, recipients: Recipients) -> anyhow::Result<ScenarioFigures> {
    let timeline = Timeline::default();
    let line = start_sandbox(sandbox_rt, &timeline).await?;
    let sandbox = line.sandbox.clone();

    let started = Instant::now();
    let users = match recipients {
        Recipients::Friends => add_residents(&sandbox, options.residents).await?,
        Recipients::Unknown => unknown_users(options.residents),
    };
    let sandbox_residents_s = if recipients == Recipients::Friends { started.elapsed().as_secs_f64() } else { 0.0 };
    if recipients == Recipients::Friends {
        eprintln!("set-up: {} sandbox residents following in {sandbox_residents_s:.1} s", grouped(count(users.len())));
    }

    let data = tempfile::Builder::new().prefix("oshirase-bench-sending-").tempdir().context("creating a temporary folder")?;
    let database = data.path().join("oshirase.sqlite");
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let seeded = seed_server_database(&database, &users, now).await?;
    let server_database_s = started.elapsed().as_secs_f64();
    eprintln!("set-up: server database seeded in {server_database_s:.1} s");

    let mut settings = vec![
        ("OSHIRASE_SERVER__LISTEN", "127.0.0.1:0".to_owned()),
        ("OSHIRASE_DATABASE__PATH", database.display().to_string()),
        ("OSHIRASE_LINE__API_BASE_URL", line.url.clone()),
        ("OSHIRASE_LINE__DEEP_LINK_BASE_URL", line.url.clone()),
        ("OSHIRASE_LINE__CHANNEL_SECRET", CHANNEL_SECRET.to_owned()),
        ("OSHIRASE_LINE__CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN.to_owned()),
        ("OSHIRASE_LOG", options.server_log.clone()),
    ];
    if let Some(rps) = options.requests_per_second {
        settings.push(("OSHIRASE_ALERTS__REQUESTS_PER_SECOND", rps.to_string()));
    }
    let settings: Vec<(String, String)> = settings.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let log = data.path().join("server.log");
    let server = ServerProcess::start(&options.server_bin, &settings, &log).await?;
    let outcome = approve_and_send(options, &server, &seeded, now, &timeline).await;
    let stopped = server.stop().await;
    let (approval, sending) = match outcome {
        Ok(figures) => figures,
        Err(e) => bail!("{e:#}\nthe server's log ends:\n{}", server_log_tail(&log)),
    };
    stopped?;

    let delivery = check_delivery(&sandbox, recipients, &users, &database)?;
    Ok(ScenarioFigures { name: recipients.name().to_owned(), sandbox_residents_s, server_database_s, approval, sending, delivery })
}

/// `n` user ids in LINE's format that no sandbox resident has.
fn unknown_users(n: usize) -> Vec<String> {
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (0..n).map(|i| format!("U{run:016x}{i:016x}")).collect()
}

fn server_log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A sandbox serving in the background until dropped.
struct Line {
    sandbox: Sandbox,
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start_sandbox(sandbox_rt: &Handle, timeline: &Timeline) -> anyhow::Result<Line> {
    let mut config = SandboxConfig::new(CHANNEL_SECRET, ACCESS_TOKEN);
    // A prefecture sends on a paid plan: no monthly cap. The rate limits stay LINE's.
    config.knobs.monthly_quota = None;
    config.knobs.redelivery = false;
    // Each follow issues a reply token nobody uses; with a 1 ms life the next follow sweeps
    // it out, so the token table does not grow to 100,000 entries swept at every follow.
    config.knobs.reply_token_ttl_ms = 1;
    let sandbox = Sandbox::new(config);
    let router = app(sandbox.clone()).layer(axum::middleware::from_fn_with_state(timeline.clone(), record));
    let listener = sandbox_rt.spawn(tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))).await??;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    sandbox_rt.spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            eprintln!("the LINE sandbox stopped: {e}");
        }
    });
    Ok(Line { sandbox, url: format!("http://{addr}"), _stop: stop })
}

/// `n` residents who added the account (in-process; no webhook is delivered).
async fn add_residents(sandbox: &Sandbox, n: usize) -> anyhow::Result<Vec<String>> {
    let mut users = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let resident = sandbox.add_resident(&format!("住民 {i}"))?;
        sandbox.follow(&resident.user_id).await?;
        users.push(resident.user_id);
        if (i + 1) % 20_000 == 0 {
            eprintln!("set-up: {} residents following ({:.0} s)", grouped(count(i + 1)), started.elapsed().as_secs_f64());
        }
    }
    Ok(users)
}

/// What the server's database was seeded with.
#[derive(Debug, Clone)]
struct Seeded {
    location_id: String,
    investigator_token: String,
    approver_token: String,
    /// The exposure: all visits are inside it.
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
}

async fn seed_server_database(database: &Path, users: &[String], now: OffsetDateTime) -> anyhow::Result<Seeded> {
    let location = new_location_id();
    let (investigator_token, approver_token) = {
        let store = SqliteStore::open(database)?;
        let form = VenueForm {
            business_type: "restaurant".to_owned(),
            daily_visitors: "120".to_owned(),
            name: "カフェ・ド・浦和".to_owned(),
            postal_code: "330-9301".to_owned(),
            address: "埼玉県さいたま市浦和区高砂3-15-1".to_owned(),
            phone: "048-824-2111".to_owned(),
            email: "info@example.jp".to_owned(),
        };
        let venue = NewVenue::parse(&form).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let place = NewPlace { location_id: location.clone(), code: new_venue_code(), venue };
        store.create_registration(NewRegistration { token_hash: ManageToken::generate().hash(), created_at: now, venues: vec![place] }).await?;
        let investigator = staff_with_token(&store, "bench-investigator", Role::Investigator, now).await?;
        let approver = staff_with_token(&store, "bench-approver", Role::Approver, now).await?;
        (investigator, approver)
    };
    let starts_at = now - time::Duration::hours(4);
    let ends_at = now - time::Duration::hours(1);
    let start_ms = millis(starts_at);
    let span_ms = millis(ends_at) - start_ms;
    let mut conn = rusqlite::Connection::open(database)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let tx = conn.transaction()?;
    {
        let mut resident = tx.prepare("INSERT INTO residents (line_user_id, created_at_ms, consent_terms, consented_at_ms) VALUES (?1, ?2, ?3, ?2)")?;
        let mut visit = tx.prepare("INSERT INTO visits (resident_id, location_id, scanned_at_ms, recorded_at_ms) VALUES (?1, ?2, ?3, ?3)")?;
        let n = i64::try_from(users.len())?;
        for (i, user) in users.iter().enumerate() {
            let i = i64::try_from(i)?;
            resident.execute(rusqlite::params![user, start_ms - 86_400_000, TERMS_VERSION])?;
            let id = tx.last_insert_rowid();
            visit.execute(rusqlite::params![id, location.as_str(), start_ms + span_ms * i / n])?;
        }
    }
    tx.commit()?;
    Ok(Seeded { location_id: location.as_str().to_owned(), investigator_token, approver_token, starts_at, ends_at })
}

/// A staff account holding `role` and an API token acting with it; answers the token.
async fn staff_with_token(store: &SqliteStore, login: &str, role: Role, now: OffsetDateTime) -> anyhow::Result<String> {
    let secret = secrecy::SecretString::from(ManageToken::generate().expose().to_owned());
    let password_hash = password::hash(&secret).map_err(|e| anyhow::anyhow!("{e}"))?;
    let staff = NewStaff {
        login: StaffLogin::parse(login).map_err(|e| anyhow::anyhow!("{e}"))?,
        name: StaffName::parse("ベンチ 花子").map_err(|e| anyhow::anyhow!("{e}"))?,
        roles: Roles::new(&[role]).context("one role")?,
        password_hash,
    };
    let account = store.create_staff(staff, now, AuditEvent::new(Actor::Cli, "account.created").about(format!("account:{login}"))).await?;
    let token = StaffSecret::generate();
    let token_id = format!("T{}", &token.expose()[..7]);
    let new = NewApiToken { token_id, hash: token.hash(), name: "benchmark".to_owned(), role, created_by: account.id, expires_at: None };
    store.create_api_token(new, now, AuditEvent::new(Actor::Cli, "api_token.created")).await?;
    Ok(token.expose().to_owned())
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn rfc3339(t: OffsetDateTime) -> anyhow::Result<String> {
    Ok(t.format(&time::format_description::well_known::Rfc3339)?)
}

/// One staff API call; fails unless it answers `expected`.
async fn call(request: reqwest::RequestBuilder, expected: StatusCode, what: &str) -> anyhow::Result<Value> {
    let response = request.send().await.with_context(|| what.to_owned())?;
    let status = response.status();
    let body: Value = response.json().await.with_context(|| format!("{what}: reading the answer"))?;
    ensure!(status == expected, "{what} answered {status}: {body}");
    Ok(body)
}

async fn approve_and_send(options: &Options, server: &ServerProcess, seeded: &Seeded, now: OffsetDateTime, timeline: &Timeline) -> anyhow::Result<(ApprovalFigures, SendingFigures)> {
    let base = format!("http://{}/api/v1/staff", server.addr());
    let client = reqwest::Client::new();
    let investigator = |r: reqwest::RequestBuilder| r.bearer_auth(&seeded.investigator_token);
    let reference = format!("BENCH-SENDING-{}", now.unix_timestamp());
    let case = call(investigator(client.post(format!("{base}/cases"))).json(&json!({ "reference": reference })), StatusCode::CREATED, "creating the case").await?;
    let id = case["id"].as_i64().with_context(|| format!("no case id in {case}"))?;
    let exposure = json!({ "location_id": seeded.location_id, "starts_at": rfc3339(seeded.starts_at)?, "ends_at": rfc3339(seeded.ends_at)? });
    call(investigator(client.post(format!("{base}/cases/{id}/exposures"))).json(&exposure), StatusCode::CREATED, "adding the exposure").await?;
    let started = Instant::now();
    let preview = call(investigator(client.get(format!("{base}/cases/{id}/preview"))), StatusCode::OK, "previewing the case").await?;
    let preview_ms = started.elapsed().as_secs_f64() * 1000.0;
    let preview_total = preview["total"].as_u64().unwrap_or(0);
    ensure!(preview_total == count(options.residents), "the preview counts {preview_total} residents, not {}", options.residents);

    let started = Instant::now();
    let approved = call(client.post(format!("{base}/cases/{id}/approve")).bearer_auth(&seeded.approver_token), StatusCode::OK, "approving the case").await?;
    let answered = Instant::now();
    let cpu_before = cpu_snapshot(server.pid());
    let approve_ms = answered.duration_since(started).as_secs_f64() * 1000.0;
    let recipients = approved["recipients"].as_u64().unwrap_or(0);
    let batches = approved["progress"]["batches"].as_u64().unwrap_or(0);
    eprintln!("approval: answered in {approve_ms:.0} ms, {recipients} recipients in {batches} batches; polling every {} ms", options.poll.as_millis());

    let mut every = tokio::time::interval(options.poll);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls = 0u64;
    let sent_seen = loop {
        every.tick().await;
        let case = call(investigator(client.get(format!("{base}/cases/{id}"))), StatusCode::OK, "reading the case").await?;
        polls += 1;
        match case["status"].as_str() {
            Some("sent") => break Instant::now(),
            Some("sending") => {}
            other => bail!("the case became {other:?} while sending: {case}"),
        }
        ensure!(answered.elapsed() < options.timeout, "not sent after {:?}: {}", options.timeout, case["progress"]);
    };
    let total = sent_seen.duration_since(answered);
    let cpu_after = cpu_snapshot(server.pid());
    let cpu_s: BTreeMap<String, f64> = cpu_after
        .iter()
        .map(|(name, after)| (name.clone(), after - cpu_before.get(name).copied().unwrap_or(0.0)))
        .filter(|(_, used)| *used >= 0.0005)
        .collect();

    let mut multicasts: Vec<Call> = timeline.calls().into_iter().filter(|c| c.path == MULTICAST).collect();
    ensure!(!multicasts.is_empty(), "the sandbox received no multicast");
    multicasts.sort_by_key(|c| c.answered);
    let answer_to_answer: Vec<Duration> = multicasts.windows(2).map(|w| w[1].answered.duration_since(w[0].answered)).collect();
    multicasts.sort_by_key(|c| c.arrived);
    let arrival_to_arrival: Vec<Duration> = multicasts.windows(2).map(|w| w[1].arrived.duration_since(w[0].arrived)).collect();
    let first = multicasts.first().map_or(answered, |c| c.arrived);
    let last = multicasts.iter().map(|c| c.answered).max().unwrap_or(first);
    let in_sandbox: Vec<Duration> = multicasts.iter().map(|c| c.answered.duration_since(c.arrived)).collect();
    let (max_in_flight, busy) = occupancy(&multicasts);
    let signed_ms = |a: Instant, b: Instant| if a >= b { a.duration_since(b).as_secs_f64() * 1000.0 } else { -(b.duration_since(a).as_secs_f64() * 1000.0) };
    #[allow(clippy::cast_precision_loss, reason = "a few hundred calls")]
    let floor_s = (recipients as f64 / PER_MULTICAST as f64).ceil() / LINE_MULTICASTS_PER_S;
    let ratio = total.as_secs_f64() / floor_s;
    let span = last.duration_since(first);
    #[allow(clippy::cast_precision_loss, reason = "a few hundred calls")]
    let multicasts_per_s = multicasts.len() as f64 / span.as_secs_f64().max(1e-9);
    let sending = SendingFigures {
        total_s: total.as_secs_f64(),
        floor_s,
        ratio,
        goal_met: ratio <= GOAL_RATIO,
        multicasts: count(multicasts.len()),
        accepted: count(multicasts.iter().filter(|c| c.status == 200).count()),
        rate_limited: count(multicasts.iter().filter(|c| c.status == 429).count()),
        other: count(multicasts.iter().filter(|c| c.status != 200 && c.status != 429).count()),
        first_after_approval_ms: signed_ms(first, answered),
        first_to_last_s: span.as_secs_f64(),
        multicasts_per_s,
        max_in_flight,
        sandbox_busy_share: busy.as_secs_f64() / span.as_secs_f64().max(1e-9),
        in_sandbox: Spread::of(&in_sandbox),
        answer_to_answer: Spread::of(&answer_to_answer),
        arrival_to_arrival: Spread::of(&arrival_to_arrival),
        last_to_sent_seen_ms: signed_ms(sent_seen, last),
        polls,
        cpu_s,
    };
    Ok((ApprovalFigures { preview_total, preview_ms, approve_ms, recipients, batches }, sending))
}

/// CPU seconds so far by thread name, `server/…` and `bench/…`.
fn cpu_snapshot(server_pid: u32) -> BTreeMap<String, f64> {
    let mut all = BTreeMap::new();
    for (prefix, pid) in [("server", server_pid), ("bench", std::process::id())] {
        for (name, times) in CpuByThread::of_process(pid).unwrap_or_default().0 {
            all.insert(format!("{prefix}/{name}"), times.on_cpu_s);
        }
    }
    all
}

/// The most calls in hand at once, and for how long at least one was (`calls` sorted by
/// arrival).
fn occupancy(calls: &[Call]) -> (usize, Duration) {
    let mut events: Vec<(Instant, i32)> = calls.iter().flat_map(|c| [(c.arrived, 1), (c.answered, -1)]).collect();
    // At the same instant, answers before arrivals.
    events.sort_by_key(|&(at, delta)| (at, delta));
    let (mut open, mut most, mut busy) = (0i32, 0i32, Duration::ZERO);
    let mut since = None;
    for (at, delta) in events {
        open += delta;
        most = most.max(open);
        match (open, since) {
            (0, Some(from)) => {
                busy += at.duration_since(from);
                since = None;
            }
            (n, None) if n > 0 => since = Some(at),
            _ => {}
        }
    }
    (usize::try_from(most).unwrap_or(0), busy)
}

fn check_delivery(sandbox: &Sandbox, recipients: Recipients, users: &[String], database: &Path) -> anyhow::Result<DeliveryFigures> {
    let (inboxes, sampled_inboxes_ok) = if recipients == Recipients::Friends {
        let residents = sandbox.residents();
        let with = |f: &dyn Fn(usize) -> bool| count(residents.iter().filter(|r| f(r.inbox_count)).count());
        let mut sampled_ok = true;
        for user in [users.first(), users.get(users.len() / 2), users.last()].into_iter().flatten() {
            let inbox = sandbox.inbox(user)?;
            sampled_ok &= inbox.len() == 1 && inbox[0].via == Via::Multicast && inbox[0].message["type"] == "text";
        }
        (Some([with(&|n| n == 1), with(&|n| n == 0), with(&|n| n > 1)]), sampled_ok)
    } else {
        (None, true)
    };
    let stats = sandbox.stats();
    let keys: std::collections::HashSet<String> =
        sandbox.request_log().into_iter().filter(|r| r.path == MULTICAST && r.status == 200).filter_map(|r| r.retry_key.map(|k| k.to_ascii_lowercase())).collect();
    let conn = rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let (sent, pending, failed, attempts): (i64, i64, i64, i64) = conn.query_row(
        "SELECT coalesce(sum(status = 'sent'), 0), coalesce(sum(status = 'pending'), 0), coalesce(sum(status = 'failed'), 0), coalesce(sum(attempts), 0) FROM alert_batches",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(DeliveryFigures {
        inboxes,
        sampled_inboxes_ok,
        recipients_not_reached: stats.recipients_not_reached,
        messages_delivered: stats.messages_delivered,
        distinct_retry_keys: count(keys.len()),
        batches_sent: n(sent),
        batches_pending: n(pending),
        batches_failed: n(failed),
        attempts: n(attempts),
    })
}

impl ScenarioFigures {
    /// True when every recipient was reached exactly once as the scenario expects and every
    /// batch was sent once.
    pub fn is_consistent(&self, residents: usize) -> bool {
        let d = &self.delivery;
        let n = count(residents);
        let reached = match d.inboxes {
            Some([one, none, more]) => one == n && none == 0 && more == 0 && d.messages_delivered == n && d.recipients_not_reached == 0,
            None => d.recipients_not_reached == n && d.messages_delivered == 0,
        };
        reached && d.sampled_inboxes_ok && d.distinct_retry_keys == self.approval.batches && d.batches_sent == self.approval.batches && d.batches_pending == 0 && d.batches_failed == 0
    }
}

impl SendingReport {
    /// True when every scenario is consistent.
    pub fn is_consistent(&self) -> bool {
        self.scenarios.iter().all(|s| s.is_consistent(self.residents))
    }

    /// The plain-text report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "oshirase alert sending benchmark");
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), load average {} at start; the server, the LINE sandbox (in this process) and this benchmark share them",
            self.machine.cpus, self.machine.cpu_model, self.machine.load_average_at_start
        );
        let _ = writeln!(
            out,
            "LINE sandbox: LINE's rate limits (multicast 200 requests/s over a sliding second), no monthly quota; server: [alerts] requests_per_second {}",
            self.requests_per_second.map_or_else(|| "200 (default)".to_owned(), |r| r.to_string())
        );
        let _ = writeln!(out, "each scenario: {} recipients (consented, one visit each at one place), a fresh SQLite file and server; the case polled every {} ms", grouped(count(self.residents)), self.poll_ms);
        for sc in &self.scenarios {
            let (a, s, d) = (&sc.approval, &sc.sending, &sc.delivery);
            let _ = writeln!(out);
            match d.inboxes {
                Some(_) => {
                    let _ = writeln!(out, "friends: every recipient is a sandbox resident who added the account (set up in {:.1} s; server database {:.1} s)", sc.sandbox_residents_s, sc.server_database_s);
                }
                None => {
                    let _ = writeln!(out, "unknown: the sandbox knows none of the recipients: it answers 200 and reaches nobody, doing no per-recipient work (server database {:.1} s)", sc.server_database_s);
                }
            }
            let _ = writeln!(out, "  preview            {} residents, answered in {:.0} ms", grouped(a.preview_total), a.preview_ms);
            let _ = writeln!(out, "  approve            answered in {:.0} ms: {} recipients in {} outbox batches", a.approve_ms, grouped(a.recipients), a.batches);
            let _ = writeln!(
                out,
                "  total              {:.2} s from the approval's answer to \"sent\" = {:.2} × the {:.2} s rate-limit floor ({} multicasts at 200/s); goal ≤ {GOAL_RATIO}: {}",
                s.total_s,
                s.ratio,
                s.floor_s,
                a.batches,
                if s.goal_met { "met" } else { "not met" }
            );
            let _ = writeln!(out, "  multicasts         {} received: {} answered 200, {} answered 429, {} other", s.multicasts, s.accepted, s.rate_limited, s.other);
            let _ = writeln!(out, "  first multicast    {:.0} ms after the approval's answer", s.first_after_approval_ms);
            let _ = writeln!(
                out,
                "  first → last       {:.2} s ({:.0} multicasts/s); up to {} in flight; the sandbox had one in hand {:.0}% of the time",
                s.first_to_last_s,
                s.multicasts_per_s,
                s.max_in_flight,
                s.sandbox_busy_share * 100.0
            );
            let _ = writeln!(out, "  started            {} apart (arrival to arrival)", s.arrival_to_arrival.text(1));
            let _ = writeln!(out, "  in the sandbox     {} each (arrival → answer)", s.in_sandbox.text(1));
            let _ = writeln!(out, "  answered           {} apart (answer to answer)", s.answer_to_answer.text(1));
            let _ = writeln!(out, "  last → \"sent\"      {:.0} ms until a poll saw it ({} polls)", s.last_to_sent_seen_ms, s.polls);
            let cpu: Vec<String> = s.cpu_s.iter().filter(|(_, v)| **v >= 0.005).map(|(k, v)| format!("{k} {v:.2}")).collect();
            let _ = writeln!(out, "  CPU while sending  {} s ({} s in all)", cpu.join(", "), format_args!("{:.2}", s.cpu_s.values().sum::<f64>()));
            match d.inboxes {
                Some([one, none, more]) => {
                    let _ = writeln!(
                        out,
                        "  inboxes            {} residents with exactly one message, {none} with none, {more} with more{}",
                        grouped(one),
                        if d.sampled_inboxes_ok { "; sampled ones hold the alert text, by multicast" } else { "; a sampled inbox is WRONG" }
                    );
                }
                None => {
                    let _ = writeln!(out, "  recipients         {} counted by the sandbox as not reached, {} messages delivered", grouped(d.recipients_not_reached), d.messages_delivered);
                }
            }
            let _ = writeln!(
                out,
                "  outbox             {} batches sent ({} distinct retry keys accepted), {} pending, {} failed; {} attempts",
                d.batches_sent, d.distinct_retry_keys, d.batches_pending, d.batches_failed, d.attempts
            );
            let _ = writeln!(out, "  consistency        {}", if sc.is_consistent(self.residents) { "(ok)" } else { "(MISMATCH)" });
        }
        out
    }
}
