//! `fake-telegram --listen 127.0.0.1:8081 --token <TOKEN>`: the fake Telegram Bot API and its
//! demo page (open the listen address in a browser) for `make demo`.

use std::process::ExitCode;

use crmchats_fakes::telegram::{FakeTelegram, FIXTURE_TOKEN};

const USAGE: &str = "usage: fake-telegram [--listen 127.0.0.1:8081] [--token <BOT TOKEN>]";

fn main() -> ExitCode {
    let mut listen = "127.0.0.1:8081".to_string();
    let mut token = FIXTURE_TOKEN.to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let target = match arg.as_str() {
            "--listen" => &mut listen,
            "--token" => &mut token,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        };
        match args.next() {
            Some(value) => *target = value,
            None => {
                eprintln!("{arg} needs a value\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let fake = match FakeTelegram::start_on(&listen, &token) {
        Ok(fake) => fake,
        Err(err) => {
            eprintln!("fake-telegram: cannot listen on {listen}: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Like the real API, too many sends too fast get a 429.
    fake.enforce_flood_limits(crmchats_fakes::FloodLimits::TELEGRAM);
    println!("fake Telegram Bot API on {}", fake.base_url());
    println!("  API base for crmchats: {}", fake.base_url());
    println!("  bot token:             {token}");
    println!("  demo page:             {}/", fake.base_url());
    // The server runs on its own thread; this one only keeps the process alive.
    loop {
        std::thread::park();
    }
}
