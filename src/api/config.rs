//! `{mount}/config`: Parse Config, the app-wide parameters `Parse.Config.get()` reads.
//! Stored as the one `_GlobalConfig` object (id "1"), as Parse Server keeps it; `PUT` with the
//! master key merges `params` (a `{"__op":"Delete"}` value removes one) and `masterKeyOnly`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, master_required, Api, Ctx, Reply};
use crate::data::{DataError, SystemClass, SystemWrite};
use crate::store::StoreError;
use crate::error::{ErrorCode, ParseError};

const GLOBAL_CONFIG: &str = SystemClass::GlobalConfig.name();
const ID: &str = "1";

/// `GET /config`: every parameter; those marked master-key-only only with the master key.
pub fn get(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    let stored = api.db.store().get(GLOBAL_CONFIG, ID)?;
    let field = |key: &str| stored.as_ref().and_then(|c| c.get(key)).and_then(Value::as_object).cloned().unwrap_or_default();
    let (mut params, master_only) = (field("params"), field("masterKeyOnly"));
    if ctx.master {
        return Ok(Reply::json(&json!({ "params": params, "masterKeyOnly": master_only })));
    }
    params.retain(|key, _| master_only.get(key) != Some(&Value::Bool(true)));
    Ok(Reply::json(&json!({ "params": params })))
}

fn is_delete(value: &Value) -> bool {
    value.get("__op").and_then(Value::as_str) == Some("Delete")
}

/// `PUT /config` (master key): `{"params": {...}, "masterKeyOnly": {...}}` → `{"result": true}`.
///
/// Written as dotted changes of the stored row (`params.<name>`, `masterKeyOnly.<name>`), as
/// Parse Server writes them, not as the whole row computed from a read: the update applies them
/// to the row as stored, so PUTs of different parameters at once, on one node or on several
/// sharing a database, all keep theirs.
pub async fn update(api: &Arc<Api>, ctx: &Ctx, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let object = |key: &str| match body.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(ParseError::new(ErrorCode::INVALID_JSON, format!("{key} must be an object"))),
    };
    let (changes, master_only) = (object("params")?, object("masterKeyOnly")?);
    if let Some(name) = changes.keys().chain(master_only.keys()).find(|name| !valid_name(name)) {
        return Err(ParseError::new(ErrorCode::INVALID_KEY_NAME, format!("invalid config parameter name: {name:?}")));
    }
    let api = api.clone();
    blocking(move || {
        loop {
            let current = api.db.store().get(GLOBAL_CONFIG, ID)?;
            let held = |name: &str| current.as_ref().and_then(|c| c.get("params")).and_then(|p| p.get(name)).is_some();
            let write = match current {
                Some(_) => SystemWrite::Update { id: ID.to_string(), fields: dotted_changes(&changes, &master_only, held) },
                None => {
                    let mut fields = Map::new();
                    fields.insert("params".into(), json!({}));
                    fields.insert("masterKeyOnly".into(), json!({}));
                    fields.insert("ACL".into(), json!({}));
                    SystemWrite::Create { id: Some(ID.to_string()), fields }
                }
            };
            let created = matches!(write, SystemWrite::Create { .. });
            match api.db.write_system(SystemClass::GlobalConfig, write) {
                // The row is made empty first, then changed as any other PUT changes it.
                Ok(_) if created => continue,
                Ok(_) => return Ok(Reply::json(&json!({ "result": true }))),
                // Another PUT (on this node or another) made the row or deleted it meanwhile.
                Err(DataError::Store(StoreError::Duplicate) | DataError::ObjectNotFound) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    })
    .await
}

/// A parameter name a dotted key can carry: the name is one segment of the stored row's path.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('.') && !name.starts_with('$')
}

/// The row's changes for a PUT: each changed parameter is set with its flag (false unless
/// sent, as Parse Server does) or deleted with it; a flag sent alone changes a parameter the
/// row holds (`held`) and is otherwise ignored.
fn dotted_changes(changes: &Map<String, Value>, master_only: &Map<String, Value>, held: impl Fn(&str) -> bool) -> Map<String, Value> {
    let delete = || json!({"__op": "Delete"});
    let mut fields = Map::new();
    for (name, value) in changes {
        if is_delete(value) {
            fields.insert(format!("params.{name}"), delete());
            fields.insert(format!("masterKeyOnly.{name}"), delete());
        } else {
            let flag = master_only.get(name).and_then(Value::as_bool).unwrap_or(false);
            fields.insert(format!("params.{name}"), value.clone());
            fields.insert(format!("masterKeyOnly.{name}"), Value::Bool(flag));
        }
    }
    for (name, value) in master_only {
        if changes.contains_key(name) {
            continue;
        }
        match value {
            Value::Bool(flag) if held(name) => {
                fields.insert(format!("masterKeyOnly.{name}"), Value::Bool(*flag));
            }
            _ if is_delete(value) => {
                fields.insert(format!("masterKeyOnly.{name}"), delete());
            }
            _ => {}
        }
    }
    fields
}
