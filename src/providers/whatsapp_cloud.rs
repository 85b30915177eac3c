//! WhatsApp Business Cloud API: webhooks of the WhatsApp Business Account signed with the app
//! secret (`X-Hub-Signature-256`), the callback URL verified by a GET `hub.challenge` and set in
//! the Meta app dashboard, the WABA subscribed to our app through `/<WABA_ID>/subscribed_apps`,
//! messages sent from one phone number with a Bearer access token within the 24-hour
//! customer-service window; media uploaded to `/<PHONE_NUMBER_ID>/media` and fetched by id.

use std::io::Write;

use serde_json::{json, Map, Value};
use ureq::unversioned::multipart::{Form, Part};

use super::graph::{self, GraphError};
use super::send_in_parts;
use super::{
    location_text, Capabilities, DownloadedFile, FieldKind, HttpReply, OutgoingFile, ParsedWebhook,
    Provider, ProviderContext, ProviderError, SendLimits, SendRate, SettingField, UserInfo,
    WebhookError, WebhookHealth, WebhookRequest,
};
use crate::model::{
    AccountInfo, AttachmentKind, ChannelType, InboundEvent, InboundFile, InboundMessage,
    MessageStatus, SentMessage, VisitorProfile,
};
use crate::time::Timestamp;

pub struct WhatsappCloud;

/// Documents may be up to 100 MB; images 5 MB; audio, video and stickers 16 MB.
const MAX_DOCUMENT: u64 = 100 * 1024 * 1024;
const MAX_IMAGE: u64 = 5 * 1024 * 1024;
const MAX_MEDIA: u64 = 16 * 1024 * 1024;
const MAX_TEXT: usize = 4096;
/// Prefix of `biz_opaque_callback_data` on our sends, so our key is told from other apps' data.
const CALLBACK_PREFIX: &str = "crmchats:";
const MAX_CAPTION: usize = 1024;
const DASHBOARD_NOTE: &str = "Meta delivers WhatsApp events to the callback URL saved in the Meta app dashboard (WhatsApp → Configuration → Webhook, with the verify token shown here, field `messages` subscribed); the access token cannot read or change that URL.";

/// Meta's words mapped to our codes, for the Cloud API.
fn map_error(e: GraphError) -> ProviderError {
    if let Some(common) = graph::common_error(&e) {
        return common;
    }
    let text = e.text();
    match e.code {
        // More than 24 hours since the customer last wrote: only templates may go.
        131047 => ProviderError::WindowClosed(text),
        // Spam rate limit reached / too many messages to this user.
        131048 | 131049 => ProviderError::RateLimited {
            message: text,
            retry_after: None,
        },
        // Service unavailable / temporarily down.
        131016 | 133004 => ProviderError::Unavailable(text),
        _ => ProviderError::Rejected(text),
    }
}

fn phone_number_id<'a>(ctx: &'a ProviderContext) -> Result<&'a str, ProviderError> {
    graph::graph_id(
        graph::setting(ctx, "phone_number_id")?,
        "WhatsApp phone number id",
    )
}

