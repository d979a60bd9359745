//! The one data pipeline: beforeSave → write → afterSave, and beforeDelete → delete →
//! afterDelete, whether the request came from REST or from cloud code. A trigger is a
//! webhook when one is registered (it always wins), else cloud code, which runs where the
//! caller's `cloud_code_runs_on` says: from REST on any free worker, from cloud code on the
//! worker already running it (so `--workers 1` cannot deadlock).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, trigger_timeout, Api, Ctx};
use crate::data::{schema, PreparedSave, SavedObject};
use crate::error::{ErrorCode, ParseError};
use crate::hooks::calls;
use crate::registry::Handler;
use crate::runtime::{Target, TriggerKind};

/// Saves through the triggers; answers what was stored.
pub async fn save(api: &Arc<Api>, ctx: &Ctx, mut prepared: PreparedSave) -> Result<SavedObject, ParseError> {
    let class = prepared.class_name.clone();
    let original = prepared.original.as_ref().map(|o| Value::Object(api.db.visible(o)));
    let mut context = ctx.context.clone();
    match api.registry.trigger(&class, TriggerKind::BeforeSave) {
        Some(Handler::CloudCode) => {
            let mut request = trigger_request(api, ctx, &class, object_of(&prepared), original.clone(), &context);
            request["body"] = Value::Object(prepared.body().clone());
            let reply = run_cloud_trigger(ctx, &class, TriggerKind::BeforeSave, request, api).await?;
            context = reply.context;
            let body = reply.object.ok_or_else(|| ParseError::new(ErrorCode::SCRIPT_FAILED, "beforeSave answered no object"))?;
            prepared.replace_body(&api.db, body)?;
        }
        Some(Handler::Webhook(url)) => {
            let payload = calls::trigger_payload(&ctx.webhook_caller(api), TriggerKind::BeforeSave.as_str(), object_of(&prepared), original.clone());
            let answer = api.webhooks.call(&url, &payload).await.map_err(|e| calls::error(&format!("beforeSave {class}"), &url, e))?;
            if let Value::Object(values) = answer {
                let mut body = prepared.body().clone();
                for (key, value) in values {
                    if !schema::is_server_kept(&key) && prepared.proposed.get(&key) != Some(&value) {
                        body.insert(key, value);
                    }
                }
                prepared.replace_body(&api.db, body)?;
            }
        }
        None => {}
    }
    // A save whose sync is deferred (one of a batch) waits for no disk: it is memory work and
    // sled's in-memory write, tens of microseconds, so it runs here. Handing each one to a
    // blocking thread cost more than the save itself (a thread wake-up and switch per object:
    // a third of a batch fill's CPU). A save that syncs waits for an fsync, so it goes there.
    let saved = if ctx.defer_sync {
        prepared.defer_sync();
        api.db.commit(prepared)?
    } else {
        let api = api.clone();
        blocking(move || api.db.commit(prepared).map_err(ParseError::from)).await?
    };
    let object = Value::Object(saved.object.clone());
    after(api, ctx, &class, TriggerKind::AfterSave, object, original, &context).await;
    Ok(saved)
}

/// Deletes through the triggers.
pub async fn delete(api: &Arc<Api>, ctx: &Ctx, class: &str, object: Arc<Map<String, Value>>) -> Result<(), ParseError> {
    let visible = Value::Object(api.db.visible(&object));
    let mut context = ctx.context.clone();
    match api.registry.trigger(class, TriggerKind::BeforeDelete) {
        Some(Handler::CloudCode) => {
            let request = trigger_request(api, ctx, class, visible.clone(), None, &context);
            context = run_cloud_trigger(ctx, class, TriggerKind::BeforeDelete, request, api).await?.context;
        }
        Some(Handler::Webhook(url)) => {
            let payload = calls::trigger_payload(&ctx.webhook_caller(api), TriggerKind::BeforeDelete.as_str(), with_class(visible.clone(), class), None);
            api.webhooks.call(&url, &payload).await.map_err(|e| calls::error(&format!("beforeDelete {class}"), &url, e))?;
        }
        None => {}
    }
    let id = object.get("objectId").and_then(Value::as_str).unwrap_or_default();
    delete_stored(api, class, id, ctx.defer_sync).await?;
    after(api, ctx, class, TriggerKind::AfterDelete, visible, None, &context).await;
    Ok(())
}

