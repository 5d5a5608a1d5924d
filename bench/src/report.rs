//! The report of a run: plain text for people (and the README), JSON for scripts. Every
//! figure names what it counts, and the machine line says that the generator, the sandbox
//! and the server shared the same cores.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::{CoreUse, LatencySummary, Memory};

/// The goal: visits per second on this machine.
pub const GOAL_VISITS_PER_S: f64 = 20_000.0;
/// The goal: the server's rate as a fraction of the bare handler's.
pub const GOAL_RATIO: f64 = 1.0 / 3.0;

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// How it ran.
    pub settings: Settings,
    /// The bare axum handler.
    pub bare: LoadFigures,
    /// The real server.
    pub server: ServerFigures,
    /// Server throughput / bare throughput.
    pub ratio: f64,
    /// True when both goals were reached.
    pub goal_met: bool,
    /// The last confirmation one resident received (a sanity check).
    pub sample_reply: String,
}

/// The machine.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `/proc/loadavg`'s 1-, 5- and 15-minute load averages when the run started: other
    /// work on the machine shows here and in the CPU figures as `other`.
    pub load_average_at_start: String,
}

/// The run's settings.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Consenting residents.
    pub residents: usize,
    /// Warm-up before measuring, s.
    pub warmup_s: f64,
    /// Measured window, s.
    pub duration_s: f64,
    /// Generator runtime workers.
    pub generator_threads: usize,
    /// Sandbox and bare-handler runtime workers.
    pub sandbox_threads: usize,
    /// The server binary.
    pub server_bin: String,
}

/// What one load saw in its measured window.
#[derive(Debug, Clone, Serialize)]
pub struct LoadFigures {
    /// 200 answers per second.
    pub throughput_per_s: f64,
    /// Latency of those 200s (request sent → whole answer read).
    pub latency: Option<LatencySummary>,
    /// 200 answers in the window.
    pub measured_ok: u64,
    /// Other answers in the window.
    pub measured_not_ok: u64,
    /// Other answers over the whole run.
    pub total_not_ok: u64,
    /// Requests without an answer over the whole run.
    pub transport_errors: u64,
    /// The first error seen, if any.
    pub first_error: Option<String>,
    /// Cores used in the window by thread name — busy, and ready to run but waiting for a
    /// core: `server/…` the server process, `bench/…` this one (`generator`, `sandbox`,
    /// `bare`), `other` the rest of the machine (busy only).
    pub cpu: BTreeMap<String, CoreUse>,
}

/// The server's load, with what only the server has.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFigures {
    /// Throughput and latency.
    pub load: LoadFigures,
    /// 200 answers over the whole run (warm-up and the last in-flight requests too).
    pub accepted: u64,
    /// Rows in `visits` afterwards; must equal `accepted`.
    pub visits_stored: u64,
    /// Confirmation replies.
    pub replies: Replies,
    /// The server's memory after set-up, before the load.
    pub memory_idle: Memory,
    /// The server's memory once every reply was sent.
    pub memory_after: Memory,
    /// The largest `VmRSS` sampled during the load (every 100 ms), KiB.
    pub peak_rss_kib: u64,
}

/// Confirmation replies, as the sandbox counted them.
#[derive(Debug, Clone, Serialize)]
pub struct Replies {
    /// One per accepted check-in.
    pub expected: u64,
    /// Accepted by the sandbox's reply endpoint.
    pub delivered: u64,
    /// Messaging API calls the sandbox refused (bad token, bad body …).
    pub refused_by_api: u64,
    /// Replies accepted per second during the measured window.
    pub in_window_per_s: f64,
    /// Accepted check-ins not yet replied to when the load stopped.
    pub backlog_at_load_end: u64,
    /// From the last answered request to the last reply, ms.
    pub drained_after_load_ms: f64,
    /// From the first request to the last reply, s.
    pub end_to_end_s: f64,
    /// `delivered / end_to_end_s`.
    pub per_s: f64,
}

impl Report {
    /// Puts the parts together and judges the goals.
    pub fn new(machine: Machine, settings: Settings, bare: LoadFigures, server: ServerFigures, ratio: f64, sample_reply: String) -> Report {
        let goal_met = server.load.throughput_per_s >= GOAL_VISITS_PER_S && ratio >= GOAL_RATIO;
        Report { machine, settings, bare, server, ratio, goal_met, sample_reply }
    }

    /// True when every accepted check-in is a stored visit with a delivered reply and
    /// nothing failed.
    pub fn is_consistent(&self) -> bool {
        let s = &self.server;
        s.visits_stored == s.accepted
            && s.replies.delivered == s.replies.expected
            && s.replies.refused_by_api == 0
            && s.load.total_not_ok == 0
            && s.load.transport_errors == 0
    }

