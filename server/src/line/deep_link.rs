//! LINE's `oaMessage` deep link: opens the official account's chat with a text typed in,
//! which the resident sends with one tap. `…/R/oaMessage/{@id}/?{text}`, both parts
//! percent-encoded.

use crate::config::PublicBaseUrl;

/// The deep link that opens `basic_id`'s chat with `text` typed in.
pub fn oa_message_url(base: &PublicBaseUrl, basic_id: &str, text: &str) -> String {
    base.join(&format!("/R/oaMessage/{}/?{}", percent_encode(basic_id), percent_encode(text)))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, UTF-8 bytewise.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deep_link_carries_the_account_and_the_text() {
        let base = PublicBaseUrl::parse("https://line.me").expect("valid");
        assert_eq!(
            oa_message_url(&base, "@oshirase", "来場登録 7K3M9QX2P4"),
            "https://line.me/R/oaMessage/%40oshirase/?%E6%9D%A5%E5%A0%B4%E7%99%BB%E9%8C%B2%207K3M9QX2P4"
        );
    }

    #[test]
    fn unreserved_characters_stay_and_the_rest_is_encoded() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("a b/c?d&e"), "a%20b%2Fc%3Fd%26e");
    }
}
