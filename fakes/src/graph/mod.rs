//! A fake Meta Graph API on 127.0.0.1 serving both products crmchats speaks to through it:
//! Facebook Messenger (Send API, User Profile API, page `subscribed_apps`) and the WhatsApp
//! Business Cloud API (`/<PHONE_NUMBER_ID>/messages`, media upload and lookup, WABA
//! `subscribed_apps`). Paths carry a version prefix (`/v21.0/...`, any `vNN.N` is accepted).
//!
//! Answers follow the real wire format: success bodies as in the shared fixtures, errors as the
//! Graph envelope `{"error":{"message","type","code","error_subcode"?,"fbtrace_id"}}` with HTTP
//! 4xx. The fake records every request, can script failures and delays per endpoint (see
//! [`Endpoint`]), serves the files it hands out (Messenger CDN URLs, WhatsApp media URLs that
//! need the Bearer token, profile pictures), keeps what was "sent" to users, and plays Meta's side
//! of webhooks: the verification GET and signed POSTs (`X-Hub-Signature-256`, `X-Hub-Signature`)
//! whose bodies are serialised the way Meta does it (non-ASCII as `\uXXXX`, `/` as `\/`).

mod messenger;
mod whatsapp;

use std::collections::{HashMap, VecDeque};
use std::io::{self, Cursor, Read};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::http::{percent_encode, random_u64, raw_response, BackgroundServer, RecordedRequest};

pub use messenger::{
    attachment_message, echo_event, messenger_webhook, text_message, user_message_event,
    MessengerUser,
};
pub use whatsapp::{
    whatsapp_message, whatsapp_status, whatsapp_status_of, whatsapp_webhook, WhatsAppContact,
};

/// The Graph API version crmchats puts in its paths; the fake accepts any `vNN.N`.
pub const GRAPH_VERSION: &str = "v21.0";

/// The secrets and ids of the shared fixture sets (`/work/shared/fixtures/facebook`,
/// `.../whatsapp_cloud`).
pub mod fixture {
    pub const FB_APP_SECRET: &str = "3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e";
    pub const FB_VERIFY_TOKEN: &str = "crmchats-fb-verify-A7";
    pub const FB_PAGE_ID: &str = "104857392011234";
    pub const FB_APP_ID: &str = "1517776481860111";
    pub const FB_PAGE_TOKEN: &str = "EAAVfakeSharedPageToken0123456789";
    pub const FB_PAGE_NAME: &str = "Северный ветер";
    pub const FB_PSID: &str = "7012345678901234";

    pub const WA_APP_SECRET: &str = "b7e2d9a4c1f6083e5a9d2c7b4e1f8a3d";
    pub const WA_VERIFY_TOKEN: &str = "crmchats-wa-verify-A7";
    pub const WA_WABA_ID: &str = "102290129340398";
    pub const WA_PHONE_NUMBER_ID: &str = "106540352242922";
    pub const WA_DISPLAY_PHONE: &str = "15550783881";
    pub const WA_VERIFIED_NAME: &str = "Северный ветер";
    pub const WA_ACCESS_TOKEN: &str = "EAAGfakeSharedSystemUserToken0123";
}

/// Which product of the Graph API a request or webhook belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Product {
    Messenger,
    WhatsApp,
}

/// The endpoints the fake implements, the keys of [`FakeGraph::fail_next`] and
/// [`FakeGraph::delay_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /me` or `GET /<PAGE_ID>` (fields id,name,picture).
    PageInfo,
    /// `GET /<PSID>?fields=first_name,last_name,profile_pic`.
    UserProfile,
    /// `POST /me/messages` or `/<PAGE_ID>/messages` (Send API, JSON or multipart).
    MessengerSend,
    /// `POST /me/message_attachments` (Attachment Upload API).
    MessengerAttachmentUpload,
    /// `POST|DELETE|GET /<PAGE_ID>/subscribed_apps`.
    PageSubscribedApps,
    /// `GET /cdn/...`: attachment files behind the `payload.url` of Messenger webhooks.
    MessengerCdn,
    /// `GET /profilepic/<PSID>`: profile pictures.
    ProfilePicture,
    /// `GET /<PHONE_NUMBER_ID>?fields=display_phone_number,verified_name`.
    PhoneNumberInfo,
    /// `POST /<PHONE_NUMBER_ID>/messages` (send, or mark read).
    WhatsAppSend,
    /// `POST /<PHONE_NUMBER_ID>/media` (multipart upload).
    WhatsAppMediaUpload,
    /// `GET /<MEDIA_ID>` (the short-lived download URL).
    WhatsAppMediaUrl,
    /// `GET /whatsapp_business/attachments/?mid=<MEDIA_ID>...` (Bearer token required).
    WhatsAppMediaDownload,
    /// `POST|DELETE|GET /<WABA_ID>/subscribed_apps`.
    WabaSubscribedApps,
}

