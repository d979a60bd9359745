//! This node's link to the other cloudrt nodes on the same PostgreSQL database: one connection
//! of its own, outside the pool, kept open by a task that reconnects by itself.
//!
//! On it the node
//! - LISTENs on one channel, where every node NOTIFYs what it changed (payload
//!   `{"node", "kind": "schema" | "objects", "class"}`); a node ignores its own notes;
//! - holds a session-level advisory lock of its own id for as long as it runs, so that the
//!   leader can tell a node that stopped (its connection closed, the lock went with it) from
//!   one that is still working;
//! - tries, every second until it gets it, the one leader lock (`pg_try_advisory_lock`);
//!   PostgreSQL releases it when the leader's connection closes, `kill -9` included, and the
//!   next node to try takes over.
//!
//! Advisory locks use the two-key form: the first key says which of cloudrt's locks it is, so
//! they cannot meet an application's own one-key locks.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use serde_json::{json, Value};
use tokio_postgres::{AsyncMessage, NoTls};

use super::connections::Connections;
use crate::store::nodes::{Change, Nodes, OnChange};
use crate::store::StoreError;

/// The channel every node LISTENs and NOTIFYs on.
pub const CHANNEL: &str = "cloudrt_changes";
/// First key of the leader lock (its second is 0).
const LEADER_LOCK: i32 = 0x636c_6472; // "cldr"
/// First key of the lock each running node holds; the second is the node's number.
const NODE_LOCK: i32 = 0x636c_6e64; // "clnd"
/// First key of the transaction lock a sign-up takes on each authData identity it links (the
/// second is a hash of provider and id), so that two nodes signing one new identity up at once
/// make one user.
pub const IDENTITY_LOCK: i32 = 0x636c_6964; // "clid"
/// First key of the session lock a node holds while it builds a table's natural-order index
/// (the second is a hash of the class name; see `natural_order.rs`).
pub const NATURAL_ORDER_LOCK: i32 = 0x636c_6e6f; // "clno"
/// The statement that makes one transaction's DDL wait for any other node's: `CREATE TABLE IF
/// NOT EXISTS` and `ADD COLUMN IF NOT EXISTS` fail, rather than wait, when two sessions run
/// them at once. Keys: [`LEADER_LOCK`]'s first, 1 (the leader lock's second is 0).
pub const DDL_LOCK: &str = "SELECT pg_advisory_xact_lock(1668047986, 1)";
/// How often a node that is not the leader tries to become it, and how often the link is
/// checked. The leader's successor takes over within about this long after the leader's
/// connection closes.
const TICK: Duration = Duration::from_secs(1);
/// A statement on the link that takes longer means the link is gone.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long start-up waits for the link before it fails.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// This node: its id, whether it leads, and who is told of the other nodes' changes.
pub struct NodeLink {
    id: String,
    leader: Arc<AtomicBool>,
    watched: RwLock<HashSet<String>>,
    subscribers: Arc<Mutex<Vec<OnChange>>>,
}

/// Why the link failed; it is opened again after a pause.
type LinkError = String;

impl NodeLink {
    /// Opens the link (waiting until it stands, so a database that refuses it stops the start),
    /// and keeps it open from then on.
    pub fn start(connections: &Connections) -> Result<NodeLink, StoreError> {
        let number = rand::random::<u32>() >> 1;
        let id = format!("{number:08x}");
        let link = NodeLink {
            id: id.clone(),
            leader: Arc::new(AtomicBool::new(false)),
            watched: RwLock::new(HashSet::new()),
            subscribers: Arc::new(Mutex::new(Vec::new())),
        };
        let (changes, received) = mpsc::channel::<Change>();
        let subscribers = link.subscribers.clone();
        std::thread::Builder::new()
            .name("cloudrt-nodes".into())
            .spawn(move || {
                // Subscribers read the store, which waits on the store's runtime: they run
                // here, never on that runtime's own threads.
                for change in received {
                    for subscriber in subscribers.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                        subscriber(&change);
                    }
                }
            })
            .map_err(|e| StoreError::Io(format!("cannot start the node link thread: {e}")))?;
        let (ready, started) = mpsc::sync_channel(1);
        let session = Session { config: connections.config().clone(), id, number: number as i32, leader: link.leader.clone(), changes };
        connections.spawn(session.keep_open(ready));
        match started.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => Ok(link),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!("cannot open the link to the other nodes: {e}"))),
            Err(_) => Err(StoreError::Unavailable("the link to the other nodes did not open in time".into())),
        }
    }

    /// Adds a subscriber of the store's own (told before those of [`Nodes::watch`]).
    pub fn subscribe(&self, on_change: OnChange) {
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).push(on_change);
    }

    /// Whether writes of `class` are told to the other nodes.
    pub fn announces(&self, class: &str) -> bool {
        self.watched.read().unwrap_or_else(PoisonError::into_inner).contains(class)
    }

    /// The NOTIFY payload telling the others that the schema of `class` changed.
    pub fn schema_note(&self, class: &str) -> String {
        json!({ "node": self.id, "kind": "schema", "class": class }).to_string()
    }

    /// The NOTIFY payload telling the others that objects of `class` were written.
    pub fn objects_note(&self, class: &str) -> String {
        json!({ "node": self.id, "kind": "objects", "class": class }).to_string()
    }
}

/// The change a note from another node tells; None for this node's own notes and for notes
/// it cannot read.
fn change_in(payload: &str, own: &str) -> Option<Change> {
    let note: Value = serde_json::from_str(payload).ok()?;
    if note["node"].as_str() == Some(own) {
        return None;
    }
    let class = note["class"].as_str()?.to_owned();
    match note["kind"].as_str()? {
        "schema" => Some(Change::Schema(class)),
        "objects" => Some(Change::Objects(class)),
        _ => None,
    }
}

