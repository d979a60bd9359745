//! Reading one HTTP request into an [`ApiRequest`]: the route under the mount and the header
//! credentials first ([`PendingRequest`]), then the effective method (`_method` overrides, as
//! the JS SDK sends everything as POST), the JSON body with credentials lifted out of it, and
//! the caller's address.

use std::net::IpAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Request};
use serde_json::{Map, Value};

use super::body::{self, BodyBudget, BodyError, Bounds, Reservation};
use crate::auth::Credentials;
use crate::error::{ErrorCode, ParseError};

/// A request as the API routes see it.
#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    /// The path below the mount, without leading or trailing slashes: `functions/hello`.
    pub route: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    /// The JSON object body with `_ApplicationId`-style fields removed (empty when none).
    pub body: Map<String, Value>,
    /// Set when the body was not a JSON object; routes that read a body answer 107 with it.
    pub body_error: Option<ParseError>,
    pub credentials: Credentials,
    /// `X-Parse-Cloud-Context` (a JSON object) or the SDK's `_context` body field.
    pub context: Value,
    /// The SDK's `_ContentType` body field: the type of a file sent as base64 JSON.
    pub content_type: Option<String>,
    pub ip: IpAddr,
    /// The body's share of `--max-body-memory`, held until the request is answered (its
    /// parsed form lives as long).
    _body_reservation: Reservation,
}

/// Body fields the SDK uses to carry what REST clients put in headers.
const BODY_CREDENTIALS: &[&str] = &[
    "_ApplicationId",
    "_JavaScriptKey",
    "_ClientKey",
    "_RESTAPIKey",
    "_MasterKey",
    "_SessionToken",
    "_InstallationId",
    "_ClientVersion",
    "_method",
    "_context",
    "_RevocableSession",
    "_ContentType",
];

/// A request under the mount whose head has arrived and whose body has not been read: its
/// header credentials can be checked before the body costs anything.
#[derive(Debug)]
pub struct PendingRequest {
    parts: Parts,
    body: Incoming,
    route: String,
    credentials: Credentials,
    ip: IpAddr,
}

impl PendingRequest {
    /// The request if its path is under one of `mounts`.
    pub fn new(request: Request<Incoming>, mounts: &[&str], ip: IpAddr) -> Option<PendingRequest> {
        let route = route_below(request.uri().path(), mounts)?;
        let (parts, body) = request.into_parts();
        let credentials = credentials_from_headers(&parts.headers);
        Some(PendingRequest { parts, body, route, credentials, ip })
    }

    pub fn route(&self) -> &str {
        &self.route
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The URL's query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.parts.uri.query()
    }

    /// The declared `Content-Length`, if any.
    pub fn content_length(&self) -> Option<u64> {
        header(&self.parts.headers, "content-length").and_then(|v| v.parse().ok())
    }

    /// The body, to be streamed rather than read whole (file uploads).
    pub fn into_body(self) -> Incoming {
        self.body
    }

    /// The headers as [`ApiRequest::headers_json`] gives them, for a request whose body is
    /// not read as JSON (a raw file upload).
    pub fn headers_json(&self) -> Value {
        headers_json(&self.parts.headers)
    }

    /// `X-Parse-Cloud-Context` (a JSON object), else `{}`.
    pub fn context(&self) -> Value {
        header_context(&self.parts.headers).filter(Value::is_object).unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// What the `X-Parse-*` headers carry (the body may add to it).
    pub fn header_credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Reads the body within `bounds` and the shared `budget`, and lifts the SDK's credential
    /// fields out of it.
    pub async fn read(self, bounds: Bounds, budget: &Arc<BodyBudget>) -> Result<ApiRequest, BodyError> {
        let PendingRequest { parts, body, route, mut credentials, ip } = self;
        let declared = parts
            .headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let (bytes, reservation) = body::read(body, declared, bounds, budget).await?;
        let (mut body, body_error) = parse_body(&bytes);
        drop(bytes);
        let lifted = lift_body_fields(&mut body, &mut credentials);
        let context = header_context(&parts.headers)
            .or(lifted.context)
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new()));
        Ok(ApiRequest {
            method: lifted.method.unwrap_or(parts.method),
            route,
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers,
            body,
            body_error,
            credentials,
            context,
            content_type: lifted.content_type,
            ip,
            _body_reservation: reservation,
        })
    }
}

impl ApiRequest {
    /// The body, or the 107 error it could not be read with.
    pub fn json_body(&self) -> Result<&Map<String, Value>, ParseError> {
        match &self.body_error {
            Some(error) => Err(error.clone()),
            None => Ok(&self.body),
        }
    }

