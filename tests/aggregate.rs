//! `/aggregate/:className` over real HTTP: pipelines sent in the URL (JSON text) and in the
//! SDK's POST body, `distinct` with and without `where`, master key only, and Parse errors for
//! pipelines that cannot run.

mod common;

use common::{Server, APP_ID, MASTER_KEY, url_encode};
use serde_json::{json, Value};

async fn seed(server: &Server) -> String {
    let (_, team) = server.master("POST", "/classes/Team", Some(json!({"name": "red"}))).await;
    let team = team["objectId"].as_str().unwrap().to_string();
    let pointer = json!({"__type": "Pointer", "className": "Team", "objectId": team});
    for (player, score, tags) in [("ann", 10, json!(["a", "b"])), ("bob", 4, json!(["b"])), ("ann", 6, json!([])), ("cid", 1, json!(["c"]))] {
        let body = json!({"player": player, "score": score, "tags": tags, "team": pointer});
        assert_eq!(server.master("POST", "/classes/Score", Some(body)).await.0, 201);
    }
    team
}

/// The SDK's way: POST with `_method: GET` and the master key in a text/plain body.
async fn sdk_get(server: &Server, path: &str, mut body: Value) -> (u16, Value) {
    body["_method"] = json!("GET");
    body["_ApplicationId"] = json!(APP_ID);
    body["_MasterKey"] = json!(MASTER_KEY);
    server.post(path, body.to_string(), &[("Content-Type", "text/plain")], false).await
}

