//! A fake Chat-API (chat-api.com, WhatsApp through a linked phone) instance on 127.0.0.1:
//! `/instance<ID>/<method>?token=<TOKEN>` answers the way the service did (JSON; a wrong token is
//! HTTP 401 `{"error": ...}`; a message it would not send is HTTP 200 with `"sent": false`), and
//! the fake plays the instance's side of webhooks: `{"messages": [...]}` and `{"ack": [...]}`
//! bodies POSTed, unsigned, to the URL given to `/webhook`. `GET /media/<n>/<name>` serves the
//! files messages point at. Chat-API is discontinued: shapes follow its SDKs and the shared
//! fixtures (`/work/shared/fixtures/chatapi`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use crate::http::{
    random_u64, raw_response, send_webhook, BackgroundServer, MediaFiles, RecordedRequest,
    WebhookDelivery, WebhookRoute,
};

/// The instance and token of the shared fixture set.
pub const FIXTURE_INSTANCE: &str = "318205";
pub const FIXTURE_TOKEN: &str = "sh4r3dch4t4p1t0k3n";
/// The linked phone's chat id and WhatsApp name.
pub const OWN_CHAT_ID: &str = "79001112233@c.us";
pub const ACCOUNT_NAME: &str = "Северный ветер";
/// What `/status` carries while the phone is not linked (the fixture's one-pixel PNG).
pub const QR_CODE: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const WRONG_TOKEN: &str = "Wrong token. Please provide token as a GET parameter.";

/// A message the instance was asked to send (`sendMessage` or `sendFile`).
#[derive(Clone, Debug, PartialEq)]
pub struct SentChatApiMessage {
    /// `sendMessage` or `sendFile`.
    pub method: String,
    pub chat_id: String,
    /// The id the instance answered (`true_<chatId>_<HEX>`), as its webhooks and acks carry it.
    pub id: String,
    /// The request body as received.
    pub request: Value,
    /// For `sendFile` with a data URI: the decoded bytes.
    pub file: Option<Vec<u8>>,
}

impl SentChatApiMessage {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.request.get(name).and_then(Value::as_str)
    }
}

/// A fake Chat-API instance. It runs on a background thread and stops on drop.
pub struct FakeChatApi {
    shared: Arc<Shared>,
    server: BackgroundServer,
}

struct Shared {
    instance: String,
    token: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    failures: HashMap<String, VecDeque<(u16, String)>>,
    account_status: String,
    webhook_url: Option<String>,
    ack_notifications: bool,
    route: Option<WebhookRoute>,
    sent: Vec<SentChatApiMessage>,
    next_queue_number: u64,
    next_message_number: u64,
    media: MediaFiles,
}

impl State {
    fn take_message_number(&mut self) -> u64 {
        self.next_message_number += 1;
        self.next_message_number
    }
}

/// One message of a webhook's `messages`, fields in the service's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    id: String,
    body: String,
    from_me: bool,
    #[serde(rename = "self")]
    self_: u8,
    is_forwarded: u8,
    author: String,
    time: u64,
    chat_id: String,
    message_number: u64,
    #[serde(rename = "type")]
    kind: String,
    sender_name: String,
    caption: Option<String>,
    quoted_msg_body: Option<String>,
    quoted_msg_id: Option<String>,
    quoted_msg_type: Option<String>,
    chat_name: String,
}

