//! Parse Server's hooks beyond save and delete, over real HTTP (fixture `cloud_hooks`):
//! beforeFind/afterFind rewriting queries and results, beforeLogin refusing a log-in,
//! afterLogin/afterLogout, validators (the third argument) with Parse Server's codes and
//! messages, and `Parse.Cloud.startJob`/`getJobStatus`/`getJobsData`/`Parse.Config` from
//! cloud code.

mod common;

use std::time::Duration;

use common::Server;
use serde_json::{json, Value};

fn start() -> Server {
    Server::start("cloud_hooks", &["--allow-client-class-creation"])
}

fn urlencode(value: &Value) -> String {
    form_urlencoded::byte_serialize(value.to_string().as_bytes()).collect()
}

async fn create(server: &Server, class: &str, body: Value) -> String {
    let (status, created) = server.master("POST", &format!("/classes/{class}"), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["objectId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn before_find_and_after_find_rewrite_queries_and_results() {
    let server = start();
    let draft = create(&server, "Article", json!({"title": "draft", "draft": true})).await;
    for title in ["a", "b", "c"] {
        create(&server, "Article", json!({"title": title})).await;
    }
    let (status, found) = server.request("GET", "/classes/Article", None, &[]).await;
    assert_eq!(status, 200, "{found}");
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "beforeFind capped the limit: {found}");
    assert!(results.iter().all(|a| a["draft"] != json!(true) && a["seen"] == json!("find")), "{found}");
    let (_, found) = server.master("GET", "/classes/Article?limit=10", None).await;
    assert_eq!(found["results"].as_array().unwrap().len(), 2, "the master key sees drafts, still capped: {found}");

    // A get is a query too: the draft is not found by a client, found by the master key.
    let (status, refused) = server.request("GET", &format!("/classes/Article/{draft}"), None, &[]).await;
    assert_eq!((status, refused["code"].clone()), (404, json!(101)), "{refused}");
    let (status, got) = server.master("GET", &format!("/classes/Article/{draft}"), None).await;
    assert_eq!((status, got["title"].clone(), got["seen"].clone()), (200, json!("draft"), json!("get")), "{got}");

    create(&server, "Secretive", json!({"public": true, "n": 1})).await;
    create(&server, "Secretive", json!({"public": false, "n": 2})).await;
    let (_, found) = server.request("GET", "/classes/Secretive", None, &[]).await;
    assert_eq!(found["results"].as_array().unwrap().iter().map(|o| o["n"].clone()).collect::<Vec<_>>(), [json!(1)]);

    create(&server, "Redirected", json!({"kind": "a"})).await;
    create(&server, "Redirected", json!({"kind": "b"})).await;
    let where_ = urlencode(&json!({"kind": "a"}));
    let (_, found) = server.request("GET", &format!("/classes/Redirected?where={where_}"), None, &[]).await;
    assert_eq!(found["results"].as_array().unwrap().iter().map(|o| o["kind"].clone()).collect::<Vec<_>>(), [json!("b")], "the returned query ran: {found}");

    let (status, found) = server.request("GET", "/classes/Canned", None, &[]).await;
    assert_eq!((status, found["results"].clone()), (200, json!([{"text": "from cloud code"}])), "{found}");

    let (status, refused) = server.request("GET", "/classes/Forbidden", None, &[]).await;
    assert_eq!((status, refused), (400, json!({"code": 119, "error": "no queries here"})));
}

#[tokio::test]
async fn log_in_hooks_refuse_and_record() {
    let server = start();
    let (banned, _) = server.sign_up("mallory", "pw").await;
    server.master("PUT", &format!("/users/{banned}"), Some(json!({"banned": true}))).await;
    let (status, refused) = server.request("GET", "/login?username=mallory&password=pw", None, &[]).await;
    assert_eq!((status, refused), (400, json!({"code": 141, "error": "Access denied, you have been banned."})));
    let (_, sessions) = server.master("GET", "/sessions?count=1&limit=0", None).await;
    assert_eq!(sessions["count"], json!(1), "only the sign-up's: the refused log-in made none");

    server.sign_up("alice", "pw").await;
    let (status, login) = server.request("GET", "/login?username=alice&password=pw", None, &[]).await;
    assert_eq!(status, 200, "{login}");
    let (_, events) = server.master("GET", "/classes/LoginEvent", None).await;
    assert_eq!(events["results"].as_array().unwrap().iter().map(|e| e["username"].clone()).collect::<Vec<_>>(), [json!("alice")]);

    let token = login["sessionToken"].as_str().unwrap();
    let (status, _) = server.request("POST", "/logout", None, &[("X-Parse-Session-Token", token)]).await;
    assert_eq!(status, 200);
    let (_, events) = server.master("GET", "/classes/LogoutEvent", None).await;
    let events = events["results"].as_array().unwrap();
    assert_eq!((events.len(), events[0]["user"].clone()), (1, login["objectId"].clone()), "{events:?}");
}

#[tokio::test]
async fn validators_refuse_with_parse_servers_codes_and_messages() {
    let server = start();
    let (alice, token) = server.sign_up("alice", "pw").await;
    let as_alice = [("X-Parse-Session-Token", token.as_str())];
    let failed = |message: &str| json!({"code": 142, "error": message});

    let (status, answer) = server.call("needsUser", json!({}), &[]).await;
    assert_eq!((status, answer), (400, failed("Validation failed. Please login to continue.")));
    let (status, answer) = server.call("needsUser", json!({}), &as_alice).await;
    assert_eq!((status, answer), (200, json!({"result": "hello alice"})));
    let (status, answer) = server.call("needsMaster", json!({}), &as_alice).await;
    assert_eq!((status, answer), (400, failed("Validation failed. Master key is required to complete this request.")));

    let cases = [
        (json!({}), "Validation failed. Please specify data for name."),
        (json!({"name": 5}), "Validation failed. Invalid type for name. Expected: string"),
        (json!({"name": "n", "size": 7}), "Validation failed. Invalid option for size. Expected: 1, 2, 3"),
        (json!({"name": "n", "tag": "bad"}), "tag must not be bad"),
    ];
    for (params, message) in cases {
        let (status, answer) = server.call("typed", params.clone(), &[]).await;
        assert_eq!((status, answer), (400, failed(message)), "{params}");
    }
    let (status, answer) = server.call("typed", json!({"name": "n"}), &[]).await;
    assert_eq!((status, answer), (200, json!({"result": {"name": "n", "size": 1}})), "the default is filled in");
    let (_, answer) = server.call("listed", json!({"a": 1}), &[]).await;
    assert_eq!(answer, failed("Validation failed. Please specify data for b."));

    let (_, answer) = server.call("needsKeys", json!({}), &as_alice).await;
    assert_eq!(answer, failed("Validation failed. Please set data for city on your account."));
    server.request("PUT", &format!("/users/{alice}"), Some(json!({"city": "Paris"})), &as_alice).await;
    let (_, answer) = server.call("needsKeys", json!({}), &as_alice).await;
    assert_eq!(answer, json!({"result": "ok"}));

    let (_, answer) = server.call("needsAnyRole", json!({}), &as_alice).await;
    assert_eq!(answer, failed("Validation failed. User does not match the required roles."));
    let role = json!({"name": "Editor", "ACL": {"*": {"read": true}}, "users": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "_User", "objectId": alice}]}});
    let (status, body) = server.master("POST", "/roles", Some(role)).await;
    assert_eq!(status, 201, "{body}");
    let (_, answer) = server.call("needsAnyRole", json!({}), &as_alice).await;
    assert_eq!(answer, json!({"result": "ok"}), "one of the roles is enough");
    let (_, answer) = server.call("needsAllRoles", json!({}), &as_alice).await;
    assert_eq!(answer, failed("Validation failed. User does not match all the required roles."));

    let (_, answer) = server.call("checkedByFunction", json!({"no": true}), &[]).await;
    assert_eq!(answer, failed("refused by the validator function"));
    let (_, answer) = server.call("checkedByFunction", json!({}), &[]).await;
    assert_eq!(answer, json!({"result": "ok"}));

    // On a trigger: a refused save stores nothing; a default is filled in, a constant kept.
    let (status, answer) = server.request("POST", "/classes/Order", Some(json!({"qty": "two"})), &[]).await;
    assert_eq!((status, answer), (400, failed("Validation failed. Invalid type for qty. Expected: number")));
    let (_, count) = server.master("GET", "/classes/Order?count=1&limit=0", None).await;
    assert_eq!(count["count"], json!(0));
    let (status, created) = server.request("POST", "/classes/Order", Some(json!({"qty": 2})), &[]).await;
    assert_eq!(status, 201, "{created}");
    let id = created["objectId"].as_str().unwrap();
    let (status, body) = server.request("PUT", &format!("/classes/Order/{id}"), Some(json!({"status": "shipped"})), &[]).await;
    assert_eq!(status, 200, "{body}");
    let (_, order) = server.master("GET", &format!("/classes/Order/{id}"), None).await;
    assert_eq!((order["qty"].clone(), order["status"].clone()), (json!(2), json!("new")), "{order}");
}

