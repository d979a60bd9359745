//! The routes Parse Dashboard calls, over HTTP against the real binary, in the shapes the
//! dashboard sends (read from parse-dashboard 9.2.0's bundle), with bad input for each.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

const FIXTURE: &str = "dashboard";

/// Waits until `probe` answers Some, for at most 10 s.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut probe: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn messages(lines: &Value) -> Vec<String> {
    lines.as_array().unwrap_or_else(|| panic!("not an array: {lines}")).iter().map(|l| l["message"].as_str().unwrap().to_string()).collect()
}

fn assert_master_required((status, answer): (u16, Value)) {
    assert_eq!((status, answer["code"].as_i64()), (403, Some(119)), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_info_says_what_the_dashboard_may_use() {
    let server = Server::start(FIXTURE, &[]);
    let (status, info) = server.master("GET", "/serverInfo", None).await;
    assert_eq!(status, 200, "{info}");
    let version = info["parseServerVersion"].as_str().unwrap();
    let parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap_or_else(|_| panic!("not plain semver: {version}"))).collect();
    assert_eq!(parts.len(), 3, "{version}");
    assert!(parts[0] >= 7, "the dashboard supports Parse Server 7 and later: {version}");
    assert_eq!(info["cloudrtVersion"], json!(env!("CARGO_PKG_VERSION")));
    let features = &info["features"];
    assert_eq!(features["cloudCode"], json!({"jobs": true, "viewCode": true}));
    for crud in ["hooks", "globalConfig"] {
        assert_eq!(features[crud], json!({"create": true, "read": true, "update": true, "delete": true}), "{crud}");
    }
    assert!(features["logs"].as_object().unwrap().values().all(|v| v == &json!(true)), "{features}");
    assert!(features["push"].as_object().unwrap().values().all(|v| v == &json!(false)), "no push: {features}");
    assert_master_required(server.request("GET", "/serverInfo", None, &[]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_log_serves_cloud_code_output_newest_first_and_survives_a_restart() {
    let server = Server::start(FIXTURE, &["--log-retention", "6"]);
    assert_eq!(server.call("hello", json!({"name": "Ada"}), &[]).await.0, 200);
    assert_eq!(server.call("fails", json!({}), &[]).await.0, 400);
    let (status, lines) = server.master("GET", "/scriptlog?level=info&n=100", None).await;
    assert_eq!(status, 200, "{lines}");
    assert_eq!(
        messages(&lines),
        [
            "[function fails] failed: the function broke",
            "[function hello] hello ran",
            "[function hello] Hello, Ada!",
        ]
    );
    let first = &lines[0];
    assert_eq!(first["level"], "error");
    assert!(first["timestamp"].as_str().unwrap().ends_with('Z'), "{first}");
    let (_, errors) = server.master("GET", "/scriptlog?level=error&n=100", None).await;
    assert_eq!(messages(&errors), ["[function fails] failed: the function broke"]);
    let (_, one) = server.master("GET", "/scriptlog?level=info&n=1", None).await;
    assert_eq!(messages(&one).len(), 1);
    let (_, oldest) = server.master("GET", "/scriptlog?n=1&order=asc", None).await;
    assert_eq!(messages(&oldest), ["[function hello] Hello, Ada!"]);
    let (_, none_after) = server.master("GET", "/scriptlog?from=2999-01-01T00:00:00.000Z", None).await;
    assert_eq!(none_after, json!([]));
    let (_, none_before) = server.master("GET", "/scriptlog?startDate=0", None).await;
    assert_eq!(none_before, json!([]), "startDate pages back: nothing is older than 1970");

    // A job's end is logged, with its handler.
    let (status, _) = server.master("POST", "/jobs/report", Some(json!({"who": "Bob"}))).await;
    assert_eq!(status, 200);
    eventually("the job's lines", || async {
        let (_, lines) = server.master("GET", "/scriptlog", None).await;
        messages(&lines).contains(&"[job report] succeeded: Reported Bob".to_string()).then_some(())
    })
    .await;

    // Bounded by --log-retention, and kept across kill -9.
    for i in 0..5 {
        server.call("hello", json!({"name": format!("n{i}")}), &[]).await;
    }
    let (_, kept) = server.master("GET", "/scriptlog?n=100", None).await;
    assert_eq!(messages(&kept).len(), 6, "{kept}");
    let server = server.restart(FIXTURE, &["--log-retention", "6"]);
    let (_, after) = server.master("GET", "/scriptlog?n=100", None).await;
    assert_eq!(after, kept, "the same lines after a restart");

    for bad in ["/scriptlog?level=loud", "/scriptlog?n=-1", "/scriptlog?until=someday", "/scriptlog?order=sideways"] {
        let (status, answer) = server.master("GET", bad, None).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(102)), "{bad}: {answer}");
    }
    assert_master_required(server.request("GET", "/scriptlog", None, &[]).await);
}

#[test]
fn cloudrt_logs_prints_the_log_and_follows_it() {
    let server = Server::start(FIXTURE, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(server.call("hello", json!({"name": "Ada"}), &[]));
    let cli = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cloudrt"));
        command.arg("logs").args(args).args(["--server", &server.url, "--app-id", APP_ID, "--master-key", MASTER_KEY]);
        command
    };
    let printed = cli(&[]).output().unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let text = String::from_utf8_lossy(&printed.stdout);
    let hello = text.lines().position(|l| l.ends_with("[function hello] Hello, Ada!")).unwrap_or_else(|| panic!("{text}"));
    let ran = text.lines().position(|l| l.ends_with("[function hello] hello ran")).unwrap();
    assert!(hello < ran, "oldest first, as a terminal reads: {text}");

    let mut follow = cli(&["--follow", "-n", "1"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut stdout = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buffer = [0u8; 4096];
        while seen.matches("hello ran").count() < 2 {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
            }
        }
        seen
    });
    std::thread::sleep(Duration::from_millis(700));
    runtime.block_on(server.call("hello", json!({"name": "Grace"}), &[]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let seen = reader.join().unwrap();
    assert_eq!(seen.matches("hello ran").count(), 2, "the last old line once, the new one once: {seen}");
    assert!(seen.contains("Hello, Grace!"), "--follow printed the new lines, none twice: {seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloud_code_viewer_serves_the_loaded_files_and_nothing_else() {
    // A copy of the fixture with a symlink pointing out of the cloud directory.
    let project = std::env::temp_dir().join(format!("cloudrt-viewer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&project);
    let cloud = project.join("cloud");
    std::fs::create_dir_all(cloud.join("lib")).unwrap();
    let fixture = common::fixture(FIXTURE);
    for file in ["main.js", "lib/greeting.js"] {
        std::fs::copy(fixture.join(file), cloud.join(file)).unwrap();
    }
    std::fs::write(project.join("secret.txt"), "do not serve").unwrap();
    std::os::unix::fs::symlink(project.join("secret.txt"), cloud.join("leak.js")).unwrap();
    let server = Server::try_start(&cloud, &[]).expect("server starts");

    let (status, releases) = server.master("GET", "/releases/latest", None).await;
    assert_eq!(status, 200, "{releases}");
    let release = &releases[0];
    assert_eq!(release["version"], json!(1));
    assert!(release["timestamp"].as_str().unwrap().ends_with('Z'));
    let checksums: Value = serde_json::from_str(release["checksums"].as_str().unwrap()).unwrap();
    let user_files: Value = serde_json::from_str(release["userFiles"].as_str().unwrap()).unwrap();
    let names: Vec<&String> = checksums["cloud"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["lib/greeting.js", "main.js"], "the symlink out is not part of the release");
    assert!(user_files["cloud"]["main.js"].is_string());

    let main = std::fs::read_to_string(cloud.join("main.js")).unwrap();
    let checksum = checksums["cloud"]["main.js"].as_str().unwrap();
    let (status, source) = server.master("GET", &format!("/scripts/main.js?version=1&checksum={checksum}"), None).await;
    assert_eq!((status, source), (200, json!(main)));
    let (_, module) = server.master("GET", "/scripts/lib/greeting.js", None).await;
    assert_eq!(module, json!(std::fs::read_to_string(cloud.join("lib/greeting.js")).unwrap()));
    // As the JS SDK sends it: POST text/plain, `_method` GET, the query in the body.
    let body = json!({"_method": "GET", "_ApplicationId": APP_ID, "_MasterKey": MASTER_KEY, "version": "1", "checksum": checksum});
    let (status, source) = server.post("/scripts/main.js", body.to_string(), &[("Content-Type", "text/plain")], false).await;
    assert_eq!((status, source), (200, json!(main)));

    // The release is what was loaded: a later change on disk does not show until a reload.
    std::fs::write(cloud.join("main.js"), "// edited after start").unwrap();
    let (_, still) = server.master("GET", "/scripts/main.js", None).await;
    assert_eq!(still, json!(main));

    let (status, stale) = server.master("GET", "/scripts/main.js?checksum=0123", None).await;
    assert_eq!((status, stale["code"].as_i64()), (404, Some(101)), "{stale}");
    for missing in ["/scripts/leak.js", "/scripts/nope.js", "/scripts/lib"] {
        let (status, answer) = server.master("GET", missing, None).await;
        assert_eq!((status, answer["code"].as_i64()), (404, Some(101)), "{missing}: {answer}");
    }
    for outside in ["/scripts/..%2F..%2Fetc%2Fpasswd", "/scripts/%2Fetc%2Fpasswd", "/scripts//etc/passwd"] {
        let (status, answer) = server.master("GET", outside, None).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(119)), "{outside}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("inside the cloud directory"), "{answer}");
    }
    // The literal and encoded `..` forms, which HTTP clients normalise away before sending: raw HTTP.
    for outside in ["/parse/scripts/../../etc/passwd", "/parse/scripts/lib/%2E%2E/main.js", "/parse/scripts/lib/../main.js"] {
        let (status, answer) = raw_get(&server, outside);
        assert_eq!((status, answer["code"].as_i64()), (400, Some(119)), "{outside}: {answer}");
    }
    assert_master_required(server.request("GET", "/releases/latest", None, &[]).await);
    assert_master_required(server.request("GET", "/scripts/main.js", None, &[]).await);
    drop(server);
    let _ = std::fs::remove_dir_all(&project);
}

/// A GET sent byte for byte (path unnormalised), with the master key.
fn raw_get(server: &Server, path: &str) -> (u16, Value) {
    let address = server.url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nX-Parse-Application-Id: {APP_ID}\r\nX-Parse-Master-Key: {MASTER_KEY}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer}")))
}

/// The schedule the dashboard's form sends for "report, daily at 09:30 UTC, from tomorrow".
fn dashboard_schedule(job: &str, time_of_day: &str) -> Value {
    json!({"job_schedule": {
        "params": "{\"who\":\"Ada\"}",
        "daysOfWeek": [1, 1, 1, 1, 1, 1, 1],
        "description": "nightly report",
        "jobName": job,
        "startAfter": "2999-01-01T00:00:00.000Z",
        "timeOfDay": time_of_day,
        "repeatMinutes": 1440,
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_page_schedules_runs_now_and_reads_job_status() {
    let server = Server::start(FIXTURE, &[]);
    let (status, data) = server.master("GET", "/cloud_code/jobs/data", None).await;
    assert_eq!((status, data), (200, json!({"jobs": ["report"], "in_use": []})));

    let (status, created) = server.master("POST", "/cloud_code/jobs", Some(dashboard_schedule("report", "09:30:00.000Z"))).await;
    assert_eq!(status, 200, "{created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let (status, listed) = server.master("GET", "/cloud_code/jobs?per_page=50", None).await;
    assert_eq!(status, 200);
    let schedule = &listed[0];
    assert_eq!(
        (&schedule["jobName"], &schedule["params"], &schedule["timeOfDay"], &schedule["repeatMinutes"], &schedule["daysOfWeek"]),
        (&json!("report"), &json!("{\"who\":\"Ada\"}"), &json!("09:30:00.000Z"), &json!(1440), &json!([1, 1, 1, 1, 1, 1, 1]))
    );
    assert_eq!(server.master("GET", "/cloud_code/jobs/data", None).await.1["in_use"], json!(["report"]));

    // Edit, as the form sends it.
    let (status, _) = server.master("PUT", &format!("/cloud_code/jobs/{id}"), Some(dashboard_schedule("report", "10:00:00.000Z"))).await;
    assert_eq!(status, 200);
    assert_eq!(server.master("GET", "/cloud_code/jobs", None).await.1[0]["timeOfDay"], json!("10:00:00.000Z"));

    // Run now: the dashboard's body; the job gets the schedule's params (`input`).
    let run_now = json!({"description": "Executing from job schedule web console.", "input": {"who": "Ada"}, "jobName": "report", "when": 0});
    let response = server
        .client
        .post(format!("{}/jobs", server.url))
        .header("X-Parse-Application-Id", APP_ID)
        .header("X-Parse-Master-Key", MASTER_KEY)
        .body(run_now.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let run = response.headers()["x-parse-job-status-id"].to_str().unwrap().to_string();
    // Job Status: the dashboard's `_JobStatus` query, newest first.
    let newest = eventually("the run to succeed", || async {
        let (_, found) = server.master("GET", "/classes/_JobStatus?order=-createdAt", None).await;
        let newest = found["results"][0].clone();
        (newest["status"] == "succeeded").then_some(newest)
    })
    .await;
    assert_eq!(newest["objectId"], json!(run));
    assert_eq!((&newest["jobName"], &newest["message"]), (&json!("report"), &json!("Reported Ada")));
    assert_eq!(newest["params"], json!({"who": "Ada"}), "input unwrapped: {newest}");
    assert!(newest["createdAt"].is_string() && newest["finishedAt"]["iso"].is_string(), "{newest}");

    // Bad input: a job that is not deployed, a malformed time of day, a non-master caller.
    let (status, answer) = server.master("POST", "/cloud_code/jobs", Some(dashboard_schedule("gone", "09:30:00.000Z"))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("not deployed"), "{answer}");
    for bad_time in ["25:00:00.000Z", "9h30", "09:61:00.000Z", ""] {
        let (status, answer) = server.master("POST", "/cloud_code/jobs", Some(dashboard_schedule("report", bad_time))).await;
        assert_eq!(status, 400, "{bad_time}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("timeOfDay"), "{answer}");
    }
    let mut bad_days = dashboard_schedule("report", "09:30:00.000Z");
    bad_days["job_schedule"]["daysOfWeek"] = json!([1, 9]);
    assert_eq!(server.master("POST", "/cloud_code/jobs", Some(bad_days)).await.0, 400);
    assert_master_required(server.request("POST", "/cloud_code/jobs", Some(dashboard_schedule("report", "09:30:00.000Z")), &[]).await);
    assert_master_required(server.request("POST", "/jobs", Some(run_now), &[]).await);
    assert_eq!(server.master("GET", "/cloud_code/jobs", None).await.1.as_array().unwrap().len(), 1, "nothing bad was stored");

    let (status, _) = server.master("DELETE", &format!("/cloud_code/jobs/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(server.master("GET", "/cloud_code/jobs", None).await.1, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_interval_schedule_runs_on_cloudrts_clock() {
    // A schedule "minute" of 50 ms: "each day, every minute, after 00:00" runs at once and repeats.
    let server = Server::start(FIXTURE, &["--minute-seconds", "0.05"]);
    let mut schedule = dashboard_schedule("report", "00:00:00.000Z");
    schedule["job_schedule"]["repeatMinutes"] = json!(1);
    schedule["job_schedule"].as_object_mut().unwrap().remove("startAfter");
    let (status, created) = server.master("POST", "/cloud_code/jobs", Some(schedule)).await;
    assert_eq!(status, 200, "{created}");
    let runs = eventually("two scheduled runs", || async {
        let (_, found) = server.master("GET", "/classes/_JobStatus?where=%7B%22source%22%3A%22schedule%22%7D", None).await;
        let runs = found["results"].as_array().cloned().unwrap_or_default();
        (runs.iter().filter(|r| r["status"] == "succeeded").count() >= 2).then_some(runs)
    })
    .await;
    assert!(runs.iter().all(|r| r["params"] == json!({"who": "Ada"})), "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_page_lists_cloud_code_and_the_webhooks_that_override_it() {
    let server = Server::start(FIXTURE, &[]);
    let (status, functions) = server.master("GET", "/hooks/functions", None).await;
    assert_eq!((status, &functions), (200, &json!([{"functionName": "fails"}, {"functionName": "hello"}])), "cloud code, without a url");
    let (_, triggers) = server.master("GET", "/hooks/triggers", None).await;
    assert_eq!(triggers, json!([{"className": "Note", "triggerName": "beforeSave"}]));

    // Create as the dashboard does ({functionName, url} / {triggerName, className, url}).
    let url = "https://127.0.0.1:9/hook";
    let (status, created) = server.master("POST", "/hooks/functions", Some(json!({"functionName": "hello", "url": url}))).await;
    assert_eq!((status, created), (200, json!({"functionName": "hello", "url": url})));
    let (status, created) =
        server.master("POST", "/hooks/triggers", Some(json!({"triggerName": "beforeSave", "className": "Note", "url": url}))).await;
    assert_eq!((status, created), (200, json!({"className": "Note", "triggerName": "beforeSave", "url": url})));
    let (_, functions) = server.master("GET", "/hooks/functions", None).await;
    assert_eq!(
        functions,
        json!([{"functionName": "hello", "url": url}, {"functionName": "fails"}, {"functionName": "hello"}]),
        "the webhook and the cloud code it overrides"
    );

    // Edit, then delete (`PUT {__op: Delete}`), as the dashboard sends them.
    let edited = "https://127.0.0.1:9/edited";
    let (status, answer) = server.master("PUT", "/hooks/functions/hello", Some(json!({"url": edited}))).await;
    assert_eq!((status, answer), (200, json!({"functionName": "hello", "url": edited})));
    let (status, answer) = server.master("PUT", "/hooks/triggers/Note/beforeSave", Some(json!({"url": edited}))).await;
    assert_eq!((status, answer["url"].as_str()), (200, Some(edited)));
    for path in ["/hooks/functions/hello", "/hooks/triggers/Note/beforeSave"] {
        let (status, answer) = server.master("PUT", path, Some(json!({"__op": "Delete"}))).await;
        assert_eq!((status, answer), (200, json!({})), "{path}");
    }
    assert_eq!(server.master("GET", "/hooks/functions", None).await.1, json!([{"functionName": "fails"}, {"functionName": "hello"}]));
    assert_eq!(server.call("hello", json!({"name": "Ada"}), &[]).await.1, json!({"result": "Hello, Ada!"}), "cloud code answers again");

    // Bad input: no url, an unknown trigger, a non-master caller.
    let (status, answer) = server.master("POST", "/hooks/functions", Some(json!({"functionName": "hello"}))).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(143)), "{answer}");
    let (status, answer) = server.master("POST", "/hooks/triggers", Some(json!({"triggerName": "beforeFly", "className": "Note", "url": url}))).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(143)), "{answer}");
    assert_master_required(server.request("GET", "/hooks/functions", None, &[]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_hides_master_key_only_params_from_clients() {
    let server = Server::start(FIXTURE, &[]);
    // The dashboard's create: one param with its flag.
    for (name, value, master_only) in [("greeting", json!("hi"), false), ("secret", json!("s3cret"), true)] {
        let body = json!({"params": {name: value}, "masterKeyOnly": {name: master_only}});
        assert_eq!(server.master("PUT", "/config", Some(body)).await, (200, json!({"result": true})));
    }
    let (_, master) = server.master("GET", "/config", None).await;
    assert_eq!(master, json!({"params": {"greeting": "hi", "secret": "s3cret"}, "masterKeyOnly": {"greeting": false, "secret": true}}));
    let (status, client) = server.request("GET", "/config", None, &[]).await;
    assert_eq!((status, client), (200, json!({"params": {"greeting": "hi"}})));

    // The dashboard's delete: the param and its flag both as Delete ops.
    let delete = json!({"params": {"secret": {"__op": "Delete"}}, "masterKeyOnly": {"secret": {"__op": "Delete"}}});
    assert_eq!(server.master("PUT", "/config", Some(delete)).await.0, 200);
    let (_, master) = server.master("GET", "/config", None).await;
    assert_eq!(master, json!({"params": {"greeting": "hi"}, "masterKeyOnly": {"greeting": false}}));

    let (status, answer) = server.master("PUT", "/config", Some(json!({"params": "not an object"}))).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(107)));
    assert_master_required(server.request("PUT", "/config", Some(json!({"params": {"x": 1}})), &[]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_rules_preflight_and_a_wrong_master_key_beside_a_client_key() {
    let server = Server::start(FIXTURE, &["--client-key", "js-key"]);
    let response = server
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/serverInfo", server.url))
        .header("Origin", "http://localhost:4040")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let allowed = response.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for header in [
        "X-Parse-Master-Key", "X-Parse-REST-API-Key", "X-Parse-Javascript-Key", "X-Parse-Application-Id",
        "X-Parse-Client-Version", "X-Parse-Session-Token", "X-Requested-With", "X-Parse-Revocable-Session",
        "X-Parse-Request-Id", "Content-Type", "Pragma", "Cache-Control",
    ] {
        assert!(allowed.split(", ").any(|h| h == header.to_ascii_lowercase()), "{header} not in {allowed}");
    }
    assert_eq!(response.headers()["access-control-allow-origin"], "*");

    // A wrong master key next to the valid client key: a client's request, not a 403.
    let wrong = [("X-Parse-Master-Key", "stale"), ("X-Parse-Javascript-Key", "js-key")];
    let (status, answer) = server.call("hello", json!({"name": "Ada"}), &wrong).await;
    assert_eq!((status, answer), (200, json!({"result": "Hello, Ada!"})));
    assert_master_required(server.request("GET", "/serverInfo", None, &wrong).await);
    // Alone, or with a wrong client key, it is refused.
    let (status, answer) = server.call("hello", json!({}), &[("X-Parse-Master-Key", "stale")]).await;
    assert_eq!((status, answer), (403, json!({"error": "unauthorized"})));
    let (status, _) = server.call("hello", json!({}), &[("X-Parse-Master-Key", "stale"), ("X-Parse-Javascript-Key", "nope")]).await;
    assert_eq!(status, 403);
    // The right master key still counts.
    assert_eq!(server.master("GET", "/serverInfo", None).await.0, 200);
}
