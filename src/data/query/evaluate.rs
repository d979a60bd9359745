//! Matching a compiled [`Query`] against a stored object, with MongoDB's semantics (see the
//! module above): implicit array traversal, Parse's notion of sameness for Pointers, Dates and
//! Files, and no allocation per object.

use std::cmp::Ordering;
use std::collections::HashSet;

use regex::Regex;
use serde_json::{Map, Value};

use super::super::ids::millis_from_iso;
use super::compile::{number_key, Operand, ValueSet};
use super::geo::{central_angle, geopoint_of, point_in_polygon};
use super::{find_in_conjuncts, lookup, AllItem, Answer, CompareOp, Cond, FieldNode, Node, Query};

impl Query {
    /// Does `object` match? Call only after [`Query::resolve`] when [`Query::subqueries`] was
    /// non-empty: a condition whose subquery is unanswered never matches, in either polarity.
    pub fn matches(&self, object: &Map<String, Value>) -> bool {
        self.eval(&self.root, object)
    }

    /// Whether the where-clause has a `$text` search (whose score may order the results).
    pub fn has_text_search(&self) -> bool {
        self.text_field().is_some()
    }

    /// The full-text score of `object` for the where-clause's `$text` search; `None` without
    /// one or when the object does not match it.
    pub fn text_score(&self, object: &Map<String, Value>) -> Option<f64> {
        let field = self.text_field()?;
        field.conds.iter().find_map(|cond| match cond {
            Cond::Text(search) => search.score(lookup(object, &field.path)),
            _ => None,
        })
    }

    fn text_field(&self) -> Option<&FieldNode> {
        find_in_conjuncts(&self.root, &|field| field.conds.iter().any(|cond| matches!(cond, Cond::Text(_))).then_some(field))
    }

    fn eval(&self, node: &Node, object: &Map<String, Value>) -> bool {
        match node {
            Node::And(nodes) => nodes.iter().all(|node| self.eval(node, object)),
            Node::Or(nodes) => nodes.iter().any(|node| self.eval(node, object)),
            Node::Nor(nodes) => !nodes.iter().any(|node| self.eval(node, object)),
            Node::RelatedTo { slot } => match (self.ids(*slot), object.get("objectId")) {
                (Some(ids), Some(Value::String(id))) => ids.contains(id.as_str()),
                _ => false,
            },
            Node::Field(field) => {
                let stored = lookup(object, &field.path);
                field.conds.iter().all(|cond| self.test(cond, stored, field.date_field))
            }
        }
    }

    fn ids(&self, slot: usize) -> Option<&HashSet<String>> {
        match self.answers.get(slot) {
            Some(Some(Answer::Ids(ids))) => Some(ids),
            _ => None,
        }
    }

