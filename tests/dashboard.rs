//! The official Parse Dashboard against cloudrt, in a real browser: the real binary on port 0,
//! the pinned `parse-dashboard` (tests/dashboard/package.json, installed by scripts/setup.sh)
//! served by node on a free port, and tests/dashboard/drive.mjs clicking through its pages in
//! Debian's headless Chromium with `playwright-core`.
//!
//! `CLOUDRT_DASHBOARD_SCREENSHOTS=docs/dashboard cargo test --release --test dashboard` also
//! saves a screenshot of each page (the README's).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::json;

const APP_NAME: &str = "cloudrt";

fn dashboard_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("dashboard")
}

/// parse-dashboard serving `server`'s app; killed on drop.
struct Dashboard {
    child: Child,
    url: String,
}

impl Dashboard {
    fn start(server: &Server) -> Dashboard {
        let bin = dashboard_dir().join("node_modules/parse-dashboard/bin/parse-dashboard");
        assert!(bin.exists(), "{} is missing: run scripts/setup.sh (it installs the pinned parse-dashboard)", bin.display());
        assert!(std::path::Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run scripts/setup.sh");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
        let mut child = Command::new("node")
            .arg(&bin)
            .args(["--appId", APP_ID, "--masterKey", MASTER_KEY, "--serverURL", &server.url, "--appName", APP_NAME])
            .args(["--host", "127.0.0.1", "--port", &port, "--allowInsecureHTTP", "true"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (Node.js 20 or later is required)");
        let stdout = child.stdout.take().unwrap();
        let (ready, waiting) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("The dashboard is now available") {
                    let _ = ready.send(());
                }
            }
        });
        let mut dashboard = Dashboard { child, url: format!("http://127.0.0.1:{port}") };
        if waiting.recv_timeout(Duration::from_secs(60)).is_err() {
            let exited = dashboard.child.try_wait().ok().flatten();
            panic!("parse-dashboard did not start within 60 s (exited: {exited:?})");
        }
        dashboard
    }

    /// Runs one part of drive.mjs against this dashboard; panics with its output on failure.
    fn drive(&self, server: &Server, part: &str) {
        let started = Instant::now();
        let mut command = Command::new("node");
        command
            .arg(dashboard_dir().join("drive.mjs"))
            .args([&self.url, APP_NAME, part])
            .env("CLOUDRT_URL", &server.url)
            .env("CLOUDRT_APP_ID", APP_ID);
        if let Ok(dir) = std::env::var("CLOUDRT_DASHBOARD_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).unwrap();
            command.arg(std::fs::canonicalize(&dir).unwrap());
        }
        let output = command.output().expect("run drive.mjs");
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        println!("{printed}drive.mjs {part}: {:.1} s", started.elapsed().as_secs_f64());
        assert!(output.status.success(), "the dashboard test failed:\n{printed}");
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server with one `Note` object, so the class pickers have a class to offer.
async fn server() -> Server {
    let server = Server::start("dashboard", &[]);
    let (status, answer) = server.master("POST", "/classes/Note", Some(json!({"text": "first"}))).await;
    assert_eq!(status, 201, "{answer}");
    server
}

/// Connect; webhooks (function and trigger: create, edit, delete); a schedule with params, listed,
/// Run now, the run succeeded in Job Status with its message, the schedule deleted; a
/// `console.log` line on the Logs page; the Cloud Code page's files; a Config parameter
/// created and deleted. Each step checks what the page then shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages() {
    let server = server().await;
    let dashboard = Dashboard::start(&server);
    dashboard.drive(&server, "pages");
    // What the UI did reached the server.
    let (_, runs) = server.master("GET", "/classes/_JobStatus?order=-createdAt", None).await;
    assert!(runs["results"].as_array().unwrap().iter().any(|r| r["message"] == "Reported Grace"), "{runs}");
    assert_eq!(server.master("GET", "/cloud_code/jobs", None).await.1, json!([]));
    assert_eq!(server.master("GET", "/config", None).await.1["params"], json!({}));
}

/// Add a row and a column in the data browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_data_browser() {
    let server = server().await;
    let dashboard = Dashboard::start(&server);
    dashboard.drive(&server, "browser");
    let (_, notes) = server.master("GET", "/classes/Note?count=1", None).await;
    assert_eq!(notes["count"], json!(2), "{notes}");
    let (_, schema) = server.master("GET", "/schemas/Note", None).await;
    assert_eq!(schema["fields"]["priority"]["type"], "String", "{schema}");
}
