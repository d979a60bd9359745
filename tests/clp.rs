//! Class-level permissions over real HTTP: set through the schema API and enforced on every
//! request without the master key — queries, gets, counts, creates, updates, deletes and new
//! fields; by `*`, user id, `role:` and `requiresAuthentication`; pointer permissions
//! (`readUserFields`/`writeUserFields`, `pointerFields`); `protectedFields` stripped from
//! answers and refused in `where`/`order`; through `/batch`, cloud code, `include` and
//! subqueries too. A malformed CLP is a 107 that changes nothing.

mod common;

use common::{Server, url_encode};
use serde_json::{json, Value};

fn token(token: &str) -> [(&str, &str); 1] {
    [("X-Parse-Session-Token", token)]
}

fn user_pointer(id: &str) -> Value {
    json!({"__type": "Pointer", "className": "_User", "objectId": id})
}

/// Makes `class` with a `text` field, the given extra fields and CLP.
async fn locked_class(server: &Server, class: &str, fields: Value, clp: Value) {
    let mut all = json!({"text": {"type": "String"}});
    all.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    let body = json!({"fields": all, "classLevelPermissions": clp});
    let (status, answer) = server.master("POST", &format!("/schemas/{class}"), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
}

async fn add(server: &Server, class: &str, body: Value) -> String {
    let (status, created) = server.master("POST", &format!("/classes/{class}"), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["objectId"].as_str().unwrap().to_string()
}

async fn texts(server: &Server, class: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let (status, body) = server.request("GET", &format!("/classes/{class}"), None, headers).await;
    if status != 200 {
        return (status, body);
    }
    let mut texts: Vec<String> = body["results"].as_array().unwrap().iter().map(|o| o["text"].as_str().unwrap_or("").to_string()).collect();
    texts.sort();
    (status, json!(texts))
}

#[tokio::test]
async fn operations_are_granted_by_public_user_role_and_authentication_only() {
    let server = Server::start("clp", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let (_, bob_token) = server.sign_up("bob", "pw").await;
    let (carol, carol_token) = server.sign_up("carol", "pw").await;
    let role = json!({"name": "Editors", "ACL": {"*": {"read": true}}, "users": {"__op": "AddRelation", "objects": [user_pointer(&carol)]}});
    assert_eq!(server.master("POST", "/roles", Some(role)).await.0, 201);

    let clp = json!({
        "find": {"requiresAuthentication": true},
        "get": {"*": true},
        "count": {(alice.as_str()): true},
        "create": {(alice.as_str()): true, "role:Editors": true},
        "update": {"role:Editors": true},
        "delete": {},
        "addField": {},
    });
    locked_class(&server, "Doc", json!({}), clp).await;
    let id = add(&server, "Doc", json!({"text": "one"})).await;

    // find: any logged-in user; anonymous is 101 as Parse Server answers it.
    let (status, anonymous) = texts(&server, "Doc", &[]).await;
    assert_eq!((status, anonymous["code"].as_i64()), (404, Some(101)), "{anonymous}");
    assert_eq!(anonymous["error"], "Permission denied, user needs to be authenticated.");
    assert_eq!(texts(&server, "Doc", &token(&bob_token)).await, (200, json!(["one"])));
    // get: everyone.
    assert_eq!(server.request("GET", &format!("/classes/Doc/{id}"), None, &[]).await.0, 200);
    // count: alice only.
    let (status, counted) = server.request("GET", "/classes/Doc?count=1&limit=0", None, &token(&alice_token)).await;
    assert_eq!((status, counted["count"].as_i64()), (200, Some(1)), "{counted}");
    let (status, refused) = server.request("GET", "/classes/Doc?count=1&limit=0", None, &token(&bob_token)).await;
    assert_eq!((status, refused["code"].as_i64()), (400, Some(119)), "{refused}");
    assert_eq!(refused["error"], "Permission denied for action count on class Doc.");
    // create: alice by id, carol through her role; bob not, and nothing is stored.
    for (who, allowed) in [(&alice_token, true), (&carol_token, true), (&bob_token, false)] {
        let (status, answer) = server.request("POST", "/classes/Doc", Some(json!({"text": "new"})), &token(who)).await;
        assert_eq!(status == 201, allowed, "{answer}");
        if !allowed {
            assert_eq!(answer["code"], 119, "{answer}");
        }
    }
    let (_, all) = server.master("GET", "/classes/Doc?count=1&limit=0", None).await;
    assert_eq!(all["count"], 3, "bob's create stored nothing");
    // update: the role only; delete: nobody but the master key.
    let path = format!("/classes/Doc/{id}");
    assert_eq!(server.request("PUT", &path, Some(json!({"text": "by bob"})), &token(&bob_token)).await.1["code"], 119);
    assert_eq!(server.request("PUT", &path, Some(json!({"text": "two"})), &token(&carol_token)).await.0, 200);
    assert_eq!(server.request("DELETE", &path, None, &token(&alice_token)).await.1["code"], 119);
    // addField: closed, so even an editor may not add a field; known fields are fine.
    let (status, new_field) = server.request("PUT", &path, Some(json!({"color": "red"})), &token(&carol_token)).await;
    assert_eq!((status, new_field["code"].as_i64()), (400, Some(119)), "{new_field}");
    let (_, schema) = server.master("GET", "/schemas/Doc", None).await;
    assert!(schema["fields"].get("color").is_none());
    assert_eq!(schema["classLevelPermissions"]["delete"], json!({}));
    assert_eq!(server.master("DELETE", &path, None).await.0, 200, "the master key passes every CLP");

    // The same rules hold through /batch and cloud code.
    let batch = json!({"requests": [{"method": "POST", "path": "/parse/classes/Doc", "body": {"text": "batched"}}]});
    let (status, answers) = server.request("POST", "/batch", Some(batch), &token(&bob_token)).await;
    assert_eq!(status, 200);
    assert_eq!(answers[0]["error"]["code"], 119, "{answers}");
    let (status, denied) = server.call("texts", json!({"className": "Doc"}), &[]).await;
    assert_eq!((status, denied["code"].as_i64()), (404, Some(101)), "{denied}");
    let (status, found) = server.call("texts", json!({"className": "Doc"}), &token(&bob_token)).await;
    assert_eq!((status, found["result"].as_array().map(Vec::len)), (200, Some(2)), "{found}");
    let (status, master) = server.call("texts", json!({"className": "Doc", "master": true}), &[]).await;
    assert_eq!(status, 200, "{master}");
    let (_, created) = server.call("create", json!({"className": "Doc", "text": "x"}), &token(&bob_token)).await;
    assert_eq!(created["code"], 119, "{created}");

    // The CLP survives a restart.
    let server = server.restart("clp", &[]);
    let (status, anonymous) = texts(&server, "Doc", &[]).await;
    assert_eq!((status, anonymous["code"].as_i64()), (404, Some(101)), "{anonymous}");
}

#[tokio::test]
async fn pointer_permissions_open_only_the_users_own_objects() {
    let server = Server::start("clp", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let (bob, bob_token) = server.sign_up("bob", "pw").await;
    let clp = json!({
        "find": {}, "get": {}, "count": {}, "create": {"*": true}, "update": {}, "delete": {"pointerFields": ["editors"]},
        "addField": {}, "readUserFields": ["owner"], "writeUserFields": ["owner"],
    });
    let fields = json!({"owner": {"type": "Pointer", "targetClass": "_User"}, "editors": {"type": "Array"}});
    locked_class(&server, "Task", fields, clp).await;
    let mine = add(&server, "Task", json!({"text": "alice's", "owner": user_pointer(&alice), "editors": [user_pointer(&bob)]})).await;
    add(&server, "Task", json!({"text": "bob's", "owner": user_pointer(&bob)})).await;

    assert_eq!(texts(&server, "Task", &token(&alice_token)).await, (200, json!(["alice's"])));
    assert_eq!(texts(&server, "Task", &token(&bob_token)).await, (200, json!(["bob's"])));
    assert_eq!(texts(&server, "Task", &[]).await, (200, json!([])), "no user, no object points to them");

    let path = format!("/classes/Task/{mine}");
    assert_eq!(server.request("GET", &path, None, &token(&alice_token)).await.0, 200);
    let (status, hidden) = server.request("GET", &path, None, &token(&bob_token)).await;
    assert_eq!((status, hidden["code"].as_i64()), (404, Some(101)), "{hidden}");
    let (status, _) = server.request("PUT", &path, Some(json!({"text": "bob was here"})), &token(&bob_token)).await;
    assert_eq!(status, 404);
    assert_eq!(server.request("PUT", &path, Some(json!({"text": "still alice's"})), &token(&alice_token)).await.0, 200);
    // delete: `pointerFields: [editors]` and writeUserFields `owner` both open it; bob is an editor.
    assert_eq!(server.request("DELETE", &path, None, &token(&bob_token)).await.0, 200);
}

#[tokio::test]
async fn protected_fields_are_hidden_and_may_not_be_queried() {
    let server = Server::start("clp", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw").await;
    let (_, bob_token) = server.sign_up("bob", "pw").await;
    let everyone = json!({"*": true});
    let clp = json!({
        "find": everyone, "get": everyone, "count": everyone, "create": everyone, "update": everyone,
        "delete": everyone, "addField": everyone,
        "protectedFields": {"*": ["secret", "note"], "authenticated": ["secret"], "userField:owner": []},
    });
    let fields = json!({"secret": {"type": "String"}, "note": {"type": "String"}, "owner": {"type": "Pointer", "targetClass": "_User"}});
    locked_class(&server, "Card", fields, clp).await;
    let id = add(&server, "Card", json!({"text": "t", "secret": "s", "note": "n", "owner": user_pointer(&alice)})).await;
    let path = format!("/classes/Card/{id}");

    let (_, anonymous) = server.request("GET", &path, None, &[]).await;
    assert!(anonymous.get("secret").is_none() && anonymous.get("note").is_none(), "{anonymous}");
    assert_eq!(anonymous["text"], "t");
    let (_, bob) = server.request("GET", "/classes/Card", None, &token(&bob_token)).await;
    assert!(bob["results"][0].get("secret").is_none(), "{bob}");
    assert_eq!(bob["results"][0]["note"], "n", "a logged-in user sees what only `*` protects");
    let (_, owner) = server.request("GET", &path, None, &token(&alice_token)).await;
    assert_eq!((owner["secret"].clone(), owner["note"].clone()), (json!("s"), json!("n")), "{owner}");
    let (_, master) = server.master("GET", &path, None).await;
    assert_eq!(master["secret"], "s");

    let guess = "/classes/Card?where=%7B%22secret%22%3A%22s%22%7D";
    let (status, refused) = server.request("GET", guess, None, &token(&bob_token)).await;
    assert_eq!((status, refused["code"].as_i64()), (400, Some(119)), "{refused}");
    assert_eq!(refused["error"], "This user is not allowed to query secret on class Card");
    let nested = "/classes/Card?where=%7B%22%24or%22%3A%5B%7B%22secret%22%3A%22s%22%7D%5D%7D";
    assert_eq!(server.request("GET", nested, None, &token(&bob_token)).await.1["code"], 119);
    let (_, sorted) = server.request("GET", "/classes/Card?order=-secret", None, &[]).await;
    assert_eq!(sorted["code"], 119, "{sorted}");
    assert_eq!(server.request("GET", "/classes/Card?order=note", None, &token(&bob_token)).await.0, 200);
}

#[tokio::test]
async fn includes_and_subqueries_honour_the_other_class_clp() {
    let server = Server::start("clp", &[]);
    let (_, bob_token) = server.sign_up("bob", "pw").await;
    let closed = json!({"find": {}, "get": {}, "count": {}, "create": {}, "update": {}, "delete": {}, "addField": {}});
    locked_class(&server, "Vault", json!({}), closed).await;
    let vault = add(&server, "Vault", json!({"text": "gold"})).await;
    let link = json!({"text": "link", "vault": {"__type": "Pointer", "className": "Vault", "objectId": vault}});
    assert_eq!(server.master("POST", "/classes/Link", Some(link)).await.0, 201);

    let (status, links) = server.request("GET", "/classes/Link?include=vault", None, &token(&bob_token)).await;
    assert_eq!(status, 200, "{links}");
    assert_eq!(links["results"][0]["vault"]["__type"], "Pointer", "a closed class is not included: {links}");
    let (_, as_master) = server.master("GET", "/classes/Link?include=vault", None).await;
    assert_eq!(as_master["results"][0]["vault"]["text"], "gold");

    let subquery = json!({"vault": {"$inQuery": {"className": "Vault", "where": {}}}}).to_string();
    let path = format!("/classes/Link?where={}", url_encode(&subquery));
    let (status, refused) = server.request("GET", &path, None, &token(&bob_token)).await;
    assert_eq!((status, refused["code"].as_i64()), (400, Some(119)), "{refused}");
}

#[tokio::test]
async fn malformed_permissions_are_refused_and_change_nothing() {
    let server = Server::start("clp", &[]);
    locked_class(&server, "Open", json!({"owner": {"type": "Pointer", "targetClass": "_User"}}), json!({"find": {"*": true}, "get": {"*": true}})).await;
    let cases = [
        (json!("nobody"), "'nobody' is not a valid value for class level permissions - must be an object"),
        (json!({"read": {"*": true}}), "read is not a valid operation for class level permissions"),
        (json!({"find": []}), ""),
        (json!({"find": {"*": 1}}), ""),
        (json!({"find": {"who knows": true}}), "'who knows' is not a valid key for class level permissions"),
        (json!({"readUserFields": ["text"]}), ""),
        (json!({"protectedFields": {"*": ["missing"]}}), "Field 'missing' in protectedFields:* does not exist"),
    ];
    for (clp, message) in cases {
        let body = json!({"classLevelPermissions": clp});
        let (status, answer) = server.master("PUT", "/schemas/Open", Some(body)).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(107)), "{clp}: {answer}");
        if !message.is_empty() {
            assert_eq!(answer["error"], message);
        }
    }
    let (_, schema) = server.master("GET", "/schemas/Open", None).await;
    assert_eq!(schema["classLevelPermissions"]["find"], json!({"*": true}), "{schema}");
    assert_eq!(schema["classLevelPermissions"]["create"], json!({}), "{schema}");
}