#[tokio::test]
async fn pipelines_group_match_project_sort_and_count() {
    let server = Server::start("basics", &[]);
    let team = seed(&server).await;
    let pipeline = json!([
        {"$match": {"score": {"$gt": 1}}},
        {"$group": {"_id": "$player", "total": {"$sum": "$score"}, "best": {"$max": "$score"}, "games": {"$sum": 1}}},
        {"$sort": {"total": -1}},
    ]);
    let path = format!("/aggregate/Score?pipeline={}", url_encode(&pipeline.to_string()));
    let (status, answer) = server.master("GET", &path, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["results"],
        json!([
            {"objectId": "ann", "total": 16, "best": 10, "games": 2},
            {"objectId": "bob", "total": 4, "best": 4, "games": 1},
        ])
    );

    let pipeline = json!([
        {"$group": {"_id": "$team", "average": {"$avg": "$score"}, "players": {"$push": "$player"}}},
    ]);
    let (status, by_team) = sdk_get(&server, "/aggregate/Score", json!({"pipeline": pipeline})).await;
    assert_eq!(status, 200, "{by_team}");
    let mut players: Vec<String> =
        by_team["results"][0]["players"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    players.sort();
    assert_eq!(players, ["ann", "ann", "bob", "cid"], "{by_team}");
    assert_eq!((by_team["results"][0]["objectId"].clone(), by_team["results"][0]["average"].clone()), (json!(team), json!(5.25)));

    let pipeline = json!([{"$project": {"player": 1, "_id": 0}}, {"$sort": {"player": 1}}, {"$skip": 1}, {"$limit": 2}]);
    let (_, projected) = sdk_get(&server, "/aggregate/Score", json!({"pipeline": pipeline})).await;
    assert_eq!(projected["results"], json!([{"player": "ann"}, {"player": "bob"}]));
    let (_, counted) = sdk_get(&server, "/aggregate/Score", json!({"pipeline": [{"$match": {"player": "ann"}}, {"$count": "n"}]})).await;
    assert_eq!(counted["results"], json!([{"n": 2}]));
    // One object of stages, as older SDKs send it.
    let (_, object_form) = sdk_get(&server, "/aggregate/Score", json!({"pipeline": {"$group": {"_id": null, "n": {"$sum": 1}}}})).await;
    assert_eq!(object_form["results"], json!([{"objectId": null, "n": 4}]));
}

#[tokio::test]
async fn distinct_values_with_and_without_where() {
    let server = Server::start("basics", &[]);
    let team = seed(&server).await;
    let (status, players) = server.master("GET", "/aggregate/Score?distinct=player", None).await;
    assert_eq!(status, 200, "{players}");
    let mut names: Vec<String> = players["results"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["ann", "bob", "cid"]);

    let where_ = url_encode(&json!({"score": {"$gte": 4}}).to_string());
    let (_, tags) = server.master("GET", &format!("/aggregate/Score?distinct=tags&where={where_}"), None).await;
    let mut tags: Vec<String> = tags["results"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    tags.sort();
    assert_eq!(tags, ["a", "b"], "arrays count element by element, filtered by where");

    let (_, teams) = sdk_get(&server, "/aggregate/Score", json!({"distinct": "team", "where": {"player": "bob"}})).await;
    assert_eq!(teams["results"], json!([{"__type": "Pointer", "className": "Team", "objectId": team}]));
    let (_, none) = server.master("GET", "/aggregate/Nothing?distinct=x", None).await;
    assert_eq!(none["results"], json!([]));
}

#[tokio::test]
async fn bad_aggregates_are_parse_errors_and_clients_are_refused() {
    let server = Server::start("basics", &[]);
    seed(&server).await;
    let (status, denied) = server.request("GET", "/aggregate/Score?distinct=player", None, &[]).await;
    assert_eq!(status, 403, "{denied}");

    // (pipeline, code)
    let cases = [
        (json!([{"$frobnicate": {}}]), 102),
        (json!([{"group": {"_id": null}}]), 102),
        (json!([{"$group": {"total": {"$sum": 1}}}]), 102),
        (json!([{"$group": {"_id": null, "objectId": {"$sum": 1}}}]), 102),
        (json!([{"$group": {"_id": null, "x": {"$median": "$score"}}}]), 102),
        (json!([{"$limit": "ten"}]), 102),
        (json!([{"$match": {"score": {"$gt": 1}}, "$limit": 1}]), 102),
        (json!([{"$match": {"score": {"$frob": 1}}}]), 102),
        (json!("[{not json"), 107),
    ];
    for (pipeline, code) in cases {
        let pipeline = match &pipeline {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let (status, answer) = server.master("GET", &format!("/aggregate/Score?pipeline={}", url_encode(&pipeline)), None).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(code)), "{pipeline}: {answer}");
    }
    let (_, answer) = server.master("GET", &format!("/aggregate/Score?pipeline={}", url_encode(r#"[{"$frobnicate":{}}]"#)), None).await;
    assert_eq!(answer["error"], "Unrecognized pipeline stage name: '$frobnicate'");
    let (status, bad_where) = server.master("GET", "/aggregate/Score?distinct=player&where=%5B1%5D", None).await;
    assert_eq!((status, bad_where["code"].as_i64()), (400, Some(102)), "{bad_where}");
    let (status, bad_class) = server.master("GET", "/aggregate/no%20way?distinct=x", None).await;
    assert_eq!((status, bad_class["code"].as_i64()), (400, Some(103)), "{bad_class}");
}

#[tokio::test]
async fn cloud_code_queries_distinct_and_aggregate_through_the_route() {
    let server = Server::start("basics", &[]);
    seed(&server).await;
    let (status, body) = server.call("distinctPlayers", json!({"above": 3}), &[]).await;
    assert_eq!(status, 200, "{body}");
    let mut players: Vec<String> = serde_json::from_value(body["result"].clone()).unwrap();
    players.sort();
    assert_eq!(players, ["ann", "bob"]);
    let pipeline = json!([{"$group": {"_id": "$player", "total": {"$sum": "$score"}}}, {"$sort": {"total": -1}}]);
    let (status, body) = server.call("totalsByPlayer", json!({"pipeline": pipeline}), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"][0], json!({"objectId": "ann", "total": 16}), "{body}");
    // A bad stage is the route's Parse error, passed on to the caller.
    let (status, body) = server.call("totalsByPlayer", json!({"pipeline": [{"$nope": 1}]}), &[]).await;
    assert_eq!((status, &body), (400, &json!({"code": 102, "error": "Unrecognized pipeline stage name: '$nope'"})));
}

