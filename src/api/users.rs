//! Users and sessions: sign-up, log-in, `users/me`, log-out, `sessions/me`, and updates of
//! `_User` rows (passwords re-hashed, usernames kept unique).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{blocking, pipeline, Api, Ctx, Reply};
use crate::error::{ErrorCode, ParseError};

pub use crate::data::users::USER;

pub(super) fn session_missing() -> ParseError {
    ParseError::new(ErrorCode::INVALID_SESSION_TOKEN, "Invalid session token")
}

/// `POST /users`: creates the user and its first session → 201 `{objectId, createdAt, sessionToken}`.
pub async fn sign_up(api: &Arc<Api>, ctx: &Ctx, body: Map<String, Value>) -> Result<Reply, ParseError> {
    let prepared = {
        let api = api.clone();
        blocking(move || api.accounts.prepare_signup(&api.db, body).map_err(ParseError::from)).await?
    };
    let saved = pipeline::save(api, ctx, prepared).await?;
    let id = saved.object.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
    let session = {
        let (api, id, installation) = (api.clone(), id.clone(), ctx.installation_id.clone());
        blocking(move || {
            api.accounts.start_session(&api.db, &id, "signup", installation.as_deref(), Map::new()).map_err(ParseError::from)
        })
        .await?
    };
    let mut response = saved.response;
    response.insert("sessionToken".into(), session.get("sessionToken").cloned().unwrap_or(Value::Null));
    Ok(Reply::created(Value::Object(response).to_string(), format!("{}/users/{id}", api.config.mount)))
}

/// `GET|POST /login` with username and password → the user with a new session token.
pub async fn log_in(api: &Arc<Api>, ctx: &Ctx, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let text = |key: &str| match params.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Ok(String::new()),
        Some(_) => Err(ParseError::new(ErrorCode(107), format!("{key} must be a string"))),
    };
    let (username, password) = (text("username")?, text("password")?);
    let installation = ctx.installation_id.clone();
    let api = api.clone();
    blocking(move || {
        let user = api.accounts.log_in(&api.db, &username, &password)?;
        let id = user.get("objectId").and_then(Value::as_str).unwrap_or_default();
        let session = api.accounts.start_session(&api.db, id, "login", installation.as_deref(), Map::new())?;
        let mut user = api.db.visible(&user);
        user.insert("sessionToken".into(), session.get("sessionToken").cloned().unwrap_or(Value::Null));
        Ok(Reply::json(&Value::Object(user)))
    })
    .await
}

/// `GET /users/me`: the caller, with its session token.
pub fn me(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    if ctx.user.is_none() {
        return Err(session_missing());
    }
    Ok(Reply::json(&ctx.user_json(api)))
}

/// `POST /logout`: ends the caller's session.
pub async fn log_out(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    let Some(token) = ctx.session_token.clone() else {
        return Err(session_missing());
    };
    let api = api.clone();
    blocking(move || api.accounts.end_session(&api.db, &token).map_err(ParseError::from)).await?;
    Ok(Reply::ok("{}"))
}

/// `GET /sessions/me`: the caller's session row.
pub fn session_me(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    let token = ctx.session_token.as_deref().ok_or_else(session_missing)?;
    let (session, _) = api.accounts.session(&api.db, token)?.ok_or_else(session_missing)?;
    Ok(Reply::json(&Value::Object(api.db.visible(&session))))
}

/// `PUT /users/:id` (and `/classes/_User/:id`): only the user themself or the master key.
pub async fn update(api: &Arc<Api>, ctx: &Ctx, id: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    let access = ctx.access();
    if !access.master && access.user_id.as_deref() != Some(id) {
        return Err(ParseError::new(ErrorCode(206), "Cannot modify user ".to_string() + id + "."));
    }
    let prepared = {
        let (api, id) = (api.clone(), id.to_string());
        blocking(move || api.accounts.prepare_user_update(&api.db, &access, &id, body).map_err(ParseError::from)).await?
    };
    let saved = pipeline::save(api, ctx, prepared).await?;
    Ok(Reply::json(&Value::Object(saved.response)))
}
