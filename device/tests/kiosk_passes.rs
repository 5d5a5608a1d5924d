//! The kiosk binary end to end with passes, against the real server in-process on
//! `127.0.0.1:0` with a fresh SQLite file: a resident asks for a pass in LINE (the server's
//! conversation, called directly), the pass image the server serves is shown to the kiosk's
//! simulated camera (`POST /camera` on its preview), the kiosk accepts it once however long it
//! is held, syncs it, and the server records one visit at the kiosk's place; a revoked,
//! forged, expired pass or another QR code is refused with its reason. Then the invariant: a
//! scan confirmed while the server is down survives `kill -9` and reaches the server later,
//! with the time it was made.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oshirase_common::pass::{Pass, PassId};
use oshirase_device::camera::degrade::{Symbol, printed};
use oshirase_device::pairing::pair;
use oshirase_device::storage;
use oshirase_e2e::KioskProcess;
use oshirase_server::config::{PublicBaseUrl, Settings};
use oshirase_server::line::messages::Message;
use oshirase_server::line::webhook::{Event, EventKind, Mode};
use oshirase_server::passes::{PassKey, Passes};
use oshirase_server::residents::{Context, handle};
use oshirase_server::startup::Application;
use oshirase_server::store::SqliteStore;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The server's pass signing key seed (the test signs expired passes with it).
const SEED: [u8; 32] = [7; 32];
const USER: &str = "U0123456789abcdef0123456789abcdef";
/// Heartbeats every second and retries after a second: the tests see changes quickly.
const QUICK: [&str; 6] = ["--heartbeat-every", "1", "--retry-after", "1", "--retry-max", "1"];

/// The server's files: its database and its pass key, kept across a restart.
struct ServerFiles {
    dir: tempfile::TempDir,
}

impl ServerFiles {
    fn new() -> ServerFiles {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("pass-signing.key");
        std::fs::write(&key, SEED).unwrap();
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        ServerFiles { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("oshirase.sqlite")
    }

    fn settings(&self, listen: &str) -> Settings {
        let toml = format!(
            "[server]\nlisten = {listen:?}\n[database]\npath = {:?}\n[passes]\nsigning_key_path = {:?}\n",
            self.db().display().to_string(),
            self.dir.path().join("pass-signing.key").display().to_string()
        );
        Settings::from_toml_and_env(&toml, []).unwrap()
    }

    /// Starts the server on `listen` (`127.0.0.1:0` for a free port).
    async fn start(&self, listen: &str) -> Server {
        let app = Application::build(self.settings(listen)).await.unwrap();
        let base_url = app.base_url().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Server { base_url, stop, task }
    }
}

struct Server {
    base_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }

    /// The address it listens on, to start it again there.
    fn listen(&self) -> String {
        self.base_url.trim_start_matches("http://").trim_end_matches('/').to_owned()
    }

    async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Value {
        let mut request = reqwest::Client::new().post(format!("{}{path}", self.base_url)).json(&body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap_or(Value::Null)
    }

    /// Registers a place and pairs a kiosk for it into `data_dir`; the place's location id.
    async fn pair_kiosk(&self, data_dir: &Path) -> String {
        let (code, location) = self.pairing_code().await;
        let identity = pair(&self.base_url, &code).await.unwrap();
        assert!(identity.pass_public_key.is_some(), "the key comes with pairing");
        storage::save(data_dir, &identity).unwrap();
        location
    }

    /// Registers a place and asks for a pairing code for it: (code, location id).
    async fn pairing_code(&self) -> (String, String) {
        let venue = json!({
            "business_type": "sports", "daily_visitors": 300, "name": "市立図書館 閲覧室",
            "postal_code": "330-9301", "address": "埼玉県さいたま市浦和区高砂3-15-1", "phone": "048-824-2111", "email": "lib@example.jp"
        });
        let body = self.post("/api/v1/venues", None, venue).await;
        let manage = body["registration"]["manage_token"].as_str().unwrap().to_owned();
        let location = body["venues"][0]["location_id"].as_str().unwrap().to_owned();
        let code = self.post(&format!("/api/v1/manage/venues/{location}/kiosks"), Some(&manage), Value::Null).await;
        (code["pairing_code"].as_str().unwrap().to_owned(), location)
    }
}

/// A server, a kiosk paired with a place (its data and camera folders) and a consented
/// resident: where each test starts.
struct Scene {
    files: ServerFiles,
    server: Server,
    data_dir: tempfile::TempDir,
    camera_dir: tempfile::TempDir,
    location: String,
    resident: Resident,
}

impl Scene {
    async fn new() -> Scene {
        let files = ServerFiles::new();
        let server = files.start("127.0.0.1:0").await;
        let data_dir = tempfile::tempdir().unwrap();
        let camera_dir = tempfile::tempdir().unwrap();
        let location = server.pair_kiosk(data_dir.path()).await;
        let mut resident = Resident::new(&files, &server);
        resident.consent().await;
        Scene { files, server, data_dir, camera_dir, location, resident }
    }
}

/// A resident talking to the server's LINE conversation directly (the store is the server's
/// database file, opened a second time).
struct Resident {
    store: SqliteStore,
    settings: Settings,
    passes: Passes,
    next: u32,
}

impl Resident {
    fn new(files: &ServerFiles, server: &Server) -> Resident {
        let settings = files.settings("127.0.0.1:0");
        let passes = Passes { key: PassKey::from_seed(SEED), settings: settings.passes.clone(), base_url: PublicBaseUrl::parse(&server.base_url).unwrap() };
        Resident { store: SqliteStore::open(&files.db()).unwrap(), settings, passes, next: 0 }
    }

