//! `bench_sqlcount --upstream 127.0.0.1:3306 --log FILE`: a loopback MySQL-protocol proxy that
//! writes one line per client command to FILE, so `make bench` can count the round trips an
//! operation costs (pings, prepares and executes included, which the general log partly misses).
//!
//! Prints `listening on 127.0.0.1:PORT` once ready. A line is `<conn>\t<command>\t<sql>`, written
//! before the command is forwarded, so when a call returns, all of its lines are in the file.
//! Executes carry the SQL of their prepared statement. Only plain (no TLS, no compression)
//! connections are understood; the bench uses nothing else.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

const USAGE: &str = "usage: bench_sqlcount [--listen 127.0.0.1:0] --upstream HOST:PORT --log FILE";

/// Per connection: the prepare waiting for its answer, and the statements prepared so far.
#[derive(Default)]
struct Statements {
    awaiting_prepare: Option<String>,
    by_id: HashMap<u32, String>,
}

fn main() -> ExitCode {
    let mut listen = "127.0.0.1:0".to_string();
    let mut upstream = String::new();
    let mut log_path = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let target = match arg.as_str() {
            "--listen" => &mut listen,
            "--upstream" => &mut upstream,
            "--log" => &mut log_path,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        };
        match args.next() {
            Some(value) => *target = value,
            None => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if upstream.is_empty() || log_path.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let log = match File::create(&log_path) {
        Ok(f) => Arc::new(Mutex::new(f)),
        Err(e) => {
            eprintln!("bench_sqlcount: {log_path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench_sqlcount: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => {
            eprintln!("bench_sqlcount: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = io::stdout().flush();
    let next_conn = AtomicU64::new(1);
    for client in listener.incoming().flatten() {
        let conn_id = next_conn.fetch_add(1, Ordering::Relaxed);
        let log = Arc::clone(&log);
        let upstream = upstream.clone();
        thread::spawn(move || {
            if let Err(e) = relay(conn_id, client, &upstream, log) {
                eprintln!("bench_sqlcount: connection {conn_id}: {e}");
            }
        });
    }
    ExitCode::SUCCESS
}

/// One MySQL packet: (sequence id, payload).
fn read_packet(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 4];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((header[3], payload)))
}

fn write_packet(w: &mut impl Write, seq: u8, payload: &[u8]) -> io::Result<()> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut packet = Vec::with_capacity(payload.len() + 4);
    packet.extend_from_slice(&[len[0], len[1], len[2], seq]);
    packet.extend_from_slice(payload);
    w.write_all(&packet)
}

fn command_name(code: u8) -> &'static str {
    match code {
        0x01 => "Quit",
        0x02 => "InitDb",
        0x03 => "Query",
        0x0e => "Ping",
        0x11 => "ChangeUser",
        0x16 => "Prepare",
        0x17 => "Execute",
        0x18 => "SendLongData",
        0x19 => "CloseStmt",
        0x1a => "ResetStmt",
        0x1f => "ResetConnection",
        _ => "Other",
    }
}

fn one_line(sql: &[u8]) -> String {
    let text = String::from_utf8_lossy(sql);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn stmt_id(payload: &[u8]) -> Option<u32> {
    let b = payload.get(1..5)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn relay(conn_id: u64, client: TcpStream, upstream: &str, log: Arc<Mutex<File>>) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let statements = Arc::new(Mutex::new(Statements::default()));

    // Server -> client: packets are passed on; the answer to a prepare yields its statement id.
    let down = {
        let mut from = BufReader::new(server.try_clone()?);
        let mut to = client.try_clone()?;
        let statements = Arc::clone(&statements);
        thread::spawn(move || -> io::Result<()> {
            while let Some((seq, payload)) = read_packet(&mut from)? {
                {
                    let mut s = statements.lock().unwrap_or_else(|p| p.into_inner());
                    if seq == 1 {
                        if let Some(sql) = s.awaiting_prepare.take() {
                            if payload.first() == Some(&0x00) && payload.len() >= 12 {
                                if let Some(id) = stmt_id(&payload) {
                                    s.by_id.insert(id, sql);
                                }
                            }
                        }
                    }
                }
                write_packet(&mut to, seq, &payload)?;
            }
            let _ = to.shutdown(Shutdown::Write);
            Ok(())
        })
    };

    // Client -> server: the client's handshake packets have sequence ids 1, 3...; a packet with
    // sequence 0 is a new command.
    let mut from = BufReader::new(client.try_clone()?);
    let mut to = server.try_clone()?;
    let mut result = Ok(());
    loop {
        let packet = match read_packet(&mut from) {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let (seq, payload) = packet;
        if seq == 0 {
            let code = payload.first().copied().unwrap_or(0);
            let name = command_name(code);
            let sql = {
                let mut s = statements.lock().unwrap_or_else(|p| p.into_inner());
                match code {
                    0x03 => one_line(&payload[1..]),
                    0x16 => {
                        let sql = one_line(&payload[1..]);
                        s.awaiting_prepare = Some(sql.clone());
                        sql
                    }
                    0x17 | 0x19 | 0x1a => stmt_id(&payload)
                        .and_then(|id| s.by_id.get(&id).cloned())
                        .unwrap_or_default(),
                    _ => String::new(),
                }
            };
            let mut f = log.lock().unwrap_or_else(|p| p.into_inner());
            writeln!(f, "{conn_id}\t{name}\t{sql}")?;
            f.flush()?;
        }
        if let Err(e) = write_packet(&mut to, seq, &payload) {
            result = Err(e);
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = down.join();
    result
}
