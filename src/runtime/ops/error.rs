//! The one error type ops raise for a Parse failure: in JS it is a `Parse.Error` (class
//! `ParseError`, registered by js/20_parse.js) whose `code` is the Parse error code, so cloud
//! code catches the same object a REST client would describe as `{code, error}`.

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
