//! Parse REST queries evaluated against objects held in memory: the `where` clause of
//! `GET /classes/:className`, plus `order` and `keys`.
//!
//! The semantics follow Parse Server on MongoDB, because that is what clients were written
//! against:
//!
//! * Equality on an array field also matches when the array *contains* the value, and every
//!   comparison operator (`$lt`, `$regex`, `$in`, ...) likewise matches when any element
//!   satisfies it; the negations (`$ne`, `$nin`, `$notInQuery`, `$dontSelect`) are the exact
//!   complement of their positive forms, so `{"tags": {"$ne": "a"}}` rejects `["a", "b"]`.
//! * `null` equality means "missing or null"; `$exists` only asks whether the key is present.
//! * Numbers compare by value whatever their JSON spelling (`1 == 1.0`), strings byte-wise,
//!   Dates by instant. `createdAt`/`updatedAt` are stored as bare ISO strings in the REST
//!   representation but are Dates to Parse, so on those two keys strings on either side are
//!   read as instants. Pointers compare by `className` + `objectId` only (an included object,
//!   `"__type": "Object"`, counts as a pointer to itself), Files by name.
//! * Comparing values of incompatible types never matches (so its negation always does).
//!
//! Work is split so that [`Query::matches`] stays allocation-free on a scan of thousands of
//! objects: [`Query::parse`] validates everything up front, compiles regexes, turns Date
//! operands into millisecond instants and `$in` lists into hash sets, and pre-splits dotted
//! keys. Subqueries (`$inQuery`, `$select`, `$relatedTo`) cannot be answered here because they
//! need the store, so the caller runs [`Query::subqueries`] and hands the results back through
//! [`Query::resolve`].
//!
//! Known differences from MongoDB: a dotted key does not fan out over arrays of objects
//! (`"items.name"` does not look inside `[{"name": ..}]`, though a numeric segment such as
//! `"items.0.name"` indexes into an array), and `$regex` uses the `regex` crate's syntax
//! (no look-around or back-references) with PCRE's `\Q...\E` quoting translated, since the
//! Parse SDKs build `startsWith`/`contains` queries out of it.
//!
//! This module holds the compiled tree and what the planner reads off it (the index
//! constraints); `compile` builds the tree from a `where`, `evaluate` matches it, `geo`
//! holds the GeoPoint operators, `order` the `order` and `keys` parameters, and `pushdown`
//! translates the tree for a store that answers queries itself.

use std::collections::HashSet;
use std::ops::Bound;

use regex::Regex;
use serde_json::{Map, Value};

use super::index::{Constraint, Key, Probe};
use super::text_search::TextSearch;
use compile::{answer_operand, Budget, Compiler, Operand, ValueSet};
pub use order::{project_keys, Order};

mod compile;
mod evaluate;
mod geo;
mod order;
mod prefilter;
mod pushdown;

/// A `where`, `order` or subquery answer that cannot be evaluated. The HTTP layer reports it as
/// Parse error 102 ("invalid query"); the message says what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Invalid(String),
    /// An operand of the wrong shape where Parse Server answers 107 (`$text`, `$polygon`).
    #[error("{0}")]
    BadJson(String),
}

fn invalid<T>(message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError::Invalid(message.into()))
}

/// A malformed operand Parse Server answers with 107 (INVALID_JSON) rather than 102.
fn bad_json<T>(message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError::BadJson(message.into()))
}

/// Bounds recursion through `$or`/`$and`/`$nor` and nested subquery clauses: a hostile
/// `where` must produce an error, not a stack overflow.
const MAX_DEPTH: usize = 32;

/// Most clauses one `$or`/`$and`/`$nor` may list. A query is matched against every object it
/// scans, so its size multiplies the cost of the scan; these bounds keep one request's work
/// proportional to the data, not to what a client chooses to send.
const MAX_CLAUSES: usize = 1_000;

/// Most clauses and conditions one `where` may hold in all, subqueries included.
const MAX_NODES: usize = 10_000;

/// Most values one `$in`/`$nin`/`$all`/`$containedBy` array may list.
const MAX_ARRAY_OPERAND: usize = 10_000;

/// Most regexes one `where` may compile, their longest source, and the compiled size each may
/// reach (the `regex` crate's own default is 10 MB per regex).
const MAX_REGEXES: usize = 256;
const MAX_REGEX_LEN: usize = 1_000;
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// A subquery the caller must run against the store before [`Query::matches`] can be used.
#[derive(Debug, Clone, PartialEq)]
pub enum Subquery {
    /// `$inQuery`/`$notInQuery`: the caller runs `where_` on `class_name` and answers with the
    /// objectIds found.
    Ids { class_name: String, where_: Value },
    /// `$select`/`$dontSelect`: the caller runs `where_` on `class_name` and answers with the
    /// values of `key` found.
    Values { class_name: String, where_: Value, key: String },
    /// `$relatedTo`: `{"object": <Pointer>, "key": "k"}` — the caller answers with the
    /// objectIds related to that object through its relation field `k`.
    Related { owner_class: String, owner_id: String, key: String },
}

