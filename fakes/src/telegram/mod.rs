//! A fake Telegram Bot API on 127.0.0.1: `/bot<TOKEN>/<method>` answers in the real envelope
//! (`{"ok":true,"result":...}` or `{"ok":false,"error_code":N,"description":...}` with HTTP
//! status = error_code), `/file/bot<TOKEN>/<file_path>` serves downloads, and the fake plays
//! Telegram's side of webhooks by POSTing `Update`s to the URL given to `setWebhook`.
//! Every other path serves the demo page (see [`demo`]).

mod api;
pub mod demo;
mod files;
mod types;

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

use crate::http::{percent_decode, raw_response, BackgroundServer, RecordedRequest};
use types::Chat;

pub use demo::TelegramUser;

/// The bot token of the shared fixture set (`/work/shared/fixtures/telegram`).
pub const FIXTURE_TOKEN: &str = "7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE";
/// The webhook secret of the shared fixture set.
pub const FIXTURE_SECRET_TOKEN: &str = "tgShared_9fK2-wLq7Zx4";
pub const BOT_ID: i64 = 7311862940;
pub const BOT_FIRST_NAME: &str = "Северный ветер — поддержка";
pub const BOT_USERNAME: &str = "severny_veter_help_bot";

/// Header Telegram puts on every webhook request when `setWebhook` got a `secret_token`.
pub const SECRET_TOKEN_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// The first `message_id` the fake hands out.
const FIRST_MESSAGE_ID: i64 = 1000;
/// The first `update_id` of updates the fake builds itself.
const FIRST_UPDATE_ID: i64 = 700_000_001;
/// How long a webhook delivery may take before the fake gives up on it.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);
/// Webhook response bodies are kept for display only; longer ones are cut.
const MAX_WEBHOOK_BODY: u64 = 64 * 1024;

/// The last successful `setWebhook`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRegistration {
    pub url: String,
    pub secret_token: Option<String>,
    pub allowed_updates: Vec<String>,
}

/// A fake Telegram Bot API server. It runs on a background thread and stops on drop.
pub struct FakeTelegram {
    shared: Arc<Shared>,
    server: BackgroundServer,
}

struct Shared {
    token: String,
    state: Mutex<State>,
}

/// A file the fake knows: registered with `add_file`, uploaded by the bot, or sent by a
/// demo user.
#[derive(Clone, Debug)]
struct StoredFile {
    file_id: String,
    file_unique_id: String,
    file_path: String,
    mime_type: Option<String>,
    bytes: Arc<Vec<u8>>,
}

impl StoredFile {
    /// The file's bytes with its type and a `Content-Length`.
    fn response(&self) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
        let mime = self.mime_type.as_deref();
        raw_response(
            200,
            mime.unwrap_or("application/octet-stream"),
            self.bytes.as_ref().clone(),
        )
    }
}

/// One message of a private chat, for `deleteMessage` and the demo transcript.
#[derive(Clone, Debug)]
struct ChatEntry {
    chat_id: i64,
    message_id: i64,
    from_bot: bool,
    message: Value,
    deleted: bool,
    /// For messages from the user: the webhook's answer (status, body) or the delivery error.
    delivery: Option<Result<(u16, String), String>>,
}

/// Telegram's flood control as the fake plays it (bot FAQ: about 30 messages a second per bot,
/// one a second per chat with short bursts). Over it, a send is answered 429 with
/// `parameters.retry_after`, as the real API does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloodLimits {
    /// Sends accepted in any rolling second, across chats.
    pub per_bot_per_second: usize,
    /// Sends one chat may get at once before the per-chat interval applies.
    pub per_chat_burst: u32,
    pub per_chat_interval: Duration,
    /// Slack for network and scheduling jitter: a send this much early on the chat's pace still
    /// passes, and the per-bot count looks at the last second less this.
    pub jitter: Duration,
    /// What the 429 tells the bot to wait, in seconds.
    pub retry_after_secs: u64,
}

impl FloodLimits {
    pub const TELEGRAM: FloodLimits = FloodLimits {
        per_bot_per_second: 30,
        per_chat_burst: 3,
        per_chat_interval: Duration::from_secs(1),
        jitter: Duration::from_millis(250),
        retry_after_secs: 1,
    };
}

/// One send the flood control let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedSend {
    pub chat_id: i64,
    pub at: Instant,
}

/// The flood control's memory.
#[derive(Default)]
struct Flood {
    limits: Option<FloodLimits>,
    /// Accepted sends, oldest first (for the per-bot window and for tests).
    accepted: Vec<AcceptedSend>,
    /// Per chat: the theoretical arrival time of its next send (GCRA).
    chat_tat: HashMap<i64, Instant>,
    refused: Vec<i64>,
}

