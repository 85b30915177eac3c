//! The proxies tunnel real client traffic to a loopback origin and refuse bad credentials.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{agent_via, json, read, TOKEN};
use crmchats_fakes::{FakeTelegram, HttpConnectProxy, Socks5Proxy};

fn get_me_url(origin: &FakeTelegram, host: &str) -> String {
    let port = origin.base_url().rsplit(':').next().unwrap().to_string();
    format!("http://{host}:{port}/bot{TOKEN}/getMe")
}

fn assert_get_me_works(origin: &FakeTelegram, proxy_url: &str, host: &str) {
    let (status, _, body) = read(
        agent_via(Some(proxy_url))
            .get(get_me_url(origin, host))
            .call(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["result"]["username"], "severny_veter_help_bot");
}

fn origin_port(origin: &FakeTelegram) -> String {
    origin.base_url().rsplit(':').next().unwrap().to_string()
}

#[test]
fn the_http_proxy_tunnels_connect_requests() {
    let origin = FakeTelegram::start(TOKEN);
    let proxy = HttpConnectProxy::start();
    assert_get_me_works(&origin, &proxy.url(), "127.0.0.1");
    assert_eq!(proxy.requests_seen(), 1);
    assert_eq!(
        proxy.targets(),
        [format!("127.0.0.1:{}", origin_port(&origin))]
    );
    assert_eq!(origin.calls("getMe").len(), 1);
}

#[test]
fn the_http_proxy_with_auth_refuses_wrong_credentials_with_407() {
    let origin = FakeTelegram::start(TOKEN);
    let proxy = HttpConnectProxy::start_with_auth("crm", "s3cret");
    let with_credentials = proxy.url().replace("http://", "http://crm:s3cret@");
    assert_get_me_works(&origin, &with_credentials, "127.0.0.1");

    let wrong = proxy.url().replace("http://", "http://crm:wrong@");
    let err = agent_via(Some(&wrong))
        .get(get_me_url(&origin, "127.0.0.1"))
        .call()
        .unwrap_err();
    assert!(err.to_string().contains("407"), "{err}");
    assert!(agent_via(Some(&proxy.url()))
        .get(get_me_url(&origin, "127.0.0.1"))
        .call()
        .is_err());
    assert_eq!((proxy.requests_seen(), proxy.refused_seen()), (1, 2));
    assert_eq!(origin.calls("getMe").len(), 1);
}

#[test]
fn the_http_proxy_forwards_absolute_form_requests() {
    let origin = FakeTelegram::start(TOKEN);
    let proxy = HttpConnectProxy::start_with_auth("crm", "s3cret");
    let mut stream = TcpStream::connect(proxy.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nProxy-Authorization: Basic Y3JtOnMzY3JldA==\r\nProxy-Connection: Keep-Alive\r\n\r\n",
        get_me_url(&origin, "127.0.0.1"),
        origin_port(&origin)
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("severny_veter_help_bot"));
    assert_eq!(proxy.requests_seen(), 1);
    let seen = &origin.calls("getMe")[0];
    assert_eq!(seen.path, format!("/bot{TOKEN}/getMe"));
    assert_eq!(seen.header("proxy-authorization"), None);
}

#[test]
fn the_socks5_proxy_tunnels_with_username_and_password() {
    let origin = FakeTelegram::start(TOKEN);
    let proxy = Socks5Proxy::start(Some(("crm".into(), "p@ss:word".into())));
    assert!(proxy
        .url()
        .starts_with("socks5://crm:p%40ss%3Aword@127.0.0.1:"));
    assert_get_me_works(&origin, &proxy.url(), "127.0.0.1");
    assert_eq!(proxy.connections_seen(), 1);
    assert_eq!(
        proxy.targets(),
        [format!("127.0.0.1:{}", origin_port(&origin))]
    );
}

#[test]
fn the_socks5_proxy_resolves_domain_name_targets() {
    let origin = FakeTelegram::start(TOKEN);
    let proxy = Socks5Proxy::start(None);
    let remote_dns = proxy.url().replace("socks5://", "socks5h://");
    assert_get_me_works(&origin, &remote_dns, "localhost");
    assert_eq!(
        proxy.targets(),
        [format!("localhost:{}", origin_port(&origin))]
    );
}

#[test]
fn the_socks5_proxy_refuses_bad_credentials_and_clients_without_auth() {
    let origin = FakeTelegram::start(TOKEN);
    let proxy = Socks5Proxy::start(Some(("crm".into(), "right".into())));
    let wrong = proxy.url().replace(":right@", ":wrong@");
    assert!(agent_via(Some(&wrong))
        .get(get_me_url(&origin, "127.0.0.1"))
        .call()
        .is_err());
    let anonymous = format!("socks5://{}", proxy.addr());
    assert!(agent_via(Some(&anonymous))
        .get(get_me_url(&origin, "127.0.0.1"))
        .call()
        .is_err());
    assert_eq!((proxy.connections_seen(), proxy.refused_seen()), (0, 2));
    assert!(origin.requests().is_empty());
}

#[test]
fn a_dropped_proxy_stops_listening() {
    let proxy = HttpConnectProxy::start();
    let addr = proxy.addr();
    drop(proxy);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
