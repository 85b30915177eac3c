//! Viber REST Bot API: JSON calls to `<api_base>/pa/<method>` with `X-Viber-Auth-Token`, each
//! answered with HTTP 200 and a numeric `status` (0 = ok); callbacks signed with
//! `X-Viber-Content-Signature` (hex HMAC-SHA256 of the raw body keyed with the token). Viber
//! fetches the media we send by URL (our signed, expiring media links) and gives the media it
//! sends us as temporary URLs.

use std::io::Write;

use serde_json::{json, Map, Value};

use super::send_in_parts;
use super::{
    append_line, download_url, hmac_sha256_matches, location_text, Capabilities, DownloadedFile,
    FieldKind, HttpReply, OutgoingFile, ParsedWebhook, Provider, ProviderContext, ProviderError,
    SendLimits, SettingField, UserInfo, WebhookError, WebhookHealth, WebhookRequest,
};
use crate::model::{
    mime_for_name, AccountInfo, AttachmentKind, ChannelType, InboundEvent, InboundFile,
    InboundMessage, MessageStatus, SentMessage, VisitorProfile,
};
use crate::time::Timestamp;

pub struct Viber;

/// Files Viber delivers are at most 50 MB.
const MAX_DOWNLOAD: u64 = 50 * 1024 * 1024;
const MAX_FILE_UPLOAD: u64 = 50 * 1024 * 1024;
/// Larger pictures go as files: iOS shows pictures up to 1 MB.
const MAX_PICTURE_UPLOAD: u64 = 1024 * 1024;
const MAX_VIDEO_UPLOAD: u64 = 26 * 1024 * 1024;
const MAX_TEXT: usize = 7000;
const MAX_PICTURE_TEXT: usize = 768;
const MAX_SENDER_NAME: usize = 28;
const MAX_FILE_NAME: usize = 256;
const SIGNATURE_HEADER: &str = "x-viber-content-signature";
/// The optional callbacks we want; `message`, `subscribed` and `unsubscribed` always come.
const EVENT_TYPES: [&str; 6] = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
];
/// File types Viber refuses to deliver (creators.viber.com, "Forbidden File Formats").
const FORBIDDEN_EXTENSIONS: [&str; 44] = [
    "bat", "bin", "cmd", "com", "cpl", "exe", "gadget", "inf1", "ins", "inx", "isu", "job", "jse",
    "lnk", "msc", "msi", "msp", "mst", "paf", "pif", "ps1", "reg", "rgs", "sct", "shb", "shs",
    "u3p", "vb", "vbe", "vbs", "vbscript", "ws", "wsf", "action", "app", "command", "csh", "osx",
    "workflow", "ksh", "out", "run", "apk", "ipa",
];

impl Viber {
    /// One API call; the answer's fields when `status` is 0, else the mapped error.
    fn call(
        &self,
        ctx: &ProviderContext,
        method: &str,
        body: Value,
    ) -> Result<Value, ProviderError> {
        let body = serde_json::to_vec(&body).map_err(|e| ProviderError::Rejected(e.to_string()))?;
        let response = ctx
            .agent
            .post(&format!(
                "{}/pa/{method}",
                ctx.api_base.trim_end_matches('/')
            ))
            .header("X-Viber-Auth-Token", ctx.token)
            .header("Content-Type", "application/json")
            .send(&body[..])?;
        read_api_response(response)
    }

    /// `send_message` to a subscriber; the new message's token.
    fn send(
        &self,
        ctx: &ProviderContext,
        to: &str,
        mut message: Value,
    ) -> Result<String, ProviderError> {
        message["receiver"] = Value::String(to.to_string());
        message["min_api_version"] = json!(1);
        message["sender"] = json!({"name": sender_name(ctx)});
        let answer = self.call(ctx, "send_message", message)?;
        answer
            .get("message_token")
            .and_then(token_of)
            .ok_or_else(|| {
                ProviderError::Uncertain("send_message answered without message_token".into())
            })
    }
}

