//! Following the other nodes on a shared store (see [`crate::store::nodes`]): what this node
//! derived from stored data (schemas, the role graph) is read again when another node changes
//! that data.

use std::collections::HashMap;

use super::Database;
use crate::data::schema::ClassSchema;
use crate::data::DataError;
use crate::store::Store;

/// Every stored schema, by class.
pub(super) fn read_schemas(store: &dyn Store) -> Result<HashMap<String, ClassSchema>, DataError> {
    let mut schemas = HashMap::new();
    for class in store.classes()? {
        if let Some(schema) = stored_schema(store, &class)? {
            schemas.insert(class, schema);
        }
    }
    Ok(schemas)
}

/// The stored schema of `class`. One unreadable schema must not keep the server from serving
/// every other class: the class is served as if new, and its next write records a fresh schema.
pub(super) fn stored_schema(store: &dyn Store, class: &str) -> Result<Option<ClassSchema>, DataError> {
    let Some(json) = store.schema(class)? else { return Ok(None) };
    match ClassSchema::from_json(&json) {
        Ok(schema) => Ok(Some(schema)),
        Err(error) => {
            tracing::error!(class = %class, "skipping the stored schema of class {class}: {error}");
            Ok(None)
        }
    }
}

impl Database {
    /// Reads the schema of `class` again: another node changed it, or deleted the class.
    pub fn reload_schema(&self, class: &str) -> Result<(), DataError> {
        let _guard = self.schema_writes.lock().unwrap_or_else(|p| p.into_inner());
        let stored = stored_schema(&*self.store, class)?;
        let mut schemas = self.schemas.write().unwrap_or_else(|p| p.into_inner());
        match stored {
            Some(schema) => schemas.insert(class.to_owned(), schema),
            None => schemas.remove(class),
        };
        Ok(())
    }

    /// Reads every schema again (changes of other nodes may have been missed).
    pub fn reload_schemas(&self) -> Result<(), DataError> {
        let _guard = self.schema_writes.lock().unwrap_or_else(|p| p.into_inner());
        let schemas = read_schemas(&*self.store)?;
        *self.schemas.write().unwrap_or_else(|p| p.into_inner()) = schemas;
        Ok(())
    }

    /// Reads the role graph again: another node changed a role or who holds it.
    pub fn reload_roles(&self) -> Result<(), DataError> {
        Ok(self.roles.reload(&*self.store)?)
    }
}
