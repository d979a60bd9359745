//! The scheduler: a front door of its own beside http/, which, instead of a client, the clock
//! drives. Every quarter of a schedule minute (at most 1 s) it finds the `_JobSchedule`s that
//! are due and runs them through the API (api/schedules.rs, which also says when a schedule
//! runs and the catch-up rule). With several nodes on one database only the leader runs them
//! (api/nodes.rs), and it also fails the jobs of nodes that stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::api::{nodes, schedules, Api};
use crate::data::ids;
use crate::error::ParseError;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// How often the leader looks for jobs of nodes that stopped: a look reads every running job,
/// which is too much for every tick and soon enough for a run that will never end.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Runs due schedules, forever.
pub async fn run(api: Arc<Api>) {
    let tick = (api.config.minute / 4).min(Duration::from_secs(1));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut swept: Option<Instant> = None;
    loop {
        interval.tick().await;
        if !nodes::runs_schedules(&api) {
            continue;
        }
        if let Err(error) = run_due(&api).await {
            tracing::error!("scheduler: {}", error.message);
        }
        if swept.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
            swept = Some(Instant::now());
            sweep_stopped_nodes(&api).await;
        }
    }
}

/// Fails the jobs of nodes that stopped (see [`nodes::fail_jobs_of_stopped_nodes`]): "node …
/// stopped".
async fn sweep_stopped_nodes(api: &Arc<Api>) {
    let api = api.clone();
    match tokio::task::spawn_blocking(move || nodes::fail_jobs_of_stopped_nodes(&api, |node| format!("node {node} stopped"))).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::warn!("{n} job run(s) of stopped nodes marked failed"),
        Ok(Err(error)) => tracing::error!("cannot check the jobs of stopped nodes: {}", error.message),
        Err(error) => tracing::error!("the check of stopped nodes' jobs failed: {error}"),
    }
}

/// Runs the latest occurrence of every schedule that has not run it yet.
async fn run_due(api: &Arc<Api>) -> Result<(), ParseError> {
    let now = ids::now_millis();
    let minute_ms = api.config.minute.as_millis() as i64;
    for schedule in schedules::stored(api)? {
        let Some(occurrence) = latest_occurrence(&schedule, now, minute_ms) else { continue };
        let last = schedule.get("lastRun").and_then(Value::as_i64);
        if last.is_some_and(|last| last >= occurrence) {
            continue;
        }
        if let Err(error) = schedules::run_occurrence(api, &schedule, occurrence).await {
            let id = schedule.get("objectId").and_then(Value::as_str).unwrap_or_default();
            tracing::warn!("schedule {id}: {}", error.message);
        }
    }
    Ok(())
}

/// The latest time ≤ `now` at which the schedule should have run, if any.
fn latest_occurrence(schedule: &Map<String, Value>, now: i64, minute_ms: i64) -> Option<i64> {
    let start = schedule
        .get("startAfter")
        .and_then(Value::as_str)
        .and_then(ids::millis_from_iso)
        .or_else(|| schedule.get("createdAt").and_then(Value::as_str).and_then(ids::millis_from_iso))?;
    if now < start {
        return None;
    }
    let repeat = schedule.get("repeatMinutes").and_then(Value::as_f64).filter(|m| *m > 0.0);
    let period = repeat.map(|minutes| ((minutes * minute_ms as f64) as i64).max(1));
    let time = schedule.get("timeOfDay").and_then(Value::as_str).and_then(schedules::time_of_day_ms);
    let days = enabled_days(schedule.get("daysOfWeek"));
    match (period, time) {
        (Some(period), None) => Some(start + (now - start) / period * period),
        // Each enabled day, from timeOfDay to midnight every `period` (the dashboard's "each
        // day, every N minutes, after HH:MM"; 1440 minutes is once a day at timeOfDay).
        (period, Some(time)) => {
            let today = now.div_euclid(DAY_MS);
            (0..8).find_map(|back| {
                let day = today - back;
                let anchor = day * DAY_MS + time;
                if !days[weekday(day)] || anchor > now {
                    return None;
                }
                let last_in_day = now.min((day + 1) * DAY_MS - 1);
                let at = match period {
                    Some(period) => anchor + (last_in_day - anchor) / period * period,
                    None => anchor,
                };
                (at >= start).then_some(at)
            })
        }
        (None, None) => Some(start),
    }
}

/// The weekday (0 = Sunday) of a day counted from the epoch; 1970-01-01 was a Thursday.
fn weekday(day: i64) -> usize {
    (day + 4).rem_euclid(7) as usize
}

