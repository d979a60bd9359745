//! The data layer under attack, through the real binary: updates that would make the store
//! unopenable, a damaged document on disk, queries that read hidden fields out through
//! their answers, queries that would hog the server, answers of unbounded size, and names
//! and ids that are too long or carry NUL bytes. Every attack must get a Parse error, store
//! nothing, and leave a store that opens again.

mod common;

use std::time::{Duration, Instant};

use common::{Server, MASTER_KEY};
use serde_json::{json, Value};

const FIXTURE: &str = "hostile_data";

/// `where` as a URL query parameter.
fn encoded(where_: &Value) -> String {
    form_urlencoded::byte_serialize(where_.to_string().as_bytes()).collect()
}

async fn create(server: &Server, class: &str, body: Value) -> String {
    let (status, answer) = server.master("POST", &format!("/classes/{class}"), Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    answer["objectId"].as_str().unwrap().to_string()
}

/// Every object of `class`, read with the master key.
async fn all(server: &Server, class: &str) -> Vec<Value> {
    let (status, answer) = server.master("GET", &format!("/classes/{class}?limit=1000"), None).await;
    assert_eq!(status, 200, "{answer}");
    answer["results"].as_array().unwrap().clone()
}

fn assert_error(status: u16, answer: &Value, expected_status: u16, code: i64, contains: &str) {
    assert_eq!((status, answer["code"].as_i64()), (expected_status, Some(code)), "{answer}");
    let message = answer["error"].as_str().unwrap_or_default();
    assert!(message.contains(contains), "{message:?} should mention {contains:?}");
}

/// `{"a": {"a": … 1}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "a": inner }))
}

/// Creates `count` objects of `class` from `body(i)`, in concurrent batches of 50 (so their
/// commits share fsyncs).
async fn populate(server: &Server, class: &str, count: usize, body: impl Fn(usize) -> Value) {
    let mut batches = tokio::task::JoinSet::new();
    for start in (0..count).step_by(50) {
        let requests: Vec<Value> = (start..count.min(start + 50))
            .map(|i| json!({"method": "POST", "path": format!("/parse/classes/{class}"), "body": body(i)}))
            .collect();
        let request = server
            .client
            .post(format!("{}/batch", server.url))
            .header("X-Parse-Application-Id", common::APP_ID)
            .header("X-Parse-Master-Key", MASTER_KEY)
            .body(json!({ "requests": requests }).to_string());
        batches.spawn(async move {
            let answers: Value = request.send().await.unwrap().json().await.unwrap();
            assert!(answers.as_array().unwrap().iter().all(|a| a.get("success").is_some()), "{answers}");
        });
    }
    while let Some(done) = batches.join_next().await {
        done.unwrap();
    }
}

#[tokio::test]
async fn nesting_bombs_are_refused_and_the_store_still_opens() {
    let server = Server::start(FIXTURE, &["--allow-client-class-creation"]);
    let id = create(&server, "Note", json!({"text": "keep"})).await;
    let path = format!("/classes/Note/{id}");

    // The reported attack: 130 dotted segments made the next start fail for good.
    let bomb = format!("x{}", ".a".repeat(129));
    let (status, answer) = server.request("PUT", &path, Some(json!({ bomb: 1 })), &[]).await;
    assert_error(status, &answer, 400, 105, "at most 32 segments");
    // Within the segment limit, but the value under it takes the object past 64 levels.
    let (status, answer) = server.request("PUT", &path, Some(json!({ "x.a.a.a.a.a.a.a.a.a": nested(60) })), &[]).await;
    assert_error(status, &answer, 400, 107, "64 levels");
    // A deep value in a create: within the body parser's 128 levels, past the store's bound…
    let (status, answer) = server.request("POST", "/classes/Note", Some(json!({ "deep": nested(100) })), &[]).await;
    assert_error(status, &answer, 400, 107, "64 levels");
    // … and past the body parser's (a clear 107 from it, not a 500).
    let (status, answer) = server.post("/classes/Note", nested(200).to_string(), &[], true).await;
    assert_error(status, &answer, 400, 107, "");
    // The bound is on depth, not on legitimate nesting.
    let (status, answer) = server.request("PUT", &path, Some(json!({ "ok": nested(63) })), &[]).await;
    assert_eq!(status, 200, "{answer}");

    let server = server.restart(FIXTURE, &[]);
    let notes = all(&server, "Note").await;
    assert_eq!(notes.len(), 1, "nothing else was stored: {notes:?}");
    assert_eq!(notes[0]["text"], "keep");
    assert!(notes[0].get("x").is_none() && notes[0].get("deep").is_none(), "{}", notes[0]);
    assert_eq!(notes[0]["ok"], nested(63));
}

