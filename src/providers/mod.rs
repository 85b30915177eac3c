//! The provider interface: one trait every messenger implements, one file per messenger.
//!
//! Providers speak HTTP to their messenger and turn webhooks into [`InboundEvent`]s. They know
//! nothing of MySQL or of the C ABI: everything they need arrives in a [`ProviderContext`].

pub mod chatapi;
pub mod facebook;
pub mod graph;
pub mod telegram;
pub mod viber;
pub mod vk;
pub mod whatsapp_cloud;
pub mod widget;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::http::DOWNLOAD_TIMEOUT;
use crate::model::{
    AccountInfo, ChannelType, InboundEvent, InboundFile, SentMessage, VisitorProfile,
};

/// What a provider call needs about the channel, resolved by the caller.
pub struct ProviderContext<'a> {
    pub channel_id: i64,
    /// The bot / page / number id "Check" found (None before the first check).
    pub account_id: Option<&'a str>,
    /// The bot / page name "Check" found (Viber signs every message with it).
    pub account_name: Option<&'a str>,
    /// The channel's main credential: the form field named `token`.
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
    /// The body of a POSTed JSON webhook; `messenger` names who posts them, for the error.
    pub fn json_post(&self, messenger: &str) -> Result<Value, WebhookError> {
        if self.method != "POST" {
            return Err(WebhookError::Malformed(format!(
                "{messenger} posts its webhooks; got {}",
                self.method
            )));
        }
        serde_json::from_slice(self.body)
            .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }
}

impl HttpReply {
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        HttpReply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// How a settings field is edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    /// Shown masked once saved; a masked value sent back keeps the stored one.
    Secret,
    Url,
    Number,
    /// Made by us when absent (a verify token) and shown for the admin to copy elsewhere.
    Generated,
    /// Filled by "Check" (a page id, a confirmation code); not edited.
    Readonly,
}

/// One field of a channel's settings form. The field named `token` is the channel's main
/// credential (its own column); every other field lives in the channel's settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SettingField {
    pub name: &'static str,
    pub label: &'static str,
    pub label_ru: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    /// One line under the field: where to find the value.
    pub help: &'static str,
}

impl SettingField {
    pub const fn new(
        name: &'static str,
        label: &'static str,
        label_ru: &'static str,
        kind: FieldKind,
        required: bool,
        help: &'static str,
    ) -> Self {
        SettingField {
            name,
            label,
            label_ru,
            kind,
            required,
            help,
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self.kind, FieldKind::Secret)
    }
}

/// The messenger's view of our webhook (Telegram getWebhookInfo, Viber/VK/Meta account info).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WebhookHealth {
    /// Whether the messenger still has our webhook; None when it cannot tell us.
    pub registered: Option<bool>,
    pub url: Option<String>,
    pub pending_updates: Option<u64>,
    /// The messenger's last delivery error, in its words.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Anything else worth showing (e.g. "the callback URL is set in the Meta app dashboard").
    pub note: Option<String>,
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
    /// The request may have reached the messenger (it timed out or broke after being sent, or
    /// was answered in a shape we cannot read): whether it took effect is not known.
    #[error("the messenger's answer was lost, so whether it took the request is not known: {0}")]
    Uncertain(String),
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
            ProviderError::Unavailable(_) | ProviderError::Uncertain(_) => "provider_unavailable",
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

impl ProviderError {
    /// Worth trying again later: the messenger was down, slow or asked us to slow down.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ProviderError::Unavailable(_)
                | ProviderError::Uncertain(_)
                | ProviderError::RateLimited { .. }
        )
    }
}

impl From<ureq::Error> for ProviderError {
    fn from(e: ureq::Error) -> Self {
        if request_never_left(&e) {
            ProviderError::Unavailable(e.to_string())
        } else {
            ProviderError::Uncertain(e.to_string())
        }
    }
}

/// Whether a transport error happened before the messenger could have acted on the request:
/// no connection, no TLS session, or the request not fully written (an HTTP server does not act
/// on half a request). A timeout or a broken connection while waiting for the answer is not.
fn request_never_left(e: &ureq::Error) -> bool {
    use std::io::ErrorKind;
    use ureq::Timeout;
    match e {
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::BadUri(_)
        | ureq::Error::Http(_)
        | ureq::Error::InvalidProxyUrl
        | ureq::Error::ConnectProxyFailed(_)
        | ureq::Error::Tls(_)
        | ureq::Error::TlsRequired
        | ureq::Error::RequireHttpsOnly(_) => true,
        ureq::Error::Timeout(t) => matches!(
            t,
            Timeout::Resolve | Timeout::Connect | Timeout::SendRequest | Timeout::SendBody
        ),
        ureq::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::AddrNotAvailable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::NetworkDown
                | ErrorKind::HostUnreachable
                | ErrorKind::NotConnected
        ),
        _ => false,
    }
}

