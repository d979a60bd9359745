//! `POST {mount}/functions/:name`: runs a cloud function and answers `{"result": …}`.

use hyper::Response;
use serde_json::{json, Map, Value};

use super::request::ApiRequest;
use super::response::{self, Body};
use super::App;
use crate::auth::Caller;
use crate::error::{ErrorCode, ParseError};
use crate::registry::Handler;
use crate::runtime::Target;

pub async fn run(app: &App, request: &ApiRequest, caller: &Caller, name: &str) -> Result<Response<Body>, ParseError> {
    let Some(Handler::CloudCode) = app.registry.function(name) else {
        return Err(ParseError::new(ErrorCode::SCRIPT_FAILED, format!("Invalid function: \"{name}\"")));
    };
    let params = params(request)?;
    let cloud_request = json!({
        "params": params,
        "master": caller.master,
        "user": Value::Null,
        "installationId": caller.installation_id,
        "headers": request.headers_json(),
        "ip": request.ip.to_string(),
        "context": request.context,
    });
    let body = app
        .pool
        .invoker()
        .run(Target::Function(name.to_string()), cloud_request.to_string(), app.config.function_timeout)
        .await?;
    Ok(response::json(200, body))
}

/// A POST's params are its JSON body; a GET's come from the query string, as in Parse Server.
fn params(request: &ApiRequest) -> Result<Value, ParseError> {
    if request.method == hyper::Method::GET && request.body.is_empty() {
        let mut params = Map::new();
        for (key, value) in form_urlencoded(request.query.as_deref().unwrap_or("")) {
            let value = serde_json::from_str(&value).unwrap_or(Value::String(value));
            params.insert(key, value);
        }
        return Ok(Value::Object(params));
    }
    Ok(Value::Object(request.json_body()?.clone()))
}

fn form_urlencoded(query: &str) -> Vec<(String, String)> {
    ::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}
