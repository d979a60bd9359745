//! Parse roles: the rules a `_Role` row must keep, and which roles a user holds.
//!
//! A user holds role R when R's `users` relation names them, or when they hold a role that R's
//! `roles` relation names: in Parse, adding role B to `A.roles` makes B's members members of A
//! (B inherits A's permissions). The ACL check of every request needs that set, so it is
//! answered from a [`RoleGraph`] built once from the `_Role` rows and their relations and kept
//! until the next `_Role` write or delete, which all go through [`Roles::writing`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::schema::DataError;
use crate::store::{Store, StoreError};

/// The class of roles.
pub const ROLE: &str = "_Role";

/// Parse's code for a value a unique index already holds.
const DUPLICATE_VALUE: i32 = 137;

/// Parse's code for a role name the SDK would refuse (`Parse.Error.OTHER_CAUSE`).
const OTHER_CAUSE: i32 = -1;

/// Fields Parse Server requires of every `_Role` write (`requiredColumns.write._Role`).
const REQUIRED: &[&str] = &["name", "ACL"];

/// Checks a `_Role` write with Parse's rules and words: `name` and `ACL` required on create and
/// never deleted (111), a name of letters, digits, `_`, `-` and spaces (-1, as the SDK's
/// `Parse.Role` says it), and a name that never changes once saved (-1).
///
/// `original` is the stored row (None on create), `body` the write, `proposed` the row after it.
pub fn check_write(original: Option<&Map<String, Value>>, body: &Map<String, Value>, proposed: &Map<String, Value>) -> Result<(), DataError> {
    for field in REQUIRED {
        let missing = proposed.get(*field).is_none_or(|value| value.is_null() || value.as_str() == Some(""));
        if missing && (original.is_none() || body.contains_key(*field)) {
            return Err(DataError::new(DataError::INCORRECT_TYPE, format!("{field} is required.")));
        }
    }
    let name = proposed.get("name");
    if let Some(original) = original {
        if body.contains_key("name") && original.get("name") != name {
            return Err(DataError::new(OTHER_CAUSE, "A role's name can only be set before it has been saved."));
        }
        return Ok(());
    }
    let Some(Value::String(name)) = name else {
        return Err(DataError::new(OTHER_CAUSE, "A role's name must be a String."));
    };
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b' ')) {
        return Err(DataError::new(
            OTHER_CAUSE,
            "A role's name can be only contain alphanumeric characters, _, -, and spaces.",
        ));
    }
    Ok(())
}

/// Who holds which role, as of the last `_Role` write.
#[derive(Debug, Default)]
pub struct RoleGraph {
    names: Vec<Option<String>>,
    /// The roles whose `users` relation names each user.
    direct: HashMap<String, Vec<usize>>,
    /// For each role B, the roles A whose `roles` relation names B (B's members are A's too).
    parents: Vec<Vec<usize>>,
}

impl RoleGraph {
    /// Reads every role and its two relations.
    fn load(store: &dyn Store) -> Result<RoleGraph, StoreError> {
        let rows = store.scan(ROLE)?;
        let mut position = HashMap::with_capacity(rows.len());
        let mut names = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let id = row.get("objectId").and_then(Value::as_str).unwrap_or_default();
            position.insert(id.to_owned(), i);
            names.push(row.get("name").and_then(Value::as_str).map(str::to_owned));
        }
        let mut graph = RoleGraph { names, direct: HashMap::new(), parents: vec![Vec::new(); rows.len()] };
        for (id, &parent) in &position {
            for user in store.related(ROLE, id, "users")? {
                graph.direct.entry(user).or_default().push(parent);
            }
            for child in store.related(ROLE, id, "roles")? {
                if let Some(&child) = position.get(&child) {
                    graph.parents[child].push(parent);
                }
            }
        }
        Ok(graph)
    }

    /// The names of every role `user_id` holds, directly or through child roles, sorted.
    /// Each role is visited once, so a cycle of roles ends the walk instead of looping.
    pub fn names_of(&self, user_id: &str) -> Vec<String> {
        let Some(direct) = self.direct.get(user_id) else { return Vec::new() };
        let mut seen: HashSet<usize> = direct.iter().copied().collect();
        let mut pending: Vec<usize> = seen.iter().copied().collect();
        while let Some(role) = pending.pop() {
            for &parent in &self.parents[role] {
                if seen.insert(parent) {
                    pending.push(parent);
                }
            }
        }
        let mut names: Vec<String> = seen.into_iter().filter_map(|role| self.names[role].clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The cached [`RoleGraph`] and the lock `_Role` writes take.
#[derive(Default)]
pub struct Roles {
    cache: Mutex<Cache>,
    writes: Mutex<()>,
}

#[derive(Default)]
struct Cache {
    /// Bumped by every write, so a graph built from rows read before it is not kept.
    generation: u64,
    graph: Option<Arc<RoleGraph>>,
}

impl Roles {
    /// The role names `user_id` holds (no user, no roles).
    pub fn names_of(&self, store: &dyn Store, user_id: Option<&str>) -> Result<Arc<[String]>, StoreError> {
        let Some(user_id) = user_id else { return Ok(Arc::from([])) };
        Ok(self.graph(store)?.names_of(user_id).into())
    }

    fn graph(&self, store: &dyn Store) -> Result<Arc<RoleGraph>, StoreError> {
        let generation = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(graph) = &cache.graph {
                return Ok(graph.clone());
            }
            cache.generation
        };
        let graph = Arc::new(RoleGraph::load(store)?);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.generation == generation {
            cache.graph = Some(graph.clone());
        }
        Ok(graph)
    }

    /// Serialises `_Role` writes (so two creates cannot both claim one name) and drops the
    /// cached graph when the write ends, however it ends: a write that failed half-way may
    /// still have changed a relation.
    pub fn writing(&self) -> RoleWrite<'_> {
        RoleWrite { roles: self, _lock: self.writes.lock().unwrap_or_else(|p| p.into_inner()) }
    }

    fn invalidate(&self) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.generation += 1;
        cache.graph = None;
    }
}

