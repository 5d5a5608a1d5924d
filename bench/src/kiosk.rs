//! The kiosk's memory as it really runs (issue 5: "kiosk RSS, goal < 50 MB"):
//!
//! 1. **Set-up.** The release server starts with a fresh SQLite file on `127.0.0.1:0` (its
//!    LINE settings left at their defaults: no resident is involved, so LINE is never
//!    called), and one venue is registered through `POST /api/v1/venues`.
//! 2. **Each scenario.** A pairing code from the management API
//!    (`POST /api/v1/manage/venues/{location}/kiosks`), `oshirase-kiosk pair` into a fresh
//!    data folder, then `oshirase-kiosk run` for the chosen time while `VmRSS` is read from
//!    `/proc/<pid>/status` every [`SAMPLE_EVERY`]:
//!    - **preview**: `--preview-listen 127.0.0.1:0`, and `/screen.png` fetched at a steady
//!      rate, as the browser preview page does (it reloads once a second);
//!    - **headless**: no preview and no framebuffer, as a Pi kiosk without its screen loop
//!      runs: the state machine and its heartbeats only.
//! 3. **Figures.** RSS once the first code is shown (the kiosk logs `code for …` when its
//!    screen becomes a code), median, last and peak (`VmHWM`), how RSS moved between the
//!    first and the last third of the run, frames served, heartbeats the server answered.
//!
//! A kiosk that exits, never announces its preview or never shows a code fails the run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use oshirase_bench::process::ServerProcess;
use oshirase_bench::report::Machine;
use oshirase_bench::stats::{Memory, parse_memory};
use oshirase_bench::venue::{Venue, pairing_code, register_venue};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How often `VmRSS` is read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// The goal: the kiosk's resident memory, in bytes (50 MB).
pub const GOAL_BYTES: u64 = 50_000_000;
/// What the kiosk prints once its preview listens, followed by its URL.
const PREVIEW_PREFIX: &str = "oshirase-kiosk preview on ";
/// What the kiosk logs when its screen becomes a code.
const CODE_SHOWN: &str = "code for ";
/// How long the kiosk may take to announce its preview.
const PREVIEW_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the kiosk may take to show its first code (it needs one heartbeat answered when
/// the system clock is not known to be synchronised).
const CODE_TIMEOUT: Duration = Duration::from_secs(30);
/// The heartbeat route, as the server's metrics label it.
const HEARTBEAT_ROUTE: &str = "route=\"/api/v1/kiosk/heartbeat\"";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long each kiosk runs, from its start.
    pub duration: Duration,
    /// `/screen.png` fetches per second in the preview scenario (0: none).
    pub fetch_per_second: f64,
    /// The `oshirase-server` binary.
    pub server_bin: PathBuf,
    /// The `oshirase-kiosk` binary.
    pub kiosk_bin: PathBuf,
    /// Run the preview scenario.
    pub preview: bool,
    /// Run the headless scenario.
    pub headless: bool,
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct KioskReport {
    /// Where it ran.
    pub machine: Machine,
    /// Seconds each kiosk ran.
    pub duration_s: f64,
    /// `/screen.png` fetches per second asked for in the preview scenario.
    pub fetch_per_second: f64,
    /// `VmRSS` sampling period, ms.
    pub sample_every_ms: u64,
    /// The kiosk binary.
    pub kiosk_bin: String,
    /// One entry per scenario, in the order they ran.
    pub scenarios: Vec<ScenarioFigures>,
    /// The goal in bytes.
    pub goal_bytes: u64,
    /// True when every scenario's peak RSS stayed below the goal.
    pub goal_met: bool,
}

/// One kiosk's run.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioFigures {
    /// `preview` or `headless`.
    pub name: String,
    /// Seconds from the kiosk's start to the log line of its first code.
    pub first_code_after_s: f64,
    /// `VmRSS` of the first sample after the first code was shown, KiB.
    pub rss_after_start_up_kib: u64,
    /// Median of all samples, KiB.
    pub rss_median_kib: u64,
    /// The last sample, KiB.
    pub rss_last_kib: u64,
    /// The smallest and the largest sample, KiB.
    pub rss_min_kib: u64,
    /// The largest sample, KiB.
    pub rss_max_kib: u64,
    /// `VmHWM` at the end: the most the kiosk ever had resident, KiB.
    pub peak_hwm_kib: u64,
    /// Median of the samples in the first third of the time after start-up, KiB.
    pub rss_first_third_median_kib: u64,
    /// Median of the samples in the last third, KiB.
    pub rss_last_third_median_kib: u64,
    /// The last sample of each tenth of the run, KiB: a leak climbs here, a pool that fills
    /// once levels off.
    pub rss_by_tenth_kib: Vec<u64>,
    /// Samples taken.
    pub samples: usize,
    /// Threads of the kiosk at the end.
    pub threads_at_end: u64,
    /// `/screen.png` fetches (preview only).
    pub frames: Option<Frames>,
    /// Heartbeats the server answered 200 while this kiosk ran.
    pub heartbeats_answered: u64,
    /// What the kiosk showed last (its last `screen` log line).
    pub last_screen: String,
    /// True when the peak RSS stayed below the goal.
    pub goal_met: bool,
}

