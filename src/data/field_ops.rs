//! Applying Parse REST create/update bodies to stored objects.
//!
//! A body maps keys to either plain values (set as given) or `{"__op": ...}` operations:
//! `Delete`, `Increment`, `Add`, `AddUnique`, `Remove`, `AddRelation`, `RemoveRelation` and
//! `Batch`. Keys may be dotted paths (`"address.city"`) that reach into nested objects, as
//! Parse's `obj.set("a.b", v)` and `obj.increment("stats.views")` produce.
//!
//! Relation membership is not stored in the object itself — Parse keeps it in a join table —
//! so relation operations only mark the field as a relation and report the ids to add and
//! remove in [`RelationChanges`] for the caller to persist.
//!
//! Error codes follow Parse Server: a malformed operation payload (missing or non-numeric
//! `amount`, `objects` that is not an array, unknown `__op`) is 107 invalid JSON, with Parse's
//! own messages where it has one; an operation that does not fit the value it acts on
//! (incrementing a string, adding to a non-array) is 111 incorrect type.

use serde_json::{Map, Number, Value};

use super::schema::{validate_class_name, validate_object_id, FieldType, MAX_PATH_SEGMENTS};
use super::DataError;

/// How deeply a stored object's values may nest (an object or array inside a field is one
/// level). The store decodes documents with serde_json, which stops at 128 levels; keeping
/// everything written well inside that bound is what guarantees that the store can read back
/// every document it accepted, so one update can never make the data directory unopenable.
pub const MAX_VALUE_DEPTH: usize = 64;

