//! The HTTP front door under hostile clients, over loopback with raw sockets: idle keep-alive
//! sockets, slowloris heads and bodies that never arrive are closed at their timeouts; a full
//! connection table closes the oldest idle one; bodies are not read before the headers'
//! credentials are checked, and their memory is bounded; the master key counts only from
//! `--master-key-ips`.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

/// `host:port` and mount path of the server.
fn address(server: &Server) -> (String, String) {
    let rest = server.url.strip_prefix("http://").unwrap();
    let slash = rest.find('/').unwrap();
    (rest[..slash].to_string(), rest[slash..].to_string())
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(address(server).0).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// One response read off `stream`: status, head and JSON body. `None` when the server closed
/// the connection first.
fn read_response(stream: &mut TcpStream) -> Option<(u16, String, Value)> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&chunk[..n]),
        }
    }
    let body = &data[head_end..head_end + length];
    Some((status, head, serde_json::from_slice(body).unwrap_or(Value::Null)))
}

/// Whether the server has closed `stream` (waiting up to its read timeout).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// A request head (keep-alive) with the given extra header lines.
fn head(method: &str, path: &str, mount: &str, extra: &[String]) -> String {
    let mut text = format!("{method} {mount}{path} HTTP/1.1\r\nHost: localhost\r\n");
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text
}

fn app_id() -> String {
    format!("X-Parse-Application-Id: {APP_ID}")
}

/// A complete request on a new connection that the server may close afterwards.
fn request(server: &Server, method: &str, path: &str, extra: &[String], body: &[u8]) -> (u16, String, Value) {
    let mut stream = connect(server);
    let mut lines = extra.to_vec();
    lines.push(format!("Content-Length: {}", body.len()));
    stream.write_all(head(method, path, &address(server).1, &lines).as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_response(&mut stream).expect("a response")
}

async fn note_count(server: &Server) -> usize {
    let (status, answer) = server.master("GET", "/classes/Note", None).await;
    if status == 400 && answer["code"] == 119 {
        return 0;
    }
    assert_eq!(status, 200, "{answer}");
    answer["results"].as_array().unwrap().len()
}

// ---- defect 7: connections are not held forever -------------------------------------------

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = Server::start("basics", &["--idle-timeout", "1", "--header-timeout", "30"]);
    let mut stream = connect(&server);
    let mount = address(&server).1;
    stream.write_all(head("GET", "/health", &mount, &[]).as_bytes()).unwrap();
    let (status, _, _) = read_response(&mut stream).expect("health answers");
    assert_eq!(status, 200);
    // A second request on the same connection still works while it is young.
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(head("GET", "/health", &mount, &[]).as_bytes()).unwrap();
    assert_eq!(read_response(&mut stream).expect("keep-alive works").0, 200);
    let answered = Instant::now();
    assert!(closed_by_server(&mut stream), "an idle keep-alive connection must be closed");
    let waited = answered.elapsed();
    assert!(waited >= Duration::from_millis(900), "closed too early: {waited:?}");
    assert!(waited < Duration::from_secs(6), "closed too late: {waited:?}");
}

