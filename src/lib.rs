//! crmchats: a messenger inbox for a PHP CRM.
//!
//! Operators in the host CRM answer visitors who write from Telegram, Viber, VK, Facebook
//! Messenger and WhatsApp from one console. This crate is a `cdylib` with a small C
//! ABI (`include/crmchats.h`) that the CRM's PHP loads through FFI, and an `rlib` whose Rust API
//! ([`api::Crmchats`]) the tests and benchmarks call directly.
//!
//! Dependencies point one way: `ffi -> api -> (ingest, outbound, team, crm) -> (providers, store) -> model`.

pub mod api;
pub mod comet;
pub mod config;
pub mod crm;
pub mod error;
pub mod ffi;
pub mod http;
pub mod import;
pub mod ingest;
pub mod logging;
pub mod model;
pub mod outbound;
pub mod outbox;
pub mod providers;
pub mod reports;
pub mod runtime;
pub mod settings;
pub mod storage;
pub mod store;
pub mod stream;
pub mod team;
pub mod time;
pub mod widget;
