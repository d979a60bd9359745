//! `Parse.Cloud.httpRequest` end to end: the real server runs the `http_request` fixture, whose
//! functions call a local upstream HTTP server started by each test (hyper on 127.0.0.1, port
//! 0, its own thread). Assertions cover what the upstream received for every option and body
//! kind, every response field, statuses, redirects, the port rule, the 8-per-request limit,
//! TLS validation, the timeout and the body cap.

mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use common::Server;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The message every port-rule rejection carries.
const PORT_RULE: &str = "may only use ports 80, 443 and 1025-65535";

// ---------------------------------------------------------------------------------------------
// The upstream server
// ---------------------------------------------------------------------------------------------

/// Requests in flight at the slow route, and the most seen at once.
#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// Decrements the in-flight count however the slow route's future ends.
struct InFlight(Arc<Concurrency>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running upstream; lives as long as the test process.
struct Upstream {
    /// `http://127.0.0.1:PORT` (or https).
    url: String,
    concurrency: Arc<Concurrency>,
}

impl Upstream {
    fn start() -> Upstream {
        Upstream::spawn(None)
    }

    /// An HTTPS upstream with a fresh self-signed certificate; answers it with the certificate.
    fn start_tls() -> (Upstream, Vec<u8>) {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("self-signed certificate");
        let cert = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
        let config = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::clone(&cert)], key)
            .expect("TLS config");
        (Upstream::spawn(Some(TlsAcceptor::from(Arc::new(config)))), cert.to_vec())
    }

    fn spawn(tls: Option<TlsAcceptor>) -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind upstream");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let concurrency = Arc::new(Concurrency::default());
        let counts = concurrency.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let counts = counts.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| route(request, counts.clone()));
                        let http = hyper::server::conn::http1::Builder::new();
                        match tls {
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                                }
                            }
                            None => {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    });
                }
            });
        });
        Upstream { url: format!("{scheme}://127.0.0.1:{port}"), concurrency }
    }

    fn max_concurrency(&self) -> usize {
        self.concurrency.max.load(Ordering::SeqCst)
    }
}

/// A response body sent in the given chunks, with a Content-Length only when `sized`.
struct TestBody {
    chunks: VecDeque<Bytes>,
    sized: bool,
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if self.sized {
            SizeHint::with_exact(self.chunks.iter().map(|chunk| chunk.len() as u64).sum())
        } else {
            SizeHint::default()
        }
    }
}

