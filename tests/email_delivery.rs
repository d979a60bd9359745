//! E-mail over SMTP (`--smtp-url`, a mail server in this test) and Parse Server's e-mail
//! verification (`--verify-user-emails`, `--prevent-login-with-unverified-email`): the
//! messages as the mail server receives them, the links they carry, the log-in rule, and the
//! bad configurations and addresses refused.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the SMTP server got it.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: String,
    data: String,
}

/// A mail server that takes every message (the SMTP conversation lettre holds, no more).
struct MailServer {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl MailServer {
    async fn start() -> MailServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(converse(socket, store.clone()));
            }
        });
        MailServer { url, received }
    }

    fn mail(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for the `n`th message: verification mails are sent after the answer.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.mail().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mail = self.mail();
        assert!(mail.len() >= n, "expected {n} messages, got {mail:?}");
        mail
    }
}

async fn converse(socket: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 test ESMTP\r\n").await;
    let (mut from, mut to) = (String::new(), String::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 test\r\n"
        } else if let Some(rest) = upper.strip_prefix("MAIL FROM:") {
            from = line[line.len() - rest.len()..].trim().to_string();
            b"250 OK\r\n"
        } else if let Some(rest) = upper.strip_prefix("RCPT TO:") {
            to = line[line.len() - rest.len()..].trim().to_string();
            b"250 OK\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 go on\r\n").await;
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(&line);
                data.push('\n');
            }
            store.lock().unwrap().push(Received { from: from.clone(), to: to.clone(), data });
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        let _ = write.write_all(reply).await;
    }
}

