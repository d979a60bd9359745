//! `Parse.Cloud.httpRequest`'s Rust half: one async op that sends one request on the worker's
//! shared reqwest client (connection pooling, rustls with the webpki roots) and answers the
//! status, headers and raw body. JS (`js/65_http.js`) encodes the options and builds the
//! response object. Everything Parse.com enforced is enforced here, where JS cannot get around
//! it: http/https only, the port rule (checked on every redirect hop, before connecting), at
//! most 8 requests in flight per cloud-code request, the per-request timeout and the caller's
//! deadline, and the response-size cap.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use deno_core::{op2, OpState, ToJsBuffer};
use deno_error::JsErrorBox;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::error::error_chain;
use crate::runtime::budget::{CallBudgets, CallId, HttpSettings, RequestBudget, HTTP_CONCURRENCY};

/// Most redirects followed for one call; browsers stop at about 20, curl at 50. Ten is plenty
/// for real APIs and keeps a redirect loop from using up the caller's whole deadline.
const MAX_REDIRECTS: usize = 10;

/// What JS sends: the options, already validated and encoded (`js/65_http.js`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingRequest {
    url: String,
    /// Upper-case; JS has checked it is one of GET POST PUT DELETE PATCH HEAD OPTIONS.
    method: String,
    /// The encoded `params` to append to the URL's own query ("" for none).
    query: String,
    headers: Vec<(String, String)>,
    follow_redirects: bool,
    /// The body travels as a separate buffer argument; this tells "none" from "empty".
    has_body: bool,
}

/// What JS gets back for any HTTP answer, whatever its status.
#[derive(Serialize)]
pub struct IncomingResponse {
    status: u16,
    /// Lower-case names, one entry per header line (so every Set-Cookie is kept).
    headers: Vec<(String, String)>,
    body: ToJsBuffer,
}

/// The worker's client, built on first use: one per worker thread, so its connection pool
/// lives on that thread's tokio runtime.
struct HttpClient(reqwest::Client);

/// Sends one request. Rejects (the JS side turns it into a status-0 response) when the options
/// break a rule or no HTTP answer arrives: refused, DNS, TLS, timeout, body too large.
///
/// `call` is the call in flight the request is made for (its request scope): its budget gives
/// the deadline and the slots. Written as a plain `fn` returning a future so the budget is
/// read synchronously, at the moment cloud code calls.
#[op2]
#[serde]
pub fn op_http_request(
    state: Rc<RefCell<OpState>>,
    #[serde] request: OutgoingRequest,
    #[buffer(copy)] body: Vec<u8>,
    call: f64,
) -> impl Future<Output = Result<IncomingResponse, JsErrorBox>> {
    let prepared = prepare(&mut state.borrow_mut(), call as CallId);
    async move {
        let (client, settings, budget) = prepared?;
        let url = target_url(&request.url, &request.query)?;
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| JsErrorBox::type_error(format!("invalid method {:?}", request.method)))?;
        let headers = header_map(&request.headers)?;
        let body = request.has_body.then(|| Bytes::from(body));
        let exchange = Exchange { client, method, url, headers, body, follow: request.follow_redirects };

        let deadline = tokio::time::Instant::from_std(budget.deadline);
        let slots = budget.http_slots.clone();
        let _slot = match tokio::time::timeout_at(deadline, slots.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(JsErrorBox::generic("httpRequest slots are closed")),
            Err(_) => {
                return Err(JsErrorBox::generic(format!(
                    "httpRequest was still waiting for one of the {HTTP_CONCURRENCY} request slots at the caller's deadline"
                )))
            }
        };
        // The per-request timeout starts once the request has a slot; the deadline is absolute.
        let remaining = budget.remaining();
        let limit = settings.timeout.min(remaining);
        match tokio::time::timeout(limit, exchange.run(settings.max_body)).await {
            Ok(outcome) => outcome,
            Err(_) if settings.timeout <= remaining => Err(JsErrorBox::generic(format!(
                "httpRequest timed out after {} s (--http-timeout)",
                seconds(settings.timeout)
            ))),
            Err(_) => Err(JsErrorBox::generic("httpRequest was stopped at the caller's deadline")),
        }
    }
}

