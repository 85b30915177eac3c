//! The WhatsApp Business Cloud API side of the fake: phone number info, `/messages` (text,
//! media by id or link, mark read), media upload / lookup / download, WABA `subscribed_apps`,
//! and builders of `object: whatsapp_business_account` webhook bodies.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::messenger::fields;
use super::{
    fetch_url, graph_error, random_numeric_id, random_token, Endpoint, Product, Reply, SentMessage,
    Shared, StoredFile,
};
use crate::http::{raw_response, RecordedRequest};

/// The Cloud API's limit on a text message body (characters).
const MAX_TEXT_CHARS: usize = 4096;
const MEDIA_TYPES: [&str; 5] = ["image", "document", "audio", "video", "sticker"];

/// A WhatsApp user as webhooks describe them (`contacts[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatsAppContact {
    /// The phone number without `+`.
    pub wa_id: String,
    pub name: String,
}

/// Answers one Cloud API endpoint (the token is already checked).
pub(super) fn call(
    shared: &Shared,
    endpoint: Endpoint,
    id: &str,
    request: &RecordedRequest,
) -> Reply {
    match endpoint {
        Endpoint::PhoneNumberInfo => phone_number(shared, request),
        Endpoint::WhatsAppSend => send(shared, request),
        Endpoint::WhatsAppMediaUpload => upload(shared, request),
        Endpoint::WhatsAppMediaUrl => media_url(shared, id),
        Endpoint::WabaSubscribedApps => subscribed_apps(shared, request),
        _ => graph_error(400, 100, None, "Unsupported request"),
    }
}

fn param_error(message: &str) -> Reply {
    graph_error(400, 100, None, &format!("(#100) {message}"))
}

fn phone_number(shared: &Shared, request: &RecordedRequest) -> Reply {
    let config = &shared.config;
    let mut fields = fields(request);
    if fields.is_empty() {
        fields = ["verified_name", "display_phone_number", "quality_rating"]
            .map(String::from)
            .to_vec();
    }
    let mut info = serde_json::Map::new();
    for field in fields {
        let value = match field.as_str() {
            "verified_name" => json!(config.verified_name),
            "display_phone_number" => json!(format!("+{}", config.display_phone_number)),
            "quality_rating" => json!("GREEN"),
            "code_verification_status" => json!("VERIFIED"),
            "platform_type" => json!("CLOUD_API"),
            "id" => continue,
            other => {
                return param_error(&format!(
                    "Tried accessing nonexisting field ({other}) on node type (WhatsAppBusinessPhoneNumber)"
                ))
            }
        };
        info.insert(field, value);
    }
    info.insert("id".into(), json!(config.phone_number_id));
    (200, Value::Object(info).to_string())
}

fn send(shared: &Shared, request: &RecordedRequest) -> Reply {
    let Some(body) = request.json().filter(Value::is_object) else {
        return param_error("The parameter messaging_product is required.");
    };
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return param_error("The parameter messaging_product is required.");
    }
    if body.get("status").and_then(Value::as_str) == Some("read") {
        let Some(id) = body.get("message_id").and_then(Value::as_str) else {
            return param_error("The parameter message_id is required.");
        };
        shared.lock().marked_read.push(id.to_string());
        return (200, json!({"success": true}).to_string());
    }
    let to = body
        .get("to")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let wa_id: String = to.chars().filter(char::is_ascii_digit).collect();
    if wa_id.len() < 7 {
        return graph_error(400, 131009, None, "(#131009) Parameter value is not valid");
    }
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("text");
    let text;
    let mut file = None;
    if kind == "text" {
        let Some(message) = body.pointer("/text/body").and_then(Value::as_str) else {
            return param_error("The parameter text['body'] is required.");
        };
        if message.trim().is_empty() || message.chars().count() > MAX_TEXT_CHARS {
            return graph_error(400, 131009, None, "(#131009) Parameter value is not valid");
        }
        text = Some(message.to_string());
    } else if MEDIA_TYPES.contains(&kind) {
        let media = body.get(kind).cloned().unwrap_or(Value::Null);
        if let Some(id) = media.get("id").and_then(Value::as_str) {
            match shared.lock().media.get(id) {
                Some(stored) => file = Some(stored.clone()),
                None => return graph_error(400, 131053, None, "(#131053) Media upload error"),
            }
        } else if let Some(link) = media.get("link").and_then(Value::as_str) {
            match fetch_url(link) {
                Ok(stored) => file = Some(stored),
                Err(err) => {
                    return graph_error(
                        400,
                        131053,
                        None,
                        &format!("(#131053) Media upload error: {err}"),
                    )
                }
            }
        } else {
            return param_error(&format!(
                "The parameter {kind}['id'] or {kind}['link'] is required."
            ));
        }
        if let (Some(stored), Some(name)) =
            (file.as_mut(), media.get("filename").and_then(Value::as_str))
        {
            stored.name = Some(name.to_string());
        }
        text = media
            .get("caption")
            .and_then(Value::as_str)
            .map(str::to_string);
    } else {
        return param_error(&format!(
            "Param type must be one of {{text, {}, ...}} - got \"{kind}\".",
            MEDIA_TYPES.join(", ")
        ));
    }
    let wamid = format!("wamid.{}", random_token(48));
    shared.lock().sent.push(SentMessage {
        product: Product::WhatsApp,
        id: wamid.clone(),
        to: to.clone(),
        body,
        text,
        file,
    });
    let answer = json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": wa_id}],
        "messages": [{"id": wamid}],
    });
    (200, answer.to_string())
}

