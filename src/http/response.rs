//! Building responses: JSON bodies, Parse errors, and the CORS headers every answer carries
//! (browsers call Parse directly, and the SDK's startJob reads `X-Parse-Job-Status-Id`).

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, CONNECTION, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::error::{ParseError, Unauthorized};

/// Any answer's body: bytes in memory, or a file streamed from disk (`http::files`).
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

const ALLOWED_HEADERS: &str = "X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, \
X-Parse-Application-Id, X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, \
X-Parse-Revocable-Session, X-Parse-Request-Id, Content-Type, Pragma, Cache-Control, \
X-Parse-Installation-Id, X-Parse-Client-Key, X-Parse-Windows-Key, X-Parse-Cloud-Context";
const EXPOSED_HEADERS: &str = "X-Parse-Job-Status-Id, X-Parse-Push-Status-Id";

/// A JSON answer with the given status.
pub fn json(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body.into()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    with_cors(response)
}

pub fn parse_error(error: &ParseError) -> Response<Body> {
    json(error.status, error.to_json())
}

pub fn unauthorized(_: Unauthorized) -> Response<Body> {
    json(403, r#"{"error":"unauthorized"}"#)
}

/// `response` with `Connection: close`: for refusals made before the body was read, so the
/// client does not send its next request after a body the server will never read.
pub fn closing(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The answer to a CORS preflight (`OPTIONS`).
pub fn preflight() -> Response<Body> {
    let mut response = with_cors(Response::new(full(Bytes::new())));
    response.headers_mut().insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

/// A body held in memory.
pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

pub fn with_cors(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, PUT, POST, DELETE, OPTIONS"));
    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
    response
}
