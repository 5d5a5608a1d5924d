//! One benchmark run, start to finish:
//!
//! 1. **Yardstick.** The generator drives a bare axum handler ([`crate::bare`]) with the same
//!    signed bodies for the same time.
//! 2. **Set-up.** The LINE sandbox starts in this process (on its own runtime), the real
//!    server binary starts with a fresh SQLite file and its LINE settings pointed at the
//!    sandbox, a venue is registered through `POST /api/v1/venues`, and `K` sandbox residents
//!    add the account and press "consent" — delivered by the sandbox itself, signed, so the
//!    server stores them and replies as it would to LINE.
//! 3. **Load.** The generator posts signed check-in webhooks (`来場登録 <CODE>`) with reply
//!    tokens issued by the sandbox; a 200 means the visit is committed (`synchronous=FULL`).
//! 4. **Drain and check.** Wait until the sandbox has accepted a confirmation reply for every
//!    200, then count the visits in the SQLite file: they must equal the 200s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use oshirase_line_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::bare::BareServer;
use crate::body::Signer;
use crate::load::{self, Outcome, Window};
use crate::process::{RssSampler, ServerProcess};
use crate::report::{LoadFigures, Machine, Replies, Report, ServerFigures, Settings};
use crate::source::{Channel, Tokens, WEBHOOK_PATH, WebhookSource, deal};
use crate::stats::{CoreUse, CpuByThread, machine_busy_seconds, rate};

/// The channel secret the sandbox and the server share.
const CHANNEL_SECRET: &str = "oshirase-bench-channel-secret";
/// The channel access token the sandbox accepts.
const ACCESS_TOKEN: &str = "oshirase-bench-access-token";
/// The terms version residents consent to (the server's default).
const TERMS_VERSION: &str = "2026-11";
/// Set-up actions (follow, consent) in flight at once.
const SETUP_CONCURRENCY: usize = 32;
/// How long to wait for replies to stop arriving before calling the rest undelivered.
const REPLY_QUIET_LIMIT: Duration = Duration::from_secs(15);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The measured window of each of the two loads.
    pub duration: Duration,
    /// Sending before measuring.
    pub warmup: Duration,
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Consenting residents the check-ins come from.
    pub residents: usize,
    /// Reply tokens fetched from the sandbox per resident at a time.
    pub token_batch: usize,
    /// The `oshirase-server` binary.
    pub server_bin: PathBuf,
    /// `OSHIRASE_LOG` for the server.
    pub server_log: String,
    /// Worker threads of the generator's runtime (reported only).
    pub generator_threads: usize,
    /// Worker threads of the sandbox's and the bare handler's runtimes (reported only).
    pub sandbox_threads: usize,
}

/// Runs the benchmark. `sandbox_rt` and `bare_rt` are runtimes separate from the generator's,
/// so the three share the CPU through the scheduler rather than through one task queue.
pub async fn run(options: &Options, sandbox_rt: &Handle, bare_rt: &Handle) -> anyhow::Result<Report> {
    ensure!(options.residents >= options.connections, "--residents must be at least --connections (each connection speaks for its own residents)");
    let machine = Machine::this_one();
    let bare = yardstick(options, bare_rt).await?;
    eprintln!("bare handler: {:.0} requests/s", bare.throughput_per_s);

    let line = start_sandbox(sandbox_rt).await?;
    let data = tempfile::Builder::new().prefix("oshirase-bench-").tempdir().context("creating a temporary folder")?;
    let database = data.path().join("oshirase.sqlite");
    let server = ServerProcess::start(&options.server_bin, &server_settings(options, &line, &database), &data.path().join("server.log")).await?;
    let outcome = load_server(options, sandbox_rt, &line, &server, &database).await;
    let stopped = server.stop().await;
    let (figures, sample_reply) = outcome?;
    stopped?;
    let ratio = if bare.throughput_per_s > 0.0 { figures.load.throughput_per_s / bare.throughput_per_s } else { 0.0 };
    Ok(Report::new(machine, settings_of(options), bare, figures, ratio, sample_reply))
}

