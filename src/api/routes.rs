//! The route table: which operation answers a method and a path below the mount, for HTTP
//! clients and cloud code alike, and the durability rule every answer keeps.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::{blocking, Api, Ctx, Reply};
use super::hooks::Hook;
use super::{
    aggregate, batch, classes, config, email, files, functions, hooks, installations, jobs, logs, releases, schedules, schemas,
    server_info, sessions, system, users,
};
use crate::data::roles::ROLE;
use crate::error::{ErrorCode, ParseError};

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
