//! Parse roles over real HTTP: `role:` ACL entries granting to members, to members of child
//! roles and around role cycles, revoked as soon as a membership or a role goes; `_Role`'s
//! rules (name and ACL required, names validated, unique and fixed); `/roles` routes; and
//! `Parse.Role` from cloud code.

mod common;

use std::time::Duration;

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

fn pointers(class: &str, ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"__type": "Pointer", "className": class, "objectId": id})).collect())
}

/// Creates a publicly readable role holding `users`; answers its id.
async fn make_role(server: &Server, name: &str, users: &[&str]) -> String {
    let body = json!({
        "name": name,
        "ACL": {"*": {"read": true}},
        "users": {"__op": "AddRelation", "objects": pointers("_User", users)},
    });
    let (status, created) = server.master("POST", "/roles", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["objectId"].as_str().unwrap().to_string()
}

/// Makes `child` a child of `parent`: members of `child` become members of `parent`.
async fn add_child(server: &Server, parent: &str, child: &str) {
    let body = json!({"roles": {"__op": "AddRelation", "objects": pointers("_Role", &[child])}});
    let (status, answer) = server.master("PUT", &format!("/roles/{parent}"), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
}

/// The `text` of every `Secret` the holder of `token` may read, sorted; bounded in time so a
/// role cycle that hung the server fails the test instead of hanging it.
async fn visible(server: &Server, token: &str) -> Vec<String> {
    let headers = [("X-Parse-Session-Token", token)];
    let read = server.request("GET", "/classes/Secret", None, &headers);
    let (status, body) = tokio::time::timeout(Duration::from_secs(20), read).await.expect("the query answers");
    assert_eq!(status, 200, "{body}");
    let mut texts: Vec<String> =
        body["results"].as_array().unwrap().iter().map(|o| o["text"].as_str().unwrap().to_string()).collect();
    texts.sort();
    texts
}

async fn secret(server: &Server, text: &str, acl: Value) -> String {
    let (status, created) = server.master("POST", "/classes/Secret", Some(json!({"text": text, "ACL": acl}))).await;
    assert_eq!(status, 201, "{created}");
    created["objectId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn role_acls_grant_members_and_child_roles_and_survive_cycles() {
    let server = Server::start("basics", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let (_, bob_token) = server.sign_up("bob", "pw").await;
    let (carol, carol_token) = server.sign_up("carol", "pw").await;
    let (dave, dave_token) = server.sign_up("dave", "pw").await;

    let moderators = make_role(&server, "Moderators", &[&alice]).await;
    let juniors = make_role(&server, "Juniors", &[&carol]).await;
    add_child(&server, &moderators, &juniors).await;
    let mods_only = secret(&server, "mods", json!({"role:Moderators": {"read": true, "write": true}})).await;
    secret(&server, "juniors", json!({"role:Juniors": {"read": true}})).await;
    secret(&server, "trainees", json!({"role:Trainees": {"read": true}})).await;

    assert_eq!(visible(&server, &alice_token).await, ["mods"], "a direct member");
    assert_eq!(visible(&server, &bob_token).await, Vec::<String>::new(), "not a member");
    assert_eq!(visible(&server, &carol_token).await, ["juniors", "mods"], "a member of a child role");
    let (status, answer) = server.request("GET", &format!("/classes/Secret/{mods_only}"), None, &[("X-Parse-Session-Token", &bob_token)]).await;
    assert_eq!((status, answer["code"].clone()), (404, json!(101)), "{answer}");

    // Role write grants too: a member may update, a non-member may not.
    let (status, answer) = server
        .request("PUT", &format!("/classes/Secret/{mods_only}"), Some(json!({"seen": true})), &[("X-Parse-Session-Token", &bob_token)])
        .await;
    assert_eq!((status, answer["code"].clone()), (404, json!(101)), "{answer}");
    let (status, answer) = server
        .request("PUT", &format!("/classes/Secret/{mods_only}"), Some(json!({"seen": true})), &[("X-Parse-Session-Token", &carol_token)])
        .await;
    assert_eq!(status, 200, "{answer}");

    // A cycle: Moderators ∋ Juniors ∋ Trainees ∋ Moderators. Everyone in it holds all three.
    let trainees = make_role(&server, "Trainees", &[&dave]).await;
    add_child(&server, &juniors, &trainees).await;
    add_child(&server, &trainees, &moderators).await;
    for token in [&alice_token, &carol_token, &dave_token] {
        assert_eq!(visible(&server, token).await, ["juniors", "mods", "trainees"]);
    }
    assert!(visible(&server, &bob_token).await.is_empty());

    // Removing a user from a role revokes at once; so does deleting a role.
    let body = json!({"users": {"__op": "RemoveRelation", "objects": pointers("_User", &[&alice])}});
    let (status, answer) = server.master("PUT", &format!("/roles/{moderators}"), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(visible(&server, &alice_token).await.is_empty(), "alice left Moderators");
    let (status, answer) = server.master("DELETE", &format!("/roles/{trainees}"), None).await;
    assert_eq!(status, 200, "{answer}");
    assert!(visible(&server, &dave_token).await.is_empty(), "dave's only role is gone");
    assert_eq!(visible(&server, &carol_token).await, ["juniors", "mods"], "the cycle is broken");

    // Memberships are stored: they hold after a crash and restart.
    let server = server.restart("basics", &[]);
    assert_eq!(visible(&server, &carol_token).await, ["juniors", "mods"]);
    assert!(visible(&server, &bob_token).await.is_empty());
}

#[tokio::test]
async fn roles_routes_serve_the_role_class() {
    let server = Server::start("basics", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let id = make_role(&server, "Editors", &[&alice]).await;
    let (status, created) = server.master("POST", "/roles", Some(json!({"name": "Writers", "ACL": {}}))).await;
    assert_eq!(status, 201, "{created}");
    let writers = created["objectId"].as_str().unwrap();
    let (status, answer) = server.request("GET", &format!("/roles/{writers}"), None, &[("X-Parse-Session-Token", &alice_token)]).await;
    assert_eq!((status, answer["code"].clone()), (404, json!(101)), "a role readable by nobody: {answer}");

    let (status, found) = server.request("GET", "/roles", None, &[("X-Parse-Session-Token", &alice_token)]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["results"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["results"][0]["name"], json!("Editors"));
    let (status, got) = server.request("GET", &format!("/roles/{id}"), None, &[]).await;
    assert_eq!((status, got["name"].clone()), (200, json!("Editors")), "{got}");
    let (status, same) = server.request("GET", &format!("/classes/_Role/{id}"), None, &[]).await;
    assert_eq!((status, same), (200, got));

    // The role's own ACL (public read only) protects it like any row.
    let (status, answer) = server.request("PUT", &format!("/roles/{id}"), Some(json!({"x": 1})), &[("X-Parse-Session-Token", &alice_token)]).await;
    assert_eq!((status, answer["code"].clone()), (404, json!(101)), "{answer}");
    let (status, answer) = server.request("DELETE", &format!("/roles/{id}"), None, &[]).await;
    assert_eq!((status, answer["code"].clone()), (404, json!(101)), "{answer}");
    let (status, answer) = server.master("DELETE", &format!("/roles/{id}"), None).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = server.request("GET", &format!("/roles/{id}"), None, &[]).await;
    assert_eq!((status, answer["code"].clone()), (404, json!(101)), "{answer}");
}

#[tokio::test]
async fn role_names_are_required_valid_unique_and_fixed() {
    let server = Server::start("basics", &[]);
    let id = make_role(&server, "Moderators", &[]).await;
    let acl = json!({"*": {"read": true}});
    let invalid = "A role's name can be only contain alphanumeric characters, _, -, and spaces.";
    let cases = [
        (json!({"ACL": acl}), 111, "name is required."),
        (json!({"name": "", "ACL": acl}), 111, "name is required."),
        (json!({"name": "Staff"}), 111, "ACL is required."),
        (json!({"name": "a/b", "ACL": acl}), -1, invalid),
        (json!({"name": "role:Admins", "ACL": acl}), -1, invalid),
        (json!({"name": "Admins\n", "ACL": acl}), -1, invalid),
        (json!({"name": "Modérateurs", "ACL": acl}), -1, invalid),
        (json!({"name": "Moderators", "ACL": acl}), 137, "A duplicate value for a field with unique values was provided"),
    ];
    for (body, code, message) in cases {
        for path in ["/roles", "/classes/_Role"] {
            let (status, answer) = server.master("POST", path, Some(body.clone())).await;
            assert_eq!((status, answer["code"].clone(), answer["error"].clone()), (400, json!(code), json!(message)), "{path} {body}");
        }
    }
    let (status, answer) = server.master("POST", "/roles", Some(json!({"name": 7, "ACL": acl}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(111)), "a number is no name: {answer}");

    let (status, answer) = server.master("PUT", &format!("/roles/{id}"), Some(json!({"name": "Admins"}))).await;
    assert_eq!(
        (status, answer["code"].clone(), answer["error"].clone()),
        (400, json!(-1), json!("A role's name can only be set before it has been saved.")),
        "{answer}"
    );
    let (status, answer) = server.master("PUT", &format!("/classes/_Role/{id}"), Some(json!({"name": {"__op": "Delete"}}))).await;
    assert_eq!((status, answer["code"].clone(), answer["error"].clone()), (400, json!(111), json!("name is required.")));
    let (status, answer) = server.master("PUT", &format!("/roles/{id}"), Some(json!({"name": "Moderators", "note": "same name"}))).await;
    assert_eq!(status, 200, "saving the same name is no rename: {answer}");

    let (status, found) = server.master("GET", "/roles", None).await;
    assert_eq!(status, 200);
    let names: Vec<&Value> = found["results"].as_array().unwrap().iter().map(|r| &r["name"]).collect();
    assert_eq!(names, [&json!("Moderators")], "nothing else was stored: {found}");
    let (_, schema) = server.master("GET", "/schemas/_Role", None).await;
    assert!(schema["fields"].get("note").is_some() && schema["fields"].as_object().unwrap().len() <= 8, "{schema}");
}

#[tokio::test]
async fn parse_role_from_cloud_code() {
    let server = Server::start("roles", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let (carol, carol_token) = server.sign_up("carol", "pw").await;
    let (_, bob_token) = server.sign_up("bob", "pw").await;
    let master = [("X-Parse-Master-Key", MASTER_KEY)];

    let (status, made) = server.call("makeRole", json!({"name": "Moderators", "userIds": [alice]}), &master).await;
    assert_eq!(status, 200, "{made}");
    let moderators = made["result"]["id"].as_str().unwrap().to_string();
    assert_eq!(made["result"]["name"], json!("Moderators"));
    let (status, made) = server.call("makeRole", json!({"name": "Juniors", "userIds": [carol], "childOf": moderators}), &master).await;
    assert_eq!(status, 200, "{made}");
    secret(&server, "mods", json!({"role:Moderators": {"read": true}})).await;

    for (token, expected) in [(&alice_token, json!(["mods"])), (&carol_token, json!(["mods"])), (&bob_token, json!([]))] {
        let (status, answer) = server.call("mySecrets", json!({}), &[("X-Parse-Session-Token", token)]).await;
        assert_eq!((status, answer["result"].clone()), (200, expected), "{answer}");
    }
    let (status, answer) = server.call("makeRole", json!({"name": "bad/name"}), &master).await;
    assert_eq!(answer["code"], json!(-1), "{status} {answer}");
}

#[tokio::test]
async fn concurrent_creates_of_one_role_name_store_one() {
    let server = Server::start("basics", &[]);
    let body = json!({"name": "Admins", "ACL": {"*": {"read": true}}});
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let (client, url, body) = (server.client.clone(), server.url.clone(), body.to_string());
            tokio::spawn(async move {
                let response = client
                    .post(format!("{url}/roles"))
                    .header("X-Parse-Application-Id", APP_ID)
                    .header("X-Parse-Master-Key", MASTER_KEY)
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                (response.status().as_u16(), response.json::<Value>().await.expect("JSON"))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for attempt in attempts {
        answers.push(attempt.await.unwrap());
    }
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, answer) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!((*status, answer["code"].clone()), (400, json!(137)), "{answer}");
    }
    let (_, found) = server.master("GET", "/roles?count=1&limit=0", None).await;
    assert_eq!(found["count"], json!(1), "{found}");
}
