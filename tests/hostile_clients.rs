//! Attacks a hostile client can make with only the app id or its own session: each one is
//! refused with Parse's error, stores nothing, and leaves a store that opens again.

mod common;

use std::time::Duration;

use common::{Server, APP_ID};
use serde_json::{json, Value};

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn pointer(class: &str, id: &str) -> Value {
    json!({"__type": "Pointer", "className": class, "objectId": id})
}

async fn session_id(server: &Server, token: &str) -> String {
    let (status, session) = server.request("GET", "/sessions/me", None, &[("X-Parse-Session-Token", token)]).await;
    assert_eq!(status, 200, "{session}");
    session["objectId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_session_cannot_be_pointed_at_another_user() {
    let server = Server::start("basics", &["--allow-client-class-creation"]);
    let (_, alice_token) = server.sign_up("alice", "alice-pw").await;
    let (bob, bob_token) = server.sign_up("bob", "bob-pw").await;
    let bob_only = json!({"secret": "bob's", "ACL": {bob.clone(): {"read": true, "write": true}}});
    let (status, secret) = server.request("POST", "/classes/Diary", Some(bob_only), &[("X-Parse-Session-Token", &bob_token)]).await;
    assert_eq!(status, 201, "{secret}");
    let secret_path = format!("/classes/Diary/{}", secret["objectId"].as_str().unwrap());

    let own = session_id(&server, &alice_token).await;
    let alice = [("X-Parse-Session-Token", alice_token.as_str())];
    for path in [format!("/classes/_Session/{own}"), format!("/sessions/{own}")] {
        for body in [
            json!({"user": pointer("_User", &bob)}),
            json!({"sessionToken": "r:chosen"}),
            json!({"expiresAt": {"__type": "Date", "iso": "2999-01-01T00:00:00.000Z"}}),
            json!({"createdWith": {"action": "login"}}),
            json!({"ACL": {"*": {"read": true}}}),
        ] {
            let (status, answer) = server.request("PUT", &path, Some(body.clone()), &alice).await;
            assert_eq!((status, answer["code"].as_i64()), (400, Some(105)), "{path} {body}: {answer}");
        }
    }
    let (status, me) = server.request("GET", "/users/me", None, &alice).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("alice")), "{me}");
    let (status, _) = server.request("GET", &secret_path, None, &alice).await;
    assert_eq!(status, 404, "alice still cannot read bob's diary");
    let (status, answer) = server.request("PUT", &format!("/users/{bob}"), Some(json!({"password": "owned"})), &alice).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(206)), "{answer}");

    // The app's own fields of one's own session stay writable.
    let (status, answer) = server.request("PUT", &format!("/sessions/{own}"), Some(json!({"deviceName": "phone"})), &alice).await;
    assert_eq!(status, 200, "{answer}");

    let server = server.restart("basics", &[]);
    let (status, me) = server.request("GET", "/users/me", None, &alice).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("alice")), "after a restart: {me}");
    let (status, _) = server.request("POST", "/login", Some(json!({"username": "bob", "password": "bob-pw"})), &[]).await;
    assert_eq!(status, 200, "bob's password is unchanged");
}

#[tokio::test]
async fn a_client_created_session_belongs_to_its_caller() {
    let server = Server::start("basics", &[]);
    let (_, alice_token) = server.sign_up("alice", "alice-pw").await;
    let (bob, _) = server.sign_up("bob", "bob-pw").await;
    let alice = [("X-Parse-Session-Token", alice_token.as_str())];

    for path in ["/sessions", "/classes/_Session"] {
        let forged = json!({"user": pointer("_User", &bob), "sessionToken": "r:forged"});
        let (status, answer) = server.request("POST", path, Some(forged), &alice).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(105)), "{path}: {answer}");
        let (status, answer) = server.request("POST", path, Some(json!({"deviceName": "tablet"})), &[]).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(209)), "{path} without a session: {answer}");
    }
    let (status, _) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", "r:forged")]).await;
    assert_eq!(status, 400, "the forged token means nothing");

    let (status, created) = server.request("POST", "/sessions", Some(json!({"deviceName": "tablet"})), &alice).await;
    assert_eq!(status, 201, "{created}");
    let token = created["sessionToken"].as_str().unwrap();
    assert_ne!(token, alice_token);
    let (status, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", token)]).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("alice")), "{me}");
}

