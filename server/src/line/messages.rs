//! Messages oshirase sends, as our own types, and their LINE JSON. Only this module writes
//! LINE's message objects.

use serde_json::{Value, json};

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A yes/no question (confirm template): exactly two postback buttons.
    Confirm {
        /// Shown in notifications and chat lists.
        alt_text: String,
        /// The question (≤ 240 characters).
        text: String,
        /// The first button.
        yes: Postback,
        /// The second button.
        no: Postback,
    },
    /// An image LINE fetches from our server: JPEG or PNG over HTTPS, the original at most
    /// 10 MB, the preview at most 1 MB, each URL at most 2,000 characters.
    Image {
        /// The full image.
        original_url: String,
        /// The small image shown in the chat.
        preview_url: String,
    },
}

/// A button that sends `data` back as a postback event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postback {
    /// The button's label (≤ 20 characters); also shown in the chat when tapped.
    pub label: String,
    /// Returned in the postback event (≤ 300 characters).
    pub data: String,
}

impl Message {
    /// The LINE message object.
    pub fn to_json(&self) -> Value {
        match self {
            Message::Text(text) => json!({ "type": "text", "text": text }),
            Message::Confirm { alt_text, text, yes, no } => json!({
                "type": "template",
                "altText": alt_text,
                "template": { "type": "confirm", "text": text, "actions": [yes.to_json(), no.to_json()] }
            }),
            Message::Image { original_url, preview_url } => json!({ "type": "image", "originalContentUrl": original_url, "previewImageUrl": preview_url }),
        }
    }
}

impl Postback {
    fn to_json(&self) -> Value {
        json!({ "type": "postback", "label": self.label, "data": self.data, "displayText": self.label })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirm_template_has_two_postback_actions() {
        let m = Message::Confirm {
            alt_text: "Agree?".into(),
            text: "同意しますか？".into(),
            yes: Postback { label: "同意する".into(), data: "consent=v1".into() },
            no: Postback { label: "同意しない".into(), data: "consent=decline".into() },
        };
        let v = m.to_json();
        assert_eq!(v["template"]["type"], "confirm");
        assert_eq!(v["template"]["actions"][0]["data"], "consent=v1");
        assert_eq!(v["template"]["actions"][1]["type"], "postback");
        assert_eq!(Message::Text("x".into()).to_json(), json!({"type": "text", "text": "x"}));
        let image = Message::Image { original_url: "https://o.jp/p/a/qr.png".into(), preview_url: "https://o.jp/p/a/preview.png".into() };
        assert_eq!(image.to_json(), json!({"type": "image", "originalContentUrl": "https://o.jp/p/a/qr.png", "previewImageUrl": "https://o.jp/p/a/preview.png"}));
    }
}
