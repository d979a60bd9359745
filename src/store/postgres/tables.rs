//! Parse Server's tables: `_SCHEMA`, one table per class, `_Join:<field>:<class>` per
//! relation, and the SQL that creates and reads them.
//!
//! `_SCHEMA.schema` holds a class's schema the way Parse Server's schema controller stores it:
//! the ACL as `_rperm`/`_wperm` fields, `_User`'s password as `_hashed_password`, and
//! `classLevelPermissions`/`indexes` beside `fields`. cloudrt's schema JSON (`className` and
//! `fields`, with `ACL`) is converted both ways here, and keys cloudrt does not model are kept.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::store::ArrayChange;

use super::columns::{date_sort_key, join_table, quoted, Columns, Kind, NATURAL_ORDER_INDEX_KEYS, READERS, USER_INTERNAL_COLUMNS, WRITERS};

/// Creates `_SCHEMA` as Parse Server's adapter does.
pub const CREATE_SCHEMA_TABLE: &str = r#"CREATE TABLE IF NOT EXISTS "_SCHEMA" ("className" varChar(120), "schema" jsonb, "isParseClass" bool, PRIMARY KEY ("className"))"#;

pub const SELECT_CLASSES: &str = r#"SELECT "className" FROM "_SCHEMA""#;
pub const SELECT_SCHEMA: &str = r#"SELECT "schema"::text FROM "_SCHEMA" WHERE "className" = $1"#;
/// Forgets a class in `_SCHEMA` (the schema API deleted it).
pub const DELETE_SCHEMA: &str = r#"DELETE FROM "_SCHEMA" WHERE "className" = $1"#;
/// Takes the field `$2` out of the class's stored schema, as the statement finds it under the
/// DDL lock: a field another node added meanwhile stays.
pub const DELETE_SCHEMA_FIELD: &str = r#"UPDATE "_SCHEMA" SET "schema" = jsonb_set("schema", '{fields}', COALESCE("schema"->'fields', '{}'::jsonb) - $2::text) WHERE "className" = $1"#;
/// Records a class's schema, adding or changing fields: the fields stored when its
/// statement runs (under the DDL lock, so after any other node's change committed) are kept
/// beside the written ones, which win. The written value was merged with a read made before the
/// lock, so without this a field another node added in between would drop out of `_SCHEMA`.
pub const MERGE_SCHEMA: &str = r#"INSERT INTO "_SCHEMA" ("className", "schema", "isParseClass") VALUES ($1, $2::text::jsonb, true) ON CONFLICT ("className") DO UPDATE SET "schema" = EXCLUDED."schema" || jsonb_build_object('fields', COALESCE("_SCHEMA"."schema"->'fields', '{}'::jsonb) || COALESCE(EXCLUDED."schema"->'fields', '{}'::jsonb))"#;
/// The columns of a table and their SQL types.
pub const SELECT_COLUMNS: &str = "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1";

/// Fields `_SCHEMA` lists that are not fields of cloudrt's schema.
const STORAGE_ONLY_FIELDS: &[&str] = &[READERS, WRITERS, "_hashed_password", "_password_history"];

