//! Hot reload (`--watch`, SIGHUP): the next call runs the new code, a call in flight finishes
//! on the old, and code that does not load leaves the old serving with its error logged.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{fixture, Server};
use serde_json::{json, Value};

/// A copy of the hot_reload fixture that the test may rewrite; removed on drop.
struct Project(PathBuf);

impl Project {
    fn new() -> Project {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("cloudrt-reload-{}-{n}", std::process::id()));
        copy_dir(&fixture("hot_reload"), &root.join("cloud"));
        Project(root)
    }

    fn cloud(&self) -> PathBuf {
        self.0.join("cloud").canonicalize().unwrap()
    }

    fn write(&self, file: &str, source: &str) {
        std::fs::write(self.0.join("cloud").join(file), source).unwrap();
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn start(project: &Project, extra: &[&str]) -> Arc<Server> {
    Arc::new(Server::try_start(&project.cloud(), extra).unwrap_or_else(|e| panic!("server did not start: {e:?}")))
}

/// Waits (up to 20 s) until the server's log has `count` lines containing `text`.
async fn log_lines(server: &Server, text: &str, count: usize) -> String {
    let started = Instant::now();
    loop {
        let log = server.log();
        if log.matches(text).count() >= count {
            return log;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no {count}× {text:?} in the log:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn result(server: &Server, name: &str) -> Value {
    let (status, body) = server.call(name, json!({}), &[]).await;
    assert_eq!(status, 200, "{name}: {body}");
    body["result"].clone()
}

fn hang_up(server: &Server) {
    // SAFETY: kill(2) on the child's pid with a valid signal number has no memory effects.
    let sent = unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGHUP) };
    assert_eq!(sent, 0, "kill -HUP");
}

const V2: &str = "\
const greeting = require('./lib/greeting');
Parse.Cloud.define('version', () => 'v2');
Parse.Cloud.define('greet', () => greeting.text);
Parse.Cloud.define('onlyInV2', () => 'new');
Parse.Cloud.job('cleanup', () => 'cleaned');
";

#[tokio::test]
async fn with_watch_a_changed_file_is_served_by_the_next_call() {
    let project = Project::new();
    let server = start(&project, &["--watch"]);
    assert_eq!(result(&server, "version").await, json!("v1"));
    let (status, _) = server.master("POST", "/jobs/cleanup", Some(json!({}))).await;
    assert_eq!(status, 400, "no such job before the reload");

    project.write("main.js", V2);
    log_lines(&server, "cloud code reloaded", 1).await;
    assert_eq!(result(&server, "version").await, json!("v2"));
    assert_eq!(result(&server, "onlyInV2").await, json!("new"));
    let (status, body) = server.call("onlyInV1", json!({}), &[]).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(141)), "a function the new code dropped is gone: {body}");
    // The job workers reloaded too: the new job runs, and the registry lists it.
    let (status, body) = server.master("POST", "/jobs/cleanup", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let (_, data) = server.master("GET", "/cloud_code/jobs/data", None).await;
    assert_eq!(data["jobs"], json!(["cleanup"]));

    // A module main.js requires is read again too.
    project.write("lib/greeting.js", "module.exports = { text: 'bonjour' };");
    log_lines(&server, "cloud code reloaded", 2).await;
    assert_eq!(result(&server, "greet").await, json!("bonjour"));
}

#[tokio::test]
async fn code_that_does_not_load_keeps_the_old_serving_and_the_error_is_logged() {
    let project = Project::new();
    let server = start(&project, &["--watch"]);
    project.write("main.js", "Parse.Cloud.define('version', () => 'broken');\n\nconst = 1;\n");
    let log = log_lines(&server, "cloud code not reloaded", 1).await;
    assert!(log.contains("main.js:3"), "file and line of the syntax error:\n{log}");
    assert!(log.contains("SyntaxError"), "{log}");
    assert_eq!(result(&server, "version").await, json!("v1"));
    assert_eq!(result(&server, "onlyInV1").await, json!("here"));

    // A main.js that throws at top level after registering: none of it is kept.
    project.write("main.js", "Parse.Cloud.define('version', () => 'half');\nParse.Cloud.define('extra', () => 1);\nthrow new Error('refusing to load');\n");
    let log = log_lines(&server, "cloud code not reloaded", 2).await;
    assert!(log.contains("refusing to load") && log.contains("main.js:3"), "{log}");
    assert_eq!(result(&server, "version").await, json!("v1"));
    let (status, body) = server.call("extra", json!({}), &[]).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(141)), "{body}");

    // main.js gone (an editor saving by delete-and-rename, a checkout half done): kept too.
    std::fs::remove_file(project.0.join("cloud/main.js")).unwrap();
    let log = log_lines(&server, "cloud code not reloaded", 3).await;
    assert!(log.contains("Cannot read module"), "{log}");
    assert_eq!(result(&server, "version").await, json!("v1"));

    // Fixed: the next load is taken.
    project.write("main.js", V2);
    log_lines(&server, "cloud code reloaded", 1).await;
    assert_eq!(result(&server, "version").await, json!("v2"));
}

#[tokio::test]
async fn sighup_reloads_without_watch() {
    let project = Project::new();
    let server = start(&project, &["--workers", "2"]);
    project.write("main.js", V2);
    // Without --watch a change alone reloads nothing (the watcher would have seen it by now).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(result(&server, "version").await, json!("v1"));
    hang_up(&server);
    log_lines(&server, "cloud code reloaded (SIGHUP): release 2", 1).await;
    // Every worker switched: several calls, whichever worker takes them.
    for _ in 0..8 {
        assert_eq!(result(&server, "version").await, json!("v2"));
    }
    // SIGHUP again on the same code is one more release, and the server is still up.
    hang_up(&server);
    log_lines(&server, "release 3", 1).await;
    assert_eq!(result(&server, "version").await, json!("v2"));
}

#[tokio::test]
async fn a_call_in_flight_during_a_reload_finishes_on_the_old_code() {
    let project = Project::new();
    let server = start(&project, &["--workers", "1"]);
    let slow = {
        let server = server.clone();
        tokio::spawn(async move { server.call("slow", json!({"ms": 1500}), &[]).await })
    };
    log_lines(&server, "slow call started", 1).await;
    project.write("lib/greeting.js", "module.exports = { text: 'changed' };");
    project.write("main.js", &V2.replace("'v2'", "'v2 in flight'"));
    hang_up(&server);
    log_lines(&server, "cloud code reloaded", 1).await;
    assert_eq!(result(&server, "version").await, json!("v2 in flight"), "the next call runs the new code");
    assert_eq!(result(&server, "greet").await, json!("changed"));
    let (status, body) = slow.await.unwrap();
    assert_eq!((status, body), (200, json!({"result": "v1 hello"})), "the call in flight kept its code and modules");
}
