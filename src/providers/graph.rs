//! What Facebook Messenger and the WhatsApp Business Cloud API share as Meta Graph API products:
//! the versioned URL, calls with the Bearer token, the `{"error":{code, error_subcode}}`
//! envelope, the `X-Hub-Signature-256` check over the raw body, the `hub.challenge` GET, and
//! streaming a file with a size limit.

use std::io::Write;

use serde_json::Value;

use super::{
    constant_time_eq, download_request, hmac_sha256_matches, DownloadedFile, HttpReply,
    ProviderContext, ProviderError, WebhookError, WebhookRequest,
};
use crate::http::DOWNLOAD_TIMEOUT;

/// The Graph API version in every path.
pub const GRAPH_VERSION: &str = "v21.0";
/// Graph answers are small JSON documents; anything bigger is not one.
const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;
const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// A Graph API error, as the envelope describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphError {
    pub http_status: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    /// WhatsApp's `error_data.details`, the clearer sentence when present.
    pub details: Option<String>,
}

impl GraphError {
    /// The messenger's words: the message, and the details when they add something.
    pub fn text(&self) -> String {
        match &self.details {
            Some(details) if !details.is_empty() && *details != self.message => {
                format!("{} ({details})", self.message)
            }
            _ => self.message.clone(),
        }
    }
}

/// `<api_base>/v21.0/<path>`
pub fn url(ctx: &ProviderContext, path: &str) -> String {
    format!(
        "{}/{GRAPH_VERSION}/{}",
        ctx.api_base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// A setting that must be present (ids and secrets of the channel form).
pub fn setting<'a>(ctx: &'a ProviderContext, name: &str) -> Result<&'a str, ProviderError> {
    ctx.settings
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ProviderError::Rejected(format!("the channel has no `{name}` setting")))
}

/// A Graph id used in a path: digits only, so a setting cannot turn into another path.
pub fn graph_id<'a>(value: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(ProviderError::Rejected(format!(
            "`{value}` is not a {what} (digits only)"
        )))
    }
}

/// Sends a prepared request with the Bearer token and reads the Graph answer.
pub fn call(
    ctx: &ProviderContext,
    request: ureq::RequestBuilder<ureq::typestate::WithoutBody>,
    map: fn(GraphError) -> ProviderError,
) -> Result<Value, ProviderError> {
    let response = request
        .header("Authorization", &format!("Bearer {}", ctx.token))
        .call()?;
    read_answer(response, map)
}

/// Subscribes our app to the page's / WABA's events: `POST /<id>/subscribed_apps`.
pub fn subscribe_app(
    ctx: &ProviderContext,
    object_id: &str,
    params: &[(&str, &str)],
    map: fn(GraphError) -> ProviderError,
) -> Result<(), ProviderError> {
    let answer = post_empty(ctx, &format!("{object_id}/subscribed_apps"), params, map)?;
    expect_success(answer, "subscribing the app")
}

/// `DELETE /<id>/subscribed_apps`.
pub fn unsubscribe_app(
    ctx: &ProviderContext,
    object_id: &str,
    map: fn(GraphError) -> ProviderError,
) -> Result<(), ProviderError> {
    let path = format!("{object_id}/subscribed_apps");
    let answer = call(ctx, ctx.agent.delete(&url(ctx, &path)), map)?;
    expect_success(answer, "unsubscribing the app")
}

/// The apps subscribed to the page's / WABA's events: `GET /<id>/subscribed_apps` → `data`.
pub fn subscribed_apps(
    ctx: &ProviderContext,
    object_id: &str,
    map: fn(GraphError) -> ProviderError,
) -> Result<Vec<Value>, ProviderError> {
    let path = format!("{object_id}/subscribed_apps");
    let answer = call(ctx, ctx.agent.get(&url(ctx, &path)), map)?;
    Ok(answer
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// `{"success": true}` answers: anything else is a refusal.
fn expect_success(answer: Value, what: &str) -> Result<(), ProviderError> {
    if answer.get("success").and_then(Value::as_bool) == Some(true) {
        Ok(())
    } else {
        Err(ProviderError::Rejected(format!(
            "{what} was not accepted: {answer}"
        )))
    }
}

/// POSTs with the parameters in the query string and no body (`subscribed_apps`).
pub fn post_empty(
    ctx: &ProviderContext,
    path: &str,
    params: &[(&str, &str)],
    map: fn(GraphError) -> ProviderError,
) -> Result<Value, ProviderError> {
    let response = ctx
        .agent
        .post(&url(ctx, path))
        .query_pairs(params.iter().copied())
        .header("Authorization", &format!("Bearer {}", ctx.token))
        .send_empty()?;
    read_answer(response, map)
}

/// POSTs a JSON body with the Bearer token.
pub fn post_json(
    ctx: &ProviderContext,
    path: &str,
    body: &Value,
    map: fn(GraphError) -> ProviderError,
) -> Result<Value, ProviderError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ProviderError::Rejected(e.to_string()))?;
    let response = ctx
        .agent
        .post(&url(ctx, path))
        .header("Authorization", &format!("Bearer {}", ctx.token))
        .header("Content-Type", "application/json")
        .send(&bytes[..])?;
    read_answer(response, map)
}