/// cloudrt's schema JSON → the `_SCHEMA.schema` value, keeping what `previous` (the stored
/// value) holds beyond cloudrt's model: class-level permissions, indexes, the options
/// (`required`, `defaultValue`, `contents`) of fields whose type did not change, and the fields
/// `schema` does not name (another node may have added them since this one read the schema;
/// a field leaves `_SCHEMA` only when it is deleted).
pub fn to_stored_schema(class: &str, schema: &Value, previous: Option<&Value>) -> Value {
    let mut stored = previous.and_then(Value::as_object).cloned().unwrap_or_default();
    let old_fields = stored.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut fields = Map::new();
    for (name, field) in schema.get("fields").and_then(Value::as_object).into_iter().flatten() {
        if name == "ACL" || (class == "_User" && name == "password") {
            continue;
        }
        let same_type = |old: &Value| old.get("type") == field.get("type") && old.get("targetClass") == field.get("targetClass");
        let kept = old_fields.get(name).filter(|old| same_type(old)).cloned();
        fields.insert(name.clone(), kept.unwrap_or_else(|| field.clone()));
    }
    for (name, old) in old_fields {
        fields.entry(name).or_insert(old);
    }
    for acl in [READERS, WRITERS] {
        fields.insert(acl.to_owned(), json!({"type": "Array", "contents": {"type": "String"}}));
    }
    if class == "_User" {
        fields.insert("_hashed_password".to_owned(), json!({"type": "String"}));
    }
    // The schema API's class-level permissions and declared indexes, once cloudrt's schema
    // has them; a schema without (a save extending the class) keeps what was stored.
    for key in ["classLevelPermissions", "indexes"] {
        if let Some(value) = schema.get(key).filter(|v| !v.is_null()) {
            stored.insert(key.to_owned(), value.clone());
        }
    }
    stored.insert("className".to_owned(), Value::from(class));
    stored.insert("fields".to_owned(), Value::Object(fields));
    Value::Object(stored)
}

/// The SQL that makes a class's PostgreSQL indexes follow its declared ones: `CREATE INDEX`
/// for each index `stored` declares and `previous` did not, `DROP INDEX` for each the other
/// way round, named as declared (Parse Server's adapter names them so too). `_id_` is the
/// primary key already; an index on a field with no column of its own is left to scans.
/// Each index ends with the natural order's keys and sorts its fields as queries do (missing
/// first ascending, Dates at millisecond precision), so that an equality on its fields is
/// served in page order: an unordered page of ten stops after ten rows rather than sorting
/// every match. Parse Server's queries use it as they would its own (the fields come first).
pub fn index_changes(class: &str, previous: Option<&Value>, stored: &Value, columns: &Columns) -> Vec<String> {
    let declared = |schema: Option<&Value>| schema.and_then(|s| s.get("indexes")).and_then(Value::as_object).cloned().unwrap_or_default();
    let (before, after) = (declared(previous), declared(Some(stored)));
    let mut statements = Vec::new();
    for name in before.keys().filter(|name| !after.contains_key(*name) && *name != "_id_") {
        statements.push(format!("DROP INDEX IF EXISTS {}", quoted(name)));
    }
    for (name, keys) in after.iter().filter(|(name, _)| !before.contains_key(*name) && *name != "_id_") {
        let Some(keys) = keys.as_object() else { continue };
        if keys.is_empty() || !keys.keys().all(|field| columns.contains_key(field)) {
            continue;
        }
        let mut parts: Vec<String> = keys
            .iter()
            .map(|(field, direction)| {
                let key = if columns.get(field) == Some(&Kind::Date) { format!("({})", date_sort_key(&quoted(field))) } else { quoted(field) };
                format!("{key} {}", if direction.as_i64() == Some(-1) { "DESC NULLS LAST" } else { "ASC NULLS FIRST" })
            })
            .collect();
        if columns.get("createdAt") == Some(&Kind::Date) {
            parts.push(NATURAL_ORDER_INDEX_KEYS.to_owned());
        }
        statements.push(format!("CREATE INDEX IF NOT EXISTS {} ON {} ({})", quoted(name), quoted(class), parts.join(", ")));
    }
    statements
}

/// A `_SCHEMA.schema` value → cloudrt's schema JSON (`ACL` back, storage columns out).
pub fn from_stored_schema(class: &str, stored: &Value) -> Value {
    let mut schema = stored.as_object().cloned().unwrap_or_default();
    let mut fields = schema.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
    fields.retain(|name, _| !STORAGE_ONLY_FIELDS.contains(&name.as_str()));
    fields.insert("ACL".to_owned(), json!({"type": "ACL"}));
    schema.insert("className".to_owned(), Value::from(class));
    schema.insert("fields".to_owned(), Value::Object(fields));
    Value::Object(schema)
}

