//! Parse roles: the rules a `_Role` row must keep, and which roles a user holds.
//!
//! A user holds role R when R's `users` relation names them, or when they hold a role that R's
//! `roles` relation names: in Parse, adding role B to `A.roles` makes B's members members of A
//! (B inherits A's permissions). The ACL check of every request needs that set, so it is
//! answered from a [`RoleGraph`] of every role, loaded at start and kept current by each
//! `_Role` write and delete, which all go through [`Roles::writing`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde_json::{Map, Value};

use super::field_ops::RelationChanges;
use super::DataError;
use crate::store::{Store, StoreError};

/// The class of roles.
pub const ROLE: &str = "_Role";

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
            return Err(DataError::RoleFieldMissing((*field).to_owned()));
        }
    }
    let name = proposed.get("name");
    if let Some(original) = original {
        if body.contains_key("name") && original.get("name") != name {
            return Err(DataError::RoleNameChanged);
        }
        return Ok(());
    }
    let Some(Value::String(name)) = name else {
        return Err(DataError::RoleNameNotString);
    };
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b' ')) {
        return Err(DataError::InvalidRoleName);
    }
    Ok(())
}

/// Who holds which role, by role objectId.
///
/// Entries may name roles that were deleted (the store keeps a deleted row's relations, and so
/// does this graph); only roles in `names` exist, so only they are held or followed.
#[derive(Debug, Default)]
pub struct RoleGraph {
    names: HashMap<String, String>,
    /// How many roles have each name, for the uniqueness of new names (more than one only in
    /// data stored before names were unique).
    holders: HashMap<String, usize>,
    /// The roles whose `users` relation names each user.
    direct: HashMap<String, HashSet<String>>,
    /// For each role B, the roles A whose `roles` relation names B (B's members are A's too).
    parents: HashMap<String, HashSet<String>>,
}

impl RoleGraph {
    /// Reads every role and its two relations.
    fn load(store: &dyn Store) -> Result<RoleGraph, StoreError> {
        let mut graph = RoleGraph::default();
        crate::store::try_scan(store, ROLE, std::convert::identity, |row| {
            let Some(id) = row.get("objectId").and_then(Value::as_str) else { return Ok(true) };
            graph.saved(id, &row);
            let users = store.related(ROLE, id, "users")?;
            let roles = store.related(ROLE, id, "roles")?;
            graph.relate(id, &[("users".into(), users), ("roles".into(), roles)], true);
            Ok(true)
        })?;
        Ok(graph)
    }

    /// Records the name of a role as saved.
    fn saved(&mut self, id: &str, row: &Map<String, Value>) {
        if let Some(name) = row.get("name").and_then(Value::as_str) {
            if let Some(old) = self.names.insert(id.to_owned(), name.to_owned()) {
                self.release(&old);
            }
            *self.holders.entry(name.to_owned()).or_default() += 1;
        }
    }

    /// Forgets role `id`.
    fn remove(&mut self, id: &str) {
        if let Some(name) = self.names.remove(id) {
            self.release(&name);
        }
    }

    fn release(&mut self, name: &str) {
        if let Some(count) = self.holders.get_mut(name) {
            *count -= 1;
            if *count == 0 {
                self.holders.remove(name);
            }
        }
    }

    /// Adds (or removes) members of role `id`'s `users` and `roles` relations.
    fn relate(&mut self, id: &str, changes: &[(String, Vec<String>)], add: bool) {
        for (key, related) in changes {
            let edges = match key.as_str() {
                "users" => &mut self.direct,
                "roles" => &mut self.parents,
                _ => continue,
            };
            for member in related {
                let holders = edges.entry(member.clone()).or_default();
                if add {
                    holders.insert(id.to_owned());
                } else {
                    holders.remove(id);
                }
            }
        }
    }

    /// The names of every role `user_id` holds, directly or through child roles, sorted.
    /// Each role is visited once, so a cycle of roles ends the walk instead of looping.
    pub fn names_of(&self, user_id: &str) -> Vec<String> {
        let Some(direct) = self.direct.get(user_id) else { return Vec::new() };
        let exists = |role: &&String| self.names.contains_key(*role);
        let mut seen: HashSet<&String> = direct.iter().filter(exists).collect();
        let mut pending: Vec<&String> = seen.iter().copied().collect();
        while let Some(role) = pending.pop() {
            for parent in self.parents.get(role).into_iter().flatten().filter(exists) {
                if seen.insert(parent) {
                    pending.push(parent);
                }
            }
        }
        let mut names: Vec<String> = seen.into_iter().map(|role| self.names[role].clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The role graph, kept current by every `_Role` write, and the lock those writes take.
///
/// Writes update the graph in place rather than dropping it: rebuilding reads every role's
/// relations (about 140 ms for 10,000 roles), which an app that makes a role per user would
/// otherwise pay on the next request after each sign-up, once per request in flight.
pub struct Roles {
    graph: RwLock<RoleGraph>,
    writes: Mutex<()>,
}

impl Roles {
    /// Loads the graph of the stored roles.
    pub fn load(store: &dyn Store) -> Result<Roles, StoreError> {
        Ok(Roles { graph: RwLock::new(RoleGraph::load(store)?), writes: Mutex::new(()) })
    }

    /// The role names `user_id` holds (no user, no roles).
    pub fn names_of(&self, user_id: Option<&str>) -> Arc<[String]> {
        match user_id {
            Some(user_id) => self.graph.read().unwrap_or_else(|p| p.into_inner()).names_of(user_id).into(),
            None => Arc::from([]),
        }
    }

    /// Reads the graph again from the store (another process changed the roles).
    pub fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let _lock = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let graph = RoleGraph::load(store)?;
        *self.graph.write().unwrap_or_else(|p| p.into_inner()) = graph;
        Ok(())
    }

    /// Serialises `_Role` writes, so two creates cannot both claim one name and the graph
    /// follows the store write by write. See [`RoleWrite`].
    pub fn writing<'a>(&'a self, store: &'a dyn Store) -> RoleWrite<'a> {
        RoleWrite { roles: self, store, touched: false, _lock: self.writes.lock().unwrap_or_else(|p| p.into_inner()) }
    }
}

/// One `_Role` write in progress. The writer calls [`touching`](Self::touching) before it
/// changes the store and [`saved`](Self::saved) or [`deleted`](Self::deleted) once it has; a
/// write that touched the store and ended otherwise (a failure half-way) reloads the graph from
/// the store, so it never disagrees with what is stored.
pub struct RoleWrite<'a> {
    roles: &'a Roles,
    store: &'a dyn Store,
    touched: bool,
    _lock: MutexGuard<'a, ()>,
}

impl RoleWrite<'_> {
    /// Whether another role has the name of `proposed` (Parse Server keeps a unique index on
    /// `_Role.name`). Holding the write lock, the answer stays true until the insert.
    pub fn name_taken(&self, proposed: &Map<String, Value>) -> bool {
        let name = proposed.get("name").and_then(Value::as_str).unwrap_or_default();
        self.roles.graph.read().unwrap_or_else(|p| p.into_inner()).holders.contains_key(name)
    }

