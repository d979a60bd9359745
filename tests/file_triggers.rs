//! File triggers through the real binary (fixture `file_triggers`): beforeSave / afterSave /
//! beforeDelete / afterDelete of `Parse.File` on raw and JSON uploads over HTTP, on cloud
//! code's `Parse.File#save` / `destroy`, and on `DELETE /files/:name`; what each sees
//! (`request.file`, `fileSize`, `user`, `master`, `headers`), what beforeSave may change, and
//! refusals that store or delete nothing.

mod common;

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

/// POSTs raw `bytes` to `files/{name}` with the app id and `headers`.
async fn upload(server: &Server, name: &str, bytes: &[u8], headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = server
        .client
        .post(format!("{}/files/{name}", server.url))
        .header("X-Parse-Application-Id", APP_ID)
        .header("Content-Type", "text/plain")
        .body(bytes.to_vec());
    for (header, value) in headers {
        request = request.header(*header, *value);
    }
    let response = request.send().await.expect("upload");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}")))
}

async fn download(url: &str) -> (u16, Vec<u8>) {
    let response = reqwest::get(url).await.expect("download");
    (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
}

fn stored_count(server: &Server) -> usize {
    server.stored_files().len()
}

/// What the triggers logged, oldest first, as `trigger` → entries.
async fn logged(server: &Server, trigger: &str) -> Vec<Value> {
    let query = format!("/classes/FileLog?order=createdAt&where={}", urlencode(&json!({"trigger": trigger}).to_string()));
    let (status, body) = server.master("GET", &query, None).await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().unwrap().clone()
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_raw_upload_runs_both_save_triggers_with_the_caller() {
    let server = Server::start("file_triggers", &[]);
    let (_, token) = server.sign_up("ada", "secret-password").await;
    let (status, body) = upload(&server, "hello.txt", b"hello", &[("X-Parse-Session-Token", &token), ("X-Test", "raw")]).await;
    assert_eq!(status, 201, "{body}");
    let name = body["name"].as_str().unwrap();
    assert!(name.ends_with("_hello.txt"), "{name}");
    assert_eq!(download(body["url"].as_str().unwrap()).await, (200, b"hello".to_vec()));

    let before = logged(&server, "beforeSave").await;
    assert_eq!(before.len(), 1, "{before:?}");
    let seen = &before[0];
    assert_eq!((&seen["name"], &seen["url"], &seen["fileSize"]), (&json!("hello.txt"), &Value::Null, &json!(5)));
    assert_eq!((&seen["data"], &seen["master"], &seen["user"], &seen["header"]), (&json!("aGVsbG8="), &json!(false), &json!("ada"), &json!("raw")));
    let after = logged(&server, "afterSave").await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!((&after[0]["name"], &after[0]["url"], &after[0]["fileSize"]), (&json!(name), &body["url"], &json!(5)));
}

#[tokio::test]
async fn before_save_refusals_store_nothing() {
    let server = Server::start("file_triggers", &[]);
    let master = [("X-Parse-Master-Key", MASTER_KEY)];
    // A thrown string is Parse Server's FILE_SAVE_ERROR; a Parse.Error keeps its code.
    let (status, body) = upload(&server, "refuse.txt", b"x", &master).await;
    assert_eq!((status, &body), (400, &json!({"code": 130, "error": "files named refuse are refused"})));
    let (status, body) = upload(&server, "invalid.txt", b"x", &master).await;
    assert_eq!((status, &body), (400, &json!({"code": 142, "error": "not this one"})));
    // A file returned without data, or with a name Parse refuses.
    let (status, body) = upload(&server, "nodata.txt", b"x", &master).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(130)), "{body}");
    let (status, body) = upload(&server, "badname.txt", b"x", &master).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(122)), "{body}");
    assert_eq!(stored_count(&server), 0);
    assert!(logged(&server, "afterSave").await.is_empty());
    // The trigger never sees an upload that Parse's own rules refuse.
    let (status, body) = upload(&server, "empty.txt", b"", &master).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(130)), "{body}");
    assert_eq!(logged(&server, "beforeSave").await.len(), 4);
}

