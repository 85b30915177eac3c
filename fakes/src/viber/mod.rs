//! A fake Viber REST Bot API on 127.0.0.1: `POST /pa/<method>` with `X-Viber-Auth-Token`
//! answers the way chatapi.viber.com does (always HTTP 200, success or failure in the numeric
//! `status` of the body), and the fake plays Viber's side of webhooks: callbacks are POSTed
//! with `X-Viber-Content-Signature` (hex HMAC-SHA256 of the body keyed with the token), and
//! `set_webhook` first POSTs the `webhook` check event to the URL and fails unless it gets 200.
//! `GET /media/<n>/<name>` serves the files that inbound events point at (pictures, avatars).

mod api;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::http::{raw_response, send_webhook, BackgroundServer, MediaFiles, RecordedRequest};
pub use crate::http::{WebhookDelivery, WebhookRoute};

/// The auth token of the shared fixture set (`/work/shared/fixtures/viber`).
pub const FIXTURE_TOKEN: &str = "4a1c9f0e2b7d3a55-7c1e9b2f4d6a8e01-3b5d7f9a1c2e4f60";
pub const ACCOUNT_ID: &str = "pa:5732904418751234567";
pub const ACCOUNT_NAME: &str = "Північний вітер";
pub const ACCOUNT_URI: &str = "pivnichnyvitershop";

/// The header carrying the bot token on API calls.
pub const AUTH_HEADER: &str = "X-Viber-Auth-Token";
/// The header carrying the body's signature on webhook callbacks.
pub const SIGNATURE_HEADER: &str = "X-Viber-Content-Signature";

/// Events sent when `set_webhook` names none (the mandatory ones always come too).
pub const ALL_EVENT_TYPES: [&str; 6] = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
];

/// The first `message_token` the fake hands out (the fixtures' sent message).
const FIRST_MESSAGE_TOKEN: u64 = 5_913_847_366_655_544_433;
/// Tokens of events the fake builds itself (callbacks, user messages).
const FIRST_EVENT_TOKEN: u64 = 5_913_847_400_000_000_001;

/// The last successful `set_webhook` with a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViberWebhook {
    pub url: String,
    pub event_types: Vec<String>,
    pub send_name: bool,
    pub send_photo: bool,
}

/// A Viber user as callbacks describe them (`sender` of messages, `user` of subscriptions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ViberUser {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    pub language: String,
    pub country: String,
    pub api_version: u32,
}

impl ViberUser {
    pub fn new(id: &str, name: &str) -> ViberUser {
        ViberUser {
            id: id.to_string(),
            name: name.to_string(),
            avatar: None,
            language: "uk".into(),
            country: "UA".into(),
            api_version: 10,
        }
    }

    pub fn with_avatar(mut self, url: &str) -> ViberUser {
        self.avatar = Some(url.to_string());
        self
    }
}

/// A message the bot sent with `send_message`: the request body as received.
#[derive(Clone, Debug, PartialEq)]
pub struct SentViberMessage {
    pub receiver: String,
    pub message_token: u64,
    pub body: Value,
    /// With [`FakeViber::fetch_media`]: what fetching `media` gave (the bytes, or why not).
    pub fetched: Option<Result<Vec<u8>, String>>,
}

impl SentViberMessage {
    /// The message type (`text`, `picture`, `file`, ...).
    pub fn kind(&self) -> &str {
        self.body.get("type").and_then(Value::as_str).unwrap_or("")
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }
}

/// A fake Viber Bot API server. It runs on a background thread and stops on drop.
pub struct FakeViber {
    shared: Arc<Shared>,
    server: BackgroundServer,
}

struct Shared {
    /// The bot's current token (an admin may issue a new one, see `rotate_token`).
    token: Mutex<String>,
    base_url: Mutex<String>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    /// Scripted bodies (always HTTP 200, as Viber answers), FIFO per method.
    failures: HashMap<String, VecDeque<String>>,
    webhook: Option<ViberWebhook>,
    route: Option<WebhookRoute>,
    next_message_token: u64,
    next_event_token: u64,
    sent: Vec<SentViberMessage>,
    /// Users seen in callbacks, for `get_user_details`.
    users: HashMap<String, ViberUser>,
    /// Users who unsubscribed: `send_message` to them answers status 6.
    unsubscribed: HashSet<String>,
    media: MediaFiles,
    /// Whether `send_message` fetches its `media` link, as Viber does.
    fetch_media: bool,
}

