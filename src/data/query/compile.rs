//! The compiler from a `where` object to the [`Query`] tree: operands pre-digested for
//! matching (Dates as instants, `$in` lists as hash sets, regexes compiled, `$relativeTime`
//! resolved), with the size bounds that keep a hostile `where` from costing more than the data.

use std::collections::{HashMap, HashSet};

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::super::ids::{millis_from_iso, now_millis};
use super::super::text_search::TextSearch;
use super::evaluate::pointer_parts;
use super::geo::{geo_intersects, geo_within, near_sphere, within_box};
use super::{
    invalid, type_name, AllItem, CompareOp, Cond, FieldNode, Node, Query, QueryError, Slot, Subquery, MAX_ARRAY_OPERAND,
    MAX_CLAUSES, MAX_DEPTH, MAX_NODES, MAX_REGEXES, MAX_REGEX_LEN, REGEX_SIZE_LIMIT, parse_path,
};

/// A query operand, pre-digested so that matching needs no parsing or allocation.
#[derive(Debug, Clone)]
pub(super) enum Operand {
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

/// The operand list of `$in`/`$nin`/`$containedBy` and a `$select` answer, bucketed by type so
/// that membership is a hash lookup rather than a scan of possibly thousands of values.
#[derive(Debug, Clone, Default)]
pub(super) struct ValueSet {
    pub(super) null: bool,
    /// Indexed by the boolean: `[contains false, contains true]`.
    pub(super) bools: [bool; 2],
    /// `f64::to_bits` of each number, with `-0.0` folded into `0.0`.
    pub(super) numbers: HashSet<u64>,
    pub(super) strings: HashSet<String>,
    pub(super) dates: HashSet<i64>,
    /// objectId → classNames, so a lookup can borrow both halves from the stored pointer.
    pub(super) pointers: HashMap<String, Vec<String>>,
    pub(super) others: Vec<Value>,
}

impl ValueSet {
    pub(super) fn insert(&mut self, operand: Operand) {
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

}

pub(super) fn number_key(n: f64) -> u64 {
    // `-0.0 + 0.0` is `+0.0`, so both zeros hash alike, as they compare equal.
    (n + 0.0).to_bits()
}

/// What a `where` (with its subqueries) has used of the size bounds.
#[derive(Default)]
pub(super) struct Budget {
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
pub(super) struct Compiler<'b> {
    pub(super) slots: Vec<Slot>,
    pub(super) budget: &'b mut Budget,
}

impl Compiler<'_> {
    pub(super) fn where_clause(&mut self, clauses: &Map<String, Value>, depth: usize) -> Result<Node, QueryError> {
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
pub(super) fn answer_operand(value: &Value, date_field: bool) -> Operand {
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
    let mut builder = RegexBuilder::new(&super::pushdown::with_inline_flags(options, &unquote_pcre(pattern)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use crate::data::query::tests::{fixture, json_of};

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
}
