//! Syncing a kiosk's buffered pass scans (issue 7: "100,000 buffered scans synced, goal
//! < 10 s"), with the kiosk's own buffer and client against the real release server:
//!
//! 1. **Server data.** A pass signing key (a 32-byte Ed25519 seed, mode 0600) is written to a
//!    fresh temporary folder. The server's own store creates and migrates a fresh SQLite file
//!    there, and each resident consents (`Store::consent`) and is issued passes
//!    (`PassStore::issue_pass`, as the conversation does: a random id, the expiry, the link
//!    hash derived from the signature with [`PassKey::link_token`]).
//! 2. **Server and kiosk.** The release `oshirase-server` starts on that file with
//!    `[passes] signing_key_path` set to the key. A place is registered through
//!    `POST /api/v1/venues`, a pairing code comes from
//!    `POST /api/v1/manage/venues/{location}/kiosks`, and the kiosk pairs with
//!    `oshirase_device::pairing::pair`. The pass key it gets must be the key's, and the kiosk's
//!    pass check (`oshirase_device::passes::PassKey::check`) must accept every pass text.
//! 3. **Buffer.** The kiosk's real scan buffer (`ScanBuffer`, `synchronous=FULL`) records the
//!    scans one committed transaction each, as the kiosk does before it confirms a scan: the
//!    passes in turn, over the last 23 hours, with the kiosk's clock 250 ms ahead of the
//!    server's.
//! 4. **Sync.** As the kiosk's run loop (`device/src/main.rs`) does it: the buffer goes into a
//!    `Station`, the state machine (`Kiosk`) hears `Station::restored` and a heartbeat's
//!    answer, then while it says `Action::SendScans { after }`: `Station::batch(after)` (up to
//!    1,000 scans), `ServerClient::send_scans`, `Station::synced` (prunes what was
//!    acknowledged) and its event back to the state machine — one batch at a time, until it
//!    has nothing left to send. Only that loop is timed; the server's RSS is sampled meanwhile.
//! 5. **Checks.** The first batch sent again must be all duplicates; the buffer must be empty;
//!    the server's `visits` table (opened read-only) must hold exactly one new row per scan,
//!    at the kiosk's place, for every resident, at the corrected times.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use oshirase_bench::process::{RssSampler, ServerProcess};
use oshirase_bench::report::Machine;
use oshirase_bench::stats::{CpuByThread, Latencies, LatencySummary, rate};
use oshirase_bench::venue::{pairing_code, register_venue};
use oshirase_common::LineUserId;
use oshirase_common::pass::{Pass, PassId};
use oshirase_device::buffer::{BufferedScan, ScanBuffer};
use oshirase_device::pairing::{MAX_SCANS_PER_BATCH, ScansReply, ServerClient};
use oshirase_device::passes::RevocationList;
use oshirase_device::protocol::{Action, Event, Kiosk, Timing};
use oshirase_device::station::{BUFFER_FILE, Station};
use oshirase_device::storage::Identity;
use oshirase_server::passes::PassKey;
use oshirase_server::store::passes::{NewPass, PassIssue, PassStore as _};
use oshirase_server::store::{EventKey, Processed, SqliteStore, Store as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::timing::grouped;

/// The issue's goal for the sync, seconds.
pub const GOAL_S: f64 = 10.0;
/// The terms version residents consent to (the server's default).
const TERMS_VERSION: &str = "2026-11";
/// The kiosk's clock runs this far ahead of the server's: its offset is minus this.
const KIOSK_AHEAD_MS: i64 = 250;
/// The scans span this long, ending a minute ago (within the server's 31-day retention).
const SCANS_SPAN_MS: i64 = 23 * 3_600_000;
/// A pass's validity (the server's default, 180 days).
const PASS_VALID_DAYS: i64 = 180;
/// How often the server's RSS is read during the sync.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scans to buffer and sync.
    pub scans: u64,
    /// Consented residents.
    pub residents: u32,
    /// Passes each resident holds.
    pub passes_per_resident: u32,
    /// The `oshirase-server` binary.
    pub server_bin: PathBuf,
    /// `OSHIRASE_LOG` for the server.
    pub server_log: String,
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct ScansReport {
    /// Where it ran.
    pub machine: Machine,
    /// Scans buffered and synced.
    pub scans: u64,
    /// Residents.
    pub residents: u32,
    /// Passes issued.
    pub passes: u64,
    /// Set-up.
    pub setup: SetupFigures,
    /// Filling the kiosk's buffer.
    pub fill: FillFigures,
    /// The sync.
    pub sync: SyncFigures,
    /// The checks.
    pub checks: Checks,
}

/// Set-up times.
#[derive(Debug, Clone, Serialize)]
pub struct SetupFigures {
    /// Residents consented and passes issued through the store, s.
    pub store_s: f64,
    /// Server started, place registered, kiosk paired, s.
    pub server_and_pairing_s: f64,
    /// The kiosk's check of every pass text (signature, expiry), s.
    pub kiosk_pass_checks_s: f64,
}

/// Filling the buffer: one committed transaction per scan.
#[derive(Debug, Clone, Serialize)]
pub struct FillFigures {
    /// All scans recorded, s.
    pub total_s: f64,
    /// Scans recorded a second.
    pub scans_per_s: f64,
    /// One `ScanBuffer::record`, ms.
    pub record: LatencySummary,
    /// Each fifth of the scans, s (`record` counts the unsent rows first, so a fuller buffer
    /// records more slowly).
    pub fifths_s: Vec<f64>,
    /// `ScanBuffer::pending` on the full buffer (the count each `record` makes), median of 21, ms.
    pub pending_full_ms: f64,
    /// The buffer's file and its WAL once full, bytes.
    pub buffer_bytes: u64,
}

/// The sync.
#[derive(Debug, Clone, Serialize)]
pub struct SyncFigures {
    /// First batch read → nothing left after the last acknowledgement, s.
    pub total_s: f64,
    /// Scans synced a second.
    pub scans_per_s: f64,
    /// True when `total_s < GOAL_S`.
    pub goal_met: bool,
    /// Batches sent.
    pub batches: u64,
    /// Heartbeats sent (the first before the clock starts).
    pub heartbeats: u64,
    /// `send_scans` round trip per batch, ms.
    pub send: LatencySummary,
    /// One whole step (`after` + `send_scans` + `acknowledge_through`), ms.
    pub step: LatencySummary,
    /// Time in `buffer.after`, s.
    pub buffer_reads_s: f64,
    /// Time in `buffer.acknowledge_through`, s.
    pub buffer_prunes_s: f64,
    /// The server's RSS before the sync, KiB.
    pub server_rss_before_kib: u64,
    /// The largest RSS sampled during the sync, KiB.
    pub server_rss_peak_kib: u64,
    /// The server's CPU during the sync, s.
    pub server_cpu_s: f64,
    /// This process's CPU (the kiosk's side) during the sync, s.
    pub kiosk_cpu_s: f64,
    /// The server's answers, summed.
    pub recorded: u64,
    /// Duplicates in the answers.
    pub duplicates: u64,
    /// Refused in the answers.
    pub refused: u64,
}

/// What was checked after the sync.
#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    /// The last answer's `acknowledged_through`.
    pub acknowledged_through: u64,
    /// Scans left in the buffer.
    pub buffer_pending: u64,
    /// New rows in `visits`.
    pub new_visits: u64,
    /// New rows at the kiosk's place.
    pub new_visits_at_place: u64,
    /// Distinct residents among them.
    pub residents_with_visits: u64,
    /// The first and last scan are stored at their corrected times.
    pub times_corrected: bool,
    /// The first batch sent again: the server's answer.
    pub resend: Answer,
    /// `visits` rows after the resend (must not change).
    pub visits_after_resend: u64,
}

