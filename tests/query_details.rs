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
