//! The kernel every API operation imports: the server's shared state ([`Api`]), who is
//! calling ([`Ctx`]), what an operation answers ([`Reply`]), and the helpers they all use. It
//! imports no operation; the route table (routes.rs) imports them all.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Map, Value};

use super::idempotency::Idempotency;
use crate::auth::Caller;
use crate::config::ServeConfig;
use crate::data::accounts::Accounts;
use crate::data::{Access, Database};
use crate::error::{ErrorCode, ParseError};
use crate::hooks::calls::WebhookCaller;
use crate::hooks::client::WebhookClient;
use crate::registry::Registry;
use crate::runtime::code_snapshot::CodeSnapshot;
use crate::runtime::{Invoker, Pool, Releases};
use crate::script_log::ScriptLog;
use crate::store::files::FileStore;

/// The server's shared state.
pub struct Api {
    pub config: ServeConfig,
    pub db: Database,
    pub files: FileStore,
    pub accounts: Accounts,
    pub pool: Pool,
    pub jobs: JobWorkers,
    pub registry: Registry,
    /// The cloud code serving now, and each reload as it happens.
    pub releases: Releases,
    pub webhooks: WebhookClient,
    /// Set by `--idempotency`.
    pub idempotency: Option<Idempotency>,
    pub installations: Installations,
    /// The files of the cloud code serving now, for the Cloud Code viewer.
    pub code_viewer: CodeViewer,
    /// What cloud code printed and how its handlers failed (`GET /scriptlog`).
    pub script_log: Arc<ScriptLog>,
}

impl Api {
    /// The `_User` row a session token stands for; no token, no user; a bad token is 209.
    pub fn user_of(&self, token: Option<&str>) -> Result<Option<Arc<Map<String, Value>>>, ParseError> {
        let Some(token) = token else { return Ok(None) };
        let session = self.accounts.session(&self.db, token)?;
        Ok(Some(session.map(|(_, user)| user).ok_or_else(session_missing)?))
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
    /// Where the cloud code this request causes (its triggers) runs: any free worker of the
    /// pool for a client's request, but the very worker running the cloud code that made it
    /// for a request from cloud code, which waits for it; on the pool, `--workers 1` would
    /// deadlock (the one worker waiting for itself).
    pub cloud_code_runs_on: Invoker,
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
            cloud_code_runs_on: api.pool.invoker().clone(),
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

    /// The caller's half of every request cloud code gets (a function's, a trigger's, a file
    /// trigger's): the master flag, the user, the installation, headers, ip, context, and the
    /// roles that validators' `requireAnyUserRoles` / `requireAllUserRoles` check.
    pub fn cloud_request(&self, api: &Api) -> Map<String, Value> {
        let mut request = Map::new();
        request.insert("master".into(), Value::Bool(self.master));
        request.insert("user".into(), self.user_json(api));
        request.insert("installationId".into(), self.installation_id.clone().map_or(Value::Null, Value::String));
        request.insert("headers".into(), self.headers.clone());
        request.insert("ip".into(), Value::String(self.ip.clone()));
        request.insert("context".into(), self.context.clone());
        request.insert("roles".into(), self.roles.iter().cloned().map(Value::String).collect());
        request
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

    /// The caller as a webhook's payload tells it.
    pub fn webhook_caller(&self, api: &Api) -> WebhookCaller {
        WebhookCaller { master: self.master, user: self.user_json(api), installation_id: self.installation_id.clone() }
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

/// How long a trigger may run (Parse.com: 3 s).
pub(super) fn trigger_timeout(api: &Api) -> Duration {
    api.config.trigger_timeout
}

/// Runs blocking data work (fsync, password hashing) off the async threads.
pub(super) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, ParseError> + Send + 'static) -> Result<T, ParseError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ParseError::new(ErrorCode::INTERNAL_SERVER_ERROR, format!("internal failure: {e}")))?
}

/// 403 / 119 for a master-key-only route called without it.
pub(super) fn master_required() -> ParseError {
    ParseError::new(ErrorCode::OPERATION_FORBIDDEN, "unauthorized: master key is required").with_status(403)
}

/// 209 for a session token that names no session.
pub(super) fn session_missing() -> ParseError {
    ParseError::new(ErrorCode::INVALID_SESSION_TOKEN, "Invalid session token")
}

/// The workers that run jobs (apart from the function workers, so a 15-minute job never
/// takes a function's worker) and how many jobs run now.
pub struct JobWorkers {
    pub pool: Pool,
    /// Jobs running now, against `--max-concurrent-jobs`.
    pub(super) running: AtomicUsize,
}

impl JobWorkers {
    pub fn new(pool: Pool) -> JobWorkers {
        JobWorkers { pool, running: AtomicUsize::new(0) }
    }
}

/// Serialises installation saves (lookup, merge, write).
#[derive(Default)]
pub struct Installations {
    pub(super) writes: tokio::sync::Mutex<()>,
}

/// The files of the release that runs now. One value, swapped whole: a reload snapshots what
/// it loaded and [`install`](CodeViewer::install)s it (api/reload.rs), and the next request
/// sees it.
pub struct CodeViewer {
    current: RwLock<Arc<CodeSnapshot>>,
}

impl CodeViewer {
    pub fn new(snapshot: CodeSnapshot) -> CodeViewer {
        CodeViewer { current: RwLock::new(Arc::new(snapshot)) }
    }

    pub fn current(&self) -> Arc<CodeSnapshot> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes `snapshot` the one shown.
    pub fn install(&self, snapshot: CodeSnapshot) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_release_replaces_the_current_one_whole() {
        let viewer = CodeViewer::new(CodeSnapshot { version: 1, loaded_at: "a".into(), files: Default::default() });
        let before = viewer.current();
        viewer.install(CodeSnapshot { version: 2, loaded_at: "b".into(), files: Default::default() });
        assert_eq!((before.version, viewer.current().version), (1, 2), "a reader keeps the snapshot it took");
    }
}
