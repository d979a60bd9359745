//! Routing: mount path, preflight, health, authentication, then one route handler per
//! Parse endpoint family.

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use super::request::ApiRequest;
use super::response::{self, Body};
use super::{functions, App};
use crate::auth;
use crate::error::{ErrorCode, ParseError};

pub async fn handle(app: &App, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    if method == Method::OPTIONS {
        return response::preflight();
    }
    let mounts = [app.config.mount.as_str(), "/1"];
    let request = match ApiRequest::read(request, &mounts, app.config.max_body, peer.ip()).await {
        Ok(Some(request)) => request,
        Ok(None) => return response::parse_error(&unknown_route(&method, &path)),
        Err(error) => return response::parse_error(&error),
    };
    if request.route == "health" {
        return response::json(200, r#"{"status":"ok"}"#);
    }
    let caller = match auth::authenticate(&app.config.keys, &request.credentials) {
        Ok(caller) => caller,
        Err(denied) => return response::unauthorized(denied),
    };
    let segments: Vec<&str> = request.route.split('/').collect();
    let answer = match (&request.method, segments.as_slice()) {
        (&Method::POST | &Method::GET, ["functions", name]) => functions::run(app, &request, &caller, name).await,
        _ => Err(unknown_route(&method, &path)),
    };
    answer.unwrap_or_else(|error| response::parse_error(&error))
}

fn unknown_route(method: &Method, path: &str) -> ParseError {
    ParseError::new(ErrorCode::OTHER_CAUSE, format!("unknown route: {method} {path}")).with_status(404)
}
