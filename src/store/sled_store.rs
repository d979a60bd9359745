//! [`Store`] on an embedded sled database.
//!
//! Documents live in sled as compact JSON, not decoded in memory: a store of millions of
//! objects needs no more RAM than a few thousand, and opening it reads only the schemas and the
//! class names, so start-up does not grow with the data. Reads go through a bounded cache of
//! decoded documents ([`DocCache`]) so that hot objects are decoded once; every write goes to
//! sled first and then to the cache, under a per-class writer lock so that read-compare-write
//! updates see one order.
//!
//! Layout in sled: one tree `obj:<class>` per class (id → document JSON, and the class's lookup
//! entries under keys starting with NUL, which no objectId does; see [`lookup_key`]), a `schemas` tree
//! (class → schema JSON) and a `relations` tree whose keys are
//! `owner_class \0 owner_id \0 key \0 related_id` with empty values, so that a relation's members
//! are one prefix scan.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use super::doc_cache::{self, DocCache};
use super::split_scan;
use super::{Document, LookupField, Prefilter, Screen, Store, StoreError};

const OBJECT_TREE_PREFIX: &[u8] = b"obj:";
const SCHEMA_TREE: &str = "schemas";
const RELATION_TREE: &str = "relations";
/// Our own lock file, so that "another process has this directory" is a typed error rather than
/// a message parsed out of sled's generic I/O error.
const LOCK_FILE: &str = "LOCK";
/// sled's log file; see [`SledStore::log_file`].
const SLED_LOG_FILE: &str = "db";
/// How long `open` waits for a just-dropped store's sled files to be released, and how often it
/// checks; see [`open_sled`].
const SLED_RELEASE_WAIT: Duration = Duration::from_secs(5);
const SLED_RELEASE_POLL: Duration = Duration::from_millis(5);
/// sled's page cache gets this fraction of the cache budget, the decoded objects the rest. Every
/// insert reads the page its key falls in (the duplicate check), so at a million objects a half
/// filled ~10% faster than a quarter for the same RSS (bench/scale.py).
const SLED_CACHE_SHARE: u64 = 2;
/// sled's cache never below this, so a tiny `--cache-mb` still leaves its write path room.
const SLED_CACHE_MIN_BYTES: u64 = 4 * 1024 * 1024;

/// The sled-backed store. Opening it locks the data directory for this process.
pub struct SledStore {
    db: sled::Db,
    /// sled makes its log stable with `sync_file_range`, which survives a killed process but not a
    /// power cut (it neither flushes the disk cache nor the file size). An `fdatasync` of the
    /// same file after each flush closes that gap for the price of one syscall per group commit.
    log_file: File,
    schema_tree: sled::Tree,
    relation_tree: sled::Tree,
    classes: RwLock<HashMap<String, Arc<Class>>>,
    /// Recently read and written documents, decoded.
    cache: DocCache,
    /// Lookups declared for classes that have no tree yet; the tree gets them when created,
    /// so that declaring one leaves no class on disk.
    pending_lookups: RwLock<HashMap<String, Vec<LookupField>>>,
    /// Decoded schemas: they are read on most requests and written rarely.
    schemas: RwLock<HashMap<String, serde_json::Value>>,
    /// Serializes schema writers so that sled and `schemas` apply them in the same order.
    schema_writer: Mutex<()>,
    commit: GroupCommit,
    /// Held, never read: the exclusive lock on `LOCK` lasts as long as this handle. Declared last
    /// so it is released only after every sled handle above has been dropped.
    _lock: File,
}

/// One class: its sled tree and the fields it is looked up by.
struct Class {
    tree: sled::Tree,
    lookups: RwLock<Vec<LookupField>>,
    /// Held across a write's (read, sled, cache) steps so that an update's comparison with the
    /// expected document and its write are one step for other writers. Readers never take it.
    writer: Mutex<()>,
}

impl SledStore {
    /// Adds (`member`) or removes related ids of one relation, in one sled batch.
    fn change_relation(
        &self,
        owner_class: &str,
        owner_id: &str,
        key: &str,
        related: &[String],
        member: bool,
    ) -> Result<(), StoreError> {
        let prefix = relation_prefix(owner_class, owner_id, key)?;
        if related.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for id in related {
            if member {
                batch.insert(relation_key(&prefix, id), sled::IVec::default());
            } else {
                batch.remove(relation_key(&prefix, id));
            }
        }
        self.relation_tree.apply_batch(batch).map_err(sled_error)?;
        self.commit.wrote();
        Ok(())
    }

