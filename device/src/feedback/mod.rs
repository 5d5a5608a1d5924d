//! What a visitor hears and sees when the kiosk reads a pass: a buzzer, a green and a red LED,
//! and an optional help button that asks for the help screen.
//!
//! The sound and light of each [`Outcome`] are data: [`pattern`] is a pure function from an
//! outcome to a timed [`Pattern`] of [`Signals`], so every pattern is tested without time
//! passing. [`Feedback`] plays patterns in the background on any pins that implement
//! `embedded_hal::digital::OutputPin` (a new outcome interrupts the one playing), and
//! [`watch_help_button`] samples any `embedded_hal::digital::InputPin` through a pure
//! [`Debouncer`] and sends [`HelpPressed`] to the run loop.
//!
//! Hardware: [`rpi`] (cargo feature `gpio`) builds the pins on a Raspberry Pi with rppal;
//! [`mock`] has pins that record every change with a timestamp, for tests and the simulated
//! kiosk.
//!
//! **Architecture invariant:** only [`rpi`] names a GPIO crate. Everything else knows the
//! embedded-hal 1.0 pin traits, so replacing rppal (archived upstream) is one new file.

mod button;
mod driver;
pub mod mock;
mod pins;
#[cfg(feature = "gpio")]
pub mod rpi;

use std::time::Duration;

use embedded_hal::digital::PinState;

pub use button::{ButtonTiming, Debouncer, Edge, HelpPressed, watch_help_button};
pub use driver::{Feedback, FeedbackPins};
pub use pins::{PinConfig, PinConfigError, Polarised, Polarity};

/// What became of a scan (or of the kiosk), as the visitor should hear and see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The pass was accepted and the scan is safely stored.
    Accepted,
    /// The pass was refused (forged, expired, revoked, unreadable as a pass).
    Refused,
    /// The scan buffer is full: the kiosk refuses scans rather than drop stored ones.
    StorageFull,
    /// The kiosk could not record the scan for another reason.
    Error,
}

impl Outcome {
    /// Every outcome, for tests and documentation.
    pub const ALL: [Outcome; 4] = [Outcome::Accepted, Outcome::Refused, Outcome::StorageFull, Outcome::Error];
}

/// One of the three feedback outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Line {
    /// The green LED.
    GreenLed,
    /// The red LED.
    RedLed,
    /// The (active) buzzer.
    Buzzer,
}

impl Line {
    /// The outputs in the order the driver sets them within one instant.
    pub const ALL: [Line; 3] = [Line::GreenLed, Line::RedLed, Line::Buzzer];
}

/// Which outputs are on at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signals {
    /// The green LED is lit.
    pub green_led: bool,
    /// The red LED is lit.
    pub red_led: bool,
    /// The buzzer sounds.
    pub buzzer: bool,
}

impl Signals {
    /// Everything off: the state between patterns.
    pub const OFF: Signals = Signals { green_led: false, red_led: false, buzzer: false };

    /// Whether `line` is on.
    pub fn get(self, line: Line) -> bool {
        match line {
            Line::GreenLed => self.green_led,
            Line::RedLed => self.red_led,
            Line::Buzzer => self.buzzer,
        }
    }

    /// The same signals with `line` switched to `on`.
    pub fn with(self, line: Line, on: bool) -> Signals {
        match line {
            Line::GreenLed => Signals { green_led: on, ..self },
            Line::RedLed => Signals { red_led: on, ..self },
            Line::Buzzer => Signals { buzzer: on, ..self },
        }
    }
}

/// From `at` after the pattern starts, the outputs show `signals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Time since the pattern started.
    pub at: Duration,
    /// What is on from then until the next step.
    pub signals: Signals,
}

/// One pin switched at one moment: what the driver does and what the mock records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinChange {
    /// Time since the pattern (or the recording) started.
    pub at: Duration,
    /// The output.
    pub line: Line,
    /// Its new level: `High` is on for an active-high output.
    pub state: PinState,
}

