//! The schema API's writes over real HTTP, as the Parse Dashboard and `Parse.Schema` use it:
//! create a class with typed fields, add and delete fields (the values go from stored objects
//! too), delete an empty class, purge a class's objects; `required` and `defaultValue`
//! enforced on save; Parse Server's codes for every bad input, with nothing stored.

mod common;

use common::Server;
use serde_json::{json, Value};

async fn create_class(server: &Server, class: &str, body: Value) -> Value {
    let (status, answer) = server.master("POST", &format!("/schemas/{class}"), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn creating_a_class_declares_every_field_type_with_parse_servers_answer() {
    let server = Server::start("basics", &[]);
    let fields = json!({
        "title": {"type": "String"},
        "score": {"type": "Number"},
        "done": {"type": "Boolean"},
        "due": {"type": "Date"},
        "meta": {"type": "Object"},
        "tags": {"type": "Array"},
        "where": {"type": "GeoPoint"},
        "area": {"type": "Polygon"},
        "photo": {"type": "File"},
        "raw": {"type": "Bytes"},
        "owner": {"type": "Pointer", "targetClass": "_User"},
        "fans": {"type": "Relation", "targetClass": "_User"},
    });
    let answer = create_class(&server, "Game", json!({"className": "Game", "fields": fields})).await;
    assert_eq!(answer["className"], "Game");
    let mut expected = fields.as_object().unwrap().clone();
    for (name, field_type) in [("objectId", "String"), ("createdAt", "Date"), ("updatedAt", "Date"), ("ACL", "ACL")] {
        expected.insert(name.into(), json!({"type": field_type}));
    }
    assert_eq!(answer["fields"], Value::Object(expected));
    assert_eq!(answer["classLevelPermissions"]["find"], json!({"*": true}));
    assert_eq!(answer["classLevelPermissions"]["protectedFields"], json!({"*": []}));

    let (status, read) = server.master("GET", "/schemas/Game", None).await;
    assert_eq!(status, 200);
    assert_eq!(read, answer, "GET answers what POST answered");
    let (_, all) = server.master("GET", "/schemas", None).await;
    assert!(all["results"].as_array().unwrap().iter().any(|s| s["className"] == "Game"));

    // POST /schemas with the class in the body; _User gets its default fields.
    let (status, user) = server.master("POST", "/schemas", Some(json!({"className": "_User"}))).await;
    assert_eq!(status, 200, "{user}");
    for field in ["username", "password", "email", "emailVerified", "authData"] {
        assert!(user["fields"].get(field).is_some(), "_User has {field}: {user}");
    }

    // The declared types hold for saves, as if the first save had made them.
    let (status, wrong) = server.master("POST", "/classes/Game", Some(json!({"score": "high"}))).await;
    assert_eq!((status, wrong["code"].as_i64()), (400, Some(111)), "{wrong}");
}

#[tokio::test]
async fn bad_schema_writes_are_refused_with_parse_servers_codes_and_store_nothing() {
    let server = Server::start("basics", &[]);
    create_class(&server, "Known", json!({"fields": {"a": {"type": "String"}}})).await;
    // (method, path, body, code)
    let cases = [
        ("POST", "/schemas/Known", json!({}), 103),
        ("POST", "/schemas/A", json!({"className": "B"}), 103),
        ("POST", "/schemas", json!({}), 135),
        ("POST", "/schemas/Bad-Name", json!({}), 103),
        ("POST", "/schemas/_Secret", json!({}), 103),
        ("POST", "/schemas/_Hooks", json!({}), 103),
        ("POST", "/schemas/New1", json!({"fields": {"_x": {"type": "String"}}}), 105),
        ("POST", "/schemas/New1", json!({"fields": {"length": {"type": "String"}}}), 105),
        ("POST", "/schemas/New1", json!({"fields": {"createdAt": {"type": "Date"}}}), 136),
        ("POST", "/schemas/New1", json!({"fields": {"x": {"type": "Nope"}}}), 111),
        ("POST", "/schemas/New1", json!({"fields": {"x": {"type": 3}}}), 107),
        ("POST", "/schemas/New1", json!({"fields": {"x": "String"}}), 107),
        ("POST", "/schemas/New1", json!({"fields": {"x": {"type": "Pointer"}}}), 135),
        ("POST", "/schemas/New1", json!({"fields": {"x": {"type": "Pointer", "targetClass": "no way"}}}), 103),
        ("POST", "/schemas/New1", json!({"fields": {"x": {"type": "Number", "defaultValue": "one"}}}), 111),
        ("POST", "/schemas/New1", json!({"fields": {"x": {"type": "Relation", "targetClass": "_User", "required": true}}}), 111),
        (
            "POST",
            "/schemas/New1",
            json!({"fields": {"g": {"type": "GeoPoint"}, "h": {"type": "GeoPoint"}}}),
            111,
        ),
        ("POST", "/schemas/New1", json!({"fields": []}), 107),
        ("POST", "/schemas/New1", json!({"classLevelPermissions": "everyone"}), 107),
        ("POST", "/schemas/New1", json!({"classLevelPermissions": {"frobnicate": {"*": true}}}), 107),
        ("POST", "/schemas/New1", json!({"classLevelPermissions": {"find": {"*": "yes"}}}), 107),
        ("PUT", "/schemas/Missing", json!({"fields": {"a": {"type": "String"}}}), 103),
        ("PUT", "/schemas/Known", json!({"className": "Other"}), 103),
        ("PUT", "/schemas/Known", json!({"fields": {"a": {"type": "String"}}}), 255),
        ("PUT", "/schemas/Known", json!({"fields": {"nope": {"__op": "Delete"}}}), 255),
        ("PUT", "/schemas/Known", json!({"fields": {"objectId": {"__op": "Delete"}}}), 136),
        ("PUT", "/schemas/Known", json!({"fields": {"b": {"type": "String"}, "c": {"type": "Nope"}}}), 111),
        ("DELETE", "/schemas/_Hooks", Value::Null, 103),
    ];
    for (method, path, body, code) in cases {
        let body = (!body.is_null()).then_some(body.clone());
        let (status, answer) = server.master(method, path, body.clone()).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(code)), "{method} {path} {body:?}: {answer}");
    }
    let (_, known) = server.master("GET", "/schemas/Known", None).await;
    assert!(known["fields"].get("b").is_none(), "a refused PUT adds nothing: {known}");
    let (status, missing) = server.master("GET", "/schemas/New1", None).await;
    assert_eq!((status, missing["code"].as_i64()), (400, Some(103)), "no refused class was made: {missing}");

    // Without the master key every schema route is 403, as Parse Server.
    for (method, path) in [("GET", "/schemas"), ("POST", "/schemas/X"), ("PUT", "/schemas/Known"), ("DELETE", "/schemas/Known"), ("DELETE", "/purge/Known")] {
        let (status, answer) = server.request(method, path, Some(json!({})), &[]).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }
}