fn answer(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<TestBody> {
    let mut response = Response::new(TestBody { chunks: VecDeque::from([body.into()]), sized: true });
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

/// The routes: echo, redirect, loop, cookies, slow, json, form, binary, text, headers, status,
/// big (sized) and chunked (no Content-Length).
async fn route(request: Request<Incoming>, counts: Arc<Concurrency>) -> Result<Response<TestBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
    };
    let number = |name: &str, default: usize| param(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let response = match path.as_str() {
        p if p.starts_with("/echo") => {
            let mut headers = Map::new();
            for name in parts.headers.keys() {
                let values: Vec<&str> =
                    parts.headers.get_all(name).iter().map(|value| value.to_str().unwrap_or("?")).collect();
                headers.insert(name.as_str().to_string(), json!(values.join(", ")));
            }
            let echo = json!({
                "method": parts.method.as_str(),
                "path": path,
                "query": query,
                "headers": headers,
                "contentType": parts.headers.get("content-type").map(|v| v.to_str().unwrap()),
                "body": base64::engine::general_purpose::STANDARD.encode(&body),
            });
            answer(200, &[("content-type", "application/json")], echo.to_string())
        }
        "/redirect" => {
            let to = param("to").unwrap_or_else(|| "/echo".into());
            answer(number("status", 302) as u16, &[("location", &to)], "")
        }
        "/loop" => answer(302, &[("location", "/loop")], ""),
        "/cookies" => answer(
            200,
            &[
                ("set-cookie", "session=abc123; Path=/; Domain=.example.com; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure; HttpOnly"),
                ("set-cookie", "theme=dark"),
                ("set-cookie", "short=1; Max-Age=3600; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
                ("content-type", "text/plain"),
            ],
            "cookies",
        ),
        "/slow" => {
            let now = counts.now.fetch_add(1, Ordering::SeqCst) + 1;
            let _in_flight = InFlight(counts.clone());
            counts.max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(number("ms", 300) as u64)).await;
            answer(200, &[("content-type", "text/plain")], format!("slow {}", param("i").unwrap_or_default()))
        }
        "/json" => answer(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"name":"Ada","list":[1,2,{"x":null}],"ü":"é"}"#,
        ),
        "/form" => answer(200, &[("content-type", "application/x-www-form-urlencoded")], "a=1&b=two+words&b=x%26y&empty="),
        "/binary" => answer(200, &[("content-type", "application/octet-stream")], (0..=255u8).collect::<Vec<u8>>()),
        "/text" => answer(200, &[("content-type", "text/plain; charset=utf-8")], "plain ünïcode"),
        "/headers" => answer(200, &[("x-multi", "a"), ("x-multi", "b"), ("X-Upper", "Value")], "headers"),
        p if p.starts_with("/status/") => {
            let status: u16 = p["/status/".len()..].parse().unwrap();
            let status_text = status.to_string();
            let body = if status == 204 { String::new() } else { json!({"error": format!("status {status}")}).to_string() };
            answer(status, &[("content-type", "application/json"), ("x-status", &status_text)], body)
        }
        "/big" => answer(200, &[], vec![b'x'; number("n", 0)]),
        "/chunked" => {
            let chunks = vec![b'y'; number("n", 0)].chunks(1000).map(Bytes::copy_from_slice).collect();
            Response::new(TestBody { chunks, sized: false })
        }
        _ => answer(404, &[], "no such route"),
    };
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Runs `name` and answers its result (asserting the call itself succeeded).
async fn run(server: &Server, name: &str, params: Value) -> Value {
    let (status, body) = server.call(name, params, &[]).await;
    assert_eq!(status, 200, "{name}: {body}");
    body["result"].clone()
}

/// `Parse.Cloud.httpRequest(options)` from cloud code: `{outcome, response}`.
async fn http(server: &Server, options: Value) -> Value {
    run(server, "request", json!({ "options": options })).await
}

/// The request resolved; answers the response description.
async fn resolved(server: &Server, options: Value) -> Value {
    let result = http(server, options.clone()).await;
    assert_eq!(result["outcome"], "resolved", "{options}: {result}");
    result["response"].clone()
}

/// The request was rejected; answers the response description.
async fn rejected(server: &Server, options: Value) -> Value {
    let result = http(server, options.clone()).await;
    assert_eq!(result["outcome"], "rejected", "{options}: {result}");
    result["response"].clone()
}

/// A request that got no HTTP answer: status 0, empty, the reason in text and message.
/// Answers the message.
async fn failed(server: &Server, options: Value) -> String {
    let response = rejected(server, options.clone()).await;
    assert_eq!(response["status"], 0, "{options}: {response}");
    assert_eq!(response["bytes"], json!([]), "{response}");
    assert_eq!(response["headers"], json!({}), "{response}");
    assert_eq!(response["cookies"], json!({}), "{response}");
    assert_eq!(response["text"], response["message"], "{response}");
    response["message"].as_str().unwrap().to_string()
}

/// What the echo route received, from a response that resolved.
async fn echo(server: &Server, options: Value) -> Value {
    let response = resolved(server, options).await;
    assert_eq!(response["status"], 200, "{response}");
    response["data"].clone()
}

fn body_bytes(echo: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(echo["body"].as_str().unwrap()).unwrap()
}

fn text_bytes(text: &str) -> Value {
    json!(text.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_by_default_and_every_field_of_a_json_response() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    let response = resolved(&server, json!({ "url": format!("{}/echo/a/b", upstream.url) })).await;
    let received = &response["data"];
    assert_eq!(received["method"], "GET");
    assert_eq!(received["path"], "/echo/a/b");
    assert_eq!(received["query"], "");
    assert_eq!(received["body"], "");
    assert_eq!(received["contentType"], Value::Null);
    assert!(received["headers"]["user-agent"].as_str().unwrap().starts_with("cloudrt/"), "{received}");

    assert_eq!(response["isHTTPResponse"], true);
    assert_eq!(response["status"], 200);
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(response["headers"]["content-length"], response["bytes"].as_array().unwrap().len().to_string());
    assert_eq!(response["isUint8Array"], true);
    let text = response["text"].as_str().unwrap();
    assert_eq!(response["bytes"], text_bytes(text));
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), *received);
    assert_eq!(response["cookies"], json!({}));
    assert_eq!(response["message"], Value::Null);
}

