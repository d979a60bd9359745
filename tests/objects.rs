//! The classes API over real HTTP: saves, reads, queries with every operator, Parse types and
//! `__op`s, schemas, batches, and the bad inputs that must get Parse errors.

mod common;

use common::{Server, MASTER_KEY};
use serde_json::{json, Value};

const CLIENT_CLASSES: &[&str] = &["--allow-client-class-creation"];

async fn create(server: &Server, class: &str, body: Value) -> String {
    let (status, answer) = server.master("POST", &format!("/classes/{class}"), Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    answer["objectId"].as_str().unwrap().to_string()
}

fn ids(answer: &Value) -> Vec<String> {
    answer["results"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap_or("?").to_string()).collect()
}

#[tokio::test]
async fn create_read_update_delete() {
    let server = Server::start("basics", &[]);
    let response = server
        .client
        .post(format!("{}/classes/GameScore", server.url))
        .header("X-Parse-Application-Id", common::APP_ID)
        .header("X-Parse-Master-Key", MASTER_KEY)
        .body(json!({"score": 1337, "playerName": "Sean Plott", "cheatMode": false}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let created: Value = response.json().await.unwrap();
    let id = created["objectId"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert!(location.ends_with(&format!("/classes/GameScore/{id}")), "{location}");
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));

    let (status, object) = server.master("GET", &format!("/classes/GameScore/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!((object["score"].clone(), object["playerName"].clone()), (json!(1337), json!("Sean Plott")));
    assert_eq!(object["createdAt"], created["createdAt"]);

    let (status, updated) = server.master("PUT", &format!("/classes/GameScore/{id}"), Some(json!({"score": 73453}))).await;
    assert_eq!(status, 200);
    assert!(updated["updatedAt"].is_string());
    let (_, object) = server.master("GET", &format!("/classes/GameScore/{id}"), None).await;
    assert_eq!(object["score"], json!(73453));

    let (status, answer) = server.master("DELETE", &format!("/classes/GameScore/{id}"), None).await;
    assert_eq!((status, answer), (200, json!({})));
    let (status, answer) = server.master("GET", &format!("/classes/GameScore/{id}"), None).await;
    assert_eq!((status, answer), (404, json!({"code": 101, "error": "Object not found."})));
    let (status, _) = server.master("DELETE", &format!("/classes/GameScore/{id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = server.master("PUT", &format!("/classes/GameScore/{id}"), Some(json!({"a": 1}))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn operations_apply_and_answer_their_results() {
    let server = Server::start("basics", &[]);
    let id = create(&server, "Ops", json!({"n": 1, "list": ["a"], "gone": true})).await;
    let path = format!("/classes/Ops/{id}");
    let (status, answer) = server
        .master("PUT", &path, Some(json!({
            "n": {"__op": "Increment", "amount": 5},
            "m": {"__op": "Increment", "amount": 2},
            "list": {"__op": "Add", "objects": ["b", "b"]},
            "uniq": {"__op": "AddUnique", "objects": ["x", "x", "y"]},
            "gone": {"__op": "Delete"},
        })))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["n"].clone(), answer["m"].clone()), (json!(6), json!(2)));
    let (_, object) = server.master("GET", &path, None).await;
    assert_eq!(object["list"], json!(["a", "b", "b"]));
    assert_eq!(object["uniq"], json!(["x", "y"]));
    assert!(object.get("gone").is_none());
    server.master("PUT", &path, Some(json!({"list": {"__op": "Remove", "objects": ["b"]}}))).await;
    let (_, object) = server.master("GET", &path, None).await;
    assert_eq!(object["list"], json!(["a"]));
    let (status, answer) = server.master("PUT", &path, Some(json!({"list": {"__op": "Increment", "amount": 1}}))).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = server.master("PUT", &path, Some(json!({"n": {"__op": "Explode"}}))).await;
    assert_eq!(status, 400, "{answer}");
}

/// Add, AddUnique and Remove keep Parse's meaning whichever way the store applies them (on
/// PostgreSQL, as jsonb in the UPDATE): pointers compare by class and id, numbers by value,
/// objects as a whole, Remove takes every equal element, a missing field counts as `[]`, and
/// a field that holds no array is refused (111) and left as it was.
#[tokio::test]
async fn array_operations_compare_as_parse_does() {
    let server = Server::start("basics", &[]);
    let pointer = |id: &str| json!({"__type": "Pointer", "className": "Post", "objectId": id});
    let id = create(&server, "Bag", json!({
        "items": [1, "1", {"k": [1, 2]}, pointer("p1"), 2, 1],
        "text": "not an array",
        "nested": [{"owner": pointer("p1")}],
    }))
    .await;
    let path = format!("/classes/Bag/{id}");
    let update = |body: Value| server.master("PUT", &path, Some(body));
    let (status, answer) = update(json!({
        "items": {"__op": "AddUnique", "objects": [1.0, {"k": [1, 2]}, pointer("p1"), pointer("p2"), pointer("p2"), {"k": [2, 1]}, "2"]},
        "fresh": {"__op": "AddUnique", "objects": ["a", "a"]},
        "appended": {"__op": "Add", "objects": [null, "z"]},
    }))
    .await;
    assert_eq!(status, 200, "{answer}");
    let (_, object) = server.master("GET", &path, None).await;
    assert_eq!(object["items"], json!([1, "1", {"k": [1, 2]}, pointer("p1"), 2, 1, pointer("p2"), {"k": [2, 1]}, "2"]), "{object}");
    assert_eq!((object["fresh"].clone(), object["appended"].clone()), (json!(["a"]), json!([null, "z"])));

    let (status, answer) = update(json!({"items": {"__op": "Remove", "objects": [1, pointer("p1"), {"k": [1, 2]}, "absent"]}, "gone": {"__op": "Remove", "objects": [1]}})).await;
    assert_eq!(status, 200, "{answer}");
    let (_, object) = server.master("GET", &path, None).await;
    assert_eq!(object["items"], json!(["1", 2, pointer("p2"), {"k": [2, 1]}, "2"]), "{object}");
    assert_eq!(object["gone"], json!([]));

    // A pointer nested in an element compares by class and id too.
    let nested_again = json!({"owner": {"__type": "Pointer", "className": "Post", "objectId": "p1"}});
    let (status, answer) = update(json!({"nested": {"__op": "AddUnique", "objects": [nested_again]}})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.master("GET", &path, None).await.1["nested"], json!([{"owner": pointer("p1")}]));

    let (status, answer) = update(json!({"text": {"__op": "Add", "objects": [1]}, "appended": {"__op": "Add", "objects": ["never"]}})).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(111)), "{answer}");
    let (_, object) = server.master("GET", &path, None).await;
    assert_eq!((object["text"].clone(), object["appended"].clone()), (json!("not an array"), json!([null, "z"])), "nothing changed");
}

#[tokio::test]
async fn concurrent_increments_are_not_lost() {
    let server = std::sync::Arc::new(Server::start("basics", &[]));
    let id = create(&server, "Counter", json!({"n": 0})).await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (server, path) = (server.clone(), format!("/classes/Counter/{id}"));
            tokio::spawn(async move { server.master("PUT", &path, Some(json!({"n": {"__op": "Increment", "amount": 1}}))).await })
        })
        .collect();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (_, object) = server.master("GET", &format!("/classes/Counter/{id}"), None).await;
    assert_eq!(object["n"], json!(40));
}

