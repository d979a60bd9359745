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

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Number, Value};

use super::context::{blocking, master_required, Api, Ctx, Reply};
use super::jobs::{self, Source};
use crate::data::{ids, Access, FindOptions, SystemClass, SystemWrite};
use crate::error::{ErrorCode, ParseError};
use crate::store::StoreError;

pub const JOB_SCHEDULE: &str = SystemClass::JobSchedule.name();


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

/// A body's `job_schedule`, as the dashboard's form (or a client) sends it. Each field's type
/// checks its own JSON and carries the message the caller sees; a key that is present as `null`
/// is kept (`Some(None)`) so an edit can clear it, an absent key is left alone. Keys Parse Server
/// does not know are ignored, as they always were here.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleFields {
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    job_name: Option<JobName>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    description: Option<Option<Description>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    time_of_day: Option<Option<TimeOfDay>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    start_after: Option<StartAfter>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    repeat_minutes: Option<Option<RepeatMinutes>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    days_of_week: Option<Option<DaysOfWeek>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    params: Option<Option<Params>>,
}

/// A key that is there at all: its value (which may itself be `null`), so `Option<Option<_>>`
/// tells "absent" from "cleared".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A job's name (whether main.js defines it is checked against the registry afterwards).
#[derive(Deserialize, Serialize)]
#[serde(try_from = "Value")]
struct JobName(String);

impl TryFrom<Value> for JobName {
    type Error = &'static str;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match value {
            Value::String(name) => Ok(JobName(name)),
            _ => Err("jobName must be a string"),
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(try_from = "Value")]
struct Description(String);

impl TryFrom<Value> for Description {
    type Error = &'static str;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match value {
            Value::String(text) => Ok(Description(text)),
            _ => Err("description must be a string"),
        }
    }
}

/// "HH:MM", "HH:MM:SS" or "HH:MM:SS.sssZ", UTC; stored as sent.
#[derive(Deserialize, Serialize)]
#[serde(try_from = "Value")]
struct TimeOfDay(String);

impl TryFrom<Value> for TimeOfDay {
    type Error = &'static str;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match value {
            Value::String(text) if time_of_day_ms(&text).is_some() => Ok(TimeOfDay(text)),
            Value::String(_) => Err("timeOfDay must look like HH:MM or HH:MM:SS (UTC)"),
            _ => Err("timeOfDay must be a string"),
        }
    }
}

/// An ISO 8601 date, sent bare or as a Parse `Date` (`{iso}`); stored as the bare string.
#[derive(Deserialize, Serialize)]
#[serde(try_from = "Value")]
struct StartAfter(String);

impl TryFrom<Value> for StartAfter {
    type Error = &'static str;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        let iso = match &value {
            Value::Object(date) => date.get("iso").and_then(Value::as_str),
            other => other.as_str(),
        };
        match iso {
            Some(iso) if ids::millis_from_iso(iso).is_some() => Ok(StartAfter(iso.to_string())),
            _ => Err("startAfter must be an ISO 8601 date"),
        }
    }
}

/// Minutes between runs, stored as the number sent (the dashboard's 1440 stays an integer).
#[derive(Deserialize, Serialize)]
#[serde(try_from = "Value")]
struct RepeatMinutes(Number);

impl TryFrom<Value> for RepeatMinutes {
    type Error = &'static str;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match value {
            Value::Number(minutes) if minutes.as_f64().is_some_and(|m| m > 0.0) => Ok(RepeatMinutes(minutes)),
            _ => Err("repeatMinutes must be a positive number"),
        }
    }
}

/// Seven 0/1 flags (Sunday first), or day numbers 0 (Sunday) to 6: both are numbers below 7.
#[derive(Deserialize, Serialize)]
#[serde(try_from = "Value")]
struct DaysOfWeek(Vec<u8>);

impl TryFrom<Value> for DaysOfWeek {
    type Error = &'static str;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        let days = value.as_array().map(|days| {
            days.iter().map(|day| day.as_u64().filter(|d| *d < 7).map(|d| d as u8)).collect::<Option<Vec<u8>>>()
        });
        days.flatten().map(DaysOfWeek).ok_or("daysOfWeek must be seven 0/1 flags (Sunday first) or day numbers 0 (Sunday) to 6")
    }
}

