//! The Parse error codes, for cloud code's `Parse.Error` constants.

use deno_core::op2;
use serde_json::{Map, Value};

use crate::error::ErrorCode;

/// `{NAME: code}` for every Parse error code: js/20_parse.js builds `Parse.Error`'s constants
/// from it, so the list in error.rs is the only one.
#[op2]
#[serde]
pub fn op_parse_error_codes() -> Map<String, Value> {
    ErrorCode::ALL.iter().map(|(name, code)| ((*name).to_string(), Value::from(code.0))).collect()
}
