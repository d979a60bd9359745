//! Class-level permissions (CLPs): who may find, get, count, create, update, delete and add
//! fields to a class, and which fields each reader may not see, as Parse Server's schema
//! `classLevelPermissions` say.
//!
//! An ACL guards one object; a CLP guards the whole class, and is checked first. Entities are
//! `*` (everyone), a user's objectId, `role:<name>` and `requiresAuthentication` (any logged-in
//! user). Pointer permissions (`readUserFields`/`writeUserFields`, or `pointerFields` inside
//! one operation) let a user through only to the objects whose named `_User` pointer (or array
//! of them) names that user: the caller narrows the query to those. The master key bypasses
//! all of it; that decision belongs to the caller.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::schema::{FieldType, DEFAULT_FIELDS};
use super::DataError;

/// The operations a CLP grants, in Parse's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Find,
    Count,
    Get,
    Create,
    Update,
    Delete,
    AddField,
}

impl Operation {
    pub fn key(self) -> &'static str {
        match self {
            Operation::Find => "find",
            Operation::Count => "count",
            Operation::Get => "get",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::AddField => "addField",
        }
    }

    /// Which pointer-permission list applies: reads use `readUserFields`, writes
    /// `writeUserFields`.
    fn user_fields_key(self) -> &'static str {
        match self {
            Operation::Find | Operation::Count | Operation::Get => "readUserFields",
            _ => "writeUserFields",
        }
    }
}

const OPERATION_KEYS: &[&str] = &["find", "count", "get", "create", "update", "delete", "addField"];

/// The keys a CLP object may have (Parse Server's `CLPValidKeys`).
const VALID_KEYS: &[&str] = &[
    "ACL",
    "find",
    "count",
    "get",
    "create",
    "update",
    "delete",
    "addField",
    "readUserFields",
    "writeUserFields",
    "protectedFields",
];

/// The entity that matches any logged-in user.
pub const REQUIRES_AUTHENTICATION: &str = "requiresAuthentication";

/// Who asks, as far as a CLP is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub user_id: Option<&'a str>,
    /// Role names without `role:`.
    pub roles: &'a [String],
}

impl Requester<'_> {
    /// The CLP entities this requester is (`*`, the user's id, `role:<name>`, and for
    /// `protectedFields` also `authenticated` when logged in).
    fn entities(&self, authenticated: bool) -> Vec<String> {
        let mut out = vec!["*".to_owned()];
        if let Some(id) = self.user_id {
            out.push(id.to_owned());
            if authenticated {
                out.push("authenticated".to_owned());
            }
        }
        out.extend(self.roles.iter().map(|role| format!("role:{role}")));
        out
    }
}

/// What a CLP says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The whole class is open to the requester for this operation.
    Granted,
    /// Only the objects whose named fields point to the requester (pointer permissions); none
    /// at all for a requester who is not logged in.
    OnlyPointing { user_id: Option<String>, fields: Vec<String> },
}

/// A class's validated class-level permissions, stored as given (operations left out are
/// closed to all but the master key, as on Parse Server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassPermissions(Map<String, Value>);

impl ClassPermissions {
    /// What a class without CLPs answers: everything open to everyone.
    pub fn default_json() -> Value {
        let everyone = json!({"*": true});
        json!({
            "find": everyone, "count": everyone, "get": everyone, "create": everyone,
            "update": everyone, "delete": everyone, "addField": everyone, "protectedFields": {"*": []},
        })
    }

