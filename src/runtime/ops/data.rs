//! `Parse.Object`, `Parse.Query`, `Parse.User` … inside cloud code: one async op carrying a
//! Parse REST request to the server's own API, so cloud code and REST clients share one data
//! pipeline (triggers, ACLs, schema) instead of two.

use std::cell::RefCell;
use std::rc::Rc;

use deno_core::{op2, OpState};

use crate::runtime::host::{HostRequest, HostSlot, Invoker};

/// Answers "R" + the JSON response body, or "E" + `{"code":…,"error":…}`, as the dispatcher does.
#[op2]
#[string]
pub async fn op_parse_request(
    state: Rc<RefCell<OpState>>,
    #[string] method: String,
    #[string] path: String,
    #[string] body: String,
    #[string] auth: String,
) -> String {
    let (host, invoker) = {
        let state = state.borrow();
        (state.borrow::<HostSlot>().get(), state.borrow::<Invoker>().clone())
    };
    let Some(host) = host else {
        return failure(1, "the data API is not available while main.js is loading");
    };
    match host.request(HostRequest { method, path, body, auth, invoker }).await {
        Ok(body) => format!("R{body}"),
        Err(error) => failure(error.code, &error.message),
    }
}

fn failure(code: i32, message: &str) -> String {
    format!("E{}", serde_json::json!({ "code": code, "error": message }))
}
