//! Users and sessions: password hashing, sign-up checks, log-in, and session tokens.
//!
//! Passwords are hashed with Argon2id (see [`super::password`]); only the hash is stored, in
//! `_User._hashed_password`, which no read ever returns. Usernames and emails are unique
//! through the database's user keys, checked again atomically with the write.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{json, Map, Value};

use super::database::{Access, Database, PreparedSave};
use super::ids;
use super::password as hashing;
use super::schema::DataError;

pub const USER: &str = "_User";

/// A live session row and the `_User` row it stands for.
pub type SessionAndUser = (Arc<Map<String, Value>>, Arc<Map<String, Value>>);

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

fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

impl Accounts {
    /// Checks a sign-up and prepares the new `_User` row: password hashed, default ACL
    /// (read and write by the user alone), id assigned up front so the ACL can name it.
    pub fn prepare_signup(&self, db: &Database, mut body: Map<String, Value>) -> Result<PreparedSave, DataError> {
        let username = body.get("username");
        if username.and_then(Value::as_str).is_none_or(str::is_empty) {
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
        db.check_user_keys(&body, None)?;
        let id = ids::new_object_id();
        if !body.contains_key("ACL") {
            body.insert("ACL".into(), json!({ id.clone(): {"read": true, "write": true} }));
        }
        let mut prepared = db.prepare_create(&Access::master(), USER, body)?;
        prepared.assign_id(id);
        prepared.set_internal("_hashed_password", Value::String(hashing::hash(&password)?));
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
        db.check_user_keys(&body, Some(id))?;
        let mut prepared = db.prepare_update(access, USER, id, body)?;
        if let Some(password) = password {
            prepared.set_internal("_hashed_password", Value::String(hashing::hash(&password)?));
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
        let id = db.user_id_by("username", username)?.ok_or_else(invalid_login)?;
        let user = db.store().get(USER, &id).map_err(|e| DataError::new(1, e.to_string()))?.ok_or_else(invalid_login)?;
        if field(&user, "username") != Some(username) {
            return Err(invalid_login());
        }
        let hash = field(&user, "_hashed_password").ok_or_else(invalid_login)?;
        if hashing::verify(password, hash)? {
            Ok(user)
        } else {
            Err(invalid_login())
        }
    }

    /// Starts a session for `user_id`; answers the new session row (with its token). `extra`
    /// holds fields the client asked for (a `POST /sessions`); the server-owned ones below
    /// always overwrite whatever it carries.
    pub fn start_session(
        &self,
        db: &Database,
        user_id: &str,
        action: &str,
        installation_id: Option<&str>,
        extra: Map<String, Value>,
    ) -> Result<Map<String, Value>, DataError> {
        let token = ids::new_session_token();
        let expires = ids::iso_from_millis(ids::now_millis() + SESSION_LENGTH_MS);
        let mut body = extra;
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
    pub fn session(&self, db: &Database, token: &str) -> Result<Option<SessionAndUser>, DataError> {
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
            .is_some_and(|expires| expires <= ids::now_millis());
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
