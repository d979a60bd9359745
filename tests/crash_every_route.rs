//! `kill -9` under writes to every kind of route at once — objects, batches, sign-ups, schema
//! changes, file uploads, Parse Config, roles, in-place increments — then a restart on the same
//! data: every write that was answered with success is there, readable through the API, and the
//! server starts healthy. Runs on PostgreSQL too (CLOUDRT_TEST_BACKEND=postgres).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

/// What the server acknowledged before it was killed.
#[derive(Default)]
struct Acknowledged {
    objects: Vec<String>,
    users: Vec<String>,
    schemas: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
    /// Config parameter → the last value a successful PUT set.
    config: std::collections::HashMap<String, u64>,
    roles: Vec<String>,
    /// objectId → increments answered.
    increments: std::collections::HashMap<String, u64>,
}

async fn send(client: &reqwest::Client, method: reqwest::Method, url: String, body: Vec<u8>, content_type: &str) -> Option<(u16, Value)> {
    let response = client
        .request(method, url)
        .header("X-Parse-Application-Id", APP_ID)
        .header("X-Parse-Master-Key", MASTER_KEY)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.ok()?))
}

/// One writer: a round-robin over the routes until the server stops answering.
async fn write(client: reqwest::Client, url: String, writer: usize, acknowledged: Arc<Mutex<Acknowledged>>) {
    let post = reqwest::Method::POST;
    for n in 0u64.. {
        let tag = format!("w{writer}n{n}");
        let outcome = match n % 8 {
            0 => send(&client, post.clone(), format!("{url}/classes/Crash"), json!({"tag": tag}).to_string().into_bytes(), "application/json")
                .await
                .map(|(status, body)| {
                    if status == 201 {
                        acknowledged.lock().unwrap().objects.push(body["objectId"].as_str().unwrap_or_default().to_string());
                    }
                }),
            1 => {
                let requests: Vec<Value> =
                    (0..5).map(|i| json!({"method": "POST", "path": "/parse/classes/Crash", "body": {"tag": format!("{tag}b{i}")}})).collect();
                send(&client, post.clone(), format!("{url}/batch"), json!({"requests": requests}).to_string().into_bytes(), "application/json")
                    .await
                    .map(|(status, body)| {
                        if status == 200 {
                            let ids = body.as_array().into_iter().flatten().filter_map(|r| r["success"]["objectId"].as_str().map(str::to_string));
                            acknowledged.lock().unwrap().objects.extend(ids);
                        }
                    })
            }
            2 => send(&client, post.clone(), format!("{url}/users"), json!({"username": tag, "password": "pw"}).to_string().into_bytes(), "application/json")
                .await
                .map(|(status, _)| {
                    if status == 201 {
                        acknowledged.lock().unwrap().users.push(tag.clone());
                    }
                }),
            3 => {
                let class = format!("Crash{tag}");
                let body = json!({"className": class, "fields": {"f": {"type": "String"}}});
                send(&client, post.clone(), format!("{url}/schemas/{class}"), body.to_string().into_bytes(), "application/json").await.map(|(status, _)| {
                    if status == 200 {
                        acknowledged.lock().unwrap().schemas.push(class.clone());
                    }
                })
            }
            4 => {
                let bytes = format!("file {tag}").repeat(50).into_bytes();
                send(&client, post.clone(), format!("{url}/files/{tag}.txt"), bytes.clone(), "text/plain").await.map(|(status, body)| {
                    if status == 201 {
                        acknowledged.lock().unwrap().files.push((body["url"].as_str().unwrap_or_default().to_string(), bytes.clone()));
                    }
                })
            }
            5 => {
                let body = json!({"params": {format!("p{writer}"): n}});
                send(&client, reqwest::Method::PUT, format!("{url}/config"), body.to_string().into_bytes(), "application/json").await.map(|(status, _)| {
                    if status == 200 {
                        acknowledged.lock().unwrap().config.insert(format!("p{writer}"), n);
                    }
                })
            }
            6 => {
                let body = json!({"name": format!("Role{tag}"), "ACL": {"*": {"read": true}}});
                send(&client, post.clone(), format!("{url}/roles"), body.to_string().into_bytes(), "application/json").await.map(|(status, _)| {
                    if status == 201 {
                        acknowledged.lock().unwrap().roles.push(format!("Role{tag}"));
                    }
                })
            }
            _ => {
                let target = acknowledged.lock().unwrap().objects.first().cloned();
                match target {
                    None => Some(()),
                    Some(id) => {
                        let body = json!({"count": {"__op": "Increment", "amount": 1}});
                        send(&client, reqwest::Method::PUT, format!("{url}/classes/Crash/{id}"), body.to_string().into_bytes(), "application/json")
                            .await
                            .map(|(status, _)| {
                                if status == 200 {
                                    *acknowledged.lock().unwrap().increments.entry(id.clone()).or_default() += 1;
                                }
                            })
                    }
                }
            }
        };
        if outcome.is_none() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_to_every_route_survive_kill_9() {
    let mut server = Server::start("basics", &[]);
    for round in 0..2 {
        let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
        let writers: Vec<_> =
            (0..6).map(|writer| tokio::spawn(write(server.client.clone(), server.url.clone(), writer + 10 * round, acknowledged.clone()))).collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server = server.restart("basics", &[]);
        for writer in writers {
            writer.await.unwrap();
        }
        let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
        assert!(acknowledged.objects.len() > 20 && !acknowledged.files.is_empty(), "round {round}: the load ran");

        for id in &acknowledged.objects {
            let (status, object) = server.master("GET", &format!("/classes/Crash/{id}"), None).await;
            assert_eq!(status, 200, "round {round}: acknowledged object {id} lost: {object}");
        }
        for (id, answered) in &acknowledged.increments {
            let (_, object) = server.master("GET", &format!("/classes/Crash/{id}"), None).await;
            assert!(object["count"].as_u64().unwrap_or(0) >= *answered, "round {round}: increments of {id} lost: {object}, {answered} answered");
        }
        for username in &acknowledged.users {
            let (status, body) = server.request("GET", &format!("/login?username={username}&password=pw"), None, &[]).await;
            assert_eq!(status, 200, "round {round}: user {username} cannot log in: {body}");
        }
        for class in &acknowledged.schemas {
            let (status, schema) = server.master("GET", &format!("/schemas/{class}"), None).await;
            assert_eq!((status, schema["fields"]["f"]["type"].clone()), (200, json!("String")), "round {round}: schema {class} lost");
        }
        for (url, bytes) in &acknowledged.files {
            // The restarted server listens on another port: the file's path is what stays.
            let path = &url[url.find("/files/").expect("a file URL")..];
            let response = server.client.get(format!("{}{path}", server.url)).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200, "round {round}: file {url} lost");
            assert_eq!(&response.bytes().await.unwrap()[..], &bytes[..], "round {round}: file {url} damaged");
        }
        let (_, config) = server.master("GET", "/config", None).await;
        for (name, value) in &acknowledged.config {
            assert!(config["params"][name].as_u64().is_some_and(|stored| stored >= *value), "round {round}: config {name}={value} lost: {config}");
        }
        for role in &acknowledged.roles {
            let query = form_urlencoded::byte_serialize(json!({"name": role}).to_string().as_bytes()).collect::<String>();
            let (_, found) = server.master("GET", &format!("/roles?where={query}"), None).await;
            assert_eq!(found["results"].as_array().map(Vec::len), Some(1), "round {round}: role {role} lost: {found}");
        }
    }
}
