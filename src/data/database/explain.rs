//! Which indexes a class has and what a query did with them: the built-in and declared indexes
//! wanted from a class's schema, the fields a scan counts towards automatic indexes, and the
//! plan `explain=1` answers.
//!
//! A child of `database` so that the query paths record their plan where they choose it.

use serde_json::{json, Value};

use super::Database;
use crate::data::index::{Indexes, Origin, Plan, NATURAL};
use crate::data::query::{Order, Query};
use crate::data::schema::{ClassSchema, FieldType};

/// `explain`'s name for a query the store answered in SQL (PostgreSQL).
pub const PUSHED_DOWN: &str = "sql";
/// … for a lookup of one objectId.
pub const OBJECT_ID: &str = "objectId";
/// … for a query that read every object of the class.
pub const SCAN: &str = "scan";
/// … for a query that needed to read nothing (`limit=0` without `count`).
pub const NOTHING: &str = "none";

/// What a query did: the index it read (its name, or one of the words above), how many
/// entries that index offered, how many objects were read and matched, and how many results
/// the page holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Explained {
    pub index: String,
    pub candidates: Option<usize>,
    pub examined: usize,
    pub returned: usize,
}

impl Explained {
    pub(super) fn planned(&mut self, plan: &Plan, examined: usize) {
        self.index = plan.name.clone();
        self.candidates = Some(plan.candidates);
        self.examined = examined;
    }

    /// The REST form: `{"index": …, "candidates": n | null, "examined": n, "returned": n}`.
    pub fn to_json(&self) -> Value {
        json!({"index": self.index, "candidates": self.candidates, "examined": self.examined, "returned": self.returned})
    }
}

/// The built-in and declared indexes of a class, wanted from its schema.
pub(super) fn want_indexes(indexes: &Indexes, schema: &ClassSchema) {
    let class = schema.class_name.as_str();
    indexes.want(class, NATURAL, Origin::Builtin);
    indexes.want(class, "updatedAt", Origin::Builtin);
    for (field, field_type) in &schema.fields {
        if matches!(field_type, FieldType::Pointer(_)) {
            indexes.want(class, field, Origin::Builtin);
        }
    }
    indexes.set_declared(class, &declared(schema));
}

/// The schema's declared indexes as (name, field): a compound index serves as an index on its
/// first field, which narrows its queries as well; Parse's `_id_` is the objectId lookup.
fn declared(schema: &ClassSchema) -> Vec<(String, String)> {
    schema
        .indexes
        .iter()
        .filter_map(|(name, keys)| {
            let field = keys.keys().next().filter(|field| *field != "_id")?;
            Some((name.clone(), field.clone()))
        })
        .collect()
}

/// The fields a scan of `query` would not have needed with an index: its constrained
/// top-level fields and the field it is ordered by.
pub(super) fn fields_to_index(query: &Query, order: &Order) -> Vec<String> {
    let mut fields: Vec<String> = query.index_constraints().into_iter().map(|c| c.field).collect();
    if let Some((field, _)) = order.single_field() {
        fields.push(field.to_owned());
    }
    fields.sort();
    fields.dedup();
    fields
}

impl Database {
    /// Wants the class's built-in and declared indexes on its first query, and the index of a
    /// Pointer field the query constrains (a field added after that): built in the background.
    pub(super) fn want_builtin_indexes(&self, class: &str, query: &Query) {
        let constraints = query.index_constraints();
        let mut fields: Vec<&str> = constraints.iter().map(|c| c.field.as_str()).collect();
        fields.push(NATURAL);
        if self.indexes.has_all(class, &fields) {
            return;
        }
        let Some(schema) = self.class_schema(class) else { return };
        if !self.indexes.has_all(class, &[NATURAL]) {
            want_indexes(&self.indexes, &schema);
        }
        for field in fields {
            if matches!(schema.fields.get(field), Some(FieldType::Pointer(_))) {
                self.indexes.want(class, field, Origin::Builtin);
            }
        }
    }

    /// After a schema change: the class's indexes follow its declarations and Pointer fields.
    pub(super) fn follow_schema_indexes(&self, schema: &ClassSchema) {
        if self.store.nodes().is_none() {
            want_indexes(&self.indexes, schema);
        }
    }

    /// The class's schema in the schema API's form, its automatic indexes listed beside the
    /// declared ones as `auto_<field>: {field: 1}`.
    pub fn schema_json(&self, schema: &ClassSchema) -> Value {
        let mut json = schema.to_json();
        let automatic = self.indexes.automatic(&schema.class_name);
        if automatic.is_empty() {
            return json;
        }
        if let Some(out) = json.as_object_mut() {
            let listed = out.entry("indexes").or_insert_with(|| json!({}));
            if let Some(listed) = listed.as_object_mut() {
                for field in automatic {
                    listed.entry(format!("auto_{field}")).or_insert_with(|| json!({ field: 1 }));
                }
            }
        }
        json
    }

    /// Forgets the indexes of a deleted class.
    pub(super) fn forget_indexes(&self, class: &str) {
        self.indexes.forget(class);
    }
}