/// The client (built now if this is the worker's first request), settings and the call's budget.
fn prepare(state: &mut OpState, call: CallId) -> Result<(reqwest::Client, HttpSettings, RequestBudget), JsErrorBox> {
    if call == 0 {
        return Err(JsErrorBox::generic("httpRequest is not available while main.js is loading"));
    }
    let budget = state.borrow::<CallBudgets>().get(call).cloned().ok_or_else(|| {
        JsErrorBox::generic("httpRequest was made for a cloud code call that has already been answered")
    })?;
    let settings = state.borrow::<HttpSettings>().clone();
    if let Some(HttpClient(client)) = state.try_borrow::<HttpClient>() {
        return Ok((client.clone(), settings, budget));
    }
    let client = reqwest::Client::builder()
        // Followed by hand (Exchange::run) so every hop is checked against the port rule.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cloudrt/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| JsErrorBox::generic(format!("cannot create the HTTP client: {}", error_chain(&e))))?;
    state.put(HttpClient(client.clone()));
    Ok((client, settings, budget))
}

/// Parses the URL, appends the encoded params to its query and checks scheme and port.
fn target_url(url: &str, query: &str) -> Result<Url, JsErrorBox> {
    let mut parsed = Url::parse(url).map_err(|e| JsErrorBox::type_error(format!("invalid url {url:?}: {e}")))?;
    if !query.is_empty() {
        let merged = match parsed.query() {
            Some(existing) if !existing.is_empty() => format!("{existing}&{query}"),
            _ => query.to_string(),
        };
        parsed.set_query(Some(&merged));
    }
    check_target(&parsed)?;
    Ok(parsed)
}

/// Parse.com's rules for where a request may go: http or https, on port 80, 443 or 1025–65535
/// (so no local system services on low ports). Checked before any connection is made.
fn check_target(url: &Url) -> Result<(), JsErrorBox> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(JsErrorBox::type_error(format!(
            "unsupported protocol \"{}:\" in {}: httpRequest supports http and https only",
            url.scheme(),
            redacted(url)
        )));
    }
    let port = url.port_or_known_default().unwrap_or(0);
    if port == 80 || port == 443 || port >= 1025 {
        return Ok(());
    }
    Err(JsErrorBox::type_error(format!(
        "port {port} is not allowed in {}: httpRequest may only use ports 80, 443 and 1025-65535",
        redacted(url)
    )))
}

/// The URL without its password, for messages that reach logs.
fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, JsErrorBox> {
    let mut headers = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| JsErrorBox::type_error(format!("invalid header name {name:?}")))?;
        let header_value = HeaderValue::from_str(value)
            .map_err(|_| JsErrorBox::type_error(format!("invalid value for header {name:?}")))?;
        headers.append(header_name, header_value);
    }
    Ok(headers)
}

/// One call: the request, and the redirects it is asked to follow.
struct Exchange {
    client: reqwest::Client,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    follow: bool,
}

