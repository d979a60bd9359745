//! Background jobs over real HTTP: starting with the master key, `_JobStatus` progress, the
//! seed's migration job, time and concurrency limits, schedules, and restarts.

mod common;

use std::time::{Duration, Instant};

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

/// Starts a job the way the seed's curl example does; answers its status id.
async fn start_job(server: &Server, name: &str, params: Value) -> String {
    let response = server
        .client
        .post(format!("{}/jobs/{name}", server.url.replace("/parse", "/1")))
        .header("X-Parse-Application-Id", APP_ID)
        .header("X-Parse-Master-Key", MASTER_KEY)
        .header("Content-Type", "application/json;charset=utf-8")
        .body(params.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap().to_string();
    assert!(exposed.contains("X-Parse-Job-Status-Id"));
    let id = response.headers()["x-parse-job-status-id"].to_str().unwrap().to_string();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    id
}

async fn status(server: &Server, id: &str) -> Value {
    server.master("GET", &format!("/classes/_JobStatus/{id}"), None).await.1
}

/// Polls until the run is no longer running; answers the final status and every message seen
/// while it ran.
async fn wait_for(server: &Server, id: &str, limit: Duration) -> (Value, Vec<String>) {
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let current = status(server, id).await;
        if current["status"] != json!("running") {
            return (current, seen);
        }
        if let Some(message) = current["message"].as_str().filter(|m| !m.is_empty()) {
            if seen.last().map(String::as_str) != Some(message) {
                seen.push(message.to_string());
            }
        }
        assert!(started.elapsed() < limit, "job {id} still running: {current}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn make_users(server: &Server, count: usize) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(50) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"method": "POST", "path": "/parse/users", "body": {"username": format!("user{i}"), "password": "pw"}}))
            .collect();
        let (status, answer) = server.master("POST", "/batch", Some(json!({"requests": requests}))).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer.as_array().unwrap().iter().all(|a| a.get("success").is_some()), "{answer}");
    }
}

async fn plans(server: &Server) -> Vec<Value> {
    let (_, users) = server.master("GET", "/users?limit=1000", None).await;
    users["results"].as_array().unwrap().iter().map(|u| u["plan"].clone()).collect()
}

#[tokio::test]
async fn the_seed_migration_job_runs_as_written() {
    let server = Server::start("jobs", &[]);
    make_users(&server, 250).await;
    let id = start_job(&server, "userMigration", json!({"plan": "paid"})).await;
    let (done, seen) = wait_for(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], json!("succeeded"), "{done}");
    assert_eq!(done["message"], json!("Migration completed successfully."));
    assert_eq!((done["jobName"].clone(), done["source"].clone(), done["params"].clone()), (json!("userMigration"), json!("api"), json!({"plan": "paid"})));
    assert!(done["finishedAt"]["iso"].is_string() && done["createdAt"].is_string(), "{done}");
    assert!(seen.iter().all(|m| m.ends_with(" users processed.")), "{seen:?}");
    assert!(!seen.is_empty(), "progress messages are visible while the job runs");
    let migrated = plans(&server).await;
    assert_eq!(migrated.len(), 250);
    assert!(migrated.iter().all(|p| p == &json!("paid")), "every user migrated");

    let id = start_job(&server, "modernMigration", json!({"plan": "gold"})).await;
    let (done, _) = wait_for(&server, &id, Duration::from_secs(60)).await;
    assert_eq!((done["status"].clone(), done["message"].clone()), (json!("succeeded"), json!("Migrated 250 users.")));
    assert!(plans(&server).await.iter().all(|p| p == &json!("gold")));
    let (_, runs) = server.master("GET", "/classes/_JobStatus?order=-createdAt", None).await;
    assert_eq!(runs["results"][0]["jobName"], json!("modernMigration"), "newest first");
}

