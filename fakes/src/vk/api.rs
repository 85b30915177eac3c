//! The VK API methods the fake implements, each answering what `api.vk.com` answers to the same
//! request: the `response` value, or an error object (always with HTTP 200), plus the upload
//! servers' raw answers.

use serde_json::{json, Value};

use super::{unix_now, SavedFile, SentVkMessage, State, UploadKind, UploadSlot, GROUP_ID};
use crate::http::{random_u64, RecordedRequest};

/// VK's limit on a message text, in characters.
const MAX_TEXT_CHARS: usize = 4096;
/// `groups.addCallbackServer` refuses longer titles.
const MAX_SERVER_TITLE_CHARS: usize = 14;
const PHOTO_SERVER: i64 = 856_420;
const DOC_SERVER: i64 = 909_218;

/// A VK API error: code and message.
struct VkError(i64, String);

impl VkError {
    fn new(code: i64) -> VkError {
        VkError(code, error_message(code))
    }

    /// Error 100 with the parameter problem appended, as VK words it.
    fn invalid(detail: &str) -> VkError {
        VkError(100, format!("{}: {detail}", error_message(100)))
    }
}

type Answer = Result<Value, VkError>;

/// VK's wording for the errors the fake produces; the fixtures' texts where they have one.
pub(super) fn error_message(code: i64) -> String {
    let fixture = |text: &str| {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v["error"]["error_msg"].as_str().map(str::to_string))
    };
    let from_fixture = match code {
        5 => fixture(include_str!(
            "../../../tests/fixtures/vk/api/error_5_auth_failed.json"
        )),
        6 => fixture(include_str!(
            "../../../tests/fixtures/vk/api/error_6_too_many_requests.json"
        )),
        901 => fixture(include_str!(
            "../../../tests/fixtures/vk/api/error_901_no_permission.json"
        )),
        _ => None,
    };
    if let Some(text) = from_fixture {
        return text;
    }
    match code {
        1 => "Unknown error occurred",
        3 => "Unknown method passed",
        8 => "Invalid request: v (version) is required",
        9 => "Flood control",
        10 => "Internal server error",
        15 => "Access denied: no access to call this method",
        100 => "One of the parameters specified was missing or invalid",
        113 => "Invalid user id",
        902 => "Can't send messages to this user due to their privacy settings",
        914 => "Message is too long",
        924 => "Can't delete this message for everybody",
        _ => "Unknown error occurred",
    }
    .to_string()
}

/// `{"error": {"error_code", "error_msg", "request_params"}}` as VK builds it: method, oauth
/// and v first, then the call's other parameters (never the token).
pub(super) fn error_body(
    code: i64,
    message: &str,
    method: &str,
    params: &[(String, String)],
) -> Value {
    let mut request_params = vec![
        json!({"key": "method", "value": method}),
        json!({"key": "oauth", "value": "1"}),
    ];
    let version = params
        .iter()
        .find(|(k, _)| k == "v")
        .map(|(_, v)| v.as_str())
        .unwrap_or(super::API_VERSION);
    request_params.push(json!({"key": "v", "value": version}));
    for (key, value) in params {
        if key != "v" && key != "access_token" && key != "method" {
            request_params.push(json!({"key": key, "value": value}));
        }
    }
    json!({"error": {"error_code": code, "error_msg": message, "request_params": request_params}})
}

/// Every parameter of a call, from the query string and the form body.
fn all_params(request: &RecordedRequest) -> Vec<(String, String)> {
    let mut params = request.query_params();
    params.extend(request.form());
    for part in request.multipart_parts() {
        if !part.is_file() {
            params.push((part.name, String::from_utf8_lossy(&part.data).into_owned()));
        }
    }
    if let Some(Value::Object(fields)) = request.json() {
        for (key, value) in fields {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            params.push((key, text));
        }
    }
    params
}

