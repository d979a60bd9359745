//! Query details Parse Server answers in its own way, over real HTTP: `$`-keys that are no
//! operator, order keys that are no field, `include=*`, `redirectClassNameForKey`, and a
//! `$relatedTo` of an object that was never saved.

mod common;

use common::Server;
use serde_json::json;

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bad_keys_and_orders_are_105_with_parse_servers_words() {
    let server = Server::start("basics", &[]);
    assert_eq!(server.master("POST", "/classes/Thing", Some(json!({"n": 1}))).await.0, 201);
    let cases = [
        (format!("/classes/Thing?where={}", encode(r#"{"$foo":1}"#)), "Invalid key name: $foo"),
        (format!("/classes/Thing?where={}", encode(r#"{"$or":[{"$bar":1}]}"#)), "Invalid key name: $bar"),
        ("/classes/Thing?order=_password".to_string(), "Invalid field name: _password."),
        ("/classes/Thing?order=-length".to_string(), "Invalid field name: length."),
    ];
    for (path, message) in cases {
        for master in [true, false] {
            let (status, answer) = if master { server.master("GET", &path, None).await } else { server.request("GET", &path, None, &[]).await };
            assert_eq!((status, answer["code"].as_i64()), (400, Some(105)), "{path}: {answer}");
            assert_eq!(answer["error"], message);
        }
    }
}

#[tokio::test]
async fn include_all_redirect_class_name_and_unsaved_related_to() {
    let server = Server::start("basics", &[]);
    let (_, author) = server.master("POST", "/classes/Author", Some(json!({"name": "Le Guin"}))).await;
    let (_, fan) = server.master("POST", "/classes/Fan", Some(json!({"name": "ann"}))).await;
    let author = json!({"__type": "Pointer", "className": "Author", "objectId": author["objectId"]});
    let fan_pointer = json!({"__type": "Pointer", "className": "Fan", "objectId": fan["objectId"]});
    let book = json!({"title": "Earthsea", "author": author, "editor": author, "fans": {"__op": "AddRelation", "objects": [fan_pointer]}});
    let (status, book) = server.master("POST", "/classes/Book", Some(book)).await;
    assert_eq!(status, 201, "{book}");

    let (_, all) = server.master("GET", "/classes/Book?include=*", None).await;
    assert_eq!(all["results"][0]["author"]["name"], "Le Guin", "{all}");
    assert_eq!(all["results"][0]["editor"]["__type"], "Object", "every pointer field is included");

    let related = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "Book", "objectId": book["objectId"]}, "key": "fans"}});
    let path = format!("/classes/Book?redirectClassNameForKey=fans&where={}", encode(&related.to_string()));
    let (status, fans) = server.master("GET", &path, None).await;
    assert_eq!(status, 200, "{fans}");
    assert_eq!(fans["className"], "Fan");
    assert_eq!(fans["results"][0]["name"], "ann", "{fans}");

    let unsaved = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "Book"}, "key": "fans"}});
    let path = format!("/classes/Fan?count=1&where={}", encode(&unsaved.to_string()));
    let (status, none) = server.master("GET", &path, None).await;
    assert_eq!((status, none["results"].clone(), none["count"].clone()), (200, json!([]), json!(0)), "{none}");
}

#[tokio::test]
async fn ordering_by_the_stored_date_names_orders_by_the_dates() {
    let server = Server::start("basics", &[]);
    let mut ids = Vec::new();
    for n in 0..3 {
        let (_, saved) = server.master("POST", "/classes/Thing", Some(json!({"n": n}))).await;
        ids.push(saved["objectId"].clone());
        // Dates have millisecond precision: keep them apart so the order is decided.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (_, last) = server.master("PUT", &format!("/classes/Thing/{}", ids[0].as_str().unwrap()), Some(json!({"n": 9}))).await;
    assert!(last["updatedAt"].is_string(), "{last}");
    for (order, first) in [("_created_at", &ids[0]), ("-_created_at", &ids[2]), ("-_updated_at", &ids[0]), ("_updated_at", &ids[1])] {
        let (status, found) = server.request("GET", &format!("/classes/Thing?order={order}"), None, &[]).await;
        assert_eq!(status, 200, "{order}: {found}");
        assert_eq!(&found["results"][0]["objectId"], first, "{order}: {found}");
    }
    // Only the two date names are mapped: other underscore keys stay refused.
    let (status, answer) = server.request("GET", "/classes/Thing?order=_created", None, &[]).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("Invalid field name: _created.")));
}

#[tokio::test]
async fn an_op_on_a_nested_key_answers_the_result_under_its_field() {
    let server = Server::start("basics", &[]);
    let body = json!({"o": {"n": 5, "letter": "a", "deep": {"er": {"d": 1}}}, "s": "text"});
    let (_, saved) = server.master("POST", "/classes/Thing", Some(body)).await;
    let path = format!("/classes/Thing/{}", saved["objectId"].as_str().unwrap());

    let (status, answer) = server.master("PUT", &path, Some(json!({"o.n": {"__op": "Increment", "amount": 15}}))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["o"], json!({"n": 20}), "{answer}");
    assert!(answer.get("o.n").is_none(), "the dotted key is no field of the answer: {answer}");

    let (_, answer) = server.master("PUT", &path, Some(json!({"o.deep.er.d": {"__op": "Increment", "amount": 1}, "o.list": {"__op": "Add", "objects": [1]}}))).await;
    assert_eq!(answer["o"], json!({"deep": {"er": {"d": 2}}, "list": [1]}), "{answer}");

    let (_, answer) = server.master("PUT", &path, Some(json!({"o.letter": {"__op": "Delete"}}))).await;
    assert!(answer.get("o").is_none() && answer.get("o.letter").is_none(), "an unset answers nothing: {answer}");

    let (_, stored) = server.master("GET", &path, None).await;
    assert_eq!(stored["o"], json!({"n": 20, "deep": {"er": {"d": 2}}, "list": [1]}), "{stored}");

    // A nested op under a field that is no object is still 111, nothing stored.
    let (status, answer) = server.master("PUT", &path, Some(json!({"s.dot": {"__op": "Increment", "amount": 1}}))).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(111)), "{answer}");
    assert_eq!(answer["error"], "schema mismatch for Thing.s; expected String but got Object");
}
