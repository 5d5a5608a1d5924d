//! `oshirase-kiosk`: the kiosk binary. Argument parsing and the run loop's I/O (clocks,
//! timers, HTTP, the camera thread, the pins); what to do and what to show is decided by
//! `oshirase_device::protocol` (heartbeat and sync) and `oshirase_device::station` (scans).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use oshirase_device::camera::reader::{Opener, spawn_reader};
use oshirase_device::camera::recorded::RecordedFrames;
use oshirase_device::camera::simulated::{RECORDING_FRAME_INTERVAL, SimulatedCamera};
use oshirase_device::camera::{CameraError, FrameSource};
use oshirase_device::feedback::{Feedback, HelpPressed, PinConfig};
use oshirase_device::pairing::{ApiError, ScansReply, ServerClient, pair};
use oshirase_device::panel::{self, Overlay, Panel};
use oshirase_device::passes::{self, PassKey, RevocationList};
use oshirase_device::preview::{self, CameraAccess, PreviewOptions};
use oshirase_device::protocol::{Action, DisplayState, Event, HeartbeatReply, Kiosk, Timing, View};
use oshirase_device::screen::{DEFAULT_FONT_PATH, Fonts, Screen};
use oshirase_device::station::{Answer, Station};
use oshirase_device::storage;
use tokio::sync::mpsc;
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
        /// Pair even though pass scans of the previous pairing wait to be synced, and delete
        /// them (they were made at the old place and must not reach the server as the new one's).
        #[arg(long)]
        discard_unsent_scans: bool,
    },
    /// Show the rotating codes, read passes with the camera, send heartbeats and scans until
    /// stopped.
    Run {
        /// Where the kiosk keeps its identity, its revocation list and its scan buffer.
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
        #[command(flatten)]
        scanning: ScanArgs,
    },
    /// Demo and test support: writes frames of a pass image (the PNG a resident got in LINE)
    /// as the kiosk camera sees a card held up to it — turned, tilted, blurred, noisy, badly
    /// lit — for `run --camera-dir`. Only frames the kiosk can read are written.
    Photograph {
        /// The pass image (a crisp QR code PNG).
        image: PathBuf,
        /// The folder to write `NAME-<kind>.png` frames into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The frames' file name prefix.
        #[arg(long, default_value = "pass")]
        name: String,
    },
}

/// The camera, the feedback pins and the scan buffer.
#[derive(Debug, clap::Args)]
struct ScanArgs {
    /// A simulated camera for demos and tests: it plays the PNG frames in DIR once (in name
    /// order, 10 a second) when the kiosk first shows a code, then sees the images sent to
    /// the preview (`POST /camera`, or the page's "このカードを見せる" for each PNG in DIR).
    #[arg(long, value_name = "DIR", conflicts_with = "camera")]
    camera_dir: Option<PathBuf>,
    /// With --camera-dir: do not play the folder at start; its PNGs are only offered on the
    /// preview page.
    #[arg(long, requires = "camera_dir")]
    no_camera_replay: bool,
    /// The V4L2 camera to read passes with (e.g. /dev/video0); needs a build with the
    /// `camera` feature.
    #[arg(long, value_name = "DEVICE")]
    camera: Option<PathBuf>,
    /// The GPIO pins of the LEDs, the buzzer and the help button in BCM numbers (e.g.
    /// green=5,red=6,buzzer=26,help=16; also help=none, led-active=low, buzzer-active=low);
    /// needs a build with the `gpio` feature. Without it the pins are simulated and the
    /// preview's /state shows the last feedback.
    #[arg(long, value_name = "PINS")]
    gpio_pins: Option<PinConfig>,
    /// The same pass seen again within this many milliseconds of its last sighting is the
    /// same scan (a pass held up for ten seconds is one scan).
    #[arg(long, value_name = "MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    scan_debounce_ms: u64,
    /// The most scans kept unsent; while the buffer is full, passes are refused and visitors
    /// asked to check in with LINE.
    #[arg(long, value_name = "SCANS", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    buffer_capacity: u64,
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
            discard_unsent_scans,
        } => pair_command(&server, &code, &data_dir, discard_unsent_scans).await,
        Command::Run {
            data_dir,
            preview_listen,
            framebuffer,
            timing,
            clock_synced_flag,
            scanning,
        } => {
            let clock = ClockSource { synced_flag: clock_synced_flag, start: Instant::now() };
            run(&data_dir, preview_listen, framebuffer, timing.timing(), &scanning, &clock).await
        }
        Command::Photograph { image, out, name } => photograph(&image, &out, &name),
    }
}

