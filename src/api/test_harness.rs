//! An in-process server for unit tests: the [`Api`] `serve` builds (through the same
//! [`Opened`]), over a temporary sled directory and a one-worker pool, with no socket. Requests
//! go straight to the route table, so a test of the pipeline, of cloud code's host calls or of
//! jobs runs without a port or a child process.
//!
//! The tests below use `fixtures/pipeline/cloud`, whose handlers note the order they ran in.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use serde_json::{json, Map, Value};

use super::context::{Api, Ctx};
use super::routes::dispatch;
use super::startup::Opened;
use crate::error::ParseError;
use crate::script_log::capture::Capture;
use crate::store::SledStore;
use crate::{Cli, Command};

/// A running API over its own data directory (removed on drop).
pub struct Harness {
    pub api: Arc<Api>,
    data_dir: PathBuf,
}

impl Harness {
    /// `fixtures/<fixture>/cloud` on one worker, with `flags` as `cloudrt serve` takes them.
    pub fn start(fixture: &str, flags: &[&str]) -> Harness {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let cloud = root.join("fixtures").join(fixture).join("cloud");
        let data_dir = std::env::temp_dir().join(format!("cloudrt-harness-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst)));
        let (cloud, dir) = (cloud.display().to_string(), data_dir.display().to_string());
        let mut args = vec!["cloudrt", "serve", &cloud, "--data-dir", &dir, "--workers", "1", "--app-id", "app", "--master-key", "master"];
        args.extend_from_slice(flags);
        let Command::Serve(serve) = Cli::try_parse_from(args).expect("flags").command else { unreachable!("a serve command") };
        let config = serve.validate().expect("a valid configuration");
        let store = Arc::new(SledStore::open_with_cache(&config.data_dir, config.cache_bytes).expect("sled"));
        let opened = Opened::open(&config, store, None, &Capture::default()).expect("the fixture loads");
        Harness { api: opened.into_api(config), data_dir }
    }

    /// A caller with the master key, or a client (app id only), as the HTTP router makes them.
    pub fn ctx(&self, master: bool) -> Ctx {
        Ctx {
            master,
            user: None,
            roles: Arc::from(Vec::new()),
            session_token: None,
            installation_id: None,
            headers: json!({}),
            ip: "127.0.0.1".into(),
            context: json!({}),
            cloud_code_runs_on: self.api.pool.invoker().clone(),
            defer_sync: false,
        }
    }

    /// `method` on `route` (no mount, no leading slash) through the one route table: the
    /// answer's status and JSON body.
    pub async fn request(&self, ctx: &Ctx, method: &str, route: &str, body: Value) -> Result<(u16, Value), ParseError> {
        let params: Map<String, Value> = serde_json::from_value(body).expect("an object body");
        let reply = dispatch(&self.api, ctx, method, route, params).await?;
        Ok((reply.status, serde_json::from_str(&reply.body).expect("a JSON answer")))
    }

    /// The same with the master key, answering the body; a Parse error fails the test.
    pub async fn master(&self, method: &str, route: &str, body: Value) -> Value {
        let ctx = self.ctx(true);
        match self.request(&ctx, method, route, body).await {
            Ok((_, answer)) => answer,
            Err(error) => panic!("{method} {route}: {} {}", error.code.0, error.message),
        }
    }

    /// Cloud function `name`'s result.
    pub async fn call(&self, name: &str, params: Value) -> Value {
        self.master("POST", &format!("functions/{name}"), params).await["result"].take()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::jobs::{self, Source};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_save_runs_before_save_then_after_save_and_the_answer_has_the_triggers_changes() {
        let harness = Harness::start("pipeline", &[]);
        let (status, created) = harness.request(&harness.ctx(true), "POST", "classes/Order", json!({"item": "tea"})).await.unwrap();
        assert_eq!(status, 201, "{created}");
        let id = created["objectId"].as_str().unwrap();
        assert_eq!(created["stamped"], json!(true), "beforeSave's change is news to the client: {created}");
        let stored = harness.master("GET", &format!("classes/Order/{id}"), json!({})).await;
        assert_eq!((&stored["item"], &stored["stamped"]), (&json!("tea"), &json!(true)));
        assert_eq!(
            harness.call("events", json!({})).await,
            json!(["beforeSave Order", "afterSave Order", "beforeSave Receipt", "afterSave Receipt"])
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trigger_saving_another_object_runs_that_objects_triggers_on_the_one_worker() {
        let harness = Harness::start("pipeline", &[]);
        let created = harness.master("POST", "classes/Order", json!({"item": "cake"})).await;
        let id = created["objectId"].as_str().unwrap();
        // Saved by afterSave Order from cloud code, stamped by its own beforeSave.
        assert_eq!(harness.call("receiptsOf", json!({"order": id})).await, json!([true]));
        let receipts = harness.master("GET", "classes/Receipt", json!({"where": {"order": id}})).await;
        assert_eq!(receipts["results"].as_array().map(Vec::len), Some(1), "{receipts}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_before_delete_that_throws_keeps_the_object_and_skips_after_delete() {
        let harness = Harness::start("pipeline", &[]);
        let kept = harness.master("POST", "classes/Order", json!({"kept": true})).await;
        let gone = harness.master("POST", "classes/Order", json!({"kept": false})).await;
        harness.call("events", json!({})).await;
        let route = format!("classes/Order/{}", kept["objectId"].as_str().unwrap());
        let refused = harness.request(&harness.ctx(true), "DELETE", &route, json!({})).await.unwrap_err();
        assert!(refused.message.contains("kept orders stay"), "{}", refused.message);
        harness.master("DELETE", &format!("classes/Order/{}", gone["objectId"].as_str().unwrap()), json!({})).await;
        assert_eq!(harness.call("events", json!({})).await, json!(["beforeDelete Order", "beforeDelete Order", "afterDelete Order"]));
        assert_eq!(harness.master("GET", &route, json!({})).await["kept"], json!(true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_may_not_run_a_job_and_a_started_job_reaches_the_api_from_its_own_pool() {
        let harness = Harness::start("pipeline", &[]);
        let refused = harness.request(&harness.ctx(false), "POST", "jobs/countReceipts", json!({})).await.unwrap_err();
        assert_eq!(refused.status, 403, "{}", refused.message);
        harness.master("POST", "classes/Order", json!({"item": "jam"})).await;
        let run = jobs::start(&harness.api, "countReceipts", Map::new(), Source::Api).await.unwrap();
        let mut status = Value::Null;
        for _ in 0..200 {
            status = harness.master("GET", &format!("classes/_JobStatus/{run}"), json!({})).await;
            if status["status"] != "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(status["status"], json!("succeeded"), "{status}");
        let tallies = harness.master("GET", "classes/Tally", json!({})).await;
        assert_eq!((&tallies["results"][0]["receipts"], &tallies["results"][0]["jobId"]), (&json!(1), &json!(run)), "{tallies}");
    }
}
