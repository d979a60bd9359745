//! `GET {mount}/schemas[/:className]` (master key): the classes and their field types, as the
//! schema API (and `Parse.Schema`, the dashboard) reads them. Classes are made by saving
//! objects; changing schemas through this API is not offered yet.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{jobs::master_required, Api, Ctx, Reply};
use crate::error::{ErrorCode, ParseError};

/// What `/serverInfo` tells the dashboard this API does with schemas: reading only, so far
/// (the dashboard's data browser needs all four class and field changes).
pub fn features() -> Value {
    json!({
        "addField": false, "removeField": false, "addClass": false, "removeClass": false,
        "clearAllDataFromClass": false, "exportClass": false,
        "editClassLevelPermissions": false, "editPointerPermissions": false,
    })
}

/// Open to everyone, as Parse Server's default class-level permissions are.
fn permissions() -> Value {
    let everyone = json!({"*": true});
    json!({
        "find": everyone, "count": everyone, "get": everyone, "create": everyone,
        "update": everyone, "delete": everyone, "addField": everyone, "protectedFields": {"*": []},
    })
}

fn with_permissions(mut schema: Value) -> Value {
    schema["classLevelPermissions"] = permissions();
    schema
}

pub fn list(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let results: Vec<Value> = api.db.schemas().into_iter().map(with_permissions).collect();
    Ok(Reply::json(&json!({ "results": results })))
}

pub fn get(api: &Arc<Api>, ctx: &Ctx, class: &str) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let schema = api.db.schemas().into_iter().find(|s| s["className"] == json!(class));
    let schema = schema.ok_or_else(|| ParseError::new(ErrorCode(103), format!("Class {class} does not exist.")))?;
    Ok(Reply::json(&with_permissions(schema)))
}