/// The columns a class's stored schema asks for (relations excluded), with the ACL's and, for
/// `_User`, Parse Server's internal ones.
pub fn schema_columns(class: &str, stored: &Value) -> Columns {
    let mut columns: Columns = stored
        .get("fields")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, field)| Some((name.clone(), Kind::of_field(field)?)))
        .collect();
    columns.insert("objectId".to_owned(), Kind::Text);
    columns.insert(READERS.to_owned(), Kind::TextArray);
    columns.insert(WRITERS.to_owned(), Kind::TextArray);
    if class == "_User" {
        for (name, kind) in USER_INTERNAL_COLUMNS {
            columns.insert((*name).to_owned(), kind.clone());
        }
    }
    columns
}

/// Relation fields of a stored schema, with their target classes.
pub fn relation_fields(stored: &Value) -> BTreeMap<String, String> {
    stored
        .get("fields")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, field)| field.get("type").and_then(Value::as_str) == Some("Relation"))
        .filter_map(|(name, field)| Some((name.clone(), field.get("targetClass")?.as_str()?.to_owned())))
        .collect()
}

/// `CREATE TABLE IF NOT EXISTS` for a class, `objectId` its primary key.
pub fn create_table(class: &str) -> String {
    format!("CREATE TABLE IF NOT EXISTS {} (\"objectId\" text, PRIMARY KEY (\"objectId\"))", quoted(class))
}

pub fn add_column(class: &str, name: &str, kind: &Kind) -> String {
    format!("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", quoted(class), quoted(name), kind.sql_type())
}

/// The join table of one relation, as Parse Server creates it.
pub fn create_join_table(owner_class: &str, key: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\"relatedId\" varChar(120), \"owningId\" varChar(120), PRIMARY KEY(\"relatedId\", \"owningId\"))",
        quoted(&join_table(owner_class, key))
    )
}

/// The unique indexes Parse Server keeps on `_User` and `_Role` (named as it names them), for
/// the columns of `columns` that exist.
pub fn unique_indexes(class: &str, columns: &Columns) -> Vec<String> {
    let fields: &[&str] = match class {
        "_User" => &["username", "email"],
        "_Role" => &["name"],
        _ => &[],
    };
    fields
        .iter()
        .filter(|field| columns.contains_key(**field))
        .map(|field| {
            format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({})",
                quoted(&format!("{class}_unique_{field}")),
                quoted(class),
                quoted(field)
            )
        })
        .collect()
}

/// The rows among the objectIds `$1` (a text array).
pub fn select_many(class: &str) -> String {
    format!("SELECT to_jsonb(t)::text FROM {} t WHERE t.\"objectId\" = ANY($1::text[])", quoted(class))
}

pub fn select_one(class: &str) -> String {
    format!("SELECT to_jsonb(t)::text FROM {} t WHERE t.\"objectId\" = $1", quoted(class))
}

/// The objectIds of the rows whose `field` equals `$1`, lower-cased on both sides when
/// `case_insensitive`.
pub fn select_ids_by(class: &str, field: &str, case_insensitive: bool) -> String {
    let (table, column) = (quoted(class), quoted(field));
    if case_insensitive {
        format!("SELECT t.\"objectId\" FROM {table} t WHERE lower(t.{column}) = lower($1)")
    } else {
        format!("SELECT t.\"objectId\" FROM {table} t WHERE t.{column} = $1")
    }
}

/// Every row, for the tables Parse Server keeps without an `objectId` (`_Hooks`, …): small
/// system tables that [`select_page`] cannot page.
pub fn select_all(class: &str) -> String {
    format!("SELECT to_jsonb(t)::text FROM {} t", quoted(class))
}

/// One page of a scan: up to `$2` rows after objectId `$1`, in objectId order (the primary
/// key, so each page is an index range and a scan never holds the whole table).
pub fn select_page(class: &str) -> String {
    format!(
        "SELECT t.\"objectId\", to_jsonb(t)::text FROM {} t WHERE t.\"objectId\" > $1 ORDER BY t.\"objectId\" LIMIT $2",
        quoted(class)
    )
}

/// The objectIds of the users whose `authData` (one jsonb object, provider → data, as Parse
/// Server's adapter keeps it) links identity `$2` of provider `$1`.
pub fn select_auth_data_holders(class: &str) -> String {
    format!("SELECT t.\"objectId\" FROM {} t WHERE t.\"authData\"->$1::text->>'id' = $2::text", quoted(class))
}

