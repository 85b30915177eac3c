//! `fake-providers --ports 8082`: fake Viber, VK, Meta Graph (Facebook Messenger and WhatsApp
//! Cloud) and Chat-API servers on consecutive loopback ports, with the shared fixtures' ids and
//! tokens, so `make demo` can connect every channel type without the real messengers. Prints the
//! API base of each (for `CRMCHATS_<TYPE>_API_BASE`) and the credentials to type in the form.

use std::process::ExitCode;

use crmchats_fakes::chatapi::{self, FakeChatApi};
use crmchats_fakes::graph::{FakeGraph, GraphConfig};
use crmchats_fakes::viber::{self, FakeViber};
use crmchats_fakes::vk::{self, FakeVk};

const USAGE: &str =
    "usage: fake-providers [--ports FIRST]   (FIRST..FIRST+3 on 127.0.0.1; default 8082)";

fn main() -> ExitCode {
    let mut first: u16 = 8082;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--ports", Some(value)) => match value.parse() {
                Ok(p) => first = p,
                Err(_) => {
                    eprintln!("--ports takes a port number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
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
    let addr = |offset: u16| format!("127.0.0.1:{}", first + offset);
    let started = (|| -> std::io::Result<_> {
        let viber = FakeViber::start_on(&addr(0), viber::FIXTURE_TOKEN)?;
        let vk = FakeVk::start_on(&addr(1), vk::FIXTURE_TOKEN)?;
        let graph_config = GraphConfig::default();
        let graph = FakeGraph::start_on(&addr(2), graph_config.clone())?;
        let chatapi =
            FakeChatApi::start_on(&addr(3), chatapi::FIXTURE_INSTANCE, chatapi::FIXTURE_TOKEN)?;
        Ok((viber, vk, graph, graph_config, chatapi))
    })();
    let (viber, vk, graph, graph_config, chatapi) = match started {
        Ok(fakes) => fakes,
        Err(err) => {
            eprintln!(
                "fake-providers: cannot listen on ports {first}..{}: {err}",
                first + 3
            );
            return ExitCode::FAILURE;
        }
    };
    println!("viber={}", viber.base_url());
    println!("vk={}", vk.base_url());
    println!("facebook={}", graph.base_url());
    println!("whatsapp_cloud={}", graph.base_url());
    println!("chatapi={}", chatapi.base_url());
    println!("# credentials the fakes accept:");
    println!("#   viber          token {}", viber::FIXTURE_TOKEN);
    println!("#   vk             token {}", vk::FIXTURE_TOKEN);
    println!(
        "#   facebook       token {}  page_id {}",
        graph_config.page_token, graph_config.page_id
    );
    println!(
        "#   whatsapp_cloud token {}  phone_number_id {}  waba_id {}",
        graph_config.wa_token, graph_config.phone_number_id, graph_config.waba_id
    );
    println!(
        "#   chatapi        api_url {}/instance{}  token {}",
        chatapi.base_url(),
        chatapi::FIXTURE_INSTANCE,
        chatapi::FIXTURE_TOKEN
    );
    // The servers run on their own threads; this one only keeps the process alive.
    loop {
        std::thread::park();
    }
}