#[tokio::test]
async fn params_as_object_or_raw_string_are_encoded_and_merged_with_the_url_query() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    let url = format!("{}/echo", upstream.url);
    let cases = [
        (json!({ "url": url, "params": { "q": "Sean Plott" } }), "q=Sean%20Plott"),
        (json!({ "url": url, "params": "q=Sean Plott" }), "q=Sean%20Plott"),
        (
            json!({ "url": format!("{url}?x=1&y=a%20b"), "params": {
                "q": "Sean Plott", "tag": ["a", "b"], "n": 1, "t": true, "amp": "a&b=c", "u": "é/?#"
            } }),
            "x=1&y=a%20b&q=Sean%20Plott&tag=a&tag=b&n=1&t=true&amp=a%26b%3Dc&u=%C3%A9%2F%3F%23",
        ),
        (json!({ "url": format!("{url}?x=1"), "params": "q=Sean Plott&lang=en" }), "x=1&q=Sean%20Plott&lang=en"),
        (json!({ "url": url, "params": "a=%41+b&flag&=&c=d=e" }), "a=A%20b&flag=&=&c=d%3De"),
        (json!({ "url": format!("{url}?keep=1"), "params": {} }), "keep=1"),
        (json!({ "url": format!("{url}#fragment"), "params": { "q": "1" } }), "q=1"),
    ];
    for (options, query) in cases {
        let received = echo(&server, options.clone()).await;
        assert_eq!(received["query"], query, "{options}");
    }
    // What the server decodes from the raw-string form is what was written.
    let received = echo(&server, json!({ "url": url, "params": "q=Sean Plott" })).await;
    let decoded: Vec<(String, String)> =
        form_urlencoded::parse(received["query"].as_str().unwrap().as_bytes()).into_owned().collect();
    assert_eq!(decoded, vec![("q".to_string(), "Sean Plott".to_string())]);
}

#[tokio::test]
async fn every_method_and_the_headers_reach_the_server() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    let url = format!("{}/echo", upstream.url);
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let received = echo(&server, json!({ "url": url, "method": method })).await;
        assert_eq!(received["method"], method);
    }
    let received = echo(&server, json!({ "url": url, "method": "patch" })).await;
    assert_eq!(received["method"], "PATCH", "methods are case-insensitive");

    // HEAD: the answer without a body.
    let response = resolved(&server, json!({ "url": url, "method": "HEAD" })).await;
    assert_eq!(response["status"], 200);
    assert_eq!(response["bytes"], json!([]));
    assert_eq!(response["text"], "");
    assert_eq!(response["headers"]["content-type"], "application/json");

    let received = echo(&server, json!({
        "url": url,
        "headers": { "X-Custom": "yes", "X-Number": 42, "X-List": ["a", "b"], "User-Agent": "mine/1.0" },
    }))
    .await;
    assert_eq!(received["headers"]["x-custom"], "yes");
    assert_eq!(received["headers"]["x-number"], "42");
    assert_eq!(received["headers"]["x-list"], "a, b");
    assert_eq!(received["headers"]["user-agent"], "mine/1.0");

    let message = failed(&server, json!({ "url": url, "method": "TRACE" })).await;
    assert!(message.contains("\"TRACE\" is not one of GET POST PUT DELETE PATCH HEAD OPTIONS"), "{message}");
    let message = failed(&server, json!({ "url": url, "headers": { "Bad Name": "x" } })).await;
    assert!(message.contains("invalid header name"), "{message}");
}

