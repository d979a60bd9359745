//! Cloud Code webhooks: functions and triggers answered by the operator's own HTTPS server.
//! `client` makes the calls; `calls` says what a call sends and how its failure reads.
pub mod calls;
pub mod client;
