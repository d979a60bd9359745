//! [`Store`] on PostgreSQL, in the tables Parse Server's own PostgreSQL adapter uses, so that
//! an app can move from Parse Server to cloudrt (and back) on the same database.
//!
//! Every statement commits on its own (with `synchronous_commit` on), so a write is durable
//! when it returns and [`Store::sync`] has nothing left to do. Column kinds per class are
//! cached from `_SCHEMA` and `information_schema`; a field first seen on a write adds its column
//! before the row is written, as Parse Server does.

mod columns;
mod connections;
mod files;
mod natural_order;
mod node;
mod patterns;
mod query;
mod rows;
mod tables;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use self::columns::{Columns, Kind, Table};
use self::connections::{Connections, SqlError, NO_STATEMENT_TIMEOUT};
use self::natural_order::NaturalOrder;
use self::node::NodeLink;
pub use self::rows::FileUrl;
use super::nodes::{Change, Nodes};
use super::{ArrayChange, Document, InPlace, LookupField, Page, Store, StoreError, StoreFuture, StoreQuery};

/// Parameters of one statement: texts and text arrays, shared by a retry.
type Params = Arc<Vec<Box<dyn ToSql + Send + Sync>>>;

fn params(values: Vec<Box<dyn ToSql + Send + Sync>>) -> Params {
    Arc::new(values)
}

fn text(value: &str) -> Box<dyn ToSql + Send + Sync> {
    Box::new(value.to_owned())
}

fn maybe_text(value: Option<String>) -> Box<dyn ToSql + Send + Sync> {
    Box::new(value)
}

fn texts(values: &[String]) -> Box<dyn ToSql + Send + Sync> {
    Box::new(values.to_vec())
}

/// Rows a scan reads per statement: large enough that a round trip is small beside decoding
/// the page, small enough that a page of large objects stays a few megabytes.
const SCAN_PAGE_ROWS: i64 = 1_000;

/// The PostgreSQL store.
pub struct PostgresStore {
    connections: Connections,
    /// The columns and relations of each class table, None for one that does not exist (so
    /// that a class nothing was saved to, such as `_JobSchedule` that the scheduler reads every
    /// tick, costs no read of `information_schema` each time); forgotten for a class another
    /// node changed the schema of, which is how a table another node creates becomes known.
    tables: Arc<RwLock<Tables>>,
    /// This node among the others on the database.
    node: NodeLink,
    /// Serializes this process's DDL (CREATE TABLE / ALTER TABLE / `_SCHEMA` writes), which
    /// PostgreSQL does not make idempotent under concurrency.
    ddl: Mutex<()>,
    /// Sees to each class table's natural-order index.
    natural_order: NaturalOrder,
    file_url: OnceLock<Box<FileUrl>>,
}

/// What is known of the class tables, and how many schema changes other nodes told of.
#[derive(Default)]
struct Tables {
    known: HashMap<String, Option<Arc<Table>>>,
    /// Counts the notes of changes: an absence read while one arrived is not remembered, as
    /// the table may have been made just after the read.
    changes: u64,
}