#[tokio::test]
async fn each_kind_of_body_is_sent_as_documented() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    let url = format!("{}/echo", upstream.url);
    let post = |body: Value, headers: Value| json!({ "url": url, "method": "POST", "body": body, "headers": headers });
    let article = json!({ "title": "Vote for Pedro", "body": "If you vote & win", "n": 1, "list": ["a", "b"] });

    // An object with no Content-Type: a form, with that Content-Type set.
    let received = echo(&server, post(article.clone(), json!({}))).await;
    assert_eq!(received["contentType"], "application/x-www-form-urlencoded");
    assert_eq!(body_bytes(&received), b"title=Vote%20for%20Pedro&body=If%20you%20vote%20%26%20win&n=1&list=a&list=b");

    // An object with a JSON Content-Type (charset included): JSON, the Content-Type as given.
    let received = echo(&server, post(article.clone(), json!({ "Content-Type": "application/json;charset=utf-8" }))).await;
    assert_eq!(received["contentType"], "application/json;charset=utf-8");
    assert_eq!(serde_json::from_slice::<Value>(&body_bytes(&received)).unwrap(), article);
    assert_eq!(
        String::from_utf8(body_bytes(&received)).unwrap(),
        r#"{"title":"Vote for Pedro","body":"If you vote & win","n":1,"list":["a","b"]}"#
    );
    let received = echo(&server, post(json!({ "a": 1 }), json!({ "content-type": "application/vnd.api+json" }))).await;
    assert_eq!(body_bytes(&received), br#"{"a":1}"#);

    // An object with a form Content-Type (any case of the name): a form.
    let received = echo(
        &server,
        post(json!({ "a": "x y" }), json!({ "content-TYPE": "application/x-www-form-urlencoded; charset=utf-8" })),
    )
    .await;
    assert_eq!(received["contentType"], "application/x-www-form-urlencoded; charset=utf-8");
    assert_eq!(body_bytes(&received), b"a=x%20y");

    // A string: sent as is (UTF-8), with whatever Content-Type is given, or none.
    let received = echo(&server, post(json!("héllo wörld {not: json}"), json!({ "Content-Type": "text/plain; charset=utf-8" }))).await;
    assert_eq!(received["contentType"], "text/plain; charset=utf-8");
    assert_eq!(body_bytes(&received), "héllo wörld {not: json}".as_bytes());
    let received = echo(&server, post(json!("raw"), json!({}))).await;
    assert_eq!(received["contentType"], Value::Null);
    assert_eq!(body_bytes(&received), b"raw");
    assert_eq!(received["headers"]["content-length"], "3");

    // An object under another Content-Type: refused, with the reason.
    let message = failed(&server, post(json!({ "a": 1 }), json!({ "Content-Type": "text/plain" }))).await;
    assert!(message.contains("Content-Type") && message.contains("text/plain"), "{message}");

    // Binary: the bytes exactly, however they are held.
    let bytes = json!([0, 1, 2, 127, 128, 253, 254, 255]);
    for kind in ["uint8", "buffer", "view"] {
        let result = run(&server, "binaryBody", json!({ "url": url, "bytes": bytes, "kind": kind })).await;
        assert_eq!(result["outcome"], "resolved", "{kind}: {result}");
        let received = &result["response"]["data"];
        assert_eq!(json!(body_bytes(received)), bytes, "{kind}");
        assert_eq!(received["contentType"], Value::Null, "{kind}");
    }
}

#[tokio::test]
async fn response_fields_for_each_content_type_headers_and_cookies() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    let url = |path: &str| json!({ "url": format!("{}{path}", upstream.url) });

    let response = resolved(&server, url("/json")).await;
    let text = r#"{"name":"Ada","list":[1,2,{"x":null}],"ü":"é"}"#;
    assert_eq!(response["text"], text);
    assert_eq!(response["bytes"], text_bytes(text));
    assert_eq!(response["data"], json!({"name": "Ada", "list": [1, 2, {"x": null}], "ü": "é"}));
    assert_eq!(response["headers"]["content-type"], "application/json; charset=utf-8");

    let response = resolved(&server, url("/form")).await;
    assert_eq!(response["text"], "a=1&b=two+words&b=x%26y&empty=");
    assert_eq!(response["data"], json!({"a": "1", "b": ["two words", "x&y"], "empty": ""}));

    let response = resolved(&server, url("/binary")).await;
    assert_eq!(response["bytes"], json!((0..=255u8).collect::<Vec<u8>>()));
    assert_eq!(response["isUint8Array"], true);
    assert_eq!(response["data"], "(undefined)");
    assert_eq!(response["headers"]["content-type"], "application/octet-stream");

    let response = resolved(&server, url("/text")).await;
    assert_eq!(response["text"], "plain ünïcode");
    assert_eq!(response["data"], "(undefined)");

    let response = resolved(&server, url("/headers")).await;
    assert_eq!(response["headers"]["x-multi"], "a, b");
    assert_eq!(response["headers"]["x-upper"], "Value");
    assert_eq!(response["data"], "(undefined)");

    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let response = resolved(&server, url("/cookies")).await;
    assert_eq!(response["headers"]["set-cookie"].as_array().unwrap().len(), 3, "{response}");
    let cookies = &response["cookies"];
    assert_eq!(cookies["session"], json!({
        "isCookie": true, "name": "session", "value": "abc123", "expires": "2037-10-21T07:28:00.000Z",
        "path": "/", "domain": "example.com", "secure": true, "httpOnly": true,
    }));
    assert_eq!(cookies["theme"], json!({
        "isCookie": true, "name": "theme", "value": "dark", "expires": null,
        "path": null, "domain": null, "secure": false, "httpOnly": false,
    }));
    // Max-Age wins over Expires.
    let expires = cookies["short"]["expires"].as_str().unwrap();
    let year: i64 = expires[..4].parse().unwrap();
    assert!(year < 2037, "{expires}");
    let expected_year = 1970 + (before + 3600) / 31_556_952;
    assert!((year - expected_year).abs() <= 1, "{expires}");

    let cookie = run(&server, "cookieClass", json!({})).await;
    assert_eq!(cookie, json!({"name": "a", "value": "b", "path": "/", "secure": true, "httpOnly": false}));
}

