//! Indexed queries through the binary: the planner's answers (equality, `$in`, ranges, counts,
//! two-field equalities, with and without `order`) must equal a scan's, for the master key and
//! for a user who may read only some objects, on randomised data and queries; the life of an
//! index (declared on a populated class, built in the background, used once complete, as
//! `explain=1` shows, dropped), automatic indexes after repeated scans (and none with
//! `--auto-index off`, nor on a field no object holds); and a `/batch` of writes shares one sync yet loses none of them to a
//! `kill -9`.

mod common;

use std::time::{Duration, Instant};

use common::{on_postgres, Server, MASTER_KEY};
use serde_json::{json, Value};

fn encode(value: &Value) -> String {
    form_urlencoded::byte_serialize(value.to_string().as_bytes()).collect()
}

/// A small deterministic generator (xorshift), so a failure names a reproducible seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A value of a field (`s` holds strings, the others numbers): few distinct values (ties),
    /// some floats, nulls, and sometimes nothing (None: the field is missing).
    fn value(&mut self, field: &str) -> Option<Value> {
        match self.below(10) {
            0 => None,
            1 => Some(Value::Null),
            _ if field == "s" => Some(json!(format!("s{}", self.below(6)))),
            2 => Some(json!(self.below(8) as f64 / 2.0 - 1.0)),
            _ => Some(json!(self.below(12) as i64 - 3)),
        }
    }

    /// An operand of a constraint: a value of the field or of another, or a type an index
    /// never holds.
    fn operand(&mut self, field: &str) -> Value {
        match self.below(12) {
            0 => json!(true),
            1 => json!({"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}),
            2 => self.value("s").unwrap_or(Value::Null),
            3 => self.value("a").unwrap_or(Value::Null),
            _ => self.value(field).unwrap_or(Value::Null),
        }
    }

    fn constraint(&mut self, field: &str) -> Value {
        match self.below(6) {
            0 | 1 => self.operand(field),
            2 => json!({"$in": (0..1 + self.below(4)).map(|_| self.operand(field)).collect::<Vec<_>>()}),
            _ => {
                let ops = ["$gt", "$gte", "$lt", "$lte"];
                let mut range = serde_json::Map::new();
                for _ in 0..1 + self.below(2) {
                    range.insert(ops[self.below(4) as usize].to_string(), self.operand(field));
                }
                Value::Object(range)
            }
        }
    }
}

fn ids(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {answer}"))
        .iter()
        .map(|o| o["objectId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn indexed_and_scanned_answers_agree_on_random_data_and_queries() {
    let server = Server::start("basics", &[]);
    let (user, token) = server.sign_up("reader", "pw").await;
    let mut random = Random(0x5eed_1234_abcd_0001);
    let mut requests = Vec::new();
    for i in 0..240 {
        let mut body = serde_json::Map::new();
        for field in ["a", "b", "s"] {
            if let Some(value) = random.value(field) {
                body.insert(field.to_string(), value);
            }
        }
        body.insert("i".into(), json!(i));
        match random.below(4) {
            0 => {
                body.insert("ACL".into(), json!({user.clone(): {"read": true}}));
            }
            1 => {
                body.insert("ACL".into(), json!({}));
            }
            _ => {}
        }
        requests.push(json!({"method": "POST", "path": "/parse/classes/Mixed", "body": body}));
    }
    for chunk in requests.chunks(50) {
        let (status, answers) = server.master("POST", "/batch", Some(json!({"requests": chunk}))).await;
        assert_eq!(status, 200, "{answers}");
        assert!(answers.as_array().unwrap().iter().all(|a| a.get("success").is_some()), "{answers}");
    }
    let declared = json!({"indexes": {"a_1": {"a": 1}, "b_1": {"b": -1}, "s_1": {"s": 1}}});
    let (status, answer) = server.master("PUT", "/schemas/Mixed", Some(declared)).await;
    assert_eq!(status, 200, "{answer}");
    for (field, name) in [("a", "a_1"), ("b", "b_1"), ("s", "s_1")] {
        wait_for_index(&server, "Mixed", &json!({field: 1}), name).await;
    }
    let orders = ["", "a", "-a", "b", "-b,i", "s", "-s", "i"];
    let session = [("X-Parse-Session-Token", token.as_str())];
    let master = [("X-Parse-Master-Key", MASTER_KEY)];
    let mut served = 0;
    for round in 0..160 {
        let mut where_ = serde_json::Map::new();
        for _ in 0..1 + random.below(2) {
            let field = ["a", "b", "s"][random.below(3) as usize];
            where_.insert(field.to_string(), random.constraint(field));
        }
        let where_ = Value::Object(where_);
        // `$or` of one clause means the same but is never planned on an index; with a count
        // it is not walked either: the scan answers.
        let scanned = json!({"$or": [where_.clone()]});
        let order = orders[random.below(orders.len() as u64) as usize];
        let page = format!("order={order}&limit={}&skip={}", 1 + random.below(6), random.below(3));
        for (who, headers) in [("master", &master[..]), ("user", &session[..])] {
            let get = |where_: &Value, extra: &str| {
                let path = format!("/classes/Mixed?where={}&{extra}", encode(where_));
                let server = &server;
                async move {
                    let (status, answer) = server.request("GET", &path, None, headers).await;
                    assert_eq!(status, 200, "{path}: {answer}");
                    answer
                }
            };
            let context = format!("round {round}, {who}: where={where_} {page}");
            let indexed = get(&where_, &page).await;
            let scan = get(&scanned, &format!("{page}&count=1")).await;
            assert_eq!(ids(&indexed), ids(&scan), "{context}");
            let counted = get(&where_, "count=1&limit=0").await;
            assert_eq!(counted["count"], scan["count"], "{context}");
            let counted_page = get(&where_, &format!("{page}&count=1")).await;
            assert_eq!((ids(&counted_page), &counted_page["count"]), (ids(&scan), &scan["count"]), "{context}");
            served += usize::from(!ids(&scan).is_empty());
        }
    }
    assert!(served > 60, "the random queries should mostly match something ({served})");
}

/// The plan `explain=1` answers for `where_` on `class` (master key).
async fn explain(server: &Server, class: &str, where_: &Value) -> Value {
    let (status, answer) = server.master("GET", &format!("/classes/{class}?where={}&explain=1", encode(where_)), None).await;
    assert_eq!(status, 200, "{answer}");
    answer["results"][0].clone()
}

/// A plan that reads no index of the constrained field: a scan, or a walk of the natural
/// order that matches each object (once that built-in index is complete).
fn assert_unindexed(plan: &Value) {
    assert!(plan["index"] == json!("scan") || plan["index"] == json!("natural"), "{plan}");
}

/// Polls `explain` until a query with `where_` reads the index `name` (built in the
/// background). On PostgreSQL every such query is SQL: nothing to wait for.
async fn wait_for_index(server: &Server, class: &str, where_: &Value, name: &str) {
    if on_postgres() {
        return;
    }
    let started = Instant::now();
    loop {
        let plan = explain(server, class, where_).await;
        if plan["index"] == json!(name) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{name} never served {where_}: {plan}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `n` objects `{cat: "c<i%10>", tag: "t<i%7>", i}` in `class`, filled through `/batch`.
async fn fill(server: &Server, class: &str, n: usize) {
    let requests: Vec<Value> = (0..n)
        .map(|i| json!({"method": "POST", "path": format!("/parse/classes/{class}"), "body": {"cat": format!("c{}", i % 10), "tag": format!("t{}", i % 7), "i": i}}))
        .collect();
    for chunk in requests.chunks(50) {
        let (status, answers) = server.master("POST", "/batch", Some(json!({"requests": chunk}))).await;
        assert_eq!(status, 200, "{answers}");
    }
}

/// The ids of a query's every match, in the natural order.
async fn all_ids(server: &Server, class: &str, where_: &Value) -> Vec<String> {
    let (status, answer) = server.master("GET", &format!("/classes/{class}?where={}&limit=10000", encode(where_)), None).await;
    assert_eq!(status, 200, "{answer}");
    ids(&answer)
}

#[tokio::test]
async fn a_declared_index_is_built_in_the_background_used_and_dropped() {
    let server = Server::start("basics", &[]);
    fill(&server, "Life", 1_200).await;
    let equality = json!({"cat": "c3"});
    let scanned = json!({"$or": [equality.clone()]});
    if !on_postgres() {
        assert_unindexed(&explain(&server, "Life", &equality).await);
    }
    let (status, answer) = server.master("PUT", "/schemas/Life", Some(json!({"indexes": {"cat_1": {"cat": 1}}}))).await;
    assert_eq!(status, 200, "{answer}");
    // Written while the index may still be building: they must be in it.
    for i in 0..20 {
        let (status, answer) = server.master("POST", "/classes/Life", Some(json!({"cat": "c3", "i": 10_000 + i}))).await;
        assert_eq!(status, 201, "{answer}");
    }
    wait_for_index(&server, "Life", &equality, "cat_1").await;
    let expected = all_ids(&server, "Life", &scanned).await;
    assert_eq!(expected.len(), 140);
    assert_eq!(all_ids(&server, "Life", &equality).await, expected);
    let (_, counted) = server.master("GET", &format!("/classes/Life?where={}&count=1&limit=0", encode(&equality)), None).await;
    assert_eq!(counted["count"], json!(140));
    if !on_postgres() {
        let two = json!({"cat": "c3", "tag": "t1"});
        let plan = explain(&server, "Life", &two).await;
        assert_eq!((&plan["index"], &plan["candidates"]), (&json!("cat_1"), &json!(140)), "{plan}");
        let matching = all_ids(&server, "Life", &json!({"$or": [two]})).await.len();
        assert_eq!(plan["returned"], json!(matching), "{plan}");
    }
    let (status, answer) = server.request("GET", &format!("/classes/Life?where={}&explain=1", encode(&equality)), None, &[]).await;
    assert_eq!((status, &answer["code"]), (400, &json!(119)), "explain is the master key's: {answer}");
    let (status, answer) = server.master("PUT", "/schemas/Life", Some(json!({"indexes": {"cat_1": {"__op": "Delete"}}}))).await;
    assert_eq!(status, 200, "{answer}");
    if !on_postgres() {
        assert_unindexed(&explain(&server, "Life", &equality).await);
    }
    assert_eq!(all_ids(&server, "Life", &equality).await, expected);
}

#[tokio::test]
async fn pointer_fields_are_indexed_without_a_declaration() {
    if on_postgres() {
        return;
    }
    let server = Server::start("basics", &[]);
    let (user, _) = server.sign_up("owner", "pw").await;
    let owner = json!({"__type": "Pointer", "className": "_User", "objectId": user});
    let requests: Vec<Value> = (0..100)
        .map(|i| {
            let body = if i % 4 == 0 { json!({"owner": owner, "i": i}) } else { json!({"i": i}) };
            json!({"method": "POST", "path": "/parse/classes/Owned", "body": body})
        })
        .collect();
    for chunk in requests.chunks(50) {
        server.master("POST", "/batch", Some(json!({"requests": chunk}))).await;
    }
    let joined = json!({"owner": owner});
    wait_for_index(&server, "Owned", &joined, "builtin_owner").await;
    assert_eq!(all_ids(&server, "Owned", &joined).await, all_ids(&server, "Owned", &json!({"$or": [joined.clone()]})).await);
    assert_eq!(all_ids(&server, "Owned", &joined).await.len(), 25);
    let newest = format!("/classes/Owned?where={}&order=-createdAt&limit=3", encode(&joined));
    let (_, plan) = server.master("GET", &format!("{newest}&explain=1"), None).await;
    assert_eq!(plan["results"][0]["index"], json!("builtin_owner"), "a join in another order still reads the pointer's index: {plan}");
    let (_, page) = server.master("GET", &newest, None).await;
    let scanned = format!("/classes/Owned?where={}&order=-createdAt&limit=3", encode(&json!({"$or": [joined.clone()]})));
    let (_, scan) = server.master("GET", &scanned, None).await;
    assert_eq!(ids(&page), ids(&scan));
    let elsewhere = json!({"owner": {"__type": "Pointer", "className": "Other", "objectId": user}});
    assert_eq!(all_ids(&server, "Owned", &elsewhere).await, Vec::<String>::new(), "the class of a pointer still counts");
}

#[tokio::test]
async fn fields_that_queries_keep_scanning_get_an_automatic_index_unless_turned_off() {
    if on_postgres() {
        return;
    }
    for (flags, automatic) in [(&[][..], true), (&["--auto-index", "off"][..], false)] {
        let server = Server::start("basics", flags);
        fill(&server, "Auto", 1_200).await;
        // The class's size is known once its natural order is indexed (in the background).
        wait_for_index(&server, "Auto", &json!({}), "natural").await;
        let equality = json!({"tag": "t2"});
        let expected = all_ids(&server, "Auto", &json!({"$or": [equality.clone()]})).await;
        for _ in 0..3 {
            assert_eq!(all_ids(&server, "Auto", &equality).await, expected);
        }
        let (_, schema) = server.master("GET", "/schemas/Auto", None).await;
        if automatic {
            assert_eq!(schema["indexes"]["auto_tag"], json!({"tag": 1}), "{schema}");
            wait_for_index(&server, "Auto", &equality, "auto_tag").await;
            assert_eq!(all_ids(&server, "Auto", &equality).await, expected);
        } else {
            assert!(schema.get("indexes").is_none(), "{schema}");
            assert_unindexed(&explain(&server, "Auto", &equality).await);
        }
    }
}

/// Whether `GET /schemas/:class` lists the automatic index `name`.
async fn lists_index(server: &Server, class: &str, name: &str) -> bool {
    let (status, schema) = server.master("GET", &format!("/schemas/{class}"), None).await;
    assert_eq!(status, 200, "{schema}");
    schema["indexes"].get(name).is_some()
}

async fn count(server: &Server, class: &str, where_: &Value) -> u64 {
    let (status, answer) = server.master("GET", &format!("/classes/{class}?where={}&count=1&limit=0", encode(where_)), None).await;
    assert_eq!(status, 200, "{answer}");
    answer["count"].as_u64().unwrap_or(u64::MAX)
}

#[tokio::test]
async fn a_field_no_object_holds_keeps_no_automatic_index() {
    if on_postgres() {
        return;
    }
    let server = Server::start("basics", &[]);
    fill(&server, "Unheld", 1_200).await;
    wait_for_index(&server, "Unheld", &json!({}), "natural").await;
    let flagged = json!({"flag": "yes"});
    for _ in 0..3 {
        assert_eq!(count(&server, "Unheld", &flagged).await, 0);
    }
    let started = Instant::now();
    while lists_index(&server, "Unheld", "auto_flag").await {
        assert!(started.elapsed() < Duration::from_secs(30), "the index of a field no object holds was kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        assert_eq!(count(&server, "Unheld", &flagged).await, 0);
    }
    assert!(!lists_index(&server, "Unheld", "auto_flag").await, "its scans earned it again");
    assert_unindexed(&explain(&server, "Unheld", &flagged).await);
    let (status, created) = server.master("POST", "/classes/Unheld", Some(flagged.clone())).await;
    assert_eq!(status, 201, "{created}");
    for _ in 0..3 {
        assert_eq!(count(&server, "Unheld", &flagged).await, 1);
    }
    wait_for_index(&server, "Unheld", &flagged, "auto_flag").await;
    assert_eq!(count(&server, "Unheld", &flagged).await, 1);
}

#[tokio::test]
async fn indexes_are_rebuilt_in_the_background_after_a_restart() {
    let server = Server::start("basics", &[]);
    fill(&server, "Again", 300).await;
    server.master("PUT", "/schemas/Again", Some(json!({"indexes": {"tag_1": {"tag": 1}}}))).await;
    let server = server.restart("basics", &[]);
    let equality = json!({"tag": "t4"});
    wait_for_index(&server, "Again", &equality, "tag_1").await;
    assert_eq!(all_ids(&server, "Again", &equality).await.len(), 43);
}

#[tokio::test]
async fn contradictory_and_empty_ranges_answer_nothing() {
    let server = Server::start("basics", &[]);
    for n in 0..5 {
        server.master("POST", "/classes/Range", Some(json!({"n": n, "s": format!("s{n}")}))).await;
    }
    for where_ in [
        json!({"n": {"$gt": 3, "$lt": 2}}),
        json!({"n": {"$gt": 2, "$lt": 2}}),
        json!({"n": {"$gte": 2, "$lt": 2}}),
        json!({"s": {"$gt": "s3", "$lte": "s1"}}),
        json!({"n": {"$in": []}}),
    ] {
        let path = format!("/classes/Range?where={}&count=1", encode(&where_));
        let (status, answer) = server.master("GET", &path, None).await;
        assert_eq!((status, answer["count"].clone(), ids(&answer).len()), (200, json!(0), 0), "{where_}: {answer}");
    }
    let (status, answer) = server.master("GET", &format!("/classes/Range?where={}", encode(&json!({"n": {"$gte": 2, "$lte": 2}}))), None).await;
    assert_eq!((status, answer["results"][0]["n"].clone()), (200, json!(2)), "{answer}");
}

/// A batch's writes share one sync, which must come before its answer: every write a batch
/// acknowledged survives a `kill -9` right after it; a failing sub-request is still answered
/// on its own.
#[tokio::test]
async fn a_batch_acknowledged_survives_kill_9() {
    let server = Server::start("basics", &[]);
    let mut requests: Vec<Value> =
        (0..50).map(|i| json!({"method": "POST", "path": "/parse/classes/Filled", "body": {"n": i}})).collect();
    requests.insert(10, json!({"method": "POST", "path": "/parse/classes/Filled", "body": {"n": "not a number"}}));
    let (status, answers) = server.master("POST", "/batch", Some(json!({"requests": requests}))).await;
    assert_eq!(status, 200, "{answers}");
    let answers = answers.as_array().unwrap();
    assert_eq!(answers[10]["error"]["code"], json!(111), "{:?}", answers[10]);
    let acknowledged: Vec<&str> = answers.iter().filter_map(|a| a["success"]["objectId"].as_str()).collect();
    assert_eq!(acknowledged.len(), 50);
    let server = server.restart("basics", &[]);
    let (_, found) = server.master("GET", "/classes/Filled?limit=1000&count=1", None).await;
    assert_eq!(found["count"], json!(50), "{found}");
    let mut stored = ids(&found);
    stored.sort();
    let mut acknowledged: Vec<String> = acknowledged.into_iter().map(str::to_string).collect();
    acknowledged.sort();
    assert_eq!(stored, acknowledged);
}

#[tokio::test]
async fn a_walk_that_finds_too_few_matches_leaves_the_query_to_a_scan() {
    if on_postgres() {
        return;
    }
    let server = Server::start("basics", &["--auto-index", "off"]);
    fill(&server, "Sparse", 5_000).await;
    wait_for_index(&server, "Sparse", &json!({}), "natural").await;
    let common = json!({"tag": "t3"});
    let (_, plan) = server.master("GET", &format!("/classes/Sparse?where={}&limit=1&explain=1", encode(&common)), None).await;
    assert_eq!(plan["results"][0]["index"], json!("natural"), "a match within a few candidates is walked to: {plan}");
    let rare = json!({"i": 4_999});
    let (_, plan) = server.master("GET", &format!("/classes/Sparse?where={}&limit=1&explain=1", encode(&rare)), None).await;
    assert_eq!(plan["results"][0]["index"], json!("scan"), "one match in 5,000 is a scan, not 5,000 reads by id: {plan}");
    assert_eq!(all_ids(&server, "Sparse", &rare).await.len(), 1);
}