#[tokio::test]
async fn query_operators() {
    let server = Server::start("basics", &[]);
    let post = create(&server, "Post", json!({"title": "p"})).await;
    let pointer = json!({"__type": "Pointer", "className": "Post", "objectId": post});
    let d = |day: u32| json!({"__type": "Date", "iso": format!("2020-01-{day:02}T00:00:00.000Z")});
    for (name, score, tags, extra) in [
        ("alpha", 10, json!(["red", "blue"]), json!({"post": pointer, "when": d(1)})),
        ("beta", 20, json!(["red"]), json!({"when": d(2)})),
        ("gamma", 30, json!([]), json!({"when": d(3), "flag": true})),
        ("Delta", 40, json!(["blue"]), json!({"nested": {"city": "Paris"}})),
    ] {
        let mut body = json!({"name": name, "score": score, "tags": tags});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        create(&server, "Item", body).await;
    }
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["alpha", "beta", "gamma", "Delta"]),
        (json!({"score": 20}), vec!["beta"]),
        (json!({"score": {"$lt": 20}}), vec!["alpha"]),
        (json!({"score": {"$lte": 20}}), vec!["alpha", "beta"]),
        (json!({"score": {"$gt": 30}}), vec!["Delta"]),
        (json!({"score": {"$gte": 30}}), vec!["gamma", "Delta"]),
        (json!({"score": {"$ne": 10}}), vec!["beta", "gamma", "Delta"]),
        (json!({"score": {"$eq": 10}}), vec!["alpha"]),
        (json!({"score": {"$in": [10, 40]}}), vec!["alpha", "Delta"]),
        (json!({"score": {"$nin": [10, 40]}}), vec!["beta", "gamma"]),
        (json!({"tags": "red"}), vec!["alpha", "beta"]),
        (json!({"tags": {"$all": ["red", "blue"]}}), vec!["alpha"]),
        (json!({"flag": {"$exists": true}}), vec!["gamma"]),
        (json!({"flag": {"$exists": false}}), vec!["alpha", "beta", "Delta"]),
        (json!({"name": {"$regex": "^al"}}), vec!["alpha"]),
        (json!({"name": {"$regex": "^d", "$options": "i"}}), vec!["Delta"]),
        (json!({"$or": [{"score": 10}, {"score": 30}]}), vec!["alpha", "gamma"]),
        (json!({"$and": [{"score": {"$gt": 10}}, {"score": {"$lt": 40}}]}), vec!["beta", "gamma"]),
        (json!({"$nor": [{"score": 10}, {"score": 30}]}), vec!["beta", "Delta"]),
        (json!({"post": pointer}), vec!["alpha"]),
        (json!({"when": {"$gt": d(1)}}), vec!["beta", "gamma"]),
        (json!({"nested.city": "Paris"}), vec!["Delta"]),
        (json!({"post": {"$inQuery": {"className": "Post", "where": {"title": "p"}}}}), vec!["alpha"]),
        (json!({"post": {"$notInQuery": {"className": "Post", "where": {"title": "p"}}}}), vec!["beta", "gamma", "Delta"]),
        (json!({"score": {"$select": {"query": {"className": "Item", "where": {"name": "beta"}}, "key": "score"}}}), vec!["beta"]),
        (json!({"score": {"$dontSelect": {"query": {"className": "Item", "where": {"name": "beta"}}, "key": "score"}}}), vec!["alpha", "gamma", "Delta"]),
    ];
    for (where_, expected) in cases {
        let path = format!("/classes/Item?order=score&where={}", urlencode(&where_.to_string()));
        let (status, answer) = server.master("GET", &path, None).await;
        assert_eq!(status, 200, "{where_}: {answer}");
        assert_eq!(ids(&answer), expected, "where {where_}");
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn order_limit_skip_keys_count_and_include() {
    let server = Server::start("basics", &[]);
    let author = create(&server, "Author", json!({"name": "Ada"})).await;
    let post = create(&server, "Post", json!({"name": "p", "author": {"__type": "Pointer", "className": "Author", "objectId": author}})).await;
    for (name, score, rank) in [("a", 1, 2), ("b", 2, 1), ("c", 2, 3), ("d", 3, 0)] {
        create(&server, "Row", json!({"name": name, "score": score, "rank": rank,
            "post": {"__type": "Pointer", "className": "Post", "objectId": post}})).await;
    }
    let (_, answer) = server.master("GET", "/classes/Row?order=-score,rank", None).await;
    assert_eq!(ids(&answer), vec!["d", "b", "c", "a"]);
    let (_, answer) = server.master("GET", "/classes/Row?order=score,rank&limit=2&skip=1&count=1", None).await;
    assert_eq!(ids(&answer), vec!["b", "c"]);
    assert_eq!(answer["count"], json!(4));
    let (_, answer) = server.master("GET", "/classes/Row?limit=0&count=1", None).await;
    assert_eq!((answer["results"].clone(), answer["count"].clone()), (json!([]), json!(4)));
    let (_, answer) = server.master("GET", "/classes/Row?order=score&keys=name&limit=1", None).await;
    let row = answer["results"][0].as_object().unwrap();
    assert!(row.contains_key("name") && row.contains_key("objectId") && !row.contains_key("score"), "{row:?}");
    let (_, answer) = server.master("GET", "/classes/Row?order=score&limit=1&include=post.author", None).await;
    let included = &answer["results"][0]["post"];
    assert_eq!((included["__type"].clone(), included["name"].clone()), (json!("Object"), json!("p")));
    assert_eq!(included["author"]["name"], json!("Ada"));
    // The SDK sends queries as POST with _method GET and `where` as an object.
    let body = json!({"_method": "GET", "where": {"score": 2}, "order": "rank", "_ApplicationId": common::APP_ID, "_MasterKey": MASTER_KEY});
    let (status, answer) = server.post("/classes/Row", body.to_string(), &[], false).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer), vec!["b", "c"]);
}

