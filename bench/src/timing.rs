//! Small helpers the matching and sending benchmarks share: a spread of measured durations
//! (min, median, p95, max — nearest-rank, so every figure is a measured value), file sizes,
//! and evicting a file from the page cache so a "cold" run really reads the disk.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

/// How a set of measured durations spreads, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// How many were measured.
    pub count: usize,
    /// The fastest.
    pub min_ms: f64,
    /// The lower median (a measured value).
    pub median_ms: f64,
    /// The nearest-rank 95th percentile.
    pub p95_ms: f64,
    /// The slowest.
    pub max_ms: f64,
    /// The arithmetic mean.
    pub mean_ms: f64,
    /// The sum.
    pub total_ms: f64,
}

impl Spread {
    /// The spread of `durations` (all zero when there are none).
    pub fn of(durations: &[Duration]) -> Spread {
        let mut ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        if n == 0 {
            return Spread::default();
        }
        let rank = |p: f64| {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "ranks of a few thousand values")]
            let rank = ((p / 100.0) * n as f64).ceil() as usize;
            ms[rank.clamp(1, n) - 1]
        };
        let total: f64 = ms.iter().sum();
        #[allow(clippy::cast_precision_loss, reason = "counts of a few thousand")]
        let mean_ms = total / n as f64;
        Spread { count: n, min_ms: ms[0], median_ms: ms[(n - 1) / 2], p95_ms: rank(95.0), max_ms: ms[n - 1], mean_ms, total_ms: total }
    }

    /// `min / median / p95 / max` with `decimals` decimals, for reports.
    pub fn text(&self, decimals: usize) -> String {
        format!(
            "min {:.d$} / median {:.d$} / p95 {:.d$} / max {:.d$} ms",
            self.min_ms,
            self.median_ms,
            self.p95_ms,
            self.max_ms,
            d = decimals
        )
    }
}

/// The size of a file, 0 if it does not exist.
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// An SQLite database's size on disk: the file and its `-wal`.
pub fn database_size(path: &Path) -> u64 {
    file_size(path) + file_size(&sidecar(path, "-wal"))
}

/// `path` with `suffix` appended to its file name (`x.sqlite` → `x.sqlite-wal`).
pub fn sidecar(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Flushes `path` and asks the kernel to drop its pages from the page cache
/// (`posix_fadvise(DONTNEED)`): the next reads come from the disk, as after a reboot. Only
/// this file is affected, not the rest of the machine.
pub fn evict_from_page_cache(path: &Path) -> std::io::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    file.sync_all()?;
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)?;
    Ok(())
}

/// Bytes as MiB or GiB, for reports.
pub fn human_bytes(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "file sizes far below 2^52")]
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 { format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0)) } else { format!("{:.1} MiB", b / (1024.0 * 1024.0)) }
}

/// A number with thousands separators (`10,000,000`).
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_is_made_of_measured_values() {
        let d: Vec<Duration> = [5, 1, 3, 2, 4].iter().map(|&ms| Duration::from_millis(ms)).collect();
        let s = Spread::of(&d);
        assert_eq!((s.count, s.min_ms, s.median_ms, s.p95_ms, s.max_ms), (5, 1.0, 3.0, 5.0, 5.0));
        assert!((s.mean_ms - 3.0).abs() < 1e-9);
        assert_eq!(Spread::of(&[]).count, 0);
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(10_000_000), "10,000,000");
    }
}
