//! What the kiosk shows, as pure functions of its state drawn on any
//! `embedded_graphics::DrawTarget`: the same code paints the Pi's framebuffer, the PNG frames
//! the golden-image tests compare, and the browser preview.
//!
//! [`draw`] takes a [`Screen`] (the state to show) and lays it out for the target's size; it
//! does no I/O and keeps no state, so every frame is reproducible from its inputs. Text is
//! IPAex Gothic rasterised by `ab_glyph` ([`Fonts`], loaded once at start-up); Japanese comes
//! first and larger, English second and smaller. The screens that answer a pass held up to
//! the camera put a big mark (a check, a cross, an exclamation mark) drawn from geometry beside
//! their text, so the answer reads at a glance from a metre away.

mod help;
mod layout;
mod mark;
mod png;
mod qr;
mod text;
mod verdict;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::DrawTarget;

pub use self::png::PngFrame;
pub use self::text::{DEFAULT_FONT_PATH, FontError, Fonts};

use self::layout::{CodeScreen, Message, Palette};
use self::mark::Mark;
use self::verdict::Verdict;

/// The state the screen shows. Each variant is one screen; the kiosk's state machine picks it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Screen {
    /// Paired, clock trusted, online: the rotating check-in code.
    Idle {
        /// The place's name as registered (up to 80 characters; long names shrink to fit).
        venue_name: String,
        /// The full upper-case URL to encode, `HTTPS://HOST/K/<token>`.
        checkin_url: String,
        /// Seconds until the next code, shown as a countdown.
        seconds_to_next: u32,
        /// Pass scans kept on the kiosk and not yet sent to the server, shown as a small
        /// "未送信 12件" chip when above zero.
        pending_scans: u32,
    },
    /// Not paired yet: how a venue pairs this kiosk.
    Unpaired {
        /// What to do, shown verbatim in a box (e.g. the pair command).
        how_to: String,
    },
    /// The clock is not known to be right, so no code is shown (it would be refused).
    ClockUntrusted,
    /// The server cannot be reached. Codes stay valid (the server checks them without the
    /// kiosk), so the kiosk keeps showing them with a small notice.
    Offline {
        /// When the connection was lost, already formatted in local time (e.g. "18:20から").
        since: String,
        /// The code to show, or `None` when there is none to show.
        checkin_url: Option<String>,
        /// The place's name.
        venue_name: String,
        /// Seconds until the next code.
        seconds_to_next: u32,
        /// Pass scans kept on the kiosk and not yet sent to the server, shown as a small
        /// "未送信 12件" chip when above zero (with or without a code).
        pending_scans: u32,
    },
    /// The kiosk was revoked or its place withdrawn: no codes.
    Disabled,
    /// A pass held up to the camera was checked and its scan is stored on the kiosk: a green
    /// check mark, "来場を記録しました", the pass's label and the time. Shown for a few
    /// seconds, then the code screen returns.
    ScanAccepted {
        /// The name label the resident chose for the pass (e.g. "こども1"), shown when the
        /// pass carries one. A long label shrinks, then ends in "…".
        label: Option<String>,
        /// The time of the scan, already formatted in local time (e.g. "14:05").
        time: String,
    },
    /// A pass held up to the camera was refused: a red cross and why, with what to do.
    /// (The same pass seen again within a short time is not refused: it is one scan.)
    ScanRefused {
        /// Why the pass was refused; each reason has its own sentence.
        reason: RefusalReason,
    },
    /// What the help button shows: how to check in with LINE or with a pass, and how to get
    /// a pass.
    Help,
    /// A pass was held up while the kiosk's scan storage is full: it takes no new scans until
    /// it has sent the stored ones, and asks the visitor to scan the code with LINE instead.
    /// Shown in answer to a scan, for a few seconds, then the code screen returns.
    StorageFull,
}

/// Why a pass held up to the camera was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// The pass's signature does not verify with the server's key: forged, altered, or not
    /// an oshirase pass at all.
    Forged,
    /// The pass is past its expiry.
    Expired,
    /// The pass is on the revocation list (its resident cancelled it in LINE).
    Revoked,
    /// A code was seen but could not be read (damaged, blurred, partly hidden).
    Unreadable,
}