fn bearer(request: &RecordedRequest) -> Option<String> {
    request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// Answers one API call (HTTP 200 in every case, like VK).
pub(super) fn call(
    state: &mut State,
    token: &str,
    base_url: &str,
    method: &str,
    request: &RecordedRequest,
) -> Value {
    let params = all_params(request);
    let answer = authorize(token, request).and_then(|()| {
        if request.param("v").filter(|v| !v.is_empty()).is_none() {
            return Err(VkError::new(8));
        }
        dispatch(state, base_url, &method.to_ascii_lowercase(), request)
    });
    match answer {
        Ok(response) => json!({ "response": response }),
        Err(VkError(code, message)) => error_body(code, &message, method, &params),
    }
}

fn authorize(token: &str, request: &RecordedRequest) -> Result<(), VkError> {
    let given = request
        .param("access_token")
        .filter(|t| !t.is_empty())
        .or_else(|| bearer(request));
    match given {
        None => Err(VkError(
            5,
            "User authorization failed: no access_token passed.".into(),
        )),
        Some(given) if given == token => Ok(()),
        Some(_) => Err(VkError::new(5)),
    }
}

fn dispatch(state: &mut State, base_url: &str, method: &str, request: &RecordedRequest) -> Answer {
    match method {
        "groups.getbyid" => groups_get_by_id(state, request),
        "groups.getcallbackconfirmationcode" => {
            own_group(request)?;
            Ok(json!({"code": state.confirmation_code}))
        }
        "groups.getcallbackservers" => get_callback_servers(state, request),
        "groups.addcallbackserver" => {
            own_group(request)?;
            let (url, title, secret) = server_fields(request)?;
            Ok(json!({"server_id": add_server(state, &url, &title, &secret)}))
        }
        "groups.editcallbackserver" => edit_callback_server(state, request),
        "groups.deletecallbackserver" => {
            own_group(request)?;
            let id = int_param(request, "server_id")?;
            let before = state.servers.len();
            state.servers.retain(|s| s.id != id);
            if state.servers.len() == before {
                return Err(VkError::invalid("server_id is invalid"));
            }
            Ok(json!(1))
        }
        "groups.setcallbacksettings" => set_callback_settings(state, request),
        "groups.getcallbacksettings" => {
            own_group(request)?;
            let id = int_param(request, "server_id")?;
            let server = state
                .servers
                .iter()
                .find(|s| s.id == id)
                .ok_or_else(|| VkError::invalid("server_id is invalid"))?;
            let events: serde_json::Map<String, Value> = server
                .events
                .iter()
                .map(|(k, v)| (k.clone(), json!(i64::from(*v))))
                .collect();
            Ok(
                json!({"api_version": server.api_version.as_deref().unwrap_or(super::API_VERSION), "events": events}),
            )
        }
        "users.get" => users_get(state, request),
        "messages.send" => messages_send(state, request),
        "messages.delete" => messages_delete(state, request),
        "messages.getbyid" => messages_get_by_id(state, request),
        "photos.getmessagesuploadserver" => {
            let hash = new_upload(state, UploadKind::Photo);
            Ok(json!({
                "album_id": -3,
                "upload_url": format!("{base_url}/c{PHOTO_SERVER}/ss2117/upload.php?act=do_add&mid=0&aid=-3&gid={GROUP_ID}&hash={hash}&rhash={hash}&swfupload=1&api=1&mailphoto=1"),
                "user_id": 0,
                "group_id": GROUP_ID,
            }))
        }
        "docs.getmessagesuploadserver" => {
            let peer_id = int_param(request, "peer_id")?;
            let kind = request.param("type").unwrap_or_else(|| "doc".into());
            if !matches!(kind.as_str(), "doc" | "audio_message" | "graffiti") {
                return Err(VkError::invalid("type is invalid"));
            }
            let hash = new_upload(state, UploadKind::Doc);
            Ok(json!({
                "upload_url": format!("{base_url}/c{DOC_SERVER}/upload.php?act=add_doc&mid=0&aid=-1&gid={GROUP_ID}&type=0&peer_id={peer_id}&rhash={hash}&api=1&server={DOC_SERVER}"),
            }))
        }
        "photos.savemessagesphoto" => save_messages_photo(state, base_url, request),
        "docs.save" => docs_save(state, base_url, request),
        _ => Err(VkError::new(3)),
    }
}

fn int_param(request: &RecordedRequest, name: &str) -> Result<i64, VkError> {
    let text = request
        .param(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| VkError::invalid(&format!("{name} is a required parameter")))?;
    text.trim()
        .parse::<i64>()
        .map_err(|_| VkError::invalid(&format!("{name} not integer")))
}

/// Callback-server methods need `group_id`, and only ours is allowed with this token.
fn own_group(request: &RecordedRequest) -> Result<(), VkError> {
    if int_param(request, "group_id")? == GROUP_ID {
        Ok(())
    } else {
        Err(VkError::new(15))
    }
}

fn groups_get_by_id(state: &State, request: &RecordedRequest) -> Answer {
    let wanted = request
        .param("group_id")
        .or_else(|| request.param("group_ids"))
        .filter(|v| !v.is_empty());
    if let Some(wanted) = wanted {
        let screen_name = state.group["screen_name"].as_str().unwrap_or_default();
        if wanted != GROUP_ID.to_string() && wanted != screen_name {
            return Err(VkError::invalid("group_ids is undefined"));
        }
    }
    Ok(json!({"groups": [state.group], "profiles": []}))
}

fn server_json(server: &super::CallbackServer) -> Value {
    json!({"id": server.id, "title": server.title, "creator_id": 745000111, "url": server.url,
        "secret_key": server.secret_key, "status": server.status})
}

fn get_callback_servers(state: &State, request: &RecordedRequest) -> Answer {
    own_group(request)?;
    let only: Option<Vec<i64>> = request.param("server_ids").map(|ids| {
        ids.split(',')
            .filter_map(|id| id.trim().parse().ok())
            .collect()
    });
    let items: Vec<Value> = state
        .servers
        .iter()
        .filter(|s| only.as_ref().is_none_or(|ids| ids.contains(&s.id)))
        .map(server_json)
        .collect();
    Ok(json!({"count": items.len(), "items": items}))
}

/// url, title and secret_key of add/editCallbackServer, checked like VK.
fn server_fields(request: &RecordedRequest) -> Result<(String, String, String), VkError> {
    let url = request.param("url").unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(VkError::invalid("url is invalid"));
    }
    let title = request
        .param("title")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| VkError::invalid("title is a required parameter"))?;
    if title.chars().count() > MAX_SERVER_TITLE_CHARS {
        return Err(VkError::invalid("title is too long"));
    }
    let secret = request.param("secret_key").unwrap_or_default();
    if secret.chars().count() > 50 || !secret.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(VkError::invalid("secret_key is invalid"));
    }
    Ok((url, title, secret))
}

