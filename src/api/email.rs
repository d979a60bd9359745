//! Password-reset and e-mail verification: `POST /requestPasswordReset`,
//! `POST /verificationEmailRequest`, and what their links do when followed
//! (`{mount}/apps/:appId/request_password_reset`, `{mount}/apps/:appId/verify_email`).
//!
//! Messages are delivered by the app's own mailer: each is POSTed as JSON to `--email-webhook`
//! (Parse Server's `emailAdapter`, which this machine could not reach over SMTP anyway).
//! A link's token is single-use, expires, and is checked in constant time against the token
//! stored on the user the link names, so following a link is a lookup by username, not a scan.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, Api, Ctx, Reply};
use crate::auth::constant_time_eq;
use crate::data::{ids, Access, PreparedSave};
use crate::error::{ErrorCode, ParseError};
use crate::mail::{self, Email};

pub use crate::data::accounts::USER;

/// How long a reset or verification link stays valid.
const TOKEN_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// Length of a link's token.
const TOKEN_LEN: usize = 32;

/// The two kinds of message, with the `_User` fields holding their token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PasswordReset,
    VerifyEmail,
}

impl Kind {
    fn token_field(self) -> &'static str {
        match self {
            Kind::PasswordReset => "_perishable_token",
            Kind::VerifyEmail => "_email_verify_token",
        }
    }

    fn expiry_field(self) -> &'static str {
        match self {
            Kind::PasswordReset => "_perishable_token_expires_at",
            Kind::VerifyEmail => "_email_verify_token_expires_at",
        }
    }

    /// The landing route below `{mount}/apps/:appId/`, as Parse Server names it.
    pub fn page(self) -> &'static str {
        match self {
            Kind::PasswordReset => "request_password_reset",
            Kind::VerifyEmail => "verify_email",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::PasswordReset => "passwordReset",
            Kind::VerifyEmail => "verifyEmail",
        }
    }
}

fn no_mailer() -> ParseError {
    ParseError::new(
        ErrorCode::INTERNAL_SERVER_ERROR,
        "An emailAdapter is required for password reset and email verification functionality: start the server with --email-webhook or --smtp-url.",
    )
}

fn invalid_link() -> ParseError {
    ParseError::new(ErrorCode::OTHER_CAUSE, "Invalid or expired link.")
}

/// The `email` of a request: 204 when missing, 125 when not a string, as Parse Server.
fn email_of(params: &Map<String, Value>) -> Result<String, ParseError> {
    match params.get("email") {
        None | Some(Value::Null) => Err(ParseError::new(ErrorCode::EMAIL_MISSING, "you must provide an email")),
        Some(Value::String(email)) if email.is_empty() => Err(ParseError::new(ErrorCode::EMAIL_MISSING, "you must provide an email")),
        Some(Value::String(email)) => Ok(email.clone()),
        Some(_) => Err(ParseError::new(ErrorCode::INVALID_EMAIL_ADDRESS, "you must provide a valid email string")),
    }
}

/// Where links point: `--public-server-url`, else the request's own host and the mount.
fn public_url(api: &Api, ctx: &Ctx) -> String {
    match &api.config.files.public_server_url {
        Some(url) => url.clone(),
        None => {
            let host = ctx.headers.get("host").and_then(Value::as_str).unwrap_or("localhost");
            format!("http://{host}{}", api.config.mount)
        }
    }
}

/// `POST /requestPasswordReset {email}`: e-mails a reset link to the user with that email.
/// An unknown email is answered as a known one (Parse Server's default), so the route does not
/// tell who has an account.
pub async fn request_password_reset(api: &Arc<Api>, ctx: &Ctx, params: Map<String, Value>) -> Result<Reply, ParseError> {
    send(api, ctx, params, Kind::PasswordReset).await
}

/// `POST /verificationEmailRequest {email}`: e-mails a verification link, unless the email
/// is verified already (answered alike, as Parse Server's default).
pub async fn request_verification_email(api: &Arc<Api>, ctx: &Ctx, params: Map<String, Value>) -> Result<Reply, ParseError> {
    send(api, ctx, params, Kind::VerifyEmail).await
}

async fn send(api: &Arc<Api>, ctx: &Ctx, params: Map<String, Value>, kind: Kind) -> Result<Reply, ParseError> {
    if api.config.email.mailer.is_none() {
        return Err(no_mailer());
    }
    let email = email_of(&params)?;
    let Some(user_id) = api.db.user_id_by("email", &email)? else { return Ok(Reply::ok("{}")) };
    let Some(user) = api.db.store().get(USER, &user_id)? else {
        return Ok(Reply::ok("{}"));
    };
    if kind == Kind::VerifyEmail && user.get("emailVerified") == Some(&Value::Bool(true)) {
        return Ok(Reply::ok("{}"));
    }
    let token = {
        let (api, user_id) = (api.clone(), user_id.clone());
        blocking(move || {
            let mut prepared = api.db.prepare_update(&Access::master(), USER, &user_id, Map::new())?;
            let token = arm_link(&mut prepared, kind);
            api.db.commit(prepared)?;
            Ok(token)
        })
        .await?
    };
    deliver(api, ctx, kind, &user, &token).await?;
    Ok(Reply::ok("{}"))
}