#[tokio::test]
async fn deleting_a_field_removes_its_values_and_fields_can_come_back_with_another_type() {
    let server = Server::start("basics", &[]);
    create_class(&server, "Note", json!({"fields": {"text": {"type": "String"}, "rank": {"type": "Number"}}})).await;
    let (_, note) = server.master("POST", "/classes/Note", Some(json!({"text": "hi", "rank": 3}))).await;
    let id = note["objectId"].as_str().unwrap().to_string();

    let change = json!({"fields": {"rank": {"__op": "Delete"}, "color": {"type": "String"}}});
    let (status, schema) = server.master("PUT", "/schemas/Note", Some(change)).await;
    assert_eq!(status, 200, "{schema}");
    assert!(schema["fields"].get("rank").is_none(), "{schema}");
    assert_eq!(schema["fields"]["color"], json!({"type": "String"}));
    assert_eq!(schema["classLevelPermissions"]["get"], json!({"*": true}));

    let (_, read) = server.master("GET", &format!("/classes/Note/{id}"), None).await;
    assert_eq!(read["text"], "hi");
    assert!(read.get("rank").is_none(), "the value went with the field: {read}");
    let (_, found) = server.master("GET", "/classes/Note?where=%7B%22rank%22%3A3%7D", None).await;
    assert_eq!(found["results"], json!([]), "nor is it found by a query: {found}");

    // The field may return with another type.
    let (status, again) = server.master("PUT", "/schemas/Note", Some(json!({"fields": {"rank": {"type": "String"}}}))).await;
    assert_eq!(status, 200, "{again}");
    let (status, saved) = server.master("PUT", &format!("/classes/Note/{id}"), Some(json!({"rank": "first"}))).await;
    assert_eq!(status, 200, "{saved}");

    // The change survives a restart.
    let server = server.restart("basics", &[]);
    let (_, schema) = server.master("GET", "/schemas/Note", None).await;
    assert_eq!(schema["fields"]["rank"], json!({"type": "String"}), "{schema}");
    assert_eq!(schema["fields"]["color"], json!({"type": "String"}));
}

