//! Users and sessions: password hashing, sign-up checks, log-in, and session tokens.
//!
//! Passwords are hashed with Argon2id (see [`super::password`]); only the hash is stored, in
//! `_User._hashed_password`, which no read ever returns. Usernames and emails are unique
//! through the database's user keys, checked again atomically with the write.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::database::{Access, Database, FindOptions, PreparedSave, SystemClass, SystemWrite};
use super::ids;
use super::password as hashing;
use super::DataError;
use crate::store::LookupField;

pub const USER: &str = "_User";

/// A live session row and the `_User` row it stands for.
pub type SessionAndUser = (Arc<Map<String, Value>>, Arc<Map<String, Value>>);

pub const SESSION: &str = SystemClass::Session.name();

/// Length of the username a sign-up by authData alone is given (Parse Server's).
const GENERATED_USERNAME_LEN: usize = 25;

/// A checked sign-up: the row to save, and the username the server drew for it, if it did.
pub struct Signup {
    pub prepared: PreparedSave,
    pub generated_username: Option<String>,
}

/// How a session came to be, as its `createdWith` records: `signup`, `login`, `create` or
/// `upgrade`, by `password` or by the authData providers named.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub action: &'a str,
    pub auth_provider: &'a str,
}

impl Origin<'static> {
    pub fn password(action: &'static str) -> Origin<'static> {
        Origin { action, auth_provider: "password" }
    }
}

/// Sessions last a year, as Parse Server's default `sessionLength`.
const SESSION_LENGTH_MS: i64 = 365 * 24 * 3600 * 1000;

/// Sessions are found by token through this store lookup, so resolving a token reads a key,
/// not `_Session`, and needs no memory per session.
pub const SESSION_TOKEN: LookupField = LookupField { field: "sessionToken", case_insensitive: false };

/// Log-in, sign-up checks and sessions.
#[derive(Default)]
pub struct Accounts;

/// An e-mail as Parse Server accepts one (`/^.+@.+$/`): something on each side of an `@`, on
/// one line. A line break would let the address add headers to the messages mailed to it.
fn check_email(email: Option<&Value>) -> Result<(), DataError> {
    let one_line = |part: &str| !part.is_empty() && !part.contains(['\n', '\r', '\u{2028}', '\u{2029}']);
    match email {
        None => Ok(()),
        Some(Value::String(email)) if email.rsplit_once('@').is_some_and(|(name, domain)| one_line(name) && one_line(domain)) => Ok(()),
        Some(_) => Err(DataError::InvalidEmailAddress),
    }
}

fn is_delete_op(value: Option<&Value>) -> bool {
    value.and_then(|v| v.get("__op")).and_then(Value::as_str) == Some("Delete")
}

fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

impl Accounts {
    /// Checks a sign-up and prepares the new `_User` row: password hashed, the user's own
    /// read and write added to the ACL the client sent (Parse Server merges it in, so no user
    /// can lock themself out), id assigned up front so the ACL can name it.
    ///
    /// A sign-up that links an identity (`authData`, already validated and merged by the
    /// caller) needs neither username nor password: the username is drawn at random (25
    /// characters, as Parse Server) and reported in the answer.
    pub fn prepare_signup(&self, db: &Database, mut body: Map<String, Value>) -> Result<Signup, DataError> {
        let by_auth_data = body.get("authData").and_then(Value::as_object).is_some_and(|links| !links.is_empty());
        let username_missing = body.get("username").and_then(Value::as_str).is_none_or(str::is_empty);
        if username_missing && !by_auth_data {
            return Err(DataError::UsernameMissing);
        }
        let password = match body.remove("password") {
            Some(Value::String(p)) if !p.is_empty() => Some(p),
            None | Some(Value::Null) if by_auth_data => None,
            _ => return Err(DataError::PasswordMissing),
        };
        check_email(body.get("email"))?;
        let generated_username = username_missing.then(|| ids::random_string(GENERATED_USERNAME_LEN));
        if let Some(username) = &generated_username {
            body.insert("username".into(), Value::String(username.clone()));
        }
        db.check_user_keys(&body, None)?;
        let id = ids::new_object_id();
        let mut acl = match body.remove("ACL") {
            Some(Value::Object(acl)) => acl,
            Some(Value::Null) | None => Map::new(),
            Some(_) => return Err(DataError::InvalidUserAcl),
        };
        acl.insert(id.clone(), json!({"read": true, "write": true}));
        body.insert("ACL".into(), Value::Object(acl));
        let mut prepared = db.prepare_create(&Access::master(), USER, body)?;
        prepared.assign_id(id);
        if let Some(password) = password {
            prepared.set_internal("_hashed_password", Value::String(hashing::hash(&password)?));
        }
        Ok(Signup { prepared, generated_username })
    }

