//! `Parse.File` in cloud code through the real binary (fixture `cloud_files`): saving bytes,
//! base64 and a URL, reading them back through a fetched object, deleting, the caller's upload
//! rights, and the bad inputs, each a Parse error with nothing stored.

mod common;

use common::{Server, APP_ID};
use serde_json::{json, Value};

/// Files the server keeps.
fn stored_count(server: &Server) -> usize {
    server.stored_files().len()
}

async fn download(url: &str) -> (u16, String, Vec<u8>) {
    let response = reqwest::get(url).await.expect("download");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, content_type, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn cloud_code_saves_files_that_http_serves() {
    let server = Server::start("cloud_files", &[]);
    let (status, body) = server.call("saveBytes", json!({}), &[]).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    let name = result["name"].as_str().unwrap();
    assert!(name.ends_with("_hello.txt") && name.len() > "_hello.txt".len(), "{name}");
    assert_eq!(result["data"], "aGVsbG8=");
    let url = result["url"].as_str().unwrap();
    assert!(url.ends_with(&format!("/files/{APP_ID}/{name}")), "{url}");
    let (status, content_type, bytes) = download(url).await;
    assert_eq!((status, content_type.as_str(), bytes.as_slice()), (200, "text/plain", b"hello".as_slice()));
}

#[tokio::test]
async fn a_fetched_object_reads_its_file_from_the_server() {
    let server = Server::start("cloud_files", &[]);
    let params = json!({"name": "photo", "base64": "iVBORw0KGgo=", "type": "image/png"});
    let (status, body) = server.call("roundTrip", params, &[]).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["isFile"], true);
    assert_eq!(result["data"], "iVBORw0KGgo=");
    assert!(result["name"].as_str().unwrap().ends_with("_photo.png"), "{result}");
    let (status, content_type, bytes) = download(result["url"].as_str().unwrap()).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert_eq!(bytes, [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n']);

    let (status, body) = server.call("readUrl", json!({"url": result["url"]}), &[]).await;
    assert_eq!((status, &body["result"]), (200, &json!("iVBORw0KGgo=")), "{body}");
}

#[tokio::test]
async fn destroy_deletes_the_stored_file() {
    let server = Server::start("cloud_files", &[]);
    let (_, body) = server.call("saveBytes", json!({}), &[]).await;
    let (name, url) = (body["result"]["name"].clone(), body["result"]["url"].clone());
    let (status, body) = server.call("destroy", json!({"name": name, "url": url}), &[]).await;
    assert_eq!((status, &body["result"]), (200, &json!("deleted")), "{body}");
    assert_eq!(download(url.as_str().unwrap()).await.0, 404);
    assert_eq!(stored_count(&server), 0);
    // Twice: the file is gone, Parse's 153.
    let (status, body) = server.call("destroy", json!({"name": name, "url": url}), &[]).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(153)), "{body}");
}

#[tokio::test]
async fn uploads_from_cloud_code_follow_the_callers_rights() {
    let server = Server::start("cloud_files", &[]);
    let (status, body) = server.call("saveAsCaller", json!({}), &[]).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(130)), "{body}");
    assert_eq!(stored_count(&server), 0);
    let (_, token) = server.sign_up("ada", "secret-password").await;
    let (status, body) = server.call("saveAsCaller", json!({}), &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"].as_str().unwrap().ends_with("_mine.txt"), "{body}");

    let server = Server::start("cloud_files", &["--file-upload-public"]);
    let (status, body) = server.call("saveAsCaller", json!({}), &[]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bad_files_in_cloud_code_are_parse_errors_and_store_nothing() {
    let server = Server::start("cloud_files", &[]);
    let cases: &[(&str, Value, u16, i64)] = &[
        ("saveNothing", json!({}), 400, 130),
        ("saveBadName", json!({}), 400, 122),
        ("roundTrip", json!({"name": "x.txt", "base64": "!!"}), 400, 130),
        ("roundTrip", json!({"name": "x.txt", "base64": ""}), 400, 130),
        ("unsavedData", json!({}), 400, 141),
        ("destroyUnnamed", json!({}), 400, 161),
        ("readUrl", json!({"url": format!("{}/files/other-app/x.txt", server.url)}), 400, 119),
        ("readUrl", json!({"url": format!("{}/files/{APP_ID}/..%2F..%2Fetc%2Fpasswd", server.url)}), 404, 101),
    ];
    for (function, params, status, code) in cases {
        let (got_status, body) = server.call(function, params.clone(), &[]).await;
        assert_eq!((got_status, body["code"].as_i64()), (*status, Some(*code)), "{function} {params}: {body}");
    }
    assert_eq!(stored_count(&server), 0);
}

#[tokio::test]
async fn files_are_not_reachable_through_a_batch() {
    let server = Server::start("cloud_files", &[]);
    let (_, body) = server.call("saveBytes", json!({}), &[]).await;
    let name = body["result"]["name"].as_str().unwrap().to_string();
    let requests = json!({"requests": [
        {"method": "GET", "path": format!("/parse/files/{APP_ID}/{name}")},
        {"method": "POST", "path": "/parse/files/x.txt", "body": {"base64": "eA=="}},
    ]});
    let (status, answer) = server.master("POST", "/batch", Some(requests)).await;
    assert_eq!(status, 200, "{answer}");
    for one in answer.as_array().unwrap() {
        assert_eq!(one["error"]["code"], 107, "{answer}");
    }
    assert_eq!(stored_count(&server), 1, "the batch stored a file");
}
