//! Job schedules: `{mount}/cloud_code/jobs` stores them as `_JobSchedule` objects (as Parse
//! Server does), and — unlike Parse Server, like Parse.com — cloudrt runs them: the clock that
//! decides when is src/scheduler.rs, a front door of its own beside http/.
//!
//! When a schedule runs (never before `startAfter`): with `repeatMinutes` alone, from
//! `startAfter` every that many minutes; with `timeOfDay` (UTC), on each day `daysOfWeek`
//! enables, at that time and then every `repeatMinutes` until midnight (once a day without a
//! repeat, or with the dashboard's 1440); with neither, once at `startAfter`.
//! Catch-up rule: after downtime only the latest missed occurrence runs, once; `lastRun`
//! records each occurrence (epoch milliseconds) before it starts, so none runs twice, even across restarts.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, master_required, Api, Ctx, Reply};
use super::jobs::{self, Source};
use crate::data::{ids, Access, FindOptions, SystemClass, SystemWrite};
use crate::error::{ErrorCode, ParseError};
use crate::store::StoreError;

pub const JOB_SCHEDULE: &str = SystemClass::JobSchedule.name();


fn invalid(message: &str) -> ParseError {
    ParseError::new(ErrorCode::SCRIPT_FAILED, message.to_string())
}

/// `GET /cloud_code/jobs`: every schedule, as a bare array.
pub fn list(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    Ok(Reply::json(&Value::Array(all(api)?)))
}

fn all(api: &Api) -> Result<Vec<Value>, ParseError> {
    let options = FindOptions { limit: Some(usize::MAX), ..FindOptions::default() };
    let (schedules, _) = api.db.find(&Access::master(), JOB_SCHEDULE, &options)?;
    Ok(schedules.into_iter().map(Value::Object).collect())
}

/// `GET /cloud_code/jobs/data`: the jobs main.js defines, and those schedules use.
pub fn data(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let mut in_use: Vec<Value> = Vec::new();
    for schedule in all(api)? {
        if let Some(name) = schedule.get("jobName").filter(|n| !in_use.contains(n)) {
            in_use.push(name.clone());
        }
    }
    Ok(Reply::json(&json!({ "jobs": api.registry.job_names(), "in_use": in_use })))
}

/// The `job_schedule` of a body, checked: a defined job, sane times and numbers.
fn schedule_fields(api: &Api, body: &Map<String, Value>, creating: bool) -> Result<Map<String, Value>, ParseError> {
    let Some(Value::Object(schedule)) = body.get("job_schedule") else {
        return Err(ParseError::new(ErrorCode::INVALID_JSON, "job_schedule must be an object"));
    };
    let mut fields = Map::new();
    for (key, value) in schedule {
        match key.as_str() {
            "jobName" => {
                let name = value.as_str().ok_or_else(|| invalid("jobName must be a string"))?;
                if api.registry.job(name).is_none() {
                    return Err(invalid(&format!("Cannot schedule a job that is not deployed: \"{name}\"")));
                }
            }
            "description" | "timeOfDay" if !value.is_string() && !value.is_null() => {
                return Err(invalid(&format!("{key} must be a string")));
            }
            "timeOfDay" => {
                if value.as_str().is_some_and(|t| time_of_day_ms(t).is_none()) {
                    return Err(invalid("timeOfDay must look like HH:MM or HH:MM:SS (UTC)"));
                }
            }
            "startAfter" => {
                let iso = value.as_str().or_else(|| value.get("iso").and_then(Value::as_str));
                if iso.and_then(ids::millis_from_iso).is_none() {
                    return Err(invalid("startAfter must be an ISO 8601 date"));
                }
            }
            "repeatMinutes" => {
                if !value.is_null() && value.as_f64().is_none_or(|m| m <= 0.0) {
                    return Err(invalid("repeatMinutes must be a positive number"));
                }
            }
            "daysOfWeek" => {
                let valid = value.is_null()
                    || value.as_array().is_some_and(|days| days.iter().all(|d| d.as_u64().is_some_and(|d| d < 7)));
                if !valid {
                    return Err(invalid("daysOfWeek must be seven 0/1 flags (Sunday first) or day numbers 0 (Sunday) to 6"));
                }
            }
            "params" | "description" => {}
            _ => continue,
        }
        let value = match (key.as_str(), value) {
            ("startAfter", Value::Object(date)) => date.get("iso").cloned().unwrap_or(Value::Null),
            // Stored as a JSON string, as Parse Server's _JobSchedule schema has it.
            ("params", Value::Object(_)) => Value::String(value.to_string()),
            ("params", Value::String(text)) => {
                if !serde_json::from_str::<Value>(text).is_ok_and(|p| p.is_object()) {
                    return Err(invalid("params must be a JSON object"));
                }
                value.clone()
            }
            ("params", Value::Null) => Value::Null,
            ("params", _) => return Err(invalid("params must be a JSON object")),
            _ => value.clone(),
        };
        fields.insert(key.clone(), value);
    }
    if creating {
        if !fields.contains_key("jobName") {
            return Err(invalid("jobName is required"));
        }
        fields.entry("startAfter").or_insert_with(|| Value::String(ids::now_iso()));
    }
    Ok(fields)
}