/// A file to send: already in our storage, so it can be streamed from disk.
pub struct OutgoingFile<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub mime: &'a str,
    pub size: u64,
    /// An unguessable link to this file that expires, for messengers that fetch media by URL
    /// (Viber); None when `public_base_url` is not configured.
    pub public_url: Option<String>,
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
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Capabilities {
    /// Attachment kinds an operator may send: "image", "document", "audio", "video".
    pub file_kinds: &'static [&'static str],
    pub max_download_bytes: u64,
    pub max_upload_bytes: u64,
    pub max_photo_upload_bytes: u64,
    pub max_text_chars: usize,
    pub can_delete: bool,
    pub read_receipts: bool,
    /// Hours after the visitor's last message during which we may write; None = unlimited.
    pub reply_window_hours: Option<u32>,
    /// How fast we may send: the outbox paces every channel's sends by these, across processes.
    pub send_limits: SendLimits,
    /// The messenger drops a repeated send with the same idempotency key (VK's `random_id`), so
    /// a send that timed out after reaching it can be retried without a duplicate.
    pub idempotent_sends: bool,
}

/// A sending pace: at most `burst` sends at once, then one every `interval_ms`. Any window of
/// `w` ms then holds at most `burst + w / interval_ms` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SendRate {
    pub interval_ms: u32,
    pub burst: u32,
}

/// A messenger's documented limits on our sends: per account (bot, page, number) and per chat
/// with one visitor. None where the messenger documents none; its 429s are still obeyed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SendLimits {
    pub per_account: Option<SendRate>,
    pub per_chat: Option<SendRate>,
    /// Calls one attachment costs against `per_account` (VK: upload server, save, send).
    pub calls_per_file: u32,
}

impl SendLimits {
    /// A messenger that documents no per-second limit: only its 429s pace it.
    pub const UNDOCUMENTED: SendLimits = SendLimits {
        per_account: None,
        per_chat: None,
        calls_per_file: 1,
    };
}

/// One messenger. Implementations are stateless: everything per channel comes in the context.
///
/// `docs/providers.md` walks through adding one; `examples/provider_template.rs` is a skeleton.
pub trait Provider: Send + Sync {
    fn kind(&self) -> ChannelType;
    fn capabilities(&self) -> Capabilities;
    /// The API's scheme+host+port when the configuration does not replace it.
    fn default_api_base(&self) -> &'static str;
    /// The settings form: what an admin fills in to connect an account.
    fn settings_schema(&self) -> Vec<SettingField>;

    /// Tests the credentials and returns the account behind them (the admin's "Check").
    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError>;
    /// Points the messenger at `url` (already carrying the channel id). Returns settings to keep
    /// with the channel (VK's callback server id and confirmation code), usually none.
    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError>;
    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError>;
    /// The messenger's view of our webhook. By default: the credentials still work, nothing more
    /// is known.
    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        self.check(ctx).map(|_| WebhookHealth::default())
    }

    /// Requests that are not deliveries but the messenger checking the address (Meta's GET
    /// `hub.challenge`, VK's `confirmation`): answered here, before `verify`, and nothing is
    /// stored. None for everything else.
    fn handshake(
        &self,
        _ctx: &ProviderContext,
        _request: &WebhookRequest,
    ) -> Option<Result<HttpReply, WebhookError>> {
        None
    }
    /// Authenticity of a webhook request; runs before `parse`, over the raw bytes.
    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError>;
    fn parse(
        &self,
        ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError>;

    /// `idempotency_key` is the same for every attempt at the same message part: messengers that
    /// deduplicate (VK `random_id`) get it, so a retry cannot send twice.
    fn send_text(
        &self,
        ctx: &ProviderContext,
        to: &str,
        text: &str,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError>;
    fn send_file(
        &self,
        ctx: &ProviderContext,
        to: &str,
        file: &OutgoingFile,
        caption: Option<&str>,
        idempotency_key: &str,
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
        ChannelType::Viber => Some(&viber::Viber),
        ChannelType::Vk => Some(&vk::Vk),
        ChannelType::Facebook => Some(&facebook::Facebook),
        ChannelType::WhatsappCloud => Some(&whatsapp_cloud::WhatsappCloud),
        ChannelType::Chatapi => Some(&chatapi::ChatApi),
        ChannelType::Widget => Some(&widget::Widget),
    }
}

/// Every channel type this build can connect, in the order a settings page lists them.
pub fn supported() -> Vec<&'static dyn Provider> {
    [
        ChannelType::Telegram,
        ChannelType::Viber,
        ChannelType::Vk,
        ChannelType::Facebook,
        ChannelType::WhatsappCloud,
        ChannelType::Chatapi,
        ChannelType::Widget,
    ]
    .into_iter()
    .filter_map(provider_for)
    .collect()
}

/// Lower-case hex HMAC-SHA256 of `data` (Viber's and Meta's webhook signatures).
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    crate::storage::hex(&mac.finalize().into_bytes())
}

