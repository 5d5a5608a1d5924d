//! The resident's conversation (`residents::handle`): which reply each event gets, over a
//! real SQLite store. The webhook route around it is tested in `webhook.rs`, and the whole
//! path through the LINE sandbox in `tests/`.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use oshirase_common::{NewVenue, VenueForm};
use oshirase_server::config::CheckinSettings;
use oshirase_server::line::messages::Message;
use oshirase_server::line::webhook::{Event, EventKind, Mode};
use oshirase_server::residents::{Context, Reply, handle};
use oshirase_server::store::{SqliteStore, Store};
use time::OffsetDateTime;

struct Chat {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    settings: CheckinSettings,
    code: String,
    next: std::cell::Cell<u32>,
}

impl Chat {
    async fn new() -> Chat {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let venue = NewVenue::parse(&VenueForm {
            business_type: "restaurant".into(),
            daily_visitors: "50".into(),
            name: "そば処 浦和".into(),
            postal_code: "3309301".into(),
            address: "埼玉県さいたま市浦和区高砂3-15-1".into(),
            phone: "0488242111".into(),
            email: "soba@example.jp".into(),
        })
        .unwrap();
        let registered = oshirase_server::venues::register(&store, vec![venue], OffsetDateTime::now_utc()).await.unwrap();
        let code = registered.record.venues[0].code.to_string();
        Chat { _dir: dir, store, settings: CheckinSettings::default(), code, next: std::cell::Cell::new(0) }
    }

    async fn say(&self, kind: EventKind) -> Option<Reply> {
        self.next.set(self.next.get() + 1);
        let event = Event {
            kind,
            mode: Mode::Active,
            timestamp_ms: i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap(),
            user_id: Some("U0123456789abcdef0123456789abcdef".into()),
            webhook_event_id: format!("01EV{:022}", self.next.get()),
            is_redelivery: false,
            reply_token: Some("token".into()),
        };
        let kiosk = oshirase_server::config::KioskSettings::default();
        let passes = oshirase_server::passes::Passes {
            key: oshirase_server::passes::PassKey::from_seed([42; 32]),
            settings: oshirase_server::config::PassSettings::default(),
            base_url: oshirase_server::config::PublicBaseUrl::parse("https://oshirase.example.jp").unwrap(),
        };
        let ctx = Context { store: &self.store as &dyn Store, settings: &self.settings, kiosk: &kiosk, passes: &passes, privacy_url: "https://oshirase.example.jp/privacy".into(), now: OffsetDateTime::now_utc() };
        handle(&ctx, &event).await.unwrap()
    }

    async fn texts(&self, kind: EventKind) -> Vec<String> {
        self.say(kind).await.map(|r| r.messages.iter().map(describe).collect()).unwrap_or_default()
    }
}

fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => t.clone(),
        Message::Confirm { text, yes, no, .. } => format!("[{text}] {}={} / {}={}", yes.label, yes.data, no.label, no.data),
        Message::Image { original_url, .. } => format!("[image {original_url}]"),
    }
}

fn text(s: &str) -> EventKind {
    EventKind::Text { text: s.into() }
}

fn postback(s: &str) -> EventKind {
    EventKind::Postback { data: s.into() }
}

#[tokio::test]
async fn a_new_friend_is_welcomed_and_asked_for_consent_with_the_privacy_link() {
    let chat = Chat::new().await;
    let replies = chat.texts(EventKind::Follow { is_unblocked: false }).await;
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert!(replies[0].starts_with("友だち追加ありがとうございます"));
    assert!(replies[1].contains("https://oshirase.example.jp/privacy"));
    assert_eq!(replies[2], "[利用規約とプライバシーポリシーに同意しますか？] 同意する=consent=2026-11 / 同意しない=consent=decline");
}

