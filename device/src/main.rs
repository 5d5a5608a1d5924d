//! `oshirase-kiosk`: the kiosk binary. Argument parsing and the run loop's I/O (clocks,
//! timers, HTTP); what to do and what to show is decided by `oshirase_device::protocol`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use oshirase_device::pairing::{ApiError, ServerClient, pair};
use oshirase_device::protocol::HeartbeatReply;
use oshirase_device::protocol::{Action, DisplayState, Event, Kiosk, Timing};
use oshirase_device::screen::{DEFAULT_FONT_PATH, Fonts};
use oshirase_device::{preview, storage};
use tokio::task::JoinHandle;

/// The oshirase kiosk for Raspberry Pi: shows rotating QR codes for residents to scan.
#[derive(Debug, Parser)]
#[command(name = "oshirase-kiosk", version = oshirase_device::VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pair this kiosk with a place, using the one-time code from the venue's management page.
    Pair {
        /// The server's URL, e.g. https://oshirase.example.jp
        #[arg(long, value_name = "URL")]
        server: String,
        /// The pairing code, e.g. ABCDE-12345 (case and hyphens do not matter).
        #[arg(long, value_name = "CODE")]
        code: String,
        /// Where the kiosk keeps its identity (owner-only permissions).
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Show the rotating codes and send heartbeats until stopped.
    Run {
        /// Where the kiosk keeps its identity.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Serve a PNG preview of the screen on this address (e.g. 127.0.0.1:8090).
        #[arg(long, value_name = "ADDR")]
        preview_listen: Option<SocketAddr>,
        /// Draw the screen on this Linux framebuffer device (e.g. /dev/fb0); needs a build
        /// with the `framebuffer` feature.
        #[arg(long, value_name = "DEVICE")]
        framebuffer: Option<PathBuf>,
        #[command(flatten)]
        timing: TimingArgs,
        /// A file whose presence means the system clock is synchronised (systemd-timesyncd
        /// creates this one; with chrony, point it at a file a hook creates).
        #[arg(long, value_name = "PATH", default_value = CLOCK_SYNCED_FLAG)]
        clock_synced_flag: PathBuf,
    },
}

/// How often the kiosk talks to the server.
#[derive(Debug, clap::Args)]
struct TimingArgs {
    /// Seconds between heartbeats.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    heartbeat_every: u64,
    /// Seconds before the first retry of a failed heartbeat; each further failure doubles it.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    retry_after: u64,
    /// The longest wait between retries, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    retry_max: u64,
}

impl TimingArgs {
    fn timing(&self) -> Timing {
        Timing {
            heartbeat_every_ms: self.heartbeat_every * 1000,
            backoff_first_ms: self.retry_after * 1000,
            backoff_max_ms: self.retry_max.max(self.retry_after) * 1000,
        }
    }
}

const DEFAULT_DATA_DIR: &str = "/var/lib/oshirase-kiosk";

/// systemd-timesyncd creates this file once the system clock is synchronised.
const CLOCK_SYNCED_FLAG: &str = "/run/systemd/timesync/synchronized";

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Pair {
            server,
            code,
            data_dir,
        } => pair_command(&server, &code, &data_dir).await,
        Command::Run {
            data_dir,
            preview_listen,
            framebuffer,
            timing,
            clock_synced_flag,
        } => {
            let clock = ClockSource { synced_flag: clock_synced_flag, start: Instant::now() };
            run(&data_dir, preview_listen, framebuffer, timing.timing(), &clock).await
        }
    }
}

async fn pair_command(server: &str, code: &str, data_dir: &Path) -> anyhow::Result<()> {
    let identity = pair(server, code).await.context("pairing failed")?;
    storage::save(data_dir, &identity).context("keeping the kiosk's identity")?;
    println!(
        "Paired as kiosk {} for {}. Start it with `oshirase-kiosk run`.",
        identity.kiosk_id.as_str(),
        identity.venue_name
    );
    Ok(())
}