/// The preview's frames.
#[derive(Debug, Clone, Serialize)]
pub struct Frames {
    /// Fetches started.
    pub requested: u64,
    /// Answered 200 with a PNG.
    pub served: u64,
    /// Failed or answered otherwise.
    pub failed: u64,
    /// Median PNG size, bytes.
    pub png_bytes_median: u64,
    /// Request sent → whole PNG read (the kiosk renders per request), median ms.
    pub fetch_ms_p50: f64,
    /// The slowest, ms.
    pub fetch_ms_max: f64,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// Runs the benchmark.
pub async fn run(options: &Options) -> anyhow::Result<KioskReport> {
    ensure!(options.preview || options.headless, "nothing to run");
    ensure!(options.fetch_per_second.is_finite() && options.fetch_per_second >= 0.0, "--fetch-per-second must be 0 or more");
    ensure!(options.kiosk_bin.is_file(), "{} does not exist: build it with `cargo build --release -p oshirase-device`", options.kiosk_bin.display());
    let machine = Machine::this_one();
    let data = tempfile::Builder::new().prefix("oshirase-bench-kiosk-").tempdir().context("creating a temporary folder")?;
    let settings = [
        ("OSHIRASE_SERVER__LISTEN", "127.0.0.1:0".to_owned()),
        ("OSHIRASE_DATABASE__PATH", data.path().join("oshirase.sqlite").display().to_string()),
        ("OSHIRASE_LOG", "warn".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let server = ServerProcess::start(&options.server_bin, &settings, &data.path().join("server.log")).await?;
    let outcome = scenarios(options, &server, data.path()).await;
    let stopped = server.stop().await;
    let scenarios = outcome?;
    stopped?;
    let goal_met = scenarios.iter().all(|s| s.goal_met);
    Ok(KioskReport {
        machine,
        duration_s: options.duration.as_secs_f64(),
        fetch_per_second: options.fetch_per_second,
        sample_every_ms: u64::try_from(SAMPLE_EVERY.as_millis()).unwrap_or(u64::MAX),
        kiosk_bin: options.kiosk_bin.display().to_string(),
        scenarios,
        goal_bytes: GOAL_BYTES,
        goal_met,
    })
}

async fn scenarios(options: &Options, server: &ServerProcess, data: &Path) -> anyhow::Result<Vec<ScenarioFigures>> {
    let base_url = format!("http://{}", server.addr());
    let client = reqwest::Client::new();
    let venue = register_venue(&client, &base_url, "市立図書館 閲覧室").await?;
    let mut figures = Vec::new();
    for (name, preview) in [("preview", true), ("headless", false)] {
        if (preview && !options.preview) || (!preview && !options.headless) {
            continue;
        }
        let dir = data.join(format!("kiosk-{name}"));
        pair(options, &client, &base_url, &venue, &dir).await?;
        let heartbeats_before = heartbeats_answered(&client, &base_url).await?;
        let run = run_kiosk(options, name, preview, &dir).await.with_context(|| format!("the {name} kiosk"))?;
        let heartbeats = heartbeats_answered(&client, &base_url).await? - heartbeats_before;
        eprintln!("{name}: peak RSS {}", mib(run.hwm_kib));
        figures.push(run.figures(name, heartbeats));
    }
    Ok(figures)
}

/// A pairing code from the management API, redeemed by `oshirase-kiosk pair` into `dir`.
async fn pair(options: &Options, client: &reqwest::Client, base_url: &str, venue: &Venue, dir: &Path) -> anyhow::Result<()> {
    let code = pairing_code(client, base_url, venue).await?;
    let output = kiosk_command(&options.kiosk_bin)
        .args(["pair", "--server", base_url, "--code", &code, "--data-dir"])
        .arg(dir)
        .output()
        .await
        .with_context(|| format!("running {} pair", options.kiosk_bin.display()))?;
    ensure!(output.status.success(), "oshirase-kiosk pair failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr));
    Ok(())
}

/// The kiosk binary with a clean environment: its default log level and no systemd.
fn kiosk_command(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command.env("RUST_LOG", "info").env("NO_COLOR", "1").env_remove("NOTIFY_SOCKET").env_remove("WATCHDOG_USEC").stdin(Stdio::null());
    command
}

/// The sum of the server's `oshirase_http_requests_total` for answered heartbeats.
async fn heartbeats_answered(client: &reqwest::Client, base_url: &str) -> anyhow::Result<u64> {
    let text = client.get(format!("{base_url}/metrics")).send().await?.error_for_status()?.text().await?;
    Ok(parse_heartbeats(&text))
}

fn parse_heartbeats(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("oshirase_http_requests_total{") && l.contains(HEARTBEAT_ROUTE) && l.contains("status=\"200\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// What the kiosk's output said so far.
#[derive(Debug, Clone, Default)]
struct Seen {
    preview_url: Option<String>,
    first_code: Option<Instant>,
    last_screen: String,
}

/// One reading of `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    memory: Memory,
    threads: u64,
}

fn sample(pid: u32) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let memory = parse_memory(&status)?;
    let threads = status.lines().find_map(|l| l.strip_prefix("Threads:")?.trim().parse().ok()).unwrap_or(0);
    Some(Sample { at: Instant::now(), memory, threads })
}

/// One `/screen.png` fetch.
#[derive(Debug)]
struct Fetch {
    result: Result<u64, String>,
    took: Duration,
}

/// What one kiosk run measured, before it is summarised.
#[derive(Debug)]
struct KioskRun {
    started: Instant,
    first_code: Instant,
    samples: Vec<Sample>,
    hwm_kib: u64,
    threads_at_end: u64,
    fetches: Option<Vec<Fetch>>,
    last_screen: String,
}

/// Kills the kiosk however the run ends.
struct KioskChild(Child);

impl Drop for KioskChild {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn run_kiosk(options: &Options, name: &str, preview: bool, dir: &Path) -> anyhow::Result<KioskRun> {
    let log_path = dir.with_extension("log");
    let stderr_path = dir.with_extension("stderr");
    let mut command = kiosk_command(&options.kiosk_bin);
    command.args(["run", "--data-dir"]).arg(dir);
    if preview {
        command.args(["--preview-listen", "127.0.0.1:0"]);
    }
    let stderr = std::fs::File::create(&stderr_path).with_context(|| format!("creating {}", stderr_path.display()))?;
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} run", options.kiosk_bin.display()))?;
    let pid = child.id().context("the kiosk has no process id")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut child = KioskChild(child);
    let (seen_tx, mut seen) = watch::channel(Seen::default());
    let mut log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = writeln!(log, "{line}");
            let line = strip_ansi(&line);
            seen_tx.send_modify(|seen| {
                if let Some(url) = line.strip_prefix(PREVIEW_PREFIX) {
                    seen.preview_url = Some(url.trim().to_owned());
                }
                if let Some((_, screen)) = line.split_once("screen=") {
                    seen.last_screen = screen.trim().trim_matches('"').to_owned();
                    if seen.first_code.is_none() && screen.contains(CODE_SHOWN) {
                        seen.first_code = Some(Instant::now());
                    }
                }
            });
        }
    });
    // The files live in the run's temporary folder, which goes with the run: quote them.
    let explain = |what: &str| format!("{what}; its output ends:\n{}\nits errors end:\n{}", tail(&log_path, 20), tail(&stderr_path, 20));

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_until(pid, Arc::clone(&stop)));
    let fetcher = if preview {
        let url = tokio::select! {
            status = child.0.wait() => bail!(explain(&format!("the kiosk exited ({}) before announcing its preview", status?))),
            url = tokio::time::timeout(PREVIEW_TIMEOUT, seen.wait_for(|s| s.preview_url.is_some())) => {
                url.map_err(|_| anyhow::anyhow!(explain(&format!("the kiosk did not announce its preview within {PREVIEW_TIMEOUT:?}"))))??.preview_url.clone().unwrap_or_default()
            }
        };
        Some(tokio::spawn(fetch_until(format!("{url}/screen.png"), options.fetch_per_second, Arc::clone(&stop))))
    } else {
        None
    };
    let first_code = tokio::select! {
        status = child.0.wait() => bail!(explain(&format!("the kiosk exited ({}) before showing a code", status?))),
        shown = tokio::time::timeout(CODE_TIMEOUT, seen.wait_for(|s| s.first_code.is_some())) => {
            shown.map_err(|_| anyhow::anyhow!(explain(&format!("the kiosk showed no code within {CODE_TIMEOUT:?}"))))??.first_code.unwrap_or_else(Instant::now)
        }
    };
    eprintln!("{name}: first code after {:.2} s; running until {:.0} s", first_code.duration_since(started).as_secs_f64(), options.duration.as_secs_f64());
    // At least one sample after the first code, however short the run.
    let end = (started + options.duration).max(first_code + 2 * SAMPLE_EVERY);
    tokio::select! {
        status = child.0.wait() => bail!(explain(&format!("the kiosk exited ({}) while running", status?))),
        () = tokio::time::sleep_until(end.into()) => {}
    }
    stop.store(true, Ordering::Relaxed);
    let fetches = match fetcher {
        Some(task) => Some(task.await?),
        None => None,
    };
    let samples = sampler.await?;
    let last = sample(pid).with_context(|| explain("cannot read the kiosk's memory at the end"))?;
    if let Some(status) = child.0.try_wait()? {
        bail!(explain(&format!("the kiosk exited ({status}) at the end of the run")));
    }
    child.0.kill().await?;
    let _ = reader.await;
    let last_screen = seen.borrow().last_screen.clone();
    Ok(KioskRun { started, first_code, samples, hwm_kib: last.memory.hwm_kib, threads_at_end: last.threads, fetches, last_screen })
}

