//! beforeFind and afterFind: cloud code that rewrites a query before it runs and the results
//! after, for REST queries, gets and cloud code's own queries alike (Parse Server runs them for
//! every find through its REST layer).
//!
//! beforeFind sees the query as a `Parse.Query` (`request.query`) and may change it, return
//! another one, or return objects that answer the query without reading the store. afterFind
//! sees `request.objects` and may change them or return others.

use serde_json::{json, Map, Value};

use super::context::{trigger_timeout, Api, Ctx};
use super::pipeline::trigger_request;
use crate::error::{ErrorCode, ParseError};
use crate::registry::Handler;
use crate::runtime::{Target, TriggerKind};

/// The query options a trigger may rewrite (Parse Server's list, less Mongo-only hints).
const QUERY_KEYS: &[&str] = &["where", "limit", "skip", "order", "keys", "excludeKeys", "include"];

/// What beforeFind decided.
pub enum Before {
    /// Run this query (the REST parameters, rewritten).
    Query(Map<String, Value>),
    /// Answer with these objects, without reading the store.
    Objects(Vec<Value>),
}

fn has_trigger(api: &Api, class: &str, trigger: TriggerKind) -> bool {
    api.registry.trigger(class, trigger) == Some(Handler::CloudCode)
}

/// Whether `class` has either find trigger, so a get must run as a query.
pub fn any(api: &Api, class: &str) -> bool {
    has_trigger(api, class, TriggerKind::BeforeFind) || has_trigger(api, class, TriggerKind::AfterFind)
}

/// The query of `params` as `Parse.Query#toJSON` writes it: `where` parsed when it came as a
/// string (a URL's query).
fn query_json(params: &Map<String, Value>) -> Result<Value, ParseError> {
    let mut query = Map::new();
    for key in QUERY_KEYS {
        let Some(value) = params.get(*key) else { continue };
        let value = match (*key, value) {
            ("where", Value::String(text)) => serde_json::from_str(text)
                .map_err(|e| ParseError::new(ErrorCode::INVALID_JSON, format!("where is not valid JSON: {e}")))?,
            _ => value.clone(),
        };
        query.insert((*key).to_string(), value);
    }
    query.entry("where").or_insert_with(|| json!({}));
    Ok(Value::Object(query))
}

async fn run(api: &Api, ctx: &Ctx, class: &str, trigger: TriggerKind, mut request: Value) -> Result<Map<String, Value>, ParseError> {
    request["roles"] = json!(ctx.roles.to_vec());
    let target = Target::Trigger { class_name: class.to_string(), kind: trigger };
    let reply = ctx.cloud_code_runs_on.run(target, request.to_string(), trigger_timeout(api)).await?;
    serde_json::from_str(&reply).map_err(|e| ParseError::new(ErrorCode::SCRIPT_FAILED, format!("{trigger} answered badly: {e}")))
}

fn find_request(api: &Api, ctx: &Ctx, class: &str, params: &Map<String, Value>, is_get: bool) -> Result<Value, ParseError> {
    let mut request = trigger_request(api, ctx, class, Value::Null, None, &ctx.context);
    request["query"] = query_json(params)?;
    request["count"] = json!(params.get("count").is_some_and(|c| !matches!(c, Value::Null | Value::Bool(false))));
    request["isGet"] = json!(is_get);
    Ok(request)
}

/// Runs beforeFind of `class`, if cloud code defined one.
pub async fn before_find(api: &Api, ctx: &Ctx, class: &str, mut params: Map<String, Value>, is_get: bool) -> Result<Before, ParseError> {
    if !has_trigger(api, class, TriggerKind::BeforeFind) {
        return Ok(Before::Query(params));
    }
    let request = find_request(api, ctx, class, &params, is_get)?;
    let mut answer = run(api, ctx, class, TriggerKind::BeforeFind, request).await?;
    if let Some(Value::Array(objects)) = answer.remove("objects") {
        return Ok(Before::Objects(objects));
    }
    if let Some(Value::Object(query)) = answer.remove("query") {
        for key in QUERY_KEYS {
            match query.get(*key) {
                Some(value) => params.insert((*key).to_string(), value.clone()),
                None if *key == "where" => params.insert("where".into(), json!({})),
                None => params.remove(*key),
            };
        }
    }
    Ok(Before::Query(params))
}

/// Runs afterFind of `class` over `objects`, if cloud code defined one; answers the objects
/// to send.
pub async fn after_find(api: &Api, ctx: &Ctx, class: &str, params: &Map<String, Value>, objects: Vec<Value>, is_get: bool) -> Result<Vec<Value>, ParseError> {
    if !has_trigger(api, class, TriggerKind::AfterFind) {
        return Ok(objects);
    }
    let mut request = find_request(api, ctx, class, params, is_get)?;
    request["objects"] = Value::Array(objects);
    let mut answer = run(api, ctx, class, TriggerKind::AfterFind, request).await?;
    match answer.remove("objects") {
        Some(Value::Array(objects)) => Ok(objects),
        _ => Ok(Vec::new()),
    }
}
