//! Several cloudrt nodes on one PostgreSQL database (issue 15, part 5): what one node changes
//! the others use within a second, schedules run once per occurrence on the leader alone and
//! another node takes over when it is killed, `--max-concurrent-jobs` holds across nodes, and
//! a job whose node died is marked failed. Several nodes need a shared database: each test
//! runs on PostgreSQL, on a database of its own, whatever `CLOUDRT_TEST_BACKEND` says.

mod common;
#[path = "support/webhook_server.rs"]
mod webhook_server;

use std::collections::HashSet;
use std::future::Future;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Server, TestDatabase, APP_ID, MASTER_KEY};
use serde_json::{json, Value};
use webhook_server::{success, WebhookServer};

/// Two nodes of the `jobs` app on one fresh database.
fn two_nodes(extra: &[&str]) -> (Server, Server) {
    let database = Arc::new(TestDatabase::create());
    let a = Server::start_on("jobs", database.clone(), extra);
    let b = Server::start_on("jobs", database, extra);
    (a, b)
}

/// Polls `check` until it answers Some or `limit` passes; answers what it answered and when.
async fn within<T, F: Future<Output = Option<T>>>(limit: Duration, what: &str, mut check: impl FnMut() -> F) -> (T, Duration) {
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return (found, started.elapsed());
        }
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const A_SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn webhooks_config_schemas_roles_and_logouts_on_one_node_are_used_by_the_other_within_a_second() {
    let hook = WebhookServer::start(None).await;
    hook.answer("/greet", success(json!("from the webhook")));
    let (a, b) = two_nodes(&["--allow-insecure-webhooks", "--allow-client-class-creation"]);

    // A webhook registered on A answers on B, and is gone from B once A removes it.
    let (status, answer) = b.call("greet", json!({}), &[]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(141)), "{answer}");
    let (status, answer) = a.master("POST", "/hooks/functions", Some(json!({"functionName": "greet", "url": hook.http_url("/greet")}))).await;
    assert_eq!(status, 200, "{answer}");
    let ((), seen) = within(A_SECOND, "B calls the webhook A registered", || async {
        (b.call("greet", json!({}), &[]).await.1["result"] == json!("from the webhook")).then_some(())
    })
    .await;
    eprintln!("B used the webhook A registered after {seen:?}");
    let (status, _) = a.master("PUT", "/hooks/functions/greet", Some(json!({"__op": "Delete"}))).await;
    assert_eq!(status, 200);
    within(A_SECOND, "B forgets the webhook A removed", || async { (b.call("greet", json!({}), &[]).await.1["code"] == json!(141)).then_some(()) }).await;

    // Parse Config set on A is read on B at once.
    let (status, _) = a.master("PUT", "/config", Some(json!({"params": {"motd": "hello"}}))).await;
    assert_eq!(status, 200);
    assert_eq!(b.request("GET", "/config", None, &[]).await.1["params"]["motd"], json!("hello"));

    // A class made on A, known to B, then closed to clients on A: B refuses client creates.
    let (status, answer) = a.master("POST", "/schemas/Game", Some(json!({"className": "Game", "fields": {"score": {"type": "Number"}}}))).await;
    assert_eq!(status, 200, "{answer}");
    within(A_SECOND, "B knows the class A made", || async { (b.master("GET", "/schemas/Game", None).await.0 == 200).then_some(()) }).await;
    let (status, answer) = b.request("POST", "/classes/Game", Some(json!({"score": 1})), &[]).await;
    assert_eq!(status, 201, "{answer}");
    let closed = json!({"classLevelPermissions": {"find": {"*": true}, "get": {"*": true}, "create": {}, "update": {}, "delete": {}}});
    let (status, answer) = a.master("PUT", "/schemas/Game", Some(closed)).await;
    assert_eq!(status, 200, "{answer}");
    within(A_SECOND, "B enforces the permissions A set", || async {
        (b.request("POST", "/classes/Game", Some(json!({"score": 2})), &[]).await.1["code"] == json!(119)).then_some(())
    })
    .await;
    // A field A added is typed on B: another type is refused there.
    let (status, _) = a.master("PUT", "/schemas/Game", Some(json!({"fields": {"level": {"type": "String"}}}))).await;
    assert_eq!(status, 200);
    within(A_SECOND, "B types the field A added", || async {
        (b.master("GET", "/schemas/Game", None).await.1["fields"]["level"]["type"] == json!("String")).then_some(())
    })
    .await;
    let (_, answer) = b.master("POST", "/classes/Game", Some(json!({"level": 3}))).await;
    assert_eq!(answer["code"], json!(111), "{answer}");
    // A field A deletes is gone on B too, which may then save it with another type.
    let (status, answer) = a.master("PUT", "/schemas/Game", Some(json!({"fields": {"level": {"__op": "Delete"}}}))).await;
    assert_eq!(status, 200, "{answer}");
    within(A_SECOND, "B forgets the field A deleted", || async {
        b.master("GET", "/schemas/Game", None).await.1["fields"].get("level").is_none().then_some(())
    })
    .await;
    let (status, answer) = b.master("POST", "/classes/Game", Some(json!({"level": 3}))).await;
    assert_eq!(status, 201, "{answer}");

    // Objects written on A are found on B by equality and counted.
    for (name, score) in [("ann", 1), ("bob", 2), ("cid", 2)] {
        let (status, answer) = a.request("POST", "/classes/Player", Some(json!({"name": name, "score": score})), &[]).await;
        assert_eq!(status, 201, "{answer}");
    }
    let (status, found) = b.request("GET", "/classes/Player?where=%7B%22score%22%3A2%7D&count=1", None, &[]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["count"], json!(2), "{found}");
    let names: HashSet<&str> = found["results"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, HashSet::from(["bob", "cid"]));

    // A role given on A opens, on B, what that role may read.
    let (user, token) = a.sign_up("dee", "pw").await;
    let (status, secret) = a.master("POST", "/classes/Secret", Some(json!({"ACL": {"role:Staff": {"read": true}}}))).await;
    assert_eq!(status, 201, "{secret}");
    let path = format!("/classes/Secret/{}", secret["objectId"].as_str().unwrap());
    let (status, _) = b.request("GET", &path, None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 404, "no role, no read");
    let role = json!({"name": "Staff", "ACL": {"*": {"read": true}},
        "users": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "_User", "objectId": user}]}});
    let (status, answer) = a.master("POST", "/roles", Some(role)).await;
    assert_eq!(status, 201, "{answer}");
    within(A_SECOND, "B grants what the role A gave opens", || async {
        (b.request("GET", &path, None, &[("X-Parse-Session-Token", &token)]).await.0 == 200).then_some(())
    })
    .await;

    // Logging out on A revokes the session on B at once.
    assert_eq!(b.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &token)]).await.0, 200);
    let (status, _) = a.request("POST", "/logout", None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!(status, 200);
    let (status, answer) = b.request("GET", "/users/me", None, &[("X-Parse-Session-Token", &token)]).await;
    assert_eq!((status, answer["code"].clone()), (400, json!(209)), "{answer}");
}

