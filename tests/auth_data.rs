//! authData over real HTTP: anonymous sign-up and log-in, linking and unlinking providers, an
//! identity held by another user (208), the app's own provider validated by cloud code
//! (fixture `auth_data`), and malformed or unsupported authData refused with nothing stored.

mod common;

use common::Server;
use serde_json::{json, Value};

async fn user_count(server: &Server) -> u64 {
    let (status, body) = server.master("GET", "/classes/_User?count=1&limit=0", None).await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().unwrap()
}

#[tokio::test]
async fn anonymous_sign_up_then_log_in_with_the_same_identity() {
    let server = Server::start("auth_data", &[]);
    let anonymous = json!({"authData": {"anonymous": {"id": "device-1"}}});
    let (status, created) = server.request("POST", "/users", Some(anonymous.clone()), &[]).await;
    assert_eq!(status, 201, "{created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let username = created["username"].as_str().expect("a generated username").to_string();
    assert_eq!(username.len(), 25, "{username}");
    let first = created["sessionToken"].as_str().unwrap().to_string();

    let (status, again) = server.request("POST", "/users", Some(anonymous), &[]).await;
    assert_eq!(status, 200, "a second sign-up with one identity is its log-in: {again}");
    assert_eq!(again["objectId"], json!(id));
    assert_eq!(again["username"], json!(username));
    assert_eq!(again["authData"], json!({"anonymous": {"id": "device-1"}}), "the user sees their own authData");
    let second = again["sessionToken"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(user_count(&server).await, 1);

    let (status, session) = server.request("GET", "/sessions/me", None, &[("X-Parse-Session-Token", &second)]).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["createdWith"], json!({"action": "login", "authProvider": "anonymous"}));

    // Nobody else reads it, nor finds a user by it, even where the user is public.
    let public = json!({"ACL": {"*": {"read": true}, id.clone(): {"read": true, "write": true}}});
    let (status, body) = server.master("PUT", &format!("/users/{id}"), Some(public)).await;
    assert_eq!(status, 200, "{body}");
    let (_, other) = server.sign_up("other", "pw").await;
    let (status, seen) = server.request("GET", &format!("/users/{id}"), None, &[("X-Parse-Session-Token", &other)]).await;
    assert_eq!(status, 200, "{seen}");
    assert!(seen.get("authData").is_none(), "{seen}");
    let where_ = urlencode(&json!({"authData.anonymous.id": "device-1"}));
    let (status, refused) = server.request("GET", &format!("/users?where={where_}"), None, &[("X-Parse-Session-Token", &other)]).await;
    assert_eq!((status, refused["code"].clone()), (400, json!(119)), "{refused}");

    // The identity survives a restart: still a log-in, not a new user.
    let server = server.restart("auth_data", &[]);
    let (status, after) = server.request("POST", "/users", Some(json!({"authData": {"anonymous": {"id": "device-1"}}})), &[]).await;
    assert_eq!((status, after["objectId"].clone()), (200, json!(id)), "{after}");
}

fn urlencode(value: &Value) -> String {
    form_urlencoded::byte_serialize(value.to_string().as_bytes()).collect()
}

#[tokio::test]
async fn linking_unlinking_and_an_identity_held_by_another_user() {
    let server = Server::start("auth_data", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let (_, bob_token) = server.sign_up("bob", "pw").await;
    let as_alice = [("X-Parse-Session-Token", alice_token.as_str())];

    let link = json!({"authData": {"myProvider": {"id": "a1", "token": "valid-a1"}}});
    let (status, body) = server.request("PUT", &format!("/users/{alice}"), Some(link.clone()), &as_alice).await;
    assert_eq!(status, 200, "{body}");
    let link_anon = json!({"authData": {"anonymous": {"id": "alice-phone"}}});
    let (status, body) = server.request("PUT", &format!("/users/{alice}"), Some(link_anon), &as_alice).await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = server.request("GET", "/users/me", None, &as_alice).await;
    assert_eq!(me["authData"], json!({"myProvider": {"id": "a1", "token": "valid-a1"}, "anonymous": {"id": "alice-phone"}}), "links add up");

    // Log-in by the linked identity, with no password.
    let (status, login) = server.request("POST", "/users", Some(link.clone()), &[]).await;
    assert_eq!((status, login["objectId"].clone(), login["username"].clone()), (200, json!(alice), json!("alice")), "{login}");

    // Bob may neither link Alice's identity nor sign up with it as someone new.
    let (_, bob) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &bob_token)]).await;
    let bob = bob["objectId"].as_str().unwrap().to_string();
    let (status, refused) = server.request("PUT", &format!("/users/{bob}"), Some(link.clone()), &[("X-Parse-Session-Token", &bob_token)]).await;
    assert_eq!((status, refused.clone()), (400, json!({"code": 208, "error": "this auth is already used"})), "{refused}");
    let both = json!({"authData": {"anonymous": {"id": "alice-phone"}, "myProvider": {"id": "b1", "token": "valid-b1"}}});
    let (_, bob_link) = server.request("PUT", &format!("/users/{bob}"), Some(json!({"authData": {"myProvider": {"id": "b1", "token": "valid-b1"}}})), &[("X-Parse-Session-Token", &bob_token)]).await;
    assert!(bob_link.get("code").is_none(), "{bob_link}");
    let (status, refused) = server.request("POST", "/users", Some(both), &[]).await;
    assert_eq!((status, refused["code"].clone()), (400, json!(208)), "identities of two users: {refused}");

    // Unlinking one provider keeps the other; the unlinked identity is free again.
    let unlink = json!({"authData": {"anonymous": null}});
    let (status, body) = server.request("PUT", &format!("/users/{alice}"), Some(unlink), &as_alice).await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = server.request("GET", "/users/me", None, &as_alice).await;
    assert_eq!(me["authData"], json!({"myProvider": {"id": "a1", "token": "valid-a1"}}));
    let (status, fresh) = server.request("POST", "/users", Some(json!({"authData": {"anonymous": {"id": "alice-phone"}}})), &[]).await;
    assert_eq!(status, 201, "a released identity signs a new user up: {fresh}");
    assert_ne!(fresh["objectId"], json!(alice));
}

