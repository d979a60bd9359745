//! The hooks API (master key only): register, change and remove webhooks for functions and
//! triggers. Registrations are `_Hooks` objects, as in Parse Server, so they survive restarts;
//! the registry holds the live copy.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, master_required, Api, Ctx, Reply};
use crate::data::{Access, Database, FindOptions, SystemClass, SystemWrite};
use crate::error::{ErrorCode, ParseError};
use crate::registry::{webhook_trigger, Webhooks};
use crate::runtime::TriggerKind;

pub const HOOKS: &str = SystemClass::Hooks.name();

fn hook_error(message: impl Into<String>) -> ParseError {
    ParseError::new(ErrorCode::INVALID_IMAGE_DATA, message)
}

/// Every stored registration, for start-up.
pub fn load(db: &Database) -> Result<Webhooks, ParseError> {
    Ok(Webhooks::from_stored(&stored(db)?))
}

fn stored(db: &Database) -> Result<Vec<Map<String, Value>>, ParseError> {
    let options = FindOptions { limit: Some(usize::MAX), ..FindOptions::default() };
    Ok(db.find(&Access::master(), HOOKS, &options)?.0)
}

/// What a hooks request names: a function, or a class's trigger.
#[derive(Clone)]
pub enum Hook {
    Function(String),
    Trigger(String, String),
}

impl Hook {
    fn matches(&self, stored: &Map<String, Value>) -> bool {
        let text = |key: &str| stored.get(key).and_then(Value::as_str);
        match self {
            Hook::Function(name) => text("functionName") == Some(name) && text("className").is_none(),
            Hook::Trigger(class, trigger) => text("className") == Some(class) && text("triggerName") == Some(trigger),
        }
    }

    fn describe(&self) -> String {
        match self {
            Hook::Function(name) => format!("function name: {name}"),
            Hook::Trigger(class, trigger) => format!("class {class} and trigger {trigger}"),
        }
    }

    fn record(&self, url: &str) -> Map<String, Value> {
        let mut record = Map::new();
        match self {
            Hook::Function(name) => {
                record.insert("functionName".into(), Value::String(name.clone()));
            }
            Hook::Trigger(class, trigger) => {
                record.insert("className".into(), Value::String(class.clone()));
                record.insert("triggerName".into(), Value::String(trigger.clone()));
            }
        }
        record.insert("url".into(), Value::String(url.to_string()));
        record
    }

    fn json(&self, url: &str) -> Value {
        Value::Object(self.record(url))
    }

    /// Checks the names: a known trigger, and not `_User` / `_Installation` (the seed's rule).
    fn check(&self) -> Result<(), ParseError> {
        match self {
            Hook::Function(name) if name.is_empty() => Err(hook_error("invalid hook declaration: functionName is required")),
            Hook::Trigger(class, _) if class == "_User" || class == "_Installation" => {
                Err(hook_error(format!("webhooks cannot be set for the special class {class}")))
            }
            Hook::Trigger(class, _) if class.is_empty() => Err(hook_error("invalid hook declaration: className is required")),
            Hook::Trigger(_, trigger) if webhook_trigger(trigger).is_none() => {
                let names: Vec<&str> = TriggerKind::WEBHOOK.iter().map(|kind| kind.as_str()).collect();
                Err(hook_error(format!("invalid trigger name: {trigger}; use one of {}", names.join(", "))))
            }
            _ => Ok(()),
        }
    }

    /// Changes the live registrations to match the stored ones. Runs after `check`, so a
    /// trigger's name is one a webhook may answer.
    fn apply(&self, webhooks: &mut Webhooks, url: Option<&str>) {
        match self {
            Hook::Function(name) => match url {
                Some(url) => webhooks.functions.insert(name.clone(), url.to_string()),
                None => webhooks.functions.remove(name),
            },
            Hook::Trigger(class, trigger) => {
                let Some(key) = webhook_trigger(trigger).map(|kind| (class.clone(), kind)) else { return };
                match url {
                    Some(url) => webhooks.triggers.insert(key, url.to_string()),
                    None => webhooks.triggers.remove(&key),
                }
            }
        };
    }
}

