//! Object-level access control lists, in Parse's `ACL` JSON form.
//!
//! An ACL maps an entity — `*` (everyone), a user's objectId, or `role:<name>` — to read and
//! write grants. Only grants exist: an entity absent from the ACL, or present with `false`,
//! is simply not granted. An object with no `ACL` field at all is readable and writable by
//! everyone, which is Parse's default. The master key bypasses ACLs; that decision belongs
//! to the caller, which is why nothing here knows about it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::DataError;

/// The key that grants to everyone.
pub const PUBLIC: &str = "*";

/// The top-level field an object's ACL is stored in: all that [`can_read`] reads.
pub const ACL_FIELD: &str = "ACL";

/// The prefix that marks a role entity (`role:Admins`).
pub const ROLE_PREFIX: &str = "role:";

/// Who is asking: the authenticated user (if any) and the names of every role they hold,
/// including roles inherited through role hierarchies (resolving those is the caller's job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal<'a> {
    pub user_id: Option<&'a str>,
    /// Role names without the `role:` prefix.
    pub roles: &'a [String],
}

/// The grants one ACL entity holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    pub read: bool,
    pub write: bool,
}

/// A parsed, validated ACL.
///
/// Use this to validate and normalise ACLs on writes; the hot read path ([`can_read`]) works on
/// the raw JSON instead so a scan does not build one of these per object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    entries: BTreeMap<String, Permissions>,
}

impl Acl {
    /// Parses and validates an `ACL` value from a REST body.
    ///
    /// Rejected with 123 (invalid ACL): a non-object ACL, an empty entity name or role name,
    /// an entity whose value is not an object, a permission other than `read`/`write`, and a
    /// permission whose value is not a boolean. Parse's SDKs never send any of those, so
    /// accepting them would only store something no client could read back sensibly.
    pub fn parse(value: &Value) -> Result<Acl, DataError> {
        let Value::Object(entities) = value else {
            return Err(invalid_acl("the ACL must be an object".to_owned()));
        };
        let mut entries = BTreeMap::new();
        for (entity, grants) in entities {
            if entity.is_empty() || entity == ROLE_PREFIX {
                return Err(invalid_acl(format!("'{entity}' is not a valid ACL entity")));
            }
            let Value::Object(grants) = grants else {
                return Err(invalid_acl(format!("permissions for '{entity}' must be an object")));
            };
            let mut permissions = Permissions::default();
            for (name, allowed) in grants {
                let Value::Bool(allowed) = *allowed else {
                    return Err(invalid_acl(format!("permission '{name}' for '{entity}' must be a boolean")));
                };
                match name.as_str() {
                    "read" => permissions.read = allowed,
                    "write" => permissions.write = allowed,
                    _ => {
                        return Err(invalid_acl(format!(
                            "'{name}' is not a valid ACL permission (for '{entity}')"
                        )))
                    }
                }
            }
            entries.insert(entity.clone(), permissions);
        }
        Ok(Acl { entries })
    }

    /// The ACL as Parse writes it: only `true` grants, and no entity without any.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (entity, permissions) in &self.entries {
            let mut grants = Map::new();
            if permissions.read {
                grants.insert("read".to_owned(), Value::Bool(true));
            }
            if permissions.write {
                grants.insert("write".to_owned(), Value::Bool(true));
            }
            if !grants.is_empty() {
                out.insert(entity.clone(), Value::Object(grants));
            }
        }
        Value::Object(out)
    }
}

fn invalid_acl(detail: String) -> DataError {
    DataError::InvalidAcl(detail)
}

/// Whether `who` may read `object`, judged from its raw `ACL` field.
///
/// Runs once per object of every scan, so it reads the JSON in place and never allocates.
/// An absent or `null` ACL is public (Parse's default). An ACL that is present but malformed
/// grants nothing: a corrupt ACL must never widen access.
pub fn can_read(object: &Map<String, Value>, who: &Principal) -> bool {
    object_grants(object, who, "read")
}

/// Whether `who` may write (update or delete) `object`; same rules as [`can_read`].
pub fn can_write(object: &Map<String, Value>, who: &Principal) -> bool {
    object_grants(object, who, "write")
}

