//! The Bot API methods the fake implements, each answering `(HTTP status, envelope)` the way
//! api.telegram.org does for the same request.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::files::{self, FileKind};
use super::types::{
    BotInfo, Document, ErrorEnvelope, File, Message, OkEnvelope, PhotoSize, User,
    UserProfilePhotos, WebhookInfo,
};
use super::{
    unix_now, ChatEntry, State, StoredFile, WebhookRegistration, BOT_FIRST_NAME, BOT_ID,
    BOT_USERNAME,
};
use crate::http::RecordedRequest;

/// Telegram's limits that clients most often trip over.
const MAX_TEXT_CHARS: usize = 4096;
const MAX_CAPTION_CHARS: usize = 1024;
/// The cloud Bot API refuses `getFile` for files above 20 MB.
const MAX_DOWNLOAD_BYTES: usize = 20 * 1024 * 1024;

/// HTTP status and the compact JSON body.
pub(super) type Reply = (u16, String);

/// `{"ok":false,"error_code":N,"description":...}`, compact, fields in Telegram's order.
pub(super) fn error_body(code: u16, description: &str) -> String {
    to_json(&ErrorEnvelope {
        ok: false,
        error_code: code,
        description,
    })
}

pub(super) fn error(code: u16, description: &str) -> Reply {
    (code, error_body(code, description))
}

fn bad_request(detail: &str) -> Reply {
    error(400, &format!("Bad Request: {detail}"))
}

fn ok<T: Serialize>(result: &T) -> Reply {
    ok_described(result, None)
}

fn ok_described<T: Serialize>(result: &T, description: Option<&str>) -> Reply {
    let envelope = OkEnvelope {
        ok: true,
        result,
        description,
    };
    (200, to_json(&envelope))
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("Bot API objects serialize")
}

/// The bot as the `from` of messages it sends.
pub(super) fn bot_user() -> User {
    User {
        id: BOT_ID,
        is_bot: true,
        first_name: BOT_FIRST_NAME.to_string(),
        last_name: None,
        username: Some(BOT_USERNAME.to_string()),
        language_code: None,
    }
}

/// Answers one Bot API call; `method` is lower-case.
pub(super) fn call(state: &mut State, method: &str, request: &RecordedRequest) -> Reply {
    match method {
        "getme" => get_me(),
        "setwebhook" => set_webhook(state, request),
        "deletewebhook" => {
            state.webhook = None;
            ok_described(&true, Some("Webhook was deleted"))
        }
        "getwebhookinfo" => get_webhook_info(state),
        "sendmessage" => send_message(state, request),
        "sendphoto" => send_file(state, request, FileKind::Photo),
        "senddocument" => send_file(state, request, FileKind::Document),
        "sendchataction" => match chat_id(request) {
            Some(_) => ok(&true),
            None => bad_request("chat not found"),
        },
        "deletemessage" => delete_message(state, request),
        "getfile" => get_file(state, request),
        "getuserprofilephotos" => get_user_profile_photos(state, request),
        "getchat" => match chat_id(request).and_then(|id| state.chats.get(&id)) {
            Some(chat) => ok(chat),
            None => bad_request("chat not found"),
        },
        _ => error(404, "Not Found"),
    }
}

fn get_me() -> Reply {
    ok(&BotInfo {
        id: BOT_ID,
        is_bot: true,
        first_name: BOT_FIRST_NAME,
        username: BOT_USERNAME,
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
        can_connect_to_business: false,
        has_main_web_app: false,
    })
}

fn set_webhook(state: &mut State, request: &RecordedRequest) -> Reply {
    let url = request.param("url").unwrap_or_default();
    // The real API wants HTTPS; the fake also takes plain HTTP so loopback tests can receive.
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return bad_request("bad webhook: An HTTPS URL must be provided for webhook");
    }
    let secret_token = request.param("secret_token").filter(|s| !s.is_empty());
    if let Some(secret) = &secret_token {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        if secret.len() > 256 || !secret.bytes().all(allowed) {
            return bad_request("secret token contains unallowed characters");
        }
    }
    // A JSON array in JSON bodies; a JSON-encoded string in forms and query strings.
    let allowed_updates = match request.param("allowed_updates") {
        None => Vec::new(),
        Some(text) if text.trim().is_empty() => Vec::new(),
        Some(text) => match serde_json::from_str::<Vec<String>>(&text) {
            Ok(list) => list,
            Err(_) => return bad_request("can't parse allowed updates JSON array"),
        },
    };
    state.webhook = Some(WebhookRegistration {
        url,
        secret_token,
        allowed_updates,
    });
    ok_described(&true, Some("Webhook was set"))
}

