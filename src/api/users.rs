//! Users and sessions: sign-up, log-in, `users/me`, log-out, `sessions/me`, and updates of
//! `_User` rows (passwords re-hashed, usernames kept unique).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, session_missing, Api, Ctx, Reply};
use super::email::{self, Kind};
use super::{auth_data, classes, pipeline};
use crate::data::{self, Access, SavedObject};
use crate::data::accounts::{Origin, SESSION};
use crate::error::{ErrorCode, ParseError};
use crate::runtime::TriggerKind;

pub use crate::data::accounts::USER;

/// `POST /users`: creates the user and its first session → 201 `{objectId, createdAt, sessionToken}`.
///
/// With `authData` naming an identity a user holds already, this is that user's log-in
/// instead (200, the user and a new session), as Parse Server answers it; with a new identity
/// it is a sign-up needing no username or password.
pub async fn sign_up(api: &Arc<Api>, ctx: &Ctx, mut body: Map<String, Value>) -> Result<Reply, ParseError> {
    let mut origin_provider = None;
    let mut new_links = None;
    if let Some(links) = auth_data::links_of(&body)? {
        if data::auth_data::links_any(&links) {
            let holder = auth_data::linked_user(api, &links)?;
            let holder_json = match &holder {
                Some(id) => Value::Object(stored_user(api, id)?),
                None => Value::Null,
            };
            let links = auth_data::validate(api, ctx, links, holder_json).await?;
            if let Some(id) = holder {
                return log_in_linked(api, ctx, &id, &links).await;
            }
            origin_provider = Some(auth_data::provider_names(&links));
            body.insert("authData".into(), Value::Object(data::auth_data::merged(None, &links)));
            new_links = Some(links);
        } else {
            body.remove("authData");
        }
    }
    refuse_client_email_verification(ctx, &body)?;
    let verifies = email::verifies(api, body.get("email"), body.get("authData"));
    if verifies {
        body.entry("emailVerified").or_insert(Value::Bool(false));
    }
    let (saved, token, generated_username) = match (create_user(api, ctx, body, verifies).await, &new_links) {
        // Another sign-up (on this node or another) stored a user with the new identity first,
        // seen by the sign-up's own check or by the store's insert: this one is that user's
        // log-in, as it would have been a moment later.
        (Err(error), Some(links)) if error.code == ErrorCode::ACCOUNT_ALREADY_LINKED => match auth_data::linked_user(api, links)? {
            Some(holder) => return log_in_linked(api, ctx, &holder, links).await,
            None => return Err(error),
        },
        (created, _) => created?,
    };
    let id = saved.object.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(token) = token {
        mail_verification(api, ctx, saved.object.clone(), token);
    }
    let mut response = saved.response;
    if let Some(username) = generated_username {
        response.insert("username".into(), Value::String(username));
    }
    let location = format!("{}/users/{id}", api.config.mount);
    // Parse Server's `preventLoginWithUnverifiedEmail`: the new user gets no session until the
    // e-mail is verified.
    if api.config.email.prevent_login_with_unverified_email && origin_provider.is_none() {
        return Ok(Reply::created(Value::Object(response).to_string(), location));
    }
    let session = {
        let (api, id, installation) = (api.clone(), id.clone(), ctx.installation_id.clone());
        blocking(move || {
            // Parse Server records an authData sign-up's session as a log-in by its providers.
            let origin = match &origin_provider {
                Some(providers) => Origin { action: "login", auth_provider: providers },
                None => Origin::password("signup"),
            };
            api.accounts.start_session(&api.db, &id, origin, installation.as_deref(), Map::new()).map_err(ParseError::from)
        })
        .await?
    };
    response.insert("sessionToken".into(), session.get("sessionToken").cloned().unwrap_or(Value::Null));
    Ok(Reply::created(Value::Object(response).to_string(), location))
}