#[tokio::test]
async fn a_scan_before_consent_is_held_and_confirmed_after_consent() {
    let chat = Chat::new().await;
    let waiting = chat.texts(text(&format!("来場登録 {}", chat.code))).await;
    assert_eq!(waiting.len(), 2);
    assert!(waiting[0].starts_with("「そば処 浦和」の来場は、利用規約とプライバシーポリシーに同意いただくと記録されます。"), "{waiting:?}");
    assert!(waiting[1].contains("consent=2026-11"));
    let confirmed = chat.texts(postback("consent=2026-11")).await;
    assert_eq!(confirmed.len(), 2, "{confirmed:?}");
    assert!(confirmed[1].starts_with("「そば処 浦和」への来場を記録しました（"));
}

#[tokio::test]
async fn after_consent_a_scan_is_confirmed_at_once_and_a_double_tap_is_not_a_second_visit() {
    let chat = Chat::new().await;
    chat.say(postback("consent=2026-11")).await;
    let first = chat.texts(text(&format!("来場登録 {}", chat.code))).await;
    assert!(first[0].starts_with("「そば処 浦和」への来場を記録しました"), "{first:?}");
    let again = chat.texts(text(&format!("来場登録 {}", chat.code))).await;
    assert!(again[0].starts_with("「そば処 浦和」への来場は、すでに記録しています"), "{again:?}");
}

#[tokio::test]
async fn unknown_codes_help_and_an_old_consent_button_get_their_own_answers() {
    let chat = Chat::new().await;
    assert!(chat.texts(text("来場登録 0000000000")).await[0].starts_with("このQRコードは登録されていません"));
    assert!(chat.texts(text("来場登録 ???")).await[0].starts_with("このQRコードは登録されていません"));
    assert!(chat.texts(text("こんにちは")).await[0].starts_with("来場を記録するには"));
    let outdated = chat.texts(postback("consent=2019-01")).await;
    assert!(outdated[0].starts_with("この確認は古くなっています"));
    assert!(outdated.last().unwrap().contains("consent=2026-11"));
}

#[tokio::test]
async fn deletion_asks_first_and_then_deletes() {
    let chat = Chat::new().await;
    chat.say(postback("consent=2026-11")).await;
    let question = chat.say(text("削除")).await.unwrap();
    let Message::Confirm { yes, no, .. } = &question.messages[0] else { panic!("a question") };
    assert!(yes.data.starts_with("delete=confirm&until="));
    assert_eq!(no.data, "delete=cancel");
    assert!(chat.texts(postback(&no.data)).await[0].starts_with("削除を取りやめました"));
    assert!(chat.texts(postback(&yes.data)).await[0].starts_with("あなたのデータをすべて削除しました"));
}

#[tokio::test]
async fn blocks_and_unknown_events_get_no_reply() {
    let chat = Chat::new().await;
    assert!(chat.say(EventKind::Unfollow).await.is_none());
    assert!(chat.say(EventKind::Other { name: "beacon".into() }).await.is_none());
}

#[tokio::test]
async fn a_resident_with_visits_gets_a_one_time_history_code_and_one_without_is_told_so() {
    let chat = Chat::new().await;
    chat.say(postback("consent=2026-11")).await;
    assert!(chat.texts(text("履歴コード")).await[0].starts_with("来場の記録がないため"), "no visits, no code");
    chat.say(text(&format!("来場登録 {}", chat.code))).await;
    let answer = chat.texts(text("ｒｉｒｅｋｉ")).await;
    assert!(answer[0].starts_with("来場を記録するには"), "other words get help");
    let answer = chat.texts(text(" 履歴コード ")).await;
    assert!(answer[0].starts_with("保健所の調査用の「履歴コード」です。"), "{answer:?}");
    let code = answer[0].lines().nth(1).unwrap();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "a short grouped code: {code}");
    assert!(answer[0].contains("24時間"));
    let again = chat.texts(text("履歴コード")).await;
    assert_ne!(again[0].lines().nth(1).unwrap(), code, "each request gets a new code");
}