/// The prepared statement, or `None` when the table it names does not exist (a class nothing
/// was saved to yet reads as empty).
async fn prepare_unless_no_table(client: &deadpool_postgres::Object, sql: &str) -> Result<Option<tokio_postgres::Statement>, SqlError> {
    match client.prepare_cached(sql).await {
        Ok(statement) => Ok(Some(statement)),
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl PostgresStore {
    /// Connects to `uri` and creates `_SCHEMA` if it does not exist. A statement running
    /// longer than `query_timeout` is cancelled and fails with [`StoreError::TimedOut`].
    pub fn open(uri: &str, query_timeout: Duration) -> Result<PostgresStore, StoreError> {
        let connections = Connections::open(uri, query_timeout)?;
        let node = NodeLink::start(&connections)?;
        let tables: Arc<RwLock<Tables>> = Arc::default();
        let cached = tables.clone();
        node.subscribe(Box::new(move |change| {
            let mut tables = cached.write().unwrap_or_else(PoisonError::into_inner);
            match change {
                Change::Schema(class) => drop(tables.known.remove(class)),
                Change::Everything => tables.known.clear(),
                Change::Objects(_) => return,
            }
            tables.changes += 1;
        }));
        let store = PostgresStore {
            connections,
            tables,
            node,
            ddl: Mutex::new(()),
            natural_order: NaturalOrder::default(),
            file_url: OnceLock::new(),
        };
        store.execute(tables::CREATE_SCHEMA_TABLE.to_owned(), params(vec![]))?;
        Ok(store)
    }

    /// Sets how file URLs are built from the names Parse Server's layout stores; known once
    /// the server listens.
    pub fn serve_files_at(&self, url: Box<FileUrl>) {
        let _ = self.file_url.set(url);
    }

    /// The statement that tells the other nodes `note` (delivered when its transaction commits).
    fn notify(note: String) -> (String, Params) {
        ("SELECT pg_notify($1, $2)".to_owned(), params(vec![text(node::CHANNEL), Box::new(note)]))
    }

    /// The first statement of a transaction that changes tables (see [`node::DDL_LOCK`]).
    fn ddl_lock() -> (String, Params) {
        (node::DDL_LOCK.to_owned(), params(vec![]))
    }

    /// Tells the other nodes that objects of `class` changed, when they watch it. The write is
    /// committed already: a note that cannot be sent is logged, not failed, so that a client
    /// never retries a write that was made.
    fn announce_objects(&self, class: &str) {
        if !self.node.announces(class) {
            return;
        }
        let (sql, values) = Self::notify(self.node.objects_note(class));
        if let Err(error) = self.execute(sql, values) {
            tracing::warn!("cannot tell the other nodes of a change to {class}: {error}");
        }
    }

    /// Runs one statement; answers the rows affected, `None` if its table does not exist.
    fn execute(&self, sql: String, values: Params) -> Result<Option<u64>, StoreError> {
        self.connections.run(move |client| {
            let (sql, values) = (sql.clone(), values.clone());
            async move {
                let Some(statement) = prepare_unless_no_table(&client, &sql).await? else { return Ok(None) };
                Ok(Some(client.execute(&statement, &refs(&values)).await?))
            }
        })
    }

    /// Runs one query whose only column is text; `None` if its table does not exist.
    fn texts(&self, sql: String, values: Params) -> Result<Option<Vec<String>>, StoreError> {
        self.connections.run(move |client| text_rows(client, sql.clone(), values.clone()))
    }

    /// Like [`PostgresStore::texts`] for statements answering (objectId, JSON text) rows.
    fn id_texts(&self, sql: String, values: Params) -> Result<Option<Vec<(String, String)>>, StoreError> {
        self.connections.run(move |client| {
            let (sql, values) = (sql.clone(), values.clone());
            async move {
                let Some(statement) = prepare_unless_no_table(&client, &sql).await? else { return Ok(None) };
                let rows = client.query(&statement, &refs(&values)).await?;
                rows.iter()
                    .map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?)))
                    .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                    .map(Some)
                    .map_err(SqlError::from)
            }
        })
    }

    /// Runs statements in one transaction, without the statement timeout: these are the
    /// schema's changes, not queries. A transaction PostgreSQL chose to end a deadlock with is
    /// run again: a change of a table whose natural-order index is being built concurrently
    /// (see `natural_order.rs`) and that build wait for each other, and one of them must go.
    fn transaction(&self, statements: Vec<(String, Params)>) -> Result<(), StoreError> {
        const ATTEMPTS: usize = 5;
        let statements = Arc::new(statements);
        self.connections.run(move |mut client| {
            let statements = statements.clone();
            async move {
                let mut attempt = 1;
                loop {
                    match run_transaction(&mut client, &statements).await {
                        Err(error) if attempt < ATTEMPTS && error.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) => attempt += 1,
                        outcome => return outcome,
                    }
                }
            }
        })
    }

    /// The columns and relations of `class`, read from the database when not cached.
    fn table(&self, class: &str) -> Result<Option<Arc<Table>>, StoreError> {
        if let Some(known) = self.tables.read().unwrap_or_else(PoisonError::into_inner).known.get(class) {
            return Ok(known.clone());
        }
        self.reload_table(class)
    }

    fn reload_table(&self, class: &str) -> Result<Option<Arc<Table>>, StoreError> {
        let changes_before = self.tables.read().unwrap_or_else(PoisonError::into_inner).changes;
        let rows = self.connections.run({
            let class = class.to_owned();
            move |client| {
                let class = class.clone();
                async move {
                    let statement = client.prepare_cached(tables::SELECT_COLUMNS).await?;
                    let rows = client.query(&statement, &[&class]).await?;
                    rows.iter()
                        .map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?)))
                        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                        .map_err(SqlError::from)
                }
            }
        })?;
        if rows.is_empty() {
            let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
            if tables.changes == changes_before {
                tables.known.insert(class.to_owned(), None);
            } else {
                tables.known.remove(class);
            }
            return Ok(None);
        }
        let created_at = rows.iter().find(|(name, _)| name == "createdAt").map(|(_, data_type)| data_type.as_str());
        if rows.iter().any(|(name, _)| name == "objectId") {
            self.natural_order.ensure(&self.connections, class, created_at);
        }
        let stored = self.stored_schema(class)?;
        let described = stored.as_ref().map(|stored| tables::schema_columns(class, stored)).unwrap_or_default();
        let relations = stored.as_ref().map(tables::relation_fields).unwrap_or_default();
        let columns: Columns = rows
            .into_iter()
            .map(|(name, data_type)| {
                let kind = described.get(&name).cloned().unwrap_or_else(|| Kind::of_sql_type(&data_type));
                (name, kind)
            })
            .collect();
        let table = Arc::new(Table { columns, relations });
        self.tables.write().unwrap_or_else(PoisonError::into_inner).known.insert(class.to_owned(), Some(table.clone()));
        Ok(Some(table))
    }

    fn stored_schema(&self, class: &str) -> Result<Option<Value>, StoreError> {
        let rows = self.texts(tables::SELECT_SCHEMA.to_owned(), params(vec![text(class)]))?.unwrap_or_default();
        rows.first().map(|json| parse_json(json, "_SCHEMA.schema")).transpose()
    }

    /// The table of `class` once it holds a column for every key of `doc`.
    fn table_for_write(&self, class: &str, doc: &Document) -> Result<Arc<Table>, StoreError> {
        if let Some(table) = self.table(class)? {
            if rows::missing_columns(doc, &table.columns).is_empty() {
                return Ok(table);
            }
        }
        let _ddl = self.ddl.lock().unwrap_or_else(PoisonError::into_inner);
        let known = self.reload_table(class)?.map(|table| table.columns.clone()).unwrap_or_default();
        let mut statements = vec![Self::ddl_lock(), (tables::create_table(class), params(vec![]))];
        for (name, kind) in rows::missing_columns(doc, &known) {
            statements.push((tables::add_column(class, &name, &kind), params(vec![])));
            statements.extend(natural_order::create_index_with_column(class, &name, &kind).map(|index| (index, params(vec![]))));
        }
        statements.push(Self::notify(self.node.schema_note(class)));
        self.transaction(statements)?;
        self.reload_table(class)?.ok_or_else(|| StoreError::Io(format!("table {class} was not created")))
    }

    /// Decodes rows of `class`, reloading its columns once if a row holds one not yet known
    /// (added by another server).
    fn decode(&self, class: &str, rows: Vec<String>) -> Result<Vec<Arc<Document>>, StoreError> {
        let Some(table) = self.table(class)? else { return Ok(Vec::new()) };
        let parsed = parse_rows(class, &rows)?;
        let table = if holds_only_known_columns(&parsed, &table) { table } else { self.reload_table(class)?.unwrap_or(table) };
        Ok(self.decode_parsed(parsed, &table))
    }

    /// Decodes rows of `class` with `table`'s columns; None when a row holds a column it does
    /// not know (see [`PostgresStore::decode`]).
    fn decode_known(&self, class: &str, table: &Table, rows: &[String]) -> Result<Option<Vec<Arc<Document>>>, StoreError> {
        let parsed = parse_rows(class, rows)?;
        Ok(holds_only_known_columns(&parsed, table).then(|| self.decode_parsed(parsed, table)))
    }

    fn decode_parsed(&self, rows: Vec<Document>, table: &Table) -> Vec<Arc<Document>> {
        let default_url = |name: &str| name.to_owned();
        let file_url: &FileUrl = match self.file_url.get() {
            Some(url) => url.as_ref(),
            None => &default_url,
        };
        rows.into_iter().map(|row| Arc::new(rows::decode(row, table, file_url))).collect()
    }

    /// The cached columns and relations of `class` (`Some(None)`: it has no table), without
    /// asking the database; None when not cached.
    fn cached_table(&self, class: &str) -> Option<Option<Arc<Table>>> {
        self.tables.read().unwrap_or_else(PoisonError::into_inner).known.get(class).cloned()
    }

    fn change_relation(&self, owner_class: &str, owner_id: &str, key: &str, related: &[String], member: bool) -> Result<(), StoreError> {
        if related.is_empty() {
            return Ok(());
        }
        let values = params(vec![texts(related), text(owner_id)]);
        if member {
            {
                let _ddl = self.ddl.lock().unwrap_or_else(PoisonError::into_inner);
                self.transaction(vec![Self::ddl_lock(), (tables::create_join_table(owner_class, key), params(vec![]))])?;
            }
            self.execute(tables::add_related(owner_class, key), values)?;
        } else {
            // A relation never added to has no table yet: nothing to remove.
            self.execute(tables::remove_related(owner_class, key), values)?;
        }
        self.announce_objects(owner_class);
        Ok(())
    }
}

