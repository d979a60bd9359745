//! The `_User` values no two users may share: `username` (202), `email` (203), and each
//! linked authData identity, a `(provider, id)` pair (208).
//!
//! Checking uniqueness by a query and then writing lets concurrent sign-ups with one name all
//! pass the check before any of them is stored. Here the check and the write happen under one
//! lock: the first writer wins and the others get 202/203. Values are compared
//! case-insensitively, as Parse Server does, so "Carol" cannot sign up beside "carol"; authData
//! ids are compared exactly, since providers' ids are case-sensitive.
//!
//! Usernames and e-mails are store lookups ([`Store::lookup`]), kept by the store in the same
//! write as the user, so a log-in or sign-up reads a few keys however many users there are.
//! Linked identities are nested in `authData`, which a lookup cannot name: a store shared with
//! other processes looks them up itself ([`Store::auth_data_holders`]); otherwise they are read
//! from the users once, on the first check or log-in that involves one, and kept in memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::auth_data;
use super::DataError;
use crate::store::{LookupField, Store, StoreError};

/// The class whose rows carry unique fields.
pub const USER: &str = "_User";

/// What a second claimant of a unique value gets.
type Taken = fn() -> DataError;

/// A unique field and the error a second claimant gets.
const FIELDS: &[(LookupField, Taken)] = &[
    (LookupField { field: "username", case_insensitive: true }, || DataError::UsernameTaken),
    (LookupField { field: "email", case_insensitive: true }, || DataError::EmailTaken),
];

/// Linked identity (provider, id) → the objectId of the user holding it.
type Identities = HashMap<(String, String), String>;

/// The lock that makes check-then-write one step, and the identities once read.
#[derive(Default)]
pub struct UserKeys {
    identities: Mutex<Option<Identities>>,
}

/// The claims, locked: hold it from the check until the write is in the store.
pub struct ClaimsGuard<'a> {
    identities: MutexGuard<'a, Option<Identities>>,
    store: &'a dyn Store,
}

fn id_of(object: &Map<String, Value>) -> Option<&str> {
    object.get("objectId").and_then(Value::as_str)
}

fn lookup_of(field: &str) -> Option<LookupField> {
    FIELDS.iter().map(|(lookup, _)| *lookup).find(|lookup| lookup.field == field)
}

impl UserKeys {
    /// Declares the unique fields as lookups of the store (indexing stored users once).
    pub fn declare(store: &dyn Store) -> Result<(), StoreError> {
        FIELDS.iter().try_for_each(|(lookup, _)| store.add_lookup(USER, *lookup))
    }

    /// Locks the claims. Reads nothing.
    pub fn lock<'a>(&'a self, store: &'a dyn Store) -> ClaimsGuard<'a> {
        ClaimsGuard { identities: self.identities.lock().unwrap_or_else(|p| p.into_inner()), store }
    }
}