    /// [`SledStore::open_with_cache`] with `--cache-mb`'s default, for tests.
    #[cfg(test)]
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with_cache(dir, 64 << 20)
    }

    /// Opens (creating) the store in `dir`, with about `cache_bytes` for decoded documents and
    /// sled's pages together. A second process opening the same dir fails with
    /// [`StoreError::Locked`] at once instead of waiting. Reads the schemas and class names only.
    ///
    /// A document, schema or class name that cannot be decoded is logged (with its class and
    /// id) and left out, and the rest is served: one damaged entry must not keep every other
    /// object offline. What cloudrt itself writes always decodes, since the data layer bounds
    /// the nesting of what it stores well below serde_json's limit (`ops::MAX_VALUE_DEPTH`).
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<SledStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let lock = lock_dir(dir)?;
        let sled_cache = (cache_bytes as u64 / SLED_CACHE_SHARE).max(SLED_CACHE_MIN_BYTES);
        let db = open_sled(dir, sled_cache)?;
        let log_path = dir.join(SLED_LOG_FILE);
        let log_file = File::open(&log_path).map_err(|e| io_error(&log_path, e))?;
        let schema_tree = db.open_tree(SCHEMA_TREE).map_err(sled_error)?;
        let relation_tree = db.open_tree(RELATION_TREE).map_err(sled_error)?;

        let mut classes = HashMap::new();
        for tree_name in db.tree_names() {
            let Some(class) = tree_name.strip_prefix(OBJECT_TREE_PREFIX) else { continue };
            let class = match decode_name(class, "class name") {
                Ok(class) => class,
                Err(error) => {
                    tracing::error!("skipping a stored class: {error}");
                    continue;
                }
            };
            let tree = db.open_tree(&tree_name).map_err(sled_error)?;
            classes.insert(class, Arc::new(Class::new(tree)));
        }
        let schemas = load_schemas(&schema_tree)?;

        Ok(SledStore {
            db,
            log_file,
            schema_tree,
            relation_tree,
            classes: RwLock::new(classes),
            cache: DocCache::new(cache_bytes.saturating_sub(sled_cache as usize)),
            pending_lookups: RwLock::new(HashMap::new()),
            schemas: RwLock::new(schemas),
            schema_writer: Mutex::new(()),
            commit: GroupCommit::default(),
            _lock: lock,
        })
    }

    fn class(&self, name: &str) -> Option<Arc<Class>> {
        read(&self.classes).get(name).cloned()
    }

    /// The class for a write, creating its tree on first use. Reads never create classes, so
    /// looking up a misspelled class leaves no trace on disk.
    fn class_for_write(&self, name: &str) -> Result<Arc<Class>, StoreError> {
        if let Some(class) = self.class(name) {
            return Ok(class);
        }
        let mut classes = write(&self.classes);
        if let Some(class) = classes.get(name) {
            return Ok(Arc::clone(class));
        }
        let mut tree_name = OBJECT_TREE_PREFIX.to_vec();
        tree_name.extend_from_slice(name.as_bytes());
        let tree = self.db.open_tree(tree_name).map_err(sled_error)?;
        let class = Arc::new(Class::new(tree));
        if let Some(lookups) = write(&self.pending_lookups).remove(name) {
            for lookup in lookups {
                class.add_lookup(lookup)?;
            }
        }
        classes.insert(name.to_owned(), Arc::clone(&class));
        Ok(class)
    }

    /// Writes sled's log and then fsyncs it; see [`SledStore::log_file`].
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(sled_error)?;
        self.log_file.sync_data().map_err(|e| StoreError::Io(format!("fsync of the database log: {e}")))
    }
}

impl Class {
    fn new(tree: sled::Tree) -> Self {
        Class { tree, lookups: RwLock::new(Vec::new()), writer: Mutex::new(()) }
    }

    /// Starts keeping `lookup` current, first indexing the objects stored before unless the
    /// tree says it already has (its built marker is written in the same batch as the entries).
    fn add_lookup(&self, lookup: LookupField) -> Result<(), StoreError> {
        let _writer = lock(&self.writer);
        if read(&self.lookups).contains(&lookup) {
            return Ok(());
        }
        let marker = built_marker(lookup);
        if self.tree.get(&marker).map_err(sled_error)?.is_none() {
            let mut batch = sled::Batch::default();
            for entry in self.objects() {
                let (id, bytes) = entry.map_err(sled_error)?;
                let Ok(doc) = serde_json::from_slice::<Document>(&bytes) else { continue };
                if let Some(value) = lookup.value_in(&doc) {
                    batch.insert(lookup_key(lookup.field, &value, &id), sled::IVec::default());
                }
            }
            batch.insert(marker, sled::IVec::default());
            self.tree.apply_batch(batch).map_err(sled_error)?;
        }
        write(&self.lookups).push(lookup);
        Ok(())
    }

    /// The object entries of the tree (lookup entries, which start with NUL, left out).
    fn objects(&self) -> impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>> {
        self.tree.range(..[0u8].as_slice()).chain(self.tree.range([1u8].as_slice()..))
    }

    /// A write of object `id` from `old` to `new` (either None for an insert or delete), with
    /// the lookup entries that change, as one batch: a crash keeps all or none of it.
    fn write_with_lookups(
        &self,
        id: &str,
        old: Option<&Document>,
        new: Option<Vec<u8>>,
        new_doc: Option<&Document>,
    ) -> Result<(), StoreError> {
        let lookups = read(&self.lookups);
        if lookups.is_empty() {
            match new {
                Some(bytes) => self.tree.insert(id, bytes).map(drop),
                None => self.tree.remove(id).map(drop),
            }
            .map_err(sled_error)?;
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for lookup in lookups.iter() {
            let before = old.and_then(|doc| lookup.value_in(doc));
            let after = new_doc.and_then(|doc| lookup.value_in(doc));
            if before == after {
                continue;
            }
            if let Some(before) = before {
                batch.remove(lookup_key(lookup.field, &before, id.as_bytes()));
            }
            if let Some(after) = after {
                batch.insert(lookup_key(lookup.field, &after, id.as_bytes()), sled::IVec::default());
            }
        }
        match new {
            Some(bytes) => batch.insert(id, bytes),
            None => batch.remove(id),
        }
        self.tree.apply_batch(batch).map_err(sled_error)
    }
}

impl Store for SledStore {
    fn get(&self, class_name: &str, id: &str) -> Result<Option<Arc<Document>>, StoreError> {
        if let Some(doc) = self.cache.get(class_name, id) {
            return Ok(Some(doc));
        }
        let Some(class) = self.class(class_name) else { return Ok(None) };
        let ticket = self.cache.ticket(class_name, id);
        let Some(bytes) = class.tree.get(id).map_err(sled_error)? else { return Ok(None) };
        let Some(doc) = decode_document(class_name, id.as_bytes(), &bytes) else { return Ok(None) };
        let doc = Arc::new(doc);
        self.cache.fill(class_name, id, &doc, doc_cache::cost_of(bytes.len()), ticket);
        Ok(Some(doc))
    }

    fn scan(&self, class_name: &str, visit: &mut dyn FnMut(Arc<Document>) -> bool) -> Result<(), StoreError> {
        self.scan_prefiltered(class_name, &Prefilter::All(Vec::new()), None, visit)
    }

