//! The database dies in the middle of a webhook burst: webhooks answer 5xx while it is down (so
//! the messenger retries), nothing is half-stored, and once it is back every retried message is
//! stored exactly once. The test runs its own MariaDB server (own data directory, own port) and
//! kills it with SIGKILL, so the machine's server is untouched.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use crmchats::api::Crmchats;
use crmchats_fakes::FakeTelegram;
use mysql::prelude::Queryable;
use serde_json::{json, Value};

/// A MariaDB server of the test's own, in a temporary data directory.
struct PrivateMariaDb {
    dir: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl PrivateMariaDb {
    fn start() -> PrivateMariaDb {
        let dir = std::env::temp_dir().join(format!("crmchats-faults-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let installed = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                &format!("--datadir={}", dir.join("data").display()),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect(
                "mariadb-install-db runs (Debian's mariadb-server, started by scripts/setup.sh)",
            );
        assert!(installed.success(), "mariadb-install-db failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut db = PrivateMariaDb {
            dir,
            port,
            server: None,
        };
        db.run();
        db
    }

    fn run(&mut self) {
        let server = Command::new("/usr/sbin/mariadbd")
            .args([
                "--no-defaults",
                &format!("--datadir={}", self.dir.join("data").display()),
                &format!("--port={}", self.port),
                "--bind-address=127.0.0.1",
                &format!("--socket={}", self.dir.join("sock").display()),
                "--user=root",
                "--innodb-buffer-pool-size=16M",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(30);
        while mysql::Conn::new(mysql::Opts::from_url(&self.url("mysql")).unwrap()).is_err() {
            assert!(Instant::now() < deadline, "private MariaDB did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no shutdown, transactions in flight are lost as in a crash.
    fn kill(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.kill().unwrap();
            server.wait().unwrap();
        }
    }

    fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn load_host_tables(url: &str) {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).unwrap()).unwrap();
    for file in [
        "sql/host-dev/001_salesman.sql",
        "sql/host-dev/002_demo_users.sql",
    ] {
        let sql = std::fs::read_to_string(repo_path(file)).unwrap();
        for statement in crmchats::store::split_statements(&sql) {
            conn.query_drop(statement).unwrap();
        }
    }
}

static UPDATE: AtomicI64 = AtomicI64::new(800_000);

fn update(n: i64) -> Value {
    let id = UPDATE.load(Ordering::Relaxed) + n;
    json!({"update_id": id, "message": {"message_id": id, "date": 1_764_000_000,
        "from": {"id": 5000 + n % 7, "is_bot": false, "first_name": "Гость"},
        "chat": {"id": 5000 + n % 7, "type": "private", "first_name": "Гость"},
        "text": format!("сообщение {n}")}})
}

fn post(app: &Crmchats, channel: i64, body: &Value) -> u16 {
    let request =
        json!({"channel_id": channel, "method": "POST", "headers": tg_headers(), "query": {}});
    let answer = app
        .handle_webhook(&request, body.to_string().as_bytes())
        .expect("handle_webhook always answers");
    answer["status"].as_u64().unwrap() as u16
}

#[test]
fn a_database_killed_mid_burst_loses_nothing_and_duplicates_nothing() {
    let mut mariadb = PrivateMariaDb::start();
    {
        let mut root =
            mysql::Conn::new(mysql::Opts::from_url(&mariadb.url("mysql")).unwrap()).unwrap();
        root.query_drop("CREATE DATABASE crm CHARACTER SET utf8mb4")
            .unwrap();
    }
    let url = mariadb.url("crm");
    load_host_tables(&url);
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("faults");
    let app = Crmchats::open(&json!({
        "database_url": url,
        "storage_dir": storage.0,
        "public_base_url": "https://crm.example.test/plugins/crmchats",
        "providers": {"telegram": {"api_base": tg.base_url()}},
        "http_timeout_secs": 5,
    }))
    .unwrap();
    let channel = app
        .call(
            "channels.create",
            &json!({"type": "telegram", "name": "Bot", "token": TG_TOKEN,
                    "settings": {"webhook_secret": TG_SECRET}}),
        )
        .unwrap()["channel"]["id"]
        .as_i64()
        .unwrap();

    const TOTAL: i64 = 40;
    let mut refused = Vec::new();
    for n in 0..TOTAL {
        if n == 15 {
            mariadb.kill();
        }
        if n == 30 {
            mariadb.run();
        }
        let status = post(&app, channel, &update(n));
        match status {
            200 => {}
            s if s >= 500 => refused.push(n),
            other => panic!("update {n}: answered {other}, neither stored nor retryable"),
        }
    }
    assert!(
        refused.len() >= 10,
        "the updates sent while the database was down were refused: {refused:?}"
    );
    assert!(refused.iter().all(|n| (15..30).contains(n)), "{refused:?}");

    // The messenger retries what was refused, and (as messengers do) redelivers some of the rest.
    for n in refused.iter().copied().chain([0, 14, 30, 39]) {
        assert_eq!(post(&app, channel, &update(n)), 200, "retry of update {n}");
    }

    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let stored: Vec<String> = conn
        .query("SELECT text FROM app_crmchats_messages WHERE direction = 'in' ORDER BY text")
        .unwrap();
    let mut expected: Vec<String> = (0..TOTAL).map(|n| format!("сообщение {n}")).collect();
    expected.sort();
    assert_eq!(stored, expected, "every message exactly once");
    let visitors: i64 = conn
        .query_first("SELECT COUNT(*) FROM app_crmchats_visitors")
        .unwrap()
        .unwrap();
    assert_eq!(visitors, 7);
    let dialogs: i64 = conn
        .query_first("SELECT COUNT(*) FROM app_crmchats_dialogs")
        .unwrap()
        .unwrap();
    assert_eq!(dialogs, 7, "one dialog per visitor, none half-made");
    let counted: i64 = conn
        .query_first("SELECT SUM(inbound_count) FROM app_crmchats_dialogs")
        .unwrap()
        .unwrap();
    assert_eq!(counted, TOTAL, "unread counters match the stored messages");
}
