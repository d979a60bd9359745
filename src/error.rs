//! Parse errors: the one place where failures become Parse codes and HTTP statuses.
//!
//! Every layer returns its own typed error; the HTTP layer turns them into a [`ParseError`]
//! through the `From` impls here, so the code/status table lives in exactly one file.

use serde::Serialize;

/// A Parse error code (names as in the Parse SDKs' `Parse.Error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    /// Codes Parse Server answers that the SDKs leave unnamed (so they stay out of [`ErrorCode::ALL`]
    /// and of cloud code's `Parse.Error`): a Pointer or Relation declared without its target
    /// class, a built-in field redefined, an installation without or with a bad id.
    pub const MISSING_TARGET_CLASS: ErrorCode = ErrorCode(135);
    pub const FIELD_CANNOT_CHANGE: ErrorCode = ErrorCode(136);
    pub const INVALID_INSTALLATION_ID: ErrorCode = ErrorCode(132);
}

impl From<ErrorCode> for i32 {
    fn from(code: ErrorCode) -> i32 {
        code.0
    }
}

/// Declares every code as an `ErrorCode` constant and lists them all in [`ErrorCode::ALL`],
/// from one table.
macro_rules! parse_error_codes {
    ($($name:ident = $code:expr,)*) => {
        impl ErrorCode {
            $(pub const $name: ErrorCode = ErrorCode($code);)*

            /// Every Parse error code with its SDK name, in the SDK's order. Cloud code's
            /// `Parse.Error` constants are built from this list (js/20_parse.js), so the two
            /// halves of the runtime cannot disagree on a number.
            pub const ALL: &'static [(&'static str, ErrorCode)] = &[$((stringify!($name), ErrorCode::$name),)*];
        }
    };
}

