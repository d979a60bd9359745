//! Save and delete triggers over REST and from cloud code, through the one data pipeline,
//! and Parse.Object / Parse.Query / Parse.User used inside cloud code.

mod common;

use common::Server;
use serde_json::{json, Value};

const LONG: &str = "A very long comment that will be truncated to be just 140 characters. I sure love using Parse, it's just so easy to get started :)! Hopefully that part doesn't get truncated :/";

async fn audit_logs(server: &Server) -> Vec<Value> {
    let (_, answer) = server.master("GET", "/classes/AuditLog?order=createdAt", None).await;
    answer["results"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn before_save_edits_come_back_and_are_stored() {
    let server = Server::start("triggers", &[]);
    let (status, created) = server
        .request("POST", "/classes/Review", Some(json!({"comment": LONG})), &[("X-Parse-Master-Key", common::MASTER_KEY), ("X-Parse-Cloud-Context", r#"{"client":"hi"}"#)])
        .await;
    assert_eq!(status, 201, "{created}");
    let truncated = format!("{}...", &LONG[..137]);
    assert_eq!(created["comment"], json!(truncated), "changed fields come back: {created}");
    assert_eq!(created["checked"], json!(true));
    let id = created["objectId"].as_str().unwrap();
    let (_, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(stored["comment"], json!(truncated));
    assert_eq!((stored["sawDirty"].clone(), stored["hadOriginal"].clone()), (json!(true), json!(false)));

    let (status, updated) = server.master("PUT", &format!("/classes/Review/{id}"), Some(json!({"stars": 5}))).await;
    assert_eq!(status, 200, "{updated}");
    let (_, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!((stored["sawDirty"].clone(), stored["hadOriginal"].clone(), stored["stars"].clone()), (json!(false), json!(true), json!(5)));

    let logs = audit_logs(&server).await;
    assert_eq!(logs.len(), 2, "afterSave ran once per save: {logs:?}");
    assert_eq!(logs[0]["review"], json!(id));
    assert_eq!(logs[0]["context"], json!("context travels"), "context set in beforeSave reaches afterSave");
    assert_eq!(logs[0]["clientContext"], json!("hi"));
    assert_eq!(logs[0]["master"], json!(true));
}

#[tokio::test]
async fn a_failing_before_save_cancels_the_write() {
    let server = Server::start("triggers", &[]);
    let (status, answer) = server.master("POST", "/classes/Forbidden", Some(json!({"a": 1}))).await;
    assert_eq!((status, answer), (400, json!({"code": 142, "error": "Forbidden objects cannot be saved"})));
    let (status, answer) = server.master("POST", "/classes/Legacy", Some(json!({"bad": true}))).await;
    assert_eq!((status, answer), (400, json!({"code": 141, "error": "legacy says no"})));
    let (status, answer) = server.master("POST", "/classes/Legacy", Some(json!({"bad": false}))).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["legacyChecked"], json!(true));
    let (_, answer) = server.master("GET", "/classes/Forbidden?count=1", None).await;
    assert_eq!(answer["count"], json!(0), "nothing was written");
    let (_, answer) = server.master("GET", "/classes/Legacy?count=1", None).await;
    assert_eq!(answer["count"], json!(1));
}

#[tokio::test]
async fn before_delete_can_refuse_and_after_delete_runs() {
    let server = Server::start("triggers", &[]);
    let (_, locked) = server.master("POST", "/classes/Protected", Some(json!({"locked": true}))).await;
    let (_, open) = server.master("POST", "/classes/Protected", Some(json!({"locked": false}))).await;
    let locked = locked["objectId"].as_str().unwrap();
    let open = open["objectId"].as_str().unwrap();
    let (status, answer) = server.master("DELETE", &format!("/classes/Protected/{locked}"), None).await;
    assert_eq!((status, answer), (400, json!({"code": 141, "error": "locked objects cannot be deleted"})));
    let (status, _) = server.master("GET", &format!("/classes/Protected/{locked}"), None).await;
    assert_eq!(status, 200, "still there");
    let (status, _) = server.master("DELETE", &format!("/classes/Protected/{open}"), None).await;
    assert_eq!(status, 200);
    let logs = audit_logs(&server).await;
    assert_eq!(logs.iter().map(|l| l["deleted"].clone()).collect::<Vec<_>>(), vec![json!(open)]);
}

#[tokio::test]
async fn after_save_errors_are_logged_not_returned() {
    let server = Server::start("triggers", &[]);
    let (status, answer) = server.master("POST", "/classes/Broken", Some(json!({"a": 1}))).await;
    assert_eq!(status, 201, "{answer}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(server.log().contains("afterSave failures are only logged"), "{}", server.log());
}

#[tokio::test]
async fn cloud_code_saves_run_triggers_even_with_one_worker() {
    let server = Server::start("triggers", &["--workers", "1", "--allow-client-class-creation"]);
    let (status, answer) = server.call("createReview", json!({"comment": LONG}), &[]).await;
    assert_eq!(status, 200, "{answer}");
    let result = &answer["result"];
    assert_eq!(result["comment"], json!(format!("{}...", &LONG[..137])), "the beforeSave edit reached the JS object");
    assert_eq!(result["checked"], json!(true));
    assert_eq!(audit_logs(&server).await.len(), 1, "afterSave ran");
    let (_, answer) = server.call("findReviews", json!({}), &[]).await;
    assert_eq!(answer["result"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn parse_object_and_query_inside_cloud_code() {
    let server = Server::start("triggers", &[]);
    let (status, answer) = server.call("queryApi", json!({}), &[]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"], json!({
        "top": [4, 3], "evens": 3, "first": 0, "got": 0, "seen": 5,
        "after": [10, 11, 12, 13, 14], "either": 2, "left": 0,
    }));
    let (status, answer) = server.call("returnsObject", json!({}), &[]).await;
    assert_eq!(status, 200, "{answer}");
    let thing = &answer["result"];
    assert_eq!((thing["__type"].clone(), thing["className"].clone(), thing["name"].clone()), (json!("Object"), json!("Thing"), json!("returned")));
}

#[tokio::test]
async fn request_user_and_acls_follow_the_caller() {
    let server = Server::start("triggers", &["--allow-client-class-creation"]);
    let (alice, token) = server.sign_up("alice", "secret").await;
    let as_alice = [("X-Parse-Session-Token", token.as_str())];
    let (_, answer) = server.call("whoAmI", json!({}), &as_alice).await;
    assert_eq!(answer["result"], json!({"username": "alice", "token": token, "id": alice}));
    let (_, answer) = server.call("whoAmI", json!({}), &[]).await;
    assert_eq!(answer["result"], Value::Null);
    let (status, answer) = server.call("whoAmI", json!({}), &[("X-Parse-Session-Token", "r:bogus")]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(209)));

    server.master("POST", "/classes/Note", Some(json!({"text": "public"}))).await;
    server.master("POST", "/classes/Note", Some(json!({"text": "alice only", "ACL": {alice.clone(): {"read": true}}}))).await;
    server.master("POST", "/classes/Note", Some(json!({"text": "nobody", "ACL": {}}))).await;
    let (_, answer) = server.call("readAsCaller", json!({}), &as_alice).await;
    assert_eq!(answer["result"], json!(["alice only", "public"]));
    let (_, answer) = server.call("readAsCaller", json!({}), &[]).await;
    assert_eq!(answer["result"], json!(["public"]));
    let (_, answer) = server.call("readAsMaster", json!({}), &[]).await;
    assert_eq!(answer["result"], json!(["alice only", "nobody", "public"]));
    let (_, answer) = server.call("legacyMasterKey", json!({}), &[]).await;
    assert_eq!(answer["result"], json!(3), "Parse.Cloud.useMasterKey()");
    let (_, answer) = server.call("readAsCaller", json!({}), &[]).await;
    assert_eq!(answer["result"], json!(["public"]), "useMasterKey applied to that request only");

    let (status, created) = server.request("POST", "/classes/Review", Some(json!({"comment": "hi"})), &as_alice).await;
    assert_eq!(status, 201, "{created}");
    let (_, stored) = server.master("GET", &format!("/classes/Review/{}", created["objectId"].as_str().unwrap()), None).await;
    assert_eq!(stored["byUser"], json!("alice"), "request.user in triggers");
}
