//! Hostile webhook input against every provider's `verify` and `parse`, with no network and no
//! database: every real fixture mutated thousands of times (bytes flipped, cut, inserted, JSON
//! nested deep) must come back as an answer — accepted, refused or malformed — never a panic; and
//! for the messengers that sign their bodies, any changed byte must be refused.
//!
//! A deterministic generator keeps failures reproducible (the seed is in the message). This is the
//! short run `make test` does; it is not a coverage-guided fuzzer.

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::repo_path;
use crmchats::model::ChannelType;
use crmchats::providers::{provider_for, ProviderContext, WebhookRequest};
use serde_json::{json, Map, Value};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let cut = rng.below(out.len());
                out.truncate(cut);
            }
            2 => {
                let i = rng.below(out.len() + 1);
                let junk: &[u8] = match rng.below(6) {
                    0 => b"\xff\xfe",
                    1 => b"{\"a\":",
                    2 => b"99999999999999999999999",
                    3 => b"null",
                    4 => b"\\u0000",
                    _ => b"[",
                };
                out.splice(i..i, junk.iter().copied());
            }
            3 if !out.is_empty() => {
                let i = rng.below(out.len());
                out.remove(i);
            }
            4 => {
                // Replace a value by one of another type.
                if let Ok(mut v) = serde_json::from_slice::<Value>(&out) {
                    retype(rng, &mut v);
                    out = serde_json::to_vec(&v).unwrap();
                }
            }
            _ => {}
        }
    }
    out
}

fn retype(rng: &mut Rng, v: &mut Value) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.below(keys.len())];
            let inner = map.get_mut(key).unwrap();
            if rng.below(3) == 0 {
                *inner = match rng.below(5) {
                    0 => Value::Null,
                    1 => json!(-1),
                    2 => json!("x"),
                    3 => json!([]),
                    _ => json!(18446744073709551615u64),
                };
            } else {
                retype(rng, inner);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            retype(rng, &mut items[i]);
        }
        _ => {}
    }
}

/// Every inbound fixture of a provider: (name, body, headers).
fn fixtures(provider: &str) -> Vec<(String, Vec<u8>, BTreeMap<String, String>)> {
    let dir = repo_path(&format!("tests/fixtures/{provider}/inbound"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json")
            || name.ends_with(".headers.json")
            || name.ends_with(".request.json")
        {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let headers_path = path.with_file_name(name.replace(".json", ".headers.json"));
        let headers: BTreeMap<String, String> = std::fs::read_to_string(headers_path)
            .ok()
            .and_then(|t| serde_json::from_str::<BTreeMap<String, String>>(&t).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        out.push((name, body, headers));
    }
    assert!(!out.is_empty(), "fixtures of {provider}");
    out
}

/// The fixtures' secrets, as a channel of each type would hold them.
fn channel_settings(kind: ChannelType) -> (String, Map<String, Value>, String, Option<String>) {
    let (token, settings, secret, account) = match kind {
        ChannelType::Telegram => (
            "7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE",
            json!({}),
            "tgShared_9fK2-wLq7Zx4",
            None,
        ),
        ChannelType::Viber => (
            "4a1c9f0e2b7d3a55-7c1e9b2f4d6a8e01-3b5d7f9a1c2e4f60",
            json!({}),
            "x",
            None,
        ),
        ChannelType::Vk => (
            "vk1.a.SHARED-fake-community-token-0123456789abcdef",
            json!({"group_id": "218734561"}),
            "vkShrd7Qp2Lm9Xc4",
            Some("218734561"),
        ),
        ChannelType::Facebook => (
            "EAAVfakeSharedPageToken0123456789",
            json!({"page_id": "104857392011234", "app_id": "1517776481860111",
            "app_secret": "3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e", "verify_token": "crmchats-fb-verify-A7"}),
            "x",
            Some("104857392011234"),
        ),
        ChannelType::WhatsappCloud => (
            "EAAGfakeSharedSystemUserToken0123",
            json!({"phone_number_id": "106540352242922", "waba_id": "102290129340398",
            "app_secret": "b7e2d9a4c1f6083e5a9d2c7b4e1f8a3d", "verify_token": "crmchats-wa-verify-A7"}),
            "x",
            None,
        ),
        ChannelType::Chatapi => (
            "sh4r3dch4t4p1t0k3n",
            json!({"api_url": "https://api.chat-api.com/instance318205"}),
            "chatapiSharedKey-7d2f",
            Some("318205"),
        ),
        ChannelType::Widget => ("", json!({}), "x", None),
    };
    (
        token.to_string(),
        settings.as_object().unwrap().clone(),
        secret.to_string(),
        account.map(str::to_string),
    )
}

const RUNS_PER_FIXTURE: u64 = 400;

fn hammer(kind: ChannelType, provider_dir: &str, query: BTreeMap<String, String>) -> (u64, u64) {
    let provider = provider_for(kind).unwrap();
    let (token, settings, secret, account) = channel_settings(kind);
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let ctx = ProviderContext {
        channel_id: 1,
        account_id: account.as_deref(),
        account_name: Some("Bot"),
        token: &token,
        settings: &settings,
        webhook_secret: &secret,
        api_base: "http://127.0.0.1:9",
        agent: &agent,
    };
    let (mut runs, mut accepted) = (0, 0);
    for (name, body, headers) in fixtures(provider_dir) {
        for seed in 1..=RUNS_PER_FIXTURE {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ name.len() as u64);
            let mutated = mutate(&mut rng, &body);
            let request = WebhookRequest {
                method: "POST",
                headers: &headers,
                query: &query,
                body: &mutated,
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                provider.handshake(&ctx, &request).map(|r| r.is_ok());
                match provider.verify(&ctx, &request) {
                    Ok(()) => provider.parse(&ctx, &request).is_ok(),
                    Err(_) => false,
                }
            }));
            let ok = outcome.unwrap_or_else(|_| {
                panic!("{provider_dir}/{name}: panicked on mutation seed {seed}")
            });
            runs += 1;
            if ok {
                accepted += 1;
            }
        }
    }
    (runs, accepted)
}