/// A timed sequence of [`Signals`]: it starts at zero, its times strictly increase, each step
/// differs from the one before, and its last step switches everything off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    steps: Vec<Step>,
}

impl Pattern {
    /// The steps, in time order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// When the last step (everything off) happens.
    pub fn duration(&self) -> Duration {
        self.steps.last().map_or(Duration::ZERO, |step| step.at)
    }

    /// What is on at `at` after the start (everything off before the start and at the end).
    pub fn signals_at(&self, at: Duration) -> Signals {
        self.steps.iter().take_while(|step| step.at <= at).last().map_or(Signals::OFF, |step| step.signals)
    }

    /// The pin changes that play this pattern on outputs that start off (active high).
    pub fn changes(&self) -> Vec<PinChange> {
        let mut changes = Vec::new();
        let mut current = Signals::OFF;
        for step in &self.steps {
            for line in Line::ALL {
                let on = step.signals.get(line);
                if on != current.get(line) {
                    changes.push(PinChange { at: step.at, line, state: PinState::from(on) });
                }
            }
            current = step.signals;
        }
        changes
    }

    /// The pattern in which each `(line, from_ms, until_ms)` is on from `from_ms` to `until_ms`.
    fn from_intervals(intervals: &[(Line, u64, u64)]) -> Pattern {
        let mut times: Vec<u64> = intervals.iter().flat_map(|&(_, from, until)| [from, until]).collect();
        times.push(0);
        times.sort_unstable();
        times.dedup();
        let mut steps: Vec<Step> = Vec::new();
        for t in times {
            let signals = Line::ALL.into_iter().fold(Signals::OFF, |signals, line| {
                let on = intervals.iter().any(|&(l, from, until)| l == line && from <= t && t < until);
                signals.with(line, on)
            });
            if steps.last().map(|step| step.signals) != Some(signals) {
                steps.push(Step { at: Duration::from_millis(t), signals });
            }
        }
        Pattern { steps }
    }
}

/// A short beep, in milliseconds.
const BEEP_MS: u64 = 100;

/// The sound and light of `outcome`:
///
/// | Outcome | Light | Sound |
/// |---|---|---|
/// | `Accepted` | green on 1.5 s | one short beep (0.1 s) |
/// | `Refused` | red on 2 s | three short beeps (0.1 s, 0.1 s apart) |
/// | `StorageFull` | red blinks slowly: 0.5 s on, 0.5 s off, three times | one long beep (0.8 s) |
/// | `Error` | red blinks fast: 0.2 s on, 0.2 s off, five times | two long beeps (0.4 s, 0.2 s apart) |
///
/// Green means only "accepted"; every other outcome is red, and each has its own sound, so
/// a visitor who cannot see the LEDs still tells them apart.
pub fn pattern(outcome: Outcome) -> Pattern {
    use Line::{Buzzer, GreenLed, RedLed};
    match outcome {
        Outcome::Accepted => Pattern::from_intervals(&[(GreenLed, 0, 1500), (Buzzer, 0, BEEP_MS)]),
        Outcome::Refused => Pattern::from_intervals(&[
            (RedLed, 0, 2000),
            (Buzzer, 0, BEEP_MS),
            (Buzzer, 2 * BEEP_MS, 3 * BEEP_MS),
            (Buzzer, 4 * BEEP_MS, 5 * BEEP_MS),
        ]),
        Outcome::StorageFull => {
            Pattern::from_intervals(&[(RedLed, 0, 500), (RedLed, 1000, 1500), (RedLed, 2000, 2500), (Buzzer, 0, 800)])
        }
        Outcome::Error => Pattern::from_intervals(&[
            (RedLed, 0, 200),
            (RedLed, 400, 600),
            (RedLed, 800, 1000),
            (RedLed, 1200, 1400),
            (RedLed, 1600, 1800),
            (Buzzer, 0, 400),
            (Buzzer, 600, 1000),
        ]),
    }
}