#[tokio::test]
async fn statuses_200_to_399_resolve_and_the_rest_reject_with_the_response() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    for status in [404, 500, 400, 503] {
        let response = rejected(&server, json!({ "url": format!("{}/status/{status}", upstream.url) })).await;
        assert_eq!(response["status"], status);
        assert_eq!(response["text"], json!({"error": format!("status {status}")}).to_string());
        assert_eq!(response["data"], json!({"error": format!("status {status}")}));
        assert_eq!(response["headers"]["x-status"], status.to_string());
        assert_eq!(response["isHTTPResponse"], true);
        assert_eq!(response["message"], Value::Null);
    }
    for status in [200, 201, 202, 204, 304, 399] {
        let response = resolved(&server, json!({ "url": format!("{}/status/{status}", upstream.url) })).await;
        assert_eq!(response["status"], status);
    }
}

#[tokio::test]
async fn redirects_are_answered_unless_followed_and_then_followed_as_browsers_do() {
    let upstream = Upstream::start();
    let other = Upstream::start();
    let server = Server::start("http_request", &[]);
    let redirect = |to: &str, status: u16| format!("{}/redirect?status={status}&to={}", upstream.url, urlencode(to));

    // Not followed by default: the 3xx is the answer, and it resolves.
    let response = resolved(&server, json!({ "url": redirect("/echo/target", 302) })).await;
    assert_eq!(response["status"], 302);
    assert_eq!(response["headers"]["location"], "/echo/target");
    assert_eq!(response["text"], "");
    let response = resolved(&server, json!({ "url": redirect("/echo/target", 302), "followRedirects": false })).await;
    assert_eq!(response["status"], 302);

    // Followed when asked: GET stays GET, relative locations resolve against the current URL.
    let received = echo(&server, json!({ "url": redirect("/echo/target", 302), "followRedirects": true })).await;
    assert_eq!((received["method"].as_str(), received["path"].as_str()), (Some("GET"), Some("/echo/target")));
    let received = echo(&server, json!({ "url": redirect("/echo/target?k=v", 301), "followRedirects": true })).await;
    assert_eq!(received["query"], "k=v");

    // A chain of redirects.
    let chain = redirect(&format!("/redirect?to={}", urlencode("/echo/end")), 308);
    let received = echo(&server, json!({ "url": chain, "followRedirects": true })).await;
    assert_eq!(received["path"], "/echo/end");

    // POST after 301/302/303 becomes a GET without body; 307/308 repeat the POST.
    for status in [301, 302, 303] {
        let received = echo(&server, json!({
            "url": redirect("/echo/next", status), "method": "POST", "body": { "a": 1 }, "followRedirects": true,
        }))
        .await;
        assert_eq!(received["method"], "GET", "{status}");
        assert_eq!(received["body"], "", "{status}");
        assert_eq!(received["contentType"], Value::Null, "{status}");
    }
    for status in [307, 308] {
        let received = echo(&server, json!({
            "url": redirect("/echo/next", status), "method": "POST", "body": { "a": 1 }, "followRedirects": true,
        }))
        .await;
        assert_eq!(received["method"], "POST", "{status}");
        assert_eq!(body_bytes(&received), b"a=1", "{status}");
        assert_eq!(received["contentType"], "application/x-www-form-urlencoded", "{status}");
    }
    let received = echo(&server, json!({ "url": redirect("/echo/next", 303), "method": "PUT", "body": "x", "followRedirects": true })).await;
    assert_eq!(received["method"], "GET");

    // Credentials stay with their origin.
    let headers = json!({ "Authorization": "Bearer secret", "X-Other": "kept" });
    let received = echo(&server, json!({ "url": redirect("/echo/same", 302), "headers": headers, "followRedirects": true })).await;
    assert_eq!(received["headers"]["authorization"], "Bearer secret");
    let elsewhere = format!("{}/echo/elsewhere", other.url);
    let received = echo(&server, json!({ "url": redirect(&elsewhere, 302), "headers": headers, "followRedirects": true })).await;
    assert_eq!(received["path"], "/echo/elsewhere");
    assert_eq!(received["headers"]["authorization"], Value::Null);
    assert_eq!(received["headers"]["x-other"], "kept");

    // A loop ends with a clear failure.
    let message = failed(&server, json!({ "url": format!("{}/loop", upstream.url), "followRedirects": true })).await;
    assert!(message.contains("followed 10 redirects"), "{message}");

    // Every hop obeys the port rule.
    let message = failed(&server, json!({ "url": redirect("http://127.0.0.1:1000/x", 302), "followRedirects": true })).await;
    assert!(message.contains(PORT_RULE) && message.contains("port 1000"), "{message}");
    let response = resolved(&server, json!({ "url": redirect("http://127.0.0.1:1000/x", 302) })).await;
    assert_eq!(response["headers"]["location"], "http://127.0.0.1:1000/x");
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn ports_outside_80_443_and_1025_to_65535_are_refused_before_connecting() {
    let server = Server::start("http_request", &[]);
    // Where this process may bind port 1000 (it runs as root here), prove no connection is made.
    let watcher = std::net::TcpListener::bind("127.0.0.1:1000").ok();
    for url in ["http://127.0.0.1:8/", "http://127.0.0.1:1000/", "https://127.0.0.1:1024/x", "http://127.0.0.1:22/", "http://127.0.0.1:0/"] {
        let message = failed(&server, json!({ "url": url })).await;
        assert!(message.contains(PORT_RULE), "{url}: {message}");
        assert!(!message.contains("refused") && !message.contains("connect"), "{url}: {message}");
    }
    if let Some(watcher) = watcher {
        watcher.set_nonblocking(true).unwrap();
        assert!(watcher.accept().is_err(), "a connection was made to port 1000");
    }
    // Allowed ports get as far as connecting (nothing listens on them here, or something does).
    for url in ["http://127.0.0.1:1025/", "http://127.0.0.1:65535/", "http://127.0.0.1/", "http://127.0.0.1:80/"] {
        let result = http(&server, json!({ "url": url })).await;
        let text = result["response"]["text"].as_str().unwrap_or_default();
        assert!(!text.contains(PORT_RULE), "{url}: {result}");
    }
    // Only http and https; a URL must be one.
    for url in ["ftp://127.0.0.1:2121/file", "file:///etc/passwd", "ws://127.0.0.1:3000/"] {
        let message = failed(&server, json!({ "url": url })).await;
        assert!(message.contains("http and https only"), "{url}: {message}");
    }
    let message = failed(&server, json!({ "url": "not a url" })).await;
    assert!(message.contains("invalid url"), "{message}");
    let message = failed(&server, json!({})).await;
    assert!(message.contains("url must be a non-empty string"), "{message}");
}

#[tokio::test]
async fn network_failures_reject_with_status_zero_and_callbacks_are_called() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let refused = format!("http://127.0.0.1:{closed_port}/");
    let message = failed(&server, json!({ "url": refused })).await;
    assert!(message.contains("Connection refused") && message.contains(&refused), "{message}");

    let result = run(&server, "callbacks", json!({ "url": format!("{}/text", upstream.url) })).await;
    assert_eq!(result, json!({"via": "success", "status": 200, "text": "plain ünïcode"}));
    let result = run(&server, "callbacks", json!({ "url": format!("{}/status/404", upstream.url) })).await;
    assert_eq!(result, json!({"via": "error", "status": 404, "text": "{\"error\":\"status 404\"}"}));
    let result = run(&server, "callbacks", json!({ "url": refused })).await;
    assert_eq!((&result["via"], &result["status"]), (&json!("error"), &json!(0)), "{result}");
}

