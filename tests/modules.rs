//! `require` inside cloud code: the seed's example, the accepted forms, caching, cycles, and
//! every way of reaching outside the cloud directory.

mod common;

use common::Server;
use serde_json::json;

#[tokio::test]
async fn seed_example_and_accepted_forms() {
    let server = Server::start("modules", &[]);
    let (_, body) = server.call("seedExample", json!({}), &[]).await;
    assert_eq!(body["result"], json!({"fred": false, "skippy": true, "coolNames": "undefined", "sameModule": true}));
    let (_, body) = server.call("fromSubdir", json!({}), &[]).await;
    assert_eq!(body["result"], json!("chip is cool"));
    let (_, body) = server.call("json", json!({}), &[]).await;
    assert_eq!(body["result"], json!({"answer": 42}));
}

#[tokio::test]
async fn escapes_from_the_cloud_directory_throw() {
    let server = Server::start("modules", &[]);
    let secret = common::fixture("modules").parent().unwrap().join("secret.js");
    let secret = secret.to_str().unwrap();
    let outside = |name: &str| format!("Cannot load module '{name}': it resolves outside the cloud directory, and only modules in the cloud directory can be loaded");
    let cases = [
        ("../secret.js", outside("../secret.js")),
        ("../secret", outside("../secret")),
        ("cloud/../secret.js", outside("cloud/../secret.js")),
        ("./lib/../../secret.js", outside("./lib/../../secret.js")),
        ("./link-out.js", outside("./link-out.js")),
        ("../../../../../../etc/passwd", outside("../../../../../../etc/passwd")),
        (secret, format!("Cannot load module '{secret}': absolute paths are not allowed; use 'cloud/…' or a relative path")),
        ("/etc/passwd", "Cannot load module '/etc/passwd': absolute paths are not allowed; use 'cloud/…' or a relative path".to_string()),
        ("./missing", "Cannot find module './missing'".to_string()),
        ("cloud/missing.js", "Cannot find module 'cloud/missing.js'".to_string()),
        ("underscore", "Cannot find module 'underscore'".to_string()),
    ];
    for (path, message) in cases {
        let (status, body) = server.call("load", json!({"path": path}), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(body["result"], json!({"error": message, "isError": true}), "require({path:?})");
    }
}
