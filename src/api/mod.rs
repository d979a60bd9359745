//! The Parse REST API as operations, independent of hyper: one route table shared by HTTP
//! clients and by cloud code (`Parse.Object#save` reaches it through the runtime's host op),
//! so both take the same path through triggers, ACLs and schemas.

mod aggregate;
mod auth_data;
mod batch;
mod classes;
mod config;
mod context;
pub mod email;
mod file_triggers;
pub mod files;
mod find_params;
mod find_triggers;
mod functions;
pub mod hooks;
mod cloud_requests;
pub mod idempotency;
pub mod installations;
pub mod jobs;
mod logs;
pub mod nodes;
mod pipeline;
mod query_rules;
pub mod releases;
pub mod reload;
mod routes;
mod schemas;
pub mod schedules;
mod server_info;
mod sessions;
pub mod startup;
mod system;
#[cfg(test)]
mod test_harness;
mod users;

pub use context::{Api, ClientRequest, Ctx, Reply};
pub use cloud_requests::ApiHost;
pub use routes::{dispatch, unknown_route};