    fn test(&self, cond: &Cond, stored: Option<&Value>, date_field: bool) -> bool {
        match cond {
            Cond::Eq(operand) => equality_matches(stored, operand, date_field),
            Cond::Ne(operand) => !equality_matches(stored, operand, date_field),
            Cond::Compare(op, operand) => match stored {
                None => matches!(operand, Operand::Null) && op.accepts(Ordering::Equal),
                Some(value) => any_element(value, |v| operand.ordering(v, date_field).is_some_and(|o| op.accepts(o))),
            },
            Cond::In(set) => set.matches(stored, date_field),
            Cond::Nin(set) => !set.matches(stored, date_field),
            Cond::ContainedBy(set) => match stored {
                Some(Value::Array(items)) => items.iter().all(|item| set.contains(item, date_field)),
                // Parse Server sends `{$not: {$elemMatch: {$nin: [...]}}}`, which MongoDB
                // satisfies for every value that is not an array.
                _ => true,
            },
            Cond::All(items) => {
                !items.is_empty()
                    && items.iter().all(|item| match item {
                        AllItem::Value(operand) => equality_matches(stored, operand, date_field),
                        AllItem::Regex(regex) => regex_matches(stored, regex),
                    })
            }
            Cond::Exists(expected) => stored.is_some() == *expected,
            Cond::Regex(regex) => regex_matches(stored, regex),
            Cond::InQuery { slot, class_name, negate } => {
                let found = match (self.ids(*slot), stored) {
                    (Some(ids), Some(value)) => any_element(value, |v| match v {
                        Value::Object(map) => pointer_matching(map, |id| ids.contains(id)) == Some(class_name.as_str()),
                        _ => false,
                    }),
                    (Some(_), None) => false,
                    (None, _) => return false,
                };
                found != *negate
            }
            Cond::Select { slot, negate } => match self.answers.get(*slot) {
                Some(Some(Answer::Values(set))) => set.matches(stored, date_field) != *negate,
                _ => false,
            },
            Cond::Near { lat, lng, max_radians } => {
                stored.and_then(geopoint_of).is_some_and(|(point_lat, point_lng)| {
                    max_radians.is_none_or(|max| central_angle(*lat, *lng, point_lat, point_lng) <= max)
                })
            }
            Cond::WithinBox { south, west, north, east } => stored
                .and_then(geopoint_of)
                .is_some_and(|(lat, lng)| (*south..=*north).contains(&lat) && (*west..=*east).contains(&lng)),
            Cond::WithinPolygon(vertices) => stored
                .and_then(geopoint_of)
                .is_some_and(|(lat, lng)| point_in_polygon(vertices.len(), |i| Some(vertices[i]), lat, lng)),
            Cond::WithinSphere { lat, lng, radians } => stored
                .and_then(geopoint_of)
                .is_some_and(|(point_lat, point_lng)| central_angle(*lat, *lng, point_lat, point_lng) <= *radians),
            Cond::Text(search) => search.matches(stored),
            Cond::Intersects { lat, lng } => match stored {
                Some(Value::Object(map)) if map.get("__type").and_then(Value::as_str) == Some("Polygon") => {
                    match map.get("coordinates") {
                        Some(Value::Array(coordinates)) => point_in_polygon(
                            coordinates.len(),
                            |i| match coordinates[i].as_array()?.as_slice() {
                                [lat, lng] => Some((lat.as_f64()?, lng.as_f64()?)),
                                _ => None,
                            },
                            *lat,
                            *lng,
                        ),
                        _ => false,
                    }
                }
                _ => false,
            },
        }
    }
}

impl CompareOp {
    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Lte => ordering != Ordering::Greater,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Gte => ordering != Ordering::Less,
        }
    }
}

impl ValueSet {
    /// Is this single value one of the set's members?
    fn contains(&self, value: &Value, date_field: bool) -> bool {
        match value {
            Value::Null => self.null,
            Value::Bool(b) => self.bools[usize::from(*b)],
            Value::Number(n) => n.as_f64().is_some_and(|n| self.numbers.contains(&number_key(n))),
            Value::String(s) => {
                self.strings.contains(s.as_str())
                    || (date_field && millis_from_iso(s).is_some_and(|ms| self.dates.contains(&ms)))
            }
            Value::Object(map) => {
                // objectId first, as in `pointer_matching`: it is what usually fails.
                if let Some(classes) = map.get("objectId").and_then(Value::as_str).and_then(|id| self.pointers.get(id))
                {
                    if pointer_parts(map).is_some_and(|(class_name, _)| classes.iter().any(|c| c == class_name)) {
                        return true;
                    }
                }
                if let Some(ms) = date_of(map) {
                    if self.dates.contains(&ms) {
                        return true;
                    }
                }
                self.others.iter().any(|other| values_equal(value, other))
            }
            Value::Array(_) => self.others.iter().any(|other| values_equal(value, other)),
        }
    }

    /// `$in` semantics: a missing field counts as null, and an array field matches when it
    /// equals a member or any of its elements is one.
    fn matches(&self, stored: Option<&Value>, date_field: bool) -> bool {
        match stored {
            None => self.null,
            Some(value) => {
                self.contains(value, date_field)
                    || matches!(value, Value::Array(items) if items.iter().any(|item| self.contains(item, date_field)))
            }
        }
    }
}

impl Operand {
    fn equals(&self, value: &Value, date_field: bool) -> bool {
        match self {
            Operand::Null => value.is_null(),
            Operand::Bool(b) => value.as_bool() == Some(*b),
            Operand::Number(n) => value.as_f64() == Some(*n),
            Operand::String(s) => value.as_str() == Some(s.as_str()),
            Operand::Date(ms) => instant_of(value, date_field) == Some(*ms),
            Operand::Pointer { class_name, object_id } => match value {
                Value::Object(map) => pointer_matching(map, |id| id == object_id) == Some(class_name.as_str()),
                _ => false,
            },
            Operand::Other(other) => values_equal(value, other),
        }
    }

