//! Parse errors across the op boundary: the one error type ops raise for a Parse failure (in
//! JS a `Parse.Error`, class `ParseError`, registered by js/20_parse.js, whose `code` is the
//! Parse error code, so cloud code catches the same object a REST client would describe as
//! `{code, error}`), and the code list `Parse.Error`'s constants are built from.

use deno_core::op2;
use serde_json::{Map, Value};

use crate::error::ErrorCode;

/// A Parse error raised in JS as a `Parse.Error`.
#[derive(Debug, thiserror::Error, deno_error::JsError)]
#[class("ParseError")]
#[error("{message}")]
pub struct JsParseError {
    #[property]
    pub code: i32,
    pub message: String,
}

impl JsParseError {
    pub fn new(code: i32, message: impl Into<String>) -> JsParseError {
        JsParseError { code, message: message.into() }
    }
}

/// `{NAME: code}` for every Parse error code: js/20_parse.js builds `Parse.Error`'s constants
/// from it, so the list in error.rs is the only one.
#[op2]
#[serde]
pub fn op_parse_error_codes() -> Map<String, Value> {
    ErrorCode::ALL.iter().map(|(name, code)| ((*name).to_string(), Value::from(code.0))).collect()
}