/// Only the master key may set `emailVerified` (119, as Parse Server): a client marking its own
/// address verified would make verification meaningless.
fn refuse_client_email_verification(ctx: &Ctx, body: &Map<String, Value>) -> Result<(), ParseError> {
    if !ctx.access().master && body.contains_key("emailVerified") {
        return Err(ParseError::new(ErrorCode::OPERATION_FORBIDDEN, "Clients aren't allowed to manually update email verification."));
    }
    Ok(())
}

/// Mails a verification link once the write that armed it is stored. Fire and forget, as Parse
/// Server sends it: the sign-up or update has succeeded whatever the mail server does, and the
/// user can ask again through `/verificationEmailRequest`.
/// A sign-up's new user: checked (unique keys and identities), armed with a verification link
/// when `verifies`, and saved. Answers the saved user, the link's token and the username
/// generated for a user that gave none.
async fn create_user(
    api: &Arc<Api>,
    ctx: &Ctx,
    body: Map<String, Value>,
    verifies: bool,
) -> Result<(SavedObject, Option<String>, Option<String>), ParseError> {
    let mut signup = {
        let api = api.clone();
        blocking(move || api.accounts.prepare_signup(&api.db, body).map_err(ParseError::from)).await?
    };
    let token = verifies.then(|| email::arm_link(&mut signup.prepared, Kind::VerifyEmail));
    let saved = pipeline::save(api, ctx, signup.prepared).await?;
    Ok((saved, token, signup.generated_username))
}

fn mail_verification(api: &Arc<Api>, ctx: &Ctx, user: Map<String, Value>, token: String) {
    let (api, ctx) = (api.clone(), ctx.clone());
    tokio::spawn(async move {
        if let Err(error) = email::deliver(&api, &ctx, Kind::VerifyEmail, &user, &token).await {
            tracing::warn!("the verification e-mail was not sent: {}", error.message);
        }
    });
}

/// A `_User` row as stored, hidden fields removed (for an adapter's or a trigger's request).
fn stored_user(api: &Api, id: &str) -> Result<Map<String, Value>, ParseError> {
    let user = api.db.store().get(USER, id)?;
    let user = user.ok_or_else(|| ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "Object not found."))?;
    Ok(api.db.visible(&user))
}

/// The log-in of the user an authData identity belongs to: beforeLogin, then the authData the
/// adapters changed is stored (without triggers, as Parse Server writes it), then a session as
/// for a password.
async fn log_in_linked(api: &Arc<Api>, ctx: &Ctx, id: &str, links: &[data::auth_data::Link]) -> Result<Reply, ParseError> {
    let user = stored_user(api, id)?;
    pipeline::run_hook(api, ctx, USER, TriggerKind::BeforeLogin, Value::Object(user.clone())).await?;
    let merged = Value::Object(data::auth_data::merged(user.get("authData"), links));
    let user = if user.get("authData") != Some(&merged) {
        let (api, id) = (api.clone(), id.to_string());
        blocking(move || {
            let mut body = Map::new();
            body.insert("authData".into(), merged);
            let prepared = api.db.prepare_update(&Access::master(), USER, &id, body)?;
            Ok(api.db.commit(prepared)?.object)
        })
        .await?
    } else {
        user
    };
    let providers = auth_data::provider_names(links);
    open_session(api, ctx, user, Origin { action: "login", auth_provider: &providers }).await
}

/// Runs beforeLogin (which may refuse), then opens the session.
async fn finish_log_in(api: &Arc<Api>, ctx: &Ctx, user: Map<String, Value>, origin: Origin<'_>) -> Result<Reply, ParseError> {
    pipeline::run_hook(api, ctx, USER, TriggerKind::BeforeLogin, Value::Object(api.db.visible(&user))).await?;
    open_session(api, ctx, user, origin).await
}

