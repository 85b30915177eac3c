//! Telegram Bot API: webhooks authenticated by `X-Telegram-Bot-Api-Secret-Token`, JSON calls to
//! `<api_base>/bot<TOKEN>/<method>`, uploads as multipart, downloads through `getFile`.

use std::io::Write;

use serde_json::{json, Map, Value};
use ureq::unversioned::multipart::{Form, Part};

use super::{
    append_line, constant_time_eq, download_url, location_text, normalize_phone, Capabilities,
    DownloadedFile, FieldKind, OutgoingFile, ParsedWebhook, Provider, ProviderContext,
    ProviderError, SendLimits, SendRate, SettingField, UserInfo, WebhookError, WebhookHealth,
    WebhookRequest,
};
use super::{ensure_fits, send_in_parts};
use crate::model::{
    AccountInfo, AttachmentKind, ChannelType, InboundEvent, InboundFile, InboundMessage,
    SentMessage, VisitorProfile,
};
use crate::time::Timestamp;

pub struct Telegram;

/// The cloud Bot API serves files up to 20 MB through getFile.
const MAX_DOWNLOAD: u64 = 20 * 1024 * 1024;
const MAX_UPLOAD: u64 = 50 * 1024 * 1024;
const MAX_PHOTO_UPLOAD: u64 = 10 * 1024 * 1024;
const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The updates we act on; others (inline queries, polls...) are not subscribed to.
const ALLOWED_UPDATES: [&str; 3] = ["message", "edited_message", "my_chat_member"];

impl Telegram {
    fn method_url(ctx: &ProviderContext, method: &str) -> String {
        format!(
            "{}/bot{}/{}",
            ctx.api_base.trim_end_matches('/'),
            ctx.token,
            method
        )
    }

    /// One Bot API call with a JSON body; returns `result` or the mapped error.
    fn call(
        &self,
        ctx: &ProviderContext,
        method: &str,
        params: Value,
    ) -> Result<Value, ProviderError> {
        let body =
            serde_json::to_vec(&params).map_err(|e| ProviderError::Rejected(e.to_string()))?;
        let response = ctx
            .agent
            .post(&Self::method_url(ctx, method))
            .header("Content-Type", "application/json")
            .send(&body[..])?;
        read_api_response(response)
    }

    fn chat_id(to: &str) -> Result<i64, ProviderError> {
        to.parse::<i64>()
            .map_err(|_| ProviderError::Rejected(format!("`{to}` is not a Telegram chat id")))
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
    let parsed: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => {
            // A proxy in front of the Bot API may answer with HTML (502 Bad Gateway).
            // A 200 we cannot read, or a gateway that gave up waiting (504), may mean the API
            // acted on the request.
            let snippet: String = String::from_utf8_lossy(&bytes).chars().take(120).collect();
            let why = format!("HTTP {status}: {snippet}");
            return Err(if matches!(status, 200 | 504) {
                ProviderError::Uncertain(why)
            } else {
                ProviderError::Unavailable(why)
            });
        }
    };
    if parsed.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(parsed.get("result").cloned().unwrap_or(Value::Null));
    }
    let code = parsed
        .get("error_code")
        .and_then(Value::as_u64)
        .unwrap_or(status as u64);
    let description = parsed
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("no description")
        .to_string();
    Err(map_error(
        code,
        description,
        parsed
            .pointer("/parameters/retry_after")
            .and_then(Value::as_u64),
    ))
}