/// True when `given_hex` is the HMAC-SHA256 of `data` under `key`, compared in constant time.
pub fn hmac_sha256_matches(key: &[u8], data: &[u8], given_hex: &str) -> bool {
    constant_time_eq(
        hmac_sha256_hex(key, data).as_bytes(),
        given_hex.trim().to_ascii_lowercase().as_bytes(),
    )
}

/// Streams the file at `url` into `sink` (GET, the download timeout), refusing more than `limit`
/// bytes; `refused` turns a status other than 200 into the messenger's error. Returns the size.
pub fn download_url(
    agent: &ureq::Agent,
    url: &str,
    limit: u64,
    sink: &mut dyn Write,
    refused: impl FnOnce(u16) -> ProviderError,
) -> Result<u64, ProviderError> {
    download_request(agent.get(url), limit, sink, refused)
}

/// [`download_url`] for a GET the caller prepared (an `Authorization` header, say).
pub fn download_request(
    request: ureq::RequestBuilder<ureq::typestate::WithoutBody>,
    limit: u64,
    sink: &mut dyn Write,
    refused: impl FnOnce(u16) -> ProviderError,
) -> Result<u64, ProviderError> {
    let mut response = request
        .config()
        .timeout_global(Some(DOWNLOAD_TIMEOUT))
        .build()
        .call()?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(refused(status));
    }
    // Read one byte past the limit to notice an oversized body.
    let mut reader = response
        .body_mut()
        .with_config()
        .limit(limit + 1)
        .reader()
        .take(limit + 1);
    let copied = std::io::copy(&mut reader, sink)
        .map_err(|e| ProviderError::Unavailable(format!("download: {e}")))?;
    if copied > limit {
        return Err(ProviderError::FileTooLarge {
            size: copied,
            limit,
        });
    }
    Ok(copied)
}

/// A text cut into parts of at most `max` characters (never inside a character); one empty part
/// for an empty text.
pub fn split_chars(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(max).map(|c| c.iter().collect()).collect()
}

/// Sends a text longer than the messenger takes as several messages, in order, each under a key
/// of its own (the first part keeps `key`, later ones `<key>.<n>`, the same on every retry); the
/// first part's id stands for the whole message.
pub fn send_in_parts(
    text: &str,
    max_chars: usize,
    key: &str,
    mut send: impl FnMut(&str, &str) -> Result<String, ProviderError>,
) -> Result<SentMessage, ProviderError> {
    let mut first = None;
    for (n, part) in split_chars(text, max_chars).iter().enumerate() {
        let part_key = match n {
            0 => key.to_string(),
            _ => format!("{key}.{n}"),
        };
        let id = send(&part_key, part)?;
        first.get_or_insert(id);
    }
    Ok(SentMessage {
        external_id: first.unwrap_or_default(),
    })
}

/// Refuses a file above the messenger's limit before anything is uploaded.
pub fn ensure_fits(file: &OutgoingFile, limit: u64) -> Result<(), ProviderError> {
    if file.size > limit {
        return Err(ProviderError::FileTooLarge {
            size: file.size,
            limit,
        });
    }
    Ok(())
}

/// A shared location as the inbox shows it: coordinates and a map link.
pub fn location_text(lat: f64, lon: f64) -> String {
    format!("📍 {lat:.6}, {lon:.6} https://maps.google.com/?q={lat:.6},{lon:.6}")
}

/// `text` with `line` appended on a line of its own (or `line` alone).
pub fn append_line(text: String, line: &str) -> String {
    if text.is_empty() {
        line.to_string()
    } else {
        format!("{text}\n{line}")
    }
}

/// A phone number as `+<digits>` (messengers may omit the `+` or add spaces); unchanged when it
/// has no digits.
pub fn normalize_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        phone.to_string()
    } else {
        format!("+{digits}")
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

#[cfg(test)]
mod transport_error_tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(400)))
            .timeout_connect(Some(Duration::from_millis(300)))
            .build()
            .into()
    }

    #[test]
    fn a_refused_connection_is_a_plain_outage() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e: ProviderError = agent()
            .post(&format!("http://127.0.0.1:{port}/sendMessage"))
            .send("x")
            .unwrap_err()
            .into();
        assert!(matches!(e, ProviderError::Unavailable(_)), "{e:?}");
    }

    #[test]
    fn no_answer_to_a_whole_request_leaves_its_outcome_unknown() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf);
            // The request arrived; the answer never comes.
            std::thread::sleep(Duration::from_millis(800));
        });
        let e: ProviderError = agent()
            .post(&format!("http://127.0.0.1:{port}/sendMessage"))
            .send("x")
            .unwrap_err()
            .into();
        assert!(matches!(e, ProviderError::Uncertain(_)), "{e:?}");
        assert!(e.is_temporary());
        assert_eq!(e.code(), "provider_unavailable");
        server.join().unwrap();
    }
}