fn get_webhook_info(state: &State) -> Reply {
    let info = match &state.webhook {
        Some(webhook) => WebhookInfo {
            url: &webhook.url,
            has_custom_certificate: false,
            pending_update_count: 0,
            ip_address: Some("127.0.0.1"),
            max_connections: Some(40),
            allowed_updates: (!webhook.allowed_updates.is_empty())
                .then_some(webhook.allowed_updates.as_slice()),
        },
        None => WebhookInfo {
            url: "",
            has_custom_certificate: false,
            pending_update_count: 0,
            ip_address: None,
            max_connections: None,
            allowed_updates: None,
        },
    };
    ok(&info)
}

/// `chat_id` as a 64-bit integer; `@channel` names and garbage are "not found" here.
/// Telegram's flood control for message sends: None to go on, or the 429 answer.
pub(super) fn flood_check(
    state: &mut State,
    method: &str,
    request: &RecordedRequest,
) -> Option<Reply> {
    if !method.starts_with("send") || method == "sendchataction" {
        return None;
    }
    let chat = chat_id(request)?;
    if state.flood.admit(chat, std::time::Instant::now()) {
        return None;
    }
    let retry_after = state.flood.limits.map_or(1, |l| l.retry_after_secs);
    let body = serde_json::json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {retry_after}"),
        "parameters": {"retry_after": retry_after},
    });
    Some((429, body.to_string()))
}

fn chat_id(request: &RecordedRequest) -> Option<i64> {
    request
        .param("chat_id")?
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id != 0)
}

/// What a bot message holds besides its envelope fields.
#[derive(Default)]
struct Content {
    text: Option<String>,
    photo: Option<Vec<PhotoSize>>,
    document: Option<Document>,
    caption: Option<String>,
}

/// A new message from the bot in `chat_id`, remembered for `deleteMessage` and the demo.
fn bot_message(state: &mut State, chat_id: i64, content: Content) -> Reply {
    let message = Message {
        message_id: state.take_message_id(),
        from: bot_user(),
        chat: state.chat(chat_id),
        date: unix_now(),
        text: content.text,
        entities: None,
        photo: content.photo,
        document: content.document,
        caption: content.caption,
    };
    state.messages.push(ChatEntry {
        chat_id,
        message_id: message.message_id,
        from_bot: true,
        message: serde_json::to_value(&message).unwrap_or(Value::Null),
        deleted: false,
        delivery: None,
    });
    ok(&message)
}

fn send_message(state: &mut State, request: &RecordedRequest) -> Reply {
    let Some(chat_id) = chat_id(request) else {
        return bad_request("chat not found");
    };
    let text = request.param("text").unwrap_or_default();
    if text.trim().is_empty() {
        return bad_request("message text is empty");
    }
    if text.encode_utf16().count() > MAX_TEXT_CHARS {
        return bad_request("message is too long");
    }
    let content = Content {
        text: Some(text),
        ..Content::default()
    };
    bot_message(state, chat_id, content)
}

/// sendPhoto / sendDocument: a multipart upload, or the `file_id` of a file the fake knows.
fn send_file(state: &mut State, request: &RecordedRequest, kind: FileKind) -> Reply {
    let field = match kind {
        FileKind::Photo => "photo",
        FileKind::Document => "document",
    };
    let Some(chat_id) = chat_id(request) else {
        return bad_request("chat not found");
    };
    let caption = request.param("caption").filter(|c| !c.is_empty());
    if caption
        .as_ref()
        .is_some_and(|c| c.encode_utf16().count() > MAX_CAPTION_CHARS)
    {
        return bad_request("message caption is too long");
    }
    // Like Telegram, only a part with a file name is an upload; otherwise the field is a
    // file_id (or URL) string.
    let upload = request
        .multipart_file(field)
        .filter(|file| file.file_name.is_some());
    let (file, file_name) = match upload {
        Some(upload) => {
            let sniffed = files::sniff_image_mime(&upload.data);
            let declared = upload
                .content_type
                .as_deref()
                .filter(|mime| *mime != "application/octet-stream");
            let mime_type = match kind {
                FileKind::Photo => sniffed.or(declared),
                FileKind::Document => declared
                    .or_else(|| files::mime_from_name(upload.file_name.as_deref()?))
                    .or(sniffed),
            };
            let file = store_file(
                state,
                kind,
                upload.file_name.as_deref(),
                mime_type,
                upload.data,
            );
            (file, upload.file_name)
        }
        None => {
            let Some(reference) = request.param(field).filter(|r| !r.is_empty()) else {
                return bad_request(&format!("there is no {field} in the request"));
            };
            match state.files.get(&reference) {
                Some(file) => (file.clone(), None),
                None => return bad_request("wrong file identifier/HTTP URL specified"),
            }
        }
    };
    let mut content = Content {
        caption,
        ..Content::default()
    };
    match kind {
        FileKind::Photo => content.photo = Some(vec![photo_size(&file)]),
        FileKind::Document => {
            let file_name =
                file_name.or_else(|| file.file_path.rsplit('/').next().map(str::to_string));
            content.document = Some(document(&file, file_name));
        }
    }
    bot_message(state, chat_id, content)
}

