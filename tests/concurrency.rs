//! Cloud code that waits holds nothing: many calls in flight on one worker thread, each keeping
//! its own caller, master flag and log tag across `await`, each with its own deadline.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use futures_free::join_all;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// Runs futures concurrently and collects their outputs in order (tokio tasks, no extra crate).
mod futures_free {
    pub async fn join_all<T: Send + 'static>(
        futures: impl IntoIterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
    ) -> Vec<T> {
        let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(task.await.expect("task"));
        }
        out
    }
}

/// An upstream on 127.0.0.1 that answers "slow" after `delay`, on a thread of its own.
fn slow_upstream(delay: Duration) -> String {
    upstream(delay, "slow")
}

/// An upstream on 127.0.0.1 that answers `body` after `delay`, on a thread of its own.
fn upstream(delay: Duration, body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(async move {
                    let service = service_fn(move |_: Request<hyper::body::Incoming>| async move {
                        tokio::time::sleep(delay).await;
                        let mut response = Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
                        response.headers_mut().insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(response)
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
    });
    format!("http://127.0.0.1:{port}")
}

/// Calls `name` with each of `params` at once; answers the replies and how long all took.
async fn at_once(server: &Arc<Server>, name: &'static str, params: Vec<Value>) -> (Vec<(u16, Value)>, Duration) {
    let started = Instant::now();
    let replies = join_all(params.into_iter().map(|params| {
        let server = server.clone();
        async move { server.call(name, params, &[]).await }
    }))
    .await;
    (replies, started.elapsed())
}

#[tokio::test]
async fn one_worker_answers_64_calls_awaiting_a_slow_upstream_together() {
    let upstream = slow_upstream(Duration::from_millis(200));
    let server = Arc::new(Server::start("concurrency", &["--workers", "1"]));
    // Warm up: the worker's HTTP client and the test's connections.
    assert_eq!(server.call("fetch", json!({"url": upstream}), &[]).await, (200, json!({"result": "slow"})));
    let (replies, took) = at_once(&server, "fetch", (0..64).map(|_| json!({"url": upstream})).collect()).await;
    for reply in &replies {
        assert_eq!(reply, &(200, json!({"result": "slow"})));
    }
    // One at a time they would take 64 × 200 ms = 12.8 s.
    assert!(took < Duration::from_millis(1500), "64 calls awaiting 200 ms took {took:?}");
}

#[tokio::test]
async fn one_worker_answers_64_calls_awaiting_timers_together() {
    let server = Arc::new(Server::start("concurrency", &["--workers", "1"]));
    let (replies, took) = at_once(&server, "sleep", (0..64).map(|i| json!({"ms": 200, "i": i})).collect()).await;
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply, &(200, json!({"result": i})));
    }
    assert!(took < Duration::from_millis(1500), "64 calls awaiting setTimeout(200) took {took:?}");
}

/// Two users, each owning one Private row only they can read.
async fn two_users(server: &Server) -> [(String, String); 2] {
    let mut users = Vec::new();
    for name in ["alice", "bob"] {
        let (id, token) = server.sign_up(name, "secret").await;
        let row = json!({"owner": name, "ACL": {id.clone(): {"read": true}}});
        let (status, body) = server.master("POST", "/classes/Private", Some(row)).await;
        assert_eq!(status, 201, "{body}");
        users.push((name.to_string(), token));
    }
    [users[0].clone(), users[1].clone()]
}

#[tokio::test]
async fn interleaving_calls_of_two_users_each_keep_their_own_user_and_master_key() {
    let server = Arc::new(Server::start("concurrency", &["--workers", "1"]));
    let [(alice, alice_token), (bob, bob_token)] = two_users(&server).await;
    // Alice's calls never use the master key; Bob's call Parse.Cloud.useMasterKey() first.
    let calls = (0..20).map(|i| {
        let server = server.clone();
        let (user, token) = if i % 2 == 0 { (alice.clone(), alice_token.clone()) } else { (bob.clone(), bob_token.clone()) };
        async move {
            let master = user == "bob";
            let params = json!({"master": master, "ms": 20 + (i * 7) % 60});
            (user, master, server.call("whoAmI", params, &[("X-Parse-Session-Token", &token)]).await)
        }
    });
    for (user, master, (status, body)) in join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        let sees = if master { json!(["alice", "bob"]) } else { json!([user.clone()]) };
        assert_eq!(body["result"], json!({"user": user, "before": sees, "after": sees}), "{user}");
    }
    let log = server.log();
    assert!(log.contains("[function whoAmI] whoAmI done for alice"), "{log}");
}

