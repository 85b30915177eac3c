//! Facebook Messenger (page webhooks + Send API): webhooks signed with the app secret
//! (`X-Hub-Signature-256`), the callback URL verified by a GET `hub.challenge` and set in the
//! Meta app dashboard, the page subscribed to our app through `/<PAGE_ID>/subscribed_apps`,
//! messages sent with the page token as `messaging_type: RESPONSE` within Meta's 24-hour window.

use std::io::Write;

use serde_json::{json, Map, Value};
use ureq::unversioned::multipart::{Form, Part};

use super::graph::{self, GraphError};
use super::send_in_parts;
use super::{
    location_text, Capabilities, DownloadedFile, FieldKind, HttpReply, OutgoingFile, ParsedWebhook,
    Provider, ProviderContext, ProviderError, SendLimits, SettingField, UserInfo, WebhookError,
    WebhookHealth, WebhookRequest,
};
use crate::model::{
    AccountInfo, AttachmentKind, ChannelType, InboundEvent, InboundFile, InboundMessage,
    MessageStatus, SentMessage, VisitorProfile,
};
use crate::time::Timestamp;

pub struct Facebook;

/// Send API attachments and what the CDN serves are limited to 25 MB.
const MAX_FILE: u64 = 25 * 1024 * 1024;
const MAX_IMAGE: u64 = 8 * 1024 * 1024;
const MAX_TEXT: usize = 2000;
/// The page events the inbox needs.
const SUBSCRIBED_FIELDS: &str =
    "messages,messaging_postbacks,message_deliveries,message_reads,message_echoes";
/// `message.metadata` of our sends, echoed back in `message_echoes`.
const METADATA_PREFIX: &str = "crmchats:";
const DASHBOARD_NOTE: &str = "Meta delivers page events to the callback URL saved in the Meta app dashboard (Messenger → Settings → Webhooks, with the verify token shown here); the page token cannot read or change that URL.";

/// Meta's words mapped to our codes, for Messenger.
fn map_error(e: GraphError) -> ProviderError {
    if let Some(common) = graph::common_error(&e) {
        return common;
    }
    let text = e.text();
    match (e.code, e.subcode) {
        // Outside the 24-hour standard messaging window (a tag would be needed).
        (_, Some(2018278 | 2018108)) => ProviderError::WindowClosed(text),
        (10, _) if text.contains("outside of allowed window") => ProviderError::WindowClosed(text),
        // "This person isn't available right now": blocked the page or deactivated.
        (551, _) | (_, Some(1545041)) => ProviderError::VisitorBlocked(text),
        _ => ProviderError::Rejected(text),
    }
}

fn page_id<'a>(ctx: &'a ProviderContext) -> Result<&'a str, ProviderError> {
    graph::graph_id(graph::setting(ctx, "page_id")?, "Facebook page id")
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// An id that Meta may send as a string or a number (`app_id` of echoes), as digits.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn visitor(psid: String) -> VisitorProfile {
    VisitorProfile {
        external_id: psid,
        ..Default::default()
    }
}

/// The attachments of a message: files become [`InboundFile`]s (their `payload.url` is the
/// reference `download` fetches), links and places become text.
fn attachments_of(message: &Value, text: &mut String) -> Vec<InboundFile> {
    let mut files = Vec::new();
    let list = message
        .get("attachments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, attachment) in list.iter().enumerate() {
        let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
        let payload = attachment.get("payload").cloned().unwrap_or(Value::Null);
        let url = str_field(&payload, "url");
        let mut add_line = |line: String| {
            if text.is_empty() {
                *text = line;
            } else {
                text.push('\n');
                text.push_str(&line);
            }
        };
        match (kind, url) {
            ("image" | "video" | "audio" | "file", Some(url)) => {
                let sticker = payload.get("sticker_id").is_some();
                let (kind, default_mime) = match kind {
                    "image" if sticker => (AttachmentKind::Sticker, "image/png"),
                    "image" => (AttachmentKind::Image, "image/jpeg"),
                    "video" => (AttachmentKind::Video, "video/mp4"),
                    "audio" => (AttachmentKind::Audio, "audio/mpeg"),
                    _ => (AttachmentKind::Document, "application/octet-stream"),
                };
                // File names are only visible in the CDN URL's path.
                let name = url
                    .split('?')
                    .next()
                    .and_then(|path| path.rsplit('/').next())
                    .filter(|n| !n.is_empty() && n.contains('.'))
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        format!(
                            "attachment_{}.{}",
                            i + 1,
                            graph::mime_extension(default_mime)
                        )
                    });
                let mime = mime_from_name(&name).unwrap_or(default_mime).to_string();
                files.push(InboundFile {
                    file_ref: url,
                    name: Some(name),
                    mime: Some(mime),
                    size: None,
                    kind,
                });
            }
            ("location", _) => {
                let lat = payload.pointer("/coordinates/lat").and_then(Value::as_f64);
                let lon = payload.pointer("/coordinates/long").and_then(Value::as_f64);
                if let (Some(lat), Some(lon)) = (lat, lon) {
                    add_line(location_text(lat, lon));
                }
            }
            // Shared links arrive as `fallback` with a title and a URL.
            (_, Some(url)) => {
                let title = str_field(attachment, "title").unwrap_or_default();
                add_line(format!("{title} {url}").trim().to_string());
            }
            _ => {}
        }
    }
    files
}

