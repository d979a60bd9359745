//! Parse Server's checks and rewrites of a query's parameters before it runs: `$`-keys that
//! are no operator (105), order keys that are no field name (105 `Invalid field name: x.`),
//! `include=*` (every pointer field of the class), `redirectClassNameForKey` (a relation's
//! query runs on the relation's target class), and a `$relatedTo` whose object was never saved
//! (an empty answer, not an error).

use serde_json::{Map, Value};

use crate::data::schema::{close_polygon_ring, validate_field_name, FieldType};
use crate::data::DataError;
use crate::data::{Database, FindOptions};

/// The top-level `where` operators Parse accepts.
const QUERY_OPERATORS: &[&str] = &["$or", "$and", "$nor", "$relatedTo", "$text"];

/// What a query becomes once Parse Server's rules are applied.
pub struct Prepared {
    /// The class the query runs on: the target of `redirectClassNameForKey`, or the asked one.
    pub class: String,
    /// Set when the class was redirected: the answer names it, as Parse Server's does.
    pub redirected: bool,
    /// The answer is known to be empty without running the query.
    pub empty: bool,
}

pub fn prepare(db: &Database, class: &str, params: &Map<String, Value>, options: &mut FindOptions) -> Result<Prepared, DataError> {
    check_where_keys(&options.where_)?;
    if let Some(order) = options.order.take() {
        let order = internal_date_names(&order);
        check_order(&order)?;
        options.order = Some(order);
    }
    let mut prepared = Prepared { class: class.to_owned(), redirected: false, empty: unsaved_related_to(&options.where_) };
    relation_constraints(db, class, &mut options.where_)?;
    close_polygons(&mut options.where_);
    if let Some(Value::String(key)) = params.get("redirectClassNameForKey") {
        let target = db.class_schema(class).and_then(|schema| match schema.fields.get(key) {
            Some(FieldType::Relation(target)) => Some(target.clone()),
            _ => None,
        });
        if let Some(target) = target {
            prepared.class = target;
            prepared.redirected = true;
        }
    }
    if options.include.iter().any(|path| path == "*") {
        let pointers: Vec<String> = db
            .class_schema(&prepared.class)
            .map(|schema| {
                schema.fields.iter().filter(|(_, t)| matches!(t, FieldType::Pointer(_))).map(|(name, _)| name.clone()).collect()
            })
            .unwrap_or_default();
        options.include.retain(|path| path != "*");
        for field in pointers {
            if !options.include.contains(&field) {
                options.include.push(field);
            }
        }
    }
    Ok(prepared)
}

/// A `where` key starting with `$` must be one of Parse's operators (105 `Invalid key name`).
fn check_where_keys(where_: &Value) -> Result<(), DataError> {
    let Some(object) = where_.as_object() else { return Ok(()) };
    for (key, value) in object {
        if key.starts_with('$') && !QUERY_OPERATORS.contains(&key.as_str()) {
            return Err(DataError::InvalidKeyName(key.clone()));
        }
        if matches!(key.as_str(), "$or" | "$and" | "$nor") {
            for part in value.as_array().into_iter().flatten() {
                check_where_keys(part)?;
            }
        }
    }
    Ok(())
}

/// Each order key's top-level field must be a field name (`_password`, `length` are not),
/// whoever asks; `$score` orders a full-text search.
fn check_order(order: &str) -> Result<(), DataError> {
    for key in order.split(',').map(|k| k.trim().trim_start_matches('-')).filter(|k| !k.is_empty() && *k != "$score") {
        let root = key.split('.').next().unwrap_or_default();
        if validate_field_name(root).is_err() {
            return Err(DataError::InvalidOrderKey(key.to_owned()));
        }
    }
    Ok(())
}

