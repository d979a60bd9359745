//! Aggregation pipelines and distinct values over a class's objects, as Parse Server's
//! `/aggregate` serves them from MongoDB: stages `$match`, `$group` (`$sum`, `$avg`, `$min`,
//! `$max`, `$push`, `$addToSet`, `$first`, `$last`), `$project`, `$sort`, `$limit`, `$skip`
//! and `$count`, with Parse Server's quirks: `objectId` is what MongoDB calls `_id` (either
//! may be written; answers say `objectId`), field references are `"$field"`, and a group
//! key that is a pointer answers the pointed-to objectId.
//!
//! The engine works on objects as stored (REST form), so `$match` is the query engine's own
//! `where`, and ordering is the query engine's order.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Number, Value};

use super::deadline::{Deadline, CHECK_EVERY};
use super::protected::{strip_hidden, Reader};
use super::query::{Order, Query};
use super::DataError;

fn invalid(message: impl Into<String>) -> DataError {
    DataError::InvalidQuery(message.into())
}

/// The field MongoDB calls `_id`.
const ID: &str = "objectId";

/// Request keys that are options of the aggregate route, not stages.
const OPTION_KEYS: &[&str] = &["distinct", "where", "hint", "explain", "comment", "readPreference", "pipeline"];

/// One value computed from an object: a `"$field"` reference, a literal, or an object of them.
#[derive(Debug, Clone)]
enum Expr {
    Field(Vec<String>),
    Literal(Value),
    Object(Vec<(String, Expr)>),
}

impl Expr {
    fn parse(value: &Value) -> Result<Expr, DataError> {
        Ok(match value {
            Value::String(text) if text.starts_with('$') => {
                let path = &text[1..];
                if path.is_empty() || path.starts_with('$') {
                    return Err(invalid(format!("Invalid field reference {text:?} in an aggregate expression")));
                }
                Expr::Field(path.split('.').map(|segment| id_alias(segment).to_owned()).collect())
            }
            Value::Object(map) => {
                if let Some(key) = map.keys().find(|key| key.starts_with('$')) {
                    return Err(invalid(format!("Unsupported aggregate expression operator {key}")));
                }
                Expr::Object(map.iter().map(|(k, v)| Ok((k.clone(), Expr::parse(v)?))).collect::<Result<_, DataError>>()?)
            }
            other => Expr::Literal(other.clone()),
        })
    }

    fn eval(&self, object: &Map<String, Value>) -> Value {
        match self {
            Expr::Literal(value) => value.clone(),
            Expr::Field(path) => lookup(object, path).cloned().unwrap_or(Value::Null),
            Expr::Object(entries) => Value::Object(entries.iter().map(|(k, e)| (k.clone(), e.eval(object))).collect()),
        }
    }
}

/// `_id` as a field name means `objectId`.
fn id_alias(name: &str) -> &str {
    if name == "_id" {
        ID
    } else {
        name
    }
}

