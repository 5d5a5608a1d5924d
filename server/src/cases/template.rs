//! The alert's text (R8, R9). A template may hold one kind of placeholder, `{contact}`, and
//! [`AlertTemplate::render`] takes nothing but the contact: the text cannot reach a case's
//! places, dates or times by construction, so no alert can carry them.

use thiserror::Error;

/// The default alert: not a diagnosis, where to get advice, no date, time or place.
pub const DEFAULT_TEMPLATE: &str = "【oshirase 接触確認のお知らせ】\n\
新型コロナウイルス感染症の陽性が判明した方と、同じ時間帯に同じ場所を利用された可能性があります（このLINEで発行したご家族のパスでの利用を含みます）。\n\
このお知らせは診断ではありません。発熱・せきなどの症状がある方や、ご心配な方は、次の窓口にご相談ください。\n\
相談窓口: {contact}\n\
\n\
You (or a family member using a pass you got here) may have been at the same place at the same time as a person who later tested positive. \
This notice is not a diagnosis. If you have symptoms or are worried, please contact: {contact}";

/// Longest template, in characters (a LINE text message holds 5,000).
const MAX_CHARS: usize = 2_000;

/// A checked alert template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTemplate(String);

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// A placeholder other than `{contact}`.
    #[error("使える差し込みは {{contact}} だけです（{0} は使えません）。（only {{contact}} may be used）")]
    UnknownPlaceholder(String),
    /// No `{contact}`: the alert must say where to get advice (R8).
    #[error("相談窓口 {{contact}} を本文に含めてください。（the text must include {{contact}}）")]
    NoContact,
    /// Empty or too long.
    #[error("本文は1〜2000文字にしてください。（1 to 2000 characters）")]
    Length,
}

impl AlertTemplate {
    /// Checks a template.
    pub fn parse(text: &str) -> Result<AlertTemplate, TemplateError> {
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > MAX_CHARS {
            return Err(TemplateError::Length);
        }
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open..];
            let close = after.find('}').map_or(after.len(), |c| c + 1);
            let placeholder = &after[..close];
            if placeholder != "{contact}" {
                return Err(TemplateError::UnknownPlaceholder(placeholder.to_owned()));
            }
            rest = &after[close..];
        }
        if !text.contains("{contact}") {
            return Err(TemplateError::NoContact);
        }
        Ok(AlertTemplate(text.to_owned()))
    }

    /// The default template.
    pub fn default_template() -> AlertTemplate {
        AlertTemplate(DEFAULT_TEMPLATE.to_owned())
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The alert as residents read it.
    pub fn render(&self, contact: &str) -> String {
        self.0.replace("{contact}", contact)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn only_the_contact_can_be_filled_in() {
        assert!(AlertTemplate::parse("ご相談は {contact} へ").is_ok());
        assert_eq!(AlertTemplate::parse("{venue} で {date} に"), Err(TemplateError::UnknownPlaceholder("{venue}".into())));
        assert_eq!(AlertTemplate::parse("ご相談は {contact} へ {"), Err(TemplateError::UnknownPlaceholder("{".into())));
        assert_eq!(AlertTemplate::parse("相談してください"), Err(TemplateError::NoContact));
        assert_eq!(AlertTemplate::parse("  "), Err(TemplateError::Length));
    }

    #[test]
    fn the_default_alert_says_it_is_not_a_diagnosis_and_gives_the_contact() {
        let text = AlertTemplate::parse(DEFAULT_TEMPLATE).unwrap().render("さいたま市保健所 048-000-0000");
        assert!(text.starts_with("【oshirase"));
        assert!(text.contains("診断ではありません") && text.contains("さいたま市保健所 048-000-0000"));
        assert!(!text.contains('{'));
    }
}