/// The ids and secrets the fake works with; [`GraphConfig::default`] is the fixtures' set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphConfig {
    pub page_id: String,
    pub page_name: String,
    pub app_id: String,
    pub page_token: String,
    pub fb_app_secret: String,
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub wa_token: String,
    pub wa_app_secret: String,
}

impl Default for GraphConfig {
    fn default() -> Self {
        use fixture::*;
        GraphConfig {
            page_id: FB_PAGE_ID.into(),
            page_name: FB_PAGE_NAME.into(),
            app_id: FB_APP_ID.into(),
            page_token: FB_PAGE_TOKEN.into(),
            fb_app_secret: FB_APP_SECRET.into(),
            waba_id: WA_WABA_ID.into(),
            phone_number_id: WA_PHONE_NUMBER_ID.into(),
            display_phone_number: WA_DISPLAY_PHONE.into(),
            verified_name: WA_VERIFIED_NAME.into(),
            wa_token: WA_ACCESS_TOKEN.into(),
            wa_app_secret: WA_APP_SECRET.into(),
        }
    }
}

/// A message the business sent through the fake (Send API or Cloud API `/messages`).
#[derive(Clone, Debug, PartialEq)]
pub struct SentMessage {
    pub product: Product,
    /// `mid` (Messenger) or `wamid` (WhatsApp) the fake answered with.
    pub id: String,
    /// PSID or WhatsApp number (`to` as given).
    pub to: String,
    /// The request's `message` object (Messenger) or the whole body (WhatsApp).
    pub body: Value,
    /// Text of a text message.
    pub text: Option<String>,
    /// The file the message carried: uploaded with it, fetched from `payload.url`, or
    /// referenced by an uploaded attachment / media id.
    pub file: Option<StoredFile>,
}

/// A file the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub name: Option<String>,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// The state of the "Webhooks" product of one Meta app: the callback URL saved in the App
/// Dashboard (verified with a GET first) and which objects subscribed the app.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Callback URL saved in the dashboard, if any.
    pub callback_url: Option<String>,
    /// Fields subscribed through `POST /<id>/subscribed_apps`; `None` when not subscribed.
    pub subscribed_fields: Option<Vec<String>>,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    failures: HashMap<Endpoint, VecDeque<(u16, String)>>,
    delays: HashMap<Endpoint, VecDeque<Duration>>,
    subscriptions: HashMap<Product, Subscription>,
    users: HashMap<String, MessengerUser>,
    /// Messenger CDN files by key (`/cdn/<key>`).
    cdn: HashMap<String, StoredFile>,
    /// Profile pictures by PSID.
    pictures: HashMap<String, StoredFile>,
    /// Uploaded Messenger attachments by attachment_id.
    attachments: HashMap<String, StoredFile>,
    /// WhatsApp media by media id.
    media: HashMap<String, StoredFile>,
    sent: Vec<SentMessage>,
    /// Message ids marked read through the Cloud API.
    marked_read: Vec<String>,
}

pub(crate) struct Shared {
    config: GraphConfig,
    base_url: Mutex<String>,
    state: Mutex<State>,
}

/// The fake Graph API server; runs on a background thread and stops when dropped.
pub struct FakeGraph {
    shared: Arc<Shared>,
    server: BackgroundServer,
}

