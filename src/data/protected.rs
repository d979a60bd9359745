//! Fields a client may not query or sort by (Parse Server's `protectedFields` and its
//! internal `_`-prefixed fields).
//!
//! Hiding a field from answers is not enough: if a client may still filter on it, each answer
//! tells it whether its guess was right, and `{"_hashed_password": {"$regex": "^\\$argon2id"}}`
//! or `{"email": {"$regex": "^carol@"}}` read the field out one character at a time. So for
//! every caller but the master key, a `where` or `order` naming such a field is refused, as
//! Parse Server refuses it.

use serde_json::{Map, Value};

use super::DataError;

/// Stored fields no answer carries, to anyone, the master key and cloud code included.
const NEVER_SHOWN: &[&str] = &["_hashed_password"];

/// Who an object is about to be shown to, as far as its hidden fields go.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    /// The master key, and cloud code's trigger requests: all but the password hash.
    Master,
    /// An aggregate answer: no internal `_`-prefixed field, as Parse Server removes hidden
    /// properties from aggregate answers (its rows have no owner to check protected fields by).
    Aggregate,
    /// A client reading an object of `class`: no internal field, and on someone else's
    /// `_User` or `_Session` row (`own` false) no protected field either, as Parse Server's
    /// protectedFields and sensitive-data filter do.
    Client { class: &'a str, own: bool },
}

/// Removes from `object` what `reader` may not see: the one place an object's hidden fields
/// are stripped before it leaves the data layer (an answer, a trigger's request, a save's
/// echo). A class's own `protectedFields` CLP is applied on top by the database, which knows
/// the reader's roles.
pub fn strip_hidden(object: &mut Map<String, Value>, reader: Reader) {
    match reader {
        Reader::Master => {
            for field in NEVER_SHOWN {
                object.remove(*field);
            }
        }
        Reader::Aggregate => object.retain(|field, _| !field.starts_with('_')),
        Reader::Client { class, own } => {
            // The password hash first, as for the master key, so both answers order their
            // remaining keys alike.
            strip_hidden(object, Reader::Master);
            object.retain(|field, _| !field.starts_with('_') && (own || !hidden_from_others(class, field)));
        }
    }
}

/// Fields of a class that only the master key may query, beyond the `_`-prefixed internal
/// ones: Parse Server's default protected fields, and the secrets its sensitive-data filter
/// removes from answers.
fn protected_fields(class: &str) -> &'static [&'static str] {
    match class {
        "_User" => &["email", "authData", "sessionToken"],
        "_Session" => &["sessionToken"],
        _ => &[],
    }
}

/// What a client does with a field: the verb of the refusal.
#[derive(Debug, Clone, Copy)]
pub enum Use {
    Query,
    Sort,
}

/// Checks that a non-master caller may `use` `key` (possibly dotted) of `class`: 105 "Invalid
/// key name" for an internal `_`-prefixed field, 119 for a protected one.
pub fn check_key(class: &str, key: &str, use_: Use) -> Result<(), DataError> {
    let field = key.split('.').next().unwrap_or_default();
    if field.starts_with('_') {
        return Err(DataError::InvalidKeyName(key.to_owned()));
    }
    if protected_fields(class).contains(&field) {
        let verb = match use_ {
            Use::Query => "query",
            Use::Sort => "sort by",
        };
        return Err(DataError::ProtectedField { verb: verb.to_owned(), field: field.to_owned(), class: class.to_owned() });
    }
    Ok(())
}

/// The classes the server keeps for itself: Parse Server's master-only classes (its
/// `classesWithMasterOnlyAccess`) plus the system classes cloudrt stores that Parse Server
/// keeps elsewhere. Their rows steer what runs with the master key (`_JobSchedule` starts jobs,
/// `_Hooks` sends functions and triggers to a URL), so without the master key they are neither
/// read nor written: not through their routes, and not through an `include` or a subquery.
pub const MASTER_ONLY_CLASSES: &[&str] = &[
    "_JobStatus",
    "_JobSchedule",
    "_Hooks",
    "_GlobalConfig",
    "_GraphQLConfig",
    "_Audience",
    "_PushStatus",
    "_Idempotency",
];

/// Refuses a non-master read of a master-only class (119, Parse Server's words).
pub fn check_class(master: bool, class: &str, operation: &str) -> Result<(), DataError> {
    if master || !MASTER_ONLY_CLASSES.contains(&class) {
        return Ok(());
    }
    Err(DataError::MasterOnlyClass { operation: operation.to_owned(), class: class.to_owned() })
}

/// Whether a non-master reader may see `field` of someone else's `class` object. Internal
/// `_`-prefixed fields are never shown, protected ones only to their owner.
fn hidden_from_others(class: &str, field: &str) -> bool {
    field.starts_with('_') || protected_fields(class).contains(&field)
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorCode;
    use super::*;

    #[test]
    fn internal_fields_are_invalid_keys() {
        for key in ["_hashed_password", "_password_history", "_anything.deep"] {
            let error = check_key("_User", key, Use::Query).unwrap_err();
            assert_eq!((error.code(), error.to_string()), (ErrorCode::INVALID_KEY_NAME.0, format!("Invalid key name: {key}")));
        }
        assert_eq!(check_key("Note", "_x", Use::Sort).unwrap_err().code(), 105);
    }

    #[test]
    fn protected_fields_are_forbidden() {
        let error = check_key("_User", "email", Use::Query).unwrap_err();
        assert_eq!((error.code(), error.to_string()), (ErrorCode::OPERATION_FORBIDDEN.0, "This user is not allowed to query email on class _User".to_owned()));
        assert_eq!(check_key("_User", "authData.facebook.id", Use::Query).unwrap_err().code(), 119);
        assert_eq!(check_key("_Session", "sessionToken", Use::Sort).unwrap_err().code(), 119);
        assert!(check_key("_User", "username", Use::Query).is_ok());
        assert!(check_key("Note", "email", Use::Query).is_ok(), "only _User's email is protected");
    }

    #[test]
    fn hidden_fields() {
        assert!(hidden_from_others("_User", "email"));
        assert!(hidden_from_others("_User", "authData"));
        assert!(hidden_from_others("Note", "_internal"));
        assert!(!hidden_from_others("Note", "email"));
    }

    #[test]
    fn each_reader_sees_what_it_may() {
        let stored = serde_json::json!({"objectId": "u", "email": "a@b.c", "_hashed_password": "h", "_email_verify_token": "t"});
        let shown = |reader| {
            let mut object = stored.as_object().unwrap().clone();
            strip_hidden(&mut object, reader);
            let mut keys: Vec<String> = object.keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(shown(Reader::Master), ["_email_verify_token", "email", "objectId"]);
        assert_eq!(shown(Reader::Aggregate), ["email", "objectId"]);
        assert_eq!(shown(Reader::Client { class: "_User", own: true }), ["email", "objectId"]);
        assert_eq!(shown(Reader::Client { class: "_User", own: false }), ["objectId"]);
        assert_eq!(shown(Reader::Client { class: "Note", own: false }), ["email", "objectId"]);
    }
}
