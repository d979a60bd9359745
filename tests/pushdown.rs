//! Queries a store answers itself (PostgreSQL: one SQL statement) answer exactly as the scan
//! does: random objects (numbers, strings, booleans, Dates, Pointers, arrays, missing fields,
//! ACLs for a user, a role, nobody, a relation) and random `where`s (with `$regex`, `$all`,
//! `$inQuery`, `$select`, `$relatedTo`), orders, skips, limits and counts, each asked
//! as written and again with a clause the store cannot take (`$nor`), which keeps the scan,
//! as the master key, a user holding a role and an anonymous client. Geo queries, which SQL
//! would need PostGIS for, are answered by the scan on PostgreSQL as on sled.

mod common;

use std::sync::Arc;

use common::{url_encode, Server, TestDatabase};
use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*), so a failure names a reproducible case.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn date(day: usize) -> Value {
    json!({"__type": "Date", "iso": format!("2024-01-{:02}T00:00:00.000Z", day + 1)})
}

fn user(id: &str) -> Value {
    json!({"__type": "Pointer", "className": "_User", "objectId": id})
}

/// A value for a condition on `field`: mostly of the field's type, sometimes null, another
/// type or a pointer to another class.
fn value(random: &mut Random, field: &str, users: &[String], created: &[String]) -> Value {
    if random.below(8) == 0 {
        return random.pick(&[json!(null), json!("3"), json!(3), json!(true), json!({"__type": "Pointer", "className": "Other", "objectId": users[0]})]).clone();
    }
    match field {
        "n" => json!(random.below(10) as f64 / if random.below(4) == 0 { 2.0 } else { 1.0 }),
        "s" => json!(random.pick(&["a", "b", "B", "ab", "é", ""]).to_string()),
        "b" => json!(random.below(2) == 0),
        "d" => date(random.below(6)),
        "owner" => user(random.pick(users).as_str()),
        "createdAt" => json!(random.pick(created)),
        "tags" => random.pick(&[json!("a"), json!("b"), json!(1), json!(2.5), json!(null), user(&users[1])]).clone(),
        _ => json!(random.below(3)),
    }
}

/// An array for the `tags` field: a few of its values, repeats and nulls included.
fn tags(random: &mut Random, users: &[String]) -> Value {
    Value::Array((0..random.below(4)).map(|_| value(random, "tags", users, &[])).collect())
}

const FIELDS: &[&str] = &["n", "s", "b", "d", "owner", "createdAt", "tags", "missing"];

/// Patterns as the SDKs write them (quoted literals) and by hand, some PostgreSQL cannot take.
const PATTERNS: &[&str] = &["^a", "b$", "^\\Qa\\E", "a|é", ".", "^$", "^[a-b]+$", "\\bab", "B", "(?s)^a.?$"];

/// A subquery operator on a field that fits it, answered as the scan answers it.
fn subquery(random: &mut Random) -> (String, Value) {
    let n = random.below(10);
    match random.below(4) {
        0 => ("owner".into(), json!({"$inQuery": {"className": "_User", "where": {"username": random.pick(&["alice", "bob", "carol"])}}})),
        1 => ("owner".into(), json!({"$notInQuery": {"className": "_User", "where": {"username": "alice"}}})),
        2 => ("s".into(), json!({"$select": {"query": {"className": "Item", "where": {"n": {"$gt": n}}}, "key": "s"}})),
        _ => ("n".into(), json!({"$dontSelect": {"query": {"className": "Item", "where": {"s": "a"}}, "key": "n"}})),
    }
}

fn condition(random: &mut Random, users: &[String], created: &[String]) -> (String, Value) {
    let field = random.pick(FIELDS).to_string();
    let mut operand = || value(random, &field, users, created);
    let first = operand();
    let second = operand();
    let third = operand();
    if random.below(12) == 0 {
        return subquery(random);
    }
    let test = match random.below(13) {
        10 => json!({"$all": [first, second]}),
        11 => json!({"$all": []}),
        12 => json!({"$regex": random.pick(PATTERNS), "$options": random.pick(&["", "i", "m"])}),
        0 | 1 => first,
        2 => json!({"$ne": first}),
        3 => json!({"$lt": first}),
        4 => json!({"$lte": first, "$gt": second}),
        5 => json!({"$gte": first}),
        6 => json!({"$in": [first, second, third]}),
        7 => json!({"$nin": [first, second]}),
        8 => json!({"$exists": random.below(2) == 0}),
        _ => json!({"$in": []}),
    };
    (field, test)
}

