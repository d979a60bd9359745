//! Parse files over HTTP: a raw upload is streamed to disk frame by frame within
//! `--max-file-size` and the body deadline, the JS SDK's base64 JSON form is read like any JSON
//! body (its credentials are inside it), and a download is streamed from disk with `Range`
//! support. The Parse rules are `api::files`.

use std::io::SeekFrom;
use std::net::IpAddr;
use std::sync::Arc;

use http_body_util::BodyExt;
use serde_json::Value;
use hyper::header::{HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HOST, RANGE, X_CONTENT_TYPE_OPTIONS};
use hyper::{Response, StatusCode};
use tokio::io::AsyncSeekExt;

use super::body::{BodyBudget, BodyError, Bounds};
use super::file_body::FileBody;
use super::request::PendingRequest;
use super::response::{self, Body};
use crate::api::files::{self, FileRoute};
use crate::api::files::NewFile;
use crate::api::{Api, ClientRequest, Ctx, Reply};
use crate::auth::{self, Credentials, HeaderCheck};
use crate::error::{ErrorCode, ParseError};

/// Room for the JSON around the base64 of a largest file.
const JSON_ENVELOPE: u64 = 64 * 1024;

/// Answers a file route; gives `pending` back when it is not one.
pub async fn serve(api: &Arc<Api>, budget: &Arc<BodyBudget>, pending: PendingRequest, ip: IpAddr) -> Result<Response<Body>, PendingRequest> {
    let route = pending.route().to_string();
    match FileRoute::of(pending.method().as_str(), &route) {
        Some(FileRoute::Download { app_id, name }) => Ok(download(api, app_id, name, &pending).await),
        Some(FileRoute::Upload(raw)) => Ok(match upload(api, budget, pending, raw, ip).await {
            Ok(reply) => super::router::reply(reply),
            Err(Refused::Unauthorized) => response::closing(response::unauthorized(crate::error::Unauthorized)),
            Err(Refused::Parse(error)) => response::closing(response::parse_error(&error)),
        }),
        None => Err(pending),
    }
}

/// Why an upload was refused. Every refusal closes the connection: the body may be unread.
enum Refused {
    Unauthorized,
    Parse(ParseError),
}

impl From<ParseError> for Refused {
    fn from(error: ParseError) -> Self {
        Refused::Parse(error)
    }
}

impl From<crate::error::Unauthorized> for Refused {
    fn from(_: crate::error::Unauthorized) -> Self {
        Refused::Unauthorized
    }
}

/// A raw upload is streamed to disk unless beforeSaveFile must see it: then it is read whole
/// (within `--max-file-size`) and saved like the JSON form.
async fn upload(api: &Arc<Api>, budget: &Arc<BodyBudget>, pending: PendingRequest, raw: &str, ip: IpAddr) -> Result<Reply, Refused> {
    let name = files::filename(raw)?;
    let keys = &api.config.keys;
    let host = pending.headers().get(HOST).and_then(|v| v.to_str().ok()).map(str::to_string);
    let limit = api.config.files.max_file_size;
    match auth::check_headers(keys, pending.header_credentials(), ip)? {
        HeaderCheck::Authenticated => {
            let credentials = pending.header_credentials().clone();
            let ctx = allowed(api, &credentials, ip, pending.headers_json(), pending.context())?;
            let given = pending.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let content_type = files::content_type(&name, given)?;
            if pending.content_length().is_some_and(|n| n > limit) {
                return Err(files::too_large(limit).into());
            }
            if files::sees_bytes(api) {
                let bytes = read_whole(api, pending).await?;
                let file = NewFile::plain(name, content_type, bytes);
                return Ok(files::save(api, &ctx, host.as_deref(), file).await?);
            }
            let stored = files::new_stored_name(&name, &content_type);
            let size = stream_to_disk(api, pending, &content_type, &stored).await?;
            Ok(files::stored(api, &ctx, host.as_deref(), stored, size).await?)
        }
        HeaderCheck::Undecided => {
            let bounds = Bounds {
                limit: usize::try_from(limit.div_ceil(3) * 4 + JSON_ENVELOPE).unwrap_or(usize::MAX),
                unauthenticated: true,
                timeout: api.config.bodies.timeout,
            };
            let request = pending.read(bounds, budget).await.map_err(|e| match e {
                BodyError::TooLarge { .. } | BodyError::TooLargeUnauthenticated { .. } => files::too_large(limit),
                other => other.into(),
            })?;
            let ctx = allowed(api, &request.credentials, ip, request.headers_json(), request.context.clone())?;
            let file = files::json_file(name, request.content_type.as_deref(), request.json_body()?)?;
            Ok(files::save(api, &ctx, host.as_deref(), file).await?)
        }
    }
}

