//! Ordered indexes, built on first use per (class, field): a query with an equality, `$in` or
//! range on a top-level field reads only the ids the index holds for those values instead of
//! matching every object of the class, and a query ordered by one field (or in the natural
//! order) with a page limit walks the class in that order and stops once the page is full.
//! A full scan reads (and, past the store's decoded-object cache, decodes) every stored object;
//! an index lookup touches only the objects it yields.
//!
//! An index covers one field whose values are all null/missing, numbers or strings (the orders
//! MongoDB gives those types: null < numbers < strings). A field holding anything else marks
//! its index unusable and queries on it keep scanning.
//!
//! An index only narrows the candidates: the caller still checks each candidate against the
//! whole query and the reader's ACL, so a probe may yield more than matches, never fewer.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use serde_json::{Map, Value};

use super::acl::{self, Principal};

/// What a build's scan of the class calls for each object (the store's scan visitor): an index
/// is built from a stream, never from the whole class in memory.
pub type Visitor<'a> = &'a mut dyn FnMut(Arc<Map<String, Value>>) -> bool;

/// The natural order's "field": no value, so entries sort by (createdAt, objectId).
pub const NATURAL: &str = "";

/// A field value as an index orders it (variants in MongoDB's cross-type order).
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Null,
    /// Finite only: `Key::of` refuses NaN and infinities, so the order is total.
    Number(f64),
    Text(String),
}

impl Eq for Key {}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering::{Greater, Less};
        match (self, other) {
            (Key::Null, Key::Null) => std::cmp::Ordering::Equal,
            (Key::Null, _) => Less,
            (_, Key::Null) => Greater,
            // Keys are finite, so the partial order of numbers is total.
            (Key::Number(a), Key::Number(b)) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
            (Key::Number(_), Key::Text(_)) => Less,
            (Key::Text(_), Key::Number(_)) => Greater,
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Key {
    /// The key of `field` in `object`, or None when the value has no place in an index.
    fn of(object: &Map<String, Value>, field: &str) -> Option<Key> {
        if field == NATURAL {
            return Some(Key::Null);
        }
        match object.get(field) {
            None | Some(Value::Null) => Some(Key::Null),
            Some(Value::Number(n)) => n.as_f64().filter(|n| n.is_finite()).map(Key::Number),
            Some(Value::String(s)) => Some(Key::Text(s.clone())),
            Some(_) => None,
        }
    }
}

/// Which keys of one field's index a query can use.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// Every entry (an order walk).
    All,
    /// The entries of these keys.
    In(Vec<Key>),
    /// The entries with keys between the bounds.
    Range(Bound<Key>, Bound<Key>),
}

impl Probe {
    /// The key ranges to read, ascending and disjoint. A range no key can fall in (`$gt: 5,
    /// $lt: 3`) yields nothing; `BTreeMap::range` would panic on it.
    fn ranges(&self) -> Vec<(Bound<&Key>, Bound<&Key>)> {
        match self {
            Probe::All => vec![(Bound::Unbounded, Bound::Unbounded)],
            Probe::In(keys) => {
                let mut keys: Vec<&Key> = keys.iter().collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().map(|key| (Bound::Included(key), Bound::Included(key))).collect()
            }
            Probe::Range(from, to) => {
                let empty = match (from, to) {
                    (Bound::Included(a), Bound::Included(b)) => a > b,
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a >= b,
                    _ => false,
                };
                if empty {
                    Vec::new()
                } else {
                    vec![(from.as_ref(), to.as_ref())]
                }
            }
        }
    }
}

/// A query's usable constraint on one top-level field.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub field: String,
    pub probe: Probe,
}

/// The index a query will read: the constraint whose probe yields the fewest candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub field: String,
    pub probe: Probe,
    /// How many ids the probe yields.
    pub candidates: usize,
}

/// The order a walk yields ids in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Walk {
    /// By the indexed field (descending when true), ties in the natural order, as a sort on
    /// the field breaks them.
    Field { descending: bool },
    /// By (createdAt, objectId), as a query without `order` answers.
    Natural,
}

