//! Objects ⇄ rows of a class table, value by value as Parse Server's adapter writes them.
//!
//! A row travels as one JSON object: written through `json_populate_record`, which casts each
//! value to its column's type, and read as `to_jsonb(row)`. So the mapping here is JSON to JSON:
//! a Pointer becomes its objectId, a File its name, a GeoPoint `(lng,lat)`, the ACL the
//! `_rperm`/`_wperm` arrays — and back, with the column kinds saying which is which.

use serde_json::{json, Map, Value};

use super::columns::{Columns, Kind, Table, READERS, WRITERS};
use crate::store::Document;

/// Builds the URL of a stored file from its name (the server's address is known only at start).
pub type FileUrl = dyn Fn(&str) -> String + Send + Sync;

/// Keys of `doc` that have no column yet, with the kind a new column should have. A null
/// makes none: it has no type (the schema gives the field none either, as in Parse Server), a
/// NULL reads back as a missing field anyway, and a column guessed from it would have the
/// wrong type for the first real value.
pub fn missing_columns(doc: &Document, columns: &Columns) -> Vec<(String, Kind)> {
    let mut missing = Vec::new();
    for (key, value) in doc {
        if key == "ACL" {
            for name in [READERS, WRITERS] {
                if !columns.contains_key(name) {
                    missing.push((name.to_owned(), Kind::TextArray));
                }
            }
        } else if !columns.contains_key(key) && !value.is_null() && !is_relation_marker(value) {
            missing.push((key.clone(), Kind::of_value(key, value)));
        }
    }
    missing
}

/// `{"__type": "Relation"}` is never stored as a column: membership lives in join tables.
fn is_relation_marker(value: &Value) -> bool {
    value.get("__type").and_then(Value::as_str) == Some("Relation")
}

/// The row for `doc`, keyed by column. Every key of `doc` must have a column (see
/// [`missing_columns`]).
pub fn encode(doc: &Document, columns: &Columns) -> Map<String, Value> {
    let mut row = Map::new();
    for (key, value) in doc {
        if key == "ACL" {
            let (readers, writers) = acl_columns(value);
            row.insert(READERS.to_owned(), readers);
            row.insert(WRITERS.to_owned(), writers);
            continue;
        }
        let Some(kind) = columns.get(key) else { continue };
        row.insert(key.clone(), encode_value(kind, value));
    }
    row
}

fn encode_value(kind: &Kind, value: &Value) -> Value {
    let field = |name: &str| value.get(name).cloned().unwrap_or(Value::Null);
    match (kind, value) {
        (_, Value::Null) => Value::Null,
        (Kind::Date, Value::Object(_)) => field("iso"),
        (Kind::Pointer(_), Value::Object(_)) => field("objectId"),
        (Kind::File, Value::Object(_)) => field("name"),
        (Kind::GeoPoint, Value::Object(_)) => {
            Value::String(format!("({},{})", number(value.get("longitude")), number(value.get("latitude"))))
        }
        (Kind::Polygon, Value::Object(_)) => {
            let vertices: Vec<String> = value
                .get("coordinates")
                .and_then(Value::as_array)
                .map(|points| {
                    points.iter().map(|p| format!("({},{})", number(p.get(1)), number(p.get(0)))).collect()
                })
                .unwrap_or_default();
            Value::String(format!("({})", vertices.join(",")))
        }
        _ => value.clone(),
    }
}

fn number(value: Option<&Value>) -> f64 {
    value.and_then(Value::as_f64).unwrap_or(0.0)
}

/// `_rperm` and `_wperm` of an ACL: the principals allowed to read and to write.
fn acl_columns(acl: &Value) -> (Value, Value) {
    let Some(entries) = acl.as_object() else { return (Value::Null, Value::Null) };
    let allowed = |right: &str| -> Value {
        entries
            .iter()
            .filter(|(_, grant)| grant.get(right) == Some(&Value::Bool(true)))
            .map(|(principal, _)| Value::String(principal.clone()))
            .collect()
    };
    (allowed("read"), allowed("write"))
}