/// The `tick` job's runs: how many, and whether every occurrence ran once.
async fn ticks(server: &Server) -> (usize, bool) {
    let (_, ticks) = server.master("GET", "/classes/Tick?limit=1000", None).await;
    let ticks = ticks["results"].as_array().cloned().unwrap_or_default();
    let ids: HashSet<Value> = ticks.iter().map(|t| t["jobId"].clone()).collect();
    let (_, runs) = server.master("GET", "/classes/_JobStatus?where=%7B%22source%22%3A%22schedule%22%7D&limit=1000", None).await;
    let runs = runs["results"].as_array().cloned().unwrap_or_default();
    (ticks.len(), ids.len() == ticks.len() && runs.len() == ticks.len())
}

fn leads(server: &Server) -> bool {
    server.log().contains("is now the leader")
}

fn kill_9(server: &Server) {
    let killed = Command::new("kill").args(["-9", &server.pid().to_string()]).status().expect("kill");
    assert!(killed.success());
}

#[tokio::test]
async fn a_schedule_runs_once_per_occurrence_on_the_leader_and_the_next_leader_takes_over_when_it_is_killed() {
    // A schedule "minute" lasts 1 s here.
    let (a, b) = two_nodes(&["--minute-seconds", "1"]);
    within(Duration::from_secs(5), "one node leads", || async { (leads(&a) || leads(&b)).then_some(()) }).await;
    assert!(!(leads(&a) && leads(&b)), "one leader at a time");
    let (leader, other) = if leads(&a) { (a, b) } else { (b, a) };
    let schedule = json!({"job_schedule": {"jobName": "tick", "description": "every minute", "repeatMinutes": 1, "params": {}}});
    let (status, created) = other.master("POST", "/cloud_code/jobs", Some(schedule)).await;
    assert_eq!(status, 200, "{created}");

    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (count, once) = ticks(&other).await;
    assert!((3..=6).contains(&count), "about one run per second across both nodes, not two: {count}");
    assert!(once, "each occurrence ran once");

    kill_9(&leader);
    let killed_at = Instant::now();
    let (before, _) = ticks(&other).await;
    let ((), took) = within(Duration::from_secs(10), "the other node runs the next occurrence", || async {
        (ticks(&other).await.0 > before).then_some(())
    })
    .await;
    assert!(leads(&other), "the survivor leads: {}", other.log());
    assert!(killed_at.elapsed() < Duration::from_secs(10), "taken over in {took:?}");
    eprintln!("the survivor ran the next occurrence {took:?} after the leader was killed");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (after, once) = ticks(&other).await;
    assert!(once, "each occurrence ran once after the takeover too");
    assert!(after >= before + 2, "the survivor keeps the schedule: {before} → {after}");
}

