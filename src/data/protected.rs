//! Fields a client may not query or sort by (Parse Server's `protectedFields` and its
//! internal `_`-prefixed fields).
//!
//! Hiding a field from answers is not enough: if a client may still filter on it, each answer
//! tells it whether its guess was right, and `{"_hashed_password": {"$regex": "^\\$argon2id"}}`
//! or `{"email": {"$regex": "^carol@"}}` read the field out one character at a time. So for
//! every caller but the master key, a `where` or `order` naming such a field is refused, as
//! Parse Server refuses it.

use super::DataError;

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
pub fn hidden_from_others(class: &str, field: &str) -> bool {
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
}
