//! Builds the configured HTTP agents: one per proxy setting, every call with a timeout, and
//! provider error bodies readable (a 4xx is an answer to parse, not a transport error).
//! Providers receive an agent; they never build their own.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};
use ureq::{Agent, Proxy};

use crate::error::{Error, Result};

pub struct HttpAgents {
    timeout: Duration,
    default_proxy: Option<String>,
    by_proxy: Mutex<HashMap<Option<String>, Agent>>,
}

/// Longest time a file download may take (the per-call timeout is for API calls).
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

impl HttpAgents {
    pub fn new(timeout: Duration, default_proxy: Option<String>) -> Result<Self> {
        if let Some(p) = &default_proxy {
            validate_proxy(p).map_err(|e| Error::invalid("http_proxy", e))?;
        }
        Ok(HttpAgents {
            timeout,
            default_proxy,
            by_proxy: Mutex::new(HashMap::new()),
        })
    }

    /// The agent for a channel: its own proxy if set, else the global one, else none.
    pub fn agent(&self, channel_proxy: Option<&str>) -> Result<Agent> {
        let proxy = channel_proxy
            .map(str::to_string)
            .or_else(|| self.default_proxy.clone());
        let mut cache = self.by_proxy.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(agent) = cache.get(&proxy) {
            return Ok(agent.clone());
        }
        let agent = build_agent(self.timeout, proxy.as_deref())?;
        cache.insert(proxy, agent.clone());
        Ok(agent)
    }
}

fn build_agent(timeout: Duration, proxy: Option<&str>) -> Result<Agent> {
    let proxy = match proxy {
        Some(p) => Some(Proxy::new(p).map_err(|e| Error::invalid("settings.proxy", e))?),
        None => None,
    };
    // The phases before the request is fully sent end strictly before the whole call does, so
    // a stall there is reported as such: a send that never left is retried, while one that
    // timed out waiting for the answer may have reached the messenger (see ProviderError).
    let before_sending = (timeout / 2).min(Duration::from_secs(10));
    let config = Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_resolve(Some(before_sending))
        .timeout_connect(Some(before_sending))
        .timeout_send_request(Some(before_sending))
        .http_status_as_error(false)
        .proxy(proxy)
        .user_agent("crmchats")
        .build();
    let connector = DefaultConnector::new().chain(MarkRequestBytes);
    Ok(Agent::with_parts(
        config,
        connector,
        DefaultResolver::default(),
    ))
}

thread_local! {
    /// Whether this thread wrote request bytes to a messenger since `watch_request_bytes`.
    static REQUEST_BYTES_SENT: Cell<bool> = const { Cell::new(false) };
}

/// Starts watching whether this thread's next messenger calls get any request byte out (past
/// the connection, the proxy and the TLS handshake). The outbox asks before a send and looks
/// after a failure: a call that sent nothing cannot have been acted on, so it is safely retried.
pub fn watch_request_bytes() {
    REQUEST_BYTES_SENT.with(|sent| sent.set(false));
}

/// Whether request bytes went out on this thread since `watch_request_bytes`.
pub fn request_bytes_sent() -> bool {
    REQUEST_BYTES_SENT.with(Cell::get)
}

/// The last link of every agent's connector chain: it sees the connection after TCP, proxy and
/// TLS are set up, so what it writes is the HTTP request itself.
#[derive(Debug)]
struct MarkRequestBytes;

impl Connector<Box<dyn Transport>> for MarkRequestBytes {
    type Out = MarkedTransport;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> std::result::Result<Option<MarkedTransport>, ureq::Error> {
        Ok(chained.map(|inner| MarkedTransport { inner }))
    }
}

#[derive(Debug)]
struct MarkedTransport {
    inner: Box<dyn Transport>,
}

impl Transport for MarkedTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        let result = self.inner.transmit_output(amount, timeout);
        // Written in full: the messenger may have the request (or part of it) now.
        if result.is_ok() && amount > 0 {
            REQUEST_BYTES_SENT.with(|sent| sent.set(true));
        }
        result
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Checks a proxy URL the way the agent will read it: `http://`, `https://`, `socks4://`,
/// `socks5://`, with optional `user:pass@`.
pub fn validate_proxy(url: &str) -> std::result::Result<(), String> {
    let scheme_ok = [
        "http://",
        "https://",
        "socks4://",
        "socks4a://",
        "socks5://",
        "socks://",
    ]
    .iter()
    .any(|s| url.starts_with(s));
    if !scheme_ok {
        return Err("must start with http://, https://, socks4:// or socks5://".into());
    }
    Proxy::new(url).map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod request_bytes_tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn agent() -> Agent {
        HttpAgents::new(Duration::from_secs(1), None)
            .unwrap()
            .agent(None)
            .unwrap()
    }

    /// A server that takes one connection and does `with` to it.
    fn server(with: fn(std::net::TcpStream)) -> (u16, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (socket, _) = listener.accept().unwrap();
            with(socket);
        });
        (port, handle)
    }

    #[test]
    fn a_tls_handshake_cut_by_the_network_gets_no_request_byte_out() {
        let (port, handle) = server(drop);
        watch_request_bytes();
        let result = agent()
            .post(&format!("https://127.0.0.1:{port}/bot/sendMessage"))
            .send("text=hi");
        assert!(result.is_err());
        assert!(!request_bytes_sent());
        handle.join().unwrap();
    }

    #[test]
    fn a_request_written_in_full_counts_as_sent() {
        let (port, handle) = server(|mut socket| {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf);
            // Never answers.
            std::thread::sleep(Duration::from_millis(1500));
        });
        watch_request_bytes();
        let result = agent()
            .post(&format!("http://127.0.0.1:{port}/bot/sendMessage"))
            .send("text=hi");
        assert!(result.is_err());
        assert!(request_bytes_sent());
        handle.join().unwrap();
    }

    #[test]
    fn a_refused_connection_gets_no_request_byte_out() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        watch_request_bytes();
        assert!(agent()
            .post(&format!("http://127.0.0.1:{port}/x"))
            .send("x")
            .is_err());
        assert!(!request_bytes_sent());
    }
}
