//! Hand-written checks of Messaging API request bodies, answering with LINE's 400 shape
//! (`{"message":"The request body has N error(s)","details":[{"message","property"}]}`).
//!
//! Why by hand and not a JSON-Schema validator: `messaging-api.yml` does not hold most of the
//! limits that matter (text ≤ 5,000 UTF-16 units, confirm text ≤ 240, labels ≤ 20 … are only in
//! LINE's prose reference), its `allOf` + `discriminator` shapes need an OpenAPI-aware
//! validator rather than a JSON-Schema one, and the error paths must read like LINE's
//! (`messages[0].template.actions[1].label`). What the schema *does* say — required fields,
//! `minItems`/`maxItems`, `maxLength`, and the lists of message, template and action types — is
//! read from the vendored YAML by this module's tests, which fail when the two disagree.
//!
//! Covered: the request envelopes of reply, push and multicast; `text`, `image` and
//! `template` (`buttons`, `confirm`) messages; `postback`, `uri` and `message` actions;
//! `quickReply` (item count and their actions) and `sender`. Every other message, template
//! or action type in the schema is refused as unsupported by the sandbox, with the same 400
//! shape, so a client that starts using one notices here and not in production. Not
//! checked: text `emojis`, `quoteToken` values, `imageAspectRatio` and other styling fields,
//! `customAggregationUnits`, and fields LINE ignores. Image sizes and formats are not checked
//! here either: as with LINE, they show only when the image is fetched after the message was
//! accepted ([`crate::media`]).
//!
//! Image URLs must be `https` as LINE requires, unless the sandbox runs with its
//! `allow_http_media` deviation ([`MediaSchemes::HttpAndHttps`]).

use serde_json::{Map, Value};

use crate::ids::{is_push_target, is_user_id};

/// One entry of LINE's `details`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Detail {
    /// What is wrong.
    pub message: String,
    /// Where: `messages[0].text`.
    pub property: String,
}

/// A reply request that passed the checks.
#[derive(Debug, Clone)]
pub struct ReplyRequest {
    /// The token from a webhook event.
    pub reply_token: String,
    /// The messages exactly as sent.
    pub messages: Vec<Value>,
}

/// A push request that passed the checks.
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// The recipient.
    pub to: String,
    /// The messages exactly as sent.
    pub messages: Vec<Value>,
}

/// A multicast request that passed the checks.
#[derive(Debug, Clone)]
pub struct MulticastRequest {
    /// The recipients, in the order given.
    pub to: Vec<String>,
    /// The messages exactly as sent.
    pub messages: Vec<Value>,
}

/// Limits the checks enforce. Those marked *schema* are compared with `messaging-api.yml` by
/// the tests; the others are from LINE's prose reference (the schema does not state them).
pub mod limits {
    /// Messages per request (*schema*: `minItems`/`maxItems` of `messages`).
    pub const MESSAGES: (usize, usize) = (1, 5);
    /// Recipients per multicast (*schema*: `MulticastRequest.to`).
    pub const MULTICAST_TO: (usize, usize) = (1, 500);
    /// Postback data length (*schema*: `PostbackAction.data.maxLength`).
    pub const POSTBACK_DATA: usize = 300;
    /// Quick reply buttons (*schema*: `QuickReply.items.maxItems`).
    pub const QUICK_REPLY_ITEMS: usize = 13;
    /// Sender name length (*schema*: `Sender.name.maxLength`).
    pub const SENDER_NAME: usize = 20;
    /// Sender icon URL length (*schema*: `Sender.iconUrl.maxLength`).
    pub const SENDER_ICON_URL: usize = 2000;
    /// Text message length in UTF-16 code units.
    pub const TEXT: usize = 5000;
    /// Template `altText` length.
    pub const ALT_TEXT: usize = 400;
    /// Confirm template text length.
    pub const CONFIRM_TEXT: usize = 240;
    /// Buttons template text length without title or image.
    pub const BUTTONS_TEXT: usize = 160;
    /// Buttons template text length with a title or an image.
    pub const BUTTONS_TEXT_WITH_TITLE: usize = 60;
    /// Buttons template title length.
    pub const BUTTONS_TITLE: usize = 40;
    /// Buttons template actions.
    pub const BUTTONS_ACTIONS: (usize, usize) = (1, 4);
    /// Confirm template actions (exactly two).
    pub const CONFIRM_ACTIONS: (usize, usize) = (2, 2);
    /// Action label length.
    pub const LABEL: usize = 20;
    /// Postback `displayText` and message action `text` length.
    pub const ACTION_TEXT: usize = 300;
    /// URI action `uri` length.
    pub const URI: usize = 1000;
    /// Image URLs length.
    pub const IMAGE_URL: usize = 2000;
}

