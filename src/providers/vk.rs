//! VK communities: the Callback API for inbound events (authenticated by the `secret` field in
//! the body, answered `ok` or the confirmation code) and API v5.199 calls as form POSTs to
//! `<api_base>/method/<name>` with the community token. VK reports API errors inside HTTP 200
//! bodies (`{"error": {"error_code", ...}}`); files go through upload servers.

use std::io::Write;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use ureq::unversioned::multipart::{Form, Part};

use super::{
    constant_time_eq, download_url, location_text, Capabilities, DownloadedFile, FieldKind,
    HttpReply, OutgoingFile, ParsedWebhook, Provider, ProviderContext, ProviderError, SendLimits,
    SendRate, SettingField, UserInfo, WebhookError, WebhookHealth, WebhookRequest,
};
use super::{ensure_fits, send_in_parts};
use crate::http::DOWNLOAD_TIMEOUT;
use crate::model::{
    AccountInfo, AttachmentKind, ChannelType, InboundEvent, InboundFile, InboundMessage,
    SentMessage, VisitorProfile,
};
use crate::time::Timestamp;

pub struct Vk;

pub const API_VERSION: &str = "5.199";
/// Peers from here up are group chats (`2000000000 + chat_id`), outside a 1:1 inbox.
const CHAT_PEER_BASE: i64 = 2_000_000_000;
const MAX_TEXT: usize = 4096;
/// VK lets a community send documents up to 200 MB and photos up to 50 MB.
const MAX_UPLOAD: u64 = 200 * 1024 * 1024;
const MAX_PHOTO_UPLOAD: u64 = 50 * 1024 * 1024;
/// What we fetch from VK's file hosts per attachment.
const MAX_DOWNLOAD: u64 = 50 * 1024 * 1024;
/// Longest `file_ref` the store keeps (VARCHAR(255)).
const MAX_FILE_REF: usize = 255;
/// Our callback server's title in the community settings (VK refuses titles over 14 characters).
const SERVER_TITLE: &str = "crmchats";
/// The Callback API events we subscribe to.
const EVENTS: [&str; 5] = [
    "message_new",
    "message_reply",
    "message_edit",
    "message_allow",
    "message_deny",
];
/// Hosts VK serves message files from; downloads go nowhere else (the URLs come from bodies).
const FILE_HOSTS: [&str; 8] = [
    "userapi.com",
    "vk.com",
    "vk.me",
    "vkuser.net",
    "vkuseraudio.net",
    "vkuservideo.net",
    "vk-cdn.net",
    "mycdn.me",
];
/// VK's "no photo" placeholder avatars live under this path.
const PLACEHOLDER_AVATAR: &str = "/images/camera_";

/// Settings keys this provider reads and keeps.
const GROUP_ID: &str = "group_id";
const SERVER_ID: &str = "callback_server_id";
const CONFIRMATION_CODE: &str = "confirmation_code";

impl Vk {
    fn method_url(ctx: &ProviderContext, method: &str) -> String {
        format!("{}/method/{method}", ctx.api_base.trim_end_matches('/'))
    }

    /// One API call as a form POST with the community token; returns `response` or the mapped
    /// error.
    fn call(
        &self,
        ctx: &ProviderContext,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<Value, ProviderError> {
        let mut form: Vec<(&str, &str)> = vec![("access_token", ctx.token), ("v", API_VERSION)];
        form.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let response = ctx
            .agent
            .post(&Self::method_url(ctx, method))
            .send_form(form)?;
        read_api_response(response)
    }

    /// The community of the token: (id, group object). Asked without `group_id`, so VK answers
    /// with the token's own community, which must be the configured one.
    fn community(&self, ctx: &ProviderContext) -> Result<(i64, Value), ProviderError> {
        let found = self.call(ctx, "groups.getById", &[])?;
        // v5.194+ answers {groups, profiles}; older versions a bare array.
        let group = found
            .pointer("/groups/0")
            .or_else(|| found.get(0))
            .cloned()
            .ok_or_else(|| ProviderError::Rejected("groups.getById found no community".into()))?;
        let id = group
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ProviderError::Unavailable("groups.getById without id".into()))?;
        if let Some(configured) = configured_group_id(ctx.settings).filter(|c| *c != id) {
            return Err(ProviderError::Rejected(format!(
                "the token belongs to community {id}, not {configured}"
            )));
        }
        Ok((id, group))
    }

    fn confirmation_code(
        &self,
        ctx: &ProviderContext,
        group_id: i64,
    ) -> Result<String, ProviderError> {
        let found = self.call(
            ctx,
            "groups.getCallbackConfirmationCode",
            &[("group_id", group_id.to_string())],
        )?;
        str_field(&found, "code")
            .ok_or_else(|| ProviderError::Unavailable("no confirmation code in the answer".into()))
    }

    /// Our server among the community's callback servers: the one we registered before, or one
    /// with our URL.
    fn find_server(
        &self,
        ctx: &ProviderContext,
        group_id: i64,
        url: &str,
    ) -> Result<Option<i64>, ProviderError> {
        let listed = self.call(
            ctx,
            "groups.getCallbackServers",
            &[("group_id", group_id.to_string())],
        )?;
        let items = listed
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let known = int_setting(ctx.settings, SERVER_ID);
        let id_of = |s: &Value| s.get("id").and_then(Value::as_i64);
        Ok(items
            .iter()
            .find(|s| known.is_some() && id_of(s) == known)
            .or_else(|| {
                items
                    .iter()
                    .find(|s| str_field(s, "url").as_deref() == Some(url))
            })
            .and_then(id_of))
    }