/// A decoded `{"__op": ...}` value, borrowing from the JSON it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Op<'a> {
    Delete,
    Increment(&'a Number),
    Add(&'a [Value]),
    AddUnique(&'a [Value]),
    Remove(&'a [Value]),
    AddRelation(RelationTargets<'a>),
    RemoveRelation(RelationTargets<'a>),
    Batch(Vec<Op<'a>>),
}

/// The pointers of an `AddRelation`/`RemoveRelation`, reduced to their common class and ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationTargets<'a> {
    /// `None` only when `objects` was empty, which leaves the target class unknown.
    pub class_name: Option<&'a str>,
    pub object_ids: Vec<&'a str>,
}

impl<'a> Op<'a> {
    /// Decodes `value` as an operation; `Ok(None)` when it is not one (no `__op` key), so
    /// callers can treat it as a plain value.
    pub fn parse(value: &'a Value) -> Result<Option<Op<'a>>, DataError> {
        let Some(body) = value.as_object() else {
            return Ok(None);
        };
        let Some(name) = body.get("__op") else {
            return Ok(None);
        };
        let Some(name) = name.as_str() else {
            return Err(invalid_json(format!("__op must be a string, got {name}")));
        };
        let op = match name {
            "Delete" => Op::Delete,
            "Increment" => match body.get("amount") {
                Some(Value::Number(amount)) => Op::Increment(amount),
                _ => return Err(invalid_json("incrementing must provide a number".to_owned())),
            },
            "Add" => Op::Add(objects(body, "objects to add must be an array")?),
            "AddUnique" => Op::AddUnique(objects(body, "objects to add must be an array")?),
            "Remove" => Op::Remove(objects(body, "objects to remove must be an array")?),
            "AddRelation" => Op::AddRelation(relation_targets(body, name)?),
            "RemoveRelation" => Op::RemoveRelation(relation_targets(body, name)?),
            "Batch" => {
                let Some(Value::Array(ops)) = body.get("ops") else {
                    return Err(invalid_json("Batch ops must be an array".to_owned()));
                };
                let mut parsed = Vec::with_capacity(ops.len());
                for op in ops {
                    match Op::parse(op)? {
                        Some(op) => parsed.push(op),
                        None => return Err(invalid_json(format!("Batch ops must be operations, got {op}"))),
                    }
                }
                Op::Batch(parsed)
            }
            other => {
                return Err(invalid_json(format!("The {other} operator is not supported")));
            }
        };
        Ok(Some(op))
    }

    /// The schema type this operation implies for its field; `None` when it implies none
    /// (`Delete`, or relation ops and batches with nothing in them).
    ///
    /// A batch must agree with itself: Parse only looks at a batch's first op, which would let
    /// `[AddRelation to A, AddRelation to B]` through and corrupt the relation.
    pub fn field_type(&self) -> Result<Option<FieldType>, DataError> {
        Ok(match self {
            Op::Delete => None,
            Op::Increment(_) => Some(FieldType::Number),
            Op::Add(_) | Op::AddUnique(_) | Op::Remove(_) => Some(FieldType::Array),
            Op::AddRelation(targets) | Op::RemoveRelation(targets) => {
                targets.class_name.map(|class| FieldType::Relation(class.to_owned()))
            }
            Op::Batch(ops) => {
                let mut agreed: Option<FieldType> = None;
                for op in ops {
                    match (op.field_type()?, &agreed) {
                        (Some(this), Some(before)) if this != *before => {
                            return Err(incorrect_type(format!(
                                "Batch ops disagree on the field's type: {before} and {this}"
                            )))
                        }
                        (Some(this), None) => agreed = Some(this),
                        _ => {}
                    }
                }
                agreed
            }
        })
    }
}

fn objects<'a>(body: &'a Map<String, Value>, complaint: &str) -> Result<&'a [Value], DataError> {
    match body.get("objects") {
        Some(Value::Array(objects)) => Ok(objects),
        _ => Err(invalid_json(complaint.to_owned())),
    }
}

fn relation_targets<'a>(body: &'a Map<String, Value>, op: &str) -> Result<RelationTargets<'a>, DataError> {
    let objects = objects(body, &format!("{op} objects must be an array of pointers"))?;
    let mut targets = RelationTargets { class_name: None, object_ids: Vec::with_capacity(objects.len()) };
    for object in objects {
        let (class_name, object_id) = match object.as_object() {
            Some(pointer) if pointer.get("__type").and_then(Value::as_str) == Some("Pointer") => (
                pointer.get("className").and_then(Value::as_str),
                pointer.get("objectId").and_then(Value::as_str),
            ),
            _ => (None, None),
        };
        let (Some(class_name), Some(object_id)) = (class_name, object_id) else {
            return Err(DataError::NotAPointer { op: op.to_owned(), object: object.clone() });
        };
        validate_class_name(class_name)?;
        validate_object_id(object_id)?;
        match targets.class_name {
            Some(first) if first != class_name => {
                return Err(incorrect_type(format!(
                    "{op} objects must all point to one class, got {first} and {class_name}"
                )))
            }
            _ => targets.class_name = Some(class_name),
        }
        targets.object_ids.push(object_id);
    }
    Ok(targets)
}

/// Relation membership changes an update asked for, per relation field, for the caller to
/// apply to its join storage. Each key appears at most once per list; ids are not repeated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelationChanges {
    pub add: Vec<(String, Vec<String>)>,
    pub remove: Vec<(String, Vec<String>)>,
}

impl RelationChanges {
    fn record(list: &mut Vec<(String, Vec<String>)>, key: &str, ids: &[&str]) {
        let index = match list.iter().position(|(k, _)| k == key) {
            Some(index) => index,
            None => {
                list.push((key.to_owned(), Vec::new()));
                list.len() - 1
            }
        };
        let entry = &mut list[index].1;
        for id in ids {
            if !entry.iter().any(|existing| existing == id) {
                entry.push((*id).to_owned());
            }
        }
    }
}

/// Applies a REST create or update body to `current`.
///
/// Either the whole body applies or none of it does: on error `current` is left exactly as
/// it was, so the caller can report the error without undoing half an update. Key names
/// are not validated against Parse's rules here (that is `ClassSchema::check_and_extend`'s
/// job, and the server itself writes internal `_`-prefixed fields through this function);
/// only paths with empty segments (`"a..b"`, `".a"`) are refused, with 105.
///
/// Keys are applied in the body's map order; a key that is a prefix of another (`"a"` and
/// `"a.b"`) sorts first, so the nested key acts on the freshly set value.
pub fn apply_update(
    current: &mut Map<String, Value>,
    update: &Map<String, Value>,
) -> Result<RelationChanges, DataError> {
    let mut root = Value::Object(current.clone());
    let mut changes = RelationChanges::default();
    for (key, value) in update {
        let path: Vec<&str> = key.split('.').collect();
        if path.iter().any(|segment| segment.is_empty()) {
            return Err(DataError::InvalidFieldName(key.clone()));
        }
        if path.len() > MAX_PATH_SEGMENTS {
            return Err(DataError::UpdatePathTooDeep(path.len()));
        }
        match Op::parse(value)? {
            None => *slot(&mut root, key, &path)? = value.clone(),
            Some(op) => apply_op(&mut root, key, &path, &op, &mut changes)?,
        }
    }
    // Only the root's descendants are ever replaced, so it is still an object here.
    if let Value::Object(next) = root {
        *current = next;
    }
    Ok(changes)
}

/// Refuses (107) an object whose values nest deeper than [`MAX_VALUE_DEPTH`]. Callers check
/// the object as it will be stored, after dotted keys and `__op`s are applied: a body can
/// build depth out of a long dotted key as well as out of a nested value.
///
/// Checking the proposed object also bounds what the later commit writes, even if the object
/// changed in between: each key of a body adds at most its own path plus its value's depth,
/// and that sum is part of the proposed object's depth.
pub fn check_nesting(object: &Map<String, Value>) -> Result<(), DataError> {
    // Iterative, so that the check itself cannot overflow the stack on what it refuses.
    let mut pending: Vec<(&str, &Value, usize)> = object.iter().map(|(key, value)| (key.as_str(), value, 1)).collect();
    while let Some((field, value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        if depth > MAX_VALUE_DEPTH {
            return Err(DataError::ValueTooDeep(field.to_owned()));
        }
        pending.extend(children.map(|child| (field, child, depth + 1)));
    }
    Ok(())
}

fn apply_op(
    root: &mut Value,
    key: &str,
    path: &[&str],
    op: &Op,
    changes: &mut RelationChanges,
) -> Result<(), DataError> {
    match op {
        Op::Delete => {
            delete(root, path);
            Ok(())
        }
        Op::Increment(amount) => {
            let target = slot(root, key, path)?;
            *target = match target {
                Value::Null => Value::Number((*amount).clone()),
                Value::Number(current) => Value::Number(add_numbers(current, amount, key)?),
                other => {
                    return Err(incorrect_type(format!(
                        "Cannot increment {key}: its value {other} is not a number"
                    )))
                }
            };
            Ok(())
        }
        Op::Add(objects) => {
            array_slot(root, key, path, "Add")?.extend(objects.iter().cloned());
            Ok(())
        }
        Op::AddUnique(objects) => {
            let items = array_slot(root, key, path, "AddUnique")?;
            for object in objects.iter() {
                if !items.iter().any(|item| same_value(item, object)) {
                    items.push(object.clone());
                }
            }
            Ok(())
        }
        Op::Remove(objects) => {
            array_slot(root, key, path, "Remove")?
                .retain(|item| !objects.iter().any(|object| same_value(item, object)));
            Ok(())
        }
        Op::AddRelation(targets) => apply_relation(root, key, path, targets, "AddRelation", &mut changes.add),
        Op::RemoveRelation(targets) => {
            apply_relation(root, key, path, targets, "RemoveRelation", &mut changes.remove)
        }
        Op::Batch(ops) => {
            for op in ops {
                apply_op(root, key, path, op, changes)?;
            }
            Ok(())
        }
    }
}

fn apply_relation(
    root: &mut Value,
    key: &str,
    path: &[&str],
    targets: &RelationTargets,
    op: &str,
    list: &mut Vec<(String, Vec<String>)>,
) -> Result<(), DataError> {
    if path.len() > 1 {
        return Err(incorrect_type(format!("{op} cannot target the nested key {key}")));
    }
    // With no pointers there is no target class to mark the field with, and nothing to do.
    let Some(class_name) = targets.class_name else {
        return Ok(());
    };
    let target = slot(root, key, path)?;
    match target {
        Value::Null => {
            let mut marker = Map::new();
            marker.insert("__type".to_owned(), Value::from("Relation"));
            marker.insert("className".to_owned(), Value::from(class_name));
            *target = Value::Object(marker);
        }
        Value::Object(existing) if existing.get("__type") == Some(&Value::from("Relation")) => {
            let existing_class = existing.get("className").and_then(Value::as_str);
            if existing_class != Some(class_name) {
                return Err(incorrect_type(format!(
                    "schema mismatch for {key}; expected Relation<{}> but got Relation<{class_name}>",
                    existing_class.unwrap_or("?")
                )));
            }
        }
        other => {
            return Err(incorrect_type(format!(
                "Cannot apply {op} to {key}: its value {other} is not a relation"
            )))
        }
    }
    RelationChanges::record(list, key, &targets.object_ids);
    Ok(())
}

/// The array at `path` for Add/AddUnique/Remove; a missing (or null) field starts as `[]`,
/// which is also what Parse stores when one of these ops creates an object.
fn array_slot<'v>(
    root: &'v mut Value,
    key: &str,
    path: &[&str],
    op: &str,
) -> Result<&'v mut Vec<Value>, DataError> {
    let target = slot(root, key, path)?;
    if target.is_null() {
        *target = Value::Array(Vec::new());
    }
    match target {
        Value::Array(items) => Ok(items),
        other => {
            Err(incorrect_type(format!("Cannot apply {op} to {key}: its value {other} is not an array")))
        }
    }
}

