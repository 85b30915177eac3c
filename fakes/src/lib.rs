//! Fake messenger providers on 127.0.0.1 that speak the providers' real wire formats, for the
//! main crate's integration tests and for `make demo`.
//!
//! - [`telegram::FakeTelegram`]: the Telegram Bot API (`/bot<TOKEN>/<method>`, file downloads,
//!   webhook delivery) plus a demo page where a person plays a Telegram user;
//! - [`viber::FakeViber`]: the Viber REST Bot API (`/pa/<method>`), signed webhook callbacks
//!   (also the `webhook` check during `set_webhook`) and the media files callbacks point at;
//! - [`chatapi::FakeChatApi`]: a Chat-API (chat-api.com WhatsApp) instance
//!   (`/instance<ID>/<method>?token=`), its unsigned `messages`/`ack` webhooks and their media;
//! - [`vk::FakeVk`]: the VK API for a community token (methods, upload servers, file links)
//!   and VK's Callback API delivery;
//! - [`graph::FakeGraph`]: the Meta Graph API for Facebook Messenger and the WhatsApp Business
//!   Cloud API (Send API, profiles, media, `subscribed_apps`, signed webhook delivery);
//! - [`proxy`]: an HTTP (CONNECT and absolute-form) proxy and a SOCKS5 proxy;
//! - [`http`]: the recorded request and the HTTP helpers the fakes share.

pub mod chatapi;
pub mod graph;
pub mod http;
pub mod proxy;
pub mod telegram;
pub mod viber;
pub mod vk;

pub use chatapi::FakeChatApi;
pub use graph::{FakeGraph, GraphConfig};
pub use http::{MultipartFile, RecordedRequest};
pub use proxy::{HttpConnectProxy, Socks5Proxy};
pub use telegram::{AcceptedSend, FakeTelegram, FloodLimits, TelegramUser, WebhookRegistration};
pub use viber::{FakeViber, ViberUser, ViberWebhook};
pub use vk::{CallbackServer, FakeVk, SentVkMessage, VkUser};