    /// Registers (or updates) our callback server; returns the settings to keep.
    fn register(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let (group_id, _) = self.community(ctx)?;
        let gid = group_id.to_string();
        let server_id = match self.find_server(ctx, group_id, url)? {
            Some(id) => {
                self.call(
                    ctx,
                    "groups.editCallbackServer",
                    &[
                        ("group_id", gid.clone()),
                        ("server_id", id.to_string()),
                        ("url", url.to_string()),
                        ("title", SERVER_TITLE.to_string()),
                        ("secret_key", ctx.webhook_secret.to_string()),
                    ],
                )?;
                id
            }
            None => {
                let added = self.call(
                    ctx,
                    "groups.addCallbackServer",
                    &[
                        ("group_id", gid.clone()),
                        ("url", url.to_string()),
                        ("title", SERVER_TITLE.to_string()),
                        ("secret_key", ctx.webhook_secret.to_string()),
                    ],
                )?;
                added
                    .get("server_id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| {
                        ProviderError::Unavailable("addCallbackServer without server_id".into())
                    })?
            }
        };
        let mut settings = vec![
            ("group_id", gid.clone()),
            ("server_id", server_id.to_string()),
            ("api_version", API_VERSION.to_string()),
        ];
        settings.extend(EVENTS.iter().map(|e| (*e, "1".to_string())));
        self.call(ctx, "groups.setCallbackSettings", &settings)?;
        let code = self.confirmation_code(ctx, group_id)?;
        let mut keep = Map::new();
        keep.insert(GROUP_ID.into(), Value::from(gid));
        keep.insert(SERVER_ID.into(), Value::from(server_id.to_string()));
        keep.insert(CONFIRMATION_CODE.into(), Value::from(code));
        Ok(keep)
    }

    /// Answers VK's `confirmation` with the code: the one kept when the server was registered,
    /// or (VK may confirm before that is saved) fresh from the API.
    fn confirm(&self, ctx: &ProviderContext, event: &Value) -> Result<HttpReply, WebhookError> {
        // Only the community is checked, not the secret: when a new secret is being saved, VK
        // confirms the server with it before we have stored it, and the answer is no secret
        // anyway (the code VK itself issued, readable by anyone holding the community's token).
        check_group(ctx, event)?;
        let kept = ctx
            .settings
            .get(CONFIRMATION_CODE)
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        let code = match kept {
            Some(code) => code,
            None => {
                let group_id = event
                    .get("group_id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| {
                        WebhookError::Malformed("confirmation without group_id".into())
                    })?;
                self.confirmation_code(ctx, group_id).map_err(|e| {
                    WebhookError::Malformed(format!("no confirmation code to answer with: {e}"))
                })?
            }
        };
        Ok(HttpReply::text(200, code))
    }

    fn peer_id(to: &str) -> Result<i64, ProviderError> {
        to.trim()
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| ProviderError::Rejected(format!("`{to}` is not a VK user id")))
    }

    /// `messages.send`; returns the community-wide message id.
    fn send(
        &self,
        ctx: &ProviderContext,
        peer_id: i64,
        random_id: i32,
        text: &str,
        attachment: Option<&str>,
    ) -> Result<String, ProviderError> {
        let mut params = vec![
            ("peer_id", peer_id.to_string()),
            ("random_id", random_id.to_string()),
        ];
        if !text.is_empty() {
            params.push(("message", text.to_string()));
        }
        if let Some(attachment) = attachment {
            params.push(("attachment", attachment.to_string()));
        }
        let sent = self.call(ctx, "messages.send", &params)?;
        // With peer_id the answer is the id; with peer_ids a list of {peer_id, message_id}.
        sent.as_i64()
            .or_else(|| sent.pointer("/0/message_id").and_then(Value::as_i64))
            .map(|id| id.to_string())
            .ok_or_else(|| ProviderError::Unavailable(format!("messages.send answered {sent}")))
    }

    /// Upload server flow for a photo: the `photo{owner}_{id}_{key}` attachment.
    fn upload_photo(
        &self,
        ctx: &ProviderContext,
        peer_id: i64,
        file: &OutgoingFile,
    ) -> Result<String, ProviderError> {
        let server = self.call(
            ctx,
            "photos.getMessagesUploadServer",
            &[("peer_id", peer_id.to_string())],
        )?;
        let uploaded = self.upload(ctx, &server, "photo", file)?;
        let photo = str_field(&uploaded, "photo").unwrap_or_default();
        if photo.is_empty() || photo == "[]" {
            return Err(ProviderError::Rejected(
                "VK did not accept the photo (not an image?)".into(),
            ));
        }
        let server_param = uploaded.get("server").map(value_text).unwrap_or_default();
        let hash = str_field(&uploaded, "hash").unwrap_or_default();
        let saved = self.call(
            ctx,
            "photos.saveMessagesPhoto",
            &[("server", server_param), ("photo", photo), ("hash", hash)],
        )?;
        let p = saved
            .get(0)
            .ok_or_else(|| ProviderError::Unavailable("saveMessagesPhoto saved nothing".into()))?;
        attachment_of("photo", p)
    }

    /// Upload server flow for a document: the `doc{owner}_{id}` attachment.
    fn upload_doc(
        &self,
        ctx: &ProviderContext,
        peer_id: i64,
        file: &OutgoingFile,
    ) -> Result<String, ProviderError> {
        let server = self.call(
            ctx,
            "docs.getMessagesUploadServer",
            &[
                ("type", "doc".to_string()),
                ("peer_id", peer_id.to_string()),
            ],
        )?;
        let uploaded = self.upload(ctx, &server, "file", file)?;
        let handle = str_field(&uploaded, "file").ok_or_else(|| {
            ProviderError::Rejected(format!("VK did not accept the document: {uploaded}"))
        })?;
        let saved = self.call(
            ctx,
            "docs.save",
            &[("file", handle), ("title", file.name.to_string())],
        )?;
        let doc = saved
            .get("doc")
            .ok_or_else(|| ProviderError::Unavailable(format!("docs.save answered {saved}")))?;
        attachment_of("doc", doc)
    }

    /// Multipart POST of the file to `upload_url`; the answer is raw JSON (no `response`).
    fn upload(
        &self,
        ctx: &ProviderContext,
        server: &Value,
        field: &str,
        file: &OutgoingFile,
    ) -> Result<Value, ProviderError> {
        let url = str_field(server, "upload_url")
            .ok_or_else(|| ProviderError::Unavailable("no upload_url in the answer".into()))?;
        let part = Part::file(file.path)
            .map_err(|e| ProviderError::Io(format!("{}: {e}", file.path.display())))?
            .file_name(file.name)
            .mime_str(file.mime)
            .map_err(|e| ProviderError::Rejected(format!("mime `{}`: {e}", file.mime)))?;
        let mut response = ctx
            .agent
            .post(&url)
            .config()
            .timeout_global(Some(DOWNLOAD_TIMEOUT))
            .build()
            .send(Form::new().part(field, part))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_vec()?;
        let parsed: Value = serde_json::from_slice(&bytes).map_err(|_| {
            let snippet: String = String::from_utf8_lossy(&bytes).chars().take(120).collect();
            ProviderError::Unavailable(format!("upload: HTTP {status}: {snippet}"))
        })?;
        if let Some(error) = parsed.get("error") {
            return Err(match error.get("error_code").and_then(Value::as_i64) {
                Some(code) => map_error(code, str_field(error, "error_msg").unwrap_or_default()),
                None => ProviderError::Rejected(format!("upload refused: {}", value_text(error))),
            });
        }
        Ok(parsed)
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
        Ok(v) if status == 200 => v,
        _ => {
            let snippet: String = String::from_utf8_lossy(&bytes).chars().take(120).collect();
            return Err(ProviderError::Unavailable(format!(
                "HTTP {status}: {snippet}"
            )));
        }
    };
    api_result(parsed)
}

/// `response`, or the error object of an HTTP 200 body mapped to a [`ProviderError`].
fn api_result(mut parsed: Value) -> Result<Value, ProviderError> {
    if let Some(error) = parsed.get("error") {
        let code = error.get("error_code").and_then(Value::as_i64).unwrap_or(0);
        let message = str_field(error, "error_msg").unwrap_or_else(|| "no error_msg".into());
        return Err(map_error(code, format!("VK error {code}: {message}")));
    }
    match parsed.get_mut("response") {
        Some(response) => Ok(response.take()),
        None => Err(ProviderError::Unavailable(format!(
            "neither response nor error: {}",
            value_text(&parsed).chars().take(120).collect::<String>()
        ))),
    }
}

