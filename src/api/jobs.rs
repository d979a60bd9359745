//! Background jobs: `POST {mount}/jobs/:name` starts one (master key only) and answers at
//! once with `X-Parse-Job-Status-Id`; the run goes on in the background on the job workers,
//! and its progress lives in a `_JobStatus` object (status running → succeeded / failed).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, master_required, Api, Ctx, JobWorkers, Reply};
use super::nodes;
use crate::data::{ids, Access, FindOptions, SystemClass, SystemWrite};
use crate::error::{ErrorCode, ParseError};
use crate::registry::Handler;
use crate::runtime::{CloudError, Target};

pub const JOB_STATUS: &str = SystemClass::JobStatus.name();

/// Where a run came from, as `_JobStatus.source` records it.
#[derive(Clone, Copy)]
pub enum Source {
    Api,
    Schedule,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Schedule => "schedule",
        }
    }
}

/// `POST /jobs/:name` (or `POST /jobs` with `jobName`): the body is the job's params. The
/// dashboard's "Run now" sends `POST /jobs` with `{description, input, jobName, when: 0}`:
/// there `input` (the schedule's params) is what the job receives.
pub async fn start_route(api: &Arc<Api>, ctx: &Ctx, name: Option<&str>, mut params: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let name_in_body = name.is_none();
    let name = match name {
        Some(name) => name.to_string(),
        None => match params.remove("jobName") {
            Some(Value::String(name)) => name,
            _ => return Err(ParseError::new(ErrorCode::SCRIPT_FAILED, "jobName is required")),
        },
    };
    let params = match (name_in_body, params.remove("input")) {
        (true, Some(Value::Object(input))) => input,
        (true, Some(Value::Null)) => Map::new(),
        (_, Some(other)) => {
            params.insert("input".into(), other);
            params
        }
        (_, None) => params,
    };
    let id = start(api, &name, params, Source::Api).await?;
    Ok(Reply { status: 200, body: "{}".into(), headers: vec![("x-parse-job-status-id", id)] })
}

/// `PUT jobs/status/:id` `{message}`: a running job's progress (`request.message` /
/// `status.message` in cloud code; master key only), written to its `_JobStatus` through the
/// same door as the run's start and end, so no trigger of `_JobStatus` ever sees it.
pub async fn progress(api: &Arc<Api>, ctx: &Ctx, id: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let Some(Value::String(message)) = body.get("message") else {
        return Err(ParseError::new(ErrorCode::INVALID_JSON, "a job's progress is {\"message\": text}"));
    };
    let fields = as_map(json!({ "message": message }));
    let (api, id) = (api.clone(), id.to_string());
    blocking(move || {
        api.db.write_system(SystemClass::JobStatus, SystemWrite::Update { id, fields })?;
        Ok(Reply::ok("{}"))
    })
    .await
}