#[tokio::test]
async fn a_corrupt_document_is_logged_and_skipped_when_read() {
    // The damage is written into sled's files; PostgreSQL's typed columns cannot hold such bytes.
    if common::on_postgres() {
        return;
    }
    let mut server = Server::start(FIXTURE, &[]);
    let kept = create(&server, "Note", json!({"text": "first"})).await;
    let other = create(&server, "Note", json!({"text": "second"})).await;
    let dir = std::mem::take(&mut server.data_dir);
    drop(server);
    {
        // The store's layout: one sled tree `obj:<class>` per class, id → document JSON.
        let db = sled::open(&dir).unwrap();
        let tree = db.open_tree("obj:Note").unwrap();
        tree.insert("brokenId01", &b"\xff{garbage"[..]).unwrap();
        db.flush().unwrap();
    }
    let server = Server::try_start_in(&common::fixture(FIXTURE), dir, &[]).expect("starts despite one bad document");
    let mut texts: Vec<String> = all(&server, "Note").await.iter().map(|n| n["text"].as_str().unwrap().to_string()).collect();
    texts.sort();
    assert_eq!(texts, ["first", "second"]);
    for id in [&kept, &other] {
        let (status, _) = server.master("GET", &format!("/classes/Note/{id}"), None).await;
        assert_eq!(status, 200);
    }
    let (status, answer) = server.master("GET", "/classes/Note/brokenId01", None).await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(101)));
    // Start-up reads no object, so the damage is reported when a read meets it; the log is
    // read from the server's stderr by another thread, so it may trail the answer a little.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !server.log().contains("brokenId01") && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let log = server.log();
    assert!(log.contains("Note") && log.contains("brokenId01"), "the log names the class and id: {log}");
}

