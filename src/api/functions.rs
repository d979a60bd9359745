//! `POST {mount}/functions/:name`: runs a cloud function and answers `{"result": …}`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{Api, Ctx, Reply};
use crate::error::{ErrorCode, ParseError};
use crate::hooks::calls;
use crate::registry::Handler;
use crate::runtime::Target;

pub async fn run(api: &Arc<Api>, ctx: &Ctx, name: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    match api.registry.function(name) {
        None => return Err(ParseError::new(ErrorCode::SCRIPT_FAILED, format!("Invalid function: \"{name}\""))),
        Some(Handler::Webhook(url)) => {
            let payload = calls::function_payload(&ctx.webhook_caller(api), name, Value::Object(params));
            let result = api.webhooks.call(&url, &payload).await.map_err(|e| calls::error(&format!("function {name}"), &url, e))?;
            return Ok(Reply::json(&json!({ "result": result })));
        }
        Some(Handler::CloudCode) => {}
    }
    let mut request = ctx.cloud_request(api);
    request.insert("params".into(), Value::Object(params));
    let request = Value::Object(request);
    let body = ctx
        .cloud_code_runs_on
        .run(Target::Function(name.to_string()), request.to_string(), api.config.function_timeout)
        .await
        .map_err(|error| {
            tracing::error!(target: "cloud", "[function {name}] failed: {error}");
            ParseError::from(error)
        })?;
    Ok(Reply::ok(body))
}