/// Starts the session of a log-in beforeLogin allowed, runs afterLogin; answers the user with
/// its new token.
async fn open_session(api: &Arc<Api>, ctx: &Ctx, user: Map<String, Value>, origin: Origin<'_>) -> Result<Reply, ParseError> {
    let id = user.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
    let (action, provider) = (origin.action.to_string(), origin.auth_provider.to_string());
    let session = {
        let (api, id, installation) = (api.clone(), id.clone(), ctx.installation_id.clone());
        blocking(move || {
            let origin = Origin { action: &action, auth_provider: &provider };
            api.accounts.start_session(&api.db, &id, origin, installation.as_deref(), Map::new()).map_err(ParseError::from)
        })
        .await?
    };
    let mut user = api.db.visible(&user);
    user.insert("sessionToken".into(), session.get("sessionToken").cloned().unwrap_or(Value::Null));
    if let Err(error) = pipeline::run_hook(api, ctx, USER, TriggerKind::AfterLogin, Value::Object(user.clone())).await {
        tracing::warn!("afterLogin failed: {}", error.message);
    }
    Ok(Reply::json(&Value::Object(user)))
}

/// Reads `username`, `email` and `password` of a log-in or a password check; a value that
/// is not a string is 101, as Parse Server answers it.
fn credentials(params: &Map<String, Value>) -> Result<(String, String, String), ParseError> {
    let text = |key: &str| match params.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Ok(String::new()),
        Some(_) => Err(ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "Invalid username/password.")),
    };
    Ok((text("username")?, text("email")?, text("password")?))
}

/// The user a log-in's credentials name, password checked (off the async threads: Argon2).
async fn authenticate(api: &Arc<Api>, params: &Map<String, Value>) -> Result<Map<String, Value>, ParseError> {
    let (username, email, password) = credentials(params)?;
    let api = api.clone();
    blocking(move || Ok((*api.accounts.log_in(&api.db, &username, &email, &password)?).clone())).await
}

/// `GET|POST /login` with username (or email) and password → the user with a new session token.
///
/// With `--prevent-login-with-unverified-email`, a user whose `emailVerified` is not true is
/// refused (205), as Parse Server refuses it.
pub async fn log_in(api: &Arc<Api>, ctx: &Ctx, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let user = authenticate(api, &params).await?;
    if api.config.email.prevent_login_with_unverified_email && user.get("emailVerified") != Some(&Value::Bool(true)) {
        return Err(ParseError::new(ErrorCode::EMAIL_NOT_FOUND, "User email is not verified."));
    }
    finish_log_in(api, ctx, user, Origin::password("login")).await
}

/// `GET|POST /verifyPassword`: the user the credentials name, without starting a session.
pub async fn verify_password(api: &Arc<Api>, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let user = authenticate(api, &params).await?;
    Ok(Reply::json(&Value::Object(api.db.visible(&user))))
}

/// `POST /loginAs` (master key): a new session for `userId`, for systems that act on a
/// user's behalf; no log-in triggers, as Parse Server.
pub async fn log_in_as(api: &Arc<Api>, ctx: &Ctx, params: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(ParseError::new(ErrorCode::OPERATION_FORBIDDEN, "master key is required").with_status(403));
    }
    let user_id = match params.get("userId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(ParseError::new(ErrorCode::INVALID_VALUE, "userId must not be empty, null, or undefined")),
    };
    let user = match api.db.store().get(USER, &user_id) {
        Ok(Some(user)) => user,
        Ok(None) => return Err(ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "user not found")),
        Err(error) => return Err(ParseError::new(ErrorCode::INTERNAL_SERVER_ERROR, error.to_string())),
    };
    let installation = ctx.installation_id.clone();
    let api = api.clone();
    blocking(move || {
        let origin = Origin { action: "login", auth_provider: "masterkey" };
        let session = api.accounts.start_session(&api.db, &user_id, origin, installation.as_deref(), Map::new())?;
        let mut user = api.db.visible(&user);
        user.insert("sessionToken".into(), session.get("sessionToken").cloned().unwrap_or(Value::Null));
        Ok(Reply::json(&Value::Object(user)))
    })
    .await
}

