//! One field's ordered index: for each value (a [`Key`]) the objects holding it, each list in
//! the natural order. An equality, `$in` or range reads only the lists of its keys; an order
//! on the field walks the keys in order.
//!
//! An index covers one field whose values are all null/missing, numbers, strings or pointers
//! (the orders MongoDB gives those types: null < numbers < strings < objects). A field holding
//! anything else, or an object whose createdAt/objectId do not pack into an [`Id`], marks the
//! index unusable and queries on it keep scanning.
//!
//! An index only narrows the candidates: the caller still checks each candidate against the
//! whole query and the reader's ACL, so a probe may yield more than matches, never fewer.

use std::cmp::{Ordering, Reverse};
use std::collections::{btree_set, BTreeMap, BTreeSet, BinaryHeap};
use std::ops::Bound;

use serde_json::{Map, Value};

use super::id::{self, Id};

/// The natural order's "field": no value, so entries sort by (createdAt, objectId).
pub const NATURAL: &str = "";

/// A field value as an index orders it (variants in MongoDB's cross-type order). A key is 24
/// bytes and a string in the shape of a Parse date costs no allocation: a field of unique
/// values (`updatedAt` above all) has one key per object.
#[derive(Debug, Clone)]
pub enum Key {
    Null,
    /// Finite only: `Key::of` refuses NaN and infinities, so the order is total.
    Number(f64),
    /// A string spelled as `toISOString` spells a date (`2015-03-24T20:19:00.542Z`), packed as
    /// the number its digits spell; it orders and equals as that text does (see [`Key::text`]).
    Stamp(u64),
    Text(Box<str>),
    /// A Pointer, by its objectId: what a join's equality or `$in` pins.
    Pointer(Box<str>),
}

/// As [`Ord`]: a `Text` and a `Stamp` of the same string are the same key.
impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Keys are finite, so the partial order of numbers is total.
            (Key::Number(a), Key::Number(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            // Fixed-width digits between fixed separators: the numbers sort as the texts do.
            (Key::Stamp(a), Key::Stamp(b)) => a.cmp(b),
            (Key::Stamp(a), Key::Text(b)) => id::unpack_created(*a).as_slice().cmp(b.as_bytes()),
            (Key::Text(a), Key::Stamp(b)) => a.as_bytes().cmp(id::unpack_created(*b).as_slice()),
            (Key::Text(a), Key::Text(b)) | (Key::Pointer(a), Key::Pointer(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::Null => 0,
            Key::Number(_) => 1,
            Key::Stamp(_) | Key::Text(_) => 2,
            Key::Pointer(_) => 3,
        }
    }

    /// The key of a string: a [`Key::Stamp`] when it is spelled as a date, else a `Text`.
    pub fn text(text: &str) -> Key {
        id::pack_created(text).map_or_else(|| Key::Text(text.into()), Key::Stamp)
    }

    /// The key of `field` in `object`, or None when the value has no place in an index.
    fn of(object: &Map<String, Value>, field: &str) -> Option<Key> {
        if field == NATURAL {
            return Some(Key::Null);
        }
        match object.get(field) {
            None | Some(Value::Null) => Some(Key::Null),
            Some(Value::Number(n)) => n.as_f64().filter(|n| n.is_finite()).map(Key::Number),
            Some(Value::String(s)) => Some(Key::text(s)),
            Some(Value::Object(pointer)) if pointer.get("__type").and_then(Value::as_str) == Some("Pointer") => {
                pointer.get("objectId").and_then(Value::as_str).map(|id| Key::Pointer(id.into()))
            }
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
    /// The index's name, as `explain` reports it.
    pub name: String,
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

/// The objects under one key, in the natural order. Most keys of a field with many distinct
/// values hold one object, which then costs no set of its own; the set is boxed so that such a
/// key's entry stays 24 bytes (an inline set made every entry 32).
#[derive(Debug)]
enum Ids {
    One(Id),
    /// Boxed on purpose (see above): the box costs one allocation per key of many objects, the
    /// inline set 8 bytes on every key.
    #[allow(clippy::box_collection)]
    Many(Box<BTreeSet<Id>>),
}

impl Ids {
    fn len(&self) -> usize {
        match self {
            Ids::One(_) => 1,
            Ids::Many(ids) => ids.len(),
        }
    }

    fn insert(&mut self, id: Id) {
        match self {
            Ids::One(one) if *one == id => *one = id,
            Ids::One(one) => *self = Ids::Many(Box::new(BTreeSet::from([*one, id]))),
            Ids::Many(ids) => {
                ids.replace(id);
            }
        }
    }

    /// Removes `id`; answers whether the key is now empty.
    fn remove(&mut self, id: &Id) -> bool {
        match self {
            Ids::One(one) => one == id,
            Ids::Many(ids) => {
                ids.remove(id);
                ids.is_empty()
            }
        }
    }

    fn iter(&self) -> IdsIter<'_> {
        match self {
            Ids::One(one) => IdsIter::One(Some(one)),
            Ids::Many(ids) => IdsIter::Many(ids.iter()),
        }
    }
}

enum IdsIter<'a> {
    One(Option<&'a Id>),
    Many(btree_set::Iter<'a, Id>),
}

impl<'a> Iterator for IdsIter<'a> {
    type Item = &'a Id;

    fn next(&mut self) -> Option<&'a Id> {
        match self {
            IdsIter::One(one) => one.take(),
            IdsIter::Many(ids) => ids.next(),
        }
    }
}

impl DoubleEndedIterator for IdsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            IdsIter::One(one) => one.take(),
            IdsIter::Many(ids) => ids.next_back(),
        }
    }
}