#[test]
fn a_slowloris_head_is_closed_after_the_header_timeout() {
    let server = Server::start("basics", &["--header-timeout", "1", "--idle-timeout", "30"]);
    let mut stream = connect(&server);
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let started = Instant::now();
    let trickle = format!("GET {}/health HTTP/1.1\r\nHost: localhost\r\nX-Padding: {}", address(&server).1, "a".repeat(200));
    let mut closed = false;
    for byte in trickle.bytes() {
        if stream.write_all(&[byte]).is_err() || closed_by_server(&mut stream) {
            closed = true;
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(8), "the slowloris is still connected");
    }
    assert!(closed, "the head never completed, the connection must be closed");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "closed too early: {waited:?}");
    assert!(waited < Duration::from_secs(6), "closed too late: {waited:?}");
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = Server::start("basics", &["--header-timeout", "1"]);
    let mut stream = connect(&server);
    let started = Instant::now();
    assert!(closed_by_server(&mut stream));
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test]
async fn a_body_that_never_completes_is_answered_408_after_the_body_timeout() {
    let server = Server::start("basics", &["--body-timeout", "1", "--allow-client-class-creation"]);
    let mut stream = connect(&server);
    let lines = [app_id(), "Content-Type: application/json".to_string(), "Content-Length: 1000".to_string()];
    stream.write_all(head("POST", "/classes/Note", &address(&server).1, &lines).as_bytes()).unwrap();
    stream.write_all(br#"{"title":"never fini"#).unwrap();
    let started = Instant::now();
    let (status, head, body) = read_response(&mut stream).expect("an answer at the body timeout");
    let waited = started.elapsed();
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["code"], 124, "{body}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(6), "{waited:?}");
    assert!(closed_by_server(&mut stream));
    assert_eq!(note_count(&server).await, 0, "nothing is stored from a body that never arrived");
}

#[test]
fn a_full_connection_table_closes_the_oldest_idle_connection() {
    let server = Server::start("basics", &["--max-connections", "20"]);
    let mount = address(&server).1;
    let mut idle: Vec<TcpStream> = Vec::new();
    for i in 0..40 {
        let mut stream = connect(&server);
        if i % 2 == 0 {
            // Half have answered a request and are idle keep-alive; half never sent a byte.
            stream.write_all(head("GET", "/health", &mount, &[]).as_bytes()).unwrap();
            assert_eq!(read_response(&mut stream).map(|r| r.0), Some(200), "connection {i}");
        }
        idle.push(stream);
    }
    for _ in 0..5 {
        let (status, _, body) = request(&server, "POST", "/functions/echo", &[app_id()], br#"{"ok":1}"#);
        assert_eq!((status, &body), (200, &json!({"result": {"ok": 1}})));
    }
    // The oldest were closed to make room; the newest are still open.
    for stream in idle.iter_mut().take(10) {
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert!(closed_by_server(stream), "the oldest idle connections are closed first");
    }
    let newest = idle.last_mut().unwrap();
    newest.write_all(head("GET", "/health", &mount, &[]).as_bytes()).unwrap();
    assert_eq!(read_response(newest).map(|r| r.0), Some(200), "the newest idle connection still works");
}

#[tokio::test]
async fn when_every_connection_is_busy_a_new_one_is_turned_away_at_once() {
    let server = Server::start("deadlines", &["--max-connections", "2", "--function-timeout", "3", "--workers", "2"]);
    let mount = address(&server).1;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&server);
        let lines = [app_id(), "Content-Length: 2".to_string()];
        stream.write_all(head("POST", "/functions/neverSettles", &mount, &lines).as_bytes()).unwrap();
        stream.write_all(b"{}").unwrap();
        busy.push(stream);
    }
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let mut refused = connect(&server);
    let _ = refused.write_all(head("GET", "/health", &mount, &[]).as_bytes());
    // The short answer, unless the socket was closed before it could take it.
    if let Some((status, _, body)) = read_response(&mut refused) {
        assert_eq!((status, body["code"].clone()), (429, json!(155)));
    }
    assert!(started.elapsed() < Duration::from_secs(2), "refused quickly");
    for stream in &mut busy {
        assert_eq!(read_response(stream).map(|r| r.0), Some(400), "the busy calls end at their deadline");
    }
    let (status, _) = server.call("quick", json!({"i": 1}), &[]).await;
    assert_eq!(status, 200, "the server serves again once they are done");
}

// ---- defect 8: bodies are not buffered before the request is authenticated ------------------

