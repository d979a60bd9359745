//! The `_User` fields no two users may share: `username` (202) and `email` (203).
//!
//! Checking uniqueness by a query and then writing lets concurrent sign-ups with one name all
//! pass the check before any of them is stored. Here the check and the write happen under one
//! lock, against an index of every claimed value that is updated by the same write: the first
//! writer wins and the others get 202/203. Values are compared case-insensitively, as Parse
//! Server does, so "Carol" cannot sign up beside "carol".

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::schema::DataError;
use crate::store::{Store, StoreError};

/// The class whose rows carry unique fields.
pub const USER: &str = "_User";

/// A unique field, the code a second claimant gets, and its message (Parse Server's wording).
const FIELDS: &[(&str, i32, &str)] = &[
    ("username", 202, "Account already exists for this username."),
    ("email", 203, "Account already exists for this email address."),
];

type Claims = HashMap<(&'static str, String), String>;

/// Claimed values → the objectId of the user holding each. Built from the store on first use.
#[derive(Default)]
pub struct UserKeys {
    claims: Mutex<Option<Claims>>,
}

/// The claims, locked: hold it from the check until the write is in the store.
pub struct ClaimsGuard<'a> {
    claims: MutexGuard<'a, Option<Claims>>,
}

fn key(value: &str) -> String {
    value.to_lowercase()
}

fn claimed_values(object: &Map<String, Value>) -> impl Iterator<Item = (&'static str, String)> + '_ {
    FIELDS
        .iter()
        .filter_map(|(field, _, _)| object.get(*field).and_then(Value::as_str).map(|value| (*field, key(value))))
}

fn id_of(object: &Map<String, Value>) -> Option<&str> {
    object.get("objectId").and_then(Value::as_str)
}

impl UserKeys {
    /// Locks the claims, reading every user once if this is the first use.
    pub fn lock(&self, store: &dyn Store) -> Result<ClaimsGuard<'_>, StoreError> {
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        if claims.is_none() {
            let mut built = Claims::new();
            for user in store.scan(USER)? {
                if let Some(id) = id_of(&user) {
                    for claim in claimed_values(&user) {
                        built.insert(claim, id.to_string());
                    }
                }
            }
            *claims = Some(built);
        }
        Ok(ClaimsGuard { claims })
    }
}

impl ClaimsGuard<'_> {
    fn map(&mut self) -> &mut Claims {
        self.claims.get_or_insert_with(Claims::new)
    }

    /// Refuses `object` (a user as it would be stored) if another user holds one of its values.
    pub fn check(&mut self, object: &Map<String, Value>, own_id: Option<&str>) -> Result<(), DataError> {
        let claims = self.map();
        for (field, code, message) in FIELDS {
            let Some(value) = object.get(*field).and_then(Value::as_str) else { continue };
            if let Some(holder) = claims.get(&(*field, key(value))) {
                if Some(holder.as_str()) != own_id {
                    return Err(DataError::new(*code, *message));
                }
            }
        }
        Ok(())
    }

    /// The user holding `value` of `field`, if any.
    pub fn holder(&mut self, field: &'static str, value: &str) -> Option<String> {
        self.map().get(&(field, key(value))).cloned()
    }

    /// Records a write that reached the store: `old` released, `new` claimed.
    pub fn record(&mut self, old: Option<&Map<String, Value>>, new: Option<&Map<String, Value>>) {
        let claims = self.map();
        if let Some(old) = old {
            let id = id_of(old);
            for claim in claimed_values(old) {
                if claims.get(&claim).map(String::as_str) == id {
                    claims.remove(&claim);
                }
            }
        }
        if let Some(new) = new {
            if let Some(id) = id_of(new) {
                for claim in claimed_values(new) {
                    claims.insert(claim, id.to_string());
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
        let keys = UserKeys::default();
        let store = crate::store::SledStore::open(&std::env::temp_dir().join(format!("cloudrt-unique-{}", std::process::id()))).unwrap();
        let mut claims = keys.lock(&store).unwrap();
        let carol = user("a", "carol", Some("carol@example.com"));
        claims.check(&carol, None).unwrap();
        claims.record(None, Some(&carol));
        assert_eq!(claims.check(&user("b", "Carol", None), None).unwrap_err().code, 202);
        assert_eq!(claims.check(&user("b", "dave", Some("CAROL@example.com")), None).unwrap_err().code, 203);
        claims.check(&carol, Some("a")).expect("a user keeps its own values");
        assert_eq!(claims.holder("username", "CAROL").as_deref(), Some("a"));

        let renamed = user("a", "caroline", Some("carol@example.com"));
        claims.record(Some(&carol), Some(&renamed));
        claims.check(&user("b", "carol", None), None).expect("a released name is free again");
        claims.record(Some(&renamed), None);
        claims.check(&user("b", "caroline", Some("carol@example.com")), None).expect("a deleted user frees both");
        drop(claims);
        drop(store);
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("cloudrt-unique-{}", std::process::id())));
    }
}
