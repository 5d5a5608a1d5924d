//! The texts oshirase sends to residents, loaded from `server/data/messages.toml`. Handlers
//! pick a text and fill its placeholders here; they never build message text themselves.

use std::sync::LazyLock;

use serde::Deserialize;

/// A text in Japanese with its English second line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Japanese.
    pub ja: String,
    /// English.
    pub en: String,
}

impl Text {
    /// Japanese, a blank line, English; placeholders `{name}` filled from `vars`.
    pub fn render(&self, vars: &[(&str, &str)]) -> String {
        format!("{}\n\n{}", fill(&self.ja, vars), fill(&self.en, vars))
    }

    /// The Japanese text alone, placeholders filled (for size-limited places).
    pub fn japanese(&self, vars: &[(&str, &str)]) -> String {
        fill(&self.ja, vars)
    }
}

/// A yes/no question (LINE confirm template).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Japanese question (≤ 240 characters).
    pub ja: String,
    /// English question (used as the notification's alternative text).
    pub en: String,
    /// Label of the yes button (≤ 20).
    pub yes: String,
    /// Label of the no button (≤ 20).
    pub no: String,
}

/// Every resident-facing text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "each field is documented in messages.toml")]
pub struct Catalog {
    /// Typed into the chat by the deep link; holds `{code}`.
    pub checkin_text: String,
    /// How a check-in text starts.
    pub checkin_prefix: String,
    /// The word that asks for deletion.
    pub delete_command: String,
    /// The words that ask for a history code.
    pub history_command: String,
    /// The word that asks for a pass (optionally followed by a name).
    pub pass_command: String,
    /// The words that list the resident's passes.
    pub pass_list_command: String,
    /// The words that revoke a pass (followed by the end of its number).
    pub pass_revoke_command: String,
    pub welcome: Text,
    pub welcome_back: Text,
    pub consent_request: Text,
    pub consent_question: Question,
    pub waiting_for_consent: Text,
    pub consent_thanks: Text,
    pub consent_declined: Text,
    pub consent_outdated: Text,
    pub recorded: Text,
    pub recorded_many: Text,
    pub repeat: Text,
    pub unknown_code: Text,
    pub withdrawn_code: Text,
    pub expired_code: Text,
    pub rate_limited: Text,
    pub help: Text,
    pub delete_question: Question,
    pub deleted: Text,
    pub delete_cancelled: Text,
    pub delete_expired: Text,
    pub history_code: Text,
    pub history_code_none: Text,
    pub history_code_pass: Text,
    pub pass_issued: Text,
    pub pass_image_alt: Text,
    pub pass_needs_consent: Text,
    pub pass_too_many: Text,
    pub pass_label_invalid: Text,
    pub pass_list: Text,
    pub pass_list_item: Text,
    pub pass_list_empty: Text,
    pub pass_revoked: Text,
    pub pass_revoke_unknown: Text,
    pub pass_revoke_ambiguous: Text,
    pub pass_holder_self: Text,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    toml::from_str(include_str!("../data/messages.toml")).unwrap_or_else(|e| panic!("server/data/messages.toml is malformed: {e}"))
});

/// The catalogue. Parsed once; a malformed file fails the first test that reads it.
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(c: &Catalog) -> Vec<(&'static str, &Text)> {
        vec![
            ("welcome", &c.welcome),
            ("welcome_back", &c.welcome_back),
            ("consent_request", &c.consent_request),
            ("waiting_for_consent", &c.waiting_for_consent),
            ("consent_thanks", &c.consent_thanks),
            ("consent_declined", &c.consent_declined),
            ("consent_outdated", &c.consent_outdated),
            ("recorded", &c.recorded),
            ("recorded_many", &c.recorded_many),
            ("repeat", &c.repeat),
            ("unknown_code", &c.unknown_code),
            ("withdrawn_code", &c.withdrawn_code),
            ("expired_code", &c.expired_code),
            ("rate_limited", &c.rate_limited),
            ("help", &c.help),
            ("deleted", &c.deleted),
            ("delete_cancelled", &c.delete_cancelled),
            ("delete_expired", &c.delete_expired),
            ("pass_issued", &c.pass_issued),
            ("pass_image_alt", &c.pass_image_alt),
            ("pass_needs_consent", &c.pass_needs_consent),
            ("pass_too_many", &c.pass_too_many),
            ("pass_label_invalid", &c.pass_label_invalid),
            ("pass_list", &c.pass_list),
            ("pass_list_empty", &c.pass_list_empty),
            ("pass_revoked", &c.pass_revoked),
            ("pass_revoke_unknown", &c.pass_revoke_unknown),
            ("pass_revoke_ambiguous", &c.pass_revoke_ambiguous),
            ("pass_holder_self", &c.pass_holder_self),
            ("history_code_pass", &c.history_code_pass),
        ]
    }

    #[test]
    fn the_catalogue_loads_and_every_text_has_both_languages() {
        for (name, text) in texts(catalog()) {
            assert!(!text.ja.trim().is_empty() && !text.en.trim().is_empty(), "{name}");
        }
    }

    #[test]
    fn questions_fit_lines_confirm_template() {
        for q in [&catalog().consent_question, &catalog().delete_question] {
            assert!(q.ja.chars().count() <= 240, "{}", q.ja);
            assert!(q.yes.chars().count() <= 20 && q.no.chars().count() <= 20);
        }
    }

    #[test]
    fn placeholders_are_filled_in_both_languages() {
        let text = catalog().recorded.render(&[("venue", "カフェ"), ("time", "11月25日 18:20")]);
        assert!(text.starts_with("「カフェ」への来場を記録しました（11月25日 18:20）。"));
        assert!(!text.contains('{'), "{text}");
    }

    #[test]
    fn the_checkin_text_starts_with_its_prefix_and_carries_the_code() {
        let c = catalog();
        assert!(c.checkin_text.starts_with(&c.checkin_prefix));
        assert!(c.checkin_text.contains("{code}"));
    }

    #[test]
    fn no_text_leaves_a_placeholder_that_code_never_fills() {
        let known = ["{venue}", "{time}", "{privacy_url}", "{count}", "{holder}", "{holder_en}", "{short}", "{expires}", "{expires_en}", "{card_url}", "{max}", "{items}", "{code}", "{hours}"];
        for (name, text) in texts(catalog()) {
            let mut rest = format!("{}{}", text.ja, text.en);
            for k in known {
                rest = rest.replace(k, "");
            }
            assert!(!rest.contains('{'), "{name} has an unknown placeholder");
        }
    }
}