impl Flood {
    /// Whether a send to `chat_id` now is within the limits; an accepted one is counted.
    fn admit(&mut self, chat_id: i64, now: Instant) -> bool {
        let Some(limits) = self.limits else {
            self.accepted.push(AcceptedSend { chat_id, at: now });
            return true;
        };
        let window_start = now.checked_sub(Duration::from_secs(1).saturating_sub(limits.jitter));
        let in_window = self
            .accepted
            .iter()
            .rev()
            .take_while(|s| window_start.is_none_or(|start| s.at > start))
            .count();
        let tat = self.chat_tat.get(&chat_id).copied().unwrap_or(now).max(now);
        let next_tat = tat + limits.per_chat_interval;
        let allowance = limits.per_chat_interval * limits.per_chat_burst + limits.jitter;
        if in_window >= limits.per_bot_per_second || next_tat - now > allowance {
            self.refused.push(chat_id);
            return false;
        }
        self.chat_tat.insert(chat_id, next_tat);
        self.accepted.push(AcceptedSend { chat_id, at: now });
        true
    }
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    flood: Flood,
    failures: HashMap<String, VecDeque<(u16, String)>>,
    delays: HashMap<String, VecDeque<Duration>>,
    files: HashMap<String, StoredFile>,
    profile_photos: HashMap<i64, Vec<String>>,
    webhook: Option<WebhookRegistration>,
    next_message_id: i64,
    next_update_id: i64,
    next_file_number: u64,
    /// Chat objects seen in updates, so sent messages carry the chat as Telegram would.
    chats: HashMap<i64, Chat>,
    messages: Vec<ChatEntry>,
}

impl State {
    fn take_message_id(&mut self) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    fn take_update_id(&mut self) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        id
    }

    fn file_by_path(&self, file_path: &str) -> Option<&StoredFile> {
        self.files.values().find(|file| file.file_path == file_path)
    }

    /// The chat object for a message the bot sends to `chat_id`.
    fn chat(&self, chat_id: i64) -> Chat {
        self.chats.get(&chat_id).cloned().unwrap_or_else(|| Chat {
            id: chat_id,
            title: None,
            first_name: None,
            last_name: None,
            username: None,
            kind: if chat_id < 0 { "group" } else { "private" }.to_string(),
        })
    }

    /// Remembers chats and messages an update carries (Telegram knows what users wrote).
    fn note_update(&mut self, update: &Value) {
        for key in ["message", "edited_message", "my_chat_member"] {
            let chat = update.get(key).and_then(|m| m.get("chat"));
            if let Some(chat) = chat.and_then(|c| Chat::deserialize(c).ok()) {
                self.chats.insert(chat.id, chat);
            }
        }
        let Some(message) = update.get("message") else {
            return;
        };
        let chat_id = message.pointer("/chat/id").and_then(Value::as_i64);
        let message_id = message.get("message_id").and_then(Value::as_i64);
        if let (Some(chat_id), Some(message_id)) = (chat_id, message_id) {
            self.messages.push(ChatEntry {
                chat_id,
                message_id,
                from_bot: false,
                message: message.clone(),
                deleted: false,
                delivery: None,
            });
        }
    }
}

impl FakeTelegram {
    /// Starts the fake on 127.0.0.1 with a free port.
    pub fn start(token: &str) -> FakeTelegram {
        FakeTelegram::start_on("127.0.0.1:0", token)
            .expect("the fake Telegram server can listen on 127.0.0.1")
    }

    /// Starts the fake on `addr` (for example `127.0.0.1:8081`).
    pub fn start_on(addr: &str, token: &str) -> io::Result<FakeTelegram> {
        let shared = Arc::new(Shared {
            token: token.to_string(),
            state: Mutex::new(State {
                next_message_id: FIRST_MESSAGE_ID,
                next_update_id: FIRST_UPDATE_ID,
                next_file_number: 1,
                ..State::default()
            }),
        });
        let server = {
            let shared = Arc::clone(&shared);
            BackgroundServer::start(addr, move |request| shared.serve(request))?
        };
        Ok(FakeTelegram { shared, server })
    }

