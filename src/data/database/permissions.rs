//! Class-level permissions applied to reads and writes: the rules live in [`crate::data::clp`];
//! this is where a request's access meets its class's CLP, so that every path that reads a
//! class (queries, gets, includes, subqueries) and every write asks the same question.

use serde_json::{json, Map, Value};

use super::{Access, Database};
use crate::data::clp::{self, ClassPermissions, Operation, Requester};
use crate::data::DataError;

impl Access {
    fn requester(&self) -> Requester<'_> {
        Requester { user_id: self.user_id.as_deref(), roles: &self.roles[..] }
    }
}

/// `{"$or": [{f: <pointer to the user>}, …]}`: the objects a pointer permission opens (none
/// without a user). An equality on an array field matches arrays holding the pointer, as
/// Parse's queries do.
fn pointing_to(user_id: Option<&str>, fields: &[String]) -> Value {
    let Some(user_id) = user_id else { return json!({"objectId": {"$in": []}}) };
    let user = json!({"__type": "Pointer", "className": "_User", "objectId": user_id});
    let alternatives: Vec<Value> = fields.iter().map(|field| json!({ field.as_str(): user.clone() })).collect();
    json!({ "$or": alternatives })
}

impl Database {
    /// The CLP `access` is held to on `class`; None for the master key or a class without one.
    fn permissions_for(&self, access: &Access, class: &str) -> Option<ClassPermissions> {
        if access.master {
            return None;
        }
        self.class_permissions(class)
    }

    /// Checks that `access` may `operation` on `class` and answers the `where` to run: the
    /// given one, or narrowed to the objects pointing to the user when only a pointer
    /// permission lets the request through.
    pub fn permitted_where(&self, access: &Access, class: &str, operation: Operation, where_: Value) -> Result<Value, DataError> {
        let Some(permissions) = self.permissions_for(access, class) else { return Ok(where_) };
        match permissions.check(class, operation, &access.requester())? {
            clp::Access::Granted => Ok(where_),
            clp::Access::OnlyPointing { user_id, fields } => Ok(json!({"$and": [where_, pointing_to(user_id.as_deref(), &fields)]})),
        }
    }

    /// Checks that `access` may `operation` the stored object `id` of `class`: granted
    /// outright, or through a pointer permission when the object points to the user (101
    /// otherwise, as if it did not exist, as Parse Server answers).
    pub fn permit_object(&self, access: &Access, class: &str, operation: Operation, id: &str) -> Result<(), DataError> {
        let Some(permissions) = self.permissions_for(access, class) else { return Ok(()) };
        match permissions.check(class, operation, &access.requester())? {
            clp::Access::Granted => Ok(()),
            clp::Access::OnlyPointing { user_id, fields } => {
                let user_id = user_id.ok_or(DataError::ObjectNotFound)?;
                let object = self.store.get(class, id)?.ok_or(DataError::ObjectNotFound)?;
                if fields.iter().any(|field| clp::points_to(object.get(field), &user_id)) {
                    Ok(())
                } else {
                    Err(DataError::ObjectNotFound)
                }
            }
        }
    }

    /// Checks that `access` may `operation` on `class` at all (a create, or adding a field),
    /// where no stored object can open a pointer permission.
    pub fn permit_class(&self, access: &Access, class: &str, operation: Operation) -> Result<(), DataError> {
        let Some(permissions) = self.permissions_for(access, class) else { return Ok(()) };
        permissions.check(class, operation, &access.requester()).map(drop)
    }

    /// Whether an `include` may put the object `id` of `class` in an answer for `access`.
    pub(super) fn may_include(&self, access: &Access, class: &str, id: &str) -> bool {
        self.permit_object(access, class, Operation::Get, id).is_ok()
    }

    /// Refuses a `where` or `order` naming a field the class's `protectedFields` hide from
    /// `access` (119, Parse Server's words): each answer would tell whether a guess was right.
    pub fn check_protected_query(&self, access: &Access, class: &str, where_: &Value, order: Option<&str>) -> Result<(), DataError> {
        let Some(permissions) = self.permissions_for(access, class) else { return Ok(()) };
        let hidden = permissions.protected_fields(&access.requester(), &Map::new());
        if hidden.is_empty() {
            return Ok(());
        }
        let refused = |key: &str, verb: &str| {
            let root = key.split('.').next().unwrap_or_default();
            if hidden.iter().any(|field| field == key || field == root) {
                Err(DataError::ProtectedField { verb: verb.to_owned(), field: key.to_owned(), class: class.to_owned() })
            } else {
                Ok(())
            }
        };
        fn walk(where_: &Value, check: &dyn Fn(&str) -> Result<(), DataError>) -> Result<(), DataError> {
            let Some(object) = where_.as_object() else { return Ok(()) };
            for (key, value) in object {
                match key.as_str() {
                    "$or" | "$and" | "$nor" => {
                        for part in value.as_array().into_iter().flatten() {
                            walk(part, check)?;
                        }
                    }
                    _ => check(key)?,
                }
            }
            Ok(())
        }
        walk(where_, &|key| refused(key, "query"))?;
        for key in order.unwrap_or_default().split(',').map(|k| k.trim().trim_start_matches('-')).filter(|k| !k.is_empty()) {
            refused(key, "sort by")?;
        }
        Ok(())
    }

    /// Removes from an answer the fields the class's `protectedFields` hide from `access`.
    pub(super) fn hide_protected(&self, access: &Access, class: &str, object: &mut Map<String, Value>) {
        let Some(permissions) = self.permissions_for(access, class) else { return };
        for field in permissions.protected_fields(&access.requester(), object) {
            object.remove(&field);
        }
    }
}
