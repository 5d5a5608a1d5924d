//! Pins without hardware: output pins that record every change of level with a timestamp
//! from an injectable clock, and an input pin whose level the test sets.
//!
//! Used by the tests (with tokio's paused clock, the timestamps are exact) and usable by the
//! simulated kiosk to show its lights.

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use embedded_hal::digital::{ErrorType, InputPin, OutputPin, PinState};

use super::{FeedbackPins, Line, PinChange, Signals};

/// The clock a [`Recorder`] stamps changes with: time since some start.
pub type Clock = Arc<dyn Fn() -> Duration + Send + Sync>;

/// Where recording pins write their changes. Cloning shares the record.
#[derive(Clone)]
pub struct Recorder {
    changes: Arc<Mutex<Vec<PinChange>>>,
    clock: Clock,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").field("changes", &self.changes()).finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder stamping changes with `clock`.
    pub fn new(clock: impl Fn() -> Duration + Send + Sync + 'static) -> Recorder {
        Recorder { changes: Arc::default(), clock: Arc::new(clock) }
    }

    /// A recorder stamping changes with the time since now on tokio's clock, which follows
    /// `tokio::time::pause` and `advance`. Must be called within a tokio runtime when paused.
    pub fn tokio_clock() -> Recorder {
        let start = tokio::time::Instant::now();
        Recorder::new(move || start.elapsed())
    }

    /// An output pin for `line`, starting low.
    pub fn pin(&self, line: Line) -> RecordingPin {
        RecordingPin { line, level: PinState::Low, recorder: self.clone() }
    }

    /// The three feedback outputs, each starting low.
    pub fn pins(&self) -> FeedbackPins<RecordingPin, RecordingPin, RecordingPin> {
        FeedbackPins { green_led: self.pin(Line::GreenLed), red_led: self.pin(Line::RedLed), buzzer: self.pin(Line::Buzzer) }
    }

    /// Every change so far, in order.
    pub fn changes(&self) -> Vec<PinChange> {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Which lines are high now (active-high wiring: what is on).
    pub fn signals(&self) -> Signals {
        self.changes().iter().fold(Signals::OFF, |signals, change| signals.with(change.line, change.state == PinState::High))
    }

    fn record(&self, line: Line, state: PinState) {
        let at = (self.clock)();
        self.changes.lock().unwrap_or_else(PoisonError::into_inner).push(PinChange { at, line, state });
    }
}

/// An output pin that records each change of its level (writing the level it already has
/// records nothing). It never fails.
#[derive(Debug)]
pub struct RecordingPin {
    line: Line,
    level: PinState,
    recorder: Recorder,
}

impl RecordingPin {
    fn set(&mut self, level: PinState) {
        if level != self.level {
            self.level = level;
            self.recorder.record(self.line, level);
        }
    }
}

impl ErrorType for RecordingPin {
    type Error = Infallible;
}

impl OutputPin for RecordingPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set(PinState::Low);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set(PinState::High);
        Ok(())
    }
}

/// An input pin whose level the test sets; clones share the level.
#[derive(Debug, Clone)]
pub struct MockInput {
    high: Arc<AtomicBool>,
}

impl MockInput {
    /// An input at `level`.
    pub fn new(level: PinState) -> MockInput {
        MockInput { high: Arc::new(AtomicBool::new(level == PinState::High)) }
    }

    /// Sets the level every clone reads.
    pub fn set(&self, level: PinState) {
        self.high.store(level == PinState::High, Ordering::SeqCst);
    }
}

impl ErrorType for MockInput {
    type Error = Infallible;
}

impl InputPin for MockInput {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.high.load(Ordering::SeqCst))
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.high.load(Ordering::SeqCst))
    }
}
