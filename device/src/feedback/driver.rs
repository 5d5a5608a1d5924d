//! Plays [`Pattern`]s on three output pins in a tokio task, so the run loop only sends an
//! [`Outcome`] and never waits for a beep to end.
//!
//! The task sleeps with `tokio::time` until each step and writes only the pins that change.
//! A new outcome interrupts the pattern playing at once; several sent together play only the
//! last. A pin that fails to switch is logged and the others go on.

use embedded_hal::digital::{Error as _, OutputPin};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Line, Outcome, Pattern, Signals, pattern};

/// The three feedback outputs, each any embedded-hal output pin whose high is "on" (wrap an
/// active-low one in [`super::Polarised`]).
#[derive(Debug)]
pub struct FeedbackPins<G, R, B> {
    /// The green LED.
    pub green_led: G,
    /// The red LED.
    pub red_led: R,
    /// The buzzer.
    pub buzzer: B,
}

/// The handle the run loop keeps: [`Feedback::play`] returns at once and the pattern plays
/// in the background. Dropping it (or [`Feedback::stop`]) switches everything off.
#[derive(Debug)]
pub struct Feedback {
    outcomes: Option<mpsc::UnboundedSender<Outcome>>,
    task: Option<JoinHandle<()>>,
}

impl Feedback {
    /// Switches every output off and starts the task that plays patterns on `pins`.
    /// Must be called within a tokio runtime.
    pub fn spawn<G, R, B>(pins: FeedbackPins<G, R, B>) -> Feedback
    where
        G: OutputPin + Send + 'static,
        R: OutputPin + Send + 'static,
        B: OutputPin + Send + 'static,
    {
        let (sender, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(Player { pins, shown: Signals::OFF }, receiver));
        Feedback { outcomes: Some(sender), task: Some(task) }
    }

    /// Feedback for a kiosk without GPIO: [`Feedback::play`] does nothing.
    pub fn disabled() -> Feedback {
        Feedback { outcomes: None, task: None }
    }

    /// Starts the pattern of `outcome`, interrupting any pattern still playing. Never blocks.
    pub fn play(&self, outcome: Outcome) {
        let Some(outcomes) = &self.outcomes else { return };
        if outcomes.send(outcome).is_err() {
            tracing::warn!(?outcome, "the feedback task has ended; no sound or light for this outcome");
        }
    }

    /// Cuts any pattern short, switches every output off and waits until that is done.
    pub async fn stop(mut self) {
        self.outcomes = None;
        let Some(task) = self.task.take() else { return };
        if let Err(error) = task.await {
            tracing::warn!(%error, "the feedback task failed");
        }
    }
}

/// How a pattern ended.
enum Played {
    /// All its steps were shown.
    Finished,
    /// Another outcome came first.
    Interrupted(Outcome),
    /// The handle was dropped.
    Closed,
}

async fn run<G: OutputPin, R: OutputPin, B: OutputPin>(mut player: Player<G, R, B>, mut outcomes: mpsc::UnboundedReceiver<Outcome>) {
    player.force(Signals::OFF);
    let mut pending = outcomes.recv().await.map(|first| latest(first, &mut outcomes));
    while let Some(outcome) = pending {
        pending = match player.play(&pattern(outcome), &mut outcomes).await {
            Played::Interrupted(next) => Some(next),
            Played::Finished => outcomes.recv().await.map(|first| latest(first, &mut outcomes)),
            Played::Closed => None,
        };
    }
    player.force(Signals::OFF);
}

/// The last of `first` and the outcomes already waiting behind it.
fn latest(first: Outcome, outcomes: &mut mpsc::UnboundedReceiver<Outcome>) -> Outcome {
    let mut last = first;
    while let Ok(next) = outcomes.try_recv() {
        last = next;
    }
    last
}

/// The pins and what they show.
struct Player<G, R, B> {
    pins: FeedbackPins<G, R, B>,
    shown: Signals,
}

impl<G: OutputPin, R: OutputPin, B: OutputPin> Player<G, R, B> {
    async fn play(&mut self, pattern: &Pattern, outcomes: &mut mpsc::UnboundedReceiver<Outcome>) -> Played {
        let start = Instant::now();
        for step in pattern.steps() {
            tokio::select! {
                biased;
                next = outcomes.recv() => {
                    return match next {
                        Some(next) => Played::Interrupted(latest(next, outcomes)),
                        None => Played::Closed,
                    };
                }
                () = tokio::time::sleep_until(start + step.at) => self.show(step.signals),
            }
        }
        Played::Finished
    }

    /// Writes the lines that differ from what is shown.
    fn show(&mut self, signals: Signals) {
        for line in Line::ALL {
            if signals.get(line) != self.shown.get(line) {
                self.write(line, signals.get(line));
            }
        }
    }

    /// Writes every line, whatever the pins were left at.
    fn force(&mut self, signals: Signals) {
        for line in Line::ALL {
            self.write(line, signals.get(line));
        }
    }

    fn write(&mut self, line: Line, on: bool) {
        let written = match line {
            Line::GreenLed => set(&mut self.pins.green_led, line, on),
            Line::RedLed => set(&mut self.pins.red_led, line, on),
            Line::Buzzer => set(&mut self.pins.buzzer, line, on),
        };
        if written {
            self.shown = self.shown.with(line, on);
        }
    }
}

/// Switches one pin; false (and a warning) when the pin refuses.
fn set<P: OutputPin>(pin: &mut P, line: Line, on: bool) -> bool {
    let result = if on { pin.set_high() } else { pin.set_low() };
    match result {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(?line, on, kind = ?error.kind(), ?error, "a feedback pin could not be switched");
            false
        }
    }
}
