//! Builds the configured HTTP agents: one per proxy setting, every call with a timeout, and
//! provider error bodies readable (a 4xx is an answer to parse, not a transport error).
//! Providers receive an agent; they never build their own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

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
    Ok(config.into())
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