#[tokio::test]
async fn cloud_code_adapters_validate_and_choose_what_is_stored() {
    let server = Server::start("auth_data", &[]);
    let before = user_count(&server).await;
    let (status, refused) = server.request("POST", "/users", Some(json!({"authData": {"myProvider": {"id": "x", "token": "forged"}}})), &[]).await;
    assert_eq!((status, refused.clone()), (404, json!({"code": 101, "error": "myProvider auth is invalid for this user."})), "{refused}");
    let (status, refused) = server.request("POST", "/users", Some(json!({"authData": {"rotating": {"id": "r"}}})), &[]).await;
    assert_eq!((status, refused.clone()), (400, json!({"code": 141, "error": "rotating needs a token"})), "{refused}");
    assert_eq!(user_count(&server).await, before, "a refused identity stores nothing");

    let (status, created) = server.request("POST", "/users", Some(json!({"authData": {"rotating": {"id": "r", "token": "t"}}})), &[]).await;
    assert_eq!(status, 201, "{created}");
    let token = created["sessionToken"].as_str().unwrap();
    let (_, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", token)]).await;
    assert_eq!(me["authData"], json!({"rotating": {"id": "r", "token": "server-t"}}), "the adapter's save is stored");
}

#[tokio::test]
async fn malformed_and_unsupported_auth_data_is_refused_with_nothing_stored() {
    let server = Server::start("auth_data", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let before = user_count(&server).await;
    let unsupported = json!({"code": 252, "error": "This authentication method is unsupported."});
    let cases = [
        (json!({"authData": {"facebook": {"id": "f", "access_token": "t"}}}), 252),
        (json!({"authData": null}), 252),
        (json!({"authData": "anonymous"}), 111),
        (json!({"authData": {"anonymous": "device"}}), 107),
        (json!({"authData": {"anonymous": {}}}), 107),
        (json!({"authData": {"anonymous": {"id": ""}}}), 107),
        (json!({"authData": {"bad name": {"id": "1"}}}), 107),
        (json!({"authData": {"anonymous": {"id": "x".repeat(5000)}}}), 107),
        (json!({"authData": {"anonymous": null}}), 200),
    ];
    for (body, code) in cases {
        let (status, refused) = server.request("POST", "/users", Some(body.clone()), &[]).await;
        assert_eq!((status, refused["code"].clone()), (400, json!(code)), "{body}: {refused}");
        if code == 252 {
            assert_eq!(refused, unsupported);
        }
    }
    let (status, refused) = server
        .request("PUT", &format!("/users/{alice}"), Some(json!({"authData": {"facebook": {"id": "f"}}})), &[("X-Parse-Session-Token", &alice_token)])
        .await;
    assert_eq!((status, refused["code"].clone()), (400, json!(252)), "{refused}");
    let (_, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &alice_token)]).await;
    assert!(me.get("authData").is_none(), "{me}");
    assert_eq!(user_count(&server).await, before);
}
