//! A skeleton provider for an invented messenger, "Acme Messenger", to copy when adding a real one.
//! `docs/providers.md` explains the steps; `src/providers/telegram.rs` is the provider in production.
//!
//! Acme's wire format here is made up, but shaped like the real ones: webhooks are JSON batches
//! signed with HMAC-SHA256 over the raw body, the address is confirmed by a GET challenge, API
//! errors arrive inside HTTP 200 bodies, ids are 64-bit integers, and our own sends come back as
//! echoes. Replace every URL, field name and error code with the messenger's real ones.
//!
//! `cargo run --example provider_template` runs `main`: the template's handshake, verify and
//! parse on sample requests, and its API-error mapping on sample answers. No network is used.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::{json, Map, Value};
use ureq::unversioned::multipart::{Form, Part};

use crmchats::http::DOWNLOAD_TIMEOUT;
use crmchats::model::{
    AccountInfo, AttachmentKind, ChannelType, InboundEvent, InboundFile, InboundMessage,
    MessageStatus, SentMessage, VisitorProfile,
};
use crmchats::providers::{
    constant_time_eq, hmac_sha256_matches, Capabilities, DownloadedFile, FieldKind, HttpReply,
    OutgoingFile, ParsedWebhook, Provider, ProviderContext, ProviderError, SendLimits,
    SettingField, UserInfo, WebhookError, WebhookHealth, WebhookRequest,
};
use crmchats::time::Timestamp;

/// Stateless: everything about a channel arrives in the `ProviderContext` of each call.
pub struct Acme;

const MAX_DOWNLOAD: u64 = 25 * 1024 * 1024;
const MAX_UPLOAD: u64 = 25 * 1024 * 1024;
const MAX_PHOTO_UPLOAD: u64 = 10 * 1024 * 1024;
const MAX_TEXT: usize = 2000;
/// Acme signs every delivery with this header: lower-case hex HMAC-SHA256 of the raw body.
const SIGNATURE_HEADER: &str = "x-acme-signature";
/// API answers are small; a bigger one is a proxy's error page or worse.
const MAX_API_RESPONSE: u64 = 1024 * 1024;

impl Acme {
    fn url(ctx: &ProviderContext, path: &str) -> String {
        // `api_base` is the configured override (tests point it at the fake) or the default.
        format!("{}/v1/{path}", ctx.api_base.trim_end_matches('/'))
    }

    fn auth(ctx: &ProviderContext) -> String {
        format!("Bearer {}", ctx.token)
    }

    /// One JSON call. Always use `ctx.agent`: it carries the configured timeout and the
    /// channel's proxy. It hands back 4xx/5xx as responses (not `Err`), to be read here.
    fn post(
        &self,
        ctx: &ProviderContext,
        path: &str,
        body: &Value,
    ) -> Result<Value, ProviderError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ProviderError::Rejected(e.to_string()))?;
        let response = ctx
            .agent
            .post(&Self::url(ctx, path))
            .header("Authorization", &Self::auth(ctx))
            .header("Content-Type", "application/json")
            .send(&bytes[..])?;
        read_response(response)
    }

    fn get(&self, ctx: &ProviderContext, path: &str) -> Result<Value, ProviderError> {
        let response = ctx
            .agent
            .get(&Self::url(ctx, path))
            .header("Authorization", &Self::auth(ctx))
            .call()?;
        read_response(response)
    }

    /// The app secret that keys webhook signatures, from the settings form.
    fn app_secret<'a>(ctx: &'a ProviderContext) -> &'a str {
        ctx.settings
            .get("app_secret")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

fn read_response(mut response: ureq::http::Response<ureq::Body>) -> Result<Value, ProviderError> {
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_API_RESPONSE)
        .read_to_vec()?;
    decode_envelope(status, &bytes)
}