#[test]
fn mutated_webhooks_never_panic_any_provider() {
    let key_query: BTreeMap<String, String> = [
        ("key".to_string(), "chatapiSharedKey-7d2f".to_string()),
        ("channel".to_string(), "1".to_string()),
    ]
    .into_iter()
    .collect();
    for (kind, dir, query) in [
        (ChannelType::Telegram, "telegram", BTreeMap::new()),
        (ChannelType::Viber, "viber", BTreeMap::new()),
        (ChannelType::Vk, "vk", BTreeMap::new()),
        (ChannelType::Facebook, "facebook", BTreeMap::new()),
        (
            ChannelType::WhatsappCloud,
            "whatsapp_cloud",
            BTreeMap::new(),
        ),
        (ChannelType::Chatapi, "chatapi", key_query),
    ] {
        let (runs, accepted) = hammer(kind, dir, query);
        assert!(runs >= RUNS_PER_FIXTURE, "{dir}: {runs} runs");
        println!("{dir}: {runs} mutated webhooks, {accepted} accepted, none panicked");
    }
}

#[test]
fn any_changed_byte_of_a_signed_body_is_refused() {
    for (kind, dir) in [
        (ChannelType::Viber, "viber"),
        (ChannelType::Facebook, "facebook"),
        (ChannelType::WhatsappCloud, "whatsapp_cloud"),
    ] {
        let provider = provider_for(kind).unwrap();
        let (token, settings, secret, account) = channel_settings(kind);
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let ctx = ProviderContext {
            channel_id: 1,
            account_id: account.as_deref(),
            account_name: Some("Bot"),
            token: &token,
            settings: &settings,
            webhook_secret: &secret,
            api_base: "http://127.0.0.1:9",
            agent: &agent,
        };
        let query = BTreeMap::new();
        for (name, body, headers) in fixtures(dir) {
            let original = WebhookRequest {
                method: "POST",
                headers: &headers,
                query: &query,
                body: &body,
            };
            assert!(
                provider.verify(&ctx, &original).is_ok(),
                "{dir}/{name}: the fixture's own signature verifies"
            );
            let mut rng = Rng(0xC0FFEE ^ body.len() as u64);
            for _ in 0..300 {
                let mut changed = body.clone();
                let i = rng.below(changed.len());
                changed[i] ^= 1 << rng.below(8);
                let request = WebhookRequest {
                    method: "POST",
                    headers: &headers,
                    query: &query,
                    body: &changed,
                };
                assert!(
                    provider.verify(&ctx, &request).is_err(),
                    "{dir}/{name}: byte {i} changed and still accepted"
                );
            }
        }
    }
}