/// POSTs a multipart form with the Bearer token (uploads).
pub fn post_form(
    ctx: &ProviderContext,
    path: &str,
    form: ureq::unversioned::multipart::Form,
    map: fn(GraphError) -> ProviderError,
) -> Result<Value, ProviderError> {
    let response = ctx
        .agent
        .post(&url(ctx, path))
        .header("Authorization", &format!("Bearer {}", ctx.token))
        .config()
        .timeout_global(Some(DOWNLOAD_TIMEOUT))
        .build()
        .send(form)?;
    read_answer(response, map)
}

/// The JSON of a 2xx answer, or the envelope's error mapped by the product.
pub fn read_answer(
    mut response: ureq::http::Response<ureq::Body>,
    map: fn(GraphError) -> ProviderError,
) -> Result<Value, ProviderError> {
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()?;
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    match (parsed, status) {
        (Some(body), 200..=299) if body.get("error").is_none() => Ok(body),
        (Some(body), _) if body.get("error").is_some_and(Value::is_object) => {
            Err(map(parse_error(status, &body["error"])))
        }
        (_, _) => {
            let snippet: String = String::from_utf8_lossy(&bytes).chars().take(120).collect();
            Err(ProviderError::Unavailable(format!(
                "HTTP {status}: {snippet}"
            )))
        }
    }
}