/// `POST /cloud_code/jobs` with `{job_schedule: {...}}`.
pub async fn create(api: &Arc<Api>, ctx: &Ctx, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let mut fields = schedule_fields(api, &body, true)?;
    fields.insert("ACL".into(), json!({}));
    let api = api.clone();
    blocking(move || {
        let saved = api.db.write_system(SystemClass::JobSchedule, SystemWrite::Create { id: None, fields })?;
        Ok(Reply::json(&Value::Object(saved.map(|saved| saved.response).unwrap_or_default())))
    })
    .await
}

/// `PUT /cloud_code/jobs/:id` with `{job_schedule: {...}}`.
pub async fn update(api: &Arc<Api>, ctx: &Ctx, id: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let fields = schedule_fields(api, &body, false)?;
    let (api, id) = (api.clone(), id.to_string());
    blocking(move || {
        api.db.write_system(SystemClass::JobSchedule, SystemWrite::Update { id, fields })?;
        Ok(Reply::ok("{}"))
    })
    .await
}

/// `DELETE /cloud_code/jobs/:id`: no future runs.
pub async fn delete(api: &Arc<Api>, ctx: &Ctx, id: &str) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let (api, id) = (api.clone(), id.to_string());
    blocking(move || {
        api.db.prepare_delete(&Access::master(), JOB_SCHEDULE, &id)?;
        api.db.write_system(SystemClass::JobSchedule, SystemWrite::Delete { id })?;
        Ok(Reply::ok("{}"))
    })
    .await
}

/// `POST /cloud_code/jobs/:id/run`: runs a schedule's job now ("Run Now").
pub async fn run_now(api: &Arc<Api>, ctx: &Ctx, id: &str) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let schedule = api.db.get(&Access::master(), JOB_SCHEDULE, id, &[], None)?;
    let job_id = run(api, &schedule).await?;
    Ok(Reply { status: 200, body: "{}".into(), headers: vec![("x-parse-job-status-id", job_id)] })
}

async fn run(api: &Arc<Api>, schedule: &Map<String, Value>) -> Result<String, ParseError> {
    let name = schedule.get("jobName").and_then(Value::as_str).unwrap_or_default();
    let params = schedule
        .get("params")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Map<String, Value>>(text).ok())
        .unwrap_or_default();
    jobs::start(api, name, params, Source::Schedule).await
}

/// Every stored schedule, for the scheduler.
pub fn stored(api: &Api) -> Result<Vec<Map<String, Value>>, ParseError> {
    Ok(all(api)?.into_iter().filter_map(|schedule| match schedule {
        Value::Object(schedule) => Some(schedule),
        _ => None,
    }).collect())
}

/// Runs `schedule`'s `occurrence` (epoch milliseconds): records it as the schedule's `lastRun`
/// first, so no occurrence runs twice even across restarts, then starts the job.
pub async fn run_occurrence(api: &Arc<Api>, schedule: &Map<String, Value>, occurrence: i64) -> Result<(), ParseError> {
    let id = schedule.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
    let claimed = {
        let api = api.clone();
        blocking(move || claim_occurrence(&api, id, occurrence)).await?
    };
    if claimed {
        run(api, schedule).await?;
    }
    Ok(())
}

/// Records `occurrence` as the schedule's `lastRun`; false when it or a later one is recorded
/// already. On a store other nodes share, two nodes may both believe they lead for a moment
/// (the old leader has not yet seen its connection close): there the record is one
/// compare-and-set in the store, so only one of them runs the occurrence.
fn claim_occurrence(api: &Api, id: String, occurrence: i64) -> Result<bool, ParseError> {
    // Milliseconds since the epoch, as Parse Server's _JobSchedule schema types it.
    let fields = jobs::as_map(json!({ "lastRun": occurrence }));
    if api.db.store().nodes().is_none() {
        api.db.write_system(SystemClass::JobSchedule, SystemWrite::Update { id, fields })?;
        return Ok(true);
    }
    let store = api.db.store();
    let Some(current) = store.get(JOB_SCHEDULE, &id)? else { return Ok(false) };
    if current.get("lastRun").and_then(Value::as_i64).is_some_and(|last| last >= occurrence) {
        return Ok(false);
    }
    let mut claimed = (*current).clone();
    claimed.extend(fields);
    claimed.insert("updatedAt".into(), Value::String(ids::now_iso()));
    match store.update(JOB_SCHEDULE, &id, claimed, Some(&current)) {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict | StoreError::NotFound) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// "HH:MM", "HH:MM:SS" or "HH:MM:SS.sssZ" → milliseconds after midnight UTC.
pub fn time_of_day_ms(text: &str) -> Option<i64> {
    let text = text.trim_end_matches('Z');
    let mut parts = text.split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0.0);
    if parts.next().is_some() || !(0..24).contains(&hours) || !(0..60).contains(&minutes) || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    Some(hours * 3_600_000 + minutes * 60_000 + (seconds * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_forms() {
        assert_eq!(time_of_day_ms("09:30"), Some(9 * 3_600_000 + 30 * 60_000));
        assert_eq!(time_of_day_ms("00:00:01.500Z"), Some(1500));
        assert_eq!(time_of_day_ms("24:00"), None);
        assert_eq!(time_of_day_ms("nine"), None);
    }
}