fn lookup<'a>(object: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut current = object.get(first)?;
    for segment in rest {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

#[derive(Debug, Clone, Copy)]
enum Accumulate {
    Sum,
    Avg,
    Min,
    Max,
    Push,
    AddToSet,
    First,
    Last,
}

#[derive(Debug, Clone)]
struct Accumulator {
    name: String,
    kind: Accumulate,
    expr: Expr,
}

/// One output field's running state within one group.
#[derive(Debug, Clone)]
enum Running {
    Sum { int: Option<i64>, float: f64, count: usize },
    Values(Vec<Value>),
    Best(Option<Value>),
}

#[derive(Debug, Clone)]
enum Projection {
    Include(Vec<Vec<String>>, bool),
    Exclude(Vec<String>),
    Computed(Vec<(String, Expr)>, bool),
}

#[derive(Debug)]
enum Stage {
    Match(Query),
    Group { key: Expr, accumulators: Vec<Accumulator> },
    Project(Projection),
    Sort(Order),
    Limit(usize),
    Skip(usize),
    Count(String),
}

/// A parsed pipeline, checked whole before anything runs.
#[derive(Debug)]
pub struct Pipeline(Vec<Stage>);

impl Pipeline {
    /// Reads the pipeline of an aggregate request: `pipeline` as an array of stages, one
    /// object of stages, or either as a JSON string (a URL query); without `pipeline`, the
    /// request's own `$stage` keys, as Parse Server's AggregateRouter reads them. Every problem
    /// is 102 (107 for `pipeline` text that is not JSON).
    pub fn from_params(params: &Map<String, Value>) -> Result<Pipeline, DataError> {
        let stages: Vec<(String, Value)> = match params.get("pipeline") {
            Some(Value::String(text)) => {
                let value: Value = serde_json::from_str(text)
                    .map_err(|e| DataError::InvalidJson(format!("pipeline is not valid JSON: {e}")))?;
                stages_of(&value)?
            }
            Some(value) if !value.is_null() => stages_of(value)?,
            _ => params
                .iter()
                .filter(|(key, _)| !OPTION_KEYS.contains(&key.as_str()) && !key.starts_with('_'))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        };
        stages.iter().map(|(name, spec)| parse_stage(name, spec)).collect::<Result<_, _>>().map(Pipeline)
    }

    /// Runs the pipeline over `objects` (shared with the store: only the stages that make new
    /// rows copy anything), checking `deadline` as it goes.
    pub fn run(&self, objects: Vec<Arc<Map<String, Value>>>, deadline: &Deadline) -> Result<Vec<Value>, DataError> {
        let mut rows = objects;
        for stage in &self.0 {
            deadline.check()?;
            rows = match stage {
                Stage::Match(query) => {
                    let mut kept = Vec::new();
                    for (i, row) in rows.into_iter().enumerate() {
                        if i % CHECK_EVERY == 0 {
                            deadline.check()?;
                        }
                        if query.matches(&row) {
                            kept.push(row);
                        }
                    }
                    kept
                }
                Stage::Group { key, accumulators } => group(rows, key, accumulators, deadline)?,
                Stage::Project(projection) => rows.iter().map(|row| Arc::new(project(row, projection))).collect(),
                Stage::Sort(order) => {
                    rows.sort_by(|a, b| order.compare(a, b));
                    rows
                }
                Stage::Limit(n) => rows.into_iter().take(*n).collect(),
                Stage::Skip(n) => rows.into_iter().skip(*n).collect(),
                Stage::Count(name) => {
                    let mut out = Map::new();
                    out.insert(name.clone(), json!(rows.len()));
                    vec![Arc::new(out)]
                }
            };
        }
        Ok(rows
            .iter()
            .map(|row| {
                let mut row = Map::clone(row);
                strip_hidden(&mut row, Reader::Aggregate);
                Value::Object(row)
            })
            .collect())
    }
}

/// The distinct values of `field` (dotted paths allowed) among `objects`: arrays count element
/// by element, `null`s not at all, as MongoDB's distinct; `createdAt`/`updatedAt` answer Dates.
pub fn distinct(objects: &[Arc<Map<String, Value>>], field: &str, deadline: &Deadline) -> Result<Vec<Value>, DataError> {
    if field.is_empty() || field.starts_with('$') || field.split('.').any(str::is_empty) {
        return Err(invalid(format!("Invalid field name for distinct: {field}")));
    }
    let path: Vec<String> = field.split('.').map(|segment| id_alias(segment).to_owned()).collect();
    let is_date = matches!(field, "createdAt" | "updatedAt");
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        if i % CHECK_EVERY == 0 {
            deadline.check()?;
        }
        let Some(value) = lookup(object, &path) else { continue };
        let values: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for value in values {
            if value.is_null() {
                continue;
            }
            let value = match value {
                Value::String(iso) if is_date => json!({"__type": "Date", "iso": iso}),
                other => other.clone(),
            };
            if seen.insert(value.to_string()) {
                out.push(value);
            }
        }
    }
    Ok(out)
}

