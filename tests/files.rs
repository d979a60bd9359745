//! Parse files through the real binary: `POST /files/:name` (raw and the SDK's base64 JSON),
//! `GET {mount}/files/:appId/:name` with ranges, `DELETE /files/:name` with the master key, the
//! limits and the bad inputs, each refused with a Parse error and nothing stored.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{fixture, Server, APP_ID, MASTER_KEY};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

/// POSTs raw `bytes` to `files/{name}` with the app id and `headers`.
async fn upload(server: &Server, name: &str, bytes: Vec<u8>, headers: &[(&str, &str)]) -> (u16, Value, HeaderMap) {
    let mut request = server.client.post(format!("{}/files/{name}", server.url)).header("X-Parse-Application-Id", APP_ID).body(bytes);
    for (header, value) in headers {
        request = request.header(*header, *value);
    }
    let response = request.send().await.expect("upload");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}")), headers)
}

/// An upload with the master key that must succeed; answers the stored name and URL.
async fn stored(server: &Server, name: &str, bytes: &[u8], content_type: &str) -> (String, String) {
    let (status, body, _) =
        upload(server, name, bytes.to_vec(), &[("X-Parse-Master-Key", MASTER_KEY), ("Content-Type", content_type)]).await;
    assert_eq!(status, 201, "{body}");
    (body["name"].as_str().unwrap().to_string(), body["url"].as_str().unwrap().to_string())
}

/// GETs `url` with no Parse headers at all, as a browser following a file URL does.
async fn download(url: &str, range: Option<&str>) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let response = request.send().await.expect("download");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

/// Files the server keeps (uploads in progress included).
fn stored_count(server: &Server) -> usize {
    server.stored_files().len()
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: i64) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
}