#[tokio::test]
async fn clients_cannot_touch_the_servers_own_classes() {
    let server = Server::start("system_classes", &["--allow-client-class-creation"]);
    let (status, _) = server
        .master("POST", "/cloud_code/jobs", Some(json!({"job_schedule": {"jobName": "cleanup", "startAfter": "2030-01-01T00:00:00.000Z"}})))
        .await;
    assert_eq!(status, 200, "the operator's schedule creates the class");
    let (status, _) = server.master("POST", "/jobs/cleanup", Some(json!({}))).await;
    assert_eq!(status, 200);

    let now = json!({"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"});
    let writes = [
        ("POST", "/classes/_JobSchedule", json!({"jobName": "cleanup", "startAfter": now})),
        ("POST", "/classes/_Hooks", json!({"functionName": "ping", "url": "http://attacker.invalid/ping"})),
        ("POST", "/classes/_Hooks", json!({"className": "Note", "triggerName": "beforeSave", "url": "http://attacker.invalid/t"})),
        ("POST", "/classes/_GlobalConfig", json!({"params": {"admin": true}})),
        ("POST", "/classes/_JobStatus", json!({"jobName": "cleanup", "status": "succeeded"})),
        ("POST", "/classes/_Idempotency", json!({"reqId": "x"})),
        ("POST", "/classes/_PushStatus", json!({"status": "x"})),
        ("POST", "/classes/_Audience", json!({"name": "x"})),
        ("GET", "/classes/_JobStatus", json!({})),
        ("GET", "/classes/_JobSchedule", json!({})),
        ("GET", "/classes/_Hooks", json!({})),
        ("GET", "/classes/_GlobalConfig", json!({})),
        ("GET", "/classes/_GlobalConfig/1", json!({})),
        ("PUT", "/classes/_GlobalConfig/1", json!({"params": {"admin": true}})),
        ("DELETE", "/classes/_GlobalConfig/1", json!({})),
    ];
    for (method, path, body) in &writes {
        let body = (*method != "GET").then(|| body.clone());
        let (status, answer) = server.request(method, path, body, &[]).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(119)), "{method} {path}: {answer}");
    }
    let requests: Vec<Value> = writes
        .iter()
        .map(|(method, path, body)| json!({"method": method, "path": format!("/parse{path}"), "body": body}))
        .collect();
    let (status, answers) = server.request("POST", "/batch", Some(json!({ "requests": requests })), &[]).await;
    assert_eq!(status, 200, "{answers}");
    for answer in answers.as_array().unwrap() {
        assert_eq!(answer["error"]["code"], 119, "{answer}");
    }
    for function in ["hijackPing", "readJobStatus"] {
        let (status, answer) = server.call(function, json!({}), &[]).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result"]["code"], 119, "{function} from cloud code: {answer}");
    }

    // Nor through a pointer's include or a subquery.
    let (_, runs) = server.master("GET", "/classes/_JobStatus", None).await;
    let run_id = runs["results"][0]["objectId"].as_str().unwrap().to_string();
    let (status, note) = server.request("POST", "/classes/Note", Some(json!({"run": pointer("_JobStatus", &run_id)})), &[]).await;
    assert_eq!(status, 201, "{note}");
    let (status, found) = server.request("GET", "/classes/Note?include=run", None, &[]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["results"][0]["run"], pointer("_JobStatus", &run_id), "the run is not included: {found}");
    let inner = json!({"run": {"$inQuery": {"className": "_JobStatus", "where": {"status": "running"}}}}).to_string();
    let path = format!("/classes/Note?where={}", urlencode(&inner));
    let (status, answer) = server.request("GET", &path, None, &[]).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(119)), "{answer}");

    let server = server.restart("system_classes", &["--allow-client-class-creation"]);
    let (_, hooks) = server.master("GET", "/hooks/functions", None).await;
    let stored: Vec<&Value> = hooks.as_array().unwrap().iter().filter(|h| h.get("url").is_some()).collect();
    assert!(stored.is_empty(), "no webhook was stored: {hooks}");
    let (_, schedules) = server.master("GET", "/cloud_code/jobs", None).await;
    assert_eq!(schedules.as_array().map(Vec::len), Some(1), "only the operator's schedule: {schedules}");
    let (_, config) = server.master("GET", "/config", None).await;
    assert_eq!(config["params"], json!({}), "{config}");
    let (status, answer) = server.call("ping", json!({}), &[]).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("pong")), "ping is still cloud code: {answer}");
    let (status, runs) = server.master("GET", "/classes/_JobStatus", None).await;
    assert_eq!(status, 200, "the master key still reads job runs: {runs}");
    assert_eq!(runs["results"].as_array().map(Vec::len), Some(1), "{runs}");
}