fn object_grants(object: &Map<String, Value>, who: &Principal, permission: &str) -> bool {
    let acl = match object.get(ACL_FIELD) {
        None | Some(Value::Null) => return true,
        Some(Value::Object(acl)) => acl,
        Some(_) => return false,
    };
    let granted = |grants: &Value| grants.get(permission) == Some(&Value::Bool(true));
    if acl.get(PUBLIC).is_some_and(granted) {
        return true;
    }
    if let Some(user_id) = who.user_id {
        if acl.get(user_id).is_some_and(granted) {
            return true;
        }
    }
    // Walking the ACL's role entries avoids building a "role:<name>" key per held role.
    !who.roles.is_empty()
        && acl.iter().any(|(entity, grants)| {
            entity
                .strip_prefix(ROLE_PREFIX)
                .is_some_and(|role| granted(grants) && who.roles.iter().any(|r| r == role))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object_with_acl(acl: Value) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("objectId".into(), json!("abc"));
        object.insert("ACL".into(), acl);
        object
    }

    #[test]
    fn object_checks_follow_parse_rules() {
        let admins = vec!["Admins".to_owned()];
        let editors_and_staff = vec!["Editors".to_owned(), "Staff".to_owned()];
        let user = Principal { user_id: Some("u1"), roles: &[] };
        let other = Principal { user_id: Some("u2"), roles: &[] };
        let admin = Principal { user_id: Some("u3"), roles: &admins };
        let staff = Principal { user_id: None, roles: &editors_and_staff };
        let anon = Principal { user_id: None, roles: &[] };

        // (ACL, principal, can read, can write)
        let cases: Vec<(Option<Value>, Principal, bool, bool)> = vec![
            (None, anon, true, true),
            (Some(Value::Null), anon, true, true),
            (Some(json!({})), anon, false, false),
            (Some(json!({})), user, false, false),
            (Some(json!({"*": {"read": true}})), anon, true, false),
            (Some(json!({"*": {"read": true, "write": true}})), anon, true, true),
            (Some(json!({"*": {"read": false}})), anon, false, false),
            (Some(json!({"u1": {"read": true, "write": true}})), user, true, true),
            (Some(json!({"u1": {"read": true, "write": true}})), other, false, false),
            (Some(json!({"u1": {"read": true, "write": true}})), anon, false, false),
            (Some(json!({"u1": {"write": true}})), user, false, true),
            (Some(json!({"role:Admins": {"write": true}})), admin, false, true),
            (Some(json!({"role:Admins": {"read": true}})), user, false, false),
            (Some(json!({"role:Staff": {"read": true}})), staff, true, false),
            (Some(json!({"Staff": {"read": true}})), staff, false, false),
            (Some(json!({"role:u1": {"read": true}})), user, false, false),
            (Some(json!({"*": {"read": true}, "u1": {"write": true}})), user, true, true),
            (Some(json!({"*": {"read": "true"}})), anon, false, false),
            (Some(json!({"*": true})), anon, false, false),
            (Some(json!("public")), anon, false, false),
            (Some(json!([{"*": {"read": true}}])), anon, false, false),
        ];
        for (acl, who, read, write) in cases {
            let object = match &acl {
                Some(acl) => object_with_acl(acl.clone()),
                None => Map::new(),
            };
            assert_eq!(can_read(&object, &who), read, "read {acl:?} {who:?}");
            assert_eq!(can_write(&object, &who), write, "write {acl:?} {who:?}");
        }
    }

    #[test]
    fn parse_rejects_malformed_acls_with_123() {
        let cases = [
            json!(null),
            json!(true),
            json!("*"),
            json!([]),
            json!({"*": true}),
            json!({"*": null}),
            json!({"*": ["read"]}),
            json!({"*": {"read": "yes"}}),
            json!({"*": {"read": 1}}),
            json!({"*": {"write": null}}),
            json!({"*": {"delete": true}}),
            json!({"u1": {"Read": true}}),
            json!({"": {"read": true}}),
            json!({"role:": {"read": true}}),
        ];
        for acl in cases {
            let err = Acl::parse(&acl).expect_err(&acl.to_string());
            assert_eq!(err.code(), 123, "{acl}");
            assert!(err.to_string().starts_with("Invalid ACL"), "{}", err);
        }
    }

    #[test]
    fn parse_accepts_valid_acls_and_round_trips_true_grants() {
        let cases = [
            (json!({}), json!({})),
            (json!({"*": {"read": true}}), json!({"*": {"read": true}})),
            (
                json!({"u1": {"read": true, "write": true}, "role:Admins": {"write": true}}),
                json!({"u1": {"read": true, "write": true}, "role:Admins": {"write": true}}),
            ),
            (json!({"*": {"read": false, "write": true}}), json!({"*": {"write": true}})),
            (json!({"*": {}}), json!({})),
            (json!({"u1": {"read": false}}), json!({})),
        ];
        for (input, output) in cases {
            let acl = Acl::parse(&input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(acl.to_json(), output, "{input}");
            assert_eq!(Acl::parse(&acl.to_json()).unwrap().to_json(), output);
        }
    }

    #[test]
    fn scanning_many_objects_is_cheap() {
        let roles: Vec<String> = (0..5).map(|i| format!("R{i}")).collect();
        let who = Principal { user_id: Some("me"), roles: &roles };
        let objects: Vec<Map<String, Value>> = (0..10_000)
            .map(|i| {
                object_with_acl(json!({format!("u{i}"): {"read": true}, "role:R4": {"read": i % 2 == 0}}))
            })
            .collect();
        let readable = objects.iter().filter(|o| can_read(o, &who)).count();
        assert_eq!(readable, 5_000);
    }
}
