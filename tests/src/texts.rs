//! The texts residents receive through LINE, read from the server's own catalogue
//! (`server/data/messages.toml`), so tests compare replies with the exact texts rather than
//! copies of them; and small readers that pick texts and buttons out of a sandbox inbox
//! (`[{received_at, via, message}]`, each message a LINE message object).

use std::sync::LazyLock;

use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use crate::server::workspace_dir;

/// The catalogue of resident-facing texts.
#[derive(Debug)]
pub struct Catalog {
    table: toml::Table,
}

/// A yes/no question (a LINE confirm template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The question, in Japanese (the template's text).
    pub ja: String,
    /// The question in English.
    pub en: String,
    /// The yes button's label.
    pub yes: String,
    /// The no button's label.
    pub no: String,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let path = workspace_dir().join("server").join("data").join("messages.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    Catalog { table: text.parse().unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display())) }
});

/// The catalogue, read once.
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

impl Catalog {
    /// The text `key` as the server sends it: Japanese, a blank line, English, with
    /// `{placeholders}` filled from `vars`.
    pub fn text(&self, key: &str, vars: &[(&str, &str)]) -> String {
        format!("{}\n\n{}", fill(&self.field(key, "ja"), vars), fill(&self.field(key, "en"), vars))
    }

    /// The question `key` (`consent_question`, `delete_question`).
    pub fn question(&self, key: &str) -> Question {
        Question { ja: self.field(key, "ja"), en: self.field(key, "en"), yes: self.field(key, "yes"), no: self.field(key, "no") }
    }

    /// The text a scanned code types into the chat (`checkin_text` with `{code}`).
    pub fn checkin_text(&self, code: &str) -> String {
        self.top("checkin_text").replace("{code}", code)
    }

    /// The word that asks for deletion.
    pub fn delete_command(&self) -> String {
        self.top("delete_command")
    }

    fn top(&self, key: &str) -> String {
        self.table.get(key).and_then(toml::Value::as_str).unwrap_or_else(|| panic!("messages.toml has no text {key}")).to_owned()
    }

    fn field(&self, key: &str, field: &str) -> String {
        self.table
            .get(key)
            .and_then(|t| t.get(field))
            .and_then(toml::Value::as_str)
            .unwrap_or_else(|| panic!("messages.toml has no {key}.{field}"))
            .to_owned()
    }
}

/// A time as replies show it: Japan time, `2026年11月3日 09:05`.
pub fn jst(unix_ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000).expect("a representable time");
    let t = t.to_offset(UtcOffset::from_hms(9, 0, 0).expect("a valid offset"));
    format!("{}年{}月{}日 {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// The texts of the inbox's text messages, in order.
pub fn texts(inbox: &[Value]) -> Vec<String> {
    inbox.iter().filter(|e| e["message"]["type"] == "text").filter_map(|e| e["message"]["text"].as_str()).map(str::to_owned).collect()
}

/// The inbox's confirm templates (the `template` objects), in order.
pub fn confirm_templates(inbox: &[Value]) -> Vec<Value> {
    inbox
        .iter()
        .filter(|e| e["message"]["type"] == "template" && e["message"]["template"]["type"] == "confirm")
        .map(|e| e["message"]["template"].clone())
        .collect()
}

/// The template's action labelled `label`.
pub fn button(template: &Value, label: &str) -> Value {
    template["actions"]
        .as_array()
        .and_then(|actions| actions.iter().find(|a| a["label"] == label))
        .cloned()
        .unwrap_or_else(|| panic!("no button labelled {label} in {template}"))
}

/// How many text messages in the inbox are exactly `text`.
pub fn count_text(inbox: &[Value], text: &str) -> usize {
    texts(inbox).iter().filter(|t| *t == text).count()
}

/// Asserts that everything a resident reads in the inbox — texts, templates' texts and
/// notification texts, button labels — starts in Japanese.
pub fn assert_japanese_first(inbox: &[Value]) {
    for entry in inbox {
        let message = &entry["message"];
        let template = &message["template"];
        let mut shown: Vec<&Value> = vec![&message["text"], &message["altText"], &template["text"]];
        shown.extend(template["actions"].as_array().into_iter().flatten().map(|a| &a["label"]));
        for text in shown.into_iter().filter_map(Value::as_str) {
            assert!(starts_with_japanese(text), "a resident read a text that does not start in Japanese: {text:?} in {message}");
        }
    }
}

/// True when the first character is Japanese: kana, kanji, or Japanese punctuation such as 「.
pub fn starts_with_japanese(text: &str) -> bool {
    text.chars().next().is_some_and(|c| {
        matches!(c,
            '\u{3000}'..='\u{303F}' // CJK symbols and punctuation (「」、。)
            | '\u{3040}'..='\u{309F}' // hiragana
            | '\u{30A0}'..='\u{30FF}' // katakana
            | '\u{3400}'..='\u{4DBF}' // CJK extension A
            | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
            | '\u{FF00}'..='\u{FFEF}' // full-width forms
        )
    })
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_first_means_the_first_character_is_japanese() {
        for ja in ["友だち追加", "「カフェ」", "ふたたび", "カフェ", "（注）"] {
            assert!(starts_with_japanese(ja), "{ja}");
        }
        for other in ["Thank you 友だち", "", " 友だち", "123"] {
            assert!(!starts_with_japanese(other), "{other}");
        }
    }

    #[test]
    fn times_are_shown_in_japan_time() {
        assert_eq!(jst(1_764_057_600_000), "2025年11月25日 17:00");
    }

    #[test]
    fn the_catalogue_renders_texts_as_the_server_does() {
        let waiting = catalog().text("waiting_for_consent", &[("venue", "カフェ")]);
        assert!(waiting.starts_with("「カフェ」") && waiting.contains("\n\n"), "{waiting}");
        assert_eq!(catalog().question("consent_question").yes, "同意する");
    }
}
