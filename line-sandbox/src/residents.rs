//! Simulated residents: their friendship with the official account, the messages that
//! reached their phone (the inbox, exactly as the bot sent them), and the chat as they saw it
//! (their own messages and what happened, for the page). Plain data; what residents *do*
//! lives in [`crate::sandbox`].

use serde::Serialize;
use serde_json::Value;

use crate::media::Media;

/// A resident's relation to the official account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Friendship {
    /// Never added the account.
    NotFriend,
    /// Added (or unblocked) it: receives messages.
    Friend,
    /// Blocked it: receives nothing, though the API still answers 200.
    Blocked,
}

/// How a message reached the resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// `POST /v2/bot/message/reply`.
    Reply,
    /// `POST /v2/bot/message/push`.
    Push,
    /// `POST /v2/bot/message/multicast`.
    Multicast,
}

/// One message in a resident's inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxEntry {
    /// The message id: the one answered in `sentMessages` for a reply or push; for a
    /// multicast (which answers no ids), one per message object, shared by its recipients.
    pub message_id: String,
    /// When it arrived (Unix ms).
    pub received_at: u64,
    /// Which endpoint sent it.
    pub via: Via,
    /// The LINE message object exactly as the bot sent it.
    pub message: Value,
    /// For an image message, what fetching its URLs found (see [`crate::media`]). Filled in
    /// when the inbox is read ([`crate::Sandbox::inbox`]); absent for other messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
}

/// A resident as the control API lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResidentView {
    /// LINE user id (`U` + 32 hex).
    pub user_id: String,
    /// The name the profile API returns.
    pub display_name: String,
    /// `not_friend`, `friend` or `blocked`.
    pub friendship: Friendship,
    /// True when the account is their friend (not blocked).
    pub friend: bool,
    /// True when they blocked the account.
    pub blocked: bool,
    /// How many messages reached them.
    pub inbox_count: usize,
}

/// One line of a resident's chat as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatLine {
    /// A message from the account: an index into the inbox.
    FromAccount(usize),
    /// Something the resident sent.
    FromResident {
        /// When (Unix ms).
        at: u64,
        /// The text shown in the chat.
        text: String,
        /// Set for a postback: its data (not shown to the resident in LINE).
        postback_data: Option<String>,
    },
    /// A change of friendship.
    Note {
        /// When (Unix ms).
        at: u64,
        /// What happened, in Japanese.
        text: String,
    },
}

/// A resident's whole record.
#[derive(Debug, Clone)]
pub struct Resident {
    /// LINE user id.
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// Relation to the account.
    pub friendship: Friendship,
    /// Messages that reached them.
    pub inbox: Vec<InboxEntry>,
    /// The chat as they saw it.
    pub chat: Vec<ChatLine>,
    /// The outcome of their last action on the page (shown once, then kept until the next).
    pub notice: Option<String>,
}

impl Resident {
    /// A new resident who has not added the account.
    pub fn new(user_id: String, display_name: String) -> Self {
        Self { user_id, display_name, friendship: Friendship::NotFriend, inbox: Vec::new(), chat: Vec::new(), notice: None }
    }

    /// The listing form.
    pub fn view(&self) -> ResidentView {
        ResidentView {
            user_id: self.user_id.clone(),
            display_name: self.display_name.clone(),
            friendship: self.friendship,
            friend: self.friendship == Friendship::Friend,
            blocked: self.friendship == Friendship::Blocked,
            inbox_count: self.inbox.len(),
        }
    }

    /// Puts a message in the inbox and the chat.
    pub fn receive(&mut self, received_at: u64, via: Via, message_id: String, message: Value) {
        self.inbox.push(InboxEntry { message_id, received_at, via, message, media: None });
        self.chat.push(ChatLine::FromAccount(self.inbox.len() - 1));
    }
}
