//! Runs the official Parse JS SDK (npm `parse`, pinned in tests/sdk/package.json) against the
//! real server: `node --test` in tests/sdk with the server's URL and keys in the environment.
//! `make test` installs the SDK first; without it this test fails with a clear message.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, APP_ID, MASTER_KEY};

#[test]
fn official_js_sdk_against_cloudrt() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    assert!(
        dir.join("node_modules/parse").is_dir(),
        "the Parse JS SDK is not installed: run `npm ci --prefix tests/sdk` (make test does it)"
    );
    let server = Server::start("basics", &[]);
    let output = Command::new("node")
        .arg("--test")
        .current_dir(&dir)
        .env("CLOUDRT_URL", &server.url)
        .env("CLOUDRT_APP_ID", APP_ID)
        .env("CLOUDRT_MASTER_KEY", MASTER_KEY)
        .output()
        .expect("run node (Node.js 20+ is needed for the SDK tests)");
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "SDK tests failed:\n{report}\nserver log:\n{}", server.log());
    assert!(report.contains("# fail 0"), "{report}");
}