/// Waits for, and holds until the transaction ends, the lock of key (`$1`, hash of `$2`).
pub const LOCK_IDENTITY: &str = "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))";

pub fn exists(class: &str) -> String {
    format!("SELECT t.\"objectId\" FROM {} t WHERE t.\"objectId\" = $1", quoted(class))
}

/// Inserts the row given as JSON in `$1`; each value is cast to its column's type.
pub fn insert(class: &str) -> String {
    let table = quoted(class);
    format!("INSERT INTO {table} SELECT * FROM json_populate_record(NULL::{table}, $1::text::json)")
}

/// Replaces every column of `columns` but `objectId` with the row in `$1`, for row `$2`, only
/// if `$3` is null or the stored row equals the row `$3` encodes (compared by PostgreSQL after
/// the same casts, so number and date spellings cannot cause false conflicts).
pub fn update(class: &str, columns: &Columns) -> String {
    let table = quoted(class);
    let names: Vec<String> = columns.keys().filter(|name| *name != "objectId").map(|name| quoted(name)).collect();
    let from_row: Vec<String> = names.iter().map(|name| format!("r.{name}")).collect();
    format!(
        "UPDATE {table} AS t SET ({}) = (SELECT {} FROM json_populate_record(NULL::{table}, $1::text::json) r) \
         WHERE t.\"objectId\" = $2 AND ($3::text IS NULL OR to_jsonb(t) = to_jsonb(json_populate_record(NULL::{table}, $3::text::json)))",
        names.join(", "),
        from_row.join(", ")
    )
}

/// Sets the columns `set` to their values in the row `$1`, adds `$3`, `$4`, … to the columns
/// `incremented` (null counting as 0) and changes the jsonb arrays `arrays` by the values in
/// the next parameters (JSON text; null counting as `[]`) of row `$2`, answering the row as it
/// is after. A row whose array column holds something else is not changed (no row answered).
/// `$1` is named even when nothing is set, so that PostgreSQL knows its type.
pub fn update_in_place(class: &str, set: &[&str], incremented: &[&str], arrays: &[(&str, &ArrayChange)]) -> String {
    let table = quoted(class);
    let mut assignments = Vec::new();
    if !set.is_empty() {
        let names: Vec<String> = set.iter().map(|name| quoted(name)).collect();
        let from_row: Vec<String> = names.iter().map(|name| format!("r.{name}")).collect();
        assignments.push(format!(
            "({}) = (SELECT {} FROM json_populate_record(NULL::{table}, $1::text::json) r)",
            names.join(", "),
            from_row.join(", ")
        ));
    }
    for (i, name) in incremented.iter().enumerate() {
        let column = quoted(name);
        assignments.push(format!("{column} = COALESCE(t.{column}, 0) + ${}::double precision", i + 3));
    }
    let mut arrays_hold_arrays = String::new();
    for (i, (name, change)) in arrays.iter().enumerate() {
        let column = quoted(name);
        let values = format!("${}::text::jsonb", i + 3 + incremented.len());
        assignments.push(format!("{column} = {}", array_change(&format!("t.{column}"), change, &values)));
        arrays_hold_arrays.push_str(&format!(" AND (t.{column} IS NULL OR jsonb_typeof(t.{column}) IN ('array', 'null'))"));
    }
    format!(
        "UPDATE {table} AS t SET {} WHERE t.\"objectId\" = $2 AND $1::text IS NOT NULL{arrays_hold_arrays} RETURNING to_jsonb(t)::text",
        assignments.join(", ")
    )
}

