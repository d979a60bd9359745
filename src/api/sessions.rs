//! Writes of `_Session` rows (`/sessions`, `/classes/_Session`). A session's user, token,
//! origin and expiry are what a session token means, so only the server sets them: a client
//! that could point its own session at another user would act as that user. Without the master
//! key, a create starts a fresh session for the caller (Parse Server's `POST /sessions`), and an
//! update may change only the app's own fields.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::{blocking, Api, Ctx, Reply};
use super::classes;
use crate::data::accounts::{Origin, SESSION};
use crate::data::schema;
use crate::error::{ErrorCode, ParseError};

/// Fields of a session the server owns. `installationId` is one too: Parse Server takes it
/// from the request's `X-Parse-Installation-Id`, never from the body.
const SERVER_OWNED: &[&str] = &["user", "sessionToken", "createdWith", "expiresAt", "restricted", "installationId", "ACL", "authProvider"];

fn session_required() -> ParseError {
    ParseError::new(ErrorCode::INVALID_SESSION_TOKEN, "Session token required.")
}

/// Refuses a client body that names a server-owned field (105, as Parse Server).
fn check_client_body(body: &Map<String, Value>) -> Result<(), ParseError> {
    match SERVER_OWNED.iter().find(|field| body.contains_key(**field)) {
        Some(field) => Err(ParseError::new(ErrorCode::INVALID_KEY_NAME, format!("Cannot set {field} on a Session."))),
        None => Ok(()),
    }
}

/// `POST /sessions`: with the master key, a row as given; otherwise a new session of the
/// caller, with the body's own fields added.
pub async fn create(api: &Arc<Api>, ctx: &Ctx, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if ctx.master {
        return classes::create(api, ctx, SESSION, body).await;
    }
    let user_id = ctx.access().user_id.ok_or_else(session_required)?;
    check_client_body(&body)?;
    let mut extra = body;
    extra.retain(|key, _| !schema::is_server_kept(key));
    let (api2, installation) = (api.clone(), ctx.installation_id.clone());
    let session = blocking(move || {
        api2.accounts.start_session(&api2.db, &user_id, Origin::password("create"), installation.as_deref(), extra).map_err(ParseError::from)
    })
    .await?;
    let id = session.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
    let answer = Value::Object(api.db.visible(&session)).to_string();
    Ok(Reply::created(answer, format!("{}/sessions/{id}", api.config.mount)))
}

/// `PUT /sessions/:id`: with the master key, any change; otherwise none to a server-owned field.
pub async fn update(api: &Arc<Api>, ctx: &Ctx, id: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        if ctx.user.is_none() {
            return Err(session_required());
        }
        check_client_body(&body)?;
    }
    classes::update(api, ctx, SESSION, id, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_owned_fields_are_refused_and_others_pass() {
        for field in SERVER_OWNED {
            let mut body = Map::new();
            body.insert((*field).to_string(), Value::Null);
            assert_eq!(check_client_body(&body).unwrap_err().code, ErrorCode::INVALID_KEY_NAME);
        }
        let mut body = Map::new();
        body.insert("deviceName".into(), Value::String("phone".into()));
        assert!(check_client_body(&body).is_ok());
    }
}
