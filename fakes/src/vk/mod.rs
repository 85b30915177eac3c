//! A fake VK API (v5.199) on 127.0.0.1 for a community (group) token.
//!
//! - `/method/<name>` answers like `https://api.vk.com/method/<name>`: HTTP 200 with
//!   `{"response": ...}`, or HTTP 200 with `{"error": {"error_code", "error_msg",
//!   "request_params"}}` (VK reports API errors in the body, never in the status);
//! - `/<server>/upload.php?act=...` plays VK's upload servers (`upload_url` of
//!   `photos.getMessagesUploadServer` / `docs.getMessagesUploadServer`): their answers are raw
//!   JSON, not wrapped in `response`;
//! - any other `GET` serves a file registered with [`FakeVk::add_file`] or uploaded earlier
//!   (VK's `userapi.com` / `vk.com/doc` links; rewrite fixture links with [`FakeVk::localize`]);
//! - the fake plays VK's Callback API: it POSTs events to the callback server registered with
//!   `groups.addCallbackServer`, with that server's `secret` in the body, and retries with
//!   `X-Retry-Counter` while the answer is not exactly `ok`.

mod api;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::http::{random_u64, raw_response, BackgroundServer, RecordedRequest};

/// The community of the shared fixture set (`/work/shared/fixtures/vk`).
pub const GROUP_ID: i64 = 218734561;
/// The community token of the shared fixture set.
pub const FIXTURE_TOKEN: &str = "vk1.a.SHARED-fake-community-token-0123456789abcdef";
/// The callback secret of the shared fixture set.
pub const FIXTURE_SECRET: &str = "vkShrd7Qp2Lm9Xc4";
/// The confirmation code of the shared fixture set.
pub const CONFIRMATION_CODE: &str = "a7c3e91f";
/// The API version the fixtures (and crmchats) speak.
pub const API_VERSION: &str = "5.199";
/// Header VK adds to re-deliveries of a callback event.
pub const RETRY_COUNTER_HEADER: &str = "X-Retry-Counter";
/// Peers from this id up are group chats (`2000000000 + chat_id`).
pub const CHAT_PEER_BASE: i64 = 2_000_000_000;

/// How many times VK delivers an event whose answer is not `ok` (the first try included).
const MAX_DELIVERY_ATTEMPTS: u32 = 5;
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);
/// Callback answers are kept for display only; longer ones are cut.
const MAX_WEBHOOK_BODY: u64 = 64 * 1024;
const FIRST_MESSAGE_ID: i64 = 1519;
const FIRST_SERVER_ID: i64 = 4;
const FIRST_PHOTO_ID: i64 = 457_239_021;
const FIRST_DOC_ID: i64 = 671_203_551;

/// A callback server as `groups.getCallbackServers` lists it, plus its event settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackServer {
    pub id: i64,
    pub title: String,
    pub url: String,
    pub secret_key: String,
    /// `unconfigured` until a confirmation round trip succeeds, then `ok` (or `failed`).
    pub status: String,
    /// From `groups.setCallbackSettings`.
    pub api_version: Option<String>,
    /// Event flags set with `groups.setCallbackSettings` (`message_new` → true...).
    pub events: BTreeMap<String, bool>,
}

/// A message the community sent (`messages.send`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentVkMessage {
    pub id: i64,
    pub conversation_message_id: i64,
    pub peer_id: i64,
    pub random_id: i64,
    pub text: String,
    /// `photo-218734561_457239021_<access_key>`, `doc-218734561_671203551` ...
    pub attachments: Vec<String>,
    pub date: i64,
    pub deleted_for_all: bool,
}

/// A VK user profile (`users.get`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VkUser {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub screen_name: Option<String>,
    pub photo_200: Option<String>,
}

/// A file stored by an upload (photo or document) and saved with `photos.saveMessagesPhoto` /
/// `docs.save`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFile {
    pub owner_id: i64,
    pub id: i64,
    pub access_key: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// One callback delivery attempt and what our side answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: Option<String>,
    pub retry_counter: Option<u32>,
    pub answer: Result<(u16, String), String>,
}

/// The fake VK API. Runs on a background thread and stops on drop.
pub struct FakeVk {
    shared: Arc<Shared>,
    server: BackgroundServer,
}

struct Shared {
    token: String,
    base_url: OnceLock<String>,
    state: Mutex<State>,
}

#[derive(Clone, Debug)]
enum UploadKind {
    Photo,
    Doc,
}

