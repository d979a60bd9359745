//! `GET /scriptlog` (master key): the script log, as Parse Server's LogsRouter serves it and
//! the dashboard's Logs page reads it: `[{message, timestamp, level}]`, newest first.
//!
//! Query: `level` (`info`: every line; `error`: errors only), `n` or `size` (lines, default
//! 100), `from` / `until` (ISO dates or epoch milliseconds, inclusive), `startDate` (epoch ms:
//! lines before it, the dashboard's paging) and `order` (`desc` by default, or `asc`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::{master_required, Api, Ctx, Reply};
use crate::data::ids;
use crate::error::{ErrorCode, ParseError};
use crate::script_log::{Level, Query};

const DEFAULT_LINES: usize = 100;

fn bad(message: String) -> ParseError {
    ParseError::new(ErrorCode::INVALID_QUERY, message)
}

pub fn script_log(api: &Arc<Api>, ctx: &Ctx, params: &Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let query = query(params, api.script_log.retention())?;
    let entries = api.script_log.query(&query);
    serde_json::to_string(&entries).map(Reply::ok).map_err(|e| ParseError::new(ErrorCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// The query a request's parameters describe, checked.
fn query(params: &Map<String, Value>, retention: usize) -> Result<Query, ParseError> {
    let text = |key: &str| params.get(key).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    let level = match text("level").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("info") => Level::Info,
        Some("error") => Level::Error,
        Some(other) => return Err(bad(format!("level must be info or error, not {other:?}"))),
    };
    let limit = match text("n").or_else(|| text("size")) {
        None => DEFAULT_LINES,
        Some(n) => n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| bad(format!("n must be a positive number of lines, not {n:?}")))?,
    };
    let newest_first = match text("order").as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => return Err(bad(format!("order must be asc or desc, not {other:?}"))),
    };
    Ok(Query {
        level,
        limit: limit.min(retention),
        from: instant(text("from"), "from")?,
        until: instant(text("until"), "until")?,
        before: instant(text("startDate"), "startDate")?,
        newest_first,
    })
}

/// An ISO date or epoch milliseconds.
fn instant(value: Option<String>, key: &str) -> Result<Option<i64>, ParseError> {
    let Some(value) = value else { return Ok(None) };
    value
        .parse::<i64>()
        .ok()
        .or_else(|| ids::millis_from_iso(&value))
        .map(Some)
        .ok_or_else(|| bad(format!("{key} must be an ISO 8601 date or epoch milliseconds, not {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn reads_the_dashboards_query_and_refuses_nonsense() {
        let q = query(&params(json!({"level": "error", "n": "100", "startDate": "1700000000000"})), 50).unwrap();
        assert_eq!((q.level, q.limit, q.before, q.newest_first), (Level::Error, 50, Some(1_700_000_000_000), true));
        let q = query(&params(json!({"from": "2026-01-01T00:00:00.000Z", "order": "asc"})), 1000).unwrap();
        assert_eq!((q.level, q.limit, q.newest_first), (Level::Info, DEFAULT_LINES, false));
        assert!(q.from.is_some());
        for bad in [json!({"level": "loud"}), json!({"n": "-3"}), json!({"n": "0"}), json!({"until": "soon"}), json!({"order": "up"})] {
            assert_eq!(query(&params(bad.clone()), 10).unwrap_err().code, ErrorCode::INVALID_QUERY, "{bad}");
        }
    }
}
