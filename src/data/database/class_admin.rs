//! Schema changes made through the schema API (create, update, delete a class; purge its
//! objects) and the field rules they declare (`defaultValue`, `required`), enforced on save.
//!
//! A child of `database` so that it shares the store, the schema cache and its lock, and the
//! per-object stripes, without widening what `Database` offers to everyone else.

use serde_json::{Map, Value};

use super::{stripe_of, Database, PreparedSave};
use crate::data::clp::ClassPermissions;
use crate::data::field_ops::Op;
use crate::data::schema::{close_polygon_ring, validate_class_name, ClassSchema, FieldType, SYSTEM_CLASSES};
use crate::data::DataError;
use crate::store::StoreError;

/// Classes cloudrt keeps for itself that Parse Server does not count as classes at all: the
/// schema API refuses their names (103) as Parse Server does.
const NOT_SCHEMA_CLASSES: &[&str] = &["_Hooks", "_GlobalConfig", "_GraphQLConfig"];

/// Parse Server's words for a class name the schema API refuses.
fn invalid_class_name(class: &str) -> DataError {
    DataError::InvalidSchemaClassName(class.to_owned())
}

/// Accepts the class names the schema API serves: Parse's system classes and valid names.
fn validate_schema_class(class: &str) -> Result<(), DataError> {
    if NOT_SCHEMA_CLASSES.contains(&class) || (class.starts_with('_') && !SYSTEM_CLASSES.contains(&class)) {
        return Err(invalid_class_name(class));
    }
    validate_class_name(class).map_err(|_| invalid_class_name(class))
}

fn class_missing(class: &str) -> DataError {
    DataError::ClassNotFound(class.to_owned())
}

/// Whether a body value leaves a field unset, as Parse Server's required/default rule reads it.
fn leaves_unset(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(other) => is_delete(other),
    }
}

fn is_delete(value: &Value) -> bool {
    matches!(Op::parse(value), Ok(Some(Op::Delete)))
}

impl Database {
    /// The class's schema, if it has one.
    pub fn class_schema(&self, class: &str) -> Option<ClassSchema> {
        self.schemas.read().unwrap_or_else(|p| p.into_inner()).get(class).cloned()
    }

    /// The class-level permissions a request must pass, when the class has some.
    pub fn class_permissions(&self, class: &str) -> Option<ClassPermissions> {
        self.schemas.read().unwrap_or_else(|p| p.into_inner()).get(class).and_then(|schema| schema.permissions.clone())
    }

    /// The fields `body` would add to `class` (none when it adds none or is refused later).
    pub fn fields_added_by(&self, class: &str, body: &Map<String, Value>) -> Vec<String> {
        self.check_schema(class, body).map(|added| added.into_iter().map(|(name, _)| name).collect()).unwrap_or_default()
    }

    /// `POST /schemas/:className`: a new class with the declared `fields` and
    /// `classLevelPermissions`. 103 when it exists already or its name is refused.
    pub fn create_class(
        &self,
        class: &str,
        fields: &Map<String, Value>,
        permissions: Option<&Value>,
        indexes: Option<&Value>,
    ) -> Result<ClassSchema, DataError> {
        validate_schema_class(class)?;
        let _guard = self.schema_writes.lock().unwrap_or_else(|p| p.into_inner());
        if self.class_exists(class) {
            return Err(DataError::ClassExists(class.to_owned()));
        }
        let mut schema = ClassSchema::new(class)?;
        for (name, field) in fields {
            schema.declare_field(name, field)?;
        }
        declare_permissions_and_indexes(&mut schema, permissions, indexes)?;
        self.save_schema(schema)
    }

    /// `PUT /schemas/:className`: adds the declared fields, deletes those given as
    /// `{"__op": "Delete"}` (with their values in every stored object, as Parse Server does),
    /// replaces the class-level permissions when given, and adds or drops declared indexes
    /// (a deleted field's indexes are dropped with it). Checked whole before anything
    /// changes: 103 for an unknown class, 255 for adding a field that exists or deleting one
    /// that does not, 136 for a default field.
    pub fn update_class(
        &self,
        class: &str,
        fields: &Map<String, Value>,
        permissions: Option<&Value>,
        indexes: Option<&Value>,
    ) -> Result<ClassSchema, DataError> {
        validate_schema_class(class)?;
        let guard = self.schema_writes.lock().unwrap_or_else(|p| p.into_inner());
        let mut schema = self.class_schema(class).ok_or_else(|| class_missing(class))?;
        let mut deleted: Vec<(String, FieldType)> = Vec::new();
        for (name, field) in fields {
            if is_delete(field) {
                let field_type = schema.remove_field(name)?;
                deleted.push((name.clone(), field_type));
            } else if schema.fields.contains_key(name) {
                return Err(DataError::FieldExists(name.clone()));
            } else {
                schema.declare_field(name, field)?;
            }
        }
        declare_permissions_and_indexes(&mut schema, permissions, indexes)?;
        // A deleted field's indexes go with it, as PostgreSQL drops them with the column.
        schema.indexes.retain(|_, keys| !deleted.iter().any(|(field, _)| keys.contains_key(field)));
        let saved = self.save_schema(schema)?;
        drop(guard);
        if !deleted.is_empty() {
            // A store that drops a field's own storage (PostgreSQL's column) drops its values
            // with it; only values kept inside the documents are removed one object at a time.
            let mut in_documents = Vec::new();
            for (name, field_type) in deleted {
                if !self.store.delete_field(class, &name)? {
                    in_documents.push((name, field_type));
                }
            }
            if !in_documents.is_empty() {
                self.delete_field_values(class, &in_documents)?;
            }
            self.sync()?;
        }
        Ok(saved)
    }