    /// Validates a `classLevelPermissions` value against the class's `fields`, with Parse
    /// Server's codes and words (107 for every malformed part).
    pub fn parse(value: &Value, fields: &BTreeMap<String, FieldType>) -> Result<ClassPermissions, DataError> {
        let invalid = DataError::InvalidClassPermissions;
        let Value::Object(perms) = value else {
            return Err(invalid(format!("'{}' is not a valid value for class level permissions - must be an object", short(value))));
        };
        for (key, operation) in perms {
            if !VALID_KEYS.contains(&key.as_str()) {
                return Err(invalid(format!("{key} is not a valid operation for class level permissions")));
            }
            match key.as_str() {
                "readUserFields" | "writeUserFields" => {
                    let Value::Array(names) = operation else {
                        return Err(invalid(format!(
                            "'{}' is not a valid value for class level permissions {key} - must be an array",
                            short(operation)
                        )));
                    };
                    for name in names {
                        check_pointer_field(name, fields, key)?;
                    }
                }
                "protectedFields" => check_protected_fields(operation, fields)?,
                _ => check_operation(key, operation, fields)?,
            }
        }
        Ok(ClassPermissions(perms.clone()))
    }

    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for key in OPERATION_KEYS.iter().chain(["protectedFields"].iter()) {
            out.insert((*key).to_owned(), json!({}));
        }
        out.extend(self.0.clone());
        Value::Object(out)
    }

    /// Whether `requester` may do `operation`, Parse Server's way: `*`, the user's id or one
    /// of their roles set to `true` grants; `requiresAuthentication` lets any logged-in user
    /// through (101 for the others) to what the pointer permissions open, or to everything
    /// without any; pointer permissions grant the objects pointing to the user. Else 119
    /// "Permission denied for action … on class …".
    pub fn check(&self, class: &str, operation: Operation, requester: &Requester<'_>) -> Result<Access, DataError> {
        let empty = Map::new();
        let perms = self.0.get(operation.key()).and_then(Value::as_object).unwrap_or(&empty);
        let entities = requester.entities(false);
        if perms.get("*") == Some(&Value::Bool(true))
            || entities.iter().any(|entity| perms.get(entity) == Some(&Value::Bool(true)))
        {
            return Ok(Access::Granted);
        }
        // Any logged-in user passes; pointer permissions, when the class has some, still
        // narrow what they reach, as Parse Server applies them after this check.
        let authenticated = perms.get(REQUIRES_AUTHENTICATION) == Some(&Value::Bool(true));
        if authenticated && requester.user_id.is_none() {
            return Err(DataError::AuthenticationRequired);
        }
        let denied = || DataError::PermissionDenied { action: operation.key(), class: class.to_owned() };
        if operation == Operation::Create || operation == Operation::AddField {
            return if authenticated { Ok(Access::Granted) } else { Err(denied()) };
        }
        let mut fields: Vec<String> = strings(self.0.get(operation.user_fields_key()));
        fields.extend(strings(perms.get("pointerFields")));
        if fields.is_empty() {
            return if authenticated { Ok(Access::Granted) } else { Err(denied()) };
        }
        Ok(Access::OnlyPointing { user_id: requester.user_id.map(str::to_owned), fields })
    }

    /// The fields `requester` may not see in `object`: the intersection of the
    /// `protectedFields` lists of every entity the requester is (`*`, `authenticated`, the
    /// user's id, `role:<name>`, and `userField:<f>` when `object.f` points to the user).
    pub fn protected_fields(&self, requester: &Requester<'_>, object: &Map<String, Value>) -> Vec<String> {
        let Some(Value::Object(protected)) = self.0.get("protectedFields") else { return Vec::new() };
        let mut entities = requester.entities(true);
        if let Some(user_id) = requester.user_id {
            for key in protected.keys() {
                if let Some(field) = key.strip_prefix("userField:") {
                    if points_to(object.get(field), user_id) {
                        entities.push(key.clone());
                    }
                }
            }
        }
        let mut hidden: Option<Vec<String>> = None;
        for entity in entities {
            let Some(list) = protected.get(&entity) else { continue };
            let list = strings(Some(list));
            hidden = Some(match hidden {
                None => list,
                Some(so_far) => so_far.into_iter().filter(|f| list.contains(f)).collect(),
            });
        }
        hidden.unwrap_or_default()
    }

    /// Drops `field` from every list (the field was deleted from the class).
    pub fn forget_field(&mut self, field: &str) {
        for (key, value) in self.0.iter_mut() {
            match (key.as_str(), value) {
                ("readUserFields" | "writeUserFields", Value::Array(names)) => names.retain(|n| n != field),
                ("protectedFields", Value::Object(lists)) => {
                    for list in lists.values_mut() {
                        if let Value::Array(names) = list {
                            names.retain(|n| n != field);
                        }
                    }
                }
                (_, Value::Object(entities)) => {
                    if let Some(Value::Array(names)) = entities.get_mut("pointerFields") {
                        names.retain(|n| n != field);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Whether `value` is a `_User` pointer to `user_id`, or an array holding one.
pub fn points_to(value: Option<&Value>, user_id: &str) -> bool {
    let is_user = |v: &Value| {
        v.get("className").and_then(Value::as_str) == Some("_User")
            && v.get("objectId").and_then(Value::as_str) == Some(user_id)
    };
    match value {
        Some(Value::Array(items)) => items.iter().any(is_user),
        Some(other) => is_user(other),
        None => false,
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A value as JavaScript's template strings would print it in Parse Server's messages, cut short.
fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Object(_) => "[object Object]".to_owned(),
        other => other.to_string(),
    };
    text.chars().take(64).collect()
}

/// Parse Server's user-id rule for CLP entities: an objectId (letters and digits).
fn is_user_id(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn check_operation(operation: &str, entities: &Value, fields: &BTreeMap<String, FieldType>) -> Result<(), DataError> {
    let invalid = DataError::InvalidClassPermissions;
    let Value::Object(entities) = entities else {
        return Err(invalid(format!(
            "'{}' is not a valid value for class level permissions {operation} - must be an object",
            short(entities)
        )));
    };
    for (entity, permit) in entities {
        let known = entity == "*"
            || entity == REQUIRES_AUTHENTICATION
            || entity == "pointerFields"
            || entity.strip_prefix("role:").is_some_and(|name| !name.is_empty())
            || is_user_id(entity);
        if !known {
            return Err(invalid(format!("'{entity}' is not a valid key for class level permissions")));
        }
        if entity == "pointerFields" {
            let Value::Array(names) = permit else {
                return Err(invalid(format!(
                    "'{}' is not a valid value for {operation}[{entity}] - expected an array.",
                    short(permit)
                )));
            };
            for name in names {
                check_pointer_field(name, fields, operation)?;
            }
            continue;
        }
        if operation == "ACL" {
            let valid = permit.as_object().is_some_and(|grants| {
                grants.iter().all(|(k, v)| (k == "read" || k == "write") && v.is_boolean())
            });
            if !valid {
                return Err(invalid(format!("'{}' is not a valid value for class level permissions acl", short(permit))));
            }
        } else if permit != &Value::Bool(true) {
            return Err(invalid(format!(
                "'{}' is not a valid value for class level permissions acl {operation}:{entity}",
                short(permit)
            )));
        }
    }
    Ok(())
}

/// A pointer permission must name a `Pointer<_User>` or an `Array` field of the class.
fn check_pointer_field(name: &Value, fields: &BTreeMap<String, FieldType>, operation: &str) -> Result<(), DataError> {
    let ok = name.as_str().and_then(|name| fields.get(name)).is_some_and(|field_type| {
        matches!(field_type, FieldType::Array) || *field_type == FieldType::Pointer("_User".to_owned())
    });
    if ok {
        Ok(())
    } else {
        Err(DataError::InvalidClassPermissions(format!(
            "'{}' is not a valid column for class level pointer permissions {operation}",
            short(name)
        )))
    }
}

fn check_protected_fields(value: &Value, fields: &BTreeMap<String, FieldType>) -> Result<(), DataError> {
    let invalid = DataError::InvalidClassPermissions;
    let Value::Object(lists) = value else {
        return Err(invalid(format!(
            "'{}' is not a valid value for class level permissions protectedFields - must be an object",
            short(value)
        )));
    };
    for (entity, list) in lists {
        let known = entity == "*"
            || entity == "authenticated"
            || entity.strip_prefix("role:").is_some_and(|name| !name.is_empty())
            || entity.strip_prefix("userField:").is_some_and(|name| !name.is_empty())
            || is_user_id(entity);
        if !known {
            return Err(invalid(format!("'{entity}' is not a valid key for class level permissions")));
        }
        let Value::Array(names) = list else {
            return Err(invalid(format!(
                "'{}' is not a valid value for protectedFields[{entity}] - expected an array.",
                short(list)
            )));
        };
        for name in names {
            let Some(name) = name.as_str() else {
                return Err(invalid(format!("'{}' is not a valid field name in protectedFields[{entity}]", short(name))));
            };
            if DEFAULT_FIELDS.contains(&name) {
                return Err(invalid(format!("Default field '{name}' can not be protected")));
            }
            if !fields.contains_key(name) {
                return Err(invalid(format!("Field '{name}' in protectedFields:{entity} does not exist")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> BTreeMap<String, FieldType> {
        let mut fields = BTreeMap::new();
        fields.insert("owner".to_owned(), FieldType::Pointer("_User".to_owned()));
        fields.insert("team".to_owned(), FieldType::Array);
        fields.insert("title".to_owned(), FieldType::String);
        fields.insert("secret".to_owned(), FieldType::String);
        fields
    }

    fn parse(value: Value) -> Result<ClassPermissions, DataError> {
        ClassPermissions::parse(&value, &fields())
    }

    #[test]
    fn malformed_permissions_are_107() {
        let cases = [
            json!("open"),
            json!([]),
            json!({"frobnicate": {"*": true}}),
            json!({"find": true}),
            json!({"find": {"*": false}}),
            json!({"find": {"bad key!": true}}),
            json!({"find": {"role:": true}}),
            json!({"find": {"pointerFields": "owner"}}),
            json!({"find": {"pointerFields": ["title"]}}),
            json!({"readUserFields": "owner"}),
            json!({"readUserFields": ["missing"]}),
            json!({"protectedFields": {"*": "secret"}}),
            json!({"protectedFields": {"*": ["objectId"]}}),
            json!({"protectedFields": {"*": ["missing"]}}),
            json!({"protectedFields": {"who?": ["secret"]}}),
            json!({"ACL": {"*": {"read": 1}}}),
        ];
        for case in cases {
            assert_eq!(parse(case.clone()).unwrap_err().code(), 107, "{case}");
        }
        assert_eq!(
            parse(json!({"frobnicate": {}})).unwrap_err().to_string(),
            "frobnicate is not a valid operation for class level permissions"
        );
    }

    #[test]
    fn grants_by_public_user_role_and_authentication() {
        let clp = parse(json!({
            "find": {"*": true},
            "get": {"u1": true, "role:Staff": true},
            "count": {"requiresAuthentication": true},
            "update": {"pointerFields": ["owner"]},
            "writeUserFields": ["team"],
        }))
        .unwrap();
        let staff = ["Staff".to_owned()];
        let nobody = Requester { user_id: None, roles: &[] };
        let u1 = Requester { user_id: Some("u1"), roles: &[] };
        let u2 = Requester { user_id: Some("u2"), roles: &staff };
        let u3 = Requester { user_id: Some("u3"), roles: &[] };
        assert_eq!(clp.check("C", Operation::Find, &nobody), Ok(Access::Granted));
        assert_eq!(clp.check("C", Operation::Get, &u1), Ok(Access::Granted));
        assert_eq!(clp.check("C", Operation::Get, &u2), Ok(Access::Granted));
        assert_eq!(clp.check("C", Operation::Get, &u3).unwrap_err().code(), 119);
        assert_eq!(clp.check("C", Operation::Count, &nobody).unwrap_err().code(), 101);
        assert_eq!(clp.check("C", Operation::Count, &u3), Ok(Access::Granted));
        assert_eq!(
            clp.check("C", Operation::Update, &u3),
            Ok(Access::OnlyPointing { user_id: Some("u3".into()), fields: vec!["team".into(), "owner".into()] })
        );
        assert_eq!(
            clp.check("C", Operation::Update, &nobody),
            Ok(Access::OnlyPointing { user_id: None, fields: vec!["team".into(), "owner".into()] })
        );
        let error = clp.check("C", Operation::Create, &u1).unwrap_err();
        assert_eq!(error.to_string(), "Permission denied for action create on class C.");
        assert_eq!(
            clp.check("C", Operation::Delete, &u1),
            Ok(Access::OnlyPointing { user_id: Some("u1".into()), fields: vec!["team".into()] }),
            "writeUserFields cover every write"
        );
        let logged_in_owners = parse(json!({"find": {"requiresAuthentication": true}, "readUserFields": ["owner"]})).unwrap();
        assert_eq!(
            logged_in_owners.check("C", Operation::Find, &u1),
            Ok(Access::OnlyPointing { user_id: Some("u1".into()), fields: vec!["owner".into()] }),
            "requiresAuthentication still leaves the pointer permissions to narrow"
        );
        assert_eq!(logged_in_owners.check("C", Operation::Find, &nobody).unwrap_err().code(), 101);
        let only_find = parse(json!({"find": {"*": true}})).unwrap();
        assert_eq!(only_find.check("C", Operation::Get, &u1).unwrap_err().code(), 119, "left out is closed");
    }

    #[test]
    fn protected_fields_intersect_over_the_requesters_entities() {
        let clp = parse(json!({
            "protectedFields": {"*": ["secret", "title"], "authenticated": ["secret"], "userField:owner": []},
        }))
        .unwrap();
        let object: Map<String, Value> =
            serde_json::from_value(json!({"owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"}})).unwrap();
        let nobody = Requester { user_id: None, roles: &[] };
        let u1 = Requester { user_id: Some("u1"), roles: &[] };
        let u2 = Requester { user_id: Some("u2"), roles: &[] };
        assert_eq!(clp.protected_fields(&nobody, &object), vec!["secret", "title"]);
        assert_eq!(clp.protected_fields(&u2, &object), vec!["secret"]);
        assert!(clp.protected_fields(&u1, &object).is_empty());
    }
}