/// The rows of a query whose only column is text; `None` if its table does not exist.
async fn text_rows(client: deadpool_postgres::Object, sql: String, values: Params) -> Result<Option<Vec<String>>, SqlError> {
    let Some(statement) = prepare_unless_no_table(&client, &sql).await? else { return Ok(None) };
    let rows = client.query(&statement, &refs(&values)).await?;
    rows.iter().map(|row| row.try_get::<_, String>(0)).collect::<Result<Vec<_>, _>>().map(Some).map_err(SqlError::from)
}

async fn run_transaction(client: &mut deadpool_postgres::Object, statements: &[(String, Params)]) -> Result<(), SqlError> {
    let transaction = client.transaction().await?;
    transaction.batch_execute(NO_STATEMENT_TIMEOUT).await?;
    for (sql, values) in statements {
        transaction.execute(sql.as_str(), &refs(values)).await?;
    }
    transaction.commit().await?;
    Ok(())
}

fn refs(values: &[Box<dyn ToSql + Send + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Rows read as `to_jsonb` text, each an object.
fn parse_rows(class: &str, rows: &[String]) -> Result<Vec<Document>, StoreError> {
    rows.iter()
        .map(|json| serde_json::from_str::<Document>(json).map_err(|e| StoreError::Corrupt(format!("a row of {class}: {e}"))))
        .collect()
}

fn holds_only_known_columns(rows: &[Document], table: &Table) -> bool {
    rows.iter().all(|row| row.keys().all(|key| table.columns.contains_key(key)))
}

fn parse_json(json: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Takes, until `transaction` ends, the lock of each identity (sorted, so two claimants never
/// wait on each other crosswise), then answers whether no user but `user` links any of them:
/// the check and the write that follows are one step for every node.
async fn claim_identities(
    transaction: &tokio_postgres::Transaction<'_>,
    holders: &str,
    identities: &[(String, String)],
    user: Option<&str>,
) -> Result<bool, tokio_postgres::Error> {
    for (provider, id) in identities {
        let key = format!("{provider}:{id}");
        transaction.execute(tables::LOCK_IDENTITY, &[&node::IDENTITY_LOCK, &key]).await?;
    }
    for (provider, id) in identities {
        let found = transaction.query(holders, &[provider, id]).await?;
        if found.iter().any(|holder| Some(holder.get::<_, String>(0).as_str()) != user) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn row_json(doc: &Document, columns: &Columns) -> String {
    Value::Object(rows::encode(doc, columns)).to_string()
}

impl Store for PostgresStore {
    fn get(&self, class: &str, id: &str) -> Result<Option<Arc<Document>>, StoreError> {
        if self.table(class)?.is_none() {
            return Ok(None);
        }
        let rows = self.texts(tables::select_one(class), params(vec![text(id)]))?.unwrap_or_default();
        Ok(self.decode(class, rows)?.into_iter().next())
    }

    /// Awaited when the class's columns are cached. A row holding a column they lack (another
    /// node added it) reads them again as [`Store::get`] does, waiting in place: that is rare.
    fn get_awaiting<'a>(&'a self, class: &'a str, id: &'a str) -> Option<StoreFuture<'a, Option<Arc<Document>>>> {
        if self.cached_table(class)?.is_none() {
            return Some(Box::pin(std::future::ready(Ok(None))));
        }
        let (sql, values) = (tables::select_one(class), params(vec![text(id)]));
        let rows = self.connections.call(move |client| text_rows(client, sql.clone(), values.clone()));
        Some(Box::pin(async move {
            let rows = rows.await?.unwrap_or_default();
            Ok(self.decode(class, rows)?.into_iter().next())
        }))
    }

    /// One statement for them all.
    fn get_many(&self, class: &str, ids: &[String]) -> Result<Vec<Arc<Document>>, StoreError> {
        if ids.is_empty() || self.table(class)?.is_none() {
            return Ok(Vec::new());
        }
        let rows = self.texts(tables::select_many(class), params(vec![texts(ids)]))?.unwrap_or_default();
        self.decode(class, rows)
    }

    fn scan(&self, class: &str, visit: &mut dyn FnMut(Arc<Document>) -> bool) -> Result<(), StoreError> {
        let Some(table) = self.table(class)? else { return Ok(()) };
        if !table.columns.contains_key("objectId") {
            let rows = self.texts(tables::select_all(class), params(vec![]))?.unwrap_or_default();
            for doc in self.decode(class, rows)? {
                if !visit(doc) {
                    break;
                }
            }
            return Ok(());
        }
        let mut after = String::new();
        loop {
            let values = params(vec![text(&after), Box::new(SCAN_PAGE_ROWS)]);
            let Some(page) = self.id_texts(tables::select_page(class), values)? else { return Ok(()) };
            let full = page.len() as i64 == SCAN_PAGE_ROWS;
            let Some((last, _)) = page.last() else { return Ok(()) };
            after = last.clone();
            for doc in self.decode(class, page.into_iter().map(|(_, json)| json).collect())? {
                if !visit(doc) {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn insert(&self, class: &str, id: &str, mut doc: Document) -> Result<(), StoreError> {
        doc.insert("objectId".to_owned(), Value::String(id.to_owned()));
        let table = self.table_for_write(class, &doc)?;
        self.execute(tables::insert(class), params(vec![text(&row_json(&doc, &table.columns))]))?;
        self.announce_objects(class);
        Ok(())
    }

    /// One transaction: a lock on each identity (keyed by a hash of provider and id, taken in
    /// one order so that two sign-ups cannot deadlock), the check that no user links it, the
    /// insert. A node signing up the same identity waits for the lock and then sees this user.
    /// Parse Server neither takes nor minds these locks.
    fn insert_linking(&self, class: &str, id: &str, mut doc: Document, identities: &[(String, String)]) -> Result<(), StoreError> {
        if identities.is_empty() {
            return self.insert(class, id, doc);
        }
        doc.insert("objectId".to_owned(), Value::String(id.to_owned()));
        let table = self.table_for_write(class, &doc)?;
        let row = row_json(&doc, &table.columns);
        let mut identities = identities.to_vec();
        identities.sort();
        identities.dedup();
        let (insert, holders) = (tables::insert(class), tables::select_auth_data_holders(class));
        let inserted = self.connections.run(move |mut client| {
            let (identities, row, insert, holders) = (identities.clone(), row.clone(), insert.clone(), holders.clone());
            async move {
                let transaction = client.transaction().await?;
                if !claim_identities(&transaction, &holders, &identities, None).await? {
                    return Ok(false);
                }
                transaction.execute(insert.as_str(), &[&row]).await?;
                transaction.commit().await?;
                Ok(true)
            }
        })?;
        if !inserted {
            return Err(StoreError::IdentityLinked);
        }
        self.announce_objects(class);
        Ok(())
    }

    fn update(&self, class: &str, id: &str, mut doc: Document, expected: Option<&Arc<Document>>) -> Result<(), StoreError> {
        doc.insert("objectId".to_owned(), Value::String(id.to_owned()));
        let table = self.table_for_write(class, &doc)?;
        let columns = &table.columns;
        let expected = expected.map(|expected| row_json(expected, columns));
        let values = params(vec![text(&row_json(&doc, columns)), text(id), maybe_text(expected)]);
        if self.execute(tables::update(class, columns), values)? == Some(1) {
            self.announce_objects(class);
            return Ok(());
        }
        let found = self.texts(tables::exists(class), params(vec![text(id)]))?.unwrap_or_default();
        Err(if found.is_empty() { StoreError::NotFound } else { StoreError::Conflict })
    }

    /// The identities' locks, the check that no other user links them and the update, in one
    /// transaction: two nodes linking one identity to two users at once cannot both succeed.
    fn update_linking(
        &self,
        class: &str,
        id: &str,
        mut doc: Document,
        expected: Option<&Arc<Document>>,
        identities: &[(String, String)],
    ) -> Result<(), StoreError> {
        if identities.is_empty() {
            return self.update(class, id, doc, expected);
        }
        doc.insert("objectId".to_owned(), Value::String(id.to_owned()));
        let table = self.table_for_write(class, &doc)?;
        let (row, expected) = (row_json(&doc, &table.columns), expected.map(|expected| row_json(expected, &table.columns)));
        let mut identities = identities.to_vec();
        identities.sort();
        identities.dedup();
        let (update, holders, user) = (tables::update(class, &table.columns), tables::select_auth_data_holders(class), id.to_owned());
        let outcome = self.connections.run(move |mut client| {
            let (identities, row, expected, update, holders, user) =
                (identities.clone(), row.clone(), expected.clone(), update.clone(), holders.clone(), user.clone());
            async move {
                let transaction = client.transaction().await?;
                if !claim_identities(&transaction, &holders, &identities, Some(&user)).await? {
                    return Ok(Some(false));
                }
                if transaction.execute(update.as_str(), &[&row, &user, &expected]).await? != 1 {
                    return Ok(None);
                }
                transaction.commit().await?;
                Ok(Some(true))
            }
        })?;
        match outcome {
            Some(true) => {
                self.announce_objects(class);
                Ok(())
            }
            Some(false) => Err(StoreError::IdentityLinked),
            None => {
                let found = self.texts(tables::exists(class), params(vec![text(id)]))?.unwrap_or_default();
                Err(if found.is_empty() { StoreError::NotFound } else { StoreError::Conflict })
            }
        }
    }

    /// One `UPDATE … SET "n" = COALESCE("n", 0) + $…` (as Parse Server's adapter increments),
    /// with jsonb expressions for the array changes, so that changes on several nodes at once
    /// all count without a read before the write.
    fn update_in_place(&self, class: &str, id: &str, change: InPlace) -> Result<Option<Arc<Document>>, StoreError> {
        let mut doc = change.set.clone();
        doc.insert("objectId".to_owned(), Value::String(id.to_owned()));
        for (key, amount) in &change.increments {
            doc.insert(key.clone(), Value::from(*amount));
        }
        for (key, array) in &change.arrays {
            doc.insert(key.clone(), Value::Array(array.values().to_vec()));
        }
        let table = self.table_for_write(class, &doc)?;
        // A column of another kind (made by hand, or a Parse Server `text[]` array) is left to
        // the read-modify-write, which says what is wrong with the value.
        if change.increments.iter().any(|(key, _)| table.columns.get(key) != Some(&Kind::Number))
            || change.arrays.iter().any(|(key, _)| table.columns.get(key) != Some(&Kind::Json))
        {
            return Ok(None);
        }
        let row = rows::encode(&change.set, &table.columns);
        let columns: Vec<&str> = row.keys().map(String::as_str).collect();
        let mut values = vec![text(&Value::Object(row.clone()).to_string()), text(id)];
        values.extend(change.increments.iter().map(|(_, amount)| Box::new(*amount) as Box<dyn ToSql + Send + Sync>));
        values.extend(change.arrays.iter().map(|(_, array)| text(&Value::Array(array.values().to_vec()).to_string())));
        let incremented: Vec<&str> = change.increments.iter().map(|(key, _)| key.as_str()).collect();
        let arrays: Vec<(&str, &ArrayChange)> = change.arrays.iter().map(|(key, array)| (key.as_str(), array)).collect();
        let rows = self.texts(tables::update_in_place(class, &columns, &incremented, &arrays), params(values))?.unwrap_or_default();
        // No row: the object is gone, or a field to change holds no array; the
        // read-modify-write tells which.
        let Some(updated) = self.decode(class, rows)?.into_iter().next() else { return Ok(None) };
        self.announce_objects(class);
        Ok(Some(updated))
    }

    fn delete(&self, class: &str, id: &str) -> Result<Option<Arc<Document>>, StoreError> {
        if self.table(class)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let rows = self.texts(tables::delete(class), params(vec![text(id)]))?.unwrap_or_default();
        let removed = self.decode(class, rows)?.into_iter().next().ok_or(StoreError::NotFound)?;
        self.announce_objects(class);
        Ok(Some(removed))
    }

    /// Nothing to declare: a lookup is a `WHERE` on the field's column, which PostgreSQL
    /// answers from Parse Server's indexes where it made them.
    fn add_lookup(&self, _class: &str, _lookup: LookupField) -> Result<(), StoreError> {
        Ok(())
    }

    fn lookup(&self, class: &str, lookup: LookupField, value: &str) -> Result<Vec<String>, StoreError> {
        let Some(table) = self.table(class)? else { return Ok(Vec::new()) };
        if !table.columns.contains_key(lookup.field) {
            return Ok(Vec::new());
        }
        let sql = tables::select_ids_by(class, lookup.field, lookup.case_insensitive);
        let mut ids = self.texts(sql, params(vec![text(value)]))?.unwrap_or_default();
        ids.sort();
        Ok(ids)
    }

    fn find_awaiting<'a>(&'a self, class: &'a str, query: &'a StoreQuery) -> Option<StoreFuture<'a, Option<Page>>> {
        self.find_page_awaiting(class, query)
    }

    fn find(&self, class: &str, query: &StoreQuery) -> Result<Option<Page>, StoreError> {
        self.find_page(class, query)
    }

    /// A `WHERE` on the `authData` column (one jsonb object, provider → data, as Parse
    /// Server's adapter keeps it), so an identity another node linked is seen at once.
    fn auth_data_holders(&self, provider: &str, id: &str) -> Result<Option<Vec<String>>, StoreError> {
        const USER: &str = "_User";
        const AUTH_DATA: &str = "authData";
        let has_column = |table: Option<Arc<Table>>| table.is_some_and(|table| table.columns.contains_key(AUTH_DATA));
        if !has_column(self.table(USER)?) && !has_column(self.reload_table(USER)?) {
            return Ok(Some(Vec::new()));
        }
        let sql = tables::select_auth_data_holders(USER);
        let mut ids = self.texts(sql, params(vec![text(provider), text(id)]))?.unwrap_or_default();
        ids.sort();
        Ok(Some(ids))
    }

    fn classes(&self) -> Result<Vec<String>, StoreError> {
        let mut classes = self.texts(tables::SELECT_CLASSES.to_owned(), params(vec![]))?.unwrap_or_default();
        classes.sort();
        Ok(classes)
    }

    fn schema(&self, class: &str) -> Result<Option<Value>, StoreError> {
        Ok(self.stored_schema(class)?.map(|stored| tables::from_stored_schema(class, &stored)))
    }

    fn put_schema(&self, class: &str, schema: Value) -> Result<(), StoreError> {
        let _ddl = self.ddl.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = self.stored_schema(class)?;
        let stored = tables::to_stored_schema(class, &schema, previous.as_ref());
        let columns = tables::schema_columns(class, &stored);
        let mut statements = vec![
            Self::ddl_lock(),
            (tables::MERGE_SCHEMA.to_owned(), params(vec![text(class), text(&stored.to_string())])),
            (tables::create_table(class), params(vec![])),
        ];
        // A table that has its createdAt column already is left to the background build.
        let known = self.reload_table(class)?.map(|table| table.columns.clone()).unwrap_or_default();
        for (name, kind) in &columns {
            statements.push((tables::add_column(class, name, kind), params(vec![])));
            if !known.contains_key(name) {
                statements.extend(natural_order::create_index_with_column(class, name, kind).map(|index| (index, params(vec![]))));
            }
        }
        for key in tables::relation_fields(&stored).keys() {
            statements.push((tables::create_join_table(class, key), params(vec![])));
        }
        for index in tables::unique_indexes(class, &columns) {
            statements.push((index, params(vec![])));
        }
        for index in tables::index_changes(class, previous.as_ref(), &stored, &columns) {
            statements.push((index, params(vec![])));
        }
        statements.push(Self::notify(self.node.schema_note(class)));
        self.transaction(statements)?;
        self.reload_table(class)?;
        Ok(())
    }

    /// Takes the field out of `_SCHEMA` and drops its column (or, for a relation, its join
    /// table) with its values, as Parse Server's adapter deletes a field; under the DDL lock
    /// every node takes, and noted to the other nodes as any schema change is.
    fn delete_field(&self, class: &str, field: &str) -> Result<bool, StoreError> {
        let _ddl = self.ddl.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(stored) = self.stored_schema(class)? else { return Ok(true) };
        let relation = tables::relation_fields(&stored).contains_key(field);
        let mut statements = vec![Self::ddl_lock(), (tables::DELETE_SCHEMA_FIELD.to_owned(), params(vec![text(class), text(field)]))];
        if relation {
            statements.push((tables::drop_table(&columns::join_table(class, field)), params(vec![])));
        } else if self.table(class)?.is_some() {
            statements.push((tables::drop_column(class, field), params(vec![])));
        }
        statements.push(Self::notify(self.node.schema_note(class)));
        self.transaction(statements)?;
        self.reload_table(class)?;
        Ok(true)
    }

    /// Drops the class's table and join tables with its `_SCHEMA` row, as Parse Server deletes
    /// a class (the schema API only deletes empty ones).
    fn delete_schema(&self, class: &str) -> Result<(), StoreError> {
        let _ddl = self.ddl.lock().unwrap_or_else(PoisonError::into_inner);
        let mut statements = vec![Self::ddl_lock(), (tables::DELETE_SCHEMA.to_owned(), params(vec![text(class)]))];
        if let Some(stored) = self.stored_schema(class)? {
            for key in tables::relation_fields(&stored).keys() {
                statements.push((tables::drop_table(&columns::join_table(class, key)), params(vec![])));
            }
        }
        statements.push((tables::drop_table(class), params(vec![])));
        statements.push(Self::notify(self.node.schema_note(class)));
        self.transaction(statements)?;
        self.tables.write().unwrap_or_else(PoisonError::into_inner).known.remove(class);
        self.natural_order.forget(class);
        Ok(())
    }

    fn relation_add(&self, owner_class: &str, owner_id: &str, key: &str, related: &[String]) -> Result<(), StoreError> {
        self.change_relation(owner_class, owner_id, key, related, true)
    }

    fn relation_remove(&self, owner_class: &str, owner_id: &str, key: &str, related: &[String]) -> Result<(), StoreError> {
        self.change_relation(owner_class, owner_id, key, related, false)
    }

    fn related(&self, owner_class: &str, owner_id: &str, key: &str) -> Result<Vec<String>, StoreError> {
        let mut ids = self.texts(tables::select_related(owner_class, key), params(vec![text(owner_id)]))?.unwrap_or_default();
        ids.sort();
        Ok(ids)
    }

    /// Every write committed before it returned.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn has_unsynced_writes(&self) -> bool {
        false
    }

    fn nodes(&self) -> Option<&dyn Nodes> {
        Some(self)
    }
}
