//! Gaps the official JS SDK's integration suite found, each as Parse Server answers it, over
//! real HTTP: relation fields in `equalTo`/`containedIn`, a redirected relation query's objects
//! naming their class, polygons closed on save and in queries, an anonymous user's sign-up
//! answer, and a get with find triggers checked against the `get` permission.

mod common;

use common::{Server, url_encode};
use serde_json::{json, Value};

fn pointer(class: &str, saved: &Value) -> Value {
    json!({"__type": "Pointer", "className": class, "objectId": saved["objectId"]})
}

async fn ids_where(server: &Server, class: &str, where_: Value) -> Result<Vec<String>, Value> {
    let (status, found) = server.master("GET", &format!("/classes/{class}?where={}", url_encode(&where_.to_string())), None).await;
    if status != 200 {
        return Err(found);
    }
    let mut ids: Vec<String> = found["results"].as_array().unwrap().iter().map(|o| o["objectId"].as_str().unwrap().to_string()).collect();
    ids.sort();
    Ok(ids)
}

#[tokio::test]
async fn relation_fields_in_equal_to_and_contained_in() {
    let server = Server::start("basics", &[]);
    let mut children = Vec::new();
    for x in 0..4 {
        let (_, child) = server.master("POST", "/classes/Child", Some(json!({"x": x}))).await;
        children.push(pointer("Child", &child));
    }
    let relate = |members: &[Value]| json!({"__op": "AddRelation", "objects": members});
    let (_, first) = server.master("POST", "/classes/Parent", Some(json!({"n": 1, "kids": relate(&children[0..2])}))).await;
    let (_, second) = server.master("POST", "/classes/Parent", Some(json!({"n": 2, "kids": relate(&children[2..3])}))).await;
    let (_, none) = server.master("POST", "/classes/Parent", Some(json!({"n": 3}))).await;
    let id = |saved: &Value| saved["objectId"].as_str().unwrap().to_string();
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };

    assert_eq!(ids_where(&server, "Parent", json!({"kids": children[1]})).await.unwrap(), vec![id(&first)]);
    assert_eq!(ids_where(&server, "Parent", json!({"kids": {"$in": [children[2], children[3]]}})).await.unwrap(), vec![id(&second)]);
    assert_eq!(
        ids_where(&server, "Parent", json!({"kids": {"$nin": [children[0]]}})).await.unwrap(),
        sorted(vec![id(&second), id(&none)])
    );
    assert_eq!(ids_where(&server, "Parent", json!({"kids": {"$ne": children[2]}, "n": {"$lt": 3}})).await.unwrap(), vec![id(&first)]);
    // Inside $or, and beside an objectId constraint of the query's own.
    let either = json!({"$or": [{"kids": children[0]}, {"n": 3}], "objectId": {"$ne": id(&none)}});
    assert_eq!(ids_where(&server, "Parent", either).await.unwrap(), vec![id(&first)]);
    // A member that is no pointer names nothing; a malformed operand is still refused.
    assert_eq!(ids_where(&server, "Parent", json!({"kids": {"$in": ["x", 1]}})).await.unwrap(), Vec::<String>::new());
    let refused = ids_where(&server, "Parent", json!({"kids": {"$in": 5}})).await.unwrap_err();
    assert_eq!(refused["code"], 102, "{refused}");
}

#[tokio::test]
async fn a_redirected_relation_query_names_the_target_class_in_each_object() {
    let server = Server::start("basics", &[]);
    let (_, wheel) = server.master("POST", "/classes/Wheel", Some(json!({"size": 16}))).await;
    let relate = json!({"__op": "AddRelation", "objects": [pointer("Wheel", &wheel)]});
    let (_, car) = server.master("POST", "/classes/Car", Some(json!({"wheels": relate}))).await;
    let where_ = json!({"$relatedTo": {"object": pointer("Car", &car), "key": "wheels"}, "objectId": wheel["objectId"]});
    let path = format!("/classes/Car?redirectClassNameForKey=wheels&limit=1&where={}", url_encode(&where_.to_string()));
    let (status, found) = server.request("GET", &path, None, &[]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["className"], "Wheel");
    assert_eq!(found["results"][0]["className"], "Wheel", "{found}");
    assert_eq!(found["results"][0]["objectId"], wheel["objectId"]);
    // An ordinary query's objects carry no className.
    let (_, plain) = server.request("GET", "/classes/Wheel", None, &[]).await;
    assert!(plain["results"][0].get("className").is_none(), "{plain}");
}

