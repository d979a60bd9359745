//! Cloud Code webhooks: functions and triggers answered by the operator's own HTTPS server.
pub mod client;