/// Sends `count` requests at once, built by `request(i)` as (method, path, body, session
/// token); answers their statuses and bodies, in no particular order.
async fn all_at_once(server: &Server, count: usize, request: impl Fn(usize) -> (String, String, Value, Option<String>)) -> Vec<(u16, Value)> {
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..count {
        let (method, path, body, token) = request(i);
        let (client, url) = (server.client.clone(), format!("{}{path}", server.url));
        calls.spawn(async move {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut call = client.request(method, url).header("X-Parse-Application-Id", APP_ID).body(body.to_string());
            if let Some(token) = token {
                call = call.header("X-Parse-Session-Token", token);
            }
            let response = call.send().await.expect("request");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("a JSON answer"))
        });
    }
    calls.join_all().await
}

fn codes(answers: &[(u16, Value)]) -> (usize, Vec<i64>) {
    let ok = answers.iter().filter(|(status, _)| *status == 200 || *status == 201).count();
    let mut errors: Vec<i64> = answers.iter().filter_map(|(_, body)| body["code"].as_i64()).collect();
    errors.sort_unstable();
    errors.dedup();
    (ok, errors)
}

#[tokio::test]
async fn concurrent_sign_ups_and_renames_keep_usernames_and_emails_unique() {
    let server = Server::start("basics", &[]);
    let answers = all_at_once(&server, 50, |i| {
        ("POST".into(), "/users".into(), json!({"username": "same", "password": format!("pw{i}")}), None)
    })
    .await;
    assert_eq!(codes(&answers), (1, vec![202]), "one sign-up wins, the others get 202");

    let answers = all_at_once(&server, 50, |i| {
        ("POST".into(), "/users".into(), json!({"username": format!("u{i}"), "password": "pw", "email": "same@example.com"}), None)
    })
    .await;
    assert_eq!(codes(&answers), (1, vec![203]), "one e-mail wins, the others get 203");

    let (status, _) = server.request("POST", "/users", Some(json!({"username": "SAME", "password": "pw"})), &[]).await;
    assert_eq!(status, 400, "usernames differ by more than case");

    let mut users = Vec::new();
    for i in 0..50 {
        users.push(server.sign_up(&format!("renamed{i}"), "pw").await);
    }
    let answers = all_at_once(&server, 50, |i| {
        let (id, token) = users[i].clone();
        ("PUT".into(), format!("/users/{id}"), json!({"username": "target"}), Some(token))
    })
    .await;
    assert_eq!(codes(&answers), (1, vec![202]), "one rename wins");

    let server = server.restart("basics", &[]);
    let (_, found) = server.master("GET", "/users", None).await;
    let names: Vec<&str> = found["results"].as_array().unwrap().iter().filter_map(|u| u["username"].as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "same").count(), 1, "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "target").count(), 1, "{names:?}");
    let emails = found["results"].as_array().unwrap().iter().filter(|u| u["email"] == "same@example.com").count();
    assert_eq!(emails, 1);
}

