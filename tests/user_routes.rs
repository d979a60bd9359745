//! The remaining user and session routes over real HTTP: `/loginAs`, `/verifyPassword`,
//! `/upgradeToRevocableSession`, password reset and e-mail verification delivered to
//! `--email-webhook` (a receiver in this test) and their link pages, a new log-in from one
//! installation ending its old session, and the user's own ACL kept on sign-up.

mod common;

use std::sync::{Arc, Mutex};

use common::{Server, APP_ID};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An HTTP endpoint that answers 200 to every POST and keeps the JSON bodies it got.
struct Mailbox {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Mailbox {
    async fn start() -> Mailbox {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mail", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let Ok(n) = socket.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        data.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&data).to_string();
                        let Some(head_end) = text.find("\r\n\r\n") else { continue };
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                            .unwrap_or(0);
                        if data.len() < head_end + 4 + length {
                            continue;
                        }
                        let body = &data[head_end + 4..head_end + 4 + length];
                        store.lock().unwrap().push(serde_json::from_slice(body).unwrap_or(Value::Null));
                        let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
                        return;
                    }
                });
            }
        });
        Mailbox { url, received }
    }

    fn mail(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }
}

/// GETs or POSTs a link page (no Parse keys, as a browser would).
async fn page(method: &str, url: &str, form: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut request = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(form) = form {
        request = request.header("Content-Type", "application/x-www-form-urlencoded").body(form.to_string());
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn query_of(link: &str) -> std::collections::HashMap<String, String> {
    let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[tokio::test]
async fn log_in_as_verify_password_and_upgrade() {
    let server = Server::start("basics", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw-a").await;

    let (status, as_alice) = server.master("POST", "/loginAs", Some(json!({"userId": alice}))).await;
    assert_eq!(status, 200, "{as_alice}");
    assert_eq!(as_alice["username"], json!("alice"));
    let token = as_alice["sessionToken"].as_str().unwrap().to_string();
    let (_, session) = server.request("GET", "/sessions/me", None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(session["createdWith"], json!({"action": "login", "authProvider": "masterkey"}));
    let (status, refused) = server.request("POST", "/loginAs", Some(json!({"userId": alice})), &[("X-Parse-Session-Token", &alice_token)]).await;
    assert_eq!((status, refused), (403, json!({"code": 119, "error": "master key is required"})));
    let (status, refused) = server.master("POST", "/loginAs", Some(json!({}))).await;
    assert_eq!((status, refused["code"].clone()), (400, json!(162)), "{refused}");
    let (status, refused) = server.master("POST", "/loginAs", Some(json!({"userId": "nobody"}))).await;
    assert_eq!((status, refused), (404, json!({"code": 101, "error": "user not found"})));

    let (status, checked) = server.request("GET", "/verifyPassword?username=alice&password=pw-a", None, &[]).await;
    assert_eq!((status, checked["objectId"].clone()), (200, json!(alice)), "{checked}");
    assert!(checked.get("sessionToken").is_none(), "no session is started: {checked}");
    let (status, checked) = server.request("POST", "/verifyPassword", Some(json!({"username": "alice", "password": "pw-a"})), &[]).await;
    assert_eq!(status, 200, "{checked}");
    let (status, refused) = server.request("POST", "/verifyPassword", Some(json!({"username": "alice", "password": "wrong"})), &[]).await;
    assert_eq!((status, refused), (404, json!({"code": 101, "error": "Invalid username/password."})));
    let (status, refused) = server.request("POST", "/verifyPassword", Some(json!({"username": "alice", "password": 5})), &[]).await;
    assert_eq!((status, refused["code"].clone()), (404, json!(101)));

    let (status, upgraded) = server.request("POST", "/upgradeToRevocableSession", None, &[("X-Parse-Session-Token", &alice_token)]).await;
    assert_eq!(status, 200, "{upgraded}");
    let new_token = upgraded["sessionToken"].as_str().unwrap();
    assert!(new_token.starts_with("r:") && new_token != alice_token);
    assert_eq!(upgraded["createdWith"]["action"], json!("upgrade"));
    let (status, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", new_token)]).await;
    assert_eq!((status, me["objectId"].clone()), (200, json!(alice)));
    let (status, refused) = server.request("POST", "/upgradeToRevocableSession", None, &[]).await;
    assert_eq!((status, refused), (404, json!({"code": 101, "error": "invalid session"})));
}

#[tokio::test]
async fn a_new_log_in_from_an_installation_ends_its_old_session() {
    let server = Server::start("basics", &[]);
    let (_, signup_token) = server.sign_up("carol", "pw").await;
    let phone = [("X-Parse-Installation-Id", "phone-1")];
    let (_, first) = server.request("GET", "/login?username=carol&password=pw", None, &phone).await;
    let first = first["sessionToken"].as_str().unwrap().to_string();
    let (_, second) = server.request("GET", "/login?username=carol&password=pw", None, &phone).await;
    let second = second["sessionToken"].as_str().unwrap().to_string();
    let (_, tablet) = server.request("GET", "/login?username=carol&password=pw", None, &[("X-Parse-Installation-Id", "tablet-1")]).await;
    let tablet = tablet["sessionToken"].as_str().unwrap().to_string();

    let me = |token: String| {
        let server = &server;
        async move { server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &token)]).await.0 }
    };
    assert_eq!(me(first).await, 400, "replaced by the second log-in from phone-1");
    assert_eq!(me(second).await, 200);
    assert_eq!(me(tablet).await, 200, "another installation keeps its session");
    assert_eq!(me(signup_token).await, 200, "a session from no installation is left alone");
    // Another user on the same installation does not end carol's.
    server.sign_up("dave", "pw").await;
    server.request("GET", "/login?username=dave&password=pw", None, &phone).await;
    let (_, sessions) = server.master("GET", "/sessions?where=%7B%22installationId%22%3A%22phone-1%22%7D", None).await;
    assert_eq!(sessions["results"].as_array().unwrap().len(), 2, "{sessions}");
}

#[tokio::test]
async fn sign_up_keeps_the_clients_acl_and_adds_the_users_own() {
    let server = Server::start("basics", &[]);
    let body = json!({"username": "eve", "password": "pw", "ACL": {"*": {"read": true}}});
    let (status, created) = server.request("POST", "/users", Some(body), &[]).await;
    assert_eq!(status, 201, "{created}");
    let id = created["objectId"].as_str().unwrap();
    let (_, stored) = server.master("GET", &format!("/users/{id}"), None).await;
    assert_eq!(stored["ACL"], json!({"*": {"read": true}, id: {"read": true, "write": true}}));
    let token = created["sessionToken"].as_str().unwrap();
    let lock_out = json!({"ACL": {"*": {"read": true}}});
    let (status, _) = server.request("PUT", &format!("/users/{id}"), Some(lock_out), &[("X-Parse-Session-Token", token)]).await;
    assert_eq!(status, 200);
    let (_, stored) = server.master("GET", &format!("/users/{id}"), None).await;
    assert_eq!(stored["ACL"][id], json!({"read": true, "write": true}), "a user cannot lock themself out");
    let (status, refused) = server.request("POST", "/users", Some(json!({"username": "f", "password": "pw", "ACL": "x"})), &[]).await;
    assert_eq!(status, 400, "{refused}");
}

#[tokio::test]
async fn password_reset_and_email_verification_through_the_email_webhook() {
    let mailbox = Mailbox::start().await;
    let server = Server::start("basics", &["--email-webhook", &mailbox.url, "--allow-insecure-webhooks", "--app-name", "Demo"]);
    let (status, created) = server.request("POST", "/users", Some(json!({"username": "gina", "password": "old-pw", "email": "gina@example.com"})), &[]).await;
    assert_eq!(status, 201, "{created}");
    let old_token = created["sessionToken"].as_str().unwrap().to_string();

    let (status, body) = server.request("POST", "/requestPasswordReset", Some(json!({"email": "gina@example.com"})), &[]).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = server.request("POST", "/requestPasswordReset", Some(json!({"email": "nobody@example.com"})), &[]).await;
    assert_eq!((status, body), (200, json!({})), "unknown emails are answered alike");
    let mail = mailbox.mail();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let reset = &mail[0];
    assert_eq!((reset["kind"].clone(), reset["to"].clone(), reset["username"].clone()), (json!("passwordReset"), json!("gina@example.com"), json!("gina")));
    assert!(reset["subject"].as_str().unwrap().contains("Demo"), "{reset}");
    let link = reset["link"].as_str().unwrap().to_string();
    assert!(link.starts_with(&format!("{}/apps/{APP_ID}/request_password_reset?", server.url)), "{link}");
    assert!(reset["text"].as_str().unwrap().contains(&link));

    let (status, form) = page("GET", &link, None).await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("new_password"), "{form}");
    let fields = query_of(&link);
    assert_eq!(page("POST", &link, Some("username=gina&token=forged&new_password=x")).await.0, 400);
    let submit = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", &fields["username"])
        .append_pair("token", &fields["token"])
        .append_pair("new_password", "new-pw")
        .finish();
    let (status, done) = page("POST", &link, Some(&submit)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(page("POST", &link, Some(&submit)).await.0, 400, "a link works once");
    let (status, _) = server.request("GET", "/login?username=gina&password=old-pw", None, &[]).await;
    assert_eq!(status, 404, "the old password is gone");
    let (status, _) = server.request("GET", "/login?username=gina&password=new-pw", None, &[]).await;
    assert_eq!(status, 200);
    let (status, _) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &old_token)]).await;
    assert_eq!(status, 400, "a reset ends the user's sessions");

    let (status, body) = server.request("POST", "/verificationEmailRequest", Some(json!({"email": "gina@example.com"})), &[]).await;
    assert_eq!((status, body), (200, json!({})));
    let mail = mailbox.mail();
    let verify = mail.last().unwrap();
    assert_eq!(verify["kind"], json!("verifyEmail"));
    let link = verify["link"].as_str().unwrap();
    assert_eq!(page("GET", &link.replace("token=", "token=x"), None).await.0, 400);
    let (status, body) = page("GET", link, None).await;
    assert_eq!(status, 200, "{body}");
    let (_, stored) = server.master("GET", &format!("/users/{}", created["objectId"].as_str().unwrap()), None).await;
    assert_eq!(stored["emailVerified"], json!(true));
    server.request("POST", "/verificationEmailRequest", Some(json!({"email": "gina@example.com"})), &[]).await;
    assert_eq!(mailbox.mail().len(), 2, "no mail for a verified address");

    for (body, code) in [(json!({}), 204), (json!({"email": 5}), 125)] {
        let (status, refused) = server.request("POST", "/requestPasswordReset", Some(body.clone()), &[]).await;
        assert_eq!((status, refused["code"].clone()), (400, json!(code)), "{body}: {refused}");
    }
}