#[tokio::test]
async fn a_class_is_deleted_only_when_empty_and_purge_empties_it() {
    let server = Server::start("basics", &[]);
    create_class(&server, "Item", json!({"fields": {"n": {"type": "Number"}}})).await;
    for n in 0..3 {
        let (status, _) = server.master("POST", "/classes/Item", Some(json!({"n": n}))).await;
        assert_eq!(status, 201);
    }
    let (status, refused) = server.master("DELETE", "/schemas/Item", None).await;
    assert_eq!((status, refused["code"].as_i64()), (400, Some(255)), "{refused}");
    assert_eq!(refused["error"], "Class Item is not empty, contains 3 objects, cannot drop schema.");

    let (status, purged) = server.master("DELETE", "/purge/Item", None).await;
    assert_eq!((status, purged), (200, json!({})));
    let (_, left) = server.master("GET", "/classes/Item?count=1&limit=0", None).await;
    assert_eq!(left["count"], 0, "{left}");
    let (status, schema) = server.master("GET", "/schemas/Item", None).await;
    assert_eq!(status, 200, "purge keeps the schema: {schema}");
    assert_eq!(schema["fields"]["n"], json!({"type": "Number"}));

    let (status, deleted) = server.master("DELETE", "/schemas/Item", None).await;
    assert_eq!((status, deleted), (200, json!({})));
    let (status, gone) = server.master("GET", "/schemas/Item", None).await;
    assert_eq!((status, gone["code"].as_i64()), (400, Some(103)), "{gone}");
    // A purge or delete of a class that does not exist succeeds, as on Parse Server.
    assert_eq!(server.master("DELETE", "/purge/Nothing", None).await.0, 200);
    assert_eq!(server.master("DELETE", "/schemas/Nothing", None).await.0, 200);

    // A deleted class may be made again with other types.
    create_class(&server, "Item", json!({"fields": {"n": {"type": "String"}}})).await;
    let server = server.restart("basics", &[]);
    let (_, schema) = server.master("GET", "/schemas/Item", None).await;
    assert_eq!(schema["fields"]["n"], json!({"type": "String"}), "{schema}");
}

#[tokio::test]
async fn required_fields_and_default_values_hold_on_every_save() {
    let server = Server::start("basics", &[]);
    let fields = json!({
        "title": {"type": "String", "required": true},
        "status": {"type": "String", "defaultValue": "draft"},
        "views": {"type": "Number", "required": true, "defaultValue": 0},
    });
    let schema = create_class(&server, "Post", json!({"fields": fields})).await;
    assert_eq!(schema["fields"]["views"], json!({"type": "Number", "required": true, "defaultValue": 0}));

    let (status, missing) = server.master("POST", "/classes/Post", Some(json!({"status": "x"}))).await;
    assert_eq!((status, missing["code"].as_i64()), (400, Some(142)), "{missing}");
    assert_eq!(missing["error"], "title is required");
    let (_, count) = server.master("GET", "/classes/Post?count=1&limit=0", None).await;
    assert_eq!(count["count"], 0, "nothing stored");

    let (status, created) = server.master("POST", "/classes/Post", Some(json!({"title": "Hello"}))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "draft", "the filled defaults come back as Parse Server sends them: {created}");
    assert_eq!(created["views"], 0);
    let id = created["objectId"].as_str().unwrap();
    let (_, read) = server.master("GET", &format!("/classes/Post/{id}"), None).await;
    assert_eq!((read["status"].clone(), read["views"].clone()), (json!("draft"), json!(0)), "{read}");

    for unset in [json!({"title": null}), json!({"title": ""}), json!({"title": {"__op": "Delete"}})] {
        let (status, refused) = server.master("PUT", &format!("/classes/Post/{id}"), Some(unset.clone())).await;
        assert_eq!((status, refused["code"].as_i64()), (400, Some(142)), "{unset}: {refused}");
    }
    let (status, _) = server.master("PUT", &format!("/classes/Post/{id}"), Some(json!({"status": {"__op": "Delete"}}))).await;
    assert_eq!(status, 200, "an optional field with a default may be deleted on update");
    let (_, read) = server.master("GET", &format!("/classes/Post/{id}"), None).await;
    assert_eq!(read["title"], "Hello");
    assert!(read.get("status").is_none(), "{read}");
}

