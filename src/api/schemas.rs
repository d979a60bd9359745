//! `{mount}/schemas[/:className]` and `{mount}/purge/:className` (master key only, 403
//! otherwise, as Parse Server's SchemasRouter and PurgeRouter): read, create, change and delete
//! classes, and delete all of a class's objects. The Parse Dashboard's data browser and
//! `Parse.Schema` speak these routes; answers have Parse Server's shape,
//! `{className, fields, classLevelPermissions}`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, master_required, Api, Ctx, Reply};
use crate::data::clp::ClassPermissions;
use crate::error::{ErrorCode, ParseError};

/// What `/serverInfo` tells the dashboard this API does with schemas: every class and field
/// change its data browser makes (no export).
pub fn features() -> Value {
    json!({
        "addField": true, "removeField": true, "addClass": true, "removeClass": true,
        "clearAllDataFromClass": true, "exportClass": false,
        "editClassLevelPermissions": true, "editPointerPermissions": true,
    })
}

/// A schema as the API answers it: Parse Server's open default permissions when the class
/// has none of its own.
fn answer(mut schema: Value) -> Value {
    if schema.get("classLevelPermissions").is_none() {
        schema["classLevelPermissions"] = ClassPermissions::default_json();
    }
    schema
}

fn require_master(ctx: &Ctx) -> Result<(), ParseError> {
    if ctx.master {
        Ok(())
    } else {
        Err(master_required())
    }
}

pub fn list(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    require_master(ctx)?;
    let results: Vec<Value> = api.db.schemas().into_iter().map(answer).collect();
    Ok(Reply::json(&json!({ "results": results })))
}

pub fn get(api: &Arc<Api>, ctx: &Ctx, class: &str) -> Result<Reply, ParseError> {
    require_master(ctx)?;
    let schema = api.db.class_schema(class).ok_or_else(|| class_missing(class))?;
    Ok(Reply::json(&answer(api.db.schema_json(&schema))))
}

fn class_missing(class: &str) -> ParseError {
    ParseError::new(ErrorCode::INVALID_CLASS_NAME, format!("Class {class} does not exist."))
}

/// The `fields` of a body: an object, or absent.
fn fields_of(body: &Map<String, Value>) -> Result<Map<String, Value>, ParseError> {
    match body.get("fields") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(fields)) => Ok(fields.clone()),
        Some(_) => Err(ParseError::new(ErrorCode::INVALID_JSON, "fields must be an object")),
    }
}

/// The class a body names, refusing one that differs from the path's (103, Parse's words).
fn body_class<'a>(body: &'a Map<String, Value>, path_class: Option<&str>) -> Result<Option<&'a str>, ParseError> {
    let named = match body.get("className") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(name)) if name.is_empty() => return Ok(None),
        Some(Value::String(name)) => name.as_str(),
        Some(_) => return Err(ParseError::new(ErrorCode::INVALID_JSON, "className must be a string")),
    };
    match path_class {
        Some(path_class) if path_class != named => Err(ParseError::new(
            ErrorCode::INVALID_CLASS_NAME,
            format!("Class name mismatch between {named} and {path_class}."),
        )),
        _ => Ok(Some(named)),
    }
}

/// `POST /schemas[/:className]`: a new class with `fields`, `classLevelPermissions` and
/// `indexes`.
pub async fn create(api: &Arc<Api>, ctx: &Ctx, path_class: Option<&str>, body: Map<String, Value>) -> Result<Reply, ParseError> {
    require_master(ctx)?;
    let class = match (path_class, body_class(&body, path_class)?) {
        (Some(class), _) | (None, Some(class)) => class.to_owned(),
        (None, None) => return Err(ParseError::new(ErrorCode::MISSING_TARGET_CLASS, "POST /schemas needs a class name.")),
    };
    let fields = fields_of(&body)?;
    let api = api.clone();
    blocking(move || {
        let schema = api.db.create_class(&class, &fields, body.get("classLevelPermissions"), body.get("indexes"))?;
        Ok(Reply::json(&answer(api.db.schema_json(&schema))))
    })
    .await
}

/// `PUT /schemas/:className`: add fields, delete fields (`{"__op": "Delete"}`), replace the
/// class-level permissions.
pub async fn update(api: &Arc<Api>, ctx: &Ctx, class: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    require_master(ctx)?;
    body_class(&body, Some(class))?;
    let fields = fields_of(&body)?;
    let (api, class) = (api.clone(), class.to_owned());
    blocking(move || {
        let schema = api.db.update_class(&class, &fields, body.get("classLevelPermissions"), body.get("indexes"))?;
        Ok(Reply::json(&answer(api.db.schema_json(&schema))))
    })
    .await
}

/// `DELETE /schemas/:className`: an empty class's schema goes (255 while it holds objects).
pub async fn delete(api: &Arc<Api>, ctx: &Ctx, class: &str) -> Result<Reply, ParseError> {
    require_master(ctx)?;
    let (api, class) = (api.clone(), class.to_owned());
    blocking(move || {
        api.db.delete_class(&class)?;
        Ok(Reply::ok("{}"))
    })
    .await
}

/// `DELETE /purge/:className`: every object of the class goes, its schema stays.
pub async fn purge(api: &Arc<Api>, ctx: &Ctx, class: &str) -> Result<Reply, ParseError> {
    require_master(ctx)?;
    let (api, class) = (api.clone(), class.to_owned());
    blocking(move || {
        api.db.purge_class(&class)?;
        Ok(Reply::ok("{}"))
    })
    .await
}
