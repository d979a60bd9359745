//! Persistence for cloudrt: JSON documents in named classes, one schema per class, and relation
//! membership lists.
//!
//! The store deliberately knows nothing about HTTP or Parse beyond that shape (no field
//! validation, no ACLs, no query language), so the query engine and REST layers can evolve
//! without touching persistence, and a shared database can later replace [`SledStore`] behind the
//! same [`Store`] trait.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

mod doc_cache;
pub mod files;
pub mod filter;
pub mod nodes;
pub mod postgres;
pub mod prefilter;
mod screen;
mod sled_store;
mod split_scan;

pub use filter::{Page, StoreQuery};
pub use postgres::PostgresStore;
pub use prefilter::Prefilter;
pub use screen::Screen;
pub use sled_store::SledStore;

/// One stored object: a JSON object, shared with readers through `Arc` so that the store's
/// decoded-object cache and its readers hold one copy.
pub type Document = serde_json::Map<String, serde_json::Value>;

/// A store call that waits for another process without holding a thread (see
/// [`Store::find_awaiting`]).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A top-level string field that objects of a class are found by without a scan (a user by
/// username, a session by token). The store knows no Parse meaning of it: the data layer
/// declares the fields with [`Store::add_lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupField {
    pub field: &'static str,
    /// Values compare lower-cased (Parse's usernames and e-mails).
    pub case_insensitive: bool,
}

impl LookupField {
    /// The value of the field in `doc` as lookups compare it; None when it is not a string.
    pub fn value_in(&self, doc: &Document) -> Option<String> {
        let value = doc.get(self.field)?.as_str()?;
        Some(if self.case_insensitive { value.to_lowercase() } else { value.to_owned() })
    }

    /// `value` as lookups compare it.
    pub fn normalize(&self, value: &str) -> String {
        if self.case_insensitive {
            value.to_lowercase()
        } else {
            value.to_owned()
        }
    }
}

/// An update a store can make without the caller reading the object first (see
/// [`Store::update_in_place`]): on a database several nodes share, one statement instead of a
/// read, a compare-and-set and retries while other nodes change the same object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InPlace {
    /// Fields set to these values.
    pub set: Document,
    /// Amounts added to numeric fields, a missing one counting from 0.
    pub increments: Vec<(String, f64)>,
    /// Changes of array fields, a missing (or null) one counting as `[]`.
    pub arrays: Vec<(String, ArrayChange)>,
}

/// A change of an array field, with Parse's meaning. Values compare as JSON, except that two
/// pointers (or included objects) are equal when their class and objectId are; the caller
/// sends only values whose nested parts hold no pointer, where JSON equality is Parse's.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayChange {
    /// Appends the values.
    Add(Vec<serde_json::Value>),
    /// Appends each value not in the array yet (the values are distinct already).
    AddUnique(Vec<serde_json::Value>),
    /// Removes every element equal to one of the values.
    Remove(Vec<serde_json::Value>),
}