/// An id as a key's list holds it: `createdAt NUL objectId` in one allocation, which sorts in
/// the natural order (neither part holds a NUL), and whether anyone may read the object. An
/// index holds one per object, so one allocation instead of two Strings is most of its memory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Id {
    natural: Box<str>,
    public: bool,
}

impl Id {
    fn object_id(&self) -> &str {
        self.natural.split_once('\0').map_or("", |(_, id)| id)
    }
}

/// The ids under one key: in the natural order, and marked so that a count of public objects
/// need not read them.
type Ids = BTreeSet<Id>;

#[derive(Debug, Default)]
struct FieldIndex {
    keys: BTreeMap<Key, Ids>,
    /// False once the field held a value an index cannot order.
    usable: bool,
}

fn natural_id(object: &Map<String, Value>) -> Id {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
    let public = acl::can_read(object, &Principal { user_id: None, roles: &[] });
    Id { natural: format!("{}\0{}", text("createdAt"), text("objectId")).into_boxed_str(), public }
}

impl FieldIndex {
    /// An unusable index stays so (its field may hold the odd value again), so it keeps no
    /// entries.
    fn add(&mut self, object: &Map<String, Value>, field: &str) {
        if !self.usable {
            return;
        }
        match Key::of(object, field) {
            Some(key) => {
                self.keys.entry(key).or_default().insert(natural_id(object));
            }
            None => {
                self.usable = false;
                self.keys.clear();
            }
        }
    }

    fn remove(&mut self, object: &Map<String, Value>, field: &str) {
        if !self.usable {
            return;
        }
        let Some(key) = Key::of(object, field) else { return };
        if let Some(ids) = self.keys.get_mut(&key) {
            ids.remove(&natural_id(object));
            if ids.is_empty() {
                self.keys.remove(&key);
            }
        }
    }

    /// How many ids `probe` yields, without visiting them.
    fn count(&self, probe: &Probe) -> usize {
        probe.ranges().into_iter().map(|range| self.keys.range(range).map(|(_, ids)| ids.len()).sum::<usize>()).sum()
    }

    /// Visits the ids `probe` yields in the `walk` order until `visit` answers false.
    fn visit(&self, probe: &Probe, walk: Walk, visit: &mut impl FnMut(&str) -> bool) {
        match walk {
            Walk::Field { descending } => self.visit_by_key(probe, descending, visit),
            Walk::Natural => self.visit_natural(probe, visit),
        }
    }

    /// The ids of each key are kept in the natural order, so merging the keys' lists yields
    /// them all in that order, lazily: a page of 10 reads about 10 ids per key.
    fn visit_natural(&self, probe: &Probe, visit: &mut impl FnMut(&str) -> bool) {
        let mut lists: Vec<std::collections::btree_set::Iter<'_, Id>> = probe
            .ranges()
            .into_iter()
            .flat_map(|range| self.keys.range(range).map(|(_, ids)| ids.iter()))
            .collect();
        let mut heads: BinaryHeap<Reverse<(&Id, usize)>> =
            lists.iter_mut().enumerate().filter_map(|(list, ids)| Some(Reverse((ids.next()?, list)))).collect();
        while let Some(Reverse((id, list))) = heads.pop() {
            if !visit(id.object_id()) {
                return;
            }
            if let Some(next) = lists[list].next() {
                heads.push(Reverse((next, list)));
            }
        }
    }

    /// Visits in key order (descending keys when asked; ties in the natural order).
    fn visit_by_key(&self, probe: &Probe, descending: bool, visit: &mut impl FnMut(&str) -> bool) {
        let mut ranges = probe.ranges();
        if descending {
            ranges.reverse();
        }
        for range in ranges {
            let keys: Box<dyn Iterator<Item = (&Key, &Ids)>> =
                if descending { Box::new(self.keys.range(range).rev()) } else { Box::new(self.keys.range(range)) };
            for (_, ids) in keys {
                for id in ids {
                    if !visit(id.object_id()) {
                        return;
                    }
                }
            }
        }
    }
}

type Classes = HashMap<String, HashMap<String, FieldIndex>>;

