//! `{mount}/classes/:className[/:objectId]`: queries, reads, and saves and deletes through
//! the pipeline.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{blocking, pipeline, query_rules, users, Api, Ctx, Reply};
use crate::data::clp::Operation;
use crate::data::{Access, DataError, Database, FindOptions};
use crate::error::ParseError;

/// A query: off the async threads (scans, regexes and building the answer may take up to
/// `--query-timeout` of CPU), so `/health` and every other connection, and the other cloud-code
/// calls in flight on a worker, keep being served however many heavy queries run.
pub async fn find(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let mut options = FindOptions::from_params(&params)?;
    let prepared = query_rules::prepare(&api.db, class, &params, &mut options)?;
    let (api, access, class) = (api.clone(), ctx.access(), prepared.class.clone());
    permit_find(&api.db, &access, &class, &mut options)?;
    blocking(move || {
        let (results, count) = if prepared.empty {
            (Vec::new(), options.count.then_some(0))
        } else {
            api.db.find(&access, &class, &options)?
        };
        let mut body = json!({ "results": results });
        if let Some(count) = count {
            body["count"] = json!(count);
        }
        if prepared.redirected {
            body["className"] = json!(class);
        }
        Ok(Reply::json(&body))
    })
    .await
}

/// One object by id. Without `include` it is a lookup and runs in place; with it, it reads
/// other objects too and moves off the async threads as a query does.
pub async fn get(api: &Arc<Api>, ctx: &Ctx, class: &str, id: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let options = FindOptions::from_params(&params)?;
    api.db.permit_object(&ctx.access(), class, Operation::Get, id)?;
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
    let access = ctx.access();
    api.db.permit_class(&access, class, Operation::Create)?;
    permit_new_fields(&api.db, &access, class, &body)?;
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
    let access = ctx.access();
    api.db.permit_object(&access, class, Operation::Update, id)?;
    permit_new_fields(&api.db, &access, class, &body)?;
    let prepared = api.db.prepare_update(&access, class, id, body)?;
    let saved = pipeline::save(api, ctx, prepared).await?;
    Ok(Reply::json(&Value::Object(saved.response)))
}

pub async fn delete(api: &Arc<Api>, ctx: &Ctx, class: &str, id: &str) -> Result<Reply, ParseError> {
    api.db.permit_object(&ctx.access(), class, Operation::Delete, id)?;
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

/// The class-level permissions of a query: refused outright, or its `where` narrowed to what a
/// pointer permission opens; `find` is asked unless only a count is, `count` when one is. A
/// `where` or `order` on a field the CLP protects from the caller is 119.
fn permit_find(db: &Database, access: &Access, class: &str, options: &mut FindOptions) -> Result<(), DataError> {
    db.check_protected_query(access, class, &options.where_, options.order.as_deref())?;
    let mut where_ = std::mem::take(&mut options.where_);
    if !(options.count && options.limit == Some(0)) {
        where_ = db.permitted_where(access, class, Operation::Find, where_)?;
    }
    if options.count {
        where_ = db.permitted_where(access, class, Operation::Count, where_)?;
    }
    options.where_ = where_;
    Ok(())
}

/// A save that adds fields to a class needs its `addField` permission too.
fn permit_new_fields(db: &Database, access: &Access, class: &str, body: &Map<String, Value>) -> Result<(), DataError> {
    if db.fields_added_by(class, body).is_empty() {
        return Ok(());
    }
    db.permit_class(access, class, Operation::AddField)
}