/// The last `lines` lines of a file.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Reads the kiosk's memory every [`SAMPLE_EVERY`] until `stop`.
async fn sample_until(pid: u32, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        if let Some(s) = sample(pid) {
            samples.push(s);
        }
    }
    samples
}

/// Fetches `url` `per_second` times a second until `stop`, each fetch on its own task so a
/// slow frame does not lower the rate; one keep-alive client, as a browser tab.
async fn fetch_until(url: String, per_second: f64, stop: Arc<AtomicBool>) -> Vec<Fetch> {
    let mut fetches = Vec::new();
    if per_second <= 0.0 {
        return fetches;
    }
    let client = reqwest::Client::new();
    let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = tokio::task::JoinSet::new();
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let sent = Instant::now();
            let result = fetch_png(&client, &url).await;
            Fetch { result, took: sent.elapsed() }
        });
        while let Some(done) = tasks.try_join_next() {
            fetches.extend(done.ok());
        }
    }
    while let Some(done) = tasks.join_next().await {
        fetches.extend(done.ok());
    }
    fetches
}

async fn fetch_png(client: &reqwest::Client, url: &str) -> Result<u64, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}"));
    }
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(format!("not a PNG ({} bytes)", bytes.len()));
    }
    Ok(u64::try_from(bytes.len()).unwrap_or(u64::MAX))
}

