//! Cloud code's data requests (`op_parse_request`) served by the API: the runtime's [`Host`]
//! (named apart from runtime/host.rs, which defines that trait and the calls into JavaScript).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::{Api, Ctx};
use super::routes::dispatch;
use crate::error::ParseError;
use crate::runtime::{Host, HostError, HostFuture, HostRequest};

/// The API as the runtime sees it.
pub struct ApiHost(pub Arc<Api>);

impl Host for ApiHost {
    fn request(&self, request: HostRequest) -> HostFuture {
        let api = self.0.clone();
        Box::pin(async move {
            let answer = serve(&api, request).await;
            answer.map_err(|error| HostError { code: error.code.0, message: error.message })
        })
    }
}

async fn serve(api: &Arc<Api>, request: HostRequest) -> Result<String, ParseError> {
    let auth = request.auth;
    let params: Map<String, Value> = if request.body.trim().is_empty() {
        Map::new()
    } else {
        serde_json::from_str(&request.body).map_err(|e| ParseError::new(crate::error::ErrorCode::INVALID_JSON, e.to_string()))?
    };
    let user = api.user_of(auth.session_token.as_deref())?;
    let roles = api.roles_of(user.as_deref());
    let ctx = Ctx {
        master: auth.master,
        user,
        roles,
        session_token: auth.session_token,
        installation_id: auth.installation_id,
        headers: Value::Object(Map::new()),
        ip: String::new(),
        context: Value::Object(Map::new()),
        cloud_code_runs_on: request.invoker,
        defer_sync: false,
    };
    let route = request.path.trim_matches('/');
    let reply = dispatch(api, &ctx, &request.method.to_ascii_uppercase(), route, params).await?;
    Ok(body_for_cloud_code(reply))
}

/// Cloud code reads only an answer's body, so a started job's id, which REST clients get in
/// `X-Parse-Job-Status-Id`, comes to `Parse.Cloud.startJob` as `{"jobStatusId": …}`.
fn body_for_cloud_code(reply: super::Reply) -> String {
    match reply.headers.iter().find(|(name, _)| *name == "x-parse-job-status-id") {
        Some((_, id)) => serde_json::json!({ "jobStatusId": id }).to_string(),
        None => reply.body,
    }
}