impl ArrayChange {
    pub fn values(&self) -> &[serde_json::Value] {
        match self {
            ArrayChange::Add(values) | ArrayChange::AddUnique(values) | ArrayChange::Remove(values) => values,
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// An insert named an id that already exists in the class.
    #[error("an object with this id already exists in the class")]
    Duplicate,
    /// A user to insert links an authData identity another stored user links already
    /// (written by another process since the caller checked).
    #[error("another user links this authData identity")]
    IdentityLinked,
    /// An update or delete named an id that does not exist in the class.
    #[error("object not found")]
    NotFound,
    /// An update's expected document no longer matches the stored one: another writer got there
    /// first, so the caller should re-read and retry its read-modify-write.
    #[error("the object was changed by another writer")]
    Conflict,
    /// Another process holds the data directory. Two servers writing one database would corrupt
    /// it, so the second one must stop and say why.
    #[error(
        "a second cloudrt is using data directory {}: stop the other server or choose another data directory",
        .0.display()
    )]
    Locked(PathBuf),
    /// A relation owner class, owner id or key contains a NUL byte, which relation keys use as a
    /// separator; accepting it would let one owner's entries be read as another's.
    #[error("name {0:?} contains a NUL byte")]
    InvalidName(String),
    /// The database or the filesystem failed.
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// The database cancelled a statement that ran longer than `--query-timeout`.
    #[error("the statement took longer than {0:?} (--query-timeout) and was cancelled")]
    TimedOut(std::time::Duration),
    /// The database server cannot be reached (even after a retry on a new connection); the
    /// request may succeed later, once it is back.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Stored bytes could not be decoded; the data directory was damaged or written by something
    /// else.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Storage the rest of cloudrt uses; a shared database can implement it later.
///
/// Every write is visible to readers as soon as it returns, but is durable only after a later
/// [`Store::sync`] returns, so that many writers can share one fsync. A reader that must not
/// pass on a value a crash could still erase calls [`Store::sync`] after reading whenever
/// [`Store::has_unsynced_writes`] says so.
pub trait Store: Send + Sync + 'static {
    /// The document `id` of `class`, if it exists.
    fn get(&self, class: &str, id: &str) -> Result<Option<Arc<Document>>, StoreError>;

    /// The documents of `class` among `ids` that exist, in no particular order: a get each,
    /// unless the store fetches many at once (a shared database, where a get is a round trip).
    fn get_many(&self, class: &str, ids: &[String]) -> Result<Vec<Arc<Document>>, StoreError> {
        ids.iter().filter_map(|id| self.get(class, id).transpose()).collect()
    }

    /// Visits every document of a class, in no particular order, until `visit` answers false.
    /// Streams: a class far larger than memory is never held whole, so a caller that needs
    /// the documents afterwards keeps only those it wants. Documents written during the scan may
    /// or may not be visited. An unknown class has no documents.
    fn scan(&self, class: &str, visit: &mut dyn FnMut(Arc<Document>) -> bool) -> Result<(), StoreError>;

    /// [`Store::scan`] that may skip, undecoded, the documents whose stored bytes `prefilter`
    /// refuses (it never refuses a document the caller wants, so skipping changes nothing but
    /// the cost), and visits only those `screen` (if any) passes. A store whose bytes are not the
    /// documents' compact JSON scans them all and screens them decoded; one that can decode a
    /// document's screened fields alone screens those first (see [`Screen`]).
    fn scan_prefiltered(
        &self,
        class: &str,
        _prefilter: &Prefilter,
        screen: Option<&Screen<'_>>,
        visit: &mut dyn FnMut(Arc<Document>) -> bool,
    ) -> Result<(), StoreError> {
        match screen {
            Some(screen) => self.scan(class, &mut |doc| !screen.passes(&doc) || visit(doc)),
            None => self.scan(class, visit),
        }
    }

    /// Adds a document; [`StoreError::Duplicate`] if `id` already exists in `class`.
    fn insert(&self, class: &str, id: &str, doc: Document) -> Result<(), StoreError>;

    /// [`Store::insert`] of a user linking the authData identities `identities` (provider, id)
    /// unless a stored one links one of them already: then [`StoreError::IdentityLinked`] and
    /// nothing is written. A store other processes share makes that check and the insert one
    /// step for all of them, since the caller's lock holds only in its own process; the
    /// default just inserts, the caller having checked under its lock.
    fn insert_linking(&self, class: &str, id: &str, doc: Document, identities: &[(String, String)]) -> Result<(), StoreError> {
        let _ = identities;
        self.insert(class, id, doc)
    }

    /// Replaces the document; if `expected` is Some, fails with Conflict unless the current stored
    /// document is exactly that Arc's content (optimistic concurrency for read-modify-write by the
    /// layer above). [`StoreError::NotFound`] if `id` does not exist.
    fn update(
        &self,
        class: &str,
        id: &str,
        doc: Document,
        expected: Option<&Arc<Document>>,
    ) -> Result<(), StoreError>;