/// `GET /hooks/functions` or `/hooks/triggers`: a bare array of the registered webhooks
/// (`{functionName, url}` / `{className, triggerName, url}`), followed by the handlers main.js
/// defines, without a `url`: the dashboard's Webhooks page lists those as "Cloud Code", and
/// one that a webhook of the same name shadows as "Overridden".
pub fn list(api: &Arc<Api>, ctx: &Ctx, functions: bool) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let mut hooks: Vec<Value> = stored(&api.db)?
        .into_iter()
        .filter(|h| h.get("functionName").is_some_and(Value::is_string) == functions)
        .map(|h| {
            let hook = match h.get("functionName").and_then(Value::as_str) {
                Some(name) => Hook::Function(name.to_string()),
                None => Hook::Trigger(
                    h.get("className").and_then(Value::as_str).unwrap_or_default().to_string(),
                    h.get("triggerName").and_then(Value::as_str).unwrap_or_default().to_string(),
                ),
            };
            hook.json(h.get("url").and_then(Value::as_str).unwrap_or_default())
        })
        .collect();
    if functions {
        hooks.extend(api.registry.cloud_functions().into_iter().map(|name| json!({ "functionName": name })));
    } else {
        let triggers = api.registry.cloud_triggers().into_iter();
        hooks.extend(triggers.map(|(class, kind)| json!({ "className": class, "triggerName": kind.as_str() })));
    }
    Ok(Reply::json(&Value::Array(hooks)))
}

/// `GET /hooks/functions/:name` or `/hooks/triggers/:className/:triggerName`.
pub fn get(api: &Arc<Api>, ctx: &Ctx, hook: Hook) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let found = stored(&api.db)?.into_iter().find(|h| hook.matches(h));
    let found = found.ok_or_else(|| hook_error(format!("no {} is defined", hook.describe())))?;
    Ok(Reply::json(&hook.json(found.get("url").and_then(Value::as_str).unwrap_or_default())))
}

/// The hook a POST body declares.
fn declared(body: &Map<String, Value>, functions: bool) -> Result<Hook, ParseError> {
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let hook = if functions {
        Hook::Function(text("functionName").ok_or_else(|| hook_error("invalid hook declaration: functionName is required"))?)
    } else {
        Hook::Trigger(
            text("className").ok_or_else(|| hook_error("invalid hook declaration: className is required"))?,
            text("triggerName").ok_or_else(|| hook_error("invalid hook declaration: triggerName is required"))?,
        )
    };
    hook.check()?;
    Ok(hook)
}

/// `POST /hooks/functions` / `/hooks/triggers`: registers a new webhook.
pub async fn create(api: &Arc<Api>, ctx: &Ctx, functions: bool, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let hook = declared(&body, functions)?;
    let url = checked_url(api, &body).await?;
    if stored(&api.db)?.iter().any(|h| hook.matches(h)) {
        return Err(hook_error(format!("{} already exists", hook.describe())));
    }
    let mut record = hook.record(&url);
    record.insert("ACL".into(), json!({}));
    {
        let api = api.clone();
        blocking(move || {
            api.db.write_system(SystemClass::Hooks, SystemWrite::Create { id: None, fields: record })?;
            Ok(())
        })
        .await?;
    }
    api.registry.update_webhooks(|w| hook.apply(w, Some(&url)));
    Ok(Reply::json(&hook.json(&url)))
}

/// `PUT` on a hook: `{url}` changes it, `{"__op":"Delete"}` removes it.
pub async fn update(api: &Arc<Api>, ctx: &Ctx, hook: Hook, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    hook.check()?;
    let existing = stored(&api.db)?.into_iter().find(|h| hook.matches(h));
    let existing = existing.ok_or_else(|| hook_error(format!("no {} is defined", hook.describe())))?;
    let id = existing.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
    let delete = body.get("__op").and_then(Value::as_str) == Some("Delete");
    let url = if delete { None } else { Some(checked_url(api, &body).await?) };
    {
        let (api, url) = (api.clone(), url.clone());
        blocking(move || {
            let write = match url {
                None => SystemWrite::Delete { id },
                Some(url) => {
                    let mut fields = Map::new();
                    fields.insert("url".into(), Value::String(url));
                    SystemWrite::Update { id, fields }
                }
            };
            api.db.write_system(SystemClass::Hooks, write)?;
            Ok(())
        })
        .await?;
    }
    api.registry.update_webhooks(|w| hook.apply(w, url.as_deref()));
    Ok(match url {
        Some(url) => Reply::json(&hook.json(&url)),
        None => Reply::ok("{}"),
    })
}

/// The body's URL, if it is one a webhook may have (https with a trusted certificate).
async fn checked_url(api: &Api, body: &Map<String, Value>) -> Result<String, ParseError> {
    let url = body.get("url").and_then(Value::as_str).ok_or_else(|| hook_error("invalid hook declaration: url is required"))?;
    api.webhooks.check_certificate(url).await.map_err(|e| hook_error(e.to_string()))?;
    Ok(url.to_string())
}