#[tokio::test]
async fn parse_types_round_trip() {
    let server = Server::start("basics", &[]);
    let body = json!({
        "date": {"__type": "Date", "iso": "2011-08-21T18:02:52.249Z"},
        "pointer": {"__type": "Pointer", "className": "Other", "objectId": "abcdefghij"},
        // Fractions: PostgreSQL's point keeps a number, not its spelling (40.0 reads back as 40,
        // as from Parse Server).
        "geo": {"__type": "GeoPoint", "latitude": 40.5, "longitude": -30.25},
        "file": {"__type": "File", "name": "a.txt", "url": "http://files/a.txt"},
        "bytes": {"__type": "Bytes", "base64": "aGVsbG8="},
        "object": {"a": [1, {"b": null}]},
    });
    let id = create(&server, "Typed", body.clone()).await;
    let (_, object) = server.master("GET", &format!("/classes/Typed/{id}"), None).await;
    for key in ["date", "pointer", "geo", "bytes", "object"] {
        assert_eq!(object[key], body[key], "{key}");
    }
    // Parse Server's PostgreSQL layout keeps a file's name only; its URL is this server's.
    let url = if common::on_postgres() { format!("{}/files/{}/a.txt", server.url, common::APP_ID) } else { "http://files/a.txt".into() };
    assert_eq!(object["file"], json!({"__type": "File", "name": "a.txt", "url": url}));
}

