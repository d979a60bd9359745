//! The `_User` values no two users may share: `username` (202), `email` (203), and each
//! linked authData identity, a `(provider, id)` pair (208).
//!
//! Checking uniqueness by a query and then writing lets concurrent sign-ups with one name all
//! pass the check before any of them is stored. Here the check and the write happen under one
//! lock, against an index of every claimed value that is updated by the same write: the first
//! writer wins and the others get 202/203. Values are compared case-insensitively, as Parse
//! Server does, so "Carol" cannot sign up beside "carol"; authData ids are compared exactly,
//! since providers' ids are case-sensitive.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::auth_data;
use super::schema::DataError;
use crate::store::{Store, StoreError};

/// The class whose rows carry unique fields.
pub const USER: &str = "_User";

/// A unique field, the code a second claimant gets, and its message (Parse Server's wording).
const FIELDS: &[(&str, i32, &str)] = &[
    ("username", 202, "Account already exists for this username."),
    ("email", 203, "Account already exists for this email address."),
];

/// One claimed value: a unique field's (lower-cased) value, or a linked identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Claim {
    Field(&'static str, String),
    AuthData { provider: String, id: String },
}

type Claims = HashMap<Claim, String>;

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

fn claimed_values(object: &Map<String, Value>) -> impl Iterator<Item = Claim> + '_ {
    let fields = FIELDS
        .iter()
        .filter_map(|(field, _, _)| object.get(*field).and_then(Value::as_str).map(|value| Claim::Field(field, key(value))));
    let identities = auth_data::ids_of(object).into_iter().map(|(provider, id)| Claim::AuthData { provider, id });
    fields.chain(identities)
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
            store.scan(USER, &mut |user| {
                if let Some(id) = id_of(&user) {
                    for claim in claimed_values(&user) {
                        built.insert(claim, id.to_string());
                    }
                }
                true
            })?;
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
        for claim in claimed_values(object) {
            let Some(holder) = claims.get(&claim) else { continue };
            if Some(holder.as_str()) == own_id {
                continue;
            }
            return Err(match claim {
                Claim::Field(field, _) => {
                    let (_, code, message) = FIELDS.iter().find(|(name, _, _)| *name == field).copied().unwrap_or(FIELDS[0]);
                    DataError::new(code, message)
                }
                Claim::AuthData { .. } => auth_data::already_linked(),
            });
        }
        Ok(())
    }

    /// The user holding `value` of `field`, if any.
    pub fn holder(&mut self, field: &'static str, value: &str) -> Option<String> {
        self.map().get(&Claim::Field(field, key(value))).cloned()
    }

    /// The user linked to identity `id` of `provider`, if any.
    pub fn auth_data_holder(&mut self, provider: &str, id: &str) -> Option<String> {
        self.map().get(&Claim::AuthData { provider: provider.to_string(), id: id.to_string() }).cloned()
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

        let mut linked = user("c", "anon1", None);
        linked.insert("authData".into(), json!({"anonymous": {"id": "Device-1"}}));
        claims.check(&linked, None).unwrap();
        claims.record(None, Some(&linked));
        assert_eq!(claims.auth_data_holder("anonymous", "Device-1").as_deref(), Some("c"));
        assert_eq!(claims.auth_data_holder("anonymous", "device-1"), None, "provider ids are case-sensitive");
        let mut thief = user("d", "anon2", None);
        thief.insert("authData".into(), json!({"anonymous": {"id": "Device-1"}}));
        assert_eq!(claims.check(&thief, None).unwrap_err().code, 208);
        claims.record(Some(&linked), Some(&user("c", "anon1", None)));
        claims.check(&thief, None).expect("an unlinked identity is free again");
        drop(claims);
        drop(store);
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("cloudrt-unique-{}", std::process::id())));
    }
}