/// Stores a new link token of `kind` (and its expiry) with the save; answers the token.
pub fn arm_link(prepared: &mut PreparedSave, kind: Kind) -> String {
    let token = ids::random_string(TOKEN_LEN);
    let expires = ids::iso_from_millis(ids::now_millis() + TOKEN_LIFETIME_MS);
    prepared.set_internal(kind.token_field(), Value::String(token.clone()));
    prepared.set_internal(kind.expiry_field(), json!({"__type": "Date", "iso": expires}));
    token
}

/// Mails `user` the link of `kind` holding `token`.
pub async fn deliver(api: &Api, ctx: &Ctx, kind: Kind, user: &Map<String, Value>, token: &str) -> Result<(), ParseError> {
    let mailer = api.config.email.mailer.as_ref().ok_or_else(no_mailer)?;
    let username = user.get("username").and_then(Value::as_str).unwrap_or_default().to_string();
    let to = user.get("email").and_then(Value::as_str).unwrap_or_default().to_string();
    let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("token", token).append_pair("username", &username).finish();
    let link = format!("{}/apps/{}/{}?{query}", public_url(api, ctx), api.config.keys.app_id, kind.page());
    let app = &api.config.email.app_name;
    let (subject, text) = match kind {
        Kind::PasswordReset => (
            format!("Password Reset for {app}"),
            format!("Hi,\n\nYou requested to reset your password for {app} (account: {username}).\n\nClick here to reset it:\n{link}"),
        ),
        Kind::VerifyEmail => (
            format!("Please verify your e-mail for {app}"),
            format!("Hi,\n\nYou are being asked to confirm the e-mail address {to} with {app}.\n\nClick here to confirm it:\n{link}"),
        ),
    };
    let email = Email { kind: kind.name(), to, subject, text, link, username, app_name: app.clone() };
    Ok(mail::send(mailer, &api.webhooks, &email).await?)
}

/// With `--verify-user-emails`, whether a write setting `email` on a user (whose authData is
/// `auth_data`) starts a verification, as Parse Server decides: a user signed in through a real
/// identity provider has that provider's word for the address, an anonymous one does not.
pub fn verifies(api: &Api, email: Option<&Value>, auth_data: Option<&Value>) -> bool {
    let by_provider = auth_data.and_then(Value::as_object).is_some_and(|links| links.keys().any(|p| p != "anonymous"));
    api.config.email.verify_user_emails && email.is_some_and(Value::is_string) && !by_provider
}

/// The user a link names, if its token is theirs, of `kind`, and unexpired.
fn user_of_link(api: &Api, kind: Kind, username: &str, token: &str) -> Result<Arc<Map<String, Value>>, ParseError> {
    let id = api.db.user_id_by("username", username)?.ok_or_else(invalid_link)?;
    let user = api.db.store().get(USER, &id)?.ok_or_else(invalid_link)?;
    let stored = user.get(kind.token_field()).and_then(Value::as_str).unwrap_or_default();
    let matches = !stored.is_empty() && constant_time_eq(stored, token);
    let now = ids::now_millis();
    let expired = user
        .get(kind.expiry_field())
        .and_then(|e| e.get("iso"))
        .and_then(Value::as_str)
        .and_then(ids::millis_from_iso)
        .is_none_or(|expires| expires <= now);
    if !matches || expired {
        return Err(invalid_link());
    }
    Ok(user)
}

/// A verification link followed: the user's `emailVerified` becomes true, the token is spent.
pub async fn verify_email(api: &Arc<Api>, username: String, token: String) -> Result<(), ParseError> {
    let api = api.clone();
    blocking(move || {
        let user = user_of_link(&api, Kind::VerifyEmail, &username, &token)?;
        let id = user.get("objectId").and_then(Value::as_str).unwrap_or_default();
        let mut body = Map::new();
        body.insert("emailVerified".into(), Value::Bool(true));
        let mut prepared = api.db.prepare_update(&Access::master(), USER, id, body)?;
        prepared.set_internal(Kind::VerifyEmail.token_field(), Value::Null);
        prepared.set_internal(Kind::VerifyEmail.expiry_field(), Value::Null);
        api.db.commit(prepared)?;
        Ok(())
    })
    .await
}

/// Whether a reset link is live (the form is shown only for one that is).
pub fn check_reset_link(api: &Api, username: &str, token: &str) -> Result<(), ParseError> {
    user_of_link(api, Kind::PasswordReset, username, token).map(|_| ())
}

/// A reset link's form sent: the new password is stored, the token spent, and every session
/// of the user ended (Parse Server's `revokeSessionOnPasswordReset`).
pub async fn reset_password(api: &Arc<Api>, username: String, token: String, new_password: String) -> Result<(), ParseError> {
    if new_password.is_empty() {
        return Err(ParseError::new(ErrorCode::PASSWORD_MISSING, "password is required"));
    }
    let api = api.clone();
    blocking(move || {
        let user = user_of_link(&api, Kind::PasswordReset, &username, &token)?;
        let id = user.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut body = Map::new();
        body.insert("password".into(), Value::String(new_password));
        let mut prepared = api.accounts.prepare_user_update(&api.db, &Access::master(), &id, body)?;
        prepared.set_internal(Kind::PasswordReset.token_field(), Value::Null);
        prepared.set_internal(Kind::PasswordReset.expiry_field(), Value::Null);
        api.db.commit(prepared)?;
        api.accounts.end_user_sessions(&api.db, &id, None)?;
        Ok(())
    })
    .await
}
