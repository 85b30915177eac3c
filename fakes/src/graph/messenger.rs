//! The Messenger side of the fake: page info, User Profile API, Send API (JSON and multipart
//! `filedata` uploads, `payload.url` fetches, reusable attachments), the Attachment Upload API,
//! page `subscribed_apps`, and builders of `object: page` webhook bodies.

use serde_json::{json, Value};

use super::{
    fetch_url, graph_error, now_millis, random_numeric_id, random_token, Endpoint, Product, Reply,
    SentMessage, Shared, StoredFile,
};
use crate::http::RecordedRequest;

/// The Send API's limit on `message.text` (characters).
const MAX_TEXT_CHARS: usize = 2000;
const ATTACHMENT_TYPES: [&str; 4] = ["image", "video", "audio", "file"];
const MESSAGING_TYPES: [&str; 3] = ["RESPONSE", "UPDATE", "MESSAGE_TAG"];

/// A person talking to the page, as the User Profile API describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessengerUser {
    /// Page-scoped id.
    pub psid: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl MessengerUser {
    pub fn new(psid: &str, first_name: &str, last_name: &str) -> MessengerUser {
        MessengerUser {
            psid: psid.to_string(),
            first_name: Some(first_name.to_string()),
            last_name: Some(last_name.to_string()),
        }
    }
}

/// Answers one Messenger endpoint (the token is already checked).
pub(super) fn call(
    shared: &Shared,
    endpoint: Endpoint,
    id: &str,
    request: &RecordedRequest,
) -> Reply {
    match endpoint {
        Endpoint::PageInfo => page_info(shared, request),
        Endpoint::UserProfile => user_profile(shared, id, request),
        Endpoint::MessengerSend => send(shared, request),
        Endpoint::MessengerAttachmentUpload => upload(shared, request),
        Endpoint::PageSubscribedApps => subscribed_apps(shared, request),
        _ => graph_error(400, 100, None, "Unsupported request"),
    }
}