/// The URL schemes accepted where LINE fetches an image (an image message's two URLs, a
/// buttons template's `thumbnailImageUrl`, a sender's `iconUrl`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MediaSchemes {
    /// LINE's rule: `https` only.
    #[default]
    HttpsOnly,
    /// `http` as well: the sandbox's `allow_http_media` deviation from LINE, for a local
    /// server on plain `http://127.0.0.1:PORT`.
    HttpAndHttps,
}

impl MediaSchemes {
    /// [`MediaSchemes::HttpAndHttps`] when `allow_http` is set, LINE's rule otherwise.
    pub fn allowing_http(allow_http: bool) -> Self {
        if allow_http { Self::HttpAndHttps } else { Self::HttpsOnly }
    }

    fn schemes(self) -> &'static [&'static str] {
        match self {
            Self::HttpsOnly => &["https"],
            Self::HttpAndHttps => &["http", "https"],
        }
    }
}

/// Message types the sandbox checks and delivers.
pub const SUPPORTED_MESSAGE_TYPES: &[&str] = &["text", "image", "template"];
/// Message types in LINE's schema that the sandbox refuses as unsupported.
pub const UNSUPPORTED_MESSAGE_TYPES: &[&str] = &["textV2", "sticker", "video", "audio", "location", "imagemap", "flex", "coupon"];
/// Template types the sandbox checks.
pub const SUPPORTED_TEMPLATE_TYPES: &[&str] = &["buttons", "confirm"];
/// Template types in LINE's schema that the sandbox refuses as unsupported.
pub const UNSUPPORTED_TEMPLATE_TYPES: &[&str] = &["carousel", "image_carousel"];
/// Action types the sandbox checks (and the page can press).
pub const SUPPORTED_ACTION_TYPES: &[&str] = &["postback", "uri", "message"];
/// Action types in LINE's schema that the sandbox refuses as unsupported.
pub const UNSUPPORTED_ACTION_TYPES: &[&str] = &["camera", "cameraRoll", "clipboard", "datetimepicker", "location", "richmenuswitch"];

/// Required fields, as the checks enforce them (compared with the schema by the tests).
pub mod required {
    /// `ReplyMessageRequest`.
    pub const REPLY: &[&str] = &["replyToken", "messages"];
    /// `PushMessageRequest`.
    pub const PUSH: &[&str] = &["to", "messages"];
    /// `MulticastRequest`.
    pub const MULTICAST: &[&str] = &["to", "messages"];
    /// `Message` (every message).
    pub const MESSAGE: &[&str] = &["type"];
    /// `TextMessage`.
    pub const TEXT: &[&str] = &["text"];
    /// `ImageMessage`.
    pub const IMAGE: &[&str] = &["originalContentUrl", "previewImageUrl"];
    /// `TemplateMessage`.
    pub const TEMPLATE: &[&str] = &["altText", "template"];
    /// `Template` (every template).
    pub const TEMPLATE_TYPE: &[&str] = &["type"];
    /// `ConfirmTemplate`.
    pub const CONFIRM: &[&str] = &["text", "actions"];
    /// `ButtonsTemplate`.
    pub const BUTTONS: &[&str] = &["text", "actions"];
}

/// Checks a reply body.
pub fn reply_request(body: &Map<String, Value>, media: MediaSchemes) -> Result<ReplyRequest, Vec<Detail>> {
    let mut c = Checker::new(media);
    let token = c.string(body, "replyToken", "", Text::required(1, usize::MAX));
    let messages = c.messages(body);
    c.boolean(body, "notificationDisabled", "");
    c.finish()?;
    Ok(ReplyRequest { reply_token: token.unwrap_or_default().to_owned(), messages: messages.unwrap_or_default() })
}