#[tokio::test]
async fn a_log_in_flood_is_bounded_in_memory() {
    let server = Server::start("basics", &[]);
    server.sign_up("carol", "right").await;
    let before = server.rss_kib();
    for _ in 0..2 {
        let answers = all_at_once(&server, 150, |_| {
            ("POST".into(), "/login".into(), json!({"username": "carol", "password": "wrong"}), None)
        })
        .await;
        let (ok, errors) = codes(&answers);
        assert_eq!(ok, 0);
        assert!(errors.iter().all(|code| *code == 101 || *code == 155), "only wrong-password or busy: {errors:?}");
    }
    let after = server.rss_kib();
    assert!(after < before + 200 * 1024, "RSS grew from {before} KiB to {after} KiB");
    let (status, _) = server.request("POST", "/login", Some(json!({"username": "carol", "password": "right"})), &[]).await;
    assert_eq!(status, 200, "the right password still logs in after the flood");
}

#[tokio::test]
async fn batch_transactions_are_refused_not_ignored() {
    let server = Server::start("basics", &["--allow-client-class-creation"]);
    let requests = json!([
        {"method": "POST", "path": "/parse/classes/Ledger", "body": {"amount": 1}},
        {"method": "POST", "path": "/parse/classes/Ledger", "body": {"amount": "not a number"}},
    ]);
    let (status, answer) = server.request("POST", "/batch", Some(json!({"requests": requests, "transaction": true})), &[]).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(119)), "{answer}");
    let (_, found) = server.master("GET", "/classes/Ledger", None).await;
    assert_eq!(found["results"], json!([]), "nothing of the batch was applied");
    let (status, _) = server.request("POST", "/batch", Some(json!({"requests": requests, "transaction": false})), &[]).await;
    assert_eq!(status, 200);
}

/// A webhook server that answers every call with a 200 and a body that never ends.
async fn endless_webhook() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"success\":\"";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'a'; 64 * 1024];
                while socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    url
}

#[tokio::test]
async fn an_endless_webhook_answer_is_cut_at_the_limit() {
    let url = endless_webhook().await;
    let server = Server::start("system_classes", &["--allow-insecure-webhooks", "--webhook-max-body", "1000000"]);
    let (status, answer) = server.master("POST", "/hooks/functions", Some(json!({"functionName": "ping", "url": url}))).await;
    assert_eq!(status, 200, "{answer}");
    let before = server.rss_kib();
    for _ in 0..5 {
        let (status, answer) = server.call("ping", json!({}), &[]).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(141)), "{answer}");
        assert!(answer["error"].as_str().unwrap().contains("webhook-max-body"), "{answer}");
    }
    let after = server.rss_kib();
    assert!(after < before + 100 * 1024, "RSS grew from {before} KiB to {after} KiB");
}

#[tokio::test]
async fn a_reader_never_sees_a_write_a_crash_erases() {
    let mut server = Server::start("basics", &["--allow-client-class-creation"]);
    let (_, created) = server.request("POST", "/classes/Counter", Some(json!({"n": 0})), &[]).await;
    let path = format!("/classes/Counter/{}", created["objectId"].as_str().unwrap());
    for round in 0..4 {
        let client = server.client.clone();
        let url = format!("{}{path}", server.url);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let body = json!({"n": {"__op": "Increment", "amount": 1}}).to_string();
                        let sent = client.put(&url).header("X-Parse-Application-Id", APP_ID).body(body).send().await;
                        if sent.is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        let reader = {
            let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(response) = client.get(&url).header("X-Parse-Application-Id", APP_ID).send().await else { break };
                    let Ok(object) = response.json::<Value>().await else { break };
                    seen = seen.max(object["n"].as_i64().unwrap_or(0));
                }
                seen
            })
        };
        tokio::time::sleep(Duration::from_millis(400)).await;
        // kill -9 while the writers and the reader are busy; the restart kills the old process.
        server = server.restart("basics", &["--allow-client-class-creation"]);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = reader.await.unwrap();
        for writer in writers {
            let _ = writer.await;
        }
        let (_, stored) = server.request("GET", &path, None, &[]).await;
        let stored = stored["n"].as_i64().unwrap();
        assert!(stored >= seen, "round {round}: a reader saw n = {seen} but only {stored} survived the crash");
    }
}