/// An upload URL handed out, and the file posted to it.
#[derive(Clone, Debug)]
struct UploadSlot {
    kind: UploadKind,
    file: Option<(Option<String>, Option<String>, Vec<u8>)>,
}

struct State {
    requests: Vec<RecordedRequest>,
    failures: HashMap<String, VecDeque<(u16, String)>>,
    delays: HashMap<String, VecDeque<Duration>>,
    group: Value,
    confirmation_code: String,
    servers: Vec<CallbackServer>,
    users: BTreeMap<i64, VkUser>,
    /// Users who denied messages from the community (`messages.send` answers 901).
    denied: HashSet<i64>,
    messages: Vec<SentVkMessage>,
    /// Message objects users sent (from delivered `message_new` events or `remember_message`),
    /// for `messages.getById`.
    received: BTreeMap<i64, Value>,
    /// Upload slots by the `hash` of their URL.
    uploads: HashMap<String, UploadSlot>,
    /// Saved photos and documents by attachment key (`photo-1_2`, `doc-1_2`).
    saved: BTreeMap<String, SavedFile>,
    /// Downloadable files by URL path.
    files: HashMap<String, (String, Vec<u8>)>,
    deliveries: Vec<Delivery>,
    next_message_id: i64,
    next_server_id: i64,
    next_photo_id: i64,
    next_doc_id: i64,
    next_conversation_message_id: HashMap<i64, i64>,
}

impl State {
    fn new() -> State {
        let group = fixture_response(include_str!(
            "../../../tests/fixtures/vk/api/groups.getById_ok.json"
        ));
        let users = fixture_response(include_str!(
            "../../../tests/fixtures/vk/api/users.get_ok.json"
        ))
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(user_from_json)
        .map(|user| (user.id, user))
        .collect();
        State {
            requests: Vec::new(),
            failures: HashMap::new(),
            delays: HashMap::new(),
            group: group["groups"][0].clone(),
            confirmation_code: fixture_response(include_str!(
                "../../../tests/fixtures/vk/api/groups.getCallbackConfirmationCode_ok.json"
            ))["code"]
                .as_str()
                .unwrap_or(CONFIRMATION_CODE)
                .to_string(),
            servers: Vec::new(),
            users,
            denied: HashSet::new(),
            messages: Vec::new(),
            received: BTreeMap::new(),
            uploads: HashMap::new(),
            saved: BTreeMap::new(),
            files: HashMap::new(),
            deliveries: Vec::new(),
            next_message_id: FIRST_MESSAGE_ID,
            next_server_id: FIRST_SERVER_ID,
            next_photo_id: FIRST_PHOTO_ID,
            next_doc_id: FIRST_DOC_ID,
            next_conversation_message_id: HashMap::new(),
        }
    }

    fn remember(&mut self, message: &Value) {
        if let Some(id) = message.get("id").and_then(Value::as_i64) {
            self.received.insert(id, message.clone());
        }
    }

    fn take_message_id(&mut self, peer_id: i64) -> (i64, i64) {
        let id = self.next_message_id;
        self.next_message_id += 1;
        let conversation = self
            .next_conversation_message_id
            .entry(peer_id)
            .or_insert(1);
        let cmid = *conversation;
        *conversation += 1;
        (id, cmid)
    }
}

/// The `response` of a fixture file.
fn fixture_response(text: &str) -> Value {
    serde_json::from_str::<Value>(text)
        .map(|v| v["response"].clone())
        .unwrap_or(Value::Null)
}

fn user_from_json(v: &Value) -> Option<VkUser> {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    Some(VkUser {
        id: v.get("id")?.as_i64()?,
        first_name: text("first_name").unwrap_or_default(),
        last_name: text("last_name").unwrap_or_default(),
        screen_name: text("screen_name"),
        photo_200: text("photo_200"),
    })
}

impl FakeVk {
    /// Starts the fake on 127.0.0.1 with a free port.
    pub fn start(token: &str) -> FakeVk {
        FakeVk::start_on("127.0.0.1:0", token).expect("the fake VK server can listen on 127.0.0.1")
    }

    /// Starts the fake on `addr` (for example `127.0.0.1:8082`), e.g. for a demo binary.
    pub fn start_on(addr: &str, token: &str) -> io::Result<FakeVk> {
        let shared = Arc::new(Shared {
            token: token.to_string(),
            base_url: OnceLock::new(),
            state: Mutex::new(State::new()),
        });
        let server = {
            let shared = Arc::clone(&shared);
            BackgroundServer::start(addr, move |request| shared.serve(request))?
        };
        let _ = shared.base_url.set(server.base_url());
        Ok(FakeVk { shared, server })
    }