impl ClaimsGuard<'_> {
    /// The linked identities, reading every user the first time.
    fn identities(&mut self) -> Result<&mut Identities, StoreError> {
        if self.identities.is_none() {
            let mut built = Identities::new();
            self.store.scan(USER, &mut |user| {
                if let Some(id) = id_of(&user) {
                    for identity in auth_data::ids_of(&user) {
                        built.insert(identity, id.to_string());
                    }
                }
                true
            })?;
            *self.identities = Some(built);
        }
        Ok(self.identities.get_or_insert_with(Identities::new))
    }

    /// Refuses `object` (a user as it would be stored) if another user holds one of its values.
    pub fn check(&mut self, object: &Map<String, Value>, own_id: Option<&str>) -> Result<(), DataError> {
        for (lookup, taken) in FIELDS {
            let Some(value) = object.get(lookup.field).and_then(Value::as_str) else { continue };
            let holders = self.store.lookup(USER, *lookup, value)?;
            if holders.iter().any(|holder| Some(holder.as_str()) != own_id) {
                return Err(taken());
            }
        }
        let linked = auth_data::ids_of(object);
        if linked.is_empty() {
            return Ok(());
        }
        for (provider, id) in linked {
            if self.identity_holders(&provider, &id)?.iter().any(|holder| Some(holder.as_str()) != own_id) {
                return Err(DataError::AccountAlreadyLinked);
            }
        }
        Ok(())
    }

    /// The users linked to identity `id` of `provider`, from the store when it looks them up.
    fn identity_holders(&mut self, provider: &str, id: &str) -> Result<Vec<String>, StoreError> {
        if let Some(holders) = self.store.auth_data_holders(provider, id)? {
            return Ok(holders);
        }
        Ok(self.identities()?.get(&(provider.to_string(), id.to_string())).cloned().into_iter().collect())
    }

    /// The user holding `value` of `field` (`username` or `email`), if any.
    pub fn holder(&mut self, field: &str, value: &str) -> Result<Option<String>, StoreError> {
        let Some(lookup) = lookup_of(field) else { return Ok(None) };
        Ok(self.store.lookup(USER, lookup, value)?.into_iter().next())
    }

    /// The user linked to identity `id` of `provider`, if any.
    pub fn auth_data_holder(&mut self, provider: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.identity_holders(provider, id)?.into_iter().next())
    }

    /// Records a write that reached the store: `old`'s identities released, `new`'s claimed.
    /// (The store keeps usernames and e-mails itself.)
    pub fn record(&mut self, old: Option<&Map<String, Value>>, new: Option<&Map<String, Value>>) {
        let Some(identities) = self.identities.as_mut() else { return };
        if let Some(old) = old {
            let id = id_of(old);
            for identity in auth_data::ids_of(old) {
                if identities.get(&identity).map(String::as_str) == id {
                    identities.remove(&identity);
                }
            }
        }
        if let Some(new) = new {
            if let Some(id) = id_of(new) {
                for identity in auth_data::ids_of(new) {
                    identities.insert(identity, id.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, username: &str, email: Option<&str>) -> Map<String, Value> {
        let mut user = json!({"objectId": id, "username": username});
        if let Some(email) = email {
            user["email"] = json!(email);
        }
        user.as_object().unwrap().clone()
    }

    #[test]
    fn second_claim_of_a_value_is_refused_case_insensitively() {
        let dir = std::env::temp_dir().join(format!("cloudrt-unique-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = crate::store::SledStore::open(&dir).unwrap();
        let carol = user("a", "carol", Some("carol@example.com"));
        store.insert(USER, "a", carol.clone()).unwrap();
        UserKeys::declare(&store).unwrap();
        let keys = UserKeys::default();
        let mut claims = keys.lock(&store);
        assert_eq!(claims.check(&user("b", "Carol", None), None).unwrap_err().code(), 202, "a user stored before the lookup was declared");
        assert_eq!(claims.check(&user("b", "dave", Some("CAROL@example.com")), None).unwrap_err().code(), 203);
        claims.check(&carol, Some("a")).expect("a user keeps its own values");
        assert_eq!(claims.holder("username", "CAROL").unwrap().as_deref(), Some("a"));

        let renamed = user("a", "caroline", Some("carol@example.com"));
        store.update(USER, "a", renamed, None).unwrap();
        claims.check(&user("b", "carol", None), None).expect("a released name is free again");
        assert_eq!(claims.check(&user("b", "CAROLINE", None), None).unwrap_err().code(), 202);
        store.delete(USER, "a").unwrap();
        claims.check(&user("b", "caroline", Some("carol@example.com")), None).expect("a deleted user frees both");

        let mut linked = user("c", "anon1", None);
        linked.insert("authData".into(), json!({"anonymous": {"id": "Device-1"}}));
        claims.check(&linked, None).unwrap();
        store.insert(USER, "c", linked.clone()).unwrap();
        claims.record(None, Some(&linked));
        assert_eq!(claims.auth_data_holder("anonymous", "Device-1").unwrap().as_deref(), Some("c"));
        assert_eq!(claims.auth_data_holder("anonymous", "device-1").unwrap(), None, "provider ids are case-sensitive");
        let mut thief = user("d", "anon2", None);
        thief.insert("authData".into(), json!({"anonymous": {"id": "Device-1"}}));
        assert_eq!(claims.check(&thief, None).unwrap_err().code(), 208);
        claims.record(Some(&linked), Some(&user("c", "anon1", None)));
        claims.check(&thief, None).expect("an unlinked identity is free again");
        drop(claims);
        store.sync().unwrap();
        drop(store);

        let store = crate::store::SledStore::open(&dir).unwrap();
        UserKeys::declare(&store).unwrap();
        let keys = UserKeys::default();
        assert_eq!(keys.lock(&store).holder("username", "Anon1").unwrap().as_deref(), Some("c"), "lookups survive a restart");
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
