//! The provider interface: one trait every messenger implements, one file per messenger.
//!
//! Providers speak HTTP to their messenger and turn webhooks into [`InboundEvent`]s. They know
//! nothing of MySQL or of the C ABI: everything they need arrives in a [`ProviderContext`].

pub mod telegram;
pub mod vk;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value};

use crate::model::{
    AccountInfo, ChannelType, InboundEvent, InboundFile, SentMessage, VisitorProfile,
};

/// What a provider call needs about the channel, resolved by the caller.
pub struct ProviderContext<'a> {
    pub token: &'a str,
    pub settings: &'a Map<String, Value>,
    pub webhook_secret: &'a str,
    /// Scheme+host+port of the messenger's API (the configured override or the default).
    pub api_base: &'a str,
    pub agent: &'a ureq::Agent,
}

/// A webhook request as the web server received it.
pub struct WebhookRequest<'a> {
    pub method: &'a str,
    /// Header names lower-cased.
    pub headers: &'a BTreeMap<String, String>,
    pub query: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
}

impl WebhookRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// An HTTP answer a provider wants to give directly (VK's confirmation string, Meta's challenge).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// A webhook turned into events.
#[derive(Debug, Default)]
pub struct ParsedWebhook {
    /// Provider's id of this delivery (Telegram `update_id`): a redelivery carries the same key.
    pub delivery_key: Option<String>,
    pub events: Vec<InboundEvent>,
    /// Answer to send instead of the default `200 ok`.
    pub reply: Option<HttpReply>,
}

/// Why a webhook was refused; nothing is stored.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WebhookError {
    /// No credentials (401).
    #[error("webhook not authenticated: {0}")]
    Unauthenticated(String),
    /// Wrong credentials (403).
    #[error("webhook refused: {0}")]
    Forged(String),
    /// Not something the provider sends (400).
    #[error("malformed webhook: {0}")]
    Malformed(String),
}

impl WebhookError {
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::Unauthenticated(_) => 401,
            WebhookError::Forged(_) => 403,
            WebhookError::Malformed(_) => 400,
        }
    }
}

/// A failed provider call, mapped to the stable error codes.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum ProviderError {
    #[error("the messenger refused the credentials: {0}")]
    Unauthorized(String),
    #[error("the messenger rejected the request: {0}")]
    Rejected(String),
    #[error("the messenger is unreachable or failing: {0}")]
    Unavailable(String),
    #[error("the messenger asks to slow down: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<u64>,
    },
    #[error("the visitor has blocked the bot: {0}")]
    VisitorBlocked(String),
    #[error("the messenger's reply window is closed: {0}")]
    WindowClosed(String),
    #[error("the file is too large for this messenger ({size} bytes, limit {limit} bytes)")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    Unsupported(String),
    #[error("local file error: {0}")]
    Io(String),
}

impl ProviderError {
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Unauthorized(_) => "provider_unauthorized",
            ProviderError::Rejected(_) => "provider_rejected",
            ProviderError::Unavailable(_) => "provider_unavailable",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::VisitorBlocked(_) => "visitor_blocked",
            ProviderError::WindowClosed(_) => "window_closed",
            ProviderError::FileTooLarge { .. } => "file_too_large",
            ProviderError::Unsupported(_) => "unsupported",
            ProviderError::Io(_) => "storage_error",
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ProviderError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<ureq::Error> for ProviderError {
    fn from(e: ureq::Error) -> Self {
        ProviderError::Unavailable(e.to_string())
    }
}

/// A file to send: already in our storage, so it can be streamed from disk.
pub struct OutgoingFile<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub mime: &'a str,
    pub size: u64,
}

/// What a downloaded file turned out to be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DownloadedFile {
    pub size: u64,
    pub suggested_name: Option<String>,
}

/// Name, and the avatar file if the messenger gives one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserInfo {
    pub profile: Option<VisitorProfile>,
    pub avatar: Option<InboundFile>,
}

/// What the messenger allows.
#[derive(Clone, Debug, PartialEq)]
pub struct Capabilities {
    pub max_download_bytes: u64,
    pub max_upload_bytes: u64,
    pub max_photo_upload_bytes: u64,
    pub max_text_chars: usize,
    pub can_delete: bool,
    pub read_receipts: bool,
    /// Hours after the visitor's last message during which we may write; None = unlimited.
    pub reply_window_hours: Option<u32>,
}

/// One messenger. Implementations are stateless: everything per channel comes in the context.
pub trait Provider: Send + Sync {
    fn kind(&self) -> ChannelType;
    fn capabilities(&self) -> Capabilities;
    /// The API's scheme+host+port when the configuration does not replace it.
    fn default_api_base(&self) -> &'static str;

    /// Tests the credentials and returns the account behind them (the admin's "Check").
    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError>;
    fn set_webhook(&self, ctx: &ProviderContext, url: &str) -> Result<(), ProviderError>;
    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError>;

    /// Authenticity of a webhook request; runs before `parse`, over the raw bytes.
    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError>;
    fn parse(
        &self,
        ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError>;

    fn send_text(
        &self,
        ctx: &ProviderContext,
        to: &str,
        text: &str,
    ) -> Result<SentMessage, ProviderError>;
    fn send_file(
        &self,
        ctx: &ProviderContext,
        to: &str,
        file: &OutgoingFile,
        caption: Option<&str>,
    ) -> Result<SentMessage, ProviderError>;
    fn delete_message(
        &self,
        ctx: &ProviderContext,
        to: &str,
        external_id: &str,
    ) -> Result<(), ProviderError>;

    /// Streams a file the messenger holds into `sink`, refusing more than the capability limit.
    fn download(
        &self,
        ctx: &ProviderContext,
        file: &InboundFile,
        sink: &mut dyn Write,
    ) -> Result<DownloadedFile, ProviderError>;
    fn user_info(
        &self,
        ctx: &ProviderContext,
        visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError>;
}

/// The provider for a channel type, if this build has one.
pub fn provider_for(kind: ChannelType) -> Option<&'static dyn Provider> {
    match kind {
        ChannelType::Telegram => Some(&telegram::Telegram),
        ChannelType::Vk => Some(&vk::Vk),
        _ => None,
    }
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl From<std::io::Error> for ProviderError {
    fn from(e: std::io::Error) -> Self {
        ProviderError::Io(e.to_string())
    }
}