impl KioskRun {
    fn figures(&self, name: &str, heartbeats_answered: u64) -> ScenarioFigures {
        let rss = |samples: &[Sample]| samples.iter().map(|s| s.memory.rss_kib).collect::<Vec<_>>();
        let all = rss(&self.samples);
        let after_code: Vec<Sample> = self.samples.iter().copied().filter(|s| s.at >= self.first_code).collect();
        let third = after_code.len() / 3;
        let first_third = rss(&after_code[..third.max(1).min(after_code.len())]);
        let last_third = rss(&after_code[after_code.len() - third.max(1).min(after_code.len())..]);
        let frames = self.fetches.as_ref().map(|fetches| {
            let mut sizes: Vec<u64> = fetches.iter().filter_map(|f| f.result.as_ref().ok().copied()).collect();
            let mut took_ms: Vec<f64> = fetches.iter().filter(|f| f.result.is_ok()).map(|f| f.took.as_secs_f64() * 1000.0).collect();
            took_ms.sort_by(f64::total_cmp);
            let served = count(sizes.len());
            Frames {
                requested: count(fetches.len()),
                served,
                failed: count(fetches.len()) - served,
                png_bytes_median: median(&mut sizes),
                fetch_ms_p50: took_ms.get(took_ms.len().saturating_sub(1) / 2).copied().unwrap_or(0.0),
                fetch_ms_max: took_ms.last().copied().unwrap_or(0.0),
                first_error: fetches.iter().find_map(|f| f.result.as_ref().err().cloned()),
            }
        });
        let hwm_kib = self.hwm_kib.max(all.iter().copied().max().unwrap_or(0));
        ScenarioFigures {
            name: name.to_owned(),
            first_code_after_s: self.first_code.duration_since(self.started).as_secs_f64(),
            rss_after_start_up_kib: after_code.first().map_or(0, |s| s.memory.rss_kib),
            rss_median_kib: median(&mut all.clone()),
            rss_last_kib: all.last().copied().unwrap_or(0),
            rss_min_kib: all.iter().copied().min().unwrap_or(0),
            rss_max_kib: all.iter().copied().max().unwrap_or(0),
            peak_hwm_kib: hwm_kib,
            rss_first_third_median_kib: median(&mut first_third.clone()),
            rss_last_third_median_kib: median(&mut last_third.clone()),
            rss_by_tenth_kib: self.by_tenth(),
            samples: all.len(),
            threads_at_end: self.threads_at_end,
            frames,
            heartbeats_answered,
            last_screen: self.last_screen.clone(),
            goal_met: hwm_kib * 1024 < GOAL_BYTES,
        }
    }
}

