//! The Bot API methods the fake implements, each answering the compact JSON body Viber sends
//! for the same request (always with HTTP 200).

use serde::Serialize;
use serde_json::Value;

use super::{State, ViberUser, ACCOUNT_ID, ACCOUNT_NAME, ACCOUNT_URI, ALL_EVENT_TYPES};

/// Viber's limits that clients most often trip over (creators.viber.com, message data model).
const MAX_TEXT_CHARS: usize = 7000;
const MAX_PICTURE_TEXT_CHARS: usize = 768;
const MAX_SENDER_NAME_CHARS: usize = 28;
const MAX_FILE_NAME_CHARS: usize = 256;
const MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;
const MAX_VIDEO_BYTES: u64 = 26 * 1024 * 1024;
/// "The maximum size of a message is 30KB."
const MAX_MESSAGE_BYTES: usize = 30 * 1024;
/// File types Viber refuses to send.
const FORBIDDEN_EXTENSIONS: [&str; 44] = [
    "bat", "bin", "cmd", "com", "cpl", "exe", "gadget", "inf1", "ins", "inx", "isu", "job", "jse",
    "lnk", "msc", "msi", "msp", "mst", "paf", "pif", "ps1", "reg", "rgs", "sct", "shb", "shs",
    "u3p", "vb", "vbe", "vbs", "vbscript", "ws", "wsf", "action", "app", "command", "csh", "osx",
    "workflow", "ksh", "out", "run", "apk", "ipa",
];

#[derive(Serialize)]
struct Status<'a> {
    status: u32,
    status_message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_token: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_hostname: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_status: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_types: Option<&'a [String]>,
}

impl Status<'_> {
    fn new(status: u32, status_message: &str) -> Status<'_> {
        Status {
            status,
            status_message,
            message_token: None,
            chat_hostname: None,
            billing_status: None,
            event_types: None,
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("Viber objects serialize")
}

/// `{"status":N,"status_message":...,"chat_hostname":...}`, as Viber answers a failure.
pub(super) fn error(status: u32, message: &str) -> String {
    to_json(&Status {
        chat_hostname: Some("SN-CHAT-01_"),
        ..Status::new(status, message)
    })
}

pub(super) fn ok_with_event_types(event_types: &[String]) -> String {
    to_json(&Status {
        event_types: Some(event_types),
        ..Status::new(0, "ok")
    })
}

/// Answers one call (the token was checked); `body` is a JSON object.
pub(super) fn call(state: &mut State, method: &str, body: &Value) -> String {
    match method {
        "get_account_info" => account_info(state),
        "send_message" => send_message(state, body),
        "get_user_details" => user_details(state, body),
        _ => error(3, "badData"),
    }
}

#[derive(Serialize)]
struct AccountInfo<'a> {
    status: u32,
    status_message: &'static str,
    id: &'static str,
    name: &'static str,
    uri: &'static str,
    icon: &'static str,
    background: &'static str,
    category: &'static str,
    subcategory: &'static str,
    location: Location,
    country: &'static str,
    webhook: &'a str,
    event_types: Vec<String>,
    subscribers_count: usize,
    members: [ViberMember; 1],
}

#[derive(Serialize)]
struct Location {
    lon: f64,
    lat: f64,
}

#[derive(Serialize)]
struct ViberMember {
    id: &'static str,
    name: &'static str,
    avatar: &'static str,
    role: &'static str,
}

fn account_info(state: &State) -> String {
    let (webhook, event_types) = match &state.webhook {
        Some(hook) => (hook.url.as_str(), hook.event_types.clone()),
        None => ("", ALL_EVENT_TYPES.iter().map(|s| s.to_string()).collect()),
    };
    to_json(&AccountInfo {
        status: 0,
        status_message: "ok",
        id: ACCOUNT_ID,
        name: ACCOUNT_NAME,
        uri: ACCOUNT_URI,
        icon: "https://media-direct.cdn.viber.com/pg_download?pgtp=icons&dlid=0-04-01-3f8b2c9d1e7a&fltp=jpg&imsz=0000",
        background: "https://media-direct.cdn.viber.com/pg_download?pgtp=bg&dlid=0-04-01-9a1c2e4f6071&fltp=jpg&imsz=0000",
        category: "Shopping",
        subcategory: "Home goods",
        location: Location {
            lon: 30.5234,
            lat: 50.4501,
        },
        country: "UA",
        webhook,
        event_types,
        subscribers_count: state.users.len() - state.unsubscribed.len().min(state.users.len()),
        members: [ViberMember {
            id: "Ym90QWRtaW5Pd25lcjAwMDE=",
            name: "Ігор",
            avatar: "https://media-direct.cdn.viber.com/download_photo?dlid=adm01&fltp=jpg&imsz=0000",
            role: "admin",
        }],
    })
}

fn str_of<'a>(body: &'a Value, pointer: &str) -> Option<&'a str> {
    body.pointer(pointer).and_then(Value::as_str)
}