#[tokio::test]
async fn a_nested_trigger_that_awaits_keeps_its_own_credentials_and_tag() {
    let server = Arc::new(Server::start("concurrency", &["--workers", "1", "--allow-client-class-creation"]));
    let [(alice, alice_token), (_, bob_token)] = two_users(&server).await;
    // Alice's outer call uses the master key and saves a Note as Bob: Bob's trigger, after its
    // await, must read as Bob (not as Alice, not with the master key).
    let (status, body) = server
        .call("saveNoteAs", json!({"sessionToken": bob_token}), &[("X-Parse-Session-Token", &alice_token)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!({"seen": ["bob"], "outerSees": ["alice", "bob"]}), "as {alice}");
    let log = server.log();
    assert!(log.contains("[beforeSave Note] nested trigger saw [\"bob\"]"), "{log}");
}

#[tokio::test]
async fn an_endless_loop_and_a_never_settling_call_leave_20_awaiting_calls_to_succeed() {
    let server = Arc::new(Server::start(
        "concurrency",
        &["--workers", "1", "--function-timeout", "3", "--trigger-timeout", "1"],
    ));
    let waiting = tokio::spawn({
        let server = server.clone();
        async move { at_once(&server, "sleep", (0..20).map(|i| json!({"ms": 300, "i": i})).collect()).await }
    });
    let never = tokio::spawn({
        let server = server.clone();
        async move {
            let started = Instant::now();
            (server.call("never", json!({}), &[]).await, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The loop holds the thread until the trigger's 1 s deadline, then the others resume.
    let (status, body) = server.master("POST", "/classes/Spin", Some(json!({"n": 1}))).await;
    assert_eq!((status, body["code"].clone()), (400, json!(124)), "{body}");

    let (replies, took) = waiting.await.unwrap();
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply, &(200, json!({"result": i})));
    }
    assert!(took < Duration::from_millis(2900), "the awaiting calls were held too long: {took:?}");
    let ((status, body), took) = never.await.unwrap();
    assert_eq!((status, body["code"].clone()), (400, json!(124)), "{body}");
    assert!(took >= Duration::from_millis(2900) && took < Duration::from_secs(6), "never answered after {took:?}");
    let (_, found) = server.master("GET", "/classes/Spin", None).await;
    assert_eq!(found["results"], json!([]), "the stopped trigger's object was stored");
}

#[tokio::test]
async fn a_heap_bomb_after_an_await_is_answered_141_and_20_awaiting_calls_succeed() {
    let server = Arc::new(Server::start(
        "concurrency",
        &["--workers", "1", "--heap-limit-mb", "64", "--function-timeout", "20"],
    ));
    for round in 0..2 {
        let waiting = tokio::spawn({
            let server = server.clone();
            async move { at_once(&server, "sleep", (0..20).map(|i| json!({"ms": 400, "i": i})).collect()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let (status, body) = server.call("heapBombAfterAwait", json!({}), &[]).await;
        assert_eq!((status, body["code"].clone()), (400, json!(141)), "round {round}: {body}");
        assert!(body["error"].as_str().unwrap_or_default().contains("64 MB"), "round {round}: {body}");
        assert!(started.elapsed() < Duration::from_secs(15), "answered at the deadline, not by the heap limit");
        let (replies, _) = waiting.await.unwrap();
        for (i, reply) in replies.iter().enumerate() {
            assert_eq!(reply, &(200, json!({"result": i})), "round {round}");
        }
    }
}

#[tokio::test]
async fn a_heap_bomb_that_catches_the_error_is_stopped_and_20_awaiting_calls_succeed() {
    let server = Arc::new(Server::start(
        "concurrency",
        &["--workers", "1", "--heap-limit-mb", "64", "--function-timeout", "4"],
    ));
    let waiting = tokio::spawn({
        let server = server.clone();
        async move { at_once(&server, "sleep", (0..20).map(|i| json!({"ms": 400, "i": i})).collect()).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Stopped without settling, it gets the timeout at its deadline; the others go on at once.
    let (status, body) = server.call("heapBombThatCatches", json!({}), &[]).await;
    assert_eq!((status, body["code"].clone()), (400, json!(124)), "{body}");
    let (replies, took) = waiting.await.unwrap();
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply, &(200, json!({"result": i})));
    }
    assert!(took < Duration::from_millis(3500), "the awaiting calls waited for the bomb's deadline: {took:?}");
    assert_eq!(server.call("sleep", json!({"ms": 1, "i": 7}), &[]).await, (200, json!({"result": 7})));
}

#[tokio::test]
async fn a_webhook_function_takes_no_place_among_the_calls_in_flight() {
    let hook = upstream(Duration::ZERO, r#"{"success":"from the webhook"}"#);
    let server = Arc::new(Server::start(
        "concurrency",
        &["--workers", "1", "--max-in-flight", "1", "--allow-insecure-webhooks"],
    ));
    let (status, body) = server
        .master("POST", "/hooks/functions", Some(json!({"functionName": "viaHook", "url": format!("{hook}/hook")})))
        .await;
    assert_eq!(status, 200, "{body}");
    // The only place in flight is taken by a call waiting a second.
    let waiting = tokio::spawn({
        let server = server.clone();
        async move { server.call("sleep", json!({"ms": 1000, "i": 1}), &[]).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    assert_eq!(server.call("viaHook", json!({}), &[]).await, (200, json!({"result": "from the webhook"})));
    assert!(started.elapsed() < Duration::from_millis(700), "the webhook waited for a JS place: {:?}", started.elapsed());
    assert_eq!(waiting.await.unwrap(), (200, json!({"result": 1})));
}

#[test]
fn bad_max_in_flight_values_are_refused_at_start_up() {
    for value in ["0", "100001", "-3", "lots"] {
        let flag = format!("--max-in-flight={value}");
        let exited = Server::try_start(&common::fixture("concurrency"), &[&flag])
            .err()
            .unwrap_or_else(|| panic!("--max-in-flight {value} was accepted"));
        assert_ne!(exited.code, Some(0));
        assert!(exited.stderr.contains("--max-in-flight"), "{value}: {}", exited.stderr);
    }
}
