//! `{mount}/config`: Parse Config, the app-wide parameters `Parse.Config.get()` reads.
//! Stored as the one `_GlobalConfig` object (id "1"), as Parse Server keeps it; `PUT` with the
//! master key merges `params` (a `{"__op":"Delete"}` value removes one) and `masterKeyOnly`.

use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use super::context::{blocking, master_required, Api, Ctx, Reply};
use crate::data::{SystemClass, SystemWrite};
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

/// Held across a `PUT /config`'s read of the config row and its write: the write holds every
/// parameter, computed from that read, so two PUTs of different parameters at once would
/// otherwise each write back the row without the other's.
static CONFIG_WRITER: Mutex<()> = Mutex::new(());

/// `PUT /config` (master key): `{"params": {...}, "masterKeyOnly": {...}}` → `{"result": true}`.
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
    let api = api.clone();
    blocking(move || {
        let _one_writer = CONFIG_WRITER.lock().unwrap_or_else(|p| p.into_inner());
        let current = api.db.store().get(GLOBAL_CONFIG, ID)?;
        let field = |key: &str| current.as_ref().and_then(|c| c.get(key)).and_then(Value::as_object).cloned().unwrap_or_default();
        let (mut params, mut flags) = (field("params"), field("masterKeyOnly"));
        // As Parse Server: each changed parameter's flag is set with it (false unless sent).
        for (key, value) in changes {
            if is_delete(&value) {
                params.remove(&key);
                flags.remove(&key);
            } else {
                let flag = master_only.get(&key).and_then(Value::as_bool).unwrap_or(false);
                flags.insert(key.clone(), Value::Bool(flag));
                params.insert(key, value);
            }
        }
        for (key, value) in master_only {
            match value {
                Value::Bool(flag) if params.contains_key(&key) => {
                    flags.insert(key, Value::Bool(flag));
                }
                _ if is_delete(&value) => {
                    flags.remove(&key);
                }
                _ => {}
            }
        }
        let mut write = Map::new();
        write.insert("params".into(), Value::Object(params));
        write.insert("masterKeyOnly".into(), Value::Object(flags));
        let write = match current {
            Some(_) => SystemWrite::Update { id: ID.to_string(), fields: write },
            None => {
                write.insert("ACL".into(), json!({}));
                SystemWrite::Create { id: Some(ID.to_string()), fields: write }
            }
        };
        api.db.write_system(SystemClass::GlobalConfig, write)?;
        Ok(Reply::json(&json!({ "result": true })))
    })
    .await
}