impl State {
    /// Remembers what Viber would know from a callback it sends.
    fn note_event(&mut self, event: &Value) {
        for key in ["sender", "user"] {
            if let Some(user) = event.get(key) {
                if let (Some(id), Some(name)) = (
                    user.get("id").and_then(Value::as_str),
                    user.get("name").and_then(Value::as_str),
                ) {
                    let mut known = ViberUser::new(id, name);
                    known.avatar = user
                        .get("avatar")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    self.users.insert(id.to_string(), known);
                }
            }
        }
        let user_id = event
            .pointer("/sender/id")
            .or_else(|| event.pointer("/user/id"))
            .or_else(|| event.get("user_id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(user_id) = user_id else { return };
        match event.get("event").and_then(Value::as_str) {
            // A user's message subscribes them, without a `subscribed` callback.
            Some("message" | "subscribed") => {
                self.unsubscribed.remove(&user_id);
            }
            Some("unsubscribed") => {
                self.unsubscribed.insert(user_id);
            }
            _ => {}
        }
    }

    fn take_event_token(&mut self) -> u64 {
        let token = self.next_event_token;
        self.next_event_token += 1;
        token
    }
}

impl FakeViber {
    /// Starts the fake on 127.0.0.1 with a free port.
    pub fn start(token: &str) -> FakeViber {
        FakeViber::start_on("127.0.0.1:0", token)
            .expect("the fake Viber server can listen on 127.0.0.1")
    }

    /// Starts the fake on `addr` (for example `127.0.0.1:8082`).
    pub fn start_on(addr: &str, token: &str) -> io::Result<FakeViber> {
        let shared = Arc::new(Shared {
            token: Mutex::new(token.to_string()),
            base_url: Mutex::new(String::new()),
            state: Mutex::new(State {
                next_message_token: FIRST_MESSAGE_TOKEN,
                next_event_token: FIRST_EVENT_TOKEN,
                ..State::default()
            }),
        });
        let server = {
            let shared = Arc::clone(&shared);
            BackgroundServer::start(addr, move |request| shared.serve(request))?
        };
        *shared
            .base_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = server.base_url();
        Ok(FakeViber { shared, server })
    }

    /// `http://127.0.0.1:PORT`: what the main crate puts in `providers.viber.api_base`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The auth token this fake accepts.
    pub fn token(&self) -> String {
        self.shared.token()
    }

    /// Issues a new token, as the partners panel does: the old one stops working at once and
    /// callbacks are signed with the new one.
    pub fn rotate_token(&self, token: &str) {
        *self
            .shared
            .token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = token.to_string();
    }

    /// Every API call so far (`/pa/...`), in order; media downloads are not recorded.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Calls of API method `method` (`send_message`), whatever token they carried.
    pub fn calls(&self, method: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|request| api_method(&request.path) == Some(method))
            .cloned()
            .collect()
    }

    /// The next call to `method` is answered with this body (HTTP 200, as Viber answers
    /// errors), e.g. the fixture `{"status":12,"status_message":"Too many requests",...}`.
    pub fn fail_next(&self, method: &str, body: &str) {
        self.shared
            .lock()
            .failures
            .entry(method.to_string())
            .or_default()
            .push_back(body.to_string());
    }

    /// The registered webhook (None before `set_webhook` and after it was given an empty URL).
    pub fn webhook(&self) -> Option<ViberWebhook> {
        self.shared.lock().webhook.clone()
    }

    /// Delivers webhook requests to `route` instead of over HTTP: tests hand them to the
    /// library in-process, since the registered URL is the public one.
    pub fn route_webhooks(
        &self,
        route: impl Fn(&WebhookDelivery) -> io::Result<(u16, String)> + Send + Sync + 'static,
    ) {
        self.shared.lock().route = Some(Arc::new(route));
    }

    /// Serves `bytes` at `<base>/media/<n>/<name>` and returns that URL (Viber's media URLs end
    /// with the file name, as these do).
    pub fn add_media(&self, name: &str, mime: &str, bytes: Vec<u8>) -> String {
        let base_url = self.base_url();
        self.shared.lock().media.add(&base_url, name, mime, bytes)
    }

    /// The signature Viber puts on a callback body.
    pub fn sign(&self, body: &[u8]) -> String {
        sign(&self.shared.token(), body)
    }

    /// POSTs `event` (compact JSON, signed) to the registered webhook as Viber does; returns
    /// the webhook's status and body. The fake learns the users and subscriptions it carries.
    pub fn post_event(&self, event: &Value) -> io::Result<(u16, String)> {
        self.post_raw(event.to_string().as_bytes())
    }

    /// POSTs `body` byte-exact and signed to the registered webhook (fixtures, redeliveries).
    pub fn post_raw(&self, body: &[u8]) -> io::Result<(u16, String)> {
        if let Ok(event) = serde_json::from_slice::<Value>(body) {
            self.shared.lock().note_event(&event);
        }
        let Some(webhook) = self.webhook() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no webhook is registered (set_webhook was not called)",
            ));
        };
        self.shared.deliver(&webhook.url, body)
    }

    /// The messages the bot sent to `receiver`, oldest first.
    pub fn sent_messages(&self, receiver: &str) -> Vec<SentViberMessage> {
        self.shared
            .lock()
            .sent
            .iter()
            .filter(|m| m.receiver == receiver)
            .cloned()
            .collect()
    }

    /// Makes `send_message` fetch the `media` link of pictures, videos and files it sends, as
    /// Viber's servers do; see [`SentViberMessage::fetched`].
    pub fn fetch_media(&self, on: bool) {
        self.shared.lock().fetch_media = on;
    }

    /// Makes `send_message` to this user answer status 6 (not subscribed), as after they
    /// unsubscribed; a message from them or `subscribed` undoes it.
    pub fn unsubscribe(&self, user_id: &str) {
        self.shared.lock().unsubscribed.insert(user_id.to_string());
    }

    // --- callbacks as Viber builds them --------------------------------------------------------

    /// A `message` callback from `user` with the given `message` object.
    pub fn message_event(&self, user: &ViberUser, message: Value) -> Value {
        let token = self.shared.lock().take_event_token();
        json!({
            "event": "message", "timestamp": now_millis(), "chat_hostname": "SN-CHAT-03_",
            "message_token": token, "sender": user, "message": message, "silent": false,
        })
    }

    pub fn text_event(&self, user: &ViberUser, text: &str) -> Value {
        self.message_event(user, json!({"type": "text", "text": text}))
    }

    /// A picture the user sent: the bytes are served by the fake under `name`.
    pub fn picture_event(&self, user: &ViberUser, name: &str, bytes: Vec<u8>, text: &str) -> Value {
        let size = bytes.len();
        let media = self.add_media(name, "image/jpeg", bytes);
        self.message_event(
            user,
            json!({"type": "picture", "text": text, "media": media, "thumbnail": media,
                   "file_name": name, "size": size}),
        )
    }

    /// A file the user sent (older clients and the SDKs have this type).
    pub fn file_event(&self, user: &ViberUser, name: &str, mime: &str, bytes: Vec<u8>) -> Value {
        let size = bytes.len();
        let media = self.add_media(name, mime, bytes);
        self.message_event(
            user,
            json!({"type": "file", "media": media, "file_name": name, "size": size}),
        )
    }

    pub fn subscribed_event(&self, user: &ViberUser) -> Value {
        let token = self.shared.lock().take_event_token();
        json!({"event": "subscribed", "timestamp": now_millis(), "chat_hostname": "SN-CHAT-03_",
               "user": user, "message_token": token})
    }

    pub fn unsubscribed_event(&self, user_id: &str) -> Value {
        let token = self.shared.lock().take_event_token();
        json!({"event": "unsubscribed", "timestamp": now_millis(), "chat_hostname": "SN-CHAT-03_",
               "user_id": user_id, "message_token": token})
    }

    pub fn conversation_started_event(&self, user: &ViberUser, context: Option<&str>) -> Value {
        let token = self.shared.lock().take_event_token();
        let mut event = json!({"event": "conversation_started", "timestamp": now_millis(),
            "chat_hostname": "SN-CHAT-03_", "message_token": token, "type": "open",
            "user": user, "subscribed": false});
        if let Some(context) = context {
            event["context"] = Value::String(context.to_string());
        }
        event
    }

    /// `delivered` / `seen` of one of the bot's messages.
    pub fn receipt_event(&self, event: &str, message_token: u64, user_id: &str) -> Value {
        json!({"event": event, "timestamp": now_millis(), "chat_hostname": "SN-CHAT-05_",
               "message_token": message_token, "user_id": user_id})
    }

    pub fn failed_event(&self, message_token: u64, user_id: &str, desc: &str) -> Value {
        json!({"event": "failed", "timestamp": now_millis(), "chat_hostname": "SN-CHAT-05_",
               "message_token": message_token, "user_id": user_id, "desc": desc})
    }
}