    /// Prepares an update of a `_User` row: a new password is hashed, a new username or
    /// email must be free.
    pub fn prepare_user_update(&self, db: &Database, access: &Access, id: &str, mut body: Map<String, Value>) -> Result<PreparedSave, DataError> {
        let password = match body.remove("password") {
            None => None,
            Some(Value::String(p)) if !p.is_empty() => Some(p),
            Some(_) => return Err(DataError::InvalidPassword),
        };
        if !matches!(body.get("email"), None | Some(Value::Null)) && !is_delete_op(body.get("email")) {
            check_email(body.get("email"))?;
        }
        db.check_user_keys(&body, Some(id))?;
        // A reset link mailed before a change of password or email must not work after it.
        let spends_reset_link = password.is_some() || body.contains_key("email");
        let mut prepared = db.prepare_update(access, USER, id, body)?;
        if spends_reset_link {
            prepared.set_internal("_perishable_token", Value::Null);
            prepared.set_internal("_perishable_token_expires_at", Value::Null);
        }
        if let Some(password) = password {
            prepared.set_internal("_hashed_password", Value::String(hashing::hash(&password)?));
        }
        Ok(prepared)
    }

    /// The user a username (or email) and password identify. `username` may hold an email,
    /// as Parse Server's log-in looks it up in both; given both, both must match.
    pub fn log_in(&self, db: &Database, username: &str, email: &str, password: &str) -> Result<Arc<Map<String, Value>>, DataError> {
        if username.is_empty() && email.is_empty() {
            return Err(DataError::LoginNameMissing);
        }
        if password.is_empty() {
            return Err(DataError::LoginPasswordMissing);
        }
        let id = match (username.is_empty(), email.is_empty()) {
            (false, _) => match db.user_id_by("username", username)? {
                Some(id) => Some(id),
                None if email.is_empty() => db.user_id_by("email", username)?,
                None => None,
            },
            (true, _) => db.user_id_by("email", email)?,
        };
        let Some(id) = id else {
            // Hash anyway, so a missing user takes as long to refuse as a wrong password.
            let _ = hashing::hash(password);
            return Err(DataError::InvalidLogin);
        };
        let user = db.store().get(USER, &id)?.ok_or(DataError::InvalidLogin)?;
        let named = |key: &str, value: &str| field(&user, key).is_some_and(|v| v.eq_ignore_ascii_case(value) && (key == "email" || v == value));
        let matches = match (username.is_empty(), email.is_empty()) {
            (false, false) => named("username", username) && named("email", email),
            (false, true) => named("username", username) || named("email", username),
            (true, _) => named("email", email),
        };
        if !matches {
            return Err(DataError::InvalidLogin);
        }
        let hash = field(&user, "_hashed_password").ok_or(DataError::InvalidLogin)?;
        if hashing::verify(password, hash)? {
            Ok(user)
        } else {
            Err(DataError::InvalidLogin)
        }
    }