/// The object a row stands for. Null columns are absent fields, and every relation field of
/// the class is its `{"__type": "Relation"}` marker, as Parse Server reads them.
pub fn decode(row: Map<String, Value>, table: &Table, file_url: &FileUrl) -> Document {
    let columns = &table.columns;
    let mut doc = Document::new();
    for (field, target) in &table.relations {
        doc.insert(field.clone(), json!({"__type": "Relation", "className": target}));
    }
    let mut acl: Option<Map<String, Value>> = None;
    for (key, value) in row {
        if value.is_null() {
            continue;
        }
        if key == READERS || key == WRITERS {
            let right = if key == READERS { "read" } else { "write" };
            let acl = acl.get_or_insert_with(Map::new);
            for principal in value.as_array().into_iter().flatten().filter_map(Value::as_str) {
                let grant = acl.entry(principal.to_owned()).or_insert_with(|| json!({}));
                if let Some(grant) = grant.as_object_mut() {
                    grant.insert(right.to_owned(), Value::Bool(true));
                }
            }
            continue;
        }
        let value = match columns.get(&key) {
            Some(kind) => decode_value(&key, kind, value, file_url),
            None => decode_value(&key, &Kind::Json, value, file_url),
        };
        doc.insert(key, value);
    }
    if let Some(acl) = acl {
        doc.insert("ACL".to_owned(), Value::Object(acl));
    }
    doc
}

fn decode_value(key: &str, kind: &Kind, value: Value, file_url: &FileUrl) -> Value {
    let text = value.as_str().unwrap_or_default();
    match kind {
        Kind::Date if matches!(key, "createdAt" | "updatedAt") => Value::String(parse_iso(text)),
        Kind::Date => json!({"__type": "Date", "iso": parse_iso(text)}),
        Kind::Pointer(class) => json!({"__type": "Pointer", "className": class, "objectId": text}),
        Kind::File => json!({"__type": "File", "name": text, "url": file_url(text)}),
        Kind::GeoPoint => match points(text).first() {
            Some((x, y)) => json!({"__type": "GeoPoint", "latitude": y, "longitude": x}),
            None => value,
        },
        Kind::Polygon => {
            let coordinates: Vec<Value> = points(text).into_iter().map(|(x, y)| json!([y, x])).collect();
            json!({"__type": "Polygon", "coordinates": coordinates})
        }
        _ => value,
    }
}