fn where_clause(random: &mut Random, users: &[String], created: &[String], team: &str, depth: usize) -> Value {
    let mut clause = serde_json::Map::new();
    for _ in 0..1 + random.below(2) {
        let (field, test) = condition(random, users, created);
        clause.insert(field, test);
    }
    if random.below(10) == 0 {
        clause.insert("$relatedTo".into(), json!({"object": {"__type": "Pointer", "className": "Team", "objectId": team}, "key": "members"}));
    }
    if depth < 2 && random.below(3) == 0 {
        let branches: Vec<Value> = (0..1 + random.below(3)).map(|_| where_clause(random, users, created, team, depth + 1)).collect();
        clause.insert("$or".into(), Value::Array(branches));
    }
    Value::Object(clause)
}

/// The query with a `$nor` that holds for every object: the same answer, served by a scan.
fn scanned(where_: &Value) -> Value {
    json!({"$and": [where_, {"$nor": [{"never_set": "x"}]}]})
}

async fn find(server: &Server, headers: &[(&str, &str)], where_: &Value, extra: &str) -> (u16, Value) {
    let path = format!("/classes/Item?where={}{extra}", url_encode(&where_.to_string()));
    server.request("GET", &path, None, headers).await
}

#[tokio::test]
async fn pushed_down_queries_answer_as_the_scan_does() {
    let server = Server::start("basics", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw-alice").await;
    let (bob, _) = server.sign_up("bob", "pw-bob").await;
    let (status, role) = server
        .master("POST", "/roles", Some(json!({"name": "Staff", "ACL": {"*": {"read": true}}, "users": {"__op": "AddRelation", "objects": [user(&alice)]}})))
        .await;
    assert_eq!(status, 201, "{role}");
    let users = vec![alice.clone(), bob.clone()];

    let mut random = Random(0x5eed_cafe);
    let acls = [
        json!(null),
        json!({"*": {"read": true}}),
        json!({alice.as_str(): {"read": true, "write": true}}),
        json!({bob.as_str(): {"read": true}}),
        json!({"role:Staff": {"read": true}}),
        json!({alice.as_str(): {"write": true}}),
    ];
    let (mut created, mut ids) = (Vec::new(), Vec::new());
    for i in 0..120 {
        let mut object = serde_json::Map::new();
        object.insert("i".into(), json!(i));
        for field in ["n", "s", "b", "d", "owner"] {
            if random.below(5) != 0 {
                object.insert(field.into(), value(&mut Random(random.next() | 1), field, &users, &[]));
            }
        }
        if random.below(5) != 0 {
            object.insert("tags".into(), tags(&mut Random(random.next() | 1), &users));
        }
        // Typed by the first object, so later values of other types are left out.
        if i == 0 {
            object.insert("n".into(), json!(1));
            object.insert("s".into(), json!("a"));
            object.insert("b".into(), json!(true));
            object.insert("d".into(), date(0));
            object.insert("owner".into(), user(&alice));
            object.insert("tags".into(), json!(["a"]));
        }
        for field in ["n", "s", "b", "d", "owner"] {
            let wrong_type = match (field, object.get(field)) {
                ("n", Some(v)) => !v.is_number(),
                ("s", Some(v)) => !v.is_string(),
                ("b", Some(v)) => !v.is_boolean(),
                ("d", Some(v)) => v.get("__type") != Some(&json!("Date")),
                ("owner", Some(v)) => v.get("className") != Some(&json!("_User")),
                _ => false,
            };
            if wrong_type {
                object.remove(field);
            }
        }
        let acl = random.pick(&acls).clone();
        if !acl.is_null() {
            object.insert("ACL".into(), acl);
        }
        let (status, saved) = server.master("POST", "/classes/Item", Some(Value::Object(object))).await;
        assert_eq!(status, 201, "{saved}");
        created.push(saved["createdAt"].as_str().unwrap().to_string());
        ids.push(saved["objectId"].as_str().unwrap().to_string());
    }
    let members: Vec<Value> = ids.iter().step_by(3).map(|id| json!({"__type": "Pointer", "className": "Item", "objectId": id})).collect();
    let (status, team) =
        server.master("POST", "/classes/Team", Some(json!({"members": {"__op": "AddRelation", "objects": members}}))).await;
    assert_eq!(status, 201, "{team}");
    let team = team["objectId"].as_str().unwrap();

    let master = [("X-Parse-Master-Key", common::MASTER_KEY)];
    let member = [("X-Parse-Session-Token", alice_token.as_str())];
    let readers: [&[(&str, &str)]; 3] = [&master, &member, &[]];
    let orders = ["", "n", "-n", "s,-b", "-d,i", "owner", "-createdAt", "updatedAt,-s"];
    let (mut answered, mut found) = (0, 0);
    for case in 0..300 {
        let where_ = where_clause(&mut random, &users, &created, team, 0);
        let order = random.pick(&orders);
        let mut extra = format!("&skip={}&limit={}", random.below(4), random.below(30));
        if !order.is_empty() {
            extra.push_str(&format!("&order={order}"));
        }
        if random.below(2) == 0 {
            extra.push_str("&count=1");
        }
        let headers = readers[case % readers.len()];
        let direct = find(&server, headers, &where_, &extra).await;
        let reference = find(&server, headers, &scanned(&where_), &extra).await;
        assert_eq!(direct, reference, "case {case}: where {where_} {extra}");
        if direct.0 == 200 {
            answered += 1;
            found += usize::from(direct.1["results"].as_array().is_some_and(|results| !results.is_empty()));
        }
    }
    assert!(answered >= 220, "most random queries are valid: {answered} of 300");
    assert!(found >= 90, "many queries find something: {found}");
}

#[tokio::test]
async fn counts_and_orders_answer_alike_on_both_paths() {
    let server = Server::start("basics", &[]);
    for i in 0..5 {
        let (status, body) = server.master("POST", "/classes/Item", Some(json!({"n": i, "tags": ["t"]}))).await;
        assert_eq!(status, 201, "{body}");
    }
    let master = [("X-Parse-Master-Key", common::MASTER_KEY)];
    let (status, counted) = find(&server, &master, &json!({"n": {"$gte": 2}}), "&count=1&limit=1&order=-n").await;
    assert_eq!((status, counted["count"].clone(), counted["results"][0]["n"].clone()), (200, json!(3), json!(4)), "{counted}");
}

fn point(latitude: f64, longitude: f64) -> Value {
    json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude})
}

