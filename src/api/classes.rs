//! `{mount}/classes/:className[/:objectId]`: queries, reads, and saves and deletes through
//! the pipeline.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, Api, Ctx, Reply};
use super::find_params;
use super::find_triggers::{self, Before};
use super::{pipeline, query_rules};
use crate::data::clp::Operation;
use crate::data::{Access, DataError, Database, FindOptions};
use crate::error::{ErrorCode, ParseError};

/// A query: off the async threads (scans, regexes and building the answer may take up to
/// `--query-timeout` of CPU), so `/health` and every other connection, and the other cloud-code
/// calls in flight on a worker, keep being served however many heavy queries run. Cloud code's
/// beforeFind and afterFind, if defined, rewrite the query and the results.
pub async fn find(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    if find_params::switch(&params, "explain")? {
        return explain(api, ctx, class, params).await;
    }
    let found = find_results(api, ctx, class, params, false).await?;
    let mut body = json!({ "results": found.results });
    if let Some(count) = found.count {
        body["count"] = json!(count);
    }
    if let Some(class) = found.redirected {
        body["className"] = json!(class);
    }
    Ok(Reply::json(&body))
}

/// `explain=1` (master key only, 119): the query's plan as `{"results": [plan]}`, where a
/// query answers its objects (the SDK's `query.explain()` reads `results`). The find triggers
/// do not run: a plan is about the store, not about what cloud code makes of the query.
async fn explain(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    let access = ctx.access();
    if !access.master {
        return Err(DataError::ExplainNeedsMaster.into());
    }
    let mut options = find_params::find_options(&params)?;
    let prepared = query_rules::prepare(&api.db, class, &params, &mut options)?;
    let (api, target) = (api.clone(), prepared.class.clone());
    let plan = blocking(move || Ok(api.db.explain(&access, &target, &options)?)).await?;
    Ok(Reply::json(&json!({ "results": [plan.to_json()] })))
}

/// What a query answers: its page, the count when asked for, and the class it really read
/// when `redirectClassNameForKey` sent it to another.
struct Found {
    results: Vec<Value>,
    count: Option<usize>,
    redirected: Option<String>,
}

/// The results (and the count, when asked for) of a query, through the find triggers and the
/// class-level permissions.
async fn find_results(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>, is_get: bool) -> Result<Found, ParseError> {
    let params = match find_triggers::before_find(api, ctx, class, params, is_get).await? {
        Before::Query(params) => params,
        Before::Objects(objects) => {
            let results = find_triggers::after_find(api, ctx, class, &Map::new(), objects, is_get).await?;
            return Ok(Found { results, count: None, redirected: None });
        }
    };
    let mut options = find_params::find_options(&params)?;
    let prepared = query_rules::prepare(&api.db, class, &params, &mut options)?;
    let (access, target) = (ctx.access(), prepared.class.clone());
    permit_find(&api.db, &access, &target, &mut options, is_get)?;
    let (results, count) = if prepared.empty {
        (Vec::new(), options.count.then_some(0))
    } else if let Some(found) = api.db.find_awaiting(&access, &target, &options).await {
        found?
    } else {
        let (api, target) = (api.clone(), target.clone());
        blocking(move || Ok(api.db.find(&access, &target, &options)?)).await?
    };
    let redirected = prepared.redirected.then_some(target);
    let results = results
        .into_iter()
        .map(|mut object| {
            // A redirected query's objects are of the relation's target class: each says so,
            // as Parse Server's do, since the SDK's `first`/`get` read the class from the object.
            if let Some(class) = &redirected {
                object.insert("className".into(), json!(class));
            }
            Value::Object(object)
        })
        .collect();
    let results = find_triggers::after_find(api, ctx, class, &params, results, is_get).await?;
    Ok(Found { results, count, redirected })
}

/// One object by id. Without `include` it is a lookup and runs in place; with it, it reads
/// other objects too and moves off the async threads as a query does. With a find trigger it
/// is the query `objectId = id`, as Parse Server runs a get.
pub async fn get(api: &Arc<Api>, ctx: &Ctx, class: &str, id: &str, mut params: Map<String, Value>) -> Result<Reply, ParseError> {
    if find_triggers::any(api, class) {
        params.insert("where".into(), json!({ "objectId": id }));
        params.insert("limit".into(), json!(1));
        let found = find_results(api, ctx, class, params, true).await?;
        let object = found.results.into_iter().next().ok_or_else(|| ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "Object not found."))?;
        return Ok(Reply::json(&object));
    }
    let options = find_params::find_options(&params)?;
    api.db.permit_object(&ctx.access(), class, Operation::Get, id)?;
    let included = !params.get("include").is_none_or(Value::is_null);
    if !included {
        if let Some(object) = api.db.get_awaiting(&ctx.access(), class, id, options.keys.as_deref()).await {
            return Ok(Reply::json(&Value::Object(object?)));
        }
    }
    let read = {
        let (api, access, class, id) = (api.clone(), ctx.access(), class.to_string(), id.to_string());
        move || -> Result<Reply, ParseError> {
            let object = api.db.get(&access, &class, &id, &options.include, options.keys.as_deref())?;
            Ok(Reply::json(&Value::Object(object)))
        }
    };
    if !included {
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

/// The class-level permissions of a query: refused outright, or its `where` narrowed to what a
/// pointer permission opens; `find` is asked unless only a count is, `count` when one is. A
/// `where` or `order` on a field the CLP protects from the caller is 119.
/// A get run as a query (with find triggers) is still a get: it needs the `get` permission,
/// not `find`, as Parse Server checks it.
fn permit_find(db: &Database, access: &Access, class: &str, options: &mut FindOptions, is_get: bool) -> Result<(), DataError> {
    db.check_protected_query(access, class, &options.where_, options.order.as_deref())?;
    let mut where_ = std::mem::take(&mut options.where_);
    if !(options.count && options.limit == Some(0)) {
        let operation = if is_get { Operation::Get } else { Operation::Find };
        where_ = db.permitted_where(access, class, operation, where_)?;
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
