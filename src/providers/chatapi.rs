//! WhatsApp through Chat-API (chat-api.com, the original product's WhatsApp channel; the service
//! is discontinued, shapes follow its SDKs): an instance drives a phone's WhatsApp Web, answers at
//! `<instance URL>/<method>?token=<TOKEN>`, and posts unsigned webhooks. We authenticate them with
//! a secret `key` we add to the webhook URL, and by the instance id they carry.

use std::io::Write;

use base64::Engine;
use serde_json::{json, Map, Value};

use super::{
    append_line, constant_time_eq, download_url, location_text, normalize_phone, Capabilities,
    DownloadedFile, FieldKind, OutgoingFile, ParsedWebhook, Provider, ProviderContext,
    ProviderError, SendLimits, SettingField, UserInfo, WebhookError, WebhookHealth, WebhookRequest,
};
use super::{ensure_fits, send_in_parts};
use crate::model::{
    mime_for_name, AccountInfo, AttachmentKind, ChannelType, InboundEvent, InboundFile,
    InboundMessage, MessageStatus, SentMessage, VisitorProfile,
};
use crate::time::Timestamp;

pub struct ChatApi;

const DEFAULT_API_BASE: &str = "https://api.chat-api.com";
/// WhatsApp documents go up to 100 MB.
const MAX_DOWNLOAD: u64 = 100 * 1024 * 1024;
const MAX_UPLOAD: u64 = 100 * 1024 * 1024;
/// Larger files go by link: base64 swells a JSON body by a third.
const MAX_INLINE_UPLOAD: u64 = 16 * 1024 * 1024;
const MAX_PHOTO_UPLOAD: u64 = 16 * 1024 * 1024;
const MAX_TEXT: usize = 65_536;

/// The instance an API URL names: where to call it and its id (`instanceId` of webhooks).
#[derive(Debug, PartialEq)]
struct Instance {
    base: String,
    id: String,
}

/// `https://eu22.chat-api.com/instance18560` -> calls there, id `18560`. A configured `api_base`
/// (tests, a proxy in front of the service) replaces the scheme, host and port only.
fn instance(ctx: &ProviderContext) -> Result<Instance, ProviderError> {
    let bad = || {
        ProviderError::Rejected(
            "the API URL must be the instance's address, like https://api.chat-api.com/instance123456"
                .into(),
        )
    };
    let url = ctx
        .settings
        .get("api_url")
        .and_then(Value::as_str)
        .map(str::trim)
        .ok_or_else(bad)?;
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let scheme = ["https://", "http://"]
        .into_iter()
        .find(|s| url.starts_with(s))
        .ok_or_else(bad)?;
    let (host, path) = url[scheme.len()..].split_once('/').ok_or_else(bad)?;
    let path = path.trim_matches('/');
    let id = path
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_prefix("instance"))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(bad)?;
    let origin = if ctx.api_base == DEFAULT_API_BASE {
        format!("{scheme}{host}")
    } else {
        ctx.api_base.trim_end_matches('/').to_string()
    };
    Ok(Instance {
        base: format!("{origin}/{path}"),
        id: id.to_string(),
    })
}

impl ChatApi {
    /// One API call (token in the query string); the answer's JSON or the mapped error.
    fn call(
        &self,
        ctx: &ProviderContext,
        method: &str,
        body: Option<Value>,
    ) -> Result<Value, ProviderError> {
        let url = format!("{}/{method}", instance(ctx)?.base);
        let response = match body {
            None => ctx.agent.get(&url).query("token", ctx.token).call()?,
            Some(body) => ctx
                .agent
                .post(&url)
                .query("token", ctx.token)
                .header("Content-Type", "application/json")
                .send(body.to_string())?,
        };
        read_api_response(response)
    }

