//! The help button: a pure [`Debouncer`] over sampled levels, and a tokio task that samples
//! any embedded-hal input pin and tells the run loop [`HelpPressed`].
//!
//! A mechanical button bounces for a few milliseconds when pressed or released; a level
//! counts only once it has been read the same several samples in a row. The first steady
//! level after start-up is taken as it is, so a button stuck down does not fire at boot.

use std::time::Duration;

use embedded_hal::digital::{Error as _, InputPin};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

/// The visitor pressed the help button: show the help screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpPressed;

/// A debounced change of the button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Held down for the debounce time after being up.
    Pressed,
    /// Up for the debounce time after being down.
    Released,
}

/// Turns raw samples (pressed or not) into [`Edge`]s.
#[derive(Debug, Clone)]
pub struct Debouncer {
    needed: u8,
    steady: Option<bool>,
    candidate: bool,
    count: u8,
}

impl Debouncer {
    /// A debouncer that takes a level once it has been sampled `samples` times in a row
    /// (at least once).
    pub fn new(samples: u8) -> Debouncer {
        Debouncer { needed: samples.max(1), steady: None, candidate: false, count: 0 }
    }

    /// Takes one sample; returns the edge it completes, if any.
    pub fn sample(&mut self, pressed: bool) -> Option<Edge> {
        if pressed == self.candidate {
            self.count = self.count.saturating_add(1);
        } else {
            self.candidate = pressed;
            self.count = 1;
        }
        if self.count < self.needed || self.steady == Some(pressed) {
            return None;
        }
        let before = self.steady.replace(pressed);
        before.map(|_| if pressed { Edge::Pressed } else { Edge::Released })
    }

    /// Whether the debounced level is "pressed".
    pub fn is_pressed(&self) -> bool {
        self.steady == Some(true)
    }
}

/// How often the button is read, and how many equal reads make a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonTiming {
    /// Time between two reads.
    pub period: Duration,
    /// Equal reads in a row that make a level.
    pub samples: u8,
}

impl Default for ButtonTiming {
    /// A read every 10 ms, five in a row: a press counts after 50 ms.
    fn default() -> ButtonTiming {
        ButtonTiming { period: Duration::from_millis(10), samples: 5 }
    }
}

/// Samples `pin` (high = pressed; wrap a button to ground in [`super::Polarised`] with
/// [`super::Polarity::ActiveLow`]) in a tokio task and sends one [`HelpPressed`] per press.
/// The task ends when the receiver is dropped. Must be called within a tokio runtime.
pub fn watch_help_button<P: InputPin + Send + 'static>(mut pin: P, timing: ButtonTiming) -> mpsc::Receiver<HelpPressed> {
    let (sender, receiver) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut debouncer = Debouncer::new(timing.samples);
        let mut ticks = tokio::time::interval(timing.period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut failing = false;
        while !sender.is_closed() {
            ticks.tick().await;
            let pressed = match pin.is_high() {
                Ok(pressed) => pressed,
                Err(error) => {
                    if !failing {
                        tracing::warn!(kind = ?error.kind(), ?error, "the help button cannot be read");
                    }
                    failing = true;
                    continue;
                }
            };
            failing = false;
            if debouncer.sample(pressed) == Some(Edge::Pressed) {
                // A full queue already holds a press the run loop has not seen: nothing is lost.
                let _ = sender.try_send(HelpPressed);
            }
        }
    });
    receiver
}