impl Shared {
    fn token(&self) -> String {
        self.token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler thread must not take the whole fake down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn serve(&self, mut request: tiny_http::Request) {
        let recorded = match RecordedRequest::read_from(&mut request) {
            Ok(recorded) => recorded,
            Err(err) => {
                let _ = request.respond(raw_response(
                    400,
                    "text/plain",
                    err.to_string().into_bytes(),
                ));
                return;
            }
        };
        let response = if let Some(method) = api_method(&recorded.path) {
            self.lock().requests.push(recorded.clone());
            let body = self.api(method, &recorded);
            raw_response(200, "application/json", body.into_bytes())
        } else if let Some(path) = recorded.path.strip_prefix("/media/") {
            self.lock().media.response(path)
        } else {
            raw_response(404, "text/plain", b"Not Found".to_vec())
        };
        let _ = request.respond(response);
    }

    /// One API call: the scripted answer, the token check, then the method.
    fn api(&self, method: &str, request: &RecordedRequest) -> String {
        if let Some(body) = self
            .lock()
            .failures
            .get_mut(method)
            .and_then(VecDeque::pop_front)
        {
            return body;
        }
        match request.header(AUTH_HEADER) {
            None => return api::error(2, "Missing auth token"),
            Some(token) if token != self.token() => return api::error(2, "invalidAuthToken"),
            Some(_) => {}
        }
        let Some(body) = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .filter(Value::is_object)
        else {
            return api::error(3, "badData");
        };
        match method {
            "set_webhook" => self.set_webhook(&body),
            "send_message" => {
                let answer = api::call(&mut self.lock(), "send_message", &body);
                self.fetch_sent_media(&answer, &body);
                answer
            }
            other => api::call(&mut self.lock(), other, &body),
        }
    }

    /// Fetches a sent message's `media` link like Viber's servers (no lock held meanwhile: the
    /// link may lead back to the library) and records what came.
    fn fetch_sent_media(&self, answer: &str, body: &Value) {
        let Some(url) = body.get("media").and_then(Value::as_str) else {
            return;
        };
        let token = serde_json::from_str::<Value>(answer)
            .ok()
            .filter(|a| a["status"] == 0)
            .and_then(|a| a["message_token"].as_u64());
        let Some(token) = token.filter(|_| self.lock().fetch_media) else {
            return;
        };
        let fetched = fetch(url);
        if let Some(sent) = self
            .lock()
            .sent
            .iter_mut()
            .find(|m| m.message_token == token)
        {
            sent.fetched = Some(fetched);
        }
    }

    /// Viber POSTs the `webhook` event to the URL while `set_webhook` runs and answers only
    /// after it got 200; the state lock is not held meanwhile (the receiver may call back).
    fn set_webhook(&self, body: &Value) -> String {
        let url = body.get("url").and_then(Value::as_str).unwrap_or_default();
        if url.is_empty() {
            self.lock().webhook = None;
            return api::ok_with_event_types(&[]);
        }
        // The real API wants HTTPS; the fake also takes plain HTTP so loopback tests can receive.
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return api::error(1, "invalidUrl");
        }
        let event_types: Vec<String> = match body.get("event_types") {
            None | Some(Value::Null) => ALL_EVENT_TYPES.iter().map(|s| s.to_string()).collect(),
            Some(Value::Array(list)) => {
                let names: Option<Vec<String>> = list
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                match names {
                    Some(names) if names.iter().all(|n| ALL_EVENT_TYPES.contains(&n.as_str())) => {
                        names
                    }
                    _ => return api::error(3, "badData"),
                }
            }
            Some(_) => return api::error(3, "badData"),
        };
        let check = {
            let mut state = self.lock();
            json!({"event": "webhook", "timestamp": now_millis(), "chat_hostname": "SN-372_",
                   "message_token": state.take_event_token()})
        };
        match self.deliver(url, check.to_string().as_bytes()) {
            Ok((200, _)) => {}
            Ok((status, _)) => {
                return api::error(1, &format!("Result[HttpResponse({status})]"));
            }
            Err(err) => return api::error(1, &format!("Result[{err}]")),
        }
        let flag = |name: &str| body.get(name).and_then(Value::as_bool).unwrap_or(false);
        self.lock().webhook = Some(ViberWebhook {
            url: url.to_string(),
            event_types: event_types.clone(),
            send_name: flag("send_name"),
            send_photo: flag("send_photo"),
        });
        api::ok_with_event_types(&event_types)
    }

    /// POSTs a signed callback like Viber: compact JSON, `Content-Type: application/json`.
    fn deliver(&self, url: &str, body: &[u8]) -> io::Result<(u16, String)> {
        let delivery = WebhookDelivery {
            url: url.to_string(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (SIGNATURE_HEADER.into(), sign(&self.token(), body)),
            ],
            body: body.to_vec(),
        };
        let route = self.lock().route.clone();
        send_webhook(&delivery, route.as_ref())
    }
}

/// Lower-case hex HMAC-SHA256 of `body` keyed with the bot token.
pub fn sign(token: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// GETs a media link without a proxy from the environment: the bytes of a 200, else why not.
fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(15)))
        .build()
        .new_agent();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    if status == 200 {
        Ok(bytes)
    } else {
        Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        ))
    }
}

/// `/pa/<method>` -> `<method>`.
fn api_method(path: &str) -> Option<&str> {
    path.strip_prefix("/pa/")
        .filter(|m| !m.is_empty() && !m.contains('/'))
}

/// Milliseconds since the Unix epoch, as Viber's `timestamp` fields.
fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}