/// Draws `screen` on `target`, laid out for the target's size (designed for 800×480,
/// 1024×600 and 1920×1080; portrait sizes stack the code above the text).
///
/// Pure: the same state, fonts and size always give the same pixels. The only error is the
/// target's own.
pub fn draw<D>(screen: &Screen, fonts: &Fonts, target: &mut D) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    match screen {
        Screen::Idle {
            venue_name,
            checkin_url,
            seconds_to_next,
            pending_scans,
        } => {
            let code = CodeScreen {
                venue_name,
                checkin_url,
                seconds_to_next: *seconds_to_next,
                offline_since: None,
                pending_scans: *pending_scans,
            };
            layout::code_screen(&code, fonts, target)
        }
        Screen::Offline {
            since,
            checkin_url: Some(checkin_url),
            venue_name,
            seconds_to_next,
            pending_scans,
        } => {
            let code = CodeScreen {
                venue_name,
                checkin_url,
                seconds_to_next: *seconds_to_next,
                offline_since: Some(since),
                pending_scans: *pending_scans,
            };
            layout::code_screen(&code, fonts, target)
        }
        Screen::Offline {
            since,
            checkin_url: None,
            venue_name,
            pending_scans,
            ..
        } => {
            let detail = format!("サーバーと通信できません（{since}）");
            let message = Message {
                accent: Palette::AMBER,
                heading: Some(venue_name),
                title_ja: "ただいまチェックインできません",
                title_en: "Check-in is not available right now.",
                detail_ja: Some(&detail),
                detail_en: Some("The kiosk is offline. Please let the staff know."),
                code: None,
                pending_scans: *pending_scans,
            };
            layout::message_screen(&message, fonts, target)
        }
        Screen::Unpaired { how_to } => {
            let message = Message {
                accent: Palette::BLUE,
                heading: None,
                title_ja: "この端末はまだ登録されていません",
                title_en: "This kiosk is not paired yet.",
                detail_ja: Some(
                    "施設の管理ページで発行した\u{200B}ペアリングコードで\u{200B}登録してください",
                ),
                detail_en: Some("Pair it with the code from the venue's management page:"),
                code: Some(how_to),
                pending_scans: 0,
            };
            layout::message_screen(&message, fonts, target)
        }
        Screen::ClockUntrusted => {
            let message = Message {
                accent: Palette::AMBER,
                heading: None,
                title_ja: "時刻を確認しています",
                title_en: "Checking the time...",
                detail_ja: Some(
                    "正しい時刻が\u{200B}わかるまで、\u{200B}チェックインの\u{200B}コードは\u{200B}表示されません。\u{200B}しばらく\u{200B}お待ちください",
                ),
                detail_en: Some(
                    "The check-in code appears once the clock is set. Please wait a moment.",
                ),
                code: None,
                pending_scans: 0,
            };
            layout::message_screen(&message, fonts, target)
        }
        Screen::Disabled => layout::message_screen(&layout::DISABLED, fonts, target),
        Screen::ScanAccepted { label, time } => {
            let detail_ja = format!("記録時刻 {time}");
            let detail_en = format!("Recorded at {time}");
            let verdict = Verdict {
                mark: Mark::Check,
                color: Palette::GREEN,
                badge: label.as_deref(),
                title_ja: "来場を記録しました",
                title_en: "Your visit has been recorded.",
                detail_ja: &detail_ja,
                detail_en: &detail_en,
            };
            verdict::verdict_screen(&verdict, fonts, target)
        }
        Screen::ScanRefused { reason } => verdict::verdict_screen(&refusal(*reason), fonts, target),
        Screen::Help => help::help_screen(fonts, target),
        Screen::StorageFull => verdict::verdict_screen(&STORAGE_FULL, fonts, target),
    }
}

/// How to get a new pass, said on every refusal a new pass cures.
const NEW_PASS_EN: &str = "Send \"パス\" in LINE to get a new one.";

/// The refused screen for `reason`: its own sentence, what to do, a red cross.
fn refusal(reason: RefusalReason) -> Verdict<'static> {
    let (title_ja, title_en, detail_ja, detail_en) = match reason {
        RefusalReason::Forged => (
            "このパスは使えません",
            "This pass is not valid.",
            "正しいパスとして\u{200B}確認できませんでした。\u{200B}LINEで「パス」と送ると、\u{200B}新しいパスを\u{200B}もらえます",
            "It could not be verified as a genuine pass. Send \"パス\" in LINE to get a new one.",
        ),
        RefusalReason::Expired => (
            "このパスは\u{200B}有効期限が\u{200B}切れています",
            "This pass has expired.",
            "LINEで「パス」と送ると、\u{200B}新しいパスを\u{200B}もらえます",
            NEW_PASS_EN,
        ),
        RefusalReason::Revoked => (
            "このパスは\u{200B}取り消されています",
            "This pass has been cancelled.",
            "LINEで\u{200B}取り消された\u{200B}パスです。\u{200B}LINEで「パス」と送ると、\u{200B}新しいパスを\u{200B}もらえます",
            "It was cancelled in LINE. Send \"パス\" in LINE to get a new one.",
        ),
        RefusalReason::Unreadable => (
            "パスを\u{200B}読み取れませんでした",
            "The pass could not be read.",
            "パスの\u{200B}QRコードを\u{200B}カメラに\u{200B}まっすぐ向けて、\u{200B}もう一度\u{200B}かざしてください",
            "Hold the code straight in front of the camera and try again.",
        ),
    };
    Verdict {
        mark: Mark::Cross,
        color: Palette::RED,
        badge: None,
        title_ja,
        title_en,
        detail_ja,
        detail_en,
    }
}

/// The storage-full screen: an amber exclamation mark, and LINE as the way in.
const STORAGE_FULL: Verdict<'static> = Verdict {
    mark: Mark::Exclamation,
    color: Palette::AMBER,
    badge: None,
    title_ja: "ただいま\u{200B}パスは\u{200B}使えません",
    title_en: "Passes cannot be used right now.",
    detail_ja: "この端末の\u{200B}記録が\u{200B}いっぱいです。\u{200B}サーバーに\u{200B}送り終えるまで、\u{200B}このあと\u{200B}表示される\u{200B}QRコードを\u{200B}LINEで\u{200B}読み取ってください",
    detail_en: "The kiosk's storage is full. Until it has sent its records, please scan the code shown next with LINE.",
};