#[tokio::test]
async fn job_requests_results_and_failures() {
    let server = Server::start("jobs", &[]);
    let id = start_job(&server, "describe", json!({"x": 1})).await;
    let (done, _) = wait_for(&server, &id, Duration::from_secs(10)).await;
    assert_eq!(done["status"], json!("succeeded"));
    let described: Value = serde_json::from_str(done["message"].as_str().unwrap()).unwrap();
    assert_eq!(described, json!({"params": {"x": 1}, "jobName": "describe", "hasId": true, "master": true}), "a message after success is ignored");
    for (job, message) in [("throws", "the job broke"), ("legacyError", "legacy job failure")] {
        let id = start_job(&server, job, json!({})).await;
        let (done, _) = wait_for(&server, &id, Duration::from_secs(10)).await;
        assert_eq!((done["status"].clone(), done["message"].clone()), (json!("failed"), json!(message)), "{job}");
    }
    // Master key only; unknown jobs; the other ways to start one.
    let (status, answer) = server.request("POST", "/jobs/describe", Some(json!({})), &[]).await;
    assert_eq!((status, answer["code"].clone()), (403, json!(119)), "{answer}");
    let (status, answer) = server.master("POST", "/jobs/nope", Some(json!({}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(141)), "{answer}");
    let (status, _) = server.master("POST", "/jobs", Some(json!({"jobName": "describe", "y": 2}))).await;
    assert_eq!(status, 200);
    let (status, answer) = server.request("GET", &format!("/classes/_JobStatus/{id}"), None, &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(119)), "job status is for the master key only: {answer}");
}

#[tokio::test]
async fn progress_is_written_past_the_triggers_of_job_status() {
    let server = Server::start("jobs", &[]);
    let id = start_job(&server, "progress", json!({})).await;
    let (done, _) = wait_for(&server, &id, Duration::from_secs(10)).await;
    assert_eq!((&done["status"], &done["message"]), (&json!("succeeded"), &json!("half way")), "{done}");
    // The progress route: the master key only, and a text message.
    let path = format!("/jobs/status/{id}");
    let (code, answer) = server.request("PUT", &path, Some(json!({"message": "x"})), &[]).await;
    assert_eq!((code, &answer["code"]), (403, &json!(119)), "{answer}");
    for bad in [json!({}), json!({"message": 5})] {
        let (code, answer) = server.master("PUT", &path, Some(bad)).await;
        assert_eq!((code, &answer["code"]), (400, &json!(107)), "{answer}");
    }
    let (code, answer) = server.master("PUT", "/jobs/status/nope", Some(json!({"message": "x"}))).await;
    assert_eq!((code, &answer["code"]), (404, &json!(101)), "{answer}");
    assert_eq!(status(&server, &id).await["message"], json!("half way"), "nothing stored by a refused write");
}

#[tokio::test]
async fn a_job_that_never_finishes_is_terminated_and_its_worker_reused() {
    let server = Server::start("jobs", &["--job-timeout", "1", "--max-concurrent-jobs", "1"]);
    let id = start_job(&server, "neverSettles", json!({})).await;
    let (done, _) = wait_for(&server, &id, Duration::from_secs(10)).await;
    assert_eq!(done["status"], json!("failed"));
    assert!(done["message"].as_str().unwrap().contains("limit"), "{done}");
    let id = start_job(&server, "spin", json!({"ms": 100000})).await;
    let (done, _) = wait_for(&server, &id, Duration::from_secs(10)).await;
    assert_eq!(done["status"], json!("failed"), "an endless loop is stopped too: {done}");
    let id = start_job(&server, "describe", json!({})).await;
    let (done, _) = wait_for(&server, &id, Duration::from_secs(10)).await;
    assert_eq!(done["status"], json!("succeeded"), "the job worker is usable afterwards");
}

#[tokio::test]
async fn jobs_beyond_the_limit_fail_at_once_and_functions_keep_their_workers() {
    let server = Server::start("jobs", &["--max-concurrent-jobs", "2", "--workers", "1"]);
    let first = start_job(&server, "spin", json!({"ms": 3000})).await;
    let second = start_job(&server, "spin", json!({"ms": 3000})).await;
    let third = start_job(&server, "spin", json!({"ms": 10})).await;
    let refused = status(&server, &third).await;
    assert_eq!(refused["status"], json!("failed"), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("--max-concurrent-jobs"), "{refused}");
    // Both job workers spin; the one function worker still answers promptly.
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(server.call("ping", json!({}), &[]).await, (200, json!({"result": "pong"})));
    }
    assert!(started.elapsed() < Duration::from_millis(2000), "functions waited for jobs: {:?}", started.elapsed());
    assert_eq!(status(&server, &first).await["status"], json!("running"));
    for id in [first, second] {
        assert_eq!(wait_for(&server, &id, Duration::from_secs(20)).await.0["status"], json!("succeeded"));
    }
}