/// Checks a push body.
pub fn push_request(body: &Map<String, Value>, media: MediaSchemes) -> Result<PushRequest, Vec<Detail>> {
    let mut c = Checker::new(media);
    let to = c.string(body, "to", "", Text::required(1, usize::MAX));
    if let Some(to) = to.filter(|to| !is_push_target(to)) {
        c.fail("to", format!("The property, 'to', in the request body is invalid: '{to}' is not a user, group or room ID"));
    }
    let messages = c.messages(body);
    c.boolean(body, "notificationDisabled", "");
    c.finish()?;
    Ok(PushRequest { to: to.unwrap_or_default().to_owned(), messages: messages.unwrap_or_default() })
}

/// Checks a multicast body.
pub fn multicast_request(body: &Map<String, Value>, media: MediaSchemes) -> Result<MulticastRequest, Vec<Detail>> {
    let mut c = Checker::new(media);
    let mut to = Vec::new();
    if let Some(items) = c.array(body, "to", "", limits::MULTICAST_TO) {
        for (i, item) in items.iter().enumerate() {
            let path = format!("to[{i}]");
            match item.as_str() {
                Some(id) if is_user_id(id) => to.push(id.to_owned()),
                Some(_) => c.fail(&path, "Must be a user ID"),
                None => c.fail(&path, "Must be a string"),
            }
        }
    }
    let messages = c.messages(body);
    c.boolean(body, "notificationDisabled", "");
    c.finish()?;
    Ok(MulticastRequest { to, messages: messages.unwrap_or_default() })
}

/// The summary line LINE puts above `details`.
pub fn summary(details: &[Detail]) -> String {
    format!("The request body has {} error(s)", details.len())
}

/// Length rule of a string field, counted in UTF-16 code units as LINE counts.
#[derive(Debug, Clone, Copy)]
struct Text {
    required: bool,
    min: usize,
    max: usize,
}

impl Text {
    fn required(min: usize, max: usize) -> Self {
        Self { required: true, min, max }
    }

    fn optional(min: usize, max: usize) -> Self {
        Self { required: false, min, max }
    }
}

/// Collects every problem of one body (LINE reports all of them, not the first).
#[derive(Debug)]
struct Checker {
    details: Vec<Detail>,
    media: MediaSchemes,
}

impl Checker {
    fn new(media: MediaSchemes) -> Self {
        Self { details: Vec::new(), media }
    }

    fn finish(self) -> Result<(), Vec<Detail>> {
        if self.details.is_empty() { Ok(()) } else { Err(self.details) }
    }

    fn fail(&mut self, property: &str, message: impl Into<String>) {
        self.details.push(Detail { message: message.into(), property: property.to_owned() });
    }