fn stages_of(value: &Value) -> Result<Vec<(String, Value)>, DataError> {
    match value {
        Value::Array(stages) => stages
            .iter()
            .map(|stage| {
                let Some(stage) = stage.as_object() else {
                    return Err(invalid("Each pipeline stage must be an object"));
                };
                if stage.len() != 1 {
                    let keys: Vec<&str> = stage.keys().map(String::as_str).collect();
                    return Err(invalid(format!("Pipeline stages should only have one key but found {}.", keys.join(", "))));
                }
                let (name, spec) = stage.iter().next().expect("one key");
                Ok((name.clone(), spec.clone()))
            })
            .collect(),
        Value::Object(stages) => Ok(stages.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        _ => Err(invalid("pipeline must be an array or an object")),
    }
}

fn parse_stage(name: &str, spec: &Value) -> Result<Stage, DataError> {
    if !name.starts_with('$') {
        return Err(invalid(format!("Invalid aggregate stage '{name}'.")));
    }
    let count = |what: &str, min: u64| -> Result<usize, DataError> {
        spec.as_u64()
            .filter(|n| *n >= min)
            .map(|n| n as usize)
            .ok_or_else(|| invalid(format!("the {what} must be {} integer", if min == 0 { "a non-negative" } else { "a positive" })))
    };
    Ok(match name {
        "$match" => {
            let Value::Object(where_) = spec else { return Err(invalid("the match filter must be an object")) };
            let renamed: Map<String, Value> = where_.iter().map(|(k, v)| (id_alias(k).to_owned(), v.clone())).collect();
            let query = Query::parse(&Value::Object(renamed)).map_err(|e| invalid(e.to_string()))?;
            if !query.subqueries().is_empty() {
                return Err(invalid("$match does not take $inQuery, $select, $relatedTo or their negations"));
            }
            Stage::Match(query)
        }
        "$group" => parse_group(spec)?,
        "$project" => Stage::Project(parse_projection(spec)?),
        "$sort" => {
            let Some(keys) = spec.as_object().filter(|keys| !keys.is_empty()) else {
                return Err(invalid("$sort needs an object of fields"));
            };
            let mut order = Vec::new();
            for (field, direction) in keys {
                let field = id_alias(field);
                match direction.as_i64() {
                    Some(1) => order.push(field.to_owned()),
                    Some(-1) => order.push(format!("-{field}")),
                    _ => return Err(invalid(format!("$sort direction of {field} must be 1 or -1"))),
                }
            }
            Stage::Sort(Order::parse(&order.join(",")).map_err(|e| invalid(e.to_string()))?)
        }
        "$limit" => Stage::Limit(count("limit", 1)?),
        "$skip" => Stage::Skip(count("skip", 0)?),
        "$count" => match spec.as_str() {
            Some(field) if !field.is_empty() && !field.starts_with('$') && !field.contains('.') => Stage::Count(field.to_owned()),
            _ => return Err(invalid("$count needs a field name that is not empty, has no '.' and does not start with '$'")),
        },
        other => return Err(invalid(format!("Unrecognized pipeline stage name: '{other}'"))),
    })
}

fn parse_group(spec: &Value) -> Result<Stage, DataError> {
    let Some(spec) = spec.as_object() else { return Err(invalid("$group needs an object")) };
    if spec.contains_key(ID) {
        return Err(invalid("Cannot use 'objectId' in aggregation stage $group."));
    }
    let key = Expr::parse(spec.get("_id").ok_or_else(|| invalid("Invalid parameter for query: group. Missing key _id"))?)?;
    let mut accumulators = Vec::new();
    for (name, operator) in spec.iter().filter(|(name, _)| *name != "_id") {
        let bad = || invalid(format!("The field '{name}' must be an accumulator object like {{\"$sum\": 1}}"));
        let Some((op, argument)) = operator.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
            return Err(bad());
        };
        let kind = match op.as_str() {
            "$sum" => Accumulate::Sum,
            "$avg" => Accumulate::Avg,
            "$min" => Accumulate::Min,
            "$max" => Accumulate::Max,
            "$push" => Accumulate::Push,
            "$addToSet" => Accumulate::AddToSet,
            "$first" => Accumulate::First,
            "$last" => Accumulate::Last,
            other => return Err(invalid(format!("unknown group operator '{other}'"))),
        };
        accumulators.push(Accumulator { name: name.clone(), kind, expr: Expr::parse(argument)? });
    }
    Ok(Stage::Group { key, accumulators })
}