#[tokio::test]
async fn polygons_are_closed_on_save_and_in_queries() {
    let server = Server::start("basics", &[]);
    let open = json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [1, 0]]});
    let closed = json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]});
    let (status, saved) = server.master("POST", "/classes/Area", Some(json!({"shape": open}))).await;
    assert_eq!(status, 201, "{saved}");
    let (_, stored) = server.master("GET", &format!("/classes/Area/{}", saved["objectId"].as_str().unwrap()), None).await;
    assert_eq!(stored["shape"], closed, "{stored}");
    for polygon in [&open, &closed] {
        assert_eq!(ids_where(&server, "Area", json!({"shape": polygon})).await.unwrap().len(), 1, "{polygon}");
    }
    // Saving it closed stores it once closed, not twice.
    let (_, again) = server.master("POST", "/classes/Area", Some(json!({"shape": closed}))).await;
    let (_, stored) = server.master("GET", &format!("/classes/Area/{}", again["objectId"].as_str().unwrap()), None).await;
    assert_eq!(stored["shape"], closed);
    // Bad polygons are refused, nothing stored.
    for bad in [json!({"__type": "Polygon", "coordinates": [[0, 0], [1, 1]]}), json!({"__type": "Polygon", "coordinates": 7})] {
        let (status, answer) = server.master("POST", "/classes/Area", Some(json!({"shape": bad}))).await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    let (_, count) = server.master("GET", "/classes/Area?count=1&limit=0", None).await;
    assert_eq!(count["count"], 2);

    // A Polygon default declared open is stored closed too.
    let fields = json!({"shape": {"type": "Polygon", "defaultValue": open}});
    let (status, schema) = server.master("POST", "/schemas/Plot", Some(json!({"fields": fields}))).await;
    assert_eq!(status, 200, "{schema}");
    assert_eq!(schema["fields"]["shape"]["defaultValue"], open, "the schema keeps the default as declared");
    let (_, plot) = server.master("POST", "/classes/Plot", Some(json!({}))).await;
    assert_eq!(plot["shape"], closed, "the answer names the default it stored: {plot}");
    let (_, stored) = server.master("GET", &format!("/classes/Plot/{}", plot["objectId"].as_str().unwrap()), None).await;
    assert_eq!(stored["shape"], closed, "{stored}");
}

#[tokio::test]
async fn an_anonymous_users_sign_up_does_not_answer_its_authdata() {
    let server = Server::start("basics", &[]);
    let (status, anonymous) = server.request("POST", "/users", Some(json!({"authData": {"anonymous": {"id": "a-1"}}})), &[]).await;
    assert_eq!(status, 201, "{anonymous}");
    let token = anonymous["sessionToken"].as_str().unwrap().to_string();
    let path = format!("/users/{}", anonymous["objectId"].as_str().unwrap());
    let session = [("X-Parse-Session-Token", token.as_str())];
    let body = json!({"username": "foo", "password": "baz", "authData": {"anonymous": null}});
    let (status, answer) = server.request("PUT", &path, Some(body), &session).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("authData").is_none(), "the client's own authData is no news to it: {answer}");
    let (_, user) = server.request("GET", &path, None, &session).await;
    assert!(user.get("authData").is_none(), "the anonymous link is gone: {user}");
    assert_eq!(user["username"], "foo");
    // An unknown provider is still refused, nothing linked.
    let (status, answer) = server.request("PUT", &path, Some(json!({"authData": {"nosuch": {"id": "1"}}})), &session).await;
    assert_eq!(status, 400, "{answer}");
    let (_, user) = server.request("GET", &path, None, &session).await;
    assert!(user.get("authData").is_none(), "{user}");
}

