//! The Parse REST API as operations, independent of hyper: one route table shared by HTTP
//! clients and by cloud code (`Parse.Object#save` reaches it through the runtime's host op),
//! so both take the same path through triggers, ACLs and schemas.

mod aggregate;
mod auth_data;
mod batch;
mod classes;
mod config;
pub mod email;
mod file_triggers;
pub mod files;
mod find_triggers;
mod functions;
pub mod hooks;
mod host;
pub mod idempotency;
pub mod installations;
pub mod jobs;
mod logs;
mod pipeline;
mod query_rules;
pub mod releases;
pub mod reload;
mod schemas;
pub mod schedules;
mod server_info;
mod sessions;
mod system;
mod users;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::config::ServeConfig;
use crate::data::roles::ROLE;
use crate::data::users::Accounts;
use crate::data::{Access, Database};
use crate::error::{ErrorCode, ParseError};
use crate::hooks::client::WebhookClient;
use crate::registry::Registry;
use crate::script_log::ScriptLog;
use crate::store::files::FileStore;
use crate::runtime::{Invoker, Pool, Releases};

pub use host::ApiHost;
use hooks::Hook;

/// The server's shared state.
pub struct Api {
    pub config: ServeConfig,
    pub db: Database,
    pub files: FileStore,
    pub accounts: Accounts,
    pub pool: Pool,
    pub jobs: jobs::JobWorkers,
    pub registry: Registry,
    /// The cloud code serving now, and each reload as it happens.
    pub releases: Releases,
    pub webhooks: WebhookClient,
    /// Set by `--idempotency`.
    pub idempotency: Option<idempotency::Idempotency>,
    pub installations: installations::Installations,
    /// The files of the cloud code serving now, for the Cloud Code viewer.
    pub code_viewer: releases::CodeViewer,
    /// What cloud code printed and how its handlers failed (`GET /scriptlog`).
    pub script_log: Arc<ScriptLog>,
}

impl Api {
    /// The `_User` row a session token stands for; no token, no user; a bad token is 209.
    pub fn user_of(&self, token: Option<&str>) -> Result<Option<Arc<Map<String, Value>>>, ParseError> {
        let Some(token) = token else { return Ok(None) };
        let session = self.accounts.session(&self.db, token)?;
        Ok(Some(session.map(|(_, user)| user).ok_or_else(users::session_missing)?))
    }

    /// The names of every role `user` holds, for the ACL checks of one request.
    /// Refuses a repeated `X-Parse-Request-Id` (159) when `--idempotency` covers the route.
    pub fn check_idempotency(&self, method: &str, route: &str, request_id: Option<&str>) -> Result<(), ParseError> {
        match &self.idempotency {
            Some(idempotency) => idempotency.check(&**self.db.store(), method, route, request_id),
            None => Ok(()),
        }
    }

    pub fn roles_of(&self, user: Option<&Map<String, Value>>) -> Arc<[String]> {
        self.db.role_names(user.and_then(|u| u.get("objectId")).and_then(Value::as_str))
    }
}

/// Who is calling and from where, for one API request.
#[derive(Clone)]
pub struct Ctx {
    pub master: bool,
    /// The caller's `_User` row, when a valid session token came with the request.
    pub user: Option<Arc<Map<String, Value>>>,
    /// Every role the user holds ([`Api::roles_of`]), resolved once per request.
    pub roles: Arc<[String]>,
    pub session_token: Option<String>,
    pub installation_id: Option<String>,
    /// Request headers (lower-case names), as cloud code sees them.
    pub headers: Value,
    pub ip: String,
    /// `X-Parse-Cloud-Context` / `_context`: passed to triggers and functions.
    pub context: Value,
    /// Where cloud code for this request runs: the pool, or the worker that made it.
    pub invoker: Invoker,
    /// Set for the sub-requests of a `/batch`: their writes are not synced one by one, the
    /// batch's answer waits for one sync covering them all.
    pub defer_sync: bool,
}

/// What a client's request says of its caller, once its keys are checked.
pub struct ClientRequest {
    pub caller: Caller,
    pub session_token: Option<String>,
    /// Request headers (lower-case names).
    pub headers: Value,
    pub ip: String,
    pub context: Value,
}

impl Ctx {
    /// The context of a request from a client: its user (209 for a bad session token) and
    /// roles looked up once, and the cloud code it causes run on any free worker of the pool.
    pub fn for_client(api: &Api, request: ClientRequest) -> Result<Ctx, ParseError> {
        let user = api.user_of(request.session_token.as_deref())?;
        let roles = api.roles_of(user.as_deref());
        Ok(Ctx {
            master: request.caller.master,
            user,
            roles,
            session_token: request.session_token,
            installation_id: request.caller.installation_id,
            headers: request.headers,
            ip: request.ip,
            context: request.context,
            invoker: api.pool.invoker().clone(),
            defer_sync: false,
        })
    }

    pub fn access(&self) -> Access {
        Access {
            master: self.master,
            user_id: self.user.as_ref().and_then(|u| u.get("objectId")).and_then(Value::as_str).map(str::to_string),
            roles: self.roles.clone(),
        }
    }

