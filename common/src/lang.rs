//! The languages people read oshirase in: Japanese first, English second.

use serde::{Deserialize, Serialize};

/// A language every text a resident, venue or staff member reads is available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Japanese, the default everywhere.
    #[default]
    Ja,
    /// English, the second language.
    En,
}

impl Lang {
    /// The BCP 47 tag, for `lang="…"` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// Reads a `lang` query value; anything but `en` means Japanese.
    pub fn from_query(value: Option<&str>) -> Lang {
        match value {
            Some(v) if v.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::Ja,
        }
    }
}
