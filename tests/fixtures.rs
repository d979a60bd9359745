//! The fixture apps driven by a table, as Supabase edge-runtime drives its fixture folders:
//! one row per behaviour (the fixture folder, its flags, the request(s) and what each must
//! answer). A behaviour that is one request and its answer belongs here; one that needs set-up
//! between requests, a clock or the server's log stays in its own test file.

mod common;

use std::collections::BTreeMap;

use common::Server;
use serde_json::{json, Value};

/// Who sends a step's request.
#[derive(Clone, Copy)]
enum Key {
    /// The app id only, as a client.
    Client,
    Master,
}

/// What an answer must be.
enum Expect {
    /// This status, whatever the body.
    Status(u16),
    /// This status and the Parse error `code`.
    Code(u16, i64),
    /// This status and an error whose message contains the text.
    Message(u16, &'static str),
    /// This status, the Parse error `code`, and a message containing the text.
    Error(u16, i64, &'static str),
    /// The value at this JSON pointer, whatever the status.
    Field(&'static str, Value),
    /// Status 200 and a function result (a string) containing the text.
    ResultContains(&'static str),
}

impl Expect {
    fn check(&self, status: u16, body: &Value) -> Result<(), String> {
        let message = body["error"].as_str().unwrap_or_default();
        let ok = match self {
            Expect::Status(want) => status == *want,
            Expect::Code(want, code) => status == *want && body["code"] == json!(code),
            Expect::Message(want, text) => status == *want && message.contains(text),
            Expect::Error(want, code, text) => status == *want && body["code"] == json!(code) && message.contains(text),
            Expect::Field(pointer, value) => body.pointer(pointer) == Some(value),
            Expect::ResultContains(text) => status == 200 && body["result"].as_str().is_some_and(|r| r.contains(text)),
        };
        let wanted = match self {
            Expect::Status(want) => format!("status {want}"),
            Expect::Code(want, code) => format!("status {want}, code {code}"),
            Expect::Message(want, text) => format!("status {want}, an error containing {text:?}"),
            Expect::Error(want, code, text) => format!("status {want}, code {code}, an error containing {text:?}"),
            Expect::Field(pointer, value) => format!("{pointer} = {value}"),
            Expect::ResultContains(text) => format!("status 200, a result containing {text:?}"),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("wanted {wanted}; got {status} {body}"))
        }
    }
}

/// One request of a row and what it must answer.
struct Step {
    key: Key,
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    expect: Expect,
}

fn step(key: Key, method: &'static str, path: &'static str, body: Option<Value>, expect: Expect) -> Step {
    Step { key, method, path, body, expect }
}

/// A call of cloud function `path` (`/functions/<name>`) by a client.
fn call(path: &'static str, params: Value, expect: Expect) -> Step {
    step(Key::Client, "POST", path, Some(params), expect)
}

/// One behaviour of one fixture app.
struct Row {
    behaviour: &'static str,
    fixture: &'static str,
    flags: &'static [&'static str],
    steps: Vec<Step>,
}

fn rows() -> Vec<Row> {
    use Expect::*;
    use Key::*;
    vec![
        Row {
            behaviour: "a body over --max-body is refused with 413, and smaller ones still pass",
            fixture: "basics",
            flags: &["--max-body", "1000"],
            steps: vec![
                call("/functions/echo", json!({"blob": "x".repeat(2000)}), Code(413, 155)),
                call("/functions/echo", json!({"small": 1}), Status(200)),
            ],
        },
        Row {
            behaviour: "without a mailer the e-mail routes say which flag is missing",
            fixture: "basics",
            flags: &[],
            steps: ["/requestPasswordReset", "/verificationEmailRequest"]
                .into_iter()
                .map(|route| step(Client, "POST", route, Some(json!({"email": "a@example.com"})), Error(400, 1, "--email-webhook")))
                .collect(),
        },
        Row {
            behaviour: "a find trigger on Parse.File is refused at registration",
            fixture: "file_triggers",
            flags: &[],
            steps: vec![call("/functions/findTriggerOnFile", json!({}), ResultContains("cannot be set for Parse.File"))],
        },
        Row {
            behaviour: "a module runs once however often it is required",
            fixture: "modules",
            flags: &["--workers", "1"],
            steps: vec![call("/functions/cached", json!({}), Field("/result", json!([1, 1, 1])))],
        },
        Row {
            behaviour: "a require cycle gives the partial exports",
            fixture: "modules",
            flags: &["--workers", "1"],
            steps: vec![call("/functions/cycle", json!({}), Field("/result", json!({"a": "a", "bSawA": "a-partial", "bSawPartialA": true})))],
        },
        Row {
            behaviour: "a trigger past its deadline gets 124 and nothing is written",
            fixture: "triggers",
            flags: &["--trigger-timeout", "0.5"],
            steps: vec![
                step(Master, "POST", "/classes/Slow", Some(json!({"a": 1})), Code(400, 124)),
                step(Master, "GET", "/classes/Slow?count=1", None, Field("/count", json!(0))),
            ],
        },
        Row {
            behaviour: "a trigger saving its own class ends with an error, and the one worker still serves",
            fixture: "triggers",
            flags: &["--workers", "1", "--allow-client-class-creation"],
            steps: vec![call("/functions/saveLoop", json!({}), Message(400, "nested")), call("/functions/whoAmI", json!({}), Status(200))],
        },
    ]
}

#[tokio::test]
async fn every_row_answers_as_its_behaviour_says() {
    // Rows of one fixture and flags share a server, in table order.
    let mut servers: BTreeMap<(&str, Vec<&str>), Vec<Row>> = BTreeMap::new();
    for row in rows() {
        servers.entry((row.fixture, row.flags.to_vec())).or_default().push(row);
    }
    let mut failures = Vec::new();
    for ((fixture, flags), rows) in servers {
        let server = Server::start(fixture, &flags);
        for row in rows {
            for (n, step) in row.steps.iter().enumerate() {
                let (status, body) = match step.key {
                    Key::Client => server.request(step.method, step.path, step.body.clone(), &[]).await,
                    Key::Master => server.master(step.method, step.path, step.body.clone()).await,
                };
                if let Err(why) = step.expect.check(status, &body) {
                    failures.push(format!("{fixture} {flags:?}: {} (step {}: {} {}): {why}", row.behaviour, n + 1, step.method, step.path));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `.rs` file under `dir`, read into `into`.
fn read_sources(dir: &std::path::Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.ends_with("node_modules") {
            read_sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
}

/// Every folder under fixtures/ is started by some test (a row here, a test file naming it, or
/// the in-process harness's unit tests in src/); a folder nothing starts is dead weight that
/// looks like coverage.
#[test]
fn every_fixture_folder_is_used_by_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = String::new();
    read_sources(&root.join("tests"), &mut sources);
    read_sources(&root.join("src"), &mut sources);
    let unused: Vec<String> = std::fs::read_dir(root.join("fixtures"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !sources.contains(&format!("\"{name}\"")))
        .collect();
    assert!(unused.is_empty(), "fixture folders no test starts: {unused:?}");
}