fn read_api_response(
    mut response: ureq::http::Response<ureq::Body>,
) -> Result<Value, ProviderError> {
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(4 * 1024 * 1024)
        .read_to_vec()?;
    let snippet = || {
        String::from_utf8_lossy(&bytes)
            .chars()
            .take(120)
            .collect::<String>()
    };
    // Viber answers everything with 200; anything else came from a proxy or a failing server.
    if status != 200 {
        return Err(ProviderError::Unavailable(format!(
            "HTTP {status}: {}",
            snippet()
        )));
    }
    let parsed: Value = serde_json::from_slice(&bytes)
        .map_err(|_| ProviderError::Unavailable(format!("not JSON: {}", snippet())))?;
    match parsed.get("status").and_then(Value::as_u64) {
        Some(0) => Ok(parsed),
        Some(code) => {
            let message = parsed
                .get("status_message")
                .and_then(Value::as_str)
                .unwrap_or("no status_message");
            Err(map_status(code, message))
        }
        None => Err(ProviderError::Unavailable(format!(
            "answer without status: {}",
            snippet()
        ))),
    }
}

/// Viber's error codes (creators.viber.com, "Common Errors"); key on the number, its message's
/// spelling varies.
fn map_status(code: u64, message: &str) -> ProviderError {
    let why = format!("Viber status {code}: {message}");
    match code {
        2 => ProviderError::Unauthorized(why),
        6 => ProviderError::VisitorBlocked(why),
        12 => ProviderError::RateLimited {
            message: why,
            retry_after: None,
        },
        _ => ProviderError::Rejected(why),
    }
}

/// The name Viber shows above the bot's messages (required, at most 28 characters).
fn sender_name(ctx: &ProviderContext) -> String {
    let name = ctx
        .account_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Bot");
    name.chars().take(MAX_SENDER_NAME).collect()
}

/// A message token as our id: a 64-bit integer above 2^53, so read as an integer, never as f64
/// (a string is taken too).
fn token_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(|t| t.to_string())
            .or_else(|| n.as_i64().map(|t| t.to_string())),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A Viber user (`sender` of messages, `user` of subscriptions) as a visitor, with their picture.
fn profile_of(user: &Value) -> Option<VisitorProfile> {
    let id = str_field(user, "id")?;
    let avatar = str_field(user, "avatar").map(|url| InboundFile {
        file_ref: url,
        name: Some("avatar.jpg".into()),
        mime: Some("image/jpeg".into()),
        size: None,
        kind: AttachmentKind::Image,
    });
    Some(VisitorProfile {
        external_id: id,
        // Viber gives one display name; it goes whole into first_name.
        first_name: str_field(user, "name"),
        language: str_field(user, "language"),
        avatar,
        ..VisitorProfile::default()
    })
}

/// A visitor known only by id (`user_id` of `unsubscribed` and receipts).
fn visitor_by_id(id: &str) -> VisitorProfile {
    VisitorProfile {
        external_id: id.to_string(),
        ..VisitorProfile::default()
    }
}

fn media_file(
    message: &Value,
    kind: AttachmentKind,
    name: String,
    mime: &str,
) -> Option<InboundFile> {
    Some(InboundFile {
        file_ref: str_field(message, "media")?,
        name: Some(name),
        mime: Some(mime.to_string()),
        size: message.get("size").and_then(Value::as_u64),
        kind,
    })
}