/// A quoted-printable body decoded (soft line breaks joined, `=XX` bytes restored), as a mail
/// client shows it.
fn decoded(data: &str) -> String {
    let joined = data.replace("=\n", "");
    let mut bytes = Vec::new();
    let mut rest = joined.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        match (byte, tail.get(..2).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok())) {
            (b'=', Some(value)) => {
                bytes.push(value);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// The first link of a message's text.
fn link_in(data: &str) -> String {
    let text = decoded(data);
    let start = text.find("http://").unwrap_or_else(|| panic!("no link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

async fn follow(link: &str) -> u16 {
    reqwest::get(link).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_password_reset_goes_out_over_smtp() {
    let mail = MailServer::start().await;
    let server = Server::start("basics", &["--smtp-url", &mail.url, "--email-from", "Demo <noreply@demo.test>", "--app-name", "Demo"]);
    let (status, created) = server.request("POST", "/users", Some(json!({"username": "hal", "password": "pw", "email": "hal@example.com"})), &[]).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["sessionToken"].is_string(), "without verification a sign-up logs in: {created}");

    let (status, body) = server.request("POST", "/requestPasswordReset", Some(json!({"email": "hal@example.com"})), &[]).await;
    assert_eq!((status, body), (200, json!({})));
    let got = mail.mail();
    assert_eq!(got.len(), 1, "the answer leaves after the mail server took the message: {got:?}");
    let message = &got[0];
    assert_eq!((message.from.as_str(), message.to.as_str()), ("<noreply@demo.test>", "<hal@example.com>"));
    assert!(message.data.contains("Subject: Password Reset for Demo"), "{}", message.data);
    assert!(message.data.contains("To: hal@example.com"), "{}", message.data);
    assert!(message.data.contains("Message-ID: <") && message.data.contains("@demo.test>"), "{}", message.data);
    let link = link_in(&message.data);
    assert!(link.contains("/request_password_reset?"), "{link}: {}", message.data);
    assert_eq!(follow(&link).await, 200, "the mailed link opens the reset form: {}", message.data);
}

#[tokio::test]
async fn sign_ups_verify_their_email_before_they_log_in() {
    let mail = MailServer::start().await;
    let server = Server::start("basics", &["--smtp-url", &mail.url, "--verify-user-emails", "--prevent-login-with-unverified-email"]);

    let (status, refused) = server
        .request("POST", "/users", Some(json!({"username": "cheat", "password": "pw", "email": "c@example.com", "emailVerified": true})), &[])
        .await;
    assert_eq!((status, refused["code"].clone()), (400, json!(119)), "a client cannot verify itself: {refused}");

    let (status, created) = server.request("POST", "/users", Some(json!({"username": "ivy", "password": "pw", "email": "ivy@example.com"})), &[]).await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("sessionToken").is_none(), "no session before the e-mail is verified: {created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let (_, stored) = server.master("GET", &format!("/users/{id}"), None).await;
    assert_eq!(stored["emailVerified"], json!(false), "{stored}");

    let (status, refused) = server.request("GET", "/login?username=ivy&password=pw", None, &[]).await;
    assert_eq!((status, refused["code"].clone(), refused["error"].clone()), (400, json!(205), json!("User email is not verified.")));

    let got = mail.wait_for(1).await;
    assert_eq!(got[0].to, "<ivy@example.com>");
    assert!(got[0].data.contains("verify"), "{}", got[0].data);
    let link = link_in(&got[0].data);
    assert!(link.contains("/verify_email?"), "{link}");
    assert_eq!(follow(&link).await, 200);
    let (_, stored) = server.master("GET", &format!("/users/{id}"), None).await;
    assert_eq!(stored["emailVerified"], json!(true), "{stored}");

    let (status, logged_in) = server.request("GET", "/login?username=ivy&password=pw", None, &[]).await;
    assert_eq!(status, 200, "{logged_in}");
    let token = logged_in["sessionToken"].as_str().unwrap().to_string();
    let session = [("X-Parse-Session-Token", token.as_str())];
    let (status, refused) = server.request("PUT", &format!("/users/{id}"), Some(json!({"emailVerified": true})), &session).await;
    assert_eq!((status, refused["code"].clone()), (400, json!(119)), "{refused}");

    let (status, body) = server.request("PUT", &format!("/users/{id}"), Some(json!({"email": "ivy@new.example.com"})), &session).await;
    assert_eq!(status, 200, "{body}");
    let (_, stored) = server.master("GET", &format!("/users/{id}"), None).await;
    assert_eq!(stored["emailVerified"], json!(false), "a new address is verified anew: {stored}");
    let got = mail.wait_for(2).await;
    assert_eq!(got[1].to, "<ivy@new.example.com>");

    let (status, body) = server.master("PUT", &format!("/users/{id}"), Some(json!({"emailVerified": true}))).await;
    assert_eq!(status, 200, "the master key may set it: {body}");
    let (status, _) = server.request("GET", "/login?username=ivy&password=pw", None, &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_address_that_would_add_headers_is_refused() {
    let mail = MailServer::start().await;
    let server = Server::start("basics", &["--smtp-url", &mail.url]);
    for email in ["a@b.c\r\nBcc: victim@example.com", "a\n@example.com", "@example.com", "nobody"] {
        let (status, refused) = server.request("POST", "/users", Some(json!({"username": "u", "password": "pw", "email": email})), &[]).await;
        assert_eq!((status, refused["code"].clone()), (400, json!(125)), "{email:?}: {refused}");
    }
    let (_, created) = server.request("POST", "/users", Some(json!({"username": "jo", "password": "pw", "email": "jo@example.com"})), &[]).await;
    let (id, token) = (created["objectId"].as_str().unwrap(), created["sessionToken"].as_str().unwrap());
    let (status, refused) = server
        .request("PUT", &format!("/users/{id}"), Some(json!({"email": "jo@example.com\nBcc: x@y.z"})), &[("X-Parse-Session-Token", token)])
        .await;
    assert_eq!((status, refused["code"].clone()), (400, json!(125)), "{refused}");
    let (_, stored) = server.master("GET", &format!("/users/{id}"), None).await;
    assert_eq!(stored["email"], json!("jo@example.com"), "nothing stored");
    assert!(mail.mail().is_empty());
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_a_clear_error() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = Server::start("basics", &["--smtp-url", &url]);
    server.request("POST", "/users", Some(json!({"username": "kim", "password": "pw", "email": "kim@example.com"})), &[]).await;
    let (status, refused) = server.request("POST", "/requestPasswordReset", Some(json!({"email": "kim@example.com"})), &[]).await;
    assert_eq!((status, refused["code"].clone()), (400, json!(1)), "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("--smtp-url"), "{refused}");
}

#[test]
fn bad_mail_settings_stop_the_server_at_start() {
    let cloud = common::fixture("basics");
    for (flags, says) in [
        (vec!["--smtp-url", "ftp://mail.example.com"], "--smtp-url"),
        (vec!["--smtp-url", "smtp://127.0.0.1:25", "--email-from", "not an address"], "--email-from"),
        (vec!["--verify-user-emails"], "--verify-user-emails needs a mailer"),
        (vec!["--smtp-url", "smtp://127.0.0.1:25", "--email-webhook", "http://127.0.0.1:9/mail"], "cannot be used with"),
        (vec!["--prevent-login-with-unverified-email", "--smtp-url", "smtp://127.0.0.1:25"], "--verify-user-emails"),
    ] {
        let exited = Server::try_start(&cloud, &flags).err().unwrap_or_else(|| panic!("{flags:?} started"));
        assert!(exited.stderr.contains(says), "{flags:?}: {}", exited.stderr);
    }
}