    /// [`Store::update`] of a user that links the authData identities `identities` it did not
    /// link before, unless another stored user links one of them: then
    /// [`StoreError::IdentityLinked`] and nothing is written. As for [`Store::insert_linking`],
    /// a store other processes share makes the check and the write one step for all of them.
    fn update_linking(
        &self,
        class: &str,
        id: &str,
        doc: Document,
        expected: Option<&Arc<Document>>,
        identities: &[(String, String)],
    ) -> Result<(), StoreError> {
        let _ = identities;
        self.update(class, id, doc, expected)
    }

    /// Makes `change` to document `id` in one atomic step on the stored document, and answers
    /// the document as stored after it. `Ok(None)` when this store does not do that, or not
    /// for this change or this stored object (a column of another type, a value that is not an
    /// array): then the caller reads, changes and [`Store::update`]s with `expected`, which
    /// also says what is wrong.
    fn update_in_place(&self, class: &str, id: &str, change: InPlace) -> Result<Option<Arc<Document>>, StoreError> {
        let _ = (class, id, change);
        Ok(None)
    }

    /// Removes a document; [`StoreError::NotFound`] if `id` does not exist. Returns the removed
    /// document when the backend knows it (a shared database may delete without reading back).
    fn delete(&self, class: &str, id: &str) -> Result<Option<Arc<Document>>, StoreError>;

    /// Declares that objects of `class` are found by `lookup.field` (see [`Store::lookup`]).
    /// From then on every write of the class keeps the lookup current with the object itself,
    /// so a crash never leaves them disagreeing; objects stored before are indexed once, here.
    fn add_lookup(&self, class: &str, lookup: LookupField) -> Result<(), StoreError>;

    /// The ids of the objects of `class` whose `lookup.field` equals `value` (as the lookup
    /// compares), sorted. Does not scan. `lookup` must have been declared with
    /// [`Store::add_lookup`].
    fn lookup(&self, class: &str, lookup: LookupField, value: &str) -> Result<Vec<String>, StoreError>;

    /// Answers `query` on `class` without a scan, exactly as matching every stored object
    /// would: the page and, when asked, the count. `Ok(None)` when this store cannot (it has no
    /// query engine of its own, or a condition or sort key is on a field it cannot compare
    /// exactly): the caller then scans.
    fn find(&self, _class: &str, _query: &StoreQuery) -> Result<Option<Page>, StoreError> {
        Ok(None)
    }

