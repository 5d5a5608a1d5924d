//! Server-rendered HTML pages (maud): Japanese first, with English as a quieter second line.
//! Pages are pure functions from data to `Markup`; they work without JavaScript, load nothing
//! from outside the server, and are laid out for phones first.

pub mod cases;
pub mod checkin;
pub mod errors;
pub mod home;
pub mod info;
pub mod layout;
pub mod manage;
pub mod notices;
pub mod register;
pub mod staff;

use time::{OffsetDateTime, UtcOffset};

/// Japan Standard Time; Japan has no daylight saving.
pub const JST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// A date and time as Japanese readers expect it: `2026年11月25日 17:40`.
pub fn jst(t: OffsetDateTime) -> String {
    let t = t.to_offset(JST);
    format!("{}年{}月{}日 {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_japan_standard_time() {
        let t = OffsetDateTime::from_unix_timestamp(1_764_057_600).expect("valid"); // 2025-11-25 08:00 UTC
        assert_eq!(jst(t), "2025年11月25日 17:00");
    }
}
