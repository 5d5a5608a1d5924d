//! The numbers a run reports, computed exactly: latencies are kept (one `u32` of
//! microseconds per request, a few megabytes for a run) and sorted once, so percentiles are
//! nearest-rank values of what was measured, not estimates from buckets. Also reads a
//! process's memory from `/proc/<pid>/status`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Every measured latency, sorted.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted_us: Vec<u32>,
}

/// The summary a report prints, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Requests measured.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Arithmetic mean.
    pub mean_ms: f64,
}

impl Latencies {
    /// Sorts the given latencies (microseconds).
    pub fn from_micros(mut micros: Vec<u32>) -> Latencies {
        micros.sort_unstable();
        Latencies { sorted_us: micros }
    }

    /// How many were measured.
    pub fn len(&self) -> usize {
        self.sorted_us.len()
    }

    /// True when nothing was measured.
    pub fn is_empty(&self) -> bool {
        self.sorted_us.is_empty()
    }

    /// The nearest-rank `p`-th percentile (`0 < p <= 100`): the smallest measured value
    /// with at least `p` % of all values at or below it. `None` when nothing was measured.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.sorted_us.len();
        if n == 0 {
            return None;
        }
        let clamped = p.clamp(0.0, 100.0);
        // Exact for the sizes a run produces (far below 2^52).
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "rank of at most a few million")]
        let rank = ((clamped / 100.0) * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        Some(Duration::from_micros(u64::from(self.sorted_us[index])))
    }

    /// The summary, or `None` when nothing was measured.
    pub fn summary(&self) -> Option<LatencySummary> {
        let max = *self.sorted_us.last()?;
        let total: u64 = self.sorted_us.iter().map(|&us| u64::from(us)).sum();
        let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        #[allow(clippy::cast_precision_loss, reason = "sums and counts far below 2^52")]
        let mean_ms = total as f64 / self.sorted_us.len() as f64 / 1000.0;
        Some(LatencySummary {
            count: self.sorted_us.len(),
            p50_ms: ms(self.percentile(50.0)),
            p90_ms: ms(self.percentile(90.0)),
            p99_ms: ms(self.percentile(99.0)),
            p999_ms: ms(self.percentile(99.9)),
            max_ms: f64::from(max) / 1000.0,
            mean_ms,
        })
    }
}

/// A process's resident memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// `VmRSS`: resident now, KiB.
    pub rss_kib: u64,
    /// `VmHWM`: the most ever resident, KiB.
    pub hwm_kib: u64,
}

impl Memory {
    /// Reads the memory of process `pid` (Linux only).
    pub fn of_process(pid: u32) -> std::io::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        parse_memory(&status).ok_or_else(|| std::io::Error::other(format!("no VmRSS/VmHWM in /proc/{pid}/status")))
    }
}

/// `VmRSS` and `VmHWM` from the text of `/proc/<pid>/status`.
pub fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
    };
    Some(Memory { rss_kib: field("VmRSS")?, hwm_kib: field("VmHWM")? })
}

/// Scheduler times of a process's threads so far, summed by thread name (threads of one pool
/// share a name: `tokio-runtime-w`, `sqlite-writer`, `generator` …), in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuByThread(pub BTreeMap<String, ThreadTimes>);

/// How long threads ran and how long they were ready to run but waited for a CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThreadTimes {
    /// On a CPU, s.
    pub on_cpu_s: f64,
    /// Runnable but waiting for a CPU (on a run queue), s: the cost of sharing the cores.
    pub waiting_s: f64,
}

/// Cores used over an interval by one group of threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CoreUse {
    /// Busy (1.0 = one core all the time).
    pub busy: f64,
    /// Ready to run but waiting for a core (1.0 = one thread waiting all the time).
    pub waiting: f64,
}

impl CpuByThread {
    /// Reads `/proc/<pid>/task/*/{comm,schedstat}` (Linux only).
    pub fn of_process(pid: u32) -> std::io::Result<CpuByThread> {
        let mut by_name: BTreeMap<String, ThreadTimes> = BTreeMap::new();
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
            let path = task?.path();
            // A thread may end between listing and reading; it is simply left out.
            let (Ok(comm), Ok(schedstat)) = (std::fs::read_to_string(path.join("comm")), std::fs::read_to_string(path.join("schedstat"))) else {
                continue;
            };
            if let Some(times) = parse_schedstat(&schedstat) {
                let entry = by_name.entry(comm.trim().to_owned()).or_default();
                entry.on_cpu_s += times.on_cpu_s;
                entry.waiting_s += times.waiting_s;
            }
        }
        Ok(CpuByThread(by_name))
    }

    /// What each name used between `earlier` and `self`, in cores over `elapsed`. Names
    /// that neither ran nor waited for at least 0.005 of a core are left out.
    pub fn cores_since(&self, earlier: &CpuByThread, elapsed: Duration) -> BTreeMap<String, CoreUse> {
        let seconds = elapsed.as_secs_f64();
        if seconds <= 0.0 {
            return BTreeMap::new();
        }
        self.0
            .iter()
            .map(|(name, now)| {
                let before = earlier.0.get(name).copied().unwrap_or_default();
                let used = CoreUse { busy: (now.on_cpu_s - before.on_cpu_s) / seconds, waiting: (now.waiting_s - before.waiting_s) / seconds };
                (name.clone(), used)
            })
            .filter(|(_, used)| used.busy >= 0.005 || used.waiting >= 0.005)
            .collect()
    }
}

