//! Parse errors: the one place where failures become Parse codes and HTTP statuses.
//!
//! Every layer returns its own typed error; the HTTP layer turns them into a [`ParseError`]
//! through the `From` impls here, so the code/status table lives in exactly one file.

use serde::Serialize;

/// The Parse error codes cloudrt answers with (names as in the Parse SDKs' `Parse.Error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    pub const OTHER_CAUSE: ErrorCode = ErrorCode(-1);
    pub const INVALID_QUERY: ErrorCode = ErrorCode(102);
    pub const INVALID_JSON: ErrorCode = ErrorCode(107);
    pub const SCRIPT_FAILED: ErrorCode = ErrorCode(141);
    pub const TIMEOUT: ErrorCode = ErrorCode(124);
    pub const OBJECT_NOT_FOUND: ErrorCode = ErrorCode(101);
    pub const REQUEST_LIMIT_EXCEEDED: ErrorCode = ErrorCode(155);
    pub const INVALID_KEY_NAME: ErrorCode = ErrorCode(105);
    pub const OPERATION_FORBIDDEN: ErrorCode = ErrorCode(119);
    pub const INVALID_SESSION_TOKEN: ErrorCode = ErrorCode(209);
    pub const INVALID_FILE_NAME: ErrorCode = ErrorCode(122);
    pub const FILE_SAVE_ERROR: ErrorCode = ErrorCode(130);
    pub const FILE_DELETE_ERROR: ErrorCode = ErrorCode(153);
}

/// An error as the Parse REST API reports it: `{"code": N, "error": "..."}` plus the HTTP
/// status it travels with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Parse error {code:?}: {message}")]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
    /// HTTP status; derived from the code unless a route needs another (403, 413, 429).
    pub status: u16,
}

impl ParseError {
    /// A Parse error with the status Parse Server gives its code: 404 for "object not found",
    /// 400 for everything else. Never 5xx: the official SDK retries those up to five times.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let status = if code == ErrorCode::OBJECT_NOT_FOUND { 404 } else { 400 };
        ParseError { code, message: message.into(), status }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The body Parse clients expect for this error.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "code": self.code, "error": self.message }).to_string()
    }
}

/// Wrong or missing application id or key. Parse answers these with a bare
/// `{"error":"unauthorized"}` and 403, without a code.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("unauthorized")]
pub struct Unauthorized;

/// A request body refused while it was being read: too large (413), more bodies in flight
/// than `--max-body-memory` holds (429, as a full queue; never 5xx, which the SDK retries),
/// or too slow (408, code 124).
impl From<crate::http::BodyError> for ParseError {
    fn from(error: crate::http::BodyError) -> Self {
        use crate::http::BodyError;
        let (code, status) = match &error {
            BodyError::TooLarge { .. } | BodyError::TooLargeUnauthenticated { .. } => (ErrorCode::REQUEST_LIMIT_EXCEEDED, 413),
            BodyError::Busy => (ErrorCode::REQUEST_LIMIT_EXCEEDED, 429),
            BodyError::Timeout(_) => (ErrorCode::TIMEOUT, 408),
            BodyError::Broken(_) => (ErrorCode::INVALID_JSON, 400),
        };
        ParseError::new(code, error.to_string()).with_status(status)
    }
}

impl From<crate::runtime::CloudError> for ParseError {
    fn from(error: crate::runtime::CloudError) -> Self {
        use crate::runtime::CloudError;
        match error {
            CloudError::Script { code, message } => ParseError::new(ErrorCode(code), message),
            CloudError::Timeout { .. } | CloudError::NeverSettles { .. } => {
                ParseError::new(ErrorCode::TIMEOUT, error.to_string())
            }
            CloudError::Busy => ParseError::new(ErrorCode::REQUEST_LIMIT_EXCEEDED, error.to_string()).with_status(429),
            CloudError::Engine(_) => ParseError::new(ErrorCode::SCRIPT_FAILED, error.to_string()),
        }
    }
}

/// The Cloud Code viewer: a path leaving the cloud directory is forbidden (119), a file the
/// loaded release lacks (or lists with another checksum) is not found (101).
impl From<crate::runtime::release::ScriptError> for ParseError {
    fn from(error: crate::runtime::release::ScriptError) -> Self {
        use crate::runtime::release::ScriptError;
        let code = match error {
            ScriptError::Outside(_) => ErrorCode::OPERATION_FORBIDDEN,
            ScriptError::NotFound(_) | ScriptError::Stale(_) => ErrorCode::OBJECT_NOT_FOUND,
        };
        ParseError::new(code, error.to_string())
    }
}

impl From<crate::data::DataError> for ParseError {
    /// From the data layer, 155 only ever means "the answer would be too large"
    /// (`--max-response-bytes`), which HTTP calls 413.
    fn from(error: crate::data::DataError) -> Self {
        let code = ErrorCode(error.code);
        let status = error.status;
        let parse_error = ParseError::new(code, error.message);
        match status {
            Some(status) => parse_error.with_status(status),
            None if code == ErrorCode::REQUEST_LIMIT_EXCEEDED => parse_error.with_status(413),
            None => parse_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_not_found_is_404_and_others_are_400() {
        assert_eq!(ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "x").status, 404);
        assert_eq!(ParseError::new(ErrorCode::SCRIPT_FAILED, "x").status, 400);
        assert_eq!(ParseError::new(ErrorCode(1), "internal").status, 400);
    }

    #[test]
    fn json_shape_is_code_and_error() {
        let body = ParseError::new(ErrorCode::INVALID_JSON, "bad").to_json();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v, serde_json::json!({"code": 107, "error": "bad"}));
    }
}
