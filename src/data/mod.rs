//! The Parse object model: types and `__op`s, schemas, ACLs, the query engine, and the
//! database that ties them to a store. Knows nothing of HTTP or JavaScript.

pub mod acl;
pub mod aggregate;
pub mod auth_data;
pub mod clp;
mod answer_size;
mod database;
mod deadline;
mod error;
mod index;
pub mod ids;
pub mod idempotency;
pub mod field_ops;
pub mod password;
pub mod protected;
pub mod query;
pub mod roles;
pub mod schema;
pub mod text_search;
mod unique;
pub mod accounts;

pub use database::{Access, DataSettings, Database, FindOptions, PreparedSave, SavedObject, SystemClass, SystemWrite};
pub use error::DataError;