/// How long a webhook delivery may take before the fake gives up on it.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);
/// Files the fake fetches from URLs given in `payload.url` are cut at this size.
const MAX_FETCH_BYTES: u64 = 32 * 1024 * 1024;

impl FakeGraph {
    /// Starts the fake on 127.0.0.1 with a free port and the fixtures' ids and secrets.
    pub fn start() -> FakeGraph {
        FakeGraph::start_on("127.0.0.1:0", GraphConfig::default())
            .expect("the fake Graph API can listen on 127.0.0.1")
    }

    /// Starts the fake on `addr` (for example `127.0.0.1:8082`) with `config`.
    pub fn start_on(addr: &str, config: GraphConfig) -> io::Result<FakeGraph> {
        let shared = Arc::new(Shared {
            config,
            base_url: Mutex::new(String::new()),
            state: Mutex::new(State::default()),
        });
        let server = {
            let shared = Arc::clone(&shared);
            BackgroundServer::start(addr, move |request| shared.serve(request))?
        };
        *shared.base_url.lock().unwrap_or_else(|p| p.into_inner()) = server.base_url();
        Ok(FakeGraph { shared, server })
    }

    /// `http://127.0.0.1:PORT`: the `api_base` crmchats is given instead of
    /// `https://graph.facebook.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn config(&self) -> &GraphConfig {
        &self.shared.config
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests that reached `endpoint`.
    pub fn calls(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        let config = &self.shared.config;
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| route(config, r).map(|(e, _)| e) == Some(endpoint))
            .cloned()
            .collect()
    }

    /// The next request to `endpoint` is answered with this status and JSON body instead of
    /// its normal answer (FIFO per endpoint), e.g. an error fixture.
    pub fn fail_next(&self, endpoint: Endpoint, status: u16, body: &str) {
        self.shared
            .lock()
            .failures
            .entry(endpoint)
            .or_default()
            .push_back((status, body.to_string()));
    }

    /// The next request to `endpoint` waits this long before it is answered.
    pub fn delay_next(&self, endpoint: Endpoint, delay: Duration) {
        self.shared
            .lock()
            .delays
            .entry(endpoint)
            .or_default()
            .push_back(delay);
    }

    /// The webhook state of `product`'s app.
    pub fn subscription(&self, product: Product) -> Subscription {
        self.shared
            .lock()
            .subscriptions
            .get(&product)
            .cloned()
            .unwrap_or_default()
    }

    /// Saves the callback URL as the App Dashboard does: Meta first sends the verification GET
    /// (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`) and keeps the URL only when
    /// the answer is 200 with the challenge as the body. Returns whether it was accepted.
    pub fn save_callback_url(
        &self,
        product: Product,
        url: &str,
        verify_token: &str,
    ) -> io::Result<bool> {
        let challenge = (random_u64() % 9_000_000_000 + 1_000_000_000).to_string();
        let separator = if url.contains('?') { '&' } else { '?' };
        let full = format!(
            "{url}{separator}hub.mode=subscribe&hub.verify_token={}&hub.challenge={challenge}",
            percent_encode(verify_token)
        );
        let mut response = webhook_agent()
            .get(&full)
            .call()
            .map_err(io::Error::other)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(io::Error::other)?;
        let accepted = status == 200 && body == challenge;
        if accepted {
            self.shared
                .lock()
                .subscriptions
                .entry(product)
                .or_default()
                .callback_url = Some(url.to_string());
        }
        Ok(accepted)
    }

    /// Sets the callback URL without the verification GET.
    pub fn set_callback_url(&self, product: Product, url: &str) {
        self.shared
            .lock()
            .subscriptions
            .entry(product)
            .or_default()
            .callback_url = Some(url.to_string());
    }

    /// POSTs `body` byte-exact to `product`'s callback URL, signed with its app secret as Meta
    /// signs (`X-Hub-Signature-256: sha256=<hex>`; the legacy SHA-1 header is left out).
    /// Returns the status and body of the answer. Fails with `NotFound` when no callback URL is
    /// saved.
    pub fn deliver_raw(&self, product: Product, body: &[u8]) -> io::Result<(u16, String)> {
        let url = self
            .subscription(product)
            .callback_url
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no callback URL is saved"))?;
        let secret = match product {
            Product::Messenger => &self.shared.config.fb_app_secret,
            Product::WhatsApp => &self.shared.config.wa_app_secret,
        };
        let mut response = webhook_agent()
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", &signature_256(secret, body))
            .send(body)
            .map_err(io::Error::other)?;
        let status = response.status().as_u16();
        let mut text = Vec::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(64 * 1024)
            .read_to_end(&mut text);
        Ok((status, String::from_utf8_lossy(&text).into_owned()))
    }

    /// Serialises `payload` as Meta does ([`meta_json`]) and delivers it.
    pub fn deliver(&self, product: Product, payload: &Value) -> io::Result<(u16, String)> {
        self.deliver_raw(product, meta_json(payload).as_bytes())
    }

    /// Registers a Messenger user: `GET /<PSID>` answers with their profile, and their picture
    /// (if any) is served at the `profile_pic` URL.
    pub fn add_messenger_user(&self, user: MessengerUser, picture: Option<StoredFile>) {
        let mut state = self.shared.lock();
        if let Some(picture) = picture {
            state.pictures.insert(user.psid.clone(), picture);
        }
        state.users.insert(user.psid.clone(), user);
    }

    /// Puts a file on the fake Messenger CDN; returns its URL (what a webhook's
    /// `payload.url` holds).
    pub fn add_cdn_file(&self, file_name: &str, mime: &str, bytes: Vec<u8>) -> String {
        let key = format!("{:016x}/{}", random_u64(), percent_encode(file_name));
        self.shared.lock().cdn.insert(
            key.clone(),
            StoredFile {
                name: Some(file_name.to_string()),
                mime: mime.to_string(),
                bytes,
            },
        );
        format!("{}/cdn/{key}?oh=fake&oe=676A1B2C", self.base_url())
    }

    /// Registers WhatsApp media under `media_id` (what an inbound message's `image.id` holds).
    pub fn add_media(&self, media_id: &str, mime: &str, bytes: Vec<u8>) {
        self.shared.lock().media.insert(
            media_id.to_string(),
            StoredFile {
                name: None,
                mime: mime.to_string(),
                bytes,
            },
        );
    }

    /// The bytes of WhatsApp media the fake holds (registered or uploaded).
    pub fn media(&self, media_id: &str) -> Option<StoredFile> {
        self.shared.lock().media.get(media_id).cloned()
    }

    /// Everything sent through the Send API / Cloud API, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// Messages sent to `to` (PSID or WhatsApp number) through `product`.
    pub fn sent_to(&self, product: Product, to: &str) -> Vec<SentMessage> {
        self.sent()
            .into_iter()
            .filter(|m| m.product == product && m.to.trim_start_matches('+') == to)
            .collect()
    }

    /// WhatsApp message ids marked read.
    pub fn marked_read(&self) -> Vec<String> {
        self.shared.lock().marked_read.clone()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler thread must not take the whole fake down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn base_url(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn serve(&self, mut request: tiny_http::Request) {
        let recorded = match RecordedRequest::read_from(&mut request) {
            Ok(recorded) => recorded,
            Err(err) => {
                let (status, body) = graph_error(400, 100, None, &format!("Bad request: {err}"));
                let _ = request.respond(json_text(status, body));
                return;
            }
        };
        let response = self.answer(&recorded);
        let _ = request.respond(response);
    }

    fn answer(&self, request: &RecordedRequest) -> tiny_http::Response<Cursor<Vec<u8>>> {
        let routed = route(&self.config, request);
        let (delay, scripted) = {
            let mut state = self.lock();
            state.requests.push(request.clone());
            match routed {
                Some((endpoint, _)) => (
                    state
                        .delays
                        .get_mut(&endpoint)
                        .and_then(VecDeque::pop_front),
                    state
                        .failures
                        .get_mut(&endpoint)
                        .and_then(VecDeque::pop_front),
                ),
                None => (None, None),
            }
        };
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        if let Some((status, body)) = scripted {
            return json_text(status, body);
        }
        let Some((endpoint, id)) = routed else {
            let (status, body) = unknown_path(&request.method, &request.path);
            return json_text(status, body);
        };
        match endpoint {
            Endpoint::MessengerCdn => return self.serve_cdn(&request.path),
            Endpoint::ProfilePicture => return self.serve_picture(&id),
            Endpoint::WhatsAppMediaDownload => return whatsapp::download(self, request),
            _ => {}
        }
        let product = messenger::product_of(endpoint).unwrap_or(Product::WhatsApp);
        if let Err(reply) = self.authorize(product, request) {
            return json_text(reply.0, reply.1);
        }
        let (status, body) = match product {
            Product::Messenger => messenger::call(self, endpoint, &id, request),
            Product::WhatsApp => whatsapp::call(self, endpoint, &id, request),
        };
        json_text(status, body)
    }

    /// The access token must be the product's: `?access_token=` or `Authorization: Bearer`.
    fn authorize(&self, product: Product, request: &RecordedRequest) -> Result<(), Reply> {
        let expected = match product {
            Product::Messenger => &self.config.page_token,
            Product::WhatsApp => &self.config.wa_token,
        };
        let given = access_token(request);
        // Messenger answers 400, the Cloud API 401 (as the fixtures record them).
        let status = match product {
            Product::Messenger => 400,
            Product::WhatsApp => 401,
        };
        match given {
            None => Err(graph_error(
                status,
                2500,
                None,
                "An active access token must be used to query information about the current user.",
            )),
            Some(token) if token == *expected => Ok(()),
            Some(_) => Err(graph_error(
                status,
                190,
                None,
                "Invalid OAuth access token - Cannot parse access token",
            )),
        }
    }

    fn serve_cdn(&self, path: &str) -> tiny_http::Response<Cursor<Vec<u8>>> {
        let key = path.strip_prefix("/cdn/").unwrap_or_default();
        match self.lock().cdn.get(key) {
            Some(file) => raw_response(200, &file.mime, file.bytes.clone()),
            // The CDN answers expired or unknown URLs with a bare 403 text.
            None => raw_response(403, "text/plain", b"URL signature expired".to_vec()),
        }
    }

    fn serve_picture(&self, psid: &str) -> tiny_http::Response<Cursor<Vec<u8>>> {
        match self.lock().pictures.get(psid) {
            Some(file) => raw_response(200, &file.mime, file.bytes.clone()),
            None => raw_response(404, "text/plain", b"Not Found".to_vec()),
        }
    }
}

/// HTTP status and compact JSON body.
pub(crate) type Reply = (u16, String);

/// The Graph error envelope, fields in Meta's order.
pub fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Reply {
    let mut error = serde_json::Map::new();
    error.insert("message".into(), json!(message));
    error.insert("type".into(), json!("OAuthException"));
    error.insert("code".into(), json!(code));
    if let Some(subcode) = subcode {
        error.insert("error_subcode".into(), json!(subcode));
    }
    error.insert("fbtrace_id".into(), json!(fbtrace_id()));
    (status, json!({ "error": error }).to_string())
}

fn fbtrace_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_u64().to_be_bytes()) + "Qw"
}

