//! What each column of a class table holds, in Parse Server's PostgreSQL layout.
//!
//! Parse Server keeps one table per class and one typed column per field; the Parse type of a
//! field (from `_SCHEMA`) decides the SQL type and how values are written and read. The same
//! [`Column`] list is what a later query push-down needs to turn a field into SQL.

use std::collections::BTreeMap;

use serde_json::Value;

/// How one column stores its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `text`: a String.
    Text,
    /// `double precision`: a Number.
    Number,
    Boolean,
    /// `timestamptz`: a Date (`createdAt`/`updatedAt` are plain ISO strings in objects).
    Date,
    /// `jsonb`: an Object, an Array, Bytes, or anything without a column type of its own.
    Json,
    /// `text[]`: `_rperm`/`_wperm`, the ACL's readers and writers.
    TextArray,
    /// `text`: the objectId of a Pointer to the named class.
    Pointer(String),
    /// `text`: the name of a File.
    File,
    /// `point`: a GeoPoint as (longitude, latitude).
    GeoPoint,
    /// `polygon`: a Polygon, each vertex as (longitude, latitude).
    Polygon,
}

impl Kind {
    /// The SQL type Parse Server's adapter gives this kind.
    pub fn sql_type(&self) -> &'static str {
        match self {
            Kind::Text | Kind::Pointer(_) | Kind::File => "text",
            Kind::Number => "double precision",
            Kind::Boolean => "boolean",
            Kind::Date => "timestamp with time zone",
            Kind::Json => "jsonb",
            Kind::TextArray => "text[]",
            Kind::GeoPoint => "point",
            Kind::Polygon => "polygon",
        }
    }

    /// The kind for a field of `_SCHEMA` (`{"type": "Pointer", "targetClass": "_User"}`);
    /// `None` for a Relation, which is a join table rather than a column.
    pub fn of_field(field: &Value) -> Option<Kind> {
        let contents_string = field.pointer("/contents/type").and_then(Value::as_str) == Some("String");
        Some(match field.get("type").and_then(Value::as_str)? {
            "String" => Kind::Text,
            "Number" => Kind::Number,
            "Boolean" => Kind::Boolean,
            "Date" => Kind::Date,
            "Pointer" => Kind::Pointer(field.get("targetClass").and_then(Value::as_str)?.to_owned()),
            "File" => Kind::File,
            "GeoPoint" => Kind::GeoPoint,
            "Polygon" => Kind::Polygon,
            "Array" if contents_string => Kind::TextArray,
            "Relation" => return None,
            _ => Kind::Json,
        })
    }

    /// The kind of an existing column from its SQL type, for columns `_SCHEMA` does not
    /// describe (Parse Server's internal `_User` columns, tables made by hand).
    pub fn of_sql_type(data_type: &str) -> Kind {
        match data_type {
            "double precision" | "real" | "integer" | "bigint" | "smallint" | "numeric" => Kind::Number,
            "boolean" => Kind::Boolean,
            "timestamp with time zone" | "timestamp without time zone" => Kind::Date,
            "ARRAY" => Kind::TextArray,
            "point" => Kind::GeoPoint,
            "polygon" => Kind::Polygon,
            "jsonb" | "json" => Kind::Json,
            _ => Kind::Text,
        }
    }

    /// The kind a value would get as a new field, for a stored key no schema names.
    pub fn of_value(key: &str, value: &Value) -> Kind {
        if matches!(key, "createdAt" | "updatedAt") || key.ends_with("_expires_at") || key == "_password_changed_at" {
            return Kind::Date;
        }
        match value {
            Value::Bool(_) => Kind::Boolean,
            Value::Number(_) => Kind::Number,
            Value::String(_) | Value::Null => Kind::Text,
            Value::Array(_) => Kind::Json,
            Value::Object(object) => match object.get("__type").and_then(Value::as_str) {
                Some("Date") => Kind::Date,
                Some("Pointer") => Kind::Pointer(object.get("className").and_then(Value::as_str).unwrap_or_default().to_owned()),
                Some("File") => Kind::File,
                Some("GeoPoint") => Kind::GeoPoint,
                Some("Polygon") => Kind::Polygon,
                _ => Kind::Json,
            },
        }
    }
}