#[tokio::test]
async fn geo_queries_answer_on_postgresql_as_on_sled() {
    let sled = Server::start("basics", &[]);
    let postgres = Server::start_on("basics", Arc::new(TestDatabase::create()), &[]);
    let places = [("origin", 0.0, 0.0), ("east", 0.0, 3.0), ("far east", 0.0, 10.0), ("north east", 10.0, 10.0), ("south west", -5.0, -5.0)];
    for server in [&sled, &postgres] {
        for (name, latitude, longitude) in places {
            let (status, body) = server.master("POST", "/classes/Place", Some(json!({"name": name, "at": point(latitude, longitude)}))).await;
            assert_eq!(status, 201, "{body}");
        }
        for (name, corner) in [("near", 0.0), ("far", 20.0)] {
            let square = [[corner, corner], [corner, corner + 5.0], [corner + 5.0, corner + 5.0], [corner + 5.0, corner]];
            let (status, body) =
                server.master("POST", "/classes/Area", Some(json!({"name": name, "area": {"__type": "Polygon", "coordinates": square}}))).await;
            assert_eq!(status, 201, "{body}");
        }
    }
    let triangle = json!([point(-1.0, -1.0), point(-1.0, 12.0), point(12.0, -1.0)]);
    let cases = [
        ("Place", json!({"at": {"$nearSphere": point(0.0, 0.0), "$maxDistanceInKilometers": 500}}), "", vec!["origin", "east"]),
        ("Place", json!({"at": {"$nearSphere": point(0.0, 0.0)}}), "&limit=3", vec!["origin", "east", "south west"]),
        ("Place", json!({"at": {"$within": {"$box": [point(-1.0, -1.0), point(11.0, 11.0)]}}}), "&order=name", vec!["east", "far east", "north east", "origin"]),
        ("Place", json!({"at": {"$geoWithin": {"$polygon": triangle}}}), "&order=name", vec!["east", "far east", "origin"]),
        ("Place", json!({"at": {"$geoWithin": {"$centerSphere": [[0.0, 0.0], 0.06]}}}), "&order=name", vec!["east", "origin"]),
        ("Area", json!({"area": {"$geoIntersects": {"$point": point(1.0, 1.0)}}}), "", vec!["near"]),
        ("Place", json!({"at": {"$exists": true}, "name": {"$regex": "east$"}}), "&order=-name", vec!["north east", "far east", "east"]),
    ];
    for (class, where_, extra, expected) in cases {
        let path = format!("/classes/{class}?where={}{extra}", url_encode(&where_.to_string()));
        for server in [&sled, &postgres] {
            let (status, found) = server.request("GET", &path, None, &[]).await;
            assert_eq!(status, 200, "{where_}: {found}");
            let names: Vec<&str> = found["results"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
            assert_eq!(names, expected, "{where_} on {}", if std::ptr::eq(server, &postgres) { "PostgreSQL" } else { "the default backend" });
        }
    }
}

#[tokio::test]
async fn a_page_includes_the_same_objects_fetched_per_class_as_one_by_one() {
    let sled = Server::start("basics", &[]);
    let postgres = Server::start_on("basics", Arc::new(TestDatabase::create()), &[]);
    for server in [&sled, &postgres] {
        let mut authors = Vec::new();
        for (name, acl) in [("public", json!({"*": {"read": true}})), ("hidden", json!({}))] {
            let (status, body) = server.master("POST", "/classes/Author", Some(json!({"name": name, "ACL": acl}))).await;
            assert_eq!(status, 201, "{body}");
            authors.push(json!({"__type": "Pointer", "className": "Author", "objectId": body["objectId"]}));
        }
        let (status, body) = server.master("POST", "/classes/Editor", Some(json!({"name": "ed", "boss": authors[0]}))).await;
        assert_eq!(status, 201, "{body}");
        let editor = json!({"__type": "Pointer", "className": "Editor", "objectId": body["objectId"]});
        let dangling = json!({"__type": "Pointer", "className": "Author", "objectId": "gone"});
        let posts = [
            json!({"title": "1", "author": authors[0], "coauthors": [authors[0], authors[1], dangling], "editor": editor}),
            json!({"title": "2", "author": authors[1]}),
            json!({"title": "3", "author": dangling}),
        ];
        for post in posts {
            let (status, body) = server.master("POST", "/classes/Post", Some(post)).await;
            assert_eq!(status, 201, "{body}");
        }
        let (status, found) = server.request("GET", "/classes/Post?order=title&include=author,coauthors,editor.boss", None, &[]).await;
        assert_eq!(status, 200, "{found}");
        let results = found["results"].as_array().unwrap();
        let kind = |value: &Value| format!("{}:{}", value["__type"].as_str().unwrap(), value["name"].as_str().unwrap_or("-"));
        let seen: Vec<String> = [
            &results[0]["author"],
            &results[0]["coauthors"][0],
            &results[0]["coauthors"][1],
            &results[0]["coauthors"][2],
            &results[0]["editor"],
            &results[0]["editor"]["boss"],
            &results[1]["author"],
            &results[2]["author"],
        ]
        .into_iter()
        .map(kind)
        .collect();
        let expected = ["Object:public", "Object:public", "Pointer:-", "Pointer:-", "Object:ed", "Object:public", "Pointer:-", "Pointer:-"];
        assert_eq!(seen, expected, "{found}");
    }
}

/// A query on one objectId is the object's get (awaited in place on PostgreSQL): it still
/// applies the ACL, the rest of the `where`, `skip` and `keys`, and a get of an object the
/// reader may not see answers 101.
#[tokio::test]
async fn a_query_on_one_object_id_answers_as_its_get() {
    let server = Server::start("basics", &[]);
    let (alice, alice_token) = server.sign_up("alice", "pw-alice").await;
    let (status, open) = server.master("POST", "/classes/Item", Some(json!({"n": 1, "s": "a"}))).await;
    assert_eq!(status, 201, "{open}");
    let (status, private) = server.master("POST", "/classes/Item", Some(json!({"n": 2, "ACL": {alice.as_str(): {"read": true}}}))).await;
    assert_eq!(status, 201, "{private}");
    let (open, private) = (open["objectId"].as_str().unwrap(), private["objectId"].as_str().unwrap());
    let anonymous: &[(&str, &str)] = &[];
    let ids = |answer: &Value| answer["results"].as_array().unwrap().iter().map(|o| o["objectId"].as_str().unwrap().to_owned()).collect::<Vec<_>>();

    let (status, answer) = find(&server, anonymous, &json!({"objectId": open}), "&keys=n").await;
    assert_eq!((status, ids(&answer)), (200, vec![open.to_owned()]), "{answer}");
    assert!(answer["results"][0].get("s").is_none(), "keys=n keeps n only: {answer}");
    let (_, answer) = find(&server, anonymous, &json!({"objectId": open}), "&skip=1").await;
    assert!(ids(&answer).is_empty(), "{answer}");
    let (_, answer) = find(&server, anonymous, &json!({"objectId": open, "n": 2}), "").await;
    assert!(ids(&answer).is_empty(), "{answer}");
    let (_, answer) = find(&server, anonymous, &json!({"objectId": private}), "").await;
    assert!(ids(&answer).is_empty(), "{answer}");
    let alice_headers: &[(&str, &str)] = &[("X-Parse-Session-Token", alice_token.as_str())];
    let (_, answer) = find(&server, alice_headers, &json!({"objectId": private}), "").await;
    assert_eq!(ids(&answer), vec![private.to_owned()], "{answer}");

    let (status, answer) = server.request("GET", &format!("/classes/Item/{private}"), None, anonymous).await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(101)), "{answer}");
    let (status, answer) = server.request("GET", &format!("/classes/Item/{private}?keys=n"), None, alice_headers).await;
    assert_eq!((status, answer["n"].as_i64()), (200, Some(2)), "{answer}");
    let (status, answer) = server.request("GET", "/classes/Item/nosuchid", None, anonymous).await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(101)), "{answer}");
}