    /// Starts a session for `user_id`; answers the new session row (with its token). `extra`
    /// holds fields the client asked for (a `POST /sessions`); the server-owned ones below
    /// always overwrite whatever it carries.
    ///
    /// A session started from an installation replaces that user's earlier sessions from the
    /// same installation (Parse Server's `destroyDuplicatedSessions`): a device logging in
    /// again must not leave its old token live beside the new one.
    pub fn start_session(
        &self,
        db: &Database,
        user_id: &str,
        origin: Origin<'_>,
        installation_id: Option<&str>,
        extra: Map<String, Value>,
    ) -> Result<Map<String, Value>, DataError> {
        let token = ids::new_session_token();
        let expires = ids::iso_from_millis(ids::now_millis() + SESSION_LENGTH_MS);
        let mut body = extra;
        body.insert("sessionToken".into(), Value::String(token.clone()));
        body.insert("user".into(), json!({"__type": "Pointer", "className": USER, "objectId": user_id}));
        body.insert("createdWith".into(), json!({"action": origin.action, "authProvider": origin.auth_provider}));
        body.insert("expiresAt".into(), json!({"__type": "Date", "iso": expires}));
        body.insert("ACL".into(), json!({ user_id: {"read": true, "write": true} }));
        if let Some(installation_id) = installation_id {
            body.insert("installationId".into(), Value::String(installation_id.to_string()));
        }
        let saved = db.write_system(SystemClass::Session, SystemWrite::Create { id: None, fields: body })?;
        let session = saved.map(|saved| saved.object).unwrap_or_default();
        if let Some(installation_id) = installation_id {
            self.end_installation_sessions(db, user_id, installation_id, &token)?;
        }
        Ok(session)
    }

    /// Ends every session of `user_id` from `installation_id` but the one holding `keep`.
    fn end_installation_sessions(&self, db: &Database, user_id: &str, installation_id: &str, keep: &str) -> Result<(), DataError> {
        self.end_sessions_where(
            db,
            json!({
                "user": {"__type": "Pointer", "className": USER, "objectId": user_id},
                "installationId": installation_id,
                "sessionToken": {"$ne": keep},
            }),
        )
    }

    /// Ends every session of `user_id`, but the one holding `keep` if given (a password
    /// change or reset revokes the others, as Parse Server's `revokeSessionOnPasswordReset`).
    pub fn end_user_sessions(&self, db: &Database, user_id: &str, keep: Option<&str>) -> Result<(), DataError> {
        let mut where_ = json!({"user": {"__type": "Pointer", "className": USER, "objectId": user_id}});
        if let Some(keep) = keep {
            where_["sessionToken"] = json!({"$ne": keep});
        }
        self.end_sessions_where(db, where_)
    }

    /// Ends the sessions `where_` matches, a page at a time until none is left.
    fn end_sessions_where(&self, db: &Database, where_: Value) -> Result<(), DataError> {
        let options = FindOptions { where_, ..FindOptions::default() };
        loop {
            let (sessions, _) = db.find(&Access::master(), SESSION, &options)?;
            if sessions.is_empty() {
                return Ok(());
            }
            for session in sessions {
                let Some(id) = field(&session, "objectId") else { continue };
                match db.write_system(SystemClass::Session, SystemWrite::Delete { id: id.to_string() }) {
                    Ok(_) => {}
                    // Ended by someone else meanwhile: what was asked for.
                    Err(DataError::ObjectNotFound) => {}
                    Err(error) => return Err(error),
                }
            }
        }
    }

    /// The session and user a token stands for, if the session exists and has not expired.
    pub fn session(&self, db: &Database, token: &str) -> Result<Option<SessionAndUser>, DataError> {
        let ids = db.store().lookup(SESSION, SESSION_TOKEN, token)?;
        let Some(session_id) = ids.into_iter().next() else { return Ok(None) };
        let Some(session) = db.store().get(SESSION, &session_id)? else { return Ok(None) };
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
        let Some(user) = user_id.map(|id| db.store().get(USER, id)).transpose()?.flatten() else {
            return Ok(None);
        };
        Ok(Some((session, user)))
    }

    /// Ends the session a token stands for.
    pub fn end_session(&self, db: &Database, token: &str) -> Result<(), DataError> {
        if let Some((session, _)) = self.session(db, token)? {
            if let Some(id) = field(&session, "objectId") {
                db.write_system(SystemClass::Session, SystemWrite::Delete { id: id.to_string() })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_something_at_something_on_one_line() {
        for good in ["a@b", "first.last@example.com", "a@b@c"] {
            assert!(check_email(Some(&json!(good))).is_ok(), "{good}");
        }
        for bad in [json!("@b"), json!("a@"), json!("ab"), json!("a@b\r\nBcc: c@d"), json!("a\n@b"), json!("a@b\u{2028}"), json!(5), json!(null)] {
            assert_eq!(check_email(Some(&bad)).unwrap_err().code(), 125, "{bad}");
        }
        assert!(check_email(None).is_ok());
    }
}