#[tokio::test]
async fn schedules_run_on_time_once_per_occurrence() {
    // A schedule "minute" lasts 1 s here.
    let server = Server::start("jobs", &["--minute-seconds", "1"]);
    let (status_code, answer) = server.request("GET", "/cloud_code/jobs", None, &[]).await;
    assert_eq!(status_code, 403, "{answer}");
    let (_, data) = server.master("GET", "/cloud_code/jobs/data", None).await;
    assert!(data["jobs"].as_array().unwrap().contains(&json!("tick")), "{data}");
    let (status_code, answer) = server.master("POST", "/cloud_code/jobs", Some(json!({"job_schedule": {"jobName": "nope"}}))).await;
    assert_eq!(status_code, 400, "{answer}");
    let (status_code, created) = server
        .master("POST", "/cloud_code/jobs", Some(json!({"job_schedule": {"jobName": "tick", "description": "every minute", "repeatMinutes": 1, "params": {}}})))
        .await;
    assert_eq!(status_code, 200, "{created}");
    let schedule = created["objectId"].as_str().unwrap().to_string();
    let (_, list) = server.master("GET", "/cloud_code/jobs", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, data) = server.master("GET", "/cloud_code/jobs/data", None).await;
    assert_eq!(data["in_use"], json!(["tick"]));

    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (_, runs) = server.master("GET", "/classes/_JobStatus?where=%7B%22source%22%3A%22schedule%22%7D&count=1", None).await;
    let count = runs["count"].as_u64().unwrap();
    assert!((3..=5).contains(&count), "about one run per second, not more: {count}");
    let (_, ticks) = server.master("GET", "/classes/Tick?count=1&limit=1000", None).await;
    let job_ids: std::collections::HashSet<Value> = ticks["results"].as_array().unwrap().iter().map(|t| t["jobId"].clone()).collect();
    assert_eq!(job_ids.len() as u64, ticks["count"].as_u64().unwrap(), "each occurrence ran once");

    let response = server
        .client
        .post(format!("{}/cloud_code/jobs/{schedule}/run", server.url))
        .header("X-Parse-Application-Id", APP_ID)
        .header("X-Parse-Master-Key", MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let run_now = response.headers()["x-parse-job-status-id"].to_str().unwrap().to_string();
    assert_eq!(wait_for(&server, &run_now, Duration::from_secs(10)).await.0["status"], json!("succeeded"));

    let (status_code, _) = server.master("DELETE", &format!("/cloud_code/jobs/{schedule}"), None).await;
    assert_eq!(status_code, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, before) = server.master("GET", "/classes/_JobStatus?count=1&limit=0", None).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let (_, after) = server.master("GET", "/classes/_JobStatus?count=1&limit=0", None).await;
    assert_eq!(before["count"], after["count"], "deleted schedules stop running");
}

#[tokio::test]
async fn schedules_survive_restarts_and_running_jobs_are_marked_failed() {
    let server = Server::start("jobs", &[]);
    let running = start_job(&server, "spin", json!({"ms": 60000})).await;
    let future = json!({"job_schedule": {"jobName": "tick", "startAfter": "2999-01-01T00:00:00.000Z"}});
    let (_, created) = server.master("POST", "/cloud_code/jobs", Some(future)).await;
    let server = server.restart("jobs", &[]);
    let interrupted = status(&server, &running).await;
    assert_eq!((interrupted["status"].clone(), interrupted["message"].clone()), (json!("failed"), json!("interrupted by restart")));
    let (_, list) = server.master("GET", "/cloud_code/jobs", None).await;
    assert_eq!(list[0]["objectId"], created["objectId"]);
    assert_eq!(list[0]["startAfter"], json!("2999-01-01T00:00:00.000Z"));
}