    /// Large classes are scanned on two threads (see [`split_scan`]); documents are visited in
    /// no particular order. The screen reads its fields decoded alone, and only a document
    /// that passes is decoded whole (or taken from the cache).
    fn scan_prefiltered(
        &self,
        class_name: &str,
        prefilter: &Prefilter,
        screen: Option<&Screen<'_>>,
        visit: &mut dyn FnMut(Arc<Document>) -> bool,
    ) -> Result<(), StoreError> {
        let Some(class) = self.class(class_name) else { return Ok(()) };
        let accept = |id: &[u8], bytes: &[u8]| -> Option<Arc<Document>> {
            // Documents are stored as `encode` writes them, the compact JSON the prefilter reads.
            if !prefilter.accepts(bytes) {
                return None;
            }
            // Bytes that do not decode as an object are left to the whole decode, which logs them.
            if let Some(screen) = screen {
                if screen.part_of(bytes).is_some_and(|part| !screen.passes(&part)) {
                    return None;
                }
            }
            let cached = std::str::from_utf8(id).ok().and_then(|id| self.cache.peek(class_name, id));
            cached.or_else(|| decode_document(class_name, id, bytes).map(Arc::new))
        };
        // The empty id, if any, sorts before the lookup entries (which start with NUL); every
        // other object follows them.
        if let Some(bytes) = class.tree.get([]).map_err(sled_error)? {
            if let Some(doc) = accept(&[], &bytes) {
                if !visit(doc) {
                    return Ok(());
                }
            }
        }
        split_scan::scan(&class.tree, &[1], &accept, visit).map_err(sled_error)?;
        Ok(())
    }

    fn insert(&self, class_name: &str, id: &str, doc: Document) -> Result<(), StoreError> {
        let class = self.class_for_write(class_name)?;
        let _writer = lock(&class.writer);
        let bytes = encode(&doc);
        let cost = doc_cache::cost_of(bytes.len());
        if read(&class.lookups).is_empty() {
            let swapped = class.tree.compare_and_swap(id, None as Option<&[u8]>, Some(bytes)).map_err(sled_error)?;
            if let Err(taken) = swapped {
                // An entry that does not decode is served as absent, so a new object may take its id.
                if decode_document(class_name, id.as_bytes(), &taken.current.unwrap_or_default()).is_some() {
                    return Err(StoreError::Duplicate);
                }
                class.tree.insert(id, taken.proposed.unwrap_or_default()).map_err(sled_error)?;
            }
        } else {
            if self.get(class_name, id)?.is_some() {
                return Err(StoreError::Duplicate);
            }
            class.write_with_lookups(id, None, Some(bytes), Some(&doc))?;
        }
        self.commit.wrote();
        self.cache.put(class_name, id, Arc::new(doc), cost);
        Ok(())
    }

    fn update(
        &self,
        class_name: &str,
        id: &str,
        doc: Document,
        expected: Option<&Arc<Document>>,
    ) -> Result<(), StoreError> {
        let class = self.class(class_name).ok_or(StoreError::NotFound)?;
        let _writer = lock(&class.writer);
        let current = self.get(class_name, id)?.ok_or(StoreError::NotFound)?;
        if let Some(expected) = expected {
            if !Arc::ptr_eq(&current, expected) && *current != **expected {
                return Err(StoreError::Conflict);
            }
        }
        let bytes = encode(&doc);
        let cost = doc_cache::cost_of(bytes.len());
        class.write_with_lookups(id, Some(&current), Some(bytes), Some(&doc))?;
        self.commit.wrote();
        self.cache.put(class_name, id, Arc::new(doc), cost);
        Ok(())
    }

    fn delete(&self, class_name: &str, id: &str) -> Result<Option<Arc<Document>>, StoreError> {
        let class = self.class(class_name).ok_or(StoreError::NotFound)?;
        let _writer = lock(&class.writer);
        let current = self.get(class_name, id)?.ok_or(StoreError::NotFound)?;
        class.write_with_lookups(id, Some(&current), None, None)?;
        self.commit.wrote();
        self.cache.remove(class_name, id);
        Ok(Some(current))
    }

    fn add_lookup(&self, class_name: &str, lookup: LookupField) -> Result<(), StoreError> {
        match self.class(class_name) {
            Some(class) => class.add_lookup(lookup),
            None => {
                let mut pending = write(&self.pending_lookups);
                // The tree may have been created since `class` looked.
                if let Some(class) = self.class(class_name) {
                    drop(pending);
                    return class.add_lookup(lookup);
                }
                let lookups = pending.entry(class_name.to_owned()).or_default();
                if !lookups.contains(&lookup) {
                    lookups.push(lookup);
                }
                Ok(())
            }
        }
    }

    fn lookup(&self, class_name: &str, lookup: LookupField, value: &str) -> Result<Vec<String>, StoreError> {
        let Some(class) = self.class(class_name) else { return Ok(Vec::new()) };
        let prefix = lookup_key(lookup.field, &lookup.normalize(value), b"");
        class
            .tree
            .scan_prefix(&prefix)
            .keys()
            .map(|key| decode_name(&key.map_err(sled_error)?[prefix.len()..], "looked-up object id"))
            .collect()
    }

    fn classes(&self) -> Result<Vec<String>, StoreError> {
        let mut names: BTreeSet<String> = read(&self.classes).keys().cloned().collect();
        names.extend(read(&self.schemas).keys().cloned());
        Ok(names.into_iter().collect())
    }

    fn schema(&self, class: &str) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(read(&self.schemas).get(class).cloned())
    }

    fn put_schema(&self, class: &str, schema: serde_json::Value) -> Result<(), StoreError> {
        let _writer = lock(&self.schema_writer);
        self.schema_tree.insert(class, encode(&schema)).map_err(sled_error)?;
        self.commit.wrote();
        write(&self.schemas).insert(class.to_owned(), schema);
        Ok(())
    }

