//! [`DataError`], the one error type of the `data` modules: a variant per failure a caller (or a
//! test) may want to tell apart, each with the words a client reads, Parse Server's where it has
//! them (tests compare some, so they stay as they are).
//!
//! Which Parse code and HTTP status a variant answers with is not decided here but in one
//! place, next to the code table in `crate::error`, so no failure site carries a number.

use std::time::Duration;

use serde_json::Value;

use super::field_ops::MAX_VALUE_DEPTH;
use super::idempotency::MAX_ID_LEN;
use super::query::QueryError;
use super::schema::{FieldType, MAX_FIELDS_PER_CLASS, MAX_NAME_LEN, MAX_PATH_SEGMENTS};
use crate::store::StoreError;

impl From<StoreError> for DataError {
    /// A statement the database cancelled at `--query-timeout` is the query timeout the scan
    /// of the embedded store gives, so both backends answer the same Parse error (124).
    fn from(error: StoreError) -> DataError {
        match error {
            StoreError::TimedOut(timeout) => DataError::QueryTimeout(timeout),
            StoreError::IdentityLinked => DataError::AccountAlreadyLinked,
            other => DataError::Store(other),
        }
    }
}

/// Why the data layer refused or failed a read or a write.
#[derive(Debug, PartialEq, thiserror::Error)]
#[cfg_attr(test, derive(strum::EnumCount))]
pub enum DataError {
    // The store and the limits of one query.
    /// The store itself failed: the server's fault, not the request's.
    #[error("storage failure: {0}")]
    Store(StoreError),
    /// A `where`, `order` or subquery answer that cannot be evaluated.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A query of the data layer's own that Parse Server calls invalid: an aggregate pipeline,
    /// a `distinct`, an aggregate's `where`; the text says what was wrong.
    #[error("{0}")]
    InvalidQuery(String),
    /// Text that should have been JSON and is not (an aggregate's `pipeline` or `where`).
    #[error("{0}")]
    InvalidJson(String),
    /// `--query-timeout` passed while the query scanned.
    #[error("The query took longer than {0:?} (--query-timeout) and was stopped; narrow the where clause")]
    QueryTimeout(Duration),
    /// The answer passed `--max-response-bytes` while it was built.
    #[error(
        "The answer would be larger than {max} bytes (--max-response-bytes); ask for fewer objects with a smaller limit, or fewer fields with keys"
    )]
    AnswerTooLarge { max: usize },

    // Objects.
    #[error("Object not found.")]
    ObjectNotFound,
    /// A create in a class that does not exist, by a client that may not create classes.
    #[error("This user is not allowed to access non-existent class: {0}")]
    ClassCreationForbidden(String),
    /// A non-master read or write of a class the server keeps for itself.
    #[error("Clients aren't allowed to perform the {operation} operation on the {class} collection.")]
    MasterOnlyClass { operation: String, class: String },
    /// `explain` asked without the master key: a plan reveals what the data holds.
    #[error("explain needs the master key")]
    ExplainNeedsMaster,
    /// A required field (schema option `required`) left unset.
    #[error("{0} is required")]
    RequiredFieldMissing(String),

    // Class and field names.
    #[error("Invalid class name: {0}")]
    InvalidClassName(String),
    /// The name (abbreviated) is longer than [`MAX_NAME_LEN`].
    #[error("Invalid class name: {0}: class names have at most {max} characters", max = MAX_NAME_LEN)]
    ClassNameTooLong(String),
    /// A name the schema API refuses, in Parse Server's words (the trailing space is theirs).
    #[error(
        "Invalid classname: {0}, classnames can only have alphanumeric characters and _, and must start with an alpha character "
    )]
    InvalidSchemaClassName(String),
    /// A `where` key starting with `$` that is no operator, or an internal `_` field.
    #[error("Invalid key name: {0}")]
    InvalidKeyName(String),
    #[error("Invalid field name: {0}")]
    InvalidFieldName(String),
    /// An `order` key that is not a field name.
    #[error("Invalid field name: {0}.")]
    InvalidOrderKey(String),
    /// A field name the schema API refuses (Parse Server writes it in lower case there).
    #[error("invalid field name: {0}")]
    InvalidSchemaFieldName(String),
    /// The name (abbreviated) has a segment longer than [`MAX_NAME_LEN`].
    #[error("Invalid field name: {0}: field names have at most {max} characters", max = MAX_NAME_LEN)]
    FieldNameTooLong(String),
    /// The dotted key (abbreviated) has more than [`MAX_PATH_SEGMENTS`] segments.
    #[error("Invalid field name: {0}: a dotted key has at most {max} segments", max = MAX_PATH_SEGMENTS)]
    FieldPathTooDeep(String),
    /// A write's dotted key, with its number of segments.
    #[error("Invalid field name: a dotted key has at most {max} segments, got {0}", max = MAX_PATH_SEGMENTS)]
    UpdatePathTooDeep(usize),

    // Schemas.
    #[error("Class {0} does not exist.")]
    ClassNotFound(String),
    #[error("Class {0} already exists.")]
    ClassExists(String),
    #[error("Class {class} is not empty, contains {count} objects, cannot drop schema.")]
    ClassNotEmpty { class: String, count: usize },
    /// The schema API adding a field that exists already.
    #[error("Field {0} exists, cannot update.")]
    FieldExists(String),
    /// The schema API deleting a field that does not exist.
    #[error("Field {0} does not exist, cannot delete.")]
    FieldNotFound(String),
    /// A class's built-in field declared anew.
    #[error("field {0} cannot be added")]
    DefaultFieldAdded(String),
    /// A class's built-in field deleted.
    #[error("field {0} cannot be changed")]
    DefaultFieldChanged(String),
    /// A Pointer or Relation type declared without its `targetClass`.
    #[error("type {0} needs a class name")]
    MissingTargetClass(String),
    /// A field type that is not one of Parse's.
    #[error("invalid field type: {0}")]
    InvalidFieldType(String),
    /// A schema (or one of its field types) that is not the JSON the schema API takes; the text
    /// says which part.
    #[error("{0}")]
    InvalidSchema(String),
    /// A field's `required` option that is not a boolean.
    #[error("required of field {0} must be a boolean")]
    RequiredNotBoolean(String),
    /// `required` or a default value declared for a Relation.
    #[error("The '{option}' option is not applicable for {field_type}")]
    OptionNotForRelation { option: String, field_type: FieldType },
    /// A field's default value of another type than the field.
    #[error("schema mismatch for {class}.{field} default value; expected {expected} but got {got}")]
    DefaultValueMismatch { class: String, field: String, expected: FieldType, got: String },
    /// A value saved to a field of another type: the first write decided the field's type.
    #[error("schema mismatch for {class}.{field}; expected {expected} but got {got}")]
    IncorrectType { class: String, field: String, expected: FieldType, got: FieldType },
    /// The schema API declaring a second GeoPoint field.
    #[error("currently, only one GeoPoint field may exist in an object. Adding {field} when {other} already exists.")]
    SecondGeoPointField { field: String, other: String },
    /// A save that would give the class a second GeoPoint field.
    #[error("there can only be one geopoint field in a class")]
    SecondGeoPointValue,
    /// The schema API adding a field to a class at [`MAX_FIELDS_PER_CLASS`].
    #[error("Class {0} has {max} fields, the most a class may have", max = MAX_FIELDS_PER_CLASS)]
    ClassFull(String),
    /// A save that would take the class past [`MAX_FIELDS_PER_CLASS`].
    #[error("Class {class} would have {count} fields; a class has at most {max}", max = MAX_FIELDS_PER_CLASS)]
    TooManyFields { class: String, count: usize },
    /// An `indexes` change that is not `{name: {field: 1 or -1}}`; the text says which part.
    #[error("{0}")]
    InvalidIndex(String),
    #[error("Index {0} does not exist, cannot delete.")]
    IndexNotFound(String),
    #[error("Index {0} exists, cannot update.")]
    IndexExists(String),
    #[error("Field {0} does not exist, cannot add index.")]
    IndexFieldNotFound(String),

    // Values.
    /// A typed value (`{"__type": T, …}`) that is not a valid T, named by its `__type`.
    #[error("This is not a valid {0}")]
    InvalidTypedValue(String),
    /// A Pointer of the named class whose `objectId` is not a string.
    #[error("This is not a valid Pointer: objectId of a {0} pointer must be a string")]
    PointerIdNotString(String),
    /// The objectId (abbreviated) a Pointer or Relation names, and what is wrong with it.
    #[error("invalid pointer: the objectId {id:?} {problem}")]
    InvalidObjectId { id: String, problem: &'static str },
    #[error("GeoPoint latitude out of bounds: {0}")]
    LatitudeOutOfBounds(f64),
    #[error("GeoPoint longitude out of bounds: {0}")]
    LongitudeOutOfBounds(f64),
    #[error("Polygon must have at least 3 values")]
    PolygonTooSmall,
    /// A value nesting objects and arrays deeper than [`MAX_VALUE_DEPTH`], by its field.
    #[error("the value of {0} nests objects and arrays more than {max} levels deep", max = MAX_VALUE_DEPTH)]
    ValueTooDeep(String),

    // `__op` operations.
    /// An `__op` that is not one (unknown, or its operands of the wrong shape); the text says
    /// what was wrong.
    #[error("{0}")]
    InvalidOperation(String),
    /// A relation operation naming something other than pointers.
    #[error("{op} objects must be pointers, got {object}")]
    NotAPointer { op: String, object: Value },
    /// An operation that does not fit the value or field it is applied to; the text says how.
    #[error("{0}")]
    OperationNotApplicable(String),

    // ACLs and permissions.
    /// The text says what is wrong with the ACL.
    #[error("Invalid ACL: {0}")]
    InvalidAcl(String),
    /// A sign-up's `ACL` that is not an object.
    #[error("Invalid ACL.")]
    InvalidUserAcl,
    /// Class-level permissions that are not the JSON Parse takes; the text says which part.
    #[error("{0}")]
    InvalidClassPermissions(String),
    /// Class-level permissions that admit only logged-in users, and nobody is.
    #[error("Permission denied, user needs to be authenticated.")]
    AuthenticationRequired,
    /// Class-level permissions that do not grant the action (`find`, `create` …).
    #[error("Permission denied for action {action} on class {class}.")]
    PermissionDenied { action: &'static str, class: String },
    /// A query or sort (`verb`) on a field the caller may not see.
    #[error("This user is not allowed to {verb} {field} on class {class}")]
    ProtectedField { verb: String, field: String, class: String },

    // Users, sign-up and log-in.
    #[error("Invalid username/password.")]
    InvalidLogin,
    #[error("Email address format is invalid.")]
    InvalidEmailAddress,
    /// A sign-up with no username (and no authData to make one up for).
    #[error("bad or missing username")]
    UsernameMissing,
    /// A sign-up with no password (and no authData instead).
    #[error("password is required")]
    PasswordMissing,
    /// A user's new password that is not a non-empty string.
    #[error("password must be a non-empty string")]
    InvalidPassword,
    /// A log-in with neither username nor e-mail.
    #[error("username/email is required.")]
    LoginNameMissing,
    /// A log-in without a password.
    #[error("password is required.")]
    LoginPasswordMissing,
    #[error("Account already exists for this username.")]
    UsernameTaken,
    #[error("Account already exists for this email address.")]
    EmailTaken,
    /// A linked identity (authData provider and id) another user holds.
    #[error("this auth is already used")]
    AccountAlreadyLinked,
    #[error("This authentication method is unsupported.")]
    UnsupportedAuthProvider,
    #[error("authData must be an object of providers.")]
    AuthDataNotObject,
    /// One provider's authData that is malformed; the text says how.
    #[error("{0}")]
    InvalidAuthData(String),
    /// Every password hasher is busy: the caller should try again shortly.
    #[error("Too many log-ins and sign-ups at once; try again shortly.")]
    PasswordHashersBusy,
    /// Hashing or checking a password failed (the server's fault); the text says how.
    #[error("{0}")]
    PasswordHashing(String),

    // Roles.
    /// `name` or `ACL` missing from a role.
    #[error("{0} is required.")]
    RoleFieldMissing(String),
    #[error("A role's name can only be set before it has been saved.")]
    RoleNameChanged,
    #[error("A role's name must be a String.")]
    RoleNameNotString,
    #[error("A role's name can be only contain alphanumeric characters, _, -, and spaces.")]
    InvalidRoleName,
    /// A role name another role has.
    #[error("A duplicate value for a field with unique values was provided")]
    DuplicateRoleName,

    // Idempotency (`X-Parse-Request-Id`).
    #[error("Duplicate request")]
    DuplicateRequest,
    #[error("X-Parse-Request-Id must be 1 to {max} printable characters.", max = MAX_ID_LEN)]
    InvalidRequestId,
}

#[cfg(test)]
impl DataError {
    /// The Parse code a client gets for this error, through the one mapping in `crate::error`,
    /// for tests that check the number.
    pub fn code(&self) -> i32 {
        crate::error::ParseError::from(self).code.into()
    }
}