#[tokio::test]
async fn twenty_parallel_requests_in_one_function_run_eight_at_a_time_and_all_complete() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &[]);
    let started = Instant::now();
    let result = run(&server, "parallel", json!({ "url": format!("{}/slow?ms=300", upstream.url), "n": 20 })).await;
    let expected: Vec<String> = (0..20).map(|i| format!("slow {i}")).collect();
    assert_eq!(result, json!(expected));
    assert_eq!(upstream.max_concurrency(), 8, "at most 8 at once, and the 8 are used");
    // Three waves of 300 ms: queued, not run one by one, not all at once.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(850) && took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn two_requests_running_at_once_each_get_their_own_eight() {
    let upstream = Upstream::start();
    let server = Arc::new(Server::start("http_request", &["--workers", "2"]));
    let url = format!("{}/slow?ms=600", upstream.url);
    let calls: Vec<_> = (0..2)
        .map(|_| {
            let server = server.clone();
            let url = url.clone();
            tokio::spawn(async move { run(&server, "parallel", json!({ "url": url, "n": 20 })).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().as_array().unwrap().len(), 20);
    }
    let max = upstream.max_concurrency();
    assert!(max > 8 && max <= 16, "two requests at once should reach 16 in flight, saw {max}");
}

#[tokio::test]
async fn tls_to_a_server_with_a_self_signed_certificate_is_rejected() {
    let (upstream, cert) = Upstream::start_tls();
    // The upstream itself works for a client that trusts its certificate…
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_der(&cert).unwrap())
        .build()
        .unwrap();
    let direct = trusting.get(format!("{}/text", upstream.url)).send().await.unwrap();
    assert_eq!(direct.status(), 200);
    // …but cloud code validates certificates against the real roots.
    let server = Server::start("http_request", &[]);
    let message = failed(&server, json!({ "url": format!("{}/text", upstream.url) })).await;
    assert!(message.to_lowercase().contains("certificate"), "{message}");
}