/// The value at `path`, creating it (as `null`) and any missing intermediate objects.
///
/// A `null` intermediate is replaced by an object rather than refused; an array element can
/// be addressed by index (`"list.0"`), and one past the end appends. Indexes further out are
/// refused instead of padded with nulls as MongoDB would, so one request cannot make the
/// server allocate an arbitrarily large array.
fn slot<'v>(root: &'v mut Value, key: &str, path: &[&str]) -> Result<&'v mut Value, DataError> {
    let mut node = root;
    for (depth, segment) in path.iter().enumerate() {
        if depth > 0 && node.is_null() {
            *node = Value::Object(Map::new());
        }
        node = match node {
            Value::Object(map) => map.entry(*segment).or_insert(Value::Null),
            Value::Array(items) => {
                let index = array_index(segment).filter(|&index| index <= items.len());
                let Some(index) = index else {
                    return Err(incorrect_type(format!(
                        "Cannot set {key}: {segment} is not an index within {}",
                        path[..depth].join(".")
                    )));
                };
                if index == items.len() {
                    items.push(Value::Null);
                }
                &mut items[index]
            }
            other => {
                return Err(incorrect_type(format!(
                    "Cannot set {key}: {} holds {other}, not an object",
                    path[..depth].join(".")
                )))
            }
        };
    }
    Ok(node)
}