#[tokio::test]
async fn relations() {
    let server = Server::start("basics", &[]);
    let a = create(&server, "Tag", json!({"name": "a"})).await;
    let b = create(&server, "Tag", json!({"name": "b"})).await;
    let post = create(&server, "Article", json!({"title": "t"})).await;
    let ptr = |id: &str| json!({"__type": "Pointer", "className": "Tag", "objectId": id});
    let (status, answer) = server
        .master("PUT", &format!("/classes/Article/{post}"), Some(json!({"tags": {"__op": "AddRelation", "objects": [ptr(&a), ptr(&b)]}})))
        .await;
    assert_eq!(status, 200, "{answer}");
    let related = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "Article", "objectId": post}, "key": "tags"}});
    let path = format!("/classes/Tag?order=name&where={}", urlencode(&related.to_string()));
    assert_eq!(ids(&server.master("GET", &path, None).await.1), vec!["a", "b"]);
    server
        .master("PUT", &format!("/classes/Article/{post}"), Some(json!({"tags": {"__op": "RemoveRelation", "objects": [ptr(&a)]}})))
        .await;
    assert_eq!(ids(&server.master("GET", &path, None).await.1), vec!["b"]);
    let (_, article) = server.master("GET", &format!("/classes/Article/{post}"), None).await;
    assert_eq!(article["tags"], json!({"__type": "Relation", "className": "Tag"}));
}

