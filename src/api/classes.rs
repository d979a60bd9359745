//! `{mount}/classes/:className[/:objectId]`: queries, reads, and saves and deletes through
//! the pipeline.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::find_triggers::{self, Before};
use super::{blocking, pipeline, users, Api, Ctx, Reply};
use crate::data::FindOptions;
use crate::error::{ErrorCode, ParseError};

/// A query: off the async threads (scans, regexes and building the answer may take up to
/// `--query-timeout` of CPU), so `/health` and every other connection, and the other cloud-code
/// calls in flight on a worker, keep being served however many heavy queries run. Cloud code's
/// beforeFind and afterFind, if defined, rewrite the query and the results.
pub async fn find(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let (results, count) = find_results(api, ctx, class, params, false).await?;
    let mut body = json!({ "results": results });
    if let Some(count) = count {
        body["count"] = json!(count);
    }
    Ok(Reply::json(&body))
}

/// The results (and the count, when asked for) of a query, through the find triggers.
async fn find_results(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>, is_get: bool) -> Result<(Vec<Value>, Option<usize>), ParseError> {
    let params = match find_triggers::before_find(api, ctx, class, params, is_get).await? {
        Before::Query(params) => params,
        Before::Objects(objects) => return Ok((find_triggers::after_find(api, ctx, class, &Map::new(), objects, is_get).await?, None)),
    };
    let options = FindOptions::from_params(&params)?;
    let (results, count) = {
        let (api, access, class) = (api.clone(), ctx.access(), class.to_string());
        blocking(move || Ok(api.db.find(&access, &class, &options)?)).await?
    };
    let results = results.into_iter().map(Value::Object).collect();
    Ok((find_triggers::after_find(api, ctx, class, &params, results, is_get).await?, count))
}

/// One object by id. Without `include` it is a lookup and runs in place; with it, it reads
/// other objects too and moves off the async threads as a query does. With a find trigger it
/// is the query `objectId = id`, as Parse Server runs a get.
pub async fn get(api: &Arc<Api>, ctx: &Ctx, class: &str, id: &str, mut params: Map<String, Value>) -> Result<Reply, ParseError> {
    if find_triggers::any(api, class) {
        params.insert("where".into(), json!({ "objectId": id }));
        params.insert("limit".into(), json!(1));
        let (results, _) = find_results(api, ctx, class, params, true).await?;
        let object = results.into_iter().next().ok_or_else(|| ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "Object not found."))?;
        return Ok(Reply::json(&object));
    }
    let options = FindOptions::from_params(&params)?;
    let read = {
        let (api, access, class, id) = (api.clone(), ctx.access(), class.to_string(), id.to_string());
        move || -> Result<Reply, ParseError> {
            let object = api.db.get(&access, &class, &id, &options.include, options.keys.as_deref())?;
            Ok(Reply::json(&Value::Object(object)))
        }
    };
    if params.get("include").is_none_or(Value::is_null) {
        return read();
    }
    blocking(read).await
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

/// Deletes on a blocking thread (the store fsyncs before answering, unless `defer_sync` leaves
/// that to the batch the delete belongs to).
pub async fn delete_stored(api: &Arc<Api>, class: &str, id: &str, defer_sync: bool) -> Result<(), ParseError> {
    let (api, class, id) = (api.clone(), class.to_string(), id.to_string());
    blocking(move || {
        if defer_sync {
            api.db.delete_unsynced(&class, &id)
        } else {
            api.db.delete(&class, &id)
        }
        .map_err(ParseError::from)
    })
    .await
}