    /// The plain-text report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let s = &self.server;
        let r = &s.replies;
        let _ = writeln!(out, "oshirase webhook benchmark");
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), load average {} at start; the load generator, the LINE sandbox and the server share them",
            self.machine.cpus, self.machine.cpu_model, self.machine.load_average_at_start
        );
        let _ = writeln!(
            out,
            "load: {} keep-alive HTTP/1.1 connections, {:.0} s warm-up + {:.0} s measured, {} consenting residents",
            self.settings.connections, self.settings.warmup_s, self.settings.duration_s, self.settings.residents
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "signed webhook → durable visit (SQLite synchronous=FULL) → 200");
        write_load(&mut out, &s.load);
        let _ = writeln!(out, "  visits stored      {} for {} accepted webhooks (whole run) {}", s.visits_stored, s.accepted, check(s.visits_stored == s.accepted));
        let _ = writeln!(
            out,
            "  server memory      idle RSS {} → peak RSS {} (sampled), after {} (VmHWM {})",
            mib(s.memory_idle.rss_kib),
            mib(s.peak_rss_kib),
            mib(s.memory_after.rss_kib),
            mib(s.memory_after.hwm_kib)
        );
        let _ = writeln!(out, "confirmation replies delivered to the sandbox");
        let _ = writeln!(out, "  delivered          {} of {} {}; {} refused by the API", r.delivered, r.expected, check(r.delivered == r.expected), r.refused_by_api);
        let _ = writeln!(out, "  during the window  {:.0} replies/s", r.in_window_per_s);
        let _ = writeln!(
            out,
            "  end to end         {:.2} s from first request to last reply = {:.0} replies/s; backlog at load end {}, drained {:.0} ms later",
            r.end_to_end_s, r.per_s, r.backlog_at_load_end, r.drained_after_load_ms
        );
        let _ = writeln!(out, "  sample reply       {}", self.sample_reply.lines().next().unwrap_or_default());
        let _ = writeln!(out);
        let _ = writeln!(out, "bare axum handler (same generator, same bodies)");
        write_load(&mut out, &self.bare);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "ratio server / bare: {:.2} (goal ≥ {:.2}); goal {:.0} visits/s: {}",
            self.ratio,
            GOAL_RATIO,
            GOAL_VISITS_PER_S,
            if self.goal_met { "met" } else { "not met" }
        );
        let _ = writeln!(out, "consistency (visits = 200s, every reply delivered, no errors): {}", check(self.is_consistent()));
        out
    }
}

fn write_load(out: &mut String, load: &LoadFigures) {
    let _ = writeln!(out, "  throughput         {:.0} requests/s ({} answered 200 in the window)", load.throughput_per_s, load.measured_ok);
    if let Some(l) = &load.latency {
        let _ = writeln!(
            out,
            "  latency            p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms
        );
    }
    if !load.cpu.is_empty() {
        let busy: f64 = load.cpu.values().map(|u| u.busy).sum();
        let parts: Vec<String> = load.cpu.iter().filter(|(_, u)| u.busy >= 0.005).map(|(name, u)| format!("{name} {:.2}", u.busy)).collect();
        let _ = writeln!(out, "  cores busy         {busy:.2} in all: {}", parts.join(", "));
        let waiting: f64 = load.cpu.values().map(|u| u.waiting).sum();
        let parts: Vec<String> = load.cpu.iter().filter(|(_, u)| u.waiting >= 0.005).map(|(name, u)| format!("{name} {:.2}", u.waiting)).collect();
        let _ = writeln!(out, "  waiting for a core {waiting:.2} threads on average: {}", parts.join(", "));
    }
    if load.total_not_ok > 0 || load.transport_errors > 0 {
        let _ = writeln!(
            out,
            "  failures           {} non-200 answers, {} without an answer; first: {}",
            load.total_not_ok,
            load.transport_errors,
            load.first_error.as_deref().unwrap_or("-")
        );
    }
}

fn check(ok: bool) -> &'static str {
    if ok { "(ok)" } else { "(MISMATCH)" }
}

fn mib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "memory sizes far below 2^52")]
    let mib = kib as f64 / 1024.0;
    format!("{mib:.1} MiB")
}

impl Machine {
    /// This machine.
    pub fn this_one() -> Machine {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_owned()))
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load_average_at_start = loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
        Machine { cpus, cpu_model, load_average_at_start }
    }
}