/// The jsonb array `column` (SQL; null counting as `[]`) after `change` by the jsonb array
/// `values` (SQL), elements compared as [`same_element`] does.
fn array_change(column: &str, change: &ArrayChange, values: &str) -> String {
    let array = format!("(CASE WHEN {column} IS NULL OR jsonb_typeof({column}) = 'null' THEN '[]'::jsonb ELSE {column} END)");
    match change {
        ArrayChange::Add(_) => format!("{array} || {values}"),
        ArrayChange::AddUnique(_) => format!(
            "{array} || COALESCE((SELECT jsonb_agg(v.value ORDER BY v.n) FROM jsonb_array_elements({values}) WITH ORDINALITY AS v(value, n) \
             WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements({array}) AS e(value) WHERE {})), '[]'::jsonb)",
            same_element("e.value", "v.value")
        ),
        ArrayChange::Remove(_) => format!(
            "COALESCE((SELECT jsonb_agg(e.value ORDER BY e.n) FROM jsonb_array_elements({array}) WITH ORDINALITY AS e(value, n) \
             WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements({values}) AS v(value) WHERE {})), '[]'::jsonb)",
            same_element("e.value", "v.value")
        ),
    }
}

/// Parse's AddUnique/Remove equality of two jsonb values (SQL): two pointers (or included
/// objects) are the same when class and objectId are; anything else compares as jsonb, which
/// compares numbers by value (`1` equals `1.0`).
fn same_element(a: &str, b: &str) -> String {
    let pointer = |v: &str| {
        format!("{v}->>'__type' IN ('Pointer', 'Object') AND jsonb_typeof({v}->'className') = 'string' AND jsonb_typeof({v}->'objectId') = 'string'")
    };
    format!(
        "CASE WHEN {} AND {} THEN {a}->>'className' = {b}->>'className' AND {a}->>'objectId' = {b}->>'objectId' ELSE {a} = {b} END",
        pointer(a),
        pointer(b)
    )
}

pub fn delete(class: &str) -> String {
    format!("DELETE FROM {} AS t WHERE t.\"objectId\" = $1 RETURNING to_jsonb(t)::text", quoted(class))
}

pub fn add_related(owner_class: &str, key: &str) -> String {
    format!(
        "INSERT INTO {} (\"relatedId\", \"owningId\") SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
        quoted(&join_table(owner_class, key))
    )
}

pub fn remove_related(owner_class: &str, key: &str) -> String {
    format!(
        "DELETE FROM {} WHERE \"owningId\" = $2 AND \"relatedId\" = ANY($1::text[])",
        quoted(&join_table(owner_class, key))
    )
}

pub fn select_related(owner_class: &str, key: &str) -> String {
    format!("SELECT \"relatedId\"::text FROM {} WHERE \"owningId\" = $1", quoted(&join_table(owner_class, key)))
}

/// Drops a class's table or join table, as Parse Server's `deleteClass` does.
pub fn drop_column(class: &str, name: &str) -> String {
    format!("ALTER TABLE {} DROP COLUMN IF EXISTS {}", quoted(class), quoted(name))
}