/// The `(x,y)` pairs of a PostgreSQL point or polygon in its text form. Each number keeps the
/// form PostgreSQL prints (`1`, `0.5`), so a whole coordinate reads back as the integer it was
/// saved as, as on sled and in Parse Server's JavaScript.
fn points(text: &str) -> Vec<(Value, Value)> {
    let numbers: Vec<Value> = text
        .split(['(', ')', ','])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .filter_map(|part| part.parse::<serde_json::Number>().ok().map(Value::Number))
        .collect();
    numbers.chunks_exact(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect()
}

/// Parse's date form (`2024-01-02T03:04:05.678Z`) of a UTC timestamp as PostgreSQL prints it in
/// JSON (`2024-01-02T03:04:05.678+00:00`, fraction of 0 to 6 digits).
fn parse_iso(text: &str) -> String {
    let body = text.strip_suffix("+00:00").unwrap_or(text).trim_end_matches('Z');
    let (seconds, fraction) = body.split_once('.').unwrap_or((body, ""));
    let millis: String = fraction.chars().chain(std::iter::repeat('0')).take(3).collect();
    format!("{seconds}.{millis}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Columns {
        [
            ("objectId", Kind::Text),
            ("createdAt", Kind::Date),
            ("when", Kind::Date),
            ("owner", Kind::Pointer("_User".into())),
            ("photo", Kind::File),
            ("place", Kind::GeoPoint),
            ("area", Kind::Polygon),
            ("tags", Kind::Json),
            (READERS, Kind::TextArray),
            (WRITERS, Kind::TextArray),
        ]
        .into_iter()
        .map(|(name, kind)| (name.to_owned(), kind))
        .collect()
    }

    fn url(name: &str) -> String {
        format!("http://files/{name}")
    }

    #[test]
    fn values_are_written_as_parse_server_writes_them() {
        let doc = json!({
            "objectId": "a1", "createdAt": "2024-01-02T03:04:05.678Z",
            "when": {"__type": "Date", "iso": "2024-01-02T03:04:05.000Z"},
            "owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"},
            "photo": {"__type": "File", "name": "x_a.png", "url": "http://files/x_a.png"},
            "place": {"__type": "GeoPoint", "latitude": 40.5, "longitude": -3.25},
            "area": {"__type": "Polygon", "coordinates": [[0, 1], [2, 3], [4, 5]]},
            "tags": ["a", 1],
            "ACL": {"*": {"read": true}, "u1": {"read": true, "write": true}, "role:Admin": {"write": true}}
        });
        let row = encode(doc.as_object().unwrap(), &columns());
        assert_eq!(row["owner"], "u1");
        assert_eq!(row["photo"], "x_a.png");
        assert_eq!(row["when"], "2024-01-02T03:04:05.000Z");
        assert_eq!(row["place"], "(-3.25,40.5)");
        assert_eq!(row["area"], "((1,0),(3,2),(5,4))");
        assert_eq!(row[READERS], json!(["*", "u1"]));
        assert_eq!(row[WRITERS], json!(["u1", "role:Admin"]));
        assert!(!row.contains_key("ACL"));
    }

    #[test]
    fn rows_read_back_as_the_objects_that_were_written() {
        let row = json!({
            "objectId": "a1", "createdAt": "2024-01-02T03:04:05.678+00:00",
            "when": "2024-01-02T03:04:05+00:00", "owner": "u1", "photo": "x_a.png",
            "place": "(-3.25,40.5)", "area": "((1,0),(3,2.5),(5,4))", "tags": ["a", 1], "gone": null,
            "_rperm": ["*", "u1"], "_wperm": ["u1"]
        });
        let table = Table { columns: columns(), relations: [("fans".to_owned(), "_User".to_owned())].into() };
        let doc = decode(row.as_object().unwrap().clone(), &table, &url);
        assert_eq!(
            Value::Object(doc),
            json!({
                "objectId": "a1", "createdAt": "2024-01-02T03:04:05.678Z",
                "when": {"__type": "Date", "iso": "2024-01-02T03:04:05.000Z"},
                "owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"},
                "photo": {"__type": "File", "name": "x_a.png", "url": "http://files/x_a.png"},
                "place": {"__type": "GeoPoint", "latitude": 40.5, "longitude": -3.25},
                "area": {"__type": "Polygon", "coordinates": [[0, 1], [2.5, 3], [4, 5]]},
                "tags": ["a", 1],
                "fans": {"__type": "Relation", "className": "_User"},
                "ACL": {"*": {"read": true}, "u1": {"read": true, "write": true}}
            })
        );
    }

    #[test]
    fn microseconds_are_cut_to_parse_milliseconds() {
        assert_eq!(parse_iso("2024-01-02T03:04:05.123456+00:00"), "2024-01-02T03:04:05.123Z");
        assert_eq!(parse_iso("2024-01-02T03:04:05.1+00:00"), "2024-01-02T03:04:05.100Z");
    }

    #[test]
    fn keys_without_columns_get_the_kind_of_their_value_and_nulls_none() {
        let doc = json!({"objectId": "a", "n": 1, "d": {"__type": "Date", "iso": "x"}, "nothing": null, "ACL": {}});
        let mut missing = missing_columns(doc.as_object().unwrap(), &Columns::new());
        missing.sort_by(|a, b| a.0.cmp(&b.0));
        let names: Vec<_> = missing.iter().map(|(n, k)| (n.as_str(), k.sql_type())).collect();
        assert_eq!(
            names,
            [("_rperm", "text[]"), ("_wperm", "text[]"), ("d", "timestamp with time zone"), ("n", "double precision"), ("objectId", "text")]
        );
    }
}