/// Acme answers `{"ok":true,"result":…}` or `{"ok":false,"error":{"code","message","retry_after"}}`,
/// and often with HTTP 200 either way: the body decides, never the status alone.
fn decode_envelope(status: u16, bytes: &[u8]) -> Result<Value, ProviderError> {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        // A proxy or load balancer in between answers with HTML (502 Bad Gateway).
        let snippet: String = String::from_utf8_lossy(bytes).chars().take(120).collect();
        return Err(ProviderError::Unavailable(format!(
            "HTTP {status}: {snippet}"
        )));
    };
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(body.get("result").cloned().unwrap_or(Value::Null));
    }
    let code = body
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let message = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("no description")
        .to_string();
    Err(map_error(status, code, message, &body))
}

/// Every failure becomes a `ProviderError` variant: the variant picks the stable error code the
/// PHP side sees (`provider_unauthorized`, `rate_limited`, `visitor_blocked`...). Keep the
/// messenger's own words in the message: admins search for them.
fn map_error(status: u16, code: &str, message: String, body: &Value) -> ProviderError {
    match (code, status) {
        ("invalid_token" | "token_revoked", _) | (_, 401) => ProviderError::Unauthorized(message),
        ("rate_limited", _) | (_, 429) => ProviderError::RateLimited {
            message,
            retry_after: body.pointer("/error/retry_after").and_then(Value::as_u64),
        },
        ("user_blocked", _) => ProviderError::VisitorBlocked(message),
        ("outside_reply_window", _) => ProviderError::WindowClosed(message),
        ("file_too_large", _) => ProviderError::FileTooLarge {
            size: body
                .pointer("/error/size")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            limit: MAX_UPLOAD,
        },
        (_, 500..) => ProviderError::Unavailable(format!("HTTP {status}: {message}")),
        // Anything else is a refusal of this request: retrying it unchanged will not help.
        _ => ProviderError::Rejected(message),
    }
}

/// An id as text, exactly. Acme ids are 64-bit integers (sometimes quoted): read them as
/// integers or strings, never through `as_f64` (a double keeps only 53 bits, so
/// 9007199254740993 would silently become 9007199254740992 and two visitors would merge).
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Acme sends Unix seconds; a missing time is "now" rather than a refused delivery.
fn time_of(v: Option<&Value>) -> Timestamp {
    v.and_then(Value::as_i64)
        .map(Timestamp::from_unix_seconds)
        .unwrap_or_else(Timestamp::now)
}

/// The person on the other side. `external_id` is also the address `send_text` gets as `to`,
/// so it must be what the send API expects (chat id, PSID, wa_id...).
fn profile_of(user: &Value) -> Option<VisitorProfile> {
    Some(VisitorProfile {
        external_id: id_of(user.get("id"))?,
        first_name: str_of(user, "first_name"),
        last_name: str_of(user, "last_name"),
        username: str_of(user, "handle"),
        phone: str_of(user, "phone"),
        language: str_of(user, "locale"),
        // A picture the webhook carries (Viber's `sender.avatar`) is loaded without `user_info`;
        // Acme sends none, so `user_info` is asked.
        avatar: None,
    })
}

fn files_of(msg: &Value) -> Vec<InboundFile> {
    let Some(list) = msg.get("attachments").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|a| {
            let mime = str_of(a, "mime");
            Some(InboundFile {
                // `download` gets only this back when a failed download is retried later (an
                // operator opens the attachment): it must be enough on its own to fetch the file.
                file_ref: id_of(a.get("file_id"))?,
                name: str_of(a, "name"),
                kind: match str_of(a, "type").as_deref() {
                    Some("voice") => AttachmentKind::Voice,
                    Some("sticker") => AttachmentKind::Sticker,
                    _ => AttachmentKind::for_mime(mime.as_deref().unwrap_or_default()),
                },
                mime,
                size: a.get("size").and_then(Value::as_u64),
            })
        })
        .collect()
}

/// A message as the model wants it; `visitor` is the other side (the sender, or for an echo the
/// recipient).
fn message_of(msg: &Value, visitor: VisitorProfile) -> Option<InboundMessage> {
    Some(InboundMessage {
        // Unique per channel and identical to what `send_text` returns for our own messages, so
        // echoes and statuses find them.
        external_id: id_of(msg.get("id"))?,
        visitor,
        text: str_of(msg, "text").unwrap_or_default(),
        files: files_of(msg),
        sent_at: time_of(msg.get("ts")),
        start_payload: str_of(msg, "ref"),
    })
}