    /// `http://127.0.0.1:PORT`: what the main crate puts in `providers.telegram.api_base`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The bot token this fake accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Every request to `/bot...` and `/file/...` so far, in order (demo page traffic is not
    /// recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests to Bot API method `method` (case-insensitive), whatever token they carried.
    pub fn calls(&self, method: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|request| {
                bot_path(&request.path).is_some_and(|(_, name)| name.eq_ignore_ascii_case(method))
            })
            .cloned()
            .collect()
    }

    /// Queues a scripted answer: the next call to `method` gets this status and body
    /// (`Content-Type: application/json`) instead of its normal answer. FIFO per method.
    pub fn fail_next(&self, method: &str, status: u16, body: &str) {
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

    /// Turns on Telegram's flood control: sends over `limits` get a 429 with `retry_after`.
    pub fn enforce_flood_limits(&self, limits: FloodLimits) {
        self.shared.lock().flood.limits = Some(limits);
    }

    /// Sends the flood control let through (all sends when it is off), oldest first.
    pub fn accepted_sends(&self) -> Vec<AcceptedSend> {
        self.shared.lock().flood.accepted.clone()
    }

    /// Chats of the sends the flood control refused with a 429, in order.
    pub fn flood_refusals(&self) -> Vec<i64> {
        self.shared.lock().flood.refused.clone()
    }

    /// Registers a file: `getFile(file_id)` answers with it and
    /// `GET /file/bot<TOKEN>/<file_path>` serves `bytes`.
    pub fn add_file(&self, file_id: &str, file_path: &str, bytes: Vec<u8>) {
        let file = StoredFile {
            file_id: file_id.to_string(),
            file_unique_id: files::unique_id_for(file_id),
            file_path: file_path.to_string(),
            mime_type: files::mime_from_name(file_path).map(str::to_string),
            bytes: Arc::new(bytes),
        };
        self.shared.lock().files.insert(file_id.to_string(), file);
    }

    /// Adds a profile photo of `user_id` whose largest size is `file_id` (newest first, as
    /// `getUserProfilePhotos` lists them).
    pub fn add_profile_photo(&self, user_id: i64, file_id: &str) {
        self.shared
            .lock()
            .profile_photos
            .entry(user_id)
            .or_default()
            .insert(0, file_id.to_string());
    }

    /// The last `setWebhook` registration (`None` before it and after `deleteWebhook`).
    pub fn webhook(&self) -> Option<WebhookRegistration> {
        self.shared.lock().webhook.clone()
    }

    /// Makes the fake know the chats and messages of `update` (as if the user had written),
    /// without posting it anywhere: `getChat` then answers for that chat.
    pub fn remember_update(&self, update: &Value) {
        self.shared.lock().note_update(update);
    }

    /// POSTs `update` (compact JSON) to the registered webhook with the secret token header,
    /// as Telegram does; returns the webhook's status and body. The keys go out in
    /// `serde_json::Value` order (sorted); use [`FakeTelegram::post_update_raw`] for exact bytes.
    /// Fails with `ErrorKind::NotFound` when no webhook is registered.
    pub fn post_update(&self, update: &Value) -> io::Result<(u16, String)> {
        self.shared.lock().note_update(update);
        self.shared.deliver(update.to_string().as_bytes())
    }

    /// POSTs `body` byte-exact to the registered webhook (for fixture files and re-deliveries).
    pub fn post_update_raw(&self, body: &[u8]) -> io::Result<(u16, String)> {
        if let Ok(update) = serde_json::from_slice::<Value>(body) {
            self.shared.lock().note_update(&update);
        }
        self.shared.deliver(body)
    }

    /// The messages the bot sent to `chat_id` (sendMessage/sendPhoto/sendDocument results),
    /// oldest first, without deleted ones.
    pub fn sent_messages(&self, chat_id: i64) -> Vec<Value> {
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|entry| entry.from_bot && entry.chat_id == chat_id && !entry.deleted)
            .map(|entry| entry.message.clone())
            .collect()
    }

    /// The bytes of a file the fake knows (registered, uploaded by the bot or by a demo user).
    pub fn file_bytes(&self, file_id: &str) -> Option<Vec<u8>> {
        self.shared
            .lock()
            .files
            .get(file_id)
            .map(|file| file.bytes.as_ref().clone())
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
        let recorded = match RecordedRequest::read_from(&mut request) {
            Ok(recorded) => recorded,
            Err(err) => {
                let (status, body) = api::error(400, &format!("Bad Request: {err}"));
                let _ = request.respond(json_text(status, body));
                return;
            }
        };
        let response = if let Some((token, method)) = bot_path(&recorded.path) {
            self.bot_api(token, method, &recorded)
        } else if let Some(rest) = recorded.path.strip_prefix("/file/bot") {
            self.lock().requests.push(recorded.clone());
            self.download(rest)
        } else {
            demo::serve(self, &recorded)
        };
        let _ = request.respond(response);
    }

    fn bot_api(
        &self,
        token: &str,
        method: &str,
        request: &RecordedRequest,
    ) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
        let method = method.to_ascii_lowercase();
        let (delay, scripted) = {
            let mut state = self.lock();
            state.requests.push(request.clone());
            let delay = state.delays.get_mut(&method).and_then(VecDeque::pop_front);
            let scripted = state
                .failures
                .get_mut(&method)
                .and_then(VecDeque::pop_front);
            (delay, scripted)
        };
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        if let Some((status, body)) = scripted {
            return raw_response(status, "application/json", body.into_bytes());
        }
        if token != self.token {
            return json_text(401, api::error_body(401, "Unauthorized"));
        }
        let mut state = self.lock();
        if let Some(refusal) = api::flood_check(&mut state, &method, request) {
            let (status, body) = refusal;
            return json_text(status, body);
        }
        let (status, body) = api::call(&mut state, &method, request);
        json_text(status, body)
    }

    fn download(&self, rest: &str) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
        let not_found = || json_text(404, api::error_body(404, "Not Found"));
        let Some((token, file_path)) = rest.split_once('/') else {
            return not_found();
        };
        if token != self.token {
            return json_text(401, api::error_body(401, "Unauthorized"));
        }
        let file_path = percent_decode(file_path, false);
        let state = self.lock();
        match state.file_by_path(&file_path) {
            Some(file) => file.response(),
            None => not_found(),
        }
    }

    /// POSTs a webhook request like Telegram: compact JSON, `Content-Type: application/json`,
    /// the secret token header when one was set.
    fn deliver(&self, body: &[u8]) -> io::Result<(u16, String)> {
        let Some(webhook) = self.lock().webhook.clone() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no webhook is registered (setWebhook was not called)",
            ));
        };
        // No proxy from the environment: the webhook is a local receiver.
        let agent = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(WEBHOOK_TIMEOUT))
            .max_redirects(0)
            .build()
            .new_agent();
        let mut post = agent
            .post(&webhook.url)
            .header("Content-Type", "application/json");
        if let Some(secret) = &webhook.secret_token {
            post = post.header(SECRET_TOKEN_HEADER, secret);
        }
        let mut response = post.send(body).map_err(io::Error::other)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(MAX_WEBHOOK_BODY)
            .read_to_end(&mut body);
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// A compact JSON body that is already serialized.
fn json_text(status: u16, body: String) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
    raw_response(status, "application/json", body.into_bytes())
}