/// Records a run and starts it in the background; answers its `_JobStatus` id. Beyond
/// `--max-concurrent-jobs` the run is recorded as failed at once, as Parse.com did.
pub async fn start(api: &Arc<Api>, name: &str, params: Map<String, Value>, source: Source) -> Result<String, ParseError> {
    if api.registry.job(name) != Some(Handler::CloudCode) {
        return Err(ParseError::new(ErrorCode::SCRIPT_FAILED, "Invalid job."));
    }
    let mut record = json!({
        "jobName": name,
        "source": source.name(),
        "status": "running",
        "message": "",
        "params": params,
        "ACL": {},
    });
    // Which node runs it, so that the leader can fail it if that node stops.
    if let Some(node) = nodes::node_id(api) {
        record["nodeId"] = Value::String(node);
    }
    let id = {
        let api = api.clone();
        blocking(move || {
            let saved = api.db.write_system(SystemClass::JobStatus, SystemWrite::Create { id: None, fields: as_map(record) })?;
            Ok(saved.and_then(|saved| saved.object.get("objectId").and_then(Value::as_str).map(str::to_string)).unwrap_or_default())
        })
        .await?
    };
    let max = api.config.max_concurrent_jobs;
    if !(nodes::job_admitted(api, &id, max).await? && admitted_here(&api.jobs, max)) {
        let message = format!("terminated: {max} job(s) already running, the most allowed at once (--max-concurrent-jobs)");
        finish(api, &id, "failed", Some(message)).await?;
        return Ok(id);
    }
    let request = json!({ "params": params, "jobId": id, "master": true, "headers": {}, "context": {} }).to_string();
    let (api, name, job_id) = (api.clone(), name.to_string(), id.clone());
    tokio::spawn(async move {
        let target = Target::Job { name: name.clone(), job_id: job_id.clone() };
        let outcome = api.jobs.pool.invoker().run(target, request, api.config.job_timeout).await;
        api.jobs.running.fetch_sub(1, Ordering::SeqCst);
        let (status, message) = match outcome {
            Ok(answer) => ("succeeded", serde_json::from_str::<Value>(&answer).ok().and_then(|a| a["message"].as_str().map(str::to_string))),
            Err(CloudError::Timeout { seconds, .. }) => ("failed", Some(format!("terminated: the job ran past its {seconds} s limit"))),
            Err(error) => ("failed", Some(error.to_string())),
        };
        match (status, &message) {
            ("succeeded", Some(message)) => tracing::info!(target: "cloud", "[job {name}] succeeded: {message}"),
            ("succeeded", None) => tracing::info!(target: "cloud", "[job {name}] succeeded"),
            (_, message) => tracing::error!(target: "cloud", "[job {name}] failed: {}", message.as_deref().unwrap_or("")),
        }
        if let Err(error) = finish(&api, &job_id, status, message).await {
            tracing::error!("cannot record the end of job {job_id}: {}", error.message);
        }
    });
    Ok(id)
}

/// Takes one of this node's `max` job places, if one is free.
fn admitted_here(workers: &JobWorkers, max: usize) -> bool {
    if workers.running.fetch_add(1, Ordering::SeqCst) >= max {
        workers.running.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    true
}

/// Marks a run finished; `message` None keeps the last progress message.
async fn finish(api: &Arc<Api>, id: &str, status: &str, message: Option<String>) -> Result<(), ParseError> {
    let mut update = json!({ "status": status, "finishedAt": {"__type": "Date", "iso": ids::now_iso()} });
    if let Some(message) = message {
        update["message"] = Value::String(message);
    }
    let (api, id) = (api.clone(), id.to_string());
    blocking(move || {
        api.db.write_system(SystemClass::JobStatus, SystemWrite::Update { id, fields: as_map(update) })?;
        Ok(())
    })
    .await
}

/// At start-up: a run still marked running was cut short by the last stop. On a store other
/// nodes share, only the runs of nodes that are not running are (the others are working).
pub fn fail_interrupted(api: &Api) -> Result<usize, ParseError> {
    if nodes::node_id(api).is_some() {
        return nodes::fail_jobs_of_stopped_nodes(api, |_| INTERRUPTED.to_owned());
    }
    let options = FindOptions { where_: json!({"status": "running"}), limit: Some(usize::MAX), ..FindOptions::default() };
    let (running, _) = api.db.find(&Access::master(), JOB_STATUS, &options)?;
    for run in &running {
        let id = run.get("objectId").and_then(Value::as_str).unwrap_or_default();
        let update = json!({
            "status": "failed",
            "message": INTERRUPTED,
            "finishedAt": {"__type": "Date", "iso": ids::now_iso()},
        });
        api.db.write_system(SystemClass::JobStatus, SystemWrite::Update { id: id.to_string(), fields: as_map(update) })?;
    }
    Ok(running.len())
}

/// The message of a run cut short by a stop and found at the next start.
const INTERRUPTED: &str = "interrupted by restart";

pub(super) fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