fn upload(shared: &Shared, request: &RecordedRequest) -> Reply {
    if request.param("messaging_product").as_deref() != Some("whatsapp") {
        return param_error("The parameter messaging_product is required.");
    }
    let Some(file) = request
        .multipart_file("file")
        .filter(|f| f.file_name.is_some())
    else {
        return param_error("The parameter file is required.");
    };
    let mime = request
        .param("type")
        .or(file.content_type)
        .unwrap_or_else(|| "application/octet-stream".into());
    let id = random_numeric_id();
    shared.lock().media.insert(
        id.clone(),
        StoredFile {
            name: file.file_name,
            mime,
            bytes: file.data,
        },
    );
    (200, json!({ "id": id }).to_string())
}

fn media_url(shared: &Shared, id: &str) -> Reply {
    let Some(file) = shared.lock().media.get(id).cloned() else {
        return graph_error(
            400,
            100,
            Some(33),
            &format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
        );
    };
    let sha256: String = Sha256::digest(&file.bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let url = format!(
        "{}/whatsapp_business/attachments/?mid={id}&ext={}&hash={}",
        shared.base_url(),
        super::now_millis() / 1000 + 300,
        random_token(24)
    );
    let answer = json!({
        "url": url,
        "mime_type": file.mime,
        "sha256": sha256,
        // A string, as the real API sends it.
        "file_size": file.bytes.len().to_string(),
        "id": id,
        "messaging_product": "whatsapp",
    });
    (200, answer.to_string())
}

/// `GET /whatsapp_business/attachments/?mid=...`: the bytes, only with the Bearer token.
pub(super) fn download(
    shared: &Shared,
    request: &RecordedRequest,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let bearer = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    if bearer != Some(shared.config.wa_token.as_str()) {
        let (status, body) = graph_error(
            401,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
        return raw_response(status, "application/json", body.into_bytes());
    }
    let mid = request
        .query_params()
        .into_iter()
        .find(|(k, _)| k == "mid")
        .map(|(_, v)| v)
        .unwrap_or_default();
    match shared.lock().media.get(&mid) {
        Some(file) => raw_response(200, &file.mime, file.bytes.clone()),
        None => raw_response(404, "text/plain", b"Not Found".to_vec()),
    }
}

fn subscribed_apps(shared: &Shared, request: &RecordedRequest) -> Reply {
    let mut state = shared.lock();
    let subscription = state.subscriptions.entry(Product::WhatsApp).or_default();
    match request.method.as_str() {
        "POST" => {
            // The WABA subscription covers every field chosen in the App Dashboard.
            subscription.subscribed_fields = Some(vec!["messages".into()]);
            (200, json!({"success": true}).to_string())
        }
        "DELETE" => {
            subscription.subscribed_fields = None;
            (200, json!({"success": true}).to_string())
        }
        _ => {
            let data = match &subscription.subscribed_fields {
                Some(_) => json!([{"whatsapp_business_api_data": {
                    "link": "https://crm.example.test/",
                    "name": "crmchats",
                    "id": random_numeric_id(),
                }}]),
                None => json!([]),
            };
            (200, json!({ "data": data }).to_string())
        }
    }
}

/// `{"object":"whatsapp_business_account","entry":[{"id":WABA,"changes":[{"value":..,
/// "field":"messages"}]}]}` around one change value holding `contacts`, `messages` and
/// `statuses` (empty lists are left out, as Meta does).
pub fn whatsapp_webhook(
    config: &super::GraphConfig,
    contacts: &[WhatsAppContact],
    messages: Vec<Value>,
    statuses: Vec<Value>,
) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": config.display_phone_number,
            "phone_number_id": config.phone_number_id,
        },
    });
    if !contacts.is_empty() {
        value["contacts"] = contacts
            .iter()
            .map(|c| json!({"profile": {"name": c.name}, "wa_id": c.wa_id}))
            .collect();
    }
    if !messages.is_empty() {
        value["messages"] = Value::Array(messages);
    }
    if !statuses.is_empty() {
        value["statuses"] = Value::Array(statuses);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": config.waba_id, "changes": [{"value": value, "field": "messages"}]}],
    })
}

/// One inbound message from `from`; `content` is the type's object (`{"body":..}` for text,
/// `{"id":..,"mime_type":..}` for media). Timestamps are strings of epoch seconds.
pub fn whatsapp_message(from: &str, kind: &str, content: Value) -> Value {
    json!({
        "from": from,
        "id": format!("wamid.{}", random_token(48)),
        "timestamp": (super::now_millis() / 1000).to_string(),
        "type": kind,
        kind: content,
    })
}

/// The status Meta reports for a message the fake took: like [`whatsapp_status`], with the
/// send's `biz_opaque_callback_data` echoed back as Meta does.
pub fn whatsapp_status_of(sent: &SentMessage, status: &str) -> Value {
    let mut value = whatsapp_status(&sent.id, status, &sent.to);
    if let Some(data) = sent.body.get("biz_opaque_callback_data") {
        value["biz_opaque_callback_data"] = data.clone();
    }
    value
}

/// A status of a message we sent (`sent`, `delivered`, `read`, `failed`).
pub fn whatsapp_status(wamid: &str, status: &str, recipient: &str) -> Value {
    let mut value = json!({
        "id": wamid,
        "status": status,
        "timestamp": (super::now_millis() / 1000).to_string(),
        "recipient_id": recipient,
    });
    if status == "failed" {
        value["errors"] = json!([{
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
        }]);
    }
    value
}