    pub fn touching(&mut self) {
        self.touched = true;
    }

    /// Role `id` was stored as `row`, with these relation changes.
    pub fn saved(mut self, id: &str, row: &Map<String, Value>, relations: &RelationChanges) {
        let mut graph = self.roles.graph.write().unwrap_or_else(|p| p.into_inner());
        graph.saved(id, row);
        graph.relate(id, &relations.add, true);
        graph.relate(id, &relations.remove, false);
        self.touched = false;
    }

    /// Role `id` was deleted.
    pub fn deleted(mut self, id: &str) {
        self.roles.graph.write().unwrap_or_else(|p| p.into_inner()).remove(id);
        self.touched = false;
    }
}

impl Drop for RoleWrite<'_> {
    fn drop(&mut self) {
        if !self.touched {
            return;
        }
        match RoleGraph::load(self.store) {
            Ok(graph) => *self.roles.graph.write().unwrap_or_else(|p| p.into_inner()) = graph,
            Err(error) => tracing::error!("reloading roles after a failed role write: {error}"),
        }
    }
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
            assert_eq!((error.code(), error.to_string().as_str()), (code, message), "{body:?}");
        }
        let good = map(json!({"name": "Senior Mods_2-b", "ACL": acl}));
        assert!(check_write(None, &good, &good).is_ok());
    }

    #[test]
    fn updates_keep_the_name_and_the_acl() {
        let original = map(json!({"name": "Mods", "ACL": {}}));
        let renamed = map(json!({"name": "Admins", "ACL": {}}));
        let error = check_write(Some(&original), &map(json!({"name": "Admins"})), &renamed).unwrap_err();
        assert_eq!((error.code(), error.to_string().as_str()), (-1, "A role's name can only be set before it has been saved."));
        let no_name = map(json!({"ACL": {}}));
        let error = check_write(Some(&original), &map(json!({"name": {"__op": "Delete"}})), &no_name).unwrap_err();
        assert_eq!((error.code(), error.to_string().as_str()), (111, "name is required."));
        assert!(check_write(Some(&original), &map(json!({"name": "Mods"})), &original).is_ok());
        assert!(check_write(Some(&original), &map(json!({"x": 1})), &original).is_ok());
    }

    #[test]
    fn membership_is_inherited_and_cycles_end() {
        let mut graph = RoleGraph::default();
        let changes = |key: &str, ids: &[&str]| vec![(key.to_string(), ids.iter().map(|id| id.to_string()).collect())];
        for (id, name) in [("m", "Moderators"), ("j", "Juniors"), ("t", "Trainees"), ("o", "Other")] {
            graph.saved(id, &map(json!({"name": name})));
        }
        // Moderators ∋ Juniors ∋ Trainees ∋ Moderators (a cycle); u is in Trainees only.
        graph.relate("m", &changes("roles", &["j"]), true);
        graph.relate("j", &changes("roles", &["t"]), true);
        graph.relate("t", &changes("roles", &["m"]), true);
        graph.relate("t", &changes("users", &["u"]), true);
        assert_eq!(graph.names_of("u"), ["Juniors", "Moderators", "Trainees"]);
        assert!(graph.names_of("nobody").is_empty());

        graph.remove("j");
        assert_eq!(graph.names_of("u"), ["Trainees"], "a deleted role is neither held nor followed");
        graph.relate("t", &changes("users", &["u"]), false);
        assert!(graph.names_of("u").is_empty());

        // Names in use: two legacy rows of one name keep it taken until both are gone.
        graph.saved("m2", &map(json!({"name": "Moderators"})));
        graph.saved("m2", &map(json!({"name": "Moderators"})));
        graph.remove("m");
        assert!(graph.holders.contains_key("Moderators"));
        graph.remove("m2");
        assert!(!graph.holders.contains_key("Moderators") && !graph.holders.contains_key("Juniors"));
    }
}