impl KioskRun {
    fn by_tenth(&self) -> Vec<u64> {
        let (Some(first), Some(last)) = (self.samples.first(), self.samples.last()) else {
            return Vec::new();
        };
        let span = last.at.duration_since(first.at);
        (1..=10u32)
            .filter_map(|tenth| {
                let until = first.at + span * tenth / 10;
                self.samples.iter().rev().find(|s| s.at <= until).map(|s| s.memory.rss_kib)
            })
            .collect()
    }
}

/// The lower median (a measured value), 0 for none.
fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Removes terminal colour sequences (`ESC [ … letter`), in case the log is coloured.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl KioskReport {
    /// The plain-text report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "oshirase kiosk memory benchmark");
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), load average {} at start; the server, the kiosk and this benchmark share them",
            self.machine.cpus, self.machine.cpu_model, self.machine.load_average_at_start
        );
        let _ = writeln!(
            out,
            "run: each kiosk paired with a fresh server and run {:.0} s from its start; VmRSS read from /proc/<pid>/status every {} ms",
            self.duration_s, self.sample_every_ms
        );
        for s in &self.scenarios {
            let _ = writeln!(out);
            match s.name.as_str() {
                "preview" => {
                    let _ = writeln!(out, "kiosk with the screen preview (800×480 /screen.png fetched {} per second; the preview page fetches 1)", self.fetch_per_second);
                }
                _ => {
                    let _ = writeln!(out, "kiosk without preview (no preview, no framebuffer: the state machine and its heartbeats)");
                }
            }
            let _ = writeln!(out, "  first code shown   {:.2} s after start; RSS then {}", s.first_code_after_s, mib(s.rss_after_start_up_kib));
            let _ = writeln!(
                out,
                "  RSS                median {}, last {}, min {}, max {} ({} samples)",
                mib(s.rss_median_kib),
                mib(s.rss_last_kib),
                mib(s.rss_min_kib),
                mib(s.rss_max_kib),
                s.samples
            );
            let _ = writeln!(
                out,
                "  RSS over the run   median of the first third after start-up {} → of the last third {} ({})",
                mib(s.rss_first_third_median_kib),
                mib(s.rss_last_third_median_kib),
                signed_mib(s.rss_last_third_median_kib, s.rss_first_third_median_kib)
            );
            let tenths: Vec<String> = s.rss_by_tenth_kib.iter().map(|&k| mib_number(k)).collect();
            let _ = writeln!(out, "  RSS by tenth       {} MiB (the last sample of each tenth of the run)", tenths.join(" "));
            let _ = writeln!(out, "  peak RSS (VmHWM)   {}", mib(s.peak_hwm_kib));
            if let Some(f) = &s.frames {
                let _ = writeln!(
                    out,
                    "  frames served      {} of {} requested, {} failed; PNG {:.1} KiB (median); fetch p50 {:.2} ms, max {:.2} ms",
                    f.served,
                    f.requested,
                    f.failed,
                    kib(f.png_bytes_median),
                    f.fetch_ms_p50,
                    f.fetch_ms_max
                );
                if let Some(e) = &f.first_error {
                    let _ = writeln!(out, "  first failure      {e}");
                }
            }
            let _ = writeln!(out, "  heartbeats         {} answered 200 by the server; {} threads at the end", s.heartbeats_answered, s.threads_at_end);
            let _ = writeln!(out, "  last screen        {}", s.last_screen);
            let _ = writeln!(out, "  goal < 50 MB       {}", if s.goal_met { "met" } else { "not met" });
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "goal kiosk RSS < 50 MB (peak VmHWM of every kiosk): {}", if self.goal_met { "met" } else { "not met" });
        out
    }
}

