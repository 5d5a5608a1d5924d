//! Which GPIO pins the feedback uses and which level means "on": the part of the wiring the
//! program must know. Pure, so the defaults and the parsing are tested on any machine.

use std::fmt;
use std::str::FromStr;

use embedded_hal::digital::{ErrorType, InputPin, OutputPin};

/// Which level of a pin means "on" (an output) or "pressed" (a button).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// High is on: an LED from the pin through its resistor to ground, an NPN-switched buzzer.
    ActiveHigh,
    /// Low is on: a buzzer module with a low-level trigger, a button to ground with a pull-up.
    ActiveLow,
}

impl Polarity {
    fn name(self) -> &'static str {
        match self {
            Polarity::ActiveHigh => "high",
            Polarity::ActiveLow => "low",
        }
    }
}

/// A pin whose "high" means active: [`OutputPin::set_high`] switches the output on and
/// [`InputPin::is_high`] says the button is pressed, whatever the wiring's [`Polarity`].
#[derive(Debug)]
pub struct Polarised<P> {
    pin: P,
    polarity: Polarity,
}

impl<P> Polarised<P> {
    /// Wraps `pin`, which is active at `polarity`.
    pub fn new(pin: P, polarity: Polarity) -> Polarised<P> {
        Polarised { pin, polarity }
    }

    /// The pin itself.
    pub fn into_inner(self) -> P {
        self.pin
    }
}

impl<P: ErrorType> ErrorType for Polarised<P> {
    type Error = P::Error;
}

impl<P: OutputPin> OutputPin for Polarised<P> {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        match self.polarity {
            Polarity::ActiveHigh => self.pin.set_low(),
            Polarity::ActiveLow => self.pin.set_high(),
        }
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        match self.polarity {
            Polarity::ActiveHigh => self.pin.set_high(),
            Polarity::ActiveLow => self.pin.set_low(),
        }
    }
}

impl<P: InputPin> InputPin for Polarised<P> {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        let high = self.pin.is_high()?;
        Ok(high == (self.polarity == Polarity::ActiveHigh))
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        self.is_high().map(|active| !active)
    }
}

/// The feedback pins, in BCM (Broadcom GPIO) numbering.
///
/// The defaults sit on the header's pins 29–40, which stay free when a 26-pin SPI display
/// HAT covers pins 1–26, and avoid I²C, SPI, UART, PWM audio and I²S:
///
/// | Output | BCM | Header pin | Ground nearby |
/// |---|---|---|---|
/// | green LED | 5 | 29 | 30 |
/// | red LED | 6 | 31 | 30 or 34 |
/// | buzzer | 26 | 37 | 39 |
/// | help button | 16 | 36 | 34 |
///
/// As text ([`FromStr`], [`fmt::Display`]): comma-separated `key=value` over the defaults,
/// e.g. `green=5,red=6,buzzer=26,help=16`, `help=none`, `buzzer-active=low`,
/// `led-active=low`. The help button is always wired to ground with the internal pull-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinConfig {
    /// The green LED's BCM number.
    pub green_led: u8,
    /// The red LED's BCM number.
    pub red_led: u8,
    /// The buzzer's BCM number.
    pub buzzer: u8,
    /// The help button's BCM number, if one is wired.
    pub help_button: Option<u8>,
    /// Which level lights both LEDs.
    pub led_polarity: Polarity,
    /// Which level sounds the buzzer.
    pub buzzer_polarity: Polarity,
}

impl Default for PinConfig {
    fn default() -> PinConfig {
        PinConfig {
            green_led: 5,
            red_led: 6,
            buzzer: 26,
            help_button: Some(16),
            led_polarity: Polarity::ActiveHigh,
            buzzer_polarity: Polarity::ActiveHigh,
        }
    }
}

/// The lowest and highest BCM numbers on the 40-pin header that are free for general use
/// (0 and 1 are the HAT identification EEPROM's).
const USABLE_BCM: std::ops::RangeInclusive<u8> = 2..=27;

