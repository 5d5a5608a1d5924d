//! The kiosk's buzzer, LEDs and help button: the patterns checked as data, the driver played
//! on recording pins under tokio's paused clock (exact timestamps, no real waiting), the
//! debouncer fed sample by sample, and the pin settings parsed.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::time::Duration;

use embedded_hal::digital::{ErrorKind, ErrorType, InputPin, OutputPin, PinState};
use oshirase_device::feedback::mock::{MockInput, Recorder};
use oshirase_device::feedback::{
    ButtonTiming, Debouncer, Edge, Feedback, FeedbackPins, HelpPressed, Line, Outcome, PinChange, PinConfig, PinConfigError,
    Polarised, Polarity, Signals, pattern, watch_help_button,
};
use tokio::time::{Instant, sleep};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn change(at_ms: u64, line: Line, state: PinState) -> PinChange {
    PinChange { at: ms(at_ms), line, state }
}

/// When `line` is on in the pattern of `outcome`, as (from, until) in milliseconds.
fn on_intervals(outcome: Outcome, line: Line) -> Vec<(u64, u64)> {
    let mut intervals = Vec::new();
    let mut from = None;
    for change in pattern(outcome).changes().into_iter().filter(|change| change.line == line) {
        let at = u64::try_from(change.at.as_millis()).unwrap();
        match change.state {
            PinState::High => from = Some(at),
            PinState::Low => intervals.push((from.take().unwrap(), at)),
        }
    }
    assert_eq!(from, None, "{outcome:?} leaves {line:?} on");
    intervals
}

// --- The patterns, as data ---

#[test]
fn an_accepted_scan_lights_green_for_one_and_a_half_seconds_with_one_short_beep() {
    assert_eq!(on_intervals(Outcome::Accepted, Line::GreenLed), [(0, 1500)]);
    assert!(on_intervals(Outcome::Accepted, Line::RedLed).is_empty());
    assert_eq!(on_intervals(Outcome::Accepted, Line::Buzzer), [(0, 100)]);
}

#[test]
fn a_refused_scan_lights_red_for_two_seconds_with_three_short_beeps() {
    assert_eq!(on_intervals(Outcome::Refused, Line::RedLed), [(0, 2000)]);
    assert!(on_intervals(Outcome::Refused, Line::GreenLed).is_empty());
    assert_eq!(on_intervals(Outcome::Refused, Line::Buzzer), [(0, 100), (200, 300), (400, 500)]);
}

#[test]
fn a_full_buffer_blinks_red_slowly_with_one_long_beep() {
    assert_eq!(on_intervals(Outcome::StorageFull, Line::RedLed), [(0, 500), (1000, 1500), (2000, 2500)]);
    assert_eq!(on_intervals(Outcome::StorageFull, Line::Buzzer), [(0, 800)]);
}

#[test]
fn an_error_blinks_red_fast_with_two_long_beeps() {
    assert_eq!(on_intervals(Outcome::Error, Line::RedLed), [(0, 200), (400, 600), (800, 1000), (1200, 1400), (1600, 1800)]);
    assert_eq!(on_intervals(Outcome::Error, Line::Buzzer), [(0, 400), (600, 1000)]);
}

#[test]
fn only_an_accepted_scan_lights_green_and_it_never_lights_red() {
    for outcome in Outcome::ALL {
        let green = !on_intervals(outcome, Line::GreenLed).is_empty();
        let red = !on_intervals(outcome, Line::RedLed).is_empty();
        assert_eq!(green, outcome == Outcome::Accepted, "{outcome:?}");
        assert_eq!(red, outcome != Outcome::Accepted, "{outcome:?}");
    }
}

#[test]
fn every_outcome_sounds_different() {
    for (i, a) in Outcome::ALL.into_iter().enumerate() {
        for b in Outcome::ALL.into_iter().skip(i + 1) {
            assert_ne!(on_intervals(a, Line::Buzzer), on_intervals(b, Line::Buzzer), "{a:?} and {b:?}");
        }
    }
}

#[test]
fn every_pattern_starts_at_once_and_ends_with_everything_off() {
    for outcome in Outcome::ALL {
        let pattern = pattern(outcome);
        let steps = pattern.steps();
        assert_eq!(steps[0].at, Duration::ZERO, "{outcome:?}");
        assert_ne!(steps[0].signals, Signals::OFF, "{outcome:?} shows nothing at first");
        assert_eq!(steps.last().unwrap().signals, Signals::OFF, "{outcome:?}");
        assert_eq!(pattern.duration(), steps.last().unwrap().at);
        for pair in steps.windows(2) {
            assert!(pair[0].at < pair[1].at, "{outcome:?}: times must increase");
            assert_ne!(pair[0].signals, pair[1].signals, "{outcome:?}: a step that changes nothing");
        }
        assert!(pattern.duration() <= Duration::from_secs(3), "{outcome:?} is too long for a queue of visitors");
    }
}