/// One element of Acme's `events` array, or None for what the inbox ignores.
fn event_of(ctx: &ProviderContext, e: &Value) -> Result<Option<InboundEvent>, WebhookError> {
    let kind = e.get("type").and_then(Value::as_str).unwrap_or_default();
    // The 1:1 inbox ignores groups and channels: acknowledge them (200) and store nothing.
    if e.pointer("/chat/type")
        .and_then(Value::as_str)
        .is_some_and(|t| t != "direct")
    {
        return Ok(None);
    }
    let user = |key: &str| e.get(key).and_then(profile_of);
    Ok(match kind {
        "message" => {
            let msg = e
                .get("message")
                .ok_or_else(|| WebhookError::Malformed("message event without message".into()))?;
            let Some(from) = user("from") else {
                return Ok(None);
            };
            // Sent by our own account (the Acme app, or the inbox itself): an echo, not the
            // visitor writing. Stored as outgoing, once; our own sends are recognised by id.
            if ctx.account_id == Some(from.external_id.as_str()) {
                let Some(to) = user("to") else {
                    return Ok(None);
                };
                message_of(msg, to).map(InboundEvent::Echo)
            } else {
                let message = message_of(msg, from)
                    .ok_or_else(|| WebhookError::Malformed("message without id".into()))?;
                Some(InboundEvent::Message(message))
            }
        }
        "message_edited" => {
            let msg = e.get("message").unwrap_or(&Value::Null);
            match (user("from"), id_of(msg.get("id"))) {
                (Some(visitor), Some(external_id)) => Some(InboundEvent::Edited {
                    external_id,
                    visitor,
                    text: str_of(msg, "text").unwrap_or_default(),
                    sent_at: time_of(msg.get("ts")),
                    edited_at: time_of(msg.get("edited_ts")),
                }),
                _ => None,
            }
        }
        "status" => {
            let status = match e.get("status").and_then(Value::as_str) {
                Some("delivered") => MessageStatus::Delivered,
                Some("read") => MessageStatus::Read,
                Some("failed") => MessageStatus::Failed,
                _ => return Ok(None),
            };
            id_of(e.get("message_id")).map(|external_id| InboundEvent::Status {
                external_id,
                status,
                at: time_of(e.get("ts")),
                error: e
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
        }
        // A read watermark: everything we sent this visitor up to `ts`.
        "read_up_to" => user("from").map(|visitor| InboundEvent::StatusUpTo {
            visitor,
            status: MessageStatus::Read,
            until: time_of(e.get("ts")),
        }),
        "blocked" | "unblocked" => user("from").map(|visitor| InboundEvent::VisitorBlocked {
            visitor,
            blocked: kind == "blocked",
        }),
        "conversation_opened" => user("from").map(|visitor| InboundEvent::ConversationStarted {
            visitor,
            context: str_of(e, "ref"),
        }),
        // Typing indicators, reactions, events added after this code was written: ignored, so a
        // new event type never turns deliveries into 400s that the messenger retries forever.
        _ => None,
    })
}

/// Texts longer than the messenger's limit go out as several messages, cut on characters.
fn split_chars(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(max).map(|c| c.iter().collect()).collect()
}

impl Provider for Acme {
    /// Add a variant to `ChannelType` for a new messenger (its string is public contract).
    /// The template borrows `Widget` only so that it compiles outside the crate.
    fn kind(&self) -> ChannelType {
        ChannelType::Widget
    }

    /// Served to the settings page (`channels.types`, `channels.schema`). Only
    /// `reply_window_hours` is enforced by the core (a reply after it is refused as
    /// `window_closed` before anything is stored); the size and length limits are yours to
    /// enforce in `send_*` and `download`.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            file_kinds: &["image", "document", "audio", "video"],
            max_download_bytes: MAX_DOWNLOAD,
            max_upload_bytes: MAX_UPLOAD,
            max_photo_upload_bytes: MAX_PHOTO_UPLOAD,
            max_text_chars: MAX_TEXT,
            can_delete: true,
            read_receipts: true,
            reply_window_hours: Some(24),
            send_limits: SendLimits::UNDOCUMENTED,
            idempotent_sends: false,
        }
    }

    fn default_api_base(&self) -> &'static str {
        "https://api.acme.example"
    }

    /// The form an admin fills in. `token` is the main credential (its own column, always
    /// required); every other field lands in the channel's settings under its `name`.
    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new(
                "token",
                "Access token",
                "Токен доступа",
                FieldKind::Secret,
                true,
                "Acme console → Bots → your bot → Access token.",
            ),
            // Masked on display because its name contains "secret" (masking goes by name).
            SettingField::new(
                "app_secret",
                "App secret",
                "Секрет приложения",
                FieldKind::Secret,
                true,
                "Acme console → Bots → your bot → Webhook signing secret.",
            ),
            // Filled with a random value when left empty; shown in clear to be pasted into Acme.
            SettingField::new(
                "verify_token",
                "Verify token",
                "Проверочный токен",
                FieldKind::Generated,
                false,
                "Paste into Acme console → Webhooks → Verify token.",
            ),
            // Written by `set_webhook` (returned settings), shown, never edited.
            SettingField::new(
                "subscription_id",
                "Subscription",
                "Подписка",
                FieldKind::Readonly,
                false,
                "Acme's id of our webhook subscription.",
            ),
            SettingField::new(
                "proxy",
                "Proxy",
                "Прокси",
                FieldKind::Url,
                false,
                "Where Acme is blocked: http://user:pass@host:port or socks5://host:port.",
            ),
        ]
    }

    /// "Check": proves the credentials work and names the account. Called before a channel is
    /// saved and again on every update; refuse obviously wrong input without a network call.
    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        if ctx.token.trim().is_empty() {
            return Err(ProviderError::Unauthorized(
                "an access token is required".into(),
            ));
        }
        let me = self.get(ctx, "me")?;
        let id = id_of(me.get("id"))
            .ok_or_else(|| ProviderError::Unavailable("`me` answered without an id".into()))?;
        Ok(AccountInfo {
            // Stored as the channel's external_id; later calls see it as `ctx.account_id`.
            bot_id: id,
            bot_name: str_of(&me, "name").unwrap_or_default(),
            username: str_of(&me, "handle"),
            avatar_url: str_of(&me, "avatar_url"),
            details: Map::new(),
        })
    }

    /// Points Acme at `url` (it already carries `?channel=N`; keep it as given). Returns settings
    /// to keep with the channel, merged into its settings.
    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let verify_token = ctx
            .settings
            .get("verify_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let result = self.post(
            ctx,
            "webhook",
            // Subscribe only to what `parse` handles: fewer deliveries, fewer surprises.
            &json!({
                "url": url,
                "verify_token": verify_token,
                "events": ["message", "message_edited", "status", "read_up_to",
                           "blocked", "unblocked", "conversation_opened"],
            }),
        )?;
        let mut keep = Map::new();
        if let Some(id) = id_of(result.get("subscription_id")) {
            keep.insert("subscription_id".into(), Value::String(id));
        }
        Ok(keep)
    }

    /// On channel deletion. A failure is recorded on the channel, which is deleted anyway.
    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError> {
        let response = ctx
            .agent
            .delete(&Self::url(ctx, "webhook"))
            .header("Authorization", &Self::auth(ctx))
            .call()?;
        read_response(response).map(|_| ())
    }

    /// The messenger's view of our webhook (`channels.health`). `registered: Some(false)`, or a
    /// `url` that does not start with ours, makes the core register the webhook again. Leave a
    /// field None when Acme does not say: None means "unknown", not "fine".
    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        let info = self.get(ctx, "webhook")?;
        let url = str_of(&info, "url");
        Ok(WebhookHealth {
            registered: Some(url.is_some()),
            url,
            pending_updates: info.get("pending").and_then(Value::as_u64),
            last_error: str_of(&info, "last_error"),
            last_error_at: info
                .get("last_error_ts")
                .and_then(Value::as_i64)
                .map(|s| Timestamp::from_unix_seconds(s).to_rfc3339()),
            note: None,
        })
    }

    /// Acme confirms the address with `GET ?acme.challenge=…&acme.verify_token=…` and expects the
    /// challenge echoed. Runs before `verify`, stores nothing, so it authenticates itself (the
    /// verify token). Return None for everything that is not such a request: a Some here
    /// swallows a real delivery.
    fn handshake(
        &self,
        ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Option<Result<HttpReply, WebhookError>> {
        if request.method != "GET" {
            return None;
        }
        // Query names arrive raw (`acme.challenge`, not PHP's `acme_challenge`).
        let Some(challenge) = request.query("acme.challenge") else {
            return Some(Err(WebhookError::Malformed(
                "GET without acme.challenge".into(),
            )));
        };
        let expected = ctx
            .settings
            .get("verify_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let given = request.query("acme.verify_token").unwrap_or_default();
        if expected.is_empty() || !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Some(Err(WebhookError::Forged(
                "acme.verify_token does not match".into(),
            )));
        }
        Some(Ok(HttpReply::text(200, challenge)))
    }

    /// Authenticity, before anything is parsed or stored. Sign-check the raw bytes exactly as
    /// received: parsing and re-serialising changes them (escapes, key order, `\/`) and breaks
    /// the signature. Missing credentials → Unauthenticated (401), wrong ones → Forged (403).
    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError> {
        let Some(given) = request.header(SIGNATURE_HEADER) else {
            return Err(WebhookError::Unauthenticated(
                "X-Acme-Signature is missing".into(),
            ));
        };
        let secret = Self::app_secret(ctx);
        // An empty key would make every signature computable by anyone.
        if secret.is_empty() || !hmac_sha256_matches(secret.as_bytes(), request.body, given) {
            return Err(WebhookError::Forged(
                "X-Acme-Signature does not match the body".into(),
            ));
        }
        Ok(())
    }

    /// An authentic request → events. Malformed (400) only for what Acme would never send; a
    /// well-formed delivery the inbox does not care about is `Ok` with no events (200).
    fn parse(
        &self,
        ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError> {
        let body: Value = serde_json::from_slice(request.body)
            .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
        let events = body
            .get("events")
            .and_then(Value::as_array)
            .ok_or_else(|| WebhookError::Malformed("a delivery needs an events array".into()))?;
        let mut parsed = ParsedWebhook {
            // Acme redelivers with the same delivery_id: the key makes a redelivered batch of
            // edits, statuses or blocks a no-op. It must name this delivery and nothing else.
            delivery_key: id_of(body.get("delivery_id")),
            ..Default::default()
        };
        for e in events {
            if let Some(event) = event_of(ctx, e)? {
                parsed.events.push(event);
            }
        }
        Ok(parsed)
    }

    /// One operator text. `to` is the visitor's external id. `idempotency_key` is the same on
    /// every attempt at this message part: pass it where Acme deduplicates, derived per chunk
    /// when the text is split. Return the id Acme gives the message, in the same form as
    /// `InboundMessage::external_id` of its echo and `Status::external_id` of its receipts.
    fn send_text(
        &self,
        ctx: &ProviderContext,
        to: &str,
        text: &str,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        let mut first = None;
        for (i, chunk) in split_chars(text, MAX_TEXT).iter().enumerate() {
            let result = self.post(
                ctx,
                "messages",
                &json!({"to": to, "text": chunk, "client_msg_id": format!("{idempotency_key}.{i}")}),
            )?;
            let id = id_of(result.get("id")).ok_or_else(|| {
                ProviderError::Unavailable("sent, but no message id came back".into())
            })?;
            first.get_or_insert(id);
        }
        Ok(SentMessage {
            external_id: first.unwrap_or_default(),
        })
    }

    /// One file (the core sends text first or as the caption of the first file). Refuse what
    /// Acme would refuse before uploading it. Acme takes either a link it fetches itself
    /// (`public_url`: signed, expiring, None when `public_base_url` is not configured) or an
    /// upload streamed from `file.path`.
    fn send_file(
        &self,
        ctx: &ProviderContext,
        to: &str,
        file: &OutgoingFile,
        caption: Option<&str>,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        if file.size > MAX_UPLOAD {
            return Err(ProviderError::FileTooLarge {
                size: file.size,
                limit: MAX_UPLOAD,
            });
        }
        let caption: String = caption.unwrap_or_default().chars().take(MAX_TEXT).collect();
        let result = match &file.public_url {
            Some(link) => self.post(
                ctx,
                "messages",
                &json!({"to": to, "file_url": link, "file_name": file.name, "mime": file.mime,
                        "caption": caption, "client_msg_id": idempotency_key}),
            )?,
            None => {
                let part = Part::file(file.path)
                    .map_err(|e| ProviderError::Io(format!("{}: {e}", file.path.display())))?
                    .file_name(file.name)
                    .mime_str(file.mime)
                    .map_err(|e| ProviderError::Rejected(format!("mime `{}`: {e}", file.mime)))?;
                let form = Form::new()
                    .text("to", to)
                    .text("caption", &caption)
                    .text("client_msg_id", idempotency_key)
                    .part("file", part);
                let response = ctx
                    .agent
                    .post(&Self::url(ctx, "messages/upload"))
                    .header("Authorization", &Self::auth(ctx))
                    .send(form)?;
                read_response(response)?
            }
        };
        let id = id_of(result.get("id")).ok_or_else(|| {
            ProviderError::Unavailable("sent, but no message id came back".into())
        })?;
        Ok(SentMessage { external_id: id })
    }

    /// Deletes one of our sent messages (`messages.delete`). Without that ability, say so
    /// (`Unsupported`) and set `can_delete: false`.
    fn delete_message(
        &self,
        ctx: &ProviderContext,
        _to: &str,
        external_id: &str,
    ) -> Result<(), ProviderError> {
        let response = ctx
            .agent
            .delete(&Self::url(ctx, &format!("messages/{external_id}")))
            .header("Authorization", &Self::auth(ctx))
            .call()?;
        read_response(response).map(|_| ())
    }

    /// Streams a visitor's file into `sink`. Called before the webhook's transaction (so keep it
    /// bounded), and again later with only `file_ref` known. Refuse over-limit files without
    /// reading them; read at most one byte past the limit otherwise. An error here keeps the
    /// message and marks the attachment; a write error on `sink` is ours (the core tells the
    /// messenger to retry).
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
        let mut response = ctx
            .agent
            .get(&Self::url(ctx, &format!("files/{}", file.file_ref)))
            .header("Authorization", &Self::auth(ctx))
            .config()
            // The agent's timeout is for API calls; a file may take longer.
            .timeout_global(Some(DOWNLOAD_TIMEOUT))
            .build()
            .call()?;
        let status = response.status().as_u16();
        if status != 200 {
            let mut bytes = Vec::new();
            let _ = response
                .body_mut()
                .as_reader()
                .take(4096)
                .read_to_end(&mut bytes);
            let mapped = decode_envelope(status, &bytes).err();
            return Err(mapped.unwrap_or_else(|| {
                ProviderError::Unavailable(format!("download answered HTTP {status}"))
            }));
        }
        let mut reader = response
            .body_mut()
            .with_config()
            .limit(MAX_DOWNLOAD + 1)
            .reader()
            .take(MAX_DOWNLOAD + 1);
        let copied = std::io::copy(&mut reader, sink)
            .map_err(|e| ProviderError::Unavailable(format!("download: {e}")))?;
        if copied > MAX_DOWNLOAD {
            return Err(ProviderError::FileTooLarge {
                size: copied,
                limit: MAX_DOWNLOAD,
            });
        }
        Ok(DownloadedFile {
            size: copied,
            suggested_name: None,
        })
    }

    /// Name and avatar of a new visitor, looked up after their first webhook is stored. A
    /// messenger without a profile API returns `Ok(UserInfo::default())`; an error is retried a
    /// day later.
    fn user_info(
        &self,
        ctx: &ProviderContext,
        visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError> {
        let user = match self.get(ctx, &format!("users/{visitor_external_id}")) {
            Ok(user) => user,
            // Privacy settings hide some profiles: that is an answer, not a failure.
            Err(ProviderError::Rejected(_)) => return Ok(UserInfo::default()),
            Err(e) => return Err(e),
        };
        let avatar = id_of(user.get("avatar_file_id")).map(|file_ref| InboundFile {
            file_ref,
            name: Some(format!("avatar_{visitor_external_id}.jpg")),
            mime: Some("image/jpeg".into()),
            size: None,
            kind: AttachmentKind::Image,
        });
        Ok(UserInfo {
            profile: profile_of(&user),
            avatar,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The self-check `cargo run --example provider_template` performs. In the crate, the same
// assertions belong in unit tests beside the provider and in tests/<name>.rs against the fake.

const APP_SECRET: &str = "acme-app-secret-0123456789";
const VERIFY_TOKEN: &str = "acme-verify-A7";
const OUR_ACCOUNT: &str = "5550001";

/// A delivery as Acme would post it: a direct message with an id above 2^53, a group message,
/// our own message echoed back, a receipt and a block.
const SAMPLE_DELIVERY: &str = r#"{"delivery_id":"dlv-20261125-0001","events":[
{"type":"message","chat":{"id":9007199254740993,"type":"direct"},"from":{"id":9007199254740993,"first_name":"Алексей","handle":"alex"},
 "message":{"id":"m-1","ts":1764078000,"text":"Здравствуйте! 👋","attachments":[{"file_id":"f-77","type":"image","name":"photo.jpg","mime":"image/jpeg","size":48213}]}},
{"type":"message","chat":{"id":-42,"type":"group"},"from":{"id":31337,"first_name":"Group member"},"message":{"id":"m-2","ts":1764078001,"text":"ignored"}},
{"type":"message","chat":{"id":9007199254740993,"type":"direct"},"from":{"id":5550001},"to":{"id":9007199254740993},
 "message":{"id":"m-3","ts":1764078002,"text":"Answered from the Acme app"}},
{"type":"status","message_id":"m-0","status":"read","ts":1764078003},
{"type":"blocked","from":{"id":"4242"},"ts":1764078004}
]}"#;

fn main() {
    let settings: Map<String, Value> = json!({
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    // Built but never used to connect: nothing below touches the network.
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let ctx = ProviderContext {
        channel_id: 1,
        account_id: Some(OUR_ACCOUNT),
        account_name: Some("Acme shop"),
        token: "acme-access-token",
        settings: &settings,
        webhook_secret: "unused-by-acme",
        api_base: Acme.default_api_base(),
        agent: &agent,
    };
    let no_query = BTreeMap::new();
    let headers_with = |signature: &str| {
        let mut h = BTreeMap::new();
        h.insert("content-type".to_string(), "application/json".to_string());
        h.insert(SIGNATURE_HEADER.to_string(), signature.to_string());
        h
    };

    // 1. The GET challenge is answered by handshake; a wrong verify token is refused.
    let mut query = BTreeMap::new();
    query.insert("acme.challenge".to_string(), "c-123".to_string());
    query.insert("acme.verify_token".to_string(), VERIFY_TOKEN.to_string());
    let empty = BTreeMap::new();
    let get = WebhookRequest {
        method: "GET",
        headers: &empty,
        query: &query,
        body: b"",
    };
    let reply = Acme
        .handshake(&ctx, &get)
        .expect("a challenge is a handshake");
    println!("handshake: {reply:?}");
    assert_eq!(reply, Ok(HttpReply::text(200, "c-123")));
    let mut guessed = query.clone();
    guessed.insert("acme.verify_token".to_string(), "guess".to_string());
    let get = WebhookRequest {
        query: &guessed,
        ..get
    };
    let refused = Acme.handshake(&ctx, &get).expect("still a handshake");
    assert!(matches!(refused, Err(WebhookError::Forged(_))));

    // 2. verify: the signature covers the raw bytes; a forged or missing one is refused.
    let body = SAMPLE_DELIVERY.as_bytes();
    let signature = crmchats::providers::hmac_sha256_hex(APP_SECRET.as_bytes(), body);
    let signed = headers_with(&signature);
    let post = WebhookRequest {
        method: "POST",
        headers: &signed,
        query: &no_query,
        body,
    };
    assert!(
        Acme.handshake(&ctx, &post).is_none(),
        "deliveries are not handshakes"
    );
    Acme.verify(&ctx, &post)
        .expect("a correctly signed body is authentic");
    let forged = headers_with(&"0".repeat(64));
    let forged = WebhookRequest {
        headers: &forged,
        ..post
    };
    let e = Acme
        .verify(&ctx, &forged)
        .expect_err("a wrong signature is refused");
    println!("forged: HTTP {} {e}", e.status());
    assert_eq!(e.status(), 403);

    // 3. parse: one visitor message (id intact), the group ignored, the echo recognised, the
    //    receipt and the block kept, the delivery key set.
    let parsed = Acme.parse(&ctx, &post).expect("the sample parses");
    println!("delivery_key: {:?}", parsed.delivery_key);
    for event in &parsed.events {
        println!("  {event:?}");
    }
    assert_eq!(parsed.delivery_key.as_deref(), Some("dlv-20261125-0001"));
    assert_eq!(parsed.events.len(), 4, "the group message is ignored");
    let InboundEvent::Message(m) = &parsed.events[0] else {
        panic!("first event should be the visitor's message");
    };
    assert_eq!(m.visitor.external_id, "9007199254740993", "no f64 rounding");
    assert_eq!(m.files.len(), 1);
    assert!(
        matches!(&parsed.events[1], InboundEvent::Echo(e) if e.visitor.external_id == "9007199254740993")
    );
    assert!(matches!(
        &parsed.events[2],
        InboundEvent::Status {
            status: MessageStatus::Read,
            ..
        }
    ));
    assert!(matches!(
        &parsed.events[3],
        InboundEvent::VisitorBlocked { blocked: true, .. }
    ));
    let not_json = WebhookRequest {
        body: b"<html>",
        ..post
    };
    assert!(matches!(
        Acme.parse(&ctx, &not_json),
        Err(WebhookError::Malformed(_))
    ));

    // 4. API answers: errors inside HTTP 200 bodies map to the stable codes.
    let answers: [(u16, &str); 5] = [
        (200, r#"{"ok":true,"result":{"id":"m-9"}}"#),
        (
            200,
            r#"{"ok":false,"error":{"code":"user_blocked","message":"the user blocked the bot"}}"#,
        ),
        (
            200,
            r#"{"ok":false,"error":{"code":"rate_limited","message":"slow down","retry_after":7}}"#,
        ),
        (
            401,
            r#"{"ok":false,"error":{"code":"token_revoked","message":"token revoked"}}"#,
        ),
        (502, "<html>Bad Gateway</html>"),
    ];
    for (status, body) in answers {
        match decode_envelope(status, body.as_bytes()) {
            Ok(v) => println!("HTTP {status}: ok {v}"),
            Err(e) => println!(
                "HTTP {status}: {} (retry_after {:?}): {e}",
                e.code(),
                e.retry_after()
            ),
        }
    }
    let code =
        |status: u16, body: &str| decode_envelope(status, body.as_bytes()).map_err(|e| e.code());
    assert_eq!(code(answers[1].0, answers[1].1), Err("visitor_blocked"));
    assert_eq!(code(answers[2].0, answers[2].1), Err("rate_limited"));
    assert_eq!(
        code(answers[3].0, answers[3].1),
        Err("provider_unauthorized")
    );
    assert_eq!(
        code(answers[4].0, answers[4].1),
        Err("provider_unavailable")
    );

    // 5. What the settings page gets from channels.schema for this type.
    let schema = json!({
        "fields": Acme.settings_schema(),
        "capabilities": Acme.capabilities(),
    });
    println!("schema: {schema}");
    println!("provider_template: all checks passed");
}
