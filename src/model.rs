//! Plain data shared by every layer: channels, visitors, dialogs, messages, attachments and the
//! normalised inbound events providers produce. No I/O here.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

pub type ChannelId = i64;
pub type VisitorId = i64;
pub type DialogId = i64;
pub type MessageId = i64;
pub type AttachmentId = i64;
pub type OperatorId = i64;

/// Messenger kinds. The strings are part of the public contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelType {
    Telegram,
    Viber,
    Vk,
    Facebook,
    Chatapi,
    WhatsappCloud,
    Widget,
}

impl ChannelType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Telegram => "telegram",
            ChannelType::Viber => "viber",
            ChannelType::Vk => "vk",
            ChannelType::Facebook => "facebook",
            ChannelType::Chatapi => "chatapi",
            ChannelType::WhatsappCloud => "whatsapp_cloud",
            ChannelType::Widget => "widget",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookState {
    /// Registered with the provider.
    Registered,
    /// Registration failed; `webhook_error` says why.
    Failed,
    /// Removed (channel deleted) or never registered.
    None,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Registered => "registered",
            WebhookState::Failed => "failed",
            WebhookState::None => "none",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "registered" => WebhookState::Registered,
            "failed" => WebhookState::Failed,
            _ => WebhookState::None,
        }
    }
}

/// A messenger account connected to the inbox (a bot, a page, a community).
#[derive(Clone, Debug)]
pub struct Channel {
    pub id: ChannelId,
    pub kind: ChannelType,
    pub name: String,
    pub external_id: Option<String>,
    pub bot_name: Option<String>,
    pub token: String,
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub webhook_secret: String,
    pub webhook_state: WebhookState,
    pub webhook_error: Option<String>,
    pub active: bool,
    pub health: ChannelActivity,
}

/// When a channel last worked, as the database knows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelActivity {
    pub last_inbound_at: Option<Timestamp>,
    pub last_outbound_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
}

impl Channel {
    pub fn proxy(&self) -> Option<&str> {
        self.settings
            .get("proxy")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    }
}

#[derive(Clone, Debug)]
pub struct Visitor {
    pub id: VisitorId,
    pub channel_id: ChannelId,
    pub external_id: String,
    pub name: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub avatar_attachment_id: Option<AttachmentId>,
    pub blocked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "out" {
            Direction::Out
        } else {
            Direction::In
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
    Deleted,
    /// The process sending it died mid-call: it may or may not have reached the visitor.
    Unknown,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
            MessageStatus::Deleted => "deleted",
            MessageStatus::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .unwrap_or(MessageStatus::Received)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachmentKind {
    Image,
    Document,
    Audio,
    Voice,
    Video,
    Sticker,
}

impl AttachmentKind {
    pub fn for_mime(mime: &str) -> Self {
        if mime.starts_with("image/") {
            AttachmentKind::Image
        } else if mime.starts_with("video/") {
            AttachmentKind::Video
        } else if mime.starts_with("audio/") {
            AttachmentKind::Audio
        } else {
            AttachmentKind::Document
        }
    }
}

/// The usual type of a file by its name's extension (`application/octet-stream` when unknown).
pub fn mime_for_name(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "mp4" => "video/mp4",
        "ogg" | "oga" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

// ---------------------------------------------------------------------------------------------
// Normalised inbound events: what providers turn a webhook into before any business logic.

/// Who wrote, as the messenger describes them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VisitorProfile {
    pub external_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub language: Option<String>,
    /// Their picture when the webhook itself carries it (Viber's `sender.avatar`): loaded
    /// without asking the messenger again.
    pub avatar: Option<InboundFile>,
}

impl VisitorProfile {
    pub fn display_name(&self) -> String {
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect();
        if !parts.is_empty() {
            parts.join(" ")
        } else if let Some(u) = &self.username {
            format!("@{u}")
        } else {
            String::new()
        }
    }
}

/// A file the provider holds; fetched by the provider's `download` with `file_ref`.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundFile {
    pub file_ref: String,
    pub name: Option<String>,
    pub mime: Option<String>,
    pub size: Option<u64>,
    pub kind: AttachmentKind,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InboundMessage {
    /// Unique per channel (e.g. Telegram `chat_id:message_id`).
    pub external_id: String,
    pub visitor: VisitorProfile,
    pub text: String,
    pub files: Vec<InboundFile>,
    pub sent_at: Timestamp,
    /// Deep-link payload of a `/start` command, kept as the dialog's source tag.
    pub start_payload: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InboundEvent {
    Message(InboundMessage),
    Edited {
        external_id: String,
        visitor: VisitorProfile,
        text: String,
        /// When the message was first sent (an edit may arrive before its message).
        sent_at: Timestamp,
        edited_at: Timestamp,
    },
    VisitorBlocked {
        visitor: VisitorProfile,
        blocked: bool,
    },
    /// A message our side sent from outside the inbox (the Page Inbox, VK's community chat, the
    /// phone of a WhatsApp account), or the messenger's echo of one we sent: stored as outgoing,
    /// once, keyed by its id. `visitor` is the person it was sent to.
    Echo(InboundMessage),
    /// What happened to one of our messages, by its messenger id. Statuses only move forward
    /// (sent → delivered → read); `failed` replaces only `queued`/`sent`.
    Status {
        external_id: String,
        status: MessageStatus,
        at: Timestamp,
        /// The messenger's words, for `failed`.
        error: Option<String>,
    },
    /// Every message we sent to `visitor` up to `until` reached `status` (Facebook watermarks,
    /// Viber `seen` without ids).
    StatusUpTo {
        visitor: VisitorProfile,
        status: MessageStatus,
        until: Timestamp,
    },
    /// The messenger confirms one of our own sends by the key we gave it (Facebook's echo
    /// `metadata`, WhatsApp's `biz_opaque_callback_data`): `key` is the send's idempotency key.
    /// It settles a send whose answer was lost: the message counts as sent with this id.
    SentConfirmed {
        key: String,
        external_id: String,
    },
    /// The visitor opened the chat (Viber `conversation_started`, Facebook "Get started"
    /// without text): known from now on, no dialog yet.
    ConversationStarted {
        visitor: VisitorProfile,
        /// Deep-link or referral context the messenger passed along.
        context: Option<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// Outbound results.

#[derive(Clone, Debug, PartialEq)]
pub struct SentMessage {
    pub external_id: String,
}

/// The account behind a token, as "Check" shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AccountInfo {
    pub bot_id: String,
    pub bot_name: String,
    pub username: Option<String>,
    /// The bot's / page's picture, as the messenger serves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// What else the admin should see: a QR code to scan (`qr_code`, a data: URL), a
    /// confirmation code, the account's state in the messenger's words.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}