/// Text and files of a `message` callback's `message` object.
fn content_of(token: &str, message: &Value) -> (String, Vec<InboundFile>) {
    let mut text = str_field(message, "text").unwrap_or_default();
    let mut files = Vec::new();
    let file_name = str_field(message, "file_name");
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "text" => {}
        "picture" => {
            let name = file_name.unwrap_or_else(|| format!("picture_{token}.jpg"));
            let mime = match mime_for_name(&name) {
                m if m.starts_with("image/") => m,
                _ => "image/jpeg",
            };
            files.extend(media_file(message, AttachmentKind::Image, name, mime));
        }
        "video" => {
            let name = file_name.unwrap_or_else(|| format!("video_{token}.mp4"));
            files.extend(media_file(
                message,
                AttachmentKind::Video,
                name,
                "video/mp4",
            ));
        }
        "file" => {
            let name = file_name.unwrap_or_else(|| format!("file_{token}"));
            let mime = mime_for_name(&name);
            files.extend(media_file(
                message,
                AttachmentKind::for_mime(mime),
                name,
                mime,
            ));
        }
        "sticker" => {
            let id = message.get("sticker_id").map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let name = format!("sticker_{}.png", id.unwrap_or_else(|| token.to_string()));
            files.extend(media_file(
                message,
                AttachmentKind::Sticker,
                name,
                "image/png",
            ));
        }
        "contact" => {
            let contact = message.get("contact").unwrap_or(&Value::Null);
            let name = str_field(contact, "name").unwrap_or_default();
            let phone = str_field(contact, "phone_number").unwrap_or_default();
            text = append_line(text, format!("☎ {name} {phone}").trim());
        }
        "location" => {
            let lat = message
                .pointer("/location/lat")
                .and_then(Value::as_f64)
                .unwrap_or_default();
            let lon = message
                .pointer("/location/lon")
                .and_then(Value::as_f64)
                .unwrap_or_default();
            text = append_line(text, &location_text(lat, lon));
        }
        "url" => {
            if let Some(url) = str_field(message, "media") {
                text = append_line(text, &url);
            }
        }
        // Rich media and newer types: kept as a note rather than lost.
        other => {
            if text.is_empty() {
                text = format!("[{other}]");
            }
        }
    }
    (text, files)
}

/// The signature a callback carries: the header, or the `sig` query parameter the SDKs accept.
fn signature_of<'a>(request: &'a WebhookRequest) -> Option<&'a str> {
    request
        .header(SIGNATURE_HEADER)
        .or_else(|| request.query("sig"))
}

