//! The size bound of one answer (`--max-response-bytes`): a page of results is measured while
//! it is built, so a `limit=1000` query of large objects is refused (413, code 155) before it
//! holds hundreds of megabytes, instead of after.

use serde_json::{Map, Value};

use super::DataError;

/// The bytes a page may still take.
#[derive(Debug)]
pub struct AnswerBudget {
    max: usize,
    used: usize,
}

impl AnswerBudget {
    pub fn new(max: usize) -> AnswerBudget {
        AnswerBudget { max, used: 0 }
    }

    /// Counts one more object of the answer; 155 once the answer passes the bound.
    pub fn take(&mut self, object: &Map<String, Value>) -> Result<(), DataError> {
        self.used = self.used.saturating_add(object_len(object) + 1);
        if self.used <= self.max {
            return Ok(());
        }
        Err(DataError::AnswerTooLarge { max: self.max })
    }
}

/// The length of `value` as compact JSON, without writing it: exact for everything but the
/// escapes of control characters and non-integer numbers, which it overestimates.
pub fn json_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => digits(u),
            (None, Some(i)) => 1 + digits(i.unsigned_abs()),
            // `f64` prints at most 24 characters (`-1.2345678901234567e-308`).
            _ => 24,
        },
        Value::String(s) => string_len(s),
        Value::Array(items) => 2 + items.iter().map(json_len).sum::<usize>() + items.len().saturating_sub(1),
        Value::Object(map) => object_len(map),
    }
}

fn object_len(map: &Map<String, Value>) -> usize {
    let members: usize = map.iter().map(|(key, value)| string_len(key) + 1 + json_len(value)).sum();
    2 + members + map.len().saturating_sub(1)
}

fn string_len(s: &str) -> usize {
    // A quote or backslash takes one byte more; a control character at most five (`\u0000`).
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    2 + s.len() + escapes
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lengths_match_serde_json_for_ordinary_values() {
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(9),
            json!(10),
            json!(-12345),
            json!(u64::MAX),
            json!(i64::MIN),
            json!("plain"),
            json!("quote \" and \\ backslash"),
            json!([]),
            json!([1, "two", [3]]),
            json!({}),
            json!({"a": 1, "nested": {"b": [true, null]}, "é": "ü"}),
        ];
        for value in values {
            assert_eq!(json_len(&value), value.to_string().len(), "{value}");
        }
    }

    #[test]
    fn estimates_never_fall_short() {
        for value in [json!(1.5), json!(-1.2345678901234567e-308), json!("tab\tnul\u{0}")] {
            assert!(json_len(&value) >= value.to_string().len(), "{value}");
        }
    }

    #[test]
    fn budget_refuses_past_the_bound() {
        let object = json!({"text": "x".repeat(100)});
        let object = object.as_object().unwrap();
        let mut budget = AnswerBudget::new(250);
        budget.take(object).unwrap();
        budget.take(object).unwrap();
        let error = budget.take(object).unwrap_err();
        assert_eq!(error.code(), 155);
        assert!(error.to_string().contains("smaller limit"), "{}", error);
    }
}
