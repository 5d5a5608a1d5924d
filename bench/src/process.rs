//! The real `oshirase-server` binary as a child process: started with `OSHIRASE_*` settings
//! on `127.0.0.1:0`, found by the address line it prints, its logs kept in a file, its memory
//! sampled from `/proc`, and killed when dropped so a failed run leaves nothing behind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::stats::Memory;

/// What the server prints once it listens, followed by its URL.
const LISTENING_PREFIX: &str = "oshirase-server listening on http://";
/// How long the server may take to print it.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `binary` with `settings` (names and values of `OSHIRASE_*` variables; every
    /// other inherited `OSHIRASE_*` variable is removed), its standard error going to `log`.
    pub async fn start(binary: &Path, settings: &[(String, String)], log: &Path) -> anyhow::Result<ServerProcess> {
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("OSHIRASE_")) {
            command.env_remove(name);
        }
        let log_file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = command
            .envs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} (build it with `cargo build --release -p oshirase-server`)", binary.display()))?;
        let pid = child.id().context("the server has no process id")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(STARTUP_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(addr) = line.strip_prefix(LISTENING_PREFIX) {
                    return addr.trim().parse::<SocketAddr>().map_err(std::io::Error::other);
                }
            }
            Err(std::io::Error::other("the server exited before listening"))
        })
        .await
        .context("the server did not listen in time")?
        .with_context(|| format!("waiting for the server's address (its log: {})", log.display()))?;
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServerProcess { child, pid, addr, log: log.to_owned() })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its memory now.
    pub fn memory(&self) -> std::io::Result<Memory> {
        Memory::of_process(self.pid)
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops it (SIGKILL: what was committed is on disk either way) and fails if it had
    /// already died.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server had exited on its own ({status}); its log ends:\n{}", self.log_tail(20));
        }
        self.child.kill().await?;
        Ok(())
    }
}

/// Samples a process's `VmRSS` every `every` until stopped; keeps the largest.
#[derive(Debug)]
pub struct RssSampler {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, stopped) = (Arc::clone(&peak_kib), Arc::clone(&stop));
        let task = tokio::spawn(async move {
            while !stopped.load(Ordering::Relaxed) {
                if let Ok(memory) = Memory::of_process(pid) {
                    peak.fetch_max(memory.rss_kib, Ordering::Relaxed);
                }
                tokio::time::sleep(every).await;
            }
        });
        RssSampler { peak_kib, stop, task }
    }

    /// Stops and answers the largest `VmRSS` seen, in KiB.
    pub async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peak_kib.load(Ordering::Relaxed)
    }
}
