//! Loopback proxies for testing per-channel proxy settings: an HTTP proxy (CONNECT tunnels and
//! absolute-form requests, optional Basic auth) and a SOCKS5 proxy (RFC 1928 CONNECT with
//! optional RFC 1929 username/password). Each connection runs on its own thread with timeouts;
//! dropping a proxy stops accepting and closes the connections still open.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::http::percent_encode;

/// Handshakes (request head, SOCKS negotiation) must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting to the target must finish within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A tunnel with no traffic either way for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest HTTP request head the proxy reads.
const MAX_HEAD_BYTES: usize = 32 * 1024;

/// An HTTP proxy on 127.0.0.1.
pub struct HttpConnectProxy {
    server: TcpServer,
    stats: Arc<Stats>,
}

/// A SOCKS5 proxy on 127.0.0.1.
pub struct Socks5Proxy {
    server: TcpServer,
    stats: Arc<Stats>,
    auth: Option<(String, String)>,
}

#[derive(Default)]
struct Stats {
    proxied: AtomicUsize,
    refused: AtomicUsize,
    targets: Mutex<Vec<String>>,
}

impl Stats {
    fn proxied(&self, target: String) {
        self.proxied.fetch_add(1, Ordering::SeqCst);
        lock(&self.targets).push(target);
    }
}

impl HttpConnectProxy {
    /// An open proxy (no authentication) on a free port.
    pub fn start() -> HttpConnectProxy {
        HttpConnectProxy::start_inner(None)
    }

    /// A proxy that answers 407 unless `Proxy-Authorization: Basic base64(user:pass)` is sent.
    pub fn start_with_auth(user: &str, pass: &str) -> HttpConnectProxy {
        let expected = format!("Basic {}", BASE64.encode(format!("{user}:{pass}")));
        HttpConnectProxy::start_inner(Some(expected))
    }

    fn start_inner(expected_auth: Option<String>) -> HttpConnectProxy {
        let stats = Arc::new(Stats::default());
        let server = {
            let stats = Arc::clone(&stats);
            TcpServer::start(move |client, connections| {
                let _ = serve_http_proxy(client, connections, &stats, expected_auth.as_deref());
            })
            .expect("the fake HTTP proxy can listen on 127.0.0.1")
        };
        HttpConnectProxy { server, stats }
    }

    /// `http://127.0.0.1:PORT` (credentials are not part of it; pass them to the client).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// How many requests/tunnels were forwarded (refused ones are not counted).
    pub fn requests_seen(&self) -> usize {
        self.stats.proxied.load(Ordering::SeqCst)
    }

    /// How many requests were refused for missing or wrong credentials (407).
    pub fn refused_seen(&self) -> usize {
        self.stats.refused.load(Ordering::SeqCst)
    }

    /// The `host:port` of every forwarded request/tunnel, in order.
    pub fn targets(&self) -> Vec<String> {
        lock(&self.stats.targets).clone()
    }
}

impl Socks5Proxy {
    /// A SOCKS5 proxy on a free port; with `auth`, only those credentials are accepted.
    pub fn start(auth: Option<(String, String)>) -> Socks5Proxy {
        let stats = Arc::new(Stats::default());
        let server = {
            let stats = Arc::clone(&stats);
            let auth = auth.clone();
            TcpServer::start(move |client, connections| {
                let _ = serve_socks5(client, connections, &stats, auth.as_ref());
            })
            .expect("the fake SOCKS5 proxy can listen on 127.0.0.1")
        };
        Socks5Proxy {
            server,
            stats,
            auth,
        }
    }

