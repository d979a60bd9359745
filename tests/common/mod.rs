//! The one harness every integration test uses: start the real `cloudrt` binary on port 0
//! with a fixture app, learn its URL from its start-up output, talk HTTP to it.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub const APP_ID: &str = "test-app";
pub const MASTER_KEY: &str = "test-master";

/// Path of `fixtures/<name>/cloud`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name).join("cloud")
}

/// Where test databases are created: the machine's PostgreSQL (trust auth).
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// The env var that runs every harness server on PostgreSQL (`CLOUDRT_TEST_BACKEND=postgres`),
/// each on a fresh database, so the same tests check both stores.
pub const BACKEND_VAR: &str = "CLOUDRT_TEST_BACKEND";

/// A fresh PostgreSQL database, dropped on drop (connections closed by force).
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let name = format!(
            "cloudrt_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
        );
        psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        TestDatabase { name }
    }

    pub fn uri(&self) -> String {
        format!("{POSTGRES}/{}", self.name)
    }

    /// Runs SQL on this database; answers psql's unaligned, tuples-only output.
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        psql("postgres", &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name));
    }
}

/// `psql -At -c sql` on `database`; panics with psql's message when it fails.
fn psql(database: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-d", database, "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether harness servers run on PostgreSQL (see [`BACKEND_VAR`]).
pub fn on_postgres() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|backend| backend == "postgres")
}

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    pub data_dir: PathBuf,
    /// The PostgreSQL database the server stores objects in, when it runs on PostgreSQL.
    pub database: Option<Arc<TestDatabase>>,
    pub url: String,
    /// Everything the server wrote to stderr (its log), for assertions on logging.
    pub log: Arc<Mutex<String>>,
    pub client: reqwest::Client,
}

/// What happened when the server was started and exited instead of listening.
#[derive(Debug)]
pub struct Exited {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Server {
    /// Starts `cloudrt serve <fixture> --port 0` with the test keys plus `extra` flags.
    pub fn start(fixture_name: &str, extra: &[&str]) -> Server {
        Server::try_start(&fixture(fixture_name), extra).unwrap_or_else(|e| panic!("server did not start: {e:?}"))
    }

    pub fn try_start(cloud_dir: &std::path::Path, extra: &[&str]) -> Result<Server, Exited> {
        let database = on_postgres().then(|| Arc::new(TestDatabase::create()));
        Server::try_start_on(cloud_dir, fresh_data_dir(), database, extra)
    }

    /// Starts a server with no database of the harness's, whatever [`BACKEND_VAR`] says: for
    /// tests that pass their own `--database-uri` (or none: sled).
    pub fn try_start_without_database(cloud_dir: &std::path::Path, extra: &[&str]) -> Result<Server, Exited> {
        Server::try_start_on(cloud_dir, fresh_data_dir(), None, extra)
    }

    /// Starts a server on PostgreSQL database `database`, whatever [`BACKEND_VAR`] says.
    pub fn start_on(fixture_name: &str, database: Arc<TestDatabase>, extra: &[&str]) -> Server {
        Server::try_start_on(&fixture(fixture_name), fresh_data_dir(), Some(database), extra)
            .unwrap_or_else(|e| panic!("server did not start: {e:?}"))
    }