impl Exchange {
    async fn run(mut self, max_body: usize) -> Result<IncomingResponse, JsErrorBox> {
        let mut hops = 0;
        loop {
            let mut builder = self.client.request(self.method.clone(), self.url.clone()).headers(self.headers.clone());
            if let Some(body) = &self.body {
                builder = builder.body(body.clone());
            }
            let response = builder.send().await.map_err(|e| failed(&self.url, e))?;
            let Some(next) = self.redirect_target(&response)? else {
                return read(response, max_body, &self.url).await;
            };
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(JsErrorBox::generic(format!(
                    "httpRequest followed {MAX_REDIRECTS} redirects from {} without reaching an answer",
                    redacted(&self.url)
                )));
            }
            check_target(&next)?;
            self.redirect(response.status(), next);
        }
    }

    /// Where a redirect leads, when redirects are followed and this response is one.
    fn redirect_target(&self, response: &reqwest::Response) -> Result<Option<Url>, JsErrorBox> {
        let redirecting = matches!(
            response.status(),
            StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT
        );
        if !self.follow || !redirecting {
            return Ok(None);
        }
        let Some(location) = response.headers().get(header::LOCATION) else {
            return Ok(None);
        };
        let location = String::from_utf8_lossy(location.as_bytes());
        self.url.join(&location).map(Some).map_err(|e| {
            JsErrorBox::generic(format!("{} redirected to an invalid location {location:?}: {e}", redacted(&self.url)))
        })
    }

    /// Prepares the next hop as browsers do: 303 (and 301/302 after a POST) become a GET
    /// without body; 307/308 repeat the request. Credentials do not follow to another origin.
    fn redirect(&mut self, status: StatusCode, next: Url) {
        let to_get = match status {
            StatusCode::SEE_OTHER => self.method != Method::GET && self.method != Method::HEAD,
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => self.method == Method::POST,
            _ => false,
        };
        if to_get {
            self.method = Method::GET;
            self.body = None;
            self.headers.remove(header::CONTENT_TYPE);
            self.headers.remove(header::CONTENT_LENGTH);
        }
        if next.origin() != self.url.origin() {
            self.headers.remove(header::AUTHORIZATION);
            self.headers.remove(header::COOKIE);
            self.headers.remove(header::PROXY_AUTHORIZATION);
        }
        self.url = next;
    }
}

/// Reads the whole answer, refusing bodies over the cap: by their Content-Length before
/// reading anything, and while reading for bodies that do not announce it.
async fn read(mut response: reqwest::Response, max_body: usize, url: &Url) -> Result<IncomingResponse, JsErrorBox> {
    let too_large = || {
        JsErrorBox::generic(format!(
            "the response from {} is larger than the {max_body}-byte limit (--http-max-body)",
            redacted(url)
        ))
    };
    if response.content_length().is_some_and(|length| length > max_body as u64) {
        return Err(too_large());
    }
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(url, e))? {
        if body.len() + chunk.len() > max_body {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(IncomingResponse { status, headers, body: body.into() })
}

/// A failure with no HTTP answer, with every cause (reqwest's own message is generic).
fn failed(url: &Url, error: reqwest::Error) -> JsErrorBox {
    JsErrorBox::generic(format!("httpRequest to {} failed: {}", redacted(url), error_chain(&error.without_url())))
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}")
    } else {
        format!("{secs}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> String {
        target_url(url, "").unwrap_err().to_string()
    }

    #[test]
    fn params_join_the_urls_own_query() {
        assert_eq!(target_url("https://example.com/a?x=1", "y=2").unwrap().as_str(), "https://example.com/a?x=1&y=2");
        assert_eq!(target_url("https://example.com/a", "y=2").unwrap().as_str(), "https://example.com/a?y=2");
    }

    #[test]
    fn only_http_on_the_web_ports_and_the_high_ones_is_allowed() {
        for allowed in ["http://example.com/", "https://example.com/", "http://example.com:8080/", "https://example.com:1025/"] {
            assert!(target_url(allowed, "").is_ok(), "{allowed}");
        }
        assert!(refused("ftp://example.com/").contains("unsupported protocol \"ftp:\""));
        assert!(refused("http://example.com:22/").contains("port 22 is not allowed"));
        assert!(refused("not a url").contains("invalid url"));
    }

    #[test]
    fn a_password_never_reaches_a_message() {
        let message = refused("http://ada:secret@example.com:25/");
        assert!(message.contains("ada:***@") && !message.contains("secret"), "{message}");
    }

    #[test]
    fn headers_that_http_cannot_carry_are_refused() {
        assert!(header_map(&[("x-ok".into(), "yes".into())]).is_ok());
        assert!(header_map(&[("bad name".into(), "v".into())]).unwrap_err().to_string().contains("invalid header name"));
        assert!(header_map(&[("x-bad".into(), "line\nbreak".into())]).is_err());
    }

    #[test]
    fn timeouts_read_as_whole_seconds_when_they_are() {
        assert_eq!(seconds(Duration::from_secs(10)), "10");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5");
    }
}