fn parse_projection(spec: &Value) -> Result<Projection, DataError> {
    let Some(spec) = spec.as_object().filter(|s| !s.is_empty()) else {
        return Err(invalid("$project needs an object of fields"));
    };
    let flag = |v: &Value| match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|n| n != 0.0),
        _ => None,
    };
    let mut keep_id = true;
    let (mut included, mut excluded, mut computed) = (Vec::new(), Vec::new(), Vec::new());
    for (field, value) in spec {
        let field = id_alias(field);
        match flag(value) {
            Some(false) if field == ID => keep_id = false,
            Some(false) => excluded.push(field.to_owned()),
            Some(true) => included.push(field.split('.').map(str::to_owned).collect::<Vec<_>>()),
            None => computed.push((field.to_owned(), Expr::parse(value)?)),
        }
    }
    if !excluded.is_empty() && (!included.is_empty() || !computed.is_empty()) {
        return Err(invalid(format!("Invalid $project: cannot exclude {} in an inclusion projection", excluded[0])));
    }
    if !excluded.is_empty() || (included.is_empty() && computed.is_empty()) {
        if !keep_id {
            excluded.push(ID.to_owned());
        }
        return Ok(Projection::Exclude(excluded));
    }
    if computed.is_empty() {
        return Ok(Projection::Include(included, keep_id));
    }
    computed.extend(included.into_iter().map(|path| (path.join("."), Expr::Field(path))));
    Ok(Projection::Computed(computed, keep_id))
}

fn project(row: &Map<String, Value>, projection: &Projection) -> Map<String, Value> {
    match projection {
        Projection::Exclude(fields) => {
            let mut row = row.clone();
            for field in fields {
                row.remove(field);
            }
            row
        }
        Projection::Include(paths, keep_id) => {
            let mut out = Map::new();
            if *keep_id {
                if let Some(id) = row.get(ID) {
                    out.insert(ID.to_owned(), id.clone());
                }
            }
            for path in paths {
                if let Some(value) = lookup(row, path) {
                    insert_path(&mut out, path, value.clone());
                }
            }
            out
        }
        Projection::Computed(fields, keep_id) => {
            let mut out = Map::new();
            if *keep_id {
                if let Some(id) = row.get(ID) {
                    out.insert(ID.to_owned(), id.clone());
                }
            }
            for (name, expr) in fields {
                let value = expr.eval(row);
                if !(value.is_null() && matches!(expr, Expr::Field(_))) {
                    insert_path(&mut out, &name.split('.').map(str::to_owned).collect::<Vec<_>>(), value);
                }
            }
            out
        }
    }
}

fn insert_path(out: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        out.insert(first.clone(), value);
        return;
    }
    let entry = out.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(inner) = entry {
        insert_path(inner, rest, value);
    }
}

/// A group key as Parse Server answers it: a pointer is its objectId (MongoDB groups the stored
/// `Class$id` string and Parse Server keeps the id), an empty value is null.
fn group_key(value: Value) -> Value {
    match value {
        Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("Pointer") => {
            map.get("objectId").cloned().unwrap_or(Value::Null)
        }
        Value::Object(map) if map.is_empty() => Value::Null,
        Value::String(text) if text.is_empty() => Value::Null,
        other => other,
    }
}

fn group(rows: Vec<Arc<Map<String, Value>>>, key: &Expr, accumulators: &[Accumulator], deadline: &Deadline) -> Result<Vec<Arc<Map<String, Value>>>, DataError> {
    let mut order: Vec<(Value, Vec<Running>)> = Vec::new();
    let mut positions: HashMap<String, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if i % CHECK_EVERY == 0 {
            deadline.check()?;
        }
        let id = group_key(key.eval(row));
        let slot = *positions.entry(id.to_string()).or_insert_with(|| {
            order.push((id.clone(), accumulators.iter().map(start).collect()));
            order.len() - 1
        });
        for (accumulator, running) in accumulators.iter().zip(order[slot].1.iter_mut()) {
            add(accumulator, running, accumulator.expr.eval(row));
        }
    }
    Ok(order
        .into_iter()
        .map(|(id, runnings)| {
            let mut out = Map::new();
            out.insert(ID.to_owned(), id);
            for (accumulator, running) in accumulators.iter().zip(runnings) {
                out.insert(accumulator.name.clone(), finish(accumulator.kind, running));
            }
            Arc::new(out)
        })
        .collect())
}