pub fn drop_table(table: &str) -> String {
    format!("DROP TABLE IF EXISTS {}", quoted(table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_indexes_and_permissions_are_stored_and_become_postgresql_indexes() {
        let previous = json!({"className": "Item", "fields": {}, "classLevelPermissions": {"find": {"*": true}}});
        let ours = json!({"className": "Item", "fields": {"a": {"type": "String"}, "b": {"type": "Number"}, "createdAt": {"type": "Date"}},
            "classLevelPermissions": {"find": {}}, "indexes": {"_id_": {"_id": 1}, "a_b": {"a": 1, "b": -1}, "c": {"createdAt": -1}, "nowhere": {"zzz": 1}}});
        let stored = to_stored_schema("Item", &ours, Some(&previous));
        assert_eq!(stored["classLevelPermissions"], json!({"find": {}}), "the schema API's permissions win");
        assert_eq!(stored["indexes"], ours["indexes"]);
        let columns = schema_columns("Item", &stored);
        let natural = NATURAL_ORDER_INDEX_KEYS;
        assert_eq!(
            index_changes("Item", Some(&previous), &stored, &columns),
            vec![
                format!(r#"CREATE INDEX IF NOT EXISTS "a_b" ON "Item" ("a" ASC NULLS FIRST, "b" DESC NULLS LAST, {natural})"#),
                format!(
                    r#"CREATE INDEX IF NOT EXISTS "c" ON "Item" ((date_trunc('milliseconds', "createdAt" AT TIME ZONE 'UTC')) DESC NULLS LAST, {natural})"#
                ),
            ]
        );
        let dropped = json!({"className": "Item", "fields": {}, "indexes": {"_id_": {"_id": 1}}});
        assert_eq!(
            index_changes("Item", Some(&stored), &dropped, &columns),
            vec![r#"DROP INDEX IF EXISTS "a_b""#, r#"DROP INDEX IF EXISTS "c""#, r#"DROP INDEX IF EXISTS "nowhere""#]
        );
    }

    #[test]
    fn a_schema_write_keeps_fields_another_node_added_and_drop_column_quotes() {
        let previous = json!({"className": "Item", "fields": {"old": {"type": "String"}, "_password_history": {"type": "Array"}}});
        let ours = json!({"className": "Item", "fields": {"new": {"type": "Number"}}});
        let stored = to_stored_schema("Item", &ours, Some(&previous));
        assert_eq!(stored["fields"]["old"], json!({"type": "String"}));
        assert_eq!(stored["fields"]["_password_history"], json!({"type": "Array"}));
        assert_eq!(stored["fields"]["new"], json!({"type": "Number"}));
        assert_eq!(drop_column("Item", "old"), r#"ALTER TABLE "Item" DROP COLUMN IF EXISTS "old""#);
    }

    #[test]
    fn schemas_are_stored_in_parse_servers_shape_and_read_back() {
        let ours = json!({"className": "_User", "fields": {
            "objectId": {"type": "String"}, "ACL": {"type": "ACL"}, "password": {"type": "String"},
            "team": {"type": "Pointer", "targetClass": "Team"}, "age": {"type": "Number"}
        }});
        let previous = json!({"className": "_User", "classLevelPermissions": {"find": {"*": true}},
            "fields": {"age": {"type": "Number", "required": true}}});
        let stored = to_stored_schema("_User", &ours, Some(&previous));
        assert_eq!(stored["classLevelPermissions"], json!({"find": {"*": true}}));
        assert_eq!(stored["fields"]["age"], json!({"type": "Number", "required": true}));
        assert_eq!(stored["fields"]["_rperm"], json!({"type": "Array", "contents": {"type": "String"}}));
        assert_eq!(stored["fields"]["_hashed_password"], json!({"type": "String"}));
        assert!(stored["fields"].get("ACL").is_none() && stored["fields"].get("password").is_none());

        let back = from_stored_schema("_User", &stored);
        assert_eq!(back["fields"]["ACL"], json!({"type": "ACL"}));
        assert!(back["fields"].get("_rperm").is_none() && back["fields"].get("_hashed_password").is_none());
        assert_eq!(back["fields"]["team"], json!({"type": "Pointer", "targetClass": "Team"}));

        let columns = schema_columns("_User", &stored);
        assert_eq!(columns["team"], Kind::Pointer("Team".into()));
        assert_eq!(columns["_perishable_token"], Kind::Text);
    }

    #[test]
    fn increments_add_to_the_stored_value_in_the_update() {
        assert_eq!(
            update_in_place("Post", &["updatedAt"], &["n", "m"], &[]),
            "UPDATE \"Post\" AS t SET (\"updatedAt\") = (SELECT r.\"updatedAt\" FROM json_populate_record(NULL::\"Post\", $1::text::json) r), \
             \"n\" = COALESCE(t.\"n\", 0) + $3::double precision, \"m\" = COALESCE(t.\"m\", 0) + $4::double precision \
             WHERE t.\"objectId\" = $2 AND $1::text IS NOT NULL RETURNING to_jsonb(t)::text"
        );
    }

    #[test]
    fn updates_set_every_column_but_the_id() {
        let columns: Columns = [("objectId", Kind::Text), ("a", Kind::Text)].into_iter().map(|(n, k)| (n.to_owned(), k)).collect();
        let sql = update("Post", &columns);
        assert!(sql.starts_with("UPDATE \"Post\" AS t SET (\"a\") = (SELECT r.\"a\" FROM"), "{sql}");
    }
}