/// The task that keeps the link open.
struct Session {
    config: tokio_postgres::Config,
    id: String,
    number: i32,
    leader: Arc<AtomicBool>,
    changes: mpsc::Sender<Change>,
}

impl Session {
    async fn keep_open(self, ready: mpsc::SyncSender<Result<(), LinkError>>) {
        let mut ready = Some(ready);
        loop {
            let outcome = self.run(&mut ready).await;
            if self.leader.swap(false, Ordering::SeqCst) {
                tracing::warn!("this node is no longer the leader");
            }
            let error = outcome.err().unwrap_or_else(|| "closed".into());
            if let Some(ready) = ready.take() {
                let _ = ready.send(Err(error));
                return;
            }
            tracing::warn!("the link to the other nodes was lost ({error}); reconnecting");
            tokio::time::sleep(TICK).await;
        }
    }

    /// One connection's life: until it fails.
    async fn run(&self, ready: &mut Option<mpsc::SyncSender<Result<(), LinkError>>>) -> Result<(), LinkError> {
        let (client, mut connection) = timed(self.config.connect(NoTls)).await?;
        let (notes, mut received) = tokio::sync::mpsc::unbounded_channel::<String>();
        let driver = tokio::spawn(async move {
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(AsyncMessage::Notification(note)) => {
                        if notes.send(note.payload().to_owned()).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        let _stop_driver = AbortOnDrop(driver);
        timed(client.batch_execute(&format!("LISTEN {CHANNEL}"))).await?;
        timed(client.execute("SELECT pg_advisory_lock($1, $2)", &[&NODE_LOCK, &self.number])).await?;
        match ready.take() {
            Some(ready) => {
                let _ = ready.send(Ok(()));
                tracing::info!("node {} linked to the other nodes", self.id);
            }
            // Notes sent while the link was down are lost: everything is read again.
            None => {
                let _ = self.changes.send(Change::Everything);
                tracing::info!("the link to the other nodes is back");
            }
        }
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                note = received.recv() => {
                    let Some(payload) = note else { return Err("connection closed".into()) };
                    if let Some(change) = change_in(&payload, &self.id) {
                        let _ = self.changes.send(change);
                    }
                }
                _ = tick.tick() => {
                    if self.leader.load(Ordering::SeqCst) {
                        timed(client.simple_query("SELECT 1")).await?;
                    } else {
                        let row = timed(client.query_one("SELECT pg_try_advisory_lock($1, 0)", &[&LEADER_LOCK])).await?;
                        if row.try_get::<_, bool>(0).map_err(|e| e.to_string())? {
                            self.leader.store(true, Ordering::SeqCst);
                            tracing::info!("node {} is now the leader", self.id);
                        }
                    }
                }
            }
        }
    }
}

/// A statement on the link, failing when it takes longer than [`STATEMENT_TIMEOUT`].
async fn timed<T>(statement: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>) -> Result<T, LinkError> {
    match tokio::time::timeout(STATEMENT_TIMEOUT, statement).await {
        Ok(outcome) => outcome.map_err(|e| e.to_string()),
        Err(_) => Err("a statement timed out".into()),
    }
}

/// Stops the task reading the link's connection when the session ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether node `id` holds its lock: one statement tries it and gives it straight back, so
/// the pooled connection it ran on keeps nothing.
const NODE_RUNNING: &str =
    "SELECT CASE WHEN pg_try_advisory_lock($1::int4, $2::int4) THEN NOT pg_advisory_unlock($1::int4, $2::int4) ELSE true END";

/// The second key of node `id`'s lock; None for an id no node could have.
fn number_of(id: &str) -> Option<i32> {
    u32::from_str_radix(id, 16).ok().filter(|n| *n <= i32::MAX as u32).map(|n| n as i32)
}

impl Nodes for super::PostgresStore {
    fn id(&self) -> &str {
        &self.node.id
    }

    fn is_leader(&self) -> bool {
        self.node.leader.load(Ordering::SeqCst)
    }

    fn is_running(&self, id: &str) -> Result<bool, StoreError> {
        let Some(number) = number_of(id) else { return Ok(false) };
        self.connections.run(move |client| async move {
            let row = client.query_one(NODE_RUNNING, &[&NODE_LOCK, &number]).await?;
            Ok(row.try_get::<_, bool>(0)?)
        })
    }

    fn watch(&self, classes: &[&str], on_change: OnChange) {
        self.node.watched.write().unwrap_or_else(PoisonError::into_inner).extend(classes.iter().map(|c| c.to_string()));
        self.node.subscribe(on_change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ddl_lock_is_in_cloudrts_key_space() {
        assert!(DDL_LOCK.contains(&format!("({LEADER_LOCK}, 1)")));
    }

    #[test]
    fn a_node_reads_the_others_notes_and_ignores_its_own() {
        let note = |node: &str, kind: &str| json!({"node": node, "kind": kind, "class": "Game"}).to_string();
        assert_eq!(change_in(&note("0000000b", "schema"), "0000000a"), Some(Change::Schema("Game".into())));
        assert_eq!(change_in(&note("0000000b", "objects"), "0000000a"), Some(Change::Objects("Game".into())));
        assert_eq!(change_in(&note("0000000a", "schema"), "0000000a"), None);
        assert_eq!(change_in(&note("0000000b", "what"), "0000000a"), None);
        assert_eq!(change_in("not json", "0000000a"), None);
    }

    #[test]
    fn node_ids_map_back_to_their_lock() {
        assert_eq!(number_of("7fffffff"), Some(i32::MAX));
        assert_eq!(number_of("0000002a"), Some(42));
        assert_eq!(number_of("80000000"), None);
        assert_eq!(number_of("nope"), None);
    }
}