    /// `sendMessage` / `sendFile`: the new message's id; `sent: false` is a refusal.
    fn send(
        &self,
        ctx: &ProviderContext,
        method: &str,
        body: Value,
    ) -> Result<String, ProviderError> {
        let answer = self.call(ctx, method, Some(body))?;
        let why = || {
            answer
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no reason given")
                .to_string()
        };
        if answer.get("sent").and_then(Value::as_bool) == Some(false) {
            return Err(ProviderError::Rejected(format!(
                "Chat-API did not send it: {}",
                why()
            )));
        }
        answer
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::Uncertain(format!("{method} answered without id: {}", why()))
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
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    // Errors come as {"error": "..."}; the wording is the service's own.
    let error = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let why = || {
        error
            .clone()
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(120).collect())
    };
    match (status, parsed) {
        (200, Some(_)) if error.is_some() => Err(ProviderError::Rejected(why())),
        (200, Some(value)) => Ok(value),
        (401 | 403, _) => Err(ProviderError::Unauthorized(why())),
        (404, _) => Err(ProviderError::Rejected(format!(
            "HTTP 404: {} (is the API URL the instance's?)",
            why()
        ))),
        (429, _) => Err(ProviderError::RateLimited {
            message: why(),
            retry_after: None,
        }),
        (400..=499, _) => Err(ProviderError::Rejected(format!("HTTP {status}: {}", why()))),
        _ => Err(ProviderError::Unavailable(format!(
            "HTTP {status}: {}",
            why()
        ))),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `79991234567@c.us` -> `+79991234567`.
fn phone_of_chat(chat_id: &str) -> Option<String> {
    let number = chat_id.split('@').next().unwrap_or_default();
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| normalize_phone(number))
}

/// `instanceId` as a string, whether sent as one or as a number.
fn instance_id_of(body: &Value) -> Option<String> {
    match body.get("instanceId")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Our webhook URL with the key Chat-API cannot sign for us. The secret is made of
/// `A-Z a-z 0-9 _ -` (checked when saved), so it needs no escaping.
fn webhook_url_with_key(url: &str, secret: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}key={secret}")
}

/// A registered URL as the admin may see it: the key's value hidden.
fn without_key(url: &str) -> String {
    match url.split_once("key=") {
        Some((before, after)) => {
            let rest = after
                .split_once('&')
                .map(|(_, r)| format!("&{r}"))
                .unwrap_or_default();
            format!("{before}key=••••{rest}")
        }
        None => url.to_string(),
    }
}

/// A message's file (`body` is the link, kept ~30 days by the service) and the text that stays.
fn file_of(message: &Value, kind: &str, id: &str) -> Option<(InboundFile, Option<String>)> {
    let url = str_field(message, "body")?;
    let caption = str_field(message, "caption").map(str::to_string);
    let from_link = url
        .split(['?', '#'])
        .next()
        .and_then(|path| path.rsplit('/').next())
        .filter(|last| last.contains('.'))
        .map(str::to_string);
    // A document's caption is its file name when it looks like one.
    let caption_is_name = kind == "document"
        && caption
            .as_deref()
            .is_some_and(|c| c.contains('.') && !c.contains('\n'));
    let (name, caption) = if caption_is_name {
        (caption, None)
    } else {
        (from_link, caption)
    };
    let (kind_of_file, default_mime, extension) = match kind {
        "image" => (AttachmentKind::Image, "image/jpeg", "jpg"),
        "document" => (AttachmentKind::Document, "application/octet-stream", "bin"),
        "ptt" => (AttachmentKind::Voice, "audio/ogg", "ogg"),
        "audio" => (AttachmentKind::Audio, "audio/mpeg", "mp3"),
        "video" => (AttachmentKind::Video, "video/mp4", "mp4"),
        _ => (AttachmentKind::Sticker, "image/webp", "webp"),
    };
    let short_id: String = id
        .rsplit('_')
        .next()
        .unwrap_or(id)
        .chars()
        .take(20)
        .collect();
    let name = name.unwrap_or_else(|| format!("{kind}_{short_id}.{extension}"));
    let mime = match mime_for_name(&name) {
        "application/octet-stream" => default_mime,
        known => known,
    };
    let kind = match kind_of_file {
        AttachmentKind::Document => AttachmentKind::for_mime(mime),
        other => other,
    };
    let file = InboundFile {
        file_ref: url.to_string(),
        name: Some(name),
        mime: Some(mime.to_string()),
        size: None,
        kind,
    };
    Some((file, caption))
}

/// One entry of `messages[]`; None for group chats, broadcasts and what carries nothing.
fn event_of(message: &Value) -> Result<Option<InboundEvent>, WebhookError> {
    let chat_id = str_field(message, "chatId")
        .ok_or_else(|| WebhookError::Malformed("a message without chatId".into()))?;
    // Groups (@g.us) and status broadcasts are outside a 1:1 inbox.
    if !chat_id.ends_with("@c.us") {
        return Ok(None);
    }
    let id = str_field(message, "id")
        .ok_or_else(|| WebhookError::Malformed("a message without id".into()))?;
    let from_me = message
        .get("fromMe")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let kind = str_field(message, "type").unwrap_or("chat");
    let body = str_field(message, "body").unwrap_or_default();
    let (text, files) = match kind {
        "chat" => (body.to_string(), Vec::new()),
        "image" | "document" | "audio" | "ptt" | "video" | "sticker" => {
            match file_of(message, kind, id) {
                Some((file, caption)) => (caption.unwrap_or_default(), vec![file]),
                None => (String::new(), Vec::new()),
            }
        }
        "location" => {
            let coordinates = body.split_once(';').and_then(|(lat, lon)| {
                Some((
                    lat.trim().parse::<f64>().ok()?,
                    lon.trim().parse::<f64>().ok()?,
                ))
            });
            match coordinates {
                Some((lat, lon)) => (
                    append_line(String::new(), &location_text(lat, lon)),
                    Vec::new(),
                ),
                None => (body.to_string(), Vec::new()),
            }
        }
        // vcard, call_log ("[Call]") and newer types: their body is the best text there is.
        _ => (body.to_string(), Vec::new()),
    };
    if text.is_empty() && files.is_empty() {
        return Ok(None);
    }
    // Our own messages carry our name as senderName: the visitor's name is left as it is.
    let name = if from_me {
        None
    } else {
        str_field(message, "senderName")
            .or_else(|| str_field(message, "chatName"))
            .map(str::to_string)
    };
    let visitor = VisitorProfile {
        external_id: chat_id.to_string(),
        first_name: name,
        phone: phone_of_chat(chat_id),
        ..VisitorProfile::default()
    };
    let sent_at = message
        .get("time")
        .and_then(Value::as_i64)
        .map(Timestamp::from_unix_seconds)
        .unwrap_or_else(Timestamp::now);
    let message = InboundMessage {
        external_id: id.to_string(),
        visitor,
        text,
        files,
        sent_at,
        start_payload: None,
    };
    Ok(Some(if from_me {
        InboundEvent::Echo(message)
    } else {
        InboundEvent::Message(message)
    }))
}

/// One entry of `ack[]`: what happened to one of our messages.
fn status_of(ack: &Value) -> Option<InboundEvent> {
    if !str_field(ack, "chatId").is_some_and(|c| c.ends_with("@c.us")) {
        return None;
    }
    let status = match str_field(ack, "status")? {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "viewed" | "read" => MessageStatus::Read,
        _ => return None,
    };
    Some(InboundEvent::Status {
        external_id: str_field(ack, "id")?.to_string(),
        status,
        at: Timestamp::now(),
        error: None,
    })
}

impl Provider for ChatApi {
    fn kind(&self) -> ChannelType {
        ChannelType::Chatapi
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            file_kinds: &["image", "document", "audio", "video"],
            max_download_bytes: MAX_DOWNLOAD,
            max_upload_bytes: MAX_UPLOAD,
            max_photo_upload_bytes: MAX_PHOTO_UPLOAD,
            max_text_chars: MAX_TEXT,
            can_delete: false,
            read_receipts: true,
            reply_window_hours: None,
            send_limits: SendLimits::UNDOCUMENTED,
            idempotent_sends: false,
        }
    }