fn map_error(code: u64, description: String, retry_after: Option<u64>) -> ProviderError {
    match code {
        // The API answers 404 to a malformed token, 401 to a revoked one.
        401 | 404 => ProviderError::Unauthorized(description),
        403 => ProviderError::VisitorBlocked(description),
        429 => ProviderError::RateLimited {
            message: description,
            retry_after,
        },
        400..=499 => ProviderError::Rejected(description),
        _ => ProviderError::Unavailable(format!("HTTP {code}: {description}")),
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn profile_of(user: &Value) -> Option<VisitorProfile> {
    let id = user.get("id").and_then(Value::as_i64)?;
    Some(VisitorProfile {
        external_id: id.to_string(),
        first_name: str_field(user, "first_name"),
        last_name: str_field(user, "last_name"),
        username: str_field(user, "username"),
        phone: None,
        language: str_field(user, "language_code"),
        avatar: None,
    })
}

fn file_of(
    v: &Value,
    kind: AttachmentKind,
    default_name: &str,
    default_mime: &str,
) -> Option<InboundFile> {
    let file_ref = str_field(v, "file_id")?;
    Some(InboundFile {
        file_ref,
        name: str_field(v, "file_name").or_else(|| Some(default_name.to_string())),
        mime: str_field(v, "mime_type").or_else(|| Some(default_mime.to_string())),
        size: v.get("file_size").and_then(Value::as_u64),
        kind,
    })
}

/// Text and files of a message; `None` when it carries nothing an inbox shows.
fn content_of(msg: &Value, profile: &mut VisitorProfile) -> (String, Vec<InboundFile>) {
    let mut text = str_field(msg, "text")
        .or_else(|| str_field(msg, "caption"))
        .unwrap_or_default();
    let mut files = Vec::new();
    let unique = |v: &Value| str_field(v, "file_unique_id").unwrap_or_else(|| "file".into());
    if let Some(photo) = msg
        .get("photo")
        .and_then(Value::as_array)
        .and_then(|sizes| sizes.last())
    {
        let name = format!("photo_{}.jpg", unique(photo));
        files.extend(file_of(photo, AttachmentKind::Image, &name, "image/jpeg"));
    }
    if let Some(doc) = msg.get("document") {
        let mime = str_field(doc, "mime_type").unwrap_or_else(|| "application/octet-stream".into());
        files.extend(file_of(
            doc,
            AttachmentKind::for_mime(&mime),
            &format!("file_{}", unique(doc)),
            &mime,
        ));
    }
    if let Some(v) = msg.get("voice") {
        files.extend(file_of(
            v,
            AttachmentKind::Voice,
            &format!("voice_{}.ogg", unique(v)),
            "audio/ogg",
        ));
    }
    if let Some(v) = msg.get("audio") {
        files.extend(file_of(
            v,
            AttachmentKind::Audio,
            &format!("audio_{}.mp3", unique(v)),
            "audio/mpeg",
        ));
    }
    if let Some(v) = msg.get("video") {
        files.extend(file_of(
            v,
            AttachmentKind::Video,
            &format!("video_{}.mp4", unique(v)),
            "video/mp4",
        ));
    }
    if let Some(v) = msg.get("video_note") {
        files.extend(file_of(
            v,
            AttachmentKind::Video,
            &format!("video_note_{}.mp4", unique(v)),
            "video/mp4",
        ));
    }
    if let Some(v) = msg
        .get("animation")
        .filter(|_| msg.get("document").is_none())
    {
        files.extend(file_of(
            v,
            AttachmentKind::Video,
            &format!("animation_{}.mp4", unique(v)),
            "video/mp4",
        ));
    }
    if let Some(v) = msg.get("sticker") {
        let animated = v.get("is_animated").and_then(Value::as_bool) == Some(true);
        let video = v.get("is_video").and_then(Value::as_bool) == Some(true);
        let (ext, mime) = match (animated, video) {
            (true, _) => ("tgs", "application/x-tgsticker"),
            (_, true) => ("webm", "video/webm"),
            _ => ("webp", "image/webp"),
        };
        files.extend(file_of(
            v,
            AttachmentKind::Sticker,
            &format!("sticker_{}.{ext}", unique(v)),
            mime,
        ));
        if text.is_empty() {
            text = str_field(v, "emoji").unwrap_or_default();
        }
    }
    if let Some(loc) = msg.get("location") {
        let lat = loc
            .get("latitude")
            .and_then(Value::as_f64)
            .unwrap_or_default();
        let lon = loc
            .get("longitude")
            .and_then(Value::as_f64)
            .unwrap_or_default();
        text = append_line(text, &location_text(lat, lon));
    }
    if let Some(contact) = msg.get("contact") {
        let phone = str_field(contact, "phone_number").unwrap_or_default();
        let name = [
            str_field(contact, "first_name"),
            str_field(contact, "last_name"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        // A contact about the writer themself gives us their phone number.
        if contact
            .get("user_id")
            .and_then(Value::as_i64)
            .map(|id| id.to_string())
            .as_deref()
            == Some(profile.external_id.as_str())
        {
            profile.phone = Some(normalize_phone(&phone));
        }
        text = append_line(text, format!("☎ {name} {phone}").trim());
    }
    (text, files)
}

fn is_private(msg: &Value) -> bool {
    msg.pointer("/chat/type").and_then(Value::as_str) == Some("private")
}

impl Provider for Telegram {
    fn kind(&self) -> ChannelType {
        ChannelType::Telegram
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_download_bytes: MAX_DOWNLOAD,
            max_upload_bytes: MAX_UPLOAD,
            max_photo_upload_bytes: MAX_PHOTO_UPLOAD,
            max_text_chars: MAX_TEXT,
            can_delete: true,
            read_receipts: false,
            reply_window_hours: None,
            file_kinds: &["image", "document", "audio", "video"],
            // Telegram's bot FAQ: about 30 messages a second per bot, and no more than one a second
            // in one chat, short bursts allowed. 5 at once then one per 42 ms keeps any second
            // under 29, leaving room for network jitter.
            send_limits: SendLimits {
                per_account: Some(SendRate {
                    interval_ms: 42,
                    burst: 5,
                }),
                per_chat: Some(SendRate {
                    interval_ms: 1000,
                    burst: 3,
                }),
                calls_per_file: 1,
            },
            idempotent_sends: false,
        }
    }

    fn default_api_base(&self) -> &'static str {
        "https://api.telegram.org"
    }

    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new(
                "token",
                "Bot token",
                "Токен бота",
                FieldKind::Secret,
                true,
                "From @BotFather: /newbot, or /token for an existing bot (123456:ABC-DEF…).",
            ),
            SettingField::new(
                "proxy",
                "Proxy",
                "Прокси",
                FieldKind::Url,
                false,
                "Where Telegram is blocked: http://user:pass@host:port or socks5://host:port.",
            ),
        ]
    }

    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        if ctx.token.trim().is_empty() || !ctx.token.contains(':') {
            return Err(ProviderError::Unauthorized(
                "a bot token looks like 123456:ABC-DEF…".into(),
            ));
        }
        let me = self.call(ctx, "getMe", json!({}))?;
        let id = me
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ProviderError::Unavailable("getMe without id".into()))?;
        Ok(AccountInfo {
            bot_id: id.to_string(),
            bot_name: str_field(&me, "first_name").unwrap_or_default(),
            username: str_field(&me, "username"),
            ..AccountInfo::default()
        })
    }

    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        self.call(
            ctx,
            "setWebhook",
            json!({"url": url, "secret_token": ctx.webhook_secret, "allowed_updates": ALLOWED_UPDATES}),
        )
        .map(|_| Map::new())
    }

    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        let info = self.call(ctx, "getWebhookInfo", json!({}))?;
        let url = str_field(&info, "url").filter(|u| !u.is_empty());
        Ok(WebhookHealth {
            registered: Some(url.is_some()),
            url,
            pending_updates: info.get("pending_update_count").and_then(Value::as_u64),
            last_error: str_field(&info, "last_error_message"),
            last_error_at: info
                .get("last_error_date")
                .and_then(Value::as_i64)
                .map(|secs| Timestamp(secs * 1000).to_rfc3339()),
            note: None,
        })
    }

    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError> {
        self.call(ctx, "deleteWebhook", json!({})).map(|_| ())
    }

    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError> {
        let Some(given) = request.header(SECRET_HEADER) else {
            return Err(WebhookError::Unauthenticated(
                "X-Telegram-Bot-Api-Secret-Token is missing".into(),
            ));
        };
        if ctx.webhook_secret.is_empty()
            || !constant_time_eq(given.as_bytes(), ctx.webhook_secret.as_bytes())
        {
            return Err(WebhookError::Forged(
                "X-Telegram-Bot-Api-Secret-Token does not match".into(),
            ));
        }
        Ok(())
    }

    fn parse(
        &self,
        _ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError> {
        let update = request.json_post("Telegram")?;
        let update_id = update
            .get("update_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| WebhookError::Malformed("an Update needs a numeric update_id".into()))?;
        let mut parsed = ParsedWebhook {
            delivery_key: Some(update_id.to_string()),
            ..Default::default()
        };

        if let Some(msg) = update.get("message").filter(|m| is_private(m)) {
            let Some(mut visitor) = msg.get("from").and_then(profile_of) else {
                return Ok(parsed);
            };
            let chat_id = msg
                .pointer("/chat/id")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let message_id = msg
                .get("message_id")
                .and_then(Value::as_i64)
                .ok_or_else(|| WebhookError::Malformed("message without message_id".into()))?;
            let (text, files) = content_of(msg, &mut visitor);
            let start_payload = text
                .strip_prefix("/start")
                .filter(|rest| rest.is_empty() || rest.starts_with(' '))
                // Deep-link payloads are at most 64 characters; a hand-typed one may be longer.
                .map(|rest| rest.trim().chars().take(64).collect::<String>())
                .filter(|p| !p.is_empty());
            let sent_at = msg
                .get("date")
                .and_then(Value::as_i64)
                .map(Timestamp::from_unix_seconds)
                .unwrap_or_else(Timestamp::now);
            parsed.events.push(InboundEvent::Message(InboundMessage {
                external_id: format!("{chat_id}:{message_id}"),
                visitor,
                text,
                files,
                sent_at,
                start_payload,
            }));
        } else if let Some(msg) = update.get("edited_message").filter(|m| is_private(m)) {
            if let (Some(mut visitor), Some(message_id)) = (
                msg.get("from").and_then(profile_of),
                msg.get("message_id").and_then(Value::as_i64),
            ) {
                let chat_id = msg
                    .pointer("/chat/id")
                    .and_then(Value::as_i64)
                    .unwrap_or_default();
                let (text, _) = content_of(msg, &mut visitor);
                let edited_at = msg
                    .get("edit_date")
                    .and_then(Value::as_i64)
                    .map(Timestamp::from_unix_seconds)
                    .unwrap_or_else(Timestamp::now);
                let sent_at = msg
                    .get("date")
                    .and_then(Value::as_i64)
                    .map(Timestamp::from_unix_seconds)
                    .unwrap_or(edited_at);
                parsed.events.push(InboundEvent::Edited {
                    external_id: format!("{chat_id}:{message_id}"),
                    visitor,
                    text,
                    sent_at,
                    edited_at,
                });
            }
        } else if let Some(member) = update.get("my_chat_member").filter(|m| is_private(m)) {
            if let Some(visitor) = member.get("from").and_then(profile_of) {
                let status = member
                    .pointer("/new_chat_member/status")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                parsed.events.push(InboundEvent::VisitorBlocked {
                    visitor,
                    blocked: status == "kicked",
                });
            }
        }
        // Group and channel posts, callback queries and the rest are acknowledged and ignored.
        Ok(parsed)
    }

    fn send_text(
        &self,
        ctx: &ProviderContext,
        to: &str,
        text: &str,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        let chat_id = Self::chat_id(to)?;
        send_in_parts(text, MAX_TEXT, idempotency_key, |_, part| {
            let result = self.call(
                ctx,
                "sendMessage",
                json!({"chat_id": chat_id, "text": part}),
            )?;
            let id = result
                .get("message_id")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            Ok(format!("{chat_id}:{id}"))
        })
    }

    fn send_file(
        &self,
        ctx: &ProviderContext,
        to: &str,
        file: &OutgoingFile,
        caption: Option<&str>,
        _idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        let chat_id = Self::chat_id(to)?;
        ensure_fits(file, MAX_UPLOAD)?;
        let as_photo = matches!(file.mime, "image/jpeg" | "image/png" | "image/webp")
            && file.size <= MAX_PHOTO_UPLOAD;
        let (method, field) = if as_photo {
            ("sendPhoto", "photo")
        } else {
            ("sendDocument", "document")
        };
        let chat = chat_id.to_string();
        let caption: String = caption
            .unwrap_or_default()
            .chars()
            .take(MAX_CAPTION)
            .collect();
        let part = Part::file(file.path)
            .map_err(|e| ProviderError::Io(format!("{}: {e}", file.path.display())))?
            .file_name(file.name)
            .mime_str(file.mime)
            .map_err(|e| ProviderError::Rejected(format!("mime `{}`: {e}", file.mime)))?;
        let mut form = Form::new().text("chat_id", &chat).part(field, part);
        if !caption.is_empty() {
            form = form.text("caption", &caption);
        }
        let response = ctx.agent.post(&Self::method_url(ctx, method)).send(form)?;
        let result = read_api_response(response)?;
        let id = result
            .get("message_id")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        Ok(SentMessage {
            external_id: format!("{chat_id}:{id}"),
        })
    }

    fn delete_message(
        &self,
        ctx: &ProviderContext,
        to: &str,
        external_id: &str,
    ) -> Result<(), ProviderError> {
        let chat_id = Self::chat_id(to)?;
        let message_id = external_id
            .rsplit(':')
            .next()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| {
                ProviderError::Rejected(format!("`{external_id}` is not a Telegram message id"))
            })?;
        self.call(
            ctx,
            "deleteMessage",
            json!({"chat_id": chat_id, "message_id": message_id}),
        )
        .map(|_| ())
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
        let info = self.call(ctx, "getFile", json!({"file_id": file.file_ref}))?;
        if let Some(size) = info
            .get("file_size")
            .and_then(Value::as_u64)
            .filter(|s| *s > MAX_DOWNLOAD)
        {
            return Err(ProviderError::FileTooLarge {
                size,
                limit: MAX_DOWNLOAD,
            });
        }
        let path = info
            .get("file_path")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::Rejected("getFile returned no file_path (file too big?)".into())
            })?;
        let url = format!(
            "{}/file/bot{}/{}",
            ctx.api_base.trim_end_matches('/'),
            ctx.token,
            path
        );
        let copied = download_url(ctx.agent, &url, MAX_DOWNLOAD, sink, |status| {
            map_error(status as u64, format!("download of {path} failed"), None)
        })?;
        let suggested_name = path.rsplit('/').next().map(str::to_string);
        Ok(DownloadedFile {
            size: copied,
            suggested_name,
        })
    }

    fn user_info(
        &self,
        ctx: &ProviderContext,
        visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError> {
        let user_id = Self::chat_id(visitor_external_id)?;
        let profile = match self.call(ctx, "getChat", json!({"chat_id": user_id})) {
            Ok(chat) => Some(VisitorProfile {
                external_id: user_id.to_string(),
                first_name: str_field(&chat, "first_name"),
                last_name: str_field(&chat, "last_name"),
                username: str_field(&chat, "username"),
                ..Default::default()
            }),
            Err(ProviderError::Rejected(_)) => None,
            Err(e) => return Err(e),
        };
        let photos = self.call(
            ctx,
            "getUserProfilePhotos",
            json!({"user_id": user_id, "limit": 1}),
        )?;
        let avatar = photos
            .pointer("/photos/0")
            .and_then(Value::as_array)
            .and_then(|sizes| sizes.last())
            .and_then(|p| {
                file_of(
                    p,
                    AttachmentKind::Image,
                    &format!("avatar_{user_id}.jpg"),
                    "image/jpeg",
                )
            });
        Ok(UserInfo { profile, avatar })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse_body(body: &str) -> Result<ParsedWebhook, WebhookError> {
        let headers = BTreeMap::new();
        let query = BTreeMap::new();
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let settings = serde_json::Map::new();
        let ctx = ProviderContext {
            channel_id: 1,
            account_id: None,
            account_name: None,
            token: "t:x",
            settings: &settings,
            webhook_secret: "s",
            api_base: "http://x",
            agent: &agent,
        };
        Telegram.parse(
            &ctx,
            &WebhookRequest {
                method: "POST",
                headers: &headers,
                query: &query,
                body: body.as_bytes(),
            },
        )
    }

    #[test]
    fn location_and_own_contact_become_text_and_phone() {
        let body = r#"{"update_id":5,"message":{"message_id":9,"date":1,"chat":{"id":42,"type":"private"},
            "from":{"id":42,"first_name":"A"},"contact":{"phone_number":"79001234567","first_name":"A","user_id":42}}}"#;
        let parsed = parse_body(body).unwrap();
        let InboundEvent::Message(m) = &parsed.events[0] else {
            panic!("not a message")
        };
        assert_eq!(m.visitor.phone.as_deref(), Some("+79001234567"));
        assert!(m.text.contains("79001234567"));

        let body = r#"{"update_id":6,"message":{"message_id":10,"date":1,"chat":{"id":42,"type":"private"},
            "from":{"id":42,"first_name":"A"},"location":{"latitude":55.75,"longitude":37.61}}}"#;
        let InboundEvent::Message(m) = &parse_body(body).unwrap().events[0] else {
            panic!()
        };
        assert!(m.text.starts_with("📍 55.750000, 37.610000"), "{}", m.text);
    }

    #[test]
    fn update_without_update_id_is_malformed() {
        assert!(matches!(
            parse_body(r#"{"message":{}}"#),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            parse_body("not json"),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn ids_above_2_pow_53_survive() {
        let body = r#"{"update_id":9007199254740993,"message":{"message_id":9007199254740995,"date":1,
            "chat":{"id":9007199254740997,"type":"private"},"from":{"id":9007199254740997,"first_name":"B"},"text":"x"}}"#;
        let parsed = parse_body(body).unwrap();
        assert_eq!(parsed.delivery_key.as_deref(), Some("9007199254740993"));
        let InboundEvent::Message(m) = &parsed.events[0] else {
            panic!()
        };
        assert_eq!(m.external_id, "9007199254740997:9007199254740995");
    }

    #[test]
    fn long_text_is_split_on_char_boundaries() {
        let text = "ж".repeat(MAX_TEXT + 10);
        let parts = crate::providers::split_chars(&text, MAX_TEXT);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].chars().count(), MAX_TEXT);
        assert_eq!(parts[1].chars().count(), 10);
    }
}