#[tokio::test]
async fn hidden_and_protected_fields_cannot_be_queried() {
    let server = Server::start(FIXTURE, &[]);
    let (status, carol) = server
        .request("POST", "/users", Some(json!({"username": "carol", "password": "pw-carol-1", "email": "carol@example.com"})), &[])
        .await;
    assert_eq!(status, 201, "{carol}");
    let carol_id = carol["objectId"].as_str().unwrap().to_string();
    // Carol's row is public, so a query can match it; her e-mail still is not.
    let public = json!({"ACL": {"*": {"read": true}, carol_id.clone(): {"read": true, "write": true}}});
    let (status, answer) = server.master("PUT", &format!("/users/{carol_id}"), Some(public)).await;
    assert_eq!(status, 200, "{answer}");
    let (_, dave_token) = server.sign_up("dave", "pw-dave-1").await;
    let as_dave = [("X-Parse-Session-Token", dave_token.as_str())];
    let owner = json!({"__type": "Pointer", "className": "_User", "objectId": carol_id});
    create(&server, "Note", json!({"owner": owner, "text": "hello"})).await;

    let hash = json!({"username": "carol", "_hashed_password": {"$regex": "^\\$argon2id"}});
    let email = json!({"email": {"$regex": "^carol@"}});
    let attacks: Vec<(String, i64, &str)> = vec![
        (format!("/users?where={}", encoded(&hash)), 105, "Invalid key name: _hashed_password"),
        (format!("/users?where={}", encoded(&email)), 119, "This user is not allowed to query email on class _User"),
        (format!("/users?where={}&count=1&limit=0", encoded(&email)), 119, "query email"),
        (format!("/users?where={}", encoded(&json!({"$or": [{"username": "x"}, {"email": "carol@example.com"}]}))), 119, "email"),
        (format!("/users?where={}", encoded(&json!({"$and": [{"$nor": [{"_password_history": {"$exists": true}}]}]}))), 105, "_password_history"),
        (format!("/users?where={}", encoded(&json!({"authData.facebook.id": "1"}))), 119, "authData"),
        (format!("/sessions?where={}", encoded(&json!({"sessionToken": {"$regex": "^r"}}))), 119, "sessionToken on class _Session"),
        (
            format!("/users?where={}", encoded(&json!({"username": {"$select": {"query": {"className": "_User", "where": {}}, "key": "email"}}}))),
            119,
            "email",
        ),
        (
            format!("/classes/Note?where={}", encoded(&json!({"owner": {"$inQuery": {"className": "_User", "where": {"email": "carol@example.com"}}}}))),
            119,
            "email on class _User",
        ),
        (
            format!("/classes/Note?where={}", encoded(&json!({"owner": {"$notInQuery": {"className": "_User", "where": {"_hashed_password": {"$regex": "^\\$"}}}}}))),
            105,
            "_hashed_password",
        ),
        ("/users?order=email".to_string(), 119, "sort by email"),
        ("/users?order=-_hashed_password".to_string(), 105, "_hashed_password"),
    ];
    for (path, code, message) in &attacks {
        for headers in [&[][..], &as_dave[..]] {
            let (status, answer) = server.request("GET", path, None, headers).await;
            assert_error(status, &answer, 400, *code, message);
            assert!(answer.get("results").is_none(), "{path}: {answer}");
        }
    }

    // `keys` and `include` never reveal the fields either.
    let (status, answer) = server.request("GET", "/users?keys=_hashed_password,email,authData,username", None, &as_dave).await;
    assert_eq!(status, 200, "{answer}");
    let users = answer["results"].as_array().unwrap();
    let carol_row = users.iter().find(|u| u["username"] == "carol").unwrap_or_else(|| panic!("{answer}"));
    for field in ["_hashed_password", "email", "authData"] {
        assert!(carol_row.get(field).is_none(), "{field} leaked: {carol_row}");
    }
    let (_, answer) = server.request("GET", &format!("/users/{carol_id}?keys=_hashed_password"), None, &as_dave).await;
    assert!(answer.get("_hashed_password").is_none(), "{answer}");
    let (_, answer) = server.request("GET", "/classes/Note?include=owner", None, &as_dave).await;
    let included = &answer["results"][0]["owner"];
    assert_eq!(included["username"], "carol", "{answer}");
    assert!(included.get("email").is_none() && included.get("_hashed_password").is_none(), "{included}");

    // Cloud code queries with the caller's rights meet the same rule.
    let (status, answer) = server.call("findUsers", json!({"where": {"email": "carol@example.com"}}), &as_dave).await;
    assert_eq!(answer["code"], 119, "{status} {answer}");
    let (status, answer) = server.call("findUsers", json!({"where": {"email": "carol@example.com"}, "master": true}), &as_dave).await;
    assert_eq!((status, answer["result"].clone()), (200, json!(["carol"])), "{answer}");

    // The master key may still query and sort by e-mail.
    let (status, answer) = server.master("GET", &format!("/users?where={}&order=email", encoded(&email)), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
    assert_eq!(answer["results"][0]["email"], "carol@example.com");

    let server = server.restart(FIXTURE, &[]);
    let (status, answer) = server.request("GET", "/login?username=carol&password=pw-carol-1", None, &[]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(all(&server, "_User").await.len(), 2);
}

#[tokio::test]
async fn oversized_wheres_are_refused() {
    let server = Server::start(FIXTURE, &[]);
    create(&server, "Note", json!({"n": 1})).await;
    let or: Vec<Value> = (0..1001).map(|i| json!({"n": i})).collect();
    let in_list: Vec<Value> = (0..10_001).map(|i| json!(i)).collect();
    let cases = [
        (json!({"$or": or}), "at most 1000"),
        (json!({"n": {"$in": in_list}}), "at most 10000"),
        (json!({"s": {"$regex": "a".repeat(1001)}}), "longer than 1000"),
        (json!({"s": {"$regex": "\\w{300}\\w{300}\\w{300}"}}), "invalid $regex"),
    ];
    for (where_, message) in cases {
        // In the body, as the SDKs send long queries (`_method: GET`).
        let body = json!({"_method": "GET", "where": where_});
        let (status, answer) = server.post("/classes/Note", body.to_string(), &[], true).await;
        assert_error(status, &answer, 400, 102, message);
    }
    let server = server.restart(FIXTURE, &[]);
    assert_eq!(all(&server, "Note").await.len(), 1);
}

/// 1,000 objects holding 1.2 KB of text each, and a `where` of 100 regexes none of which
/// matches: every regex runs over every text, about a second of work per query.
async fn heavy_query_data(server: &Server) -> Value {
    populate(server, "Doc", 1000, |i| json!({"n": i, "text": format!("{i:04}{}", "lorem ipsum ".repeat(100))})).await;
    // The `\b` changes no answer (a letter before a space ends a word) but keeps the query a
    // scan on PostgreSQL too, which cannot say it in SQL: the deadline bounds scans. No clause
    // holds a literal the regex engine could look for first: each reads every text through.
    let clauses: Vec<Value> = (0..100).map(|i| json!({"text": {"$regex": format!("[a-z]+\\b [0-9][a-z]{{{i}}}")}})).collect();
    json!({ "$or": clauses })
}

#[tokio::test]
async fn heavy_queries_do_not_stall_other_requests() {
    let server = Server::start(FIXTURE, &[]);
    let where_ = heavy_query_data(&server).await;
    let query = |client: reqwest::Client| {
        let request = client
            .post(format!("{}/classes/Doc", server.url))
            .header("X-Parse-Application-Id", common::APP_ID)
            .body(json!({"_method": "GET", "where": where_, "limit": 1}).to_string());
        async move {
            let started = Instant::now();
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            started.elapsed()
        }
    };
    // More heavy queries than the server has cores.
    let heavy: Vec<_> = (0..4).map(|_| tokio::spawn(query(server.client.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut slowest = Duration::ZERO;
    while !heavy.iter().all(|task| task.is_finished()) {
        let started = Instant::now();
        let (status, _) = server.request("GET", "/health", None, &[]).await;
        assert_eq!(status, 200);
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut longest_query = Duration::ZERO;
    for task in heavy {
        longest_query = longest_query.max(task.await.unwrap());
    }
    eprintln!("/health answered within {slowest:?} while 4 heavy queries ran (the longest took {longest_query:?})");
    assert!(slowest < Duration::from_millis(750), "/health took {slowest:?} while queries ran (longest {longest_query:?})");
}

#[tokio::test]
async fn a_query_past_its_deadline_stops_with_124() {
    let server = Server::start(FIXTURE, &["--query-timeout", "0.05"]);
    let where_ = heavy_query_data(&server).await;
    let body = json!({"_method": "GET", "where": where_});
    let started = Instant::now();
    let (status, answer) = server.post("/classes/Doc", body.to_string(), &[], true).await;
    assert_error(status, &answer, 400, 124, "--query-timeout");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped near its deadline: {:?}", started.elapsed());
    // The same deadline covers a subquery's scan.
    let inner = json!({"owner": {"$inQuery": {"className": "Doc", "where": where_}}});
    let body = json!({"_method": "GET", "where": inner});
    let (status, answer) = server.post("/classes/Note", body.to_string(), &[], true).await;
    assert_error(status, &answer, 400, 124, "--query-timeout");
    // Light queries are unaffected.
    let (status, answer) = server.request("GET", "/classes/Doc?limit=3&where=%7B%22n%22%3A7%7D", None, &[]).await;
    assert_eq!((status, answer["results"][0]["n"].clone()), (200, json!(7)), "{answer}");
    let server = server.restart(FIXTURE, &[]);
    assert_eq!(all(&server, "Doc").await.len(), 1000);
}

#[tokio::test]
async fn answers_are_bounded_in_size() {
    let server = Server::start(FIXTURE, &["--max-response-bytes", "100000"]);
    populate(&server, "Blob", 20, |i| json!({"n": i, "data": "x".repeat(10_000)})).await;
    let (status, answer) = server.request("GET", "/classes/Blob", None, &[]).await;
    assert_error(status, &answer, 413, 155, "smaller limit");
    assert!(answer["error"].as_str().unwrap().contains("keys"), "{answer}");
    let (status, answer) = server.request("GET", "/classes/Blob?limit=5", None, &[]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"].as_array().unwrap().len(), 5);
    let (status, answer) = server.request("GET", "/classes/Blob?keys=n", None, &[]).await;
    assert_eq!((status, answer["results"].as_array().map(Vec::len)), (200, Some(20)), "{answer}");

    let server = server.restart(FIXTURE, &["--max-response-bytes", "100000"]);
    let (status, answer) = server.request("GET", "/classes/Blob?limit=5&order=n", None, &[]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][4]["data"].as_str().unwrap().len(), 10_000);
}

#[tokio::test]
async fn long_names_wide_classes_and_bad_ids_are_refused() {
    let server = Server::start(FIXTURE, &[]);
    let long = "a".repeat(129);
    let (status, answer) = server.master("POST", &format!("/classes/{long}"), Some(json!({"n": 1}))).await;
    assert_error(status, &answer, 400, 103, "at most 128 characters");
    let (status, answer) = server.master("POST", "/classes/Note", Some(json!({ long.clone(): 1 }))).await;
    assert_error(status, &answer, 400, 105, "at most 128 characters");

    // A class holds at most 500 fields (4 are objectId, createdAt, updatedAt and ACL).
    let wide: serde_json::Map<String, Value> = (0..496).map(|i| (format!("f{i}"), json!(i))).collect();
    create(&server, "Wide", Value::Object(wide)).await;
    let (status, answer) = server.master("POST", "/classes/Wide", Some(json!({"f0": 1, "oneMore": 1}))).await;
    assert_error(status, &answer, 400, 105, "at most 500");
    let (_, schema) = server.master("GET", "/schemas/Wide", None).await;
    assert_eq!(schema["fields"].as_object().unwrap().len(), 500);
    assert!(schema["fields"].get("oneMore").is_none());

    let note = create(&server, "Note", json!({"text": "keep"})).await;
    let pointer = |id: &str| json!({"__type": "Pointer", "className": "Note", "objectId": id});
    let too_long = "p".repeat(200);
    for id in ["a\u{0}b", "", "line\nbreak", too_long.as_str()] {
        let (status, answer) = server.master("POST", "/classes/Note", Some(json!({"link": pointer(id)}))).await;
        assert_error(status, &answer, 400, 106, "objectId");
        let relation = json!({"friends": {"__op": "AddRelation", "objects": [pointer(id)]}});
        let (status, answer) = server.master("PUT", &format!("/classes/Note/{note}"), Some(relation)).await;
        assert_error(status, &answer, 400, 106, "objectId");
    }

    let server = server.restart(FIXTURE, &[]);
    let notes = all(&server, "Note").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].get("friends").is_none() && notes[0].get("link").is_none(), "{}", notes[0]);
    let (_, schema) = server.master("GET", "/schemas/Note", None).await;
    assert!(schema["fields"].get("friends").is_none() && schema["fields"].get("link").is_none(), "{schema}");
    assert_eq!(all(&server, "Wide").await.len(), 1);
}
