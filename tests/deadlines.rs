//! Deadlines: endless loops and promises that never settle are answered with 124 on time,
//! the worker goes on serving, and other calls keep flowing meanwhile.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

const TIMEOUT: &[&str] = &["--function-timeout", "1"];

async fn expect_timeout(server: &Server, function: &str) {
    let started = Instant::now();
    let (status, body) = server.call(function, json!({}), &[]).await;
    let took = started.elapsed();
    assert_eq!((status, body["code"].clone()), (400, json!(124)), "{function}: {body}");
    assert!(body["error"].as_str().unwrap().contains(function), "{body}");
    assert!(took >= Duration::from_millis(900), "{function} answered early: {took:?}");
    assert!(took < Duration::from_secs(5), "{function} answered late: {took:?}");
}

#[tokio::test]
async fn each_kind_of_endless_handler_gets_124_and_the_worker_recovers() {
    let server = Server::start("deadlines", &["--function-timeout", "1", "--workers", "1"]);
    for function in ["infiniteLoop", "loopAfterAwait", "neverSettles", "neverSettlesWithTimer", "legacyNeverAnswers"] {
        expect_timeout(&server, function).await;
        let (status, body) = server.call("quick", json!({"i": 7}), &[]).await;
        assert_eq!((status, body), (200, json!({"result": 7})), "after {function}");
    }
}

#[tokio::test]
async fn other_calls_succeed_while_handlers_hang() {
    let server = std::sync::Arc::new(Server::start("deadlines", TIMEOUT));
    let loop_call = tokio::spawn({
        let server = server.clone();
        async move { expect_timeout(&server, "infiniteLoop").await }
    });
    let never_call = tokio::spawn({
        let server = server.clone();
        async move { expect_timeout(&server, "neverSettles").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let server = server.clone();
            tokio::spawn(async move { server.call("quick", json!({"i": i}), &[]).await })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap(), (200, json!({"result": i})));
    }
    loop_call.await.unwrap();
    never_call.await.unwrap();
}

#[tokio::test]
async fn one_worker_serves_200_sequential_calls() {
    let server = Server::start("deadlines", &["--workers", "1"]);
    for i in 0..200 {
        assert_eq!(server.call("quick", json!({"i": i}), &[]).await, (200, json!({"result": i})));
    }
}

#[tokio::test]
async fn a_full_queue_answers_155_instead_of_hanging() {
    let server = std::sync::Arc::new(Server::start("deadlines", &["--function-timeout", "1", "--workers", "1", "--max-queue", "1"]));
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move { server.call("infiniteLoop", json!({}), &[]).await })
        })
        .collect();
    let mut codes = Vec::new();
    for call in calls {
        let (status, body) = call.await.unwrap();
        codes.push((status, body["code"].as_i64().unwrap()));
    }
    assert!(codes.contains(&(429, 155)), "{codes:?}");
    assert!(codes.contains(&(400, 124)), "{codes:?}");
}

#[tokio::test]
async fn a_heap_bomb_is_stopped_and_the_worker_recovers() {
    let server = Server::start("deadlines", &["--heap-limit-mb", "64", "--workers", "1", "--function-timeout", "60"]);
    let (status, body) = server.call("heapBomb", json!({}), &[]).await;
    assert_eq!((status, body["code"].clone()), (400, json!(141)), "{body}");
    assert!(body["error"].as_str().unwrap().contains("64 MB"), "{body}");
    for i in 0..3 {
        assert_eq!(server.call("quick", json!({"i": i}), &[]).await, (200, json!({"result": i})));
    }
    let (status, body) = server.call("heapBomb", json!({}), &[]).await;
    assert_eq!((status, body["code"].clone()), (400, json!(141)), "the limit holds for the next call too: {body}");
}
