//! `fake-graph --listen 127.0.0.1:8082`: the fake Meta Graph API (Facebook Messenger and the
//! WhatsApp Business Cloud API) with the shared fixtures' ids and tokens, for `make demo`.

use std::process::ExitCode;

use crmchats_fakes::graph::{FakeGraph, GraphConfig};

const USAGE: &str = "usage: fake-graph [--listen 127.0.0.1:8082]";

fn main() -> ExitCode {
    let mut listen = "127.0.0.1:8082".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(value)) => listen = value,
            ("-h" | "--help", _) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unexpected argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let config = GraphConfig::default();
    let fake = match FakeGraph::start_on(&listen, config.clone()) {
        Ok(fake) => fake,
        Err(err) => {
            eprintln!("fake-graph: cannot listen on {listen}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("fake Meta Graph API on {}", fake.base_url());
    println!("  API base for crmchats:  {}", fake.base_url());
    println!("  Messenger page id:      {}", config.page_id);
    println!("  Messenger page token:   {}", config.page_token);
    println!(
        "  WhatsApp phone id/WABA: {} / {}",
        config.phone_number_id, config.waba_id
    );
    println!("  WhatsApp access token:  {}", config.wa_token);
    // The server runs on its own thread; this one only keeps the process alive.
    loop {
        std::thread::park();
    }
}