/// The columns of one class table, by name.
pub type Columns = BTreeMap<String, Kind>;

/// What is known of one class's table: its columns, and its relation fields (field → target
/// class), which have join tables instead of columns but appear in every object read.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Columns,
    pub relations: BTreeMap<String, String>,
}

/// Columns Parse Server's adapter gives every `_User` table beyond its schema fields (account
/// lock-out, e-mail verification, password reset and history); kept so that a table cloudrt
/// creates serves Parse Server too.
pub const USER_INTERNAL_COLUMNS: &[(&str, Kind)] = &[
    ("_hashed_password", Kind::Text),
    ("_email_verify_token_expires_at", Kind::Date),
    ("_email_verify_token", Kind::Text),
    ("_account_lockout_expires_at", Kind::Date),
    ("_failed_login_count", Kind::Number),
    ("_perishable_token", Kind::Text),
    ("_perishable_token_expires_at", Kind::Date),
    ("_password_changed_at", Kind::Date),
    ("_password_history", Kind::Json),
];

/// The ACL's columns, on every table.
pub const READERS: &str = "_rperm";
pub const WRITERS: &str = "_wperm";

/// Double-quotes an identifier for SQL (class and field names may hold `:` or capitals).
pub fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A Date column (SQL `column`) as it sorts: at millisecond precision, as decoded objects
/// compare. Truncated as UTC wall time, since `date_trunc` of a `timestamptz` depends on the
/// session's time zone and PostgreSQL will not index it; this form is immutable, so an index
/// can hold it and serve the order (see [`NATURAL_ORDER_INDEX_KEYS`]).
pub fn date_sort_key(column: &str) -> String {
    format!("date_trunc('milliseconds', {column} AT TIME ZONE 'UTC')")
}

/// The natural order (createdAt, then objectId byte-wise, missing first) as index keys, the
/// same expressions and directions a query's `ORDER BY` ends with, so that an index ending
/// with them hands PostgreSQL a page already in order: it can stop after the page instead of
/// sorting every match.
pub const NATURAL_ORDER_INDEX_KEYS: &str =
    r#"(date_trunc('milliseconds', "createdAt" AT TIME ZONE 'UTC')) ASC NULLS FIRST, "objectId" COLLATE "C" ASC NULLS FIRST"#;

/// The join table of relation `key` on `owner_class`, named as Parse Server names it.
pub fn join_table(owner_class: &str, key: &str) -> String {
    format!("_Join:{key}:{owner_class}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_fields_map_to_parse_servers_sql_types() {
        let cases = [
            (json!({"type": "String"}), "text"),
            (json!({"type": "Number"}), "double precision"),
            (json!({"type": "Date"}), "timestamp with time zone"),
            (json!({"type": "Pointer", "targetClass": "_User"}), "text"),
            (json!({"type": "File"}), "text"),
            (json!({"type": "Object"}), "jsonb"),
            (json!({"type": "Bytes"}), "jsonb"),
            (json!({"type": "Array"}), "jsonb"),
            (json!({"type": "Array", "contents": {"type": "String"}}), "text[]"),
            (json!({"type": "GeoPoint"}), "point"),
            (json!({"type": "Polygon"}), "polygon"),
            (json!({"type": "Boolean"}), "boolean"),
        ];
        for (field, sql) in cases {
            assert_eq!(Kind::of_field(&field).unwrap().sql_type(), sql, "{field}");
        }
        assert_eq!(Kind::of_field(&json!({"type": "Relation", "targetClass": "A"})), None);
    }

    #[test]
    fn identifiers_are_quoted_and_join_tables_named_as_parse_server_does() {
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
        assert_eq!(join_table("_Role", "users"), "_Join:users:_Role");
    }

    #[test]
    fn the_natural_order_index_keys_are_the_sort_keys() {
        assert!(NATURAL_ORDER_INDEX_KEYS.starts_with(&format!("({})", date_sort_key("\"createdAt\""))));
    }
}
