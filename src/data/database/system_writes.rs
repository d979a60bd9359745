//! The one door for writes to the server's own classes: `_JobStatus`, `_JobSchedule`, `_Hooks`,
//! `_GlobalConfig` and `_Session`. Their rows are the server's bookkeeping (runs, schedules,
//! webhook registrations, config, log-ins), written by the server for its own APIs, so they go
//! through here with the master key and **never run triggers**: no cloud-code or webhook
//! beforeSave / afterSave / beforeDelete / afterDelete, whatever main.js registers for these
//! classes. Saves that users see go through `api::pipeline`, which runs them.

use serde_json::{Map, Value};

use super::{Access, Database, SavedObject};
use crate::data::DataError;

/// A class the server writes for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemClass {
    JobStatus,
    JobSchedule,
    Hooks,
    GlobalConfig,
    Session,
}

impl SystemClass {
    pub const fn name(self) -> &'static str {
        match self {
            SystemClass::JobStatus => "_JobStatus",
            SystemClass::JobSchedule => "_JobSchedule",
            SystemClass::Hooks => "_Hooks",
            SystemClass::GlobalConfig => "_GlobalConfig",
            SystemClass::Session => "_Session",
        }
    }
}

/// One write to a system class.
#[derive(Debug)]
pub enum SystemWrite {
    /// A new row; `id` when the server names it itself (the one `_GlobalConfig` row).
    Create { id: Option<String>, fields: Map<String, Value> },
    Update { id: String, fields: Map<String, Value> },
    Delete { id: String },
}

impl Database {
    /// Writes `write` to `class` with the master key, synced before it answers. Never runs
    /// triggers (this layer knows none; the point is that no caller sends these rows through
    /// the pipeline that does). Answers the row written; `None` for a delete.
    pub fn write_system(&self, class: SystemClass, write: SystemWrite) -> Result<Option<SavedObject>, DataError> {
        let name = class.name();
        match write {
            SystemWrite::Create { id, fields } => {
                let mut prepared = self.prepare_create(&Access::master(), name, fields)?;
                if let Some(id) = id {
                    prepared.assign_id(id);
                }
                self.commit(prepared).map(Some)
            }
            SystemWrite::Update { id, fields } => {
                let prepared = self.prepare_update(&Access::master(), name, &id, fields)?;
                self.commit(prepared).map(Some)
            }
            SystemWrite::Delete { id } => self.delete(name, &id).map(|()| None),
        }
    }
}