#[tokio::test]
async fn jobs_and_config_from_cloud_code() {
    let server = start();
    let (status, started) = server.call("startWork", json!({"n": 3}), &[]).await;
    assert_eq!(status, 200, "{started}");
    let id = started["result"].as_str().expect("the run's _JobStatus id").to_string();
    let mut status_now = Value::Null;
    for _ in 0..100 {
        let (_, answer) = server.call("jobStatus", json!({"id": id}), &[]).await;
        status_now = answer["result"].clone();
        if status_now["status"] == json!("succeeded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status_now, json!({"status": "succeeded", "jobName": "work", "message": "done 3"}));
    let (status, answer) = server.call("startMissing", json!({}), &[]).await;
    assert_eq!((status, answer), (400, json!({"code": 141, "error": "Invalid job."})));
    let (status, answer) = server.call("jobsData", json!({}), &[]).await;
    assert_eq!((status, answer["result"]["jobs"].clone()), (200, json!(["work"])), "{answer}");

    let config = json!({"params": {"greeting": "hi", "secret": "s3"}, "masterKeyOnly": {"secret": true}});
    let (status, body) = server.master("PUT", "/config", Some(config)).await;
    assert_eq!(status, 200, "{body}");
    let (_, answer) = server.call("config", json!({}), &[]).await;
    assert_eq!(answer, json!({"result": {"greeting": "hi", "secret": null}}), "master-only params stay hidden");
    let (_, answer) = server.call("config", json!({"master": true}), &[]).await;
    assert_eq!(answer, json!({"result": {"greeting": "hi", "secret": "s3"}}));
}
