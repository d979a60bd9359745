//! Cloud functions over real HTTP: a table of (fixture, function, params, headers) →
//! (status, body) cases, plus the cases that need more than one request.

mod common;

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

struct Case {
    function: &'static str,
    params: Value,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    body: Value,
}

fn case(function: &'static str, params: Value, status: u16, body: Value) -> Case {
    Case { function, params, headers: &[], status, body }
}

async fn run_table(server: &Server, cases: Vec<Case>) {
    for case in cases {
        let (status, body) = server.call(case.function, case.params.clone(), case.headers).await;
        assert_eq!((status, &body), (case.status, &case.body), "function {}", case.function);
    }
}

#[tokio::test]
async fn results_and_both_handler_styles() {
    let server = Server::start("basics", &[]);
    let date = json!({"__type": "Date", "iso": "2021-05-06T07:08:09.010Z"});
    run_table(&server, vec![
        case("echo", json!({"s": "x", "n": 1.5, "b": true, "a": [1, "2"], "o": {"k": null}}), 200,
             json!({"result": {"s": "x", "n": 1.5, "b": true, "a": [1, "2"], "o": {"k": null}}})),
        case("echo", json!({}), 200, json!({"result": {}})),
        case("types", json!({"when": date, "nested": {"d": date}, "list": [date]}), 200, json!({"result": {
            "when": "date:2021-05-06T07:08:09.010Z",
            "nested": {"d": date},
            "list": [date],
            "made": {"__type": "Date", "iso": "2020-01-02T03:04:05.006Z"},
        }})),
        case("returnsUndefined", json!({}), 200, json!({})),
        case("returnsNull", json!({}), 200, json!({"result": null})),
        case("returnsNumber", json!({}), 200, json!({"result": 42})),
        case("returnsString", json!({}), 200, json!({"result": "plain"})),
        case("asyncResult", json!({"name": "Ada"}), 200, json!({"result": "async Ada"})),
        case("timerResult", json!({}), 200, json!({"result": "later"})),
        case("legacySuccess", json!({"name": "Ada"}), 200, json!({"result": {"got": "Ada"}})),
        case("legacyLater", json!({}), 200, json!({"result": "late success"})),
        case("callsAnother", json!({"n": 3}), 200, json!({"result": {"via": "run", "n": 3}})),
        case("noDenoInternals", json!({}), 200, json!({"result": ["undefined", "undefined"]})),
    ]).await;
}

#[tokio::test]
async fn every_error_maps_to_its_parse_code() {
    let server = Server::start("basics", &[]);
    run_table(&server, vec![
        case("legacyError", json!({}), 400, json!({"code": 141, "error": "legacy failure"})),
        case("legacyErrorCode", json!({}), 400, json!({"code": 142, "error": "legacy validation"})),
        case("throwsString", json!({}), 400, json!({"code": 141, "error": "string thrown"})),
        case("throwsError", json!({}), 400, json!({"code": 141, "error": "error thrown"})),
        case("throwsParseError", json!({}), 400, json!({"code": 142, "error": "parse error thrown"})),
        case("throwsParseErrorNotFound", json!({}), 404, json!({"code": 101, "error": "missing thing"})),
        case("rejects", json!({}), 400, json!({"code": 141, "error": "rejected"})),
        case("rejectsParseError", json!({}), 400, json!({"code": 137, "error": "duplicate"})),
        case("throwsNothing", json!({}), 400, json!({"code": 141, "error": "Script failed."})),
        case("noSuchFunction", json!({}), 400, json!({"code": 141, "error": "Invalid function: \"noSuchFunction\""})),
    ]).await;
    let (status, body) = server.call("typeError", json!({}), &[]).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(141)), "{body}");
    assert!(body["error"].as_str().unwrap().contains("undefined"), "{body}");
    let (status, body) = server.call("cyclicResult", json!({}), &[]).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(141)), "{body}");
}

#[tokio::test]
async fn request_object_carries_caller_details() {
    let server = Server::start("basics", &[]);
    let (status, body) = server
        .call("whoAmI", json!({}), &[
            ("X-Parse-Master-Key", MASTER_KEY),
            ("X-Parse-Installation-Id", "inst-1"),
            ("X-Custom-Header", "custom"),
            ("X-Parse-Cloud-Context", r#"{"from":"header"}"#),
        ])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"], json!({
        "master": true, "installationId": "inst-1", "functionName": "whoAmI",
        "ip": "127.0.0.1", "header": "custom", "context": {"from": "header"}, "hasLog": true,
    }));
    let (_, body) = server.call("whoAmI", json!({}), &[]).await;
    assert_eq!(body["result"]["master"], json!(false));
    assert_eq!(body["result"]["installationId"], json!("(undefined)"));
    assert_eq!(body["result"]["context"], json!({}));
}

#[tokio::test]
async fn per_request_state_never_leaks_between_calls() {
    let server = Server::start("basics", &["--workers", "1"]);
    for i in 0..20 {
        let master = i % 2 == 0;
        let headers: &[(&str, &str)] = if master { &[("X-Parse-Master-Key", MASTER_KEY)] } else { &[] };
        let (_, body) = server.call("remember", json!({"tag": i}), headers).await;
        assert_eq!(body["result"], json!({"tag": i, "master": master}));
    }
}

