//! Users and sessions: password hashing, sign-up checks, log-in, and session tokens.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate, RustCrypto); only the hash is
//! stored, in `_User._hashed_password`, which no read ever returns. Hashing is deliberately
//! slow: callers run these functions off the async threads.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde_json::{json, Map, Value};

use super::database::{Access, Database, PreparedSave};
use super::ids;
use super::schema::DataError;

pub const USER: &str = "_User";
pub const SESSION: &str = "_Session";

/// Sessions last a year, as Parse Server's default `sessionLength`.
const SESSION_LENGTH_MS: i64 = 365 * 24 * 3600 * 1000;

/// Token → session objectId, so resolving a token is not a scan of `_Session`. Built on first
/// use; every hit is checked against the store, so a stale entry cannot grant access.
#[derive(Default)]
pub struct Accounts {
    tokens: RwLock<Option<HashMap<String, String>>>,
}

fn invalid_login() -> DataError {
    DataError::new(101, "Invalid username/password.")
}

pub fn hash_password(password: &str) -> Result<String, DataError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| DataError::new(1, format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| DataError::new(1, format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

impl Accounts {
    /// The user row whose `field` equals `value`.
    fn user_by(&self, db: &Database, key: &str, value: &str) -> Result<Option<Arc<Map<String, Value>>>, DataError> {
        let users = db.store().scan(USER).map_err(|e| DataError::new(1, e.to_string()))?;
        Ok(users.into_iter().find(|user| field(user, key) == Some(value)))
    }

    /// Rejects a username or email another user already has (202 / 203).
    fn check_unique(&self, db: &Database, body: &Map<String, Value>, own_id: Option<&str>) -> Result<(), DataError> {
        for (key, code, message) in [
            ("username", 202, "Account already exists for this username."),
            ("email", 203, "Account already exists for this email address."),
        ] {
            if let Some(value) = field(body, key) {
                let taken = self.user_by(db, key, value)?;
                if taken.is_some_and(|user| field(&user, "objectId") != own_id) {
                    return Err(DataError::new(code, message));
                }
            }
        }
        Ok(())
    }

    /// Checks a sign-up and prepares the new `_User` row: password hashed, default ACL
    /// (read and write by the user alone), id assigned up front so the ACL can name it.
    pub fn prepare_signup(&self, db: &Database, mut body: Map<String, Value>) -> Result<PreparedSave, DataError> {
        let username = body.get("username");
        if !username.and_then(Value::as_str).is_some_and(|u| !u.is_empty()) {
            return Err(DataError::new(200, "bad or missing username"));
        }
        let password = match body.remove("password") {
            Some(Value::String(p)) if !p.is_empty() => p,
            _ => return Err(DataError::new(201, "password is required")),
        };
        if let Some(email) = body.get("email") {
            if !email.as_str().is_some_and(|e| e.contains('@')) {
                return Err(DataError::new(125, "Email address format is invalid."));
            }
        }
        self.check_unique(db, &body, None)?;
        let id = ids::new_object_id();
        if !body.contains_key("ACL") {
            body.insert("ACL".into(), json!({ id.clone(): {"read": true, "write": true} }));
        }
        let mut prepared = db.prepare_create(&Access::master(), USER, body)?;
        prepared.assign_id(id);
        prepared.set_internal("_hashed_password", Value::String(hash_password(&password)?));
        Ok(prepared)
    }

    /// Prepares an update of a `_User` row: a new password is hashed, a new username or
    /// email must be free.
    pub fn prepare_user_update(&self, db: &Database, access: &Access, id: &str, mut body: Map<String, Value>) -> Result<PreparedSave, DataError> {
        let password = match body.remove("password") {
            None => None,
            Some(Value::String(p)) if !p.is_empty() => Some(p),
            Some(_) => return Err(DataError::new(201, "password must be a non-empty string")),
        };
        self.check_unique(db, &body, Some(id))?;
        let mut prepared = db.prepare_update(access, USER, id, body)?;
        if let Some(password) = password {
            prepared.set_internal("_hashed_password", Value::String(hash_password(&password)?));
        }
        Ok(prepared)
    }

    /// The user a username and password identify.
    pub fn log_in(&self, db: &Database, username: &str, password: &str) -> Result<Arc<Map<String, Value>>, DataError> {
        if username.is_empty() {
            return Err(DataError::new(200, "username/email is required."));
        }
        if password.is_empty() {
            return Err(DataError::new(201, "password is required."));
        }
        let user = self.user_by(db, "username", username)?.ok_or_else(invalid_login)?;
        let hash = field(&user, "_hashed_password").ok_or_else(invalid_login)?;
        if verify_password(password, hash) {
            Ok(user)
        } else {
            Err(invalid_login())
        }
    }

    /// Starts a session for `user_id`; answers the new session row (with its token).
    pub fn start_session(&self, db: &Database, user_id: &str, action: &str, installation_id: Option<&str>) -> Result<Map<String, Value>, DataError> {
        let token = ids::new_session_token();
        let expires = ids::iso_from_millis(ids::millis_from_iso(&ids::now_iso()).unwrap_or(0) + SESSION_LENGTH_MS);
        let mut body = Map::new();
        body.insert("sessionToken".into(), Value::String(token.clone()));
        body.insert("user".into(), json!({"__type": "Pointer", "className": USER, "objectId": user_id}));
        body.insert("createdWith".into(), json!({"action": action, "authProvider": "password"}));
        body.insert("expiresAt".into(), json!({"__type": "Date", "iso": expires}));
        body.insert("ACL".into(), json!({ user_id: {"read": true, "write": true} }));
        if let Some(installation_id) = installation_id {
            body.insert("installationId".into(), Value::String(installation_id.to_string()));
        }
        let prepared = db.prepare_create(&Access::master(), SESSION, body)?;
        let saved = db.commit(prepared)?;
        if let (Some(id), Some(index)) = (field(&saved.object, "objectId"), self.index().as_mut()) {
            index.insert(token, id.to_string());
        }
        Ok(saved.object)
    }

    fn index(&self) -> std::sync::RwLockWriteGuard<'_, Option<HashMap<String, String>>> {
        self.tokens.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The session and user a token stands for, if the session exists and has not expired.
    pub fn session(&self, db: &Database, token: &str) -> Result<Option<(Arc<Map<String, Value>>, Arc<Map<String, Value>>)>, DataError> {
        let cached = self.tokens.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|t| t.get(token).cloned());
        let session_id = match cached {
            Some(hit) => hit,
            None => {
                let mut index = HashMap::new();
                for session in db.store().scan(SESSION).map_err(|e| DataError::new(1, e.to_string()))? {
                    if let (Some(t), Some(id)) = (field(&session, "sessionToken"), field(&session, "objectId")) {
                        index.insert(t.to_string(), id.to_string());
                    }
                }
                let hit = index.get(token).cloned();
                *self.index() = Some(index);
                hit
            }
        };
        let Some(session_id) = session_id else { return Ok(None) };
        let store_error = |e: crate::store::StoreError| DataError::new(1, e.to_string());
        let Some(session) = db.store().get(SESSION, &session_id).map_err(store_error)? else { return Ok(None) };
        if field(&session, "sessionToken") != Some(token) {
            return Ok(None);
        }
        let expired = session
            .get("expiresAt")
            .and_then(|e| e.get("iso"))
            .and_then(Value::as_str)
            .and_then(ids::millis_from_iso)
            .zip(ids::millis_from_iso(&ids::now_iso()))
            .is_some_and(|(expires, now)| expires <= now);
        if expired {
            return Ok(None);
        }
        let user_id = session.get("user").and_then(|u| u.get("objectId")).and_then(Value::as_str);
        let Some(user) = user_id.map(|id| db.store().get(USER, id)).transpose().map_err(store_error)?.flatten() else {
            return Ok(None);
        };
        Ok(Some((session, user)))
    }

    /// Ends the session a token stands for.
    pub fn end_session(&self, db: &Database, token: &str) -> Result<(), DataError> {
        if let Some((session, _)) = self.session(db, token)? {
            if let Some(id) = field(&session, "objectId") {
                db.delete(SESSION, id)?;
            }
        }
        if let Some(index) = self.index().as_mut() {
            index.remove(token);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("S3cret", &hash));
        assert!(!verify_password("s3cret", "not a hash"));
    }
}
