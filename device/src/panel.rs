//! What the kiosk shows and reports at this moment, shared between the run loop (which keeps it
//! current), the framebuffer thread and the preview: the state machine's display, the number
//! of unsent scans, a scan or help screen shown for a few seconds over the code
//! ([`Overlay`]), and the scan counts the preview's `/state` reports.

use std::sync::{Arc, Mutex};

use crate::feedback::Outcome;
use crate::preview::screen_for;
use crate::protocol::DisplayState;
use crate::screen::Screen;
use crate::station::ScanOutcome;

/// The panel, shared.
pub type Shared = Arc<Mutex<Panel>>;

/// Everything drawn and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    /// The state machine's screen.
    pub display: DisplayState,
    /// Scans kept and not yet acknowledged (the "未送信 N件" chip).
    pub pending_scans: u64,
    /// A scan answer or the help screen, shown instead of `display` for a few seconds.
    pub overlay: Option<Screen>,
    /// Scans accepted since the start.
    pub accepted_scans: u64,
    /// What became of the last pass held up.
    pub last_scan: Option<ScanOutcome>,
    /// The last light and sound played.
    pub feedback: Option<Outcome>,
}

impl Panel {
    /// A panel showing `display`, nothing scanned yet.
    pub fn new(display: DisplayState) -> Panel {
        Panel { display, pending_scans: 0, overlay: None, accepted_scans: 0, last_scan: None, feedback: None }
    }

    /// A new shared panel.
    pub fn shared(display: DisplayState) -> Shared {
        Arc::new(Mutex::new(Panel::new(display)))
    }

    /// The screen to draw: the overlay if there is one, else the display with the unsent
    /// scans. `how_to_pair` is shown on the unpaired screen.
    pub fn screen(&self, how_to_pair: &str) -> Screen {
        match &self.overlay {
            Some(screen) => screen.clone(),
            None => screen_for(&self.display, u32::try_from(self.pending_scans).unwrap_or(u32::MAX), how_to_pair),
        }
    }
}

/// How long a screen is shown over the code, in milliseconds.
pub fn overlay_ms(screen: &Screen) -> u64 {
    match screen {
        Screen::ScanAccepted { .. } => 3_000,
        Screen::ScanRefused { .. } => 4_000,
        Screen::StorageFull => 5_000,
        Screen::Help => 20_000,
        _ => 3_000,
    }
}

/// A screen shown over the code until a monotonic time; a new one replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlay {
    shown: Option<(Screen, u64)>,
}

impl Overlay {
    /// Shows `screen` from `now_ms` for its [`overlay_ms`].
    pub fn show(&mut self, screen: Screen, now_ms: u64) {
        let until = now_ms.saturating_add(overlay_ms(&screen));
        self.shown = Some((screen, until));
    }

    /// The screen shown at `now_ms`, if its time is not over.
    pub fn current(&mut self, now_ms: u64) -> Option<Screen> {
        if self.shown.as_ref().is_some_and(|(_, until)| now_ms >= *until) {
            self.shown = None;
        }
        self.shown.as_ref().map(|(screen, _)| screen.clone())
    }

    /// Milliseconds from `now_ms` until the screen goes, if one is shown.
    pub fn ends_in(&self, now_ms: u64) -> Option<u64> {
        self.shown.as_ref().map(|(_, until)| until.saturating_sub(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_is_shown_for_its_time_then_the_code_returns() {
        let mut overlay = Overlay::default();
        assert_eq!(overlay.current(0), None);
        let accepted = Screen::ScanAccepted { label: None, time: "14:05".into() };
        overlay.show(accepted.clone(), 1_000);
        assert_eq!(overlay.current(3_999), Some(accepted));
        assert_eq!(overlay.ends_in(3_500), Some(500));
        assert_eq!(overlay.current(4_000), None);
        assert_eq!(overlay.ends_in(4_000), None);
        overlay.show(Screen::Help, 5_000);
        overlay.show(Screen::StorageFull, 6_000);
        assert_eq!(overlay.current(10_999), Some(Screen::StorageFull), "the newest replaces the one shown");
        assert_eq!(overlay.current(11_000), None);
    }

    #[test]
    fn the_code_screen_shows_the_unsent_scans() {
        let display = DisplayState::Code { venue_name: "市民ホール".into(), checkin_url: "HTTPS://X/K/Y".into(), seconds_to_next: 5, offline_since_ms: None };
        let mut panel = Panel::new(display);
        panel.pending_scans = 12;
        assert!(matches!(panel.screen(""), Screen::Idle { pending_scans: 12, .. }));
        panel.overlay = Some(Screen::Help);
        assert_eq!(panel.screen(""), Screen::Help);
    }
}