/// One `_Role` write in progress; see [`Roles::writing`].
pub struct RoleWrite<'a> {
    roles: &'a Roles,
    _lock: MutexGuard<'a, ()>,
}

impl RoleWrite<'_> {
    /// Whether another role has the name of `proposed` (Parse Server keeps a unique index on
    /// `_Role.name`). Holding the write lock, the answer stays true until the insert.
    pub fn name_taken(&self, store: &dyn Store, proposed: &Map<String, Value>) -> Result<bool, StoreError> {
        let name = proposed.get("name");
        Ok(store.scan(ROLE)?.iter().any(|row| row.get("name") == name))
    }
}

impl Drop for RoleWrite<'_> {
    fn drop(&mut self) {
        self.roles.invalidate();
    }
}

/// The answer to a second role of one name.
pub fn duplicate_name() -> DataError {
    DataError::new(DUPLICATE_VALUE, "A duplicate value for a field with unique values was provided")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn creates_need_a_valid_name_and_an_acl() {
        let acl = json!({"*": {"read": true}});
        let cases = [
            (json!({"ACL": acl}), 111, "name is required."),
            (json!({"name": "", "ACL": acl}), 111, "name is required."),
            (json!({"name": "Mods"}), 111, "ACL is required."),
            (json!({"name": 7, "ACL": acl}), -1, "A role's name must be a String."),
            (json!({"name": "a/b", "ACL": acl}), -1, "A role's name can be only contain alphanumeric characters, _, -, and spaces."),
            (json!({"name": "role:x", "ACL": acl}), -1, "A role's name can be only contain alphanumeric characters, _, -, and spaces."),
            (json!({"name": "Modé", "ACL": acl}), -1, "A role's name can be only contain alphanumeric characters, _, -, and spaces."),
        ];
        for (body, code, message) in cases {
            let body = map(body);
            let error = check_write(None, &body, &body).unwrap_err();
            assert_eq!((error.code, error.message.as_str()), (code, message), "{body:?}");
        }
        let good = map(json!({"name": "Senior Mods_2-b", "ACL": acl}));
        assert!(check_write(None, &good, &good).is_ok());
    }

    #[test]
    fn updates_keep_the_name_and_the_acl() {
        let original = map(json!({"name": "Mods", "ACL": {}}));
        let renamed = map(json!({"name": "Admins", "ACL": {}}));
        let error = check_write(Some(&original), &map(json!({"name": "Admins"})), &renamed).unwrap_err();
        assert_eq!((error.code, error.message.as_str()), (-1, "A role's name can only be set before it has been saved."));
        let no_name = map(json!({"ACL": {}}));
        let error = check_write(Some(&original), &map(json!({"name": {"__op": "Delete"}})), &no_name).unwrap_err();
        assert_eq!((error.code, error.message.as_str()), (111, "name is required."));
        assert!(check_write(Some(&original), &map(json!({"name": "Mods"})), &original).is_ok());
        assert!(check_write(Some(&original), &map(json!({"x": 1})), &original).is_ok());
    }

    #[test]
    fn membership_is_inherited_and_cycles_end() {
        // 0 Moderators ← 1 Juniors ← 2 Trainees ← 0 (a cycle); user u in Trainees only.
        let graph = RoleGraph {
            names: vec![Some("Moderators".into()), Some("Juniors".into()), Some("Trainees".into()), Some("Other".into())],
            direct: HashMap::from([("u".to_string(), vec![2])]),
            parents: vec![vec![2], vec![0], vec![1], vec![]],
        };
        assert_eq!(graph.names_of("u"), ["Juniors", "Moderators", "Trainees"]);
        assert!(graph.names_of("nobody").is_empty());
    }
}
