//! What every fake shares: the recorded request (with JSON, urlencoded and multipart/form-data
//! body parsing), JSON responses, and a tiny_http server running on a background thread that
//! stops when its handle is dropped.

use std::io::{self, Cursor, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::Value;

/// Request bodies above this are refused by the fakes (Telegram's own upload limit is 50 MB).
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// One HTTP request as a fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the query string, as sent (not percent-decoded).
    pub path: String,
    /// Query string without the leading `?` (empty when there is none).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A file part of a multipart/form-data body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartFile {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Any part of a multipart/form-data body, text or file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl MultipartPart {
    /// A plain text field.
    pub fn text(name: &str, value: &str) -> MultipartPart {
        MultipartPart {
            name: name.to_string(),
            file_name: None,
            content_type: None,
            data: value.as_bytes().to_vec(),
        }
    }

    /// A file field.
    pub fn file(name: &str, file_name: &str, content_type: &str, data: &[u8]) -> MultipartPart {
        MultipartPart {
            name: name.to_string(),
            file_name: Some(file_name.to_string()),
            content_type: Some(content_type.to_string()),
            data: data.to_vec(),
        }
    }

    /// A part is a file when its Content-Disposition has a file name: the rule of Telegram's
    /// own parser (tdlib's HttpReader), whatever the part's Content-Type says.
    pub fn is_file(&self) -> bool {
        self.file_name.is_some()
    }
}

impl RecordedRequest {
    /// Reads the whole request (head and body) from tiny_http.
    pub fn read_from(request: &mut tiny_http::Request) -> io::Result<RecordedRequest> {
        let url = request.url().to_string();
        let (path, query) = match url.split_once('?') {
            Some((path, query)) => (path.to_string(), query.to_string()),
            None => (url, String::new()),
        };
        let headers = request
            .headers()
            .iter()
            .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
            .collect();
        let mut body = Vec::new();
        request
            .as_reader()
            .take(MAX_BODY_BYTES + 1)
            .read_to_end(&mut body)?;
        if body.len() as u64 > MAX_BODY_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request body too large",
            ));
        }
        Ok(RecordedRequest {
            method: request.method().as_str().to_string(),
            path,
            query,
            headers,
            body,
        })
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The media type of the body, lower-cased, without parameters (`multipart/form-data`).
    pub fn media_type(&self) -> Option<String> {
        let value = self.header("content-type")?;
        let media = value.split(';').next().unwrap_or("").trim();
        Some(media.to_ascii_lowercase())
    }

    /// The body parsed as JSON, unless it is declared as a form (urlencoded or multipart).
    pub fn json(&self) -> Option<Value> {
        match self.media_type().as_deref() {
            Some("application/x-www-form-urlencoded") => None,
            Some(media) if media.starts_with("multipart/") => None,
            _ => serde_json::from_slice(&self.body).ok(),
        }
    }

    /// The fields of an `application/x-www-form-urlencoded` body (empty for other bodies).
    pub fn form(&self) -> Vec<(String, String)> {
        if self.media_type().as_deref() == Some("application/x-www-form-urlencoded") {
            parse_urlencoded(&String::from_utf8_lossy(&self.body))
        } else {
            Vec::new()
        }
    }

    /// The query string's parameters, decoded.
    pub fn query_params(&self) -> Vec<(String, String)> {
        parse_urlencoded(&self.query)
    }

    /// The parts of a multipart/form-data body (empty for other bodies or a malformed one).
    pub fn multipart_parts(&self) -> Vec<MultipartPart> {
        let Some(content_type) = self.header("content-type") else {
            return Vec::new();
        };
        if self.media_type().as_deref() != Some("multipart/form-data") {
            return Vec::new();
        }
        match header_parameter(content_type, "boundary") {
            Some(boundary) => parse_multipart(&self.body, &boundary),
            None => Vec::new(),
        }
    }

    /// A request parameter as the Bot API reads it: from the JSON body, the urlencoded form, a
    /// multipart text part, or the query string, in that order. JSON numbers come back as their
    /// digits (never through f64), strings unquoted, arrays and objects as compact JSON.
    pub fn param(&self, name: &str) -> Option<String> {
        if let Some(Value::Object(fields)) = self.json() {
            match fields.get(name) {
                None | Some(Value::Null) => {}
                Some(Value::String(text)) => return Some(text.clone()),
                Some(other) => return Some(other.to_string()),
            }
        }
        if let Some((_, value)) = self.form().into_iter().find(|(key, _)| key == name) {
            return Some(value);
        }
        if let Some(part) = self
            .multipart_parts()
            .into_iter()
            .find(|part| part.name == name && !part.is_file())
        {
            return Some(String::from_utf8_lossy(&part.data).into_owned());
        }
        self.query_params()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The multipart part named `field`, preferring a file part when the name repeats.
    pub fn multipart_file(&self, field: &str) -> Option<MultipartFile> {
        let mut named: Vec<MultipartPart> = self
            .multipart_parts()
            .into_iter()
            .filter(|part| part.name == field)
            .collect();
        let index = named.iter().position(|part| part.is_file()).unwrap_or(0);
        if named.is_empty() {
            return None;
        }
        let part = named.swap_remove(index);
        Some(MultipartFile {
            file_name: part.file_name,
            content_type: part.content_type,
            data: part.data,
        })
    }
}