async fn yardstick(options: &Options, bare_rt: &Handle) -> anyhow::Result<LoadFigures> {
    let bare = bare_rt.spawn(BareServer::start()).await?.context("starting the bare handler")?;
    let channel = Channel {
        host: bare.addr().to_string(),
        destination: format!("U{}", "0".repeat(32)),
        signer: Signer::new(CHANNEL_SECRET),
        text: "来場登録 0000000000".to_owned(),
        tokens: Tokens::MadeUp,
    };
    let residents: Vec<String> = (0..options.residents).map(|i| format!("U{i:032x}")).collect();
    let sources = sources(&channel, &residents, options.connections)?;
    let window = Window::starting_now(options.warmup, options.duration);
    let probe = tokio::spawn(probe_window(window, None, None));
    let outcome = load::run(bare.addr(), window, sources).await;
    ensure!(outcome.total_ok() > 0, "the bare handler answered nothing: {:?}", outcome.first_error);
    Ok(LoadFigures::from_outcome(&outcome, probe.await?.cpu))
}

async fn start_sandbox(sandbox_rt: &Handle) -> anyhow::Result<SandboxHandle> {
    let mut config = SandboxConfig::new(CHANNEL_SECRET, ACCESS_TOKEN);
    // LINE limits replies to 2,000 requests/s per channel; the benchmark measures the server,
    // so the sandbox must not be the limit. Failed deliveries are counted, not redelivered.
    config.knobs.rate_limits.reply = 1_000_000_000;
    config.knobs.monthly_quota = None;
    config.knobs.redelivery = false;
    sandbox_rt.spawn(Sandbox::start(config)).await?.context("starting the LINE sandbox")
}

