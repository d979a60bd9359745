//! `/installations` over real HTTP with Parse Server's `_Installation` rules: one row per
//! device (a repeated installationId updates it), a device token moving to a new
//! installation, ids that never change, and listing or deleting for the master key only.

mod common;

use common::Server;
use serde_json::{json, Value};

async fn rows(server: &Server) -> Vec<Value> {
    let (status, body) = server.master("GET", "/installations", None).await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().unwrap().clone()
}

#[tokio::test]
async fn one_row_per_device() {
    let server = Server::start("basics", &[]);
    let body = json!({"installationId": "ABC-123", "deviceType": "ios", "channels": ["news"]});
    let (status, created) = server.request("POST", "/installations", Some(body), &[]).await;
    assert_eq!(status, 201, "{created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let all = rows(&server).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["installationId"], json!("abc-123"), "installation ids are lower-cased");

    // The same device again: its row is updated, not doubled.
    let (status, again) = server.request("POST", "/installations", Some(json!({"installationId": "abc-123", "deviceType": "ios", "badge": 3})), &[]).await;
    assert_eq!((status, again["objectId"].clone()), (200, json!(id)), "{again}");
    let all = rows(&server).await;
    assert_eq!((all.len(), all[0]["badge"].clone(), all[0]["channels"].clone()), (1, json!(3), json!(["news"])));

    // The installation id can come from the header, as the SDKs send it.
    let (status, created) = server.request("POST", "/classes/_Installation", Some(json!({"deviceType": "android"})), &[("X-Parse-Installation-Id", "header-1")]).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(rows(&server).await.len(), 2);

    // A device token moves: the old installation holding it loses its row.
    let token = "a".repeat(64);
    let (status, _) = server.request("PUT", &format!("/installations/{id}"), Some(json!({"deviceToken": token.to_uppercase()})), &[]).await;
    assert_eq!(status, 200);
    let (status, _) = server.request("POST", "/installations", Some(json!({"installationId": "new-phone", "deviceType": "ios", "deviceToken": token})), &[]).await;
    assert_eq!(status, 201);
    let all = rows(&server).await;
    let holders: Vec<&Value> = all.iter().filter(|row| row["deviceToken"] == json!(token)).collect();
    assert_eq!(holders.len(), 1, "{all:?}");
    assert_eq!(holders[0]["installationId"], json!("new-phone"));
    assert!(all.iter().all(|row| row["installationId"] != json!("abc-123")), "{all:?}");
}

#[tokio::test]
async fn bad_installations_are_refused_with_nothing_stored() {
    let server = Server::start("basics", &[]);
    let (_, created) = server.request("POST", "/installations", Some(json!({"installationId": "dev-1", "deviceType": "ios"})), &[]).await;
    let id = created["objectId"].as_str().unwrap().to_string();
    let cases = [
        ("POST", "/installations".to_string(), json!({"deviceType": "ios"}), 135),
        ("POST", "/installations".to_string(), json!({"installationId": "dev-2"}), 135),
        ("POST", "/installations".to_string(), json!({"installationId": 5, "deviceType": "ios"}), 111),
        ("PUT", format!("/installations/{id}"), json!({"installationId": "other"}), 136),
        ("PUT", format!("/installations/{id}"), json!({"deviceType": "android"}), 136),
        ("PUT", "/installations/missing".to_string(), json!({"installationId": "dev-1"}), 101),
    ];
    for (method, path, body, code) in cases {
        let (status, refused) = server.request(method, &path, Some(body.clone()), &[]).await;
        assert_eq!(refused["code"], json!(code), "{method} {path} {body}: {status} {refused}");
    }
    let all = rows(&server).await;
    assert_eq!((all.len(), all[0]["installationId"].clone(), all[0]["deviceType"].clone()), (1, json!("dev-1"), json!("ios")));

    for (method, path) in [("GET", "/installations".to_string()), ("GET", "/classes/_Installation".to_string()), ("DELETE", format!("/installations/{id}"))] {
        let (status, refused) = server.request(method, &path, None, &[]).await;
        assert_eq!((status, refused["code"].clone()), (400, json!(119)), "{method} {path}: {refused}");
    }
    let (status, one) = server.request("GET", &format!("/installations/{id}"), None, &[]).await;
    assert_eq!((status, one["installationId"].clone()), (200, json!("dev-1")), "a client may read one by id: {one}");
    let (status, _) = server.master("DELETE", &format!("/installations/{id}"), None).await;
    assert_eq!(status, 200);
    assert!(rows(&server).await.is_empty());
}