    /// One process owns the data directory, so the schema stored last is the whole truth and
    /// fields live inside the documents: the field only leaves the stored schema, if it is
    /// still there, and its values stay in the documents.
    fn delete_field(&self, class: &str, field: &str) -> Result<bool, StoreError> {
        let _writer = lock(&self.schema_writer);
        let Some(mut schema) = read(&self.schemas).get(class).cloned() else { return Ok(false) };
        let Some(fields) = schema.get_mut("fields").and_then(serde_json::Value::as_object_mut) else { return Ok(false) };
        if fields.remove(field).is_none() {
            return Ok(false);
        }
        self.schema_tree.insert(class, encode(&schema)).map_err(sled_error)?;
        self.commit.wrote();
        write(&self.schemas).insert(class.to_owned(), schema);
        Ok(false)
    }

    fn delete_schema(&self, class: &str) -> Result<(), StoreError> {
        let _writer = lock(&self.schema_writer);
        self.schema_tree.remove(class).map_err(sled_error)?;
        self.commit.wrote();
        write(&self.schemas).remove(class);
        Ok(())
    }

    fn relation_add(
        &self,
        owner_class: &str,
        owner_id: &str,
        key: &str,
        related: &[String],
    ) -> Result<(), StoreError> {
        self.change_relation(owner_class, owner_id, key, related, true)
    }

    fn relation_remove(
        &self,
        owner_class: &str,
        owner_id: &str,
        key: &str,
        related: &[String],
    ) -> Result<(), StoreError> {
        self.change_relation(owner_class, owner_id, key, related, false)
    }

    fn related(&self, owner_class: &str, owner_id: &str, key: &str) -> Result<Vec<String>, StoreError> {
        let prefix = relation_prefix(owner_class, owner_id, key)?;
        self.relation_tree
            .scan_prefix(&prefix)
            .keys()
            .map(|entry| {
                let entry = entry.map_err(sled_error)?;
                decode_name(&entry[prefix.len()..], "related object id")
            })
            .collect()
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.commit.sync(|| self.flush())
    }

    fn has_unsynced_writes(&self) -> bool {
        self.commit.written.load(Ordering::Acquire) > self.commit.durable.load(Ordering::Acquire)
    }
}

/// Group commit: callers of `sync` share flushes instead of queueing one fsync each.
///
/// Writes are counted; a flush records the count it started from and covers at least those
/// writes. A caller only needs a flush that started after its own writes were counted, so it
/// returns at once if a finished flush covers them, waits if one is running (that flush, or the
/// next one a waiter starts, will), and otherwise runs the flush itself.
#[derive(Default)]
struct GroupCommit {
    written: AtomicU64,
    /// `FlushState::durable`, readable without the lock: readers check it on every request.
    durable: AtomicU64,
    state: Mutex<FlushState>,
    flushed: Condvar,
}

#[derive(Default)]
struct FlushState {
    /// Writes made durable by the latest successful flush.
    durable: u64,
    flushing: bool,
    /// Flushes started, so tests can check that concurrent syncs share them.
    #[cfg(test)]
    rounds: u64,
}

impl GroupCommit {
    /// Counts a write that sled has accepted. Release pairs with the Acquire in `sync`, so a flush
    /// that sees the count also sees the write in sled's log. Called before the write is put in
    /// the decoded cache, so a reader that sees it there also sees it counted and unsynced.
    fn wrote(&self) {
        self.written.fetch_add(1, Ordering::Release);
    }

    fn sync(&self, flush: impl FnOnce() -> Result<(), StoreError>) -> Result<(), StoreError> {
        let target = self.written.load(Ordering::Acquire);
        let mut state = lock(&self.state);
        loop {
            if state.durable >= target {
                return Ok(());
            }
            if !state.flushing {
                break;
            }
            state = self.flushed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.flushing = true;
        #[cfg(test)]
        {
            state.rounds += 1;
        }
        drop(state);
        let mut round = FlushRound { commit: self, covers: self.written.load(Ordering::Acquire), ok: false };
        let result = flush();
        round.ok = result.is_ok();
        result
    }
}

/// The flush in progress. Its end is recorded on drop so that waiters wake up even if the flush
/// panics; a failed flush wakes them too, and one of them retries.
struct FlushRound<'a> {
    commit: &'a GroupCommit,
    covers: u64,
    ok: bool,
}

impl Drop for FlushRound<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.commit.state);
        state.flushing = false;
        if self.ok {
            state.durable = state.durable.max(self.covers);
            self.commit.durable.store(state.durable, Ordering::Release);
        }
        drop(state);
        self.commit.flushed.notify_all();
    }
}

/// Takes the exclusive lock on `dir/LOCK` without waiting. The lock is `flock`-based, so it also
/// conflicts with a second open inside this process and is released by the kernel when a killed
/// process exits.
fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(io_error(&path, e)),
    }
}

/// Opens sled, waiting out a lock on its files left by a store this process has just dropped.
///
/// The caller holds `LOCK`, so no other process and no live store uses `dir`; a sled lock failure
/// can only come from a closed sled whose file handle is still referenced by its background
/// threads or by memory it reclaims lazily, which happens within milliseconds.
fn open_sled(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new().path(dir).cache_capacity(cache_bytes);
    let deadline = Instant::now() + SLED_RELEASE_WAIT;
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if is_sled_lock_error(&e) && Instant::now() < deadline => {
                std::thread::sleep(SLED_RELEASE_POLL);
            }
            result => return result.map_err(sled_error),
        }
    }
}

/// sled reports a held lock only as an untyped I/O error, so its (pinned, 0.34) message is the
/// one way to tell it from a real I/O failure, which must not be retried.
fn is_sled_lock_error(error: &std::io::Error) -> bool {
    error.to_string().contains("could not acquire lock")
}

