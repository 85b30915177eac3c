//! The demo side of the fake: a newcomer plays a Telegram user in a small HTML page. The fake
//! builds real `Update`s from what they type or attach, POSTs them to the webhook registered
//! with `setWebhook`, and shows the bot's replies to that user.
//!
//! Endpoints (every path that is not `/bot...` or `/file/...`):
//! - `GET /` (any other path): the page, self-contained (no external assets);
//! - `GET /demo/user?first_name=&last_name=&username=[&random=1]`: `{"id":"N"}`, the user id
//!   derived from the name (or random), above 2^32 and below 2^53 so JavaScript keeps it exact;
//! - `GET /demo/chat?user_id=N`: `{"bot":..,"webhook":..,"messages":[..]}`, the private chat;
//! - `POST /demo/send` (multipart or urlencoded: `user_id`, `first_name`, `last_name`,
//!   `username`, `text`, optional file part `file`, `as` = `photo`/`document`/`auto`):
//!   builds the update, delivers it, answers `{"ok":..,"status":..,"body":..,"update":..}`;
//! - `GET /demo/file/<file_id>`: the bytes of a file the fake knows (for thumbnails and links).

use std::io::{self, Cursor};

use serde_json::{json, Value};

use super::api::{document, photo_size, store_file};
use super::files::{self, FileKind};
use super::types::{Chat, Message, MessageEntity, Update, User};
use super::{unix_now, FakeTelegram, Shared, BOT_FIRST_NAME, BOT_ID, BOT_USERNAME};
use crate::http::{json_response, percent_decode, random_u64, raw_response, RecordedRequest};

const PAGE: &str = include_str!("demo.html");

/// User ids the demo makes up lie in (2^32, 2^32 + 2^50]: beyond 32 bits like real Telegram
/// ids, and below 2^53 so the page's JavaScript never rounds them.
const USER_ID_BASE: i64 = 1 << 32;
const USER_ID_SPAN: u64 = 1 << 50;

/// The Telegram user a demo visitor (or a test) plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramUser {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl TelegramUser {
    /// A user whose id is derived from the name, so the same name is the same user again.
    pub fn from_name(first_name: &str, last_name: Option<&str>, username: Option<&str>) -> Self {
        let non_empty = |value: Option<&str>| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let first_name = match first_name.trim() {
            "" => "Guest".to_string(),
            name => name.to_string(),
        };
        let last_name = non_empty(last_name);
        let username = non_empty(username).map(|u| u.trim_start_matches('@').to_string());
        TelegramUser {
            id: derived_user_id(&first_name, last_name.as_deref(), username.as_deref()),
            first_name,
            last_name,
            username,
            language_code: None,
        }
    }

    /// The `User` object in `message.from`.
    pub fn to_user_json(&self) -> Value {
        serde_json::to_value(self.user()).unwrap_or(Value::Null)
    }

    /// The private `Chat` with this user in `message.chat`.
    pub fn to_chat_json(&self) -> Value {
        serde_json::to_value(self.chat()).unwrap_or(Value::Null)
    }

    fn user(&self) -> User {
        User {
            id: self.id,
            is_bot: false,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            username: self.username.clone(),
            language_code: self.language_code.clone(),
        }
    }

    fn chat(&self) -> Chat {
        Chat {
            id: self.id,
            title: None,
            first_name: Some(self.first_name.clone()),
            last_name: self.last_name.clone(),
            username: self.username.clone(),
            kind: "private".to_string(),
        }
    }
}

/// A user id derived from the name (the same in every run), in the demo id range.
pub fn derived_user_id(first_name: &str, last_name: Option<&str>, username: Option<&str>) -> i64 {
    let key = format!(
        "{}\u{0}{}\u{0}{}",
        first_name.to_lowercase(),
        last_name.unwrap_or("").to_lowercase(),
        username.unwrap_or("").to_lowercase()
    );
    user_id_in_range(files::stable_hash(key.as_bytes()))
}

/// A random user id in the demo id range.
pub fn random_user_id() -> i64 {
    user_id_in_range(random_u64())
}

fn user_id_in_range(value: u64) -> i64 {
    // The span is 2^50, so the remainder fits in i64 without loss.
    USER_ID_BASE + 1 + (value % USER_ID_SPAN) as i64
}

/// What a user sends.
enum Content {
    Text(String),
    Photo {
        bytes: Vec<u8>,
        caption: Option<String>,
    },
    Document {
        file_name: String,
        mime_type: Option<String>,
        bytes: Vec<u8>,
        caption: Option<String>,
    },
}

impl FakeTelegram {
    /// `user` writes `text` to the bot: the fake builds the `Update` and POSTs it to the webhook.
    /// Text starting with `/` carries a `bot_command` entity, as Telegram adds.
    pub fn user_sends_text(&self, user: &TelegramUser, text: &str) -> io::Result<(u16, String)> {
        self.shared
            .user_sends(user, Content::Text(text.to_string()))
            .1
    }