/// Removes the value at `path`. Missing paths are a no-op, as Parse's `Delete` is; an array
/// element becomes `null` rather than shifting its successors' indexes (MongoDB's `$unset`).
fn delete(root: &mut Value, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for segment in parents {
        let child = match node {
            Value::Object(map) => map.get_mut(*segment),
            Value::Array(items) => array_index(segment).and_then(|index| items.get_mut(index)),
            _ => None,
        };
        match child {
            Some(child) => node = child,
            None => return,
        }
    }
    match node {
        Value::Object(map) => {
            map.remove(*last);
        }
        Value::Array(items) => {
            if let Some(item) = array_index(last).and_then(|index| items.get_mut(index)) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

fn array_index(segment: &str) -> Option<usize> {
    if segment.bytes().all(|b| b.is_ascii_digit()) {
        segment.parse().ok()
    } else {
        None
    }
}

/// Adds like JavaScript would, but keeps integers exact while they fit in an `i64`.
///
/// Float results that are whole numbers are stored as integers so they serialize as `2`,
/// not `2.0`, matching what a Node.js-based Parse Server sends.
fn add_numbers(current: &Number, amount: &Number, key: &str) -> Result<Number, DataError> {
    if let (Some(a), Some(b)) = (current.as_i64(), amount.as_i64()) {
        if let Some(sum) = a.checked_add(b) {
            return Ok(sum.into());
        }
    }
    let overflow = || incorrect_type(format!("Incrementing {key} overflows"));
    let sum = match (current.as_f64(), amount.as_f64()) {
        (Some(a), Some(b)) => a + b,
        _ => return Err(overflow()),
    };
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if sum.fract() == 0.0 && sum.abs() <= MAX_SAFE_INTEGER {
        return Ok((sum as i64).into());
    }
    Number::from_f64(sum).ok_or_else(overflow)
}

/// Equality for AddUnique/Remove: pointers (and full objects) are the same when they name
/// the same class and objectId, and numbers compare by value (`1` equals `1.0`, as in
/// JavaScript); everything else is deep equality.
fn same_value(a: &Value, b: &Value) -> bool {
    if let (Some(a), Some(b)) = (pointer_identity(a), pointer_identity(b)) {
        return a == b;
    }
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => same_number(a, b),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

fn same_number(a: &Number, b: &Number) -> bool {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a == b;
    }
    a.as_f64() == b.as_f64()
}

fn pointer_identity(value: &Value) -> Option<(&str, &str)> {
    let object = value.as_object()?;
    match object.get("__type")?.as_str()? {
        "Pointer" | "Object" => Some((object.get("className")?.as_str()?, object.get("objectId")?.as_str()?)),
        _ => None,
    }
}

/// `values` without repeats (by AddUnique's equality), in order: what AddUnique of them
/// appends to an array holding none of them.
pub fn distinct(values: &[Value]) -> Vec<Value> {
    let mut kept: Vec<Value> = Vec::with_capacity(values.len());
    for value in values {
        if !kept.iter().any(|other| same_value(other, value)) {
            kept.push(value.clone());
        }
    }
    kept
}

/// Whether AddUnique's and Remove's equality with `value` is JSON equality, but for `value`
/// itself being a pointer: no part nested in it is one. A store that compares in its own
/// query language (jsonb `=`) can then apply the op as Parse does.
pub fn compares_as_json(value: &Value) -> bool {
    let mut pending: Vec<&Value> = match value {
        Value::Object(map) => map.values().collect(),
        Value::Array(items) => items.iter().collect(),
        _ => return true,
    };
    while let Some(part) = pending.pop() {
        if pointer_identity(part).is_some() {
            return false;
        }
        match part {
            Value::Object(map) => pending.extend(map.values()),
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    true
}

fn invalid_json(message: String) -> DataError {
    DataError::InvalidOperation(message)
}

fn incorrect_type(message: String) -> DataError {
    DataError::OperationNotApplicable(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn distinct_values_and_which_compare_as_json() {
        let pointer = json!({"__type": "Pointer", "className": "A", "objectId": "x"});
        let included = json!({"__type": "Object", "className": "A", "objectId": "x", "name": "n"});
        assert_eq!(distinct(&[json!(1), json!(1.0), pointer.clone(), included.clone(), json!("1")]), vec![json!(1), pointer.clone(), json!("1")]);
        assert!(compares_as_json(&json!(1)) && compares_as_json(&pointer) && compares_as_json(&included));
        assert!(compares_as_json(&json!({"a": [1, {"b": "c"}]})));
        assert!(!compares_as_json(&json!({"owner": pointer})));
        assert!(!compares_as_json(&json!([included])));
    }

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn pointer(class: &str, id: &str) -> Value {
        json!({"__type": "Pointer", "className": class, "objectId": id})
    }

    fn apply(current: Value, update: Value) -> Result<(Value, RelationChanges), DataError> {
        let mut object = map(current);
        let changes = apply_update(&mut object, &map(update))?;
        Ok((Value::Object(object), changes))
    }

    #[test]
    fn applies_values_and_operations() {
        let date = json!({"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"});
        let file = json!({"__type": "File", "name": "a.png", "url": "http://x/a.png"});
        // (current, update, expected)
        let cases = vec![
            (json!({}), json!({"a": 1, "b": "x"}), json!({"a": 1, "b": "x"})),
            (json!({"a": 1}), json!({"a": [1, 2]}), json!({"a": [1, 2]})),
            (json!({}), json!({"when": date, "f": file}), json!({"when": date, "f": file})),
            (json!({}), json!({"p": pointer("_User", "u1")}), json!({"p": pointer("_User", "u1")})),
            (json!({"a": 1}), json!({"a": null}), json!({"a": null})),
            (json!({"a": 1, "b": 2}), json!({"a": {"__op": "Delete"}}), json!({"b": 2})),
            (json!({"b": 2}), json!({"a": {"__op": "Delete"}}), json!({"b": 2})),
            (json!({}), json!({"n": {"__op": "Increment", "amount": 3}}), json!({"n": 3})),
            (json!({"n": 5}), json!({"n": {"__op": "Increment", "amount": -2}}), json!({"n": 3})),
            (json!({"n": 1.5}), json!({"n": {"__op": "Increment", "amount": 0.5}}), json!({"n": 2})),
            (json!({"n": 1}), json!({"n": {"__op": "Increment", "amount": 0.25}}), json!({"n": 1.25})),
            (json!({"n": null}), json!({"n": {"__op": "Increment", "amount": 1}}), json!({"n": 1})),
            (
                json!({"n": i64::MAX}),
                json!({"n": {"__op": "Increment", "amount": 1}}),
                json!({"n": 9_223_372_036_854_775_808.0_f64}),
            ),
            (json!({}), json!({"l": {"__op": "Add", "objects": [1, 1]}}), json!({"l": [1, 1]})),
            (
                json!({"l": [1]}),
                json!({"l": {"__op": "Add", "objects": [1, "x"]}}),
                json!({"l": [1, 1, "x"]}),
            ),
            (
                json!({"l": [1, 2]}),
                json!({"l": {"__op": "AddUnique", "objects": [2, 3, 3]}}),
                json!({"l": [1, 2, 3]}),
            ),
            (json!({"l": [1]}), json!({"l": {"__op": "AddUnique", "objects": [1.0]}}), json!({"l": [1]})),
            (
                json!({"l": [{"a": [1, {"b": 2}]}]}),
                json!({"l": {"__op": "AddUnique", "objects": [{"a": [1, {"b": 2}]}, {"a": [1]}]}}),
                json!({"l": [{"a": [1, {"b": 2}]}, {"a": [1]}]}),
            ),
            (
                json!({"l": [pointer("A", "1")]}),
                json!({"l": {"__op": "AddUnique", "objects": [
                    {"__type": "Object", "className": "A", "objectId": "1", "x": 5},
                    pointer("A", "2"),
                    pointer("B", "1"),
                ]}}),
                json!({"l": [pointer("A", "1"), pointer("A", "2"), pointer("B", "1")]}),
            ),
            (json!({}), json!({"l": {"__op": "AddUnique", "objects": [1, 1]}}), json!({"l": [1]})),
            (
                json!({"l": [1, 2, 1, 3]}),
                json!({"l": {"__op": "Remove", "objects": [1, 9]}}),
                json!({"l": [2, 3]}),
            ),
            (
                json!({"l": [pointer("A", "1"), pointer("A", "2")]}),
                json!({"l": {"__op": "Remove", "objects": [{"__type": "Object", "className": "A", "objectId": "1"}]}}),
                json!({"l": [pointer("A", "2")]}),
            ),
            (json!({}), json!({"l": {"__op": "Remove", "objects": [1]}}), json!({"l": []})),
            (
                json!({"n": 1}),
                json!({"n": {"__op": "Batch", "ops": [
                    {"__op": "Increment", "amount": 2},
                    {"__op": "Increment", "amount": 3},
                ]}}),
                json!({"n": 6}),
            ),
            (json!({"n": 1}), json!({"n": {"__op": "Batch", "ops": []}}), json!({"n": 1})),
            (json!({}), json!({"a.b": 1}), json!({"a": {"b": 1}})),
            (json!({"a": {"c": 2}}), json!({"a.b.c": true}), json!({"a": {"c": 2, "b": {"c": true}}})),
            (json!({"a": null}), json!({"a.b": 1}), json!({"a": {"b": 1}})),
            (
                json!({"a": {"n": 1}}),
                json!({"a.n": {"__op": "Increment", "amount": 1}}),
                json!({"a": {"n": 2}}),
            ),
            (json!({}), json!({"a.n": {"__op": "Increment", "amount": 1}}), json!({"a": {"n": 1}})),
            (json!({}), json!({"a.l": {"__op": "Add", "objects": [1]}}), json!({"a": {"l": [1]}})),
            (json!({"a": {"b": 1, "c": 2}}), json!({"a.b": {"__op": "Delete"}}), json!({"a": {"c": 2}})),
            (json!({"a": 5}), json!({"a.b": {"__op": "Delete"}}), json!({"a": 5})),
            (json!({}), json!({"a.b": {"__op": "Delete"}}), json!({})),
            (json!({"l": [1, 2]}), json!({"l.0": 9}), json!({"l": [9, 2]})),
            (json!({"l": [1, 2]}), json!({"l.2": 3}), json!({"l": [1, 2, 3]})),
            (
                json!({"l": [{"n": 1}]}),
                json!({"l.0.n": {"__op": "Increment", "amount": 1}}),
                json!({"l": [{"n": 2}]}),
            ),
            (json!({"l": [1, 2]}), json!({"l.0": {"__op": "Delete"}}), json!({"l": [null, 2]})),
            (json!({"l": [1, 2]}), json!({"l.5": {"__op": "Delete"}}), json!({"l": [1, 2]})),
            (json!({"a": {"x": 1}}), json!({"a": {"y": 2}, "a.z": 3}), json!({"a": {"y": 2, "z": 3}})),
            (
                json!({}),
                json!({"ACL": {"*": {"read": true}}, "_hashed_password": "h"}),
                json!({"ACL": {"*": {"read": true}}, "_hashed_password": "h"}),
            ),
            (
                json!({}),
                json!({"o": {"x": {"__op": "Increment"}}}),
                json!({"o": {"x": {"__op": "Increment"}}}),
            ),
        ];
        for (current, update, expected) in cases {
            let (result, changes) =
                apply(current.clone(), update.clone()).unwrap_or_else(|e| panic!("{update}: {e:?}"));
            assert_eq!(result, expected, "{current} + {update}");
            assert_eq!(changes, RelationChanges::default());
        }
    }

    #[test]
    fn relation_ops_mark_the_field_and_report_ids() {
        let relation = |class: &str| json!({"__type": "Relation", "className": class});
        let ids = |key: &str, ids: &[&str]| (key.to_owned(), ids.iter().map(|s| s.to_string()).collect());
        let add = |ptrs: Vec<Value>| json!({"__op": "AddRelation", "objects": ptrs});
        let remove = |ptrs: Vec<Value>| json!({"__op": "RemoveRelation", "objects": ptrs});
        // (current, update, expected object, expected adds, expected removes)
        type Ids = Vec<(String, Vec<String>)>;
        let cases: Vec<(Value, Value, Value, Ids, Ids)> = vec![
            (
                json!({}),
                json!({"friends": add(vec![pointer("_User", "a"), pointer("_User", "b")])}),
                json!({"friends": relation("_User")}),
                vec![ids("friends", &["a", "b"])],
                vec![],
            ),
            (
                json!({"friends": relation("_User")}),
                json!({"friends": remove(vec![pointer("_User", "a")])}),
                json!({"friends": relation("_User")}),
                vec![],
                vec![ids("friends", &["a"])],
            ),
            (
                json!({}),
                json!({"friends": {"__op": "Batch", "ops": [
                    add(vec![pointer("_User", "a")]),
                    add(vec![pointer("_User", "a"), pointer("_User", "c")]),
                    remove(vec![pointer("_User", "b")]),
                ]}}),
                json!({"friends": relation("_User")}),
                vec![ids("friends", &["a", "c"])],
                vec![ids("friends", &["b"])],
            ),
            (
                json!({"x": 1}),
                json!({"a": add(vec![pointer("A", "1")]), "b": add(vec![pointer("B", "2")])}),
                json!({"x": 1, "a": relation("A"), "b": relation("B")}),
                vec![ids("a", &["1"]), ids("b", &["2"])],
                vec![],
            ),
            (json!({}), json!({"r": add(vec![])}), json!({}), vec![], vec![]),
        ];
        for (current, update, expected, adds, removes) in cases {
            let (result, changes) =
                apply(current, update.clone()).unwrap_or_else(|e| panic!("{update}: {e:?}"));
            assert_eq!(result, expected, "{update}");
            assert_eq!(changes, RelationChanges { add: adds, remove: removes }, "{update}");
        }
    }

    #[test]
    fn rejects_malformed_and_mismatched_operations() {
        // (current, update, expected code)
        let cases = vec![
            (json!({}), json!({"n": {"__op": "Increment"}}), 107),
            (json!({}), json!({"n": {"__op": "Increment", "amount": "1"}}), 107),
            (json!({}), json!({"n": {"__op": "Increment", "amount": null}}), 107),
            (json!({"n": "x"}), json!({"n": {"__op": "Increment", "amount": 1}}), 111),
            (json!({"n": [1]}), json!({"n": {"__op": "Increment", "amount": 1}}), 111),
            (json!({"n": 1e308}), json!({"n": {"__op": "Increment", "amount": 1e308}}), 111),
            (json!({}), json!({"l": {"__op": "Add"}}), 107),
            (json!({}), json!({"l": {"__op": "Add", "objects": 1}}), 107),
            (json!({}), json!({"l": {"__op": "AddUnique", "objects": {"a": 1}}}), 107),
            (json!({}), json!({"l": {"__op": "Remove", "objects": "x"}}), 107),
            (json!({"l": "x"}), json!({"l": {"__op": "Add", "objects": [1]}}), 111),
            (json!({"l": {}}), json!({"l": {"__op": "AddUnique", "objects": [1]}}), 111),
            (json!({"l": 3}), json!({"l": {"__op": "Remove", "objects": [1]}}), 111),
            (json!({}), json!({"x": {"__op": "Frobnicate"}}), 107),
            (json!({}), json!({"x": {"__op": 1}}), 107),
            (json!({}), json!({"x": {"__op": null}}), 107),
            (json!({}), json!({"x": {"__op": "Batch"}}), 107),
            (json!({}), json!({"x": {"__op": "Batch", "ops": {}}}), 107),
            (json!({}), json!({"x": {"__op": "Batch", "ops": [1]}}), 107),
            (json!({}), json!({"x": {"__op": "Batch", "ops": [{"__op": "Nope"}]}}), 107),
            (json!({}), json!({"r": {"__op": "AddRelation"}}), 107),
            (json!({}), json!({"r": {"__op": "RemoveRelation", "objects": pointer("A", "1")}}), 107),
            (json!({}), json!({"r": {"__op": "AddRelation", "objects": ["x"]}}), 106),
            (
                json!({}),
                json!({"r": {"__op": "AddRelation", "objects": [{"className": "A", "objectId": "1"}]}}),
                106,
            ),
            (
                json!({}),
                json!({"r": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "A"}]}}),
                106,
            ),
            (
                json!({}),
                json!({"r": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "objectId": "1"}]}}),
                106,
            ),
            (json!({}), json!({"r": {"__op": "AddRelation", "objects": [pointer("9A", "1")]}}), 103),
            (
                json!({}),
                json!({"r": {"__op": "AddRelation", "objects": [pointer("A", "1"), pointer("B", "2")]}}),
                111,
            ),
            (json!({"r": 1}), json!({"r": {"__op": "AddRelation", "objects": [pointer("A", "1")]}}), 111),
            (
                json!({"r": {"__type": "Relation", "className": "B"}}),
                json!({"r": {"__op": "AddRelation", "objects": [pointer("A", "1")]}}),
                111,
            ),
            (json!({}), json!({"a.r": {"__op": "AddRelation", "objects": [pointer("A", "1")]}}), 111),
            (json!({"a": 5}), json!({"a.b": 1}), 111),
            (json!({"a": "s"}), json!({"a.b": {"__op": "Increment", "amount": 1}}), 111),
            (json!({"l": [1]}), json!({"l.x": 1}), 111),
            (json!({"l": [1]}), json!({"l.2": 1}), 111),
            (json!({"l": [1]}), json!({"l.99999999999": 1}), 111),
            (json!({}), json!({"a..b": 1}), 105),
            (json!({}), json!({".a": 1}), 105),
            (json!({}), json!({"a.": 1}), 105),
            (json!({}), json!({"": 1}), 105),
        ];
        for (current, update, code) in cases {
            let mut object = map(current.clone());
            let before = object.clone();
            let err =
                apply_update(&mut object, &map(update.clone())).expect_err(&format!("{current} + {update}"));
            assert_eq!(err.code(), code, "{current} + {update}: {}", err);
            assert!(!err.to_string().is_empty());
            assert_eq!(object, before, "a failed update must not change the object");
        }
    }

    #[test]
    fn failed_update_leaves_earlier_keys_unapplied() {
        let mut object = map(json!({"a": 1, "n": "x"}));
        let update = map(json!({"a": 2, "b": 3, "n": {"__op": "Increment", "amount": 1}}));
        assert!(apply_update(&mut object, &update).is_err());
        assert_eq!(Value::Object(object), json!({"a": 1, "n": "x"}));
    }

    #[test]
    fn parse_messages_match_parse_server() {
        let cases = [
            (json!({"__op": "Increment", "amount": "1"}), "incrementing must provide a number"),
            (json!({"__op": "Add", "objects": 1}), "objects to add must be an array"),
            (json!({"__op": "AddUnique"}), "objects to add must be an array"),
            (json!({"__op": "Remove"}), "objects to remove must be an array"),
        ];
        for (op, message) in cases {
            assert_eq!(Op::parse(&op).unwrap_err().to_string(), message, "{op}");
        }
    }

    #[test]
    fn operation_types() {
        let cases = vec![
            (json!({"__op": "Delete"}), None),
            (json!({"__op": "Increment", "amount": 1}), Some(FieldType::Number)),
            (json!({"__op": "Add", "objects": []}), Some(FieldType::Array)),
            (json!({"__op": "AddUnique", "objects": []}), Some(FieldType::Array)),
            (json!({"__op": "Remove", "objects": []}), Some(FieldType::Array)),
            (
                json!({"__op": "AddRelation", "objects": [pointer("A", "1")]}),
                Some(FieldType::Relation("A".into())),
            ),
            (
                json!({"__op": "RemoveRelation", "objects": [pointer("_User", "1")]}),
                Some(FieldType::Relation("_User".into())),
            ),
            (json!({"__op": "AddRelation", "objects": []}), None),
            (json!({"__op": "Batch", "ops": []}), None),
            (
                json!({"__op": "Batch", "ops": [
                    {"__op": "AddRelation", "objects": []},
                    {"__op": "AddRelation", "objects": [pointer("A", "1")]},
                    {"__op": "RemoveRelation", "objects": [pointer("A", "2")]},
                ]}),
                Some(FieldType::Relation("A".into())),
            ),
        ];
        for (value, expected) in cases {
            let op = Op::parse(&value).unwrap().expect("an op");
            assert_eq!(op.field_type().unwrap(), expected, "{value}");
        }
        let disagreeing = json!({"__op": "Batch", "ops": [
            {"__op": "AddRelation", "objects": [pointer("A", "1")]},
            {"__op": "AddRelation", "objects": [pointer("B", "1")]},
        ]});
        let op = Op::parse(&disagreeing).unwrap().unwrap();
        assert_eq!(op.field_type().unwrap_err().code(), 111);
        for plain in [json!(1), json!(null), json!([]), json!({"a": 1}), json!({"__type": "Date"})] {
            assert_eq!(Op::parse(&plain).unwrap(), None, "{plain}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        fn nested(depth: usize) -> Value {
            (0..depth).fold(json!(1), |inner, _| json!({"a": inner}))
        }
        let within = json!({"x": nested(MAX_VALUE_DEPTH)});
        check_nesting(within.as_object().unwrap()).unwrap();
        let deeper = json!({"x": nested(MAX_VALUE_DEPTH + 1)});
        let error = check_nesting(deeper.as_object().unwrap()).unwrap_err();
        assert_eq!(error.code(), 107);
        assert!(error.to_string().contains("x nests") && error.to_string().contains("64 levels"), "{}", error);
        let arrays = json!({"y": (0..100).fold(json!([]), |inner, _| json!([inner]))});
        assert_eq!(check_nesting(arrays.as_object().unwrap()).unwrap_err().code(), 107);
    }

    #[test]
    fn dotted_keys_with_too_many_segments_are_refused() {
        let key = vec!["a"; MAX_PATH_SEGMENTS + 1].join(".");
        let mut update = Map::new();
        update.insert(key, json!(1));
        let mut object = Map::new();
        assert_eq!(apply_update(&mut object, &update).unwrap_err().code(), 105);
        assert!(object.is_empty());
    }

    #[test]
    fn relation_ids_must_be_plain() {
        for id in ["", "a\u{0}b", "line\nbreak", &"x".repeat(129)] {
            let op = json!({"__op": "AddRelation", "objects": [pointer("A", id)]});
            assert_eq!(Op::parse(&op).unwrap_err().code(), 106, "{id:?}");
        }
    }
}