/// `_created_at` and `_updated_at` (the stored names of the dates, which old clients order by)
/// mean `createdAt` and `updatedAt`, as Parse Server maps them.
fn internal_date_names(order: &str) -> String {
    order
        .split(',')
        .map(|key| {
            let key = key.trim();
            let (sign, name) = key.strip_prefix('-').map_or(("", key), |name| ("-", name));
            match name {
                "_created_at" => format!("{sign}createdAt"),
                "_updated_at" => format!("{sign}updatedAt"),
                _ => key.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Polygons compared in a query are closed as stored ones are, so an open polygon finds the
/// object saved with it (Parse Server closes both sides).
fn close_polygons(where_: &mut Value) {
    let Some(object) = where_.as_object_mut() else { return };
    for (key, value) in object.iter_mut() {
        if matches!(key.as_str(), "$and" | "$or" | "$nor") {
            value.as_array_mut().into_iter().flatten().for_each(close_polygons);
            continue;
        }
        close_polygon_ring(value);
        for operator in ["$eq", "$ne"] {
            if let Some(operand) = value.get_mut(operator) {
                close_polygon_ring(operand);
            }
        }
        for operator in ["$in", "$nin"] {
            value.get_mut(operator).and_then(Value::as_array_mut).into_iter().flatten().for_each(close_polygon_ring);
        }
    }
}

/// `equalTo`/`containedIn`/`notEqualTo`/`notContainedIn` on a relation field ask which
/// objects' relation holds (or holds none of) the objects named: Parse Server rewrites them to
/// a constraint on `objectId`, and so does this (in `$and`, beside any the query has).
/// Values that are no pointer name no member; an operand of the wrong shape is left for the
/// query compiler to refuse.
fn relation_constraints(db: &Database, class: &str, where_: &mut Value) -> Result<(), DataError> {
    let Some(object) = where_.as_object_mut() else { return Ok(()) };
    for key in ["$and", "$or", "$nor"] {
        for part in object.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
            relation_constraints(db, class, part)?;
        }
    }
    let Some(schema) = db.class_schema(class) else { return Ok(()) };
    let relations: Vec<String> = object
        .keys()
        .filter(|key| matches!(schema.fields.get(*key), Some(FieldType::Relation(_))))
        .cloned()
        .collect();
    let mut constraints = Vec::new();
    for key in relations {
        let Some((members, inside)) = object.get(&key).and_then(relation_members) else { continue };
        object.remove(&key);
        let owners = db.relation_owners(class, &key, &members)?;
        let operator = if inside { "$in" } else { "$nin" };
        constraints.push(serde_json::json!({ "objectId": { operator: owners } }));
    }
    if !constraints.is_empty() {
        match object.get_mut("$and").and_then(Value::as_array_mut) {
            Some(and) => and.extend(constraints),
            None => {
                object.insert("$and".into(), Value::Array(constraints));
            }
        }
    }
    Ok(())
}

/// The objectIds a relation constraint names, and whether the relation must hold one of them
/// (`equalTo`, `$eq`, `$in`) or none (`$ne`, `$nin`). None for any other constraint.
fn relation_members(constraint: &Value) -> Option<(std::collections::HashSet<String>, bool)> {
    let ids = |values: &[Value]| values.iter().filter_map(pointer_id).collect();
    if pointer_id(constraint).is_some() {
        return Some((ids(std::slice::from_ref(constraint)), true));
    }
    let operators = constraint.as_object()?;
    if operators.len() != 1 {
        return None;
    }
    let (operator, operand) = operators.iter().next()?;
    match (operator.as_str(), operand) {
        ("$eq", single) if pointer_id(single).is_some() => Some((ids(std::slice::from_ref(single)), true)),
        ("$ne", single) if pointer_id(single).is_some() => Some((ids(std::slice::from_ref(single)), false)),
        ("$in", Value::Array(values)) => Some((ids(values), true)),
        ("$nin", Value::Array(values)) => Some((ids(values), false)),
        _ => None,
    }
}

fn pointer_id(value: &Value) -> Option<String> {
    (value.get("__type").and_then(Value::as_str) == Some("Pointer"))
        .then(|| value.get("objectId").and_then(Value::as_str).map(str::to_string))
        .flatten()
}

/// A `$relatedTo` naming an object without an objectId (never saved) relates to nothing.
fn unsaved_related_to(where_: &Value) -> bool {
    where_
        .get("$relatedTo")
        .and_then(|related| related.get("object"))
        .is_some_and(|object| object.is_object() && object.get("objectId").is_none_or(Value::is_null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dollar_keys_and_order_keys() {
        assert_eq!(check_where_keys(&json!({"$foo": 1})).unwrap_err().code(), 105);
        assert_eq!(check_where_keys(&json!({"$or": [{"$bar": 1}]})).unwrap_err().to_string(), "Invalid key name: $bar");
        assert!(check_where_keys(&json!({"$or": [{"a": 1}], "b": {"$gt": 1}})).is_ok());
        assert_eq!(check_order("-_password").unwrap_err().to_string(), "Invalid field name: _password.");
        assert_eq!(check_order("length").unwrap_err().to_string(), "Invalid field name: length.");
        assert!(check_order("-score,name.first,$score").is_ok());
    }

    #[test]
    fn related_to_an_unsaved_object() {
        assert!(unsaved_related_to(&json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "A"}, "key": "k"}})));
        assert!(!unsaved_related_to(&json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "A", "objectId": "x"}, "key": "k"}})));
    }
}