/// The result of one [`Subquery`]: `Ids` for `Subquery::Ids` and `Subquery::Related`,
/// `Values` for `Subquery::Values`.
#[derive(Debug, Clone, PartialEq)]
pub enum SubqueryAnswer {
    Ids(Vec<String>),
    Values(Vec<Value>),
}

/// A compiled `where` clause.
#[derive(Debug, Clone)]
pub struct Query {
    root: Node,
    slots: Vec<Slot>,
    /// One entry per slot; `None` until [`Query::resolve`] has been called.
    answers: Vec<Option<Answer>>,
}

/// A subquery together with what is needed to compile its answer.
#[derive(Debug, Clone)]
struct Slot {
    subquery: Subquery,
    /// `$select` answers are compiled like `$in` operands, which depends on the field.
    date_field: bool,
}

#[derive(Debug, Clone)]
enum Answer {
    Ids(HashSet<String>),
    Values(Box<ValueSet>),
}

#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Nor(Vec<Node>),
    Field(FieldNode),
    RelatedTo { slot: usize },
}

/// All constraints on one key, e.g. `{"score": {"$gt": 1, "$lt": 5}}`.
#[derive(Debug, Clone)]
struct FieldNode {
    key: String,
    path: Vec<Segment>,
    /// `createdAt`/`updatedAt`: stored as bare ISO strings, compared as instants.
    date_field: bool,
    conds: Vec<Cond>,
}

/// One segment of a dotted key; `index` is computed once so that lookups into arrays
/// (`"scores.0"`) don't parse numbers on every match.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    name: String,
    index: Option<usize>,
}

#[derive(Debug, Clone)]
enum Cond {
    Eq(Operand),
    Ne(Operand),
    Compare(CompareOp, Operand),
    In(Box<ValueSet>),
    Nin(Box<ValueSet>),
    ContainedBy(Box<ValueSet>),
    All(Vec<AllItem>),
    Exists(bool),
    Regex(Regex),
    InQuery { slot: usize, class_name: String, negate: bool },
    Select { slot: usize, negate: bool },
    Near { lat: f64, lng: f64, max_radians: Option<f64> },
    WithinBox { south: f64, west: f64, north: f64, east: f64 },
    WithinPolygon(Vec<(f64, f64)>),
    WithinSphere { lat: f64, lng: f64, radians: f64 },
    Intersects { lat: f64, lng: f64 },
    Text(Box<TextSearch>),
}

#[derive(Debug, Clone, Copy)]
enum CompareOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// `$all` takes either plain values or, for the SDKs' `containsAllStartingWith`, regexes.
#[derive(Debug, Clone)]
enum AllItem {
    Value(Operand),
    Regex(Regex),
}

impl Query {
    /// Compiles `where` (must be a JSON object; `null`/absent means match-all).
    ///
    /// Unknown `$operators`, wrong operand types (e.g. `$in` not an array, `$regex` not a string
    /// or an invalid regex, `$exists` not a bool, `$or` not an array of objects) →
    /// [`QueryError::Invalid`] with a clear message.
    ///
    /// Size is bounded too, so that no `where` costs more to match than the data it scans:
    /// at most [`MAX_CLAUSES`] clauses per `$or`/`$and`/`$nor`, [`MAX_NODES`] clauses and
    /// conditions in all (nested subqueries included), [`MAX_ARRAY_OPERAND`] values per array
    /// operand, and [`MAX_REGEXES`] regexes of at most [`MAX_REGEX_LEN`] characters.
    pub fn parse(where_: &Value) -> Result<Query, QueryError> {
        let mut budget = Budget::default();
        Self::parse_nested(where_, 0, &mut budget)
    }

    fn parse_nested(where_: &Value, depth: usize, budget: &mut Budget) -> Result<Query, QueryError> {
        let mut compiler = Compiler { slots: Vec::new(), budget };
        let root = match where_ {
            Value::Null => Node::And(Vec::new()),
            Value::Object(clauses) => compiler.where_clause(clauses, depth)?,
            other => return invalid(format!("where must be a JSON object, got {}", type_name(other))),
        };
        let slots = compiler.slots;
        let answers = vec![None; slots.len()];
        Ok(Query { root, slots, answers })
    }