pub(super) fn add_server(state: &mut State, url: &str, title: &str, secret_key: &str) -> i64 {
    let id = state.next_server_id;
    state.next_server_id += 1;
    state.servers.push(super::CallbackServer {
        id,
        title: title.to_string(),
        url: url.to_string(),
        secret_key: secret_key.to_string(),
        status: "unconfigured".into(),
        api_version: None,
        events: Default::default(),
    });
    id
}

fn edit_callback_server(state: &mut State, request: &RecordedRequest) -> Answer {
    own_group(request)?;
    let id = int_param(request, "server_id")?;
    let (url, title, secret) = server_fields(request)?;
    let server = state
        .servers
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| VkError::invalid("server_id is invalid"))?;
    if server.url != url {
        server.status = "unconfigured".into();
    }
    server.url = url;
    server.title = title;
    server.secret_key = secret;
    Ok(json!(1))
}

/// The events crmchats (and most bots) care about; VK knows many more.
const KNOWN_EVENTS: [&str; 12] = [
    "message_new",
    "message_reply",
    "message_edit",
    "message_allow",
    "message_deny",
    "message_typing_state",
    "message_event",
    "message_read",
    "wall_post_new",
    "wall_reply_new",
    "group_join",
    "group_leave",
];

fn set_callback_settings(state: &mut State, request: &RecordedRequest) -> Answer {
    own_group(request)?;
    let id = int_param(request, "server_id")?;
    let version = request.param("api_version");
    let server = state
        .servers
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| VkError::invalid("server_id is invalid"))?;
    if let Some(version) = version {
        server.api_version = Some(version);
    }
    for event in KNOWN_EVENTS {
        if let Some(flag) = request.param(event) {
            server.events.insert(event.to_string(), flag.trim() == "1");
        }
    }
    Ok(json!(1))
}

