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

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::ids::{millis_from_iso, now_millis};
use super::index::{Constraint, Key, Probe};
use super::schema::DEFAULT_FIELDS;
use super::text_search::TextSearch;

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

/// Earth radii Parse Server divides by to turn `$maxDistanceInKilometers`/`InMiles` into
/// radians; the same constants keep our answers identical to theirs at the boundary.
const EARTH_RADIUS_KM: f64 = 6371.0;
const EARTH_RADIUS_MILES: f64 = 3958.8;

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

/// `$all` takes either plain values or, for the SDKs' `containsAllStartingWith`, regexes.
#[derive(Debug, Clone)]
enum AllItem {
    Value(Operand),
    Regex(Regex),
}

/// A query operand, pre-digested so that matching needs no parsing or allocation.
#[derive(Debug, Clone)]
enum Operand {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    /// Milliseconds since the Unix epoch.
    Date(i64),
    Pointer {
        class_name: String,
        object_id: String,
    },
    /// Arrays, nested objects, GeoPoints, Files, Bytes: compared with [`values_equal`].
    Other(Value),
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

/// The operand list of `$in`/`$nin`/`$containedBy` and a `$select` answer, bucketed by type so
/// that membership is a hash lookup rather than a scan of possibly thousands of values.
#[derive(Debug, Clone, Default)]
struct ValueSet {
    null: bool,
    /// Indexed by the boolean: `[contains false, contains true]`.
    bools: [bool; 2],
    /// `f64::to_bits` of each number, with `-0.0` folded into `0.0`.
    numbers: HashSet<u64>,
    strings: HashSet<String>,
    dates: HashSet<i64>,
    /// objectId → classNames, so a lookup can borrow both halves from the stored pointer.
    pointers: HashMap<String, Vec<String>>,
    others: Vec<Value>,
}

impl ValueSet {
    fn insert(&mut self, operand: Operand) {
        match operand {
            Operand::Null => self.null = true,
            Operand::Bool(b) => self.bools[usize::from(b)] = true,
            Operand::Number(n) => {
                self.numbers.insert(number_key(n));
            }
            Operand::String(s) => {
                self.strings.insert(s);
            }
            Operand::Date(ms) => {
                self.dates.insert(ms);
            }
            Operand::Pointer { class_name, object_id } => self.pointers.entry(object_id).or_default().push(class_name),
            Operand::Other(value) => self.others.push(value),
        }
    }

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

fn number_key(n: f64) -> u64 {
    // `-0.0 + 0.0` is `+0.0`, so both zeros hash alike, as they compare equal.
    (n + 0.0).to_bits()
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

    /// Does `object` match? Call only after [`Query::resolve`] when [`Query::subqueries`] was
    /// non-empty: a condition whose subquery is unanswered never matches, in either polarity.
    pub fn matches(&self, object: &Map<String, Value>) -> bool {
        self.eval(&self.root, object)
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
            [Cond::Eq(operand)] => index_key(operand).is_some(),
            [Cond::In(_)] => true,
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

    /// The `$nearSphere` constraint of the where-clause, as `(field, latitude, longitude)`. Parse
    /// Server sorts such results by distance when no explicit `order` is given; the caller can do
    /// the same with [`Query::near_distance`].
    pub fn near_sphere(&self) -> Option<(String, f64, f64)> {
        self.near_field().and_then(|field| {
            field.conds.iter().find_map(|cond| match cond {
                Cond::Near { lat, lng, .. } => Some((field.key.clone(), *lat, *lng)),
                _ => None,
            })
        })
    }

    /// Distance in radians from the `$nearSphere` point to `object`'s GeoPoint, the sort key for
    /// a `$nearSphere` query; `None` without `$nearSphere` or when the object has no GeoPoint
    /// there.
    pub fn near_distance(&self, object: &Map<String, Value>) -> Option<f64> {
        let field = self.near_field()?;
        let (lat, lng) = field.conds.iter().find_map(|cond| match cond {
            Cond::Near { lat, lng, .. } => Some((*lat, *lng)),
            _ => None,
        })?;
        let (point_lat, point_lng) = geopoint_of(lookup(object, &field.path)?)?;
        Some(central_angle(lat, lng, point_lat, point_lng))
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

    fn near_field(&self) -> Option<&FieldNode> {
        find_in_conjuncts(&self.root, &|field| {
            field.conds.iter().any(|cond| matches!(cond, Cond::Near { .. })).then_some(field)
        })
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
        Operand::String(s) => Some(Key::Text(s.clone())),
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
        keys.extend(set.strings.iter().map(|s| Key::Text(s.clone())));
        return Some(Probe::In(keys));
    }
    let mut range: Option<(bool, Bound<Key>, Bound<Key>)> = None;
    for cond in conds {
        let Cond::Compare(op, operand) = cond else { continue };
        let (numeric, key) = match operand {
            Operand::Number(n) if n.is_finite() => (true, Key::Number(*n)),
            Operand::String(s) => (false, Key::Text(s.clone())),
            _ => continue,
        };
        let (kind, from, to) = range.get_or_insert_with(|| {
            if numeric {
                (true, Bound::Included(Key::Number(f64::NEG_INFINITY)), Bound::Included(Key::Number(f64::INFINITY)))
            } else {
                (false, Bound::Included(Key::Text(String::new())), Bound::Unbounded)
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

/// What a `where` (with its subqueries) has used of the size bounds.
#[derive(Default)]
struct Budget {
    nodes: usize,
    regexes: usize,
}

impl Budget {
    fn count_nodes(&mut self, n: usize) -> Result<(), QueryError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return invalid(format!("query is too large: at most {MAX_NODES} clauses and conditions in all"));
        }
        Ok(())
    }

    fn count_regex(&mut self) -> Result<(), QueryError> {
        self.regexes += 1;
        if self.regexes > MAX_REGEXES {
            return invalid(format!("query is too large: at most {MAX_REGEXES} $regex conditions"));
        }
        Ok(())
    }
}

/// Compiles a `where` object; collects subqueries into `slots` in the order encountered.
struct Compiler<'b> {
    slots: Vec<Slot>,
    budget: &'b mut Budget,
}

impl Compiler<'_> {
    fn where_clause(&mut self, clauses: &Map<String, Value>, depth: usize) -> Result<Node, QueryError> {
        if depth > MAX_DEPTH {
            return invalid(format!("query is nested more than {MAX_DEPTH} levels deep"));
        }
        self.budget.count_nodes(clauses.len())?;
        let mut nodes = Vec::with_capacity(clauses.len());
        for (key, value) in clauses {
            let node = match key.as_str() {
                "$or" => Node::Or(self.where_list(key, value, depth)?),
                "$and" => Node::And(self.where_list(key, value, depth)?),
                "$nor" => Node::Nor(self.where_list(key, value, depth)?),
                "$relatedTo" => self.related_to(value)?,
                _ if key.starts_with('$') => return invalid(format!("unknown top-level operator {key}")),
                _ => self.field(key, value, depth)?,
            };
            nodes.push(node);
        }
        Ok(Node::And(nodes))
    }

    fn where_list(&mut self, operator: &str, value: &Value, depth: usize) -> Result<Vec<Node>, QueryError> {
        let Value::Array(clauses) = value else {
            return invalid(format!("{operator} must be an array of where objects, got {}", type_name(value)));
        };
        if clauses.is_empty() {
            return invalid(format!("{operator} must not be empty"));
        }
        if clauses.len() > MAX_CLAUSES {
            return invalid(format!("{operator} has {} clauses; at most {MAX_CLAUSES} are allowed", clauses.len()));
        }
        clauses
            .iter()
            .map(|clause| match clause {
                Value::Object(clause) => self.where_clause(clause, depth + 1),
                other => invalid(format!("{operator} entries must be where objects, got {}", type_name(other))),
            })
            .collect()
    }

    fn related_to(&mut self, value: &Value) -> Result<Node, QueryError> {
        let usage = "$relatedTo needs {\"object\": <Pointer>, \"key\": \"<relation field>\"}";
        let Value::Object(spec) = value else { return invalid(usage) };
        let (Some(Value::Object(object)), Some(Value::String(key))) = (spec.get("object"), spec.get("key")) else {
            return invalid(usage);
        };
        if object.get("__type").and_then(Value::as_str) != Some("Pointer") || key.is_empty() {
            return invalid(usage);
        }
        let Some((owner_class, owner_id)) = pointer_parts(object) else { return invalid(usage) };
        // The store keys relations by these names, NUL-separated.
        if [owner_class, owner_id, key.as_str()].iter().any(|part| part.contains('\0')) {
            return invalid("$relatedTo names must not contain NUL characters");
        }
        let subquery = Subquery::Related {
            owner_class: owner_class.to_string(),
            owner_id: owner_id.to_string(),
            key: key.clone(),
        };
        Ok(Node::RelatedTo { slot: self.add_slot(subquery, false) })
    }

    fn add_slot(&mut self, subquery: Subquery, date_field: bool) -> usize {
        self.slots.push(Slot { subquery, date_field });
        self.slots.len() - 1
    }

    fn field(&mut self, key: &str, value: &Value, depth: usize) -> Result<Node, QueryError> {
        let path = parse_path(key).ok_or_else(|| QueryError::Invalid(format!("invalid key name: {key:?}")))?;
        let date_field = matches!(key, "createdAt" | "updatedAt");
        let conds = match value {
            Value::Object(constraints) if is_constraint_object(key, constraints)? => {
                self.constraints(key, constraints, date_field, depth)?
            }
            literal => vec![Cond::Eq(literal_operand(literal, date_field)?)],
        };
        Ok(Node::Field(FieldNode { key: key.to_string(), path, date_field, conds }))
    }

    fn constraints(
        &mut self,
        key: &str,
        constraints: &Map<String, Value>,
        date_field: bool,
        depth: usize,
    ) -> Result<Vec<Cond>, QueryError> {
        self.budget.count_nodes(constraints.len())?;
        let mut conds = Vec::with_capacity(constraints.len());
        for (op, operand) in constraints {
            if matches!(op.as_str(), "$regex") {
                self.budget.count_regex()?;
            }
            if let ("$all", Value::Array(items)) = (op.as_str(), operand) {
                for _ in items.iter().filter(|item| item.get("$regex").is_some()) {
                    self.budget.count_regex()?;
                }
            }
            let cond = match op.as_str() {
                "$eq" => Cond::Eq(literal_operand(operand, date_field)?),
                "$ne" => Cond::Ne(literal_operand(operand, date_field)?),
                "$lt" => Cond::Compare(CompareOp::Lt, comparison_operand(operand, date_field)?),
                "$lte" => Cond::Compare(CompareOp::Lte, comparison_operand(operand, date_field)?),
                "$gt" => Cond::Compare(CompareOp::Gt, comparison_operand(operand, date_field)?),
                "$gte" => Cond::Compare(CompareOp::Gte, comparison_operand(operand, date_field)?),
                "$in" => Cond::In(Box::new(value_set(key, op, operand, date_field)?)),
                "$nin" => Cond::Nin(Box::new(value_set(key, op, operand, date_field)?)),
                "$containedBy" => Cond::ContainedBy(Box::new(value_set(key, op, operand, date_field)?)),
                "$all" => Cond::All(all_items(key, operand, date_field)?),
                "$exists" => match operand {
                    Value::Bool(expected) => Cond::Exists(*expected),
                    other => return invalid(format!("$exists on {key:?} must be a boolean, got {}", type_name(other))),
                },
                "$regex" => Cond::Regex(compile_regex(key, operand, constraints.get("$options"))?),
                "$options" => {
                    if !constraints.contains_key("$regex") {
                        return invalid(format!("$options on {key:?} needs $regex"));
                    }
                    continue;
                }
                "$inQuery" | "$notInQuery" => self.in_query(key, op, operand, depth)?,
                "$select" | "$dontSelect" => self.select(key, op, operand, date_field, depth)?,
                "$nearSphere" => near_sphere(key, operand, constraints)?,
                "$maxDistance" | "$maxDistanceInRadians" | "$maxDistanceInKilometers" | "$maxDistanceInMiles" => {
                    if !constraints.contains_key("$nearSphere") {
                        return invalid(format!("{op} on {key:?} needs $nearSphere"));
                    }
                    continue;
                }
                "$within" => within_box(key, operand)?,
                "$geoWithin" => geo_within(key, operand)?,
                "$geoIntersects" => geo_intersects(key, operand)?,
                "$text" => Cond::Text(Box::new(TextSearch::parse(operand).map_err(QueryError::BadJson)?)),
                _ => return invalid(format!("unknown operator {op} on key {key:?}")),
            };
            conds.push(cond);
        }
        Ok(conds)
    }

    fn in_query(&mut self, key: &str, op: &str, operand: &Value, depth: usize) -> Result<Cond, QueryError> {
        let usage = || format!("{op} on {key:?} needs {{\"className\": \"<class>\", \"where\": {{...}}}}");
        let Value::Object(spec) = operand else { return invalid(usage()) };
        let (Some(Value::String(class_name)), Some(where_ @ Value::Object(_))) =
            (spec.get("className"), spec.get("where"))
        else {
            return invalid(usage());
        };
        if class_name.is_empty() {
            return invalid(usage());
        }
        Query::parse_nested(where_, depth + 1, self.budget)?;
        let subquery = Subquery::Ids { class_name: class_name.clone(), where_: where_.clone() };
        let slot = self.add_slot(subquery, false);
        Ok(Cond::InQuery { slot, class_name: class_name.clone(), negate: op == "$notInQuery" })
    }

    fn select(
        &mut self,
        key: &str,
        op: &str,
        operand: &Value,
        date_field: bool,
        depth: usize,
    ) -> Result<Cond, QueryError> {
        let usage = || {
            format!("{op} on {key:?} needs {{\"query\": {{\"className\": \"<class>\", \"where\": {{...}}}}, \"key\": \"<field>\"}}")
        };
        let Value::Object(spec) = operand else { return invalid(usage()) };
        let (Some(Value::Object(query)), Some(Value::String(select_key))) = (spec.get("query"), spec.get("key")) else {
            return invalid(usage());
        };
        if spec.len() != 2 || select_key.is_empty() {
            return invalid(usage());
        }
        let Some(Value::String(class_name)) = query.get("className") else { return invalid(usage()) };
        if class_name.is_empty() {
            return invalid(usage());
        }
        let where_ = match query.get("where") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(where_ @ Value::Object(_)) => where_.clone(),
            Some(_) => return invalid(usage()),
        };
        Query::parse_nested(&where_, depth + 1, self.budget)?;
        let subquery = Subquery::Values { class_name: class_name.clone(), where_, key: select_key.clone() };
        let slot = self.add_slot(subquery, date_field);
        Ok(Cond::Select { slot, negate: op == "$dontSelect" })
    }
}

/// `{"$gt": 1}` is a set of constraints, `{"a": 1}` and `{"__type": ...}` are values to compare
/// with; a mix of both is ambiguous and rejected, as MongoDB does.
fn is_constraint_object(key: &str, object: &Map<String, Value>) -> Result<bool, QueryError> {
    if object.contains_key("__type") {
        return Ok(false);
    }
    let operators = object.keys().filter(|k| k.starts_with('$')).count();
    if operators != 0 && operators != object.len() {
        return invalid(format!("{key:?} mixes $operators with plain fields"));
    }
    Ok(operators != 0)
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

/// Compiles a value a stored field is compared with. Strings become instants on
/// `createdAt`/`updatedAt` so both spellings of a date compare alike.
fn literal_operand(value: &Value, date_field: bool) -> Result<Operand, QueryError> {
    Ok(match value {
        Value::Null => Operand::Null,
        Value::Bool(b) => Operand::Bool(*b),
        Value::Number(n) => Operand::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) if date_field => match millis_from_iso(s) {
            Some(ms) => Operand::Date(ms),
            None => Operand::String(s.clone()),
        },
        Value::String(s) => Operand::String(s.clone()),
        Value::Object(map) => match map.get("__type").and_then(Value::as_str) {
            Some("Date") => match map.get("iso").and_then(Value::as_str).and_then(millis_from_iso) {
                Some(ms) => Operand::Date(ms),
                None => return invalid(format!("invalid Date {value}: needs an ISO-8601 \"iso\"")),
            },
            Some("Pointer") => match pointer_parts(map) {
                Some((class_name, object_id)) => {
                    Operand::Pointer { class_name: class_name.to_string(), object_id: object_id.to_string() }
                }
                None => return invalid(format!("invalid Pointer {value}: needs \"className\" and \"objectId\"")),
            },
            _ => {
                if map.contains_key("$relativeTime") {
                    return invalid("$relativeTime can only be used with $lt, $lte, $gt and $gte");
                }
                if let Some(op) = map.keys().find(|k| k.starts_with('$')) {
                    return invalid(format!("operator {op} is not allowed inside a value"));
                }
                Operand::Other(value.clone())
            }
        },
        Value::Array(_) => Operand::Other(value.clone()),
    })
}

/// Compiles a subquery answer; unlike [`literal_operand`] it never fails, because stored data
/// that doesn't parse as a Date or Pointer is still data to compare against.
fn answer_operand(value: &Value, date_field: bool) -> Operand {
    literal_operand(value, date_field).unwrap_or_else(|_| Operand::Other(value.clone()))
}

/// `$lt`/`$lte`/`$gt`/`$gte` also take Parse Server's `{"$relativeTime": "3 days ago"}`.
fn comparison_operand(value: &Value, date_field: bool) -> Result<Operand, QueryError> {
    match value {
        Value::Object(map) if map.contains_key("$relativeTime") => match (map.len(), map.get("$relativeTime")) {
            (1, Some(Value::String(text))) => Ok(Operand::Date(relative_time_ms(text, now_millis())?)),
            _ => invalid("$relativeTime must be the only key and a string"),
        },
        _ => literal_operand(value, date_field),
    }
}

fn value_set(key: &str, op: &str, operand: &Value, date_field: bool) -> Result<ValueSet, QueryError> {
    let Value::Array(values) = operand else {
        return invalid(format!("{op} on {key:?} must be an array, got {}", type_name(operand)));
    };
    check_array_len(key, op, values)?;
    let mut set = ValueSet::default();
    for value in values {
        set.insert(literal_operand(value, date_field)?);
    }
    Ok(set)
}

fn check_array_len(key: &str, op: &str, values: &[Value]) -> Result<(), QueryError> {
    if values.len() > MAX_ARRAY_OPERAND {
        return invalid(format!(
            "{op} on {key:?} lists {} values; at most {MAX_ARRAY_OPERAND} are allowed",
            values.len()
        ));
    }
    Ok(())
}

fn all_items(key: &str, operand: &Value, date_field: bool) -> Result<Vec<AllItem>, QueryError> {
    let Value::Array(values) = operand else {
        return invalid(format!("$all on {key:?} must be an array, got {}", type_name(operand)));
    };
    check_array_len(key, "$all", values)?;
    let is_regex = |v: &Value| matches!(v, Value::Object(m) if m.contains_key("$regex"));
    let regexes = values.iter().filter(|v| is_regex(v)).count();
    if regexes != 0 && regexes != values.len() {
        return invalid(format!("$all on {key:?} must hold only regexes or no regexes"));
    }
    values
        .iter()
        .map(|value| match value {
            Value::Object(spec) if regexes != 0 => {
                if let Some(extra) = spec.keys().find(|k| *k != "$regex" && *k != "$options") {
                    return invalid(format!("unexpected {extra} in a $all regex on {key:?}"));
                }
                Ok(AllItem::Regex(compile_regex(key, &spec["$regex"], spec.get("$options"))?))
            }
            _ => Ok(AllItem::Value(literal_operand(value, date_field)?)),
        })
        .collect()
}

fn compile_regex(key: &str, pattern: &Value, options: Option<&Value>) -> Result<Regex, QueryError> {
    let Value::String(pattern) = pattern else {
        return invalid(format!("$regex on {key:?} must be a string, got {}", type_name(pattern)));
    };
    let options = match options {
        None => "",
        Some(Value::String(options)) => options.as_str(),
        Some(other) => return invalid(format!("$options on {key:?} must be a string, got {}", type_name(other))),
    };
    if pattern.chars().count() > MAX_REGEX_LEN {
        return invalid(format!("$regex on {key:?} is longer than {MAX_REGEX_LEN} characters"));
    }
    let mut builder = RegexBuilder::new(&pushdown::with_inline_flags(options, &unquote_pcre(pattern)));
    builder.size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_SIZE_LIMIT);
    for flag in options.chars() {
        match flag {
            'i' => builder.case_insensitive(true),
            'm' => builder.multi_line(true),
            'x' => builder.ignore_whitespace(true),
            's' => builder.dot_matches_new_line(true),
            _ => {
                return invalid(format!("bad $options value {options:?} on {key:?}: only i, m, x and s are supported"))
            }
        };
    }
    builder.build().map_err(|error| QueryError::Invalid(format!("invalid $regex on {key:?}: {error}")))
}

/// Rewrites PCRE's `\Q...\E` literal spans, which the `regex` crate lacks, into escaped text.
/// The Parse SDKs quote user input this way in `startsWith`, `endsWith` and `contains`.
fn unquote_pcre(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(backslash) = rest.find('\\') {
        out.push_str(&rest[..backslash]);
        let after = &rest[backslash + 1..];
        if let Some(quoted) = after.strip_prefix('Q') {
            let (literal, remainder) = match quoted.find("\\E") {
                Some(end) => (&quoted[..end], &quoted[end + 2..]),
                None => (quoted, ""),
            };
            out.push_str(&regex::escape(literal));
            rest = remainder;
        } else if let Some(escaped) = after.chars().next() {
            out.push('\\');
            out.push(escaped);
            rest = &after[escaped.len_utf8()..];
        } else {
            out.push('\\');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn near_sphere(key: &str, operand: &Value, constraints: &Map<String, Value>) -> Result<Cond, QueryError> {
    let (lat, lng) = geopoint_operand(key, "$nearSphere", operand)?;
    let limits = [
        ("$maxDistance", 1.0),
        ("$maxDistanceInRadians", 1.0),
        ("$maxDistanceInKilometers", EARTH_RADIUS_KM),
        ("$maxDistanceInMiles", EARTH_RADIUS_MILES),
    ];
    let mut max_radians = None;
    for (name, radius) in limits {
        let Some(value) = constraints.get(name) else { continue };
        if max_radians.is_some() {
            return invalid(format!("$nearSphere on {key:?} takes only one $maxDistance* limit"));
        }
        match value.as_f64() {
            Some(distance) if distance >= 0.0 => max_radians = Some(distance / radius),
            _ => return invalid(format!("{name} on {key:?} must be a non-negative number")),
        }
    }
    Ok(Cond::Near { lat, lng, max_radians })
}

fn within_box(key: &str, operand: &Value) -> Result<Cond, QueryError> {
    let corners = match operand {
        Value::Object(spec) if spec.len() == 1 => match spec.get("$box") {
            Some(Value::Array(corners)) if corners.len() == 2 => corners,
            _ => return invalid(format!("$within on {key:?} needs {{\"$box\": [<southwest>, <northeast>]}}")),
        },
        _ => return invalid(format!("$within on {key:?} needs {{\"$box\": [<southwest>, <northeast>]}}")),
    };
    let (south, west) = geopoint_operand(key, "$box", &corners[0])?;
    let (north, east) = geopoint_operand(key, "$box", &corners[1])?;
    Ok(Cond::WithinBox { south: south.min(north), west: west.min(east), north: south.max(north), east: west.max(east) })
}

fn geo_within(key: &str, operand: &Value) -> Result<Cond, QueryError> {
    let usage = || {
        format!("$geoWithin on {key:?} needs {{\"$polygon\": [...]}} or {{\"$centerSphere\": [[lng, lat], radians]}}")
    };
    let Value::Object(spec) = operand else { return invalid(usage()) };
    if spec.len() != 1 {
        return invalid(usage());
    }
    if let Some(polygon) = spec.get("$polygon") {
        // Parse Server's quirk, kept for compatibility: bare pairs in a `$polygon` array are
        // [longitude, latitude] while a Polygon object's coordinates are [latitude, longitude].
        let (points, pairs_are_lng_lat) = match polygon {
            Value::Array(points) => (points, true),
            Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("Polygon") => {
                match map.get("coordinates") {
                    Some(Value::Array(points)) => (points, false),
                    _ => return bad_json(format!("bad $geoWithin value on {key:?}; $polygon Polygon needs coordinates")),
                }
            }
            _ => return bad_json(format!("bad $geoWithin value on {key:?}; $polygon should be Polygon object or Array of Parse.GeoPoint's")),
        };
        if points.len() < 3 {
            return bad_json(format!("bad $geoWithin value on {key:?}; $polygon should contain at least 3 GeoPoints"));
        }
        let vertices = points
            .iter()
            .map(|point| match point {
                Value::Array(pair) => match (pair.as_slice(), pairs_are_lng_lat) {
                    ([lng, lat], true) | ([lat, lng], false) => {
                        checked_point(key, "$polygon", lat.as_f64(), lng.as_f64())
                    }
                    _ => bad_json(format!("bad $geoWithin value on {key:?}; $polygon points are pairs or GeoPoints")),
                },
                Value::Object(_) => geopoint_operand(key, "$polygon", point),
                _ => bad_json(format!("bad $geoWithin value on {key:?}; $polygon points are pairs or GeoPoints")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Cond::WithinPolygon(vertices));
    }
    if let Some(sphere) = spec.get("$centerSphere") {
        let (center, distance) = match sphere {
            Value::Array(parts) if parts.len() == 2 => (&parts[0], &parts[1]),
            _ => return invalid(format!("bad $centerSphere on {key:?}: needs [[lng, lat], radians]")),
        };
        let (lat, lng) = match center {
            Value::Array(pair) => match pair.as_slice() {
                [lng, lat] => checked_point(key, "$centerSphere", lat.as_f64(), lng.as_f64())?,
                _ => return invalid(format!("bad $centerSphere on {key:?}: center must be [lng, lat]")),
            },
            _ => geopoint_operand(key, "$centerSphere", center)?,
        };
        let radians = match distance.as_f64() {
            Some(radians) if radians >= 0.0 => radians,
            _ => return invalid(format!("bad $centerSphere on {key:?}: distance must be a non-negative number")),
        };
        return Ok(Cond::WithinSphere { lat, lng, radians });
    }
    invalid(usage())
}

fn geo_intersects(key: &str, operand: &Value) -> Result<Cond, QueryError> {
    match operand {
        Value::Object(spec) if spec.len() == 1 && spec.contains_key("$point") => {
            let (lat, lng) = geopoint_operand(key, "$geoIntersects", &spec["$point"])?;
            Ok(Cond::Intersects { lat, lng })
        }
        _ => invalid(format!("$geoIntersects on {key:?} needs {{\"$point\": <GeoPoint>}}")),
    }
}

/// A GeoPoint given in a query: `{"__type": "GeoPoint", "latitude": .., "longitude": ..}`
/// (the `__type` may be left out), returned as `(latitude, longitude)`.
fn geopoint_operand(key: &str, op: &str, value: &Value) -> Result<(f64, f64), QueryError> {
    let Value::Object(map) = value else {
        return invalid(format!("{op} on {key:?} needs a GeoPoint, got {}", type_name(value)));
    };
    if map.get("__type").is_some_and(|t| t != "GeoPoint") {
        return invalid(format!("{op} on {key:?} needs a GeoPoint"));
    }
    let coordinate = |name| map.get(name).and_then(Value::as_f64);
    checked_point(key, op, coordinate("latitude"), coordinate("longitude"))
}

fn checked_point(key: &str, op: &str, lat: Option<f64>, lng: Option<f64>) -> Result<(f64, f64), QueryError> {
    match (lat, lng) {
        (Some(lat), Some(lng)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) => Ok((lat, lng)),
        (Some(_), Some(_)) => {
            invalid(format!("{op} on {key:?}: latitude must be within [-90, 90] and longitude within [-180, 180]"))
        }
        _ => invalid(format!("{op} on {key:?} needs numeric latitude and longitude")),
    }
}

/// A stored GeoPoint as `(latitude, longitude)`.
fn geopoint_of(value: &Value) -> Option<(f64, f64)> {
    let map = value.as_object()?;
    if map.get("__type")?.as_str()? != "GeoPoint" {
        return None;
    }
    Some((map.get("latitude")?.as_f64()?, map.get("longitude")?.as_f64()?))
}

/// Great-circle distance in radians (haversine), the unit MongoDB's `$nearSphere` works in.
fn central_angle(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let half_dphi = (phi2 - phi1) / 2.0;
    let half_dlambda = (lng2 - lng1).to_radians() / 2.0;
    let a = half_dphi.sin().powi(2) + phi1.cos() * phi2.cos() * half_dlambda.sin().powi(2);
    2.0 * a.sqrt().min(1.0).asin()
}

/// Even-odd ray casting on the flat (latitude, longitude) plane, as MongoDB's legacy `$polygon`;
/// points on an edge count as inside. `vertex(i)` yields `(latitude, longitude)` so stored
/// polygons can be read straight out of their JSON; one malformed vertex makes the polygon
/// contain nothing, rather than an answer that depends on where the bad vertex sits.
fn point_in_polygon(len: usize, vertex: impl Fn(usize) -> Option<(f64, f64)>, lat: f64, lng: f64) -> bool {
    if len < 3 || (0..len).any(|i| vertex(i).is_none()) {
        return false;
    }
    let mut inside = false;
    let mut previous = len - 1;
    for current in 0..len {
        let (Some((lat_i, lng_i)), Some((lat_j, lng_j))) = (vertex(current), vertex(previous)) else {
            return false;
        };
        let cross = (lng_j - lng_i) * (lat - lat_i) - (lat_j - lat_i) * (lng - lng_i);
        let within_edge_bounds =
            lat >= lat_i.min(lat_j) && lat <= lat_i.max(lat_j) && lng >= lng_i.min(lng_j) && lng <= lng_i.max(lng_j);
        if cross.abs() < 1e-12 && within_edge_bounds {
            return true;
        }
        if (lat_i > lat) != (lat_j > lat) && lng < (lng_j - lng_i) * (lat - lat_i) / (lat_j - lat_i) + lng_i {
            inside = !inside;
        }
        previous = current;
    }
    inside
}

/// `(className, objectId)` of a Pointer, or of an included object (`"__type": "Object"`), which
/// stands for the same reference.
fn pointer_parts(map: &Map<String, Value>) -> Option<(&str, &str)> {
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

fn date_of(map: &Map<String, Value>) -> Option<i64> {
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
fn values_equal(a: &Value, b: &Value) -> bool {
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


/// Parse Server's `$relativeTime`: `"now"`, `"in 2 days 3 hours"` or `"1 week ago"`, with the
/// same units (years are 365 days; months are not accepted because their length varies).
fn relative_time_ms(text: &str, now: i64) -> Result<i64, QueryError> {
    let lower = text.to_lowercase();
    let mut parts: Vec<&str> = lower.split_whitespace().collect();
    if parts == ["now"] {
        return Ok(now);
    }
    let future = parts.first() == Some(&"in");
    let past = parts.last() == Some(&"ago");
    let sign = match (future, past) {
        (true, false) => {
            parts.remove(0);
            1
        }
        (false, true) => {
            parts.pop();
            -1
        }
        (true, true) => return invalid(format!("bad $relativeTime {text:?}: cannot have both 'in' and 'ago'")),
        (false, false) => {
            return invalid(format!("bad $relativeTime {text:?}: should start with 'in' or end with 'ago'"))
        }
    };
    if parts.is_empty() || !parts.len().is_multiple_of(2) {
        return invalid(format!("bad $relativeTime {text:?}: dangling unit or number"));
    }
    let mut seconds: i64 = 0;
    for pair in parts.chunks(2) {
        let amount = match pair[0].parse::<f64>() {
            Ok(n) if n.fract() == 0.0 && n.abs() < 1e12 => n as i64,
            _ => return invalid(format!("bad $relativeTime {text:?}: {:?} is not an integer", pair[0])),
        };
        let unit: i64 = match pair[1] {
            "yr" | "yrs" | "year" | "years" => 31_536_000,
            "wk" | "wks" | "week" | "weeks" => 604_800,
            "d" | "day" | "days" => 86_400,
            "hr" | "hrs" | "hour" | "hours" => 3_600,
            "min" | "mins" | "minute" | "minutes" => 60,
            "sec" | "secs" | "second" | "seconds" => 1,
            other => return invalid(format!("bad $relativeTime {text:?}: unknown unit {other:?}")),
        };
        seconds = amount
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .ok_or_else(|| QueryError::Invalid(format!("bad $relativeTime {text:?}: out of range")))?;
    }
    seconds
        .checked_mul(1000 * sign)
        .and_then(|offset| now.checked_add(offset))
        .ok_or_else(|| QueryError::Invalid(format!("bad $relativeTime {text:?}: out of range")))
}

/// A compiled `order` parameter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order(Vec<SortKey>);

#[derive(Debug, Clone, PartialEq)]
struct SortKey {
    path: Vec<Segment>,
    descending: bool,
    date_field: bool,
}

impl Order {
    /// `"score,-name"` → ascending score, then descending name. Empty/absent → no ordering.
    /// Invalid key names (including empty entries such as `"a,,b"`) → [`QueryError`].
    pub fn parse(order: &str) -> Result<Order, QueryError> {
        if order.trim().is_empty() {
            return Ok(Order::default());
        }
        order
            .split(',')
            .map(|entry| {
                let entry = entry.trim();
                let (descending, key) = match entry.strip_prefix('-') {
                    Some(key) => (true, key),
                    None => (false, entry),
                };
                let path =
                    parse_path(key).ok_or_else(|| QueryError::Invalid(format!("invalid order key: {entry:?}")))?;
                Ok(SortKey { path, descending, date_field: matches!(key, "createdAt" | "updatedAt") })
            })
            .collect::<Result<_, _>>()
            .map(Order)
    }

    /// The keys sorted by, dotted as written, so the caller can refuse keys the reader may not
    /// sort by.
    pub fn keys(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|key| key.path.iter().map(|segment| segment.name.as_str()).collect::<Vec<_>>().join("."))
            .collect()
    }

    /// The field and direction when the order is one top-level field (what an index can serve).
    pub fn single_field(&self) -> Option<(&str, bool)> {
        match self.0.as_slice() {
            [key] if key.path.len() == 1 && key.path[0].index.is_none() => Some((key.path[0].name.as_str(), key.descending)),
            _ => None,
        }
    }

    /// True when there is nothing to sort by, e.g. so the caller can fall back to `$nearSphere`
    /// distance order as Parse Server does.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares by each key in turn. Missing and null values sort first in ascending order;
    /// across types the order is MongoDB's: null < numbers < strings < objects < arrays <
    /// Bytes < booleans < Dates. Pointers sort as MongoDB stores them, as the string
    /// `"className$objectId"`; Files sort by name; Dates (and `createdAt`/`updatedAt`) by
    /// instant; objects field by field; arrays element by element.
    pub fn compare(&self, a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
        for key in &self.0 {
            let ordering = compare_sortable(
                sortable(lookup(a, &key.path), key.date_field),
                sortable(lookup(b, &key.path), key.date_field),
            );
            let ordering = if key.descending { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

/// A stored value as `order` sees it; variants are declared in sort order across types.
enum Sortable<'a> {
    Null,
    Number(f64),
    /// `(prefix, suffix)` compared as the string `prefix$suffix`, or just `prefix` when `suffix`
    /// is `None`; lets a Pointer sort like MongoDB's `"className$objectId"` without allocating.
    Text(&'a str, Option<&'a str>),
    Object(&'a Map<String, Value>),
    Array(&'a [Value]),
    Bytes(&'a str),
    Bool(bool),
    Date(i64),
}

impl Sortable<'_> {
    fn rank(&self) -> u8 {
        match self {
            Sortable::Null => 0,
            Sortable::Number(_) => 1,
            Sortable::Text(..) => 2,
            Sortable::Object(_) => 3,
            Sortable::Array(_) => 4,
            Sortable::Bytes(_) => 5,
            Sortable::Bool(_) => 6,
            Sortable::Date(_) => 7,
        }
    }
}

fn sortable(value: Option<&Value>, date_field: bool) -> Sortable<'_> {
    match value {
        None | Some(Value::Null) => Sortable::Null,
        Some(Value::Bool(b)) => Sortable::Bool(*b),
        Some(Value::Number(n)) => Sortable::Number(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) if date_field => match millis_from_iso(s) {
            Some(ms) => Sortable::Date(ms),
            None => Sortable::Text(s, None),
        },
        Some(Value::String(s)) => Sortable::Text(s, None),
        Some(Value::Array(items)) => Sortable::Array(items),
        Some(Value::Object(map)) => {
            if let Some((class_name, object_id)) = pointer_parts(map) {
                return Sortable::Text(class_name, Some(object_id));
            }
            if let Some(ms) = date_of(map) {
                return Sortable::Date(ms);
            }
            match (map.get("__type").and_then(Value::as_str), map.get("name"), map.get("base64")) {
                (Some("File"), Some(Value::String(name)), _) => Sortable::Text(name, None),
                (Some("Bytes"), _, Some(Value::String(base64))) => Sortable::Bytes(base64),
                _ => Sortable::Object(map),
            }
        }
    }
}

fn compare_sortable(a: Sortable<'_>, b: Sortable<'_>) -> Ordering {
    match (&a, &b) {
        (Sortable::Number(x), Sortable::Number(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Sortable::Text(x, x_suffix), Sortable::Text(y, y_suffix)) => match (x_suffix, y_suffix) {
            (None, None) => x.cmp(y),
            _ => text_bytes(x, *x_suffix).cmp(text_bytes(y, *y_suffix)),
        },
        (Sortable::Object(x), Sortable::Object(y)) => {
            for ((x_key, x_value), (y_key, y_value)) in x.iter().zip(y.iter()) {
                let ordering = x_key
                    .cmp(y_key)
                    .then_with(|| compare_sortable(sortable(Some(x_value), false), sortable(Some(y_value), false)));
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            x.len().cmp(&y.len())
        }
        (Sortable::Array(x), Sortable::Array(y)) => {
            for (x_item, y_item) in x.iter().zip(y.iter()) {
                let ordering = compare_sortable(sortable(Some(x_item), false), sortable(Some(y_item), false));
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            x.len().cmp(&y.len())
        }
        (Sortable::Bytes(x), Sortable::Bytes(y)) => x.cmp(y),
        (Sortable::Bool(x), Sortable::Bool(y)) => x.cmp(y),
        (Sortable::Date(x), Sortable::Date(y)) => x.cmp(y),
        _ => a.rank().cmp(&b.rank()),
    }
}

/// The bytes of `prefix$suffix` (or of `prefix` alone), without building the string.
fn text_bytes<'a>(prefix: &'a str, suffix: Option<&'a str>) -> impl Iterator<Item = u8> + 'a {
    let (separator, suffix) = match suffix {
        Some(suffix) => (Some(b'$'), suffix),
        None => (None, ""),
    };
    prefix.bytes().chain(separator).chain(suffix.bytes())
}

/// `keys=a,b.c`: keeps objectId, createdAt, updatedAt, ACL and the named top-level fields (for a
/// dotted key its first segment, since the rest selects inside an included object). A blank
/// `keys` keeps only the always-kept fields. Returns a new map.
pub fn project_keys(object: &Map<String, Value>, keys: &str) -> Map<String, Value> {
    let wanted: Vec<&str> = keys
        .split(',')
        .map(|key| key.trim().split('.').next().unwrap_or_default())
        .filter(|key| !key.is_empty())
        .collect();
    object
        .iter()
        .filter(|(key, _)| DEFAULT_FIELDS.contains(&key.as_str()) || wanted.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("fixture must be an object, got {other}"),
        }
    }

    /// `obj!({...})`: a JSON object literal as a `Map`.
    macro_rules! obj {
        ($($json:tt)+) => {
            object(json!($($json)+))
        };
    }

    fn json_of(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|error| panic!("bad test JSON {text}: {error}"))
    }

    fn fixture() -> Map<String, Value> {
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
    fn check_table(cases: &[(&str, bool)]) {
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

    const LONDON: &str = r#"{"__type": "GeoPoint", "latitude": 51.5074, "longitude": -0.1278}"#;

    #[test]
    fn geo_queries() {
        // Paris–London is about 343.5 km = 213.4 miles = 0.0539 radians.
        let near = |extra: &str| format!(r#"{{"location": {{"$nearSphere": {LONDON}{extra}}}}}"#);
        let cases = [
            near(""),
            near(r#", "$maxDistanceInKilometers": 400"#),
            near(r#", "$maxDistanceInKilometers": 300"#),
            near(r#", "$maxDistanceInMiles": 220"#),
            near(r#", "$maxDistanceInMiles": 200"#),
            near(r#", "$maxDistance": 0.06"#),
            near(r#", "$maxDistanceInRadians": 0.05"#),
            format!(r#"{{"name": {{"$nearSphere": {LONDON}}}}}"#),
        ];
        let expected = [true, true, false, true, false, true, false, false];
        let table: Vec<(&str, bool)> = cases.iter().map(String::as_str).zip(expected).collect();
        check_table(&table);
        check_table(&[
            (
                r#"{"location": {"$within": {"$box": [{"__type": "GeoPoint", "latitude": 48, "longitude": 2},
                                                    {"__type": "GeoPoint", "latitude": 49, "longitude": 3}]}}}"#,
                true,
            ),
            (
                r#"{"location": {"$within": {"$box": [{"__type": "GeoPoint", "latitude": 48, "longitude": 3},
                                                    {"__type": "GeoPoint", "latitude": 49, "longitude": 4}]}}}"#,
                false,
            ),
            (
                r#"{"location": {"$geoWithin": {"$polygon": [
                    {"__type": "GeoPoint", "latitude": 48, "longitude": 2},
                    {"__type": "GeoPoint", "latitude": 49, "longitude": 2},
                    {"__type": "GeoPoint", "latitude": 49, "longitude": 3},
                    {"__type": "GeoPoint", "latitude": 48, "longitude": 3}]}}}"#,
                true,
            ),
            (r#"{"location": {"$geoWithin": {"$polygon": [[2, 48], [2, 49], [3, 49], [3, 48]]}}}"#, true),
            (r#"{"location": {"$geoWithin": {"$polygon": [[0, 0], [0, 1], [1, 1]]}}}"#, false),
            (
                r#"{"location": {"$geoWithin": {"$polygon": {"__type": "Polygon",
                    "coordinates": [[48, 2], [49, 2], [49, 3], [48, 3]]}}}}"#,
                true,
            ),
            (r#"{"location": {"$geoWithin": {"$centerSphere": [[-0.1278, 51.5074], 0.06]}}}"#, true),
            (r#"{"location": {"$geoWithin": {"$centerSphere": [[-0.1278, 51.5074], 0.05]}}}"#, false),
            (
                r#"{"location": {"$geoWithin": {"$centerSphere": [
                    {"__type": "GeoPoint", "latitude": 51.5074, "longitude": -0.1278}, 0.06]}}}"#,
                true,
            ),
            (r#"{"name": {"$geoWithin": {"$centerSphere": [[0, 0], 3.2]}}}"#, false),
            (
                r#"{"area": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 5, "longitude": 5}}}}"#,
                true,
            ),
            (
                r#"{"area": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 5, "longitude": 11}}}}"#,
                false,
            ),
            (
                r#"{"area": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 10, "longitude": 5}}}}"#,
                true,
            ),
            (
                r#"{"location": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 5, "longitude": 5}}}}"#,
                false,
            ),
        ]);
    }

    #[test]
    fn near_sphere_is_exposed_for_sorting() {
        let query = Query::parse(&json_of(&format!(r#"{{"location": {{"$nearSphere": {LONDON}}}}}"#))).unwrap();
        assert_eq!(query.near_sphere(), Some(("location".to_string(), 51.5074, -0.1278)));
        let distance = query.near_distance(&fixture()).unwrap();
        assert!((distance - 343.5 / EARTH_RADIUS_KM).abs() < 0.001, "distance {distance}");
        assert_eq!(query.near_distance(&object(json!({"location": "nowhere"}))), None);

        let in_and = json_of(&format!(r#"{{"$and": [{{"location": {{"$nearSphere": {LONDON}}}}}]}}"#));
        assert!(Query::parse(&in_and).unwrap().near_sphere().is_some());
        let in_or = json_of(&format!(r#"{{"$or": [{{"location": {{"$nearSphere": {LONDON}}}}}]}}"#));
        assert_eq!(Query::parse(&in_or).unwrap().near_sphere(), None);
        let plain = Query::parse(&json!({"name": "Alice"})).unwrap();
        assert_eq!(plain.near_sphere(), None);
        assert_eq!(plain.near_distance(&fixture()), None);
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
    fn invalid_queries_are_errors() {
        let gp = r#"{"__type": "GeoPoint", "latitude": 1, "longitude": 1}"#;
        let owned: Vec<String> = vec![
            format!(r#"{{"location": {{"$nearSphere": {gp}, "$maxDistance": -1}}}}"#),
            format!(r#"{{"location": {{"$nearSphere": {gp}, "$maxDistance": "1"}}}}"#),
            format!(r#"{{"location": {{"$nearSphere": {gp}, "$maxDistance": 1, "$maxDistanceInMiles": 1}}}}"#),
            format!(r#"{{"location": {{"$within": {{"$box": [{gp}]}}}}}}"#),
            format!(r#"{{"location": {{"$within": {{"$box": [{gp}, 1]}}}}}}"#),
            format!(r#"{{"location": {{"$within": {{"$box": [{gp}, {gp}], "x": 1}}}}}}"#),
            format!(r#"{{"location": {{"$geoWithin": {{"$polygon": [{gp}, {gp}]}}}}}}"#),
            format!(r#"{{"location": {{"$geoWithin": {{"$polygon": [{gp}, {gp}, 7]}}}}}}"#),
            format!(
                r#"{{"location": {{"$geoWithin": {{"$polygon": [{gp}, {gp}, {gp}], "$centerSphere": [[0, 0], 1]}}}}}}"#
            ),
        ];
        let mut cases: Vec<&str> = owned.iter().map(String::as_str).collect();
        cases.extend([
            "[]",
            r#""string""#,
            "42",
            "true",
            r#"{"$foo": 1}"#,
            r#"{"$where": "this.a == 1"}"#,
            r#"{"$text": {"$search": "x"}}"#,
            r#"{"tags": {"$size": 2}}"#,
            r#"{"name": {"$bogus": 1}}"#,
            r#"{"name": {"$not": {"$regex": "x"}}}"#,
            r#"{"name": {"$text": {"$search": {"$term": 5}}}}"#,
            r#"{"name": {"$text": {"$search": "x"}}}"#,
            r#"{"name": {"$in": "Alice"}}"#,
            r#"{"name": {"$in": null}}"#,
            r#"{"name": {"$nin": {}}}"#,
            r#"{"tags": {"$all": "red"}}"#,
            r#"{"tags": {"$containedBy": 1}}"#,
            r#"{"name": {"$in": [{"$gt": 1}]}}"#,
            r#"{"name": {"$eq": {"$gt": 1}}}"#,
            r#"{"name": {"$regex": 1}}"#,
            r#"{"name": {"$regex": null}}"#,
            r#"{"name": {"$regex": "("}}"#,
            r#"{"name": {"$regex": "(?<=a)b"}}"#,
            r#"{"name": {"$regex": "a", "$options": "g"}}"#,
            r#"{"name": {"$regex": "a", "$options": 1}}"#,
            r#"{"name": {"$options": "i"}}"#,
            r#"{"name": {"$exists": "true"}}"#,
            r#"{"name": {"$exists": 1}}"#,
            r#"{"name": {"$exists": null}}"#,
            r#"{"$or": {}}"#,
            r#"{"$or": []}"#,
            r#"{"$or": [1]}"#,
            r#"{"$or": [[]]}"#,
            r#"{"$and": "x"}"#,
            r#"{"$nor": [null]}"#,
            r#"{"$or": [{"name": {"$bad": 1}}]}"#,
            r#"{"$and": [{"$or": [{"$nope": 1}]}]}"#,
            r#"{"name": {"$gt": 1, "plain": 2}}"#,
            r#"{"": 1}"#,
            r#"{"a..b": 1}"#,
            r#"{"a.": 1}"#,
            r#"{".a": 1}"#,
            r#"{"1abc": 1}"#,
            r#"{"na-me": 1}"#,
            r#"{"a.$b": 1}"#,
            r#"{"born": {"__type": "Date", "iso": "not a date"}}"#,
            r#"{"born": {"__type": "Date"}}"#,
            r#"{"born": {"__type": "Date", "iso": 5}}"#,
            r#"{"born": {"$lt": {"__type": "Date", "iso": "2015-13-01T00:00:00Z"}}}"#,
            r#"{"born": {"$in": [{"__type": "Date", "iso": "2015-02-30"}]}}"#,
            r#"{"owner": {"__type": "Pointer", "className": "_User"}}"#,
            r#"{"owner": {"$ne": {"__type": "Pointer", "objectId": "x"}}}"#,
            r#"{"born": {"$eq": {"$relativeTime": "now"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "3 days"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "in 3 days ago"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "in 3 fortnights"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "in x days"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "in 1.5 days"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "in 3"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "in"}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": 3}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "now", "x": 1}}}"#,
            r#"{"born": {"$lt": {"$relativeTime": "in 999999999999 years"}}}"#,
            r#"{"owner": {"$inQuery": "x"}}"#,
            r#"{"owner": {"$inQuery": {"className": "A"}}}"#,
            r#"{"owner": {"$inQuery": {"where": {}}}}"#,
            r#"{"owner": {"$inQuery": {"className": "", "where": {}}}}"#,
            r#"{"owner": {"$inQuery": {"className": 1, "where": {}}}}"#,
            r#"{"owner": {"$inQuery": {"className": "A", "where": []}}}"#,
            r#"{"owner": {"$notInQuery": {"className": "A", "where": {"x": {"$bad": 1}}}}}"#,
            r#"{"name": {"$select": "x"}}"#,
            r#"{"name": {"$select": {"query": {"className": "A"}}}}"#,
            r#"{"name": {"$select": {"key": "k"}}}"#,
            r#"{"name": {"$select": {"query": {"where": {}}, "key": "k"}}}"#,
            r#"{"name": {"$select": {"query": {"className": "A"}, "key": "k", "extra": 1}}}"#,
            r#"{"name": {"$select": {"query": {"className": "A"}, "key": ""}}}"#,
            r#"{"name": {"$select": {"query": {"className": "A"}, "key": 1}}}"#,
            r#"{"name": {"$dontSelect": {"query": {"className": "A", "where": 5}, "key": "k"}}}"#,
            r#"{"name": {"$dontSelect": {"query": {"className": "A", "where": {"$or": 1}}, "key": "k"}}}"#,
            r#"{"$relatedTo": "x"}"#,
            r#"{"$relatedTo": {}}"#,
            r#"{"$relatedTo": {"object": {"__type": "Pointer", "className": "A"}, "key": "k"}}"#,
            r#"{"$relatedTo": {"object": {"className": "A", "objectId": "x"}, "key": "k"}}"#,
            r#"{"$relatedTo": {"object": {"__type": "Pointer", "className": "A", "objectId": "x"}, "key": 1}}"#,
            r#"{"$relatedTo": {"object": {"__type": "Pointer", "className": "A", "objectId": "x"}, "key": ""}}"#,
            r#"{"location": {"$nearSphere": [1, 2]}}"#,
            r#"{"location": {"$nearSphere": {"__type": "GeoPoint", "latitude": 91, "longitude": 0}}}"#,
            r#"{"location": {"$nearSphere": {"__type": "GeoPoint", "latitude": 0, "longitude": 181}}}"#,
            r#"{"location": {"$nearSphere": {"__type": "GeoPoint", "latitude": "0", "longitude": 0}}}"#,
            r#"{"location": {"$nearSphere": {"__type": "Pointer", "latitude": 0, "longitude": 0}}}"#,
            r#"{"location": {"$maxDistance": 1}}"#,
            r#"{"location": {"$within": {}}}"#,
            r#"{"location": {"$within": [1, 2]}}"#,
            r#"{"location": {"$geoWithin": {}}}"#,
            r#"{"location": {"$geoWithin": 1}}"#,
            r#"{"location": {"$geoWithin": {"$box": []}}}"#,
            r#"{"location": {"$geoWithin": {"$polygon": "x"}}}"#,
            r#"{"location": {"$geoWithin": {"$polygon": [[1], [2], [3]]}}}"#,
            r#"{"location": {"$geoWithin": {"$polygon": [[0, 0], [0, 1], [200, 1]]}}}"#,
            r#"{"location": {"$geoWithin": {"$polygon": {"__type": "Polygon"}}}}"#,
            r#"{"location": {"$geoWithin": {"$polygon": {"__type": "Polygon", "coordinates": [[0, 0]]}}}}"#,
            r#"{"location": {"$geoWithin": {"$centerSphere": [[0, 0]]}}}"#,
            r#"{"location": {"$geoWithin": {"$centerSphere": [[0, 0], -1]}}}"#,
            r#"{"location": {"$geoWithin": {"$centerSphere": [[0, 100], 1]}}}"#,
            r#"{"location": {"$geoWithin": {"$centerSphere": [[0], 1]}}}"#,
            r#"{"location": {"$geoWithin": {"$centerSphere": [[0, 0], "1"]}}}"#,
            r#"{"area": {"$geoIntersects": {}}}"#,
            r#"{"area": {"$geoIntersects": {"$point": 1}}}"#,
            r#"{"tags": {"$all": [{"$regex": "a"}, "b"]}}"#,
            r#"{"tags": {"$all": [{"$regex": "("}]}}"#,
            r#"{"tags": {"$all": [{"$regex": "a", "$x": 1}]}}"#,
            r#"{"tags": {"$all": [{"$regex": "a", "$options": "q"}]}}"#,
        ]);
        let mut failures = Vec::new();
        for case in &cases {
            match Query::parse(&json_of(case)) {
                Err(QueryError::Invalid(message) | QueryError::BadJson(message)) if !message.is_empty() => {}
                Err(_) => failures.push(format!("{case}: empty message")),
                Ok(_) => failures.push(format!("{case}: accepted")),
            }
        }
        assert!(failures.is_empty(), "should be invalid:\n{}", failures.join("\n"));
    }

    #[test]
    fn error_messages_name_the_problem() {
        let message = |where_: Value| match Query::parse(&where_) {
            Err(QueryError::Invalid(message) | QueryError::BadJson(message)) => message,
            Ok(_) => panic!("{where_} should be invalid"),
        };
        assert!(message(json!({"tags": {"$size": 2}})).contains("$size"));
        assert!(message(json!({"name": {"$in": "x"}})).contains("array"));
        assert!(message(json!({"name": {"$regex": "("}})).contains("regex"));
        assert!(message(json!({"$foo": 1})).contains("$foo"));
        assert!(message(json!({"a..b": 1})).contains("a..b"));
        assert_eq!(QueryError::Invalid("boom".into()).to_string(), "boom");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut where_ = json!({"name": "Alice"});
        for _ in 0..200 {
            where_ = json!({"$or": [where_]});
        }
        assert!(matches!(Query::parse(&where_), Err(QueryError::Invalid(_))));

        let mut where_ = json!({"name": "Alice"});
        for _ in 0..200 {
            where_ = json!({"owner": {"$inQuery": {"className": "A", "where": where_}}});
        }
        assert!(matches!(Query::parse(&where_), Err(QueryError::Invalid(_))));

        let mut where_ = json!({"name": "Alice"});
        for _ in 0..10 {
            where_ = json!({"$and": [where_]});
        }
        assert!(Query::parse(&where_).unwrap().matches(&fixture()));
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

    fn sorted_ids(order: &str, objects: &[Map<String, Value>]) -> Vec<String> {
        let order = Order::parse(order).unwrap();
        let mut objects = objects.to_vec();
        objects.sort_by(|a, b| order.compare(a, b));
        objects.iter().map(|o| o["objectId"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn order_with_several_keys_and_missing_values() {
        let objects = vec![
            obj!({"objectId": "a", "score": 2, "name": "x"}),
            obj!({"objectId": "b", "score": 1, "name": "y"}),
            obj!({"objectId": "c", "score": 2, "name": "z"}),
            obj!({"objectId": "d", "name": "w"}),
            obj!({"objectId": "e", "score": null, "name": "v"}),
            obj!({"objectId": "f", "score": 1.5}),
        ];
        let cases = [
            ("score", vec!["d", "e", "b", "f", "a", "c"]),
            ("score,-name", vec!["d", "e", "b", "f", "c", "a"]),
            ("-score,name", vec!["a", "c", "f", "b", "e", "d"]),
            ("-score,-name", vec!["c", "a", "f", "b", "d", "e"]),
            ("name", vec!["f", "e", "d", "a", "b", "c"]),
            (" score , -name ", vec!["d", "e", "b", "f", "c", "a"]),
            ("", vec!["a", "b", "c", "d", "e", "f"]),
        ];
        for (order, expected) in cases {
            assert_eq!(sorted_ids(order, &objects), expected, "order {order:?}");
        }
    }

    #[test]
    fn order_by_dates_and_dotted_keys() {
        let objects = vec![
            obj!({"objectId": "a", "createdAt": "2015-03-24T20:19:00.542Z", "when": {"__type": "Date", "iso": "2020-01-01T00:00:00Z"}, "address": {"city": "Paris"}}),
            obj!({"objectId": "b", "createdAt": "2015-03-24T20:19:00Z", "when": {"__type": "Date", "iso": "2019-12-31T23:00:00-02:00"}, "address": {"city": "Lyon"}}),
            obj!({"objectId": "c", "createdAt": "2015-03-24T20:18:59.999Z", "when": {"__type": "Date", "iso": "2019-06-01T00:00:00Z"}}),
        ];
        // Byte-wise, "...00.542Z" < "...00Z"; as instants it is later.
        assert_eq!(sorted_ids("createdAt", &objects), vec!["c", "b", "a"]);
        assert_eq!(sorted_ids("-createdAt", &objects), vec!["a", "b", "c"]);
        assert_eq!(sorted_ids("when", &objects), vec!["c", "a", "b"]);
        assert_eq!(sorted_ids("address.city", &objects), vec!["c", "b", "a"]);
        assert_eq!(sorted_ids("-address.city", &objects), vec!["a", "b", "c"]);
    }

    #[test]
    fn order_across_types() {
        let values = [
            json!(null),
            json!(-3),
            json!(7.5),
            json!("A"),
            json!({"__type": "Pointer", "className": "B", "objectId": "x"}),
            json!("B$y"),
            json!({"__type": "File", "name": "C.png", "url": "u"}),
            json!({"a": 1}),
            json!({"a": 2}),
            json!({"b": 0}),
            json!([1, 2]),
            json!([1, 2, 0]),
            json!([2]),
            json!({"__type": "Bytes", "base64": "AA"}),
            json!(false),
            json!(true),
            json!({"__type": "Date", "iso": "1970-01-01T00:00:00Z"}),
        ];
        let objects: Vec<Map<String, Value>> = values
            .iter()
            .enumerate()
            .rev()
            .map(|(i, value)| obj!({"objectId": format!("{i:02}"), "v": value}))
            .collect();
        let expected: Vec<String> = (0..values.len()).map(|i| format!("{i:02}")).collect();
        assert_eq!(sorted_ids("v", &objects), expected);
        let mut descending = expected.clone();
        descending.reverse();
        assert_eq!(sorted_ids("-v", &objects), descending);
        let missing = obj!({"objectId": "m"});
        let null = obj!({"objectId": "n", "v": null});
        let order = Order::parse("v").unwrap();
        assert_eq!(order.compare(&missing, &null), Ordering::Equal);
        assert_eq!(order.compare(&missing, &objects[0]), Ordering::Less);
    }

    #[test]
    fn order_parse() {
        assert!(Order::parse("").unwrap().is_empty());
        assert!(Order::parse("   ").unwrap().is_empty());
        assert!(!Order::parse("score").unwrap().is_empty());
        assert!(Order::parse("-createdAt,objectId,_rperm,address.city").is_ok());
        for bad in ["-", "a,,b", "a,", ",a", "$score", "-$score", "a b", "1x", "a..b", "na-me", "--a", "a.$b"] {
            assert!(matches!(Order::parse(bad), Err(QueryError::Invalid(_))), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn project_keys_keeps_named_and_system_fields() {
        let object = fixture();
        let projected = project_keys(&object, "name,address.city, score");
        let mut keys: Vec<&str> = projected.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["address", "createdAt", "name", "objectId", "score", "updatedAt"]);
        assert_eq!(projected["address"], object["address"]);

        let with_acl = obj!({"objectId": "x", "ACL": {"*": {"read": true}}, "secret": 1, "a": 2});
        let projected = project_keys(&with_acl, "a");
        assert_eq!(Value::Object(projected), json!({"objectId": "x", "ACL": {"*": {"read": true}}, "a": 2}));
        assert_eq!(Value::Object(project_keys(&with_acl, "")), json!({"objectId": "x", "ACL": {"*": {"read": true}}}));
        assert_eq!(
            Value::Object(project_keys(&with_acl, "nope,,")),
            json!({"objectId": "x", "ACL": {"*": {"read": true}}})
        );
    }

    #[test]
    fn relative_time() {
        let now = 1_000_000_000_000;
        let cases = [
            ("now", Ok(now)),
            ("NOW", Ok(now)),
            ("in 1 day", Ok(now + 86_400_000)),
            ("2 hours ago", Ok(now - 7_200_000)),
            (
                "in 1 yr 2 wks 3 d 4 hrs 5 mins 6 secs",
                Ok(now + (31_536_000 + 1_209_600 + 259_200 + 14_400 + 300 + 6) * 1000),
            ),
            ("  in   10   seconds ", Ok(now + 10_000)),
            ("1 minute ago", Ok(now - 60_000)),
        ];
        for (text, expected) in cases {
            assert_eq!(relative_time_ms(text, now), expected, "{text:?}");
        }
        for bad in ["", "in", "ago", "3 days", "in 3 days ago", "in three days", "in 3 months", "in 3 days 4", "later"]
        {
            assert!(relative_time_ms(bad, now).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn pcre_quoting_is_translated() {
        let cases = [
            (r"\Qa.b\E", r"a\.b"),
            (r"^\Qa+b\E$", r"^a\+b$"),
            (r"\Qunterminated.", r"unterminated\."),
            (r"\\Q", r"\\Q"),
            (r"\d+\Q(\E", r"\d+\("),
            (r"trailing\", r"trailing\"),
            (r"é\Qé\E", "éé"),
            ("plain", "plain"),
        ];
        for (pattern, expected) in cases {
            assert_eq!(unquote_pcre(pattern), expected, "{pattern:?}");
        }
    }

    #[test]
    fn geometry_helpers() {
        assert!((central_angle(0.0, 0.0, 0.0, 180.0) - std::f64::consts::PI).abs() < 1e-12);
        assert_eq!(central_angle(10.0, 20.0, 10.0, 20.0), 0.0);
        let square = [(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0)];
        let vertex = |i: usize| Some(square[i]);
        assert!(point_in_polygon(4, vertex, 5.0, 5.0));
        assert!(point_in_polygon(4, vertex, 0.0, 0.0));
        assert!(point_in_polygon(4, vertex, 0.0, 5.0));
        assert!(!point_in_polygon(4, vertex, -0.1, 5.0));
        assert!(!point_in_polygon(2, vertex, 0.0, 0.0));
    }

    #[test]
    fn oversized_wheres_are_errors() {
        let clauses = |n: usize| Value::Array((0..n).map(|i| json!({"n": i})).collect());
        assert!(Query::parse(&json!({"$or": clauses(MAX_CLAUSES)})).is_ok());
        let error = Query::parse(&json!({"$or": clauses(MAX_CLAUSES + 1)})).unwrap_err();
        assert!(error.to_string().contains("at most 1000"), "{error}");
        // Many lists each within bounds still add up to the node budget.
        let many: Vec<Value> = (0..20).map(|_| json!({"$and": clauses(MAX_CLAUSES)})).collect();
        let error = Query::parse(&json!({"$or": many})).unwrap_err();
        assert!(error.to_string().contains("too large"), "{error}");
        // The budget is shared with subqueries.
        let inner = json!({"className": "A", "where": {"$or": clauses(MAX_CLAUSES)}});
        let nested: Vec<Value> = (0..11).map(|_| json!({"p": {"$inQuery": inner.clone()}})).collect();
        assert!(Query::parse(&json!({"$or": nested})).is_err());

        let values = |n: usize| Value::Array((0..n).map(|i| json!(i)).collect());
        assert!(Query::parse(&json!({"n": {"$in": values(MAX_ARRAY_OPERAND)}})).is_ok());
        for op in ["$in", "$nin", "$all", "$containedBy"] {
            let error = Query::parse(&json!({"n": {op: values(MAX_ARRAY_OPERAND + 1)}})).unwrap_err();
            assert!(error.to_string().contains("at most 10000"), "{op}: {error}");
        }
    }

    #[test]
    fn regexes_are_bounded() {
        assert!(Query::parse(&json!({"s": {"$regex": "a".repeat(MAX_REGEX_LEN)}})).is_ok());
        let error = Query::parse(&json!({"s": {"$regex": "a".repeat(MAX_REGEX_LEN + 1)}})).unwrap_err();
        assert!(error.to_string().contains("longer than 1000"), "{error}");
        let huge = Query::parse(&json!({"s": {"$regex": "\\w{200}\\w{200}\\w{200}"}})).unwrap_err();
        assert!(huge.to_string().contains("invalid $regex"), "{huge}");
        let regexes: Vec<Value> = (0..=MAX_REGEXES).map(|i| json!({"s": {"$regex": format!("^{i}")}})).collect();
        let error = Query::parse(&json!({"$or": regexes})).unwrap_err();
        assert!(error.to_string().contains("$regex conditions"), "{error}");
        let all: Vec<Value> = (0..=MAX_REGEXES).map(|i| json!({"$regex": format!("^{i}")})).collect();
        assert!(Query::parse(&json!({"tags": {"$all": all}})).is_err());
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
    }
}
