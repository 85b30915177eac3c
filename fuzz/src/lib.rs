//! What the fuzz targets run, shared with the replay test in the main crate's test suite.

use std::collections::BTreeMap;

use crmchats::model::ChannelType;
use crmchats::providers::{provider_for, ProviderContext, WebhookRequest};
use serde_json::{json, Map, Value};

pub const PROVIDERS: [ChannelType; 6] = [
    ChannelType::Telegram,
    ChannelType::Viber,
    ChannelType::Vk,
    ChannelType::Facebook,
    ChannelType::WhatsappCloud,
    ChannelType::Chatapi,
];

fn settings(kind: ChannelType) -> Map<String, Value> {
    let v = match kind {
        ChannelType::Vk => json!({"group_id": "218734561"}),
        ChannelType::Facebook => json!({"page_id": "104857392011234", "app_id": "1517776481860111",
            "app_secret": "3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e", "verify_token": "v"}),
        ChannelType::WhatsappCloud => {
            json!({"phone_number_id": "106540352242922", "waba_id": "102290129340398",
            "app_secret": "b7e2d9a4c1f6083e5a9d2c7b4e1f8a3d", "verify_token": "v"})
        }
        ChannelType::Chatapi => json!({"api_url": "https://api.chat-api.com/instance318205"}),
        _ => json!({}),
    };
    v.as_object().cloned().unwrap_or_default()
}

/// First byte: the provider; the rest: the webhook body. Runs handshake, verify and parse (parse
/// also on bodies verify refuses, so the parsers see every shape).
pub fn webhook(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let kind = PROVIDERS[selector as usize % PROVIDERS.len()];
    let provider = provider_for(kind).expect("a provider for every fuzzed type");
    let settings = settings(kind);
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let ctx = ProviderContext {
        channel_id: 1,
        account_id: Some("218734561"),
        account_name: Some("Bot"),
        token: "7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE",
        settings: &settings,
        webhook_secret: "vkShrd7Qp2Lm9Xc4",
        api_base: "http://127.0.0.1:9",
        agent: &agent,
    };
    let headers: BTreeMap<String, String> = BTreeMap::new();
    let mut query = BTreeMap::new();
    query.insert("key".to_string(), "vkShrd7Qp2Lm9Xc4".to_string());
    let method = if selector & 0x80 == 0 { "POST" } else { "GET" };
    let request = WebhookRequest {
        method,
        headers: &headers,
        query: &query,
        body,
    };
    let _ = provider.handshake(&ctx, &request);
    let _ = provider.verify(&ctx, &request);
    let _ = provider.parse(&ctx, &request);
}

/// The C ABI before init: a method name and a JSON text, split at the first NUL; also a webhook
/// request with the bytes as its body. Every call must return an envelope (checked).
pub fn abi(data: &[u8]) {
    use std::ffi::{CStr, CString};
    let (method, json) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let json: Vec<u8> = json.iter().copied().filter(|b| *b != 0).collect();
    let method = CString::new(method.to_vec()).unwrap_or_default();
    let json = CString::new(json).unwrap_or_default();
    for out in [
        unsafe { crmchats::ffi::crmchats_call(method.as_ptr(), json.as_ptr()) },
        unsafe {
            crmchats::ffi::crmchats_handle_webhook(json.as_ptr(), data.as_ptr().cast(), data.len())
        },
        unsafe { crmchats::ffi::crmchats_list_dialogs(json.as_ptr()) },
    ] {
        assert!(!out.is_null(), "every call answers an envelope");
        let text = unsafe { CStr::from_ptr(out) }.to_bytes().to_vec();
        unsafe { crmchats::ffi::crmchats_free(out) };
        let envelope: Value = serde_json::from_slice(&text).expect("the envelope is JSON");
        assert!(envelope["ok"].is_boolean(), "an ok flag");
    }
}