/// Starts job `name` on `server`; answers its `_JobStatus` id.
async fn start_job(server: &Server, name: &str, params: Value) -> String {
    let response = server
        .client
        .post(format!("{}/jobs/{name}", server.url))
        .header("X-Parse-Application-Id", APP_ID)
        .header("X-Parse-Master-Key", MASTER_KEY)
        .header("Content-Type", "application/json")
        .body(params.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["x-parse-job-status-id"].to_str().unwrap().to_string()
}

async fn job_status(server: &Server, id: &str) -> Value {
    server.master("GET", &format!("/classes/_JobStatus/{id}"), None).await.1
}

#[tokio::test]
async fn max_concurrent_jobs_holds_across_nodes_and_the_jobs_of_a_killed_node_are_marked_failed() {
    let (a, b) = two_nodes(&["--max-concurrent-jobs", "1"]);
    let long = start_job(&a, "spin", json!({"ms": 60000})).await;
    let refused = start_job(&b, "spin", json!({"ms": 10})).await;
    let refused = job_status(&b, &refused).await;
    assert_eq!(refused["status"], json!("failed"), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("--max-concurrent-jobs"), "{refused}");
    let running = job_status(&b, &long).await;
    assert_eq!(running["status"], json!("running"), "{running}");
    let node = running["nodeId"].as_str().expect("the node running it").to_string();

    kill_9(&a);
    let (stopped, _) = within(Duration::from_secs(15), "the leader marks the killed node's job failed", || async {
        let status = job_status(&b, &long).await;
        (status["status"] == json!("failed")).then_some(status)
    })
    .await;
    assert_eq!(stopped["message"], json!(format!("node {node} stopped")));
    let next = start_job(&b, "spin", json!({"ms": 10})).await;
    let ((), _) = within(Duration::from_secs(10), "a job runs once the dead node's place is free", || async {
        (job_status(&b, &next).await["status"] == json!("succeeded")).then_some(())
    })
    .await;
}

/// Sends every `(node, method, path, body)` at once; answers each (status, body), in order.
async fn all_at_once(requests: Vec<(&Server, &str, String, Value)>) -> Vec<(u16, Value)> {
    all_at_once_with(requests, &[]).await
}

/// [`all_at_once`] with these headers too.
async fn all_at_once_with(requests: Vec<(&Server, &str, String, Value)>, headers: &[(&str, &str)]) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(node, method, path, body)| {
            let mut request = node
                .client
                .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", node.url))
                .header("X-Parse-Application-Id", APP_ID)
                .header("Content-Type", "application/json")
                .body(body.to_string());
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            tokio::spawn(async move {
                let response = request.send().await.expect("request");
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.expect("JSON"))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

#[tokio::test]
async fn two_nodes_writing_one_new_class_and_one_counter_at_once_lose_nothing() {
    let (a, b) = two_nodes(&["--allow-client-class-creation"]);
    let node = |i: usize| if i.is_multiple_of(2) { &a } else { &b };
    // Both nodes make the class's table and columns at once.
    let creates = (0..8).map(|i| (node(i), "POST", "/classes/Race".to_string(), json!({"n": i, format!("field{}", i % 3): "x"}))).collect();
    for (status, answer) in all_at_once(creates).await {
        assert_eq!(status, 201, "{answer}");
    }
    let (_, race) = b.request("GET", "/classes/Race?count=1&limit=0", None, &[]).await;
    assert_eq!(race["count"], json!(8), "{race}");
    // Both nodes count on one object at once.
    let (_, counter) = a.request("POST", "/classes/Counter", Some(json!({"hits": 0})), &[]).await;
    let path = format!("/classes/Counter/{}", counter["objectId"].as_str().unwrap());
    let increments = (0..40).map(|i| (node(i), "PUT", path.clone(), json!({"hits": {"__op": "Increment", "amount": 1}}))).collect();
    let mut answered = Vec::new();
    for (status, answer) in all_at_once(increments).await {
        assert_eq!(status, 200, "{answer}");
        answered.push(answer["hits"].as_i64().expect("each increment answers the new value"));
    }
    // Each increment answers the value it made: every count from 1 to 40 once.
    answered.sort_unstable();
    assert_eq!(answered, (1..=40).collect::<Vec<_>>());
    assert_eq!(b.request("GET", &path, None, &[]).await.1["hits"], json!(40));
}

#[tokio::test]
async fn the_link_between_nodes_comes_back_by_itself_after_the_database_cut_every_connection() {
    let hook = WebhookServer::start(None).await;
    hook.answer("/greet", success(json!("after the cut")));
    let (a, b) = two_nodes(&["--allow-insecure-webhooks"]);
    let database = a.database.clone().expect("a PostgreSQL database");
    database.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
    within(Duration::from_secs(10), "both links are back", || async {
        (a.log().contains("the link to the other nodes is back") && b.log().contains("the link to the other nodes is back")).then_some(())
    })
    .await;
    let (status, answer) = a.master("POST", "/hooks/functions", Some(json!({"functionName": "greet", "url": hook.http_url("/greet")}))).await;
    assert_eq!(status, 200, "{answer}");
    within(A_SECOND, "B calls the webhook A registered after the cut", || async {
        (b.call("greet", json!({}), &[]).await.1["result"] == json!("after the cut")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_identity_linked_on_one_node_logs_in_on_the_other_as_the_same_user() {
    let (a, b) = two_nodes(&[]);
    let anonymous = |device: &str| json!({"authData": {"anonymous": {"id": device}}});
    // B reads the identities once before A links a new one.
    let (status, first) = b.request("POST", "/users", Some(anonymous("device-0")), &[]).await;
    assert_eq!(status, 201, "{first}");
    let (status, linked) = a.request("POST", "/users", Some(anonymous("device-1")), &[]).await;
    assert_eq!(status, 201, "{linked}");
    let (status, again) = b.request("POST", "/users", Some(anonymous("device-1")), &[]).await;
    assert_eq!((status, &again["objectId"]), (200, &linked["objectId"]), "B logs in A's user: {again}");
    let (_, users) = a.master("GET", "/users?count=1&limit=0", None).await;
    assert_eq!(users["count"], json!(2), "{users}");
}

#[tokio::test]
async fn a_file_stored_through_one_node_is_served_and_deleted_through_the_other() {
    let (a, b) = two_nodes(&[]);
    let bytes: Vec<u8> = (0..(3 << 20) + 7).map(|i: u32| (i % 251) as u8).collect();
    let response = a
        .client
        .post(format!("{}/files/notes.bin", a.url))
        .header("X-Parse-Application-Id", APP_ID)
        .header("X-Parse-Master-Key", MASTER_KEY)
        .header("Content-Type", "application/x-notes")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let name = response.json::<Value>().await.unwrap()["name"].as_str().unwrap().to_string();
    let download = |server: &Server| {
        let url = format!("{}/files/{APP_ID}/{name}", server.url);
        async move {
            let response = reqwest::get(url).await.unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            (status, content_type, response.bytes().await.unwrap().to_vec())
        }
    };
    let (status, content_type, served) = download(&b).await;
    assert_eq!((status, content_type.as_deref()), (200, Some("application/x-notes")));
    assert!(served == bytes, "B serves A's bytes ({} of {})", served.len(), bytes.len());
    let (status, _) = b.master("DELETE", &format!("/files/{name}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(download(&a).await.0, 404, "A no longer serves what B deleted");
}

#[tokio::test]
async fn two_nodes_adding_to_and_removing_from_one_object_at_once_lose_nothing() {
    let (a, b) = two_nodes(&["--allow-client-class-creation"]);
    let node = |i: usize| if i.is_multiple_of(2) { &a } else { &b };
    let pointer = |i: usize| json!({"__type": "Pointer", "className": "Player", "objectId": format!("p{}", i % 8)});
    let (status, bag) = a.request("POST", "/classes/Bag", Some(json!({"log": [], "members": [], "pending": (0..30).collect::<Vec<_>>()})), &[]).await;
    assert_eq!(status, 201, "{bag}");
    let path = format!("/classes/Bag/{}", bag["objectId"].as_str().unwrap());
    // Counts the UPDATE statements on the table (a statement-level trigger fires for one that
    // changes no row too): one per request when no node reads the object and retries a
    // compare-and-set another node got to first.
    let database = a.database.clone().expect("a PostgreSQL database");
    database.sql(
        r#"CREATE TABLE updates (n int); INSERT INTO updates VALUES (0);
        CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE updates SET n = n + 1; RETURN NULL; END $$;
        CREATE TRIGGER counted AFTER UPDATE ON "Bag" FOR EACH STATEMENT EXECUTE FUNCTION count_update();"#,
    );
    // Each request appends its own entry, adds one of eight members (some twice at once, as a
    // pointer and as a number), and takes one pending number out, on either node.
    let updates = (0..60)
        .map(|i| {
            let body = json!({
                "log": {"__op": "Add", "objects": [format!("entry {i}")]},
                "members": {"__op": "AddUnique", "objects": [pointer(i), i % 5]},
                "pending": {"__op": "Remove", "objects": [i % 30]},
            });
            (node(i), "PUT", path.clone(), body)
        })
        .collect();
    for (status, answer) in all_at_once(updates).await {
        assert_eq!(status, 200, "{answer}");
    }
    let (_, stored) = b.request("GET", &path, None, &[]).await;
    let mut log: Vec<String> = stored["log"].as_array().unwrap().iter().map(|entry| entry.as_str().unwrap().to_string()).collect();
    log.sort();
    let mut expected: Vec<String> = (0..60).map(|i| format!("entry {i}")).collect();
    expected.sort();
    assert_eq!(log, expected, "every Add landed once");
    let members = stored["members"].as_array().unwrap();
    let distinct: HashSet<String> = members.iter().map(Value::to_string).collect();
    assert_eq!((members.len(), distinct.len()), (13, 13), "eight pointers and five numbers, each once: {members:?}");
    assert_eq!(stored["pending"], json!([]), "every Remove took its number out");
    assert_eq!(database.sql("SELECT n FROM updates"), "60", "one UPDATE per request, no read and retry");
}

#[tokio::test]
async fn one_new_identity_signed_up_on_two_nodes_at_once_makes_one_user() {
    let (a, b) = two_nodes(&[]);
    let node = |i: usize| if i.is_multiple_of(2) { &a } else { &b };
    // Five new devices, each signing up eight times at once across both nodes.
    let sign_ups = (0..40)
        .map(|i| (node(i), "POST", "/users".to_string(), json!({"authData": {"anonymous": {"id": format!("device-{}", i % 5)}}})))
        .collect();
    let answers = all_at_once(sign_ups).await;
    for device in 0..5 {
        let mine: Vec<&(u16, Value)> = answers.iter().skip(device).step_by(5).collect();
        let created = mine.iter().filter(|(status, _)| *status == 201).count();
        assert_eq!(created, 1, "one sign-up made the user, the others logged it in: {mine:?}");
        for (status, answer) in &mine {
            assert!(*status == 200 || *status == 201, "{answer}");
            assert!(answer["sessionToken"].is_string(), "{answer}");
        }
        let users: HashSet<&Value> = mine.iter().map(|(_, answer)| &answer["objectId"]).collect();
        assert_eq!(users.len(), 1, "device-{device}: {users:?}");
    }
    let (_, users) = a.master("GET", "/users?count=1&limit=0", None).await;
    assert_eq!(users["count"], json!(5), "{users}");
}

#[tokio::test]
async fn two_nodes_adding_different_fields_and_config_parameters_at_once_keep_every_one() {
    let (a, b) = two_nodes(&["--allow-client-class-creation"]);
    let node = |i: usize| if i.is_multiple_of(2) { &a } else { &b };
    // The class exists first, so that every create below only adds a field of its own.
    let (status, answer) = a.request("POST", "/classes/Wide", Some(json!({"n": -1})), &[]).await;
    assert_eq!(status, 201, "{answer}");
    let creates = (0..12).map(|i| (node(i), "POST", "/classes/Wide".to_string(), json!({"n": i, format!("f{i}"): i}))).collect();
    for (status, answer) in all_at_once(creates).await {
        assert_eq!(status, 201, "{answer}");
    }
    let mut wanted: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
    wanted.sort();
    let stored = a.database.clone().expect("a PostgreSQL database").sql(
        r#"SELECT string_agg(key, ',' ORDER BY key) FROM "_SCHEMA", jsonb_object_keys("schema"->'fields') AS key WHERE "className" = 'Wide' AND key LIKE 'f%'"#,
    );
    assert_eq!(stored, wanted.join(","), "_SCHEMA lists every field a node added");
    for server in [&a, &b] {
        let (schema, _) = within(A_SECOND, "each node's schema lists every field", || async {
            let (_, schema) = server.master("GET", "/schemas/Wide", None).await;
            wanted.iter().all(|field| schema["fields"][field] == json!({"type": "Number"})).then_some(schema)
        })
        .await;
        assert_eq!(schema["fields"]["n"], json!({"type": "Number"}));
    }
    // Parse Config: each PUT sets one parameter of its own.
    let puts = (0..12).map(|i| (node(i), "PUT", "/config".to_string(), json!({"params": {format!("p{i}"): i}}))).collect();
    for (status, answer) in all_at_once_with(puts, &[("X-Parse-Master-Key", MASTER_KEY)]).await {
        assert_eq!((status, answer.clone()), (200, json!({"result": true})), "{answer}");
    }
    let expected: serde_json::Map<String, Value> = (0..12).map(|i| (format!("p{i}"), json!(i))).collect();
    for server in [&a, &b] {
        let (_, config) = server.master("GET", "/config", None).await;
        assert_eq!(config["params"], Value::Object(expected.clone()), "{config}");
    }
}


#[tokio::test]
async fn one_identity_linked_to_several_existing_users_on_two_nodes_at_once_goes_to_one() {
    let (a, b) = two_nodes(&[]);
    let node = |i: usize| if i.is_multiple_of(2) { &a } else { &b };
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(node(i).sign_up(&format!("user{i}"), "secret").await);
    }
    let links: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, (id, token))| {
            let request = node(i)
                .client
                .put(format!("{}/users/{id}", node(i).url))
                .header("X-Parse-Application-Id", APP_ID)
                .header("X-Parse-Session-Token", token.as_str())
                .json(&json!({"authData": {"anonymous": {"id": "one-device"}}}));
            tokio::spawn(async move {
                let response = request.send().await.expect("PUT /users/:id");
                (response.status().as_u16(), response.json::<Value>().await.expect("JSON"))
            })
        })
        .collect();
    let mut linked = 0;
    for link in links {
        let (status, answer) = link.await.expect("request task");
        match status {
            200 => linked += 1,
            _ => assert_eq!((status, &answer["code"]), (400, &json!(208)), "{answer}"),
        }
    }
    assert_eq!(linked, 1, "one user links the identity, the others get 208");
    let holders = a.database.clone().expect("a PostgreSQL database").sql(
        r#"SELECT count(*) FROM "_User" WHERE "authData"->'anonymous'->>'id' = 'one-device'"#,
    );
    assert_eq!(holders, "1");
}