#[test]
fn a_pattern_says_what_is_on_at_any_moment() {
    let accepted = pattern(Outcome::Accepted);
    assert_eq!(accepted.signals_at(ms(0)), Signals { green_led: true, red_led: false, buzzer: true });
    assert_eq!(accepted.signals_at(ms(99)), Signals { green_led: true, red_led: false, buzzer: true });
    assert_eq!(accepted.signals_at(ms(100)), Signals { green_led: true, red_led: false, buzzer: false });
    assert!(accepted.signals_at(ms(1499)).green_led);
    assert_eq!(accepted.signals_at(ms(1500)), Signals::OFF);
    assert_eq!(accepted.signals_at(ms(60_000)), Signals::OFF);
}

// --- The driver, on recording pins ---

#[tokio::test(start_paused = true)]
async fn the_driver_plays_each_pattern_on_the_pins_exactly_as_written() {
    for outcome in Outcome::ALL {
        let recorder = Recorder::tokio_clock();
        let feedback = Feedback::spawn(recorder.pins());
        feedback.play(outcome);
        sleep(pattern(outcome).duration() + ms(1000)).await;
        assert_eq!(recorder.changes(), pattern(outcome).changes(), "{outcome:?}");
        assert_eq!(recorder.signals(), Signals::OFF);
        feedback.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn play_returns_at_once_and_the_pattern_plays_in_the_background() {
    let recorder = Recorder::tokio_clock();
    let feedback = Feedback::spawn(recorder.pins());
    let before = Instant::now();
    feedback.play(Outcome::Refused);
    assert_eq!(Instant::now(), before);
    assert!(recorder.changes().is_empty());
    sleep(ms(50)).await;
    assert_eq!(recorder.signals(), Signals { green_led: false, red_led: true, buzzer: true });
    sleep(ms(1000)).await;
    assert_eq!(recorder.signals(), Signals { green_led: false, red_led: true, buzzer: false });
}

#[tokio::test(start_paused = true)]
async fn a_new_outcome_interrupts_the_running_pattern() {
    let recorder = Recorder::tokio_clock();
    let feedback = Feedback::spawn(recorder.pins());
    feedback.play(Outcome::Accepted);
    sleep(ms(500)).await;
    feedback.play(Outcome::Refused);
    sleep(ms(5000)).await;
    use Line::{Buzzer, GreenLed, RedLed};
    use PinState::{High, Low};
    assert_eq!(
        recorder.changes(),
        [
            change(0, GreenLed, High),
            change(0, Buzzer, High),
            change(100, Buzzer, Low),
            // Refused from 500 ms: green goes at once, never to come back at 1 500 ms.
            change(500, GreenLed, Low),
            change(500, RedLed, High),
            change(500, Buzzer, High),
            change(600, Buzzer, Low),
            change(700, Buzzer, High),
            change(800, Buzzer, Low),
            change(900, Buzzer, High),
            change(1000, Buzzer, Low),
            change(2500, RedLed, Low),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn outcomes_sent_together_play_only_the_last() {
    let recorder = Recorder::tokio_clock();
    let feedback = Feedback::spawn(recorder.pins());
    feedback.play(Outcome::Accepted);
    feedback.play(Outcome::Error);
    feedback.play(Outcome::Refused);
    sleep(ms(5000)).await;
    assert_eq!(recorder.changes(), pattern(Outcome::Refused).changes());
}

#[tokio::test(start_paused = true)]
async fn stopping_switches_everything_off_at_once() {
    let recorder = Recorder::tokio_clock();
    let feedback = Feedback::spawn(recorder.pins());
    feedback.play(Outcome::Refused);
    sleep(ms(250)).await;
    feedback.stop().await;
    assert_eq!(recorder.signals(), Signals::OFF);
    // At 250 ms the red LED is on and the second beep sounds.
    let at_stop: Vec<PinChange> = recorder.changes().into_iter().filter(|c| c.at == ms(250)).collect();
    assert_eq!(at_stop, [change(250, Line::RedLed, PinState::Low), change(250, Line::Buzzer, PinState::Low)]);
    sleep(ms(5000)).await;
    assert_eq!(recorder.changes().last().unwrap().at, ms(250), "nothing plays after stop");
}

#[tokio::test(start_paused = true)]
async fn an_active_low_buzzer_is_pulled_low_to_sound() {
    let recorder = Recorder::tokio_clock();
    let pins = FeedbackPins {
        green_led: recorder.pin(Line::GreenLed),
        red_led: recorder.pin(Line::RedLed),
        buzzer: Polarised::new(recorder.pin(Line::Buzzer), Polarity::ActiveLow),
    };
    let feedback = Feedback::spawn(pins);
    feedback.play(Outcome::Accepted);
    sleep(ms(2000)).await;
    use PinState::{High, Low};
    assert_eq!(
        recorder.changes(),
        [
            change(0, Line::Buzzer, High), // switched off when the driver starts
            change(0, Line::GreenLed, High),
            change(0, Line::Buzzer, Low),
            change(100, Line::Buzzer, High),
            change(1500, Line::GreenLed, Low),
        ]
    );
}

/// An output pin of some other GPIO crate that has lost its line.
#[derive(Debug)]
struct BrokenPin;

#[derive(Debug)]
struct Gone;

impl embedded_hal::digital::Error for Gone {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl ErrorType for BrokenPin {
    type Error = Gone;
}

impl OutputPin for BrokenPin {
    fn set_low(&mut self) -> Result<(), Gone> {
        Err(Gone)
    }

    fn set_high(&mut self) -> Result<(), Gone> {
        Err(Gone)
    }
}

#[tokio::test(start_paused = true)]
async fn a_pin_that_fails_does_not_silence_the_others() {
    let recorder = Recorder::tokio_clock();
    let pins = FeedbackPins { green_led: BrokenPin, red_led: recorder.pin(Line::RedLed), buzzer: recorder.pin(Line::Buzzer) };
    let feedback = Feedback::spawn(pins);
    feedback.play(Outcome::Accepted);
    sleep(ms(2000)).await;
    assert_eq!(recorder.changes(), [change(0, Line::Buzzer, PinState::High), change(100, Line::Buzzer, PinState::Low)]);
    feedback.play(Outcome::Refused);
    sleep(ms(3000)).await;
    assert_eq!(recorder.changes().iter().filter(|c| c.line == Line::RedLed).count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_kiosk_without_gpio_ignores_outcomes() {
    let feedback = Feedback::disabled();
    feedback.play(Outcome::Accepted);
    feedback.stop().await;
}

// --- The help button ---

/// The edges of `samples` ('#' pressed, '.' up) through a debouncer taking 3 samples.
fn edges(samples: &str) -> Vec<(usize, Edge)> {
    let mut debouncer = Debouncer::new(3);
    samples.chars().enumerate().filter_map(|(i, c)| debouncer.sample(c == '#').map(|edge| (i, edge))).collect()
}

#[test]
fn a_bouncing_press_is_one_press() {
    assert_eq!(edges("....#.#.##.###########"), [(13, Edge::Pressed)]);
}

#[test]
fn a_blip_shorter_than_the_debounce_time_is_not_a_press() {
    assert!(edges("....##.....#......").is_empty());
}

#[test]
fn holding_the_button_is_one_press_and_letting_go_one_release() {
    assert_eq!(edges(&format!("...{}.#....", "#".repeat(500))), [(5, Edge::Pressed), (507, Edge::Released)]);
}

#[test]
fn pressing_again_after_letting_go_is_a_second_press() {
    assert_eq!(edges("...####...####"), [(5, Edge::Pressed), (9, Edge::Released), (12, Edge::Pressed)]);
}

#[test]
fn a_button_held_down_at_start_up_counts_only_when_pressed_again() {
    assert_eq!(edges("##########...###"), [(12, Edge::Released), (15, Edge::Pressed)]);
    let mut debouncer = Debouncer::new(3);
    for _ in 0..10 {
        debouncer.sample(true);
    }
    assert!(debouncer.is_pressed());
}

#[test]
fn a_button_to_ground_reads_pressed_when_low() {
    let input = MockInput::new(PinState::High);
    let mut button = Polarised::new(input.clone(), Polarity::ActiveLow);
    assert!(!button.is_high().unwrap());
    input.set(PinState::Low);
    assert!(button.is_high().unwrap());
    assert!(!button.is_low().unwrap());
}

#[tokio::test(start_paused = true)]
async fn the_help_button_sends_one_help_pressed_per_debounced_press() {
    let input = MockInput::new(PinState::High); // pulled up: not pressed
    let mut help = watch_help_button(Polarised::new(input.clone(), Polarity::ActiveLow), ButtonTiming::default());
    sleep(ms(205)).await;
    for level in [PinState::Low, PinState::High, PinState::Low, PinState::High, PinState::Low] {
        input.set(level);
        sleep(ms(3)).await;
    }
    sleep(ms(30)).await;
    assert!(help.try_recv().is_err(), "a press counts only after 50 ms");
    sleep(ms(300)).await;
    assert_eq!(help.try_recv().unwrap(), HelpPressed);
    assert!(help.try_recv().is_err(), "holding the button is one press");
    input.set(PinState::High);
    sleep(ms(200)).await;
    input.set(PinState::Low);
    sleep(ms(200)).await;
    input.set(PinState::High);
    sleep(ms(200)).await;
    assert_eq!(help.try_recv().unwrap(), HelpPressed);
    assert!(help.try_recv().is_err());
}

// --- Pin settings ---

#[test]
fn the_default_pins_are_bcm_5_6_26_and_16_all_active_high() {
    let config = PinConfig::default();
    assert_eq!((config.green_led, config.red_led, config.buzzer, config.help_button), (5, 6, 26, Some(16)));
    assert_eq!((config.led_polarity, config.buzzer_polarity), (Polarity::ActiveHigh, Polarity::ActiveHigh));
    assert_eq!("".parse::<PinConfig>().unwrap(), config);
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn pins_are_set_as_key_value_pairs_over_the_defaults() {
    let config: PinConfig = "green=17, red=27,buzzer=22,help=none,buzzer-active=low".parse().unwrap();
    assert_eq!(
        config,
        PinConfig {
            green_led: 17,
            red_led: 27,
            buzzer: 22,
            help_button: None,
            led_polarity: Polarity::ActiveHigh,
            buzzer_polarity: Polarity::ActiveLow,
        }
    );
    assert_eq!("help=23,led-active=low".parse::<PinConfig>().unwrap().help_button, Some(23));
}

#[test]
fn a_pin_setting_reads_back_from_its_text() {
    for text in ["", "help=none", "green=17,red=27,buzzer=22,help=23,led-active=low,buzzer-active=low"] {
        let config: PinConfig = text.parse().unwrap();
        assert_eq!(config.to_string().parse::<PinConfig>().unwrap(), config, "{text}");
    }
    assert_eq!(PinConfig::default().to_string(), "green=5,red=6,buzzer=26,help=16,led-active=high,buzzer-active=high");
}

#[test]
fn two_roles_on_one_pin_are_refused() {
    assert_eq!("red=5".parse::<PinConfig>(), Err(PinConfigError::Shared { pin: 5, first: "green LED", second: "red LED" }));
    assert_eq!("help=26".parse::<PinConfig>(), Err(PinConfigError::Shared { pin: 26, first: "buzzer", second: "help button" }));
}

#[test]
fn a_pin_that_is_not_a_free_gpio_of_the_header_is_refused() {
    assert_eq!("buzzer=28".parse::<PinConfig>(), Err(PinConfigError::OutOfRange { role: "buzzer", pin: 28 }));
    assert_eq!("green=0".parse::<PinConfig>(), Err(PinConfigError::OutOfRange { role: "green LED", pin: 0 }));
    let message = "buzzer=28".parse::<PinConfig>().unwrap_err().to_string();
    assert!(message.contains("BCM 28") && message.contains("2–27"), "{message}");
}

#[test]
fn unknown_keys_and_bad_values_are_refused_with_their_name() {
    assert_eq!("blue=4".parse::<PinConfig>(), Err(PinConfigError::UnknownKey("blue".into())));
    assert!(matches!("green=x".parse::<PinConfig>(), Err(PinConfigError::BadValue { key, .. }) if key == "green"));
    assert!(matches!("help=300".parse::<PinConfig>(), Err(PinConfigError::BadValue { key, .. }) if key == "help"));
    assert!(matches!("led-active=on".parse::<PinConfig>(), Err(PinConfigError::BadValue { key, .. }) if key == "led-active"));
    assert_eq!("green".parse::<PinConfig>(), Err(PinConfigError::NotKeyValue("green".into())));
}

// --- The Raspberry Pi adapter (cargo feature `gpio`) ---

#[cfg(feature = "gpio")]
#[test]
fn a_bad_pin_setting_is_refused_before_the_gpio_is_touched() {
    use oshirase_device::feedback::rpi::{GpioError, open};
    let config = PinConfig { red_led: 5, ..PinConfig::default() };
    assert!(matches!(open(&config), Err(GpioError::Config(PinConfigError::Shared { pin: 5, .. }))));
}

/// A Pi is never x86_64, so here rppal must say there is no Pi, in words an operator follows.
#[cfg(all(feature = "gpio", target_arch = "x86_64"))]
#[test]
fn off_a_raspberry_pi_opening_the_gpio_is_a_clear_error() {
    use oshirase_device::feedback::rpi::{GpioError, open};
    let error = open(&PinConfig::default()).unwrap_err();
    assert!(matches!(error, GpioError::Unavailable(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("needs a Raspberry Pi") && message.contains("Unknown Raspberry Pi model"), "{message}");
}
