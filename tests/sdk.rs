//! Runs the official Parse JS SDK (npm `parse`, pinned in tests/sdk/package.json) against the
//! real server: `node --test <file>` in tests/sdk with the server's URL and keys in the
//! environment, one server per file. `make test` installs the SDK first; without it these tests
//! fail with a clear message.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, APP_ID, MASTER_KEY};

/// Starts `fixture` with `flags` and runs `node --test <file>` against it; fails on any failing
/// SDK test (tests marked `todo` are reported by node but do not fail the run).
fn run_sdk_tests(file: &str, fixture: &str, flags: &[&str]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    assert!(
        dir.join("node_modules/parse").is_dir(),
        "the Parse JS SDK is not installed: run `npm ci --prefix tests/sdk` (make test does it)"
    );
    let server = Server::start(fixture, flags);
    let output = Command::new("node")
        .args(["--test", file])
        .current_dir(&dir)
        .env("CLOUDRT_URL", &server.url)
        .env("CLOUDRT_APP_ID", APP_ID)
        .env("CLOUDRT_MASTER_KEY", MASTER_KEY)
        .output()
        .expect("run node (Node.js 20+ is needed for the SDK tests)");
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "SDK tests in {file} failed:\n{report}\nserver log:\n{}", server.log());
    assert!(report.contains("# fail 0"), "{report}");
    assert!(!report.contains("# pass 0\n"), "no SDK test ran in {file}:\n{report}");
}

#[test]
fn official_js_sdk_calls_functions() {
    run_sdk_tests("functions.test.mjs", "basics", &[]);
}

#[test]
fn official_js_sdk_objects_queries_users_and_triggers() {
    run_sdk_tests("data.test.mjs", "triggers", &["--allow-client-class-creation"]);
}

#[test]
fn official_js_sdk_saves_reads_and_deletes_files() {
    run_sdk_tests("files.test.mjs", "basics", &["--allow-client-class-creation"]);
}

#[test]
fn official_js_sdk_files_pass_the_file_triggers() {
    run_sdk_tests("file_triggers.test.mjs", "file_triggers", &[]);
}

#[test]
fn official_js_sdk_roles() {
    run_sdk_tests("roles.test.mjs", "roles", &[]);
}

#[test]
fn official_js_sdk_auth_data() {
    run_sdk_tests("auth_data.test.mjs", "auth_data", &[]);
}

#[test]
fn official_js_sdk_cloud_hooks() {
    run_sdk_tests("cloud_hooks.test.mjs", "cloud_hooks", &["--allow-client-class-creation"]);
}

#[test]
fn official_js_sdk_schemas_class_level_permissions_and_aggregates() {
    run_sdk_tests("schemas.test.mjs", "basics", &[]);
}
