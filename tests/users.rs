//! Users and sessions over real HTTP: sign-up, log-in, `users/me`, log-out, `sessions/me`,
//! session tokens in headers and SDK bodies, and what one user may do to another.

mod common;

use common::{Server, APP_ID};
use serde_json::{json, Value};

#[tokio::test]
async fn sign_up_log_in_me_log_out() {
    let server = Server::start("basics", &[]);
    let (status, created) = server
        .request("POST", "/users", Some(json!({"username": "cooldude6", "password": "p_n7!-e8", "phone": "415-392-0202"})), &[])
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["sessionToken"].as_str().unwrap().to_string();
    assert!(token.starts_with("r:"), "{token}");
    assert_eq!(created["objectId"].as_str().unwrap().len(), 10);
    assert!(created.get("password").is_none());

    let (status, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["username"].clone(), me["phone"].clone(), me["sessionToken"].clone()), (json!("cooldude6"), json!("415-392-0202"), json!(token)));
    assert!(me.get("password").is_none() && me.get("_hashed_password").is_none(), "{me}");

    let (status, login) = server.request("GET", "/login?username=cooldude6&password=p_n7!-e8", None, &[]).await;
    assert_eq!(status, 200, "{login}");
    let second = login["sessionToken"].as_str().unwrap().to_string();
    assert_ne!(second, token, "each log-in is a new session");
    let (status, login) = server.request("POST", "/login", Some(json!({"username": "cooldude6", "password": "p_n7!-e8"})), &[]).await;
    assert_eq!(status, 200, "{login}");

    let (status, session) = server.request("GET", "/sessions/me", None, &[("X-Parse-Session-Token", &second)]).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["sessionToken"], json!(second));
    assert_eq!(session["user"]["objectId"], created["objectId"]);

    let (status, _) = server.request("POST", "/logout", None, &[("X-Parse-Session-Token", &second)]).await;
    assert_eq!(status, 200);
    let (status, answer) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &second)]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(209)), "a logged-out token is invalid");
    let (status, _) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 200, "other sessions live on");

    // The SDK sends the token in the body.
    let body = json!({"_ApplicationId": APP_ID, "_SessionToken": token, "_method": "GET"});
    let (status, me) = server.post("/users/me", body.to_string(), &[], false).await;
    assert_eq!((status, me["username"].clone()), (200, json!("cooldude6")));
}

#[tokio::test]
async fn sign_up_and_log_in_errors() {
    let server = Server::start("basics", &[]);
    server.sign_up("taken", "pw").await;
    let cases = [
        (json!({"password": "pw"}), 200),
        (json!({"username": "", "password": "pw"}), 200),
        (json!({"username": "x"}), 201),
        (json!({"username": "x", "password": ""}), 201),
        (json!({"username": "taken", "password": "pw"}), 202),
        (json!({"username": "y", "password": "pw", "email": "not-an-email"}), 125),
        (json!({"username": 5, "password": "pw"}), 200),
    ];
    for (body, code) in cases {
        let (status, answer) = server.request("POST", "/users", Some(body.clone()), &[]).await;
        assert_eq!((status, answer["code"].clone()), (400, json!(code)), "{body}: {answer}");
    }
    server.request("POST", "/users", Some(json!({"username": "e1", "password": "pw", "email": "a@b.co"})), &[]).await;
    let (_, answer) = server.request("POST", "/users", Some(json!({"username": "e2", "password": "pw", "email": "a@b.co"})), &[]).await;
    assert_eq!(answer["code"], json!(203));
    for query in ["username=taken&password=wrong", "username=nobody&password=pw"] {
        let (status, answer) = server.request("GET", &format!("/login?{query}"), None, &[]).await;
        assert_eq!((status, answer), (404, json!({"code": 101, "error": "Invalid username/password."})), "{query}");
    }
    let (status, answer) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", "r:nope")]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(209)));
    let (status, answer) = server.request("GET", "/users/me", None, &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(209)));
    let (status, answer) = server.request("GET", "/classes/Anything", None, &[("X-Parse-Session-Token", "r:nope")]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(209)), "a bad token is refused everywhere");
}

#[tokio::test]
async fn users_cannot_touch_each_other() {
    let server = Server::start("basics", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw-a").await;
    let (bob, bob_token) = server.sign_up("bob", "pw-b").await;
    let as_bob = [("X-Parse-Session-Token", bob_token.as_str())];
    let as_alice = [("X-Parse-Session-Token", alice_token.as_str())];

    let (status, _) = server.request("GET", &format!("/users/{alice}"), None, &as_bob).await;
    assert_eq!(status, 404, "bob cannot read alice's row");
    let (status, _) = server.request("PUT", &format!("/users/{alice}"), Some(json!({"username": "owned"})), &as_bob).await;
    assert_eq!(status, 400);
    let (status, answer) = server.request("DELETE", &format!("/users/{alice}"), None, &as_bob).await;
    assert_eq!((status, answer), (400, json!({"code": 206, "error": "Insufficient auth."})), "Parse Server's answer");
    let (status, answer) = server.request("DELETE", &format!("/users/{alice}"), None, &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(206)), "{answer}");
    let (_, list) = server.request("GET", "/users", None, &as_bob).await;
    let names: Vec<Value> = list["results"].as_array().unwrap().iter().map(|u| u["username"].clone()).collect();
    assert_eq!(names, vec![json!("bob")], "queries show only readable users");
    let (_, sessions) = server.request("GET", "/sessions", None, &as_bob).await;
    let sessions = sessions["results"].as_array().unwrap();
    assert!(sessions.iter().all(|s| s["user"]["objectId"] == json!(bob)), "only bob's sessions: {sessions:?}");
    assert!(!sessions.is_empty());
    let (_, raw) = server.master("GET", &format!("/users/{alice}"), None).await;
    assert!(raw.get("_hashed_password").is_none() && raw.get("password").is_none(), "never returned, even to the master key: {raw}");

    let (status, answer) = server.request("PUT", &format!("/users/{alice}"), Some(json!({"password": "new-pw", "city": "Paris"})), &as_alice).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = server.request("GET", "/login?username=alice&password=pw-a", None, &[]).await;
    assert_eq!(status, 404, "the old password no longer works");
    let (status, _) = server.request("GET", "/login?username=alice&password=new-pw", None, &[]).await;
    assert_eq!(status, 200);
    let (status, answer) = server.request("PUT", &format!("/users/{alice}"), Some(json!({"username": "bob"})), &as_alice).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(202)), "{answer}");
}
