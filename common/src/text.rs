//! Normalisation of text that people type: NFKC, trimmed, inner whitespace collapsed.
//!
//! NFKC turns full-width digits and letters into ASCII (`３３０` → `330`) and half-width
//! katakana into full-width, so what a venue types on any keyboard is stored one way.

use unicode_normalization::UnicodeNormalization;

/// NFKC-normalises, trims, and collapses runs of whitespace (including the ideographic space)
/// into one ASCII space.
pub fn normalize(input: &str) -> String {
    let nfkc: String = input.nfkc().collect();
    nfkc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True if the text holds a control or other invisible formatting character that has no place
/// in a name, an address or an e-mail address.
pub fn has_control_characters(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    })
}

/// Length in characters (Unicode scalar values), as people count them.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_ideographic_spaces_are_normalised() {
        assert_eq!(normalize("　ＡＢＣ　カフェ　 "), "ABC カフェ");
        assert_eq!(normalize("ｶﾌｪ"), "カフェ");
        assert_eq!(normalize("３３０"), "330");
    }

    #[test]
    fn control_characters_are_detected() {
        assert!(has_control_characters("a\u{0007}b"));
        assert!(has_control_characters("a\u{202e}b"));
        assert!(!has_control_characters("さいたま市"));
    }
}