    /// `socks5://user:pass@127.0.0.1:PORT`, or `socks5://127.0.0.1:PORT` without auth.
    pub fn url(&self) -> String {
        match &self.auth {
            Some((user, pass)) => format!(
                "socks5://{}:{}@{}",
                percent_encode(user),
                percent_encode(pass),
                self.server.addr
            ),
            None => format!("socks5://{}", self.server.addr),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// How many CONNECT tunnels were established.
    pub fn connections_seen(&self) -> usize {
        self.stats.proxied.load(Ordering::SeqCst)
    }

    /// How many clients were refused (bad credentials or no acceptable method).
    pub fn refused_seen(&self) -> usize {
        self.stats.refused.load(Ordering::SeqCst)
    }

    /// The `host:port` of every established tunnel, in order (domain names as sent).
    pub fn targets(&self) -> Vec<String> {
        lock(&self.stats.targets).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// HTTP proxy

fn serve_http_proxy(
    mut client: TcpStream,
    connections: &Connections,
    stats: &Stats,
    expected_auth: Option<&str>,
) -> io::Result<()> {
    client.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    client.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let (head, leftover) = read_head(&mut client)?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return simple_response(&mut client, "400 Bad Request", &[]);
    };

    if let Some(expected) = expected_auth {
        let given = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
            .map(|(_, value)| *value);
        if !given.is_some_and(|given| credentials_match(given, expected)) {
            stats.refused.fetch_add(1, Ordering::SeqCst);
            let challenge = ("Proxy-Authenticate", "Basic realm=\"crmchats-fakes\"");
            return simple_response(
                &mut client,
                "407 Proxy Authentication Required",
                &[challenge],
            );
        }
    }

    if method.eq_ignore_ascii_case("CONNECT") {
        let Ok(upstream) = connect_to(target) else {
            return simple_response(&mut client, "502 Bad Gateway", &[]);
        };
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        stats.proxied(target.to_string());
        return tunnel(client, upstream, &leftover, connections);
    }

    // Absolute form: `GET http://host:port/path HTTP/1.1`, forwarded in origin form.
    let Some(rest) = target.strip_prefix("http://") else {
        return simple_response(&mut client, "400 Bad Request", &[]);
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let authority_with_port = if has_port(authority) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let Ok(mut upstream) = connect_to(&authority_with_port) else {
        return simple_response(&mut client, "502 Bad Gateway", &[]);
    };
    let mut forwarded = format!("{method} {path} {version}\r\n");
    let hop_by_hop = [
        "proxy-authorization",
        "proxy-connection",
        "connection",
        "keep-alive",
    ];
    for (name, value) in &headers {
        if !hop_by_hop.iter().any(|hop| name.eq_ignore_ascii_case(hop)) {
            forwarded.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    // One request per proxied connection keeps the relay a plain byte pipe.
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forwarded.as_bytes())?;
    stats.proxied(authority_with_port);
    tunnel(client, upstream, &leftover, connections)
}

fn credentials_match(given: &str, expected: &str) -> bool {
    // The scheme name is case-insensitive (RFC 9110); the credentials are not.
    match (given.split_once(' '), expected.split_once(' ')) {
        (Some((scheme, token)), Some((expected_scheme, expected_token))) => {
            scheme.eq_ignore_ascii_case(expected_scheme) && token.trim() == expected_token
        }
        _ => false,
    }
}

fn has_port(authority: &str) -> bool {
    match authority.rfind(':') {
        // `[::1]` has colons but no port; `[::1]:80` has one after the bracket.
        Some(colon) => !authority[colon..].contains(']'),
        None => false,
    }
}

/// Reads up to the end of the request head; returns the head and any bytes read past it.
fn read_head(stream: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            return Ok((head, buffer[end + 4..].to_vec()));
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn simple_response(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
) -> io::Result<()> {
    let mut response = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

// ---------------------------------------------------------------------------------------------
// SOCKS5

/// SOCKS5 reply codes (RFC 1928 section 6).
const SOCKS_GENERAL_FAILURE: u8 = 1;
const SOCKS_HOST_UNREACHABLE: u8 = 4;
const SOCKS_CONNECTION_REFUSED: u8 = 5;
const SOCKS_COMMAND_NOT_SUPPORTED: u8 = 7;
const SOCKS_ADDRESS_NOT_SUPPORTED: u8 = 8;

fn serve_socks5(
    mut client: TcpStream,
    connections: &Connections,
    stats: &Stats,
    auth: Option<&(String, String)>,
) -> io::Result<()> {
    client.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    client.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;

    // Greeting: version, number of methods, methods.
    let [version, count] = read_array::<2>(&mut client)?;
    if version != 5 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not SOCKS5"));
    }
    let mut methods = vec![0u8; usize::from(count)];
    client.read_exact(&mut methods)?;
    let wanted = if auth.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        stats.refused.fetch_add(1, Ordering::SeqCst);
        client.write_all(&[5, 0xff])?;
        return Ok(());
    }
    client.write_all(&[5, wanted])?;

    if let Some((user, pass)) = auth {
        // RFC 1929: version 1, username, password.
        let [sub_version, user_len] = read_array::<2>(&mut client)?;
        let mut given_user = vec![0u8; usize::from(user_len)];
        client.read_exact(&mut given_user)?;
        let [pass_len] = read_array::<1>(&mut client)?;
        let mut given_pass = vec![0u8; usize::from(pass_len)];
        client.read_exact(&mut given_pass)?;
        let accepted =
            sub_version == 1 && given_user == user.as_bytes() && given_pass == pass.as_bytes();
        client.write_all(&[1, if accepted { 0 } else { 1 }])?;
        if !accepted {
            stats.refused.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
    }

    // Request: version, command, reserved, address type, address, port.
    let [version, command, _reserved, address_type] = read_array::<4>(&mut client)?;
    if version != 5 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not SOCKS5"));
    }
    let host = match address_type {
        1 => std::net::Ipv4Addr::from(read_array::<4>(&mut client)?).to_string(),
        3 => {
            let [len] = read_array::<1>(&mut client)?;
            let mut name = vec![0u8; usize::from(len)];
            client.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => format!(
            "[{}]",
            std::net::Ipv6Addr::from(read_array::<16>(&mut client)?)
        ),
        _ => return socks_reply(&mut client, SOCKS_ADDRESS_NOT_SUPPORTED, None),
    };
    let port = u16::from_be_bytes(read_array::<2>(&mut client)?);
    if command != 1 {
        return socks_reply(&mut client, SOCKS_COMMAND_NOT_SUPPORTED, None);
    }
    let target = format!("{host}:{port}");
    let upstream = match connect_to(&target) {
        Ok(upstream) => upstream,
        Err(err) => {
            let code = match err.kind() {
                io::ErrorKind::ConnectionRefused => SOCKS_CONNECTION_REFUSED,
                io::ErrorKind::TimedOut | io::ErrorKind::NotFound => SOCKS_HOST_UNREACHABLE,
                _ => SOCKS_GENERAL_FAILURE,
            };
            return socks_reply(&mut client, code, None);
        }
    };
    socks_reply(&mut client, 0, upstream.local_addr().ok())?;
    stats.proxied(target);
    tunnel(client, upstream, &[], connections)
}

fn read_array<const N: usize>(stream: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    stream.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn socks_reply(stream: &mut TcpStream, code: u8, bound: Option<SocketAddr>) -> io::Result<()> {
    let mut reply = vec![5, code, 0];
    match bound {
        Some(SocketAddr::V6(addr)) => {
            reply.push(4);
            reply.extend_from_slice(&addr.ip().octets());
            reply.extend_from_slice(&addr.port().to_be_bytes());
        }
        Some(SocketAddr::V4(addr)) => {
            reply.push(1);
            reply.extend_from_slice(&addr.ip().octets());
            reply.extend_from_slice(&addr.port().to_be_bytes());
        }
        None => reply.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0]),
    }
    stream.write_all(&reply)
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing

/// Connects to `host:port` (IPv6 hosts in brackets) within [`CONNECT_TIMEOUT`].
fn connect_to(target: &str) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|err| io::Error::new(io::ErrorKind::NotFound, err))?
        .collect();
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address for the target");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(err) => last_error = err,
        }
    }
    Err(last_error)
}

/// Pipes bytes both ways until both sides are done (or idle for [`IDLE_TIMEOUT`]).
fn tunnel(
    client: TcpStream,
    upstream: TcpStream,
    early_bytes: &[u8],
    connections: &Connections,
) -> io::Result<()> {
    let _tracked = connections.track(&upstream);
    for stream in [&client, &upstream] {
        stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
        stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    }
    let mut upstream_writer = upstream.try_clone()?;
    upstream_writer.write_all(early_bytes)?;
    let mut client_reader = client.try_clone()?;
    let upward = std::thread::Builder::new()
        .name("fake-proxy-up".into())
        .spawn(move || {
            let _ = io::copy(&mut client_reader, &mut upstream_writer);
            let _ = upstream_writer.shutdown(Shutdown::Write);
        })?;
    let (mut upstream_reader, mut client_writer) = (upstream, client);
    let _ = io::copy(&mut upstream_reader, &mut client_writer);
    let _ = client_writer.shutdown(Shutdown::Write);
    let _ = upward.join();
    let _ = client_writer.shutdown(Shutdown::Both);
    let _ = upstream_reader.shutdown(Shutdown::Both);
    Ok(())
}

/// The sockets of a server that are still open, so dropping the server can close them.
#[derive(Default)]
struct Connections {
    next_id: AtomicU64,
    stopping: AtomicBool,
    open: Mutex<HashMap<u64, TcpStream>>,
}

/// Removes a socket from [`Connections`] when the connection's work ends.
struct Tracked<'a> {
    connections: &'a Connections,
    id: u64,
}

impl Connections {
    fn track(&self, stream: &TcpStream) -> Tracked<'_> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&self.open).insert(id, clone);
        }
        // A connection that raced with the shutdown is closed at once.
        if self.stopping.load(Ordering::SeqCst) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Tracked {
            connections: self,
            id,
        }
    }

    fn close_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for (_, stream) in lock(&self.open).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        lock(&self.connections.open).remove(&self.id);
    }
}