#[tokio::test]
async fn with_find_triggers_a_get_needs_the_get_permission_not_find() {
    let server = Server::start("cloud_hooks", &[]);
    for (class, clp) in [("Article", json!({"get": {"*": true}, "find": {}})), ("Secretive", json!({"get": {}, "find": {"*": true}}))] {
        let (status, answer) = server.master("POST", &format!("/schemas/{class}"), Some(json!({"classLevelPermissions": clp}))).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (_, article) = server.master("POST", "/classes/Article", Some(json!({"title": "t"}))).await;
    let (_, secret) = server.master("POST", "/classes/Secretive", Some(json!({"public": true}))).await;

    let (status, got) = server.request("GET", &format!("/classes/Article/{}", article["objectId"].as_str().unwrap()), None, &[]).await;
    assert_eq!(status, 200, "get is allowed: {got}");
    assert_eq!(got["seen"], "get", "the find triggers ran: {got}");
    let (status, found) = server.request("GET", "/classes/Article", None, &[]).await;
    assert_eq!((status, found["code"].as_i64()), (400, Some(119)), "find is not: {found}");

    let (status, got) = server.request("GET", &format!("/classes/Secretive/{}", secret["objectId"].as_str().unwrap()), None, &[]).await;
    assert_eq!((status, got["code"].as_i64()), (400, Some(119)), "get is not allowed: {got}");
    let (status, found) = server.request("GET", "/classes/Secretive", None, &[]).await;
    assert_eq!(status, 200, "find is: {found}");
}

#[tokio::test]
async fn full_text_search_with_its_score_and_options() {
    let server = Server::start("basics", &[]);
    let subjects = ["coffee", "Coffee Shopping", "Baking a cake", "Café Con Leche", "coffee and cream", "Cafe con Leche", "preparação de cafe"];
    for subject in subjects {
        server.master("POST", "/classes/Note", Some(json!({"subject": subject}))).await;
    }
    let search = |term: Value| json!({"subject": {"$text": {"$search": term}}});
    let subjects_of = |found: &Value| -> Vec<String> {
        found["results"].as_array().unwrap().iter().map(|o| o["subject"].as_str().unwrap_or_default().to_string()).collect()
    };
    let find = |where_: Value, extra: &str| format!("/classes/Note?where={}{extra}", url_encode(&where_.to_string()));

    let (status, found) = server.request("GET", &find(search(json!({"$term": "coffee"})), "&order=$score&keys=$score,subject"), None, &[]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(subjects_of(&found)[0], "coffee", "best score first: {found}");
    let scores: Vec<f64> = found["results"].as_array().unwrap().iter().map(|o| o["score"].as_f64().unwrap()).collect();
    assert_eq!(scores, vec![1.0, 0.75, 0.75], "{found}");

    // Case and diacritics are folded unless asked; a phrase must appear whole; -word excludes.
    let (_, found) = server.request("GET", &find(search(json!({"$term": "cafe"})), ""), None, &[]).await;
    assert_eq!(subjects_of(&found).len(), 3, "{found}");
    let (_, found) = server.request("GET", &find(search(json!({"$term": "cafe", "$diacriticSensitive": true, "$caseSensitive": true})), ""), None, &[]).await;
    assert_eq!(subjects_of(&found), vec!["preparação de cafe"], "{found}");
    let (_, found) = server.request("GET", &find(search(json!({"$term": "\"con leche\" -café"})), ""), None, &[]).await;
    assert_eq!(subjects_of(&found), Vec::<String>::new(), "café folds to cafe and excludes both: {found}");
    let (_, found) = server.request("GET", &find(search(json!({"$term": "\"con leche\"", "$diacriticSensitive": true})), ""), None, &[]).await;
    assert_eq!(subjects_of(&found).len(), 2, "{found}");
    // Without keys=$score no score field is added.
    let (_, found) = server.request("GET", &find(search(json!({"$term": "cake"})), ""), None, &[]).await;
    assert!(found["results"][0].get("score").is_none(), "{found}");

    // Malformed searches are 107 in Parse Server's words.
    for (term, message) in [
        (json!({"$term": 5}), "bad $text: $term, should be string"),
        (json!({"$term": "x", "$caseSensitive": "yes"}), "bad $text: $caseSensitive, should be boolean"),
        (json!({"$term": "x", "notAnOption": true}), "bad $text: notAnOption, unknown option"),
    ] {
        let (status, answer) = server.request("GET", &find(search(term.clone()), ""), None, &[]).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(107)), "{term}: {answer}");
        assert_eq!(answer["error"], message);
    }
}

#[tokio::test]
async fn within_polygon_input_errors_are_107() {
    let server = Server::start("basics", &[]);
    server.master("POST", "/classes/Place", Some(json!({"at": {"__type": "GeoPoint", "latitude": 1, "longitude": 1}}))).await;
    for polygon in [json!(1234), json!([1234]), json!([[0, 0], [1, 1]]), json!({"__type": "Polygon"})] {
        let where_ = json!({"at": {"$geoWithin": {"$polygon": polygon}}});
        let (status, answer) = server.request("GET", &format!("/classes/Place?where={}", url_encode(&where_.to_string())), None, &[]).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(107)), "{polygon}: {answer}");
        assert!(answer["error"].as_str().unwrap().starts_with("bad $geoWithin value"), "{answer}");
    }
    let inside = json!({"at": {"$geoWithin": {"$polygon": [[0, 0], [0, 2], [2, 2], [2, 0]]}}});
    let (status, found) = server.request("GET", &format!("/classes/Place?where={}", url_encode(&inside.to_string())), None, &[]).await;
    assert_eq!((status, found["results"].as_array().map(Vec::len)), (200, Some(1)), "{found}");
}