fn kib(bytes: u64) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
    let kib = bytes as f64 / 1024.0;
    kib
}

fn mib(kib: u64) -> String {
    format!("{} MiB", mib_number(kib))
}

fn mib_number(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "memory sizes far below 2^52")]
    let mib = kib as f64 / 1024.0;
    format!("{mib:.1}")
}

fn signed_mib(now: u64, before: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "memory sizes far below 2^52")]
    let delta = (now as f64 - before as f64) / 1024.0;
    format!("{delta:+.1} MiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_are_counted_from_the_servers_metrics() {
        let metrics = concat!(
            "oshirase_http_requests_total{method=\"POST\",route=\"/api/v1/kiosk/heartbeat\",status=\"200\"} 3\n",
            "oshirase_http_requests_total{method=\"POST\",route=\"/api/v1/kiosk/heartbeat\",status=\"401\"} 2\n",
            "oshirase_http_requests_total{method=\"POST\",route=\"/api/v1/kiosks/pair\",status=\"200\"} 1\n",
            "oshirase_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/kiosk/heartbeat\"} 5\n",
        );
        assert_eq!(parse_heartbeats(metrics), 3);
    }

    #[test]
    fn colour_sequences_are_removed_from_log_lines() {
        assert_eq!(strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[3mscreen\u{1b}[0m\u{1b}[2m=\u{1b}[0mcode for X"), "2026  INFO screen=code for X");
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn the_median_is_a_measured_value() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(median(&mut []), 0);
    }
}