/// Sends `headers` declaring a `size`-byte body, then up to `size` bytes of it, and reads the
/// answer; the server may close the socket long before the body is sent.
fn send_big(server: &Server, lines: &[String], size: usize) -> Option<(u16, String, Value)> {
    let mut stream = connect(server);
    let mut lines = lines.to_vec();
    lines.push(format!("Content-Length: {size}"));
    stream.write_all(head("POST", "/classes/Note", &address(server).1, &lines).as_bytes()).ok()?;
    let mut writer = stream.try_clone().unwrap();
    let pushing = std::thread::spawn(move || {
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        while sent < size && writer.write_all(&chunk[..chunk.len().min(size - sent)]).is_ok() {
            sent += chunk.len();
        }
    });
    let answer = read_response(&mut stream);
    drop(stream);
    let _ = pushing.join();
    answer
}

#[tokio::test]
async fn a_wrong_app_id_with_a_large_body_is_refused_before_the_body_is_read() {
    let server = Server::start("basics", &["--allow-client-class-creation"]);
    let before = server.rss_kib();
    let started = Instant::now();
    let attackers: Vec<Vec<String>> = (0..40)
        .map(|i| match i % 2 {
            0 => vec!["X-Parse-Application-Id: wrong".to_string()],
            _ => vec![app_id(), "X-Parse-Master-Key: wrong".to_string()],
        })
        .collect();
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = attackers.iter().map(|lines| scope.spawn(|| send_big(&server, lines, 19_000_000))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for answer in answers {
        let (status, _, body) = answer.expect("an answer");
        assert_eq!((status, body), (403, json!({"error": "unauthorized"})));
    }
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let grown_mib = server.rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 100, "40 refused 19 MB bodies grew the server by {grown_mib} MiB");
    assert_eq!(note_count(&server).await, 0);
}

#[tokio::test]
async fn a_body_without_credential_headers_gets_the_small_cap() {
    let server = Server::start("basics", &["--allow-client-class-creation", "--max-unauthenticated-body", "65536"]);
    // Declared too large: refused before a byte is read.
    let (status, _, body) = send_big(&server, &[], 1_000_000).expect("an answer");
    assert_eq!((status, body["code"].clone()), (413, json!(155)), "{body}");
    // Chunked: refused once the cap is passed.
    let mut stream = connect(&server);
    let lines = ["Transfer-Encoding: chunked".to_string()];
    stream.write_all(head("POST", "/classes/Note", &address(&server).1, &lines).as_bytes()).unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 32 * 1024, " ".repeat(32 * 1024));
    for _ in 0..3 {
        let _ = stream.write_all(chunk.as_bytes());
    }
    let (status, _, body) = read_response(&mut stream).expect("an answer");
    assert_eq!((status, body["code"].clone()), (413, json!(155)), "{body}");
    // The SDK's text/plain form, credentials in the body, is read and authenticated from it.
    let sdk = json!({"title": "from the sdk", "_ApplicationId": APP_ID, "_JavaScriptKey": "js", "_method": "POST"});
    let (status, _, body) = request(&server, "POST", "/classes/Note", &["Content-Type: text/plain".to_string()], sdk.to_string().as_bytes());
    assert_eq!(status, 201, "{body}");
    let wrong = json!({"title": "no", "_ApplicationId": "wrong"});
    let (status, _, body) = request(&server, "POST", "/classes/Note", &[], wrong.to_string().as_bytes());
    assert_eq!((status, body), (403, json!({"error": "unauthorized"})));
    // With the app id in the headers, the full --max-body applies.
    let big = json!({"title": "big", "pad": "x".repeat(200_000)});
    let (status, _, body) = request(&server, "POST", "/classes/Note", &[app_id()], big.to_string().as_bytes());
    assert_eq!(status, 201, "{body}");
    assert_eq!(note_count(&server).await, 2);
}