/// Splits `/bot<TOKEN>/<method>` into token and method.
fn bot_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/bot")?;
    let (token, method) = rest.split_once('/')?;
    (!method.is_empty() && !method.contains('/')).then_some((token, method))
}

/// Seconds since the Unix epoch, as Telegram's `date` fields.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod flood_tests {
    use super::*;

    fn flood() -> Flood {
        Flood {
            limits: Some(FloodLimits {
                jitter: Duration::ZERO,
                ..FloodLimits::TELEGRAM
            }),
            ..Flood::default()
        }
    }

    #[test]
    fn a_chat_gets_a_short_burst_then_one_a_second() {
        let mut f = flood();
        let t = Instant::now();
        assert!(f.admit(1, t) && f.admit(1, t) && f.admit(1, t));
        assert!(!f.admit(1, t), "the fourth at once is refused");
        assert!(f.admit(2, t), "another chat is not held back");
        assert!(f.admit(1, t + Duration::from_secs(1)));
        assert_eq!(f.refused, vec![1]);
    }

    #[test]
    fn the_bot_gets_thirty_sends_in_any_second() {
        let mut f = flood();
        let t = Instant::now();
        for chat in 0..30 {
            assert!(f.admit(chat, t + Duration::from_millis(chat as u64)));
        }
        assert!(!f.admit(99, t + Duration::from_millis(500)));
        assert!(
            f.admit(99, t + Duration::from_millis(1001)),
            "the first left the window"
        );
    }

    #[test]
    fn sends_over_the_limit_are_answered_like_telegram() {
        let fake = FakeTelegram::start(FIXTURE_TOKEN);
        fake.enforce_flood_limits(FloodLimits::TELEGRAM);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}/bot{FIXTURE_TOKEN}/sendMessage", fake.base_url());
        let mut last = None;
        for _ in 0..5 {
            let mut response = agent
                .post(&url)
                .send_form([("chat_id", "42"), ("text", "hi")])
                .unwrap();
            last = Some((
                response.status().as_u16(),
                response.body_mut().read_to_string().unwrap(),
            ));
        }
        let (status, body) = last.unwrap();
        assert_eq!(status, 429);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error_code"], 429);
        assert_eq!(body["parameters"]["retry_after"], 1);
        assert_eq!(body["description"], "Too Many Requests: retry after 1");
        assert_eq!(fake.accepted_sends().len(), 3);
        assert_eq!(fake.flood_refusals(), vec![42, 42]);
    }
}