    fn string<'v>(&mut self, obj: &'v Map<String, Value>, key: &str, path: &str, rule: Text) -> Option<&'v str> {
        let property = join(path, key);
        let value = match obj.get(key) {
            None | Some(Value::Null) => {
                if rule.required {
                    self.fail(&property, "May not be empty");
                }
                return None;
            }
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                self.fail(&property, "Must be a string");
                return None;
            }
        };
        let length = value.encode_utf16().count();
        if value.is_empty() && rule.required && rule.min > 0 {
            self.fail(&property, "May not be empty");
            return None;
        }
        if length < rule.min || length > rule.max {
            self.fail(&property, format!("Length must be between {} and {}", rule.min, rule.max));
            return None;
        }
        Some(value)
    }

    fn url(&mut self, obj: &Map<String, Value>, key: &str, path: &str, rule: Text, schemes: &[&str]) {
        let Some(value) = self.string(obj, key, path, rule) else { return };
        let scheme_ok = reqwest::Url::parse(value).is_ok_and(|url| schemes.contains(&url.scheme()));
        if !scheme_ok {
            self.fail(&join(path, key), format!("Must be a URL with one of the schemes: {}", schemes.join(", ")));
        }
    }

    fn array<'v>(&mut self, obj: &'v Map<String, Value>, key: &str, path: &str, (min, max): (usize, usize)) -> Option<&'v Vec<Value>> {
        let property = join(path, key);
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.fail(&property, "May not be empty");
                None
            }
            Some(Value::Array(items)) if items.len() < min || items.len() > max => {
                self.fail(&property, format!("Size must be between {min} and {max}"));
                None
            }
            Some(Value::Array(items)) => Some(items),
            Some(_) => {
                self.fail(&property, "Must be an array");
                None
            }
        }
    }

    fn object<'v>(&mut self, value: &'v Value, property: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(obj) => Some(obj),
            Value::Null => {
                self.fail(property, "May not be empty");
                None
            }
            _ => {
                self.fail(property, "Must be an object");
                None
            }
        }
    }

    fn boolean(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        if obj.get(key).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
            self.fail(&join(path, key), "Must be a boolean");
        }
    }

    fn messages(&mut self, body: &Map<String, Value>) -> Option<Vec<Value>> {
        let items = self.array(body, "messages", "", limits::MESSAGES)?;
        for (i, message) in items.iter().enumerate() {
            self.message(message, &format!("messages[{i}]"));
        }
        Some(items.clone())
    }

    fn message(&mut self, value: &Value, path: &str) {
        let Some(obj) = self.object(value, path) else { return };
        let Some(kind) = self.string(obj, "type", path, Text::required(1, usize::MAX)) else { return };
        match kind {
            "text" => {
                self.string(obj, "text", path, Text::required(1, limits::TEXT));
            }
            "image" => {
                for key in required::IMAGE {
                    self.url(obj, key, path, Text::required(1, limits::IMAGE_URL), self.media.schemes());
                }
            }
            "template" => self.template_message(obj, path),
            other => self.unknown_type(&join(path, "type"), "message", other, SUPPORTED_MESSAGE_TYPES, UNSUPPORTED_MESSAGE_TYPES),
        }
        if let Some(quick_reply) = obj.get("quickReply") {
            self.quick_reply(quick_reply, &join(path, "quickReply"));
        }
        if let Some(sender) = obj.get("sender") {
            let path = join(path, "sender");
            if let Some(sender) = self.object(sender, &path) {
                self.string(sender, "name", &path, Text::optional(1, limits::SENDER_NAME));
                self.url(sender, "iconUrl", &path, Text::optional(1, limits::SENDER_ICON_URL), self.media.schemes());
            }
        }
    }

    fn template_message(&mut self, obj: &Map<String, Value>, path: &str) {
        self.string(obj, "altText", path, Text::required(1, limits::ALT_TEXT));
        let template_path = join(path, "template");
        let Some(template) = obj.get("template") else {
            self.fail(&template_path, "May not be empty");
            return;
        };
        let Some(template) = self.object(template, &template_path) else { return };
        let Some(kind) = self.string(template, "type", &template_path, Text::required(1, usize::MAX)) else { return };
        match kind {
            "confirm" => {
                self.string(template, "text", &template_path, Text::required(1, limits::CONFIRM_TEXT));
                self.actions(template, &template_path, limits::CONFIRM_ACTIONS);
            }
            "buttons" => self.buttons(template, &template_path),
            other => self.unknown_type(&join(&template_path, "type"), "template", other, SUPPORTED_TEMPLATE_TYPES, UNSUPPORTED_TEMPLATE_TYPES),
        }
    }

    fn buttons(&mut self, template: &Map<String, Value>, path: &str) {
        let title = self.string(template, "title", path, Text::optional(1, limits::BUTTONS_TITLE));
        self.url(template, "thumbnailImageUrl", path, Text::optional(1, limits::IMAGE_URL), self.media.schemes());
        let has_title_or_image = title.is_some() || template.get("thumbnailImageUrl").is_some_and(|v| !v.is_null());
        let max = if has_title_or_image { limits::BUTTONS_TEXT_WITH_TITLE } else { limits::BUTTONS_TEXT };
        self.string(template, "text", path, Text::required(1, max));
        self.actions(template, path, limits::BUTTONS_ACTIONS);
        if let Some(default_action) = template.get("defaultAction") {
            self.action(default_action, &join(path, "defaultAction"), false);
        }
    }

    fn actions(&mut self, template: &Map<String, Value>, path: &str, size: (usize, usize)) {
        let Some(actions) = self.array(template, "actions", path, size) else { return };
        for (i, action) in actions.iter().enumerate() {
            self.action(action, &format!("{}[{i}]", join(path, "actions")), true);
        }
    }

    fn action(&mut self, value: &Value, path: &str, label_required: bool) {
        let Some(obj) = self.object(value, path) else { return };
        let label = if label_required { Text::required(1, limits::LABEL) } else { Text::optional(1, limits::LABEL) };
        self.string(obj, "label", path, label);
        let Some(kind) = self.string(obj, "type", path, Text::required(1, usize::MAX)) else { return };
        match kind {
            "postback" => {
                self.string(obj, "data", path, Text::required(0, limits::POSTBACK_DATA));
                self.string(obj, "displayText", path, Text::optional(1, limits::ACTION_TEXT));
                self.string(obj, "text", path, Text::optional(1, limits::ACTION_TEXT));
            }
            "message" => {
                self.string(obj, "text", path, Text::required(1, limits::ACTION_TEXT));
            }
            "uri" => self.url(obj, "uri", path, Text::required(1, limits::URI), &["http", "https", "line", "tel"]),
            other => self.unknown_type(&join(path, "type"), "action", other, SUPPORTED_ACTION_TYPES, UNSUPPORTED_ACTION_TYPES),
        }
    }

    fn quick_reply(&mut self, value: &Value, path: &str) {
        let Some(obj) = self.object(value, path) else { return };
        let Some(items) = self.array(obj, "items", path, (1, limits::QUICK_REPLY_ITEMS)) else { return };
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{}[{i}]", join(path, "items"));
            let Some(item) = self.object(item, &item_path) else { continue };
            match item.get("action") {
                Some(action) => self.action(action, &join(&item_path, "action"), true),
                None => self.fail(&join(&item_path, "action"), "May not be empty"),
            }
        }
    }

    fn unknown_type(&mut self, property: &str, what: &str, given: &str, supported: &[&str], unsupported: &[&str]) {
        if unsupported.contains(&given) {
            self.fail(property, format!("The LINE sandbox does not support the {what} type '{given}' (supported: {})", supported.join(", ")));
        } else {
            let all: Vec<&str> = supported.iter().chain(unsupported).copied().collect();
            self.fail(property, format!("Must be one of the following values: [{}]", all.join(", ")));
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn push(messages: Value) -> Result<PushRequest, Vec<Detail>> {
        push_request(&object(json!({"to": format!("U{}", "0".repeat(32)), "messages": messages})), MediaSchemes::HttpsOnly)
    }

    fn properties(details: &[Detail]) -> Vec<&str> {
        details.iter().map(|d| d.property.as_str()).collect()
    }

    fn consent(actions: Value) -> Value {
        json!([{"type": "template", "altText": "同意", "template": {"type": "confirm", "text": "同意しますか", "actions": actions}}])
    }

    fn postback(label: &str, data: &str) -> Value {
        json!({"type": "postback", "label": label, "data": data, "displayText": label})
    }

    #[test]
    fn the_messages_oshirase_sends_pass() {
        let ok = push(json!([
            {"type": "text", "text": "お知らせ"},
            consent_message(),
            {"type": "template", "altText": "案内", "template": {"type": "buttons", "title": "案内", "text": "詳しくはこちら",
                "actions": [{"type": "uri", "label": "開く", "uri": "https://example.jp/"}, {"type": "message", "label": "はい", "text": "はい"}]}},
            {"type": "image", "originalContentUrl": "https://example.jp/a.png", "previewImageUrl": "https://example.jp/a.png"},
        ]));
        assert!(ok.is_ok(), "{ok:?}");
    }

    fn consent_message() -> Value {
        consent(json!([postback("同意する", "consent=yes"), postback("同意しない", "consent=no")]))[0].clone()
    }

    #[test]
    fn image_urls_are_https_unless_http_media_is_allowed() {
        let to = format!("U{}", "0".repeat(32));
        let body = object(json!({"to": to, "messages": [
            {"type": "image", "originalContentUrl": "http://127.0.0.1:8080/pass.png", "previewImageUrl": "https://example.jp/p.png"},
            {"type": "template", "altText": "a", "sender": {"iconUrl": "http://127.0.0.1:8080/icon.png"}, "template": {"type": "buttons",
                "thumbnailImageUrl": "http://127.0.0.1:8080/t.png", "text": "t", "actions": [{"type": "message", "label": "はい", "text": "はい"}]}},
        ]}));
        let details = push_request(&body, MediaSchemes::HttpsOnly).unwrap_err();
        assert_eq!(properties(&details), ["messages[0].originalContentUrl", "messages[1].template.thumbnailImageUrl", "messages[1].sender.iconUrl"]);
        assert!(details.iter().all(|d| d.message == "Must be a URL with one of the schemes: https"), "{details:?}");
        assert!(push_request(&body, MediaSchemes::HttpAndHttps).is_ok());
        // Only http is added: other schemes stay refused.
        let ftp = object(json!({"to": to, "messages": [{"type": "image", "originalContentUrl": "ftp://a/p.png", "previewImageUrl": "https://a/p.png"}]}));
        assert_eq!(properties(&push_request(&ftp, MediaSchemes::HttpAndHttps).unwrap_err()), ["messages[0].originalContentUrl"]);
    }

    #[test]
    fn text_is_limited_to_five_thousand_utf16_units() {
        assert!(push(json!([{"type": "text", "text": "あ".repeat(5000)}])).is_ok());
        // An emoji outside the BMP is two UTF-16 units.
        let details = push(json!([{"type": "text", "text": format!("{}😀", "a".repeat(4999))}])).unwrap_err();
        assert_eq!(details, vec![Detail { message: "Length must be between 1 and 5000".into(), property: "messages[0].text".into() }]);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let details = push(json!([
            {"type": "text"},
            {"type": "template", "altText": "x", "template": {"type": "confirm", "text": "x".repeat(241),
                "actions": [postback(&"長".repeat(21), &"d".repeat(301))]}},
        ]))
        .unwrap_err();
        assert_eq!(
            properties(&details),
            ["messages[0].text", "messages[1].template.text", "messages[1].template.actions"],
            "a confirm template with one action fails on its size before its actions are read"
        );
        let details = push(consent(json!([postback(&"長".repeat(21), "a"), postback("いいえ", &"d".repeat(301))]))).unwrap_err();
        assert_eq!(properties(&details), ["messages[0].template.actions[0].label", "messages[0].template.actions[1].data"]);
        assert_eq!(summary(&details), "The request body has 2 error(s)");
    }

    #[test]
    fn buttons_text_is_shorter_with_a_title() {
        let buttons = |title: Option<&str>, text: &str| {
            let mut template = json!({"type": "buttons", "text": text, "actions": [{"type": "message", "label": "はい", "text": "はい"}]});
            if let Some(title) = title {
                template["title"] = json!(title);
            }
            push(json!([{"type": "template", "altText": "a", "template": template}]))
        };
        assert!(buttons(None, &"a".repeat(160)).is_ok());
        assert!(buttons(None, &"a".repeat(161)).is_err());
        assert!(buttons(Some("題"), &"a".repeat(60)).is_ok());
        assert_eq!(properties(&buttons(Some("題"), &"a".repeat(61)).unwrap_err()), ["messages[0].template.text"]);
    }

    #[test]
    fn message_counts_and_recipient_counts_are_limited() {
        let six = Value::Array(vec![json!({"type": "text", "text": "a"}); 6]);
        assert_eq!(push(six).unwrap_err()[0].message, "Size must be between 1 and 5");
        assert_eq!(properties(&push(json!([])).unwrap_err()), ["messages"]);
        let ids: Vec<String> = (0..501).map(|i| format!("U{i:032x}")).collect();
        let too_many = multicast_request(&object(json!({"to": ids, "messages": [{"type": "text", "text": "a"}]})), MediaSchemes::HttpsOnly).unwrap_err();
        assert_eq!(too_many, vec![Detail { message: "Size must be between 1 and 500".into(), property: "to".into() }]);
        let ok = multicast_request(&object(json!({"to": &ids[..500], "messages": [{"type": "text", "text": "a"}]})), MediaSchemes::HttpsOnly);
        assert_eq!(ok.unwrap().to.len(), 500);
    }

    #[test]
    fn recipients_must_look_like_line_ids() {
        let details = push_request(&object(json!({"to": "someone", "messages": [{"type": "text", "text": "a"}]})), MediaSchemes::HttpsOnly).unwrap_err();
        assert_eq!(properties(&details), ["to"]);
        let details = multicast_request(
            &object(json!({"to": [format!("U{}", "a".repeat(32)), "U123", 7], "messages": [{"type": "text", "text": "a"}]})),
            MediaSchemes::HttpsOnly,
        )
        .unwrap_err();
        assert_eq!(properties(&details), ["to[1]", "to[2]"]);
    }

    #[test]
    fn flex_and_other_types_are_refused_as_unsupported_by_the_sandbox() {
        let details = push(json!([{"type": "flex", "altText": "a", "contents": {}}, {"type": "nonsense"}])).unwrap_err();
        assert_eq!(properties(&details), ["messages[0].type", "messages[1].type"]);
        assert!(details[0].message.contains("does not support the message type 'flex'"), "{}", details[0].message);
        assert!(details[1].message.starts_with("Must be one of the following values: [text, image, template"), "{}", details[1].message);
    }

    #[test]
    fn wrong_json_types_are_named() {
        let details =
            reply_request(&object(json!({"replyToken": 5, "messages": {"type": "text"}, "notificationDisabled": "yes"})), MediaSchemes::HttpsOnly).unwrap_err();
        assert_eq!(
            details.iter().map(|d| (d.property.as_str(), d.message.as_str())).collect::<Vec<_>>(),
            [("replyToken", "Must be a string"), ("messages", "Must be an array"), ("notificationDisabled", "Must be a boolean")]
        );
    }

    /// The schema of record, vendored beside the crate (see `schema/README.md`).
    mod schema {
        use std::collections::BTreeSet;

        use yaml_rust2::{Yaml, YamlLoader};

        use super::*;

        fn messaging_api() -> Yaml {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/messaging-api.yml");
            let text = std::fs::read_to_string(path).unwrap();
            YamlLoader::load_from_str(&text).unwrap().remove(0)
        }

        fn component<'y>(doc: &'y Yaml, name: &str) -> &'y Yaml {
            let schema = &doc["components"]["schemas"][name];
            assert!(!schema.is_badvalue(), "{name} is not in messaging-api.yml");
            schema
        }

        /// The `required` list of a schema, including those inside its `allOf` parts.
        fn required_of(doc: &Yaml, name: &str) -> BTreeSet<String> {
            let schema = component(doc, name);
            let mut parts = vec![schema];
            if let Some(all_of) = schema["allOf"].as_vec() {
                parts.extend(all_of.iter().filter(|p| p["$ref"].is_badvalue()));
            }
            parts.iter().filter_map(|p| p["required"].as_vec()).flatten().filter_map(|r| r.as_str().map(str::to_owned)).collect()
        }

        /// A property's schema, looked up directly or inside `allOf` parts.
        fn property<'y>(doc: &'y Yaml, name: &str, field: &str) -> &'y Yaml {
            let schema = component(doc, name);
            if !schema["properties"][field].is_badvalue() {
                return &schema["properties"][field];
            }
            let found = schema["allOf"].as_vec().into_iter().flatten().map(|p| &p["properties"][field]).find(|p| !p.is_badvalue());
            found.unwrap_or_else(|| panic!("{name}.{field} is not in messaging-api.yml"))
        }

        fn int(value: &Yaml) -> usize {
            usize::try_from(value.as_i64().unwrap()).unwrap()
        }

        fn mapping_keys(doc: &Yaml, name: &str) -> BTreeSet<String> {
            let mapping = component(doc, name)["discriminator"]["mapping"].as_hash().unwrap();
            mapping.keys().map(|k| k.as_str().unwrap().to_owned()).collect()
        }

        fn set(items: &[&[&str]]) -> BTreeSet<String> {
            items.iter().flat_map(|i| i.iter()).map(|s| (*s).to_owned()).collect()
        }

        #[test]
        fn required_fields_match_the_schema() {
            let doc = messaging_api();
            for (name, ours) in [
                ("ReplyMessageRequest", required::REPLY),
                ("PushMessageRequest", required::PUSH),
                ("MulticastRequest", required::MULTICAST),
                ("Message", required::MESSAGE),
                ("TextMessage", required::TEXT),
                ("ImageMessage", required::IMAGE),
                ("TemplateMessage", required::TEMPLATE),
                ("Template", required::TEMPLATE_TYPE),
                ("ConfirmTemplate", required::CONFIRM),
                ("ButtonsTemplate", required::BUTTONS),
            ] {
                assert_eq!(required_of(&doc, name), set(&[ours]), "required fields of {name}");
            }
        }

        #[test]
        fn size_and_length_limits_match_the_schema() {
            let doc = messaging_api();
            for request in ["ReplyMessageRequest", "PushMessageRequest", "MulticastRequest"] {
                let messages = property(&doc, request, "messages");
                assert_eq!((int(&messages["minItems"]), int(&messages["maxItems"])), limits::MESSAGES, "{request}.messages");
            }
            let to = property(&doc, "MulticastRequest", "to");
            assert_eq!((int(&to["minItems"]), int(&to["maxItems"])), limits::MULTICAST_TO);
            assert_eq!(int(&property(&doc, "PostbackAction", "data")["maxLength"]), limits::POSTBACK_DATA);
            assert_eq!(int(&property(&doc, "QuickReply", "items")["maxItems"]), limits::QUICK_REPLY_ITEMS);
            assert_eq!(int(&property(&doc, "Sender", "name")["maxLength"]), limits::SENDER_NAME);
            assert_eq!(int(&property(&doc, "Sender", "iconUrl")["maxLength"]), limits::SENDER_ICON_URL);
        }

        #[test]
        fn every_type_in_the_schema_is_either_checked_or_refused_as_unsupported() {
            let doc = messaging_api();
            assert_eq!(mapping_keys(&doc, "Message"), set(&[SUPPORTED_MESSAGE_TYPES, UNSUPPORTED_MESSAGE_TYPES]));
            assert_eq!(mapping_keys(&doc, "Template"), set(&[SUPPORTED_TEMPLATE_TYPES, UNSUPPORTED_TEMPLATE_TYPES]));
            assert_eq!(mapping_keys(&doc, "Action"), set(&[SUPPORTED_ACTION_TYPES, UNSUPPORTED_ACTION_TYPES]));
        }

        /// For each schema with required fields: a valid example loses one required field at
        /// a time, and the checks must name exactly that property.
        #[test]
        fn leaving_out_any_required_field_is_reported_at_its_path() {
            let doc = messaging_api();
            let user = format!("U{}", "0".repeat(32));
            let confirm = consent_message();
            let buttons = json!({"type": "template", "altText": "a", "template": {"type": "buttons", "text": "t",
                "actions": [{"type": "message", "label": "はい", "text": "はい"}]}});
            let image = json!({"type": "image", "originalContentUrl": "https://a.jp/1.png", "previewImageUrl": "https://a.jp/1.png"});
            let text = json!({"type": "text", "text": "a"});
            let cases: Vec<(&str, Value, &str)> = vec![
                ("ReplyMessageRequest", json!({"replyToken": "r", "messages": [text]}), ""),
                ("PushMessageRequest", json!({"to": user, "messages": [text]}), ""),
                ("MulticastRequest", json!({"to": [user], "messages": [text]}), ""),
                ("Message", json!({"to": user, "messages": [text]}), "/messages/0"),
                ("TextMessage", json!({"to": user, "messages": [text]}), "/messages/0"),
                ("ImageMessage", json!({"to": user, "messages": [image]}), "/messages/0"),
                ("TemplateMessage", json!({"to": user, "messages": [confirm]}), "/messages/0"),
                ("Template", json!({"to": user, "messages": [confirm]}), "/messages/0/template"),
                ("ConfirmTemplate", json!({"to": user, "messages": [confirm]}), "/messages/0/template"),
                ("ButtonsTemplate", json!({"to": user, "messages": [buttons]}), "/messages/0/template"),
            ];
            for (name, valid, pointer) in cases {
                let check = |body: &Value| -> Result<(), Vec<Detail>> {
                    let body = object(body.clone());
                    match name {
                        "ReplyMessageRequest" => reply_request(&body, MediaSchemes::HttpsOnly).map(drop),
                        "MulticastRequest" => multicast_request(&body, MediaSchemes::HttpsOnly).map(drop),
                        _ => push_request(&body, MediaSchemes::HttpsOnly).map(drop),
                    }
                };
                assert!(check(&valid).is_ok(), "{name}: the example must pass");
                for field in required_of(&doc, name) {
                    let mut body = valid.clone();
                    body.pointer_mut(pointer).unwrap().as_object_mut().unwrap().remove(&field);
                    let expected = format!("{}{field}", pointer_to_property(pointer));
                    let details = check(&body).expect_err(&format!("{name} without {field}"));
                    assert_eq!(properties(&details), [expected.as_str()], "{name} without {field}");
                }
            }
        }

        /// `/messages/0/template` → `messages[0].template.`
        fn pointer_to_property(pointer: &str) -> String {
            let mut out = String::new();
            for part in pointer.split('/').skip(1) {
                if part.bytes().all(|b| b.is_ascii_digit()) {
                    out = format!("{}[{part}].", out.trim_end_matches('.'));
                } else {
                    out.push_str(part);
                    out.push('.');
                }
            }
            out
        }
    }
}