#[tokio::test]
async fn bodies_in_flight_share_one_memory_budget() {
    let server = Server::start(
        "basics",
        &["--allow-client-class-creation", "--max-body", "600000", "--max-body-memory", "1000000", "--body-timeout", "5"],
    );
    let mount = address(&server).1;
    let lines = [app_id(), "Content-Length: 600000".to_string()];
    // The first slow body holds 600 kB of the budget until it is answered.
    let mut slow = connect(&server);
    slow.write_all(head("POST", "/classes/Note", &mount, &lines).as_bytes()).unwrap();
    slow.write_all(br#"{"title":"slow","pad":""#).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut second = connect(&server);
    second.write_all(head("POST", "/classes/Note", &mount, &lines).as_bytes()).unwrap();
    let (status, _, body) = read_response(&mut second).expect("an answer");
    assert_eq!((status, body["code"].clone()), (429, json!(155)), "{body}");
    assert!(started.elapsed() < Duration::from_secs(2), "refused at once, not read");
    // Small bodies still fit beside it.
    let (status, _, body) = request(&server, "POST", "/classes/Note", &[app_id()], br#"{"title":"small"}"#);
    assert_eq!(status, 201, "{body}");
    // Once the slow body is complete and answered, its share is given back.
    let rest = format!("{}\"}}", "x".repeat(600_000 - r#"{"title":"slow","pad":""#.len() - 2));
    slow.write_all(rest.as_bytes()).unwrap();
    assert_eq!(read_response(&mut slow).map(|r| r.0), Some(201));
    let again = format!(r#"{{"title":"again","pad":"{}"}}"#, "y".repeat(500_000));
    let (status, _, body) = request(&server, "POST", "/classes/Note", &[app_id()], again.as_bytes());
    assert_eq!(status, 201, "{body}");
    assert_eq!(note_count(&server).await, 3);
}

// ---- defect 12: the master key only from --master-key-ips ------------------------------------

#[tokio::test]
async fn the_master_key_is_refused_from_addresses_outside_master_key_ips() {
    let server = Server::start("basics", &["--master-key-ips", "10.0.0.0/8, fd00::/8"]);
    let (status, body) = server.master("GET", "/classes/Note", None).await;
    assert_eq!((status, body), (403, json!({"error": "unauthorized"})));
    // In the SDK's body form too.
    let sdk = json!({"_ApplicationId": APP_ID, "_MasterKey": MASTER_KEY, "_method": "GET"});
    let (status, _, body) = request(&server, "POST", "/classes/Note", &[], sdk.to_string().as_bytes());
    assert_eq!((status, body), (403, json!({"error": "unauthorized"})));
    // Requests without the master key are served as usual.
    let (status, _) = server.call("echo", json!({}), &[]).await;
    assert_eq!(status, 200);
    // The log is read from the server's stderr by another thread: give it a moment.
    for _ in 0..50 {
        if server.log().contains("--master-key-ips") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(server.log().contains("--master-key-ips"), "the log says why: {}", server.log());

    let server = Server::start("basics", &[]);
    let (status, body) = server.master("GET", "/classes/Note", None).await;
    assert!(status == 200 || body["code"] == 119, "loopback is allowed by default: {status} {body}");
    let (status, _) = server.master("POST", "/classes/Note", Some(json!({"title": "by the operator"}))).await;
    assert_eq!(status, 201);
}

#[test]
fn absurd_connection_and_address_flags_stop_the_start() {
    let cloud = common::fixture("basics");
    for (flags, says) in [
        (&["--master-key-ips", "10.0.0.0/40"][..], "--master-key-ips"),
        (&["--master-key-ips", "localhost"][..], "--master-key-ips"),
        (&["--max-connections", "0"][..], "--max-connections"),
        (&["--idle-timeout", "0"][..], "--idle-timeout"),
        (&["--max-body-memory", "1000", "--max-body", "2000"][..], "--max-body-memory"),
    ] {
        let exited = Server::try_start(&cloud, flags).err().unwrap_or_else(|| panic!("{flags:?} started"));
        assert_ne!(exited.code, Some(0));
        assert!(exited.stderr.contains(says), "{flags:?}: {}", exited.stderr);
    }
}