#[derive(Debug)]
pub(super) struct FieldIndex {
    keys: BTreeMap<Key, Ids>,
    /// False once the field held a value an index cannot order.
    usable: bool,
}

impl Default for FieldIndex {
    fn default() -> Self {
        FieldIndex { keys: BTreeMap::new(), usable: true }
    }
}

impl FieldIndex {
    pub(super) fn usable(&self) -> bool {
        self.usable
    }

    /// Whether an order walk by key agrees with a sort on the field: a sort orders pointers
    /// by more than their objectId, so an index holding some is no order.
    pub(super) fn orders(&self) -> bool {
        self.usable && !matches!(self.keys.last_key_value(), Some((Key::Pointer(_), _)))
    }

    /// Whether some object holds the field (a value other than null): an index of nulls
    /// only is an index of objects that lack the field.
    pub(super) fn held(&self) -> bool {
        !self.usable || !matches!(self.keys.last_key_value(), None | Some((Key::Null, _)))
    }

    /// An unusable index stays so (its field may hold the odd value again), so it keeps no
    /// entries. Adding an entry that is there already replaces it (its ACL may have changed).
    pub(super) fn add(&mut self, object: &Map<String, Value>, field: &str) {
        if !self.usable {
            return;
        }
        match (Key::of(object, field), Id::of(object)) {
            (Some(key), Some(id)) => match self.keys.get_mut(&key) {
                Some(ids) => ids.insert(id),
                None => {
                    self.keys.insert(key, Ids::One(id));
                }
            },
            _ => {
                self.usable = false;
                self.keys = BTreeMap::new();
            }
        }
    }

    pub(super) fn remove(&mut self, object: &Map<String, Value>, field: &str) {
        if !self.usable {
            return;
        }
        let (Some(key), Some(id)) = (Key::of(object, field), Id::of(object)) else { return };
        if self.keys.get_mut(&key).is_some_and(|ids| ids.remove(&id)) {
            self.keys.remove(&key);
        }
    }

    /// Rebuilds the index with full B-tree nodes. Entries added in order, as a build streams
    /// them and as new objects arrive, leave each node a little over half full: at a million
    /// objects that is tens of MB an index.
    pub(super) fn compact(&mut self) {
        self.keys = std::mem::take(&mut self.keys)
            .into_iter()
            .map(|(key, ids)| match ids {
                Ids::Many(set) => (key, Ids::Many(Box::new(set.into_iter().collect()))),
                one => (key, one),
            })
            .collect();
    }

    /// How many ids `probe` yields, without visiting them.
    pub(super) fn count(&self, probe: &Probe) -> usize {
        probe.ranges().into_iter().map(|range| self.keys.range(range).map(|(_, ids)| ids.len()).sum::<usize>()).sum()
    }

