//! The in-memory indexes of the embedded store, per (class, field), and which exist:
//!
//! - **built-in**: the natural order (createdAt, objectId), `updatedAt` and every Pointer field
//!   (joins, `include`, `$inQuery`), wanted for every class at start-up and on a class's first
//!   query;
//! - **declared** through the schema API (a compound index serves as an index on its first
//!   field), built when declared and at start-up; a drop frees it;
//! - **automatic**, as hosted Parse made them: a field that queries keep filtering or ordering
//!   on without an index (the [`AUTO_AFTER_SCANS`]th query of a class of at least
//!   [`AUTO_MIN_OBJECTS`] objects that a scan or a walk of another index answered) gets one,
//!   at most [`AUTO_PER_CLASS`] per class. One whose field no object holds is dropped when its
//!   build completes, and its field earns none until a write gives it a value.
//!
//! No query ever builds an index: a wanted index is built by one background thread that
//! streams the class, and queries scan until it is complete. Writes made meanwhile go into the
//! building index too, and the build skips the objects written since it started, so it never
//! puts back a version a write has replaced (see [`Indexes::build`]).

mod field;
mod id;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard, Weak};

use serde_json::{Map, Value};

pub use field::{Constraint, Key, Plan, Probe, Walk, NATURAL};
use field::FieldIndex;

/// What a build's scan of the class calls for each object (the store's scan visitor): an index
/// is built from a stream, never from the whole class in memory.
pub type Visitor<'a> = &'a mut dyn FnMut(Arc<Map<String, Value>>) -> bool;

/// How the builder reads a class: the store's scan; false when the store failed.
pub type ScanClass = dyn Fn(&str, Visitor<'_>) -> bool + Send;

/// Scans of one field that make an automatic index.
pub const AUTO_AFTER_SCANS: u32 = 3;
/// A scan of fewer objects is cheap enough: it never counts towards an automatic index.
pub const AUTO_MIN_OBJECTS: usize = 1_000;
/// The most automatic indexes one class gets.
pub const AUTO_PER_CLASS: usize = 8;
/// Objects a build adds per hold of the write lock: writers wait at most that long.
const BUILD_CHUNK: usize = 512;

/// Why an index exists: it lives while any reason does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// Declared through the schema API under this name.
    Declared(String),
    Automatic,
}

#[derive(Debug)]
struct Index {
    data: FieldIndex,
    /// Complete: queries may use it. Until then a build is queued or running.
    ready: bool,
    /// Tells a build which incarnation of the field's index it fills (a drop and a new
    /// declaration meanwhile make a new one).
    generation: u64,
    builtin: bool,
    declared: BTreeSet<String>,
    automatic: bool,
}

impl Index {
    fn name(&self, field: &str) -> String {
        if let Some(name) = self.declared.iter().next() {
            name.clone()
        } else if self.automatic {
            format!("auto_{field}")
        } else if field == NATURAL {
            "natural".to_owned()
        } else {
            format!("builtin_{field}")
        }
    }

    fn has_origin(&self) -> bool {
        self.builtin || self.automatic || !self.declared.is_empty()
    }
}

#[derive(Debug, Default)]
struct ClassIndexes {
    fields: HashMap<String, Index>,
    /// While a build streams the class: the objectIds written since it started.
    dirty: Option<HashSet<String>>,
    /// How often each unindexed field was scanned (for automatic indexes).
    scans: HashMap<String, u32>,
    /// Fields whose automatic index came out holding no value: the objects lack them, so an
    /// index would only list every object as null (25 MB at a million objects). Their scans
    /// earn no index until a write gives one a value.
    unheld: HashSet<String>,
}

type Classes = HashMap<String, ClassIndexes>;

/// Every index of every class, and the queue of the background builder.
#[derive(Debug)]
pub struct Indexes {
    classes: RwLock<Classes>,
    builds: Mutex<Option<Sender<String>>>,
    generations: AtomicU64,
    auto: bool,
}