    /// Ordering of a stored value relative to this operand, `None` when the types don't compare.
    fn ordering(&self, value: &Value, date_field: bool) -> Option<Ordering> {
        match self {
            Operand::Number(n) => value.as_f64()?.partial_cmp(n),
            Operand::String(s) => Some(value.as_str()?.cmp(s.as_str())),
            Operand::Date(ms) => Some(instant_of(value, date_field)?.cmp(ms)),
            Operand::Null => value.is_null().then_some(Ordering::Equal),
            Operand::Bool(_) | Operand::Pointer { .. } | Operand::Other(_) => None,
        }
    }
}

/// MongoDB's implicit array traversal: a condition holds for an array when it holds for the
/// array itself or for any of its elements.
fn any_element(value: &Value, mut test: impl FnMut(&Value) -> bool) -> bool {
    test(value) || matches!(value, Value::Array(items) if items.iter().any(&mut test))
}

fn equality_matches(stored: Option<&Value>, operand: &Operand, date_field: bool) -> bool {
    match stored {
        None => matches!(operand, Operand::Null),
        Some(value) => any_element(value, |v| operand.equals(v, date_field)),
    }
}

fn regex_matches(stored: Option<&Value>, regex: &Regex) -> bool {
    stored.is_some_and(|value| any_element(value, |v| v.as_str().is_some_and(|s| regex.is_match(s))))
}

/// `(className, objectId)` of a Pointer, or of an included object (`"__type": "Object"`), which
/// stands for the same reference.
pub(super) fn pointer_parts(map: &Map<String, Value>) -> Option<(&str, &str)> {
    match map.get("__type")?.as_str()? {
        "Pointer" | "Object" => Some((map.get("className")?.as_str()?, map.get("objectId")?.as_str()?)),
        _ => None,
    }
}

/// The className of a pointer whose objectId satisfies `wanted`. Checks the objectId first:
/// during a scan it is the test that fails, and skipping the other two lookups into a nested
/// map is most of the cost of a pointer comparison.
fn pointer_matching(map: &Map<String, Value>, wanted: impl FnOnce(&str) -> bool) -> Option<&str> {
    if !wanted(map.get("objectId")?.as_str()?) {
        return None;
    }
    pointer_parts(map).map(|(class_name, _)| class_name)
}

pub(super) fn date_of(map: &Map<String, Value>) -> Option<i64> {
    if map.get("__type")?.as_str()? != "Date" {
        return None;
    }
    millis_from_iso(map.get("iso")?.as_str()?)
}

/// The instant a stored value denotes: a Parse Date, or a bare ISO string on the
/// `createdAt`/`updatedAt` keys.
fn instant_of(value: &Value, date_field: bool) -> Option<i64> {
    match value {
        Value::Object(map) => date_of(map),
        Value::String(s) if date_field => millis_from_iso(s),
        _ => None,
    }
}

/// Deep equality with Parse's notion of sameness: numbers by value, Pointers by reference,
/// Dates by instant, Files by name.
pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => objects_equal(x, y),
        _ => a == b,
    }
}