fn map_error(code: i64, message: String) -> ProviderError {
    match code {
        // 5: token invalid or revoked; 27/28: the token's kind cannot call this method.
        5 | 27 | 28 => ProviderError::Unauthorized(message),
        // 6: too many requests per second; 9: flood control (same content too often).
        6 | 9 => ProviderError::RateLimited {
            message,
            retry_after: Some(1),
        },
        // 901: the user has not allowed (or has denied) messages; 902: privacy settings.
        901 | 902 => ProviderError::VisitorBlocked(message),
        // 1: unknown error; 10: internal server error: VK's side, worth retrying.
        1 | 10 => ProviderError::Unavailable(message),
        _ => ProviderError::Rejected(message),
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A JSON scalar as text (numbers as their digits, never through f64).
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A setting that may be stored as a number or a string.
fn int_setting(settings: &Map<String, Value>, key: &str) -> Option<i64> {
    match settings.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn configured_group_id(settings: &Map<String, Value>) -> Option<i64> {
    int_setting(settings, GROUP_ID).filter(|id| *id > 0)
}

/// `photo-218734561_457239021_key` / `doc-218734561_671203551` from a saved object.
fn attachment_of(kind: &str, v: &Value) -> Result<String, ProviderError> {
    let owner = v.get("owner_id").and_then(Value::as_i64);
    let id = v.get("id").and_then(Value::as_i64);
    let (Some(owner), Some(id)) = (owner, id) else {
        return Err(ProviderError::Unavailable(format!(
            "saved {kind} without owner_id/id"
        )));
    };
    Ok(match str_field(v, "access_key").filter(|k| !k.is_empty()) {
        Some(key) => format!("{kind}{owner}_{id}_{key}"),
        None => format!("{kind}{owner}_{id}"),
    })
}

/// A stable `random_id` for an idempotency key: VK sends a message once per random_id, so a
/// retried send with the same key cannot send twice. VK takes a signed 32-bit value; the hash
/// fills the whole range but 0, which means "no deduplication". The channel id is mixed in so
/// two channels of one installation never share keys.
pub fn random_id_for(channel_id: i64, key: &str) -> i32 {
    let digest = Sha256::digest(format!("crmchats:{channel_id}:{key}").as_bytes());
    match i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) {
        0 => 1,
        n => n,
    }
}

fn is_vk_file_host(host: &str) -> bool {
    FILE_HOSTS
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")))
}

/// Whether `url` may be fetched: https on VK's file hosts, or below the configured API base
/// (a test or proxy setup that serves VK's files itself).
fn downloadable(ctx: &ProviderContext, url: &str) -> bool {
    let base = ctx.api_base.trim_end_matches('/');
    if url.starts_with(&format!("{base}/")) {
        return true;
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    !host.contains('@') && !host.contains(':') && is_vk_file_host(&host)
}

// ---------------------------------------------------------------------------------------------
// Callback API events.

fn visitor(user_id: i64) -> VisitorProfile {
    VisitorProfile {
        external_id: user_id.to_string(),
        ..Default::default()
    }
}

fn seconds(v: &Value, key: &str) -> Option<Timestamp> {
    v.get(key)
        .and_then(Value::as_i64)
        .filter(|s| *s > 0)
        .map(Timestamp::from_unix_seconds)
}

/// The largest size of a photo: `orig_photo` when present, else by width × height (the order
/// of `sizes` is not guaranteed; VK's old size letters break ties).
fn largest_photo_url(photo: &Value) -> Option<String> {
    if let Some(url) = photo.pointer("/orig_photo/url").and_then(Value::as_str) {
        return Some(url.to_string());
    }
    const ORDER: &str = "smxopqryzw";
    let sizes = photo.get("sizes").and_then(Value::as_array)?;
    sizes
        .iter()
        .filter(|s| s.get("url").and_then(Value::as_str).is_some())
        .max_by_key(|s| {
            let dim = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
            let letter = s
                .get("type")
                .and_then(Value::as_str)
                .and_then(|t| ORDER.find(t))
                .unwrap_or(0);
            (dim("width") * dim("height"), letter)
        })
        .and_then(|s| str_field(s, "url"))
}

fn mime_for_ext(ext: &str) -> &'static str {
    match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// A file reference that fits the store: the URL itself, or (for the rare longer URL) the
/// message and attachment position, resolved again through `messages.getById` on download.
fn file_ref(url: &str, message_id: i64, index: usize) -> String {
    if url.len() <= MAX_FILE_REF {
        url.to_string()
    } else {
        format!("vkmsg:{message_id}:{index}")
    }
}

/// Text and files of a message's attachments (the text gains lines for what is not a file).
fn content_of(msg: &Value, message_id: i64) -> (String, Vec<InboundFile>) {
    let mut text = str_field(msg, "text").unwrap_or_default();
    let mut files = Vec::new();
    let mut lines = Vec::new();
    let attachments = msg
        .get("attachments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, a) in attachments.iter().enumerate() {
        let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
        let body = a.get(kind).cloned().unwrap_or(Value::Null);
        let id = body.get("id").map(value_text).unwrap_or_default();
        match kind {
            "photo" => {
                if let Some(url) = full_url_of(a) {
                    files.push(InboundFile {
                        file_ref: file_ref(&url, message_id, index),
                        name: Some(format!("photo_{id}.jpg")),
                        mime: Some("image/jpeg".into()),
                        size: None,
                        kind: AttachmentKind::Image,
                    });
                }
            }
            "doc" => {
                if let Some(url) = full_url_of(a) {
                    let ext = str_field(&body, "ext").unwrap_or_default();
                    let mime = mime_for_ext(&ext);
                    let mut name = str_field(&body, "title").unwrap_or_else(|| format!("doc_{id}"));
                    if !ext.is_empty()
                        && !name
                            .to_lowercase()
                            .ends_with(&format!(".{}", ext.to_lowercase()))
                    {
                        name = format!("{name}.{ext}");
                    }
                    files.push(InboundFile {
                        file_ref: file_ref(&url, message_id, index),
                        name: Some(name),
                        mime: Some(mime.into()),
                        size: body.get("size").and_then(Value::as_u64),
                        kind: AttachmentKind::for_mime(mime),
                    });
                }
            }
            "audio_message" => {
                let (ext, mime) = match body.get("link_ogg") {
                    Some(_) => ("ogg", "audio/ogg"),
                    None => ("mp3", "audio/mpeg"),
                };
                if let Some(url) = full_url_of(a) {
                    files.push(InboundFile {
                        file_ref: file_ref(&url, message_id, index),
                        name: Some(format!("voice_{id}.{ext}")),
                        mime: Some(mime.into()),
                        size: None,
                        kind: AttachmentKind::Voice,
                    });
                }
                if let Some(transcript) = str_field(&body, "transcript").filter(|t| !t.is_empty()) {
                    lines.push(format!("🎤 {transcript}"));
                }
            }
            "sticker" => {
                let best = full_url_of(a);
                let sticker_id = body.get("sticker_id").map(value_text).unwrap_or_default();
                if let Some(url) = best {
                    files.push(InboundFile {
                        file_ref: file_ref(&url, message_id, index),
                        name: Some(format!("sticker_{sticker_id}.png")),
                        mime: Some("image/png".into()),
                        size: None,
                        kind: AttachmentKind::Sticker,
                    });
                }
            }
            "video" => {
                let owner = body.get("owner_id").map(value_text).unwrap_or_default();
                lines.push(format!("🎬 https://vk.com/video{owner}_{id}"));
            }
            "link" => {
                if let Some(url) = str_field(&body, "url").filter(|u| !text.contains(u.as_str())) {
                    lines.push(url);
                }
            }
            "wall" => {
                let owner = body
                    .get("owner_id")
                    .or_else(|| body.get("from_id"))
                    .map(value_text)
                    .unwrap_or_default();
                lines.push(format!("📰 https://vk.com/wall{owner}_{id}"));
            }
            "" => {}
            other => lines.push(format!("[{other}]")),
        }
    }
    // Forwarded and quoted messages: their text, so the operator sees what the visitor meant.
    let quoted = msg
        .get("fwd_messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(msg.get("reply_message"));
    for q in quoted {
        if let Some(t) = str_field(q, "text").filter(|t| !t.is_empty()) {
            lines.push(format!("» {}", t.replace('\n', "\n» ")));
        }
    }
    if let Some(geo) = msg.get("geo") {
        let coordinate = |k: &str| {
            geo.pointer(&format!("/coordinates/{k}"))
                .and_then(Value::as_f64)
                .unwrap_or_default()
        };
        let (lat, lon) = (coordinate("latitude"), coordinate("longitude"));
        lines.push(location_text(lat, lon));
    }
    for line in lines {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&line);
    }
    (text, files)
}

/// The message object of `message_new` (5.103+: `object.message`; older: `object` itself).
fn message_object(object: &Value) -> &Value {
    object.get("message").unwrap_or(object)
}

/// Whether a message belongs to a 1:1 conversation with a user.
fn is_private(msg: &Value) -> bool {
    msg.get("peer_id")
        .and_then(Value::as_i64)
        .is_some_and(|p| p > 0 && p < CHAT_PEER_BASE)
}

fn message_new(msg: &Value) -> Result<Option<InboundEvent>, WebhookError> {
    if !is_private(msg) {
        return Ok(None);
    }
    let Some(from_id) = msg
        .get("from_id")
        .and_then(Value::as_i64)
        .filter(|id| *id > 0)
    else {
        return Ok(None);
    };
    let id = msg
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| WebhookError::Malformed("message without id".into()))?;
    let (text, files) = content_of(msg, id);
    // `ref` is the parameter of the vk.me/club link or the allow button the visitor came by.
    let start_payload = str_field(msg, "ref")
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(64).collect());
    Ok(Some(InboundEvent::Message(InboundMessage {
        external_id: id.to_string(),
        visitor: visitor(from_id),
        text,
        files,
        sent_at: seconds(msg, "date").unwrap_or_else(Timestamp::now),
        start_payload,
    })))
}

/// `message_reply`: a message the community sent (through us, VK's own interface or another
/// app) to a visitor; stored as outgoing once, by its id.
fn message_reply(msg: &Value) -> Option<InboundEvent> {
    if !is_private(msg) {
        return None;
    }
    let peer_id = msg.get("peer_id").and_then(Value::as_i64)?;
    let id = msg.get("id").and_then(Value::as_i64).filter(|id| *id > 0)?;
    let (text, files) = content_of(msg, id);
    Some(InboundEvent::Echo(InboundMessage {
        external_id: id.to_string(),
        visitor: visitor(peer_id),
        text,
        files,
        sent_at: seconds(msg, "date").unwrap_or_else(Timestamp::now),
        start_payload: None,
    }))
}

fn message_edit(msg: &Value) -> Option<InboundEvent> {
    if !is_private(msg) || msg.get("out").and_then(Value::as_i64) == Some(1) {
        return None;
    }
    let from_id = msg
        .get("from_id")
        .and_then(Value::as_i64)
        .filter(|id| *id > 0)?;
    let id = msg.get("id").and_then(Value::as_i64)?;
    let (text, _) = content_of(msg, id);
    let edited_at = seconds(msg, "update_time").unwrap_or_else(Timestamp::now);
    Some(InboundEvent::Edited {
        external_id: id.to_string(),
        visitor: visitor(from_id),
        text,
        sent_at: seconds(msg, "date").unwrap_or(edited_at),
        edited_at,
    })
}

/// The `secret` of the body against ours (constant time), and `group_id` against the channel's
/// community.
fn authenticate(ctx: &ProviderContext, event: &Value) -> Result<(), WebhookError> {
    let Some(given) = event.get("secret").and_then(Value::as_str) else {
        return Err(WebhookError::Unauthenticated(
            "no secret in the body".into(),
        ));
    };
    if ctx.webhook_secret.is_empty()
        || !constant_time_eq(given.as_bytes(), ctx.webhook_secret.as_bytes())
    {
        return Err(WebhookError::Forged("the secret does not match".into()));
    }
    check_group(ctx, event)
}

/// `group_id` of a callback against the channel's community (from the settings, else the
/// account "Check" found).
fn check_group(ctx: &ProviderContext, event: &Value) -> Result<(), WebhookError> {
    let ours = configured_group_id(ctx.settings).or_else(|| {
        ctx.account_id
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|id| *id > 0)
    });
    let given = event.get("group_id").and_then(Value::as_i64);
    match ours {
        Some(ours) if given != Some(ours) => Err(WebhookError::Forged(format!(
            "group_id {} is not this channel's community",
            given
                .map(|g| g.to_string())
                .unwrap_or_else(|| "(none)".into())
        ))),
        _ => Ok(()),
    }
}