fn users_get(state: &State, request: &RecordedRequest) -> Answer {
    let ids = request
        .param("user_ids")
        .or_else(|| request.param("user_id"))
        .unwrap_or_default();
    let fields = request.param("fields").unwrap_or_default();
    let wants = |field: &str| fields.split(',').any(|f| f.trim() == field);
    let mut users = Vec::new();
    for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let id: i64 = id.parse().map_err(|_| VkError::new(113))?;
        let Some(user) = state.users.get(&id) else {
            // VK answers unknown (deleted) accounts with a stub profile.
            users.push(json!({"id": id, "first_name": "DELETED", "last_name": "", "deactivated": "deleted"}));
            continue;
        };
        let mut v = serde_json::Map::new();
        v.insert("id".into(), json!(user.id));
        if wants("photo_200") {
            if let Some(photo) = &user.photo_200 {
                v.insert("photo_200".into(), json!(photo));
            }
        }
        if wants("screen_name") {
            if let Some(name) = &user.screen_name {
                v.insert("screen_name".into(), json!(name));
            }
        }
        v.insert("first_name".into(), json!(user.first_name));
        v.insert("last_name".into(), json!(user.last_name));
        v.insert("can_access_closed".into(), json!(true));
        v.insert("is_closed".into(), json!(false));
        users.push(Value::Object(v));
    }
    if users.is_empty() {
        return Err(VkError::new(113));
    }
    Ok(Value::Array(users))
}

/// `photo-218734561_457239021_key` → `photo-218734561_457239021`.
pub(super) fn attachment_key(attachment: &str) -> String {
    let mut parts = attachment.trim().splitn(3, '_');
    match (parts.next(), parts.next()) {
        (Some(owner), Some(id)) => format!("{owner}_{id}"),
        _ => attachment.trim().to_string(),
    }
}

fn messages_send(state: &mut State, request: &RecordedRequest) -> Answer {
    let peer_id = int_param(request, "peer_id").or_else(|_| int_param(request, "user_id"))?;
    let Some(random_id) = request.param("random_id").filter(|v| !v.is_empty()) else {
        return Err(VkError(
            100,
            "One of the parameters specified was missing or invalid: random_id is a required parameter".into(),
        ));
    };
    let random_id: i64 = random_id
        .trim()
        .parse()
        .map_err(|_| VkError::invalid("random_id not integer"))?;
    let text = request.param("message").unwrap_or_default();
    let attachments: Vec<String> = request
        .param("attachment")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if text.trim().is_empty() && attachments.is_empty() {
        return Err(VkError::invalid("message is empty or invalid"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(VkError::new(914));
    }
    for attachment in &attachments {
        if !state.saved.contains_key(&attachment_key(attachment)) {
            return Err(VkError::invalid("attachment is invalid"));
        }
    }
    if state.denied.contains(&peer_id) {
        return Err(VkError::new(901));
    }
    // VK sends a message once per (peer, random_id): a repeat answers the first message's id.
    if random_id != 0 {
        if let Some(first) = state
            .messages
            .iter()
            .find(|m| m.peer_id == peer_id && m.random_id == random_id)
        {
            return Ok(json!(first.id));
        }
    }
    let (id, cmid) = state.take_message_id(peer_id);
    state.messages.push(SentVkMessage {
        id,
        conversation_message_id: cmid,
        peer_id,
        random_id,
        text,
        attachments,
        date: unix_now(),
        deleted_for_all: false,
    });
    Ok(json!(id))
}

fn messages_delete(state: &mut State, request: &RecordedRequest) -> Answer {
    let ids = request
        .param("message_ids")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| VkError::invalid("message_ids is a required parameter"))?;
    let for_all = request.param("delete_for_all").as_deref() == Some("1");
    let mut result = serde_json::Map::new();
    for id in ids.split(',') {
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| VkError::invalid("message_ids not integer"))?;
        let message = state
            .messages
            .iter_mut()
            .find(|m| m.id == id && !m.deleted_for_all)
            .ok_or_else(|| VkError::invalid("message_ids is invalid"))?;
        // VK deletes for everybody only within 24 hours of sending.
        if for_all && unix_now() - message.date > 24 * 3600 {
            return Err(VkError::new(924));
        }
        message.deleted_for_all = for_all;
        result.insert(id.to_string(), json!(1));
    }
    Ok(Value::Object(result))
}