/// A stored document, or None (logged with its class and id) when it does not decode: one
/// damaged entry is served as absent rather than failing every read of its class.
fn decode_document(class: &str, id: &[u8], bytes: &[u8]) -> Option<Document> {
    let decoded = decode_name(id, "object id").and_then(|id| {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("document {class}/{id}: {e}")))
    });
    match decoded {
        Ok(doc) => Some(doc),
        Err(error) => {
            let id = String::from_utf8_lossy(id);
            tracing::error!(class = %class, id = %id, "skipping stored object {class}/{id}: {error}");
            None
        }
    }
}

/// Decodes the stored schemas, skipping (and logging) those that do not decode.
fn load_schemas(tree: &sled::Tree) -> Result<HashMap<String, serde_json::Value>, StoreError> {
    let mut schemas = HashMap::new();
    for entry in tree.iter() {
        let (class, bytes) = entry.map_err(sled_error)?;
        let decoded = decode_name(&class, "schema class name").and_then(|class| {
            serde_json::from_slice(&bytes)
                .map(|schema| (class.clone(), schema))
                .map_err(|e| StoreError::Corrupt(format!("schema of {class}: {e}")))
        });
        match decoded {
            Ok((class, schema)) => {
                schemas.insert(class, schema);
            }
            Err(error) => {
                let class = String::from_utf8_lossy(&class);
                tracing::error!(class = %class, "skipping the stored schema of {class}: {error}");
            }
        }
    }
    Ok(schemas)
}

/// `\0 field \0 value-length value id`: the lookup entry saying object `id` has `value` in
/// `field`. The leading NUL keeps entries apart from objects (objectIds never hold one) and
/// sorts them first; the length makes a value that holds a NUL unambiguous, so that all ids
/// of one value are one prefix scan.
fn lookup_key(field: &str, value: &str, id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(field.len() + value.len() + id.len() + 6);
    key.push(0);
    key.extend_from_slice(field.as_bytes());
    key.push(0);
    key.extend_from_slice(&(value.len() as u32).to_be_bytes());
    key.extend_from_slice(value.as_bytes());
    key.extend_from_slice(id);
    key
}

/// `\0 \0 field`: present once a lookup's entries cover every object of the tree. Field
/// names are never empty, so no entry key starts with two NULs.
fn built_marker(lookup: LookupField) -> Vec<u8> {
    [&[0u8, 0][..], lookup.field.as_bytes()].concat()
}

/// `owner_class \0 owner_id \0 key \0`: the common prefix of one relation's keys.
fn relation_prefix(owner_class: &str, owner_id: &str, key: &str) -> Result<Vec<u8>, StoreError> {
    let mut prefix = Vec::with_capacity(owner_class.len() + owner_id.len() + key.len() + 3);
    for part in [owner_class, owner_id, key] {
        if part.contains('\0') {
            return Err(StoreError::InvalidName(part.to_owned()));
        }
        prefix.extend_from_slice(part.as_bytes());
        prefix.push(0);
    }
    Ok(prefix)
}

fn relation_key(prefix: &[u8], related_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + related_id.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(related_id.as_bytes());
    key
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values always serialize: keys are strings, numbers finite")
}

fn decode_name(bytes: &[u8], what: &str) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        StoreError::Corrupt(format!("{what} is not UTF-8: {:?}", String::from_utf8_lossy(bytes)))
    })
}

fn sled_error(error: sled::Error) -> StoreError {
    match error {
        sled::Error::Corruption { .. } => StoreError::Corrupt(error.to_string()),
        other => StoreError::Io(other.to_string()),
    }
}

fn io_error(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {error}", path.display()))
}

