//! What a call to the user's webhooks sends (the payloads the seed specifies) and how its
//! failure reads as a Parse error (a timeout is 124; the webhook's own error is 141 with its
//! message), each failure logged.

use serde_json::{json, Value};

use super::client::WebhookError;
use crate::error::{ErrorCode, ParseError};

/// Who made the request a webhook answers, as the payload tells it.
#[derive(Debug, Clone, Default)]
pub struct WebhookCaller {
    pub master: bool,
    /// The caller in REST format with its session token; `null` when logged out.
    pub user: Value,
    pub installation_id: Option<String>,
}

impl WebhookCaller {
    /// `user` is left out when the master key was used, as the seed says.
    fn add_to(&self, payload: &mut Value) {
        if !self.master && !self.user.is_null() {
            payload["user"] = self.user.clone();
        }
        if let Some(installation) = &self.installation_id {
            payload["installationId"] = Value::String(installation.clone());
        }
    }
}

/// `{master, user, installationId, params, functionName}`.
pub fn function_payload(caller: &WebhookCaller, name: &str, params: Value) -> Value {
    let mut payload = json!({ "master": caller.master, "params": params, "functionName": name });
    caller.add_to(&mut payload);
    payload
}

/// `{master, user, installationId, triggerName, object, original?}`.
pub fn trigger_payload(caller: &WebhookCaller, trigger: &str, object: Value, original: Option<Value>) -> Value {
    let mut payload = json!({ "master": caller.master, "triggerName": trigger, "object": object });
    if let Some(original) = original {
        payload["original"] = original;
    }
    caller.add_to(&mut payload);
    payload
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

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(master: bool) -> WebhookCaller {
        WebhookCaller { master, user: json!({"objectId": "u1", "sessionToken": "r:t"}), installation_id: Some("i1".into()) }
    }

    #[test]
    fn a_function_payload_carries_the_caller_unless_the_master_key_called() {
        assert_eq!(
            function_payload(&caller(false), "hello", json!({"a": 1})),
            json!({"master": false, "params": {"a": 1}, "functionName": "hello",
                "user": {"objectId": "u1", "sessionToken": "r:t"}, "installationId": "i1"})
        );
        assert_eq!(
            function_payload(&caller(true), "hello", json!({})),
            json!({"master": true, "params": {}, "functionName": "hello", "installationId": "i1"})
        );
    }

    #[test]
    fn a_trigger_payload_has_the_original_only_when_there_is_one() {
        let logged_out = WebhookCaller::default();
        assert_eq!(
            trigger_payload(&logged_out, "beforeSave", json!({"className": "Note"}), None),
            json!({"master": false, "triggerName": "beforeSave", "object": {"className": "Note"}})
        );
        let payload = trigger_payload(&logged_out, "afterSave", json!({}), Some(json!({"n": 1})));
        assert_eq!(payload["original"], json!({"n": 1}));
    }

    #[test]
    fn a_webhooks_own_error_keeps_its_message() {
        let failed = error("function f", "https://h", WebhookError::Failed("card declined".into()));
        assert_eq!((failed.code, failed.message.as_str()), (ErrorCode::SCRIPT_FAILED, "card declined"));
    }
}
