//! Moving between Parse Server and cloudrt on one PostgreSQL database, both ways.
//!
//! Parse Server 7 (npm, pinned in tests/parse_server, installed by scripts/setup.sh) runs
//! tests/parse_server/migration.mjs, which drives it with the official Parse JS SDK. Parse
//! Server writes users, a session, a role, objects of every type with ACLs, pointers, a file
//! and a relation; it stops; cloudrt starts on the same database and serves all of it. Then the
//! other way: what cloudrt writes, Parse Server reads back and logs in.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::{Server, TestDatabase};
use serde_json::{json, Value};

/// Runs `node migration.mjs <args>` (Parse Server on `database`) and answers its JSON.
fn parse_server(database: &TestDatabase, args: &[&str]) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parse_server");
    assert!(
        dir.join("node_modules/parse-server").is_dir(),
        "Parse Server is not installed: run `npm ci --prefix tests/parse_server` (make test does it)"
    );
    let port = free_port().to_string();
    let (mode, rest) = args.split_first().unwrap();
    // A working directory of its own, for the files and logs Parse Server writes there.
    let work = std::env::temp_dir().join(format!("cloudrt-parse-server-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let output = Command::new("node")
        .arg(dir.join("migration.mjs"))
        .arg(mode)
        .arg(database.uri())
        .arg(&port)
        .args(rest)
        .current_dir(&work)
        .output()
        .expect("run node (Node.js 20 is needed for Parse Server)");
    let _ = std::fs::remove_dir_all(&work);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|line| line.starts_with('{')).unwrap_or_else(|| {
        panic!("Parse Server printed no answer:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    let answer: Value = serde_json::from_str(line).unwrap();
    assert!(answer.get("error").is_none(), "Parse Server failed: {answer}");
    answer
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn session(token: &str) -> [(&'static str, &str); 1] {
    [("X-Parse-Session-Token", token)]
}

#[tokio::test]
async fn cloudrt_serves_what_parse_server_wrote() {
    let database = Arc::new(TestDatabase::create());
    let wrote = parse_server(&database, &["write"]);
    let server = Server::start_on("basics", database.clone(), &[]);
    let alice = wrote["alice"]["id"].as_str().unwrap();
    let token = wrote["alice"]["token"].as_str().unwrap();

    // Every object reads back equal, field by field (the file's URL is now cloudrt's).
    for post in wrote["posts"].as_array().unwrap() {
        let id = post["objectId"].as_str().unwrap();
        let (status, read) = server.master("GET", &format!("/classes/Post/{id}"), None).await;
        assert_eq!(status, 200, "{read}");
        for (key, value) in post.as_object().unwrap() {
            match key.as_str() {
                "likes" => assert!(read.get("likes").is_none() || read["likes"]["__type"] == "Relation"),
                "attachment" => {
                    assert_eq!(read[key]["name"], value["name"]);
                    assert!(read[key]["url"].as_str().unwrap().starts_with(&server.url), "{read}");
                }
                _ => assert_eq!(&read[key], value, "{key} of {id}"),
            }
        }
    }

    // The existing session token works; the password Parse Server hashed logs in.
    let (status, me) = server.request("GET", "/users/me", None, &session(token)).await;
    assert_eq!((status, me["objectId"].as_str()), (200, Some(alice)), "{me}");
    assert_eq!(me["email"], "alice@example.com");
    let (status, login) = server.request("GET", "/login?username=alice&password=alice-pw", None, &[]).await;
    assert_eq!((status, login["objectId"].as_str()), (200, Some(alice)), "{login}");
    let (status, _) = server.request("GET", "/login?username=alice&password=wrong", None, &[]).await;
    assert_eq!(status, 404);
    let (_, bob) = server.request("GET", "/login?username=bob&password=bob-pw", None, &[]).await;
    let bob_token = bob["sessionToken"].as_str().expect("bob logs in").to_string();

    // ACLs hold: the secret post is alice's alone.
    let secret = wrote["posts"].as_array().unwrap().iter().find(|p| p["title"] == "secret").unwrap();
    let path = format!("/classes/Post/{}", secret["objectId"].as_str().unwrap());
    assert_eq!(server.request("GET", &path, None, &session(token)).await.0, 200);
    assert_eq!(server.request("GET", &path, None, &session(&bob_token)).await.0, 404);
    assert_eq!(server.request("GET", &path, None, &[]).await.0, 404);
    let (_, public) = server.request("GET", "/classes/Post", None, &[]).await;
    assert_eq!(public["results"].as_array().unwrap().len(), 1, "{public}");

    // Relations and roles carry over: the post's likes, the role's users.
    let open = wrote["posts"].as_array().unwrap().iter().find(|p| p["title"] == "open").unwrap();
    let likes = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "Post", "objectId": open["objectId"]}, "key": "likes"}});
    let (_, liked) = server.master("GET", &format!("/users?where={}", encode(&likes)), None).await;
    let mut ids: Vec<_> = liked["results"].as_array().unwrap().iter().map(|u| u["objectId"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![alice, wrote["bob"]["id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids, expected);
    let members = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "_Role", "objectId": wrote["role"]}, "key": "users"}});
    let (_, admins) = server.master("GET", &format!("/users?where={}", encode(&members)), None).await;
    assert_eq!(admins["results"][0]["objectId"], alice, "{admins}");

    // The role grants its write right: alice (an Admin) may update the open post, bob may not.
    let open_path = format!("/classes/Post/{}", open["objectId"].as_str().unwrap());
    let (status, body) = server.request("PUT", &open_path, Some(json!({"count": 8})), &session(&bob_token)).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.request("PUT", &open_path, Some(json!({"count": 8})), &session(token)).await;
    assert_eq!(status, 200, "{body}");
}

/// The plan of the page cloudrt asks for an unordered query of `Post` (the natural order, as
/// `store/postgres/query.rs` writes it), run: its nodes as (type, rows read in all its loops).
fn unordered_page_plan(database: &TestDatabase) -> Vec<(String, u64)> {
    let order = r#"date_trunc('milliseconds', t."createdAt" AT TIME ZONE 'UTC') ASC NULLS FIRST, t."objectId" COLLATE "C" ASC NULLS FIRST"#;
    let sql = format!(
        r#"EXPLAIN (ANALYZE, FORMAT JSON) SELECT to_jsonb(t)::text FROM (SELECT * FROM "Post" t WHERE true ORDER BY {order} LIMIT 10 OFFSET 0) t ORDER BY {order}"#
    );
    let plan: Value = serde_json::from_str(&database.sql(&sql)).unwrap();
    let mut nodes = Vec::new();
    let mut pending = vec![plan[0]["Plan"].clone()];
    while let Some(node) = pending.pop() {
        let rows = node["Actual Rows"].as_u64().unwrap() * node["Actual Loops"].as_u64().unwrap();
        nodes.push((node["Node Type"].as_str().unwrap().to_string(), rows));
        pending.extend(node["Plans"].as_array().cloned().unwrap_or_default());
    }
    nodes
}

#[tokio::test]
async fn a_table_parse_server_made_gets_the_index_of_the_natural_order() {
    let database = Arc::new(TestDatabase::create());
    parse_server(&database, &["write"]);
    database.sql(
        r#"INSERT INTO "Post" ("objectId", "createdAt", "updatedAt", "_rperm", "_wperm", "title")
           SELECT 'fill' || g, now() - g * interval '1 second', now(), '{*}', '{*}', 'filler ' || g FROM generate_series(1, 100000) g;
           ANALYZE "Post""#,
    );
    let sorted = unordered_page_plan(&database);
    assert!(sorted.iter().any(|(node, rows)| node == "Seq Scan" && *rows >= 100_000), "Parse Server's indexes make it read every row: {sorted:?}");

    let server = Server::start_on("basics", database.clone(), &[]);
    let (status, page) = server.master("GET", "/classes/Post?limit=10", None).await;
    assert_eq!((status, page["results"].as_array().map(Vec::len)), (200, Some(10)), "{page}");
    let valid = r#"SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '_cloudrt_order_Post' AND i.indisvalid"#;
    let started = std::time::Instant::now();
    while database.sql(valid) != "1" {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "no natural-order index: {}", server.log());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let plan = unordered_page_plan(&database);
    // (The outer sort is of the page's ten rows, which the query orders again after its LIMIT.)
    assert!(plan.iter().any(|(node, _)| node == "Index Scan") && !plan.iter().any(|(node, _)| node == "Seq Scan"), "{plan:?}");
    assert!(plan.iter().all(|(_, rows)| *rows <= 10), "the page reads its ten rows: {plan:?}");
    // The same page through cloudrt: the ten oldest, in order.
    let (_, again) = server.master("GET", "/classes/Post?limit=10", None).await;
    let created: Vec<&str> = again["results"].as_array().unwrap().iter().map(|o| o["createdAt"].as_str().unwrap()).collect();
    let mut sorted_created = created.clone();
    sorted_created.sort();
    assert_eq!(created, sorted_created);
}

#[tokio::test]
async fn parse_server_reads_what_cloudrt_wrote_and_logs_its_users_in() {
    let database = Arc::new(TestDatabase::create());
    let server = Server::start_on("basics", database.clone(), &["--allow-client-class-creation"]);
    let (carol, _) = server.sign_up("carol", "carol-pw").await;
    let (dave, _) = server.sign_up("dave", "dave-pw").await;
    let object = json!({
        "title": "from cloudrt", "score": 3.5, "done": false,
        "when": {"__type": "Date", "iso": "2025-06-07T08:09:10.123Z"},
        "meta": {"k": [1, 2]}, "tags": ["x"],
        "owner": {"__type": "Pointer", "className": "_User", "objectId": carol},
        "place": {"__type": "GeoPoint", "latitude": 10.5, "longitude": 20.25},
        "ACL": {carol.clone(): {"read": true, "write": true}}
    });
    let (status, made) = server.master("POST", "/classes/Made", Some(object.clone())).await;
    assert_eq!(status, 201, "{made}");
    let id = made["objectId"].as_str().unwrap().to_string();
    let likes = json!({"likes": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "_User", "objectId": dave}]}});
    assert_eq!(server.master("PUT", &format!("/classes/Made/{id}"), Some(likes)).await.0, 200);
    drop(server);

    let read = parse_server(&database, &["read", "carol", "carol-pw", "Made"]);
    assert_eq!(read["user"], carol.as_str(), "Parse Server logs in a user cloudrt signed up");
    let theirs = &read["objects"][0];
    assert_eq!(theirs["objectId"], id.as_str());
    for key in ["title", "score", "done", "when", "meta", "tags", "owner", "place", "ACL"] {
        assert_eq!(theirs[key], object[key], "{key} as Parse Server reads it: {theirs}");
    }
    assert_eq!(theirs["createdAt"], made["createdAt"]);
    assert_eq!(read["likes"][&id], json!([dave]));
}

fn encode(value: &Value) -> String {
    value
        .to_string()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