/// Decodes `a=1&b=x+y%21` into pairs (`+` is a space, invalid escapes are kept as they are).
pub fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

/// Percent-decodes `text` as UTF-8 (lossy); with `plus_is_space`, `+` becomes a space.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A `key=value` parameter of a header value such as `multipart/form-data; boundary="x"` or
/// `form-data; name="photo"; filename="a.jpg"`; quoted values are unescaped.
pub fn header_parameter(header_value: &str, key: &str) -> Option<String> {
    split_parameters(header_value)
        .into_iter()
        .skip(1)
        .find_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case(key)
                .then(|| unquote(value.trim()))
        })
}

/// Splits a header value on `;` outside quoted strings.
fn split_parameters(value: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (index, ch) in value.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(&value[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    pieces.push(&value[start..]);
    pieces
}

fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(ch) = chars.next() {
        if ch == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// Parses a multipart/form-data body (RFC 7578). Returns the parts found before anything
/// malformed; a body that never reaches its closing delimiter still yields its complete parts.
pub fn parse_multipart(body: &[u8], boundary: &str) -> Vec<MultipartPart> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    // The first delimiter may start the body or follow a preamble that ends with CRLF.
    let Some(first) = find(body, &delimiter, 0) else {
        return parts;
    };
    let mut position = first + delimiter.len();
    let next_delimiter = [b"\r\n".as_slice(), &delimiter].concat();
    loop {
        if body[position..].starts_with(b"--") {
            break; // closing delimiter
        }
        // Transport padding, then the CRLF that ends the delimiter line.
        while matches!(body.get(position), Some(b' ' | b'\t')) {
            position += 1;
        }
        if !body[position..].starts_with(b"\r\n") {
            break;
        }
        position += 2;
        // Headers end at an empty line; a part may have no headers at all.
        let (head_end, data_start) = if body[position..].starts_with(b"\r\n") {
            (position, position + 2)
        } else {
            match find(body, b"\r\n\r\n", position) {
                Some(end) => (end, end + 4),
                None => break,
            }
        };
        let head = String::from_utf8_lossy(&body[position..head_end]).into_owned();
        let Some(data_end) = find(body, &next_delimiter, data_start) else {
            break;
        };
        if let Some(part) = multipart_part(&head, &body[data_start..data_end]) {
            parts.push(part);
        }
        position = data_end + next_delimiter.len();
    }
    parts
}

fn multipart_part(head: &str, data: &[u8]) -> Option<MultipartPart> {
    let mut disposition = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        if field.trim().eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim().to_string());
        } else if field.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    let disposition = disposition?;
    let name = header_parameter(&disposition, "name")?;
    // RFC 5987 `filename*=UTF-8''...` wins over the plain `filename` when both are present.
    let file_name = header_parameter(&disposition, "filename*")
        .and_then(|extended| {
            let (charset, rest) = extended.split_once('\'')?;
            let (_, encoded) = rest.split_once('\'')?;
            charset
                .eq_ignore_ascii_case("utf-8")
                .then(|| percent_decode(encoded, false))
        })
        .or_else(|| header_parameter(&disposition, "filename"));
    Some(MultipartPart {
        name,
        file_name,
        content_type,
        data: data.to_vec(),
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|offset| from + offset)
}

/// Builds a multipart/form-data body; returns the body and its Content-Type header value.
pub fn build_multipart(parts: &[MultipartPart]) -> (Vec<u8>, String) {
    let boundary = format!("crmchats-fakes-{:016x}", random_u64());
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            escape_quoted(&part.name)
        );
        if let Some(file_name) = &part.file_name {
            disposition.push_str(&format!("; filename=\"{}\"", escape_quoted(file_name)));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

fn escape_quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A random-enough 64-bit value from the standard library's per-process hash keys and the
/// clock; the fakes need unpredictable ids, not cryptography.
pub fn random_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(elapsed) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(elapsed.as_nanos());
    }
    hasher.finish()
}