fn extension_of(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The extension of a link's last path segment: what Viber judges a media link by.
fn link_extension(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    path.rsplit('/').next().and_then(extension_of)
}

/// A file name as Viber wants it: with an extension (taken from the link when the name has
/// none), at most 256 characters, the extension kept.
fn outgoing_file_name(name: &str, url: &str) -> String {
    let mut name = name.to_string();
    if extension_of(&name).is_none() {
        if let Some(ext) = link_extension(url) {
            name = format!("{name}.{ext}");
        }
    }
    if name.chars().count() > MAX_FILE_NAME {
        let ext = extension_of(&name)
            .map(|e| format!(".{e}"))
            .unwrap_or_default();
        let stem: String = name
            .chars()
            .take(MAX_FILE_NAME - ext.chars().count())
            .collect();
        name = format!("{stem}{ext}");
    }
    name
}

impl Provider for Viber {
    fn kind(&self) -> ChannelType {
        ChannelType::Viber
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            file_kinds: &["image", "document", "audio", "video"],
            max_download_bytes: MAX_DOWNLOAD,
            max_upload_bytes: MAX_FILE_UPLOAD,
            max_photo_upload_bytes: MAX_PICTURE_UPLOAD,
            max_text_chars: MAX_TEXT,
            can_delete: false,
            read_receipts: true,
            reply_window_hours: None,
            send_limits: SendLimits::UNDOCUMENTED,
            idempotent_sends: false,
        }
    }

    fn default_api_base(&self) -> &'static str {
        "https://chatapi.viber.com"
    }

    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new(
                "token",
                "Authentication token",
                "Токен",
                FieldKind::Secret,
                true,
                "Viber partners panel (partners.viber.com): your bot, Info, Token.",
            ),
            SettingField::new(
                "proxy",
                "Proxy",
                "Прокси",
                FieldKind::Url,
                false,
                "Only where chatapi.viber.com is blocked: http://user:pass@host:port or socks5://host:port.",
            ),
        ]
    }

    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        if ctx.token.trim().is_empty() {
            return Err(ProviderError::Unauthorized(
                "paste the bot's token from the Viber partners panel".into(),
            ));
        }
        let info = self.call(ctx, "get_account_info", json!({}))?;
        let id = str_field(&info, "id")
            .ok_or_else(|| ProviderError::Unavailable("get_account_info without id".into()))?;
        let mut details = Map::new();
        for key in ["subscribers_count", "category", "country"] {
            if let Some(v) = info.get(key).filter(|v| !v.is_null()) {
                details.insert(key.to_string(), v.clone());
            }
        }
        Ok(AccountInfo {
            bot_id: id,
            bot_name: str_field(&info, "name").unwrap_or_default(),
            username: str_field(&info, "uri"),
            avatar_url: str_field(&info, "icon"),
            details,
        })
    }

    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        // Viber calls `url` back with the `webhook` event before it answers (see `handshake`).
        self.call(
            ctx,
            "set_webhook",
            json!({"url": url, "event_types": EVENT_TYPES, "send_name": true, "send_photo": true}),
        )
        .map(|_| Map::new())
    }

    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError> {
        self.call(ctx, "set_webhook", json!({"url": ""}))
            .map(|_| ())
    }

    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        let info = self.call(ctx, "get_account_info", json!({}))?;
        let url = str_field(&info, "webhook");
        Ok(WebhookHealth {
            registered: Some(url.is_some()),
            url,
            ..WebhookHealth::default()
        })
    }

    /// The `webhook` event Viber posts while `set_webhook` runs is answered 200 at once and
    /// stores nothing. It is not held to the signature: when an admin changes the token, Viber
    /// signs the check with the new one, which is saved only once `set_webhook` succeeded.
    fn handshake(
        &self,
        _ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Option<Result<HttpReply, WebhookError>> {
        let body: Value = serde_json::from_slice(request.body).ok()?;
        (body.get("event").and_then(Value::as_str) == Some("webhook"))
            .then(|| Ok(HttpReply::text(200, "ok")))
    }

    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError> {
        let Some(given) = signature_of(request) else {
            return Err(WebhookError::Unauthenticated(
                "X-Viber-Content-Signature is missing".into(),
            ));
        };
        if ctx.token.is_empty() || !hmac_sha256_matches(ctx.token.as_bytes(), request.body, given) {
            return Err(WebhookError::Forged(
                "X-Viber-Content-Signature does not match the body".into(),
            ));
        }
        Ok(())
    }

    fn parse(
        &self,
        _ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError> {
        let callback = request.json_post("Viber")?;
        let event = callback
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| WebhookError::Malformed("a callback needs an event".into()))?;
        let at = callback
            .get("timestamp")
            .and_then(Value::as_i64)
            .map(Timestamp)
            .unwrap_or_else(Timestamp::now);
        let token = callback.get("message_token").and_then(token_of);
        let user_id = str_field(&callback, "user_id");
        let mut parsed = ParsedWebhook {
            delivery_key: token.as_ref().map(|t| format!("{event}:{t}")),
            ..ParsedWebhook::default()
        };
        let malformed = |what: &str| WebhookError::Malformed(format!("{event} without {what}"));
        match event {
            "message" => {
                let token = token.ok_or_else(|| malformed("message_token"))?;
                let visitor = callback
                    .get("sender")
                    .and_then(profile_of)
                    .ok_or_else(|| malformed("sender.id"))?;
                let message = callback
                    .get("message")
                    .ok_or_else(|| malformed("message"))?;
                let (text, files) = content_of(&token, message);
                parsed.events.push(InboundEvent::Message(InboundMessage {
                    external_id: token,
                    visitor,
                    text,
                    files,
                    sent_at: at,
                    start_payload: None,
                }));
            }
            "subscribed" => {
                let visitor = callback
                    .get("user")
                    .and_then(profile_of)
                    .ok_or_else(|| malformed("user.id"))?;
                parsed.events.push(InboundEvent::VisitorBlocked {
                    visitor,
                    blocked: false,
                });
            }
            "unsubscribed" => {
                let id = user_id.ok_or_else(|| malformed("user_id"))?;
                parsed.events.push(InboundEvent::VisitorBlocked {
                    visitor: visitor_by_id(&id),
                    blocked: true,
                });
            }
            "conversation_started" => {
                let visitor = callback
                    .get("user")
                    .and_then(profile_of)
                    .ok_or_else(|| malformed("user.id"))?;
                parsed.events.push(InboundEvent::ConversationStarted {
                    visitor,
                    context: str_field(&callback, "context"),
                });
            }
            "delivered" | "seen" | "failed" => {
                let status = match event {
                    "delivered" => MessageStatus::Delivered,
                    "seen" => MessageStatus::Read,
                    _ => MessageStatus::Failed,
                };
                parsed.events.push(InboundEvent::Status {
                    external_id: token.ok_or_else(|| malformed("message_token"))?,
                    status,
                    at,
                    error: str_field(&callback, "desc"),
                });
                // Receipts repeat (one `delivered` per device) and only move a message
                // forward: no delivery record is needed to deduplicate them.
                parsed.delivery_key = None;
            }
            // `webhook` (answered by `handshake`), `client_status`, `action`...: acknowledged.
            _ => parsed.delivery_key = None,
        }
        Ok(parsed)
    }

    fn send_text(
        &self,
        ctx: &ProviderContext,
        to: &str,
        text: &str,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        send_in_parts(text, MAX_TEXT, idempotency_key, |_, part| {
            self.send(ctx, to, json!({"type": "text", "text": part}))
        })
    }

    fn send_file(
        &self,
        ctx: &ProviderContext,
        to: &str,
        file: &OutgoingFile,
        caption: Option<&str>,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        let Some(url) = file.public_url.as_deref() else {
            return Err(ProviderError::Unsupported(
                "Viber fetches files by URL, so it needs a public link to our copy: set public_base_url \
                 (the https address of php-bridge/ as Viber reaches it) in the configuration"
                    .into(),
            ));
        };
        if file.size > MAX_FILE_UPLOAD {
            return Err(ProviderError::FileTooLarge {
                size: file.size,
                limit: MAX_FILE_UPLOAD,
            });
        }
        let name = outgoing_file_name(file.name, url);
        if let Some(ext) =
            extension_of(&name).filter(|e| FORBIDDEN_EXTENSIONS.contains(&e.as_str()))
        {
            return Err(ProviderError::Rejected(format!(
                "Viber does not deliver .{ext} files"
            )));
        }
        let caption = caption.filter(|c| !c.trim().is_empty());
        // Viber takes a picture or a video by the link's extension; anything else goes as a file.
        let link = link_extension(url);
        let picture = matches!(file.mime, "image/jpeg" | "image/png" | "image/gif")
            && matches!(link.as_deref(), Some("jpg" | "jpeg" | "png" | "gif"))
            && file.size <= MAX_PICTURE_UPLOAD;
        let (message, inline_caption) = if picture {
            let fits = caption.filter(|c| c.chars().count() <= MAX_PICTURE_TEXT);
            (
                json!({"type": "picture", "text": fits.unwrap_or(""), "media": url}),
                fits.is_some(),
            )
        } else if file.mime == "video/mp4"
            && link.as_deref() == Some("mp4")
            && file.size <= MAX_VIDEO_UPLOAD
        {
            (
                json!({"type": "video", "media": url, "size": file.size}),
                false,
            )
        } else {
            (
                json!({"type": "file", "media": url, "size": file.size, "file_name": name}),
                false,
            )
        };
        let token = self.send(ctx, to, message)?;
        // Files and videos carry no text: it follows as a message of its own.
        if let Some(text) = caption.filter(|_| !inline_caption) {
            self.send_text(ctx, to, text, &format!("{idempotency_key}.caption"))?;
        }
        Ok(SentMessage { external_id: token })
    }

    fn delete_message(
        &self,
        _ctx: &ProviderContext,
        _to: &str,
        _external_id: &str,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported(
            "Viber bots cannot delete a sent message".into(),
        ))
    }

    fn download(
        &self,
        ctx: &ProviderContext,
        file: &InboundFile,
        sink: &mut dyn Write,
    ) -> Result<DownloadedFile, ProviderError> {
        if let Some(size) = file.size.filter(|s| *s > MAX_DOWNLOAD) {
            return Err(ProviderError::FileTooLarge {
                size,
                limit: MAX_DOWNLOAD,
            });
        }
        // Media links are temporary: a gone file is the messenger's refusal, not an outage.
        let size = download_url(
            ctx.agent,
            &file.file_ref,
            MAX_DOWNLOAD,
            sink,
            |status| match status {
                400..=499 => ProviderError::Rejected(format!(
                    "Viber no longer serves this file (HTTP {status})"
                )),
                _ => ProviderError::Unavailable(format!(
                    "Viber's media server answered HTTP {status}"
                )),
            },
        )?;
        let path = file.file_ref.split(['?', '#']).next().unwrap_or_default();
        let suggested_name = path
            .rsplit('/')
            .next()
            .filter(|last| extension_of(last).is_some())
            .map(str::to_string);
        Ok(DownloadedFile {
            size,
            suggested_name,
        })
    }

    /// `get_user_details`: Viber allows it twice per user in 12 hours, so it is asked only when
    /// the callbacks did not carry the name and picture.
    fn user_info(
        &self,
        ctx: &ProviderContext,
        visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError> {
        let details = self.call(ctx, "get_user_details", json!({"id": visitor_external_id}))?;
        let profile = details.get("user").and_then(profile_of);
        let avatar = profile.as_ref().and_then(|p| p.avatar.clone());
        Ok(UserInfo { profile, avatar })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const TOKEN: &str = "4a1c9f0e2b7d3a55-7c1e9b2f4d6a8e01-3b5d7f9a1c2e4f60";

    fn with_ctx<T>(f: impl FnOnce(&ProviderContext) -> T) -> T {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let settings = serde_json::Map::new();
        let ctx = ProviderContext {
            channel_id: 1,
            account_id: None,
            account_name: Some("Північний вітер — інтернет-магазин"),
            token: TOKEN,
            settings: &settings,
            webhook_secret: "s",
            api_base: "http://x",
            agent: &agent,
        };
        f(&ctx)
    }

    fn parse_body(body: &str) -> Result<ParsedWebhook, WebhookError> {
        let (headers, query) = (BTreeMap::new(), BTreeMap::new());
        let request = WebhookRequest {
            method: "POST",
            headers: &headers,
            query: &query,
            body: body.as_bytes(),
        };
        with_ctx(|ctx| Viber.parse(ctx, &request))
    }

    fn message(body: &str) -> InboundMessage {
        match parse_body(body).unwrap().events.remove(0) {
            InboundEvent::Message(m) => m,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn message_tokens_above_2_pow_53_survive_exactly() {
        let m = message(
            r#"{"event":"message","timestamp":1,"message_token":9007199254740993,
            "sender":{"id":"u1","name":"A"},"message":{"type":"text","text":"x"}}"#,
        );
        assert_eq!(m.external_id, "9007199254740993");
        assert_eq!(
            token_of(&json!("5913847366655544433")).as_deref(),
            Some("5913847366655544433")
        );
        assert_eq!(token_of(&json!(1.5e19)), None, "a float is not a token");
    }

    #[test]
    fn contact_location_sticker_and_file_are_kept() {
        let contact = message(
            r#"{"event":"message","timestamp":1,"message_token":1,"sender":{"id":"u1"},
            "message":{"type":"contact","contact":{"name":"Іван","phone_number":"+380501234567"}}}"#,
        );
        assert_eq!(contact.text, "☎ Іван +380501234567");
        let location = message(
            r#"{"event":"message","timestamp":1,"message_token":2,"sender":{"id":"u1"},
            "message":{"type":"location","location":{"lat":49.8397,"lon":24.0297}}}"#,
        );
        assert!(
            location.text.starts_with("📍 49.839700, 24.029700"),
            "{}",
            location.text
        );
        let sticker = message(
            r#"{"event":"message","timestamp":1,"message_token":3,"sender":{"id":"u1"},
            "message":{"type":"sticker","sticker_id":40129,"media":"https://v/s.png"}}"#,
        );
        assert_eq!(sticker.files[0].kind, AttachmentKind::Sticker);
        assert_eq!(sticker.files[0].name.as_deref(), Some("sticker_40129.png"));
        let file = message(
            r#"{"event":"message","timestamp":1,"message_token":4,"sender":{"id":"u1"},
            "message":{"type":"file","media":"https://v/f","file_name":"Рахунок.pdf","size":1200}}"#,
        );
        let f = &file.files[0];
        assert_eq!(
            (f.mime.as_deref(), f.size, f.kind),
            (
                Some("application/pdf"),
                Some(1200),
                AttachmentKind::Document
            )
        );
        let video = message(
            r#"{"event":"message","timestamp":1,"message_token":5,"sender":{"id":"u1"},
            "message":{"type":"video","media":"https://v/v.mp4","size":5000,"duration":3}}"#,
        );
        assert_eq!(video.files[0].kind, AttachmentKind::Video);
        let rich = message(
            r#"{"event":"message","timestamp":1,"message_token":6,"sender":{"id":"u1"},
            "message":{"type":"rich_media"}}"#,
        );
        assert_eq!(rich.text, "[rich_media]");
    }

    #[test]
    fn receipts_are_statuses_without_a_delivery_record() {
        let parsed = parse_body(
            r#"{"event":"failed","timestamp":1732542688019,"message_token":5913847366655544433,
            "user_id":"u1","desc":"message validation failed"}"#,
        )
        .unwrap();
        assert_eq!(parsed.delivery_key, None);
        assert_eq!(
            parsed.events,
            vec![InboundEvent::Status {
                external_id: "5913847366655544433".into(),
                status: MessageStatus::Failed,
                at: Timestamp(1732542688019),
                error: Some("message validation failed".into()),
            }]
        );
    }

    #[test]
    fn callbacks_without_what_they_need_are_malformed() {
        for body in [
            "not json",
            r#"{"timestamp":1}"#,
            r#"{"event":"message","message_token":1,"message":{"type":"text"}}"#,
            r#"{"event":"unsubscribed","message_token":1}"#,
        ] {
            assert!(
                matches!(parse_body(body), Err(WebhookError::Malformed(_))),
                "{body}"
            );
        }
        assert!(parse_body(r#"{"event":"client_status","timestamp":1}"#)
            .unwrap()
            .events
            .is_empty());
    }

    #[test]
    fn the_sender_name_is_the_bots_name_cut_to_28_characters() {
        let name = with_ctx(sender_name);
        assert_eq!(name.chars().count(), 28);
        assert!(name.starts_with("Північний вітер"));
    }

    #[test]
    fn file_names_get_an_extension_and_fit_256_characters() {
        let url = "https://crm/media.php/7.pdf?channel=1";
        assert_eq!(outgoing_file_name("Рахунок", url), "Рахунок.pdf");
        assert_eq!(outgoing_file_name("a.docx", url), "a.docx");
        let long = outgoing_file_name(&format!("{}.xlsx", "я".repeat(300)), url);
        assert_eq!(long.chars().count(), 256);
        assert!(long.ends_with(".xlsx"));
    }

    #[test]
    fn every_shared_fixture_signature_verifies_over_the_exact_bytes() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/viber/inbound");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(stem) = name
                .strip_suffix(".json")
                .filter(|s| !s.ends_with(".headers"))
            else {
                continue;
            };
            let body = std::fs::read(&path).unwrap();
            let sidecar: BTreeMap<String, String> = serde_json::from_slice(
                &std::fs::read(dir.join(format!("{stem}.headers.json"))).unwrap(),
            )
            .unwrap();
            let headers: BTreeMap<String, String> = sidecar
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            let query = BTreeMap::new();
            let request = WebhookRequest {
                method: "POST",
                headers: &headers,
                query: &query,
                body: &body,
            };
            with_ctx(|ctx| Viber.verify(ctx, &request)).unwrap_or_else(|e| panic!("{stem}: {e}"));
            let mut forged = body.clone();
            forged.push(b' ');
            let request = WebhookRequest {
                body: &forged,
                ..request
            };
            assert!(
                with_ctx(|ctx| Viber.verify(ctx, &request)).is_err(),
                "{stem}"
            );
            with_ctx(|ctx| Viber.parse(ctx, &request)).unwrap_or_else(|e| panic!("{stem}: {e}"));
            checked += 1;
        }
        assert_eq!(checked, 7);
    }

    #[test]
    fn status_codes_map_to_stable_errors() {
        assert_eq!(
            map_status(2, "invalidAuthToken").code(),
            "provider_unauthorized"
        );
        assert_eq!(map_status(6, "notSubscribed").code(), "visitor_blocked");
        assert_eq!(map_status(12, "Too many requests").code(), "rate_limited");
        assert_eq!(map_status(3, "badData").code(), "provider_rejected");
    }
}