/// Which weekdays (Sunday first) a schedule runs on. `daysOfWeek` is either the dashboard's
/// seven flags (`[1,1,1,1,1,1,1]`, Sunday first) or a list of day numbers (0 = Sunday);
/// missing or empty means every day.
fn enabled_days(days: Option<&Value>) -> [bool; 7] {
    let numbers: Vec<u64> = days.and_then(Value::as_array).map(|d| d.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
    if numbers.is_empty() {
        return [true; 7];
    }
    let mut enabled = [false; 7];
    if numbers.len() == 7 && numbers.iter().all(|&n| n <= 1) {
        for (day, flag) in numbers.iter().enumerate() {
            enabled[day] = *flag == 1;
        }
    } else {
        for day in numbers.into_iter().filter(|&d| d < 7) {
            enabled[day as usize] = true;
        }
    }
    enabled
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(fields: Value) -> Map<String, Value> {
        fields.as_object().unwrap().clone()
    }

    const MIN: i64 = 60_000;

    #[test]
    fn repeating_schedules_run_at_the_latest_occurrence_only() {
        let s = schedule(json!({"startAfter": "2020-01-01T00:00:00.000Z", "repeatMinutes": 10}));
        let start = ids::millis_from_iso("2020-01-01T00:00:00.000Z").unwrap();
        assert_eq!(latest_occurrence(&s, start - 1, MIN), None);
        assert_eq!(latest_occurrence(&s, start, MIN), Some(start));
        assert_eq!(latest_occurrence(&s, start + 9 * MIN, MIN), Some(start));
        assert_eq!(latest_occurrence(&s, start + 35 * MIN, MIN), Some(start + 30 * MIN), "a day's downtime runs once");
    }

    #[test]
    fn daily_schedules_follow_time_of_day_and_days() {
        // 2020-01-01 was a Wednesday (3).
        let s = schedule(json!({"startAfter": "2020-01-01T00:00:00.000Z", "timeOfDay": "09:30:00", "daysOfWeek": [5]}));
        let friday_noon = ids::millis_from_iso("2020-01-03T12:00:00.000Z").unwrap();
        assert_eq!(latest_occurrence(&s, friday_noon, MIN), ids::millis_from_iso("2020-01-03T09:30:00.000Z"));
        let thursday = ids::millis_from_iso("2020-01-02T12:00:00.000Z").unwrap();
        assert_eq!(latest_occurrence(&s, thursday, MIN), None);
        let once = schedule(json!({"startAfter": "2020-01-01T00:00:00.000Z"}));
        assert_eq!(latest_occurrence(&once, friday_noon, MIN), ids::millis_from_iso("2020-01-01T00:00:00.000Z"));
    }

    #[test]
    fn the_dashboards_interval_form_runs_each_day_from_time_of_day() {
        // "Each day, every 30 minutes, after 09:00", every day flagged, as the dashboard sends it.
        let s = schedule(json!({"startAfter": "2020-01-01T00:00:00.000Z", "timeOfDay": "09:00:00.000Z",
            "repeatMinutes": 30, "daysOfWeek": [1, 1, 1, 1, 1, 1, 1]}));
        let at = |iso: &str| ids::millis_from_iso(iso).unwrap();
        assert_eq!(latest_occurrence(&s, at("2020-01-02T10:10:00.000Z"), MIN), Some(at("2020-01-02T10:00:00.000Z")));
        assert_eq!(latest_occurrence(&s, at("2020-01-02T08:59:00.000Z"), MIN), Some(at("2020-01-01T23:30:00.000Z")));
        let daily = schedule(json!({"startAfter": "2020-01-01T00:00:00.000Z", "timeOfDay": "09:00:00.000Z",
            "repeatMinutes": 1440, "daysOfWeek": [1, 1, 1, 1, 1, 1, 1]}));
        assert_eq!(latest_occurrence(&daily, at("2020-01-02T23:00:00.000Z"), MIN), Some(at("2020-01-02T09:00:00.000Z")));
        // Flags: Sundays only (2020-01-05 was a Sunday).
        let sundays = schedule(json!({"startAfter": "2020-01-01T00:00:00.000Z", "timeOfDay": "09:00",
            "daysOfWeek": [1, 0, 0, 0, 0, 0, 0]}));
        assert_eq!(latest_occurrence(&sundays, at("2020-01-07T12:00:00.000Z"), MIN), Some(at("2020-01-05T09:00:00.000Z")));
    }
}