/// The last path segment of a URL, lower-cased (`https://h/p/photo.JPG?x=1` -> `photo.jpg`).
fn last_segment(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let after_scheme = path.split_once("://").map_or(path, |(_, rest)| rest);
    match after_scheme.split_once('/') {
        Some((_, path)) => path.rsplit('/').next().unwrap_or_default(),
        None => "",
    }
    .to_ascii_lowercase()
}

fn extension(name: &str) -> Option<&str> {
    name.rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty())
}

/// Why a message body is refused (status 3 badData), or None.
fn invalid_message(body: &Value) -> Option<String> {
    let sender = str_of(body, "/sender/name").unwrap_or_default();
    if sender.trim().is_empty() || sender.chars().count() > MAX_SENDER_NAME_CHARS {
        return Some(format!(
            "sender.name is required, at most {MAX_SENDER_NAME_CHARS} characters"
        ));
    }
    let media = str_of(body, "/media").unwrap_or_default();
    let media_ok = media.starts_with("https://") || media.starts_with("http://");
    let size = body.get("size").and_then(Value::as_u64);
    match str_of(body, "/type").unwrap_or_default() {
        "text" => {
            let text = str_of(body, "/text").unwrap_or_default();
            if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                return Some(format!(
                    "text is required, at most {MAX_TEXT_CHARS} characters"
                ));
            }
        }
        "picture" => {
            let Some(text) = str_of(body, "/text") else {
                return Some("a picture needs text (may be empty)".into());
            };
            if text.chars().count() > MAX_PICTURE_TEXT_CHARS {
                return Some(format!(
                    "picture text is at most {MAX_PICTURE_TEXT_CHARS} characters"
                ));
            }
            let segment = last_segment(media);
            let image = matches!(extension(&segment), Some("jpeg" | "jpg" | "png" | "gif"));
            if !media_ok || !image {
                return Some(
                    "media must be a URL whose last path segment ends with .jpeg, .png or .gif"
                        .into(),
                );
            }
        }
        "video" => {
            if !media_ok || extension(&last_segment(media)) != Some("mp4") {
                return Some("media must be a URL of an .mp4 file".into());
            }
            if size.is_none_or(|s| s > MAX_VIDEO_BYTES) {
                return Some(format!("size is required, at most {MAX_VIDEO_BYTES} bytes"));
            }
        }
        "file" => {
            let name = str_of(body, "/file_name").unwrap_or_default();
            if name.is_empty() || name.chars().count() > MAX_FILE_NAME_CHARS {
                return Some(format!(
                    "file_name is required, at most {MAX_FILE_NAME_CHARS} characters"
                ));
            }
            if !media_ok || extension(&last_segment(media)).is_none() {
                return Some("media must be a URL whose last path segment has an extension".into());
            }
            let ext = extension(name).map(str::to_ascii_lowercase);
            if ext
                .as_deref()
                .is_some_and(|ext| FORBIDDEN_EXTENSIONS.contains(&ext))
            {
                return Some(format!("files of type .{} cannot be sent", ext.unwrap()));
            }
            if size.is_none_or(|s| s > MAX_FILE_BYTES) {
                return Some(format!("size is required, at most {MAX_FILE_BYTES} bytes"));
            }
        }
        "contact" | "location" | "url" | "sticker" | "rich_media" => {}
        other => return Some(format!("unknown message type `{other}`")),
    }
    None
}

fn send_message(state: &mut State, body: &Value) -> String {
    let Some(receiver) = str_of(body, "/receiver").filter(|r| !r.is_empty()) else {
        return error(4, "missingData");
    };
    if body.to_string().len() > MAX_MESSAGE_BYTES {
        return error(3, "badData");
    }
    if let Some(why) = invalid_message(body) {
        return error(3, &format!("badData: {why}"));
    }
    let message_token = state.next_message_token;
    state.next_message_token += 1;
    if state.unsubscribed.contains(receiver) {
        return to_json(&Status {
            message_token: Some(message_token),
            chat_hostname: Some("SN-CHAT-02_"),
            ..Status::new(6, "notSubscribed")
        });
    }
    state.sent.push(super::SentViberMessage {
        receiver: receiver.to_string(),
        message_token,
        body: body.clone(),
        fetched: None,
    });
    to_json(&Status {
        message_token: Some(message_token),
        chat_hostname: Some("SN-CHAT-05_"),
        billing_status: Some(1),
        ..Status::new(0, "ok")
    })
}

#[derive(Serialize)]
struct UserDetails<'a> {
    status: u32,
    status_message: &'static str,
    message_token: u64,
    user: &'a ViberUser,
}

fn user_details(state: &mut State, body: &Value) -> String {
    let Some(id) = str_of(body, "/id") else {
        return error(4, "missingData");
    };
    let message_token = state.take_event_token();
    match state.users.get(id) {
        Some(user) => to_json(&UserDetails {
            status: 0,
            status_message: "ok",
            message_token,
            user,
        }),
        None => error(5, "receiverNotRegistered"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_segment_ignores_query_and_fragment() {
        assert_eq!(last_segment("https://h/a/Photo.JPG?x=1#f"), "photo.jpg");
        assert_eq!(
            last_segment("https://h/media.php?id=1&n=a.jpg"),
            "media.php"
        );
        assert_eq!(last_segment("https://h"), "");
    }
}
