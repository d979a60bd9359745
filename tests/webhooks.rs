//! Cloud Code webhooks (issue 5, the seed's "Cloud Code Webhooks"): the hooks registration API,
//! the calls cloudrt makes to the user's HTTPS server (payloads, headers, answers), priority
//! over cloud code, TLS rules, the timeout and durability across restarts.
//!
//! Every test runs the real `cloudrt` binary against a webhook server living in the test
//! process: hyper over tokio-rustls on 127.0.0.1, with a certificate for "localhost" signed by a
//! CA generated for the test run (rcgen) and handed to cloudrt through `--webhook-ca-file`. The
//! webhook server records every request and answers per path as the test configures it.

mod common;
#[path = "support/webhook_server.rs"]
mod webhook_server;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Server, MASTER_KEY};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use webhook_server::{failure, raw, respond, slow, success, Answer, Pki, Responder, TempFile, WebhookServer};

const WEBHOOK_KEY: &str = "test-webhook-key";
const FIXTURE: &str = "webhooks";
const LONG: &str = "A very long comment that will be truncated to be just 140 characters. I sure love using Parse, it's just so easy to get started :)! Hopefully that part doesn't get truncated :/";

// ---------------------------------------------------------------------------------------------
// Answers of this file's webhooks
// ---------------------------------------------------------------------------------------------

/// The seed's Review beforeSave: comments over 140 characters are truncated and the whole
/// object is sent back; short ones get `{"success": true}`.
fn truncating(extra: Value) -> Responder {
    respond(move |payload| {
        let mut review = payload["object"].clone();
        let comment = review["comment"].as_str().unwrap_or_default().to_string();
        let body = if comment.chars().count() > 140 {
            review["comment"] = json!(format!("{}...", comment.chars().take(137).collect::<String>()));
            for (key, value) in extra.as_object().unwrap() {
                review[key] = value.clone();
            }
            json!({ "success": review })
        } else {
            json!({ "success": true })
        };
        Answer { status: 200, content_type: "application/json", body: body.to_string(), delay: Duration::ZERO, location: None }
    })
}

// ---------------------------------------------------------------------------------------------
// cloudrt + webhook server
// ---------------------------------------------------------------------------------------------

/// A cloudrt server trusting a test CA, and a webhook server whose certificate that CA signed.
struct Setup {
    server: Server,
    hooks: WebhookServer,
    ca_file: TempFile,
    _pki: Pki,
}

impl Setup {
    async fn start(extra: &[&str]) -> Setup {
        let pki = Pki::private_ca("cloudrt webhooks test CA");
        let ca_file = TempFile::with_contents(pki.ca_pem.as_bytes());
        let hooks = WebhookServer::start(Some(&pki)).await;
        let server = start_cloudrt(Some(&ca_file), extra);
        Setup { server, hooks, ca_file, _pki: pki }
    }

    /// Restarts cloudrt on the same data with the same CA file (plus `extra`).
    fn restart(self, extra: &[&str]) -> Setup {
        let Setup { server, hooks, ca_file, _pki } = self;
        let flags = flags(Some(&ca_file), extra);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let server = server.restart(FIXTURE, &flags);
        Setup { server, hooks, ca_file, _pki }
    }
}

fn flags(ca_file: Option<&TempFile>, extra: &[&str]) -> Vec<String> {
    let mut flags = vec!["--webhook-key".to_string(), WEBHOOK_KEY.to_string()];
    if let Some(ca_file) = ca_file {
        flags.push("--webhook-ca-file".into());
        flags.push(ca_file.path());
    }
    flags.extend(extra.iter().map(|f| f.to_string()));
    flags
}

fn start_cloudrt(ca_file: Option<&TempFile>, extra: &[&str]) -> Server {
    let flags = flags(ca_file, extra);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Server::start(FIXTURE, &flags)
}

async fn add_function(server: &Server, name: &str, url: &str) {
    let (status, answer) = server.master("POST", "/hooks/functions", Some(json!({"functionName": name, "url": url}))).await;
    assert_eq!((status, answer), (200, json!({"functionName": name, "url": url})), "registering function {name}");
}

async fn add_trigger(server: &Server, class: &str, trigger: &str, url: &str) {
    let (status, answer) = server
        .master("POST", "/hooks/triggers", Some(json!({"className": class, "triggerName": trigger, "url": url})))
        .await;
    assert_eq!(
        (status, answer),
        (200, json!({"className": class, "triggerName": trigger, "url": url})),
        "registering {trigger} of {class}"
    );
}

async fn remove_function(server: &Server, name: &str) {
    let (status, answer) = server.master("PUT", &format!("/hooks/functions/{name}"), Some(json!({"__op": "Delete"}))).await;
    assert_eq!((status, answer), (200, json!({})), "removing function {name}");
}

async fn remove_trigger(server: &Server, class: &str, trigger: &str) {
    let (status, answer) =
        server.master("PUT", &format!("/hooks/triggers/{class}/{trigger}"), Some(json!({"__op": "Delete"}))).await;
    assert_eq!((status, answer), (200, json!({})), "removing {trigger} of {class}");
}

/// A 143 answer with exactly this message.
fn assert_hook_error(got: (u16, Value), message: &str) {
    assert_eq!(got, (400, json!({"code": 143, "error": message})));
}