fn waba_id<'a>(ctx: &'a ProviderContext) -> Result<&'a str, ProviderError> {
    graph::graph_id(
        graph::setting(ctx, "waba_id")?,
        "WhatsApp Business Account id",
    )
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// WhatsApp sends epoch seconds as strings (numbers accepted too).
fn seconds(v: Option<&Value>) -> Option<Timestamp> {
    let secs = match v? {
        Value::String(s) => s.parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Some(Timestamp::from_unix_seconds(secs))
}

/// A wa_id is the phone number in international form without `+`.
fn wa_id(to: &str) -> Result<String, ProviderError> {
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 || digits.len() > 15 {
        return Err(ProviderError::Rejected(format!(
            "`{to}` is not a WhatsApp number"
        )));
    }
    Ok(digits)
}

fn add_line(text: &mut String, line: &str) {
    if text.is_empty() {
        text.push_str(line);
    } else {
        text.push('\n');
        text.push_str(line);
    }
}

/// Text and files of one inbound message.
fn content_of(message: &Value) -> (String, Vec<InboundFile>) {
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    let body = message.get(kind).cloned().unwrap_or(Value::Null);
    let mut text = String::new();
    let mut files = Vec::new();
    match kind {
        "text" => text = str_field(&body, "body").unwrap_or_default(),
        "image" | "document" | "audio" | "video" | "sticker" => {
            text = str_field(&body, "caption").unwrap_or_default();
            if let Some(id) = str_field(&body, "id") {
                let voice = body.get("voice").and_then(Value::as_bool) == Some(true);
                let (attachment_kind, default_mime) = match kind {
                    "image" => (AttachmentKind::Image, "image/jpeg"),
                    "audio" if voice => (AttachmentKind::Voice, "audio/ogg"),
                    "audio" => (AttachmentKind::Audio, "audio/mpeg"),
                    "video" => (AttachmentKind::Video, "video/mp4"),
                    "sticker" => (AttachmentKind::Sticker, "image/webp"),
                    _ => (AttachmentKind::Document, "application/octet-stream"),
                };
                // `mime_type` may carry parameters (`audio/ogg; codecs=opus`).
                let mime = str_field(&body, "mime_type")
                    .map(|m| m.split(';').next().unwrap_or("").trim().to_string())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| default_mime.to_string());
                let name = str_field(&body, "filename")
                    .unwrap_or_else(|| format!("{kind}_{id}.{}", graph::mime_extension(&mime)));
                files.push(InboundFile {
                    file_ref: id,
                    name: Some(name),
                    mime: Some(mime),
                    size: None,
                    kind: attachment_kind,
                });
            }
        }
        // Replies to buttons and lists are stored as the title the visitor tapped.
        "interactive" => {
            text = body
                .get("button_reply")
                .or_else(|| body.get("list_reply"))
                .and_then(|reply| str_field(reply, "title"))
                .unwrap_or_default();
        }
        "button" => text = str_field(&body, "text").unwrap_or_default(),
        "location" => {
            let lat = body.get("latitude").and_then(Value::as_f64);
            let lon = body.get("longitude").and_then(Value::as_f64);
            for key in ["name", "address"] {
                if let Some(line) = str_field(&body, key) {
                    add_line(&mut text, &line);
                }
            }
            if let (Some(lat), Some(lon)) = (lat, lon) {
                add_line(&mut text, &location_text(lat, lon));
            }
        }
        "contacts" => {
            for contact in body.as_array().into_iter().flatten() {
                let name = contact
                    .pointer("/name/formatted_name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let phones: Vec<&str> = contact
                    .get("phones")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.get("phone").and_then(Value::as_str))
                    .collect();
                add_line(&mut text, format!("☎ {name} {}", phones.join(", ")).trim());
            }
        }
        _ => {
            // Reactions, unsupported types (with errors[]), orders: said in words.
            let reason = message
                .pointer("/errors/0/title")
                .and_then(Value::as_str)
                .unwrap_or("this message type is not shown here");
            text = format!("[WhatsApp {kind}: {reason}]");
        }
    }
    (text, files)
}

fn status_of(status: &Value) -> Option<InboundEvent> {
    let external_id = str_field(status, "id")?;
    let (status_kind, error) = match status.get("status").and_then(Value::as_str)? {
        "sent" => (MessageStatus::Sent, None),
        "delivered" => (MessageStatus::Delivered, None),
        "read" => (MessageStatus::Read, None),
        "failed" => {
            let words: Vec<String> = status
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| {
                    let code = e.get("code").and_then(Value::as_i64).unwrap_or_default();
                    let title = str_field(e, "title")
                        .or_else(|| str_field(e, "message"))
                        .unwrap_or_default();
                    match e.pointer("/error_data/details").and_then(Value::as_str) {
                        Some(details) => format!("({code}) {title}: {details}"),
                        None => format!("({code}) {title}"),
                    }
                })
                .collect();
            let words = if words.is_empty() {
                "WhatsApp could not deliver the message".to_string()
            } else {
                words.join("; ")
            };
            (MessageStatus::Failed, Some(words))
        }
        _ => return None,
    };
    Some(InboundEvent::Status {
        external_id,
        status: status_kind,
        at: seconds(status.get("timestamp")).unwrap_or_else(Timestamp::now),
        error,
    })
}

