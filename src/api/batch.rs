//! `POST {mount}/batch`: several API calls in one request, each answered on its own
//! (`{"success": …}` or `{"error": {code, error}}`), in order.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{Api, Ctx, Reply};
use super::routes::dispatch;
use crate::error::{ErrorCode, ParseError};

/// Most requests one batch may carry.
const MAX_REQUESTS: usize = 1000;

pub async fn run(api: &Arc<Api>, ctx: &Ctx, mut body: Map<String, Value>) -> Result<Reply, ParseError> {
    let invalid = |message: &str| ParseError::new(ErrorCode::INVALID_JSON, message.to_string());
    let Some(Value::Array(requests)) = body.remove("requests") else {
        return Err(invalid("requests must be an array"));
    };
    if body.get("transaction").is_some_and(|t| t != &Value::Bool(false) && !t.is_null()) {
        return Err(ParseError::new(
            ErrorCode::OPERATION_FORBIDDEN,
            "batch transactions are not supported: each request of a batch is applied on its own; send the batch without \"transaction\"",
        ));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(invalid(&format!("a batch may carry at most {MAX_REQUESTS} requests")));
    }
    // The sub-requests' writes share one sync: `dispatch` of the batch itself syncs before
    // this answer leaves, so nothing acknowledged here can be lost to a crash.
    let deferred = Ctx { defer_sync: true, ..ctx.clone() };
    // Their saves run where they are awaited (they wait for no disk, see `pipeline::save`), so
    // on the server's runtime the whole batch moves to one blocking thread: one hand-off per
    // batch instead of one per object, and a save waiting for a class's write lock never stalls
    // an HTTP worker. Elsewhere (cloud code's own runtime) it runs in place.
    let handle = tokio::runtime::Handle::current();
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Ok(answer_all(api, &deferred, &requests).await);
    }
    let api = api.clone();
    tokio::task::spawn_blocking(move || handle.block_on(answer_all(&api, &deferred, &requests)))
        .await
        .map_err(|e| ParseError::new(ErrorCode::INTERNAL_SERVER_ERROR, format!("internal failure: {e}")))
}

/// Each request's answer, in order.
async fn answer_all(api: &Arc<Api>, ctx: &Ctx, requests: &[Value]) -> Reply {
    let mut answers = Vec::with_capacity(requests.len());
    for request in requests {
        let answer = match one(api, ctx, request).await {
            Ok(reply) => json!({ "success": serde_json::from_str::<Value>(&reply.body).unwrap_or(Value::Null) }),
            Err(error) => json!({ "error": { "code": error.code, "error": error.message } }),
        };
        answers.push(answer);
    }
    Reply::json(&Value::Array(answers))
}

async fn one(api: &Arc<Api>, ctx: &Ctx, request: &Value) -> Result<Reply, ParseError> {
    let invalid = |message: &str| ParseError::new(ErrorCode::INVALID_JSON, message.to_string());
    let method = request.get("method").and_then(Value::as_str).ok_or_else(|| invalid("each request needs a method"))?;
    let path = request.get("path").and_then(Value::as_str).ok_or_else(|| invalid("each request needs a path"))?;
    let route = strip_mount(path, &api.config.mount);
    if route == "batch" {
        return Err(invalid("a batch cannot contain a batch"));
    }
    // As on Parse Server, files are not batched: a batch of file reads would hold every file
    // whole in memory at once.
    if route == "files" || route.starts_with("files/") {
        return Err(invalid("files cannot be sent in a batch: use POST /files/:name and the file's URL"));
    }
    let body = match request.get("body") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(body)) => body.clone(),
        Some(_) => return Err(invalid("body must be a JSON object")),
    };
    Box::pin(dispatch(api, ctx, &method.to_ascii_uppercase(), route, body)).await
}

/// `/parse/classes/Foo`, `/1/classes/Foo` and `classes/Foo` all name route `classes/Foo`.
fn strip_mount<'a>(path: &'a str, mount: &str) -> &'a str {
    let path = path.strip_prefix(mount).or_else(|| path.strip_prefix("/1")).unwrap_or(path);
    path.trim_matches('/')
}