/// A 400 answer with `code` whose message contains every fragment.
fn assert_error_containing(got: &(u16, Value), code: i64, fragments: &[&str]) {
    let (status, body) = got;
    assert_eq!((*status, body["code"].clone()), (400, json!(code)), "{body}");
    let message = body["error"].as_str().unwrap_or_else(|| panic!("no error message: {body}"));
    for fragment in fragments {
        assert!(message.contains(fragment), "{fragment:?} missing from {message:?}");
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// A bare JSON array, sorted by its JSON text (the API promises no order).
/// `GET /hooks/<kind>` with only the registered webhooks: the list also names the handlers
/// main.js defines (without a `url`), which `tests/dashboard_routes.rs` checks.
async fn registered(server: &Server, kind: &str) -> (u16, Value) {
    let (status, list) = server.master("GET", &format!("/hooks/{kind}"), None).await;
    let hooks = list.as_array().unwrap_or_else(|| panic!("not a bare array: {list}")).iter().filter(|h| h.get("url").is_some()).cloned();
    (status, Value::Array(hooks.collect()))
}

fn sorted_array(value: &Value) -> Vec<Value> {
    let mut items = value.as_array().unwrap_or_else(|| panic!("not a bare array: {value}")).clone();
    items.sort_by_key(|v| v.to_string());
    items
}

async fn count(server: &Server, class: &str) -> i64 {
    let (status, answer) = server.master("GET", &format!("/classes/{class}?count=1"), None).await;
    assert_eq!(status, 200, "{answer}");
    answer["count"].as_i64().unwrap_or_else(|| panic!("no count: {answer}"))
}

async fn wait_for_log(server: &Server, fragment: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if server.log().contains(fragment) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

const MASTER: (&str, &str) = ("X-Parse-Master-Key", MASTER_KEY);

// ---------------------------------------------------------------------------------------------
// 1. The registration API
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hooks_api_is_for_the_master_key_only() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    let (_, token) = server.sign_up("mallory", "secret").await;
    add_function(&server, "kept", &hooks.url("/kept")).await;
    add_trigger(&server, "Review", "beforeSave", &hooks.url("/kept-trigger")).await;

    let refused = json!({"code": 119, "error": "unauthorized: master key is required"});
    let session = [("X-Parse-Session-Token", token.as_str())];
    for headers in [&[][..], &session[..]] {
        let attempts: Vec<(&str, &str, Option<Value>)> = vec![
            ("GET", "/hooks/functions", None),
            ("GET", "/hooks/functions/kept", None),
            ("GET", "/hooks/triggers", None),
            ("GET", "/hooks/triggers/Review/beforeSave", None),
            ("POST", "/hooks/functions", Some(json!({"functionName": "sneaky", "url": hooks.url("/sneaky")}))),
            ("POST", "/hooks/triggers", Some(json!({"className": "Note", "triggerName": "beforeSave", "url": hooks.url("/sneaky")}))),
            ("PUT", "/hooks/functions/kept", Some(json!({"url": hooks.url("/sneaky")}))),
            ("PUT", "/hooks/functions/kept", Some(json!({"__op": "Delete"}))),
            ("PUT", "/hooks/triggers/Review/beforeSave", Some(json!({"url": hooks.url("/sneaky")}))),
            ("PUT", "/hooks/triggers/Review/beforeSave", Some(json!({"__op": "Delete"}))),
        ];
        for (method, path, body) in attempts {
            let (status, answer) = server.request(method, path, body, headers).await;
            assert_eq!((status, &answer), (403, &refused), "{method} {path} with {headers:?}");
        }
    }

    // A wrong master key is no master key.
    for (method, path, body) in [
        ("GET", "/hooks/functions", None),
        ("POST", "/hooks/functions", Some(json!({"functionName": "sneaky", "url": hooks.url("/sneaky")}))),
        ("PUT", "/hooks/functions/kept", Some(json!({"__op": "Delete"}))),
    ] {
        let (status, answer) = server.request(method, path, body, &[("X-Parse-Master-Key", "not-the-master-key")]).await;
        assert_eq!(status, 403, "{method} {path} with a wrong master key: {answer}");
    }

    // Nothing changed.
    let (_, functions) = registered(&server, "functions").await;
    assert_eq!(functions, json!([{"functionName": "kept", "url": hooks.url("/kept")}]));
    let (_, triggers) = registered(&server, "triggers").await;
    assert_eq!(triggers, json!([{"className": "Review", "triggerName": "beforeSave", "url": hooks.url("/kept-trigger")}]));
    assert!(hooks.seen().is_empty(), "no webhook was called: {:?}", hooks.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_hooks_are_added_listed_changed_and_removed() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/one", success(json!("one")));
    hooks.answer("/two", success(json!("two")));
    hooks.answer("/changed", success(json!("changed")));

    let (status, list) = registered(&server, "functions").await;
    assert_eq!((status, list), (200, json!([])), "an empty bare array to start with");

    add_function(&server, "first", &hooks.url("/one")).await;
    add_function(&server, "second", &hooks.url("/two")).await;
    let (status, list) = registered(&server, "functions").await;
    assert_eq!(status, 200);
    assert_eq!(
        sorted_array(&list),
        vec![json!({"functionName": "first", "url": hooks.url("/one")}), json!({"functionName": "second", "url": hooks.url("/two")})]
    );
    let (status, one) = server.master("GET", "/hooks/functions/first", None).await;
    assert_eq!((status, one), (200, json!({"functionName": "first", "url": hooks.url("/one")})));
    let (_, triggers) = registered(&server, "triggers").await;
    assert_eq!(triggers, json!([]), "functions are not listed as triggers");

    assert_eq!(server.call("first", json!({}), &[]).await, (200, json!({"result": "one"})));

    // PUT {url} changes where calls go, at once.
    let (status, changed) = server.master("PUT", "/hooks/functions/first", Some(json!({"url": hooks.url("/changed")}))).await;
    assert_eq!((status, changed), (200, json!({"functionName": "first", "url": hooks.url("/changed")})));
    let (_, one) = server.master("GET", "/hooks/functions/first", None).await;
    assert_eq!(one, json!({"functionName": "first", "url": hooks.url("/changed")}));
    assert_eq!(server.call("first", json!({}), &[]).await, (200, json!({"result": "changed"})));
    assert_eq!(hooks.seen_at("/one").len(), 1, "the old URL is no longer called");

    // PUT {"__op":"Delete"} removes it.
    remove_function(&server, "first").await;
    assert_hook_error(server.master("GET", "/hooks/functions/first", None).await, "no function name: first is defined");
    let (_, list) = registered(&server, "functions").await;
    assert_eq!(list, json!([{"functionName": "second", "url": hooks.url("/two")}]));
    let (status, answer) = server.call("first", json!({}), &[]).await;
    assert_eq!((status, answer), (400, json!({"code": 141, "error": "Invalid function: \"first\""})));
    assert_eq!(hooks.seen_at("/changed").len(), 1);

    // A removed name can be registered again.
    add_function(&server, "first", &hooks.url("/one")).await;
    assert_eq!(server.call("first", json!({}), &[]).await, (200, json!({"result": "one"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_hooks_are_added_listed_changed_and_removed() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/before", success(json!(true)));
    hooks.answer("/before-2", success(json!({"via": "second url"})));
    hooks.answer("/after", success(json!(true)));

    let (status, list) = registered(&server, "triggers").await;
    assert_eq!((status, list), (200, json!([])));

    add_trigger(&server, "Note", "beforeSave", &hooks.url("/before")).await;
    add_trigger(&server, "Note", "afterSave", &hooks.url("/after")).await;
    add_trigger(&server, "Note", "beforeDelete", &hooks.url("/before")).await;
    add_trigger(&server, "Note", "afterDelete", &hooks.url("/after")).await;
    let (status, list) = registered(&server, "triggers").await;
    assert_eq!(status, 200);
    let mut expected = vec![
        json!({"className": "Note", "triggerName": "beforeSave", "url": hooks.url("/before")}),
        json!({"className": "Note", "triggerName": "afterSave", "url": hooks.url("/after")}),
        json!({"className": "Note", "triggerName": "beforeDelete", "url": hooks.url("/before")}),
        json!({"className": "Note", "triggerName": "afterDelete", "url": hooks.url("/after")}),
    ];
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(sorted_array(&list), expected);
    let (_, functions) = registered(&server, "functions").await;
    assert_eq!(functions, json!([]), "triggers are not listed as functions");
    let (status, one) = server.master("GET", "/hooks/triggers/Note/beforeSave", None).await;
    assert_eq!((status, one), (200, json!({"className": "Note", "triggerName": "beforeSave", "url": hooks.url("/before")})));

    // PUT {url} changes it; the next save calls the new URL.
    let (status, changed) =
        server.master("PUT", "/hooks/triggers/Note/beforeSave", Some(json!({"url": hooks.url("/before-2")}))).await;
    assert_eq!((status, changed), (200, json!({"className": "Note", "triggerName": "beforeSave", "url": hooks.url("/before-2")})));
    let (status, created) = server.master("POST", "/classes/Note", Some(json!({"text": "hi"}))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["via"], json!("second url"), "{created}");
    assert!(hooks.seen_at("/before").is_empty(), "the old URL is no longer called for beforeSave");

    // PUT {"__op":"Delete"} removes only that trigger.
    remove_trigger(&server, "Note", "beforeSave").await;
    assert_hook_error(
        server.master("GET", "/hooks/triggers/Note/beforeSave", None).await,
        "no class Note and trigger beforeSave is defined",
    );
    let (_, list) = registered(&server, "triggers").await;
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
    let (status, created) = server.master("POST", "/classes/Note", Some(json!({"text": "plain"}))).await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("via").is_none(), "beforeSave webhook removed: {created}");
    assert_eq!(hooks.seen_at("/before-2").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_duplicate_and_unknown_hooks_are_refused_with_143() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    let url = hooks.url("/hook");
    add_function(&server, "taken", &url).await;
    add_trigger(&server, "Review", "beforeSave", &url).await;

    // Duplicates.
    assert_hook_error(
        server.master("POST", "/hooks/functions", Some(json!({"functionName": "taken", "url": hooks.url("/other")}))).await,
        "function name: taken already exists",
    );
    assert_hook_error(
        server
            .master("POST", "/hooks/triggers", Some(json!({"className": "Review", "triggerName": "beforeSave", "url": hooks.url("/other")})))
            .await,
        "class Review and trigger beforeSave already exists",
    );

    // Missing fields.
    assert_hook_error(
        server.master("POST", "/hooks/functions", Some(json!({"url": url}))).await,
        "invalid hook declaration: functionName is required",
    );
    assert_hook_error(
        server.master("POST", "/hooks/functions", Some(json!({"functionName": "nourl"}))).await,
        "invalid hook declaration: url is required",
    );
    assert_hook_error(
        server.master("POST", "/hooks/triggers", Some(json!({"triggerName": "beforeSave", "url": url}))).await,
        "invalid hook declaration: className is required",
    );
    assert_hook_error(
        server.master("POST", "/hooks/triggers", Some(json!({"className": "Note", "url": url}))).await,
        "invalid hook declaration: triggerName is required",
    );
    assert_hook_error(
        server.master("POST", "/hooks/triggers", Some(json!({"className": "Note", "triggerName": "afterSave"}))).await,
        "invalid hook declaration: url is required",
    );
    assert_hook_error(
        server.master("PUT", "/hooks/functions/taken", Some(json!({}))).await,
        "invalid hook declaration: url is required",
    );

    assert_hook_error(
        server.master("POST", "/hooks/functions", Some(json!({"functionName": "", "url": url}))).await,
        "invalid hook declaration: functionName is required",
    );
    assert_hook_error(
        server.master("POST", "/hooks/functions", Some(json!({"functionName": 7, "url": url}))).await,
        "invalid hook declaration: functionName is required",
    );
    assert_hook_error(
        server.master("POST", "/hooks/functions", Some(json!({"functionName": "numberUrl", "url": 7}))).await,
        "invalid hook declaration: url is required",
    );

    // Bad trigger names.
    for bad in ["beforeFind", "afterFind", "beforesave", "whenever"] {
        assert_hook_error(
            server.master("POST", "/hooks/triggers", Some(json!({"className": "Note", "triggerName": bad, "url": url}))).await,
            &format!("invalid trigger name: {bad}; use one of beforeSave, afterSave, beforeDelete, afterDelete"),
        );
    }

    // Malformed URLs.
    for bad in ["not a url", "ftp://localhost/hook", "/relative"] {
        let (status, answer) =
            server.master("POST", "/hooks/functions", Some(json!({"functionName": "badUrl", "url": bad}))).await;
        assert_error_containing(&(status, answer), 143, &["invalid webhook URL"]);
    }

    // Unknown hooks.
    assert_hook_error(server.master("GET", "/hooks/functions/nothing", None).await, "no function name: nothing is defined");
    assert_hook_error(
        server.master("PUT", "/hooks/functions/nothing", Some(json!({"url": url}))).await,
        "no function name: nothing is defined",
    );
    assert_hook_error(
        server.master("PUT", "/hooks/functions/nothing", Some(json!({"__op": "Delete"}))).await,
        "no function name: nothing is defined",
    );
    assert_hook_error(
        server.master("GET", "/hooks/triggers/Note/afterSave", None).await,
        "no class Note and trigger afterSave is defined",
    );
    assert_hook_error(
        server.master("PUT", "/hooks/triggers/Note/afterSave", Some(json!({"__op": "Delete"}))).await,
        "no class Note and trigger afterSave is defined",
    );

    // None of that registered anything.
    let (_, functions) = registered(&server, "functions").await;
    assert_eq!(functions, json!([{"functionName": "taken", "url": url}]));
    let (_, triggers) = registered(&server, "triggers").await;
    assert_eq!(triggers, json!([{"className": "Review", "triggerName": "beforeSave", "url": url}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_installation_trigger_hooks_are_refused() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    for class in ["_User", "_Installation"] {
        for trigger in ["beforeSave", "afterSave", "beforeDelete", "afterDelete"] {
            assert_hook_error(
                server
                    .master("POST", "/hooks/triggers", Some(json!({"className": class, "triggerName": trigger, "url": hooks.url("/u")})))
                    .await,
                &format!("webhooks cannot be set for the special class {class}"),
            );
        }
    }
    assert_hook_error(
        server.master("PUT", "/hooks/triggers/_User/beforeSave", Some(json!({"url": hooks.url("/u")}))).await,
        "webhooks cannot be set for the special class _User",
    );
    let (_, triggers) = registered(&server, "triggers").await;
    assert_eq!(triggers, json!([]));
    let (status, _) = server.request("POST", "/users", Some(json!({"username": "u", "password": "p"})), &[]).await;
    assert_eq!(status, 201);
    assert!(hooks.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_needs_the_development_flag_at_registration_and_at_call_time() {
    let plain = WebhookServer::start(None).await;
    plain.answer("/hello", success(json!("over plain http")));
    let http_url = plain.http_url("/hello");

    // Without the flag: refused at registration.
    let Setup { server, hooks, ca_file, _pki } = Setup::start(&[]).await;
    assert_hook_error(
        server.master("POST", "/hooks/functions", Some(json!({"functionName": "plain", "url": http_url}))).await,
        &format!("webhook URL {http_url} is not HTTPS; plain http:// is accepted only when cloudrt runs with --allow-insecure-webhooks"),
    );
    assert_hook_error(
        server.master("POST", "/hooks/triggers", Some(json!({"className": "Note", "triggerName": "beforeSave", "url": http_url}))).await,
        &format!("webhook URL {http_url} is not HTTPS; plain http:// is accepted only when cloudrt runs with --allow-insecure-webhooks"),
    );
    add_function(&server, "secure", &hooks.url("/secure")).await;
    let (status, answer) = server.master("PUT", "/hooks/functions/secure", Some(json!({"url": http_url}))).await;
    assert_error_containing(&(status, answer), 143, &["is not HTTPS"]);
    let (_, functions) = registered(&server, "functions").await;
    assert_eq!(functions, json!([{"functionName": "secure", "url": hooks.url("/secure")}]));
    drop(server);

    // With the flag: announced loudly, accepted and called.
    let server = start_cloudrt(Some(&ca_file), &["--allow-insecure-webhooks"]);
    assert!(server.log().contains("--allow-insecure-webhooks"), "start-up warning: {}", server.log());
    add_function(&server, "plain", &http_url).await;
    assert_eq!(server.call("plain", json!({}), &[]).await, (200, json!({"result": "over plain http"})));
    assert_eq!(plain.seen_at("/hello").len(), 1);

    // Restarted without the flag: the stored http:// registration is not called.
    let server = server.restart(FIXTURE, &["--webhook-key", WEBHOOK_KEY, "--webhook-ca-file", &ca_file.path()]);
    let got = server.call("plain", json!({}), &[]).await;
    assert_error_containing(&got, 141, &["is not HTTPS"]);
    assert_eq!(plain.seen_at("/hello").len(), 1, "no call went out over plain http");
}

// ---------------------------------------------------------------------------------------------
// 2. Function webhooks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_webhook_payload_and_headers() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/hello", success(json!("Hello World!")));
    add_function(&server, "helloWorld", &hooks.url("/hello")).await;
    let (user_id, token) = server.sign_up("Matt", "secret").await;
    let installation = "b3ab24c6-2282-69fa-eeea-c1b36ea497c2";

    // A user with a session token and an installation.
    let got = server
        .call("helloWorld", json!({"foo": "bar", "n": [1, 2.5, null]}), &[
            ("X-Parse-Session-Token", token.as_str()),
            ("X-Parse-Installation-Id", installation),
        ])
        .await;
    assert_eq!(got, (200, json!({"result": "Hello World!"})));
    let seen = hooks.seen_at("/hello");
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.headers.get("x-parse-webhook-key").map(String::as_str), Some(WEBHOOK_KEY), "{:?}", request.headers);
    assert_eq!(request.headers.get("content-type").map(String::as_str), Some("application/json"), "{:?}", request.headers);
    let payload = &request.body;
    assert_eq!(keys(payload), set(&["master", "user", "installationId", "params", "functionName"]), "{payload}");
    assert_eq!(payload["master"], json!(false));
    assert_eq!(payload["installationId"], json!(installation));
    assert_eq!(payload["params"], json!({"foo": "bar", "n": [1, 2.5, null]}));
    assert_eq!(payload["functionName"], json!("helloWorld"));
    let user = &payload["user"];
    assert_eq!(user["objectId"], json!(user_id), "{user}");
    assert_eq!(user["username"], json!("Matt"), "{user}");
    assert_eq!(user["sessionToken"], json!(token), "{user}");
    assert!(user["createdAt"].is_string() && user["updatedAt"].is_string(), "REST format dates: {user}");
    for secret in ["password", "_hashed_password", "hashedPassword"] {
        assert!(user.get(secret).is_none(), "{secret} leaked to the webhook: {user}");
    }

    // The master key: master true, no user even with a session token.
    let got = server
        .call("helloWorld", json!({"userObjectId": user_id}), &[
            MASTER,
            ("X-Parse-Session-Token", token.as_str()),
            ("X-Parse-Installation-Id", installation),
        ])
        .await;
    assert_eq!(got, (200, json!({"result": "Hello World!"})));
    let seen = hooks.seen_at("/hello");
    assert_eq!(
        seen[1].body,
        json!({"master": true, "installationId": installation, "params": {"userObjectId": user_id}, "functionName": "helloWorld"})
    );
    assert_eq!(seen[1].headers.get("x-parse-webhook-key").map(String::as_str), Some(WEBHOOK_KEY));

    // Anonymous, no installation: neither user nor installationId.
    let got = server.call("helloWorld", json!({}), &[]).await;
    assert_eq!(got, (200, json!({"result": "Hello World!"})));
    let seen = hooks.seen_at("/hello");
    assert_eq!(seen[2].body, json!({"master": false, "params": {}, "functionName": "helloWorld"}));
    assert!(seen.iter().all(|s| s.method == "POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_webhook_answers() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    let cases: Vec<(&str, Responder)> = vec![
        ("/string", success(json!("Hello World!"))),
        ("/true", success(json!(true))),
        ("/object", success(json!({"billed": true, "amount": 12.5, "items": ["a", {"b": null}]}))),
        ("/null", success(Value::Null)),
        ("/error", failure("Error message >:(")),
        ("/status-500", raw(500, "text/plain", "database down")),
        ("/status-404", raw(404, "application/json", r#"{"success": "ignored"}"#)),
        ("/not-json", raw(200, "text/html", "<html>hello</html>")),
        ("/neither", raw(200, "application/json", r#"{"result": 1}"#)),
        ("/array", raw(200, "application/json", "[1, 2]")),
    ];
    for (path, responder) in cases {
        hooks.answer(path, responder);
        add_function(&server, &path[1..].replace('-', "_"), &hooks.url(path)).await;
    }

    assert_eq!(server.call("string", json!({}), &[]).await, (200, json!({"result": "Hello World!"})));
    assert_eq!(server.call("true", json!({}), &[]).await, (200, json!({"result": true})));
    assert_eq!(
        server.call("object", json!({}), &[]).await,
        (200, json!({"result": {"billed": true, "amount": 12.5, "items": ["a", {"b": null}]}}))
    );
    assert_eq!(server.call("null", json!({}), &[]).await, (200, json!({"result": null})));

    // {"error": E} → 141 with E, as is.
    assert_eq!(server.call("error", json!({}), &[]).await, (400, json!({"code": 141, "error": "Error message >:("})));

    // Answers outside the contract: 141 with a message naming the webhook and the problem.
    let got = server.call("status_500", json!({}), &[]).await;
    assert_error_containing(&got, 141, &[&hooks.url("/status-500"), "500", "database down"]);
    let got = server.call("status_404", json!({}), &[]).await;
    assert_error_containing(&got, 141, &[&hooks.url("/status-404"), "404"]);
    let got = server.call("not_json", json!({}), &[]).await;
    assert_error_containing(&got, 141, &[&hooks.url("/not-json"), "not JSON"]);
    let got = server.call("neither", json!({}), &[]).await;
    assert_error_containing(&got, 141, &[&hooks.url("/neither"), "neither \"success\" nor \"error\""]);
    let got = server.call("array", json!({}), &[]).await;
    assert_error_containing(&got, 141, &[&hooks.url("/array"), "neither \"success\" nor \"error\""]);

    // A webhook server that is gone: 141 naming the URL.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = format!("https://localhost:{}/gone", closed.local_addr().unwrap().port());
    drop(closed);
    add_function(&server, "gone", &gone).await;
    let got = server.call("gone", json!({}), &[]).await;
    assert_error_containing(&got, 141, &[&gone]);

    // Each function called its webhook exactly once, by POST.
    assert!(hooks.seen().iter().all(|s| s.method == "POST"));
    assert_eq!(hooks.seen().len(), 10, "{:?}", hooks.seen().iter().map(|s| &s.path).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// 3. Priority over cloud code, and fallback
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_webhook_wins_over_cloud_code_until_removed() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/hello", success(json!("from webhook")));
    assert_eq!(server.call("helloWorld", json!({}), &[]).await, (200, json!({"result": "from cloud code"})));

    add_function(&server, "helloWorld", &hooks.url("/hello")).await;
    for _ in 0..3 {
        assert_eq!(server.call("helloWorld", json!({}), &[]).await, (200, json!({"result": "from webhook"})));
    }
    assert_eq!(hooks.seen_at("/hello").len(), 3);
    // Other cloud functions are untouched.
    assert_eq!(server.call("cloudOnly", json!({"a": 1}), &[]).await, (200, json!({"result": {"cloud": true, "params": {"a": 1}}})));

    // A failing webhook does not fall back to cloud code either.
    hooks.answer("/hello", failure("webhook says no"));
    assert_eq!(server.call("helloWorld", json!({}), &[]).await, (400, json!({"code": 141, "error": "webhook says no"})));

    remove_function(&server, "helloWorld").await;
    assert_eq!(server.call("helloWorld", json!({}), &[]).await, (200, json!({"result": "from cloud code"})));
    assert_eq!(hooks.seen_at("/hello").len(), 4, "the removed webhook is not called");
}

/// The priority rule holds "always": also when cloud code calls a function by name with
/// `Parse.Cloud.run` (in Parse Server that call goes through the REST API, so the webhook wins,
/// and a function that exists only as a webhook can be run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_code_running_a_function_by_name_gets_the_webhook_too() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/hello", success(json!("from webhook")));
    hooks.answer("/remote", success(json!("remote only")));
    let run = |name: &str| json!({"name": name, "params": {"x": 1}});
    assert_eq!(server.call("runByName", run("helloWorld"), &[]).await, (200, json!({"result": "from cloud code"})));

    add_function(&server, "helloWorld", &hooks.url("/hello")).await;
    add_function(&server, "remoteOnly", &hooks.url("/remote")).await;
    assert_eq!(
        server.call("runByName", run("helloWorld"), &[]).await,
        (200, json!({"result": "from webhook"})),
        "Parse.Cloud.run('helloWorld') inside cloud code must call the registered webhook"
    );
    assert_eq!(
        server.call("runByName", run("remoteOnly"), &[]).await,
        (200, json!({"result": "remote only"})),
        "Parse.Cloud.run of a webhook-only function inside cloud code"
    );
    assert_eq!(hooks.seen_at("/hello").len(), 1);
    assert_eq!(hooks.seen_at("/remote").len(), 1);

    remove_function(&server, "helloWorld").await;
    assert_eq!(server.call("runByName", run("helloWorld"), &[]).await, (200, json!({"result": "from cloud code"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_webhook_wins_over_cloud_code_until_removed() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/review-save", success(json!({"source": "webhook"})));
    hooks.answer("/review-delete", success(json!(true)));

    let (_, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "one"}))).await;
    assert_eq!(created["source"], json!("cloud code"), "{created}");

    add_trigger(&server, "Review", "beforeSave", &hooks.url("/review-save")).await;
    let (status, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "two"}))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["source"], json!("webhook"), "{created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let (_, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(stored["source"], json!("webhook"), "cloud code's beforeSave did not run: {stored}");
    // A save made by cloud code runs the webhook as well.
    let (status, answer) = server.call("saveReview", json!({"comment": "from cloud"}), &[]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["source"], json!("webhook"), "{answer}");

    // beforeDelete: the cloud code would refuse a locked review; the webhook allows it.
    let (_, locked) = server.master("POST", "/classes/Review", Some(json!({"cloudLocked": true}))).await;
    let locked = locked["objectId"].as_str().unwrap().to_string();
    let (status, answer) = server.master("DELETE", &format!("/classes/Review/{locked}"), None).await;
    assert_eq!((status, answer), (400, json!({"code": 141, "error": "cloud code keeps locked reviews"})));
    add_trigger(&server, "Review", "beforeDelete", &hooks.url("/review-delete")).await;
    let (status, answer) = server.master("DELETE", &format!("/classes/Review/{locked}"), None).await;
    assert_eq!((status, answer), (200, json!({})));
    assert_eq!(hooks.seen_at("/review-delete").len(), 1);

    // Removed: cloud code again, without a restart.
    remove_trigger(&server, "Review", "beforeSave").await;
    remove_trigger(&server, "Review", "beforeDelete").await;
    let (_, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "three"}))).await;
    assert_eq!(created["source"], json!("cloud code"), "{created}");
    let (_, locked) = server.master("POST", "/classes/Review", Some(json!({"cloudLocked": true}))).await;
    let locked = locked["objectId"].as_str().unwrap().to_string();
    let (status, _) = server.master("DELETE", &format!("/classes/Review/{locked}"), None).await;
    assert_eq!(status, 400, "cloud code's beforeDelete is back");
    let (_, answer) = server.call("saveReview", json!({"comment": "from cloud again"}), &[]).await;
    assert_eq!(answer["result"]["source"], json!("cloud code"), "{answer}");
    assert_eq!(hooks.seen_at("/review-save").len(), 3, "the REST create, the cloud code save and the locked one");
}

// ---------------------------------------------------------------------------------------------
// 4. Trigger webhooks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_save_webhook_payload_on_create_and_update() {
    let Setup { server, hooks, .. } = Setup::start(&["--allow-client-class-creation"]).await;
    hooks.answer("/review", success(json!(true)));
    add_trigger(&server, "Review", "beforeSave", &hooks.url("/review")).await;
    let (user_id, token) = server.sign_up("Matt", "secret").await;
    let installation = "b3ab24c6-2282-69fa-eeea-c1b36ea497c2";
    let as_matt = [("X-Parse-Session-Token", token.as_str()), ("X-Parse-Installation-Id", installation)];

    // Create: {"success": true} keeps the object as sent.
    let (status, created) =
        server.request("POST", "/classes/Review", Some(json!({"comment": "short", "stars": 3})), &as_matt).await;
    assert_eq!(status, 201, "{created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let (_, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!((stored["comment"].clone(), stored["stars"].clone()), (json!("short"), json!(3)), "{stored}");
    assert!(stored.get("source").is_none(), "the cloud code beforeSave did not run: {stored}");

    let seen = hooks.seen_at("/review");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].headers.get("x-parse-webhook-key").map(String::as_str), Some(WEBHOOK_KEY));
    assert_eq!(seen[0].headers.get("content-type").map(String::as_str), Some("application/json"));
    let payload = &seen[0].body;
    assert_eq!(keys(payload), set(&["master", "user", "installationId", "triggerName", "object"]), "no original on a create: {payload}");
    assert_eq!(payload["master"], json!(false));
    assert_eq!(payload["triggerName"], json!("beforeSave"));
    assert_eq!(payload["installationId"], json!(installation));
    assert_eq!(payload["user"]["objectId"], json!(user_id));
    assert_eq!(payload["user"]["username"], json!("Matt"));
    assert_eq!(payload["user"]["sessionToken"], json!(token));
    let object = &payload["object"];
    assert_eq!(object["className"], json!("Review"), "{object}");
    assert_eq!((object["comment"].clone(), object["stars"].clone()), (json!("short"), json!(3)), "{object}");
    assert!(object.get("objectId").is_none(), "not saved yet: {object}");

    // Update: the object with the change applied, and the original.
    let (status, updated) =
        server.request("PUT", &format!("/classes/Review/{id}"), Some(json!({"stars": 4})), &as_matt).await;
    assert_eq!(status, 200, "{updated}");
    let seen = hooks.seen_at("/review");
    assert_eq!(seen.len(), 2);
    let payload = &seen[1].body;
    assert_eq!(
        keys(payload),
        set(&["master", "user", "installationId", "triggerName", "object", "original"]),
        "{payload}"
    );
    assert_eq!(payload["triggerName"], json!("beforeSave"));
    let object = &payload["object"];
    assert_eq!(object["className"], json!("Review"), "{object}");
    assert_eq!(object["objectId"], json!(id), "{object}");
    assert_eq!((object["comment"].clone(), object["stars"].clone()), (json!("short"), json!(4)), "{object}");
    let original = &payload["original"];
    assert_eq!(original["objectId"], json!(id), "{original}");
    assert_eq!((original["comment"].clone(), original["stars"].clone()), (json!("short"), json!(3)), "{original}");
    let (_, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(stored["stars"], json!(4));

    // The master key: master true.
    let (status, _) = server.master("PUT", &format!("/classes/Review/{id}"), Some(json!({"stars": 5}))).await;
    assert_eq!(status, 200);
    let seen = hooks.seen_at("/review");
    assert_eq!(seen[2].body["master"], json!(true));
    assert!(seen[2].body.get("installationId").is_none(), "{}", seen[2].body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_save_webhook_can_replace_the_values_to_save() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    // The seed's truncation, plus a changed column, a new column, and server fields the server
    // must ignore.
    hooks.answer(
        "/review",
        truncating(json!({
            "existingColumn": "sneakyChange",
            "newColumn": "sneakyAddition",
            "className": "SomethingElse",
            "objectId": "sneakyId00",
            "createdAt": "2001-01-01T00:00:00.000Z",
        })),
    );
    add_trigger(&server, "Review", "beforeSave", &hooks.url("/review")).await;
    let truncated = format!("{}...", &LONG[..137]);

    let (status, created) =
        server.master("POST", "/classes/Review", Some(json!({"comment": LONG, "existingColumn": "original", "stars": 2}))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["comment"], json!(truncated), "the changed field comes back: {created}");
    assert_eq!(created["existingColumn"], json!("sneakyChange"), "{created}");
    assert_eq!(created["newColumn"], json!("sneakyAddition"), "{created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    assert_ne!(id, "sneakyId00", "objectId is the server's");
    assert_ne!(created["createdAt"], json!("2001-01-01T00:00:00.000Z"), "createdAt is the server's");

    let (status, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["comment"], json!(truncated));
    assert_eq!(stored["existingColumn"], json!("sneakyChange"));
    assert_eq!(stored["newColumn"], json!("sneakyAddition"));
    assert_eq!(stored["stars"], json!(2));
    assert_eq!(stored["objectId"], json!(id));
    assert_ne!(stored["createdAt"], json!("2001-01-01T00:00:00.000Z"));
    assert_ne!(stored.get("className"), Some(&json!("SomethingElse")), "className is ignored: {stored}");
    assert_eq!(count(&server, "SomethingElse").await, 0);
    assert!(stored.get("source").is_none(), "the cloud code beforeSave did not run: {stored}");

    // On an update too.
    let (status, updated) =
        server.master("PUT", &format!("/classes/Review/{id}"), Some(json!({"comment": format!("{LONG} again")}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["comment"], json!(truncated), "{updated}");
    let (_, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(stored["comment"], json!(truncated));
    assert_eq!(count(&server, "Review").await, 1);

    // A short comment: {"success": true}, kept as sent.
    let (status, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "fine"}))).await;
    assert_eq!(status, 201, "{created}");
    let (_, stored) = server.master("GET", &format!("/classes/Review/{}", created["objectId"].as_str().unwrap()), None).await;
    assert_eq!(stored["comment"], json!("fine"));
    assert!(stored.get("newColumn").is_none(), "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_before_save_webhook_error_cancels_the_save() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/review", success(json!(true)));
    add_trigger(&server, "Review", "beforeSave", &hooks.url("/review")).await;
    let (_, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "kept"}))).await;
    let id = created["objectId"].as_str().unwrap().to_string();

    hooks.answer("/review", failure("Review rejected"));
    let got = server.master("POST", "/classes/Review", Some(json!({"comment": "new"}))).await;
    assert_eq!(got, (400, json!({"code": 141, "error": "Review rejected"})));
    let got = server.master("PUT", &format!("/classes/Review/{id}"), Some(json!({"comment": "changed"}))).await;
    assert_eq!(got, (400, json!({"code": 141, "error": "Review rejected"})));
    assert_eq!(count(&server, "Review").await, 1, "nothing was written");
    let (_, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(stored["comment"], json!("kept"), "the update was not written");

    // A broken webhook cancels the save as well.
    hooks.answer("/review", raw(502, "text/plain", "bad gateway"));
    let got = server.master("POST", "/classes/Review", Some(json!({"comment": "new"}))).await;
    assert_error_containing(&got, 141, &[&hooks.url("/review"), "502"]);
    hooks.answer("/review", raw(200, "text/plain", "OK"));
    let got = server.master("POST", "/classes/Review", Some(json!({"comment": "new"}))).await;
    assert_error_containing(&got, 141, &["not JSON"]);
    assert_eq!(count(&server, "Review").await, 1, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_before_delete_webhook_error_cancels_the_delete() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    hooks.answer("/delete", failure("reviews are forever"));
    add_trigger(&server, "Review", "beforeDelete", &hooks.url("/delete")).await;
    let (_, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "keep me", "stars": 1}))).await;
    let id = created["objectId"].as_str().unwrap().to_string();

    let got = server.master("DELETE", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(got, (400, json!({"code": 141, "error": "reviews are forever"})));
    let (status, stored) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(status, 200, "still there: {stored}");

    let seen = hooks.seen_at("/delete");
    assert_eq!(seen.len(), 1);
    let payload = &seen[0].body;
    assert_eq!(keys(payload), set(&["master", "triggerName", "object"]), "{payload}");
    assert_eq!(payload["master"], json!(true));
    assert_eq!(payload["triggerName"], json!("beforeDelete"));
    assert_eq!(payload["object"]["className"], json!("Review"));
    assert_eq!(payload["object"]["objectId"], json!(id));
    assert_eq!(payload["object"]["comment"], json!("keep me"));
    assert_eq!(seen[0].headers.get("x-parse-webhook-key").map(String::as_str), Some(WEBHOOK_KEY));

    hooks.answer("/delete", success(json!(true)));
    let got = server.master("DELETE", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(got, (200, json!({})));
    let (status, _) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_save_and_after_delete_webhooks_run_after_the_write_and_never_fail_the_request() {
    let Setup { server, hooks, .. } = Setup::start(&[]).await;
    add_trigger(&server, "Review", "afterSave", &hooks.url("/after-save")).await;
    add_trigger(&server, "Review", "afterDelete", &hooks.url("/after-delete")).await;

    // Answers the server must not care about.
    hooks.answer("/after-save", failure("afterSave webhook exploded"));
    hooks.answer("/after-delete", raw(500, "text/plain", "afterDelete webhook exploded"));

    let (status, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "saved", "stars": 3}))).await;
    assert_eq!(status, 201, "the afterSave error never reaches the client: {created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let seen = hooks.wait_for("/after-save", 1).await;
    assert_eq!(seen.len(), 1, "afterSave webhook called once");
    let payload = &seen[0].body;
    assert_eq!(payload["triggerName"], json!("afterSave"));
    assert_eq!(payload["master"], json!(true));
    assert_eq!(payload["object"]["className"], json!("Review"));
    assert_eq!(payload["object"]["objectId"], json!(id), "after the write: the saved objectId");
    assert_eq!(payload["object"]["comment"], json!("saved"));
    assert!(payload["object"]["createdAt"].is_string(), "{payload}");
    assert!(payload.get("original").is_none(), "{payload}");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].headers.get("x-parse-webhook-key").map(String::as_str), Some(WEBHOOK_KEY));
    assert_eq!(count(&server, "Review").await, 1);

    // Update: original too; a broken answer still does not fail the request.
    hooks.answer("/after-save", raw(200, "text/plain", "not json at all"));
    let (status, updated) = server.master("PUT", &format!("/classes/Review/{id}"), Some(json!({"stars": 4}))).await;
    assert_eq!(status, 200, "{updated}");
    let seen = hooks.wait_for("/after-save", 2).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].body["object"]["objectId"], json!(id));
    assert_eq!(seen[1].body["object"]["stars"], json!(4));
    assert_eq!(seen[1].body["original"]["stars"], json!(3), "{}", seen[1].body);

    // A failed afterSave webhook is logged.
    hooks.answer("/after-save", raw(503, "text/plain", "unavailable"));
    let (status, _) = server.master("POST", "/classes/Review", Some(json!({"comment": "another"}))).await;
    assert_eq!(status, 201);
    assert!(wait_for_log(&server, "[afterSave Review] webhook").await, "log: {}", server.log());

    // afterDelete: called with the deleted object; its failure never reaches the client.
    let (status, answer) = server.master("DELETE", &format!("/classes/Review/{id}"), None).await;
    assert_eq!((status, answer), (200, json!({})));
    let seen = hooks.wait_for("/after-delete", 1).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body["triggerName"], json!("afterDelete"));
    assert_eq!(seen[0].body["object"]["className"], json!("Review"));
    assert_eq!(seen[0].body["object"]["objectId"], json!(id));
    let (status, _) = server.master("GET", &format!("/classes/Review/{id}"), None).await;
    assert_eq!(status, 404, "deleted before afterDelete");
    assert!(wait_for_log(&server, "[afterDelete Review] webhook").await, "log: {}", server.log());

    // A webhook server that is down entirely does not fail saves either.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = format!("https://localhost:{}/gone", closed.local_addr().unwrap().port());
    drop(closed);
    let (status, _) = server.master("PUT", "/hooks/triggers/Review/afterSave", Some(json!({"url": gone}))).await;
    assert_eq!(status, 200);
    let (status, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "still fine"}))).await;
    assert_eq!(status, 201, "{created}");
}

// ---------------------------------------------------------------------------------------------
// 5. TLS
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_certificates_from_a_trusted_ca_are_accepted() {
    let Setup { server, hooks, ca_file, _pki } = Setup::start(&[]).await;
    let other_ca = Pki::private_ca("some other CA");
    let untrusted = WebhookServer::start(Some(&other_ca)).await;
    let self_signed_pki = Pki::self_signed();
    let self_signed = WebhookServer::start(Some(&self_signed_pki)).await;
    for webhook in [&hooks, &untrusted, &self_signed] {
        webhook.answer("/hello", success(json!("Hello World!")));
    }

    // Registration checks the certificate (a TLS handshake, no request): untrusted ones are
    // refused with 143 and nothing is stored.
    add_function(&server, "trusted", &hooks.url("/hello")).await;
    for (name, webhook) in [("otherCa", &untrusted), ("selfSigned", &self_signed)] {
        let (status, answer) = server
            .master("POST", "/hooks/functions", Some(json!({"functionName": name, "url": webhook.url("/hello")})))
            .await;
        assert_eq!((status, answer["code"].clone()), (400, json!(143)), "{name}: {answer}");
        let message = answer["error"].as_str().unwrap().to_lowercase();
        assert!(message.contains("certificate"), "{name}: a TLS/certificate message: {message}");
        assert!(webhook.seen().is_empty(), "{name}: no request got through");
        let (status, _) = server.master("GET", &format!("/hooks/functions/{name}"), None).await;
        assert_eq!(status, 400, "{name} was not stored");
    }

    // With --webhook-ca-file: the private CA's certificate works.
    assert_eq!(server.call("trusted", json!({}), &[]).await, (200, json!({"result": "Hello World!"})));
    assert_eq!(hooks.seen_at("/hello").len(), 1);

    // At call time too: restarted without --webhook-ca-file, the same registration is refused.
    let server = server.restart(FIXTURE, &["--webhook-key", WEBHOOK_KEY]);
    let got = server.call("trusted", json!({}), &[]).await;
    assert_error_containing(&got, 141, &[&hooks.url("/hello")]);
    assert!(got.1["error"].as_str().unwrap().to_lowercase().contains("certificate"), "{}", got.1);
    assert_eq!(hooks.seen_at("/hello").len(), 1, "no request got through");

    // The development flag accepts any certificate (and says so at start-up).
    let server = server.restart(FIXTURE, &["--webhook-key", WEBHOOK_KEY, "--allow-insecure-webhooks"]);
    assert_eq!(server.call("trusted", json!({}), &[]).await, (200, json!({"result": "Hello World!"})));
    add_function(&server, "selfSigned", &self_signed.url("/hello")).await;
    assert_eq!(server.call("selfSigned", json!({}), &[]).await, (200, json!({"result": "Hello World!"})));
    drop(ca_file);
}

// ---------------------------------------------------------------------------------------------
// 6. Timeout
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_past_the_timeout_gets_124_while_other_requests_flow() {
    let Setup { server, hooks, .. } = Setup::start(&["--webhook-timeout", "1"]).await;
    hooks.answer("/slow", slow(Duration::from_secs(3), json!("too late")));
    hooks.answer("/fast", success(json!("quick")));
    add_function(&server, "slowFn", &hooks.url("/slow")).await;
    add_function(&server, "fastFn", &hooks.url("/fast")).await;

    let started = Instant::now();
    let slow_call = async {
        let got = server.call("slowFn", json!({}), &[]).await;
        (got, started.elapsed())
    };
    let others = async {
        // Wait until the slow webhook has the request, then use the server meanwhile.
        let seen = hooks.wait_for("/slow", 1).await;
        assert_eq!(seen.len(), 1, "the slow webhook was called");
        let mut finished = Vec::new();
        for round in 0..3 {
            let t = Instant::now();
            let got = server.request("GET", "/health", None, &[]).await;
            assert_eq!(got, (200, json!({"status": "ok"})), "round {round}");
            finished.push(("health", t.elapsed(), started.elapsed()));

            let t = Instant::now();
            assert_eq!(server.call("fastFn", json!({}), &[]).await, (200, json!({"result": "quick"})));
            finished.push(("fast webhook", t.elapsed(), started.elapsed()));

            let t = Instant::now();
            assert_eq!(server.call("helloWorld", json!({}), &[]).await, (200, json!({"result": "from cloud code"})));
            finished.push(("cloud function", t.elapsed(), started.elapsed()));
        }
        finished
    };
    let (((status, answer), elapsed), finished) = tokio::join!(slow_call, others);

    assert_error_containing(&(status, answer.clone()), 124, &[&hooks.url("/slow")]);
    assert!(elapsed >= Duration::from_millis(900), "answered before the timeout: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(2500), "124 comes at the timeout (1 s), not when the webhook answers: {elapsed:?}");
    for (what, took, at) in finished {
        assert!(took < Duration::from_millis(750), "{what} took {took:?} while the slow webhook was pending");
        assert!(at < elapsed, "{what} finished at {at:?}, after the slow call ({elapsed:?})");
    }
    assert!(wait_for_log(&server, "timed out").await, "the timeout is logged: {}", server.log());

    // A beforeSave webhook past the timeout: 124, nothing written.
    add_trigger(&server, "Slow", "beforeSave", &hooks.url("/slow")).await;
    let t = Instant::now();
    let got = server.master("POST", "/classes/Slow", Some(json!({"a": 1}))).await;
    assert_error_containing(&got, 124, &[]);
    assert!(t.elapsed() < Duration::from_millis(2500), "{:?}", t.elapsed());
    let (_, answer) = server.master("GET", "/classes/Slow?count=1", None).await;
    assert_eq!(answer["count"].as_i64().unwrap_or(0), 0, "nothing written: {answer}");

    // An afterSave webhook past the timeout: the save stands, the client never sees the 124.
    add_trigger(&server, "SlowAfter", "afterSave", &hooks.url("/slow")).await;
    let t = Instant::now();
    let (status, created) = server.master("POST", "/classes/SlowAfter", Some(json!({"a": 1}))).await;
    assert_eq!(status, 201, "{created}");
    assert!(t.elapsed() < Duration::from_millis(2500), "{:?}", t.elapsed());
    assert_eq!(count(&server, "SlowAfter").await, 1);
}

// ---------------------------------------------------------------------------------------------
// 7. Durability
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_survive_a_restart() {
    let setup = Setup::start(&[]).await;
    setup.hooks.answer("/hello", success(json!("from webhook")));
    setup.hooks.answer("/review", success(json!({"source": "webhook"})));
    add_function(&setup.server, "helloWorld", &setup.hooks.url("/hello")).await;
    add_trigger(&setup.server, "Review", "beforeSave", &setup.hooks.url("/review")).await;
    add_function(&setup.server, "changed", &setup.hooks.url("/old")).await;
    setup.server.master("PUT", "/hooks/functions/changed", Some(json!({"url": setup.hooks.url("/hello")}))).await;
    add_function(&setup.server, "removed", &setup.hooks.url("/hello")).await;
    remove_function(&setup.server, "removed").await;

    let setup = setup.restart(&[]);
    let (server, hooks) = (&setup.server, &setup.hooks);
    let (_, functions) = registered(server, "functions").await;
    assert_eq!(
        sorted_array(&functions),
        vec![
            json!({"functionName": "changed", "url": hooks.url("/hello")}),
            json!({"functionName": "helloWorld", "url": hooks.url("/hello")}),
        ]
    );
    let (_, triggers) = registered(server, "triggers").await;
    assert_eq!(triggers, json!([{"className": "Review", "triggerName": "beforeSave", "url": hooks.url("/review")}]));

    assert_eq!(server.call("helloWorld", json!({}), &[]).await, (200, json!({"result": "from webhook"})), "the webhook still wins");
    assert_eq!(server.call("changed", json!({}), &[]).await, (200, json!({"result": "from webhook"})), "the changed URL was kept");
    let (status, answer) = server.call("removed", json!({}), &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(141)), "the removal was kept: {answer}");
    let (_, created) = server.master("POST", "/classes/Review", Some(json!({"comment": "after restart"}))).await;
    assert_eq!(created["source"], json!("webhook"), "{created}");

    // A removal after the restart is durable too.
    remove_function(server, "helloWorld").await;
    let setup = setup.restart(&[]);
    assert_eq!(setup.server.call("helloWorld", json!({}), &[]).await, (200, json!({"result": "from cloud code"})));
    let (_, triggers) = registered(&setup.server, "triggers").await;
    assert_eq!(triggers.as_array().map(Vec::len), Some(1));
}