    /// [`Store::find`] as a future, for a store whose queries wait on another process (a
    /// database server): async code awaits it in place instead of handing the call to a
    /// blocking thread, which on PostgreSQL was two of a query's four thread hand-offs. `None`
    /// when the store answers in its own process (its work is CPU, better off the async
    /// threads), or cannot build the query from what it knows without asking the database; a
    /// future answering `Ok(None)` found out it cannot answer exactly. In both cases the caller
    /// runs [`Store::find`] on a blocking thread.
    fn find_awaiting<'a>(&'a self, _class: &'a str, _query: &'a StoreQuery) -> Option<StoreFuture<'a, Option<Page>>> {
        None
    }

    /// [`Store::get`] as a future, on the same terms as [`Store::find_awaiting`]: `None` when
    /// the caller should call `get` (a store in this process answers a get at once).
    fn get_awaiting<'a>(&'a self, _class: &'a str, _id: &'a str) -> Option<StoreFuture<'a, Option<Arc<Document>>>> {
        None
    }

    /// The `_User`s whose `authData` links identity `id` of `provider`, when the store looks
    /// them up itself: on a database other processes share, a list kept in memory would miss
    /// the identities they link. `Ok(None)`: the caller keeps its own list.
    fn auth_data_holders(&self, _provider: &str, _id: &str) -> Result<Option<Vec<String>>, StoreError> {
        Ok(None)
    }

    /// Every class that has ever held a document or has a schema, sorted by name.
    fn classes(&self) -> Result<Vec<String>, StoreError>;

    /// The schema last stored for `class`, if any. The store treats it as opaque JSON.
    fn schema(&self, class: &str) -> Result<Option<serde_json::Value>, StoreError>;

    /// Stores (replacing) the schema of `class`. A backend that other processes share keeps
    /// the fields its stored schema has and `schema` lacks: another process may have added them
    /// since this one read the schema. A field leaves only through [`Store::delete_field`].
    fn put_schema(&self, class: &str, schema: serde_json::Value) -> Result<(), StoreError>;

    /// Forgets a field the schema API deleted: the field leaves the stored schema, and a
    /// backend that gives a field storage of its own (a column, a join table) drops that
    /// storage, so the field can come back with another type. Answers whether the field's
    /// values went with it; when not, they are still in the documents, for the caller to remove.
    fn delete_field(&self, class: &str, field: &str) -> Result<bool, StoreError>;

    /// Forgets the schema of `class` (the schema API deleted the class); no-op without one.
    fn delete_schema(&self, class: &str) -> Result<(), StoreError>;

    /// Relation membership: owner (class, id, key) → related object ids. Adding an id that is
    /// already a member is a no-op.
    fn relation_add(
        &self,
        owner_class: &str,
        owner_id: &str,
        key: &str,
        related: &[String],
    ) -> Result<(), StoreError>;

    /// Removes ids from a relation; ids that are not members are ignored.
    fn relation_remove(
        &self,
        owner_class: &str,
        owner_id: &str,
        key: &str,
        related: &[String],
    ) -> Result<(), StoreError>;

    /// The members of a relation, sorted by id.
    fn related(&self, owner_class: &str, owner_id: &str, key: &str) -> Result<Vec<String>, StoreError>;

    /// Makes every write acknowledged so far durable (fsync). Callers call it before answering a
    /// client. Must be cheap when called by many threads at once: concurrent callers share one
    /// flush (group commit).
    fn sync(&self) -> Result<(), StoreError>;

    /// Whether some write visible to readers is not yet durable. Cheap (no lock): checked on
    /// every request before its answer goes out.
    fn has_unsynced_writes(&self) -> bool;

    /// The other processes sharing this store, when there can be any (a shared database);
    /// None for a store only one process can open.
    fn nodes(&self) -> Option<&dyn nodes::Nodes> {
        None
    }
}

/// [`Store::scan`] for a visitor that can fail: the first error it answers stops the scan and is
/// returned; a failure of the store itself becomes the caller's error through `store_error`.
pub fn try_scan<E>(
    store: &dyn Store,
    class: &str,
    store_error: fn(StoreError) -> E,
    visit: impl FnMut(Arc<Document>) -> Result<bool, E>,
) -> Result<(), E> {
    try_scan_prefiltered(store, class, None, None, store_error, visit)
}

/// [`try_scan`] through [`Store::scan_prefiltered`] when there is a prefilter or a screen.
pub fn try_scan_prefiltered<E>(
    store: &dyn Store,
    class: &str,
    prefilter: Option<&Prefilter>,
    screen: Option<&Screen<'_>>,
    store_error: fn(StoreError) -> E,
    mut visit: impl FnMut(Arc<Document>) -> Result<bool, E>,
) -> Result<(), E> {
    let mut failure = None;
    let mut visit = |doc| match visit(doc) {
        Ok(more) => more,
        Err(error) => {
            failure = Some(error);
            false
        }
    };
    match (prefilter, screen) {
        (None, None) => store.scan(class, &mut visit),
        (Some(prefilter), screen) => store.scan_prefiltered(class, prefilter, screen, &mut visit),
        (None, screen) => store.scan_prefiltered(class, &Prefilter::All(Vec::new()), screen, &mut visit),
    }
    .map_err(store_error)?;
    failure.map_or(Ok(()), Err)
}
