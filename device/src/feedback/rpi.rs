//! The feedback pins on a Raspberry Pi, through rppal's embedded-hal 1.0 implementations
//! (cargo feature `gpio`). rppal is archived upstream; another GPIO crate replaces it by
//! writing another `open` — nothing else in the kiosk names rppal.
//!
//! Off a Pi, [`open`] fails with [`GpioError::Unavailable`] ("Unknown Raspberry Pi model").
//! Needs access to `/dev/gpiomem` (the `gpio` group on Raspberry Pi OS).

use rppal::gpio::{Gpio, InputPin, OutputPin, Pin};

use super::{FeedbackPins, PinConfig, PinConfigError, Polarised, Polarity};

/// An rppal output whose high is "on".
pub type RpiOutput = Polarised<OutputPin>;

/// The feedback pins as rppal gives them.
#[derive(Debug)]
pub struct RpiPins {
    /// The LEDs and the buzzer, switched off; give them to [`super::Feedback::spawn`].
    pub outputs: FeedbackPins<RpiOutput, RpiOutput, RpiOutput>,
    /// The help button (high = pressed), if configured; give it to
    /// [`super::watch_help_button`].
    pub help_button: Option<Polarised<InputPin>>,
}

/// Why the GPIO pins could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    /// The pin setting itself is wrong.
    #[error(transparent)]
    Config(#[from] PinConfigError),
    /// No usable GPIO: not a Raspberry Pi, or no access to `/dev/gpiomem`.
    #[error(
        "GPIO feedback needs a Raspberry Pi and access to /dev/gpiomem (the gpio group): {0}; start the kiosk without GPIO feedback elsewhere"
    )]
    Unavailable(#[source] rppal::gpio::Error),
    /// One pin could not be taken (for example, another program holds it).
    #[error("GPIO BCM {pin} for the {role}: {source}")]
    Pin {
        /// What the pin is for.
        role: &'static str,
        /// Its BCM number.
        pin: u8,
        /// rppal's reason.
        #[source]
        source: rppal::gpio::Error,
    },
}

/// Validates `config`, then takes its pins: outputs switched off at their polarity, the help
/// button as an input with the internal pull-up (pressed = pulled to ground).
pub fn open(config: &PinConfig) -> Result<RpiPins, GpioError> {
    config.validate()?;
    let gpio = Gpio::new().map_err(GpioError::Unavailable)?;
    let outputs = FeedbackPins {
        green_led: output(&gpio, "green LED", config.green_led, config.led_polarity)?,
        red_led: output(&gpio, "red LED", config.red_led, config.led_polarity)?,
        buzzer: output(&gpio, "buzzer", config.buzzer, config.buzzer_polarity)?,
    };
    let help_button = match config.help_button {
        Some(pin) => Some(Polarised::new(take(&gpio, "help button", pin)?.into_input_pullup(), Polarity::ActiveLow)),
        None => None,
    };
    Ok(RpiPins { outputs, help_button })
}

fn output(gpio: &Gpio, role: &'static str, pin: u8, polarity: Polarity) -> Result<RpiOutput, GpioError> {
    let taken = take(gpio, role, pin)?;
    let off = match polarity {
        Polarity::ActiveHigh => taken.into_output_low(),
        Polarity::ActiveLow => taken.into_output_high(),
    };
    Ok(Polarised::new(off, polarity))
}

fn take(gpio: &Gpio, role: &'static str, pin: u8) -> Result<Pin, GpioError> {
    gpio.get(pin).map_err(|source| GpioError::Pin { role, pin, source })
}