/// Deletes; on a blocking thread when the delete syncs, here when `defer_sync` leaves the sync
/// to the batch the delete belongs to (no disk wait, as for a deferred save).
async fn delete_stored(api: &Arc<Api>, class: &str, id: &str, defer_sync: bool) -> Result<(), ParseError> {
    if defer_sync {
        return api.db.delete_unsynced(class, id).map_err(ParseError::from);
    }
    let (api, class, id) = (api.clone(), class.to_string(), id.to_string());
    blocking(move || api.db.delete(&class, &id).map_err(ParseError::from)).await
}

/// afterSave / afterDelete: run after the write; failures are logged, never answered.
async fn after(api: &Arc<Api>, ctx: &Ctx, class: &str, trigger: TriggerKind, object: Value, original: Option<Value>, context: &Value) {
    let outcome = match api.registry.trigger(class, trigger) {
        Some(Handler::CloudCode) => {
            let request = trigger_request(api, ctx, class, object, original, context);
            run_cloud_trigger(ctx, class, trigger, request, api).await.map(|_| ())
        }
        Some(Handler::Webhook(url)) => {
            let payload = calls::trigger_payload(&ctx.webhook_caller(api), trigger.as_str(), with_class(object, class), original);
            api.webhooks.notify(&url, &payload).await.map_err(|e| calls::error(&format!("{trigger} {class}"), &url, e))
        }
        None => Ok(()),
    };
    // Already in the script log (run_cloud_trigger, calls::error); never answered.
    let _ = outcome;
}

/// Runs cloud code's `trigger` of `class` with `object`, if main.js defined one (these
/// triggers have no webhook form): beforeLogin, afterLogin, afterLogout. An error fails the
/// call for the `before` kinds; the caller logs it for the `after` ones.
pub(super) async fn run_hook(api: &Arc<Api>, ctx: &Ctx, class: &str, trigger: TriggerKind, object: Value) -> Result<(), ParseError> {
    if api.registry.trigger(class, trigger) != Some(Handler::CloudCode) {
        return Ok(());
    }
    let request = trigger_request(api, ctx, class, object, None, &ctx.context);
    run_cloud_trigger(ctx, class, trigger, request, api).await.map(|_| ())
}

/// The object beforeSave sees: stored fields with the write applied, and its class.
fn object_of(prepared: &PreparedSave) -> Value {
    with_class(Value::Object(prepared.proposed.clone()), &prepared.class_name)
}

fn with_class(mut object: Value, class: &str) -> Value {
    if let Value::Object(map) = &mut object {
        map.insert("className".into(), Value::String(class.to_string()));
    }
    object
}

/// What a cloud-code trigger answered: the write to apply (beforeSave) and the context.
struct TriggerReply {
    object: Option<Map<String, Value>>,
    context: Value,
}

async fn run_cloud_trigger(ctx: &Ctx, class: &str, trigger: TriggerKind, request: Value, api: &Api) -> Result<TriggerReply, ParseError> {
    let target = Target::Trigger { class_name: class.to_string(), kind: trigger };
    let reply = ctx.cloud_code_runs_on.run(target, request.to_string(), trigger_timeout(api)).await.map_err(|error| {
        tracing::error!(target: "cloud", "[{trigger} {class}] failed: {error}");
        ParseError::from(error)
    })?;
    let mut reply: Map<String, Value> = serde_json::from_str(&reply)
        .map_err(|e| ParseError::new(ErrorCode::SCRIPT_FAILED, format!("{trigger} answered badly: {e}")))?;
    let object = match reply.remove("object") {
        Some(Value::Object(object)) => Some(object),
        _ => None,
    };
    Ok(TriggerReply { object, context: reply.remove("context").unwrap_or_else(|| json!({})) })
}

pub(super) fn trigger_request(api: &Api, ctx: &Ctx, class: &str, object: Value, original: Option<Value>, context: &Value) -> Value {
    let mut request = ctx.cloud_request(api);
    request.insert("object".into(), with_class(object, class));
    // The context this save carries from trigger to trigger, in place of the request's.
    request.insert("context".into(), context.clone());
    if let Some(original) = original {
        request.insert("original".into(), original);
    }
    Value::Object(request)
}