/// The job's params, stored as a JSON string, as Parse Server's `_JobSchedule` schema has it;
/// sent as an object or as that string.
#[derive(Deserialize, Serialize)]
#[serde(try_from = "Value")]
struct Params(String);

impl TryFrom<Value> for Params {
    type Error = &'static str;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match value {
            Value::Object(_) => Ok(Params(value.to_string())),
            Value::String(text) if serde_json::from_str::<Value>(&text).is_ok_and(|p| p.is_object()) => Ok(Params(text)),
            _ => Err("params must be a JSON object"),
        }
    }
}

/// The `job_schedule` of a body, checked: a defined job, sane times and numbers.
fn schedule_fields(api: &Api, body: &Map<String, Value>, creating: bool) -> Result<Map<String, Value>, ParseError> {
    let Some(schedule @ Value::Object(_)) = body.get("job_schedule") else {
        return Err(ParseError::new(ErrorCode::INVALID_JSON, "job_schedule must be an object"));
    };
    let mut schedule = ScheduleFields::deserialize(schedule).map_err(invalid)?;
    if let Some(JobName(name)) = &schedule.job_name {
        if api.registry.job(name).is_none() {
            return Err(invalid(format!("Cannot schedule a job that is not deployed: \"{name}\"")));
        }
    }
    if creating {
        if schedule.job_name.is_none() {
            return Err(invalid("jobName is required"));
        }
        schedule.start_after.get_or_insert_with(|| StartAfter(ids::now_iso()));
    }
    serde_json::to_value(schedule).map(jobs::as_map).map_err(invalid)
}

fn invalid(message: impl ToString) -> ParseError {
    ParseError::new(ErrorCode::SCRIPT_FAILED, message.to_string())
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

    fn parsed(schedule: Value) -> Result<Value, String> {
        ScheduleFields::deserialize(&schedule).map(|fields| serde_json::to_value(fields).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_schedule_keeps_what_was_sent_in_its_stored_form() {
        let sent = json!({"jobName": "tick", "startAfter": {"__type": "Date", "iso": "2999-01-01T00:00:00.000Z"},
            "params": {"who": "Ada"}, "repeatMinutes": 1440, "daysOfWeek": [1, 0, 1, 1, 1, 1, 1], "description": null, "color": "red"});
        assert_eq!(
            parsed(sent),
            Ok(json!({"jobName": "tick", "startAfter": "2999-01-01T00:00:00.000Z", "params": "{\"who\":\"Ada\"}",
                "repeatMinutes": 1440, "daysOfWeek": [1, 0, 1, 1, 1, 1, 1], "description": null}))
        );
        assert_eq!(parsed(json!({})), Ok(json!({})), "absent keys stay absent");
    }

    #[test]
    fn each_bad_field_names_itself() {
        let cases = [
            (json!({"jobName": 5}), "jobName must be a string"),
            (json!({"jobName": null}), "jobName must be a string"),
            (json!({"description": 5}), "description must be a string"),
            (json!({"timeOfDay": 930}), "timeOfDay must be a string"),
            (json!({"timeOfDay": "9h30"}), "timeOfDay must look like HH:MM or HH:MM:SS (UTC)"),
            (json!({"startAfter": "tomorrow"}), "startAfter must be an ISO 8601 date"),
            (json!({"startAfter": null}), "startAfter must be an ISO 8601 date"),
            (json!({"repeatMinutes": 0}), "repeatMinutes must be a positive number"),
            (json!({"daysOfWeek": [1, 9]}), "daysOfWeek must be seven 0/1 flags (Sunday first) or day numbers 0 (Sunday) to 6"),
            (json!({"params": "[1]"}), "params must be a JSON object"),
            (json!({"params": 3}), "params must be a JSON object"),
        ];
        for (sent, message) in cases {
            assert_eq!(parsed(sent.clone()), Err(message.to_string()), "{sent}");
        }
    }
}