fn start(accumulator: &Accumulator) -> Running {
    match accumulator.kind {
        Accumulate::Sum | Accumulate::Avg => Running::Sum { int: Some(0), float: 0.0, count: 0 },
        Accumulate::Push | Accumulate::AddToSet => Running::Values(Vec::new()),
        Accumulate::Min | Accumulate::Max | Accumulate::First | Accumulate::Last => Running::Best(None),
    }
}

/// Orders two values as the query engine's `order` does (MongoDB's order across types).
fn compare(a: &Value, b: &Value) -> Ordering {
    let wrap = |v: &Value| {
        let mut map = Map::new();
        map.insert("v".to_owned(), v.clone());
        map
    };
    Order::parse("v").map(|order| order.compare(&wrap(a), &wrap(b))).unwrap_or(Ordering::Equal)
}

fn add(accumulator: &Accumulator, running: &mut Running, value: Value) {
    match (accumulator.kind, running) {
        (Accumulate::Sum | Accumulate::Avg, Running::Sum { int, float, count }) => {
            // Non-numbers are skipped, as MongoDB's $sum and $avg skip them.
            let Value::Number(n) = &value else { return };
            *count += 1;
            *float += n.as_f64().unwrap_or(0.0);
            *int = match (*int, n.as_i64()) {
                (Some(sum), Some(n)) => sum.checked_add(n),
                _ => None,
            };
        }
        (Accumulate::Push, Running::Values(values)) => values.push(value),
        (Accumulate::AddToSet, Running::Values(values)) if !values.contains(&value) => values.push(value),
        (Accumulate::First, Running::Best(best)) if best.is_none() => *best = Some(value),
        (Accumulate::Last, Running::Best(best)) => *best = Some(value),
        (Accumulate::Min | Accumulate::Max, Running::Best(best)) => {
            if value.is_null() {
                return;
            }
            let wanted = if matches!(accumulator.kind, Accumulate::Min) { Ordering::Less } else { Ordering::Greater };
            if best.as_ref().is_none_or(|current| compare(&value, current) == wanted) {
                *best = Some(value);
            }
        }
        _ => {}
    }
}