/// The events of one `changes[].value` for our phone number.
fn events_of(value: &Value, events: &mut Vec<InboundEvent>) {
    let names: Vec<(String, String)> = value
        .get("contacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                str_field(c, "wa_id")?,
                c.pointer("/profile/name")?.as_str()?.to_string(),
            ))
        })
        .collect();
    for message in value
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(from), Some(id)) = (str_field(message, "from"), str_field(message, "id")) else {
            continue;
        };
        if message.get("type").and_then(Value::as_str) == Some("reaction") {
            continue; // a reaction to a message is not a message
        }
        let (text, files) = content_of(message);
        let name = names
            .iter()
            .find(|(wa_id, _)| *wa_id == from)
            .map(|(_, name)| name.clone());
        events.push(InboundEvent::Message(InboundMessage {
            external_id: id,
            visitor: VisitorProfile {
                phone: Some(format!("+{from}")),
                external_id: from,
                first_name: name,
                ..Default::default()
            },
            text,
            files,
            sent_at: seconds(message.get("timestamp")).unwrap_or_else(Timestamp::now),
            start_payload: None,
        }));
    }
    for status in value
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(key), Some(id)) = (
            status
                .get("biz_opaque_callback_data")
                .and_then(Value::as_str)
                .and_then(|d| d.strip_prefix(CALLBACK_PREFIX)),
            status.get("id").and_then(Value::as_str),
        ) {
            events.push(InboundEvent::SentConfirmed {
                key: key.to_string(),
                external_id: id.to_string(),
            });
        }
        events.extend(status_of(status));
    }
}

impl WhatsappCloud {
    /// POST /<PHONE_NUMBER_ID>/messages; returns the wamid.
    fn send_message(
        &self,
        ctx: &ProviderContext,
        to: &str,
        kind: &str,
        content: Value,
        key: &str,
    ) -> Result<String, ProviderError> {
        // Our key comes back in this message's status webhooks, which settles a send whose
        // answer was lost.
        let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                              "to": to, "type": kind,
                              "biz_opaque_callback_data": format!("{CALLBACK_PREFIX}{key}")});
        body[kind] = content;
        let path = format!("{}/messages", phone_number_id(ctx)?);
        let answer = graph::post_json(ctx, &path, &body, map_error)?;
        answer
            .pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::Uncertain("the Cloud API answered without a message id".into())
            })
    }
}

/// How a file goes out: the message type and its size limit.
fn outgoing_kind(mime: &str) -> (&'static str, u64) {
    match mime {
        "image/jpeg" | "image/png" => ("image", MAX_IMAGE),
        "video/mp4" | "video/3gpp" => ("video", MAX_MEDIA),
        "audio/aac" | "audio/mp4" | "audio/mpeg" | "audio/amr" | "audio/ogg" => {
            ("audio", MAX_MEDIA)
        }
        _ => ("document", MAX_DOCUMENT),
    }
}

