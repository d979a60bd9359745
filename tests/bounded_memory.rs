//! Objects live on disk, not decoded in memory: a server whose `--cache-mb` holds a small
//! fraction of its objects still answers every one of them exactly, through gets, queries,
//! updates and deletes, and after a `kill -9` and restart (which reads no object up front);
//! users and sessions are found by name and token through the store's lookups across restarts.

mod common;

use common::Server;
use serde_json::{json, Value};

/// Objects filled; with [`PAYLOAD_BYTES`] each they weigh ~40 times a 1 MB cache decoded.
const OBJECTS: usize = 2_000;
const PAYLOAD_BYTES: usize = 2_000;
const PER_BATCH: usize = 50;

fn payload(i: usize) -> String {
    format!("{i:06}-{}", "p".repeat(PAYLOAD_BYTES))
}

/// Fills `Item` with objects `{n, group, payload}` and answers their ids in order of `n`.
async fn fill(server: &Server) -> Vec<String> {
    let mut ids = Vec::with_capacity(OBJECTS);
    for start in (0..OBJECTS).step_by(PER_BATCH) {
        let requests: Vec<Value> = (start..start + PER_BATCH)
            .map(|i| json!({"method": "POST", "path": "/parse/classes/Item", "body": {"n": i, "group": i % 10, "payload": payload(i)}}))
            .collect();
        let (status, answers) = server.master("POST", "/batch", Some(json!({"requests": requests}))).await;
        assert_eq!(status, 200, "{answers}");
        for answer in answers.as_array().unwrap() {
            ids.push(answer["success"]["objectId"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string());
        }
    }
    ids
}

async fn get(server: &Server, id: &str) -> (u16, Value) {
    server.master("GET", &format!("/classes/Item/{id}"), None).await
}

/// Every object answers its own fields, except those `changed` (n → new payload) and `deleted`.
async fn check_all(server: &Server, ids: &[String], changed: &[(usize, &str)], deleted: &[usize]) {
    for (n, id) in ids.iter().enumerate() {
        let (status, object) = get(server, id).await;
        if deleted.contains(&n) {
            assert_eq!(status, 404, "object {n} was deleted: {object}");
            continue;
        }
        assert_eq!(status, 200, "object {n}: {object}");
        let expected = changed.iter().find(|(c, _)| *c == n).map_or_else(|| payload(n), |(_, p)| p.to_string());
        assert_eq!(object["n"], json!(n));
        assert_eq!(object["group"], json!(n % 10));
        assert_eq!(object["payload"], json!(expected), "object {n}");
    }
}

async fn count(server: &Server, where_: Value) -> u64 {
    let path = format!("/classes/Item?count=1&limit=0&where={}", form_urlencoded::byte_serialize(where_.to_string().as_bytes()).collect::<String>());
    let (status, answer) = server.master("GET", &path, None).await;
    assert_eq!(status, 200, "{answer}");
    answer["count"].as_u64().unwrap()
}

#[tokio::test]
async fn a_store_far_larger_than_its_cache_answers_every_object() {
    let server = Server::start("basics", &["--cache-mb", "1"]);
    let ids = fill(&server).await;
    check_all(&server, &ids, &[], &[]).await;

    let (status, answer) = server.master("PUT", &format!("/classes/Item/{}", ids[5]), Some(json!({"payload": "changed"}))).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = server.master("DELETE", &format!("/classes/Item/{}", ids[6]), None).await;
    assert_eq!(status, 200, "{answer}");
    check_all(&server, &ids, &[(5, "changed")], &[6]).await;

    assert_eq!(count(&server, json!({})).await, OBJECTS as u64 - 1);
    assert_eq!(count(&server, json!({"group": 3})).await, (OBJECTS / 10) as u64);
    let (status, page) = server.master("GET", "/classes/Item?order=-n&limit=3&keys=n", None).await;
    assert_eq!(status, 200, "{page}");
    let newest: Vec<&Value> = page["results"].as_array().unwrap().iter().map(|o| &o["n"]).collect();
    assert_eq!(newest, [&json!(OBJECTS - 1), &json!(OBJECTS - 2), &json!(OBJECTS - 3)]);
}

#[tokio::test]
async fn a_restart_serves_every_object_and_keeps_writing() {
    let server = Server::start("basics", &["--cache-mb", "1"]);
    let ids = fill(&server).await;
    let (status, answer) = server.master("PUT", &format!("/classes/Item/{}", ids[0]), Some(json!({"payload": "before restart"}))).await;
    assert_eq!(status, 200, "{answer}");

    let server = server.restart("basics", &["--cache-mb", "1"]);
    check_all(&server, &ids, &[(0, "before restart")], &[]).await;
    assert_eq!(count(&server, json!({"n": {"$gte": 100, "$lt": 200}})).await, 100);
    let (status, answer) = server.master("PUT", &format!("/classes/Item/{}", ids[1]), Some(json!({"payload": "after restart"}))).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = server.master("DELETE", &format!("/classes/Item/{}", ids[2]), None).await;
    assert_eq!(status, 200, "{answer}");

    let server = server.restart("basics", &[]);
    check_all(&server, &ids, &[(0, "before restart"), (1, "after restart")], &[2]).await;
}

#[tokio::test]
async fn a_cache_size_that_is_not_a_number_is_refused() {
    let exited = Server::try_start(&common::fixture("basics"), &["--cache-mb", "lots"]).err().expect("the server must not start");
    assert_ne!(exited.code, Some(0));
    assert!(exited.stderr.contains("--cache-mb"), "{}", exited.stderr);
}

#[tokio::test]
async fn log_in_and_sessions_survive_a_restart_as_lookups() {
    let server = Server::start("basics", &["--cache-mb", "1"]);
    let (carol, token) = server.sign_up("Carol", "secret-1").await;
    server.sign_up("dave", "secret-2").await;
    let (status, answer) = server.request("POST", "/users", Some(json!({"username": "carol", "password": "x"})), &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(202)), "{answer}");

    let server = server.restart("basics", &["--cache-mb", "1"]);
    let (status, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", token.as_str())]).await;
    assert_eq!(status, 200, "a session from before the restart is found by its token: {me}");
    assert_eq!(me["objectId"], json!(carol));
    let (status, login) = server.request("POST", "/login", Some(json!({"username": "Carol", "password": "secret-1"})), &[]).await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["objectId"], json!(carol));
    let (status, answer) = server.request("POST", "/users", Some(json!({"username": "CAROL", "password": "x"})), &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(202)), "a taken name is still taken after a restart: {answer}");

    let (status, answer) = server
        .request("PUT", &format!("/users/{carol}"), Some(json!({"username": "caroline"})), &[("X-Parse-Session-Token", token.as_str())])
        .await;
    assert_eq!(status, 200, "{answer}");
    let server = server.restart("basics", &[]);
    server.sign_up("carol", "secret-3").await;
    let (status, login) = server.request("POST", "/login", Some(json!({"username": "caroline", "password": "secret-1"})), &[]).await;
    assert_eq!((status, login["objectId"].clone()), (200, json!(carol)), "{login}");
    let (status, _) = server.request("POST", "/logout", None, &[("X-Parse-Session-Token", token.as_str())]).await;
    assert_eq!(status, 200);
    let (status, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", token.as_str())]).await;
    assert_eq!(status, 400, "a logged-out token is found no more: {me}");
}