/// The `fields` parameter as a list (empty when absent).
pub(super) fn fields(request: &RecordedRequest) -> Vec<String> {
    request
        .param("fields")
        .map(|f| {
            f.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn page_info(shared: &Shared, request: &RecordedRequest) -> Reply {
    let config = &shared.config;
    let mut fields = fields(request);
    if fields.is_empty() {
        fields = vec!["name".into(), "id".into()];
    }
    let mut page = serde_json::Map::new();
    for field in &fields {
        match field.as_str() {
            "name" => {
                page.insert("name".into(), json!(config.page_name));
            }
            "picture" => {
                let url = format!("{}/profilepic/page-{}", shared.base_url(), config.page_id);
                page.insert(
                    "picture".into(),
                    json!({"data": {"height": 50, "is_silhouette": false, "url": url, "width": 50}}),
                );
            }
            "id" => {}
            other => {
                return graph_error(
                    400,
                    100,
                    None,
                    &format!(
                        "(#100) Tried accessing nonexisting field ({other}) on node type (Page)"
                    ),
                )
            }
        }
    }
    page.insert("id".into(), json!(config.page_id));
    (200, Value::Object(page).to_string())
}

fn user_profile(shared: &Shared, psid: &str, request: &RecordedRequest) -> Reply {
    let state = shared.lock();
    let Some(user) = state.users.get(psid) else {
        return graph_error(
            400,
            100,
            Some(33),
            &format!("Unsupported get request. Object with ID '{psid}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
        );
    };
    let mut fields = fields(request);
    if fields.is_empty() {
        fields = vec!["first_name".into(), "last_name".into()];
    }
    let mut profile = serde_json::Map::new();
    for field in fields {
        match field.as_str() {
            "first_name" => {
                if let Some(name) = &user.first_name {
                    profile.insert(field, json!(name));
                }
            }
            "last_name" => {
                if let Some(name) = &user.last_name {
                    profile.insert(field, json!(name));
                }
            }
            // The URL is signed and expires; absent when the user has no picture.
            "profile_pic" => {
                if state.pictures.contains_key(psid) {
                    let url = format!(
                        "{}/profilepic/{psid}?ext={}&hash=AbZq9xW1vE2rT3yU",
                        shared.base_url(),
                        now_millis() / 1000 + 30 * 86_400
                    );
                    profile.insert(field, json!(url));
                }
            }
            "id" => {}
            other => {
                return graph_error(
                    400,
                    100,
                    None,
                    &format!(
                        "(#100) Tried accessing nonexisting field ({other}) on node type (User)"
                    ),
                )
            }
        }
    }
    profile.insert("id".into(), json!(psid));
    (200, Value::Object(profile).to_string())
}

/// A Send API parameter: a JSON body field, or a multipart/form/query field holding JSON text.
fn json_param(request: &RecordedRequest, name: &str) -> Option<Value> {
    if let Some(Value::Object(body)) = request.json() {
        return body.get(name).cloned();
    }
    let text = request.param(name)?;
    Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn param_error(message: &str) -> Reply {
    graph_error(400, 100, None, &format!("(#100) {message}"))
}

/// The file of an attachment: uploaded as `filedata`, a reusable `attachment_id`, or fetched
/// from `payload.url` as Meta does.
fn attachment_file(
    shared: &Shared,
    request: &RecordedRequest,
    attachment: &Value,
) -> Result<StoredFile, Reply> {
    let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
    if !ATTACHMENT_TYPES.contains(&kind) {
        return Err(param_error(
            "param message[attachment][type] must be one of {image, video, audio, file, template}",
        ));
    }
    let payload = attachment.get("payload").cloned().unwrap_or(Value::Null);
    if let Some(upload) = request.multipart_file("filedata") {
        if upload.file_name.is_none() {
            return Err(param_error("Upload attachment failure."));
        }
        return Ok(StoredFile {
            name: upload.file_name,
            mime: upload
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes: upload.data,
        });
    }
    if let Some(id) = payload.get("attachment_id").and_then(Value::as_str) {
        return shared
            .lock()
            .attachments
            .get(id)
            .cloned()
            .ok_or_else(|| param_error("Invalid attachment_id"));
    }
    if let Some(url) = payload.get("url").and_then(Value::as_str) {
        return fetch_url(url).map_err(|err| {
            graph_error(
                400,
                100,
                Some(2018008),
                &format!("(#100) Failed to fetch the file from the url: {err}"),
            )
        });
    }
    Err(param_error("Upload attachment failure."))
}

fn send(shared: &Shared, request: &RecordedRequest) -> Reply {
    let Some(recipient) = json_param(request, "recipient") else {
        return param_error("The parameter recipient is required");
    };
    let to = match recipient.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return param_error("param recipient must be non-empty."),
    };
    if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) {
        return graph_error(400, 100, Some(2018001), "(#100) No matching user found");
    }
    if json_param(request, "sender_action").is_some() {
        return (200, json!({"recipient_id": to}).to_string());
    }
    let messaging_type = json_param(request, "messaging_type")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if !MESSAGING_TYPES.contains(&messaging_type.as_str()) {
        return param_error("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}");
    }
    if messaging_type == "MESSAGE_TAG" && json_param(request, "tag").is_none() {
        return param_error("The parameter tag is required");
    }
    let Some(message) = json_param(request, "message").filter(Value::is_object) else {
        return param_error("The parameter message is required");
    };
    let text = message
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut file = None;
    let mut attachment_id = None;
    match (&text, message.get("attachment")) {
        (Some(text), None) => {
            if text.trim().is_empty() {
                return param_error("param message[text] must be non-empty.");
            }
            if text.chars().count() > MAX_TEXT_CHARS {
                return param_error(
                    "Length of param message[text] must be less than or equal to 2000",
                );
            }
        }
        (None, Some(attachment)) => {
            let stored = match attachment_file(shared, request, attachment) {
                Ok(stored) => stored,
                Err(reply) => return reply,
            };
            if attachment
                .pointer("/payload/is_reusable")
                .and_then(Value::as_bool)
                == Some(true)
            {
                let id = random_numeric_id();
                shared.lock().attachments.insert(id.clone(), stored.clone());
                attachment_id = Some(id);
            }
            file = Some(stored);
        }
        _ => return param_error("Must send either message text or an attachment"),
    }
    let mid = format!("m_{}", random_token(86));
    shared.lock().sent.push(SentMessage {
        product: Product::Messenger,
        id: mid.clone(),
        to: to.clone(),
        body: message,
        text,
        file,
    });
    let mut answer = json!({"recipient_id": to, "message_id": mid});
    if let Some(id) = attachment_id {
        answer["attachment_id"] = json!(id);
    }
    (200, answer.to_string())
}

fn upload(shared: &Shared, request: &RecordedRequest) -> Reply {
    let Some(attachment) =
        json_param(request, "message").and_then(|m| m.get("attachment").cloned())
    else {
        return param_error("The parameter message is required");
    };
    match attachment_file(shared, request, &attachment) {
        Ok(stored) => {
            let id = random_numeric_id();
            shared.lock().attachments.insert(id.clone(), stored);
            (200, json!({ "attachment_id": id }).to_string())
        }
        Err(reply) => reply,
    }
}

/// `subscribed_fields` as a comma-separated string or a JSON array.
pub(super) fn subscribed_fields(request: &RecordedRequest) -> Option<Vec<String>> {
    let value = request.param("subscribed_fields")?;
    let list = match serde_json::from_str::<Vec<String>>(&value) {
        Ok(list) => list,
        Err(_) => value.split(',').map(|s| s.trim().to_string()).collect(),
    };
    let list: Vec<String> = list.into_iter().filter(|s| !s.is_empty()).collect();
    (!list.is_empty()).then_some(list)
}

fn subscribed_apps(shared: &Shared, request: &RecordedRequest) -> Reply {
    const KNOWN: [&str; 10] = [
        "messages",
        "messaging_postbacks",
        "message_deliveries",
        "message_reads",
        "message_echoes",
        "messaging_optins",
        "messaging_referrals",
        "message_reactions",
        "messaging_handovers",
        "standby",
    ];
    let mut state = shared.lock();
    let subscription = state.subscriptions.entry(Product::Messenger).or_default();
    match request.method.as_str() {
        "POST" => {
            let Some(fields) = subscribed_fields(request) else {
                return param_error("The parameter subscribed_fields is required.");
            };
            if let Some(bad) = fields.iter().find(|f| !KNOWN.contains(&f.as_str())) {
                return param_error(&format!(
                    "Param subscribed_fields must be one of {{{}}} - got \"{bad}\".",
                    KNOWN.join(", ")
                ));
            }
            subscription.subscribed_fields = Some(fields);
            (200, json!({"success": true}).to_string())
        }
        "DELETE" => {
            subscription.subscribed_fields = None;
            (200, json!({"success": true}).to_string())
        }
        _ => {
            let data = match &subscription.subscribed_fields {
                Some(fields) => json!([{
                    "category": "Business",
                    "link": "https://crm.example.test/",
                    "name": "crmchats",
                    "id": shared.config.app_id,
                    "subscribed_fields": fields,
                }]),
                None => json!([]),
            };
            (200, json!({ "data": data }).to_string())
        }
    }
}

/// `{"object":"page","entry":[{"id":PAGE_ID,"time":..,"messaging":[..]}]}` around events.
pub fn messenger_webhook(page_id: &str, messaging: Vec<Value>) -> Value {
    json!({
        "object": "page",
        "entry": [{"id": page_id, "time": now_millis(), "messaging": messaging}],
    })
}

/// One `messaging[]` event from `psid` to the page carrying `message`.
pub fn user_message_event(page_id: &str, psid: &str, message: Value) -> Value {
    json!({
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": now_millis(),
        "message": message,
    })
}

/// A text `message` object with a fresh mid.
pub fn text_message(text: &str) -> Value {
    json!({"mid": format!("m_{}", random_token(86)), "text": text})
}

/// An attachment `message` object (`kind` = image/video/audio/file) with a fresh mid.
pub fn attachment_message(kind: &str, url: &str) -> Value {
    json!({
        "mid": format!("m_{}", random_token(86)),
        "attachments": [{"type": kind, "payload": {"url": url}}],
    })
}

/// The `message_echoes` event Meta sends after the page sent `sent` (our app's `app_id`).
pub fn echo_event(page_id: &str, app_id: &str, sent: &SentMessage) -> Value {
    let mut message = json!({"mid": sent.id, "is_echo": true});
    // app_id is a number in echoes.
    message["app_id"] = app_id
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(app_id));
    if let Some(text) = &sent.text {
        message["text"] = json!(text);
    }
    // Meta echoes the send's `metadata` back.
    if let Some(metadata) = sent.body.get("metadata").and_then(Value::as_str) {
        message["metadata"] = json!(metadata);
    }
    json!({
        "sender": {"id": page_id},
        "recipient": {"id": sent.to},
        "timestamp": now_millis(),
        "message": message,
    })
}

pub(super) fn product_of(endpoint: Endpoint) -> Option<Product> {
    match endpoint {
        Endpoint::PageInfo
        | Endpoint::UserProfile
        | Endpoint::MessengerSend
        | Endpoint::MessengerAttachmentUpload
        | Endpoint::PageSubscribedApps => Some(Product::Messenger),
        _ => None,
    }
}