/// The keys, the session token (209 when it is bad) and Parse's `fileUpload` rules; answers
/// the caller as file triggers see it.
fn allowed(api: &Api, credentials: &Credentials, ip: IpAddr, headers: Value, context: Value) -> Result<Ctx, Refused> {
    let caller = auth::authenticate(&api.config.keys, credentials, ip)?;
    let client = ClientRequest { caller, session_token: credentials.session_token.clone(), headers, ip: ip.to_string(), context };
    let ctx = Ctx::for_client(api, client)?;
    files::may_upload(api, ctx.master, ctx.user.is_some())?;
    Ok(ctx)
}

/// The raw body whole, within `--max-file-size` and the body deadline.
async fn read_whole(api: &Api, pending: PendingRequest) -> Result<Vec<u8>, ParseError> {
    let limit = api.config.files.max_file_size;
    let timeout = api.config.bodies.timeout;
    let mut bytes = Vec::new();
    let mut body = pending.into_body();
    let receive = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ParseError::from(BodyError::Broken(e.to_string())))?;
            let Ok(data) = frame.into_data() else { continue };
            if bytes.len() as u64 + data.len() as u64 > limit {
                return Err(files::too_large(limit));
            }
            bytes.extend_from_slice(&data);
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, receive).await {
        Ok(received) => received?,
        Err(_) => return Err(BodyError::Timeout(timeout).into()),
    }
    Ok(bytes)
}

/// Writes the raw body to a new file `stored`, frame by frame, durably; answers its size.
async fn stream_to_disk(api: &Arc<Api>, pending: PendingRequest, content_type: &str, stored: &str) -> Result<u64, ParseError> {
    let limit = api.config.files.max_file_size;
    let timeout = api.config.bodies.timeout;
    let not_stored = |e| files::not_stored(stored, e);
    let mut upload = api.files.begin(content_type).await.map_err(not_stored)?;
    let mut body = pending.into_body();
    let receive = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ParseError::from(BodyError::Broken(e.to_string())))?;
            let Ok(data) = frame.into_data() else { continue };
            if upload.len() + data.len() as u64 > limit {
                return Err(files::too_large(limit));
            }
            upload.write(&data).await.map_err(not_stored)?;
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, receive).await {
        Ok(received) => received?,
        Err(_) => return Err(BodyError::Timeout(timeout).into()),
    }
    let size = upload.len();
    if size == 0 {
        return Err(files::empty_upload());
    }
    upload.finish(&api.files, stored).await.map_err(not_stored)?;
    Ok(size)
}

