//! Updates the store applies in place: an update that sets plain values, increments numbers
//! and adds to or removes from arrays needs no read of the object before its write, so on a
//! store several nodes share it is one atomic statement instead of a read, a compare-and-set
//! and retries while other nodes change the same object.

use serde_json::{Map, Value};

use super::{Database, PreparedSave};
use crate::data::field_ops::{self, Op, RelationChanges};
use crate::data::{roles, unique, DataError};
use crate::store::{ArrayChange, InPlace, StoreError};

/// The object as stored after the write, and the relation changes left to make (none here).
type Saved = (Map<String, Value>, RelationChanges);

impl Database {
    /// The object as stored after `prepared`, written in place by the store; None when the
    /// update needs the stored object first (any other operation, a dotted key, a null or
    /// relation value, fields set by the server, `_User` and `_Role` whose writes check
    /// uniqueness and roles against the stored object, an AddUnique or Remove of values with
    /// pointers nested in them) or when the store cannot. An update that only sets values is
    /// a plain write already.
    pub(super) fn update_in_place(&self, prepared: &PreparedSave, id: &str, now: &str) -> Result<Option<Saved>, DataError> {
        if !prepared.internal.is_empty() || prepared.class_name == roles::ROLE || prepared.class_name == unique::USER {
            return Ok(None);
        }
        let mut change = InPlace::default();
        for (key, value) in &prepared.body {
            if key.contains('.') {
                return Ok(None);
            }
            match Op::parse(value)? {
                Some(Op::Increment(amount)) => match amount.as_f64() {
                    Some(amount) => change.increments.push((key.clone(), amount)),
                    None => return Ok(None),
                },
                Some(Op::Add(values)) => change.arrays.push((key.clone(), ArrayChange::Add(values.to_vec()))),
                Some(Op::AddUnique(values)) if values.iter().all(field_ops::compares_as_json) => {
                    change.arrays.push((key.clone(), ArrayChange::AddUnique(field_ops::distinct(values))));
                }
                Some(Op::Remove(values)) if values.iter().all(field_ops::compares_as_json) => {
                    change.arrays.push((key.clone(), ArrayChange::Remove(values.to_vec())));
                }
                Some(_) => return Ok(None),
                None if value.is_null() || value.get("__type").and_then(Value::as_str) == Some("Relation") => return Ok(None),
                None => drop(change.set.insert(key.clone(), value.clone())),
            }
        }
        if change.increments.is_empty() && change.arrays.is_empty() {
            return Ok(None);
        }
        change.set.insert("updatedAt".into(), Value::String(now.to_owned()));
        match self.store.update_in_place(&prepared.class_name, id, change) {
            Ok(stored) => Ok(stored.map(|object| ((*object).clone(), RelationChanges::default()))),
            Err(StoreError::NotFound) => Err(DataError::ObjectNotFound),
            Err(error) => Err(error.into()),
        }
    }
}
