//! `{mount}/classes/:className[/:objectId]`: queries, reads, and saves and deletes through
//! the pipeline.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{blocking, pipeline, users, Api, Ctx, Reply};
use crate::data::FindOptions;
use crate::error::ParseError;

pub fn find(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let options = FindOptions::from_params(&params)?;
    off_async_threads(|| {
        let (results, count) = api.db.find(&ctx.access(), class, &options)?;
        let mut body = json!({ "results": results });
        if let Some(count) = count {
            body["count"] = json!(count);
        }
        Ok(Reply::json(&body))
    })
}

pub fn get(api: &Arc<Api>, ctx: &Ctx, class: &str, id: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let options = FindOptions::from_params(&params)?;
    off_async_threads(|| {
        let object = api.db.get(&ctx.access(), class, id, &options.include, options.keys.as_deref())?;
        Ok(Reply::json(&Value::Object(object)))
    })
}

/// Runs query work (scans, regexes, building the answer: up to `--query-timeout` of CPU)
/// without stalling the HTTP threads. On the server's multi-threaded runtime the calling
/// worker hands its other tasks to a fresh worker for the duration (`block_in_place`), so
/// `/health` and every other connection keep being served however many heavy queries run.
/// A cloud-code worker calls in from its own single-threaded runtime on its own thread,
/// which serves nothing else, so there the work simply runs inline. (Moving it with
/// `spawn_blocking` instead would make these routes async, which the route table does not
/// await.)
fn off_async_threads<T>(work: impl FnOnce() -> Result<T, ParseError>) -> Result<T, ParseError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

pub async fn create(api: &Arc<Api>, ctx: &Ctx, class: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    let prepared = api.db.prepare_create(&ctx.access(), class, body)?;
    let saved = pipeline::save(api, ctx, prepared).await?;
    let id = saved.object.get("objectId").and_then(Value::as_str).unwrap_or_default();
    let location = format!("{}/classes/{class}/{id}", api.config.mount);
    Ok(Reply::created(Value::Object(saved.response).to_string(), location))
}

pub async fn update(api: &Arc<Api>, ctx: &Ctx, class: &str, id: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if class == users::USER {
        return users::update(api, ctx, id, body).await;
    }
    let prepared = api.db.prepare_update(&ctx.access(), class, id, body)?;
    let saved = pipeline::save(api, ctx, prepared).await?;
    Ok(Reply::json(&Value::Object(saved.response)))
}

pub async fn delete(api: &Arc<Api>, ctx: &Ctx, class: &str, id: &str) -> Result<Reply, ParseError> {
    let object = api.db.prepare_delete(&ctx.access(), class, id)?;
    pipeline::delete(api, ctx, class, object).await?;
    Ok(Reply::ok("{}"))
}

/// Deletes on a blocking thread (the store fsyncs before answering).
pub async fn delete_stored(api: &Arc<Api>, class: &str, id: &str) -> Result<(), ParseError> {
    let (api, class, id) = (api.clone(), class.to_string(), id.to_string());
    blocking(move || api.db.delete(&class, &id).map_err(ParseError::from)).await
}