/// `GET files/:appId/:name`: no credentials needed, as file URLs are handed around.
async fn download(api: &Arc<Api>, app_id: &str, raw: &str, pending: &PendingRequest) -> Response<Body> {
    if app_id != api.config.keys.app_id {
        return response::parse_error(&files::wrong_app());
    }
    let Some(name) = files::stored_name(raw) else {
        return response::parse_error(&files::not_found());
    };
    let stored = match api.files.open_file(&name).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return response::parse_error(&files::not_found()),
        Err(e) => {
            tracing::error!("could not read file {name}: {e}");
            return response::parse_error(&files::not_found());
        }
    };
    let range = pending.headers().get(RANGE).and_then(|v| v.to_str().ok());
    let (status, start, len) = match byte_range(range, stored.len) {
        Wanted::Whole => (StatusCode::OK, 0, stored.len),
        Wanted::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Wanted::Unsatisfiable => {
            let mut refused = response::parse_error(
                &ParseError::new(ErrorCode::OTHER_CAUSE, "Requested range not satisfiable.").with_status(416),
            );
            set(&mut refused, CONTENT_RANGE, &format!("bytes */{}", stored.len));
            return refused;
        }
    };
    let mut file = stored.file;
    if start > 0 {
        if let Err(e) = file.seek(SeekFrom::Current(start as i64)).await {
            tracing::error!("could not read file {name}: {e}");
            return response::parse_error(&files::not_found());
        }
    }
    let mut answer = response::with_cors(Response::new(FileBody::new(file, len).boxed_unsync()));
    *answer.status_mut() = status;
    set(&mut answer, CONTENT_TYPE, &stored.content_type);
    set(&mut answer, CONTENT_LENGTH, &len.to_string());
    set(&mut answer, ACCEPT_RANGES, "bytes");
    // An uploaded HTML file must not be sniffed into a page running on the API's origin.
    set(&mut answer, X_CONTENT_TYPE_OPTIONS, "nosniff");
    if status == StatusCode::PARTIAL_CONTENT {
        set(&mut answer, CONTENT_RANGE, &format!("bytes {start}-{}/{}", start + len - 1, stored.len));
    }
    answer
}

fn set(response: &mut Response<Body>, name: hyper::header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    /// Inclusive bounds, within the file.
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

/// One `bytes=` range (`a-b`, `a-`, `-n`). Several ranges, other units or a malformed header
/// are answered with the whole file, as RFC 9110 allows.
fn byte_range(header: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Wanted::Whole };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Wanted::Whole };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let (start, end) = match (first.is_empty(), last.is_empty()) {
        (true, true) => return Wanted::Whole,
        (true, false) => match parse(last) {
            Some(0) => return Wanted::Unsatisfiable,
            Some(n) => (len.saturating_sub(n), len - 1),
            None => return Wanted::Whole,
        },
        (false, _) => {
            let Some(start) = parse(first) else { return Wanted::Whole };
            if start >= len {
                return Wanted::Unsatisfiable;
            }
            let end = if last.is_empty() { Some(len - 1) } else { parse(last) };
            match end {
                Some(end) if end >= start => (start, end.min(len - 1)),
                _ => return Wanted::Whole,
            }
        }
    };
    if start >= len {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        assert_eq!(byte_range(None, 10), Wanted::Whole);
        assert_eq!(byte_range(Some("bytes=2-4"), 10), Wanted::Part { start: 2, end: 4 });
        assert_eq!(byte_range(Some("bytes=7-"), 10), Wanted::Part { start: 7, end: 9 });
        assert_eq!(byte_range(Some("bytes=-3"), 10), Wanted::Part { start: 7, end: 9 });
        assert_eq!(byte_range(Some("bytes=-30"), 10), Wanted::Part { start: 0, end: 9 });
        assert_eq!(byte_range(Some("bytes=5-100"), 10), Wanted::Part { start: 5, end: 9 });
        assert_eq!(byte_range(Some("bytes=10-"), 10), Wanted::Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=50-60"), 10), Wanted::Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=-0"), 10), Wanted::Unsatisfiable);
        for whole in ["bytes=4-2", "bytes=a-b", "items=1-2", "bytes=1-2,4-5", "bytes=-"] {
            assert_eq!(byte_range(Some(whole), 10), Wanted::Whole, "{whole}");
        }
    }
}
