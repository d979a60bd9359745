//! `Parse.Object`, `Parse.Query`, `Parse.User` … inside cloud code: one async op carrying a
//! Parse REST request to the server's own API, so cloud code and REST clients share one data
//! pipeline (triggers, ACLs, schema) instead of two.

use std::cell::RefCell;
use std::rc::Rc;

use deno_core::{op2, OpState};
use serde::Deserialize;

use super::error::JsParseError;
use super::NestedQueue;
use crate::runtime::budget::{CallBudgets, CallId};
use crate::runtime::host::{CallerAuth, HostRequest, HostSlot, Invoker};
use crate::runtime::CloudError;

/// A REST request as cloud code's SDK layer (js/40_request.js) makes it.
#[derive(Deserialize)]
pub struct ParseRequest {
    method: String,
    /// Below the mount: `classes/GameScore/abc`.
    path: String,
    /// The JSON body, or "" for none. Kept as text both ways: the API reads and writes JSON
    /// text, and QuickJS's `JSON.parse` builds the objects far faster than a value-by-value
    /// conversion through the engine facade.
    body: String,
    auth: CallerAuth,
}

/// Answers the JSON response body, or fails with the Parse error the API answered.
/// `call` is the call in flight the request is made for (its request scope): triggers the
/// request runs are queued on this worker as that call's nested calls.
#[op2]
#[string]
pub async fn op_parse_request(
    state: Rc<RefCell<OpState>>,
    #[serde] request: ParseRequest,
    call: f64,
) -> Result<String, JsParseError> {
    // Ids are small integers (a Number in JS); anything else names no call.
    let call = call as CallId;
    let (host, queue, live) = {
        let state = state.borrow();
        let live = state.borrow::<CallBudgets>().get(call).is_some();
        (state.borrow::<HostSlot>().get(), state.borrow::<NestedQueue>().0.clone(), live)
    };
    let Some(host) = host.filter(|_| call != 0) else {
        return Err(JsParseError::new(CloudError::INTERNAL, "the data API is not available while main.js is loading"));
    };
    if !live {
        return Err(JsParseError::new(CloudError::TIMEOUT, "the cloud code call that made this request has already been answered"));
    }
    let invoker = Invoker::Worker { queue, caller: call };
    let ParseRequest { method, path, body, auth } = request;
    host.request(HostRequest { method, path, body, auth, invoker })
        .await
        .map_err(|error| JsParseError::new(error.code, error.message))
}