    fn try_start_on(
        cloud_dir: &std::path::Path,
        data_dir: PathBuf,
        database: Option<Arc<TestDatabase>>,
        extra: &[&str],
    ) -> Result<Server, Exited> {
        Server::launch(cloud_dir, data_dir.clone(), database, extra).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&data_dir);
        })
    }

    /// Kills the server (as `kill -9` would) and starts a new one on the same data.
    pub fn restart(mut self, fixture_name: &str, extra: &[&str]) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let data_dir = std::mem::take(&mut self.data_dir);
        let database = self.database.take();
        Server::launch(&fixture(fixture_name), data_dir, database, extra).unwrap_or_else(|e| panic!("restart failed: {e:?}"))
    }

    /// Starts a server on `data_dir` (on PostgreSQL too when [`BACKEND_VAR`] says so).
    pub fn try_start_in(cloud_dir: &std::path::Path, data_dir: PathBuf, extra: &[&str]) -> Result<Server, Exited> {
        let database = on_postgres().then(|| Arc::new(TestDatabase::create()));
        Server::launch(cloud_dir, data_dir, database, extra)
    }

    // The child is waited for on every path: here when it exits early, else by `Server`'s Drop.
    #[allow(clippy::zombie_processes)]
    fn launch(
        cloud_dir: &std::path::Path,
        data_dir: PathBuf,
        database: Option<Arc<TestDatabase>>,
        extra: &[&str],
    ) -> Result<Server, Exited> {
        let database_flag: Vec<String> = match &database {
            Some(database) => vec!["--database-uri".into(), database.uri()],
            None => vec![],
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_cloudrt"))
            .arg("serve")
            .arg(cloud_dir)
            .args(["--port", "0", "--app-id", APP_ID, "--master-key", MASTER_KEY])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(&database_flag)
            .args(extra)
            .env_remove("CLOUDRT_CLIENT_KEY")
            .env_remove("CLOUDRT_DATABASE_URI")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cloudrt");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                let status = child.wait().expect("wait for cloudrt");
                std::thread::sleep(Duration::from_millis(50));
                return Err(Exited { code: status.code(), stdout: printed, stderr: log.lock().unwrap().clone() });
            }
            printed.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("cloudrt: listening on ") {
                let url = url.to_string();
                std::thread::spawn(move || for _ in stdout.lines() {});
                let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
                return Ok(Server { child, data_dir, database, url, log, client });
            }
        }
    }

    /// `POST {mount}/functions/<name>` with the app id, JSON params and extra headers.
    pub async fn call(&self, name: &str, params: Value, headers: &[(&str, &str)]) -> (u16, Value) {
        self.post(&format!("/functions/{name}"), params.to_string(), headers, true).await
    }

    /// POSTs `body` to `{url}{path}`; `with_app_id` adds `X-Parse-Application-Id`.
    pub async fn post(&self, path: &str, body: String, headers: &[(&str, &str)], with_app_id: bool) -> (u16, Value) {
        let mut request = self.client.post(format!("{}{path}", self.url)).body(body);
        if with_app_id {
            request = request.header("X-Parse-Application-Id", APP_ID);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        (status, json)
    }

    /// Any API call: `method` on `{url}{path}` with an optional JSON body and extra headers.
    pub async fn request(&self, method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.url)).header("X-Parse-Application-Id", APP_ID);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}")))
    }

    /// The same with the master key.
    pub async fn master(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.request(method, path, body, &[("X-Parse-Master-Key", MASTER_KEY)]).await
    }

    /// Signs a user up; answers (objectId, sessionToken).
    pub async fn sign_up(&self, username: &str, password: &str) -> (String, String) {
        let (status, body) = self
            .request("POST", "/users", Some(serde_json::json!({"username": username, "password": password})), &[])
            .await;
        assert_eq!(status, 201, "{body}");
        (body["objectId"].as_str().unwrap().to_string(), body["sessionToken"].as_str().unwrap().to_string())
    }

    /// The server's process id (for /proc/<pid>/status).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A memory figure of the server in KiB: `field` (`VmRSS`, `VmHWM`) of /proc/<pid>/status.
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in the server's /proc status"))
    }

    /// The server's resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.memory_kib("VmRSS")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The bytes of each file the server keeps, by name (uploads in progress included): on
    /// PostgreSQL in its database, otherwise in its data directory.
    pub fn stored_files(&self) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(self.data_dir.join("files"))
            .map(|dir| dir.flatten().map(|entry| (entry.file_name().to_string_lossy().into_owned(), entry.metadata().map_or(0, |m| m.len()))).collect())
            .unwrap_or_default();
        if let Some(database) = &self.database {
            if database.sql("SELECT to_regclass('\"_cloudrt_files\"') IS NOT NULL") == "t" {
                let rows = database.sql("SELECT \"name\" || '/' || sum(length(\"data\")) FROM \"_cloudrt_files\" GROUP BY \"name\"");
                files.extend(rows.lines().filter_map(|row| row.rsplit_once('/')).map(|(name, len)| (name.to_owned(), len.parse().unwrap())));
            }
        }
        files
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.data_dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

fn fresh_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "cloudrt-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ))
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `text` percent-encoded for a query string: letters, digits and `-_.` kept, every other byte
/// as `%XX` (what a browser's `encodeURIComponent` gives, minus its few extra safe marks).
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