/// The fields of `{"error":{...}}`; codes are read as integers, never through f64.
pub fn parse_error(http_status: u16, error: &Value) -> GraphError {
    let int = |key: &str| {
        error.get(key).and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    GraphError {
        http_status,
        code: int("code").unwrap_or_default(),
        subcode: int("error_subcode"),
        message: error
            .get("error_user_msg")
            .or_else(|| error.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_string(),
        details: error
            .pointer("/error_data/details")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// What both products mean by the same codes; `None` leaves the code to the product.
pub fn common_error(e: &GraphError) -> Option<ProviderError> {
    let text = e.text();
    Some(match e.code {
        // Invalid / expired token, session invalidated, no token.
        190 | 102 | 2500 => ProviderError::Unauthorized(text),
        // Application / user / page-level throttling.
        4 | 17 | 32 | 613 | 80007 | 130429 | 131056 => ProviderError::RateLimited {
            message: text,
            retry_after: None,
        },
        // Unknown / transient errors and the service being down.
        1 | 2 | 131000 => ProviderError::Unavailable(text),
        _ if e.http_status >= 500 => ProviderError::Unavailable(text),
        _ => return None,
    })
}

/// Meta's GET verification of a callback URL: `hub.challenge` back as plain text only for
/// `hub.mode=subscribe` with our verify token; 403 otherwise. POSTs are not handshakes.
pub fn handshake(
    ctx: &ProviderContext,
    request: &WebhookRequest,
) -> Option<Result<HttpReply, WebhookError>> {
    if request.method != "GET" {
        return None;
    }
    let ours = ctx
        .settings
        .get("verify_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let given = request.query("hub.verify_token").unwrap_or_default();
    let challenge = request.query("hub.challenge").unwrap_or_default();
    Some(
        if request.query("hub.mode") == Some("subscribe")
            && !ours.is_empty()
            && constant_time_eq(given.as_bytes(), ours.as_bytes())
        {
            Ok(HttpReply::text(200, challenge))
        } else {
            // The message never echoes the challenge: a wrong token learns nothing.
            Err(WebhookError::Forged(
                "the verification GET does not carry our verify token".into(),
            ))
        },
    )
}

/// `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of the raw body under the app secret.
/// Meta escapes non-ASCII and `/` in the JSON it signs, so only the bytes as received verify.
pub fn verify_signature(
    ctx: &ProviderContext,
    request: &WebhookRequest,
) -> Result<(), WebhookError> {
    let Some(header) = request.header(SIGNATURE_HEADER) else {
        return Err(WebhookError::Unauthenticated(
            "X-Hub-Signature-256 is missing".into(),
        ));
    };
    let secret = ctx
        .settings
        .get("app_secret")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let hex = header.trim().strip_prefix("sha256=").unwrap_or_default();
    if secret.is_empty()
        || hex.is_empty()
        || !hmac_sha256_matches(secret.as_bytes(), request.body, hex)
    {
        return Err(WebhookError::Forged(
            "X-Hub-Signature-256 does not match the body signed with the app secret".into(),
        ));
    }
    Ok(())
}

/// The webhook body as JSON, refusing anything else.
pub fn parse_body(request: &WebhookRequest, object: &str) -> Result<Option<Value>, WebhookError> {
    let body = request.json_post("Meta")?;
    // Another product of the same app (Instagram, page feed) is acknowledged and ignored.
    Ok((body.get("object").and_then(Value::as_str) == Some(object)).then_some(body))
}

/// Streams `url` into `sink`, refusing more than `limit` bytes; `bearer` for WhatsApp media.
pub fn download(
    ctx: &ProviderContext,
    url: &str,
    bearer: bool,
    limit: u64,
    sink: &mut dyn Write,
) -> Result<DownloadedFile, ProviderError> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ProviderError::Rejected(format!(
            "`{url}` is not a downloadable URL"
        )));
    }
    let mut request = ctx.agent.get(url);
    if bearer {
        request = request.header("Authorization", &format!("Bearer {}", ctx.token));
    }
    let copied = download_request(request, limit, sink, |status| match status {
        401 => ProviderError::Unauthorized(format!("download refused: HTTP {status}")),
        // Signed CDN URLs expire; the messenger no longer serves the file.
        403 | 404 | 410 => {
            ProviderError::Rejected(format!("the file is no longer available (HTTP {status})"))
        }
        _ => ProviderError::Unavailable(format!("download failed: HTTP {status}")),
    })?;
    Ok(DownloadedFile {
        size: copied,
        suggested_name: None,
    })
}

/// A file extension for a MIME type, to name files that arrive without a name.
pub fn mime_extension(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or("").trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "audio/aac" => "aac",
        "audio/mp4" => "m4a",
        "audio/amr" => "amr",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ctx_parts() -> (serde_json::Map<String, Value>, ureq::Agent) {
        let mut settings = serde_json::Map::new();
        settings.insert("verify_token".into(), "vt-1".into());
        settings.insert("app_secret".into(), "secret".into());
        (settings, ureq::Agent::config_builder().build().into())
    }

    fn ctx<'a>(
        settings: &'a serde_json::Map<String, Value>,
        agent: &'a ureq::Agent,
    ) -> ProviderContext<'a> {
        ProviderContext {
            channel_id: 1,
            account_id: None,
            account_name: None,
            token: "t",
            settings,
            webhook_secret: "",
            api_base: "http://x/",
            agent,
        }
    }

    #[test]
    fn handshake_echoes_the_challenge_only_for_our_verify_token() {
        let (settings, agent) = ctx_parts();
        let ctx = ctx(&settings, &agent);
        let headers = BTreeMap::new();
        let query_with = |token: &str| -> BTreeMap<String, String> {
            [
                ("hub.mode", "subscribe"),
                ("hub.verify_token", token),
                ("hub.challenge", "12345"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let (good, wrong) = (query_with("vt-1"), query_with("vt-2"));
        let request = |method, query| WebhookRequest {
            method,
            headers: &headers,
            query,
            body: b"",
        };
        let reply = handshake(&ctx, &request("GET", &good)).unwrap().unwrap();
        assert_eq!((reply.status, reply.body.as_str()), (200, "12345"));
        assert!(handshake(&ctx, &request("POST", &good)).is_none());
        let err = handshake(&ctx, &request("GET", &wrong))
            .unwrap()
            .unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(!err.to_string().contains("12345"));
    }

    #[test]
    fn signature_is_checked_over_the_raw_bytes() {
        let (settings, agent) = ctx_parts();
        let ctx = ctx(&settings, &agent);
        let body = br#"{"a":"\u0416\/"}"#;
        let good = format!("sha256={}", super::super::hmac_sha256_hex(b"secret", body));
        let query = BTreeMap::new();
        let check = |header: Option<&str>, body: &[u8]| {
            let mut headers = BTreeMap::new();
            if let Some(h) = header {
                headers.insert("x-hub-signature-256".to_string(), h.to_string());
            }
            verify_signature(
                &ctx,
                &WebhookRequest {
                    method: "POST",
                    headers: &headers,
                    query: &query,
                    body,
                },
            )
        };
        assert_eq!(check(Some(&good), body), Ok(()));
        assert_eq!(check(None, body).unwrap_err().status(), 401);
        assert_eq!(
            check(Some(&good), "{\"a\":\"Ж/\"}".as_bytes())
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(check(Some("sha256=00"), body).unwrap_err().status(), 403);
    }

    #[test]
    fn error_codes_are_read_as_integers_and_mapped() {
        let e = parse_error(
            400,
            &serde_json::json!({"message": "m", "code": 613, "error_subcode": 2018278u64}),
        );
        assert_eq!((e.code, e.subcode), (613, Some(2018278)));
        assert_eq!(common_error(&e).unwrap().code(), "rate_limited");
        let e = parse_error(400, &serde_json::json!({"message": "m", "code": 190}));
        assert_eq!(common_error(&e).unwrap().code(), "provider_unauthorized");
        let e = parse_error(500, &serde_json::json!({"message": "m", "code": 9999}));
        assert_eq!(common_error(&e).unwrap().code(), "provider_unavailable");
        let e = parse_error(400, &serde_json::json!({"message": "m", "code": 100}));
        assert_eq!(common_error(&e), None);
        assert_eq!(
            url(&ctx(&ctx_parts().0, &ctx_parts().1), "/me"),
            "http://x/v21.0/me"
        );
    }
}
