//! Several nodes on one shared store (PostgreSQL): this node follows what the others change,
//! leaves the schedules to the leader, and counts the jobs of every node against
//! `--max-concurrent-jobs`. On a store only one process opens (sled) none of this applies and
//! every function here answers as for a single node.

use std::sync::{Arc, Weak};

use serde_json::{json, Map, Value};

use super::context::{blocking, Api};
use super::hooks::{self, HOOKS};
use super::jobs::JOB_STATUS;
use crate::data::{ids, roles, Access, FindOptions, SystemClass, SystemWrite};
use crate::error::ParseError;
use crate::store::nodes::Change;

/// Follows the other nodes from now on: a webhook registered, a schema changed or a role given
/// on another node is used here within a second. Parse Config and sessions need nothing: they
/// are read from the store on every request.
pub fn follow(api: &Arc<Api>) {
    let Some(nodes) = api.db.store().nodes() else { return };
    let weak: Weak<Api> = Arc::downgrade(api);
    nodes.watch(
        &[HOOKS, roles::ROLE],
        Box::new(move |change| {
            if let Some(api) = weak.upgrade() {
                if let Err(error) = reload(&api, change) {
                    tracing::error!("cannot follow another node's change ({change:?}): {}", error.message);
                }
            }
        }),
    );
    // What was read at start-up (before the cloud code loaded, which takes a while) may have
    // changed since on another node, unannounced to this one: read it once more.
    if let Err(error) = reload(api, &Change::Everything) {
        tracing::error!("cannot read again what other nodes changed during start-up: {}", error.message);
    }
}

fn reload(api: &Api, change: &Change) -> Result<(), ParseError> {
    match change {
        Change::Schema(class) => api.db.reload_schema(class)?,
        Change::Objects(class) if class == HOOKS => api.registry.replace_webhooks(hooks::load(&api.db)?),
        Change::Objects(class) if class == roles::ROLE => api.db.reload_roles()?,
        Change::Objects(_) => {}
        Change::Everything => {
            api.db.reload_schemas()?;
            api.db.reload_roles()?;
            api.registry.replace_webhooks(hooks::load(&api.db)?);
        }
    }
    Ok(())
}

/// Whether this node runs the schedules: the leader does, and a node alone always does.
pub fn runs_schedules(api: &Api) -> bool {
    api.db.store().nodes().is_none_or(|nodes| nodes.is_leader())
}

/// This node's id, recorded on the jobs it runs (`nodeId`); None when it is alone.
pub fn node_id(api: &Api) -> Option<String> {
    api.db.store().nodes().map(|nodes| nodes.id().to_owned())
}

/// Whether the run recorded as `_JobStatus` `id` may start under `--max-concurrent-jobs`
/// counted across every node: it may when fewer than `max` running runs were recorded before
/// it. Two runs started at once on two nodes cannot both pass where only one may (each counts
/// the other's row if it was first); at worst both are refused. Alone, a node counts in memory
/// only (see `jobs::start`).
pub async fn job_admitted(api: &Arc<Api>, id: &str, max: usize) -> Result<bool, ParseError> {
    if api.db.store().nodes().is_none() {
        return Ok(true);
    }
    let (api, id) = (api.clone(), id.to_owned());
    blocking(move || {
        let mut running = running_jobs(&api)?;
        running.sort_by(|a, b| (text(a, "createdAt"), text(a, "objectId")).cmp(&(text(b, "createdAt"), text(b, "objectId"))));
        let ahead = running.iter().take_while(|run| text(run, "objectId") != id).count();
        Ok(ahead < max)
    })
    .await
}

/// The leader's duty, and each node's at start-up: runs left "running" by a node that stopped
/// (its link to the store closed) are marked failed, with the message `why` gives for the
/// node's id, so that they neither stay running forever nor hold a place under
/// `--max-concurrent-jobs`. Answers how many were.
pub fn fail_jobs_of_stopped_nodes(api: &Api, why: impl Fn(&str) -> String) -> Result<usize, ParseError> {
    let Some(nodes) = api.db.store().nodes() else { return Ok(0) };
    let mut failed = 0;
    for run in running_jobs(api)? {
        let Some(node) = run.get("nodeId").and_then(Value::as_str) else { continue };
        if node == nodes.id() || nodes.is_running(node)? {
            continue;
        }
        let update = json!({
            "status": "failed",
            "message": why(node),
            "finishedAt": {"__type": "Date", "iso": ids::now_iso()},
        });
        let Value::Object(fields) = update else { continue };
        api.db.write_system(SystemClass::JobStatus, SystemWrite::Update { id: text(&run, "objectId").to_owned(), fields })?;
        failed += 1;
    }
    Ok(failed)
}

fn running_jobs(api: &Api) -> Result<Vec<Map<String, Value>>, ParseError> {
    let options = FindOptions { where_: json!({"status": "running"}), limit: Some(usize::MAX), ..FindOptions::default() };
    Ok(api.db.find(&Access::master(), JOB_STATUS, &options)?.0)
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}