/// Registers bytes under a fresh Telegram-looking file id, at `photos/file_N.ext` or
/// `documents/file_N.ext`.
pub(super) fn store_file(
    state: &mut State,
    kind: FileKind,
    file_name: Option<&str>,
    mime_type: Option<&str>,
    bytes: Vec<u8>,
) -> StoredFile {
    let number = state.next_file_number;
    state.next_file_number += 1;
    let (file_id, file_unique_id) = files::new_file_ids(kind, number);
    let extension = match kind {
        // Telegram re-encodes photos as JPEG; the fake keeps the bytes and their type.
        FileKind::Photo => mime_type.map(files::extension_for_mime).map(str::to_string),
        FileKind::Document => file_name
            .and_then(files::extension_of)
            .or_else(|| mime_type.map(files::extension_for_mime).map(str::to_string)),
    }
    .unwrap_or_else(|| "bin".to_string());
    let file = StoredFile {
        file_id: file_id.clone(),
        file_unique_id,
        file_path: format!("{}/file_{number}.{extension}", kind.directory()),
        mime_type: mime_type.map(str::to_string),
        bytes: Arc::new(bytes),
    };
    state.files.insert(file_id, file.clone());
    file
}

/// A `PhotoSize` for a stored image; sizes come from the image header (0 when unreadable).
pub(super) fn photo_size(file: &StoredFile) -> PhotoSize {
    let (width, height) = files::image_size(&file.bytes).unwrap_or((0, 0));
    PhotoSize {
        file_id: file.file_id.clone(),
        file_unique_id: file.file_unique_id.clone(),
        file_size: Some(file.bytes.len()),
        width,
        height,
    }
}

/// A `Document` for a stored file.
pub(super) fn document(file: &StoredFile, file_name: Option<String>) -> Document {
    Document {
        file_name,
        mime_type: file.mime_type.clone(),
        file_id: file.file_id.clone(),
        file_unique_id: file.file_unique_id.clone(),
        file_size: file.bytes.len(),
    }
}

fn delete_message(state: &mut State, request: &RecordedRequest) -> Reply {
    let Some(chat_id) = chat_id(request) else {
        return bad_request("chat not found");
    };
    let Some(message_id) = request
        .param("message_id")
        .and_then(|id| id.trim().parse::<i64>().ok())
    else {
        return bad_request("message identifier is not specified");
    };
    let entry = state
        .messages
        .iter_mut()
        .find(|entry| entry.chat_id == chat_id && entry.message_id == message_id && !entry.deleted);
    match entry {
        Some(entry) => {
            entry.deleted = true;
            ok(&true)
        }
        None => bad_request("message to delete not found"),
    }
}

fn get_file(state: &State, request: &RecordedRequest) -> Reply {
    let file_id = request.param("file_id").unwrap_or_default();
    let Some(file) = state.files.get(&file_id) else {
        return bad_request("invalid file_id");
    };
    if file.bytes.len() > MAX_DOWNLOAD_BYTES {
        return bad_request("file is too big");
    }
    ok(&File {
        file_id: &file.file_id,
        file_unique_id: &file.file_unique_id,
        file_size: file.bytes.len(),
        file_path: &file.file_path,
    })
}

fn get_user_profile_photos(state: &State, request: &RecordedRequest) -> Reply {
    let Some(user_id) = request
        .param("user_id")
        .and_then(|id| id.trim().parse::<i64>().ok())
    else {
        return bad_request("user not found");
    };
    let offset = request
        .param("offset")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let limit = request
        .param("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|limit| (1..=100).contains(limit))
        .unwrap_or(100);
    let all = state
        .profile_photos
        .get(&user_id)
        .cloned()
        .unwrap_or_default();
    let photos = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|file_id| profile_photo_sizes(state, file_id))
        .collect();
    ok(&UserProfilePhotos {
        total_count: all.len(),
        photos,
    })
}

/// The sizes of one profile photo, smallest first, the registered `file_id` last (largest).
fn profile_photo_sizes(state: &State, file_id: &str) -> Vec<PhotoSize> {
    let stored = state.files.get(file_id);
    let (width, height) = stored
        .and_then(|file| files::image_size(&file.bytes))
        .unwrap_or((640, 640));
    let small_id = format!("{file_id}_s");
    vec![
        PhotoSize {
            file_unique_id: files::unique_id_for(&small_id),
            file_id: small_id,
            file_size: None,
            width: 160,
            height: 160,
        },
        PhotoSize {
            file_id: file_id.to_string(),
            file_unique_id: files::unique_id_for(file_id),
            file_size: stored.map(|file| file.bytes.len()),
            width,
            height,
        },
    ]
}