#[tokio::test]
async fn text_and_binary_files_round_trip_with_their_types() {
    let server = Server::start("basics", &[]);
    let (status, body, headers) =
        upload(&server, "hello.txt", b"hello, files".to_vec(), &[("X-Parse-Master-Key", MASTER_KEY), ("Content-Type", "text/plain")]).await;
    assert_eq!(status, 201, "{body}");
    let name = body["name"].as_str().unwrap();
    let (prefix, rest) = name.split_once('_').unwrap();
    assert_eq!(rest, "hello.txt");
    assert!(prefix.len() == 32 && prefix.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    let url = body["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/files/{APP_ID}/{name}", server.url));
    assert_eq!(header(&headers, "location"), url);
    let (status, headers, bytes) = download(url, None).await;
    assert_eq!((status, bytes.as_slice()), (200, b"hello, files".as_slice()));
    assert_eq!(header(&headers, "content-type"), "text/plain");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");

    // Every byte value, larger than one frame, with a type the server does not know: kept.
    let binary: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (_, url) = stored(&server, "blob.dat", &binary, "application/x-cloudrt-test").await;
    let (status, headers, bytes) = download(&url, None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/x-cloudrt-test");
    assert_eq!(header(&headers, "content-length"), "300000");
    assert!(bytes == binary, "binary bytes changed on the way");

    // The same name twice is two files; a logged-in user may upload; no type: from the name.
    let (first, _) = stored(&server, "same.txt", b"one", "text/plain").await;
    let (second, _) = stored(&server, "same.txt", b"two", "text/plain").await;
    assert_ne!(first, second);
    let (_, token) = server.sign_up("filer", "pw").await;
    let (status, body, _) = upload(&server, "photo.png", b"\x89PNG".to_vec(), &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 201, "{body}");
    let (_, headers, _) = download(body["url"].as_str().unwrap(), None).await;
    assert_eq!(header(&headers, "content-type"), "image/png");
}

#[tokio::test]
async fn ranges_are_served_as_206() {
    let server = Server::start("basics", &[]);
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
    let (_, url) = stored(&server, "range.bin", &data, "application/octet-stream").await;
    let (status, headers, bytes) = download(&url, Some("bytes=10-19")).await;
    assert_eq!((status, bytes.as_slice()), (206, &data[10..20]));
    assert_eq!(header(&headers, "content-range"), "bytes 10-19/1000");
    assert_eq!(header(&headers, "accept-ranges"), "bytes");
    let (status, _, bytes) = download(&url, Some("bytes=-5")).await;
    assert_eq!((status, bytes.as_slice()), (206, &data[995..]));
    let (status, _, bytes) = download(&url, Some("bytes=990-")).await;
    assert_eq!((status, bytes.as_slice()), (206, &data[990..]));
    let (status, headers, _) = download(&url, Some("bytes=5000-")).await;
    assert_eq!(status, 416);
    assert_eq!(header(&headers, "content-range"), "bytes */1000");
    let (status, _, bytes) = download(&url, Some("bytes=9-2")).await;
    assert_eq!((status, bytes.len()), (200, 1000), "a malformed range is the whole file");
}

#[tokio::test]
async fn bad_names_and_empty_bodies_store_nothing() {
    let server = Server::start("basics", &[]);
    let master = [("X-Parse-Master-Key", MASTER_KEY)];
    for name in ["a%2Fb.txt", "a/b.txt", ".hidden", "..%2F..%2Fsecret", "-dash", "semi%3Bcolon", "bad%zz"] {
        let (status, body, _) = upload(&server, name, b"x".to_vec(), &master).await;
        assert_error(status, &body, 400, 122);
        assert_eq!(body["error"], "Filename contains invalid characters.", "{name}");
    }
    let (status, body, _) = upload(&server, &"a".repeat(129), b"x".to_vec(), &master).await;
    assert_error(status, &body, 400, 122);
    assert_eq!(body["error"], "Filename too long.");
    let (status, body) = server.master("POST", "/files", Some(json!({}))).await;
    assert_error(status, &body, 400, 122);
    assert_eq!(body["error"], "Filename not provided.");
    let (status, body, _) = upload(&server, "empty.txt", Vec::new(), &master).await;
    assert_error(status, &body, 400, 130);
    assert_eq!(body["error"], "Invalid file upload.");
    let long_type = format!("text/{}", "x".repeat(300));
    let (status, body, _) = upload(&server, "x.txt", b"x".to_vec(), &[("X-Parse-Master-Key", MASTER_KEY), ("Content-Type", &long_type)]).await;
    assert_error(status, &body, 400, 130);
    assert_eq!(stored_count(&server), 0, "a refused upload left a file");
    // The server still serves.
    stored(&server, "fine.txt", b"ok", "text/plain").await;
}

#[tokio::test]
async fn uploads_past_max_file_size_are_413_and_leave_nothing() {
    let server = Server::start("basics", &["--max-file-size", "1000"]);
    let master = [("X-Parse-Master-Key", MASTER_KEY)];
    let (status, body, _) = upload(&server, "big.bin", vec![7; 1001], &master).await;
    assert_error(status, &body, 413, 130);

    // Chunked, so the size is only known as it arrives: cut off past the limit.
    let address = server.url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /parse/files/chunked.bin HTTP/1.1\r\nHost: {address}\r\nX-Parse-Application-Id: {APP_ID}\r\n\
         X-Parse-Master-Key: {MASTER_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    for _ in 0..3 {
        let _ = stream.write_all(format!("258\r\n{}\r\n", "z".repeat(600)).as_bytes());
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":130"#), "{answer}");

    // The SDK's base64 form past the limit.
    let body = json!({"base64": base64_of(&[1; 1200]), "_ApplicationId": APP_ID, "_MasterKey": MASTER_KEY});
    let (status, body) = server.post("/files/big.txt", body.to_string(), &[], false).await;
    assert_error(status, &body, 413, 130);
    assert_eq!(stored_count(&server), 0, "a refused upload left a file");
    let (status, body, _) = upload(&server, "small.bin", vec![7; 1000], &master).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn public_uploads_need_a_session_or_the_flag() {
    let server = Server::start("basics", &[]);
    let (status, body, _) = upload(&server, "anon.txt", b"x".to_vec(), &[]).await;
    assert_error(status, &body, 403, 130);
    assert_eq!(body["error"], "File upload by public is disabled.");
    let (status, body, _) = upload(&server, "anon.txt", b"x".to_vec(), &[("X-Parse-Session-Token", "r:nope")]).await;
    assert_error(status, &body, 400, 209);
    let (status, _, _) = upload(&server, "anon.txt", b"x".to_vec(), &[("X-Parse-Master-Key", "wrong")]).await;
    assert_eq!(status, 403);
    assert_eq!(stored_count(&server), 0);
    drop(server);
    let open = Server::start("basics", &["--file-upload-public"]);
    let (status, body, _) = upload(&open, "anon.txt", b"x".to_vec(), &[]).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn deleting_needs_the_master_key_and_fails_with_153() {
    let server = Server::start("basics", &[]);
    let (name, url) = stored(&server, "doomed.txt", b"bye", "text/plain").await;
    let (_, token) = server.sign_up("deleter", "pw").await;
    let (status, body) = server.request("DELETE", &format!("/files/{name}"), None, &[("X-Parse-Session-Token", &token)]).await;
    assert_error(status, &body, 403, 119);
    assert_eq!(body["error"], "unauthorized: master key is required");
    assert_eq!(download(&url, None).await.0, 200, "a refused delete removed the file");
    let (status, body) = server.master("DELETE", &format!("/files/{name}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(download(&url, None).await.0, 404);
    let (status, body) = server.master("DELETE", &format!("/files/{name}"), None).await;
    assert_error(status, &body, 400, 153);
    assert_eq!(body["error"], "Could not delete file.");
    let (status, body) = server.master("DELETE", "/files/..%2Fdata", None).await;
    assert_error(status, &body, 400, 153);
}

#[tokio::test]
async fn downloads_of_missing_files_or_other_apps_are_refused() {
    let server = Server::start("basics", &[]);
    let (name, _) = stored(&server, "here.txt", b"x", "text/plain").await;
    let (status, _, body) = download(&format!("{}/files/other-app/{name}", server.url), None).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_error(status, &body, 403, 119);
    for missing in ["nothere.txt", "..%2F..%2Fetc%2Fpasswd", ".upload-x", "a%00b"] {
        let (status, _, body) = download(&format!("{}/files/{APP_ID}/{missing}", server.url), None).await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_error(status, &body, 404, 101);
    }
}

#[tokio::test]
async fn files_survive_a_restart() {
    let server = Server::start("basics", &[]);
    let (name, _) = stored(&server, "kept.txt", b"still here", "text/plain").await;
    let server = server.restart("basics", &[]);
    let (status, headers, bytes) = download(&format!("{}/files/{APP_ID}/{name}", server.url), None).await;
    assert_eq!((status, bytes.as_slice()), (200, b"still here".as_slice()));
    assert_eq!(header(&headers, "content-type"), "text/plain");
}

#[tokio::test]
async fn the_sdk_base64_json_form_is_accepted() {
    let server = Server::start("basics", &["--public-server-url", "https://files.example.com/parse/"]);
    let body = json!({
        "base64": base64_of(b"from the sdk"),
        "fileData": {"metadata": {}, "tags": {}},
        "_ContentType": "text/plain",
        "_ApplicationId": APP_ID,
        "_MasterKey": MASTER_KEY,
    });
    let (status, answer) = server.post("/files/sdk.txt", body.to_string(), &[("Content-Type", "text/plain")], false).await;
    assert_eq!(status, 201, "{answer}");
    let name = answer["name"].as_str().unwrap();
    assert_eq!(answer["url"], format!("https://files.example.com/parse/files/{APP_ID}/{name}"));
    let (status, headers, bytes) = download(&format!("{}/files/{APP_ID}/{name}", server.url), None).await;
    assert_eq!((status, bytes.as_slice()), (200, b"from the sdk".as_slice()));
    assert_eq!(header(&headers, "content-type"), "text/plain");

    let bad = |fields: Value| {
        let mut body = json!({"_ApplicationId": APP_ID, "_MasterKey": MASTER_KEY});
        body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        body.to_string()
    };
    for fields in [json!({"base64": "!!not base64!!"}), json!({"base64": ""}), json!({"nothing": 1}), json!({"base64": 5}), json!({"base64": "eA==", "_ContentType": "text/plain\nX-Evil: 1"})] {
        let (status, body) = server.post("/files/bad.txt", bad(fields.clone()), &[], false).await;
        assert_error(status, &body, 400, 130);
    }
    let (status, _) = server.post("/files/x.txt", json!({"base64": "eA==", "_ApplicationId": "other"}).to_string(), &[], false).await;
    assert_eq!(status, 403);
    let (status, body) = server.post("/files/x.txt", "not json at all".to_string(), &[], false).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(stored_count(&server), 1, "a refused upload left a file");
}

#[test]
fn absurd_file_flags_stop_the_start() {
    for flags in [["--max-file-size", "0"], ["--public-server-url", "ftp://x"]] {
        let exited = Server::try_start(&fixture("basics"), &flags).err().unwrap_or_else(|| panic!("started with {flags:?}"));
        assert!(exited.stderr.contains(flags[0].trim_start_matches('-')), "{flags:?}: {}", exited.stderr);
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn raw_uploads_and_downloads_are_streamed_not_held_in_memory() {
    const SIZE: usize = 64 << 20;
    let server = Server::start("basics", &["--max-file-size", "100000000"]);
    stored(&server, "warm.txt", b"warm", "text/plain").await;
    let before = server.memory_kib("VmHWM");
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 253) as u8).collect();
    let (name, url) = stored(&server, "large.bin", &data, "application/octet-stream").await;
    let (status, _, bytes) = download(&url, None).await;
    assert_eq!((status, bytes.len()), (200, SIZE));
    assert!(bytes == data, "the large file changed on the way");
    let grown = server.memory_kib("VmHWM").saturating_sub(before);
    assert!(grown < 24 * 1024, "the server's peak memory grew by {grown} KiB for a 64 MiB file");
    let kept = server.stored_files().into_iter().find(|(stored, _)| *stored == name).map(|(_, len)| len);
    assert!(kept.is_some_and(|len| len >= SIZE as u64), "{kept:?}");
}