/// Messages by community-wide id: ones users wrote and ones the community sent; unknown ids
/// are left out, as VK does.
fn messages_get_by_id(state: &State, request: &RecordedRequest) -> Answer {
    let ids = request
        .param("message_ids")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| VkError::invalid("message_ids is a required parameter"))?;
    let mut items = Vec::new();
    for id in ids.split(',') {
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| VkError::invalid("message_ids not integer"))?;
        if let Some(message) = state.received.get(&id) {
            items.push(message.clone());
        } else if let Some(sent) = state.messages.iter().find(|m| m.id == id) {
            items.push(
                json!({"date": sent.date, "from_id": -GROUP_ID, "id": sent.id, "out": 1,
                "attachments": [], "conversation_message_id": sent.conversation_message_id,
                "peer_id": sent.peer_id, "random_id": sent.random_id, "text": sent.text}),
            );
        }
    }
    Ok(json!({"count": items.len(), "items": items}))
}

fn new_upload(state: &mut State, kind: UploadKind) -> String {
    let hash = format!("{:016x}{:016x}", random_u64(), random_u64());
    state
        .uploads
        .insert(hash.clone(), UploadSlot { kind, file: None });
    hash
}

/// A POST to an `upload_url`: raw JSON answers, not wrapped in `response`.
pub(super) fn upload(state: &mut State, request: &RecordedRequest) -> (u16, Value) {
    let params = request.query_params();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let hash = param("hash").or_else(|| param("rhash")).unwrap_or_default();
    let Some(slot) = state.uploads.get_mut(&hash) else {
        return (200, json!({"error": "ERR_UPLOAD_BAD_HASH"}));
    };
    match slot.kind {
        UploadKind::Photo => {
            let file = request
                .multipart_file("photo")
                .filter(|f| f.file_name.is_some());
            let Some(file) = file.filter(|f| is_image(&f.data)) else {
                // VK answers a missing or unreadable photo with an empty list.
                return (
                    200,
                    json!({"server": PHOTO_SERVER, "photo": "[]", "hash": hash}),
                );
            };
            let kid = format!("{:016x}", random_u64());
            slot.file = Some((file.file_name, file.content_type, file.data));
            let photo =
                json!([{"markers_restarted": true, "photo": format!("{kid}:w"), "sizes": [],
                "latitude": 0, "longitude": 0, "kid": kid, "upload_hash": hash}])
                .to_string();
            (
                200,
                json!({"server": PHOTO_SERVER, "photo": photo, "hash": hash}),
            )
        }
        UploadKind::Doc => {
            let Some(file) = request
                .multipart_file("file")
                .filter(|f| f.file_name.is_some())
            else {
                return (200, json!({"error": "no_file"}));
            };
            let name = file.file_name.clone().unwrap_or_default();
            let size = file.data.len();
            slot.file = Some((file.file_name, file.content_type, file.data));
            (
                200,
                json!({"file": format!("{GROUP_ID}|0|-1|{DOC_SERVER}|{hash}|{size}|{name}")}),
            )
        }
    }
}

fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(&[0xff, 0xd8])
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
}

/// Takes the uploaded file out of the slot `hash` of `kind`.
fn take_upload(
    state: &mut State,
    hash: &str,
    kind: fn(&UploadKind) -> bool,
) -> Option<(Option<String>, Option<String>, Vec<u8>)> {
    let slot = state.uploads.get(hash)?;
    if !kind(&slot.kind) {
        return None;
    }
    state.uploads.remove(hash)?.file
}

fn save_messages_photo(state: &mut State, base_url: &str, request: &RecordedRequest) -> Answer {
    let photo = request.param("photo").unwrap_or_default();
    let list: Vec<Value> = serde_json::from_str(&photo).unwrap_or_default();
    let Some(entry) = list.first() else {
        return Err(VkError::invalid("photos_list is invalid"));
    };
    let hash = request.param("hash").unwrap_or_default();
    let server = request.param("server").unwrap_or_default();
    if entry["upload_hash"].as_str() != Some(hash.as_str()) || server != PHOTO_SERVER.to_string() {
        return Err(VkError::invalid("hash is invalid"));
    }
    let (file_name, content_type, bytes) =
        take_upload(state, &hash, |k| matches!(k, UploadKind::Photo))
            .ok_or_else(|| VkError::invalid("photos_list is invalid"))?;
    let id = state.next_photo_id;
    state.next_photo_id += 1;
    let access_key = format!("{:016x}", random_u64());
    let path = format!("/impg/fake/{id}.jpg");
    state.files.insert(
        path.clone(),
        (
            content_type.clone().unwrap_or_else(|| "image/jpeg".into()),
            bytes.clone(),
        ),
    );
    state.saved.insert(
        format!("photo-{GROUP_ID}_{id}"),
        SavedFile {
            owner_id: -GROUP_ID,
            id,
            access_key: access_key.clone(),
            file_name,
            content_type,
            bytes,
        },
    );
    Ok(
        json!([{"album_id": -3, "date": unix_now(), "id": id, "owner_id": -GROUP_ID,
        "access_key": access_key, "sizes": [
            {"height": 453, "type": "x", "width": 604, "url": format!("{base_url}{path}?size=604x453&type=album")}
        ], "text": "", "has_tags": false}]),
    )
}

fn docs_save(state: &mut State, base_url: &str, request: &RecordedRequest) -> Answer {
    let file = request
        .param("file")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| VkError::invalid("file is a required parameter"))?;
    let hash = file.split('|').nth(4).unwrap_or_default().to_string();
    let (file_name, content_type, bytes) =
        take_upload(state, &hash, |k| matches!(k, UploadKind::Doc))
            .ok_or_else(|| VkError::invalid("file is invalid"))?;
    let id = state.next_doc_id;
    state.next_doc_id += 1;
    let title = request
        .param("title")
        .filter(|t| !t.is_empty())
        .or(file_name.clone())
        .unwrap_or_else(|| "file".into());
    let ext = title
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let path = format!("/doc-{GROUP_ID}_{id}");
    state.files.insert(
        path.clone(),
        (
            content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes.clone(),
        ),
    );
    let size = bytes.len();
    state.saved.insert(
        format!("doc-{GROUP_ID}_{id}"),
        SavedFile {
            owner_id: -GROUP_ID,
            id,
            access_key: String::new(),
            file_name: Some(title.clone()),
            content_type,
            bytes,
        },
    );
    Ok(
        json!({"type": "doc", "doc": {"id": id, "owner_id": -GROUP_ID, "title": title,
        "size": size, "ext": ext, "date": unix_now(), "type": 1,
        "url": format!("{base_url}{path}?hash=fake&api=1&no_preview=1")}}),
    )
}

/// `client_info` of `message_new` as VK sends it for the web client.
pub(super) fn client_info() -> Value {
    json!({"button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback",
        "intent_subscribe", "intent_unsubscribe"], "keyboard": true, "inline_keyboard": true,
        "carousel": true, "lang_id": 0})
}