#[tokio::test]
async fn sdk_style_requests_work() {
    let server = Server::start("basics", &[]);
    // What the official JS SDK sends: POST, text/plain, credentials and _method in the body.
    let body = json!({"_ApplicationId": APP_ID, "_JavaScriptKey": "anything", "_ClientVersion": "js5.0.0",
        "_InstallationId": "sdk-inst", "_method": "POST", "_context": {"from": "body"}, "name": "sdk"});
    let (status, answer) = server
        .post("/functions/whoAmI", body.to_string(), &[("Content-Type", "text/plain")], false)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["installationId"], json!("sdk-inst"));
    assert_eq!(answer["result"]["context"], json!({"from": "body"}));
    let body = json!({"_ApplicationId": APP_ID, "_MasterKey": MASTER_KEY, "x": 1});
    let (_, answer) = server.post("/functions/echo", body.to_string(), &[("Content-Type", "text/plain")], false).await;
    assert_eq!(answer, json!({"result": {"x": 1}}), "credentials must not reach params");
    let body = json!({"_ApplicationId": APP_ID, "_MasterKey": MASTER_KEY});
    let (_, answer) = server.post("/functions/whoAmI", body.to_string(), &[], false).await;
    assert_eq!(answer["result"]["master"], json!(true));
    // Parse.com's mount.
    let parse_com = server.url.replace("/parse", "/1");
    let response = server
        .client
        .post(format!("{parse_com}/functions/returnsNumber"))
        .header("X-Parse-Application-Id", APP_ID)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"result": 42}));
}

#[tokio::test]
async fn bad_requests_get_parse_errors() {
    let server = Server::start("basics", &[]);
    let unauthorized = json!({"error": "unauthorized"});
    let (status, body) = server.post("/functions/echo", "{}".into(), &[], false).await;
    assert_eq!((status, body), (403, unauthorized.clone()), "missing app id");
    let (status, body) = server.post("/functions/echo", "{}".into(), &[("X-Parse-Application-Id", "wrong")], false).await;
    assert_eq!((status, body), (403, unauthorized.clone()), "wrong app id");
    let (status, body) = server.post("/functions/echo", "{}".into(), &[("X-Parse-Master-Key", "wrong")], true).await;
    assert_eq!((status, body), (403, unauthorized.clone()), "wrong master key");
    let (status, body) = server.post("/functions/echo", r#"{"_ApplicationId":"wrong"}"#.into(), &[], false).await;
    assert_eq!((status, body), (403, unauthorized), "wrong app id in body");

    let (status, body) = server.post("/functions/echo", "{not json".into(), &[], true).await;
    assert_eq!((status, body["code"].clone()), (400, json!(107)), "{body}");
    let (status, body) = server.post("/functions/echo", "[1,2]".into(), &[], true).await;
    assert_eq!((status, body["code"].clone()), (400, json!(107)), "{body}");
    let (status, body) = server.post("/functions/echo", "\"str\"".into(), &[], true).await;
    assert_eq!((status, body["code"].clone()), (400, json!(107)), "{body}");
    let (status, body) = server.post("/functions/", "{}".into(), &[], true).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.post("/nowhere/at/all", "{}".into(), &[], true).await;
    assert_eq!((status, body["code"].clone()), (404, json!(-1)), "{body}");
    let (status, body) = server.post("/functions/a%20b", "{}".into(), &[], true).await;
    assert_eq!((status, body["code"].clone()), (400, json!(141)), "{body}");
}

#[tokio::test]
async fn client_key_is_required_when_configured() {
    let server = Server::start("basics", &["--client-key", "ck"]);
    let (status, _) = server.call("echo", json!({}), &[]).await;
    assert_eq!(status, 403);
    for header in ["X-Parse-REST-API-Key", "X-Parse-Javascript-Key", "X-Parse-Client-Key"] {
        let (status, _) = server.call("echo", json!({}), &[(header, "ck")]).await;
        assert_eq!(status, 200, "{header}");
    }
    let (status, _) = server.call("echo", json!({}), &[("X-Parse-REST-API-Key", "nope")]).await;
    assert_eq!(status, 403);
    let (status, _) = server.call("echo", json!({}), &[("X-Parse-Master-Key", MASTER_KEY)]).await;
    assert_eq!(status, 200, "the master key needs no client key");
}

#[tokio::test]
async fn health_and_cors_preflight() {
    let server = Server::start("basics", &[]);
    let health = server.client.get(format!("{}/health", server.url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/functions/echo", server.url))
        .header("Origin", "http://example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["access-control-allow-headers"].to_str().unwrap().contains("X-Parse-Application-Id"));
    assert!(headers["access-control-expose-headers"].to_str().unwrap().contains("X-Parse-Job-Status-Id"));
}

#[tokio::test]
async fn console_and_request_log_reach_the_server_log() {
    let server = Server::start("basics", &[]);
    let (status, _) = server.call("logs", json!({}), &[]).await;
    assert_eq!(status, 200);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let log = server.log();
    assert!(log.contains("[function logs] console line {\"n\":1}"), "{log}");
    assert!(log.contains("[function logs] request.log line"), "{log}");
}

#[tokio::test]
async fn get_requests_take_params_from_the_query() {
    let server = Server::start("basics", &[]);
    let response = server
        .client
        .get(format!("{}/functions/echo?name=Ada&n=3", server.url))
        .header("X-Parse-Application-Id", APP_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"result": {"name": "Ada", "n": 3}}));
}

#[tokio::test]
async fn a_date_changed_in_place_is_dirty_and_saved() {
    let server = Server::start("basics", &[]);
    let (status, body) = server.call("dateChangedInPlace", json!({}), &[]).await;
    assert_eq!((status, body), (200, json!({"result": {
        "untouched": false,
        "changed": {"at": true, "tags": false, "keys": ["at"]},
        "afterSave": false,
        "stored": "2025-06-01T00:00:00.000Z",
        "invalid": true,
    }})));
}