/// `oshirase-kiosk photograph`: one readable frame per kind of degradation.
fn photograph(image: &Path, out: &Path, name: &str) -> anyhow::Result<()> {
    use oshirase_device::camera::decode::decode;
    use oshirase_device::camera::degrade::{self, Kind, Symbol};
    let printed = oshirase_device::camera::recorded::read_png(image).with_context(|| format!("reading {}", image.display()))?;
    let symbol = Symbol::from_printed(&printed).with_context(|| format!("{} is not a crisp QR code image", image.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for kind in [Kind::Rotation, Kind::Perspective, Kind::Blur, Kind::Noise, Kind::Lighting, Kind::Combined] {
        // The first seed whose frame the kiosk reads: a demo shows what works.
        let Some(frame) = (0..40).map(|seed| degrade::frame(&symbol, kind, seed)).find(|frame| !decode(frame).is_empty()) else {
            continue;
        };
        let path = out.join(format!("{name}-{}.png", kind.name()));
        std::fs::write(&path, frame.to_png()).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

async fn pair_command(server: &str, code: &str, data_dir: &Path, discard_unsent_scans: bool) -> anyhow::Result<()> {
    // Scans of a previous pairing belong to its kiosk and place: checked before the one-time
    // code is spent.
    let buffer_path = data_dir.join(oshirase_device::station::BUFFER_FILE);
    let mut unsent = None;
    if buffer_path.exists() {
        let buffer = oshirase_device::buffer::ScanBuffer::open(&buffer_path, u64::MAX).context("opening the scan buffer")?;
        let pending = buffer.pending()?;
        if pending > 0 && !discard_unsent_scans {
            anyhow::bail!(
                "{pending} pass scans of the current pairing have not reached the server yet. Run the kiosk until they are synced (its screen shows how many wait), or pair with --discard-unsent-scans to delete them."
            );
        }
        unsent = Some((buffer, pending));
    }
    let identity = pair(server, code).await.context("pairing failed")?;
    if let Some((mut buffer, pending)) = unsent.filter(|(_, pending)| *pending > 0) {
        let last = buffer.last_seq()?;
        buffer.acknowledge_through(last)?;
        tracing::warn!(pending, "deleted the unsent scans of the previous pairing");
    }
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

async fn run(data_dir: &Path, preview_listen: Option<SocketAddr>, framebuffer: Option<PathBuf>, timing: Timing, scanning: &ScanArgs, clock: &ClockSource) -> anyhow::Result<()> {
    let shared = Panel::shared(DisplayState::Unpaired);
    if let Some(device) = framebuffer {
        screen_loop::start(&device, Arc::clone(&shared))?;
    }
    let mut hardware = hardware::open(scanning.gpio_pins)?;
    let (camera, camera_access) = camera_plan(scanning)?;
    if let Some(addr) = preview_listen {
        let options = PreviewOptions { camera: camera_access, help_button: hardware.simulated_help.clone() };
        start_preview(addr, Arc::clone(&shared), options).await?;
    }
    let start = clock.start;
    let identity = wait_for_identity(data_dir, clock, &shared).await?;
    let client = ServerClient::new(&identity.server_url)?;
    let mut station = Station::open(data_dir, scanning.buffer_capacity, scanning.scan_debounce_ms).context("opening the scan buffer")?;
    let mut kiosk = Kiosk::paired(identity, timing, seed());
    kiosk.handle(Event::RevocationsRestored(restored_revocations(data_dir)));
    kiosk.handle(station.restored().context("reading the scan buffer")?);
    let (sightings_to_loop, mut sightings) = mpsc::channel(8);
    // The camera starts once the kiosk can take scans, so a recording is not spent on a
    // kiosk still waiting for its clock.
    let mut camera = camera.map(|open| (open, sightings_to_loop));
    let mut overlay = Overlay::default();
    let mut shown = String::new();
    // The heartbeat and the scan upload run beside the loop, so the screen keeps ticking
    // and the camera keeps being answered while they wait.
    let mut in_flight: Option<JoinHandle<HeartbeatOutcome>> = None;
    let mut upload: Option<JoinHandle<UploadOutcome>> = None;
    loop {
        kiosk.handle(clock.tick());
        let now = monotonic_ms(start);
        if let (Some(_), View::ShowCode { .. } | View::Offline { .. }) = (&camera, kiosk.view())
            && let Some((open, to_loop)) = camera.take()
        {
            spawn_reader(open, to_loop).context("starting the camera thread")?;
        }
        publish(&kiosk, &station, overlay.current(now), &shared, &mut shown);
        if in_flight.is_none() && kiosk.next_action() == Action::SendHeartbeat {
            in_flight = Some(send_heartbeat(&client, &mut kiosk, start));
        }
        if upload.is_none()
            && let Action::SendScans { after } = kiosk.next_action()
        {
            upload = send_scans(&client, &mut kiosk, &station, after, start);
        }
        let mut wait_ms = match kiosk.next_action() {
            Action::Wait { ms } => ms.min(1000),
            Action::SendHeartbeat | Action::SendScans { .. } => 1000,
        };
        if let Some(ends_in) = overlay.ends_in(now) {
            wait_ms = wait_ms.min(ends_in.max(1));
        }
        tokio::select! {
            outcome = finished(&mut in_flight) => {
                in_flight = None;
                heartbeat_done(outcome.context("the heartbeat task")?, &mut kiosk, data_dir);
            }
            outcome = finished(&mut upload) => {
                upload = None;
                upload_done(outcome.context("the scan upload task")?, &mut kiosk, &mut station);
            }
            Some(sighting) = sightings.recv() => {
                kiosk.handle(clock.tick());
                let seen_at_ms = u64::try_from(sighting.seen_at.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX);
                if let Some(answer) = station.frame(&sighting.texts, seen_at_ms, &kiosk) {
                    carry_out(answer, &mut kiosk, &mut overlay, &hardware.feedback, &shared, monotonic_ms(start));
                }
            }
            Some(HelpPressed) = next_press(&mut hardware.help) => overlay.show(Screen::Help, monotonic_ms(start)),
            () = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Serves the preview on `addr` and prints where (scripts and tests read the line).
async fn start_preview(addr: SocketAddr, shared: panel::Shared, options: PreviewOptions) -> anyhow::Result<()> {
    let fonts = Arc::new(Fonts::load(DEFAULT_FONT_PATH).context("loading the screen font")?);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the preview on {addr}"))?;
    say(&format!("oshirase-kiosk preview on http://{}", listener.local_addr()?));
    let app = preview::router(shared, fonts, options);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the preview stopped");
        }
    });
    Ok(())
}

/// The camera thread's opener, if the kiosk has a camera, and how the preview sees it.
fn camera_plan(scanning: &ScanArgs) -> anyhow::Result<(Option<Opener>, CameraAccess)> {
    if let Some(dir) = &scanning.camera_dir {
        let recording = match RecordedFrames::open(dir) {
            Ok(recording) => Some(recording),
            Err(CameraError::NoFrames(_)) => None,
            Err(e) => return Err(e).context("the simulated camera's folder"),
        };
        let recording = recording.filter(|_| !scanning.no_camera_replay);
        let (camera, injector) = SimulatedCamera::new(recording, RECORDING_FRAME_INTERVAL);
        let mut camera = Some(camera);
        let open: Opener = Box::new(move || match camera.take() {
            Some(camera) => Ok(Box::new(camera) as Box<dyn FrameSource>),
            None => Err(CameraError::Device("the simulated camera has ended".into())),
        });
        return Ok((Some(open), CameraAccess::Simulated { injector, dir: Some(dir.clone()) }));
    }
    match &scanning.camera {
        Some(device) => Ok((Some(real_camera::opener(device)?), CameraAccess::Real)),
        None => Ok((None, CameraAccess::None)),
    }
}

/// The revocation list kept on disk; a damaged file is replaced by the server's next list.
fn restored_revocations(data_dir: &Path) -> RevocationList {
    passes::load_revocations(data_dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the revocation list kept on disk cannot be read; the next heartbeat brings the server's whole list");
        RevocationList::default()
    })
}

/// Shows the unpaired screen until `oshirase-kiosk pair` has written an identity.
async fn wait_for_identity(data_dir: &Path, clock: &ClockSource, shared: &panel::Shared) -> anyhow::Result<storage::Identity> {
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

/// Does what the station answered: the scan is committed already; now the state machine
/// hears of it, then the screen, the light and sound, and the line on stdout.
fn carry_out(answer: Answer, kiosk: &mut Kiosk, overlay: &mut Overlay, feedback: &Feedback, shared: &panel::Shared, now_ms: u64) {
    if let Some(event) = answer.event {
        kiosk.handle(event);
    }
    if let Some(screen) = answer.screen {
        overlay.show(screen, now_ms);
    }
    feedback.play(answer.feedback);
    shared.lock().unwrap_or_else(PoisonError::into_inner).feedback = Some(answer.feedback);
    say(&answer.line);
}

/// Prints a line scripts and tests read, at once.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
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

/// A scan batch's result: which sequence numbers it held and when the answer came.
struct UploadOutcome {
    result: Result<ScansReply, ApiError>,
    first: u64,
    last: u64,
    at: u64,
}

/// Starts sending the scans after `after`, one batch; `None` when nothing went out (the state
/// machine has heard why).
fn send_scans(client: &ServerClient, kiosk: &mut Kiosk, station: &Station, after: u64, start: Instant) -> Option<JoinHandle<UploadOutcome>> {
    let now = monotonic_ms(start);
    let batch = match station.batch(after) {
        Ok(batch) => batch,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the scan buffer");
            kiosk.handle(Event::ScansFailed { at_monotonic_ms: now, error: e.to_string() });
            return None;
        }
    };
    let (Some(first), Some(last)) = (batch.first().map(|s| s.seq), batch.last().map(|s| s.seq)) else {
        // Nothing kept after `after` (pruned already): nothing is owed to the server.
        kiosk.handle(Event::ScansAcknowledged { at_monotonic_ms: now, through: after + kiosk.pending_scans() });
        return None;
    };
    kiosk.handle(Event::ScansSent { at_monotonic_ms: now, through: last });
    let client = client.clone();
    let token = kiosk.identity().map(|i| i.sync_token.clone());
    Some(tokio::spawn(async move {
        let result = match token {
            Some(token) => client.send_scans(&token, &batch).await,
            None => Err(ApiError::UnknownKiosk),
        };
        UploadOutcome { result, first, last, at: monotonic_ms(start) }
    }))
}

/// Prunes what the server acknowledged and tells the state machine.
fn upload_done(outcome: UploadOutcome, kiosk: &mut Kiosk, station: &mut Station) {
    match outcome.result {
        Ok(reply) => {
            let event = station.synced(outcome.first, outcome.last, reply, outcome.at);
            if let Event::ScansAcknowledged { through, .. } = event {
                say(&format!("scans synced through={through} recorded={} duplicates={} refused={}", reply.recorded, reply.duplicates, reply.refused));
            }
            kiosk.handle(event);
        }
        Err(e) => {
            tracing::warn!(error = %e, first = outcome.first, last = outcome.last, "sending scans failed");
            kiosk.handle(Event::ScansFailed { at_monotonic_ms: outcome.at, error: e.to_string() });
        }
    }
}

async fn finished<T>(task: &mut Option<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// The next press of the help button; never, without one.
async fn next_press(button: &mut Option<mpsc::Receiver<HelpPressed>>) -> Option<HelpPressed> {
    match button {
        Some(button) => button.recv().await,
        None => std::future::pending().await,
    }
}

/// Feeds a heartbeat's outcome to the state machine; new settings, a new pass key and a new
/// revocation list from the server are kept.
fn heartbeat_done(outcome: HeartbeatOutcome, kiosk: &mut Kiosk, data_dir: &Path) {
    let before = kiosk.identity().map(settings_of);
    let revocations_before = kiosk.revocations().clone();
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
    if *kiosk.revocations() != revocations_before {
        tracing::info!(version = ?kiosk.revocations().version(), revoked = kiosk.revocations().len(), "new revocation list");
        if let Err(e) = passes::save_revocations(data_dir, kiosk.revocations()) {
            tracing::error!(error = %e, "cannot keep the revocation list");
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

/// What the server may change in the identity.
fn settings_of(identity: &storage::Identity) -> (String, u32, u32, u32, Option<PassKey>) {
    (
        identity.venue_name.clone(),
        identity.step_seconds,
        identity.window_behind_steps,
        identity.window_ahead_steps,
        identity.pass_public_key,
    )
}

/// Puts what the kiosk shows and its scan counts where the preview and the framebuffer draw
/// them from.
fn publish(kiosk: &Kiosk, station: &Station, overlay: Option<Screen>, shared: &panel::Shared, shown: &mut String) {
    show(kiosk.current_display(), shared, shown);
    let mut panel = shared.lock().unwrap_or_else(PoisonError::into_inner);
    panel.pending_scans = kiosk.pending_scans();
    panel.overlay = overlay;
    panel.accepted_scans = station.accepted_scans();
    panel.last_scan = station.last_scan();
}

/// Puts the display state where the preview and the framebuffer draw it from, logs it when it
/// changes (not every second's countdown), and tells systemd the loop is alive (`READY=1`
/// once, then `WATCHDOG=1`).
fn show(display: DisplayState, shared: &panel::Shared, shown: &mut String) {
    let first = shown.is_empty();
    log_display(&display, shown);
    let state = if first { sd_notify::NotifyState::Ready } else { sd_notify::NotifyState::Watchdog };
    if (first || sd_notify::watchdog_enabled().is_some())
        && let Err(e) = sd_notify::notify(&[state])
    {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
    shared.lock().unwrap_or_else(PoisonError::into_inner).display = display;
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

/// The feedback pins and the help button: the Pi's (`--gpio-pins`) or simulated ones.
mod hardware {
    use oshirase_device::feedback::mock::Recorder;
    use oshirase_device::feedback::{Feedback, HelpPressed, PinConfig};
    use tokio::sync::mpsc;

    /// What the run loop drives and listens to.
    pub struct Hardware {
        /// Plays each outcome's light and sound.
        pub feedback: Feedback,
        /// Presses of the help button, if there is one.
        pub help: Option<mpsc::Receiver<HelpPressed>>,
        /// The simulated help button, for the preview.
        pub simulated_help: Option<mpsc::Sender<HelpPressed>>,
    }

    /// The Pi's pins for `pins`, or simulated ones (recording every change) without.
    pub fn open(pins: Option<PinConfig>) -> anyhow::Result<Hardware> {
        match pins {
            Some(config) => gpio(config),
            None => {
                let start = std::time::Instant::now();
                let recorder = Recorder::new(move || start.elapsed());
                let (press, help) = mpsc::channel(4);
                Ok(Hardware { feedback: Feedback::spawn(recorder.pins()), help: Some(help), simulated_help: Some(press) })
            }
        }
    }

    #[cfg(feature = "gpio")]
    fn gpio(config: PinConfig) -> anyhow::Result<Hardware> {
        use oshirase_device::feedback::{ButtonTiming, rpi, watch_help_button};
        let pins = rpi::open(&config)?;
        tracing::info!(pins = %config, "GPIO feedback");
        let help = pins.help_button.map(|button| watch_help_button(button, ButtonTiming::default()));
        Ok(Hardware { feedback: Feedback::spawn(pins.outputs), help, simulated_help: None })
    }

    #[cfg(not(feature = "gpio"))]
    fn gpio(config: PinConfig) -> anyhow::Result<Hardware> {
        anyhow::bail!("cannot use the GPIO pins {config}: this oshirase-kiosk was built without the `gpio` feature")
    }
}

/// The V4L2 camera (`--camera`).
mod real_camera {
    use std::path::Path;

    use oshirase_device::camera::reader::Opener;

    #[cfg(feature = "camera")]
    pub fn opener(device: &Path) -> anyhow::Result<Opener> {
        use oshirase_device::camera::v4l::V4lCamera;
        use oshirase_device::camera::{FrameSource, video_index};
        let Some(index) = video_index(device) else {
            anyhow::bail!("{} is not a V4L2 camera device (/dev/videoN)", device.display());
        };
        Ok(Box::new(move || V4lCamera::open(index).map(|camera| Box::new(camera) as Box<dyn FrameSource>)))
    }

    #[cfg(not(feature = "camera"))]
    pub fn opener(device: &Path) -> anyhow::Result<Opener> {
        anyhow::bail!("cannot read {}: this oshirase-kiosk was built without the `camera` feature", device.display())
    }
}

/// Draws the current screen on the framebuffer once a second, on its own thread.
#[cfg(feature = "framebuffer")]
mod screen_loop {
    use std::path::Path;

    use anyhow::Context as _;
    use oshirase_device::display::Framebuffer;
    use oshirase_device::panel::Shared;
    use oshirase_device::screen::{DEFAULT_FONT_PATH, Fonts, PngFrame, draw};

    pub fn start(device: &Path, shared: Shared) -> anyhow::Result<()> {
        let mut fb = Framebuffer::open(device).map_err(anyhow::Error::msg)?;
        let fonts = Fonts::load(DEFAULT_FONT_PATH).context("loading the screen font")?;
        std::thread::Builder::new().name("framebuffer".into()).spawn(move || {
            let (width, height) = fb.size();
            let mut drawn = None;
            loop {
                // A new screen (a scan's answer) is drawn within 100 ms; the same one is not
                // drawn again.
                let screen = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).screen("oshirase-kiosk pair --server URL --code CODE");
                if drawn.as_ref() != Some(&screen) {
                    let mut frame = PngFrame::new(width, height);
                    let _ = draw(&screen, &fonts, &mut frame);
                    fb.show(frame.rgb(), width, height);
                    drawn = Some(screen);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })?;
        Ok(())
    }
}

/// Without the `framebuffer` feature there is no screen to draw on.
#[cfg(not(feature = "framebuffer"))]
mod screen_loop {
    pub fn start(device: &std::path::Path, _shared: oshirase_device::panel::Shared) -> anyhow::Result<()> {
        anyhow::bail!("cannot draw on {}: this oshirase-kiosk was built without the `framebuffer` feature", device.display())
    }
}