/// A `POST /api/v1/kiosk/scans` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// `acknowledged_through`.
    pub acknowledged_through: u64,
    /// `recorded`.
    pub recorded: u64,
    /// `duplicates`.
    pub duplicates: u64,
    /// `refused`.
    pub refused: u64,
}

impl From<ScansReply> for Answer {
    fn from(r: ScansReply) -> Answer {
        Answer { acknowledged_through: r.acknowledged_through, recorded: r.recorded, duplicates: r.duplicates, refused: r.refused }
    }
}

/// Runs the benchmark.
pub async fn run(options: &Options) -> anyhow::Result<ScansReport> {
    ensure!(options.scans >= 1 && options.residents >= 1 && options.passes_per_resident >= 1, "--scans, --residents and --passes-per-resident must be at least 1");
    ensure!(options.passes_per_resident <= 10, "the server allows at most 10 passes per resident");
    let machine = Machine::this_one();
    let data = tempfile::Builder::new().prefix("oshirase-bench-scans-").tempdir().context("creating a temporary folder")?;
    let database = data.path().join("oshirase.sqlite");
    let key_path = data.path().join("pass-signing.key");
    let key = write_key(&key_path)?;

    let started = Instant::now();
    let passes = seed(&database, &key, options).await?;
    let store_s = started.elapsed().as_secs_f64();
    eprintln!("set-up: {} residents consented, {} passes issued through the store in {store_s:.1} s", grouped(u64::from(options.residents)), grouped(count(passes.len())));

    let started = Instant::now();
    let settings: Vec<(String, String)> = [
        ("OSHIRASE_SERVER__LISTEN", "127.0.0.1:0".to_owned()),
        ("OSHIRASE_DATABASE__PATH", database.display().to_string()),
        ("OSHIRASE_PASSES__SIGNING_KEY_PATH", key_path.display().to_string()),
        ("OSHIRASE_LOG", options.server_log.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let log = data.path().join("server.log");
    let server = ServerProcess::start(&options.server_bin, &settings, &log).await?;
    let outcome = with_server(options, &server, &key, &passes, &database, data.path(), started).await;
    let log_tail = server.log_tail(20);
    let stopped = server.stop().await;
    let (setup_rest, fill, sync, checks) = match outcome {
        Ok(figures) => figures,
        Err(e) => bail!("{e:#}\nthe server's log ends:\n{log_tail}"),
    };
    stopped?;
    Ok(ScansReport {
        machine,
        scans: options.scans,
        residents: options.residents,
        passes: count(passes.len()),
        setup: SetupFigures { store_s, server_and_pairing_s: setup_rest.0, kiosk_pass_checks_s: setup_rest.1 },
        fill,
        sync,
        checks,
    })
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A fresh signing key in `path`: its raw 32-byte seed, owner-only, as the server keeps it.
fn write_key(path: &Path) -> anyhow::Result<PassKey> {
    let mut digest = Sha256::new();
    digest.update(b"oshirase-bench-scans");
    digest.update(std::process::id().to_le_bytes());
    digest.update(OffsetDateTime::now_utc().unix_timestamp_nanos().to_le_bytes());
    let seed: [u8; 32] = digest.finalize().into();
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(&seed)?;
    file.sync_all()?;
    Ok(PassKey::from_seed(seed))
}

/// A pass issued to a resident: its id and its QR text.
#[derive(Debug, Clone)]
struct IssuedPass {
    id: PassId,
    text: String,
}

/// Creates and migrates the database through the server's store; each resident consents and
/// is issued their passes. Answers the passes, resident by resident.
async fn seed(database: &Path, key: &PassKey, options: &Options) -> anyhow::Result<Vec<IssuedPass>> {
    let store = SqliteStore::open(database)?;
    let now = OffsetDateTime::now_utc();
    let issued_at = now - time::Duration::days(2);
    let expires_at = (issued_at + time::Duration::days(PASS_VALID_DAYS)).replace_nanosecond(0)?;
    let run: [u8; 8] = now.unix_timestamp_nanos().to_le_bytes()[..8].try_into()?;
    let mut passes = Vec::new();
    let mut event = 0u64;
    let mut next_event = || {
        event += 1;
        EventKey { id: format!("bench-scans-{event:012}"), received_at: now }
    };
    for r in 0..options.residents {
        let user = LineUserId::parse(&format!("U{:016x}{r:016x}", u64::from_le_bytes(run))).map_err(|e| anyhow::anyhow!("{e}"))?;
        store.consent(next_event(), user.clone(), TERMS_VERSION.to_owned()).await?;
        for p in 0..options.passes_per_resident {
            let mut digest = Sha256::new();
            digest.update(run);
            digest.update(r.to_le_bytes());
            digest.update(p.to_le_bytes());
            let bytes: [u8; 10] = digest.finalize()[..10].try_into()?;
            let pass = Pass { id: PassId::from_random(bytes), expires_at: u32::try_from(expires_at.unix_timestamp())? };
            let new = NewPass { pass_id: pass.id.clone(), label: None, link_hash: key.link_token(&pass).hash(), issued_at, expires_at };
            let outcome = store.issue_pass(next_event(), user.clone(), TERMS_VERSION.to_owned(), new, 10).await?;
            ensure!(outcome == Processed::New(PassIssue::Issued), "issuing a pass answered {outcome:?}");
            passes.push(IssuedPass { text: key.issue(&pass), id: pass.id });
        }
    }
    Ok(passes)
}

type Figures = ((f64, f64), FillFigures, SyncFigures, Checks);

async fn with_server(options: &Options, server: &ServerProcess, key: &PassKey, passes: &[IssuedPass], database: &Path, dir: &Path, started: Instant) -> anyhow::Result<Figures> {
    let base_url = format!("http://{}", server.addr());
    let (identity, location_id) = pair(&base_url).await?;
    let server_and_pairing_s = started.elapsed().as_secs_f64();
    eprintln!("set-up: server started, place registered, kiosk {} paired in {server_and_pairing_s:.2} s", identity.kiosk_id.as_str());

    // The kiosk checks each pass before it keeps a scan of it: the key it got must accept them.
    let kiosk_key = identity.pass_public_key.context("the kiosk got no pass key at pairing")?;
    ensure!(kiosk_key.to_base64() == key.public_key_base64(), "the kiosk's pass key is not the one in signing_key_path");
    let started = Instant::now();
    let now_s = u64::try_from(OffsetDateTime::now_utc().unix_timestamp())?;
    let none_revoked = RevocationList::default();
    for pass in passes {
        let checked = kiosk_key.check(&pass.text, now_s, &none_revoked).map_err(|e| anyhow::anyhow!("the kiosk refuses pass {}: {e}", pass.id.as_str()))?;
        ensure!(checked.id == pass.id, "the pass text holds another id");
    }
    let kiosk_pass_checks_s = started.elapsed().as_secs_f64();

    let visits_before = count_visits(database)?;
    let now_ms = millis(OffsetDateTime::now_utc());
    let first_ms = now_ms - 60_000 - SCANS_SPAN_MS;
    let scan_at = |i: u64| first_ms + i64::try_from(u128::from(i) * u128::from(SCANS_SPAN_MS.unsigned_abs()) / u128::from(options.scans)).unwrap_or(0);
    let buffer_path = dir.join(BUFFER_FILE);
    let mut buffer = ScanBuffer::open(&buffer_path, options.scans)?;
    let fill = fill(&mut buffer, options.scans, passes, &scan_at, &buffer_path)?;
    eprintln!("buffer: {} scans recorded in {:.1} s ({:.0}/s)", grouped(options.scans), fill.total_s, fill.scans_per_s);

    let client = ServerClient::new(&identity.server_url)?;
    let (sync, first_batch, acknowledged_through, buffer_pending) = sync(&client, &identity, buffer, server).await?;
    eprintln!("sync: {} scans in {:.2} s ({:.0}/s), {} batches", grouped(options.scans), sync.total_s, sync.scans_per_s, sync.batches);

    let checks = check(&client, &identity, buffer_pending, database, visits_before, &location_id, first_batch, acknowledged_through, [scan_at(0), scan_at(options.scans - 1)]).await?;
    Ok(((server_and_pairing_s, kiosk_pass_checks_s), fill, sync, checks))
}

/// Registers a place, asks for a pairing code and pairs the kiosk as `oshirase-kiosk pair`
/// does. Answers its identity and the place.
async fn pair(base_url: &str) -> anyhow::Result<(Identity, String)> {
    let client = reqwest::Client::new();
    let venue = register_venue(&client, base_url, "市民会館 受付").await?;
    let code = pairing_code(&client, base_url, &venue).await?;
    let location_id = venue.location_id;
    let identity = oshirase_device::pairing::pair(base_url, &code).await.context("pairing the kiosk")?;
    ensure!(identity.location_id == location_id, "the kiosk was paired with {}, not {location_id}", identity.location_id);
    Ok((identity, location_id))
}

/// Records `scans` scans, the passes in turn, one committed transaction each.
fn fill(buffer: &mut ScanBuffer, scans: u64, passes: &[IssuedPass], scan_at: &dyn Fn(u64) -> i64, path: &Path) -> anyhow::Result<FillFigures> {
    let mut record_us = Vec::with_capacity(usize::try_from(scans).unwrap_or(0));
    let mut fifths_s = Vec::new();
    let started = Instant::now();
    let mut fifth_started = started;
    for i in 0..scans {
        let pass = &passes[usize::try_from(i % count(passes.len()))?];
        let t = Instant::now();
        let seq = buffer.record(&pass.id, scan_at(i) + KIOSK_AHEAD_MS, -KIOSK_AHEAD_MS)?;
        record_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        ensure!(seq == i + 1, "scan {} got sequence number {seq}", i + 1);
        if (i + 1) * 5 / scans > i * 5 / scans {
            fifths_s.push(fifth_started.elapsed().as_secs_f64());
            fifth_started = Instant::now();
            eprintln!("buffer: {} scans recorded ({:.0} s)", grouped(i + 1), started.elapsed().as_secs_f64());
        }
    }
    let total = started.elapsed();
    ensure!(buffer.pending()? == scans, "the buffer holds {} scans, not {scans}", buffer.pending()?);
    let mut pending = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        buffer.pending()?;
        pending.push(t.elapsed());
    }
    pending.sort();
    let size = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(PathBuf::from(name)).map_or(0, |m| m.len())
    };
    Ok(FillFigures {
        total_s: total.as_secs_f64(),
        scans_per_s: rate(scans, total),
        record: Latencies::from_micros(record_us).summary().context("no scan recorded")?,
        fifths_s,
        pending_full_ms: pending[10].as_secs_f64() * 1000.0,
        buffer_bytes: size("") + size("-wal"),
    })
}

fn cpu_seconds(pid: u32) -> f64 {
    CpuByThread::of_process(pid).map_or(0.0, |cpu| cpu.0.values().map(|t| t.on_cpu_s).sum())
}

/// The kiosk's sync, as its run loop does it: the state machine (`Kiosk`) says
/// `SendScans { after }`, the station reads the batch after it, `send_scans` sends it, the
/// station prunes what the answer acknowledged and the state machine hears of it — until the
/// state machine has nothing left to send. A heartbeat goes first (it is due at start, and
/// reports the pending scans); one falling due meanwhile would be sent too, as the loop would.
/// Answers the figures, the first batch (to send again) and the last acknowledgement.
async fn sync(client: &ServerClient, identity: &Identity, buffer: ScanBuffer, server: &ServerProcess) -> anyhow::Result<(SyncFigures, Vec<BufferedScan>, u64, u64)> {
    let start = Instant::now();
    let mono = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let tick = || Event::Tick { now_monotonic_ms: mono(), system_time_ms: millis(OffsetDateTime::now_utc()), system_clock_synced: true };
    let mut station = Station::new(buffer, 3_000);
    let mut kiosk = Kiosk::paired(identity.clone(), Timing::default(), 1);
    kiosk.handle(station.restored()?);
    kiosk.handle(tick());
    ensure!(kiosk.next_action() == Action::SendHeartbeat, "the state machine did not start with a heartbeat: {:?}", kiosk.next_action());
    ensure!(kiosk.pending_scans() == station.pending()?, "the state machine counts {} pending scans, the buffer {}", kiosk.pending_scans(), station.pending()?);
    let mut heartbeats = 0u64;
    heartbeat(client, &mut kiosk, mono).await?;
    heartbeats += 1;

    let server_rss_before_kib = server.memory()?.rss_kib;
    let sampler = RssSampler::start(server.pid(), SAMPLE_EVERY);
    let (server_cpu, kiosk_cpu) = (cpu_seconds(server.pid()), cpu_seconds(std::process::id()));
    let (mut send_us, mut step_us) = (Vec::new(), Vec::new());
    let (mut reads, mut prunes) = (Duration::ZERO, Duration::ZERO);
    let (mut recorded, mut duplicates, mut refused) = (0, 0, 0);
    let mut first_batch = None;
    let started = Instant::now();
    loop {
        kiosk.handle(tick());
        let after = match kiosk.next_action() {
            Action::SendScans { after } => after,
            Action::SendHeartbeat => {
                heartbeat(client, &mut kiosk, mono).await?;
                heartbeats += 1;
                continue;
            }
            Action::Wait { .. } => break,
        };
        let step = Instant::now();
        let batch = station.batch(after)?;
        reads += step.elapsed();
        let (Some(first), Some(last)) = (batch.first().map(|s| s.seq), batch.last().map(|s| s.seq)) else {
            bail!("the state machine counts {} scans after {after}, the buffer none", kiosk.pending_scans());
        };
        kiosk.handle(Event::ScansSent { at_monotonic_ms: mono(), through: last });
        let sent = Instant::now();
        let reply = client.send_scans(&identity.sync_token, &batch).await.with_context(|| format!("sending the scans after {after}"))?;
        send_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
        ensure!(reply.acknowledged_through == last, "the batch {first}–{last} was acknowledged through {}", reply.acknowledged_through);
        let pruning = Instant::now();
        let event = station.synced(first, last, reply, mono());
        prunes += pruning.elapsed();
        ensure!(matches!(event, Event::ScansAcknowledged { .. }), "the station made {event:?} of the answer");
        kiosk.handle(event);
        (recorded, duplicates, refused) = (recorded + reply.recorded, duplicates + reply.duplicates, refused + reply.refused);
        step_us.push(u32::try_from(step.elapsed().as_micros()).unwrap_or(u32::MAX));
        first_batch.get_or_insert(batch);
    }
    let total = started.elapsed();
    let (server_cpu_s, kiosk_cpu_s) = (cpu_seconds(server.pid()) - server_cpu, cpu_seconds(std::process::id()) - kiosk_cpu);
    let server_rss_peak_kib = sampler.finish().await;
    let first_batch = first_batch.context("nothing was sent")?;
    let acknowledged = station.last_seq()?.saturating_sub(kiosk.pending_scans());
    let figures = SyncFigures {
        total_s: total.as_secs_f64(),
        scans_per_s: rate(recorded + duplicates + refused, total),
        goal_met: total.as_secs_f64() < GOAL_S,
        batches: count(send_us.len()),
        heartbeats,
        send: Latencies::from_micros(send_us).summary().context("no batch")?,
        step: Latencies::from_micros(step_us).summary().context("no batch")?,
        buffer_reads_s: reads.as_secs_f64(),
        buffer_prunes_s: prunes.as_secs_f64(),
        server_rss_before_kib,
        server_rss_peak_kib,
        server_cpu_s,
        kiosk_cpu_s,
        recorded,
        duplicates,
        refused,
    };
    Ok((figures, first_batch, acknowledged, station.pending()?))
}

/// One heartbeat, as the run loop sends it and takes in its answer.
async fn heartbeat(client: &ServerClient, kiosk: &mut Kiosk, mono: impl Fn() -> u64) -> anyhow::Result<()> {
    let sent = mono();
    kiosk.handle(Event::HeartbeatSent { at_monotonic_ms: sent });
    let token = kiosk.identity().context("the kiosk has no identity")?.sync_token.clone();
    let reply = client.heartbeat(&token, &kiosk.heartbeat_report()).await.context("the heartbeat")?;
    ensure!(!reply.disabled, "the server says the kiosk is disabled");
    kiosk.handle(Event::HeartbeatAnswered(reply.answer(sent, mono())));
    Ok(())
}

fn open_read_only(database: &Path) -> anyhow::Result<rusqlite::Connection> {
    Ok(rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?)
}

fn count_visits(database: &Path) -> anyhow::Result<u64> {
    let n: i64 = open_read_only(database)?.query_row("SELECT count(*) FROM visits", [], |r| r.get(0))?;
    Ok(u64::try_from(n)?)
}

#[allow(clippy::too_many_arguments, reason = "one call site, each argument named")]
async fn check(
    client: &ServerClient,
    identity: &Identity,
    buffer_pending: u64,
    database: &Path,
    visits_before: u64,
    location_id: &str,
    first_batch: Vec<BufferedScan>,
    acknowledged_through: u64,
    [first_at, last_at]: [i64; 2],
) -> anyhow::Result<Checks> {
    let conn = open_read_only(database)?;
    let (at_place, residents, min_at, max_at): (i64, i64, Option<i64>, Option<i64>) = conn.query_row(
        "SELECT count(*), count(DISTINCT resident_id), min(scanned_at_ms), max(scanned_at_ms) FROM visits WHERE location_id = ?1",
        [location_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let new_visits = count_visits(database)? - visits_before;
    let resend = client.send_scans(&identity.sync_token, &first_batch).await.context("sending the first batch again")?;
    Ok(Checks {
        acknowledged_through,
        buffer_pending,
        new_visits,
        new_visits_at_place: u64::try_from(at_place)?,
        residents_with_visits: u64::try_from(residents)?,
        times_corrected: min_at == Some(first_at) && max_at == Some(last_at),
        resend: resend.into(),
        visits_after_resend: count_visits(database)? - visits_before,
    })
}

impl ScansReport {
    /// True when every scan became exactly one visit, the buffer is empty and a batch sent
    /// again changed nothing.
    pub fn is_consistent(&self) -> bool {
        let (c, s) = (&self.checks, &self.sync);
        let batch = self.scans.min(count(MAX_SCANS_PER_BATCH));
        s.recorded == self.scans
            && s.duplicates == 0
            && s.refused == 0
            && c.acknowledged_through == self.scans
            && c.buffer_pending == 0
            && c.new_visits == self.scans
            && c.new_visits_at_place == self.scans
            && c.residents_with_visits == u64::from(self.residents).min(self.scans)
            && c.times_corrected
            && c.resend == Answer { acknowledged_through: self.scans, recorded: 0, duplicates: batch, refused: 0 }
            && c.visits_after_resend == self.scans
    }

    /// The plain-text report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
        let lat = |l: &LatencySummary| format!("p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} ms", l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms);
        let (st, f, s, c) = (&self.setup, &self.fill, &self.sync, &self.checks);
        let _ = writeln!(out, "oshirase kiosk scan sync benchmark");
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), load average {} at start; the server and this benchmark (the kiosk's buffer and client) share them",
            self.machine.cpus, self.machine.cpu_model, self.machine.load_average_at_start
        );
        let _ = writeln!(
            out,
            "set-up: {} residents consented with {} passes through the store ({:.1} s); server started and kiosk paired ({:.2} s); the kiosk's check accepted every pass ({:.0} ms)",
            grouped(u64::from(self.residents)),
            grouped(self.passes),
            st.store_s,
            st.server_and_pairing_s,
            st.kiosk_pass_checks_s * 1000.0
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "buffer fill    {} scans, one committed transaction each (synchronous=FULL): {:.1} s, {:.0} scans/s; record {}; {:.1} MiB on disk",
            grouped(self.scans),
            f.total_s,
            f.scans_per_s,
            lat(&f.record),
            f.buffer_bytes as f64 / (1024.0 * 1024.0)
        );
        let fifths: Vec<String> = f.fifths_s.iter().map(|s| format!("{s:.1}")).collect();
        let _ = writeln!(out, "  by fifths    {} s; pending() on the full buffer {:.3} ms", fifths.join(" / "), f.pending_full_ms);
        let _ = writeln!(
            out,
            "sync           {:.2} s for {} scans in {} batches = {:.0} scans/s; goal < {GOAL_S} s: {}",
            s.total_s,
            grouped(self.scans),
            s.batches,
            s.scans_per_s,
            if s.goal_met { "met" } else { "not met" }
        );
        let _ = writeln!(out, "  send_scans   {} per batch (round trip)", lat(&s.send));
        let _ = writeln!(out, "  whole step   {} (Station::batch + send_scans + Station::synced)", lat(&s.step));
        let _ = writeln!(out, "  heartbeats   {} (the first before the clock started)", s.heartbeats);
        let _ = writeln!(out, "  buffer       {:.2} s reading batches, {:.2} s pruning acknowledged scans", s.buffer_reads_s, s.buffer_prunes_s);
        let _ = writeln!(out, "  server RSS   {} before, {} peak during the sync", mib(s.server_rss_before_kib), mib(s.server_rss_peak_kib));
        let _ = writeln!(out, "  CPU          server {:.2} s, kiosk side (this process) {:.2} s", s.server_cpu_s, s.kiosk_cpu_s);
        let _ = writeln!(out, "  answers      {} recorded, {} duplicates, {} refused", grouped(s.recorded), s.duplicates, s.refused);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "checks         acknowledged through {}; {} scans left in the buffer; {} new visits ({} at the kiosk's place, {} residents){}",
            grouped(c.acknowledged_through),
            c.buffer_pending,
            grouped(c.new_visits),
            grouped(c.new_visits_at_place),
            grouped(c.residents_with_visits),
            if c.times_corrected { ", first and last at their corrected times" } else { ", times NOT as corrected" }
        );
        let r = &c.resend;
        let _ = writeln!(
            out,
            "  resend       first batch again: {} recorded, {} duplicates, {} refused, acknowledged through {}; visits then {}",
            r.recorded,
            r.duplicates,
            r.refused,
            grouped(r.acknowledged_through),
            grouped(c.visits_after_resend)
        );
        let _ = writeln!(out, "  consistency  {}", if self.is_consistent() { "(ok)" } else { "(MISMATCH)" });
        out
    }
}
