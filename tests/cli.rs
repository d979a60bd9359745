//! The operator commands (`cloudrt jobs …`, `cloudrt hooks …`) against a real server.

mod common;

use std::process::{Command, Output};

use common::{Server, APP_ID, MASTER_KEY};

fn cloudrt(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudrt"))
        .args(args)
        .env("CLOUDRT_SERVER_URL", &server.url)
        .env("CLOUDRT_APP_ID", APP_ID)
        .env("CLOUDRT_MASTER_KEY", MASTER_KEY)
        .output()
        .expect("run cloudrt")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn jobs_run_follows_the_job_and_exits_with_its_outcome() {
    let server = Server::start("jobs", &[]);
    let ok = cloudrt(&server, &["jobs", "run", "describe", "--params", r#"{"x":1}"#]);
    assert!(ok.status.success(), "{ok:?}");
    let out = stdout(&ok);
    assert!(out.contains("started: run ") && out.contains("succeeded"), "{out}");
    assert!(out.contains(r#""params":{"x":1}"#), "the final message is shown: {out}");
    let failed = cloudrt(&server, &["jobs", "run", "throws"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(stdout(&failed).contains("the job broke"), "{failed:?}");
    let unknown = cloudrt(&server, &["jobs", "run", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    let bad = cloudrt(&server, &["jobs", "run", "describe", "--params", "[1]"]);
    assert_eq!(bad.status.code(), Some(1));
    let status = cloudrt(&server, &["jobs", "status"]);
    let table = stdout(&status);
    assert!(table.contains("describe") && table.contains("succeeded") && table.contains("throws") && table.contains("failed"), "{table}");
}

#[test]
fn hooks_add_list_remove() {
    let server = Server::start("jobs", &[]);
    let added = cloudrt(&server, &["hooks", "add", "--function", "hello", "--url", "https://hooks.example/fn"]);
    assert!(added.status.success(), "{added:?}");
    let added = cloudrt(&server, &["hooks", "add", "--trigger", "Review.beforeSave", "--url", "https://hooks.example/t"]);
    assert!(added.status.success(), "{added:?}");
    let changed = cloudrt(&server, &["hooks", "add", "--function", "hello", "--url", "https://hooks.example/fn2"]);
    assert!(stdout(&changed).contains("changed"), "{changed:?}");
    let list = stdout(&cloudrt(&server, &["hooks", "list"]));
    assert!(list.contains("function hello -> https://hooks.example/fn2"), "{list}");
    assert!(list.contains("trigger Review.beforeSave -> https://hooks.example/t"), "{list}");
    let removed = cloudrt(&server, &["hooks", "remove", "--function", "hello"]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(!stdout(&cloudrt(&server, &["hooks", "list"])).contains("hello"));
    let refused = cloudrt(&server, &["hooks", "add", "--trigger", "_User.beforeSave", "--url", "https://hooks.example/u"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("143"), "{refused:?}");
}