#[tokio::test]
async fn before_save_may_store_another_file_or_one_saved_elsewhere() {
    let server = Server::start("file_triggers", &[]);
    let master = [("X-Parse-Master-Key", MASTER_KEY)];
    let (status, body) = upload(&server, "rename-me.txt", b"old", &master).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["name"].as_str().unwrap().ends_with("_renamed.txt"), "{body}");
    assert_eq!(download(body["url"].as_str().unwrap()).await, (200, b"new".to_vec()));

    let (status, body) = upload(&server, "elsewhere.png", b"png", &master).await;
    assert_eq!((status, &body), (201, &json!({"name": "external.png", "url": "https://cdn.example.com/external.png"})));
    assert_eq!(stored_count(&server), 1, "only the renamed file is stored");
    let after = logged(&server, "afterSave").await;
    assert_eq!(after.len(), 2);
    assert_eq!((&after[1]["url"], &after[1]["fileSize"]), (&json!("https://cdn.example.com/external.png"), &Value::Null));
}

#[tokio::test]
async fn the_sdk_json_form_carries_metadata_and_tags_that_before_save_may_change() {
    let server = Server::start("file_triggers", &[]);
    let body = json!({
        "base64": "dGFnZ2Vk",
        "fileData": {"metadata": {"owner": "ada"}, "tags": {"kind": "note"}},
        "_ContentType": "text/plain",
        "_ApplicationId": APP_ID,
        "_MasterKey": MASTER_KEY,
    });
    let (status, answer) = server.post("/files/tagged.txt", body.to_string(), &[("Content-Type", "text/plain")], false).await;
    assert_eq!(status, 201, "{answer}");
    let before = logged(&server, "beforeSave").await;
    assert_eq!((&before[0]["metadata"], &before[0]["master"], &before[0]["fileSize"]), (&json!({"owner": "ada"}), &json!(true), &json!(6)));
    let after = logged(&server, "afterSave").await;
    assert_eq!(after[0]["metadata"], json!({"owner": "ada", "checked": true}));
    assert_eq!(after[0]["tags"], json!({"kind": "note", "by": "cloud"}));
    assert_eq!(download(answer["url"].as_str().unwrap()).await, (200, b"tagged".to_vec()));
}

#[tokio::test]
async fn an_after_save_error_is_answered_but_the_file_stays() {
    let server = Server::start("file_triggers", &[]);
    let (status, body) = upload(&server, "afterfail.txt", b"kept", &[("X-Parse-Master-Key", MASTER_KEY)]).await;
    assert_eq!((status, &body), (400, &json!({"code": 130, "error": "afterSave failed"})));
    assert_eq!(stored_count(&server), 1);
}

#[tokio::test]
async fn cloud_code_saves_and_destroys_through_the_triggers() {
    let server = Server::start("file_triggers", &[]);
    let (status, body) = server.call("saveFile", json!({"name": "cloud.txt", "base64": "Y2xvdWQ="}), &[]).await;
    assert_eq!(status, 200, "{body}");
    let saved = &body["result"];
    let before = logged(&server, "beforeSave").await;
    assert_eq!((&before[0]["name"], &before[0]["master"], &before[0]["metadata"]), (&json!("cloud.txt"), &json!(true), &json!({"from": "cloud"})));
    assert_eq!(logged(&server, "afterSave").await[0]["name"], saved["name"]);

    let (status, body) = server.call("destroyFile", saved.clone(), &[]).await;
    assert_eq!((status, &body["result"]), (200, &json!("deleted")), "{body}");
    assert_eq!(download(saved["url"].as_str().unwrap()).await.0, 404);
    for trigger in ["beforeDelete", "afterDelete"] {
        let seen = logged(&server, trigger).await;
        assert_eq!((seen.len(), &seen[0]["name"], &seen[0]["url"]), (1, &saved["name"], &saved["url"]), "{trigger}");
    }
}

#[tokio::test]
async fn before_delete_may_keep_a_file() {
    let server = Server::start("file_triggers", &[]);
    let master = [("X-Parse-Master-Key", MASTER_KEY)];
    let (_, body) = upload(&server, "keep.txt", b"stay", &master).await;
    let name = body["name"].as_str().unwrap();
    let (status, refused) = server.master("DELETE", &format!("/files/{name}"), None).await;
    assert_eq!((status, &refused), (400, &json!({"code": 153, "error": "this file stays"})));
    assert_eq!(download(body["url"].as_str().unwrap()).await, (200, b"stay".to_vec()));
    assert!(logged(&server, "afterDelete").await.is_empty());
    // Without the master key the triggers never run.
    let (status, _) = server.request("DELETE", &format!("/files/{name}"), None, &[]).await;
    assert_eq!(status, 403);
    assert_eq!(logged(&server, "beforeDelete").await.len(), 1);
}
