//! What a resident's text or button means. Pure functions: text in, command out.

use oshirase_common::VenueCode;
use oshirase_common::kiosk_token::{KioskToken, TOKEN_SYMBOLS};
use oshirase_common::text::normalize;

use crate::messages::catalog;

/// A text message from a resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextCommand {
    /// The check-in text the deep link typed, with the scanned code.
    CheckIn(VenueCode),
    /// The check-in text of a kiosk's rotating code (not yet verified).
    KioskCheckIn(KioskToken),
    /// A check-in text whose code is not a code at all.
    MalformedCheckIn,
    /// The deletion command.
    Delete,
    /// A request for a one-time history code (a positive resident sharing their visits), or
    /// with the end of a pass's number, for the visits made with that pass.
    HistoryCode(Option<String>),
    /// A request for a pass; the text after the command word is the name for it (empty: for
    /// the resident themself), not yet checked.
    Pass(String),
    /// A request for the list of the resident's passes.
    PassList,
    /// A request to revoke the pass whose number ends with this.
    PassRevoke(String),
    /// Anything else.
    Other,
}

/// The check-in text for a printed code or a kiosk token, typed into the chat by the deep link.
pub fn checkin_text(code: &str) -> String {
    catalog().checkin_text.replace("{code}", code)
}

/// Reads a text message.
pub fn parse_text(text: &str) -> TextCommand {
    let text = normalize(text);
    let c = catalog();
    if let Some(rest) = text.strip_prefix(&normalize(&c.checkin_prefix)) {
        let rest = rest.trim();
        if rest.len() == TOKEN_SYMBOLS {
            return KioskToken::parse(rest).map_or(TextCommand::MalformedCheckIn, TextCommand::KioskCheckIn);
        }
        return VenueCode::parse(rest).map_or(TextCommand::MalformedCheckIn, TextCommand::CheckIn);
    }
    if text == normalize(&c.delete_command) {
        return TextCommand::Delete;
    }
    let history = normalize(&c.history_command);
    if text == history {
        return TextCommand::HistoryCode(None);
    }
    if let Some(ending) = text.strip_prefix(&format!("{history} ")) {
        return TextCommand::HistoryCode(Some(ending.trim().trim_start_matches(['…', '.']).replace(['-', ' '], "")));
    }
    if text == normalize(&c.pass_list_command) {
        return TextCommand::PassList;
    }
    if let Some(rest) = text.strip_prefix(&normalize(&c.pass_revoke_command)) {
        return TextCommand::PassRevoke(rest.trim().trim_start_matches(['…', '.']).replace(['-', ' '], ""));
    }
    let pass = normalize(&c.pass_command);
    if text == pass {
        return TextCommand::Pass(String::new());
    }
    // "パス 太郎": the word, a space, the name ("パスワード" is not a request for a pass).
    if let Some(name) = text.strip_prefix(&format!("{pass} ")) {
        return TextCommand::Pass(name.trim().to_owned());
    }
    TextCommand::Other
}

/// A tapped button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostbackCommand {
    /// Agreed to the terms of this version.
    Consent(String),
    /// Declined the terms.
    DeclineConsent,
    /// Confirmed deletion; the question is valid until this Unix time (ms).
    ConfirmDelete {
        /// Unix ms after which the button no longer works.
        until_ms: i64,
    },
    /// Cancelled deletion.
    CancelDelete,
    /// Not ours (or from an older version of the service).
    Unknown,
}

/// Postback data of the consent button.
pub fn consent_data(terms_version: &str) -> String {
    format!("consent={terms_version}")
}

/// Postback data of the decline button.
pub const DECLINE_DATA: &str = "consent=decline";
/// Postback data of the cancel-deletion button.
pub const CANCEL_DELETE_DATA: &str = "delete=cancel";

/// Postback data of the confirm-deletion button, valid until `until_ms`.
pub fn confirm_delete_data(until_ms: i64) -> String {
    format!("delete=confirm&until={until_ms}")
}

/// Reads postback data.
pub fn parse_postback(data: &str) -> PostbackCommand {
    if data == DECLINE_DATA {
        return PostbackCommand::DeclineConsent;
    }
    if data == CANCEL_DELETE_DATA {
        return PostbackCommand::CancelDelete;
    }
    if let Some(version) = data.strip_prefix("consent=").filter(|v| !v.is_empty() && !v.contains('&')) {
        return PostbackCommand::Consent(version.to_owned());
    }
    if let Some(until) = data.strip_prefix("delete=confirm&until=").and_then(|t| t.parse().ok()) {
        return PostbackCommand::ConfirmDelete { until_ms: until };
    }
    PostbackCommand::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkin_text_parses_back_to_its_code() {
        let code = VenueCode::parse("7K3M9QX2P4").expect("valid");
        assert_eq!(parse_text(&checkin_text(code.as_str())), TextCommand::CheckIn(code.clone()));
        // Edited by hand, full-width, with a hyphen: still the code.
        assert_eq!(parse_text("来場登録　７K3M9-QX2P4 "), TextCommand::CheckIn(code));
        assert_eq!(parse_text("来場登録 hello"), TextCommand::MalformedCheckIn);
        let token = KioskToken::parse("KX7PQ2M901R2DW0A70PJXV6XG").expect("documented vector");
        assert_eq!(parse_text(&checkin_text(&token.to_string())), TextCommand::KioskCheckIn(token));
    }

    #[test]
    fn other_texts_are_the_delete_command_or_nothing() {
        assert_eq!(parse_text(" 削除 "), TextCommand::Delete);
        assert_eq!(parse_text("削除したい"), TextCommand::Other);
        assert_eq!(parse_text("こんにちは"), TextCommand::Other);
        assert_eq!(parse_text("パス"), TextCommand::Pass(String::new()));
        assert_eq!(parse_text("パス　たろう "), TextCommand::Pass("たろう".into()));
        assert_eq!(parse_text("パスワード"), TextCommand::Other);
        assert_eq!(parse_text("パス一覧"), TextCommand::PassList);
        assert_eq!(parse_text("履歴コード"), TextCommand::HistoryCode(None));
        assert_eq!(parse_text("履歴コード …AB12"), TextCommand::HistoryCode(Some("AB12".into())));
        assert_eq!(parse_text("パス取消 …ab-12"), TextCommand::PassRevoke("ab12".into()));
        assert_eq!(parse_text(""), TextCommand::Other);
    }

    #[test]
    fn postbacks_round_trip() {
        assert_eq!(parse_postback(&consent_data("2026-11")), PostbackCommand::Consent("2026-11".into()));
        assert_eq!(parse_postback(DECLINE_DATA), PostbackCommand::DeclineConsent);
        assert_eq!(parse_postback(&confirm_delete_data(1_764_000_000_000)), PostbackCommand::ConfirmDelete { until_ms: 1_764_000_000_000 });
        assert_eq!(parse_postback(CANCEL_DELETE_DATA), PostbackCommand::CancelDelete);
        for unknown in ["", "consent=", "delete=confirm&until=soon", "action=buy", "consent=a&b"] {
            assert_eq!(parse_postback(unknown), PostbackCommand::Unknown, "{unknown}");
        }
    }
}
