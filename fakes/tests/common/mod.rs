//! Helpers shared by the integration tests: a plain HTTP client and a webhook receiver.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crmchats_fakes::http::{BackgroundServer, RecordedRequest};

pub const TOKEN: &str = "7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE";
pub const SECRET: &str = "tgShared_9fK2-wLq7Zx4";

/// A client that never uses a proxy from the environment and never turns statuses into errors.
pub fn agent() -> ureq::Agent {
    agent_via(None)
}

pub fn agent_via(proxy: Option<&str>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(proxy.map(|url| ureq::Proxy::new(url).expect("valid proxy url")))
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent()
}

/// Status, Content-Type and body of a response.
pub fn read(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> (u16, String, String) {
    let mut response = response.expect("the request reaches the server");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response.body_mut().read_to_string().expect("a text body");
    (status, content_type, body)
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("a JSON body")
}

/// A webhook endpoint that records what it receives and answers 200 `ok`.
pub struct Receiver {
    pub server: BackgroundServer,
    pub received: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        let server = BackgroundServer::start("127.0.0.1:0", move |mut request| {
            let recorded = RecordedRequest::read_from(&mut request).expect("readable request");
            sink.lock().unwrap().push(recorded);
            let _ = request.respond(tiny_http::Response::from_string("ok"));
        })
        .expect("the receiver can listen");
        Receiver { server, received }
    }

    pub fn url(&self) -> String {
        format!("{}/webhook/telegram", self.server.base_url())
    }

    pub fn received(&self) -> Vec<RecordedRequest> {
        self.received.lock().unwrap().clone()
    }
}