    /// Every key the `where` filters on (dotted as written), outside subqueries, so that the
    /// caller can refuse keys the reader may not query. The keys subqueries filter on belong
    /// to their own classes and are found by compiling their `where`s; the keys `$select`
    /// reads and `$relatedTo` follows are in [`Query::subqueries`].
    pub fn keys(&self) -> Vec<&str> {
        fn collect<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
            match node {
                Node::And(nodes) | Node::Or(nodes) | Node::Nor(nodes) => nodes.iter().for_each(|node| collect(node, out)),
                Node::Field(field) => out.push(field.key.as_str()),
                Node::RelatedTo { .. } => {}
            }
        }
        let mut out = Vec::new();
        collect(&self.root, &mut out);
        out
    }

    /// The top-level fields [`Query::matches`] reads (a dotted key reads its first segment's
    /// field whole; `$relatedTo` reads `objectId`), so a scan can match a document on those
    /// fields decoded alone.
    pub fn fields_read(&self) -> Vec<&str> {
        fn collect<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
            match node {
                Node::And(nodes) | Node::Or(nodes) | Node::Nor(nodes) => nodes.iter().for_each(|node| collect(node, out)),
                Node::Field(field) => out.extend(field.path.first().map(|segment| segment.name.as_str())),
                Node::RelatedTo { .. } => out.push("objectId"),
            }
        }
        let mut out = Vec::new();
        collect(&self.root, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Subqueries that must be run against the store before matching, in a stable order (the
    /// order in which they appear in the `where` object).
    pub fn subqueries(&self) -> Vec<Subquery> {
        self.slots.iter().map(|slot| slot.subquery.clone()).collect()
    }

    /// Gives the answers for the subqueries (same order as [`Query::subqueries`]). Calling it
    /// again replaces earlier answers.
    pub fn resolve(&mut self, answers: Vec<SubqueryAnswer>) -> Result<(), QueryError> {
        if answers.len() != self.slots.len() {
            return invalid(format!("expected {} subquery answers, got {}", self.slots.len(), answers.len()));
        }
        let mut resolved = Vec::with_capacity(answers.len());
        for (index, (slot, answer)) in self.slots.iter().zip(answers).enumerate() {
            let answer = match (&slot.subquery, answer) {
                (Subquery::Ids { .. } | Subquery::Related { .. }, SubqueryAnswer::Ids(ids)) => {
                    Answer::Ids(ids.into_iter().collect())
                }
                (Subquery::Values { .. }, SubqueryAnswer::Values(values)) => {
                    let mut set = ValueSet::default();
                    for value in &values {
                        set.insert(answer_operand(value, slot.date_field));
                    }
                    Answer::Values(Box::new(set))
                }
                (Subquery::Values { .. }, SubqueryAnswer::Ids(_)) => {
                    return invalid(format!("subquery {index} needs a Values answer, got Ids"));
                }
                (_, SubqueryAnswer::Values(_)) => {
                    return invalid(format!("subquery {index} needs an Ids answer, got Values"));
                }
            };
            resolved.push(Some(answer));
        }
        self.answers = resolved;
        Ok(())
    }

    /// If the where-clause pins `objectId` to one value by plain equality, that value (lets the
    /// caller skip a scan). Only conjuncts count: `$or` branches don't pin anything.
    pub fn object_id_equality(&self) -> Option<&str> {
        find_in_conjuncts(&self.root, &|field| {
            if field.key != "objectId" {
                return None;
            }
            field.conds.iter().find_map(|cond| match cond {
                Cond::Eq(Operand::String(id)) => Some(id.as_str()),
                _ => None,
            })
        })
    }

    /// The constraints an ordered index can serve: for each top-level field of the top-level
    /// conjunction, its equality, else its `$in`, else its range (`$gt/$gte/$lt/$lte`). Each
    /// constraint's keys cover every value the field's conditions accept, so the ids an index
    /// yields for it are a superset of the matches (the caller still matches each one).
    /// `createdAt`/`updatedAt` are left out: their operands are instants, not stored strings.
    pub fn index_constraints(&self) -> Vec<Constraint> {
        let mut fields = Vec::new();
        conjuncts(&self.root, &mut fields);
        fields
            .into_iter()
            .filter(|field| field.path.len() == 1 && field.path[0].index.is_none() && !field.date_field)
            .filter_map(|field| Some(Constraint { field: field.key.clone(), probe: probe_of(&field.conds)? }))
            .collect()
    }

    /// The query's one constraint when an index answers it exactly: the `where` is a single
    /// top-level field whose conditions are one equality, one `$in`, or comparisons with
    /// operands of one type. Then every id the index yields matches, and a count need not
    /// read the objects it counts (beyond what their ACLs require).
    pub fn exact_constraint(&self) -> Option<Constraint> {
        let Node::And(nodes) = &self.root else { return None };
        let [Node::Field(field)] = nodes.as_slice() else { return None };
        let exact = match field.conds.as_slice() {
            // A pointer's key is its objectId alone: pointers to other classes share it.
            [Cond::Eq(Operand::Pointer { .. })] => false,
            [Cond::Eq(operand)] => index_key(operand).is_some(),
            [Cond::In(set)] => set.pointers.is_empty(),
            conds => {
                let kinds: Vec<Option<bool>> = conds
                    .iter()
                    .map(|cond| match cond {
                        Cond::Compare(_, Operand::Number(n)) if n.is_finite() => Some(true),
                        Cond::Compare(_, Operand::String(_)) => Some(false),
                        _ => None,
                    })
                    .collect();
                !kinds.is_empty() && kinds.iter().all(|kind| kind.is_some() && *kind == kinds[0])
            }
        };
        if !exact {
            return None;
        }
        self.index_constraints().pop()
    }
}

/// Searches the top-level conjunction (including nested `$and`s) for a field node `pick`
/// accepts; disjunctions and negations are skipped because nothing under them is guaranteed.
fn find_in_conjuncts<'a, T>(node: &'a Node, pick: &impl Fn(&'a FieldNode) -> Option<T>) -> Option<T> {
    match node {
        Node::And(nodes) => nodes.iter().find_map(|node| find_in_conjuncts(node, pick)),
        Node::Field(field) => pick(field),
        Node::Or(_) | Node::Nor(_) | Node::RelatedTo { .. } => None,
    }
}

/// Every field node of the top-level conjunction (including nested `$and`s).
fn conjuncts<'a>(node: &'a Node, out: &mut Vec<&'a FieldNode>) {
    match node {
        Node::And(nodes) => nodes.iter().for_each(|node| conjuncts(node, out)),
        Node::Field(field) => out.push(field),
        Node::Or(_) | Node::Nor(_) | Node::RelatedTo { .. } => {}
    }
}