    /// `user` sends a photo; its bytes are registered so `getFile` and the download work.
    pub fn user_sends_photo(
        &self,
        user: &TelegramUser,
        bytes: Vec<u8>,
        caption: Option<&str>,
    ) -> io::Result<(u16, String)> {
        let caption = caption.map(str::to_string);
        self.shared
            .user_sends(user, Content::Photo { bytes, caption })
            .1
    }

    /// `user` sends a file as a document; its bytes are registered for `getFile`.
    pub fn user_sends_document(
        &self,
        user: &TelegramUser,
        file_name: &str,
        mime_type: Option<&str>,
        bytes: Vec<u8>,
        caption: Option<&str>,
    ) -> io::Result<(u16, String)> {
        let content = Content::Document {
            file_name: file_name.to_string(),
            mime_type: mime_type.map(str::to_string),
            bytes,
            caption: caption.map(str::to_string),
        };
        self.shared.user_sends(user, content).1
    }
}

impl Shared {
    /// Builds the update for `content` from `user`, delivers it to the webhook and records the
    /// outcome in the chat. Returns the update (`None` without a webhook) and the delivery result.
    fn user_sends(
        &self,
        user: &TelegramUser,
        content: Content,
    ) -> (Option<Value>, io::Result<(u16, String)>) {
        let (update, body, message_id) = {
            let mut state = self.lock();
            if state.webhook.is_none() {
                let err = io::Error::new(
                    io::ErrorKind::NotFound,
                    "no webhook is registered yet: create a Telegram channel in crmchats first",
                );
                return (None, Err(err));
            }
            let mut message = Message {
                message_id: state.take_message_id(),
                from: user.user(),
                chat: user.chat(),
                date: unix_now(),
                text: None,
                entities: None,
                photo: None,
                document: None,
                caption: None,
            };
            match content {
                Content::Text(text) => {
                    if text.starts_with('/') {
                        let command = text.split_whitespace().next().unwrap_or("");
                        message.entities = Some(vec![MessageEntity {
                            offset: 0,
                            length: command.encode_utf16().count(),
                            kind: "bot_command",
                        }]);
                    }
                    message.text = Some(text);
                }
                Content::Photo { bytes, caption } => {
                    let mime = files::sniff_image_mime(&bytes).unwrap_or("image/jpeg");
                    let file = store_file(&mut state, FileKind::Photo, None, Some(mime), bytes);
                    message.photo = Some(vec![photo_size(&file)]);
                    message.caption = caption.filter(|c| !c.is_empty());
                }
                Content::Document {
                    file_name,
                    mime_type,
                    bytes,
                    caption,
                } => {
                    let mime = mime_type
                        .filter(|m| !m.is_empty())
                        .or_else(|| files::mime_from_name(&file_name).map(str::to_string))
                        .unwrap_or_else(|| "application/octet-stream".to_string());
                    let file = store_file(
                        &mut state,
                        FileKind::Document,
                        Some(&file_name),
                        Some(&mime),
                        bytes,
                    );
                    message.document = Some(document(&file, Some(file_name)));
                    message.caption = caption.filter(|c| !c.is_empty());
                }
            }
            let update = Update {
                update_id: state.take_update_id(),
                message: &message,
            };
            // Serialized from the struct so the fields keep Telegram's order on the wire.
            let body = serde_json::to_string(&update).map_err(io::Error::other);
            let update_json = serde_json::to_value(&update).unwrap_or(Value::Null);
            state.note_update(&update_json);
            (update_json, body, message.message_id)
        };
        let result = body.and_then(|body| self.deliver(body.as_bytes()));
        let delivery = match &result {
            Ok((status, body)) => Ok((*status, body.clone())),
            Err(err) => Err(err.to_string()),
        };
        let mut state = self.lock();
        if let Some(entry) = state
            .messages
            .iter_mut()
            .rev()
            .find(|entry| entry.chat_id == user.id && entry.message_id == message_id)
        {
            entry.delivery = Some(delivery);
        }
        (Some(update), result)
    }
}

/// Answers a demo request (the page or one of its JSON endpoints).
pub(super) fn serve(
    shared: &Shared,
    request: &RecordedRequest,
) -> tiny_http::Response<Cursor<Vec<u8>>> {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/demo/user") => {
            let id = if request.param("random").is_some_and(|v| v == "1") {
                random_user_id()
            } else {
                user_from_request(request).id
            };
            json_response(200, &json!({"id": id.to_string()}))
        }
        ("GET", "/demo/chat") => chat(shared, request),
        ("POST", "/demo/send") => send(shared, request),
        ("GET", path) if path.starts_with("/demo/file/") => {
            let file_id = percent_decode(&path["/demo/file/".len()..], false);
            match shared.lock().files.get(&file_id) {
                Some(file) => file.response(),
                None => json_response(404, &json!({"error": "unknown file"})),
            }
        }
        (_, path) if path.starts_with("/demo/") => {
            json_response(404, &json!({"error": "unknown demo endpoint"}))
        }
        _ => raw_response(200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
    }
}