    /// How many ids `probe` yields that are public or that `readable` accepts.
    pub(super) fn count_readable(&self, probe: &Probe, readable: &mut impl FnMut(&str) -> bool) -> usize {
        let mut count = 0;
        for range in probe.ranges() {
            for (_, ids) in self.keys.range(range) {
                count += ids.iter().filter(|id| id.public() || readable(id.object_id().as_str())).count();
            }
        }
        count
    }

    /// Visits the ids `probe` yields in the `walk` order until `visit` answers false.
    pub(super) fn visit(&self, probe: &Probe, walk: Walk, visit: &mut impl FnMut(&str) -> bool) {
        match walk {
            Walk::Field { descending } => self.visit_by_key(probe, descending, visit),
            Walk::Natural => self.visit_natural(probe, visit),
        }
    }

    /// The ids of each key are kept in the natural order, so merging the keys' lists yields
    /// them all in that order, lazily: a page of 10 reads about 10 ids per key.
    fn visit_natural(&self, probe: &Probe, visit: &mut impl FnMut(&str) -> bool) {
        let mut lists: Vec<IdsIter<'_>> =
            probe.ranges().into_iter().flat_map(|range| self.keys.range(range).map(|(_, ids)| ids.iter())).collect();
        let mut heads: BinaryHeap<Reverse<(&Id, usize)>> =
            lists.iter_mut().enumerate().filter_map(|(list, ids)| Some(Reverse((ids.next()?, list)))).collect();
        while let Some(Reverse((id, list))) = heads.pop() {
            if !visit(id.object_id().as_str()) {
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
                for id in ids.iter() {
                    if !visit(id.object_id().as_str()) {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Objects `o0…`, created a millisecond apart, with `score`s.
    fn objects(scores: &[Value]) -> Vec<Map<String, Value>> {
        scores
            .iter()
            .enumerate()
            .map(|(i, score)| {
                json!({"objectId": format!("o{i:09}"), "createdAt": format!("2020-01-01T00:00:00.{i:03}Z"), "score": score})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    fn built(objects: &[Map<String, Value>], field: &str) -> FieldIndex {
        let mut index = FieldIndex::default();
        for object in objects {
            index.add(object, field);
        }
        index
    }

    fn seen(index: &FieldIndex, probe: &Probe, walk: Walk) -> Vec<usize> {
        let mut seen = Vec::new();
        index.visit(probe, walk, &mut |id| {
            seen.push(id[1..].parse().unwrap());
            true
        });
        seen
    }

    #[test]
    fn walks_in_order_and_follows_writes() {
        let objects = objects(&[json!(5), json!(null), json!("text"), json!(1.5)]);
        let mut index = built(&objects, "score");
        let by_key = |descending| Walk::Field { descending };
        assert_eq!(seen(&index, &Probe::All, by_key(false)), [1, 3, 0, 2], "null < numbers < strings");
        assert_eq!(seen(&index, &Probe::All, by_key(true)), [2, 0, 3, 1]);
        assert_eq!(seen(&built(&objects, NATURAL), &Probe::All, by_key(false)), [0, 1, 2, 3]);
        index.compact();
        assert_eq!(seen(&index, &Probe::All, by_key(false)), [1, 3, 0, 2], "compacting keeps every entry");
        let mut changed = objects[0].clone();
        changed.insert("score".into(), json!(0));
        index.remove(&objects[0], "score");
        index.add(&changed, "score");
        index.remove(&objects[3], "score");
        assert_eq!(seen(&index, &Probe::All, by_key(false)), [1, 0, 2]);
        assert_eq!(index.count(&Probe::All), 3);
    }

    #[test]
    fn fields_with_other_values_or_ids_are_not_indexed() {
        let objects = objects(&[json!(5), json!({"__type": "Date", "iso": "x"})]);
        assert!(!built(&objects, "score").usable());
        assert!(built(&objects[..1], "score").usable());
        let mut custom = objects[0].clone();
        custom.insert("objectId".into(), json!("my-own-id"));
        assert!(!built(&[custom], "score").usable(), "an id that does not pack turns the index off");
    }

    #[test]
    fn probes_yield_their_keys_in_field_or_natural_order() {
        let index = built(&objects(&[json!(3), json!(1), json!(3), json!(2), json!(1)]), "score");
        let number = Key::Number;
        let set = Probe::In(vec![number(3.0), number(1.0), number(3.0), Key::Text("x".into())]);
        assert_eq!(index.count(&set), 4, "duplicate members count once");
        assert_eq!(seen(&index, &set, Walk::Field { descending: false }), [1, 4, 0, 2]);
        assert_eq!(seen(&index, &set, Walk::Field { descending: true }), [0, 2, 1, 4], "ties stay in the natural order");
        assert_eq!(seen(&index, &set, Walk::Natural), [0, 1, 2, 4]);
        let range = Probe::Range(Bound::Excluded(number(1.0)), Bound::Included(number(3.0)));
        assert_eq!(seen(&index, &range, Walk::Field { descending: false }), [3, 0, 2]);
        for (from, to) in [
            (Bound::Excluded(number(3.0)), Bound::Excluded(number(1.0))),
            (Bound::Excluded(number(2.0)), Bound::Excluded(number(2.0))),
            (Bound::Included(number(2.0)), Bound::Excluded(number(2.0))),
        ] {
            let probe = Probe::Range(from, to);
            assert_eq!((index.count(&probe), seen(&index, &probe, Walk::Natural)), (0, Vec::new()), "an empty range yields nothing");
        }
    }

    #[test]
    fn strings_spelled_as_dates_order_and_match_as_text() {
        let texts = ["2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Zz", "2020", "2019-12-31T23:59:59.999Z", "2020-01-01T00:00:00.001Z", "3"];
        let index = built(&objects(&texts.map(|text| json!(text))), "score");
        let mut sorted: Vec<usize> = (0..texts.len()).collect();
        sorted.sort_by_key(|i| texts[*i]);
        assert_eq!(seen(&index, &Probe::All, Walk::Field { descending: false }), sorted);
        assert!(matches!(Key::text(texts[0]), Key::Stamp(_)) && matches!(Key::text(texts[1]), Key::Text(_)));
        assert_eq!(Key::Text(texts[0].into()), Key::text(texts[0]), "a stamp equals its text");
        assert_eq!(seen(&index, &Probe::In(vec![Key::Text(texts[0].into())]), Walk::Natural), [0]);
        let range = Probe::Range(Bound::Excluded(Key::text("2020")), Bound::Included(Key::text(texts[4])));
        assert_eq!(seen(&index, &range, Walk::Field { descending: false }), [0, 1, 4]);
    }

    #[test]
    fn an_index_of_nulls_holds_no_value() {
        assert!(!built(&objects(&[json!(null), json!(null)]), "score").held());
        assert!(!built(&objects(&[json!(1)]), "absent").held());
        assert!(built(&objects(&[json!(null), json!(false)]), "score").held(), "a value an index cannot hold is held");
        assert!(built(&objects(&[json!(null), json!("x")]), "score").held());
    }

    #[test]
    fn pointers_are_keys_by_objectid_but_no_order() {
        let pointer = |id: &str| json!({"__type": "Pointer", "className": "_User", "objectId": id});
        let index = built(&objects(&[pointer("u1"), pointer("u2"), pointer("u1"), json!(null)]), "score");
        assert!(index.usable() && !index.orders());
        assert_eq!(seen(&index, &Probe::In(vec![Key::Pointer("u1".into())]), Walk::Natural), [0, 2]);
        assert_eq!(seen(&index, &Probe::In(vec![Key::Text("u1".into())]), Walk::Natural), Vec::<usize>::new());
    }

    #[test]
    fn counts_read_only_objects_that_are_not_public() {
        let mut objects = objects(&[json!(3), json!(1), json!(3)]);
        objects[0].insert("ACL".into(), json!({"u1": {"read": true}}));
        let index = built(&objects, "score");
        let mut asked = Vec::new();
        let count = index.count_readable(&Probe::In(vec![Key::Number(3.0)]), &mut |id| {
            asked.push(id.to_string());
            false
        });
        assert_eq!((count, asked), (1, vec!["o000000000".to_string()]));
    }
}