    /// The caller in REST format with its session token, as cloud code and webhooks get it.
    pub fn user_json(&self, api: &Api) -> Value {
        match &self.user {
            Some(user) => {
                let mut user = api.db.visible(user);
                if let Some(token) = &self.session_token {
                    user.insert("sessionToken".into(), Value::String(token.clone()));
                }
                Value::Object(user)
            }
            None => Value::Null,
        }
    }
}

/// An API answer: status, JSON body, and extra headers (`Location` for created objects,
/// `X-Parse-Job-Status-Id` for started jobs).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(body: impl Into<String>) -> Reply {
        Reply { status: 200, body: body.into(), headers: Vec::new() }
    }

    /// 201 Created with its `Location`.
    pub fn created(body: impl Into<String>, location: String) -> Reply {
        Reply { status: 201, body: body.into(), headers: vec![("location", location)] }
    }

    pub fn json(value: &Value) -> Reply {
        Reply::ok(value.to_string())
    }
}

/// Runs one API call. `route` is the path below the mount (`classes/Foo/abc`); `params` the
/// JSON body merged with the query string.
///
/// The answer leaves only once every write it could have read is durable: writes are visible
/// in the store as soon as they are made, and fsynced in groups, so a read racing a write could
/// otherwise pass on a value that a crash then erases.
///
/// A write that succeeded needs no second wait: its own commit synced, and that flush covers
/// every write made before it, so everything it read (the object it updated, the user it logged
/// in) is durable already.
pub async fn dispatch(api: &Arc<Api>, ctx: &Ctx, method: &str, route: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let answer = route_call(api, ctx, method, route, params).await;
    let synced_write = answer.is_ok() && is_synced_write(method, route);
    if !ctx.defer_sync && !synced_write && api.db.has_unsynced_writes() {
        let api = api.clone();
        blocking(move || api.db.sync().map_err(ParseError::from)).await?;
    }
    answer
}

/// Routes whose successful answer comes from a write that synced before answering.
fn is_synced_write(method: &str, route: &str) -> bool {
    let first = route.split('/').next().unwrap_or_default();
    matches!(method, "POST" | "PUT" | "DELETE")
        && matches!(
            first,
            "classes" | "users" | "sessions" | "roles" | "login" | "logout" | "loginAs" | "upgradeToRevocableSession" | "installations" | "schemas" | "purge"
        )
}

