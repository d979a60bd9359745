//! Routing: mount path, preflight, health, the header credentials, the body, authentication
//! and the session token; then the API's one route table.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response};
use serde_json::{Map, Value};

use super::body::{BodyBudget, Bounds};
use super::{email_links, files};
use super::request::{ApiRequest, PendingRequest};
use super::response::{self, Body};
use crate::api::{self, Api, ClientRequest, Ctx};
use crate::auth::{self, HeaderCheck};
use crate::error::ParseError;

pub async fn handle(api: &Arc<Api>, budget: &Arc<BodyBudget>, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    if method == Method::OPTIONS {
        return response::preflight();
    }
    let mounts = [api.config.mount.as_str(), "/1"];
    let Some(pending) = PendingRequest::new(request, &mounts, peer.ip()) else {
        return response::parse_error(&api::unknown_route(method.as_str(), path.trim_start_matches('/')));
    };
    if pending.route() == "health" {
        return response::json(200, r#"{"status":"ok"}"#);
    }
    // Uploads stream their body and downloads need no keys: both before the JSON path.
    let pending = match files::serve(api, budget, pending, peer.ip()).await {
        Ok(response) => return response,
        Err(pending) => pending,
    };
    let pending = match email_links::serve(api, pending).await {
        Ok(response) => return response,
        Err(pending) => pending,
    };
    // Wrong credentials in the headers are refused before the body is read; a request whose
    // headers carry none may be the SDK's text/plain form and gets the smaller cap.
    let checked = match auth::check_headers(&api.config.keys, pending.header_credentials(), peer.ip()) {
        Ok(checked) => checked,
        Err(denied) => return response::closing(response::unauthorized(denied)),
    };
    let limits = &api.config.bodies;
    let bounds = match checked {
        HeaderCheck::Authenticated => Bounds { limit: limits.max_body, unauthenticated: false, timeout: limits.timeout },
        HeaderCheck::Undecided => {
            Bounds { limit: limits.max_unauthenticated_body, unauthenticated: true, timeout: limits.timeout }
        }
    };
    let request = match pending.read(bounds, budget).await {
        Ok(request) => request,
        Err(error) => return response::closing(response::parse_error(&error.into())),
    };
    let caller = match auth::authenticate(&api.config.keys, &request.credentials, peer.ip()) {
        Ok(caller) => caller,
        Err(denied) => return response::unauthorized(denied),
    };
    match answer(api, request, caller).await {
        Ok(answered) => reply(answered),
        Err(error) => response::parse_error(&error),
    }
}

/// An API answer as an HTTP response.
pub(super) fn reply(reply: api::Reply) -> Response<Body> {
    let mut response = response::json(reply.status, reply.body);
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn answer(api: &Arc<Api>, request: ApiRequest, caller: auth::Caller) -> Result<api::Reply, ParseError> {
    let request_id = request.headers.get("x-parse-request-id").and_then(|id| id.to_str().ok());
    api.check_idempotency(request.method.as_str(), &request.route, request_id)?;
    let client = ClientRequest {
        caller,
        session_token: request.credentials.session_token.clone(),
        headers: request.headers_json(),
        ip: request.ip.to_string(),
        context: request.context.clone(),
    };
    let ctx = Ctx::for_client(api, client)?;
    let params = params(&request)?;
    api::dispatch(api, &ctx, request.method.as_str(), &request.route, params).await
}

/// The JSON body merged with the query string (`where`, `limit` … on GETs). For function
/// calls, query values that read as JSON (numbers, booleans) keep their type, as Parse Server's.
fn params(request: &ApiRequest) -> Result<Map<String, Value>, ParseError> {
    let mut params = request.json_body()?.clone();
    let typed = request.route.starts_with("functions/");
    for (key, value) in form_urlencoded::parse(request.query.as_deref().unwrap_or("").as_bytes()).into_owned() {
        let value = if typed { serde_json::from_str(&value).unwrap_or(Value::String(value)) } else { Value::String(value) };
        params.entry(key).or_insert(value);
    }
    Ok(params)
}