/// Why a pin setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinConfigError {
    /// A part is not `key=value`.
    #[error("GPIO pin setting {0:?} is not key=value (e.g. green=5,red=6,buzzer=26,help=16)")]
    NotKeyValue(String),
    /// The key is not one of green, red, buzzer, help, led-active, buzzer-active.
    #[error("unknown GPIO pin setting {0:?}: use green, red, buzzer, help, led-active or buzzer-active")]
    UnknownKey(String),
    /// The value does not fit the key.
    #[error("GPIO pin setting {key}={value:?}: {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// A BCM number outside 2–27.
    #[error("BCM {pin} for the {role} is not a free GPIO on the 40-pin header (use 2–27)")]
    OutOfRange {
        /// What the pin is for.
        role: &'static str,
        /// The number given.
        pin: u8,
    },
    /// Two roles on one pin.
    #[error("BCM {pin} is given to both the {first} and the {second}")]
    Shared {
        /// The pin.
        pin: u8,
        /// One role.
        first: &'static str,
        /// The other role.
        second: &'static str,
    },
}

impl PinConfig {
    /// The pins with what each is for, the help button last when there is one.
    pub fn roles(&self) -> Vec<(&'static str, u8)> {
        let mut roles = vec![("green LED", self.green_led), ("red LED", self.red_led), ("buzzer", self.buzzer)];
        roles.extend(self.help_button.map(|pin| ("help button", pin)));
        roles
    }

    /// Every pin is a free GPIO of the header, and no two roles share one.
    pub fn validate(&self) -> Result<(), PinConfigError> {
        let roles = self.roles();
        for (i, &(role, pin)) in roles.iter().enumerate() {
            if !USABLE_BCM.contains(&pin) {
                return Err(PinConfigError::OutOfRange { role, pin });
            }
            if let Some(&(first, _)) = roles[..i].iter().find(|&&(_, other)| other == pin) {
                return Err(PinConfigError::Shared { pin, first, second: role });
            }
        }
        Ok(())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), PinConfigError> {
        let bad = |expected| PinConfigError::BadValue { key: key.to_owned(), value: value.to_owned(), expected };
        let pin = || value.parse::<u8>().map_err(|_| bad("a BCM number"));
        let polarity = || match value {
            "high" => Ok(Polarity::ActiveHigh),
            "low" => Ok(Polarity::ActiveLow),
            _ => Err(bad("high or low")),
        };
        match key {
            "green" => self.green_led = pin()?,
            "red" => self.red_led = pin()?,
            "buzzer" => self.buzzer = pin()?,
            "help" if value == "none" => self.help_button = None,
            "help" => self.help_button = Some(value.parse().map_err(|_| bad("a BCM number or none"))?),
            "led-active" => self.led_polarity = polarity()?,
            "buzzer-active" => self.buzzer_polarity = polarity()?,
            _ => return Err(PinConfigError::UnknownKey(key.to_owned())),
        }
        Ok(())
    }
}

impl FromStr for PinConfig {
    type Err = PinConfigError;

    /// Reads `key=value` settings over the defaults and validates the result.
    fn from_str(text: &str) -> Result<PinConfig, PinConfigError> {
        let mut config = PinConfig::default();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| PinConfigError::NotKeyValue(part.to_owned()))?;
            config.set(key.trim(), value.trim())?;
        }
        config.validate()?;
        Ok(config)
    }
}

impl fmt::Display for PinConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "green={},red={},buzzer={},help=", self.green_led, self.red_led, self.buzzer)?;
        match self.help_button {
            Some(pin) => write!(f, "{pin}")?,
            None => f.write_str("none")?,
        }
        write!(f, ",led-active={},buzzer-active={}", self.led_polarity.name(), self.buzzer_polarity.name())
    }
}