fn user_from_request(request: &RecordedRequest) -> TelegramUser {
    let first_name = request.param("first_name").unwrap_or_default();
    let last_name = request.param("last_name");
    let username = request.param("username");
    let mut user = TelegramUser::from_name(&first_name, last_name.as_deref(), username.as_deref());
    if let Some(id) = request
        .param("user_id")
        .and_then(|id| id.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
    {
        user.id = id;
    }
    user
}

fn webhook_json(shared: &Shared) -> Value {
    match &shared.lock().webhook {
        Some(webhook) => json!({
            "url": webhook.url,
            "secret_token_set": webhook.secret_token.is_some(),
            "allowed_updates": webhook.allowed_updates,
        }),
        None => Value::Null,
    }
}

fn chat(shared: &Shared, request: &RecordedRequest) -> tiny_http::Response<Cursor<Vec<u8>>> {
    let user_id = request
        .param("user_id")
        .and_then(|id| id.trim().parse::<i64>().ok());
    let webhook = webhook_json(shared);
    let state = shared.lock();
    let messages: Vec<Value> = state
        .messages
        .iter()
        .filter(|entry| Some(entry.chat_id) == user_id)
        .map(|entry| {
            let message = &entry.message;
            let photo = message
                .get("photo")
                .and_then(Value::as_array)
                .and_then(|sizes| sizes.last())
                .map(|largest| {
                    json!({
                        "url": file_url(largest),
                        "width": largest["width"],
                        "height": largest["height"],
                    })
                });
            let document = message.get("document").map(|document| {
                json!({
                    "url": file_url(document),
                    "file_name": document["file_name"],
                    "mime_type": document["mime_type"],
                    "file_size": document["file_size"],
                })
            });
            let delivery = match &entry.delivery {
                Some(Ok((status, body))) => json!({"status": status, "body": body}),
                Some(Err(error)) => json!({"error": error}),
                None => Value::Null,
            };
            json!({
                "message_id": entry.message_id,
                "from": if entry.from_bot { "bot" } else { "user" },
                "date": message["date"],
                "text": message.get("text"),
                "caption": message.get("caption"),
                "photo": photo,
                "document": document,
                "deleted": entry.deleted,
                "delivery": delivery,
            })
        })
        .collect();
    let body = json!({
        "bot": {"id": BOT_ID, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME},
        "webhook": webhook,
        "messages": messages,
    });
    json_response(200, &body)
}

fn file_url(file: &Value) -> Value {
    match file.get("file_id").and_then(Value::as_str) {
        Some(file_id) => json!(format!(
            "/demo/file/{}",
            crate::http::percent_encode(file_id)
        )),
        None => Value::Null,
    }
}

fn send(shared: &Shared, request: &RecordedRequest) -> tiny_http::Response<Cursor<Vec<u8>>> {
    let user = user_from_request(request);
    let text = request.param("text").unwrap_or_default();
    let upload = request.multipart_file("file").filter(|file| {
        !file.data.is_empty() || file.file_name.as_deref().is_some_and(|n| !n.is_empty())
    });
    let content = match upload {
        Some(file) => {
            let caption = Some(text).filter(|t| !t.trim().is_empty());
            let mime = file
                .content_type
                .clone()
                .filter(|m| m != "application/octet-stream")
                .or_else(|| files::sniff_image_mime(&file.data).map(str::to_string));
            let as_photo = match request.param("as").as_deref() {
                Some("photo") => true,
                Some("document") => false,
                // Like the Telegram apps: pictures go as photos unless asked otherwise.
                _ => files::sniff_image_mime(&file.data).is_some_and(|m| m != "image/gif"),
            };
            if as_photo {
                Content::Photo {
                    bytes: file.data,
                    caption,
                }
            } else {
                Content::Document {
                    file_name: file.file_name.unwrap_or_else(|| "file".to_string()),
                    mime_type: mime,
                    bytes: file.data,
                    caption,
                }
            }
        }
        None if text.trim().is_empty() => {
            return json_response(
                400,
                &json!({"ok": false, "error": "type a message or attach a file"}),
            );
        }
        None => Content::Text(text),
    };
    let (update, result) = shared.user_sends(&user, content);
    let body = match (update, result) {
        (None, Err(err)) => {
            return json_response(
                409,
                &json!({"ok": false, "error": err.to_string(), "no_webhook": true}),
            );
        }
        (update, Ok((status, body))) => json!({
            "ok": (200..300).contains(&status),
            "status": status,
            "body": body,
            "update": update,
            "user_id": user.id.to_string(),
        }),
        (update, Err(err)) => json!({
            "ok": false,
            "error": format!("the webhook could not be reached: {err}"),
            "update": update,
            "user_id": user.id.to_string(),
        }),
    };
    json_response(200, &body)
}