    /// Request headers as a lower-case name → value object, as cloud code sees them.
    pub fn headers_json(&self) -> Value {
        headers_json(&self.headers)
    }
}

/// `X-Parse-Cloud-Context`, when it is JSON.
fn header_context(headers: &HeaderMap) -> Option<Value> {
    header(headers, "x-parse-cloud-context").and_then(|v| serde_json::from_str::<Value>(&v).ok())
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            out.insert(name.as_str().to_string(), Value::String(value.to_string()));
        }
    }
    Value::Object(out)
}

/// `/parse/functions/hello/` under mount `/parse` → `functions/hello`.
fn route_below(path: &str, mounts: &[&str]) -> Option<String> {
    mounts.iter().find_map(|mount| {
        let rest = path.strip_prefix(mount)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        Some(rest.trim_matches('/').to_string())
    })
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn credentials_from_headers(headers: &HeaderMap) -> Credentials {
    Credentials {
        app_id: header(headers, "x-parse-application-id"),
        master_key: header(headers, "x-parse-master-key"),
        client_keys: ["x-parse-rest-api-key", "x-parse-javascript-key", "x-parse-client-key", "x-parse-windows-key"]
            .iter()
            .filter_map(|name| header(headers, name))
            .collect(),
        session_token: header(headers, "x-parse-session-token"),
        installation_id: header(headers, "x-parse-installation-id"),
    }
}

/// Any body is read as JSON whatever its content type: the SDK sends `text/plain`.
fn parse_body(bytes: &[u8]) -> (Map<String, Value>, Option<ParseError>) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (Map::new(), None);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => (map, None),
        Ok(_) => (Map::new(), Some(ParseError::new(ErrorCode::INVALID_JSON, "request body must be a JSON object"))),
        Err(e) => (Map::new(), Some(ParseError::new(ErrorCode::INVALID_JSON, format!("invalid JSON: {e}")))),
    }
}

/// What the SDK's underscore fields say besides credentials.
#[derive(Debug, Default)]
struct Lifted {
    method: Option<Method>,
    context: Option<Value>,
    content_type: Option<String>,
}

/// Moves the SDK's credential fields out of the body (headers keep priority) and returns the
/// `_method` override and `_context`, if any.
fn lift_body_fields(body: &mut Map<String, Value>, credentials: &mut Credentials) -> Lifted {
    if !BODY_CREDENTIALS.iter().any(|key| body.contains_key(*key)) {
        return Lifted::default();
    }
    let context = body.remove("_context");
    let mut take = |key: &str| match body.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    credentials.app_id = credentials.app_id.take().or_else(|| take("_ApplicationId"));
    credentials.master_key = credentials.master_key.take().or_else(|| take("_MasterKey"));
    credentials.installation_id = credentials.installation_id.take().or_else(|| take("_InstallationId"));
    credentials.session_token = credentials.session_token.take().or_else(|| take("_SessionToken"));
    for key in ["_JavaScriptKey", "_ClientKey", "_RESTAPIKey"] {
        if let Some(k) = take(key) {
            credentials.client_keys.push(k);
        }
    }
    let method = take("_method").and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok());
    let content_type = take("_ContentType");
    for key in BODY_CREDENTIALS {
        body.remove(*key);
    }
    Lifted { method, context, content_type }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_taken_below_either_mount() {
        let mounts = ["/parse", "/1"];
        assert_eq!(route_below("/parse/functions/hello", &mounts).as_deref(), Some("functions/hello"));
        assert_eq!(route_below("/1/functions/hello/", &mounts).as_deref(), Some("functions/hello"));
        assert_eq!(route_below("/parse", &mounts).as_deref(), Some(""));
        assert_eq!(route_below("/parsers/x", &mounts), None);
        assert_eq!(route_below("/10/x", &mounts), None);
    }

    #[test]
    fn sdk_body_fields_become_credentials_and_method() {
        let (mut body, error) =
            parse_body(br#"{"_ApplicationId":"a","_JavaScriptKey":"k","_method":"get","_SessionToken":"r:x","name":"Ada"}"#);
        assert!(error.is_none());
        let mut credentials = Credentials::default();
        assert_eq!(lift_body_fields(&mut body, &mut credentials).method, Some(Method::GET));
        assert_eq!(credentials.app_id.as_deref(), Some("a"));
        assert_eq!(credentials.client_keys, vec!["k".to_string()]);
        assert_eq!(Value::Object(body), serde_json::json!({"name": "Ada"}));
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_107() {
        assert_eq!(parse_body(b"{nope").1.unwrap().code, ErrorCode::INVALID_JSON);
        assert_eq!(parse_body(b"[1]").1.unwrap().code, ErrorCode::INVALID_JSON);
        assert!(parse_body(b"  ").1.is_none());
    }
}