/// Where the run loop reads its clocks.
struct ClockSource {
    /// Exists once the system clock is synchronised.
    synced_flag: PathBuf,
    /// The monotonic clock's zero.
    start: Instant,
}

impl ClockSource {
    fn tick(&self) -> Event {
        let system_time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Event::Tick {
            now_monotonic_ms: monotonic_ms(self.start),
            system_time_ms,
            system_clock_synced: self.synced_flag.exists(),
        }
    }
}

async fn run(data_dir: &Path, preview_listen: Option<SocketAddr>, framebuffer: Option<PathBuf>, timing: Timing, clock: &ClockSource) -> anyhow::Result<()> {
    let shared: preview::Shared = std::sync::Arc::new(std::sync::Mutex::new(DisplayState::Unpaired));
    if let Some(device) = framebuffer {
        screen_loop::start(&device, std::sync::Arc::clone(&shared))?;
    }
    if let Some(addr) = preview_listen {
        let fonts = std::sync::Arc::new(Fonts::load(DEFAULT_FONT_PATH).context("loading the screen font")?);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the preview on {addr}"))?;
        // Scripts and tests read this line to find the preview.
        println!("oshirase-kiosk preview on http://{}", listener.local_addr()?);
        let app = preview::router(std::sync::Arc::clone(&shared), fonts);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the preview stopped");
            }
        });
    }
    let start = clock.start;
    let identity = wait_for_identity(data_dir, clock, &shared).await?;
    let client = ServerClient::new(&identity.server_url)?;
    let mut kiosk = Kiosk::paired(identity, timing, seed());
    let mut shown = String::new();
    // The heartbeat runs beside the loop, so the screen keeps ticking while it waits.
    let mut in_flight: Option<JoinHandle<HeartbeatOutcome>> = None;
    loop {
        kiosk.handle(clock.tick());
        show(kiosk.current_display(), &shared, &mut shown);
        if in_flight.is_none() && kiosk.next_action() == Action::SendHeartbeat {
            in_flight = Some(send_heartbeat(&client, &mut kiosk, start));
        }
        let wait_ms = match kiosk.next_action() {
            Action::Wait { ms } => ms.min(1000),
            // Scan sync is wired with the camera (issue 7); nothing commits scans yet.
            Action::SendHeartbeat | Action::SendScans { .. } => 1000,
        };
        tokio::select! {
            outcome = finished(&mut in_flight) => {
                in_flight = None;
                heartbeat_done(outcome.context("the heartbeat task")?, &mut kiosk, data_dir);
            }
            () = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Shows the unpaired screen until `oshirase-kiosk pair` has written an identity.
async fn wait_for_identity(data_dir: &Path, clock: &ClockSource, shared: &preview::Shared) -> anyhow::Result<storage::Identity> {
    let mut shown = String::new();
    let mut unpaired = Kiosk::unpaired(Timing::default());
    loop {
        if let Some(identity) = storage::load(data_dir)? {
            return Ok(identity);
        }
        unpaired.handle(clock.tick());
        show(unpaired.current_display(), shared, &mut shown);
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// A heartbeat's result, with when it left and when it came back (monotonic ms).
struct HeartbeatOutcome {
    result: Result<HeartbeatReply, ApiError>,
    sent: u64,
    at: u64,
}

fn send_heartbeat(
    client: &ServerClient,
    kiosk: &mut Kiosk,
    start: Instant,
) -> JoinHandle<HeartbeatOutcome> {
    let sent = monotonic_ms(start);
    kiosk.handle(Event::HeartbeatSent {
        at_monotonic_ms: sent,
    });
    let (client, report) = (client.clone(), kiosk.heartbeat_report());
    let token = kiosk.identity().map(|i| i.sync_token.clone());
    tokio::spawn(async move {
        let result = match token {
            Some(token) => client.heartbeat(&token, &report).await,
            None => Err(ApiError::UnknownKiosk),
        };
        HeartbeatOutcome {
            result,
            sent,
            at: monotonic_ms(start),
        }
    })
}

async fn finished<T>(task: &mut Option<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// Feeds a heartbeat's outcome to the state machine; new settings from the server are kept.
fn heartbeat_done(outcome: HeartbeatOutcome, kiosk: &mut Kiosk, data_dir: &Path) {
    let before = kiosk.identity().map(settings_of);
    match outcome.result {
        Ok(reply) => kiosk.handle(Event::HeartbeatAnswered(
            reply.answer(outcome.sent, outcome.at),
        )),
        Err(ApiError::UnknownKiosk) => kiosk.handle(Event::HeartbeatRefused {
            at_monotonic_ms: outcome.at,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat failed");
            kiosk.handle(Event::HeartbeatFailed {
                at_monotonic_ms: outcome.at,
                error: e.to_string(),
            });
        }
    }
    let Some(updated) = kiosk.identity() else {
        return;
    };
    if before != Some(settings_of(updated))
        && let Err(e) = storage::save(data_dir, updated)
    {
        tracing::error!(error = %e, "cannot keep the server's new settings");
    }
}

fn settings_of(identity: &storage::Identity) -> (String, u32, u32, u32) {
    (
        identity.venue_name.clone(),
        identity.step_seconds,
        identity.window_behind_steps,
        identity.window_ahead_steps,
    )
}

/// Logs the screen when it changes (not every second's countdown).
/// Puts the display state where the preview and the framebuffer draw it from, logs it when it
/// changes, and tells systemd the loop is alive (`READY=1` once, then `WATCHDOG=1`).
fn show(display: DisplayState, shared: &preview::Shared, shown: &mut String) {
    let first = shown.is_empty();
    log_display(&display, shown);
    let state = if first { sd_notify::NotifyState::Ready } else { sd_notify::NotifyState::Watchdog };
    if (first || sd_notify::watchdog_enabled().is_some())
        && let Err(e) = sd_notify::notify(&[state])
    {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
    *shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = display;
}

fn log_display(display: &DisplayState, shown: &mut String) {
    let now = match display {
        DisplayState::Code {
            venue_name,
            checkin_url,
            offline_since_ms,
            ..
        } => {
            format!(
                "code for {venue_name}: {checkin_url}{}",
                if offline_since_ms.is_some() {
                    " (offline)"
                } else {
                    ""
                }
            )
        }
        other => format!("{other:?}"),
    };
    if *shown != now {
        tracing::info!(screen = %now, "screen");
        *shown = now;
    }
}

fn monotonic_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The backoff's jitter differs between kiosks and boots.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) ^ (u64::from(std::process::id()) << 32)
}

/// Draws the current screen on the framebuffer once a second, on its own thread.
#[cfg(feature = "framebuffer")]
mod screen_loop {
    use std::path::Path;

    use anyhow::Context as _;
    use oshirase_device::display::Framebuffer;
    use oshirase_device::preview::{Shared, screen_for};
    use oshirase_device::screen::{DEFAULT_FONT_PATH, Fonts, PngFrame, draw};

    pub fn start(device: &Path, shared: Shared) -> anyhow::Result<()> {
        let mut fb = Framebuffer::open(device).map_err(anyhow::Error::msg)?;
        let fonts = Fonts::load(DEFAULT_FONT_PATH).context("loading the screen font")?;
        std::thread::Builder::new().name("framebuffer".into()).spawn(move || {
            let (width, height) = fb.size();
            loop {
                let display = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
                let mut frame = PngFrame::new(width, height);
                let _ = draw(&screen_for(&display, "oshirase-kiosk pair --server URL --code CODE"), &fonts, &mut frame);
                fb.show(frame.rgb(), width, height);
                std::thread::sleep(std::time::Duration::from_millis(1000));
            }
        })?;
        Ok(())
    }
}

/// Without the `framebuffer` feature there is no screen to draw on.
#[cfg(not(feature = "framebuffer"))]
mod screen_loop {
    pub fn start(device: &std::path::Path, _shared: oshirase_device::preview::Shared) -> anyhow::Result<()> {
        anyhow::bail!("cannot draw on {}: this oshirase-kiosk was built without the `framebuffer` feature", device.display())
    }
}