    async fn say(&mut self, kind: EventKind) -> Vec<Message> {
        self.next += 1;
        let event = Event {
            kind,
            mode: Mode::Active,
            timestamp_ms: i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap(),
            user_id: Some(USER.into()),
            webhook_event_id: format!("01KP{:022}", self.next),
            is_redelivery: false,
            reply_token: Some("token".into()),
        };
        let ctx = Context {
            store: &self.store,
            settings: &self.settings.checkin,
            kiosk: &self.settings.kiosk,
            passes: &self.passes,
            privacy_url: "https://oshirase.example.jp/privacy".into(),
            now: OffsetDateTime::now_utc(),
        };
        handle(&ctx, &event).await.unwrap().map(|reply| reply.messages).unwrap_or_default()
    }

    async fn consent(&mut self) {
        self.say(EventKind::Postback { data: "consent=2026-11".into() }).await;
    }

    /// Asks for a pass ("パス", or "パス 名前"): the pass image's PNG, as the server serves it.
    async fn get_pass(&mut self, command: &str) -> Vec<u8> {
        let messages = self.say(EventKind::Text { text: command.into() }).await;
        let Some(Message::Image { original_url, .. }) = messages.get(1) else { panic!("no pass image in {messages:?}") };
        let response = reqwest::get(original_url).await.unwrap();
        assert!(response.status().is_success(), "{original_url}: {}", response.status());
        response.bytes().await.unwrap().to_vec()
    }