    /// `http://127.0.0.1:PORT`: what crmchats puts in `providers.vk.api_base`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Every request (API methods, uploads, downloads), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests to API method `method` (`messages.send`; case-insensitive).
    pub fn calls(&self, method: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| method_of(&r.path).is_some_and(|m| m.eq_ignore_ascii_case(method)))
            .cloned()
            .collect()
    }

    /// The next call to `method` gets VK's error `code` (HTTP 200, `{"error": ...}`) with VK's
    /// usual wording for it. FIFO per method.
    pub fn fail_next(&self, method: &str, code: i64) {
        let body = api::error_body(code, &api::error_message(code), method, &[]);
        self.fail_next_raw(method, 200, &body.to_string());
    }

    /// The next call to `method` gets exactly this status and body (`application/json`), e.g.
    /// a fixture error file or a 502 from VK's front. FIFO per method.
    pub fn fail_next_raw(&self, method: &str, status: u16, body: &str) {
        self.shared
            .lock()
            .failures
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back((status, body.to_string()));
    }

    /// The next call to `method` sleeps this long before it is answered. FIFO per method.
    pub fn delay_next(&self, method: &str, delay: Duration) {
        self.shared
            .lock()
            .delays
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(delay);
    }

    /// The callback servers of the community, as `groups.getCallbackServers` lists them.
    pub fn callback_servers(&self) -> Vec<CallbackServer> {
        self.shared.lock().servers.clone()
    }

    /// Adds a callback server as if an admin had added it by hand in the community settings.
    pub fn add_callback_server(&self, url: &str, title: &str, secret_key: &str) -> i64 {
        let mut state = self.shared.lock();
        api::add_server(&mut state, url, title, secret_key)
    }

    /// Makes the fake know a message a user wrote (a `message_new` object), as if it had been
    /// delivered through it: `messages.getById` then answers for it.
    pub fn remember_message(&self, message: &Value) {
        self.shared.lock().remember(message);
    }

    /// Removes a callback server as an admin would in the community settings; true when it was
    /// there.
    pub fn remove_callback_server(&self, server_id: i64) -> bool {
        let mut state = self.shared.lock();
        let before = state.servers.len();
        state.servers.retain(|s| s.id != server_id);
        state.servers.len() != before
    }

    /// Changes what `groups.getCallbackConfirmationCode` answers.
    pub fn set_confirmation_code(&self, code: &str) {
        self.shared.lock().confirmation_code = code.to_string();
    }

    /// Adds (or replaces) a user `users.get` knows.
    pub fn add_user(&self, user: VkUser) {
        self.shared.lock().users.insert(user.id, user);
    }

    /// The user denies (or allows again) messages from the community: `messages.send` to them
    /// answers error 901 while denied.
    pub fn set_messages_denied(&self, user_id: i64, denied: bool) {
        let mut state = self.shared.lock();
        if denied {
            state.denied.insert(user_id);
        } else {
            state.denied.remove(&user_id);
        }
    }

    /// Serves `bytes` at `path` (`/impg/.../x.jpg`; any query string is ignored); returns the
    /// full URL.
    pub fn add_file(&self, path: &str, content_type: &str, bytes: Vec<u8>) -> String {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        self.shared
            .lock()
            .files
            .insert(path.clone(), (content_type.to_string(), bytes));
        format!("{}{path}", self.base_url())
    }

    /// Rewrites VK's file links (`https://*.userapi.com/...`, `https://vk.com/doc...`) in a
    /// fixture body to this fake, so the files can be downloaded from it. VK does not sign
    /// callbacks, so the rewritten body is as authentic as the original.
    pub fn localize(&self, body: &str) -> String {
        localize_urls(body, &self.base_url())
    }

    /// The messages the community sent to `peer_id`, oldest first, without deleted ones.
    pub fn sent_messages(&self, peer_id: i64) -> Vec<SentVkMessage> {
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|m| m.peer_id == peer_id && !m.deleted_for_all)
            .cloned()
            .collect()
    }

    /// Every message the community sent, deleted ones included.
    pub fn all_sent_messages(&self) -> Vec<SentVkMessage> {
        self.shared.lock().messages.clone()
    }

    /// The photo or document behind an attachment string (`photo-1_2_key`, `doc-1_2`).
    pub fn saved_file(&self, attachment: &str) -> Option<SavedFile> {
        self.shared
            .lock()
            .saved
            .get(&api::attachment_key(attachment))
            .cloned()
    }

    /// Every callback delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// POSTs `body` byte-exact to the first callback server, once, with `X-Retry-Counter` when
    /// `retry_counter` is given; returns our side's status and body.
    pub fn post_raw(&self, body: &[u8], retry_counter: Option<u32>) -> io::Result<(u16, String)> {
        let server = self.first_server()?;
        self.shared.deliver(&server.url, body, retry_counter)
    }

    /// Delivers `body` like VK: again with `X-Retry-Counter: 1, 2...` while the answer is not
    /// HTTP 200 with exactly `ok`, at most 5 attempts. Returns every answer.
    pub fn deliver_with_retries(&self, body: &[u8]) -> io::Result<Vec<(u16, String)>> {
        let server = self.first_server()?;
        let mut answers = Vec::new();
        for attempt in 0..MAX_DELIVERY_ATTEMPTS {
            let counter = (attempt > 0).then_some(attempt);
            let answer = self.shared.deliver(&server.url, body, counter)?;
            let done = answer.0 == 200 && answer.1 == "ok";
            answers.push(answer);
            if done {
                break;
            }
        }
        Ok(answers)
    }

    /// Builds a callback event for the first server (`group_id`, fresh `event_id`, `v`,
    /// `object`, the server's `secret`) and posts it once; returns (event body, answer).
    pub fn post_event(&self, kind: &str, object: Value) -> io::Result<(String, (u16, String))> {
        let server = self.first_server()?;
        let body = event_body(&server, kind, Some(object));
        let answer = self.shared.deliver(&server.url, body.as_bytes(), None)?;
        Ok((body, answer))
    }

    /// A user writes to the community: posts `message_new` with a fresh message id; returns
    /// the message object and our side's answer.
    pub fn user_writes(&self, user_id: i64, text: &str) -> io::Result<(Value, (u16, String))> {
        let message = {
            let mut state = self.shared.lock();
            let (id, cmid) = state.take_message_id(user_id);
            json!({"date": unix_now(), "from_id": user_id, "id": id, "out": 0, "version": id * 7,
                "attachments": [], "conversation_message_id": cmid, "fwd_messages": [],
                "important": false, "is_hidden": false, "peer_id": user_id, "random_id": 0,
                "text": text})
        };
        let object = json!({"message": message, "client_info": api::client_info()});
        let (_, answer) = self.post_event("message_new", object)?;
        Ok((message, answer))
    }

    /// VK echoes a message the community sent (`message_reply`, the message object itself).
    pub fn echo_sent(&self, message_id: i64) -> io::Result<(u16, String)> {
        let sent = self
            .shared
            .lock()
            .messages
            .iter()
            .find(|m| m.id == message_id)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such sent message"))?;
        let object = json!({"date": sent.date, "from_id": -GROUP_ID, "id": sent.id, "out": 1,
            "version": sent.id * 7, "attachments": [], "conversation_message_id": sent.conversation_message_id,
            "fwd_messages": [], "important": false, "is_hidden": false, "peer_id": sent.peer_id,
            "random_id": sent.random_id, "text": sent.text});
        self.post_event("message_reply", object)
            .map(|(_, answer)| answer)
    }

    /// Plays VK's server confirmation: posts `confirmation` to server `server_id` and marks it
    /// `ok` when the answer is exactly the confirmation code, `failed` otherwise. Returns
    /// whether it was confirmed.
    pub fn confirm_server(&self, server_id: i64) -> io::Result<bool> {
        let (server, code) = {
            let state = self.shared.lock();
            let server = state.servers.iter().find(|s| s.id == server_id).cloned();
            (server, state.confirmation_code.clone())
        };
        let server =
            server.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such server"))?;
        let body = event_body(&server, "confirmation", None);
        let (status, answer) = self.shared.deliver(&server.url, body.as_bytes(), None)?;
        let confirmed = status == 200 && answer == code;
        if let Some(s) = self
            .shared
            .lock()
            .servers
            .iter_mut()
            .find(|s| s.id == server_id)
        {
            s.status = if confirmed { "ok" } else { "failed" }.to_string();
        }
        Ok(confirmed)
    }

    fn first_server(&self) -> io::Result<CallbackServer> {
        self.shared.lock().servers.first().cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no callback server is registered (groups.addCallbackServer was not called)",
            )
        })
    }
}