fn objects_equal(x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    if let (Some(p), Some(q)) = (pointer_parts(x), pointer_parts(y)) {
        return p == q;
    }
    if let (Some(p), Some(q)) = (date_of(x), date_of(y)) {
        return p == q;
    }
    let file = |m: &Map<String, Value>| m.get("__type").and_then(Value::as_str) == Some("File");
    if file(x) && file(y) {
        return x.get("name") == y.get("name");
    }
    x.len() == y.len() && x.iter().all(|(k, v)| y.get(k.as_str()).is_some_and(|w| values_equal(v, w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use crate::data::query::tests::{check_table, obj};

    #[test]
    fn plain_equality() {
        check_table(&[
            (r#"{"name": "Alice"}"#, true),
            (r#"{"name": "alice"}"#, false),
            (r#"{"name": "Alice", "score": 42}"#, true),
            (r#"{"name": "Alice", "score": 41}"#, false),
            (r#"{"score": 42}"#, true),
            (r#"{"score": 42.0}"#, true),
            (r#"{"score": 41}"#, false),
            (r#"{"ratio": 0.5}"#, true),
            (r#"{"active": true}"#, true),
            (r#"{"active": false}"#, false),
            (r#"{"objectId": "obj1"}"#, true),
            (r#"{"objectId": "obj2"}"#, false),
            (r#"{"missing": "x"}"#, false),
        ]);
    }

    #[test]
    fn equality_type_mismatches() {
        check_table(&[
            (r#"{"active": "true"}"#, false),
            (r#"{"active": 1}"#, false),
            (r#"{"score": "42"}"#, false),
            (r#"{"name": ["Alice"]}"#, false),
            (r#"{"name": {"first": "Alice"}}"#, false),
            (r#"{"born": "1990-05-01T00:00:00.000Z"}"#, false),
            (r#"{"owner": "u1"}"#, false),
            (r#"{"nothing": 0}"#, false),
            (r#"{"nothing": false}"#, false),
        ]);
    }

    #[test]
    fn equality_on_arrays() {
        check_table(&[
            (r#"{"tags": "green"}"#, true),
            (r#"{"tags": "purple"}"#, false),
            (r#"{"tags": ["red", "green", "blue"]}"#, true),
            (r#"{"tags": ["red", "green"]}"#, false),
            (r#"{"tags": ["green", "red", "blue"]}"#, false),
            (r#"{"nums": 5.0}"#, true),
            (r#"{"matrix": [3, 4]}"#, true),
            (r#"{"matrix": [4, 3]}"#, false),
            (r#"{"matrix": 3}"#, false),
        ]);
    }

    #[test]
    fn null_equality_means_missing_or_null() {
        check_table(&[
            (r#"{"nothing": null}"#, true),
            (r#"{"missing": null}"#, true),
            (r#"{"name": null}"#, false),
            (r#"{"nothing": {"$eq": null}}"#, true),
            (r#"{"missing": {"$eq": null}}"#, true),
            (r#"{"name": {"$eq": null}}"#, false),
            (r#"{"address.nope": null}"#, true),
        ]);
    }

    #[test]
    fn parse_types_equality() {
        check_table(&[
            (r#"{"owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"}}"#, true),
            (r#"{"owner": {"__type": "Pointer", "className": "_User", "objectId": "u1", "extra": 1}}"#, true),
            (r#"{"owner": {"__type": "Pointer", "className": "Other", "objectId": "u1"}}"#, false),
            (r#"{"owner": {"__type": "Pointer", "className": "_User", "objectId": "u9"}}"#, false),
            (r#"{"friends": {"__type": "Pointer", "className": "_User", "objectId": "u3"}}"#, true),
            (r#"{"friends": {"__type": "Pointer", "className": "_User", "objectId": "u1"}}"#, false),
            (r#"{"born": {"__type": "Date", "iso": "1990-05-01T00:00:00.000Z"}}"#, true),
            (r#"{"born": {"__type": "Date", "iso": "1990-05-01T00:00:00Z"}}"#, true),
            (r#"{"born": {"__type": "Date", "iso": "1990-05-01T02:00:00+02:00"}}"#, true),
            (r#"{"born": {"__type": "Date", "iso": "1990-05-01T00:00:00.001Z"}}"#, false),
            (r#"{"createdAt": {"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"}}"#, true),
            (r#"{"createdAt": {"__type": "Date", "iso": "2015-03-24T20:19:00.543Z"}}"#, false),
            (r#"{"createdAt": "2015-03-24T20:19:00.542Z"}"#, true),
            (r#"{"createdAt": "2015-03-24T21:19:00.542+01:00"}"#, true),
            (r#"{"updatedAt": "2015-03-25T10:00:00Z"}"#, true),
            (r#"{"location": {"__type": "GeoPoint", "latitude": 48.8566, "longitude": 2.3522}}"#, true),
            (r#"{"location": {"__type": "GeoPoint", "latitude": 48.8566, "longitude": 2.35}}"#, false),
            (r#"{"photo": {"__type": "File", "name": "a.png", "url": "http://elsewhere/a.png"}}"#, true),
            (r#"{"photo": {"__type": "File", "name": "b.png", "url": "http://files/a.png"}}"#, false),
            (r#"{"blob": {"__type": "Bytes", "base64": "AAEC"}}"#, true),
            (r#"{"blob": {"__type": "Bytes", "base64": "AAED"}}"#, false),
            (r#"{"address": {"city": "Paris", "zip": "75001", "floor": 3.0, "lines": ["1 rue X", "Bât B"]}}"#, true),
            (r#"{"address": {"zip": "75001", "floor": 3, "lines": ["1 rue X", "Bât B"], "city": "Paris"}}"#, true),
            (r#"{"address": {"city": "Paris"}}"#, false),
            (r#"{"address": {}}"#, false),
        ]);
    }

    #[test]
    fn eq_and_ne() {
        check_table(&[
            (r#"{"name": {"$eq": "Alice"}}"#, true),
            (r#"{"name": {"$eq": "Bob"}}"#, false),
            (r#"{"tags": {"$eq": "red"}}"#, true),
            (r#"{"owner": {"$eq": {"__type": "Pointer", "className": "_User", "objectId": "u1"}}}"#, true),
            (r#"{"name": {"$ne": "Bob"}}"#, true),
            (r#"{"name": {"$ne": "Alice"}}"#, false),
            (r#"{"name": {"$ne": null}}"#, true),
            (r#"{"missing": {"$ne": null}}"#, false),
            (r#"{"nothing": {"$ne": null}}"#, false),
            (r#"{"missing": {"$ne": "x"}}"#, true),
            (r#"{"tags": {"$ne": "red"}}"#, false),
            (r#"{"tags": {"$ne": "purple"}}"#, true),
            (r#"{"score": {"$ne": "42"}}"#, true),
            (r#"{"score": {"$ne": 42}}"#, false),
            (r#"{"active": {"$ne": false}}"#, true),
            (r#"{"active": {"$ne": true}}"#, false),
            (r#"{"owner": {"$ne": {"__type": "Pointer", "className": "_User", "objectId": "u2"}}}"#, true),
            (r#"{"createdAt": {"$ne": {"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"}}}"#, false),
        ]);
    }

    #[test]
    fn ordering_comparisons() {
        check_table(&[
            (r#"{"score": {"$gt": 41}}"#, true),
            (r#"{"score": {"$gt": 42}}"#, false),
            (r#"{"score": {"$gte": 42}}"#, true),
            (r#"{"score": {"$gte": 42.5}}"#, false),
            (r#"{"score": {"$lt": 42.5}}"#, true),
            (r#"{"score": {"$lt": 42}}"#, false),
            (r#"{"score": {"$lte": 42}}"#, true),
            (r#"{"score": {"$lte": 41}}"#, false),
            (r#"{"score": {"$gt": 40, "$lt": 50}}"#, true),
            (r#"{"score": {"$gt": 40, "$lt": 41}}"#, false),
            (r#"{"ratio": {"$gt": -1}}"#, true),
            (r#"{"name": {"$gt": "Al"}}"#, true),
            (r#"{"name": {"$lt": "B"}}"#, true),
            (r#"{"name": {"$lt": "Alice"}}"#, false),
            (r#"{"name": {"$lte": "Alice"}}"#, true),
            (r#"{"name": {"$gt": "alice"}}"#, false),
            (r#"{"nums": {"$gt": 9}}"#, true),
            (r#"{"nums": {"$gt": 10}}"#, false),
            (r#"{"nums": {"$lt": 2}}"#, true),
            (r#"{"nums": {"$lt": 1}}"#, false),
            (r#"{"nothing": {"$lte": null}}"#, true),
            (r#"{"missing": {"$gte": null}}"#, true),
            (r#"{"nothing": {"$lt": null}}"#, false),
            (r#"{"score": {"$lte": null}}"#, false),
        ]);
    }

    #[test]
    fn ordering_type_mismatches_never_match() {
        check_table(&[
            (r#"{"score": {"$gt": "1"}}"#, false),
            (r#"{"score": {"$lt": "9"}}"#, false),
            (r#"{"name": {"$gt": 1}}"#, false),
            (r#"{"active": {"$gt": false}}"#, false),
            (r#"{"active": {"$gte": true}}"#, false),
            (r#"{"missing": {"$lt": 100}}"#, false),
            (r#"{"missing": {"$gte": 0}}"#, false),
            (r#"{"born": {"$gt": "1980-01-01T00:00:00Z"}}"#, false),
            (r#"{"born": {"$gt": 0}}"#, false),
            (r#"{"owner": {"$gt": {"__type": "Pointer", "className": "_User", "objectId": "u0"}}}"#, false),
            (r#"{"address": {"$gt": {"city": "A"}}}"#, false),
            (r#"{"name": {"$gt": {"__type": "Date", "iso": "1980-01-01T00:00:00Z"}}}"#, false),
        ]);
    }

    #[test]
    fn date_comparisons() {
        check_table(&[
            (r#"{"born": {"$lt": {"__type": "Date", "iso": "1991-01-01T00:00:00Z"}}}"#, true),
            (r#"{"born": {"$gt": {"__type": "Date", "iso": "1991-01-01T00:00:00Z"}}}"#, false),
            (r#"{"born": {"$gte": {"__type": "Date", "iso": "1990-05-01T00:00:00.000Z"}}}"#, true),
            (r#"{"born": {"$gt": {"__type": "Date", "iso": "1990-05-01T00:00:00.000Z"}}}"#, false),
            (r#"{"createdAt": {"$gt": {"__type": "Date", "iso": "2015-03-24T20:19:00.000Z"}}}"#, true),
            (r#"{"createdAt": {"$lt": {"__type": "Date", "iso": "2015-03-24T20:19:00.000Z"}}}"#, false),
            (r#"{"createdAt": {"$lte": {"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"}}}"#, true),
            (r#"{"createdAt": {"$gt": "2015-03-24T00:00:00Z"}}"#, true),
            (r#"{"createdAt": {"$gt": "2015-03-25"}}"#, false),
            (r#"{"updatedAt": {"$gt": {"__type": "Date", "iso": "2015-03-25T11:00:00+02:00"}}}"#, true),
            (r#"{"updatedAt": {"$gt": {"__type": "Date", "iso": "2015-03-25T11:00:00Z"}}}"#, false),
            (r#"{"createdAt": {"$lt": {"$relativeTime": "1 day ago"}}}"#, true),
            (r#"{"createdAt": {"$gt": {"$relativeTime": "in 1 year"}}}"#, false),
            (r#"{"born": {"$lt": {"$relativeTime": "now"}}}"#, true),
            (r#"{"born": {"$gt": {"$relativeTime": "2 weeks ago"}}}"#, false),
        ]);
    }

    #[test]
    fn in_and_nin() {
        check_table(&[
            (r#"{"name": {"$in": ["Bob", "Alice"]}}"#, true),
            (r#"{"name": {"$in": ["Bob"]}}"#, false),
            (r#"{"name": {"$in": []}}"#, false),
            (r#"{"score": {"$in": [1, 42.0]}}"#, true),
            (r#"{"score": {"$in": ["42"]}}"#, false),
            (r#"{"tags": {"$in": ["purple", "blue"]}}"#, true),
            (r#"{"tags": {"$in": ["purple"]}}"#, false),
            (r#"{"missing": {"$in": [null, 1]}}"#, true),
            (r#"{"nothing": {"$in": [null]}}"#, true),
            (r#"{"missing": {"$in": [1]}}"#, false),
            (r#"{"active": {"$in": [true]}}"#, true),
            (r#"{"active": {"$in": [false]}}"#, false),
            (r#"{"owner": {"$in": [{"__type": "Pointer", "className": "_User", "objectId": "u1"}]}}"#, true),
            (r#"{"owner": {"$in": [{"__type": "Pointer", "className": "Post", "objectId": "u1"}]}}"#, false),
            (r#"{"friends": {"$in": [{"__type": "Pointer", "className": "_User", "objectId": "u3"}]}}"#, true),
            (r#"{"born": {"$in": [{"__type": "Date", "iso": "1990-05-01T00:00:00Z"}]}}"#, true),
            (r#"{"born": {"$in": ["1990-05-01T00:00:00Z"]}}"#, false),
            (r#"{"createdAt": {"$in": ["2015-03-24T20:19:00.542Z"]}}"#, true),
            (r#"{"createdAt": {"$in": [{"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"}]}}"#, true),
            (r#"{"matrix": {"$in": [[3, 4]]}}"#, true),
            (r#"{"matrix": {"$in": [[1, 2, 3]]}}"#, false),
            (r#"{"photo": {"$in": [{"__type": "File", "name": "a.png"}]}}"#, true),
            (
                r#"{"address": {"$in": [{"city": "Paris", "zip": "75001", "floor": 3, "lines": ["1 rue X", "Bât B"]}]}}"#,
                true,
            ),
            (r#"{"name": {"$nin": ["Bob"]}}"#, true),
            (r#"{"name": {"$nin": ["Alice", "Bob"]}}"#, false),
            (r#"{"name": {"$nin": []}}"#, true),
            (r#"{"tags": {"$nin": ["green"]}}"#, false),
            (r#"{"tags": {"$nin": ["purple"]}}"#, true),
            (r#"{"missing": {"$nin": ["x"]}}"#, true),
            (r#"{"missing": {"$nin": [null]}}"#, false),
            (r#"{"score": {"$nin": ["42"]}}"#, true),
            (r#"{"owner": {"$nin": [{"__type": "Pointer", "className": "_User", "objectId": "u1"}]}}"#, false),
        ]);
    }

    #[test]
    fn all_and_contained_by() {
        check_table(&[
            (r#"{"tags": {"$all": ["red", "blue"]}}"#, true),
            (r#"{"tags": {"$all": ["red", "purple"]}}"#, false),
            (r#"{"tags": {"$all": []}}"#, false),
            (r#"{"nums": {"$all": [10, 1.0]}}"#, true),
            (r#"{"name": {"$all": ["Alice"]}}"#, true),
            (r#"{"missing": {"$all": ["x"]}}"#, false),
            (
                r#"{"friends": {"$all": [{"__type": "Pointer", "className": "_User", "objectId": "u2"},
                                         {"__type": "Pointer", "className": "_User", "objectId": "u3"}]}}"#,
                true,
            ),
            (r#"{"tags": {"$all": [{"$regex": "^\\Qre\\E"}, {"$regex": "^b"}]}}"#, true),
            (r#"{"tags": {"$all": [{"$regex": "^RE", "$options": "i"}]}}"#, true),
            (r#"{"tags": {"$all": [{"$regex": "^re"}, {"$regex": "^p"}]}}"#, false),
            (r#"{"tags": {"$containedBy": ["red", "green", "blue", "purple"]}}"#, true),
            (r#"{"tags": {"$containedBy": ["blue", "green", "red"]}}"#, true),
            (r#"{"tags": {"$containedBy": ["red", "green"]}}"#, false),
            (r#"{"tags": {"$containedBy": []}}"#, false),
            (r#"{"nums": {"$containedBy": [1, 5, 10.0, 11]}}"#, true),
            (r#"{"nums": {"$containedBy": ["1", "5", "10"]}}"#, false),
            (r#"{"missing": {"$containedBy": ["x"]}}"#, true),
        ]);
    }

    #[test]
    fn exists() {
        check_table(&[
            (r#"{"name": {"$exists": true}}"#, true),
            (r#"{"name": {"$exists": false}}"#, false),
            (r#"{"missing": {"$exists": false}}"#, true),
            (r#"{"missing": {"$exists": true}}"#, false),
            (r#"{"nothing": {"$exists": true}}"#, true),
            (r#"{"tags": {"$exists": true}}"#, true),
            (r#"{"name": {"$exists": true, "$ne": "Bob"}}"#, true),
        ]);
    }

    #[test]
    fn regex() {
        check_table(&[
            (r#"{"name": {"$regex": "^Al"}}"#, true),
            (r#"{"name": {"$regex": "^al"}}"#, false),
            (r#"{"name": {"$regex": "^al", "$options": "i"}}"#, true),
            (r#"{"name": {"$regex": "ice$"}}"#, true),
            (r#"{"name": {"$regex": "^\\QAl\\E"}}"#, true),
            (r#"{"name": {"$regex": "\\Q.\\E"}}"#, false),
            (r#"{"name": {"$regex": "\\Qlic"}}"#, true),
            (r#"{"name": {"$regex": "\\."}}"#, false),
            (r#"{"name": {"$regex": "."}}"#, true),
            (r#"{"name": {"$regex": "\\d"}}"#, false),
            (r#"{"name": {"$regex": ""}}"#, true),
            (r#"{"bio": {"$regex": "^line two$", "$options": "im"}}"#, true),
            (r#"{"bio": {"$regex": "^line two$", "$options": "i"}}"#, false),
            (r#"{"bio": {"$regex": "one.line", "$options": "s"}}"#, true),
            (r#"{"bio": {"$regex": "one.line"}}"#, false),
            (r#"{"name": {"$regex": "A l i c e", "$options": "x"}}"#, true),
            (r#"{"name": {"$regex": "A l i c e"}}"#, false),
            (r#"{"name": {"$regex": "^al", "$options": ""}}"#, false),
            (r#"{"tags": {"$regex": "^gr"}}"#, true),
            (r#"{"tags": {"$regex": "^pu"}}"#, false),
            (r#"{"score": {"$regex": "42"}}"#, false),
            (r#"{"missing": {"$regex": ".*"}}"#, false),
            (r#"{"nothing": {"$regex": ".*"}}"#, false),
            (r#"{"address.city": {"$regex": "^Par"}}"#, true),
        ]);
    }

    #[test]
    fn dotted_keys() {
        check_table(&[
            (r#"{"address.city": "Paris"}"#, true),
            (r#"{"address.city": "Lyon"}"#, false),
            (r#"{"address.floor": {"$gte": 3}}"#, true),
            (r#"{"address.floor": {"$gt": 3}}"#, false),
            (r#"{"address.lines": "Bât B"}"#, true),
            (r#"{"address.lines.0": "1 rue X"}"#, true),
            (r#"{"address.lines.1": "1 rue X"}"#, false),
            (r#"{"address.lines.9": {"$exists": false}}"#, true),
            (r#"{"address.city": {"$exists": true}}"#, true),
            (r#"{"address.country": {"$exists": true}}"#, false),
            (r#"{"address.city.name": {"$exists": false}}"#, true),
            (r#"{"name.first": {"$exists": true}}"#, false),
            (r#"{"owner.objectId": "u1"}"#, true),
            (r#"{"address.city": {"$in": ["Lyon", "Paris"]}}"#, true),
        ]);
    }

    #[test]
    fn logical_operators() {
        check_table(&[
            (r#"{"$or": [{"name": "Bob"}, {"score": 42}]}"#, true),
            (r#"{"$or": [{"name": "Bob"}, {"score": 41}]}"#, false),
            (r#"{"$and": [{"name": "Alice"}, {"score": 42}]}"#, true),
            (r#"{"$and": [{"name": "Alice"}, {"score": 41}]}"#, false),
            (r#"{"$nor": [{"name": "Bob"}, {"score": 41}]}"#, true),
            (r#"{"$nor": [{"name": "Bob"}, {"score": 42}]}"#, false),
            (r#"{"$or": [{}]}"#, true),
            (r#"{"$nor": [{}]}"#, false),
            (r#"{"$or": [{"score": 1}], "name": "Alice"}"#, false),
            (r#"{"$or": [{"score": 42}], "name": "Alice"}"#, true),
            (r#"{"$or": [{"$and": [{"name": "Alice"}, {"active": false}]}, {"$nor": [{"tags": "red"}]}]}"#, false),
            (r#"{"$or": [{"$and": [{"name": "Alice"}, {"active": true}]}, {"$nor": [{"tags": "red"}]}]}"#, true),
            (
                r#"{"$and": [{"$or": [{"score": 1}, {"score": 42}]}, {"$or": [{"name": "Alice"}]}], "active": true}"#,
                true,
            ),
            (r#"{"$nor": [{"$or": [{"score": 1}, {"name": "Bob"}]}]}"#, true),
            (r#"{"$nor": [{"$and": [{"score": 42}, {"name": "Alice"}]}]}"#, false),
        ]);
    }

    #[test]
    fn odd_stored_values_do_not_panic() {
        let object = obj!({
            "objectId": 7,
            "createdAt": "yesterday",
            "location": {"__type": "GeoPoint", "latitude": "x"},
            "area": {"__type": "Polygon", "coordinates": [[0, 0], ["a", 1], [1, 1]]},
            "born": {"__type": "Date", "iso": "2015-99-99"},
            "owner": {"__type": "Pointer", "className": 1},
            "tags": [null, [1], {"a": 1}]
        });
        let cases = [
            json!({"createdAt": {"$gt": {"__type": "Date", "iso": "2000-01-01T00:00:00Z"}}}),
            json!({"location": {"$nearSphere": {"__type": "GeoPoint", "latitude": 0, "longitude": 0}}}),
            json!({"area": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 0.5, "longitude": 0.5}}}}),
            json!({"born": {"$lt": {"__type": "Date", "iso": "2100-01-01T00:00:00Z"}}}),
            json!({"owner": {"__type": "Pointer", "className": "A", "objectId": "x"}}),
            json!({"tags": {"$regex": "a"}}),
            json!({"objectId": "7"}),
        ];
        for where_ in cases {
            assert!(!Query::parse(&where_).unwrap().matches(&object), "{where_}");
        }
        assert!(Query::parse(&json!({"createdAt": "yesterday"})).unwrap().matches(&object));
        assert!(Query::parse(&json!({"tags": null})).unwrap().matches(&object));
        assert!(Query::parse(&json!({"tags": [1]})).unwrap().matches(&object));
    }
}