/// The index key of an operand an index can hold (null, a finite number, a string).
fn index_key(operand: &Operand) -> Option<Key> {
    match operand {
        Operand::Null => Some(Key::Null),
        Operand::Number(n) if n.is_finite() => Some(Key::Number(*n)),
        Operand::String(s) => Some(Key::text(s)),
        Operand::Pointer { object_id, .. } => Some(Key::Pointer(object_id.as_str().into())),
        _ => None,
    }
}

/// The index probe covering a field's conditions (all of which must hold): an equality pins
/// one key; `$in` its members (an index holds only nulls, numbers and strings, so members of
/// other types can match nothing it holds, and a missing field is null); comparisons a range
/// within their operand's type, since numbers only compare with numbers and strings with
/// strings.
fn probe_of(conds: &[Cond]) -> Option<Probe> {
    if let Some(key) = conds.iter().find_map(|cond| match cond {
        Cond::Eq(operand) => index_key(operand),
        _ => None,
    }) {
        return Some(Probe::In(vec![key]));
    }
    if let Some(set) = conds.iter().find_map(|cond| match cond {
        Cond::In(set) => Some(set),
        _ => None,
    }) {
        let mut keys: Vec<Key> = set.null.then_some(Key::Null).into_iter().collect();
        keys.extend(set.numbers.iter().map(|bits| Key::Number(f64::from_bits(*bits))).filter(|key| matches!(key, Key::Number(n) if n.is_finite())));
        keys.extend(set.strings.iter().map(|s| Key::text(s)));
        keys.extend(set.pointers.keys().map(|id| Key::Pointer(id.as_str().into())));
        return Some(Probe::In(keys));
    }
    let mut range: Option<(bool, Bound<Key>, Bound<Key>)> = None;
    for cond in conds {
        let Cond::Compare(op, operand) = cond else { continue };
        let (numeric, key) = match operand {
            Operand::Number(n) if n.is_finite() => (true, Key::Number(*n)),
            Operand::String(s) => (false, Key::text(s)),
            _ => continue,
        };
        let (kind, from, to) = range.get_or_insert_with(|| {
            if numeric {
                (true, Bound::Included(Key::Number(f64::NEG_INFINITY)), Bound::Included(Key::Number(f64::INFINITY)))
            } else {
                (false, Bound::Included(Key::text("")), Bound::Unbounded)
            }
        });
        if *kind != numeric {
            continue;
        }
        match op {
            CompareOp::Gt | CompareOp::Gte => {
                let bound = if matches!(op, CompareOp::Gt) { Bound::Excluded(key) } else { Bound::Included(key) };
                if tighter_lower(&bound, from) {
                    *from = bound;
                }
            }
            CompareOp::Lt | CompareOp::Lte => {
                let bound = if matches!(op, CompareOp::Lt) { Bound::Excluded(key) } else { Bound::Included(key) };
                if tighter_upper(&bound, to) {
                    *to = bound;
                }
            }
        }
    }
    range.map(|(_, from, to)| Probe::Range(from, to))
}

fn tighter_lower(new: &Bound<Key>, old: &Bound<Key>) -> bool {
    match (new, old) {
        (_, Bound::Unbounded) => true,
        (Bound::Unbounded, _) => false,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) if a != b => a > b,
        (new, _) => matches!(new, Bound::Excluded(_)),
    }
}