/// A new message id as the service makes them: `<fromMe>_<chatId>_<20 hex digits>`.
fn message_id(from_me: bool, chat_id: &str) -> String {
    let hex = format!("{:016X}{:04X}", random_u64(), random_u64() & 0xffff);
    format!("{from_me}_{chat_id}_{hex}")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

impl FakeChatApi {
    /// Starts the fake on 127.0.0.1 with a free port, the phone linked.
    pub fn start(instance: &str, token: &str) -> FakeChatApi {
        FakeChatApi::start_on("127.0.0.1:0", instance, token)
            .expect("the fake Chat-API server can listen on 127.0.0.1")
    }

    pub fn start_on(addr: &str, instance: &str, token: &str) -> io::Result<FakeChatApi> {
        let shared = Arc::new(Shared {
            instance: instance.to_string(),
            token: token.to_string(),
            state: Mutex::new(State {
                account_status: "authenticated".into(),
                next_queue_number: 94,
                next_message_number: 2380,
                ..State::default()
            }),
        });
        let server = {
            let shared = Arc::clone(&shared);
            BackgroundServer::start(addr, move |request| shared.serve(request))?
        };
        Ok(FakeChatApi { shared, server })
    }

    /// `http://127.0.0.1:PORT`: what the main crate puts in `providers.chatapi.api_base`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The instance's API URL on the real service (what an admin pastes); its path is what
    /// the fake serves.
    pub fn instance_url(&self) -> String {
        format!("https://api.chat-api.com/instance{}", self.shared.instance)
    }

    /// Every API call so far (media downloads are not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Calls of `method` (`sendMessage`, `webhook`...), whatever token they carried.
    pub fn calls(&self, method: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path.rsplit('/').next() == Some(method))
            .cloned()
            .collect()
    }

    /// The next call to `method` gets this status and JSON body instead. FIFO per method.
    pub fn fail_next(&self, method: &str, status: u16, body: &str) {
        self.shared
            .lock()
            .failures
            .entry(method.to_string())
            .or_default()
            .push_back((status, body.to_string()));
    }

    /// The phone is logged out: `/status` answers `got qr code` with a QR image to scan.
    pub fn log_out_phone(&self) {
        self.shared.lock().account_status = "got qr code".into();
    }

    /// The QR code was scanned: `/status` answers `authenticated`.
    pub fn link_phone(&self) {
        self.shared.lock().account_status = "authenticated".into();
    }

    /// The URL given to `/webhook` (None before and after it was set to an empty one).
    pub fn webhook_url(&self) -> Option<String> {
        self.shared.lock().webhook_url.clone()
    }

    /// Whether acks (delivered, viewed) are posted to the webhook (`/settings`).
    pub fn ack_notifications(&self) -> bool {
        self.shared.lock().ack_notifications
    }

    /// Delivers webhook requests to `route` instead of over HTTP.
    pub fn route_webhooks(
        &self,
        route: impl Fn(&WebhookDelivery) -> io::Result<(u16, String)> + Send + Sync + 'static,
    ) {
        self.shared.lock().route = Some(Arc::new(route));
    }

    /// Serves `bytes` at `<base>/media/<n>/<name>` and returns that URL.
    pub fn add_media(&self, name: &str, mime: &str, bytes: Vec<u8>) -> String {
        let base_url = self.base_url();
        self.shared.lock().media.add(&base_url, name, mime, bytes)
    }

    /// POSTs `body` (compact JSON) to the registered webhook as the instance does: no
    /// signature, `Content-Type: application/json`.
    pub fn post_webhook(&self, body: &Value) -> io::Result<(u16, String)> {
        self.post_raw(body.to_string().as_bytes())
    }

    /// POSTs `body` byte-exact to the registered webhook (fixtures, redeliveries).
    pub fn post_raw(&self, body: &[u8]) -> io::Result<(u16, String)> {
        let (url, route) = {
            let state = self.shared.lock();
            (state.webhook_url.clone(), state.route.clone())
        };
        let Some(url) = url else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no webhook is set (/webhook was not called)",
            ));
        };
        let delivery = WebhookDelivery {
            url,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_vec(),
        };
        send_webhook(&delivery, route.as_ref())
    }

    /// What the instance sent to `chat_id`, oldest first.
    pub fn sent_messages(&self, chat_id: &str) -> Vec<SentChatApiMessage> {
        self.shared
            .lock()
            .sent
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }

    // --- webhook bodies as the instance builds them --------------------------------------------

    fn webhook_of(&self, message: WireMessage) -> Value {
        json!({"messages": [message], "instanceId": self.shared.instance})
    }

    /// A message from the person of private chat `chat_id` (`79991234567@c.us`).
    pub fn incoming(
        &self,
        chat_id: &str,
        sender_name: &str,
        kind: &str,
        body: &str,
        caption: Option<&str>,
    ) -> Value {
        let message_number = self.shared.lock().take_message_number();
        self.webhook_of(WireMessage {
            id: message_id(false, chat_id),
            body: body.to_string(),
            from_me: false,
            self_: 0,
            is_forwarded: 0,
            author: chat_id.to_string(),
            time: unix_now(),
            chat_id: chat_id.to_string(),
            message_number,
            kind: kind.to_string(),
            sender_name: sender_name.to_string(),
            caption: caption.map(str::to_string),
            quoted_msg_body: None,
            quoted_msg_id: None,
            quoted_msg_type: None,
            chat_name: sender_name.to_string(),
        })
    }

    pub fn text_from(&self, chat_id: &str, sender_name: &str, text: &str) -> Value {
        self.incoming(chat_id, sender_name, "chat", text, None)
    }

    /// A file message (`image`, `document`, `audio`, `ptt`, `video`): `body` is the link to the
    /// file, which the fake serves.
    pub fn file_from(
        &self,
        chat_id: &str,
        sender_name: &str,
        kind: &str,
        (file_name, mime, bytes): (&str, &str, Vec<u8>),
        caption: Option<&str>,
    ) -> Value {
        let url = self.add_media(file_name, mime, bytes);
        self.incoming(chat_id, sender_name, kind, &url, caption)
    }

    /// A message our side typed on the linked phone (`fromMe`, a new id).
    pub fn typed_on_phone(&self, chat_id: &str, chat_name: &str, text: &str) -> Value {
        self.own_message(message_id(true, chat_id), chat_id, chat_name, text)
    }

    /// The webhook the instance posts about a message sent through the API (same id).
    pub fn echo_of(&self, sent: &SentChatApiMessage, chat_name: &str) -> Value {
        let text = sent
            .field("caption")
            .or_else(|| sent.field("body"))
            .unwrap_or_default();
        self.own_message(sent.id.clone(), &sent.chat_id, chat_name, text)
    }

    fn own_message(&self, id: String, chat_id: &str, chat_name: &str, text: &str) -> Value {
        let message_number = self.shared.lock().take_message_number();
        self.webhook_of(WireMessage {
            id,
            body: text.to_string(),
            from_me: true,
            self_: 1,
            is_forwarded: 0,
            author: OWN_CHAT_ID.to_string(),
            time: unix_now(),
            chat_id: chat_id.to_string(),
            message_number,
            kind: "chat".into(),
            sender_name: ACCOUNT_NAME.into(),
            caption: None,
            quoted_msg_body: None,
            quoted_msg_id: None,
            quoted_msg_type: None,
            chat_name: chat_name.to_string(),
        })
    }

    /// An ack of one of our messages: `sent`, `delivered` or `viewed`.
    pub fn ack(&self, id: &str, chat_id: &str, status: &str) -> Value {
        json!({"ack": [{"id": id, "queueNumber": 94, "chatId": chat_id, "status": status}],
               "instanceId": self.shared.instance})
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler thread must not take the whole fake down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn serve(&self, mut request: tiny_http::Request) {
        let response = match RecordedRequest::read_from(&mut request) {
            Ok(recorded) => match recorded.path.strip_prefix("/media/") {
                Some(path) => self.lock().media.response(path),
                None => {
                    let (status, body) = self.api(&recorded);
                    raw_response(status, "application/json", body.to_string().into_bytes())
                }
            },
            Err(err) => raw_response(400, "text/plain", err.to_string().into_bytes()),
        };
        let _ = request.respond(response);
    }

    /// One API call: instance, scripted answer, token, then the method.
    fn api(&self, request: &RecordedRequest) -> (u16, Value) {
        let path = request.path.trim_start_matches('/');
        let Some((instance, method)) = path
            .strip_prefix("instance")
            .and_then(|rest| rest.split_once('/'))
        else {
            return (404, json!({"error": "Not found"}));
        };
        if instance != self.instance {
            return (404, json!({"error": "Instance not found"}));
        }
        let scripted = {
            let mut state = self.lock();
            state.requests.push(request.clone());
            state.failures.get_mut(method).and_then(VecDeque::pop_front)
        };
        if let Some((status, body)) = scripted {
            let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
            return (status, body);
        }
        let token = request
            .query_params()
            .into_iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v);
        if token.as_deref() != Some(self.token.as_str()) {
            return (401, json!({"error": WRONG_TOKEN}));
        }
        let body = || request.json().unwrap_or(Value::Null);
        match (request.method.as_str(), method) {
            ("GET", "status") => (200, self.status()),
            ("GET", "me") => (200, self.me()),
            ("POST", "webhook") => (200, self.set_webhook(&body())),
            ("GET", "settings") => (200, self.settings()),
            ("POST", "settings") => (200, self.set_settings(&body())),
            ("POST", "sendMessage") => (200, self.send(method, &body())),
            ("POST", "sendFile") => (200, self.send(method, &body())),
            _ => (404, json!({"error": format!("Unknown method {method}")})),
        }
    }

    fn status(&self) -> Value {
        let status = self.lock().account_status.clone();
        if status == "got qr code" {
            json!({"accountStatus": status, "qrCode": QR_CODE})
        } else {
            json!({"accountStatus": status})
        }
    }

    fn me(&self) -> Value {
        if self.lock().account_status != "authenticated" {
            return json!({"error": "Instance is not authorized"});
        }
        json!({"id": OWN_CHAT_ID, "name": ACCOUNT_NAME, "battery": 87, "locale": "ru_RU",
               "wa_version": "2.24.23.78",
               "device": {"manufacturer": "samsung", "model": "SM-A536B", "os_version": "14"}})
    }

    fn set_webhook(&self, body: &Value) -> Value {
        let url = body.get("webhookUrl").and_then(Value::as_str).unwrap_or("");
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return json!({"set": false, "message": "Wrong webhook URL"});
        }
        self.lock().webhook_url = (!url.is_empty()).then(|| url.to_string());
        json!({"set": true, "webhookUrl": url})
    }

    fn settings(&self) -> Value {
        let state = self.lock();
        json!({"webhookUrl": state.webhook_url.clone().unwrap_or_default(),
               "ackNotificationsOn": state.ack_notifications, "chatUpdateOn": false,
               "videoUploadOn": true, "proxy": ""})
    }

    fn set_settings(&self, body: &Value) -> Value {
        {
            let mut state = self.lock();
            if let Some(url) = body.get("webhookUrl").and_then(Value::as_str) {
                state.webhook_url = (!url.is_empty()).then(|| url.to_string());
            }
            if let Some(on) = body.get("ackNotificationsOn").and_then(Value::as_bool) {
                state.ack_notifications = on;
            }
        }
        self.settings()
    }

    /// `sendMessage {chatId|phone, body}` and `sendFile {chatId|phone, body, filename, caption}`.
    fn send(&self, method: &str, request: &Value) -> Value {
        let refuse = |why: &str| json!({"sent": false, "message": why});
        let chat_id = match (
            request.get("chatId").and_then(Value::as_str),
            request.get("phone"),
        ) {
            (Some(id), _) => id.to_string(),
            (None, Some(phone)) => format!(
                "{}@c.us",
                phone
                    .as_str()
                    .map_or_else(|| phone.to_string(), str::to_string)
            ),
            (None, None) => return refuse("chatId or phone is required"),
        };
        let valid_chat = chat_id.split_once('@').is_some_and(|(number, server)| {
            !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit() || b == b'-')
                && matches!(server, "c.us" | "g.us")
        });
        if !valid_chat {
            return refuse("Wrong chatId");
        }
        let body = request.get("body").and_then(Value::as_str).unwrap_or("");
        if body.trim().is_empty() {
            return refuse("Message body is empty");
        }
        let mut file = None;
        if method == "sendFile" {
            if request
                .get("filename")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return refuse("filename is required");
            }
            if let Some(data) = body.strip_prefix("data:") {
                let Some((_, encoded)) = data.split_once(";base64,") else {
                    return refuse("body must be a link or a base64 data URI");
                };
                match base64::engine::general_purpose::STANDARD.decode(encoded) {
                    Ok(bytes) => file = Some(bytes),
                    Err(_) => return refuse("body is not valid base64"),
                }
            } else if !(body.starts_with("https://") || body.starts_with("http://")) {
                return refuse("body must be a link or a base64 data URI");
            }
        }
        let id = message_id(true, &chat_id);
        let mut state = self.lock();
        let queue_number = state.next_queue_number;
        state.next_queue_number += 1;
        state.sent.push(SentChatApiMessage {
            method: method.to_string(),
            chat_id: chat_id.clone(),
            id: id.clone(),
            request: request.clone(),
            file,
        });
        json!({"sent": true, "message": format!("Sent to {chat_id}"), "id": id,
               "queueNumber": queue_number})
    }
}
