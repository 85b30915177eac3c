//! Bot API objects as the fake sends them. Structs (not `serde_json::Value`) so the fields come
//! out in Telegram's order, as in the fixtures (`{"ok":false,"error_code":..,"description":..}`).

use serde::{Deserialize, Serialize};

/// `{"ok":true,"result":...[,"description":...]}`
#[derive(Serialize)]
pub(super) struct OkEnvelope<'a, T: Serialize> {
    pub ok: bool,
    pub result: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
}

/// `{"ok":false,"error_code":N,"description":...}`
#[derive(Serialize)]
pub(super) struct ErrorEnvelope<'a> {
    pub ok: bool,
    pub error_code: u16,
    pub description: &'a str,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct User {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

/// The `getMe` result.
#[derive(Serialize)]
pub(super) struct BotInfo {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: &'static str,
    pub username: &'static str,
    pub can_join_groups: bool,
    pub can_read_all_group_messages: bool,
    pub supports_inline_queries: bool,
    pub can_connect_to_business: bool,
    pub has_main_web_app: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Chat {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(super) struct PhotoSize {
    pub file_id: String,
    pub file_unique_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<usize>,
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(super) struct Document {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    pub file_id: String,
    pub file_unique_id: String,
    pub file_size: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(super) struct MessageEntity {
    pub offset: usize,
    pub length: usize,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(super) struct Message {
    pub message_id: i64,
    pub from: User,
    pub chat: Chat,
    pub date: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<MessageEntity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<Vec<PhotoSize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct Update<'a> {
    pub update_id: i64,
    pub message: &'a Message,
}

/// The `getFile` result.
#[derive(Serialize)]
pub(super) struct File<'a> {
    pub file_id: &'a str,
    pub file_unique_id: &'a str,
    pub file_size: usize,
    pub file_path: &'a str,
}

#[derive(Serialize)]
pub(super) struct UserProfilePhotos {
    pub total_count: usize,
    pub photos: Vec<Vec<PhotoSize>>,
}

#[derive(Serialize)]
pub(super) struct WebhookInfo<'a> {
    pub url: &'a str,
    pub has_custom_certificate: bool,
    pub pending_update_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<&'a [String]>,
}
