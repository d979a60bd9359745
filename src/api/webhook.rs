//! Calling the user's webhooks: the payloads the seed specifies, and their failures as Parse
//! errors (a timeout is 124; the webhook's own error is 141 with its message), each logged.

use serde_json::{json, Value};

use super::context::{Api, Ctx};
use crate::error::{ErrorCode, ParseError};
use crate::hooks::client::WebhookError;
use crate::runtime::TriggerKind;

/// `{master, user, installationId, params, functionName}`; `user` is left out when the master
/// key was used, as the seed says.
pub fn function_payload(api: &Api, ctx: &Ctx, name: &str, params: Value) -> Value {
    let mut payload = json!({ "master": ctx.master, "params": params, "functionName": name });
    add_caller(api, ctx, &mut payload, !ctx.master);
    payload
}

/// `{master, user, installationId, triggerName, object, original?}`; `user` is left out when
/// the master key was used, as for functions.
pub fn trigger_payload(api: &Api, ctx: &Ctx, trigger: TriggerKind, object: Value, original: Option<Value>) -> Value {
    let mut payload = json!({ "master": ctx.master, "triggerName": trigger.as_str(), "object": object });
    if let Some(original) = original {
        payload["original"] = original;
    }
    add_caller(api, ctx, &mut payload, !ctx.master);
    payload
}

fn add_caller(api: &Api, ctx: &Ctx, payload: &mut Value, with_user: bool) {
    let user = ctx.user_json(api);
    if with_user && !user.is_null() {
        payload["user"] = user;
    }
    if let Some(installation) = &ctx.installation_id {
        payload["installationId"] = Value::String(installation.clone());
    }
}

/// A webhook's failure as a Parse error, logged to the script log under the handler's `tag`
/// (`function chargeCustomer`, `beforeSave Review`).
pub fn error(tag: &str, url: &str, error: WebhookError) -> ParseError {
    if error.is_timeout() {
        tracing::error!(target: "cloud", "[{tag}] webhook {url} timed out: {error}");
        return ParseError::new(ErrorCode::TIMEOUT, error.to_string());
    }
    tracing::error!(target: "cloud", "[{tag}] webhook {url} failed: {error}");
    match error {
        WebhookError::Failed(message) => ParseError::new(ErrorCode::SCRIPT_FAILED, message),
        other => ParseError::new(ErrorCode::SCRIPT_FAILED, other.to_string()),
    }
}