impl Provider for WhatsappCloud {
    fn kind(&self) -> ChannelType {
        ChannelType::WhatsappCloud
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            file_kinds: &["image", "document", "audio", "video"],
            max_download_bytes: MAX_DOCUMENT,
            max_upload_bytes: MAX_DOCUMENT,
            max_photo_upload_bytes: MAX_IMAGE,
            max_text_chars: MAX_TEXT,
            can_delete: false,
            read_receipts: true,
            reply_window_hours: Some(24),
            // Cloud API: 80 messages a second per number, inbound included, so we keep to 45 of
            // them; and the pair rate, about one message every 6 seconds to one user, with bursts.
            send_limits: SendLimits {
                per_account: Some(SendRate {
                    interval_ms: 25,
                    burst: 5,
                }),
                per_chat: Some(SendRate {
                    interval_ms: 6000,
                    burst: 5,
                }),
                calls_per_file: 2,
            },
            idempotent_sends: false,
        }
    }

    fn default_api_base(&self) -> &'static str {
        "https://graph.facebook.com"
    }

    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new(
                "phone_number_id",
                "Phone number ID",
                "ID номера телефона",
                FieldKind::Text,
                true,
                "Meta app → WhatsApp → API Setup: the Phone number ID under the sender number.",
            ),
            SettingField::new(
                "waba_id",
                "WhatsApp Business Account ID",
                "ID аккаунта WhatsApp Business",
                FieldKind::Text,
                true,
                "Meta app → WhatsApp → API Setup: WhatsApp Business Account ID.",
            ),
            SettingField::new(
                "token",
                "Access token",
                "Токен доступа",
                FieldKind::Secret,
                true,
                "Business settings → System users → Generate token (whatsapp_business_messaging, whatsapp_business_management).",
            ),
            SettingField::new(
                "app_secret",
                "App secret",
                "Секрет приложения",
                FieldKind::Secret,
                true,
                "App settings → Basic → App secret: it signs every webhook Meta sends.",
            ),
            SettingField::new(
                "verify_token",
                "Verify token",
                "Маркер подтверждения",
                FieldKind::Generated,
                false,
                "Paste into WhatsApp → Configuration → Webhook → Verify token, with the callback URL below.",
            ),
            SettingField::new(
                "callback_url",
                "Callback URL",
                "URL обратного вызова",
                FieldKind::Readonly,
                false,
                "Paste into WhatsApp → Configuration → Webhook → Callback URL, then subscribe the `messages` field.",
            ),
            SettingField::new(
                "proxy",
                "Proxy",
                "Прокси",
                FieldKind::Url,
                false,
                "Where Meta is blocked: http://user:pass@host:port or socks5://host:port.",
            ),
        ]
    }

    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        if ctx.token.trim().is_empty() {
            return Err(ProviderError::Unauthorized(
                "the access token is empty".into(),
            ));
        }
        let id = phone_number_id(ctx)?;
        let phone = graph::call(
            ctx,
            ctx.agent
                .get(&graph::url(ctx, id))
                .query("fields", "display_phone_number,verified_name"),
            map_error,
        )?;
        let display = str_field(&phone, "display_phone_number");
        let mut details = Map::new();
        details.insert("webhook_setup".into(), json!(DASHBOARD_NOTE));
        if let Some(display) = &display {
            details.insert("display_phone_number".into(), json!(display));
        }
        Ok(AccountInfo {
            bot_id: str_field(&phone, "id").unwrap_or_else(|| id.to_string()),
            bot_name: str_field(&phone, "verified_name")
                .or_else(|| display.clone())
                .unwrap_or_default(),
            username: display,
            avatar_url: None,
            details,
        })
    }

    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        graph::subscribe_app(ctx, waba_id(ctx)?, &[], map_error)?;
        let mut kept = Map::new();
        kept.insert("callback_url".into(), json!(url));
        Ok(kept)
    }

    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError> {
        graph::unsubscribe_app(ctx, waba_id(ctx)?, map_error)
    }

    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        // The form has no app id to pick ours out of the list: any subscribed app counts
        // (a WABA connected to this inbox usually has only ours).
        let subscribed = !graph::subscribed_apps(ctx, waba_id(ctx)?, map_error)?.is_empty();
        Ok(WebhookHealth {
            registered: Some(subscribed),
            note: Some(DASHBOARD_NOTE.into()),
            ..WebhookHealth::default()
        })
    }

    fn handshake(
        &self,
        ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Option<Result<HttpReply, WebhookError>> {
        graph::handshake(ctx, request)
    }

    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError> {
        graph::verify_signature(ctx, request)
    }

    fn parse(
        &self,
        ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError> {
        let mut parsed = ParsedWebhook::default();
        let Some(body) = graph::parse_body(request, "whatsapp_business_account")? else {
            return Ok(parsed);
        };
        let ours = ctx.settings.get("phone_number_id").and_then(Value::as_str);
        for entry in body
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for change in entry
                .get("changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if change.get("field").and_then(Value::as_str) != Some("messages") {
                    continue; // template status, account updates and the like
                }
                let Some(value) = change.get("value") else {
                    continue;
                };
                // One app webhook serves every number of the WABA: only ours is this channel.
                let number = value
                    .pointer("/metadata/phone_number_id")
                    .and_then(Value::as_str);
                if ours.is_some() && number.is_some() && number != ours {
                    continue;
                }
                events_of(value, &mut parsed.events);
            }
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
        let to = wa_id(to)?;
        send_in_parts(text, MAX_TEXT, idempotency_key, |key, part| {
            self.send_message(
                ctx,
                &to,
                "text",
                json!({"preview_url": false, "body": part}),
                key,
            )
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
        let to = wa_id(to)?;
        let (kind, limit) = outgoing_kind(file.mime);
        if file.size > limit {
            return Err(ProviderError::FileTooLarge {
                size: file.size,
                limit,
            });
        }
        let part = Part::file(file.path)
            .map_err(|e| ProviderError::Io(format!("{}: {e}", file.path.display())))?
            .file_name(file.name)
            .mime_str(file.mime)
            .map_err(|e| ProviderError::Rejected(format!("mime `{}`: {e}", file.mime)))?;
        let form = Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", file.mime)
            .part("file", part);
        let uploaded = graph::post_form(
            ctx,
            &format!("{}/media", phone_number_id(ctx)?),
            form,
            map_error,
        )?;
        let media_id = str_field(&uploaded, "id").ok_or_else(|| {
            ProviderError::Unavailable("the media upload answered without id".into())
        })?;
        let caption: String = caption
            .map(str::trim)
            .unwrap_or_default()
            .chars()
            .take(MAX_CAPTION)
            .collect();
        let mut content = json!({ "id": media_id });
        if kind == "document" {
            content["filename"] = json!(file.name);
        }
        // Audio carries no caption: it follows as a text message.
        let separate_caption = kind == "audio" && !caption.is_empty();
        if !caption.is_empty() && !separate_caption {
            content["caption"] = json!(caption);
        }
        let id = self.send_message(ctx, &to, kind, content, idempotency_key)?;
        if separate_caption {
            self.send_text(ctx, &to, &caption, &format!("{idempotency_key}.caption"))?;
        }
        Ok(SentMessage { external_id: id })
    }

    fn delete_message(
        &self,
        _ctx: &ProviderContext,
        _to: &str,
        _external_id: &str,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported(
            "the WhatsApp Cloud API cannot delete a sent message".into(),
        ))
    }

    fn download(
        &self,
        ctx: &ProviderContext,
        file: &InboundFile,
        sink: &mut dyn Write,
    ) -> Result<DownloadedFile, ProviderError> {
        let media_id = graph::graph_id(&file.file_ref, "WhatsApp media id")?;
        // The id gives a short-lived URL, fetched with the same Bearer token.
        let media = graph::call(
            ctx,
            ctx.agent
                .get(&graph::url(ctx, media_id))
                .query("phone_number_id", phone_number_id(ctx)?),
            map_error,
        )?;
        let size = media.get("file_size").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        if let Some(size) = size.filter(|s| *s > MAX_DOCUMENT) {
            return Err(ProviderError::FileTooLarge {
                size,
                limit: MAX_DOCUMENT,
            });
        }
        let url = str_field(&media, "url")
            .ok_or_else(|| ProviderError::Unavailable("the media lookup gave no url".into()))?;
        let mut downloaded = graph::download(ctx, &url, true, MAX_DOCUMENT, sink)?;
        downloaded.suggested_name = file.name.clone();
        Ok(downloaded)
    }

    fn user_info(
        &self,
        _ctx: &ProviderContext,
        _visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError> {
        // The Cloud API has no profile lookup: the name and number come with each webhook.
        Ok(UserInfo::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    const APP_SECRET: &str = "b7e2d9a4c1f6083e5a9d2c7b4e1f8a3d";

    fn fixture(rel: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/whatsapp_cloud")
            .join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn settings() -> Map<String, Value> {
        let mut s = Map::new();
        s.insert("phone_number_id".into(), json!("106540352242922"));
        s.insert("waba_id".into(), json!("102290129340398"));
        s.insert("app_secret".into(), json!(APP_SECRET));
        s.insert("verify_token".into(), json!("crmchats-wa-verify-A7"));
        s
    }

    fn with_ctx<T>(settings: &Map<String, Value>, f: impl FnOnce(&ProviderContext) -> T) -> T {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let ctx = ProviderContext {
            channel_id: 1,
            account_id: Some("106540352242922"),
            account_name: None,
            token: "EAAGfakeSharedSystemUserToken0123",
            settings,
            webhook_secret: "",
            api_base: "http://127.0.0.1:9",
            agent: &agent,
        };
        f(&ctx)
    }

    fn request_parts(name: &str) -> (Vec<u8>, BTreeMap<String, String>) {
        let body = fixture(&format!("inbound/{name}.json"));
        let headers = serde_json::from_slice::<BTreeMap<String, String>>(&fixture(&format!(
            "inbound/{name}.headers.json"
        )))
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
        (body, headers)
    }

    fn inbound_with(
        name: &str,
        settings: &Map<String, Value>,
    ) -> Result<ParsedWebhook, WebhookError> {
        let (body, headers) = request_parts(name);
        let query = BTreeMap::new();
        let request = WebhookRequest {
            method: "POST",
            headers: &headers,
            query: &query,
            body: &body,
        };
        with_ctx(settings, |ctx| {
            WhatsappCloud.verify(ctx, &request)?;
            WhatsappCloud.parse(ctx, &request)
        })
    }

    fn inbound(name: &str) -> ParsedWebhook {
        inbound_with(name, &settings()).unwrap()
    }

    fn parse_raw(body: &str) -> ParsedWebhook {
        let headers = BTreeMap::new();
        let query = BTreeMap::new();
        let settings = settings();
        with_ctx(&settings, |ctx| {
            WhatsappCloud.parse(
                ctx,
                &WebhookRequest {
                    method: "POST",
                    headers: &headers,
                    query: &query,
                    body: body.as_bytes(),
                },
            )
        })
        .unwrap()
    }

    fn only_message(parsed: &ParsedWebhook) -> &InboundMessage {
        match parsed.events.as_slice() {
            [InboundEvent::Message(m)] => m,
            other => panic!("one message expected: {other:?}"),
        }
    }

    #[test]
    fn text_fixture_gives_name_phone_and_the_string_timestamp() {
        let parsed = inbound("message_text");
        let m = only_message(&parsed);
        assert_eq!(m.text, "Добрый день! Заказ ещё можно изменить? 🙏");
        assert_eq!(m.visitor.external_id, "79161234567");
        assert_eq!(m.visitor.phone.as_deref(), Some("+79161234567"));
        assert_eq!(m.visitor.display_name(), "Иван Петров");
        assert_eq!(m.sent_at, Timestamp::from_unix_seconds(1732542311));
        assert!(m
            .external_id
            .starts_with("wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQTRF"));
    }

    #[test]
    fn image_fixture_is_a_media_id_with_its_caption() {
        let parsed = inbound("message_image");
        let m = only_message(&parsed);
        assert_eq!(m.text, "Вот чек");
        let f = &m.files[0];
        assert_eq!(f.file_ref, "1003383421387256");
        assert_eq!(
            (f.kind, f.mime.as_deref()),
            (AttachmentKind::Image, Some("image/jpeg"))
        );
        assert_eq!(f.name.as_deref(), Some("image_1003383421387256.jpg"));
    }

    #[test]
    fn status_fixtures_become_statuses_by_wamid() {
        for (name, expected) in [
            ("status_sent", MessageStatus::Sent),
            ("status_delivered", MessageStatus::Delivered),
            ("status_read", MessageStatus::Read),
        ] {
            match inbound(name).events.as_slice() {
                [InboundEvent::Status {
                    external_id,
                    status,
                    error,
                    ..
                }] => {
                    assert_eq!(
                        external_id,
                        "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI3RjNDMUE5QjJFNEQ1QzZBOEIA"
                    );
                    assert_eq!(*status, expected, "{name}");
                    assert_eq!(*error, None);
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_failed_status_carries_metas_words() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.F","status":"failed","timestamp":"1732542401","recipient_id":"79161234567","errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"more than 24 hours"}}]}]}}]}]}"#;
        match parse_raw(body).events.as_slice() {
            [InboundEvent::Status { status, error, .. }] => {
                assert_eq!(*status, MessageStatus::Failed);
                let error = error.as_deref().unwrap();
                assert!(
                    error.contains("131047") && error.contains("more than 24 hours"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn buttons_locations_contacts_and_other_numbers() {
        let value = |messages: &str, number: &str| {
            format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"phone_number_id":"{number}"}},"contacts":[{{"profile":{{"name":"A"}},"wa_id":"79000000001"}}],"messages":[{messages}]}}}}]}}]}}"#
            )
        };
        let messages = r#"{"from":"79000000001","id":"w1","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Да, подтверждаю"}}},
            {"from":"79000000001","id":"w2","timestamp":"2","type":"location","location":{"latitude":55.75,"longitude":37.61,"name":"Офис"}},
            {"from":"79000000001","id":"w3","timestamp":"3","type":"contacts","contacts":[{"name":{"formatted_name":"Пётр"},"phones":[{"phone":"+7 900 000-00-02"}]}]},
            {"from":"79000000001","id":"w4","timestamp":"4","type":"audio","audio":{"id":"55","mime_type":"audio/ogg; codecs=opus","voice":true}},
            {"from":"79000000001","id":"w5","timestamp":"5","type":"reaction","reaction":{"message_id":"w1","emoji":"👍"}}"#;
        let parsed = parse_raw(&value(messages, "106540352242922"));
        let texts: Vec<String> = parsed
            .events
            .iter()
            .map(|e| match e {
                InboundEvent::Message(m) => m.text.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts.len(), 4, "the reaction is not a message");
        assert_eq!(texts[0], "Да, подтверждаю");
        assert!(
            texts[1].starts_with("Офис\n📍 55.750000, 37.610000"),
            "{}",
            texts[1]
        );
        assert_eq!(texts[2], "☎ Пётр +7 900 000-00-02");
        let InboundEvent::Message(voice) = &parsed.events[3] else {
            panic!()
        };
        assert_eq!(voice.files[0].kind, AttachmentKind::Voice);
        assert_eq!(voice.files[0].mime.as_deref(), Some("audio/ogg"));

        assert!(
            parse_raw(&value(messages, "999")).events.is_empty(),
            "another number of the WABA"
        );
    }

    #[test]
    fn forged_signatures_are_refused() {
        let mut wrong = settings();
        wrong.insert(
            "app_secret".into(),
            json!("3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e"),
        );
        assert_eq!(
            inbound_with("message_text", &wrong).unwrap_err().status(),
            403
        );
    }

    #[test]
    fn verification_fixtures_get_the_challenge_or_403() {
        for (name, expected) in [("verify_subscribe_ok", 200), ("verify_wrong_token", 403)] {
            let descriptor: Value =
                serde_json::from_slice(&fixture(&format!("inbound/{name}.request.json"))).unwrap();
            let query: BTreeMap<String, String> =
                serde_json::from_value(descriptor["query"].clone()).unwrap();
            let headers = BTreeMap::new();
            let request = WebhookRequest {
                method: "GET",
                headers: &headers,
                query: &query,
                body: b"",
            };
            let settings = settings();
            let status =
                match with_ctx(&settings, |ctx| WhatsappCloud.handshake(ctx, &request)).unwrap() {
                    Ok(reply) => {
                        assert_eq!(reply.body, "1158201444");
                        reply.status
                    }
                    Err(e) => e.status(),
                };
            assert_eq!(status, expected, "{name}");
        }
    }

    #[test]
    fn error_fixtures_map_to_stable_codes() {
        for (name, status, code) in [
            ("error_190_token_expired", 401, "provider_unauthorized"),
            ("error_131047_reengagement", 400, "window_closed"),
        ] {
            let body: Value =
                serde_json::from_slice(&fixture(&format!("api/{name}.json"))).unwrap();
            let e = map_error(graph::parse_error(status, &body["error"]));
            assert_eq!(e.code(), code, "{name}: {e}");
        }
        let body: Value =
            serde_json::from_slice(&fixture("api/error_131047_reengagement.json")).unwrap();
        let e = map_error(graph::parse_error(400, &body["error"]));
        assert!(e.to_string().contains("24 hours"), "details are kept: {e}");
        for code in [130429, 131056, 4, 80007] {
            let e = map_error(GraphError {
                http_status: 400,
                code,
                subcode: None,
                message: "m".into(),
                details: None,
            });
            assert_eq!(e.code(), "rate_limited", "{code}");
        }
    }

    #[test]
    fn files_go_out_as_the_type_whatsapp_accepts() {
        assert_eq!(outgoing_kind("image/png").0, "image");
        assert_eq!(outgoing_kind("image/gif").0, "document");
        assert_eq!(outgoing_kind("video/mp4").0, "video");
        assert_eq!(outgoing_kind("audio/ogg").0, "audio");
        assert_eq!(outgoing_kind("application/pdf"), ("document", MAX_DOCUMENT));
        assert!(wa_id("+7 916 123-45-67").is_ok_and(|id| id == "79161234567"));
        assert!(wa_id("abc").is_err());
    }
}
