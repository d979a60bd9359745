//! Nothing acknowledged is lost: writes under load, `kill -9` in the middle, restart on the
//! same data, and every object that was answered 201 is there. (`bench/durability.sh` runs a
//! longer version of this, several rounds.)

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, APP_ID, MASTER_KEY};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_kill_9() {
    let server = Server::start("basics", &[]);
    server.master("POST", "/classes/Durable", Some(json!({"n": -1}))).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (client, url, acknowledged) = (server.client.clone(), server.url.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let sent = client
                        .post(format!("{url}/classes/Durable"))
                        .header("X-Parse-Application-Id", APP_ID)
                        .header("X-Parse-Master-Key", MASTER_KEY)
                        .body(json!({"writer": writer, "n": n}).to_string())
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    if response.status() != 201 {
                        break;
                    }
                    let Ok(body) = response.json::<Value>().await else { break };
                    acknowledged.lock().unwrap().push(body["objectId"].as_str().unwrap().to_string());
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = server.restart("basics", &[]);
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 100, "the load ran: {}", acknowledged.len());
    let (_, stored) = server.master("GET", "/classes/Durable?count=1&limit=0", None).await;
    assert!(stored["count"].as_u64().unwrap() as usize > acknowledged.len(), "{stored}");
    for id in &acknowledged {
        let (status, object) = server.master("GET", &format!("/classes/Durable/{id}"), None).await;
        assert_eq!(status, 200, "acknowledged object {id} lost: {object}");
    }
}