fn server_settings(options: &Options, line: &SandboxHandle, database: &std::path::Path) -> Vec<(String, String)> {
    [
        ("OSHIRASE_SERVER__LISTEN", "127.0.0.1:0".to_owned()),
        ("OSHIRASE_DATABASE__PATH", database.display().to_string()),
        ("OSHIRASE_LINE__API_BASE_URL", line.base_url()),
        ("OSHIRASE_LINE__DEEP_LINK_BASE_URL", line.base_url()),
        ("OSHIRASE_LINE__CHANNEL_SECRET", CHANNEL_SECRET.to_owned()),
        ("OSHIRASE_LINE__CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN.to_owned()),
        // Each resident checks in many times a second here; real ones do not.
        ("OSHIRASE_CHECKIN__MAX_PER_HOUR", "1000000000".to_owned()),
        ("OSHIRASE_CHECKIN__REPEAT_WINDOW_SECONDS", "0".to_owned()),
        ("OSHIRASE_LOG", options.server_log.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Set-up, load, drain and checks against the running server. Answers the figures and the
/// text of one confirmation a resident received.
async fn load_server(
    options: &Options,
    sandbox_rt: &Handle,
    line: &SandboxHandle,
    server: &ServerProcess,
    database: &std::path::Path,
) -> anyhow::Result<(ServerFigures, String)> {
    let sandbox = line.sandbox().clone();
    sandbox.set_webhook_url(&format!("http://{}{WEBHOOK_PATH}", server.addr()))?;
    let code = register_venue(server).await?;
    let set_up = Instant::now();
    let residents = consenting_residents(&sandbox, sandbox_rt, options.residents).await?;
    wait_for_replies(&sandbox, 0, 2 * count(options.residents)).await;
    let consented = count_rows(database, &format!("SELECT count(*) FROM residents WHERE consent_terms = '{TERMS_VERSION}'")).await?;
    ensure!(consented == count(options.residents), "{consented} of {} residents consented", options.residents);
    eprintln!("set-up: venue {code}, {} consenting residents in {:.1} s", residents.len(), set_up.elapsed().as_secs_f64());

    let before = sandbox.stats();
    let idle = server.memory()?;
    let channel = Channel {
        host: server.addr().to_string(),
        destination: sandbox.bot_user_id().to_owned(),
        signer: Signer::new(CHANNEL_SECRET),
        text: format!("来場登録 {code}"),
        tokens: Tokens::Sandbox { sandbox: sandbox.clone(), batch: options.token_batch },
    };
    let sources = sources(&channel, &residents, options.connections)?;
    let sampler = RssSampler::start(server.pid(), Duration::from_millis(100));
    let window = Window::starting_now(options.warmup, options.duration);
    let probe = tokio::spawn(probe_window(window, Some(sandbox.clone()), Some(server.pid())));
    let outcome = load::run(server.addr(), window, sources).await;
    let replied_at_end = sandbox.stats().replies - before.replies;
    let used = probe.await?;
    let accepted = outcome.total_ok();
    let (replied, last_reply) = wait_for_replies(&sandbox, before.replies, accepted).await;
    let after = sandbox.stats();
    let peak_rss_kib = sampler.finish().await;
    let memory = server.memory()?;
    let visits = count_rows(database, "SELECT count(*) FROM visits").await?;
    let sample_reply = last_message(&sandbox, &residents[0])?;

    let end_to_end = last_reply.saturating_duration_since(window.start);
    let figures = ServerFigures {
        load: LoadFigures::from_outcome(&outcome, used.cpu),
        accepted,
        visits_stored: visits,
        replies: Replies {
            expected: accepted,
            delivered: replied,
            refused_by_api: after.api_errors - before.api_errors,
            in_window_per_s: rate(used.replies, window.measured()),
            backlog_at_load_end: accepted.saturating_sub(replied_at_end),
            drained_after_load_ms: last_reply.saturating_duration_since(outcome.finished).as_secs_f64() * 1000.0,
            end_to_end_s: end_to_end.as_secs_f64(),
            per_s: rate(replied, end_to_end),
        },
        memory_idle: idle,
        memory_after: memory,
        peak_rss_kib,
    };
    Ok((figures, sample_reply))
}

fn sources(channel: &Channel, residents: &[String], connections: usize) -> anyhow::Result<Vec<WebhookSource>> {
    let hands = deal(residents, connections).map_err(anyhow::Error::msg)?;
    hands
        .into_iter()
        .enumerate()
        .map(|(i, hand)| WebhookSource::new(channel.clone(), u16::try_from(i).unwrap_or(u16::MAX), hand).map_err(anyhow::Error::msg))
        .collect()
}

/// Registers one venue through the JSON API and answers its printed code.
async fn register_venue(server: &ServerProcess) -> anyhow::Result<String> {
    let body = json!({
        "business_type": "restaurant",
        "daily_visitors": 120,
        "name": "カフェ・ド・浦和",
        "postal_code": "330-9301",
        "address": "埼玉県さいたま市浦和区高砂3-15-1",
        "phone": "048-824-2111",
        "email": "info@example.jp"
    });
    let response = reqwest::Client::new().post(format!("http://{}/api/v1/venues", server.addr())).json(&body).send().await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    ensure!(status == reqwest::StatusCode::CREATED, "venue registration answered {status}: {answer}");
    answer["venues"][0]["code"].as_str().map(str::to_owned).with_context(|| format!("no venue code in {answer}"))
}

/// `n` sandbox residents who added the account and consented, each through webhooks the
/// sandbox delivers. Answers their user ids.
async fn consenting_residents(sandbox: &Sandbox, sandbox_rt: &Handle, n: usize) -> anyhow::Result<Vec<String>> {
    let permits = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (sandbox, permits) = (sandbox.clone(), Arc::clone(&permits));
        tasks.push(sandbox_rt.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let resident = sandbox.add_resident(&format!("住民 {i}"))?;
            let followed = sandbox.follow(&resident.user_id).await?;
            let consented = sandbox.postback(&resident.user_id, &format!("consent={TERMS_VERSION}"), Some("同意する")).await?;
            if !followed.delivered || !consented.delivered {
                bail!("set-up webhooks for resident {i} were answered {:?} and {:?}", followed.status, consented.status);
            }
            Ok::<_, anyhow::Error>(resident.user_id)
        }));
    }
    let mut residents = Vec::with_capacity(n);
    for task in tasks {
        residents.push(task.await??);
    }
    Ok(residents)
}

/// Waits until the sandbox has accepted `expected` replies more than `baseline`, or until
/// none has arrived for [`REPLY_QUIET_LIMIT`]. Answers how many arrived and when the last did.
async fn wait_for_replies(sandbox: &Sandbox, baseline: u64, expected: u64) -> (u64, Instant) {
    let mut seen = sandbox.stats().replies - baseline;
    let mut last_change = Instant::now();
    while seen < expected && last_change.elapsed() < REPLY_QUIET_LIMIT {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = sandbox.stats().replies - baseline;
        if now != seen {
            seen = now;
            last_change = Instant::now();
        }
    }
    (seen, last_change)
}

/// The name under which CPU used by neither the server nor this process is reported.
pub const OTHER_CPU: &str = "other";

/// What the measured window used besides requests.
#[derive(Debug, Default)]
struct WindowUse {
    /// Replies the sandbox accepted.
    replies: u64,
    /// Cores per thread name, `server/…` for the server's threads and `bench/…` for this
    /// process's (generator, sandbox, bare handler), [`OTHER_CPU`] for the rest.
    cpu: BTreeMap<String, CoreUse>,
}

/// Measures replies and CPU over the measured window of `window`.
async fn probe_window(window: Window, sandbox: Option<Sandbox>, server_pid: Option<u32>) -> WindowUse {
    let snapshot = || {
        let replies = sandbox.as_ref().map_or(0, |s| s.stats().replies);
        let server = server_pid.and_then(|pid| CpuByThread::of_process(pid).ok()).unwrap_or_default();
        let bench = CpuByThread::of_process(std::process::id()).unwrap_or_default();
        (replies, server, bench, machine_busy_seconds().unwrap_or(0.0))
    };
    tokio::time::sleep_until(window.measure_start.into()).await;
    let (replies_before, server_before, bench_before, machine_before) = snapshot();
    tokio::time::sleep_until(window.end.into()).await;
    let (replies_after, server_after, bench_after, machine_after) = snapshot();
    let elapsed = window.measured();
    let mut cpu = BTreeMap::new();
    for (prefix, after, before) in [("server", server_after, server_before), ("bench", bench_after, bench_before)] {
        cpu.extend(after.cores_since(&before, elapsed).into_iter().map(|(name, used)| (format!("{prefix}/{name}"), used)));
    }
    // Whatever else kept the cores busy: other processes, and kernel work not charged to ours.
    let ours: f64 = cpu.values().map(|u| u.busy).sum();
    let other = (machine_after - machine_before) / elapsed.as_secs_f64() - ours;
    if other >= 0.005 {
        cpu.insert(OTHER_CPU.to_owned(), CoreUse { busy: other, waiting: 0.0 });
    }
    WindowUse { replies: replies_after - replies_before, cpu }
}

/// The text of the last message a resident received (the report shows it; a missing one is
/// already counted as undelivered replies).
fn last_message(sandbox: &Sandbox, user_id: &str) -> anyhow::Result<String> {
    let inbox = sandbox.inbox(user_id)?;
    Ok(inbox.last().map_or_else(|| "(nothing received)".to_owned(), |last| last.message["text"].as_str().unwrap_or_default().to_owned()))
}

/// A `count(*)` query on the server's database, read-only, from another connection.
async fn count_rows(database: &std::path::Path, sql: &str) -> anyhow::Result<u64> {
    let (database, sql) = (database.to_owned(), sql.to_owned());
    tokio::task::spawn_blocking(move || {
        let conn = rusqlite::Connection::open_with_flags(&database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        Ok(u64::try_from(n)?)
    })
    .await?
}

fn settings_of(options: &Options) -> Settings {
    Settings {
        connections: options.connections,
        residents: options.residents,
        warmup_s: options.warmup.as_secs_f64(),
        duration_s: options.duration.as_secs_f64(),
        generator_threads: options.generator_threads,
        sandbox_threads: options.sandbox_threads,
        server_bin: options.server_bin.display().to_string(),
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl LoadFigures {
    fn from_outcome(outcome: &Outcome, cpu: BTreeMap<String, CoreUse>) -> LoadFigures {
        LoadFigures {
            throughput_per_s: rate(outcome.measured_ok, outcome.window.measured()),
            latency: outcome.latencies.summary(),
            measured_ok: outcome.measured_ok,
            measured_not_ok: outcome.measured_not_ok,
            total_not_ok: outcome.total_not_ok(),
            transport_errors: outcome.transport_errors,
            first_error: outcome.first_error.clone(),
            cpu,
        }
    }
}