/// How an index stands, as the tests see it.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexState {
    pub field: String,
    pub name: String,
    pub ready: bool,
    pub usable: bool,
    pub automatic: bool,
}

/// Held by a writer across its store write and the index update, so a query never sees an
/// index that disagrees with the store for longer than one write.
pub struct IndexWrite<'a> {
    guard: RwLockWriteGuard<'a, Classes>,
    class: &'a str,
}

impl IndexWrite<'_> {
    /// Records that `before` became `after` (None: created / deleted), in complete and
    /// building indexes alike.
    pub fn changed(&mut self, before: Option<&Map<String, Value>>, after: Option<&Map<String, Value>>) {
        let Some(class) = self.guard.get_mut(self.class) else { return };
        for (field, index) in class.fields.iter_mut() {
            if let Some(before) = before {
                index.data.remove(before, field);
            }
            if let Some(after) = after {
                index.data.add(after, field);
            }
        }
        if let Some(after) = after {
            class.unheld.retain(|field| after.get(field).is_none_or(Value::is_null));
        }
        if let Some(dirty) = class.dirty.as_mut() {
            if let Some(id) = after.or(before).and_then(|object| object.get("objectId")).and_then(Value::as_str) {
                dirty.insert(id.to_owned());
            }
        }
    }
}

/// A build is background work: on Linux a thread has a nice value of its own, and the
/// builder's yields the CPU to queries and writes (a failure just leaves it at the default).
fn lower_priority() {
    // SAFETY: setpriority takes no pointers; `who = 0` is the calling thread on Linux.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
}

impl Indexes {
    pub fn new(auto: bool) -> Indexes {
        Indexes { classes: RwLock::default(), builds: Mutex::new(None), generations: AtomicU64::new(0), auto }
    }