/// The JSON body of a callback, checked to be VK's envelope.
fn envelope(body: &[u8]) -> Result<Value, WebhookError> {
    let event: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
    if event.get("type").and_then(Value::as_str).is_none() {
        return Err(WebhookError::Malformed("a callback needs a type".into()));
    }
    Ok(event)
}

impl Provider for Vk {
    fn kind(&self) -> ChannelType {
        ChannelType::Vk
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Everything that is not a photo goes as a document.
            file_kinds: &["image", "document"],
            max_download_bytes: MAX_DOWNLOAD,
            max_upload_bytes: MAX_UPLOAD,
            max_photo_upload_bytes: MAX_PHOTO_UPLOAD,
            max_text_chars: MAX_TEXT,
            can_delete: true,
            read_receipts: false,
            reply_window_hours: None,
            // A community token may make 20 API calls a second; a file costs three (upload server,
            // save, send). random_id makes VK drop a repeated send.
            send_limits: SendLimits {
                per_account: Some(SendRate {
                    interval_ms: 60,
                    burst: 3,
                }),
                per_chat: None,
                calls_per_file: 3,
            },
            idempotent_sends: true,
        }
    }

    fn default_api_base(&self) -> &'static str {
        "https://api.vk.com"
    }

    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new(
                "token",
                "Community token",
                "Ключ доступа сообщества",
                FieldKind::Secret,
                true,
                "Community → Manage → API usage → Access tokens: allow messages, photos, docs and community management.",
            ),
            SettingField::new(
                GROUP_ID,
                "Community id",
                "ID сообщества",
                FieldKind::Number,
                false,
                "The number in vk.com/club<id>; taken from the token when left empty.",
            ),
            SettingField::new(
                "app_id",
                "App id",
                "ID приложения",
                FieldKind::Text,
                false,
                "Optional: the VK app behind the tokens (vk.com/apps?act=manage).",
            ),
            SettingField::new(
                "app_secret",
                "App secret key",
                "Защищённый ключ приложения",
                FieldKind::Secret,
                false,
                "Optional: the app's secure key, from the app's settings.",
            ),
            SettingField::new(
                "app_token",
                "App service token",
                "Сервисный ключ приложения",
                FieldKind::Secret,
                false,
                "Optional: the app's service token, from the app's settings.",
            ),
            SettingField::new(
                CONFIRMATION_CODE,
                "Confirmation code",
                "Код подтверждения",
                FieldKind::Readonly,
                false,
                "What the callback server answers VK's confirmation with; set when the webhook is registered.",
            ),
            SettingField::new(
                SERVER_ID,
                "Callback server id",
                "ID сервера Callback API",
                FieldKind::Readonly,
                false,
                "Our server in Community → Manage → API usage → Callback API.",
            ),
            SettingField::new(
                "proxy",
                "Proxy",
                "Прокси",
                FieldKind::Url,
                false,
                "When the API must be reached through a proxy: http://user:pass@host:port or socks5://host:port.",
            ),
        ]
    }

    fn check(&self, ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        if ctx.token.trim().is_empty() {
            return Err(ProviderError::Unauthorized(
                "a community token is required (community settings → API usage)".into(),
            ));
        }
        let (id, group) = self.community(ctx)?;
        let code = self.confirmation_code(ctx, id)?;
        let mut details = Map::new();
        details.insert(GROUP_ID.into(), Value::from(id.to_string()));
        details.insert(CONFIRMATION_CODE.into(), Value::from(code));
        Ok(AccountInfo {
            bot_id: id.to_string(),
            bot_name: str_field(&group, "name").unwrap_or_default(),
            username: str_field(&group, "screen_name"),
            avatar_url: str_field(&group, "photo_200")
                .or_else(|| str_field(&group, "photo_100"))
                .filter(|url| !url.contains(PLACEHOLDER_AVATAR)),
            details,
        })
    }

    fn set_webhook(
        &self,
        ctx: &ProviderContext,
        url: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        self.register(ctx, url)
    }

    fn delete_webhook(&self, ctx: &ProviderContext) -> Result<(), ProviderError> {
        let (Some(group_id), Some(server_id)) = (
            configured_group_id(ctx.settings),
            int_setting(ctx.settings, SERVER_ID),
        ) else {
            return Ok(()); // never registered
        };
        match self.call(
            ctx,
            "groups.deleteCallbackServer",
            &[
                ("group_id", group_id.to_string()),
                ("server_id", server_id.to_string()),
            ],
        ) {
            Ok(_) => Ok(()),
            // Already removed by hand in the community settings.
            Err(ProviderError::Rejected(m)) if m.contains("server_id") => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn health(&self, ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        let (group_id, _) = self.community(ctx)?;
        let listed = self.call(
            ctx,
            "groups.getCallbackServers",
            &[("group_id", group_id.to_string())],
        )?;
        let ours = int_setting(ctx.settings, SERVER_ID);
        let server = listed
            .get("items")
            .and_then(Value::as_array)
            .and_then(|items| {
                items
                    .iter()
                    .find(|s| ours.is_some() && s.get("id").and_then(Value::as_i64) == ours)
            })
            .cloned();
        let Some(server) = server else {
            return Ok(WebhookHealth {
                registered: Some(false),
                note: Some("our callback server is not in the community's settings".into()),
                ..Default::default()
            });
        };
        let status = str_field(&server, "status").unwrap_or_default();
        // unconfigured: not confirmed yet; wait: being confirmed; failed: VK gave up on it.
        let last_error = match status.as_str() {
            "ok" => None,
            "failed" => {
                Some("VK could not confirm or reach the callback server (status failed)".into())
            }
            other => Some(format!(
                "the callback server is not confirmed yet (status {other})"
            )),
        };
        Ok(WebhookHealth {
            registered: Some(true),
            url: str_field(&server, "url"),
            last_error,
            note: Some(format!(
                "VK callback server {} ({status})",
                value_text(&server["id"])
            )),
            ..Default::default()
        })
    }

    fn handshake(
        &self,
        ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Option<Result<HttpReply, WebhookError>> {
        let event = envelope(request.body).ok()?;
        if event.get("type").and_then(Value::as_str) != Some("confirmation") {
            return None;
        }
        Some(self.confirm(ctx, &event))
    }

    fn verify(&self, ctx: &ProviderContext, request: &WebhookRequest) -> Result<(), WebhookError> {
        authenticate(ctx, &envelope(request.body)?)
    }

    fn parse(
        &self,
        _ctx: &ProviderContext,
        request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError> {
        if request.method != "POST" {
            return Err(WebhookError::Malformed(format!(
                "VK posts callbacks; got {}",
                request.method
            )));
        }
        let event = envelope(request.body)?;
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut parsed = ParsedWebhook {
            // A redelivery (X-Retry-Counter) carries the same event_id.
            delivery_key: str_field(&event, "event_id"),
            ..Default::default()
        };
        let object = event.get("object").cloned().unwrap_or(Value::Null);
        match kind {
            "message_new" => parsed.events.extend(message_new(message_object(&object))?),
            "message_reply" => parsed.events.extend(message_reply(&object)),
            "message_edit" => parsed.events.extend(message_edit(&object)),
            "message_allow" => {
                if let Some(user_id) = object.get("user_id").and_then(Value::as_i64) {
                    parsed.events.push(InboundEvent::VisitorBlocked {
                        visitor: visitor(user_id),
                        blocked: false,
                    });
                    // `key` is the ref of the allow button or link the visitor used.
                    parsed.events.push(InboundEvent::ConversationStarted {
                        visitor: visitor(user_id),
                        context: str_field(&object, "key").filter(|k| !k.is_empty()),
                    });
                }
            }
            "message_deny" => {
                if let Some(user_id) = object.get("user_id").and_then(Value::as_i64) {
                    parsed.events.push(InboundEvent::VisitorBlocked {
                        visitor: visitor(user_id),
                        blocked: true,
                    });
                }
            }
            // The confirmation is answered by `handshake`; everything else is acknowledged.
            _ => {}
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
        let peer_id = Self::peer_id(to)?;
        // Each part's random_id comes from its own key: a retry cannot send a part twice.
        send_in_parts(text, MAX_TEXT, idempotency_key, |key, part| {
            let random_id = random_id_for(ctx.channel_id, key);
            self.send(ctx, peer_id, random_id, part, None)
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
        let peer_id = Self::peer_id(to)?;
        ensure_fits(file, MAX_UPLOAD)?;
        let as_photo = matches!(file.mime, "image/jpeg" | "image/png" | "image/gif")
            && file.size <= MAX_PHOTO_UPLOAD;
        let attachment = if as_photo {
            self.upload_photo(ctx, peer_id, file)?
        } else {
            self.upload_doc(ctx, peer_id, file)?
        };
        let caption: String = caption.unwrap_or_default().chars().take(MAX_TEXT).collect();
        let random_id = random_id_for(ctx.channel_id, idempotency_key);
        let id = self.send(ctx, peer_id, random_id, &caption, Some(&attachment))?;
        Ok(SentMessage { external_id: id })
    }
    fn delete_message(
        &self,
        ctx: &ProviderContext,
        to: &str,
        external_id: &str,
    ) -> Result<(), ProviderError> {
        let peer_id = Self::peer_id(to)?;
        let id: i64 = external_id.trim().parse().map_err(|_| {
            ProviderError::Rejected(format!("`{external_id}` is not a VK message id"))
        })?;
        let result = self.call(
            ctx,
            "messages.delete",
            &[
                ("message_ids", id.to_string()),
                ("delete_for_all", "1".to_string()),
                ("peer_id", peer_id.to_string()),
            ],
        )?;
        // {"<id>": 1} per message; 0 (or a missing entry) means it was not deleted.
        match result.get(id.to_string()).and_then(Value::as_i64) {
            Some(1) => Ok(()),
            _ => Err(ProviderError::Rejected(format!(
                "VK did not delete message {id}: {result}"
            ))),
        }
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
        let url = if let Some(rest) = file.file_ref.strip_prefix("vkmsg:") {
            self.resolve_message_file(ctx, rest)?
        } else {
            file.file_ref.clone()
        };
        if !downloadable(ctx, &url) {
            return Err(ProviderError::Rejected(format!(
                "refusing to fetch a file outside VK's hosts: {}",
                url.chars().take(80).collect::<String>()
            )));
        }
        let copied = download_url(ctx.agent, &url, MAX_DOWNLOAD, sink, |status| {
            if status >= 500 {
                ProviderError::Unavailable(format!("download failed: HTTP {status}"))
            } else {
                ProviderError::Rejected(format!("download failed: HTTP {status}"))
            }
        })?;
        let suggested_name = url
            .split('?')
            .next()
            .and_then(|p| p.rsplit('/').next())
            .filter(|n| n.contains('.'))
            .map(str::to_string);
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
        let user_id = Self::peer_id(visitor_external_id)?;
        let found = self.call(
            ctx,
            "users.get",
            &[
                ("user_ids", user_id.to_string()),
                ("fields", "photo_200,screen_name".to_string()),
            ],
        )?;
        Ok(found
            .get(0)
            .map(|user| user_info_of(user_id, user))
            .unwrap_or_default())
    }
}

/// Name and avatar from a `users.get` item. A deleted account's stub name ("DELETED") and VK's
/// placeholder picture are no profile.
fn user_info_of(user_id: i64, user: &Value) -> UserInfo {
    let deleted = str_field(user, "deactivated").as_deref() == Some("deleted");
    let name = |key: &str| str_field(user, key).filter(|n| !n.is_empty() && !deleted);
    let profile = VisitorProfile {
        external_id: user_id.to_string(),
        first_name: name("first_name"),
        last_name: name("last_name"),
        username: str_field(user, "screen_name"),
        ..Default::default()
    };
    // A link too long to keep is left out: the next profile refresh gets a fresh one.
    let avatar = str_field(user, "photo_200")
        .filter(|url| !url.contains(PLACEHOLDER_AVATAR) && url.len() <= MAX_FILE_REF)
        .map(|url| InboundFile {
            file_ref: url,
            name: Some(format!("avatar_{user_id}.jpg")),
            mime: Some("image/jpeg".into()),
            size: None,
            kind: AttachmentKind::Image,
        });
    UserInfo {
        profile: Some(profile),
        avatar,
    }
}

impl Vk {
    /// The URL of attachment `index` of message `id` (`"<id>:<index>"`), fresh from VK.
    fn resolve_message_file(
        &self,
        ctx: &ProviderContext,
        reference: &str,
    ) -> Result<String, ProviderError> {
        let bad = || ProviderError::Rejected(format!("bad file reference vkmsg:{reference}"));
        let (id, index) = reference.split_once(':').ok_or_else(bad)?;
        let index: usize = index.parse().map_err(|_| bad())?;
        let found = self.call(ctx, "messages.getById", &[("message_ids", id.to_string())])?;
        found
            .pointer(&format!("/items/0/attachments/{index}"))
            .and_then(full_url_of)
            .ok_or_else(|| ProviderError::Rejected(format!("message {id} has no such file")))
    }
}

/// The downloadable URL of one attachment object, whatever its length.
fn full_url_of(attachment: &Value) -> Option<String> {
    let kind = attachment.get("type").and_then(Value::as_str)?;
    let body = attachment.get(kind)?;
    match kind {
        "photo" => largest_photo_url(body),
        "doc" => str_field(body, "url"),
        "audio_message" => str_field(body, "link_ogg").or_else(|| str_field(body, "link_mp3")),
        "sticker" => body
            .get("images_with_background")
            .or_else(|| body.get("images"))
            .and_then(Value::as_array)
            .and_then(|images| {
                images
                    .iter()
                    .max_by_key(|i| i.get("width").and_then(Value::as_u64).unwrap_or(0))
                    .and_then(|i| str_field(i, "url"))
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SECRET: &str = "vkShrd7Qp2Lm9Xc4";

    macro_rules! inbound {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/vk/inbound/", $name, ".json"))
        };
    }
    macro_rules! api {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/vk/api/", $name, ".json"))
        };
    }

    fn settings() -> Map<String, Value> {
        let mut s = Map::new();
        s.insert(GROUP_ID.into(), Value::from("218734561"));
        s.insert(CONFIRMATION_CODE.into(), Value::from("a7c3e91f"));
        s
    }

    /// Runs verify then parse, as ingest does.
    fn receive(body: &str, settings: &Map<String, Value>) -> Result<ParsedWebhook, WebhookError> {
        let headers = BTreeMap::new();
        let query = BTreeMap::new();
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let ctx = ProviderContext {
            channel_id: 7,
            account_id: Some("218734561"),
            account_name: None,
            token: "t",
            settings,
            webhook_secret: SECRET,
            api_base: "http://127.0.0.1:9",
            agent: &agent,
        };
        let request = WebhookRequest {
            method: "POST",
            headers: &headers,
            query: &query,
            body: body.as_bytes(),
        };
        if let Some(answer) = Vk.handshake(&ctx, &request) {
            let reply = answer?;
            return Ok(ParsedWebhook {
                reply: Some(reply),
                ..Default::default()
            });
        }
        Vk.verify(&ctx, &request)?;
        Vk.parse(&ctx, &request)
    }

    fn only_message(parsed: &ParsedWebhook) -> &InboundMessage {
        match parsed.events.as_slice() {
            [InboundEvent::Message(m)] => m,
            other => panic!("expected one message, got {other:?}"),
        }
    }

    #[test]
    fn confirmation_is_answered_with_the_code_as_plain_text() {
        let parsed = receive(inbound!("confirmation"), &settings()).unwrap();
        let reply = parsed.reply.expect("a direct answer");
        assert_eq!((reply.status, reply.body.as_str()), (200, "a7c3e91f"));
        assert!(reply.content_type.starts_with("text/plain"));
        assert!(parsed.events.is_empty());
    }

    #[test]
    fn message_new_text_is_a_visitor_message_keyed_by_the_community_wide_id() {
        let parsed = receive(inbound!("message_new_text"), &settings()).unwrap();
        assert_eq!(
            parsed.delivery_key.as_deref(),
            Some("4f2b0c7d8e1a9f3b6c5d2e8a1b7c4d9e0f3a6b2c")
        );
        assert!(parsed.reply.is_none(), "the default `ok`");
        let m = only_message(&parsed);
        assert_eq!(m.external_id, "1517");
        assert_eq!(m.visitor.external_id, "745120983");
        assert!(m.text.starts_with("Добрый день!") && m.text.ends_with("🧥"));
        assert_eq!(m.sent_at, Timestamp::from_unix_seconds(1732542311));
        assert!(m.files.is_empty());
    }

    #[test]
    fn message_new_photo_takes_the_original_size() {
        let parsed = receive(inbound!("message_new_photo"), &settings()).unwrap();
        let m = only_message(&parsed);
        assert_eq!(m.external_id, "1518");
        assert_eq!(m.text, "Вот так выглядит бирка");
        assert_eq!(m.files.len(), 1);
        let f = &m.files[0];
        assert_eq!(f.kind, AttachmentKind::Image);
        assert!(
            f.file_ref.contains("sign=77aa88bb99cc00dd11ee22ff33aa44bb"),
            "orig_photo: {}",
            f.file_ref
        );
        assert_eq!(f.name.as_deref(), Some("photo_457240118.jpg"));
    }

    #[test]
    fn without_orig_photo_the_largest_size_wins_whatever_the_order() {
        let photo = serde_json::json!({"sizes": [
            {"type": "z", "width": 1280, "height": 960, "url": "https://a.userapi.com/z"},
            {"type": "w", "width": 2560, "height": 1920, "url": "https://a.userapi.com/w"},
            {"type": "s", "width": 100, "height": 75, "url": "https://a.userapi.com/s"}]});
        assert_eq!(
            largest_photo_url(&photo).as_deref(),
            Some("https://a.userapi.com/w")
        );
    }

    #[test]
    fn message_reply_is_an_echo_to_the_visitor_under_its_own_id() {
        let parsed = receive(inbound!("message_reply_echo"), &settings()).unwrap();
        match parsed.events.as_slice() {
            [InboundEvent::Echo(m)] => {
                assert_eq!(m.external_id, "1519");
                assert_eq!(m.visitor.external_id, "745120983", "the visitor it went to");
                assert_eq!(m.text, "Здравствуйте! Да, размер M есть в наличии.");
                assert_eq!(m.sent_at, Timestamp::from_unix_seconds(1732542420));
            }
            other => panic!("expected one echo, got {other:?}"),
        }
    }

    #[test]
    fn confirmation_checks_the_community_and_without_a_kept_code_asks_vk() {
        // No code kept and no API to ask (port 9 refuses): no `ok`, VK will ask again.
        let mut settings = settings();
        settings.remove(CONFIRMATION_CODE);
        let err = receive(inbound!("confirmation"), &settings).unwrap_err();
        assert_eq!(err.status(), 400);
        let foreign = inbound!("confirmation").replace("218734561", "1");
        assert_eq!(
            receive(&foreign, &self::settings()).unwrap_err().status(),
            403
        );
        // A secret being rotated: VK confirms with the new one before it is stored.
        let rotated = inbound!("confirmation").replace("vkShrd7Qp2Lm9Xc4", "newSecret2");
        let reply = receive(&rotated, &self::settings()).unwrap().reply.unwrap();
        assert_eq!(reply.body, "a7c3e91f");
    }

    #[test]
    fn message_allow_unblocks_the_visitor() {
        let parsed = receive(inbound!("message_allow"), &settings()).unwrap();
        assert_eq!(
            parsed.events,
            vec![
                InboundEvent::VisitorBlocked {
                    visitor: visitor(812334501),
                    blocked: false
                },
                InboundEvent::ConversationStarted {
                    visitor: visitor(812334501),
                    context: Some("promo_autumn".into())
                }
            ]
        );
        let deny = r#"{"group_id":218734561,"type":"message_deny","event_id":"e1","v":"5.199","object":{"user_id":812334501},"secret":"vkShrd7Qp2Lm9Xc4"}"#;
        assert_eq!(
            receive(deny, &settings()).unwrap().events,
            vec![InboundEvent::VisitorBlocked {
                visitor: visitor(812334501),
                blocked: true
            }]
        );
    }

    #[test]
    fn a_wrong_secret_is_forged_a_missing_one_unauthenticated_and_a_foreign_group_forged() {
        assert!(matches!(
            receive(inbound!("message_new_wrong_secret"), &settings()),
            Err(WebhookError::Forged(_))
        ));
        let body: Value = serde_json::from_str(inbound!("message_new_text")).unwrap();
        let mut no_secret = body.clone();
        no_secret.as_object_mut().unwrap().remove("secret");
        let err = receive(&no_secret.to_string(), &settings()).unwrap_err();
        assert_eq!(err.status(), 401);
        let mut foreign = body.clone();
        foreign["group_id"] = Value::from(1);
        assert_eq!(
            receive(&foreign.to_string(), &settings())
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(receive("not json", &settings()).unwrap_err().status(), 400);
    }

    #[test]
    fn group_chats_are_ignored_but_acknowledged() {
        let mut body: Value = serde_json::from_str(inbound!("message_new_text")).unwrap();
        body["object"]["message"]["peer_id"] = Value::from(2000000004_i64);
        let parsed = receive(&body.to_string(), &settings()).unwrap();
        assert!(parsed.events.is_empty());
        assert!(parsed.reply.is_none());
    }

    #[test]
    fn docs_stickers_voice_and_places_become_files_and_lines() {
        let body = serde_json::json!({"group_id": 218734561, "type": "message_new", "event_id": "e2", "v": "5.199",
            "secret": SECRET, "object": {"message": {"date": 1, "from_id": 5, "id": 77, "peer_id": 5, "text": "",
            "ref": "promo_autumn",
            "geo": {"type": "point", "coordinates": {"latitude": 55.75, "longitude": 37.61}},
            "attachments": [
              {"type": "doc", "doc": {"id": 9, "owner_id": 5, "title": "Счёт", "ext": "pdf", "size": 1234,
                "url": "https://vk.com/doc5_9?hash=x"}},
              {"type": "sticker", "sticker": {"sticker_id": 163, "product_id": 1, "images": [
                {"url": "https://vk.com/sticker/1-163-64", "width": 64, "height": 64},
                {"url": "https://vk.com/sticker/1-163-512", "width": 512, "height": 512}]}},
              {"type": "audio_message", "audio_message": {"id": 3, "duration": 2,
                "link_ogg": "https://psv4.userapi.com/v.ogg", "link_mp3": "https://psv4.userapi.com/v.mp3",
                "transcript": "перезвоните мне"}},
              {"type": "video", "video": {"id": 4, "owner_id": -1}}],
            "fwd_messages": [{"text": "строка 1\nстрока 2"}]}}});
        let parsed = receive(&body.to_string(), &settings()).unwrap();
        let m = only_message(&parsed);
        assert_eq!(m.start_payload.as_deref(), Some("promo_autumn"));
        let kinds: Vec<_> = m
            .files
            .iter()
            .map(|f| (f.kind, f.name.clone().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (AttachmentKind::Document, "Счёт.pdf".to_string()),
                (AttachmentKind::Sticker, "sticker_163.png".to_string()),
                (AttachmentKind::Voice, "voice_3.ogg".to_string()),
            ]
        );
        assert_eq!(m.files[0].size, Some(1234));
        assert_eq!(m.files[0].mime.as_deref(), Some("application/pdf"));
        assert_eq!(m.files[1].file_ref, "https://vk.com/sticker/1-163-512");
        assert_eq!(m.files[2].file_ref, "https://psv4.userapi.com/v.ogg");
        assert!(m.text.contains("🎤 перезвоните мне"), "{}", m.text);
        assert!(m.text.contains("https://vk.com/video-1_4"), "{}", m.text);
        assert!(m.text.contains("📍 55.750000, 37.610000"), "{}", m.text);
        assert!(m.text.contains("» строка 1\n» строка 2"), "{}", m.text);
    }

    #[test]
    fn a_visitor_edit_is_an_edit_and_ids_above_2_pow_53_survive() {
        let body = r#"{"group_id":218734561,"type":"message_edit","event_id":"e3","v":"5.199","secret":"vkShrd7Qp2Lm9Xc4",
            "object":{"date":1732542311,"update_time":1732542400,"from_id":9007199254740993,"id":9007199254740995,"out":0,
            "peer_id":9007199254740993,"text":"исправлено","attachments":[]}}"#;
        // Such peer ids are outside VK's user range, so the edit is treated as a chat: ignored.
        assert!(receive(body, &settings()).unwrap().events.is_empty());
        let body = body.replace("9007199254740993", "745120983");
        let parsed = receive(&body, &settings()).unwrap();
        match parsed.events.as_slice() {
            [InboundEvent::Edited {
                external_id,
                text,
                edited_at,
                sent_at,
                ..
            }] => {
                assert_eq!(external_id, "9007199254740995");
                assert_eq!(text, "исправлено");
                assert_eq!(*edited_at, Timestamp::from_unix_seconds(1732542400));
                assert_eq!(*sent_at, Timestamp::from_unix_seconds(1732542311));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_urls_become_message_references() {
        let long = format!("https://sun9-1.userapi.com/{}", "x".repeat(300));
        assert_eq!(file_ref(&long, 1518, 2), "vkmsg:1518:2");
        assert_eq!(
            file_ref("https://a.userapi.com/p.jpg", 1518, 2),
            "https://a.userapi.com/p.jpg"
        );
    }

    #[test]
    fn error_fixtures_map_to_stable_codes() {
        let code = |text: &str| {
            api_result(serde_json::from_str(text).unwrap())
                .unwrap_err()
                .code()
        };
        assert_eq!(code(api!("error_5_auth_failed")), "provider_unauthorized");
        assert_eq!(code(api!("error_6_too_many_requests")), "rate_limited");
        assert_eq!(code(api!("error_901_no_permission")), "visitor_blocked");
        assert_eq!(code(api!("error_100_invalid_param")), "provider_rejected");
        assert_eq!(map_error(9, "Flood control".into()).code(), "rate_limited");
        assert_eq!(map_error(902, "privacy".into()).code(), "visitor_blocked");
        let ok = api_result(serde_json::from_str(api!("messages.send_ok")).unwrap()).unwrap();
        assert_eq!(ok.as_i64(), Some(1519));
    }

    #[test]
    fn users_get_gives_name_screen_name_and_avatar_but_not_placeholders() {
        let users: Value = serde_json::from_str(api!("users.get_ok")).unwrap();
        let info = user_info_of(745120983, &users["response"][0]);
        let profile = info.profile.unwrap();
        assert_eq!(profile.display_name(), "Ольга Петрова");
        assert_eq!(profile.username.as_deref(), Some("olga.petrova88"));
        let avatar = info.avatar.unwrap();
        assert!(avatar.file_ref.starts_with("https://sun1-23.userapi.com/"));
        assert_eq!(avatar.kind, AttachmentKind::Image);

        let deleted = serde_json::json!({"id": 5, "first_name": "DELETED", "last_name": "",
            "deactivated": "deleted", "photo_200": "https://vk.com/images/camera_200.png"});
        let info = user_info_of(5, &deleted);
        assert_eq!(info.profile.unwrap().display_name(), "");
        assert!(info.avatar.is_none());
    }

    #[test]
    fn saved_objects_become_attachment_strings() {
        let photo: Value = serde_json::from_str(api!("photos.saveMessagesPhoto_ok")).unwrap();
        assert_eq!(
            attachment_of("photo", &photo["response"][0]).unwrap(),
            "photo-218734561_457239021_c1d2e3f4a5b6c7d8e9"
        );
        let doc: Value = serde_json::from_str(api!("docs.save_ok")).unwrap();
        assert_eq!(
            attachment_of("doc", &doc["response"]["doc"]).unwrap(),
            "doc-218734561_671203551_f0e1d2c3b4a5968778"
        );
    }

    #[test]
    fn random_ids_are_stable_nonzero_and_per_channel() {
        let a = random_id_for(1, "42.text");
        assert_eq!(a, random_id_for(1, "42.text"));
        assert_ne!(a, random_id_for(1, "42.file0"));
        assert_ne!(a, random_id_for(2, "42.text"), "channels never share keys");
        assert_ne!(a, 0);
    }

    #[test]
    fn downloads_stay_on_vk_hosts_or_the_configured_base() {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let settings = settings();
        let ctx = ProviderContext {
            channel_id: 7,
            account_id: Some("218734561"),
            account_name: None,
            token: "t",
            settings: &settings,
            webhook_secret: SECRET,
            api_base: "http://127.0.0.1:9",
            agent: &agent,
        };
        assert!(downloadable(
            &ctx,
            "https://sun9-41.userapi.com/impg/x.jpg?size=1"
        ));
        assert!(downloadable(&ctx, "https://vk.com/doc5_9?hash=x"));
        assert!(downloadable(&ctx, "http://127.0.0.1:9/impg/x.jpg"));
        assert!(!downloadable(&ctx, "http://sun9-41.userapi.com/x.jpg"));
        assert!(!downloadable(&ctx, "https://evil.example/vk.com"));
        assert!(!downloadable(&ctx, "https://vk.com@evil.example/x"));
        assert!(!downloadable(&ctx, "https://notvk.com/x"));
        assert!(!downloadable(&ctx, "http://127.0.0.1:99/x"));
    }
}