fn mime_from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "aac" => "audio/aac",
        "m4a" => "audio/mp4",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => return None,
    })
}

/// The events of one `messaging[]` item.
fn events_of(item: &Value, our_app_id: Option<&str>, events: &mut Vec<InboundEvent>) {
    let sender = id_text(item.pointer("/sender/id"));
    let recipient = id_text(item.pointer("/recipient/id"));
    let at = item
        .get("timestamp")
        .and_then(Value::as_i64)
        .map(Timestamp)
        .unwrap_or_else(Timestamp::now);

    if let Some(message) = item.get("message") {
        let Some(mid) = str_field(message, "mid") else {
            return;
        };
        let mut text = str_field(message, "text").unwrap_or_default();
        let files = attachments_of(message, &mut text);
        let is_echo = message.get("is_echo").and_then(Value::as_bool) == Some(true);
        if is_echo {
            // Our own sends come back as echoes: already stored, and reporting them could race
            // the recording of the send. Everything else the page sent (Page Inbox, Business
            // Suite, another app) is stored as outgoing.
            let app_id = id_text(message.get("app_id"));
            let ours_by_app = our_app_id.is_some() && app_id.as_deref() == our_app_id;
            let our_key = str_field(message, "metadata")
                .and_then(|m| m.strip_prefix(METADATA_PREFIX).map(str::to_string));
            if let Some(key) = our_key {
                // It settles a send of ours whose answer was lost.
                events.push(InboundEvent::SentConfirmed {
                    key,
                    external_id: mid,
                });
                return;
            }
            if ours_by_app {
                return;
            }
            if let Some(psid) = recipient {
                events.push(InboundEvent::Echo(InboundMessage {
                    external_id: mid,
                    visitor: visitor(psid),
                    text,
                    files,
                    sent_at: at,
                    start_payload: None,
                }));
            }
            return;
        }
        if let Some(psid) = sender {
            events.push(InboundEvent::Message(InboundMessage {
                external_id: mid,
                visitor: visitor(psid),
                text,
                files,
                sent_at: at,
                start_payload: None,
            }));
        }
    } else if let (Some(postback), Some(psid)) = (item.get("postback"), sender.clone()) {
        // A button press is stored as what the visitor saw on the button.
        let title = str_field(postback, "title")
            .or_else(|| str_field(postback, "payload"))
            .unwrap_or_default();
        let external_id = str_field(postback, "mid")
            .unwrap_or_else(|| format!("postback:{psid}:{}", at.millis()));
        events.push(InboundEvent::Message(InboundMessage {
            external_id,
            visitor: visitor(psid),
            text: title,
            files: Vec::new(),
            sent_at: at,
            start_payload: postback
                .pointer("/referral/ref")
                .and_then(Value::as_str)
                .map(|r| r.chars().take(64).collect()),
        }));
    } else if let (Some(delivery), Some(psid)) = (item.get("delivery"), sender.clone()) {
        let mids = delivery
            .get("mids")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for mid in mids.iter().filter_map(Value::as_str) {
            events.push(InboundEvent::Status {
                external_id: mid.to_string(),
                status: MessageStatus::Delivered,
                at,
                error: None,
            });
        }
        if let Some(watermark) = delivery.get("watermark").and_then(Value::as_i64) {
            events.push(InboundEvent::StatusUpTo {
                visitor: visitor(psid),
                status: MessageStatus::Delivered,
                until: Timestamp(watermark),
            });
        }
    } else if let (Some(read), Some(psid)) = (item.get("read"), sender.clone()) {
        if let Some(watermark) = read.get("watermark").and_then(Value::as_i64) {
            events.push(InboundEvent::StatusUpTo {
                visitor: visitor(psid),
                status: MessageStatus::Read,
                until: Timestamp(watermark),
            });
        }
    } else if let (Some(referral), Some(psid)) = (item.get("referral"), sender) {
        // An m.me link or ad opened an existing thread.
        events.push(InboundEvent::ConversationStarted {
            visitor: visitor(psid),
            context: str_field(referral, "ref"),
        });
    }
    // Reactions, opt-ins, handovers and the rest are acknowledged and ignored.
}

