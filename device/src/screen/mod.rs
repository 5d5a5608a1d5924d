//! What the kiosk shows, as pure functions of its state drawn on any
//! `embedded_graphics::DrawTarget`: the same code paints the Pi's framebuffer, the PNG frames
//! the golden-image tests compare, and the browser preview.
//!
//! [`draw`] takes a [`Screen`] (the state to show) and lays it out for the target's size; it
//! does no I/O and keeps no state, so every frame is reproducible from its inputs. Text is
//! IPAex Gothic rasterised by `ab_glyph` ([`Fonts`], loaded once at start-up); Japanese comes
//! first and larger, English second and smaller.

mod layout;
mod png;
mod qr;
mod text;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::DrawTarget;

pub use self::png::PngFrame;
pub use self::text::{DEFAULT_FONT_PATH, FontError, Fonts};

use self::layout::{CodeScreen, Message, Palette};

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
    },
    /// The kiosk was revoked or its place withdrawn: no codes.
    Disabled,
    // Future: the camera-scan screens (scan accepted, scan refused, …) go here.
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
        } => {
            let code = CodeScreen {
                venue_name,
                checkin_url,
                seconds_to_next: *seconds_to_next,
                offline_since: None,
            };
            layout::code_screen(&code, fonts, target)
        }
        Screen::Offline {
            since,
            checkin_url: Some(checkin_url),
            venue_name,
            seconds_to_next,
        } => {
            let code = CodeScreen {
                venue_name,
                checkin_url,
                seconds_to_next: *seconds_to_next,
                offline_since: Some(since),
            };
            layout::code_screen(&code, fonts, target)
        }
        Screen::Offline {
            since,
            checkin_url: None,
            venue_name,
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
            };
            layout::message_screen(&message, fonts, target)
        }
        Screen::Disabled => layout::message_screen(&layout::DISABLED, fonts, target),
    }
}
