//! `/installations` and the rules of `_Installation` rows, as Parse Server keeps them: a
//! device is one row. A save naming an `installationId` (or a `deviceToken`) that a row holds
//! already updates that row instead of adding one; a `deviceToken` moving to a new
//! installation is taken from the rows that held it; `installationId` and `deviceType` never
//! change; only the master key lists or deletes installations.
//!
//! The lookups and the write run under one lock, so two saves of one device at once cannot
//! both create a row.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, Api, Ctx, Reply};
use super::{classes, pipeline};
use crate::data::schema::SERVER_OWNED_FIELDS;
use crate::data::{Access, DataError, FindOptions};
use crate::error::{ErrorCode, ParseError};

pub const INSTALLATION: &str = "_Installation";

/// Parse's code for a required id field that is missing (unnamed in the SDKs).
const MISSING_ID: ErrorCode = ErrorCode::MISSING_TARGET_CLASS;
/// Parse's code for a field that may not change.
const FIELD_CANNOT_CHANGE: ErrorCode = ErrorCode::FIELD_CANNOT_CHANGE;
/// Parse's code for an installation write it cannot attribute to one row.
const INVALID_INSTALLATION: ErrorCode = ErrorCode::INVALID_INSTALLATION_ID;

fn forbidden(operation: &str) -> ParseError {
    ParseError::new(
        ErrorCode::OPERATION_FORBIDDEN,
        format!("Clients aren't allowed to perform the {operation} operation on the installation collection."),
    )
}

/// `GET /installations`: the master key only, as Parse Server.
pub async fn find(api: &Arc<Api>, ctx: &Ctx, params: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(forbidden("find"));
    }
    classes::find(api, ctx, INSTALLATION, params).await
}

/// `DELETE /installations/:id`: the master key only.
pub async fn delete(api: &Arc<Api>, ctx: &Ctx, id: &str) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(forbidden("delete"));
    }
    classes::delete(api, ctx, INSTALLATION, id).await
}