    /// `DELETE /schemas/:className`: forgets an empty class's schema (255 while it holds
    /// objects). A class that does not exist is already deleted.
    pub fn delete_class(&self, class: &str) -> Result<(), DataError> {
        validate_schema_class(class)?;
        let _guard = self.schema_writes.lock().unwrap_or_else(|p| p.into_inner());
        let mut count = 0usize;
        self.store
            .scan(class, &mut |_| {
                count += 1;
                true
            })
            ?;
        if count > 0 {
            return Err(DataError::ClassNotEmpty { class: class.to_owned(), count });
        }
        if self.class_exists(class) {
            self.store.delete_schema(class)?;
            self.schemas.write().unwrap_or_else(|p| p.into_inner()).remove(class);
        }
        self.forget_indexes(class);
        self.sync()
    }

    /// `DELETE /purge/:className`: deletes every object of the class (without triggers, as
    /// Parse Server does) and keeps its schema. Each object goes the way a single delete goes,
    /// so indexes, `_User` names and the role graph stay true.
    pub fn purge_class(&self, class: &str) -> Result<(), DataError> {
        validate_class_name(class)?;
        for id in self.object_ids(class)? {
            match self.delete_unsynced(class, &id) {
                Ok(()) => {}
                // Deleted meanwhile by someone else: what a purge wants anyway.
                Err(DataError::ObjectNotFound) => {}
                Err(error) => return Err(error),
            }
        }
        self.sync()
    }

    /// The objectIds of every object of the class: what a pass that writes each object walks,
    /// so that it does not write into the scan it reads (ids only, not the documents).
    fn object_ids(&self, class: &str) -> Result<Vec<String>, DataError> {
        let mut ids = Vec::new();
        self.store
            .scan(class, &mut |object| {
                if let Some(id) = object.get("objectId").and_then(Value::as_str) {
                    ids.push(id.to_owned());
                }
                true
            })
            ?;
        Ok(ids)
    }

    fn save_schema(&self, schema: ClassSchema) -> Result<ClassSchema, DataError> {
        self.store.put_schema(&schema.class_name, schema.to_json())?;
        self.schemas.write().unwrap_or_else(|p| p.into_inner()).insert(schema.class_name.clone(), schema.clone());
        self.sync()?;
        self.follow_schema_indexes(&schema);
        Ok(schema)
    }

    /// Removes deleted fields' values from every stored object of the class, and empties
    /// their relations, each object under its stripe lock as an update would.
    fn delete_field_values(&self, class: &str, deleted: &[(String, FieldType)]) -> Result<(), DataError> {
        for id in self.object_ids(class)? {
            for (name, field_type) in deleted {
                if matches!(field_type, FieldType::Relation(_)) {
                    let related = self.store.related(class, &id, name)?;
                    if !related.is_empty() {
                        self.store.relation_remove(class, &id, name, &related)?;
                    }
                }
            }
            let _stripe = self.stripes[stripe_of(class, &id)].lock().unwrap_or_else(|p| p.into_inner());
            let Some(current) = self.store.get(class, &id)? else { continue };
            if !deleted.iter().any(|(name, _)| current.contains_key(name)) {
                continue;
            }
            let mut object = (*current).clone();
            for (name, _) in deleted {
                object.remove(name);
            }
            let mut index = self.index_write(class);
            match self.store.update(class, &id, object.clone(), Some(&current)) {
                Ok(()) => {
                    if let Some(index) = index.as_mut() {
                        index.changed(Some(&current), Some(&object));
                    }
                }
                Err(StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.sync()
    }

    /// Parse Server's field rules on a save that is about to be written: a create gets the
    /// `defaultValue` of each field it leaves out (or deletes), and a create or update that
    /// leaves a `required` field unset (absent on create; `null`, `""` or `Delete`) is 142.
    pub(super) fn apply_field_rules(&self, prepared: &mut PreparedSave) -> Result<(), DataError> {
        let Some(schema) = self.class_schema(&prepared.class_name) else { return Ok(()) };
        if schema.options.is_empty() {
            return Ok(());
        }
        let creating = prepared.is_new();
        for (name, options) in &schema.options {
            let value = prepared.body.get(name);
            if !creating && value.is_none() {
                continue;
            }
            if !leaves_unset(value) {
                continue;
            }
            let absent_or_deleted = value.is_none_or(is_delete);
            match &options.default_value {
                Some(default) if creating && absent_or_deleted => {
                    // A Polygon default is stored closed, as a saved polygon is.
                    let mut default = default.clone();
                    close_polygon_ring(&mut default);
                    prepared.body.insert(name.clone(), default.clone());
                    prepared.proposed.insert(name.clone(), default);
                }
                _ if options.required == Some(true) => {
                    return Err(DataError::RequiredFieldMissing(name.clone()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A schema write's `classLevelPermissions` (replacing the class's when given) and `indexes`
/// (added or dropped), checked against the fields the schema has by then.
fn declare_permissions_and_indexes(schema: &mut ClassSchema, permissions: Option<&Value>, indexes: Option<&Value>) -> Result<(), DataError> {
    if let Some(permissions) = permissions.filter(|p| !p.is_null()) {
        schema.permissions = Some(ClassPermissions::parse(permissions, &schema.fields)?);
    }
    if let Some(indexes) = indexes {
        schema.change_indexes(indexes)?;
    }
    Ok(())
}