    fn default_api_base(&self) -> &'static str {
        DEFAULT_API_BASE
    }

    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new(
                "api_url",
                "API URL",
                "API URL",
                FieldKind::Url,
                true,
                "From your chat-api.com account: the instance's address, like https://api.chat-api.com/instance123456.",
            ),
            SettingField::new(
                "token",
                "Token",
                "Токен",
                FieldKind::Secret,
                true,
                "The instance's token, shown beside its API URL.",
            ),
            SettingField::new(
                "account_number",
                "Account number",
                "Номер аккаунта",
                FieldKind::Text,
                false,
                "The WhatsApp number of the phone linked to the instance (79001234567); Check compares it with the phone.",
            ),
        ]
    }

    /// The instance's state; while the phone is not linked, `details.qr_code` is the QR image to
    /// scan (WhatsApp, Linked devices), shown until `status` is `authenticated`.
    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        if ctx.token.trim().is_empty() {
            return Err(ProviderError::Unauthorized(
                "paste the instance's token".into(),
            ));
        }
        let instance = instance(ctx)?;
        let status = self.call(ctx, "status", None)?;
        let state = str_field(&status, "accountStatus")
            .unwrap_or("unknown")
            .to_string();
        let mut info = AccountInfo {
            bot_id: instance.id,
            ..AccountInfo::default()
        };
        info.details
            .insert("status".into(), Value::String(state.clone()));
        if state != "authenticated" {
            if let Some(qr) = str_field(&status, "qrCode") {
                info.details
                    .insert("qr_code".into(), Value::String(qr.to_string()));
            }
            return Ok(info);
        }
        let me = self.call(ctx, "me", None)?;
        let number = str_field(&me, "id").and_then(phone_of_chat);
        let expected = ctx
            .settings
            .get("account_number")
            .and_then(Value::as_str)
            .map(normalize_phone)
            // Only a number is compared (normalize_phone leaves a text without digits as it is).
            .filter(|n| n.len() > 1 && n[1..].bytes().all(|b| b.is_ascii_digit()));
        if let (Some(number), Some(expected)) = (&number, &expected) {
            if number != expected {
                return Err(ProviderError::Rejected(format!(
                    "the instance is linked to {number}, not to the account number {expected}"
                )));
            }
        }
        info.bot_name = str_field(&me, "name").unwrap_or_default().to_string();
        info.username = number;
        Ok(info)
    }

    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let url = webhook_url_with_key(url, ctx.webhook_secret);
        // `set: false` means "unchanged", not a refusal; refusals are {"error": ...}.
        self.call(ctx, "webhook", Some(json!({"webhookUrl": url})))?;
        // Delivered/viewed acks come only when switched on; without them replies stay `sent`.
        if let Err(e) = self.call(ctx, "settings", Some(json!({"ackNotificationsOn": true}))) {
            log::warn!(
                "channel {}: Chat-API ack notifications not switched on: {e}",
                ctx.channel_id
            );
        }
        Ok(Map::new())
    }

    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError> {
        self.call(ctx, "webhook", Some(json!({"webhookUrl": ""})))
            .map(|_| ())
    }

    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        let settings = self.call(ctx, "settings", None)?;
        let registered = str_field(&settings, "webhookUrl");
        let ours = registered.is_some_and(|url| {
            url.split(['?', '&'])
                .filter_map(|pair| pair.strip_prefix("key="))
                .any(|key| constant_time_eq(key.as_bytes(), ctx.webhook_secret.as_bytes()))
        });
        let status = self.call(ctx, "status", None)?;
        let state = str_field(&status, "accountStatus").unwrap_or("unknown");
        Ok(WebhookHealth {
            registered: Some(ours),
            url: registered.map(without_key),
            note: (state != "authenticated").then(|| {
                format!(
                    "the instance is `{state}`: link the phone by scanning the QR code Check shows"
                )
            }),
            ..WebhookHealth::default()
        })
    }

    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError> {
        let Some(key) = request.query("key") else {
            return Err(WebhookError::Unauthenticated(
                "the webhook URL carries no key".into(),
            ));
        };
        if ctx.webhook_secret.is_empty()
            || !constant_time_eq(key.as_bytes(), ctx.webhook_secret.as_bytes())
        {
            return Err(WebhookError::Forged(
                "the webhook key does not match".into(),
            ));
        }
        let body: Value = serde_json::from_slice(request.body)
            .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
        let ours = instance(ctx).map(|i| i.id).ok();
        match instance_id_of(&body) {
            Some(id) if Some(&id) == ours.as_ref() => Ok(()),
            Some(id) => Err(WebhookError::Forged(format!(
                "instanceId {id} is not this channel's instance"
            ))),
            None => Err(WebhookError::Forged(
                "the webhook carries no instanceId".into(),
            )),
        }
    }

    fn parse(
        &self,
        _ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError> {
        let body = request.json_post("Chat-API")?;
        let list = |key: &str| {
            body.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut parsed = ParsedWebhook::default();
        for message in list("messages") {
            parsed.events.extend(event_of(&message)?);
        }
        parsed
            .events
            .extend(list("ack").iter().filter_map(status_of));
        // No delivery key: messages are unique by id, echoes are stored once, acks only move a
        // message forward.
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
            self.send(ctx, "sendMessage", json!({"chatId": to, "body": part}))
        })
    }

    /// The file travels inside the request as a base64 data URL (nothing to fetch from us);
    /// past 16 MB by our signed link.
    fn send_file(
        &self,
        ctx: &ProviderContext,
        to: &str,
        file: &OutgoingFile,
        caption: Option<&str>,
        _idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        ensure_fits(file, MAX_UPLOAD)?;
        let body = if file.size <= MAX_INLINE_UPLOAD {
            let bytes = std::fs::read(file.path)?;
            format!(
                "data:{};base64,{}",
                file.mime,
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        } else {
            file.public_url.clone().ok_or_else(|| {
                ProviderError::Unsupported(format!(
                    "files over {} MB go to Chat-API by link: set public_base_url (the https address of php-bridge/ as the service reaches it)",
                    MAX_INLINE_UPLOAD >> 20
                ))
            })?
        };
        let mut request = json!({"chatId": to, "body": body, "filename": file.name});
        if let Some(caption) = caption.filter(|c| !c.is_empty()) {
            request["caption"] = Value::String(caption.to_string());
        }
        Ok(SentMessage {
            external_id: self.send(ctx, "sendFile", request)?,
        })
    }

    fn delete_message(
        &self,
        _ctx: &ProviderContext,
        _to: &str,
        _external_id: &str,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported(
            "messages sent through Chat-API cannot be deleted from the inbox".into(),
        ))
    }

    fn download(
        &self,
        ctx: &ProviderContext,
        file: &InboundFile,
        sink: &mut dyn Write,
    ) -> Result<DownloadedFile, ProviderError> {
        let size = download_url(
            ctx.agent,
            &file.file_ref,
            MAX_DOWNLOAD,
            sink,
            |status| match status {
                400..=499 => ProviderError::Rejected(format!(
                    "Chat-API no longer serves this file (HTTP {status}; files are kept 30 days)"
                )),
                _ => ProviderError::Unavailable(format!(
                    "Chat-API's file storage answered HTTP {status}"
                )),
            },
        )?;
        let suggested_name = file
            .file_ref
            .split(['?', '#'])
            .next()
            .and_then(|path| path.rsplit('/').next())
            .filter(|last| last.contains('.'))
            .map(str::to_string);
        Ok(DownloadedFile {
            size,
            suggested_name,
        })
    }

    /// Nothing to ask: names come with each message (`senderName`), the phone from the chat id,
    /// and Chat-API gives no pictures.
    fn user_info(
        &self,
        _ctx: &ProviderContext,
        _visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError> {
        Ok(UserInfo::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn with_ctx<T>(api_url: &str, api_base: &str, f: impl FnOnce(&ProviderContext) -> T) -> T {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let mut settings = Map::new();
        settings.insert("api_url".into(), Value::String(api_url.into()));
        let ctx = ProviderContext {
            channel_id: 1,
            account_id: None,
            account_name: None,
            token: "sh4r3dch4t4p1t0k3n",
            settings: &settings,
            webhook_secret: "chatapiSharedKey-7d2f",
            api_base,
            agent: &agent,
        };
        f(&ctx)
    }

    #[test]
    fn the_api_url_names_the_instance_and_api_base_replaces_only_the_origin() {
        let on_service = with_ctx(
            "https://eu22.chat-api.com/instance18560/",
            DEFAULT_API_BASE,
            instance,
        )
        .unwrap();
        assert_eq!(
            on_service,
            Instance {
                base: "https://eu22.chat-api.com/instance18560".into(),
                id: "18560".into()
            }
        );
        let on_fake = with_ctx(
            "https://api.chat-api.com/instance318205",
            "http://127.0.0.1:9",
            instance,
        )
        .unwrap();
        assert_eq!(on_fake.base, "http://127.0.0.1:9/instance318205");
        for bad in [
            "api.chat-api.com/instance1",
            "https://api.chat-api.com/",
            "https://h/instanceX",
            "",
        ] {
            assert!(with_ctx(bad, DEFAULT_API_BASE, instance).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_webhook_key_is_added_to_our_url_and_hidden_when_shown() {
        let url = webhook_url_with_key("https://crm/webhook.php?channel=3", "k-1");
        assert_eq!(url, "https://crm/webhook.php?channel=3&key=k-1");
        assert_eq!(
            without_key(&url),
            "https://crm/webhook.php?channel=3&key=••••"
        );
        assert_eq!(
            without_key("https://h/?key=abc&x=1"),
            "https://h/?key=••••&x=1"
        );
    }

    fn parse(body: &str) -> Vec<InboundEvent> {
        let (headers, query) = (BTreeMap::new(), BTreeMap::new());
        let request = WebhookRequest {
            method: "POST",
            headers: &headers,
            query: &query,
            body: body.as_bytes(),
        };
        with_ctx(
            "https://api.chat-api.com/instance318205",
            DEFAULT_API_BASE,
            |c| ChatApi.parse(c, &request),
        )
        .unwrap()
        .events
    }

    #[test]
    fn groups_are_ignored_and_locations_documents_and_voice_are_kept() {
        assert!(parse(r#"{"messages":[{"id":"false_1-2@g.us_A","chatId":"1-2@g.us","body":"hi","type":"chat"}],"instanceId":"318205"}"#).is_empty());
        let events = parse(
            r#"{"messages":[
            {"id":"false_79991234567@c.us_L","chatId":"79991234567@c.us","type":"location","body":"55.7558;37.6173","senderName":"Ирина"},
            {"id":"false_79991234567@c.us_D","chatId":"79991234567@c.us","type":"document","body":"https://s3/x/5f2e.pdf","caption":"Договор.pdf"},
            {"id":"false_79991234567@c.us_V","chatId":"79991234567@c.us","type":"ptt","body":"https://s3/x/9a1b"}],
            "instanceId":"318205"}"#,
        );
        let messages: Vec<&InboundMessage> = events
            .iter()
            .map(|e| match e {
                InboundEvent::Message(m) => m,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            messages[0].text.starts_with("📍 55.755800, 37.617300"),
            "{}",
            messages[0].text
        );
        assert_eq!(messages[0].visitor.phone.as_deref(), Some("+79991234567"));
        assert_eq!(messages[0].visitor.first_name.as_deref(), Some("Ирина"));
        let document = &messages[1].files[0];
        assert_eq!(
            (document.name.as_deref(), document.mime.as_deref()),
            (Some("Договор.pdf"), Some("application/pdf"))
        );
        assert_eq!(messages[1].text, "", "the caption was the file's name");
        let voice = &messages[2].files[0];
        assert_eq!(voice.kind, AttachmentKind::Voice);
        assert_eq!(voice.mime.as_deref(), Some("audio/ogg"));
    }

    #[test]
    fn our_own_messages_are_echoes_that_leave_the_visitors_name_alone() {
        let events = parse(include_str!(
            "../../tests/fixtures/chatapi/inbound/message_from_me_echo.json"
        ));
        let InboundEvent::Echo(m) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(m.external_id, "true_79991234567@c.us_3EB0B5E1D2A4C7F8E9A1");
        assert_eq!(m.visitor.external_id, "79991234567@c.us");
        assert_eq!(m.visitor.first_name, None);
        assert_eq!(m.visitor.phone.as_deref(), Some("+79991234567"));
    }

    #[test]
    fn acks_become_statuses() {
        let events = parse(
            r#"{"ack":[{"id":"true_7@c.us_A","chatId":"7@c.us","status":"viewed"},{"id":"true_7@c.us_B","chatId":"7@c.us","status":"odd"}],"instanceId":"318205"}"#,
        );
        assert_eq!(events.len(), 1);
        assert!(
            matches!(&events[0], InboundEvent::Status { external_id, status: MessageStatus::Read, .. } if external_id == "true_7@c.us_A")
        );
    }
}