/// A TCP listener on 127.0.0.1:0 with one thread per connection.
struct TcpServer {
    addr: SocketAddr,
    connections: Arc<Connections>,
    thread: Option<JoinHandle<()>>,
}

impl TcpServer {
    fn start<H>(handler: H) -> io::Result<TcpServer>
    where
        H: Fn(TcpStream, &Connections) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(Connections::default());
        let handler = Arc::new(handler);
        let thread = {
            let connections = Arc::clone(&connections);
            std::thread::Builder::new()
                .name(format!("fake-proxy-{}", addr.port()))
                .spawn(move || {
                    for stream in listener.incoming() {
                        if connections.stopping.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else {
                            // Out of descriptors and the like: back off instead of spinning.
                            std::thread::sleep(Duration::from_millis(10));
                            continue;
                        };
                        let handler = Arc::clone(&handler);
                        let connections = Arc::clone(&connections);
                        let _ = std::thread::Builder::new()
                            .name("fake-proxy-conn".into())
                            .spawn(move || {
                                let _tracked = connections.track(&stream);
                                handler(stream, &connections);
                            });
                    }
                })?
        };
        Ok(TcpServer {
            addr,
            connections,
            thread: Some(thread),
        })
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.connections.close_all();
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.connections.close_all();
    }
}
