//! The objects `include` names, fetched for a whole page before it is presented: one store
//! call per class and level of the include paths ([`Store::get_many`]) rather than a get per
//! pointer, which on a shared database is a round trip each. Only fetching happens here; who
//! may see an included object is still decided where it is included.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Database, DataError};
use crate::data::schema::validate_class_name;
use crate::store::Document;

/// Deepest include path followed, as deep as including goes.
const MAX_LEVELS: usize = 9;

/// Objects fetched for `include`, by (className, objectId); None for a pointer to nothing.
#[derive(Default)]
pub(super) struct Included(HashMap<(String, String), Option<Arc<Document>>>);

impl Included {
    /// What was fetched for the pointer, or None when it was not asked for.
    pub(super) fn get(&self, class: &str, id: &str) -> Option<Option<Arc<Document>>> {
        self.0.get(&(class.to_owned(), id.to_owned())).cloned()
    }
}

/// An object and the rest of an include path to follow from it.
type Step<'a> = (Arc<Map<String, Value>>, &'a [&'a str]);

/// The pointers `value` holds directly or as an array's items.
fn pointers(value: &Value) -> Vec<(String, String)> {
    let pointer = |item: &Value| match item {
        Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("Pointer") => {
            Some((map.get("className")?.as_str()?.to_owned(), map.get("objectId")?.as_str()?.to_owned()))
        }
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().filter_map(pointer).collect(),
        other => pointer(other).into_iter().collect(),
    }
}

impl Database {
    /// Fetches what `paths` include from `objects`, level by level.
    pub(super) fn fetch_included(&self, objects: &[Arc<Map<String, Value>>], paths: &[String]) -> Result<Included, DataError> {
        let mut included = Included::default();
        let paths: Vec<Vec<&str>> = paths.iter().map(|path| path.split('.').collect()).collect();
        let mut frontier: Vec<Step> =
            objects.iter().flat_map(|object| paths.iter().map(move |path| (object.clone(), path.as_slice()))).collect();
        for _ in 0..MAX_LEVELS {
            let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let mut next = Vec::new();
            for (object, path) in &frontier {
                let Some((first, rest)) = path.split_first() else { continue };
                for (class, id) in object.get(*first).map(pointers).unwrap_or_default() {
                    if !included.0.contains_key(&(class.clone(), id.clone())) && validate_class_name(&class).is_ok() {
                        wanted.entry(class.clone()).or_default().insert(id.clone());
                    }
                    if !rest.is_empty() {
                        next.push((class, id, rest));
                    }
                }
            }
            if wanted.is_empty() && next.is_empty() {
                break;
            }
            for (class, ids) in wanted {
                let ids: Vec<String> = ids.into_iter().collect();
                let mut found: HashMap<String, Arc<Document>> = HashMap::new();
                for document in self.store.get_many(&class, &ids)? {
                    if let Some(id) = document.get("objectId").and_then(Value::as_str) {
                        found.insert(id.to_owned(), document.clone());
                    }
                }
                for id in ids {
                    let document = found.remove(&id);
                    included.0.insert((class.clone(), id), document);
                }
            }
            frontier = next
                .into_iter()
                .filter_map(|(class, id, rest)| Some((included.get(&class, &id).flatten()?, rest)))
                .collect();
        }
        Ok(included)
    }
}