#[tokio::test]
async fn a_request_slower_than_http_timeout_rejects_at_the_timeout() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &["--http-timeout", "1"]);
    let started = Instant::now();
    let message = failed(&server, json!({ "url": format!("{}/slow?ms=4000", upstream.url) })).await;
    let took = started.elapsed();
    assert!(message.contains("timed out after 1 s (--http-timeout)"), "{message}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(3500), "{took:?}");
    let response = resolved(&server, json!({ "url": format!("{}/slow?ms=100", upstream.url) })).await;
    assert_eq!(response["text"], "slow ");
}

#[tokio::test]
async fn a_request_is_bounded_by_the_callers_deadline() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &["--function-timeout", "1"]);
    let started = Instant::now();
    let (status, body) = server
        .call("request", json!({ "options": { "url": format!("{}/slow?ms=5000", upstream.url) } }), &[])
        .await;
    assert_eq!((status, &body["code"]), (400, &json!(124)), "{body}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // The worker serves the next call normally.
    let response = resolved(&server, json!({ "url": format!("{}/text", upstream.url) })).await;
    assert_eq!(response["status"], 200);
}

#[tokio::test]
async fn bodies_over_http_max_body_fail_cleanly() {
    let upstream = Upstream::start();
    let server = Server::start("http_request", &["--http-max-body", "1000"]);
    let response = resolved(&server, json!({ "url": format!("{}/big?n=1000", upstream.url) })).await;
    assert_eq!(response["text"].as_str().unwrap().len(), 1000);
    let response = resolved(&server, json!({ "url": format!("{}/chunked?n=1000", upstream.url) })).await;
    assert_eq!(response["text"].as_str().unwrap().len(), 1000);
    // A HEAD answer announces a large body but carries none: not over the cap.
    let response = resolved(&server, json!({ "url": format!("{}/big?n=5000", upstream.url), "method": "HEAD" })).await;
    assert_eq!((&response["headers"]["content-length"], &response["bytes"]), (&json!("5000"), &json!([])));
    for path in ["/big?n=1001", "/big?n=5000000", "/chunked?n=1001", "/chunked?n=5000000"] {
        let message = failed(&server, json!({ "url": format!("{}{path}", upstream.url) })).await;
        assert!(message.contains("larger than the 1000-byte limit (--http-max-body)"), "{path}: {message}");
    }
    let response = resolved(&server, json!({ "url": format!("{}/text", upstream.url) })).await;
    assert_eq!(response["status"], 200);
}