/// `POST /upgradeToRevocableSession`: a new revocable session for the caller. Every token
/// cloudrt issues is revocable already; the route serves SDKs that still ask.
pub async fn upgrade_to_revocable_session(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    let user_id = ctx.access().user_id.ok_or_else(|| ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "invalid session"))?;
    let installation = ctx.installation_id.clone();
    let api = api.clone();
    blocking(move || {
        let session = api.accounts.start_session(&api.db, &user_id, Origin::password("upgrade"), installation.as_deref(), Map::new())?;
        Ok(Reply::json(&Value::Object(api.db.visible(&session))))
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
    let session = ctx.session_token.as_deref().and_then(|t| api.accounts.session(&api.db, t).ok().flatten()).map(|(s, _)| s);
    let api2 = api.clone();
    blocking(move || api2.accounts.end_session(&api2.db, &token).map_err(ParseError::from)).await?;
    if let Some(session) = session {
        if let Err(error) = pipeline::run_hook(api, ctx, SESSION, TriggerKind::AfterLogout, Value::Object(api.db.visible(&session))).await {
            tracing::warn!("afterLogout failed: {}", error.message);
        }
    }
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
        return Err(ParseError::new(ErrorCode::SESSION_MISSING, "Cannot modify user ".to_string() + id + "."));
    }
    let mut body = body;
    let links = auth_data::links_of(&body)?;
    let linking = links.is_some();
    if let Some(links) = links {
        auth_data::check_not_linked_elsewhere(api, id, &links)?;
        let user = stored_user(api, id)?;
        let links = auth_data::validate(api, ctx, links, Value::Object(user.clone())).await?;
        let merged = data::auth_data::merged(user.get("authData"), &links);
        let stored = if merged.is_empty() { json!({"__op": "Delete"}) } else { Value::Object(merged) };
        body.insert("authData".into(), stored);
    }
    // A user may change their own ACL, never so far as to lock themself out (Parse.com's rule).
    if let (false, Some(Value::Object(acl))) = (access.master, body.get_mut("ACL")) {
        acl.insert(id.to_string(), json!({"read": true, "write": true}));
    }
    refuse_client_email_verification(ctx, &body)?;
    // A new address must be verified anew; re-sending the stored one changes nothing.
    let verifies = api.config.email.verify_user_emails && body.contains_key("email") && {
        let stored = api.db.store().get(USER, id)?;
        let stored = stored.as_deref();
        stored.and_then(|u| u.get("email")) != body.get("email")
            && email::verifies(api, body.get("email"), body.get("authData").or_else(|| stored.and_then(|u| u.get("authData"))))
    };
    if verifies {
        body.entry("emailVerified").or_insert(Value::Bool(false));
    }
    let mut prepared = {
        let (api, id) = (api.clone(), id.to_string());
        blocking(move || api.accounts.prepare_user_update(&api.db, &access, &id, body).map_err(ParseError::from)).await?
    };
    let token = verifies.then(|| email::arm_link(&mut prepared, Kind::VerifyEmail));
    let mut saved = pipeline::save(api, ctx, prepared).await?;
    if let Some(token) = token {
        mail_verification(api, ctx, saved.object.clone(), token);
    }
    if linking {
        // The merge with the stored links is ours, not news to the client, which keeps the
        // authData it sent (the SDK drops the providers it nulled); echoing `Delete` here made
        // an anonymous user's sign-up lose its authData, as Parse Server never does.
        saved.response.remove("authData");
    }
    Ok(Reply::json(&Value::Object(saved.response)))
}

/// `DELETE /users/:id`: only the user themself or the master key (206 otherwise, as Parse
/// Server); the user's sessions end with it.
pub async fn delete(api: &Arc<Api>, ctx: &Ctx, id: &str) -> Result<Reply, ParseError> {
    let access = ctx.access();
    if !access.master {
        match access.user_id.as_deref() {
            None => return Err(ParseError::new(ErrorCode::SESSION_MISSING, "Insufficient auth to delete user")),
            Some(own) if own != id => return Err(ParseError::new(ErrorCode::SESSION_MISSING, "Insufficient auth.")),
            Some(_) => {}
        }
    }
    let reply = classes::delete(api, ctx, USER, id).await?;
    let (api, id) = (api.clone(), id.to_string());
    blocking(move || api.accounts.end_user_sessions(&api.db, &id, None).map_err(ParseError::from)).await?;
    Ok(reply)
}