/// The guarded maps are only changed by infallible map operations after sled has accepted the
/// write, so a panic elsewhere while a guard was held cannot leave them inconsistent; carrying on
/// past the poison is safe.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{BufRead, BufReader};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};

    use serde_json::json;

    /// Set in a child process spawned by a test; tells [`child_process_entry`] what to do.
    const CHILD_TASK_ENV: &str = "CLOUDRT_STORE_TEST_CHILD_TASK";
    const CHILD_DIR_ENV: &str = "CLOUDRT_STORE_TEST_CHILD_DIR";

    /// A child spawned by one test holds copies of all of this process's descriptors between fork
    /// and exec, so for that instant it also holds the `LOCK` of a store another test is closing.
    /// Spawning takes this exclusively; tests that close a store and reopen it take it shared.
    static SPAWNING: RwLock<()> = RwLock::new(());

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("cloudrt-store-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Every document of `class`, as a scan visits them.
    fn all(store: &SledStore, class: &str) -> Vec<Arc<Document>> {
        let mut docs = Vec::new();
        store
            .scan(class, &mut |doc| {
                docs.push(doc);
                true
            })
            .unwrap();
        docs
    }

    #[test]
    fn a_store_larger_than_its_cache_reads_back_whole() {
        const OBJECTS: usize = 5_000;
        let dir = TempDir::new("bounded");
        let store = SledStore::open_with_cache(&dir.0, 1 << 20).unwrap();
        let body = "x".repeat(500);
        for i in 0..OBJECTS {
            store.insert("Big", &i.to_string(), doc(json!({"i": i, "body": body}))).unwrap();
        }
        store.update("Big", "7", doc(json!({"i": -7})), None).unwrap();
        store.delete("Big", "8").unwrap();
        assert!(store.cache.bytes() <= 1 << 20, "the cache holds {} bytes", store.cache.bytes());
        for i in (0..OBJECTS).filter(|i| ![7, 8].contains(i)) {
            assert_eq!(*store.get("Big", &i.to_string()).unwrap().unwrap(), doc(json!({"i": i, "body": body})));
        }
        assert_eq!(*store.get("Big", "7").unwrap().unwrap(), doc(json!({"i": -7})));
        assert!(store.get("Big", "8").unwrap().is_none());
        assert_eq!(all(&store, "Big").len(), OBJECTS - 1);
        let mut visited = 0;
        store
            .scan("Big", &mut |_| {
                visited += 1;
                visited < 10
            })
            .unwrap();
        assert_eq!(visited, 10, "a scan stops when its visitor says so");
    }

    #[test]
    fn lookups_follow_every_write_and_survive_a_reopen() {
        let _no_spawn = read(&SPAWNING);
        let name = LookupField { field: "name", case_insensitive: true };
        let dir = TempDir::new("lookups");
        {
            let store = SledStore::open(&dir.0).unwrap();
            store.insert("User", "old", doc(json!({"name": "Ann"}))).unwrap();
            store.add_lookup("User", name).unwrap();
            store.add_lookup("Later", name).unwrap();
            assert!(!store.classes().unwrap().contains(&"Later".to_string()), "declaring a lookup creates no class");
            assert_eq!(store.lookup("User", name, "ANN").unwrap(), ids(&["old"]), "objects stored before are indexed");

            store.insert("User", "b", doc(json!({"name": "ann"}))).unwrap();
            store.insert("User", "c", doc(json!({"name": "Bob"}))).unwrap();
            store.insert("Later", "x", doc(json!({"name": "Zed"}))).unwrap();
            assert_eq!(store.lookup("User", name, "ann").unwrap(), ids(&["b", "old"]));
            store.update("User", "old", doc(json!({"name": "Cy"})), None).unwrap();
            store.delete("User", "c").unwrap();
            assert_eq!(store.lookup("User", name, "ann").unwrap(), ids(&["b"]));
            assert!(store.lookup("User", name, "bob").unwrap().is_empty());
            assert_eq!(store.lookup("Later", name, "zed").unwrap(), ids(&["x"]));
            assert_eq!(all(&store, "User").len(), 2, "a scan sees objects, not lookup entries");
            store.sync().unwrap();
        }
        let store = SledStore::open(&dir.0).unwrap();
        store.add_lookup("User", name).unwrap();
        assert_eq!(store.lookup("User", name, "cy").unwrap(), ids(&["old"]));
        assert_eq!(store.lookup("User", name, "Ann").unwrap(), ids(&["b"]));
        assert!(store.lookup("Nobody", name, "x").unwrap().is_empty());
    }

    fn doc(value: serde_json::Value) -> Document {
        match value {
            serde_json::Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn flush_rounds(store: &SledStore) -> u64 {
        lock(&store.commit.state).rounds
    }

    #[test]
    fn insert_get_scan_update_delete_round_trip() {
        let dir = TempDir::new("round-trip");
        let store = SledStore::open(&dir.0).unwrap();
        assert!(store.get("Game", "a").unwrap().is_none());
        assert!(all(&store, "Game").is_empty());

        store.insert("Game", "a", doc(json!({"score": 1}))).unwrap();
        store.insert("Game", "b", doc(json!({"score": 2}))).unwrap();
        store.insert("_User", "a", doc(json!({"username": "ann"}))).unwrap();
        assert_eq!(*store.get("Game", "a").unwrap().unwrap(), doc(json!({"score": 1})));
        let mut scores: Vec<_> = all(&store, "Game").iter().map(|d| d["score"].clone()).collect();
        scores.sort_by_key(|v| v.as_i64());
        assert_eq!(scores, vec![json!(1), json!(2)]);

        store.update("Game", "a", doc(json!({"score": 10})), None).unwrap();
        assert_eq!(*store.get("Game", "a").unwrap().unwrap(), doc(json!({"score": 10})));

        let removed = store.delete("Game", "a").unwrap().unwrap();
        assert_eq!(*removed, doc(json!({"score": 10})));
        assert!(store.get("Game", "a").unwrap().is_none());
        assert_eq!(all(&store, "Game").len(), 1);
        assert_eq!(all(&store, "_User").len(), 1);
        store.sync().unwrap();
    }

    #[test]
    fn duplicate_and_missing_ids_are_errors() {
        let dir = TempDir::new("errors");
        let store = SledStore::open(&dir.0).unwrap();
        store.insert("Game", "a", doc(json!({"v": 1}))).unwrap();
        assert!(matches!(store.insert("Game", "a", doc(json!({"v": 2}))), Err(StoreError::Duplicate)));
        assert_eq!(*store.get("Game", "a").unwrap().unwrap(), doc(json!({"v": 1})));

        assert!(matches!(store.update("Game", "zz", Document::new(), None), Err(StoreError::NotFound)));
        assert!(matches!(store.update("Nope", "a", Document::new(), None), Err(StoreError::NotFound)));
        assert!(matches!(store.delete("Game", "zz"), Err(StoreError::NotFound)));
        assert!(matches!(store.delete("Nope", "a"), Err(StoreError::NotFound)));
        assert_eq!(store.classes().unwrap(), ids(&["Game"]), "reads and failed writes create no class");
    }

    #[test]
    fn update_with_expected_detects_lost_races() {
        let dir = TempDir::new("conflict");
        let store = SledStore::open(&dir.0).unwrap();
        store.insert("Game", "a", doc(json!({"v": 1}))).unwrap();
        let first = store.get("Game", "a").unwrap().unwrap();

        store.update("Game", "a", doc(json!({"v": 2})), Some(&first)).unwrap();
        assert!(matches!(
            store.update("Game", "a", doc(json!({"v": 3})), Some(&first)),
            Err(StoreError::Conflict)
        ));
        assert_eq!(*store.get("Game", "a").unwrap().unwrap(), doc(json!({"v": 2})));

        let equal_copy = Arc::new(doc(json!({"v": 2})));
        store.update("Game", "a", doc(json!({"v": 4})), Some(&equal_copy)).unwrap();
        assert_eq!(*store.get("Game", "a").unwrap().unwrap(), doc(json!({"v": 4})));
    }

    #[test]
    fn schemas_round_trip_and_name_classes() {
        let dir = TempDir::new("schemas");
        let store = SledStore::open(&dir.0).unwrap();
        assert!(store.schema("Game").unwrap().is_none());
        store.put_schema("Game", json!({"fields": {"score": {"type": "Number"}}})).unwrap();
        store.put_schema("Game", json!({"fields": {"score": {"type": "String"}}})).unwrap();
        store.put_schema("Empty", json!({})).unwrap();
        store.insert("_Session", "s", Document::new()).unwrap();
        assert_eq!(store.schema("Game").unwrap(), Some(json!({"fields": {"score": {"type": "String"}}})));
        assert_eq!(store.classes().unwrap(), ids(&["Empty", "Game", "_Session"]));
    }

    #[test]
    fn relations_add_remove_and_list() {
        let dir = TempDir::new("relations");
        let store = SledStore::open(&dir.0).unwrap();
        store.relation_add("Team", "t1", "players", &ids(&["p2", "p1", "p3"])).unwrap();
        store.relation_add("Team", "t1", "players", &ids(&["p1"])).unwrap();
        store.relation_add("Team", "t1", "coaches", &ids(&["c1"])).unwrap();
        store.relation_add("Team", "t10", "players", &ids(&["p9"])).unwrap();
        assert_eq!(store.related("Team", "t1", "players").unwrap(), ids(&["p1", "p2", "p3"]));

        store.relation_remove("Team", "t1", "players", &ids(&["p2", "absent"])).unwrap();
        assert_eq!(store.related("Team", "t1", "players").unwrap(), ids(&["p1", "p3"]));
        assert_eq!(store.related("Team", "t1", "coaches").unwrap(), ids(&["c1"]));
        assert_eq!(store.related("Team", "t10", "players").unwrap(), ids(&["p9"]));
        assert!(store.related("Team", "t2", "players").unwrap().is_empty());

        assert!(matches!(
            store.relation_add("Team", "t1\0players", "x", &ids(&["p"])),
            Err(StoreError::InvalidName(_))
        ));
        assert!(matches!(store.related("Team", "t1", "a\0b"), Err(StoreError::InvalidName(_))));
    }

    #[test]
    fn reopen_after_drop_keeps_everything() {
        let _no_spawn = read(&SPAWNING);
        let dir = TempDir::new("reopen");
        {
            let store = SledStore::open(&dir.0).unwrap();
            store.insert("Game", "a", doc(json!({"score": 1, "tags": ["x"]}))).unwrap();
            store.insert("Game", "b", doc(json!({"score": 2}))).unwrap();
            store.delete("Game", "b").unwrap();
            store.insert("_JobStatus", "j", doc(json!({"status": "running"}))).unwrap();
            store.put_schema("Game", json!({"className": "Game"})).unwrap();
            store.relation_add("Game", "a", "friends", &ids(&["b", "c"])).unwrap();
            store.sync().unwrap();
        }
        let store = SledStore::open(&dir.0).unwrap();
        assert_eq!(*store.get("Game", "a").unwrap().unwrap(), doc(json!({"score": 1, "tags": ["x"]})));
        assert!(store.get("Game", "b").unwrap().is_none());
        assert_eq!(all(&store, "_JobStatus").len(), 1);
        assert_eq!(store.schema("Game").unwrap(), Some(json!({"className": "Game"})));
        assert_eq!(store.related("Game", "a", "friends").unwrap(), ids(&["b", "c"]));
        assert_eq!(store.classes().unwrap(), ids(&["Game", "_JobStatus"]));
    }

    #[test]
    fn second_open_in_process_is_locked() {
        let _no_spawn = read(&SPAWNING);
        let dir = TempDir::new("lock-local");
        let store = SledStore::open(&dir.0).unwrap();
        let started = Instant::now();
        let err = SledStore::open(&dir.0).err().expect("second open must fail");
        assert!(started.elapsed() < Duration::from_secs(1), "second open must not wait");
        assert!(matches!(&err, StoreError::Locked(path) if path == &dir.0), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("a second cloudrt is using") && message.contains(&*dir.0.to_string_lossy()),
            "{message}"
        );
        drop(store);
        SledStore::open(&dir.0).expect("the lock is released with the store");
    }

    #[test]
    fn undecodable_entries_are_skipped_and_the_rest_served() {
        let _no_spawn = read(&SPAWNING);
        let dir = TempDir::new("corrupt");
        {
            let db = sled::open(&dir.0).unwrap();
            let game = db.open_tree("obj:Game").unwrap();
            game.insert("a", &b"{not json"[..]).unwrap();
            game.insert("b", encode(&json!({"score": 2}))).unwrap();
            game.insert(&[0xff, 0xfe][..], encode(&json!({"score": 3}))).unwrap();
            let too_deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
            game.insert("c", format!("{{\"deep\":{too_deep}}}").as_bytes()).unwrap();
            db.open_tree([b"obj:".as_slice(), &[0xff]].concat()).unwrap().insert("x", encode(&json!({}))).unwrap();
            let schemas = db.open_tree(SCHEMA_TREE).unwrap();
            schemas.insert("Game", encode(&json!({"className": "Game"}))).unwrap();
            schemas.insert("Broken", &b"\x00garbage"[..]).unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(&dir.0).expect("one bad entry must not stop the store from opening");
        assert_eq!(*store.get("Game", "b").unwrap().unwrap(), doc(json!({"score": 2})));
        assert_eq!(all(&store, "Game").len(), 1, "only the decodable document is served");
        assert_eq!(store.schema("Game").unwrap(), Some(json!({"className": "Game"})));
        assert_eq!(store.schema("Broken").unwrap(), None);
        assert_eq!(store.classes().unwrap(), ids(&["Game"]));
        store.update("Game", "b", doc(json!({"score": 4})), None).unwrap();
        store.insert("Game", "a", doc(json!({"score": 1}))).unwrap();
        store.sync().unwrap();
        drop(store);
        let store = SledStore::open(&dir.0).unwrap();
        assert_eq!(all(&store, "Game").len(), 2, "a new write over a skipped id replaces it");
    }

    #[test]
    fn concurrent_inserts_with_sync_share_flushes() {
        const THREADS: usize = 32;
        const PER_THREAD: usize = 40;
        let _no_spawn = read(&SPAWNING);
        let dir = TempDir::new("concurrent");
        {
            let store = Arc::new(SledStore::open(&dir.0).unwrap());
            store.sync().unwrap();
            let before = flush_rounds(&store);
            store.sync().unwrap();
            assert_eq!(flush_rounds(&store), before, "sync with nothing new written does not flush");

            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let store = Arc::clone(&store);
                    std::thread::spawn(move || {
                        for i in 0..PER_THREAD {
                            store.insert("Item", &format!("{t}-{i}"), doc(json!({"t": t, "i": i}))).unwrap();
                            store.sync().unwrap();
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            let rounds = flush_rounds(&store) - before;
            assert!(
                rounds < (THREADS * PER_THREAD) as u64,
                "{rounds} flushes for {} syncs",
                THREADS * PER_THREAD
            );
            assert_eq!(all(&store, "Item").len(), THREADS * PER_THREAD);
        }
        let store = SledStore::open(&dir.0).unwrap();
        assert_eq!(all(&store, "Item").len(), THREADS * PER_THREAD);
    }

    /// Runs this test binary again as a child process doing `task` on `dir`.
    fn spawn_child(task: &str, dir: &Path) -> Child {
        let _spawning = write(&SPAWNING);
        Command::new(std::env::current_exe().unwrap())
            .args(["child_process_entry", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_TASK_ENV, task)
            .env(CHILD_DIR_ENV, dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }

    /// The body of the child processes above; a no-op when run by hand.
    #[test]
    #[ignore = "entry point of the child processes that the cross-process tests spawn"]
    fn child_process_entry() {
        let (Ok(task), Some(dir)) = (std::env::var(CHILD_TASK_ENV), std::env::var_os(CHILD_DIR_ENV)) else {
            return;
        };
        let dir = PathBuf::from(dir);
        match task.as_str() {
            "open" => match SledStore::open(&dir) {
                Err(StoreError::Locked(_)) => println!("CHILD locked"),
                Err(e) => println!("CHILD error {e}"),
                Ok(_) => println!("CHILD opened"),
            },
            "write" => {
                let store = SledStore::open(&dir).unwrap();
                for i in 0.. {
                    store.insert("Item", &i.to_string(), doc(json!({"i": i}))).unwrap();
                    store.sync().unwrap();
                    println!("CHILD synced {i}");
                }
            }
            other => panic!("unknown child task {other}"),
        }
    }

    /// Reads the child's `CHILD ...` reports until `stop` accepts one, and returns it. The first
    /// report shares its line with libtest's "test ... " banner, hence no prefix match.
    fn read_child_until(child: &mut Child, deadline: Duration, stop: impl Fn(&str) -> bool) -> String {
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("CHILD ") {
                    if tx.send(rest.to_owned()).is_err() {
                        return;
                    }
                }
            }
        });
        let started = Instant::now();
        let mut last = String::new();
        loop {
            match rx.recv_timeout(deadline.saturating_sub(started.elapsed())) {
                Ok(line) if stop(&line) => return line,
                Ok(line) => last = line,
                Err(e) => {
                    let _ = child.kill();
                    panic!("child stopped early or took over {deadline:?} ({e}); last line {last:?}");
                }
            }
        }
    }

    #[test]
    fn second_open_from_another_process_is_locked() {
        let dir = TempDir::new("lock-process");
        let _store = SledStore::open(&dir.0).unwrap();
        let mut child = spawn_child("open", &dir.0);
        let outcome = read_child_until(&mut child, Duration::from_secs(30), |_| true);
        child.wait().unwrap();
        assert_eq!(outcome, "locked");
    }

    #[test]
    fn synced_writes_survive_kill_9() {
        const SYNCED: u64 = 200;
        let dir = TempDir::new("kill");
        let mut child = spawn_child("write", &dir.0);
        let last = read_child_until(&mut child, Duration::from_secs(60), |line| {
            line.strip_prefix("synced ").and_then(|n| n.parse::<u64>().ok()) >= Some(SYNCED)
        });
        child.kill().unwrap();
        child.wait().unwrap();
        let last: u64 = last.strip_prefix("synced ").unwrap().parse().unwrap();

        let store = SledStore::open(&dir.0).expect("reopen after kill -9");
        for i in 0..=last {
            assert_eq!(
                *store.get("Item", &i.to_string()).unwrap().expect("synced write lost"),
                doc(json!({"i": i}))
            );
        }
    }

    /// 10,000 insert+sync pairs from 32 threads. Run with
    /// `cargo test --release -- --ignored --nocapture insert_sync_throughput`.
    #[test]
    #[ignore = "benchmark"]
    fn insert_sync_throughput() {
        const THREADS: usize = 32;
        const TOTAL: usize = 10_000;
        let dir = TempDir::new("bench");
        let store = Arc::new(SledStore::open(&dir.0).unwrap());
        let started = Instant::now();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in (t..TOTAL).step_by(THREADS) {
                        let body = doc(json!({"objectId": i.to_string(), "score": i, "name": "player"}));
                        store.insert("Bench", &i.to_string(), body).unwrap();
                        store.sync().unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let elapsed = started.elapsed();
        assert_eq!(all(&store, "Bench").len(), TOTAL);
        println!(
            "{TOTAL} insert+sync from {THREADS} threads in {elapsed:?}: {:.0} inserts/s, {} flushes",
            TOTAL as f64 / elapsed.as_secs_f64(),
            flush_rounds(&store)
        );
    }
}