/// Every index of every class: class → field → index.
#[derive(Debug, Default)]
pub struct Indexes {
    classes: RwLock<Classes>,
}

/// Held by a writer across its store write and the index update, so a query never sees an
/// index that disagrees with the store for longer than one write.
pub struct IndexWrite<'a> {
    guard: RwLockWriteGuard<'a, Classes>,
    class: &'a str,
}

impl IndexWrite<'_> {
    /// Records that `before` became `after` (None: created / deleted).
    pub fn changed(&mut self, before: Option<&Map<String, Value>>, after: Option<&Map<String, Value>>) {
        let Some(fields) = self.guard.get_mut(self.class) else { return };
        for (field, index) in fields.iter_mut() {
            if let Some(before) = before {
                index.remove(before, field);
            }
            if let Some(after) = after {
                index.add(after, field);
            }
        }
    }
}

impl Indexes {
    /// Locks the class's indexes for a write.
    pub fn write<'a>(&'a self, class: &'a str) -> IndexWrite<'a> {
        IndexWrite { guard: self.classes.write().unwrap_or_else(|p| p.into_inner()), class }
    }

    /// Builds the indexes of `fields` that do not exist yet, from the class's objects (read
    /// once, only when some index is missing).
    fn build<E>(
        &self,
        class: &str,
        fields: &[&str],
        all: impl FnOnce(Visitor<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let missing = |classes: &Classes| {
            let built = classes.get(class);
            fields.iter().any(|field| !built.is_some_and(|built| built.contains_key(*field)))
        };
        if !missing(&self.classes.read().unwrap_or_else(|p| p.into_inner())) {
            return Ok(());
        }
        let mut classes = self.classes.write().unwrap_or_else(|p| p.into_inner());
        if !missing(&classes) {
            return Ok(());
        }
        let built = classes.entry(class.to_string()).or_default();
        let mut fresh: Vec<(String, FieldIndex)> = fields
            .iter()
            .filter(|field| !built.contains_key(**field))
            .map(|field| (field.to_string(), FieldIndex { keys: BTreeMap::new(), usable: true }))
            .collect();
        fresh.sort_by(|a, b| a.0.cmp(&b.0));
        fresh.dedup_by(|a, b| a.0 == b.0);
        all(&mut |object| {
            for (field, index) in fresh.iter_mut() {
                index.add(&object, field);
            }
            true
        })?;
        built.extend(fresh);
        Ok(())
    }

    /// The constraint whose index yields the fewest candidates, building indexes on first use.
    /// None when no constrained field can be indexed (the caller then scans).
    pub fn plan<E>(
        &self,
        class: &str,
        constraints: &[Constraint],
        all: impl FnOnce(Visitor<'_>) -> Result<(), E>,
    ) -> Result<Option<Plan>, E> {
        let fields: Vec<&str> = constraints.iter().map(|c| c.field.as_str()).collect();
        self.build(class, &fields, all)?;
        let classes = self.classes.read().unwrap_or_else(|p| p.into_inner());
        let Some(built) = classes.get(class) else { return Ok(None) };
        let best = constraints
            .iter()
            .filter_map(|c| {
                let index = built.get(&c.field).filter(|index| index.usable)?;
                Some(Plan { field: c.field.clone(), probe: c.probe.clone(), candidates: index.count(&c.probe) })
            })
            .min_by_key(|plan| plan.candidates);
        Ok(best)
    }

    /// Visits the ids `plan` yields, in the `walk` order, until `visit` answers false.
    /// Answers false when the index became unusable since it was planned (a write of another
    /// type): the caller then scans.
    pub fn walk_plan(&self, class: &str, plan: &Plan, walk: Walk, mut visit: impl FnMut(&str) -> bool) -> bool {
        let classes = self.classes.read().unwrap_or_else(|p| p.into_inner());
        let Some(index) = classes.get(class).and_then(|fields| fields.get(&plan.field)) else { return false };
        if !index.usable {
            return false;
        }
        index.visit(&plan.probe, walk, &mut visit);
        true
    }

    /// How many ids `plan` yields that the reader may read: all of them for the master key,
    /// else the public ones plus those `readable` (which reads the object's ACL) accepts.
    /// None when the index became unusable since it was planned.
    pub fn count_plan(&self, class: &str, plan: &Plan, master: bool, mut readable: impl FnMut(&str) -> bool) -> Option<usize> {
        let classes = self.classes.read().unwrap_or_else(|p| p.into_inner());
        let index = classes.get(class).and_then(|fields| fields.get(&plan.field)).filter(|index| index.usable)?;
        if master {
            return Some(index.count(&plan.probe));
        }
        let mut count = 0;
        for range in plan.probe.ranges() {
            for (_, ids) in index.keys.range(range) {
                count += ids.iter().filter(|id| id.public || readable(id.object_id())).count();
            }
        }
        Some(count)
    }

    /// Visits the class's object ids in `field` order (descending when asked) until `visit`
    /// answers false. Builds the index from `all` on first use. Answers false when the field
    /// cannot be indexed (the caller then scans).
    pub fn walk<E>(
        &self,
        class: &str,
        field: &str,
        descending: bool,
        all: impl FnOnce(Visitor<'_>) -> Result<(), E>,
        visit: impl FnMut(&str) -> bool,
    ) -> Result<bool, E> {
        self.build(class, &[field], all)?;
        let plan = Plan { field: field.to_string(), probe: Probe::All, candidates: 0 };
        Ok(self.walk_plan(class, &plan, Walk::Field { descending }, visit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(id: &str, created: &str, score: Value) -> Arc<Map<String, Value>> {
        Arc::new(json!({"objectId": id, "createdAt": created, "score": score}).as_object().unwrap().clone())
    }

    /// A scan over `objects`, as the store would run it.
    fn feed(objects: &[Arc<Map<String, Value>>]) -> impl FnOnce(Visitor<'_>) -> Result<(), ()> + '_ {
        move |visit| {
            for object in objects {
                if !visit(Arc::clone(object)) {
                    break;
                }
            }
            Ok(())
        }
    }

    fn walk(indexes: &Indexes, objects: &[Arc<Map<String, Value>>], field: &str, descending: bool) -> Option<Vec<String>> {
        let mut seen = Vec::new();
        let usable = indexes.walk("C", field, descending, feed(objects), |id| {
            seen.push(id.to_string());
            true
        });
        usable.unwrap().then_some(seen)
    }

    #[test]
    fn walks_in_order_and_follows_writes() {
        let indexes = Indexes::default();
        let objects = vec![
            object("a", "2020-01-01", json!(5)),
            object("b", "2020-01-02", json!(null)),
            object("c", "2020-01-03", json!("text")),
            object("d", "2020-01-04", json!(1.5)),
        ];
        assert_eq!(walk(&indexes, &objects, "score", false).unwrap(), ["b", "d", "a", "c"], "null < numbers < strings");
        assert_eq!(walk(&indexes, &objects, "score", true).unwrap(), ["c", "a", "d", "b"]);
        assert_eq!(walk(&indexes, &objects, NATURAL, false).unwrap(), ["a", "b", "c", "d"]);
        let changed = object("a", "2020-01-01", json!(0));
        indexes.write("C").changed(Some(&objects[0]), Some(&changed));
        indexes.write("C").changed(Some(&objects[3]), None);
        indexes.write("C").changed(None, Some(&object("e", "2020-01-05", json!(2))));
        assert_eq!(walk(&indexes, &[], "score", false).unwrap(), ["b", "a", "e", "c"]);
        assert_eq!(walk(&indexes, &[], NATURAL, false).unwrap(), ["a", "b", "c", "e"]);
    }

    #[test]
    fn fields_with_other_values_are_not_indexed() {
        let indexes = Indexes::default();
        let objects = vec![object("a", "2020-01-01", json!(5)), object("b", "2020-01-02", json!({"__type": "Date", "iso": "x"}))];
        assert_eq!(walk(&indexes, &objects, "score", false), None);
        let fresh = Indexes::default();
        assert!(walk(&fresh, &objects[..1], "score", false).is_some());
        fresh.write("C").changed(None, Some(&objects[1]));
        assert_eq!(walk(&fresh, &[], "score", false), None, "a write of another type turns the index off");
    }

    fn planned(indexes: &Indexes, objects: &[Arc<Map<String, Value>>], probes: &[(&str, Probe)]) -> Plan {
        let constraints: Vec<Constraint> =
            probes.iter().map(|(field, probe)| Constraint { field: field.to_string(), probe: probe.clone() }).collect();
        indexes.plan("C", &constraints, feed(objects)).unwrap().expect("a usable index")
    }

    fn yielded(indexes: &Indexes, plan: &Plan, walk: Walk) -> Vec<String> {
        let mut seen = Vec::new();
        assert!(indexes.walk_plan("C", plan, walk, |id| {
            seen.push(id.to_string());
            true
        }));
        seen
    }

    fn scored() -> Vec<Arc<Map<String, Value>>> {
        [("a", 3), ("b", 1), ("c", 3), ("d", 2), ("e", 1)]
            .iter()
            .enumerate()
            .map(|(i, (id, score))| object(id, &format!("2020-01-0{}", i + 1), json!(score)))
            .collect()
    }

    #[test]
    fn probes_yield_their_keys_in_field_or_natural_order() {
        let indexes = Indexes::default();
        let objects = scored();
        let number = |n: f64| Key::Number(n);
        let set = Probe::In(vec![number(3.0), number(1.0), number(3.0), Key::Text("x".into())]);
        let plan = planned(&indexes, &objects, &[("score", set)]);
        assert_eq!(plan.candidates, 4, "duplicate members count once");
        assert_eq!(yielded(&indexes, &plan, Walk::Field { descending: false }), ["b", "e", "a", "c"]);
        assert_eq!(yielded(&indexes, &plan, Walk::Field { descending: true }), ["a", "c", "b", "e"], "ties stay in the natural order");
        assert_eq!(yielded(&indexes, &plan, Walk::Natural), ["a", "b", "c", "e"]);
        let range = Probe::Range(Bound::Excluded(number(1.0)), Bound::Included(number(3.0)));
        let plan = planned(&indexes, &objects, &[("score", range)]);
        assert_eq!(yielded(&indexes, &plan, Walk::Field { descending: false }), ["d", "a", "c"]);
        for (from, to) in [
            (Bound::Excluded(number(3.0)), Bound::Excluded(number(1.0))),
            (Bound::Excluded(number(2.0)), Bound::Excluded(number(2.0))),
            (Bound::Included(number(2.0)), Bound::Excluded(number(2.0))),
        ] {
            let plan = planned(&indexes, &objects, &[("score", Probe::Range(from, to))]);
            assert_eq!((plan.candidates, yielded(&indexes, &plan, Walk::Natural)), (0, Vec::<String>::new()), "an empty range yields nothing");
        }
    }

    #[test]
    fn the_most_selective_constraint_is_planned() {
        let indexes = Indexes::default();
        let objects = scored();
        let plan = planned(
            &indexes,
            &objects,
            &[("score", Probe::In(vec![Key::Number(1.0), Key::Number(3.0)])), ("objectId", Probe::In(vec![Key::Text("d".into())]))],
        );
        assert_eq!((plan.field.as_str(), plan.candidates), ("objectId", 1));
    }

    #[test]
    fn counts_read_only_objects_that_are_not_public() {
        let indexes = Indexes::default();
        let mut objects = scored();
        let mut private = (*objects[0]).clone();
        private.insert("ACL".into(), json!({"u1": {"read": true}}));
        objects[0] = Arc::new(private);
        let plan = planned(&indexes, &objects, &[("score", Probe::In(vec![Key::Number(3.0)]))]);
        let mut asked = Vec::new();
        let count = indexes.count_plan("C", &plan, false, |id| {
            asked.push(id.to_string());
            false
        });
        assert_eq!((count, asked), (Some(1), vec!["a".to_string()]));
        assert_eq!(indexes.count_plan("C", &plan, true, |_| unreachable!("the master key reads everything")), Some(2));
    }
}
