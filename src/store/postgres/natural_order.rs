//! The index that serves a query's natural order (createdAt, then objectId; see
//! [`NATURAL_ORDER_INDEX_KEYS`]) on every class table, made by cloudrt when it first uses a table
//! without one. Tables and indexes made by Parse Server (or by cloudrt before it made this
//! index) lack it, so an unordered page of ten would sort every match.
//!
//! The index is built in the background with `CREATE INDEX CONCURRENTLY`, which writes never
//! wait for, so a large table made by Parse Server keeps serving both servers while it builds;
//! Parse Server ignores the extra index. It runs on a connection of its own, without the pool's
//! statement timeout (a large table takes longer than a query may), under a session lock per
//! table that one node at a time gets (the others leave the table to it): two concurrent builds
//! of one index would wait for each other. A build that failed half-way leaves an invalid index,
//! which the next attempt drops and builds again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio_postgres::NoTls;

use super::columns::{quoted, Kind, NATURAL_ORDER_INDEX_KEYS};
use super::connections::Connections;
use super::node::NATURAL_ORDER_LOCK;

/// The classes whose table this process has seen to (built, found, or being built).
#[derive(Default, Clone)]
pub struct NaturalOrder {
    seen: Arc<Mutex<HashSet<String>>>,
}

/// PostgreSQL truncates longer identifiers, so two long class names could share one.
const MAX_IDENTIFIER: usize = 63;

/// The index's name: `_cloudrt_order_<class>`, or for a long class name its first characters and
/// a hash of the whole name.
pub fn index_name(class: &str) -> String {
    let name = format!("_cloudrt_order_{class}");
    if name.len() <= MAX_IDENTIFIER {
        return name;
    }
    // FNV-1a: stable across processes and versions, unlike the standard library's hasher.
    let hash = class.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3));
    let mut prefix: String = String::new();
    for c in name.chars() {
        if prefix.len() + c.len_utf8() > MAX_IDENTIFIER - 17 {
            break;
        }
        prefix.push(c);
    }
    format!("{prefix}_{hash:016x}")
}

/// Whether the index named `$1` in the current schema is valid (no row: it does not exist).
const INDEX_VALID: &str =
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace";

impl NaturalOrder {
    /// Sees to the index of `class`'s table, once per process and class, in the background.
    /// `created_at_type` is the SQL type of its `createdAt` column: the sort key can be indexed
    /// on `timestamp with time zone` only (on another type it is not immutable).
    pub fn ensure(&self, connections: &Connections, class: &str, created_at_type: Option<&str>) {
        if created_at_type != Some("timestamp with time zone") {
            return;
        }
        if !self.seen.lock().unwrap_or_else(PoisonError::into_inner).insert(class.to_owned()) {
            return;
        }
        let (config, class, seen) = (connections.config().clone(), class.to_owned(), self.seen.clone());
        connections.spawn(async move {
            if let Err(error) = build(&config, &class).await {
                tracing::warn!("cannot make the natural-order index of {class}: {error}");
                // Tried again when the table is next read from the database.
                seen.lock().unwrap_or_else(PoisonError::into_inner).remove(&class);
            }
        });
    }

    /// Forgets `class` (its table was dropped: a new one needs the index again).
    pub fn forget(&self, class: &str) {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).remove(class);
    }
}

async fn build(config: &tokio_postgres::Config, class: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let outcome = build_on(&client, class).await;
    // Closing the connection ends the session lock too.
    drop(client);
    let _ = driver.await;
    outcome
}

async fn build_on(client: &tokio_postgres::Client, class: &str) -> Result<(), tokio_postgres::Error> {
    let locked: bool = client.query_one("SELECT pg_try_advisory_lock($1::int4, hashtext($2::text))", &[&NATURAL_ORDER_LOCK, &class]).await?.get(0);
    if !locked {
        return Ok(());
    }
    let name = index_name(class);
    let valid: Option<bool> = client.query_opt(INDEX_VALID, &[&name]).await?.map(|row| row.get(0));
    match valid {
        Some(true) => return Ok(()),
        Some(false) => client.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {}", quoted(&name))).await?,
        None => {}
    }
    client.batch_execute(&create_index(class, &name)).await?;
    tracing::info!("made the natural-order index of {class}");
    Ok(())
}

fn create_index(class: &str, name: &str) -> String {
    format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({NATURAL_ORDER_INDEX_KEYS})", quoted(name), quoted(class))
}

/// The index made in the transaction that adds a table's `createdAt` column (cloudrt's own
/// tables): that transaction already holds the table's exclusive lock, so a plain `CREATE
/// INDEX` costs nothing more there, and the background build (whose lock waits on a table
/// change, and one of them is cancelled as a deadlock) is then never needed.
pub fn create_index_with_column(class: &str, column: &str, kind: &Kind) -> Option<String> {
    (column == "createdAt" && *kind == Kind::Date)
        .then(|| format!("CREATE INDEX IF NOT EXISTS {} ON {} ({NATURAL_ORDER_INDEX_KEYS})", quoted(&index_name(class)), quoted(class)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_fit_postgresqls_identifiers_and_stay_apart() {
        assert_eq!(index_name("Post"), "_cloudrt_order_Post");
        let (long_a, long_b) = ("A".repeat(60) + "x", "A".repeat(60) + "y");
        let (a, b) = (index_name(&long_a), index_name(&long_b));
        assert!(a.len() <= MAX_IDENTIFIER && b.len() <= MAX_IDENTIFIER && a != b, "{a} {b}");
        assert!(index_name(&"é".repeat(40)).len() <= MAX_IDENTIFIER);
        assert_eq!(
            create_index("Post", "_cloudrt_order_Post"),
            format!(r#"CREATE INDEX CONCURRENTLY IF NOT EXISTS "_cloudrt_order_Post" ON "Post" ({NATURAL_ORDER_INDEX_KEYS})"#)
        );
        assert_eq!(
            create_index_with_column("Post", "createdAt", &Kind::Date).as_deref(),
            Some(format!(r#"CREATE INDEX IF NOT EXISTS "_cloudrt_order_Post" ON "Post" ({NATURAL_ORDER_INDEX_KEYS})"#).as_str())
        );
        assert_eq!(create_index_with_column("Post", "createdAt", &Kind::Text), None);
        assert_eq!(create_index_with_column("Post", "title", &Kind::Date), None);
    }
}
