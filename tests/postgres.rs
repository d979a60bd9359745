//! cloudrt on PostgreSQL (`--database-uri`): objects, users, relations and ACLs go through HTTP
//! into Parse Server's own tables and columns, survive `kill -9`, and a database that is down
//! or unreachable is a clear error, never a crash. Each test makes its own database.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{fixture, Server, TestDatabase, APP_ID, MASTER_KEY, url_encode};
use serde_json::{json, Value};

fn start() -> Server {
    Server::start_on("basics", Arc::new(TestDatabase::create()), &["--allow-client-class-creation"])
}

fn sql(server: &Server, query: &str) -> String {
    server.database.as_ref().expect("a PostgreSQL server").sql(query)
}

#[tokio::test]
async fn every_field_type_is_stored_in_parse_servers_columns_and_reads_back_equal() {
    let server = start();
    let (user, _) = server.sign_up("ann", "pw").await;
    let object = json!({
        "title": "hello", "score": 2.5, "done": true,
        "when": {"__type": "Date", "iso": "2024-01-02T03:04:05.678Z"},
        "meta": {"a": {"b": [1, "x"]}}, "tags": ["a", 1, {"k": null}],
        "owner": {"__type": "Pointer", "className": "_User", "objectId": user},
        "photo": {"__type": "File", "name": "0123_a.png", "url": "http://elsewhere/a.png"},
        "place": {"__type": "GeoPoint", "latitude": 40.25, "longitude": -3.5},
        "area": {"__type": "Polygon", "coordinates": [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]},
        "blob": {"__type": "Bytes", "base64": "aGk="},
        "ACL": {"*": {"read": true}, user.clone(): {"read": true, "write": true}}
    });
    let (status, created) = server.master("POST", "/classes/Thing", Some(object.clone())).await;
    assert_eq!(status, 201, "{created}");
    let id = created["objectId"].as_str().unwrap();

    let (status, read) = server.master("GET", &format!("/classes/Thing/{id}"), None).await;
    assert_eq!(status, 200, "{read}");
    for key in ["title", "score", "done", "when", "meta", "tags", "owner", "place", "blob", "ACL"] {
        assert_eq!(read[key], object[key], "{key} in {read}");
    }
    // Parse Server stores a polygon's ring closed; PostgreSQL prints whole coordinates as integers.
    let closed = json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [0, 0]]});
    assert_eq!(read["area"], closed, "{read}");
    assert_eq!(read["photo"]["name"], "0123_a.png");
    assert_eq!(read["photo"]["url"], format!("{}/files/{APP_ID}/0123_a.png", server.url), "file URLs are this server's");
    assert_eq!(read["createdAt"], created["createdAt"]);

    let types = sql(
        &server,
        "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'Thing'",
    );
    for column in [
        "title text", "score double precision", "done boolean", "when timestamp with time zone", "meta jsonb",
        "tags jsonb", "owner text", "photo text", "place point", "area polygon", "blob jsonb", "_rperm ARRAY",
        "_wperm ARRAY", "createdAt timestamp with time zone", "objectId text",
    ] {
        assert!(types.split(',').any(|c| c == column), "no column {column:?} in {types}");
    }
    let row = sql(&server, &format!(r#"SELECT "owner", "photo", "place"::text, _rperm::text, _wperm::text FROM "Thing" WHERE "objectId" = '{id}'"#));
    assert_eq!(row, format!("{user}|0123_a.png|(-3.5,40.25)|{{*,{user}}}|{{{user}}}"));
    let schema = sql(&server, r#"SELECT "schema"->'fields'->'owner' || jsonb_build_object('acl', "schema"->'fields' ? 'ACL', 'parse', "isParseClass") FROM "_SCHEMA" WHERE "className" = 'Thing'"#);
    assert_eq!(serde_json::from_str::<Value>(&schema).unwrap(), json!({"type": "Pointer", "targetClass": "_User", "acl": false, "parse": true}));
}

#[tokio::test]
async fn updates_queries_counts_and_deletes_work_on_postgres() {
    let server = start();
    for n in 0..5 {
        let (status, body) = server.master("POST", "/classes/Score", Some(json!({"n": n, "name": format!("p{n}")}))).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, found) = server.master("GET", "/classes/Score?where=%7B%22n%22%3A%7B%22%24gte%22%3A3%7D%7D&count=1&order=-n", None).await;
    assert_eq!(found["count"], 2, "{found}");
    assert_eq!(found["results"][0]["n"], 4);
    let id = found["results"][0]["objectId"].as_str().unwrap().to_string();

    let (status, body) = server.master("PUT", &format!("/classes/Score/{id}"), Some(json!({"n": {"__op": "Increment", "amount": 10}, "added": "new field"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["n"], 14);
    assert_eq!(sql(&server, &format!(r#"SELECT "n"::text || ' ' || "added" FROM "Score" WHERE "objectId" = '{id}'"#)), "14 new field");

    let (status, body) = server.master("PUT", &format!("/classes/Score/{id}"), Some(json!({"n": "not a number"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(111)), "{body}");
    let (_, kept) = server.master("GET", &format!("/classes/Score/{id}"), None).await;
    assert_eq!(kept["n"], 14, "a refused write changes nothing");

    let (status, _) = server.master("DELETE", &format!("/classes/Score/{id}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = server.master("GET", &format!("/classes/Score/{id}"), None).await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(101)));
    assert_eq!(sql(&server, r#"SELECT count(*) FROM "Score""#), "4");
}

#[tokio::test]
async fn users_log_in_with_bcrypt_hashes_and_sessions_live_in_the_session_table() {
    let server = start();
    let (user, token) = server.sign_up("bob", "secret").await;
    let hash = sql(&server, &format!(r#"SELECT "_hashed_password" FROM "_User" WHERE "objectId" = '{user}'"#));
    assert!(hash.starts_with("$2a$10$"), "Parse Server's bcrypt: {hash}");
    assert_eq!(sql(&server, &format!(r#"SELECT "user" FROM "_Session" WHERE "sessionToken" = '{token}'"#)), user);

    let (status, me) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!((status, me["objectId"].as_str()), (200, Some(user.as_str())), "{me}");
    assert!(me.get("_hashed_password").is_none() && me.get("password").is_none(), "{me}");
    let (status, login) = server.request("GET", "/login?username=bob&password=secret", None, &[]).await;
    assert_eq!(status, 200, "{login}");
    let (status, wrong) = server.request("GET", "/login?username=bob&password=nope", None, &[]).await;
    assert_eq!((status, wrong["code"].as_i64()), (404, Some(101)));

    let (status, _) = server.request("POST", "/logout", Some(json!({})), &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 200);
    let (status, _) = server.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 400, "a logged-out token no longer works");
}

#[tokio::test]
async fn acls_and_relations_are_enforced_from_the_acl_columns_and_join_tables() {
    let server = start();
    let (ann, ann_token) = server.sign_up("ann", "pw").await;
    let (_, eve_token) = server.sign_up("eve", "pw").await;
    let (_, secret) = server
        .request("POST", "/classes/Note", Some(json!({"text": "mine", "ACL": {ann.clone(): {"read": true, "write": true}}})), &[("X-Parse-Session-Token", &ann_token)])
        .await;
    let note = secret["objectId"].as_str().unwrap().to_string();
    let (status, _) = server.request("GET", &format!("/classes/Note/{note}"), None, &[("X-Parse-Session-Token", &ann_token)]).await;
    assert_eq!(status, 200);
    let (status, _) = server.request("GET", &format!("/classes/Note/{note}"), None, &[("X-Parse-Session-Token", &eve_token)]).await;
    assert_eq!(status, 404, "eve is not in _rperm");

    let (_, post) = server.master("POST", "/classes/Post", Some(json!({"title": "p"}))).await;
    let post = post["objectId"].as_str().unwrap().to_string();
    let pointer = json!({"__type": "Pointer", "className": "Note", "objectId": note});
    let (status, body) = server.master("PUT", &format!("/classes/Post/{post}"), Some(json!({"notes": {"__op": "AddRelation", "objects": [pointer]}}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sql(&server, r#"SELECT "relatedId" || ' ' || "owningId" FROM "_Join:notes:Post""#), format!("{note} {post}"));
    let related = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "Post", "objectId": post}, "key": "notes"}});
    let (_, found) = server.master("GET", &format!("/classes/Note?where={}", url_encode(&related.to_string())), None).await;
    assert_eq!(found["results"][0]["objectId"], note.as_str(), "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9() {
    let server = start();
    let mut acknowledged = Vec::new();
    let writes: Vec<_> = (0..40)
        .map(|n| {
            let (client, url) = (server.client.clone(), server.url.clone());
            tokio::spawn(async move {
                let response = client
                    .post(format!("{url}/classes/Durable"))
                    .header("X-Parse-Application-Id", APP_ID)
                    .header("X-Parse-Master-Key", MASTER_KEY)
                    .body(json!({"n": n}).to_string())
                    .send()
                    .await
                    .ok()?;
                (response.status() == 201).then_some(())?;
                Some(response.json::<Value>().await.ok()?["objectId"].as_str()?.to_string())
            })
        })
        .collect();
    for write in writes {
        acknowledged.extend(write.await.unwrap());
    }
    assert_eq!(acknowledged.len(), 40);
    let server = server.restart("basics", &[]);
    for id in &acknowledged {
        let (status, body) = server.master("GET", &format!("/classes/Durable/{id}"), None).await;
        assert_eq!(status, 200, "{id} was acknowledged but is gone: {body}");
    }
}

#[test]
fn an_unreachable_database_stops_the_start_with_a_clear_message() {
    let started = Server::try_start_without_database(&fixture("basics"), &["--database-uri", "postgres://postgres@127.0.0.1:1/none"]);
    let exited = started.err().expect("cloudrt must not start without its database");
    assert_ne!(exited.code, Some(0));
    assert!(exited.stderr.contains("cannot connect to the database at --database-uri"), "{}", exited.stderr);

    let started = Server::try_start_without_database(&fixture("basics"), &["--database-uri", "mysql://x"]);
    let exited = started.err().expect("a URI that is not PostgreSQL's is refused");
    assert!(exited.stderr.contains("--database-uri must be a postgres://"), "{}", exited.stderr);
}

#[tokio::test]
async fn a_database_that_goes_away_gives_parse_errors_and_the_server_recovers() {
    let database = Arc::new(TestDatabase::create());
    let server = Server::start_on("basics", database.clone(), &[]);
    let (status, _) = server.master("POST", "/classes/Item", Some(json!({"n": 1}))).await;
    assert_eq!(status, 201);

    // Every connection cut: the next request reconnects by itself.
    terminate_connections(&database);
    let (status, body) = server.master("POST", "/classes/Item", Some(json!({"n": 2}))).await;
    assert_eq!(status, 201, "a cut connection is retried on a new one: {body}");

    // No connection possible: a Parse error, 503, and the server lives on.
    psql_admin(&format!(r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS false"#, database.name));
    terminate_connections(&database);
    let (status, body) = server.master("GET", "/classes/Item", None).await;
    assert_eq!((status, body["code"].as_i64()), (503, Some(1)), "{body}");
    assert!(body["error"].as_str().unwrap().contains("database is unavailable"), "{body}");

    allow_connections(&database);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = server.master("GET", "/classes/Item", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
}

fn terminate_connections(database: &TestDatabase) {
    psql_admin(&format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()", database.name));
}

fn allow_connections(database: &TestDatabase) {
    psql_admin(&format!(r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS true"#, database.name));
}

/// SQL on the `postgres` database, for statements about another database.
fn psql_admin(sql: &str) {
    let status = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAt", "-c", sql])
        .status()
        .expect("run psql");
    assert!(status.success(), "{sql}");
}

#[tokio::test]
async fn a_statement_past_the_query_timeout_is_cancelled_with_the_query_timeout_error() {
    let database = Arc::new(TestDatabase::create());
    let server = Server::start_on("basics", database.clone(), &["--allow-client-class-creation", "--query-timeout", "1"]);
    let (status, created) = server.master("POST", "/classes/Item", Some(json!({"n": 1}))).await;
    assert_eq!(status, 201, "{created}");
    let query = format!("/classes/Item?where={}", url_encode(r#"{"n": 1}"#));

    // Another session holds the table: every statement on it waits, past the timeout.
    let mut holder = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &database.name, "-qAt"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run psql");
    let mut stdin = holder.stdin.take().unwrap();
    writeln!(stdin, r#"BEGIN; LOCK TABLE "Item" IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"#).unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");

    let started = std::time::Instant::now();
    let (status, body) = server.master("GET", &query, None).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(124)), "{body}");
    assert!(body["error"].as_str().unwrap().contains("--query-timeout"), "{body}");
    assert!(started.elapsed() >= Duration::from_millis(900), "cancelled early: {:?}", started.elapsed());
    let (status, body) = server.master("GET", &format!("/classes/Item/{}", created["objectId"].as_str().unwrap()), None).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(124)), "{body}");

    writeln!(stdin, "COMMIT;").unwrap();
    drop(stdin);
    holder.wait().unwrap();
    let (status, body) = server.master("GET", &query, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["n"], 1, "{body}");
}

/// The transactions committed in the server's database so far, as PostgreSQL counts them.
fn transactions(database: &TestDatabase) -> u64 {
    database.sql("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").parse().unwrap()
}

#[tokio::test]
async fn an_idle_node_without_schedules_does_not_ask_the_database_for_them_every_tick() {
    // A schedule "minute" of 1 s: the scheduler ticks four times a second.
    let database = Arc::new(TestDatabase::create());
    let server = Server::start_on("jobs", database.clone(), &["--minute-seconds", "1"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = transactions(&database);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // About twelve ticks: each used to read information_schema for the missing `_JobSchedule`
    // table. Now the absence is remembered (the two reads are this test's own).
    let idle = transactions(&database) - before;
    assert!(idle <= 3, "{idle} transactions while idle");

    // A schedule made later is still found and run: the table it makes is noted.
    let schedule = json!({"job_schedule": {"jobName": "tick", "repeatMinutes": 1, "params": {}}});
    let (status, created) = server.master("POST", "/cloud_code/jobs", Some(schedule)).await;
    assert_eq!(status, 200, "{created}");
    let started = std::time::Instant::now();
    loop {
        let (_, runs) = server.master("GET", "/classes/_JobStatus?limit=1", None).await;
        if runs["results"].as_array().is_some_and(|runs| !runs.is_empty()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the schedule never ran: {runs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_class_table_cloudrt_makes_has_its_natural_order_index_when_its_first_object_is_saved() {
    let database = Arc::new(TestDatabase::create());
    let server = Server::start_on("basics", database.clone(), &[]);
    let (status, created) = server.master("POST", "/classes/Fresh", Some(json!({"n": 1}))).await;
    assert_eq!(status, 201, "{created}");
    // Made in the transaction that added the table's createdAt column, not by the background
    // build (which a table made elsewhere needs): there as soon as the save is answered.
    let valid = database.sql("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '_cloudrt_order_Fresh'");
    assert_eq!(valid, "t");
}