/// A thread's `/proc/…/schedstat`: nanoseconds on a CPU, nanoseconds waiting on a run queue,
/// time slices.
pub fn parse_schedstat(text: &str) -> Option<ThreadTimes> {
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let on_cpu_ns = fields.next()?.ok()?;
    let waiting_ns = fields.next()?.ok()?;
    #[allow(clippy::cast_precision_loss, reason = "nanosecond counts of a run, far below 2^52")]
    let times = ThreadTimes { on_cpu_s: on_cpu_ns as f64 / 1e9, waiting_s: waiting_ns as f64 / 1e9 };
    Some(times)
}

/// Busy CPU time of the whole machine so far (every process, the kernel's interrupt work and
/// time stolen by the hypervisor), from the first line of `/proc/stat`, in seconds.
pub fn machine_busy_seconds() -> std::io::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    parse_machine_busy(&stat).ok_or_else(|| std::io::Error::other("no cpu line in /proc/stat"))
}

/// The busy seconds of `/proc/stat`'s `cpu` line: user, nice, system, irq, softirq and
/// steal (not idle, not iowait; guest time is already inside user).
pub fn parse_machine_busy(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line.split_whitespace().skip(1).map(str::parse).collect::<Result<_, _>>().ok()?;
    let busy = [0, 1, 2, 5, 6, 7].iter().map(|&i| ticks.get(i).copied().unwrap_or(0)).sum::<u64>();
    #[allow(clippy::cast_precision_loss, reason = "tick counts far below 2^52")]
    let seconds = busy as f64 / USER_HZ;
    Some(seconds)
}

/// Clock ticks per second of `/proc/stat` times (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// `count` events over `elapsed`, per second.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let count = count as f64;
    if seconds > 0.0 { count / seconds } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_values_of_what_was_measured() {
        let latencies = Latencies::from_micros((1..=100).rev().collect());
        assert_eq!(latencies.percentile(50.0), Some(Duration::from_micros(50)));
        assert_eq!(latencies.percentile(99.0), Some(Duration::from_micros(99)));
        assert_eq!(latencies.percentile(99.9), Some(Duration::from_micros(100)));
        assert_eq!(latencies.percentile(100.0), Some(Duration::from_micros(100)));
        assert_eq!(latencies.percentile(0.0), Some(Duration::from_micros(1)));
        let one = Latencies::from_micros(vec![7]);
        assert_eq!(one.percentile(50.0), Some(Duration::from_micros(7)));
        assert_eq!(one.percentile(99.0), Some(Duration::from_micros(7)));
    }

    #[test]
    fn an_empty_run_has_no_percentiles_and_no_summary() {
        let none = Latencies::default();
        assert_eq!(none.percentile(50.0), None);
        assert!(none.summary().is_none());
        assert!(none.is_empty());
    }

    #[test]
    fn the_summary_reports_milliseconds() {
        let summary = Latencies::from_micros(vec![1000, 2000, 3000, 4000]).summary().expect("measured");
        assert_eq!(summary.count, 4);
        assert!((summary.p50_ms - 2.0).abs() < 1e-9);
        assert!((summary.max_ms - 4.0).abs() < 1e-9);
        assert!((summary.mean_ms - 2.5).abs() < 1e-9);
    }

    #[test]
    fn memory_is_read_from_proc_status() {
        let status = "Name:\toshirase-server\nVmPeak:\t  900000 kB\nVmHWM:\t   65432 kB\nVmRSS:\t   54321 kB\nThreads:\t5\n";
        assert_eq!(parse_memory(status), Some(Memory { rss_kib: 54_321, hwm_kib: 65_432 }));
        assert_eq!(parse_memory("Name:\tx\n"), None);
        let own = Memory::of_process(std::process::id()).expect("this process's status");
        assert!(own.rss_kib > 0 && own.hwm_kib >= own.rss_kib);
    }

    #[test]
    fn thread_times_are_read_from_proc_schedstat() {
        assert_eq!(parse_schedstat("169817188 9520778 391\n"), Some(ThreadTimes { on_cpu_s: 0.169_817_188, waiting_s: 0.009_520_778 }));
        assert_eq!(parse_schedstat("garbage"), None);
        let own = CpuByThread::of_process(std::process::id()).expect("this process's threads");
        assert!(own.0.values().any(|t| t.on_cpu_s > 0.0));
    }

    #[test]
    fn thread_use_is_reported_in_cores_over_the_interval() {
        let times = |on_cpu_s, waiting_s| ThreadTimes { on_cpu_s, waiting_s };
        let before = CpuByThread([("w".to_owned(), times(1.0, 0.5)), ("idle".to_owned(), times(3.0, 0.0))].into_iter().collect());
        let after = CpuByThread([("w".to_owned(), times(3.0, 1.5)), ("idle".to_owned(), times(3.0, 0.0)), ("new".to_owned(), times(0.5, 0.0))].into_iter().collect());
        let cores = after.cores_since(&before, Duration::from_secs(4));
        let expected = [("new".to_owned(), CoreUse { busy: 0.125, waiting: 0.0 }), ("w".to_owned(), CoreUse { busy: 0.5, waiting: 0.25 })];
        assert_eq!(cores, expected.into_iter().collect());
    }

    #[test]
    fn the_machines_busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 20 30 5000 400 6 7 8 0 0\ncpu0 50 10 15 2500 200 3 3 4 0 0\n";
        assert_eq!(parse_machine_busy(stat), Some(1.71));
        assert_eq!(parse_machine_busy("intr 1 2 3\n"), None);
        assert!(machine_busy_seconds().expect("/proc/stat") > 0.0);
    }

    #[test]
    fn rates_are_per_second() {
        assert!((rate(500, Duration::from_millis(250)) - 2000.0).abs() < 1e-9);
        assert!(rate(5, Duration::ZERO).abs() < f64::EPSILON);
    }
}
