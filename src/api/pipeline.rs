//! The one data pipeline: beforeSave → write → afterSave, and beforeDelete → delete →
//! afterDelete, whether the request came from REST or from cloud code. Triggers run through
//! the caller's invoker: from REST on any free worker, from cloud code on the worker already
//! running it (so `--workers 1` cannot deadlock).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{blocking, classes, trigger_timeout, Api, Ctx};
use crate::data::{PreparedSave, SavedObject};
use crate::error::{ErrorCode, ParseError};
use crate::registry::Handler;
use crate::runtime::Target;

/// Saves through the triggers; answers what was stored.
pub async fn save(api: &Arc<Api>, ctx: &Ctx, mut prepared: PreparedSave) -> Result<SavedObject, ParseError> {
    let class = prepared.class_name.clone();
    let original = prepared.original.as_ref().map(|o| Value::Object(api.db.visible(o)));
    let mut context = ctx.context.clone();
    if let Some(Handler::CloudCode) = api.registry.trigger(&class, "beforeSave") {
        let mut request = trigger_request(api, ctx, &class, Value::Object(prepared.proposed.clone()), original.clone(), &context);
        request["body"] = Value::Object(prepared.body().clone());
        let reply = run_trigger(ctx, &class, "beforeSave", request, api).await?;
        context = reply.context;
        let body = reply.object.ok_or_else(|| ParseError::new(ErrorCode::SCRIPT_FAILED, "beforeSave answered no object"))?;
        prepared.replace_body(&api.db, body)?;
    }
    let saved = {
        let api = api.clone();
        blocking(move || api.db.commit(prepared).map_err(ParseError::from)).await?
    };
    if let Some(Handler::CloudCode) = api.registry.trigger(&class, "afterSave") {
        let request = trigger_request(api, ctx, &class, Value::Object(saved.object.clone()), original, &context);
        if let Err(error) = run_trigger(ctx, &class, "afterSave", request, api).await {
            tracing::warn!("afterSave of {class} failed: {}", error.message);
        }
    }
    Ok(saved)
}

/// Deletes through the triggers.
pub async fn delete(api: &Arc<Api>, ctx: &Ctx, class: &str, object: Arc<Map<String, Value>>) -> Result<(), ParseError> {
    let visible = Value::Object(api.db.visible(&object));
    let mut context = ctx.context.clone();
    if let Some(Handler::CloudCode) = api.registry.trigger(class, "beforeDelete") {
        let request = trigger_request(api, ctx, class, visible.clone(), None, &context);
        context = run_trigger(ctx, class, "beforeDelete", request, api).await?.context;
    }
    let id = object.get("objectId").and_then(Value::as_str).unwrap_or_default();
    classes::delete_stored(api, class, id).await?;
    if let Some(Handler::CloudCode) = api.registry.trigger(class, "afterDelete") {
        let request = trigger_request(api, ctx, class, visible, None, &context);
        if let Err(error) = run_trigger(ctx, class, "afterDelete", request, api).await {
            tracing::warn!("afterDelete of {class} failed: {}", error.message);
        }
    }
    Ok(())
}

/// What a trigger answered: the object to write (before* only) and the context for after*.
struct TriggerReply {
    object: Option<Map<String, Value>>,
    context: Value,
}

async fn run_trigger(ctx: &Ctx, class: &str, trigger: &str, request: Value, api: &Api) -> Result<TriggerReply, ParseError> {
    let target = Target::Trigger { class_name: class.to_string(), trigger_name: trigger.to_string() };
    let reply = ctx.invoker.run(target, request.to_string(), trigger_timeout(api)).await?;
    let mut reply: Map<String, Value> = serde_json::from_str(&reply)
        .map_err(|e| ParseError::new(ErrorCode::SCRIPT_FAILED, format!("{trigger} answered badly: {e}")))?;
    let object = match reply.remove("object") {
        Some(Value::Object(object)) => Some(object),
        _ => None,
    };
    Ok(TriggerReply { object, context: reply.remove("context").unwrap_or_else(|| json!({})) })
}

fn trigger_request(api: &Api, ctx: &Ctx, class: &str, object: Value, original: Option<Value>, context: &Value) -> Value {
    let mut object = object;
    if let Value::Object(map) = &mut object {
        map.insert("className".into(), Value::String(class.to_string()));
    }
    let mut request = json!({
        "object": object,
        "master": ctx.master,
        "user": ctx.user_json(api),
        "installationId": ctx.installation_id,
        "headers": ctx.headers,
        "ip": ctx.ip,
        "context": context,
    });
    if let Some(original) = original {
        request["original"] = original;
    }
    request
}