/// Refuses an id field that is not a string (111 with Parse Server's wording).
fn check_types(body: &Map<String, Value>) -> Result<(), ParseError> {
    for field in ["deviceToken", "installationId", "appIdentifier"] {
        let kind = match body.get(field) {
            None | Some(Value::Null) | Some(Value::String(_)) => continue,
            Some(Value::Object(op)) if field == "appIdentifier" && op.get("__op") == Some(&json!("Delete")) => continue,
            Some(Value::Array(_)) => "Array",
            Some(Value::Object(_)) => "Object",
            Some(Value::Number(_)) => "Number",
            Some(Value::Bool(_)) => "Boolean",
        };
        return Err(ParseError::new(
            ErrorCode::INCORRECT_TYPE,
            format!("schema mismatch for _Installation.{field}; expected String but got {kind}"),
        ));
    }
    Ok(())
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Every installation whose `field` is `value`.
fn rows_with(api: &Api, field: &str, value: &str) -> Result<Vec<Map<String, Value>>, ParseError> {
    let options = FindOptions { where_: json!({ field: value }), limit: Some(usize::MAX), ..FindOptions::default() };
    Ok(api.db.find(&Access::master(), INSTALLATION, &options)?.0)
}

fn delete_rows(api: &Api, rows: &[Map<String, Value>]) -> Result<(), ParseError> {
    for row in rows {
        if let Some(id) = text(row, "objectId") {
            match api.db.delete(INSTALLATION, id) {
                Ok(()) => {}
                Err(DataError::ObjectNotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(())
}

/// What a save of an installation becomes once the rows of its device are known.
enum Target {
    Create,
    Update(String),
}

/// Saves an installation (`POST /installations`, `PUT /installations/:id`, and the same on
/// `/classes/_Installation`). `id` is None for a create.
pub async fn save(api: &Arc<Api>, ctx: &Ctx, id: Option<&str>, mut body: Map<String, Value>) -> Result<Reply, ParseError> {
    check_types(&body)?;
    if let Some(token) = text(&body, "deviceToken").filter(|t| t.len() == 64).map(str::to_lowercase) {
        body.insert("deviceToken".into(), Value::String(token));
    }
    if let Some(installation) = text(&body, "installationId").map(str::to_lowercase) {
        body.insert("installationId".into(), Value::String(installation));
    }
    let from_header = if ctx.master { None } else { ctx.installation_id.as_deref().map(str::to_lowercase) };
    let installation_id = text(&body, "installationId").map(str::to_string).or(from_header);
    if id.is_none() && text(&body, "deviceToken").is_none() && installation_id.is_none() {
        return Err(ParseError::new(MISSING_ID, "at least one ID field (deviceToken, installationId) must be specified in this operation"));
    }
    if let (None, Some(installation)) = (id, &installation_id) {
        body.entry("installationId").or_insert_with(|| Value::String(installation.clone()));
    }
    let _writing = api.installations.writes.lock().await;
    let target = {
        let (api, id, body, installation_id) = (api.clone(), id.map(str::to_string), body.clone(), installation_id.clone());
        blocking(move || resolve(&api, id.as_deref(), &body, installation_id.as_deref())).await?
    };
    match target {
        Target::Create => {
            // `_Installation` exists for every app, as on Parse Server: a device's first save
            // creates it even where clients may not create classes.
            let prepared = api.db.prepare_create(&Access::master(), INSTALLATION, body)?;
            let saved = pipeline::save(api, ctx, prepared).await?;
            let new_id = saved.object.get("objectId").and_then(Value::as_str).unwrap_or_default();
            let location = format!("{}/installations/{new_id}", api.config.mount);
            Ok(Reply::created(Value::Object(saved.response).to_string(), location))
        }
        Target::Update(existing) => {
            body.retain(|key, _| !SERVER_OWNED_FIELDS.contains(&key.as_str()));
            let prepared = api.db.prepare_update(&ctx.access(), INSTALLATION, &existing, body)?;
            let saved = pipeline::save(api, ctx, prepared).await?;
            let mut response = saved.response;
            if id.is_none() {
                // A create that found its device: the client learns which row it is.
                response.insert("objectId".into(), Value::String(existing));
            }
            Ok(Reply::json(&Value::Object(response)))
        }
    }
}

/// Parse Server's merge rules (its `handleInstallation`): which row the save writes, and which
/// rows lose a device token they no longer hold.
fn resolve(api: &Api, id: Option<&str>, body: &Map<String, Value>, installation_id: Option<&str>) -> Result<Target, ParseError> {
    let device_token = text(body, "deviceToken");
    // An update naming no id field changes no device: nothing to merge.
    if let (Some(id), None, None, None) = (id, device_token, installation_id, text(body, "deviceType")) {
        return Ok(Target::Update(id.to_string()));
    }
    let by_object_id = match id {
        Some(id) => Some(api.db.store().get(INSTALLATION, id).map_err(|e| ParseError::new(ErrorCode::INTERNAL_SERVER_ERROR, e.to_string()))?.ok_or_else(
            || ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "Object not found for update."),
        )?),
        None => None,
    };
    if let Some(current) = &by_object_id {
        if let (Some(new), Some(old)) = (text(body, "installationId"), text(current, "installationId")) {
            if new != old {
                return Err(ParseError::new(FIELD_CANNOT_CHANGE, "installationId may not be changed in this operation"));
            }
        }
        if let (Some(new), Some(old)) = (device_token, text(current, "deviceToken")) {
            if new != old && text(body, "installationId").is_none() && text(current, "installationId").is_none() {
                return Err(ParseError::new(FIELD_CANNOT_CHANGE, "deviceToken may not be changed in this operation"));
            }
        }
        if let Some(new) = text(body, "deviceType") {
            if Some(new) != text(current, "deviceType") {
                return Err(ParseError::new(FIELD_CANNOT_CHANGE, "deviceType may not be changed in this operation"));
            }
        }
    }
    let by_installation = match installation_id {
        Some(installation) => rows_with(api, "installationId", installation)?.into_iter().next(),
        None => None,
    };
    let token_rows = match device_token {
        Some(token) => rows_with(api, "deviceToken", token)?,
        None => Vec::new(),
    };
    let matched = by_installation.or_else(|| by_object_id.map(|o| (*o).clone()));
    let Some(matched) = matched else {
        if id.is_none() && text(body, "deviceType").is_none() {
            return Err(ParseError::new(MISSING_ID, "deviceType must be specified in this operation"));
        }
        return match token_rows.as_slice() {
            [] => Ok(Target::Create),
            [only] if text(only, "installationId").is_none() || installation_id.is_none() => {
                Ok(Target::Update(text(only, "objectId").unwrap_or_default().to_string()))
            }
            _ if text(body, "installationId").is_none() => Err(ParseError::new(
                INVALID_INSTALLATION,
                "Must specify installationId when deviceToken matches multiple Installation objects",
            )),
            _ => {
                let others: Vec<_> = token_rows.into_iter().filter(|row| text(row, "installationId") != installation_id).collect();
                delete_rows(api, &others)?;
                Ok(Target::Create)
            }
        };
    };
    let matched_id = text(&matched, "objectId").unwrap_or_default().to_string();
    if let [only] = token_rows.as_slice() {
        if text(only, "installationId").is_none() {
            // The token's row had no installation yet: it becomes this device's row.
            let only_id = text(only, "objectId").unwrap_or_default().to_string();
            if only_id != matched_id {
                delete_rows(api, std::slice::from_ref(&matched))?;
            }
            return Ok(Target::Update(only_id));
        }
    }
    if device_token.is_some() && text(&matched, "deviceToken") != device_token {
        let others: Vec<_> = token_rows.into_iter().filter(|row| text(row, "objectId") != Some(matched_id.as_str())).collect();
        delete_rows(api, &others)?;
    }
    Ok(Target::Update(matched_id))
}