#[tokio::test]
async fn schema_names_and_class_creation_rules() {
    let server = Server::start("basics", &[]);
    create(&server, "Schema", json!({"field": "text"})).await;
    let (status, answer) = server.master("POST", "/classes/Schema", Some(json!({"field": 5}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(111)), "{answer}");
    let (status, answer) = server.master("POST", "/classes/Bad-Name", Some(json!({"a": 1}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(103)), "{answer}");
    let (status, answer) = server.master("POST", "/classes/Schema", Some(json!({"bad-field": 1}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(105)), "{answer}");
    let (status, answer) = server.master("POST", "/classes/Schema", Some(json!({"_private": 1}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(105)), "{answer}");
    // A client (no master key) may not create classes unless the server allows it.
    let (status, answer) = server.request("POST", "/classes/Brand", Some(json!({"a": 1})), &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(119)), "{answer}");
    let (status, _) = server.request("POST", "/classes/Schema", Some(json!({"field": "x"})), &[]).await;
    assert_eq!(status, 201, "existing classes accept client saves");
    let open = Server::start("basics", CLIENT_CLASSES);
    let (status, _) = open.request("POST", "/classes/Brand", Some(json!({"a": 1})), &[]).await;
    assert_eq!(status, 201);
    // Nothing stored was damaged by the failures.
    let (_, answer) = server.master("GET", "/classes/Schema?count=1&limit=0", None).await;
    assert_eq!(answer["count"], json!(2));
}

#[tokio::test]
async fn malformed_queries_get_102_or_107() {
    let server = Server::start("basics", &[]);
    create(&server, "Q", json!({"a": 1})).await;
    for (query, code) in [
        ("where=%7Bnope", 107),
        ("where=%5B1%5D", 102),
        ("where=%7B%22a%22%3A%7B%22%24bogus%22%3A1%7D%7D", 102),
        ("where=%7B%22a%22%3A%7B%22%24in%22%3A5%7D%7D", 102),
        ("where=%7B%22a%22%3A%7B%22%24regex%22%3A%22(%22%7D%7D", 102),
        ("limit=-1", 102),
        ("limit=abc", 102),
        ("skip=x", 102),
    ] {
        let (status, answer) = server.master("GET", &format!("/classes/Q?{query}"), None).await;
        assert_eq!((status, answer["code"].clone()), (400, json!(code)), "{query}: {answer}");
    }
    let (status, answer) = server.master("POST", "/classes/Q", Some(json!([1]))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(107)), "{answer}");
}

#[tokio::test]
async fn batch_answers_each_request() {
    let server = Server::start("basics", &[]);
    let id = create(&server, "B", json!({"n": 1})).await;
    let (status, answer) = server
        .master("POST", "/batch", Some(json!({"requests": [
            {"method": "POST", "path": "/parse/classes/B", "body": {"n": 2}},
            {"method": "PUT", "path": format!("/1/classes/B/{id}"), "body": {"n": 10}},
            {"method": "POST", "path": "/parse/classes/B", "body": {"n": "wrong type"}},
            {"method": "DELETE", "path": "/parse/classes/B/doesnotexist"},
        ]})))
        .await;
    assert_eq!(status, 200, "{answer}");
    let answers = answer.as_array().unwrap();
    assert!(answers[0]["success"]["objectId"].is_string());
    assert!(answers[1]["success"]["updatedAt"].is_string());
    assert_eq!(answers[2]["error"]["code"], json!(111));
    assert_eq!(answers[3]["error"]["code"], json!(101));
    let (status, answer) = server.master("POST", "/batch", Some(json!({"requests": "no"}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(107)));
}

#[tokio::test]
async fn acls_guard_reads_and_writes() {
    let server = Server::start("basics", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw-a").await;
    let (_, bob_token) = server.sign_up("bob", "pw-b").await;
    let as_alice = [("X-Parse-Session-Token", alice_token.as_str())];
    let as_bob = [("X-Parse-Session-Token", bob_token.as_str())];
    create(&server, "Note", json!({"text": "seed"})).await;
    let acl = json!({ alice.clone(): {"read": true, "write": true}, "*": {"read": true} });
    let (status, answer) = server.request("POST", "/classes/Note", Some(json!({"text": "mine", "ACL": acl})), &as_alice).await;
    assert_eq!(status, 201, "{answer}");
    let public_read = answer["objectId"].as_str().unwrap().to_string();
    let private = json!({ alice.clone(): {"read": true, "write": true}, "role:Admins": {"read": true} });
    let (_, answer) = server.request("POST", "/classes/Note", Some(json!({"text": "secret", "ACL": private})), &as_alice).await;
    let secret = answer["objectId"].as_str().unwrap().to_string();

    let (status, _) = server.request("GET", &format!("/classes/Note/{secret}"), None, &as_bob).await;
    assert_eq!(status, 404, "bob cannot read alice's private note");
    let (status, _) = server.request("GET", &format!("/classes/Note/{secret}"), None, &[]).await;
    assert_eq!(status, 404, "anonymous cannot either");
    let (status, note) = server.request("GET", &format!("/classes/Note/{secret}"), None, &as_alice).await;
    assert_eq!((status, note["text"].clone()), (200, json!("secret")));
    let (_, list) = server.request("GET", "/classes/Note?order=text", None, &as_bob).await;
    assert_eq!(list["results"].as_array().unwrap().len(), 2, "queries skip unreadable objects: {list}");
    let (status, _) = server.request("PUT", &format!("/classes/Note/{public_read}"), Some(json!({"text": "hacked"})), &as_bob).await;
    assert_eq!(status, 404, "read-only for bob");
    let (status, _) = server.request("DELETE", &format!("/classes/Note/{public_read}"), None, &as_bob).await;
    assert_eq!(status, 404);
    let (_, note) = server.master("GET", &format!("/classes/Note/{public_read}"), None).await;
    assert_eq!(note["text"], json!("mine"), "nothing changed");
    let (status, _) = server.master("GET", &format!("/classes/Note/{secret}"), None).await;
    assert_eq!(status, 200, "the master key bypasses ACLs");
    let (status, _) = server.request("PUT", &format!("/classes/Note/{public_read}"), Some(json!({"text": "edited"})), &as_alice).await;
    assert_eq!(status, 200);
    let (status, answer) = server.request("POST", "/classes/Note", Some(json!({"ACL": "nope"})), &as_alice).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(123)), "{answer}");
}

#[tokio::test]
async fn parse_config_get_and_update() {
    let server = Server::start("basics", &[]);
    let (status, config) = server.request("GET", "/config", None, &[]).await;
    assert_eq!((status, config), (200, json!({"params": {}})));
    let (status, answer) = server.request("PUT", "/config", Some(json!({"params": {"a": 1}})), &[]).await;
    assert_eq!((status, answer["code"].clone()), (403, json!(119)), "master key only");
    let update = json!({"params": {"welcome": "hi", "limit": 5, "secret": "s3"}, "masterKeyOnly": {"secret": true}});
    let (status, answer) = server.master("PUT", "/config", Some(update)).await;
    assert_eq!((status, answer), (200, json!({"result": true})));
    let (_, config) = server.request("GET", "/config", None, &[]).await;
    assert_eq!(config, json!({"params": {"welcome": "hi", "limit": 5}}));
    let (_, config) = server.master("GET", "/config", None).await;
    assert_eq!(config["params"]["secret"], json!("s3"));
    assert_eq!(config["masterKeyOnly"], json!({"welcome": false, "limit": false, "secret": true}), "each changed param gets its flag, false unless sent (Parse Server)");
    server.master("PUT", "/config", Some(json!({"params": {"welcome": {"__op": "Delete"}, "limit": 6}}))).await;
    let (_, config) = server.request("GET", "/config", None, &[]).await;
    assert_eq!(config, json!({"params": {"limit": 6}}));
    let (status, answer) = server.master("PUT", "/config", Some(json!({"params": 5}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(107)));
    let (status, answer) = server.master("PUT", "/config", Some(json!({"params": {"a.b": 1}}))).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(105)), "a parameter name is one path segment: {answer}");
    let (_, config) = server.request("GET", "/config", None, &[]).await;
    assert_eq!(config, json!({"params": {"limit": 6}}), "a refused PUT changed nothing");
}

#[tokio::test]
async fn parse_config_puts_of_different_parameters_at_once_keep_every_one() {
    let server = Server::start("basics", &[]);
    let puts: Vec<_> = (0..16)
        .map(|i| {
            let request = server
                .client
                .put(format!("{}/config", server.url))
                .header("X-Parse-Application-Id", common::APP_ID)
                .header("X-Parse-Master-Key", MASTER_KEY)
                .json(&json!({"params": {format!("p{i}"): i}}));
            tokio::spawn(async move {
                let response = request.send().await.expect("PUT /config");
                (response.status().as_u16(), response.json::<Value>().await.expect("JSON"))
            })
        })
        .collect();
    for put in puts {
        assert_eq!(put.await.expect("request task"), (200, json!({"result": true})));
    }
    let (_, config) = server.master("GET", "/config", None).await;
    let expected: serde_json::Map<String, Value> = (0..16).map(|i| (format!("p{i}"), json!(i))).collect();
    assert_eq!(config["params"], Value::Object(expected), "{config}");
    assert_eq!(config["masterKeyOnly"].as_object().map(|flags| flags.len()), Some(16), "{config}");
}

#[tokio::test]
async fn schemas_describe_the_classes() {
    let server = Server::start("basics", &[]);
    create(&server, "Typed", json!({"n": 1, "when": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}})).await;
    let (status, _) = server.request("GET", "/schemas", None, &[]).await;
    assert_eq!(status, 403);
    let (status, schema) = server.master("GET", "/schemas/Typed", None).await;
    assert_eq!(status, 200, "{schema}");
    assert_eq!(schema["fields"]["n"], json!({"type": "Number"}));
    assert_eq!(schema["fields"]["when"], json!({"type": "Date"}));
    assert_eq!(schema["fields"]["objectId"], json!({"type": "String"}));
    let (_, all) = server.master("GET", "/schemas", None).await;
    assert!(all["results"].as_array().unwrap().iter().any(|s| s["className"] == json!("Typed")));
    let (status, answer) = server.master("GET", "/schemas/Nope", None).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(103)));
}