fn tighter_upper(new: &Bound<Key>, old: &Bound<Key>) -> bool {
    match (new, old) {
        (_, Bound::Unbounded) => true,
        (Bound::Unbounded, _) => false,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) if a != b => a < b,
        (new, _) => matches!(new, Bound::Excluded(_)),
    }
}

/// Where keys are Parse field names (`^[A-Za-z_][A-Za-z0-9_]*`), optionally followed by dotted
/// sub-keys into nested objects, which may be any non-empty name not starting with `$`.
fn parse_path(key: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    for (i, part) in key.split('.').enumerate() {
        let first = part.chars().next()?;
        let valid = if i == 0 {
            (first.is_ascii_alphabetic() || first == '_') && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        } else {
            first != '$'
        };
        if !valid {
            return None;
        }
        segments.push(Segment { name: part.to_string(), index: part.parse().ok() });
    }
    Some(segments)
}

fn lookup<'a>(object: &'a Map<String, Value>, path: &[Segment]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut current = object.get(first.name.as_str())?;
    for segment in rest {
        current = match current {
            Value::Object(map) => map.get(segment.name.as_str())?,
            Value::Array(items) => items.get(segment.index?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("fixture must be an object, got {other}"),
        }
    }

    /// `obj!({...})`: a JSON object literal as a `Map`.
    macro_rules! obj {
        ($($json:tt)+) => {
            $crate::data::query::tests::object(serde_json::json!($($json)+))
        };
    }
    pub(super) use obj;

    pub(super) fn json_of(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|error| panic!("bad test JSON {text}: {error}"))
    }

    pub(super) fn fixture() -> Map<String, Value> {
        object(json!({
            "objectId": "obj1",
            "createdAt": "2015-03-24T20:19:00.542Z",
            "updatedAt": "2015-03-25T10:00:00.000Z",
            "score": 42,
            "ratio": 0.5,
            "name": "Alice",
            "active": true,
            "nothing": null,
            "tags": ["red", "green", "blue"],
            "nums": [1, 5, 10],
            "matrix": [[1, 2], [3, 4]],
            "born": {"__type": "Date", "iso": "1990-05-01T00:00:00.000Z"},
            "owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"},
            "friends": [
                {"__type": "Pointer", "className": "_User", "objectId": "u2"},
                {"__type": "Pointer", "className": "_User", "objectId": "u3"}
            ],
            "address": {"city": "Paris", "zip": "75001", "floor": 3, "lines": ["1 rue X", "Bât B"]},
            "location": {"__type": "GeoPoint", "latitude": 48.8566, "longitude": 2.3522},
            "photo": {"__type": "File", "name": "a.png", "url": "http://files/a.png"},
            "blob": {"__type": "Bytes", "base64": "AAEC"},
            "area": {"__type": "Polygon", "coordinates": [[0, 0], [0, 10], [10, 10], [10, 0]]},
            "bio": "Line one\nline TWO"
        }))
    }

    /// Runs every `(where, expected)` case against the fixture and reports all failures at once.
    pub(super) fn check_table(cases: &[(&str, bool)]) {
        let object = fixture();
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(where_, expected)| match Query::parse(&json_of(where_)) {
                Ok(query) if query.matches(&object) == *expected => None,
                Ok(_) => Some(format!("{where_} should be {expected}")),
                Err(error) => Some(format!("{where_} failed to parse: {error}")),
            })
            .collect();
        assert!(failures.is_empty(), "failing cases:\n{}", failures.join("\n"));
    }

    #[test]
    fn match_all() {
        let object = fixture();
        assert!(Query::parse(&Value::Null).unwrap().matches(&object));
        assert!(Query::parse(&json!({})).unwrap().matches(&object));
        assert!(Query::parse(&Value::Null).unwrap().subqueries().is_empty());
    }

    #[test]
    fn object_id_equality() {
        let cases = [
            (json!({"objectId": "abc"}), Some("abc")),
            (json!({"objectId": {"$eq": "abc"}}), Some("abc")),
            (json!({"objectId": "abc", "name": "x"}), Some("abc")),
            (json!({"$and": [{"objectId": "abc"}]}), Some("abc")),
            (json!({"$or": [{"objectId": "abc"}]}), None),
            (json!({"$nor": [{"objectId": "abc"}]}), None),
            (json!({"objectId": {"$in": ["abc"]}}), None),
            (json!({"objectId": {"$ne": "abc"}}), None),
            (json!({"objectId": 5}), None),
            (json!({"owner.objectId": "abc"}), None),
            (json!({}), None),
        ];
        for (where_, expected) in cases {
            let query = Query::parse(&where_).unwrap();
            assert_eq!(query.object_id_equality(), expected, "{where_}");
        }
    }

    #[test]
    fn in_query_flow() {
        let where_ = json!({"owner": {"$inQuery": {"className": "_User", "where": {"name": "x"}, "limit": 5}}});
        let mut query = Query::parse(&where_).unwrap();
        assert_eq!(
            query.subqueries(),
            vec![Subquery::Ids { class_name: "_User".into(), where_: json!({"name": "x"}) }]
        );
        let object = fixture();
        assert!(!query.matches(&object), "unresolved subqueries never match");
        query.resolve(vec![SubqueryAnswer::Ids(vec!["u0".into(), "u1".into()])]).unwrap();
        assert!(query.matches(&object));
        query.resolve(vec![SubqueryAnswer::Ids(vec!["u9".into()])]).unwrap();
        assert!(!query.matches(&object));

        let cases = [
            (r#"{"owner": {"$notInQuery": {"className": "_User", "where": {}}}}"#, vec!["u1"], false),
            (r#"{"owner": {"$notInQuery": {"className": "_User", "where": {}}}}"#, vec!["u2"], true),
            (r#"{"missing": {"$notInQuery": {"className": "_User", "where": {}}}}"#, vec!["u1"], true),
            (r#"{"missing": {"$inQuery": {"className": "_User", "where": {}}}}"#, vec!["u1"], false),
            (r#"{"owner": {"$inQuery": {"className": "Post", "where": {}}}}"#, vec!["u1"], false),
            (r#"{"friends": {"$inQuery": {"className": "_User", "where": {}}}}"#, vec!["u3"], true),
            (r#"{"friends": {"$inQuery": {"className": "_User", "where": {}}}}"#, vec![], false),
            (r#"{"friends": {"$notInQuery": {"className": "_User", "where": {}}}}"#, vec!["u3"], false),
            (r#"{"name": {"$inQuery": {"className": "_User", "where": {}}}}"#, vec!["Alice"], false),
        ];
        for (where_, ids, expected) in cases {
            let mut query = Query::parse(&json_of(where_)).unwrap();
            assert_eq!(query.subqueries().len(), 1, "{where_}");
            query.resolve(vec![SubqueryAnswer::Ids(ids.into_iter().map(String::from).collect())]).unwrap();
            assert_eq!(query.matches(&object), expected, "{where_}");
        }
    }

    #[test]
    fn select_flow() {
        let object = fixture();
        let cases = [
            (
                r#"{"name": {"$select": {"query": {"className": "P", "where": {}}, "key": "n"}}}"#,
                json!(["Bob", "Alice"]),
                true,
            ),
            (r#"{"name": {"$select": {"query": {"className": "P", "where": {}}, "key": "n"}}}"#, json!(["Bob"]), false),
            (r#"{"name": {"$select": {"query": {"className": "P"}, "key": "n"}}}"#, json!([]), false),
            (
                r#"{"name": {"$dontSelect": {"query": {"className": "P", "where": {}}, "key": "n"}}}"#,
                json!(["Alice"]),
                false,
            ),
            (
                r#"{"name": {"$dontSelect": {"query": {"className": "P", "where": {}}, "key": "n"}}}"#,
                json!(["Bob"]),
                true,
            ),
            (r#"{"tags": {"$select": {"query": {"className": "P", "where": {}}, "key": "t"}}}"#, json!(["blue"]), true),
            (r#"{"score": {"$select": {"query": {"className": "P", "where": {}}, "key": "s"}}}"#, json!([42.0]), true),
            (
                r#"{"owner": {"$select": {"query": {"className": "P", "where": {}}, "key": "o"}}}"#,
                json!([{"__type": "Pointer", "className": "_User", "objectId": "u1"}]),
                true,
            ),
            (
                r#"{"createdAt": {"$select": {"query": {"className": "P", "where": {}}, "key": "d"}}}"#,
                json!([{"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"}]),
                true,
            ),
            (
                r#"{"born": {"$select": {"query": {"className": "P", "where": {}}, "key": "d"}}}"#,
                json!([{"__type": "Date", "iso": "garbage"}, {"$odd": 1}]),
                false,
            ),
        ];
        for (where_, values, expected) in cases {
            let mut query = Query::parse(&json_of(where_)).unwrap();
            let subqueries = query.subqueries();
            let [Subquery::Values { class_name, key, .. }] = subqueries.as_slice() else {
                panic!("{where_} should have one Values subquery");
            };
            assert_eq!(class_name, "P");
            assert_eq!(key.len(), 1);
            let Value::Array(values) = values else { unreachable!() };
            query.resolve(vec![SubqueryAnswer::Values(values)]).unwrap();
            assert_eq!(query.matches(&object), expected, "{where_}");
        }
        let query =
            Query::parse(&json_of(r#"{"name": {"$select": {"query": {"className": "P"}, "key": "n"}}}"#)).unwrap();
        assert_eq!(
            query.subqueries(),
            vec![Subquery::Values { class_name: "P".into(), where_: json!({}), key: "n".into() }]
        );
    }

    #[test]
    fn related_to_flow() {
        let where_ = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "Post", "objectId": "p1"}, "key": "likes"}});
        let mut query = Query::parse(&where_).unwrap();
        assert_eq!(
            query.subqueries(),
            vec![Subquery::Related { owner_class: "Post".into(), owner_id: "p1".into(), key: "likes".into() }]
        );
        let object = fixture();
        assert!(!query.matches(&object));
        query.resolve(vec![SubqueryAnswer::Ids(vec!["obj1".into()])]).unwrap();
        assert!(query.matches(&object));
        assert!(!query.matches(&obj!({"objectId": "other"})));
        assert!(!query.matches(&Map::new()));
        query.resolve(vec![SubqueryAnswer::Ids(vec![])]).unwrap();
        assert!(!query.matches(&object));
    }

    #[test]
    fn several_subqueries_keep_a_stable_order() {
        let where_ = json!({
            "name": {"$select": {"query": {"className": "S", "where": {}}, "key": "n"}},
            "$relatedTo": {"object": {"__type": "Pointer", "className": "Post", "objectId": "p1"}, "key": "likes"},
            "$or": [
                {"owner": {"$inQuery": {"className": "_User", "where": {"k": "a"}}}},
                {"owner": {"$notInQuery": {"className": "_User", "where": {"k": "b"}}}}
            ]
        });
        let mut query = Query::parse(&where_).unwrap();
        let subqueries = query.subqueries();
        assert_eq!(subqueries, query.subqueries());
        assert_eq!(subqueries, Query::parse(&where_).unwrap().subqueries());
        let answers: Vec<SubqueryAnswer> = subqueries
            .iter()
            .map(|subquery| match subquery {
                Subquery::Ids { where_, .. } if where_["k"] == "a" => SubqueryAnswer::Ids(vec![]),
                Subquery::Ids { .. } => SubqueryAnswer::Ids(vec!["u1".into()]),
                Subquery::Related { .. } => SubqueryAnswer::Ids(vec!["obj1".into()]),
                Subquery::Values { .. } => SubqueryAnswer::Values(vec![json!("Alice")]),
            })
            .collect();
        assert_eq!(answers.len(), 4);
        query.resolve(answers.clone()).unwrap();
        // owner u1 is neither in the first (empty) answer nor outside the second.
        assert!(!query.matches(&fixture()));
        let relaxed: Vec<SubqueryAnswer> = subqueries
            .iter()
            .zip(answers)
            .map(|(subquery, answer)| match subquery {
                Subquery::Ids { where_, .. } if where_["k"] == "a" => SubqueryAnswer::Ids(vec!["u1".into()]),
                _ => answer,
            })
            .collect();
        query.resolve(relaxed).unwrap();
        assert!(query.matches(&fixture()));
    }

    #[test]
    fn resolve_rejects_mismatched_answers() {
        let mut ids = Query::parse(&json!({"owner": {"$inQuery": {"className": "A", "where": {}}}})).unwrap();
        let mut values =
            Query::parse(&json!({"name": {"$select": {"query": {"className": "A"}, "key": "k"}}})).unwrap();
        let mut none = Query::parse(&json!({"name": "Alice"})).unwrap();
        assert!(matches!(ids.resolve(vec![]), Err(QueryError::Invalid(_))));
        assert!(matches!(
            ids.resolve(vec![SubqueryAnswer::Ids(vec![]), SubqueryAnswer::Ids(vec![])]),
            Err(QueryError::Invalid(_))
        ));
        assert!(matches!(ids.resolve(vec![SubqueryAnswer::Values(vec![])]), Err(QueryError::Invalid(_))));
        assert!(matches!(values.resolve(vec![SubqueryAnswer::Ids(vec![])]), Err(QueryError::Invalid(_))));
        assert!(matches!(none.resolve(vec![SubqueryAnswer::Ids(vec![])]), Err(QueryError::Invalid(_))));
        assert!(none.resolve(vec![]).is_ok());
        assert!(none.matches(&fixture()));
    }

    #[test]
    fn keys_and_order_keys_are_listed() {
        let query = Query::parse(&json!({
            "a": 1,
            "$or": [{"b.c": 2}, {"$nor": [{"_d": 3}]}],
            "p": {"$inQuery": {"className": "X", "where": {"hidden": 1}}},
        }))
        .unwrap();
        let mut keys = query.keys();
        keys.sort();
        assert_eq!(keys, ["_d", "a", "b.c", "p"], "inner wheres belong to their own class");
        assert_eq!(Order::parse("-email,a.b").unwrap().keys(), ["email", "a.b"]);
    }

    #[test]
    fn a_query_matches_its_objects_on_the_fields_it_reads_alone() {
        let pointer = json!({"__type": "Pointer", "className": "A", "objectId": "o"});
        let query = Query::parse(&json!({
            "a.x": {"$gt": 1},
            "$or": [{"b": "s"}, {"$nor": [{"c": {"$exists": true}}]}],
            "$relatedTo": {"object": pointer, "key": "k"},
        }))
        .unwrap();
        assert_eq!(query.fields_read(), ["a", "b", "c", "objectId"], "the first segment of a dotted key, once each");
        let ids = SubqueryAnswer::Ids(vec!["o1".to_string()]);
        let mut query = query;
        query.resolve(vec![ids]).unwrap();
        let whole = object(json!({"objectId": "o1", "a": {"x": 2}, "b": "s", "d": [1, 2], "e": {"b": "t"}}));
        let part: Map<String, Value> = whole.iter().filter(|(k, _)| query.fields_read().contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        assert!(query.matches(&whole) && query.matches(&part));
    }

    #[test]
    fn related_to_refuses_nul_names() {
        let pointer = json!({"__type": "Pointer", "className": "A", "objectId": "x\u{0}y"});
        assert!(Query::parse(&json!({"$relatedTo": {"object": pointer, "key": "k"}})).is_err());
    }

    fn constraints(where_: Value) -> Vec<(String, Probe)> {
        Query::parse(&where_).unwrap().index_constraints().into_iter().map(|c| (c.field, c.probe)).collect()
    }

    #[test]
    fn index_constraints_cover_equalities_sets_and_ranges() {
        let number = |n: f64| Key::Number(n);
        assert_eq!(constraints(json!({"a": 5, "b": null})), [("a".into(), Probe::In(vec![number(5.0)])), ("b".into(), Probe::In(vec![Key::Null]))]);
        let Probe::In(mut keys) = constraints(json!({"a": {"$in": [1, "x", null, true, {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}]}})).remove(0).1 else {
            panic!("an $in is a set of keys")
        };
        keys.sort();
        assert_eq!(keys, [Key::Null, number(1.0), Key::Text("x".into())], "members an index cannot hold can match nothing it holds");
        let pointer = json!({"__type": "Pointer", "className": "A", "objectId": "x"});
        assert_eq!(constraints(json!({"a": pointer})), [("a".into(), Probe::In(vec![Key::Pointer("x".into())]))]);
        assert_eq!(
            constraints(json!({"a": {"$gt": 1, "$gte": 1, "$lt": 9, "$lte": 4}})),
            [("a".into(), Probe::Range(Bound::Excluded(number(1.0)), Bound::Included(number(4.0))))]
        );
        assert_eq!(
            constraints(json!({"a": {"$gte": "m"}})),
            [("a".into(), Probe::Range(Bound::Included(Key::Text("m".into())), Bound::Unbounded))],
            "strings only compare with strings"
        );
        assert_eq!(
            constraints(json!({"a": {"$lt": 3}})),
            [("a".into(), Probe::Range(Bound::Included(number(f64::NEG_INFINITY)), Bound::Excluded(number(3.0))))],
            "numbers only compare with numbers: nulls and strings stay out"
        );
        assert!(constraints(json!({"$and": [{"a": 1}], "$or": [{"b": 1}, {"c": 2}]})).iter().all(|(field, _)| field == "a"));
        for unusable in [
            json!({"a.b": 1}),
            json!({"createdAt": {"$gt": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}}}),
            json!({"a": {"$ne": 1}}),
            json!({"a": {"$exists": true}}),
            json!({"a": true}),
        ] {
            assert_eq!(constraints(unusable.clone()), [], "{unusable}");
        }
    }

    #[test]
    fn exact_constraints_are_one_field_the_index_answers_alone() {
        let exact = |where_: Value| Query::parse(&where_).unwrap().exact_constraint().is_some();
        assert!(exact(json!({"a": 1})));
        assert!(exact(json!({"a": {"$in": [1, 2]}})));
        assert!(exact(json!({"a": {"$gt": 1, "$lte": 5}})));
        assert!(!exact(json!({"a": 1, "b": 2})), "a second field must be matched");
        assert!(!exact(json!({"a": {"$gt": 1, "$lt": "z"}})), "operands of two types");
        assert!(!exact(json!({"a": {"$gt": 1, "$ne": 3}})));
        assert!(!exact(json!({"a": {"$in": [1]}, "$or": [{"b": 1}]})));
        assert!(!exact(json!({})));
        let pointer = json!({"__type": "Pointer", "className": "A", "objectId": "x"});
        assert!(!exact(json!({"a": pointer})), "a pointer's key does not tell its class");
        assert!(!exact(json!({"a": {"$in": [pointer]}})));
    }
}