fn unknown_path(method: &str, path: &str) -> Reply {
    let object = strip_version(path)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(path);
    graph_error(
        400,
        100,
        Some(33),
        &format!(
            "Unsupported {} request. Object with ID '{object}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
            method.to_ascii_lowercase()
        ),
    )
}

/// `/v21.0/rest` -> `rest` (any `vNN.N` version).
fn strip_version(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v")?;
    let (version, rest) = rest.split_once('/')?;
    let (major, minor) = version.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then_some(rest)
}

/// Which endpoint a request is for, and the object id in its path.
fn route(config: &GraphConfig, request: &RecordedRequest) -> Option<(Endpoint, String)> {
    let (method, path) = (request.method.as_str(), request.path.as_str());
    if path.starts_with("/cdn/") {
        return (method == "GET").then(|| (Endpoint::MessengerCdn, String::new()));
    }
    if let Some(psid) = path.strip_prefix("/profilepic/") {
        return (method == "GET").then(|| (Endpoint::ProfilePicture, psid.to_string()));
    }
    if path.trim_end_matches('/') == "/whatsapp_business/attachments" {
        return (method == "GET").then(|| (Endpoint::WhatsAppMediaDownload, String::new()));
    }
    let rest = strip_version(path)?.trim_end_matches('/');
    let segments: Vec<&str> = rest.split('/').collect();
    let is_page = |id: &str| id == "me" || id == config.page_id;
    let endpoint = match (method, segments.as_slice()) {
        ("GET", [id]) if is_page(id) => Endpoint::PageInfo,
        ("GET", [id]) if *id == config.phone_number_id => Endpoint::PhoneNumberInfo,
        // Any other object: WhatsApp media when asked with the Cloud API token (media ids and
        // PSIDs look alike), a Messenger user profile otherwise.
        ("GET", [_]) if access_token(request).as_deref() == Some(config.wa_token.as_str()) => {
            Endpoint::WhatsAppMediaUrl
        }
        ("GET", [_]) => Endpoint::UserProfile,
        ("POST", [id, "messages"]) if is_page(id) => Endpoint::MessengerSend,
        ("POST", [id, "message_attachments"]) if is_page(id) => Endpoint::MessengerAttachmentUpload,
        ("POST", [id, "messages"]) if *id == config.phone_number_id => Endpoint::WhatsAppSend,
        ("POST", [id, "media"]) if *id == config.phone_number_id => Endpoint::WhatsAppMediaUpload,
        ("GET" | "POST" | "DELETE", [id, "subscribed_apps"]) if is_page(id) => {
            Endpoint::PageSubscribedApps
        }
        ("GET" | "POST" | "DELETE", [id, "subscribed_apps"]) if *id == config.waba_id => {
            Endpoint::WabaSubscribedApps
        }
        _ => return None,
    };
    Some((endpoint, segments[0].to_string()))
}