impl Facebook {
    /// One Send API request (JSON); returns the `message_id`.
    fn send_message(
        &self,
        ctx: &ProviderContext,
        to: &str,
        message: Value,
    ) -> Result<String, ProviderError> {
        let body =
            json!({"recipient": {"id": to}, "messaging_type": "RESPONSE", "message": message});
        let answer = graph::post_json(
            ctx,
            &format!("{}/messages", page_id(ctx)?),
            &body,
            map_error,
        )?;
        message_id(&answer)
    }
}

fn message_id(answer: &Value) -> Result<String, ProviderError> {
    str_field(answer, "message_id")
        .ok_or_else(|| ProviderError::Uncertain("the Send API answered without message_id".into()))
}

fn psid(to: &str) -> Result<&str, ProviderError> {
    graph::graph_id(to, "page-scoped user id")
}

fn metadata(idempotency_key: &str) -> String {
    format!("{METADATA_PREFIX}{idempotency_key}")
}

impl Provider for Facebook {
    fn kind(&self) -> ChannelType {
        ChannelType::Facebook
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            file_kinds: &["image", "document", "audio", "video"],
            max_download_bytes: MAX_FILE,
            max_upload_bytes: MAX_FILE,
            max_photo_upload_bytes: MAX_IMAGE,
            max_text_chars: MAX_TEXT,
            can_delete: false,
            read_receipts: true,
            reply_window_hours: Some(24),
            send_limits: SendLimits::UNDOCUMENTED,
            idempotent_sends: false,
        }
    }

    fn default_api_base(&self) -> &'static str {
        "https://graph.facebook.com"
    }

    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new("page_id", "Page ID", "ID страницы", FieldKind::Text, true,
                "Facebook page → About → Page transparency, or Meta Business Suite → Settings → Page info."),
            SettingField::new("app_id", "App ID", "ID приложения", FieldKind::Text, true,
                "Meta for Developers → your app → App settings → Basic."),
            SettingField::new("app_secret", "App secret", "Секрет приложения", FieldKind::Secret, true,
                "App settings → Basic → App secret: it signs every webhook Meta sends."),
            SettingField::new("token", "Page access token", "Токен доступа страницы", FieldKind::Secret, true,
                "App → Messenger → Settings → Access tokens → Generate (a long-lived page token)."),
            SettingField::new("verify_token", "Verify token", "Маркер подтверждения", FieldKind::Generated, false,
                "Paste into Messenger → Settings → Webhooks → Verify token, with the callback URL below."),
            SettingField::new("callback_url", "Callback URL", "URL обратного вызова", FieldKind::Readonly, false,
                "Paste into Messenger → Settings → Webhooks → Callback URL in the Meta app dashboard."),
            SettingField::new("proxy", "Proxy", "Прокси", FieldKind::Url, false,
                "Where Facebook is blocked: http://user:pass@host:port or socks5://host:port."),
        ]
    }

    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        if ctx.token.trim().is_empty() {
            return Err(ProviderError::Unauthorized(
                "the page access token is empty".into(),
            ));
        }
        // A page token's `/me` is its page: that tells a token of another page (or a user
        // token) from the right one before anything is subscribed.
        let page = graph::call(
            ctx,
            ctx.agent
                .get(&graph::url(ctx, "me"))
                .query("fields", "id,name,picture"),
            map_error,
        )?;
        let id = id_text(page.get("id"))
            .ok_or_else(|| ProviderError::Unavailable("the page has no id".into()))?;
        let name = str_field(&page, "name").unwrap_or_default();
        if let Some(expected) = ctx.settings.get("page_id").and_then(Value::as_str) {
            let expected = graph::graph_id(expected.trim(), "Facebook page id")?;
            if expected != id {
                return Err(ProviderError::Rejected(format!(
                    "the access token belongs to “{name}” ({id}), not to page {expected}: use a page access token of that page"
                )));
            }
        }
        let mut details = Map::new();
        details.insert("webhook_setup".into(), json!(DASHBOARD_NOTE));
        Ok(AccountInfo {
            bot_id: id,
            bot_name: name,
            username: None,
            avatar_url: page
                .pointer("/picture/data/url")
                .and_then(Value::as_str)
                .map(str::to_string),
            details,
        })
    }

    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        graph::subscribe_app(
            ctx,
            page_id(ctx)?,
            &[("subscribed_fields", SUBSCRIBED_FIELDS)],
            map_error,
        )?;
        // The URL to paste into the dashboard is kept and shown beside the verify token.
        let mut kept = Map::new();
        kept.insert("callback_url".into(), json!(url));
        Ok(kept)
    }

    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError> {
        graph::unsubscribe_app(ctx, page_id(ctx)?, map_error)
    }

    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        let list = graph::subscribed_apps(ctx, page_id(ctx)?, map_error)?;
        let our_app = ctx.settings.get("app_id").and_then(Value::as_str);
        let ours = list
            .iter()
            .find(|app| our_app.is_none() || id_text(app.get("id")).as_deref() == our_app);
        let registered = ours.is_some_and(|app| {
            let fields: Vec<&str> = app
                .get("subscribed_fields")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            // Older answers list no fields; a list without messages is not enough.
            fields.is_empty() || fields.contains(&"messages")
        });
        Ok(WebhookHealth {
            registered: Some(registered),
            url: None,
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
        let Some(body) = graph::parse_body(request, "page")? else {
            return Ok(parsed);
        };
        let our_app_id = ctx
            .settings
            .get("app_id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let our_page = ctx.settings.get("page_id").and_then(Value::as_str);
        // One POST may batch several entries (pages) and several events per entry.
        for entry in body
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let page = id_text(entry.get("id"));
            if our_page.is_some() && page.is_some() && page.as_deref() != our_page {
                continue; // another page of the same app
            }
            for item in entry
                .get("messaging")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                events_of(item, our_app_id, &mut parsed.events);
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
        let to = psid(to)?;
        send_in_parts(text, MAX_TEXT, idempotency_key, |key, part| {
            self.send_message(ctx, to, json!({"text": part, "metadata": metadata(key)}))
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
        let to = psid(to)?;
        let kind = match AttachmentKind::for_mime(file.mime) {
            AttachmentKind::Image => "image",
            AttachmentKind::Video => "video",
            AttachmentKind::Audio | AttachmentKind::Voice => "audio",
            _ => "file",
        };
        let limit = if kind == "image" { MAX_IMAGE } else { MAX_FILE };
        if file.size > limit {
            return Err(ProviderError::FileTooLarge {
                size: file.size,
                limit,
            });
        }
        let recipient = json!({"id": to}).to_string();
        let message = json!({
            "attachment": {"type": kind, "payload": {"is_reusable": false}},
            "metadata": metadata(idempotency_key),
        })
        .to_string();
        let part = Part::file(file.path)
            .map_err(|e| ProviderError::Io(format!("{}: {e}", file.path.display())))?
            .file_name(file.name)
            .mime_str(file.mime)
            .map_err(|e| ProviderError::Rejected(format!("mime `{}`: {e}", file.mime)))?;
        let form = Form::new()
            .text("recipient", &recipient)
            .text("messaging_type", "RESPONSE")
            .text("message", &message)
            .part("filedata", part);
        let answer =
            graph::post_form(ctx, &format!("{}/messages", page_id(ctx)?), form, map_error)?;
        let id = message_id(&answer)?;
        // Messenger attachments carry no caption: it follows as a text message.
        if let Some(caption) = caption.map(str::trim).filter(|c| !c.is_empty()) {
            self.send_text(ctx, to, caption, &format!("{idempotency_key}.caption"))?;
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
            "Messenger does not let a page delete a sent message".into(),
        ))
    }

    fn download(
        &self,
        ctx: &ProviderContext,
        file: &InboundFile,
        sink: &mut dyn Write,
    ) -> Result<DownloadedFile, ProviderError> {
        // The CDN URL is signed: no token goes with it.
        let mut downloaded = graph::download(ctx, &file.file_ref, false, MAX_FILE, sink)?;
        downloaded.suggested_name = file.name.clone();
        Ok(downloaded)
    }

    fn user_info(
        &self,
        ctx: &ProviderContext,
        visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError> {
        let psid = psid(visitor_external_id)?;
        let answer = graph::call(
            ctx,
            ctx.agent
                .get(&graph::url(ctx, psid))
                .query("fields", "first_name,last_name,profile_pic"),
            map_error,
        );
        let user = match answer {
            Ok(user) => user,
            // Profiles may be unavailable (no permission, user gone): the visitor stays nameless.
            Err(ProviderError::Rejected(_)) => return Ok(UserInfo::default()),
            Err(e) => return Err(e),
        };
        let profile = VisitorProfile {
            external_id: psid.to_string(),
            first_name: str_field(&user, "first_name"),
            last_name: str_field(&user, "last_name"),
            ..Default::default()
        };
        let avatar = str_field(&user, "profile_pic").map(|url| InboundFile {
            file_ref: url,
            name: Some(format!("avatar_{psid}.jpg")),
            mime: Some("image/jpeg".into()),
            size: None,
            kind: AttachmentKind::Image,
        });
        Ok(UserInfo {
            profile: Some(profile),
            avatar,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    const APP_SECRET: &str = "3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e";
    const PSID: &str = "7012345678901234";

    fn fixture(rel: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/facebook")
            .join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn settings() -> Map<String, Value> {
        let mut s = Map::new();
        s.insert("page_id".into(), json!("104857392011234"));
        s.insert("app_id".into(), json!("1517776481860111"));
        s.insert("app_secret".into(), json!(APP_SECRET));
        s.insert("verify_token".into(), json!("crmchats-fb-verify-A7"));
        s
    }

    fn with_ctx<T>(settings: &Map<String, Value>, f: impl FnOnce(&ProviderContext) -> T) -> T {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let ctx = ProviderContext {
            channel_id: 1,
            account_id: Some("104857392011234"),
            account_name: None,
            token: "EAAVfakeSharedPageToken0123456789",
            settings,
            webhook_secret: "",
            api_base: "http://127.0.0.1:9",
            agent: &agent,
        };
        f(&ctx)
    }

    /// verify + parse of a fixture body with its own headers.
    fn inbound(name: &str) -> Result<ParsedWebhook, WebhookError> {
        inbound_with(name, &settings())
    }

    fn inbound_with(
        name: &str,
        settings: &Map<String, Value>,
    ) -> Result<ParsedWebhook, WebhookError> {
        let body = fixture(&format!("inbound/{name}.json"));
        let headers: BTreeMap<String, String> = serde_json::from_slice::<BTreeMap<String, String>>(
            &fixture(&format!("inbound/{name}.headers.json")),
        )
        .unwrap()
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
        with_ctx(settings, |ctx| {
            Facebook.verify(ctx, &request)?;
            Facebook.parse(ctx, &request)
        })
    }

    fn message(parsed: &ParsedWebhook) -> &InboundMessage {
        match parsed.events.as_slice() {
            [InboundEvent::Message(m)] => m,
            other => panic!("one message expected: {other:?}"),
        }
    }

    #[test]
    fn text_fixture_is_one_message_with_the_unescaped_text() {
        let parsed = inbound("message_text").unwrap();
        let m = message(&parsed);
        assert_eq!(m.visitor.external_id, PSID);
        assert!(m.external_id.starts_with("m_Tz3kQ9v2"));
        assert_eq!(m.text, "Здравствуйте! Сколько стоит доставка в Казань? 🚚");
        assert_eq!(m.sent_at, Timestamp(1732542311512));
        assert!(m.files.is_empty());
    }

    #[test]
    fn image_fixture_carries_the_cdn_url_and_the_name_from_its_path() {
        let parsed = inbound("message_image").unwrap();
        let m = message(&parsed);
        assert_eq!(m.text, "");
        let f = &m.files[0];
        assert!(
            f.file_ref
                .starts_with("https://scontent.xx.fbcdn.net/v/t1.15752-9/467811234_"),
            "{}",
            f.file_ref
        );
        assert!(
            f.file_ref.contains("&oe=676A1B2C"),
            "the query string survives unescaped"
        );
        assert_eq!(
            f.name.as_deref(),
            Some("467811234_1098765432109876_1234567890123456789_n.jpg")
        );
        assert_eq!(
            (f.kind, f.mime.as_deref()),
            (AttachmentKind::Image, Some("image/jpeg"))
        );
    }

    #[test]
    fn our_own_echo_only_confirms_the_send_and_a_page_inbox_echo_is_an_outgoing_message() {
        // The fixture's metadata marks it as ours: it confirms our send by its key, nothing
        // is stored as a message.
        let confirms = |events: &[InboundEvent]| match events {
            [InboundEvent::SentConfirmed { key, external_id }] => {
                assert_eq!(key, "msg=9031");
                assert!(external_id.starts_with("m_Ec1Ho2"));
            }
            other => panic!("{other:?}"),
        };
        confirms(&inbound("message_echo").unwrap().events);
        let mut other_app = settings();
        other_app.insert("app_id".into(), json!("999"));
        confirms(&inbound_with("message_echo", &other_app).unwrap().events);
        // Our app's echo without our metadata is skipped.
        let body = br#"{"object":"page","entry":[{"id":"104857392011234","time":1,"messaging":[{"sender":{"id":"104857392011234"},"recipient":{"id":"7012345678901234"},"timestamp":1732542450330,"message":{"mid":"m_ours","is_echo":true,"app_id":1517776481860111,"text":"x"}}]}]}"#;
        assert!(parse_raw(body).unwrap().events.is_empty());

        let body = br#"{"object":"page","entry":[{"id":"104857392011234","time":1,"messaging":[{"sender":{"id":"104857392011234"},"recipient":{"id":"7012345678901234"},"timestamp":1732542450330,"message":{"mid":"m_inbox1","is_echo":true,"app_id":263902037430900,"text":"\u041f\u0440\u0438\u0432\u0435\u0442"}}]}]}"#;
        let parsed = parse_raw(body).unwrap();
        match parsed.events.as_slice() {
            [InboundEvent::Echo(m)] => {
                assert_eq!(
                    (m.external_id.as_str(), m.text.as_str()),
                    ("m_inbox1", "Привет")
                );
                assert_eq!(m.visitor.external_id, PSID, "the person it was sent to");
            }
            other => panic!("{other:?}"),
        }
    }

    fn parse_raw(body: &[u8]) -> Result<ParsedWebhook, WebhookError> {
        let headers = BTreeMap::new();
        let query = BTreeMap::new();
        let settings = settings();
        with_ctx(&settings, |ctx| {
            Facebook.parse(
                ctx,
                &WebhookRequest {
                    method: "POST",
                    headers: &headers,
                    query: &query,
                    body,
                },
            )
        })
    }

    #[test]
    fn delivery_gives_a_status_per_mid_and_read_a_watermark() {
        let parsed = inbound("delivery").unwrap();
        match parsed.events.as_slice() {
            [InboundEvent::Status {
                external_id,
                status,
                ..
            }, InboundEvent::StatusUpTo {
                visitor,
                status: up,
                until,
            }] => {
                assert!(external_id.starts_with("m_Ec1Ho2"));
                assert_eq!(*status, MessageStatus::Delivered);
                assert_eq!(
                    (visitor.external_id.as_str(), *up, *until),
                    (PSID, MessageStatus::Delivered, Timestamp(1732542450330))
                );
            }
            other => panic!("{other:?}"),
        }
        let parsed = inbound("read").unwrap();
        assert_eq!(
            parsed.events,
            vec![InboundEvent::StatusUpTo {
                visitor: visitor(PSID.into()),
                status: MessageStatus::Read,
                until: Timestamp(1732542450330),
            }]
        );
    }

    #[test]
    fn a_postback_is_a_message_with_the_button_title() {
        let parsed = inbound("postback_get_started").unwrap();
        let m = message(&parsed);
        assert_eq!(m.text, "Начать");
        assert_eq!(m.visitor.external_id, "6698001122334455");
        assert!(m.external_id.starts_with("m_Gs1Gs2"));
    }

    #[test]
    fn batched_entries_and_events_all_become_events_and_quick_replies_are_text() {
        let body = br#"{"object":"page","entry":[
            {"id":"104857392011234","time":1,"messaging":[
                {"sender":{"id":"1"},"recipient":{"id":"104857392011234"},"timestamp":10,"message":{"mid":"m_1","text":"Yes","quick_reply":{"payload":"Y"}}},
                {"sender":{"id":"2"},"recipient":{"id":"104857392011234"},"timestamp":11,"message":{"mid":"m_2","attachments":[{"type":"file","payload":{"url":"https:\/\/cdn.fbsbx.com\/v\/t59\/Report%202024.pdf?x=1"}},{"type":"audio","payload":{"url":"https:\/\/cdn.fbsbx.com\/v\/audioclip-1"}}]}}]},
            {"id":"104857392011234","time":2,"messaging":[
                {"sender":{"id":"3"},"recipient":{"id":"104857392011234"},"timestamp":12,"read":{"watermark":9}}]},
            {"id":"555","time":2,"messaging":[
                {"sender":{"id":"4"},"recipient":{"id":"555"},"timestamp":12,"message":{"mid":"m_other_page","text":"x"}}]}]}"#;
        let parsed = parse_raw(body).unwrap();
        assert_eq!(parsed.events.len(), 3, "{:?}", parsed.events);
        let InboundEvent::Message(first) = &parsed.events[0] else {
            panic!()
        };
        assert_eq!(first.text, "Yes");
        let InboundEvent::Message(second) = &parsed.events[1] else {
            panic!()
        };
        assert_eq!(second.files.len(), 2);
        assert_eq!(second.files[0].name.as_deref(), Some("Report%202024.pdf"));
        assert_eq!(second.files[0].kind, AttachmentKind::Document);
        assert_eq!(second.files[1].kind, AttachmentKind::Audio);
        assert_eq!(second.files[1].name.as_deref(), Some("attachment_2.mp3"));
        assert!(matches!(parsed.events[2], InboundEvent::StatusUpTo { .. }));
    }

    #[test]
    fn a_forged_signature_is_refused_and_other_objects_are_ignored() {
        let mut wrong = settings();
        wrong.insert("app_secret".into(), json!("not-the-secret"));
        assert_eq!(
            inbound_with("message_text", &wrong).unwrap_err().status(),
            403
        );
        assert!(parse_raw(br#"{"object":"instagram","entry":[]}"#)
            .unwrap()
            .events
            .is_empty());
        assert_eq!(parse_raw(b"nope").unwrap_err().status(), 400);
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
            let answer = with_ctx(&settings, |ctx| Facebook.handshake(ctx, &request)).unwrap();
            let challenge = query["hub.challenge"].as_str();
            match answer {
                Ok(reply) => {
                    assert_eq!(expected, 200);
                    assert_eq!(
                        reply.body,
                        descriptor["expected_response"]["body"].as_str().unwrap()
                    );
                    assert!(reply.content_type.starts_with("text/plain"));
                }
                Err(e) => {
                    assert_eq!(e.status(), expected);
                    assert!(!e.to_string().contains(challenge));
                }
            }
        }
    }

    #[test]
    fn error_fixtures_map_to_stable_codes() {
        for (name, status, code) in [
            ("error_10_outside_window", 400, "window_closed"),
            ("error_190_invalid_token", 400, "provider_unauthorized"),
            ("error_613_rate_limit", 400, "rate_limited"),
        ] {
            let body: Value =
                serde_json::from_slice(&fixture(&format!("api/{name}.json"))).unwrap();
            let e = map_error(graph::parse_error(status, &body["error"]));
            assert_eq!(e.code(), code, "{name}: {e}");
        }
        let e = |code: i64, sub: Option<i64>| {
            map_error(GraphError {
                http_status: 400,
                code,
                subcode: sub,
                message: "m".into(),
                details: None,
            })
            .code()
        };
        assert_eq!(e(551, None), "visitor_blocked");
        assert_eq!(e(10, Some(2018108)), "window_closed");
        assert_eq!(e(4, None), "rate_limited");
        assert_eq!(e(100, Some(2018001)), "provider_rejected");
    }
}