/// A response with a JSON body (compact, `Content-Type: application/json`, `Content-Length`).
pub fn json_response(status: u16, body: &Value) -> tiny_http::Response<Cursor<Vec<u8>>> {
    raw_response(status, "application/json", body.to_string().into_bytes())
}

/// A response with the given body bytes and content type, sent with a `Content-Length`.
pub fn raw_response(
    status: u16,
    content_type: &str,
    body: Vec<u8>,
) -> tiny_http::Response<Cursor<Vec<u8>>> {
    tiny_http::Response::from_data(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_chunked_threshold(usize::MAX)
}

/// A tiny_http header; panics only on a name or value that is not ASCII, which is a bug here.
pub fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values of the fakes are ASCII")
}

/// A webhook request about to leave a fake.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookDelivery {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Where a fake's webhook requests go instead of HTTP (an in-process receiver: the registered
/// URL is the public one); answers (status, body).
pub type WebhookRoute = Arc<dyn Fn(&WebhookDelivery) -> io::Result<(u16, String)> + Send + Sync>;

/// How long a webhook delivery may take before a fake gives up on it.
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// Webhook response bodies are kept for display only; longer ones are cut.
const MAX_WEBHOOK_BODY: u64 = 64 * 1024;

/// Delivers a webhook request: to `route` when one is set, else POSTed over HTTP without a proxy
/// from the environment (the receiver is local). Returns the receiver's status and body.
pub fn send_webhook(
    delivery: &WebhookDelivery,
    route: Option<&WebhookRoute>,
) -> io::Result<(u16, String)> {
    if let Some(route) = route {
        return route(delivery);
    }
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .max_redirects(0)
        .build()
        .new_agent();
    let mut post = agent.post(&delivery.url);
    for (name, value) in &delivery.headers {
        post = post.header(name, value);
    }
    let mut response = post.send(&delivery.body[..]).map_err(io::Error::other)?;
    let status = response.status().as_u16();
    let mut text = Vec::new();
    let _ = response
        .body_mut()
        .as_reader()
        .take(MAX_WEBHOOK_BODY)
        .read_to_end(&mut text);
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

/// Files a fake serves at `<base>/media/<n>/<name>`: what the media URLs of its webhooks point
/// at (messengers give media as links).
#[derive(Default)]
pub struct MediaFiles {
    files: std::collections::HashMap<String, (String, Arc<Vec<u8>>)>,
    next: u64,
}

impl MediaFiles {
    /// Serves `bytes` and returns their URL, which ends with `name`.
    pub fn add(&mut self, base_url: &str, name: &str, mime: &str, bytes: Vec<u8>) -> String {
        self.next += 1;
        let path = format!("{}/{}", self.next, percent_encode(name));
        self.files
            .insert(path.clone(), (mime.to_string(), Arc::new(bytes)));
        format!("{base_url}/media/{path}")
    }

    /// The answer to `GET /media/<path>`.
    pub fn response(&self, path: &str) -> tiny_http::Response<Cursor<Vec<u8>>> {
        let file = self.files.get(path).or_else(|| {
            self.files
                .get(&percent_encode(&percent_decode(path, false)))
        });
        match file {
            Some((mime, bytes)) => raw_response(200, mime, bytes.as_ref().clone()),
            None => raw_response(404, "text/plain", b"Not Found".to_vec()),
        }
    }
}

/// A tiny_http server on a background thread; every request is handled on its own thread so a
/// scripted delay does not hold up other requests. Dropping the handle stops accepting.
pub struct BackgroundServer {
    server: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl BackgroundServer {
    pub fn start<H>(addr: &str, handler: H) -> io::Result<BackgroundServer>
    where
        H: Fn(tiny_http::Request) + Send + Sync + 'static,
    {
        let server = tiny_http::Server::http(addr).map_err(io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("server is not listening on an IP address"))?;
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let thread = {
            let server = Arc::clone(&server);
            let stopping = Arc::clone(&stopping);
            std::thread::Builder::new()
                .name(format!("fake-http-{}", addr.port()))
                .spawn(move || loop {
                    match server.recv() {
                        Ok(request) => {
                            let handler = Arc::clone(&handler);
                            let _ = std::thread::Builder::new()
                                .name("fake-http-request".into())
                                .spawn(move || handler(request));
                        }
                        Err(_) if stopping.load(Ordering::SeqCst) => break,
                        Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                    }
                })?
        };
        Ok(BackgroundServer {
            server,
            stopping,
            thread: Some(thread),
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: Option<&str>, query: &str, body: &[u8]) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/x".into(),
            query: query.into(),
            headers: content_type
                .map(|value| vec![("Content-Type".to_string(), value.to_string())])
                .unwrap_or_default(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn json_numbers_come_back_as_exact_digits() {
        let req = request(
            Some("application/json"),
            "",
            br#"{"chat_id":5082317746123456,"text":"hi","allowed":["message"],"n":null}"#,
        );
        assert_eq!(req.param("chat_id").as_deref(), Some("5082317746123456"));
        assert_eq!(req.param("text").as_deref(), Some("hi"));
        assert_eq!(req.param("allowed").as_deref(), Some(r#"["message"]"#));
        assert_eq!(req.param("n"), None);
    }

    #[test]
    fn form_and_query_parameters_are_decoded() {
        let req = request(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            "chat_id=1&text=query",
            b"text=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82+mir%21",
        );
        assert_eq!(req.param("text").as_deref(), Some("привет mir!"));
        assert_eq!(req.param("chat_id").as_deref(), Some("1"));
        assert!(req.json().is_none());
    }

    #[test]
    fn multipart_parts_keep_binary_data_exactly() {
        let data: Vec<u8> = b"\r\n--not-a-boundary\r\n\x00\xff".to_vec();
        let (body, content_type) = build_multipart(&[
            MultipartPart::text("chat_id", "-1001234567890"),
            MultipartPart::file("photo", "фото \"1\".jpg", "image/jpeg", &data),
        ]);
        let req = request(Some(&content_type), "", &body);
        assert_eq!(req.param("chat_id").as_deref(), Some("-1001234567890"));
        let file = req.multipart_file("photo").unwrap();
        assert_eq!(file.data, data);
        assert_eq!(file.file_name.as_deref(), Some("фото \"1\".jpg"));
        assert_eq!(file.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(req.param("photo"), None);
    }

    #[test]
    fn a_part_without_a_file_name_is_a_text_field_even_with_a_content_type() {
        let mut file_id = MultipartPart::text("photo", "AgACAgIAAxkBAAIB");
        file_id.content_type = Some("text/plain; charset=utf-8".into());
        let (body, content_type) = build_multipart(&[file_id]);
        let req = request(Some(&content_type), "", &body);
        assert_eq!(req.param("photo").as_deref(), Some("AgACAgIAAxkBAAIB"));
        assert_eq!(req.multipart_file("photo").unwrap().file_name, None);
    }

    #[test]
    fn multipart_with_quoted_boundary_preamble_and_extended_file_name() {
        let body = b"preamble\r\n--b-1\r\nContent-Disposition: form-data; name=\"document\"; filename=\"x.pdf\"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82.pdf\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b-1--";
        let req = request(Some("multipart/form-data; boundary=\"b-1\""), "", body);
        let file = req.multipart_file("document").unwrap();
        assert_eq!(file.file_name.as_deref(), Some("Счёт.pdf"));
        assert_eq!(file.data, b"%PDF");
    }

    #[test]
    fn percent_helpers_round_trip() {
        assert_eq!(percent_decode(&percent_encode("a b/ж:@"), false), "a b/ж:@");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz+%41", true), "%zz A");
    }
}