/// The access token of a Graph request: `access_token` in the query (or form), or the Bearer.
fn access_token(request: &RecordedRequest) -> Option<String> {
    if let Some(auth) = request.header("authorization") {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("OAuth "))
            .unwrap_or(auth);
        return Some(token.trim().to_string());
    }
    request
        .query_params()
        .into_iter()
        .chain(request.form())
        .find(|(key, _)| key == "access_token")
        .map(|(_, value)| value)
}

/// A client for webhook deliveries and URL fetches: no proxy from the environment, statuses
/// are answers, not errors.
fn webhook_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .max_redirects(0)
        .build()
        .new_agent()
}

/// Downloads `url` as Meta does for `payload.url` attachments.
fn fetch_url(url: &str) -> Result<StoredFile, String> {
    let mut response = webhook_agent().get(url).call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let mime = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_FETCH_BYTES)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    let name = url
        .split('?')
        .next()
        .and_then(|p| p.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    Ok(StoredFile { name, mime, bytes })
}

/// `sha256=<lowercase hex HMAC-SHA256(body, secret)>`, the `X-Hub-Signature-256` value.
pub fn signature_256(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// JSON as Meta serialises webhook bodies: compact, non-ASCII characters as `\uXXXX` escapes
/// (UTF-16, so emoji become surrogate pairs) and `/` as `\/`. Both can only occur inside JSON
/// strings, so escaping the compact text character by character is exact.
pub fn meta_json(value: &Value) -> String {
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len() + compact.len() / 4);
    for ch in compact.chars() {
        if ch == '/' {
            out.push_str("\\/");
        } else if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// A fresh id made of letters and digits, `len` characters long.
fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[(random_u64() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// A fresh numeric id of Meta's usual 15–16 digits.
fn random_numeric_id() -> String {
    (random_u64() % 9_000_000_000_000_000 + 1_000_000_000_000_000).to_string()
}

fn json_text(status: u16, body: String) -> tiny_http::Response<Cursor<Vec<u8>>> {
    raw_response(status, "application/json", body.into_bytes())
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