async fn route_call(api: &Arc<Api>, ctx: &Ctx, method: &str, route: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let segments: Vec<&str> = route.split('/').collect();
    system::check_class_route(ctx.master, method, &segments)?;
    match (method, segments.as_slice()) {
        ("POST", ["files"]) => Err(files::no_name()),
        ("POST", ["files", name]) => files::save_json(api, ctx, name, params).await,
        ("GET", ["files", app_id, name]) => files::data_for_cloud_code(api, app_id, name).await,
        ("DELETE", ["files", name]) => files::delete(api, ctx, name).await,
        ("POST" | "GET", ["functions", name]) => functions::run(api, ctx, name, params).await,
        ("POST", ["batch"]) => batch::run(api, ctx, params).await,
        ("GET", ["aggregate", class]) => aggregate::run(api, ctx, class, params).await,
        ("GET", ["serverInfo"]) => server_info::get(api, ctx),
        ("GET", ["scriptlog"]) => logs::script_log(api, ctx, &params),
        ("GET", ["releases", "latest"]) => releases::latest(api, ctx),
        ("GET", ["scripts", path @ ..]) => releases::script(api, ctx, path, &params),
        ("GET", ["config"]) => config::get(api, ctx),
        ("GET", ["schemas"]) => schemas::list(api, ctx),
        ("GET", ["schemas", class]) => schemas::get(api, ctx, class),
        ("POST", ["schemas"]) => schemas::create(api, ctx, None, params).await,
        ("POST", ["schemas", class]) => schemas::create(api, ctx, Some(class), params).await,
        ("PUT", ["schemas", class]) => schemas::update(api, ctx, class, params).await,
        ("DELETE", ["schemas", class]) => schemas::delete(api, ctx, class).await,
        ("DELETE", ["purge", class]) => schemas::purge(api, ctx, class).await,
        ("PUT", ["config"]) => config::update(api, ctx, params).await,
        ("GET", ["hooks", "functions"]) => hooks::list(api, ctx, true),
        ("GET", ["hooks", "triggers"]) => hooks::list(api, ctx, false),
        ("GET", ["hooks", "functions", name]) => hooks::get(api, ctx, Hook::Function(name.to_string())),
        ("GET", ["hooks", "triggers", class, trigger]) => hooks::get(api, ctx, Hook::Trigger(class.to_string(), trigger.to_string())),
        ("POST", ["hooks", "functions"]) => hooks::create(api, ctx, true, params).await,
        ("POST", ["hooks", "triggers"]) => hooks::create(api, ctx, false, params).await,
        ("PUT", ["hooks", "functions", name]) => hooks::update(api, ctx, Hook::Function(name.to_string()), params).await,
        ("PUT", ["hooks", "triggers", class, trigger]) => {
            hooks::update(api, ctx, Hook::Trigger(class.to_string(), trigger.to_string()), params).await
        }
        ("PUT", ["jobs", "status", id]) => jobs::progress(api, ctx, id, params).await,
        ("POST", ["jobs", name]) => jobs::start_route(api, ctx, Some(name), params).await,
        ("POST", ["jobs"]) => jobs::start_route(api, ctx, None, params).await,
        ("GET", ["cloud_code", "jobs"]) => schedules::list(api, ctx),
        ("GET", ["cloud_code", "jobs", "data"]) => schedules::data(api, ctx),
        ("POST", ["cloud_code", "jobs"]) => schedules::create(api, ctx, params).await,
        ("PUT", ["cloud_code", "jobs", id]) => schedules::update(api, ctx, id, params).await,
        ("DELETE", ["cloud_code", "jobs", id]) => schedules::delete(api, ctx, id).await,
        ("POST", ["cloud_code", "jobs", id, "run"]) => schedules::run_now(api, ctx, id).await,
        ("POST", ["users"]) | ("POST", ["classes", "_User"]) => users::sign_up(api, ctx, params).await,
        ("GET" | "POST", ["login"]) => users::log_in(api, ctx, params).await,
        ("POST", ["loginAs"]) => users::log_in_as(api, ctx, params).await,
        ("GET" | "POST", ["verifyPassword"]) => users::verify_password(api, params).await,
        ("POST", ["requestPasswordReset"]) => email::request_password_reset(api, ctx, params).await,
        ("POST", ["verificationEmailRequest"]) => email::request_verification_email(api, ctx, params).await,
        ("POST", ["upgradeToRevocableSession"]) => users::upgrade_to_revocable_session(api, ctx).await,
        ("POST", ["logout"]) => users::log_out(api, ctx).await,
        ("GET", ["users", "me"]) => users::me(api, ctx),
        ("GET", ["sessions", "me"]) => users::session_me(api, ctx),
        ("GET", ["users"]) => classes::find(api, ctx, "_User", params).await,
        ("GET", ["sessions"]) => classes::find(api, ctx, "_Session", params).await,
        ("GET", ["users", id]) => classes::get(api, ctx, "_User", id, params).await,
        ("GET", ["sessions", id]) => classes::get(api, ctx, "_Session", id, params).await,
        // `/roles[/:id]` serves `_Role` as `/classes/_Role` does, as Parse Server's RolesRouter.
        ("GET", ["roles"]) => classes::find(api, ctx, ROLE, params).await,
        ("GET", ["roles", id]) => classes::get(api, ctx, ROLE, id, params).await,
        ("POST", ["roles"]) => classes::create(api, ctx, ROLE, params).await,
        ("PUT", ["roles", id]) => classes::update(api, ctx, ROLE, id, params).await,
        ("DELETE", ["roles", id]) => classes::delete(api, ctx, ROLE, id).await,
        ("PUT", ["users", id]) | ("PUT", ["classes", "_User", id]) => users::update(api, ctx, id, params).await,
        ("DELETE", ["users", id]) | ("DELETE", ["classes", "_User", id]) => users::delete(api, ctx, id).await,
        ("DELETE", ["sessions", id]) => classes::delete(api, ctx, "_Session", id).await,
        ("POST", ["sessions"]) | ("POST", ["classes", "_Session"]) => sessions::create(api, ctx, params).await,
        ("PUT", ["sessions", id]) | ("PUT", ["classes", "_Session", id]) => sessions::update(api, ctx, id, params).await,
        ("GET", ["installations"]) | ("GET", ["classes", "_Installation"]) => installations::find(api, ctx, params).await,
        ("GET", ["installations", id]) => classes::get(api, ctx, installations::INSTALLATION, id, params).await,
        ("POST", ["installations"]) | ("POST", ["classes", "_Installation"]) => installations::save(api, ctx, None, params).await,
        ("PUT", ["installations", id]) | ("PUT", ["classes", "_Installation", id]) => installations::save(api, ctx, Some(id), params).await,
        ("DELETE", ["installations", id]) => installations::delete(api, ctx, id).await,
        ("GET", ["classes", class]) => classes::find(api, ctx, class, params).await,
        ("POST", ["classes", class]) => classes::create(api, ctx, class, params).await,
        ("GET", ["classes", class, id]) => classes::get(api, ctx, class, id, params).await,
        ("PUT", ["classes", class, id]) => classes::update(api, ctx, class, id, params).await,
        ("DELETE", ["classes", class, id]) => classes::delete(api, ctx, class, id).await,
        _ => Err(unknown_route(method, route)),
    }
}

pub fn unknown_route(method: &str, route: &str) -> ParseError {
    ParseError::new(ErrorCode::OTHER_CAUSE, format!("unknown route: {method} /{route}")).with_status(404)
}

/// How long a trigger may run (Parse.com: 3 s).
fn trigger_timeout(api: &Api) -> Duration {
    api.config.trigger_timeout
}

/// Runs blocking data work (fsync, password hashing) off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, ParseError> + Send + 'static) -> Result<T, ParseError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ParseError::new(ErrorCode(1), format!("internal failure: {e}")))?
}