parse_error_codes! {
    OTHER_CAUSE = -1,
    INTERNAL_SERVER_ERROR = 1,
    CONNECTION_FAILED = 100,
    OBJECT_NOT_FOUND = 101,
    INVALID_QUERY = 102,
    INVALID_CLASS_NAME = 103,
    MISSING_OBJECT_ID = 104,
    INVALID_KEY_NAME = 105,
    INVALID_POINTER = 106,
    INVALID_JSON = 107,
    COMMAND_UNAVAILABLE = 108,
    NOT_INITIALIZED = 109,
    INCORRECT_TYPE = 111,
    INVALID_CHANNEL_NAME = 112,
    PUSH_MISCONFIGURED = 115,
    OBJECT_TOO_LARGE = 116,
    OPERATION_FORBIDDEN = 119,
    CACHE_MISS = 120,
    INVALID_NESTED_KEY = 121,
    INVALID_FILE_NAME = 122,
    INVALID_ACL = 123,
    TIMEOUT = 124,
    INVALID_EMAIL_ADDRESS = 125,
    MISSING_CONTENT_TYPE = 126,
    MISSING_CONTENT_LENGTH = 127,
    INVALID_CONTENT_LENGTH = 128,
    FILE_TOO_LARGE = 129,
    FILE_SAVE_ERROR = 130,
    DUPLICATE_VALUE = 137,
    INVALID_ROLE_NAME = 139,
    EXCEEDED_QUOTA = 140,
    SCRIPT_FAILED = 141,
    VALIDATION_ERROR = 142,
    INVALID_IMAGE_DATA = 143,
    UNSAVED_FILE_ERROR = 151,
    INVALID_PUSH_TIME_ERROR = 152,
    FILE_DELETE_ERROR = 153,
    REQUEST_LIMIT_EXCEEDED = 155,
    DUPLICATE_REQUEST = 159,
    INVALID_EVENT_NAME = 160,
    FILE_DELETE_UNNAMED_ERROR = 161,
    INVALID_VALUE = 162,
    USERNAME_MISSING = 200,
    PASSWORD_MISSING = 201,
    USERNAME_TAKEN = 202,
    EMAIL_TAKEN = 203,
    EMAIL_MISSING = 204,
    EMAIL_NOT_FOUND = 205,
    SESSION_MISSING = 206,
    MUST_CREATE_USER_THROUGH_SIGNUP = 207,
    ACCOUNT_ALREADY_LINKED = 208,
    INVALID_SESSION_TOKEN = 209,
    MFA_ERROR = 210,
    MFA_TOKEN_REQUIRED = 211,
    LINKED_ID_MISSING = 250,
    INVALID_LINKED_SESSION = 251,
    UNSUPPORTED_SERVICE = 252,
    INVALID_SCHEMA_OPERATION = 255,
    AGGREGATE_ERROR = 600,
    FILE_READ_ERROR = 601,
    X_DOMAIN_REQUEST = 602,
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
impl From<crate::runtime::code_snapshot::ScriptError> for ParseError {
    fn from(error: crate::runtime::code_snapshot::ScriptError) -> Self {
        use crate::runtime::code_snapshot::ScriptError;
        let code = match error {
            ScriptError::Outside(_) => ErrorCode::OPERATION_FORBIDDEN,
            ScriptError::NotFound(_) | ScriptError::Stale(_) => ErrorCode::OBJECT_NOT_FOUND,
        };
        ParseError::new(code, error.to_string())
    }
}

impl From<crate::store::StoreError> for ParseError {
    /// A read the API layer makes of the store directly: the store's failure is the server's,
    /// and a database that is down (503) tells clients to try again.
    fn from(error: crate::store::StoreError) -> Self {
        if matches!(error, crate::store::StoreError::TimedOut(_)) {
            return crate::data::DataError::from(error).into();
        }
        let unavailable = matches!(error, crate::store::StoreError::Unavailable(_));
        let parse_error = ParseError::new(ErrorCode::INTERNAL_SERVER_ERROR, format!("storage failure: {error}"));
        if unavailable { parse_error.with_status(503) } else { parse_error }
    }
}

impl From<crate::mail::MailError> for ParseError {
    fn from(error: crate::mail::MailError) -> Self {
        use crate::mail::MailError;
        let code = match error {
            MailError::BadRecipient(_) => ErrorCode::INVALID_EMAIL_ADDRESS,
            MailError::Webhook(_) | MailError::Smtp(_) => ErrorCode::INTERNAL_SERVER_ERROR,
        };
        ParseError::new(code, error.to_string())
    }
}

/// The Parse code and HTTP status of each data-layer failure: the one place they are decided.
/// Statuses are Parse Server's: 404 for "object not found", 400 for the rest, except a store
/// that is down (503: try again), and 155 as 413 for an answer too large but as 429 for hashers
/// that are all busy (retry shortly). Never another 5xx, which the SDK retries five times.
fn data_error_code(error: &crate::data::DataError) -> (ErrorCode, u16) {
    use crate::data::query::QueryError;
    use crate::data::DataError as E;
    use crate::store::StoreError;
    let code = match error {
        E::Store(StoreError::Unavailable(_)) => return (ErrorCode::INTERNAL_SERVER_ERROR, 503),
        E::AnswerTooLarge { .. } => return (ErrorCode::REQUEST_LIMIT_EXCEEDED, 413),
        E::PasswordHashersBusy => return (ErrorCode::REQUEST_LIMIT_EXCEEDED, 429),
        E::Store(_) | E::PasswordHashing(_) => ErrorCode::INTERNAL_SERVER_ERROR,
        E::ObjectNotFound | E::InvalidLogin | E::AuthenticationRequired => ErrorCode::OBJECT_NOT_FOUND,
        E::Query(QueryError::Invalid(_))
        | E::InvalidQuery(_)
        | E::IndexNotFound(_)
        | E::IndexExists(_)
        | E::IndexFieldNotFound(_) => ErrorCode::INVALID_QUERY,
        E::InvalidClassName(_)
        | E::ClassNameTooLong(_)
        | E::InvalidSchemaClassName(_)
        | E::ClassNotFound(_)
        | E::ClassExists(_) => ErrorCode::INVALID_CLASS_NAME,
        E::InvalidKeyName(_)
        | E::InvalidFieldName(_)
        | E::InvalidOrderKey(_)
        | E::InvalidSchemaFieldName(_)
        | E::FieldNameTooLong(_)
        | E::FieldPathTooDeep(_)
        | E::UpdatePathTooDeep(_)
        | E::ClassFull(_)
        | E::TooManyFields { .. } => ErrorCode::INVALID_KEY_NAME,
        E::InvalidObjectId { .. } | E::PointerIdNotString(_) | E::NotAPointer { .. } => ErrorCode::INVALID_POINTER,
        E::Query(QueryError::BadJson(_))
        | E::InvalidJson(_)
        | E::InvalidSchema(_)
        | E::RequiredNotBoolean(_)
        | E::InvalidIndex(_)
        | E::PolygonTooSmall
        | E::ValueTooDeep(_)
        | E::InvalidOperation(_)
        | E::InvalidClassPermissions(_)
        | E::InvalidAuthData(_) => ErrorCode::INVALID_JSON,
        E::InvalidFieldType(_)
        | E::OptionNotForRelation { .. }
        | E::DefaultValueMismatch { .. }
        | E::IncorrectType { .. }
        | E::SecondGeoPointField { .. }
        | E::SecondGeoPointValue
        | E::InvalidTypedValue(_)
        | E::LatitudeOutOfBounds(_)
        | E::LongitudeOutOfBounds(_)
        | E::OperationNotApplicable(_)
        | E::AuthDataNotObject
        | E::RoleFieldMissing(_) => ErrorCode::INCORRECT_TYPE,
        E::ClassCreationForbidden(_) | E::MasterOnlyClass { .. } | E::ExplainNeedsMaster | E::PermissionDenied { .. } | E::ProtectedField { .. } => {
            ErrorCode::OPERATION_FORBIDDEN
        }
        E::InvalidAcl(_) | E::InvalidUserAcl => ErrorCode::INVALID_ACL,
        E::QueryTimeout(_) => ErrorCode::TIMEOUT,
        E::InvalidEmailAddress => ErrorCode::INVALID_EMAIL_ADDRESS,
        E::MissingTargetClass(_) => ErrorCode::MISSING_TARGET_CLASS,
        E::DefaultFieldAdded(_) | E::DefaultFieldChanged(_) => ErrorCode::FIELD_CANNOT_CHANGE,
        E::DuplicateRoleName => ErrorCode::DUPLICATE_VALUE,
        E::RequiredFieldMissing(_) => ErrorCode::VALIDATION_ERROR,
        E::DuplicateRequest => ErrorCode::DUPLICATE_REQUEST,
        E::InvalidRequestId => ErrorCode::INVALID_VALUE,
        E::UsernameMissing | E::LoginNameMissing => ErrorCode::USERNAME_MISSING,
        E::PasswordMissing | E::InvalidPassword | E::LoginPasswordMissing => ErrorCode::PASSWORD_MISSING,
        E::UsernameTaken => ErrorCode::USERNAME_TAKEN,
        E::EmailTaken => ErrorCode::EMAIL_TAKEN,
        E::AccountAlreadyLinked => ErrorCode::ACCOUNT_ALREADY_LINKED,
        E::UnsupportedAuthProvider => ErrorCode::UNSUPPORTED_SERVICE,
        E::ClassNotEmpty { .. } | E::FieldExists(_) | E::FieldNotFound(_) => ErrorCode::INVALID_SCHEMA_OPERATION,
        E::RoleNameChanged | E::RoleNameNotString | E::InvalidRoleName => ErrorCode::OTHER_CAUSE,
    };
    (code, if code == ErrorCode::OBJECT_NOT_FOUND { 404 } else { 400 })
}

impl From<&crate::data::DataError> for ParseError {
    fn from(error: &crate::data::DataError) -> Self {
        let (code, status) = data_error_code(error);
        ParseError { code, message: error.to_string(), status }
    }
}

impl From<crate::data::DataError> for ParseError {
    fn from(error: crate::data::DataError) -> Self {
        ParseError::from(&error)
    }
}

/// An error followed by its causes, joined with `: ` — HTTP client errors keep the useful part
/// (connection refused, unknown issuer) in their source chain. A cause whose text the message
/// already ends with is left out, since hyper and reqwest repeat some.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let part = error.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = error.source();
    }
    text
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

    /// One of every data-layer failure; `DataError::COUNT` (derived in tests) makes a variant
    /// added without a sample here fail `every_data_error_maps_to_a_known_code_and_status`.
    fn every_data_error() -> Vec<crate::data::DataError> {
        use crate::data::query::QueryError;
        use crate::data::schema::FieldType;
        use crate::data::DataError as E;
        use crate::store::StoreError;
        let s = || "x".to_owned();
        vec![
            E::Store(StoreError::Unavailable(s())),
            E::Query(QueryError::Invalid(s())),
            E::InvalidQuery(s()),
            E::InvalidJson(s()),
            E::QueryTimeout(std::time::Duration::from_secs(1)),
            E::AnswerTooLarge { max: 1 },
            E::ObjectNotFound,
            E::ClassCreationForbidden(s()),
            E::MasterOnlyClass { operation: s(), class: s() },
            E::ExplainNeedsMaster,
            E::RequiredFieldMissing(s()),
            E::InvalidClassName(s()),
            E::ClassNameTooLong(s()),
            E::InvalidSchemaClassName(s()),
            E::InvalidKeyName(s()),
            E::InvalidFieldName(s()),
            E::InvalidOrderKey(s()),
            E::InvalidSchemaFieldName(s()),
            E::FieldNameTooLong(s()),
            E::FieldPathTooDeep(s()),
            E::UpdatePathTooDeep(33),
            E::ClassNotFound(s()),
            E::ClassExists(s()),
            E::ClassNotEmpty { class: s(), count: 1 },
            E::FieldExists(s()),
            E::FieldNotFound(s()),
            E::DefaultFieldAdded(s()),
            E::DefaultFieldChanged(s()),
            E::MissingTargetClass(s()),
            E::InvalidFieldType(s()),
            E::InvalidSchema(s()),
            E::RequiredNotBoolean(s()),
            E::OptionNotForRelation { option: s(), field_type: FieldType::Relation(s()) },
            E::DefaultValueMismatch { class: s(), field: s(), expected: FieldType::Number, got: s() },
            E::IncorrectType { class: s(), field: s(), expected: FieldType::Number, got: FieldType::String },
            E::SecondGeoPointField { field: s(), other: s() },
            E::SecondGeoPointValue,
            E::ClassFull(s()),
            E::TooManyFields { class: s(), count: 501 },
            E::InvalidIndex(s()),
            E::IndexNotFound(s()),
            E::IndexExists(s()),
            E::IndexFieldNotFound(s()),
            E::InvalidTypedValue(s()),
            E::PointerIdNotString(s()),
            E::InvalidObjectId { id: s(), problem: "is empty" },
            E::LatitudeOutOfBounds(91.0),
            E::LongitudeOutOfBounds(181.0),
            E::PolygonTooSmall,
            E::ValueTooDeep(s()),
            E::InvalidOperation(s()),
            E::NotAPointer { op: s(), object: serde_json::json!(1) },
            E::OperationNotApplicable(s()),
            E::InvalidAcl(s()),
            E::InvalidUserAcl,
            E::InvalidClassPermissions(s()),
            E::AuthenticationRequired,
            E::PermissionDenied { action: "find", class: s() },
            E::ProtectedField { verb: s(), field: s(), class: s() },
            E::InvalidLogin,
            E::InvalidEmailAddress,
            E::UsernameMissing,
            E::PasswordMissing,
            E::InvalidPassword,
            E::LoginNameMissing,
            E::LoginPasswordMissing,
            E::UsernameTaken,
            E::EmailTaken,
            E::AccountAlreadyLinked,
            E::UnsupportedAuthProvider,
            E::AuthDataNotObject,
            E::InvalidAuthData(s()),
            E::PasswordHashersBusy,
            E::PasswordHashing(s()),
            E::RoleFieldMissing(s()),
            E::RoleNameChanged,
            E::RoleNameNotString,
            E::InvalidRoleName,
            E::DuplicateRoleName,
            E::DuplicateRequest,
            E::InvalidRequestId,
        ]
    }

    #[test]
    fn every_data_error_maps_to_a_known_code_and_status() {
        use strum::EnumCount;
        let errors = every_data_error();
        let variants: std::collections::HashSet<_> = errors.iter().map(std::mem::discriminant).collect();
        assert_eq!(variants.len(), crate::data::DataError::COUNT, "one sample of every variant");
        let unnamed = [ErrorCode::MISSING_TARGET_CLASS, ErrorCode::FIELD_CANNOT_CHANGE, ErrorCode::INVALID_INSTALLATION_ID];
        for error in &errors {
            let parse_error = ParseError::from(error);
            assert!(
                ErrorCode::ALL.iter().any(|(_, code)| *code == parse_error.code) || unnamed.contains(&parse_error.code),
                "{error:?} answers {:?}, a code outside the table",
                parse_error.code
            );
            assert_eq!(parse_error.message, error.to_string());
            let status = match error {
                crate::data::DataError::Store(crate::store::StoreError::Unavailable(_)) => 503,
                crate::data::DataError::AnswerTooLarge { .. } => 413,
                crate::data::DataError::PasswordHashersBusy => 429,
                _ if parse_error.code == ErrorCode::OBJECT_NOT_FOUND => 404,
                _ => 400,
            };
            assert_eq!(parse_error.status, status, "{error:?}");
        }
    }

    #[test]
    fn a_store_failure_is_the_servers_and_a_store_that_is_down_says_try_again() {
        use crate::data::DataError;
        use crate::store::StoreError;
        let down = ParseError::from(DataError::from(StoreError::Unavailable("refused".into())));
        assert_eq!((down.code, down.status), (ErrorCode::INTERNAL_SERVER_ERROR, 503));
        assert_eq!(down.message, "storage failure: the database is unavailable: refused");
        let broken = ParseError::from(DataError::from(StoreError::Io("disk".into())));
        assert_eq!((broken.code, broken.status), (ErrorCode::INTERNAL_SERVER_ERROR, 400));
        let query = ParseError::from(DataError::from(crate::data::query::QueryError::BadJson("bad $text".into())));
        assert_eq!((query.code, query.status, query.message.as_str()), (ErrorCode::INVALID_JSON, 400, "bad $text"));
    }

    #[test]
    fn json_shape_is_code_and_error() {
        let body = ParseError::new(ErrorCode::INVALID_JSON, "bad").to_json();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v, serde_json::json!({"code": 107, "error": "bad"}));
    }
}
