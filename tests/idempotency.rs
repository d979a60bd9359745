//! `--idempotency` over real HTTP: a repeated `X-Parse-Request-Id` on a write, a function call
//! or a job is refused with 159 and runs nothing; other ids, reads, and servers without the
//! flag are unaffected; the ids survive a restart and expire after `--idempotency-ttl`.

mod common;

use common::{Server, MASTER_KEY};
use serde_json::json;

async fn things(server: &Server) -> u64 {
    let (status, body) = server.master("GET", "/classes/Thing?count=1&limit=0", None).await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().unwrap_or(0)
}

const DUPLICATE: (u16, i64) = (400, 159);

async fn create(server: &Server, id: &str) -> (u16, serde_json::Value) {
    server.request("POST", "/classes/Thing", Some(json!({"label": id})), &[("X-Parse-Request-Id", id)]).await
}

#[tokio::test]
async fn a_repeated_request_id_is_refused_and_runs_nothing() {
    let server = Server::start("idempotency", &["--idempotency", "--allow-client-class-creation"]);
    let (status, first) = create(&server, "req-1").await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = create(&server, "req-1").await;
    assert_eq!((status, again.clone()), (400, json!({"code": 159, "error": "Duplicate request"})), "{again}");
    assert_eq!(things(&server).await, 1, "the repeat stored nothing");
    assert_eq!(create(&server, "req-2").await.0, 201, "another id is a new request");

    // A function's own nested saves carry the same header and are not repeats; the call is.
    let headers = [("X-Parse-Request-Id", "call-1")];
    let (status, body) = server.call("addThing", json!({"label": "f"}), &headers).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.call("addThing", json!({"label": "f"}), &headers).await;
    assert_eq!((status, body["code"].as_i64().unwrap()), DUPLICATE, "{body}");
    assert_eq!(things(&server).await, 3);

    // Updates are covered; reads are not.
    let id = first["objectId"].as_str().unwrap();
    let update = json!({"label": "changed"});
    let (status, _) = server.request("PUT", &format!("/classes/Thing/{id}"), Some(update.clone()), &[("X-Parse-Request-Id", "put-1")]).await;
    assert_eq!(status, 200);
    let (status, body) = server.request("PUT", &format!("/classes/Thing/{id}"), Some(update), &[("X-Parse-Request-Id", "put-1")]).await;
    assert_eq!((status, body["code"].as_i64().unwrap()), DUPLICATE, "{body}");
    for _ in 0..2 {
        let (status, _) = server.request("GET", &format!("/classes/Thing/{id}"), None, &[("X-Parse-Request-Id", "get-1")]).await;
        assert_eq!(status, 200, "reads are never refused");
    }

    // Jobs too (master key), and a sign-up.
    let master = [("X-Parse-Master-Key", MASTER_KEY), ("X-Parse-Request-Id", "job-1")];
    let (status, body) = server.request("POST", "/jobs/none", Some(json!({})), &master).await;
    assert_ne!(status, 200, "no such job: {body}");
    let (status, body) = server.request("POST", "/jobs/none", Some(json!({})), &master).await;
    assert_eq!((status, body["code"].as_i64().unwrap()), DUPLICATE, "{body}");
    let signup = json!({"username": "once", "password": "pw"});
    let (status, _) = server.request("POST", "/users", Some(signup.clone()), &[("X-Parse-Request-Id", "signup-1")]).await;
    assert_eq!(status, 201);
    let (status, body) = server.request("POST", "/users", Some(signup), &[("X-Parse-Request-Id", "signup-1")]).await;
    assert_eq!((status, body["code"].as_i64().unwrap()), DUPLICATE, "159 before the 202 of the name: {body}");

    // A bad id is refused before anything runs.
    let long = "x".repeat(300);
    let (status, body) = server.request("POST", "/classes/Thing", Some(json!({})), &[("X-Parse-Request-Id", long.as_str())]).await;
    assert_eq!((status, body["code"].as_i64().unwrap()), (400, 162), "{body}");
    assert_eq!(things(&server).await, 3);

    // The ids live in the master-only _Idempotency class, and survive a restart.
    let (status, body) = server.request("GET", "/classes/_Idempotency", None, &[]).await;
    assert_ne!(status, 200, "clients cannot read the ids: {body}");
    let (status, rows) = server.master("GET", "/classes/_Idempotency?where=%7B%22reqId%22%3A%22req-1%22%7D", None).await;
    assert_eq!((status, rows["results"].as_array().unwrap().len()), (200, 1), "{rows}");
    let server = server.restart("idempotency", &["--idempotency", "--allow-client-class-creation"]);
    let (status, body) = server.request("POST", "/classes/Thing", Some(json!({})), &[("X-Parse-Request-Id", "req-1")]).await;
    assert_eq!((status, body["code"].as_i64().unwrap()), DUPLICATE, "remembered across a restart: {body}");
}

#[tokio::test]
async fn ids_expire_after_the_ttl_and_the_flag_is_off_by_default() {
    let server = Server::start("idempotency", &["--idempotency", "--idempotency-ttl", "1", "--allow-client-class-creation"]);
    let headers = [("X-Parse-Request-Id", "short-lived")];
    assert_eq!(server.call("addThing", json!({}), &headers).await.0, 200);
    assert_eq!(server.call("addThing", json!({}), &headers).await.1["code"], json!(159));
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let (status, body) = server.call("addThing", json!({}), &headers).await;
    assert_eq!(status, 200, "the id expired: {body}");

    let (status, body) = server.call("addThing", json!({}), &[("X-Parse-Request-Id", "classes-only")]).await;
    assert_eq!(status, 200, "{body}");
    let paths = Server::start("idempotency", &["--idempotency", "--idempotency-paths", "classes/.*", "--allow-client-class-creation"]);
    for _ in 0..2 {
        let (status, body) = paths.call("addThing", json!({}), &[("X-Parse-Request-Id", "fn")]).await;
        assert_eq!(status, 200, "functions are not covered by these paths: {body}");
    }

    let off = Server::start("idempotency", &["--allow-client-class-creation"]);
    for _ in 0..2 {
        let (status, body) = off.call("addThing", json!({}), &headers).await;
        assert_eq!(status, 200, "without --idempotency ids are ignored: {body}");
    }
}
