//! Ordered indexes, built on first use: for a query ordered by one top-level field (or in the
//! natural order) with a page limit, walking the class in that order and stopping once the
//! page is full beats matching and sorting every object of the class. Objects are scattered in
//! memory, so a full scan costs a cache miss or several per object; a walk touches only the
//! objects it inspects.
//!
//! An index covers one field whose values are all null/missing, numbers or strings (the orders
//! MongoDB gives those types: null < numbers < strings). A field holding anything else marks
//! its index unusable and queries on it keep scanning.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use serde_json::{Map, Value};

/// The natural order's "field": no value, so entries sort by (createdAt, objectId).
pub const NATURAL: &str = "";

/// A field value as an index orders it.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Null,
    Number(f64),
    Text(String),
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

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key: Key,
    created: String,
    id: String,
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Keys are finite numbers or text, so the partial order is total.
        let key = self.key.partial_cmp(&other.key).unwrap_or(std::cmp::Ordering::Equal);
        key.then_with(|| self.created.cmp(&other.created)).then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn entry(object: &Map<String, Value>, field: &str) -> Option<Entry> {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    Some(Entry { key: Key::of(object, field)?, created: text("createdAt"), id: text("objectId") })
}

#[derive(Debug, Default)]
struct FieldIndex {
    entries: BTreeSet<Entry>,
    /// False once the field held a value an index cannot order.
    usable: bool,
}

impl FieldIndex {
    fn add(&mut self, object: &Map<String, Value>, field: &str) {
        match entry(object, field) {
            Some(entry) => {
                self.entries.insert(entry);
            }
            None => self.usable = false,
        }
    }

    fn remove(&mut self, object: &Map<String, Value>, field: &str) {
        if let Some(entry) = entry(object, field) {
            self.entries.remove(&entry);
        }
    }
}

/// Every index of every class: class → field → index.
#[derive(Debug, Default)]
pub struct Indexes {
    classes: RwLock<HashMap<String, HashMap<String, FieldIndex>>>,
}

/// Held by a writer across its store write and the index update, so a query never sees an
/// index that disagrees with the store for longer than one write.
pub struct IndexWrite<'a> {
    guard: RwLockWriteGuard<'a, HashMap<String, HashMap<String, FieldIndex>>>,
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

    /// Visits the class's object ids in `field` order (descending when asked) until `visit`
    /// answers false. Builds the index from `all` on first use. Answers false when the field
    /// cannot be indexed (the caller then scans).
    pub fn walk<E>(
        &self,
        class: &str,
        field: &str,
        descending: bool,
        all: impl FnOnce() -> Result<Vec<Arc<Map<String, Value>>>, E>,
        mut visit: impl FnMut(&str) -> bool,
    ) -> Result<bool, E> {
        let built = {
            let classes = self.classes.read().unwrap_or_else(|p| p.into_inner());
            classes.get(class).and_then(|fields| fields.get(field)).is_some()
        };
        if !built {
            let mut classes = self.classes.write().unwrap_or_else(|p| p.into_inner());
            let fields = classes.entry(class.to_string()).or_default();
            if !fields.contains_key(field) {
                let mut index = FieldIndex { entries: BTreeSet::new(), usable: true };
                for object in all()? {
                    index.add(&object, field);
                }
                fields.insert(field.to_string(), index);
            }
        }
        let classes = self.classes.read().unwrap_or_else(|p| p.into_inner());
        let Some(index) = classes.get(class).and_then(|fields| fields.get(field)) else { return Ok(false) };
        if !index.usable {
            return Ok(false);
        }
        let ids: Box<dyn Iterator<Item = &Entry>> =
            if descending { Box::new(index.entries.iter().rev()) } else { Box::new(index.entries.iter()) };
        for entry in ids {
            if !visit(&entry.id) {
                break;
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(id: &str, created: &str, score: Value) -> Arc<Map<String, Value>> {
        Arc::new(json!({"objectId": id, "createdAt": created, "score": score}).as_object().unwrap().clone())
    }

    fn walk(indexes: &Indexes, objects: &[Arc<Map<String, Value>>], field: &str, descending: bool) -> Option<Vec<String>> {
        let mut seen = Vec::new();
        let usable = indexes.walk("C", field, descending, || Ok::<_, ()>(objects.to_vec()), |id| {
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
}