#[tokio::test]
async fn parse_schema_in_cloud_code_makes_changes_and_deletes_classes() {
    let server = Server::start("schemas", &[]);
    let (status, answer) = server.call("schemaLifecycle", json!({}), &[]).await;
    assert_eq!(status, 200, "{answer}\n{}", server.log());
    let steps = &answer["result"];
    let fields = &steps["saved"]["fields"];
    assert_eq!(fields["title"], json!({"type": "String", "required": true}), "{steps}");
    assert_eq!(fields["minutes"], json!({"type": "Number", "defaultValue": 10}));
    assert_eq!(fields["author"], json!({"type": "Pointer", "targetClass": "_User"}));
    assert_eq!(fields["likedBy"], json!({"type": "Relation", "targetClass": "_User"}));
    assert_eq!(fields["origin"], json!({"type": "GeoPoint"}));
    assert_eq!(steps["saved"]["classLevelPermissions"]["delete"], json!({}));
    assert_eq!(steps["read"], steps["saved"]);
    assert_eq!(steps["defaulted"], 10);
    assert_eq!(steps["missingRequired"], 142);
    assert!(steps["updated"]["fields"].get("vegan").is_none(), "{steps}");
    assert_eq!(steps["updated"]["fields"]["cuisine"], json!({"type": "String"}));
    assert_eq!(steps["deleteFull"], 255);
    assert_eq!(steps["purged"], json!({}));
    assert_eq!(steps["deleted"], json!({}));
    assert_eq!(steps["afterDelete"], 103);
    assert_eq!(steps["badType"], "Money is not a valid type.");
    assert!(steps["all"].as_array().unwrap().contains(&json!("Recipe")), "{steps}");
}

#[tokio::test]
async fn declared_indexes_are_listed_kept_across_restarts_and_dropped_as_parse_server_does() {
    let server = Server::start("basics", &[]);
    let (status, _) = server.master("POST", "/schemas/Empty", Some(json!({"indexes": {}}))).await;
    assert_eq!(status, 200, "an empty indexes object, as the SDK sends it, is fine");
    let body = json!({"fields": {"name": {"type": "String"}, "rank": {"type": "Number"}}, "indexes": {"by_name": {"name": 1}}});
    let (status, created) = server.master("POST", "/schemas/Indexed", Some(body)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["indexes"], json!({"_id_": {"_id": 1}, "by_name": {"name": 1}}), "{created}");

    for (indexes, code, says) in [
        (json!({"by_name": {"rank": 1}}), 102, "Index by_name exists, cannot update."),
        (json!({"gone": {"__op": "Delete"}}), 102, "Index gone does not exist, cannot delete."),
        (json!({"by_missing": {"missing": 1}}), 102, "Field missing does not exist, cannot add index."),
        (json!({"by_rank": {"rank": 2}}), 107, "index by_rank: rank must be 1 or -1, got 2"),
        (json!({"by_rank": {"rank": "text"}}), 107, "index by_rank: rank must be 1 or -1"),
        (json!({"by_rank": {}}), 107, "index by_rank must be {field: 1 or -1, …}"),
        (json!({"by_rank": 1}), 107, "index by_rank must be"),
        (json!({"_id_": {"rank": 1}}), 107, "cannot be an index name"),
        (json!(["by_rank"]), 107, "indexes must be an object"),
    ] {
        let (status, refused) = server.master("PUT", "/schemas/Indexed", Some(json!({"indexes": indexes.clone()}))).await;
        assert_eq!((status, refused["code"].as_i64()), (400, Some(code)), "{indexes}: {refused}");
        assert!(refused["error"].as_str().unwrap().contains(says), "{indexes}: {refused}");
    }
    let (_, unchanged) = server.master("GET", "/schemas/Indexed", None).await;
    assert_eq!(unchanged["indexes"], json!({"_id_": {"_id": 1}, "by_name": {"name": 1}}), "a refused change changes nothing");

    let change = json!({"indexes": {"by_rank_name": {"rank": -1, "name": 1}, "by_name": {"__op": "Delete"}}});
    let (status, updated) = server.master("PUT", "/schemas/Indexed", Some(change)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["indexes"], json!({"_id_": {"_id": 1}, "by_rank_name": {"rank": -1, "name": 1}}));
    server.master("POST", "/classes/Indexed", Some(json!({"name": "a", "rank": 2}))).await;
    server.master("POST", "/classes/Indexed", Some(json!({"name": "b", "rank": 1}))).await;
    let (_, found) = server.master("GET", "/classes/Indexed?where=%7B%22rank%22%3A1%7D", None).await;
    assert_eq!(found["results"][0]["name"], json!("b"), "queries are answered as before: {found}");

    let server = server.restart("basics", &[]);
    let (_, listed) = server.master("GET", "/schemas", None).await;
    let indexed = listed["results"].as_array().unwrap().iter().find(|s| s["className"] == json!("Indexed")).unwrap().clone();
    assert_eq!(indexed["indexes"], json!({"_id_": {"_id": 1}, "by_rank_name": {"rank": -1, "name": 1}}), "kept across a restart");

    let (status, updated) = server.master("PUT", "/schemas/Indexed", Some(json!({"fields": {"rank": {"__op": "Delete"}}}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["indexes"], json!({"_id_": {"_id": 1}}), "a deleted field's index goes with it; _id_ stays, as in Parse Server");
}
