//! A query's REST parameters (`where`, `order`, `limit`, `skip`, `keys`, `excludeKeys`,
//! `include`, `count`) read into the data layer's [`FindOptions`]: parsing what clients send
//! is the API's job, so the data layer only ever sees typed options.

use serde_json::{Map, Value};

use crate::data::FindOptions;
use crate::error::{ErrorCode, ParseError};

/// Reads options from REST parameters: `where` as a JSON string (URL query) or an object (the
/// SDK's POST body); numbers as numbers or strings.
pub fn find_options(params: &Map<String, Value>) -> Result<FindOptions, ParseError> {
    let invalid = |what: &str| ParseError::new(ErrorCode::INVALID_QUERY, what.to_string());
    let where_ = match params.get("where") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(text)) => serde_json::from_str(text)
            .map_err(|e| ParseError::new(ErrorCode::INVALID_JSON, format!("where is not valid JSON: {e}")))?,
        Some(other) => other.clone(),
    };
    if !where_.is_object() {
        return Err(invalid("where must be a JSON object"));
    }
    let number = |key: &str| -> Result<Option<usize>, ParseError> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|n| *n >= 0)
                .map(|n| Some(n as usize))
                .ok_or_else(|| invalid(&format!("{key} must be a non-negative integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse::<usize>()
                .map(Some)
                .map_err(|_| invalid(&format!("{key} must be a non-negative integer"))),
            Some(_) => Err(invalid(&format!("{key} must be a non-negative integer"))),
        }
    };
    let text = |key: &str| -> Result<Option<String>, ParseError> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => Ok(Some(
                items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            )),
            Some(_) => Err(invalid(&format!("{key} must be a string"))),
        }
    };
    let count = switch(params, "count")?;
    Ok(FindOptions {
        where_,
        order: text("order")?,
        limit: number("limit")?,
        skip: number("skip")?.unwrap_or(0),
        keys: text("keys")?,
        exclude_keys: text("excludeKeys")?,
        include: text("include")?
            .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
        count,
    })
}

/// A yes/no parameter (`count`, `explain`): `1`, `true` or their strings; absent is no.
pub fn switch(params: &Map<String, Value>, key: &str) -> Result<bool, ParseError> {
    Ok(match params.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s == "1" || s == "true",
        Some(_) => return Err(ParseError::new(ErrorCode::INVALID_QUERY, format!("{key} must be 1 or true"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn explain_reads_like_count() {
        for (asked, explain) in [(json!("1"), true), (json!(true), true), (json!(1), true), (json!("0"), false), (Value::Null, false)] {
            assert_eq!(switch(&params(json!({"explain": asked})), "explain").unwrap(), explain, "{asked}");
        }
    }

    #[test]
    fn url_and_body_forms_read_alike() {
        let from_url = find_options(&params(json!({"where": "{\"a\":1}", "limit": "5", "count": "1", "include": "x, y"}))).unwrap();
        let from_body = find_options(&params(json!({"where": {"a": 1}, "limit": 5, "count": 1, "include": ["x", "y"]}))).unwrap();
        for options in [from_url, from_body] {
            assert_eq!((options.where_, options.limit, options.count), (json!({"a": 1}), Some(5), true));
            assert_eq!(options.include, ["x", "y"]);
        }
    }

    #[test]
    fn bad_parameters_are_102_or_107() {
        for (bad, code) in [
            (json!({"where": "{not json"}), ErrorCode::INVALID_JSON),
            (json!({"where": [1]}), ErrorCode::INVALID_QUERY),
            (json!({"limit": -1}), ErrorCode::INVALID_QUERY),
            (json!({"skip": "ten"}), ErrorCode::INVALID_QUERY),
            (json!({"order": 5}), ErrorCode::INVALID_QUERY),
            (json!({"count": [1]}), ErrorCode::INVALID_QUERY),
        ] {
            assert_eq!(find_options(&params(bad.clone())).unwrap_err().code, code, "{bad}");
        }
        assert_eq!(switch(&params(json!({"explain": {}})), "explain").unwrap_err().code, ErrorCode::INVALID_QUERY);
    }
}
