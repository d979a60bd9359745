//! `Parse.Object`, `Parse.Query`, `Parse.User` … inside cloud code: one async op carrying a
//! Parse REST request to the server's own API, so cloud code and REST clients share one data
//! pipeline (triggers, ACLs, schema) instead of two.

use std::cell::RefCell;
use std::rc::Rc;

use deno_core::{op2, OpState};

use super::NestedQueue;
use crate::runtime::budget::{CallBudgets, CallId};
use crate::runtime::host::{HostRequest, HostSlot, Invoker};

/// Answers "R" + the JSON response body, or "E" + `{"code":…,"error":…}`, as the dispatcher does.
/// `call` is the call in flight the request is made for (its request scope): triggers the
/// request runs are queued on this worker as that call's nested calls.
#[op2]
#[string]
pub async fn op_parse_request(
    state: Rc<RefCell<OpState>>,
    #[string] method: String,
    #[string] path: String,
    #[string] body: String,
    #[string] auth: String,
    call: f64,
) -> String {
    // Ids are small integers (a Number in JS); anything else names no call.
    let call = call as CallId;
    let (host, queue, live) = {
        let state = state.borrow();
        let live = state.borrow::<CallBudgets>().get(call).is_some();
        (state.borrow::<HostSlot>().get(), state.borrow::<NestedQueue>().0.clone(), live)
    };
    let Some(host) = host.filter(|_| call != 0) else {
        return failure(1, "the data API is not available while main.js is loading");
    };
    if !live {
        return failure(124, "the cloud code call that made this request has already been answered");
    }
    let invoker = Invoker::Worker { queue, caller: call };
    match host.request(HostRequest { method, path, body, auth, invoker }).await {
        Ok(body) => format!("R{body}"),
        Err(error) => failure(error.code, &error.message),
    }
}

fn failure(code: i32, message: &str) -> String {
    format!("E{}", serde_json::json!({ "code": code, "error": message }))
}