fn finish(kind: Accumulate, running: Running) -> Value {
    match running {
        Running::Sum { int, float, count } => match kind {
            Accumulate::Avg if count == 0 => Value::Null,
            Accumulate::Avg => Number::from_f64(float / count as f64).map_or(Value::Null, Value::Number),
            _ => match int {
                Some(sum) => json!(sum),
                None => Number::from_f64(float).map_or(Value::Null, Value::Number),
            },
        },
        Running::Values(values) => Value::Array(values),
        Running::Best(best) => best.unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rows() -> Vec<Arc<Map<String, Value>>> {
        let rows = json!([
            {"objectId": "a", "player": "ann", "score": 10, "team": {"__type": "Pointer", "className": "Team", "objectId": "t1"}, "tags": ["x", "y"]},
            {"objectId": "b", "player": "bob", "score": 5, "team": {"__type": "Pointer", "className": "Team", "objectId": "t1"}, "tags": ["y"]},
            {"objectId": "c", "player": "ann", "score": 7.5, "team": {"__type": "Pointer", "className": "Team", "objectId": "t2"}, "_hashed_password": "h"},
        ]);
        let rows: Vec<Map<String, Value>> = serde_json::from_value(rows).unwrap();
        rows.into_iter().map(Arc::new).collect()
    }

    fn run(pipeline: Value) -> Result<Vec<Value>, DataError> {
        let params: Map<String, Value> = serde_json::from_value(json!({"pipeline": pipeline})).unwrap();
        Pipeline::from_params(&params)?.run(rows(), &Deadline::after(Duration::from_secs(5)))
    }

    #[test]
    fn groups_with_every_accumulator() {
        let out = run(json!([
            {"$group": {"_id": "$player", "total": {"$sum": "$score"}, "n": {"$sum": 1}, "avg": {"$avg": "$score"},
                        "low": {"$min": "$score"}, "high": {"$max": "$score"}, "ids": {"$push": "$objectId"}}},
            {"$sort": {"objectId": 1}},
        ]))
        .unwrap();
        assert_eq!(
            out,
            vec![
                json!({"objectId": "ann", "total": 17.5, "n": 2, "avg": 8.75, "low": 7.5, "high": 10, "ids": ["a", "c"]}),
                json!({"objectId": "bob", "total": 5, "n": 1, "avg": 5.0, "low": 5, "high": 5, "ids": ["b"]}),
            ]
        );
        let by_team = run(json!([{"$group": {"_id": "$team", "n": {"$sum": 1}}}])).unwrap();
        assert_eq!(by_team, vec![json!({"objectId": "t1", "n": 2}), json!({"objectId": "t2", "n": 1})]);
        let all = run(json!([{"$group": {"_id": null, "total": {"$sum": "$score"}}}])).unwrap();
        assert_eq!(all, vec![json!({"objectId": null, "total": 22.5})]);
        let compound = run(json!([{"$group": {"_id": {"who": "$player"}, "n": {"$sum": 1}}}, {"$sort": {"n": -1}}])).unwrap();
        assert_eq!(compound[0], json!({"objectId": {"who": "ann"}, "n": 2}));
    }

    #[test]
    fn match_project_sort_skip_limit_count() {
        let out = run(json!([
            {"$match": {"score": {"$gt": 6}}},
            {"$project": {"player": 1, "double": "$score"}},
            {"$sort": {"double": -1}},
            {"$skip": 1},
            {"$limit": 5},
        ]))
        .unwrap();
        assert_eq!(out, vec![json!({"objectId": "c", "player": "ann", "double": 7.5})]);
        assert_eq!(run(json!([{"$match": {"_id": "b"}}, {"$count": "total"}])).unwrap(), vec![json!({"total": 1})]);
        let excluded = run(json!([{"$project": {"tags": 0, "team": 0, "_id": 0}}, {"$limit": 1}])).unwrap();
        assert_eq!(excluded, vec![json!({"player": "ann", "score": 10})]);
        assert!(run(json!([])).unwrap()[2].get("_hashed_password").is_none(), "internal fields stay inside");
    }

    #[test]
    fn bad_pipelines_are_102() {
        for pipeline in [
            json!([{"$frobnicate": {}}]),
            json!([{"group": {"_id": null}}]),
            json!([{"$group": {"objectId": "$x"}}]),
            json!([{"$group": {"n": {"$sum": 1}}}]),
            json!([{"$group": {"_id": null, "n": {"$median": "$x"}}}]),
            json!([{"$group": {"_id": null, "n": 1}}]),
            json!([{"$match": {"a": 1}, "$limit": 1}]),
            json!([{"$limit": 0}]),
            json!([{"$skip": -1}]),
            json!([{"$sort": {"a": 2}}]),
            json!([{"$count": ""}]),
            json!([{"$project": {"a": 1, "b": 0}}]),
            json!([{"$match": {"a": {"$inQuery": {"className": "X", "where": {}}}}}]),
            json!([3]),
            json!(5),
        ] {
            let error = run(pipeline.clone()).unwrap_err();
            assert_eq!(error.code(), 102, "{pipeline}: {}", error);
        }
        assert_eq!(run(json!([{"$frobnicate": {}}])).unwrap_err().to_string(), "Unrecognized pipeline stage name: '$frobnicate'");
        assert_eq!(run(json!("[{")).unwrap_err().code(), 107, "pipeline text that is not JSON");
    }

    #[test]
    fn distinct_values_flatten_arrays_and_keep_pointers() {
        let deadline = Deadline::after(Duration::from_secs(5));
        assert_eq!(distinct(&rows(), "player", &deadline).unwrap(), vec![json!("ann"), json!("bob")]);
        assert_eq!(distinct(&rows(), "tags", &deadline).unwrap(), vec![json!("x"), json!("y")]);
        assert_eq!(distinct(&rows(), "team", &deadline).unwrap().len(), 2);
        assert_eq!(distinct(&rows(), "$x", &deadline).unwrap_err().code(), 102);
    }
}
