//! 業態: the kind of business a venue is, chosen from a fixed list kept as data in
//! `common/data/business_types.toml`.

use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::Lang;

/// One entry of the business-type list.
#[derive(Debug, Clone, Deserialize)]
pub struct BusinessTypeInfo {
    /// Stable key stored in the database.
    pub key: String,
    /// Japanese label shown to venues.
    pub ja: String,
    /// English label.
    pub en: String,
}

impl BusinessTypeInfo {
    /// The label in `lang`.
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

#[derive(Deserialize)]
struct Catalogue {
    business_type: Vec<BusinessTypeInfo>,
}

static CATALOGUE: LazyLock<Vec<BusinessTypeInfo>> = LazyLock::new(|| {
    let parsed: Catalogue = toml::from_str(include_str!("../data/business_types.toml"))
        .unwrap_or_else(|e| panic!("common/data/business_types.toml is malformed: {e}"));
    parsed.business_type
});

/// All business types, in the order the form offers them.
pub fn all() -> &'static [BusinessTypeInfo] {
    &CATALOGUE
}

/// A business type from the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BusinessType(&'static BusinessTypeInfo);

impl PartialEq for BusinessTypeInfo {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for BusinessTypeInfo {}
impl std::hash::Hash for BusinessTypeInfo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl BusinessType {
    /// Accepts a key (`restaurant`) or a label in either language (`飲食店`), as a CSV typed by
    /// hand would carry. The input is NFKC-normalised and trimmed first.
    pub fn parse(input: &str) -> Option<BusinessType> {
        let wanted = crate::text::normalize(input);
        all()
            .iter()
            .find(|info| {
                info.key == wanted
                    || crate::text::normalize(&info.ja) == wanted
                    || info.en.eq_ignore_ascii_case(&wanted)
            })
            .map(BusinessType)
    }

    /// The stable key stored in the database.
    pub fn key(self) -> &'static str {
        &self.0.key
    }

    /// The label in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        self.0.label(lang)
    }
}

impl fmt::Display for BusinessType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_covers_the_seed_examples() {
        let labels: Vec<&str> = all().iter().map(|i| i.ja.as_str()).collect();
        for expected in [
            "飲食店", "小売店", "商業施設", "映画館・劇場", "集会場・展示場", "博物館・美術館",
            "運動施設", "屋内イベント", "屋外イベント", "その他",
        ] {
            assert!(labels.contains(&expected), "missing {expected}");
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = all().iter().map(|i| i.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all().len());
    }

    #[test]
    fn accepts_keys_and_labels() {
        assert_eq!(BusinessType::parse("restaurant").map(BusinessType::key), Some("restaurant"));
        assert_eq!(BusinessType::parse(" 飲食店 ").map(BusinessType::key), Some("restaurant"));
        assert_eq!(BusinessType::parse("映画館・劇場").map(BusinessType::key), Some("cinema_theatre"));
        assert_eq!(BusinessType::parse("Museum or gallery").map(BusinessType::key), Some("museum"));
    }

    #[test]
    fn rejects_what_is_not_on_the_list() {
        assert!(BusinessType::parse("").is_none());
        assert!(BusinessType::parse("casino").is_none());
        assert!(BusinessType::parse("飲食").is_none());
    }
}