/// A callback envelope in VK's field order.
fn event_body(server: &CallbackServer, kind: &str, object: Option<Value>) -> String {
    let mut body = serde_json::Map::new();
    body.insert("group_id".into(), json!(GROUP_ID));
    body.insert("type".into(), json!(kind));
    body.insert(
        "event_id".into(),
        json!(format!(
            "{:016x}{:016x}{:08x}",
            random_u64(),
            random_u64(),
            random_u64() as u32
        )),
    );
    body.insert(
        "v".into(),
        json!(server.api_version.as_deref().unwrap_or(API_VERSION)),
    );
    if let Some(object) = object {
        body.insert("object".into(), object);
    }
    body.insert("secret".into(), json!(server.secret_key));
    Value::Object(body).to_string()
}

/// Replaces `https://<host>` of VK file hosts with `base`.
fn localize_urls(body: &str, base: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("https://") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "https://".len()..];
        let host_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(after.len());
        let host = &after[..host_end];
        if host.ends_with(".userapi.com") || host == "vk.com" || host.ends_with(".vk.com") {
            out.push_str(base);
        } else {
            out.push_str("https://");
            out.push_str(host);
        }
        rest = &after[host_end..];
    }
    out.push_str(rest);
    out
}

/// `messages.send` from `/method/messages.send`.
fn method_of(path: &str) -> Option<&str> {
    let name = path.strip_prefix("/method/")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    fn serve(&self, mut request: tiny_http::Request) {
        let recorded = match RecordedRequest::read_from(&mut request) {
            Ok(recorded) => recorded,
            Err(err) => {
                let _ = request.respond(raw_response(
                    400,
                    "text/plain",
                    format!("bad request: {err}").into_bytes(),
                ));
                return;
            }
        };
        self.lock().requests.push(recorded.clone());
        let response = if let Some(method) = method_of(&recorded.path) {
            self.api(method, &recorded)
        } else if recorded.path.ends_with("/upload.php") && recorded.method == "POST" {
            let (status, body) = api::upload(&mut self.lock(), &recorded);
            raw_response(status, "application/json", body.to_string().into_bytes())
        } else {
            let state = self.lock();
            match state.files.get(&recorded.path) {
                Some((content_type, bytes)) => raw_response(200, content_type, bytes.clone()),
                None => raw_response(404, "text/html", b"<h1>404 Not Found</h1>".to_vec()),
            }
        };
        let _ = request.respond(response);
    }

    fn api(
        &self,
        method: &str,
        request: &RecordedRequest,
    ) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
        let key = method.to_ascii_lowercase();
        let (delay, scripted) = {
            let mut state = self.lock();
            let delay = state.delays.get_mut(&key).and_then(VecDeque::pop_front);
            let scripted = state.failures.get_mut(&key).and_then(VecDeque::pop_front);
            (delay, scripted)
        };
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        if let Some((status, body)) = scripted {
            return raw_response(status, "application/json", body.into_bytes());
        }
        let body = api::call(
            &mut self.lock(),
            &self.token,
            &self.base_url(),
            method,
            request,
        );
        raw_response(200, "application/json", body.to_string().into_bytes())
    }

    /// POSTs a callback like VK: compact JSON, `Content-Type: application/json`.
    fn deliver(
        &self,
        url: &str,
        body: &[u8],
        retry_counter: Option<u32>,
    ) -> io::Result<(u16, String)> {
        let agent = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(WEBHOOK_TIMEOUT))
            .max_redirects(0)
            .build()
            .new_agent();
        let mut post = agent.post(url).header("Content-Type", "application/json");
        if let Some(counter) = retry_counter {
            post = post.header(RETRY_COUNTER_HEADER, &counter.to_string());
        }
        let event = serde_json::from_slice::<Value>(body).ok();
        let event_id = event.as_ref().and_then(|v| {
            v.get("event_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        // VK knows what users wrote: messages.getById answers for delivered messages.
        if let Some(message) = event
            .as_ref()
            .filter(|v| v.get("type").and_then(Value::as_str) == Some("message_new"))
            .and_then(|v| v.pointer("/object/message"))
        {
            self.lock().remember(message);
        }
        let answer = post
            .send(body)
            .map_err(io::Error::other)
            .map(|mut response| {
                let status = response.status().as_u16();
                let mut text = Vec::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(MAX_WEBHOOK_BODY)
                    .read_to_end(&mut text);
                (status, String::from_utf8_lossy(&text).into_owned())
            });
        self.lock().deliveries.push(Delivery {
            event_id,
            retry_counter,
            answer: answer.as_ref().map(Clone::clone).map_err(|e| e.to_string()),
        });
        answer
    }
}

/// Seconds since the Unix epoch, as VK's `date` fields.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