    /// Starts the background builder, which reads classes through `scan`. Until then wanted
    /// indexes wait. The thread ends with the last owner of the indexes.
    pub fn start(self: &Arc<Self>, scan: Box<ScanClass>) {
        let (send, receive) = mpsc::channel::<String>();
        let indexes: Weak<Indexes> = Arc::downgrade(self);
        let pending: Vec<String> = self.read().iter().filter(|(_, c)| c.fields.values().any(|i| !i.ready)).map(|(name, _)| name.clone()).collect();
        for class in pending {
            let _ = send.send(class);
        }
        *self.builds.lock().unwrap_or_else(|p| p.into_inner()) = Some(send);
        let spawned = std::thread::Builder::new().name("index-builder".into()).spawn(move || {
            lower_priority();
            while let Ok(class) = receive.recv() {
                let Some(indexes) = indexes.upgrade() else { return };
                indexes.build(&class, &*scan);
            }
        });
        if let Err(error) = spawned {
            tracing::warn!("cannot start the index builder ({error}): queries will scan");
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Classes> {
        self.classes.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_all(&self) -> RwLockWriteGuard<'_, Classes> {
        self.classes.write().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self, class: &str) {
        if let Some(send) = self.builds.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = send.send(class.to_owned());
        }
    }

    /// Locks the class's indexes for a write.
    pub fn write<'a>(&'a self, class: &'a str) -> IndexWrite<'a> {
        IndexWrite { guard: self.write_all(), class }
    }

    /// Whether `class` has an index (complete or not) on each of `fields`.
    pub fn has_all(&self, class: &str, fields: &[&str]) -> bool {
        let classes = self.read();
        classes.get(class).is_some_and(|c| fields.iter().all(|field| c.fields.contains_key(*field)))
    }

    /// Adds `origin` to the index of `field`, creating (and queueing the build of) the index
    /// when it did not exist.
    pub fn want(&self, class: &str, field: &str, origin: Origin) {
        let created = {
            let mut classes = self.write_all();
            self.add_origin(classes.entry(class.to_owned()).or_default(), field, origin)
        };
        if created {
            self.queue(class);
        }
    }

    fn add_origin(&self, class: &mut ClassIndexes, field: &str, origin: Origin) -> bool {
        let created = !class.fields.contains_key(field);
        let index = class.fields.entry(field.to_owned()).or_insert_with(|| Index {
            data: FieldIndex::default(),
            ready: false,
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
            builtin: false,
            declared: BTreeSet::new(),
            automatic: false,
        });
        match origin {
            Origin::Builtin => index.builtin = true,
            Origin::Declared(name) => {
                index.declared.insert(name);
            }
            Origin::Automatic => index.automatic = true,
        }
        created
    }

    /// Makes the class's declared indexes exactly `declared` (name → field): new ones are
    /// built, those no longer declared (and with no other reason) are freed.
    pub fn set_declared(&self, class: &str, declared: &[(String, String)]) {
        let created = {
            let mut classes = self.write_all();
            let entry = classes.entry(class.to_owned()).or_default();
            for (field, index) in entry.fields.iter_mut() {
                index.declared.retain(|name| declared.iter().any(|(n, f)| n == name && f == field));
            }
            entry.fields.retain(|_, index| index.has_origin());
            let mut created = false;
            for (name, field) in declared {
                created |= self.add_origin(entry, field, Origin::Declared(name.clone()));
            }
            created
        };
        if created {
            self.queue(class);
        }
    }

    /// Forgets every index of a deleted class.
    pub fn forget(&self, class: &str) {
        self.write_all().remove(class);
    }

    /// The fields of the class's automatic indexes, by name.
    pub fn automatic(&self, class: &str) -> Vec<String> {
        let classes = self.read();
        let mut fields: Vec<String> =
            classes.get(class).map(|c| c.fields.iter().filter(|(_, i)| i.automatic).map(|(f, _)| f.clone()).collect()).unwrap_or_default();
        fields.sort();
        fields
    }

    /// Every index of the class, by field.
    #[cfg(test)]
    pub fn states(&self, class: &str) -> Vec<IndexState> {
        let classes = self.read();
        let mut states: Vec<IndexState> = classes
            .get(class)
            .map(|c| {
                c.fields
                    .iter()
                    .map(|(field, index)| IndexState {
                        field: field.clone(),
                        name: index.name(field),
                        ready: index.ready,
                        usable: index.data.usable(),
                        automatic: index.automatic,
                    })
                    .collect()
            })
            .unwrap_or_default();
        states.sort_by(|a, b| a.field.cmp(&b.field));
        states
    }

    /// Records that a query scanned or walked `class` for want of an index on `fields`, examining
    /// `examined` objects (a prefiltered scan examines only likely matches: the class's size
    /// is then the natural index's); the [`AUTO_AFTER_SCANS`]th such scan of a field makes
    /// its automatic index.
    pub fn scanned(&self, class: &str, fields: &[String], examined: usize) {
        let names: Vec<&str> = fields.iter().map(String::as_str).collect();
        if !self.auto || fields.is_empty() || self.has_all(class, &names) {
            return;
        }
        let size = self.order_plan(class, NATURAL).map_or(0, |natural| natural.candidates);
        if examined.max(size) < AUTO_MIN_OBJECTS {
            return;
        }
        let created = {
            let mut classes = self.write_all();
            let entry = classes.entry(class.to_owned()).or_default();
            let mut created = false;
            for field in fields {
                if entry.fields.contains_key(field) || entry.unheld.contains(field) {
                    continue;
                }
                let scans = entry.scans.entry(field.clone()).or_default();
                *scans += 1;
                let automatic = entry.fields.values().filter(|index| index.automatic).count();
                if *scans >= AUTO_AFTER_SCANS && automatic < AUTO_PER_CLASS {
                    entry.scans.remove(field);
                    created |= self.add_origin(entry, field, Origin::Automatic);
                }
            }
            created
        };
        if created {
            self.queue(class);
        }
    }

    /// Builds the class's incomplete indexes from one stream of its objects. Writes go into
    /// building indexes as into complete ones and mark their object dirty; the stream adds, a
    /// chunk at a time under the write lock, only objects not written since the build started.
    /// So an object is either added by the stream as it still stands, or by its writes.
    /// A complete index is compacted; an automatic one that holds no value is dropped.
    fn build(&self, class: &str, scan: &ScanClass) {
        let job: Vec<(String, u64)> = {
            let mut classes = self.write_all();
            let Some(entry) = classes.get_mut(class) else { return };
            let job: Vec<(String, u64)> = entry.fields.iter().filter(|(_, i)| !i.ready).map(|(f, i)| (f.clone(), i.generation)).collect();
            if job.is_empty() {
                return;
            }
            entry.dirty = Some(HashSet::new());
            job
        };
        let mut chunk = Vec::with_capacity(BUILD_CHUNK);
        let streamed = scan(class, &mut |object| {
            chunk.push(object);
            if chunk.len() >= BUILD_CHUNK {
                self.add_streamed(class, &job, &mut chunk);
            }
            true
        });
        self.add_streamed(class, &job, &mut chunk);
        let mut classes = self.write_all();
        let Some(entry) = classes.get_mut(class) else { return };
        entry.dirty = None;
        if !streamed {
            tracing::warn!("the indexes of {class} could not be built: its queries scan");
            return;
        }
        for (field, generation) in &job {
            if let Some(index) = entry.fields.get_mut(field).filter(|index| index.generation == *generation) {
                index.ready = true;
                index.automatic &= index.data.held();
                if index.has_origin() {
                    index.data.compact();
                } else {
                    entry.fields.remove(field);
                    entry.unheld.insert(field.clone());
                }
            }
        }
        let again = entry.fields.values().any(|index| !index.ready);
        drop(classes);
        if again {
            self.queue(class);
        }
    }

    fn add_streamed(&self, class: &str, job: &[(String, u64)], chunk: &mut Vec<Arc<Map<String, Value>>>) {
        if chunk.is_empty() {
            return;
        }
        let mut classes = self.write_all();
        let Some(entry) = classes.get_mut(class) else { return };
        for object in chunk.drain(..) {
            let id = object.get("objectId").and_then(Value::as_str).unwrap_or("");
            if entry.dirty.as_ref().is_some_and(|dirty| dirty.contains(id)) {
                continue;
            }
            for (field, generation) in job {
                if let Some(index) = entry.fields.get_mut(field).filter(|index| index.generation == *generation) {
                    index.data.add(&object, field);
                }
            }
        }
    }

    /// The constraint whose complete index yields the fewest candidates; None when no
    /// constrained field has one (the caller then scans).
    pub fn plan(&self, class: &str, constraints: &[Constraint]) -> Option<Plan> {
        let classes = self.read();
        let built = classes.get(class)?;
        constraints
            .iter()
            .filter_map(|c| {
                let index = built.fields.get(&c.field).filter(|index| index.ready && index.data.usable())?;
                Some(Plan { field: c.field.clone(), name: index.name(&c.field), probe: c.probe.clone(), candidates: index.data.count(&c.probe) })
            })
            .min_by_key(|plan| plan.candidates)
    }

    /// Visits the ids `plan` yields, in the `walk` order, until `visit` answers false.
    /// Answers false when the index cannot serve that walk (it became unusable since it was
    /// planned, or holds pointers, which it cannot order): the caller then scans.
    pub fn walk_plan(&self, class: &str, plan: &Plan, walk: Walk, mut visit: impl FnMut(&str) -> bool) -> bool {
        let classes = self.read();
        let Some(index) = classes.get(class).and_then(|c| c.fields.get(&plan.field)).filter(|index| index.ready) else { return false };
        let serves = match walk {
            Walk::Natural => index.data.usable(),
            Walk::Field { .. } => index.data.orders(),
        };
        if serves {
            index.data.visit(&plan.probe, walk, &mut visit);
        }
        serves
    }

    /// How many ids `plan` yields that the reader may read: all of them for the master key,
    /// else the public ones plus those `readable` (which reads the object's ACL) accepts.
    /// None when the index became unusable since it was planned.
    pub fn count_plan(&self, class: &str, plan: &Plan, master: bool, mut readable: impl FnMut(&str) -> bool) -> Option<usize> {
        let classes = self.read();
        let index = classes.get(class).and_then(|c| c.fields.get(&plan.field)).filter(|index| index.ready && index.data.usable())?;
        Some(if master { index.data.count(&plan.probe) } else { index.data.count_readable(&plan.probe, &mut readable) })
    }

    /// The plan of a walk over every object in `field` order, if a complete index orders it.
    pub fn order_plan(&self, class: &str, field: &str) -> Option<Plan> {
        let classes = self.read();
        let index = classes.get(class)?.fields.get(field).filter(|index| index.ready && index.data.orders())?;
        Some(Plan { field: field.to_owned(), name: index.name(field), probe: Probe::All, candidates: index.data.count(&Probe::All) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, Instant};

    fn object(i: usize, score: i64) -> Arc<Map<String, Value>> {
        Arc::new(
            json!({"objectId": format!("o{i:09}"), "createdAt": format!("2020-01-01T00:00:{:02}.{:03}Z", i / 1000, i % 1000), "score": score})
                .as_object()
                .unwrap()
                .clone(),
        )
    }

    fn ready(indexes: &Indexes, field: &str) -> bool {
        indexes.states("C").iter().any(|state| state.field == field && state.ready)
    }

    fn wait_ready(indexes: &Indexes, field: &str) {
        let started = Instant::now();
        while !ready(indexes, field) {
            assert!(started.elapsed() < Duration::from_secs(20), "the build of {field} never completed");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn ids_of(indexes: &Indexes, score: i64) -> Vec<String> {
        let plan = indexes.plan("C", &[Constraint { field: "score".into(), probe: Probe::In(vec![Key::Number(score as f64)]) }]).expect("a plan");
        let mut ids = Vec::new();
        assert!(indexes.walk_plan("C", &plan, Walk::Natural, |id| {
            ids.push(id.to_owned());
            true
        }));
        ids
    }

    /// A stored object per slot; None once deleted.
    type Slots = Vec<Option<Arc<Map<String, Value>>>>;

    /// A store of objects that writers change while the builder streams them, through the
    /// same lock order the database uses (index write lock around the store write).
    #[test]
    fn a_background_build_misses_no_write_made_while_it_runs() {
        let store: Arc<Mutex<Slots>> = Arc::new(Mutex::new((0..5_000).map(|i| Some(object(i, 1))).collect()));
        let indexes = Arc::new(Indexes::new(true));
        let source = Arc::clone(&store);
        indexes.start(Box::new(move |_class, visit| {
            for i in 0..5_000 {
                let object = source.lock().unwrap()[i].clone();
                if let Some(object) = object {
                    std::thread::yield_now();
                    if !visit(object) {
                        break;
                    }
                }
            }
            true
        }));
        indexes.want("C", "score", Origin::Declared("score_1".into()));
        assert!(indexes.plan("C", &[Constraint { field: "score".into(), probe: Probe::All }]).is_none(), "not used before it is complete");
        for i in (0..5_000).step_by(7) {
            let mut write = indexes.write("C");
            let mut objects = store.lock().unwrap();
            let before = objects[i].clone();
            let after = if i % 2 == 0 { Some(object(i, 2)) } else { None };
            objects[i] = after.clone();
            write.changed(before.as_deref(), after.as_deref());
        }
        wait_ready(&indexes, "score");
        let objects = store.lock().unwrap();
        for score in [1, 2] {
            let expected: Vec<String> = objects
                .iter()
                .flatten()
                .filter(|o| o["score"] == json!(score))
                .map(|o| o["objectId"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(ids_of(&indexes, score), expected, "score {score}");
        }
    }

    #[test]
    fn automatic_indexes_come_after_repeated_large_scans_and_are_capped() {
        let indexes = Arc::new(Indexes::new(true));
        indexes.start(Box::new(|_class, visit| (0..10).all(|i| visit(object(i, i as i64)))));
        indexes.scanned("C", &["score".into()], AUTO_MIN_OBJECTS - 1);
        indexes.scanned("C", &["score".into()], AUTO_MIN_OBJECTS);
        indexes.scanned("C", &["score".into()], AUTO_MIN_OBJECTS);
        assert_eq!(indexes.automatic("C"), Vec::<String>::new(), "a small scan does not count");
        indexes.scanned("C", &["score".into()], AUTO_MIN_OBJECTS);
        assert_eq!(indexes.automatic("C"), ["score"]);
        wait_ready(&indexes, "score");
        assert_eq!(ids_of(&indexes, 3), ["o000000003"]);
        for n in 0..AUTO_PER_CLASS + 2 {
            for _ in 0..AUTO_AFTER_SCANS {
                indexes.scanned("C", &[format!("f{n}")], AUTO_MIN_OBJECTS);
            }
        }
        assert_eq!(indexes.automatic("C").len(), AUTO_PER_CLASS);
        let off = Indexes::new(false);
        for _ in 0..AUTO_AFTER_SCANS + 1 {
            off.scanned("C", &["score".into()], AUTO_MIN_OBJECTS * 10);
        }
        assert!(off.automatic("C").is_empty(), "--auto-index off");
    }

    #[test]
    fn no_automatic_index_stays_on_a_field_no_object_holds() {
        let flagged = |i: usize, flag: bool| {
            let mut object = (*object(i, i as i64)).clone();
            if flag {
                object.insert("flag".into(), json!(true));
            }
            Arc::new(object)
        };
        let first_flagged = Arc::new(Mutex::new(false));
        let indexes = Arc::new(Indexes::new(true));
        let source = Arc::clone(&first_flagged);
        indexes.start(Box::new(move |_class, visit| {
            let flag = *source.lock().unwrap();
            (0..AUTO_MIN_OBJECTS).all(|i| visit(flagged(i, flag && i == 0)))
        }));
        let scan = |field: &str| {
            for _ in 0..AUTO_AFTER_SCANS {
                indexes.scanned("C", &[field.to_owned()], AUTO_MIN_OBJECTS);
            }
        };
        scan("flag");
        assert_eq!(indexes.automatic("C"), ["flag"]);
        let started = Instant::now();
        while !indexes.automatic("C").is_empty() {
            assert!(started.elapsed() < Duration::from_secs(20), "the index of nulls was never discarded");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(indexes.states("C").is_empty());
        scan("flag");
        assert!(indexes.automatic("C").is_empty(), "scans of a field no object holds earn nothing");
        *first_flagged.lock().unwrap() = true;
        indexes.write("C").changed(None, Some(&flagged(0, true)));
        scan("flag");
        wait_ready(&indexes, "flag");
        assert_eq!(indexes.automatic("C"), ["flag"], "once an object holds it, scans earn it again");
    }

    #[test]
    fn a_dropped_declaration_frees_the_index_unless_another_reason_holds_it() {
        let indexes = Indexes::new(true);
        indexes.set_declared("C", &[("a_1".into(), "a".into()), ("b_1".into(), "b".into())]);
        indexes.want("C", "b", Origin::Builtin);
        indexes.set_declared("C", &[]);
        let states = indexes.states("C");
        assert_eq!(states.iter().map(|s| (s.field.as_str(), s.name.as_str())).collect::<Vec<_>>(), [("b", "builtin_b")]);
    }
}