    async fn revoke(&mut self, short: &str) {
        let messages = self.say(EventKind::Text { text: format!("パス取消 {short}") }).await;
        assert!(matches!(messages.first(), Some(Message::Text(t)) if t.contains("取り消しました")), "{messages:?}");
    }
}

/// The pass id in a pass image (decoded the way the kiosk does).
fn pass_id_of(png: &[u8]) -> PassId {
    let frame = oshirase_device::camera::recorded::png_to_frame(png).unwrap();
    let texts = oshirase_device::camera::decode::decode(&frame);
    let key = oshirase_device::passes::PassKey::from_base64(&PassKey::from_seed(SEED).public_key_base64()).unwrap();
    key.verify(&texts[0]).unwrap().id
}

/// A crisp image of a QR code with `text`.
fn code_png(text: &str) -> Vec<u8> {
    printed(&Symbol::encode(text).unwrap(), 4).to_png()
}

/// How long the kiosk may take to reach a state or print a line.
const WAIT: Duration = Duration::from_secs(20);

/// `oshirase-kiosk run` with its preview on a free port, quick heartbeats and the simulated
/// camera on `camera_dir` (the shared end-to-end harness, `oshirase_e2e::KioskProcess`).
async fn run_kiosk(data_dir: &Path, camera_dir: &Path, extra: &[&str]) -> KioskProcess {
    let camera = camera_dir.to_str().unwrap();
    KioskProcess::run(data_dir, &[&["--camera-dir", camera][..], &QUICK[..], extra].concat()).await
}

/// Shows the simulated camera an image; it must be taken.
async fn show(kiosk: &KioskProcess, png: &[u8]) {
    assert_eq!(kiosk.show(png.to_vec()).await, reqwest::StatusCode::ACCEPTED);
}

fn visits(db: &Path, location: &str) -> Vec<i64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT scanned_at_ms FROM visits WHERE location_id = ?1 ORDER BY scanned_at_ms").unwrap();
    stmt.query_map([location], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_from_line_held_up_to_the_kiosk_is_one_visit_and_revoked_forged_expired_or_foreign_codes_are_refused() {
    let Scene { files, server, data_dir, camera_dir, location, mut resident } = Scene::new().await;
    let pass_png = resident.get_pass("パス").await;
    let id = pass_id_of(&pass_png);

    // A clock flag that does not exist: the kiosk's time comes from its first heartbeat.
    let flag = data_dir.path().join("no-such-flag");
    let kiosk = run_kiosk(data_dir.path(), camera_dir.path(), &["--scan-debounce-ms", "1500", "--clock-synced-flag", flag.to_str().unwrap()]).await;
    kiosk.wait_for_state("its code", WAIT, |s| s["screen"] == "code").await;

    // Held up to the camera for a second: one scan.
    for _ in 0..5 {
        show(&kiosk, &pass_png).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let accepted = kiosk.wait_for_line("scan accepted", 1, WAIT).await;
    assert_eq!(accepted, format!("scan accepted seq=1 pass=…{}", id.short()));
    let synced = kiosk.wait_for_line("scans synced", 1, WAIT).await;
    assert_eq!(synced, "scans synced through=1 recorded=1 duplicates=0 refused=0");
    let state = kiosk.wait_for_state("nothing left to send", WAIT, |s| s["pending_scans"] == 0).await;
    assert_eq!((&state["accepted_scans"], &state["feedback"], &state["camera"]), (&json!(1), &json!("accepted"), &json!("simulated")));
    assert_eq!(state["last_scan"], json!({"outcome": "accepted", "reason": null}));
    assert_eq!(kiosk.lines_starting("scan accepted").len(), 1, "held up for a second, it is one scan:\n{}", kiosk.output());
    assert_eq!(visits(&files.db(), &location).len(), 1, "one visit at the kiosk's place");

    // Revoked in LINE: the next heartbeat brings the list, kept on disk.
    resident.revoke(id.short()).await;
    let kept = data_dir.path().join("revocations.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&kept).is_ok_and(|text| text.contains(id.as_str())) {
        assert!(Instant::now() < deadline, "the revocation list never reached the kiosk:\n{}", kiosk.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1600)).await;
    show(&kiosk, &pass_png).await;
    assert_eq!(kiosk.wait_for_line("scan refused", 1, WAIT).await, "scan refused reason=revoked");
    let state = kiosk.wait_for_state("the refusal", WAIT, |s| s["last_scan"]["reason"] == "revoked").await;
    assert_eq!((&state["overlay"], &state["feedback"]), (&json!("scan_refused"), &json!("refused")));

    // Signed with another key; expired; not a pass at all.
    let forged = oshirase_common::pass::issue(&From::from(&[8; 32]), &Pass { id: PassId::from_random([1; 10]), expires_at: 4_000_000_000 });
    show(&kiosk, &code_png(&forged)).await;
    assert_eq!(kiosk.wait_for_line("scan refused", 2, WAIT).await, "scan refused reason=forged");
    let expired = PassKey::from_seed(SEED).issue(&Pass { id: PassId::from_random([2; 10]), expires_at: 1_700_000_000 });
    show(&kiosk, &code_png(&expired)).await;
    assert_eq!(kiosk.wait_for_line("scan refused", 3, WAIT).await, "scan refused reason=expired");
    show(&kiosk, &code_png("HTTPS://EXAMPLE.JP/EVENT")).await;
    assert_eq!(kiosk.wait_for_line("scan refused", 4, WAIT).await, "scan refused reason=unreadable");

    assert_eq!(visits(&files.db(), &location).len(), 1, "nothing refused became a visit");
    assert_eq!(kiosk.lines_starting("scan accepted").len(), 1);

    // The (simulated) help button shows the help screen.
    let pressed = reqwest::Client::new().post(format!("{}/help", kiosk.preview_url())).send().await.unwrap();
    assert!(pressed.status().is_success(), "{}", pressed.status());
    kiosk.wait_for_state("the help screen", WAIT, |s| s["overlay"] == "help").await;
    drop(kiosk);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_confirmed_while_the_server_is_down_survives_kill_9_and_is_synced_with_its_time() {
    let Scene { files, server, data_dir, camera_dir, location, mut resident } = Scene::new().await;
    let pass_png = resident.get_pass("パス").await;
    let second_png = resident.get_pass("パス たろう").await;
    let id = pass_id_of(&pass_png);
    let listen = server.listen();
    server.stop().await;

    // The system clock is synchronised (the flag exists): codes and scans without the server.
    let flag = data_dir.path().join("synchronized");
    std::fs::write(&flag, "").unwrap();
    let kiosk = run_kiosk(data_dir.path(), camera_dir.path(), &["--clock-synced-flag", flag.to_str().unwrap(), "--buffer-capacity", "1"]).await;
    kiosk.wait_for_state("its code, offline", WAIT, |s| s["screen"] == "code" && s["offline"] == true).await;
    let shown_at = now_ms();
    show(&kiosk, &pass_png).await;
    assert_eq!(kiosk.wait_for_line("scan accepted", 1, WAIT).await, format!("scan accepted seq=1 pass=…{}", id.short()));
    let confirmed_at = now_ms();
    kiosk.wait_for_state("one scan waiting", WAIT, |s| s["pending_scans"] == 1).await;
    // The buffer holds its capacity: the next pass is refused, the kept scan stays.
    show(&kiosk, &second_png).await;
    assert_eq!(kiosk.wait_for_line("scan not recorded", 1, WAIT).await, "scan not recorded reason=storage_full");
    let state = kiosk.wait_for_state("the storage-full screen", WAIT, |s| s["overlay"] == "storage_full").await;
    assert_eq!((&state["feedback"], &state["pending_scans"]), (&json!("storage_full"), &json!(1)));
    kiosk.kill9().await;

    let server = files.start(&listen).await;
    let kiosk = run_kiosk(data_dir.path(), camera_dir.path(), &["--clock-synced-flag", flag.to_str().unwrap()]).await;
    assert_eq!(kiosk.wait_for_line("scans synced", 1, WAIT).await, "scans synced through=1 recorded=1 duplicates=0 refused=0");
    kiosk.wait_for_state("nothing left to send", WAIT, |s| s["pending_scans"] == 0).await;
    let visits = visits(&files.db(), &location);
    assert_eq!(visits.len(), 1);
    assert!((shown_at - 1000..=confirmed_at).contains(&visits[0]), "the visit is at the scan's time ({shown_at}–{confirmed_at}), not the sync's: {}", visits[0]);
    drop(kiosk);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_a_pass_held_up_for_two_seconds_plays_once_the_kiosk_shows_its_code_and_is_one_scan() {
    let Scene { files, server, data_dir, camera_dir, location, mut resident } = Scene::new().await;
    let pass_png = resident.get_pass("パス").await;
    // 20 frames at 10 a second; the camera starts only once the clock is trusted.
    for frame in 0..20 {
        std::fs::write(camera_dir.path().join(format!("frame-{frame:02}.png")), &pass_png).unwrap();
    }
    let flag = data_dir.path().join("no-such-flag");
    let kiosk = run_kiosk(data_dir.path(), camera_dir.path(), &["--clock-synced-flag", flag.to_str().unwrap()]).await;
    kiosk.wait_for_line("scans synced", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(kiosk.lines_starting("scan accepted").len(), 1, "{}", kiosk.output());
    assert!(kiosk.lines_starting("scan not checked").is_empty(), "no frame was spent before the clock was trusted: {}", kiosk.output());
    assert_eq!(visits(&files.db(), &location).len(), 1);
    let page = reqwest::get(format!("{}/", kiosk.preview_url())).await.unwrap().text().await.unwrap();
    assert!(page.contains("このカードを見せる") && page.contains("frame-00.png"), "the folder's PNGs are offered on the page");
    drop(kiosk);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_again_refuses_while_scans_of_the_old_pairing_wait_unless_told_to_discard_them() {
    let files = ServerFiles::new();
    let server = files.start("127.0.0.1:0").await;
    let data_dir = tempfile::tempdir().unwrap();
    server.pair_kiosk(data_dir.path()).await;
    let old = storage::load(data_dir.path()).unwrap().unwrap();
    {
        let mut buffer = oshirase_device::buffer::ScanBuffer::open(&data_dir.path().join("scans.sqlite"), 10).unwrap();
        buffer.record(&PassId::from_random([5; 10]), now_ms(), 0).unwrap();
    }
    let (code, _) = server.pairing_code().await;
    let pair_again = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_oshirase-kiosk"))
            .args(["pair", "--server", &server.base_url, "--code", &code, "--data-dir"])
            .arg(data_dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = pair_again(&[]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("1 pass scans of the current pairing have not reached the server yet"), "{message}");
    assert_eq!(storage::load(data_dir.path()).unwrap().unwrap().kiosk_id, old.kiosk_id, "still the old kiosk");

    // The code was not spent by the refusal: it pairs now, and the old scan is gone.
    let paired = pair_again(&["--discard-unsent-scans"]);
    assert!(paired.status.success(), "{}", String::from_utf8_lossy(&paired.stderr));
    assert_ne!(storage::load(data_dir.path()).unwrap().unwrap().kiosk_id, old.kiosk_id);
    let buffer = oshirase_device::buffer::ScanBuffer::open(&data_dir.path().join("scans.sqlite"), 10).unwrap();
    assert_eq!(buffer.pending().unwrap(), 0);
    server.stop().await;
}