/// Queries with one order field and a limit walk an ordered index; with `count=1` they scan.
/// Both must agree, before and after the class changes.
#[tokio::test]
async fn indexed_and_scanned_queries_agree_as_the_class_changes() {
    let server = Server::start("basics", &[]);
    let mut created = Vec::new();
    for i in 0..60 {
        let score = (i * 37) % 101;
        created.push(create(&server, "Ranked", json!({"name": format!("r{i}"), "score": score, "group": format!("g{}", i % 3)})).await);
    }
    let queries = [
        "where=%7B%22group%22%3A%22g1%22%7D&order=-score&limit=5",
        "order=score&limit=7&skip=3",
        "where=%7B%22score%22%3A%7B%22%24gt%22%3A50%7D%7D&limit=4",
        "order=name&limit=10",
    ];
    let check = |round: &'static str| {
        let server = &server;
        async move {
            for query in queries {
                let (_, indexed) = server.master("GET", &format!("/classes/Ranked?{query}"), None).await;
                let (_, scanned) = server.master("GET", &format!("/classes/Ranked?{query}&count=1"), None).await;
                assert_eq!(ids(&indexed), ids(&scanned), "{round}: {query}");
                assert!(!indexed["results"].as_array().unwrap().is_empty(), "{round}: {query}");
            }
        }
    };
    check("fresh").await;
    for (n, id) in created.iter().enumerate().take(10) {
        server.master("PUT", &format!("/classes/Ranked/{id}"), Some(json!({"score": 200 + n}))).await;
    }
    for id in &created[10..15] {
        server.master("DELETE", &format!("/classes/Ranked/{id}"), None).await;
    }
    create(&server, "Ranked", json!({"name": "late", "score": 1000, "group": "g1"})).await;
    check("after writes").await;
    // Values an index cannot order (Dates): such queries keep their answers by scanning.
    for (n, id) in created.iter().enumerate().skip(20).take(5) {
        let when = json!({"__type": "Date", "iso": format!("2020-01-{:02}T00:00:00.000Z", 28 - n)});
        server.master("PUT", &format!("/classes/Ranked/{id}"), Some(json!({"when": when}))).await;
    }
    let (_, answer) = server.master("GET", "/classes/Ranked?where=%7B%22when%22%3A%7B%22%24exists%22%3Atrue%7D%7D&order=when&limit=3", None).await;
    assert_eq!(ids(&answer), vec!["r24", "r23", "r22"]);
}
