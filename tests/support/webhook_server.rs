//! The test certificate authority and webhook server, written once for the webhook client's
//! unit tests (src/hooks/client.rs) and the webhook integration tests (tests/webhooks.rs): a
//! private CA made for the run (rcgen) with a "localhost" certificate it signed, and an HTTPS
//! (or plain HTTP) server on 127.0.0.1 in the test process, hyper over tokio-rustls, that
//! records every request and answers per path as the test configures it.
#![allow(dead_code)] // each user needs a different part

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

// ---------------------------------------------------------------------------------------------
// Test PKI
// ---------------------------------------------------------------------------------------------

/// A certificate for "localhost" and its key, plus the PEM of the CA that signed it (for a
/// self-signed certificate, the certificate itself).
pub struct Pki {
    pub ca_pem: String,
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Pki {
    /// A fresh private CA and a "localhost" certificate it signed.
    pub fn private_ca(name: &str) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, name);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
        Pki { ca_pem: ca.pem(), cert: cert.der().clone(), key: PrivatePkcs8KeyDer::from(key.serialize_der()) }
    }

    /// A self-signed "localhost" certificate: no CA at all.
    pub fn self_signed() -> Pki {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        Pki { ca_pem: cert.pem(), cert: cert.der().clone(), key: PrivatePkcs8KeyDer::from(key.serialize_der()) }
    }

    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], PrivateKeyDer::Pkcs8(self.key.clone_key()))
            .unwrap();
        Arc::new(config)
    }
}

/// A file in the temp directory, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn with_contents(contents: &[u8]) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("cloudrt-webhooks-test-{}-{}.pem", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    pub fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// The test webhook server
// ---------------------------------------------------------------------------------------------

/// One request the webhook server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Lower-case header names.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`Null` when it was not JSON).
    pub body: Value,
}

/// How the webhook answers one request.
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
    /// A `Location` to send (redirects).
    pub location: Option<&'static str>,
}

/// Computes the answer from the request's JSON payload.
pub type Responder = Arc<dyn Fn(&Value) -> Answer + Send + Sync>;

pub fn respond(f: impl Fn(&Value) -> Answer + Send + Sync + 'static) -> Responder {
    Arc::new(f)
}

/// `{"success": value}`.
pub fn success(value: Value) -> Responder {
    let body = json!({ "success": value }).to_string();
    respond(move |_| Answer { status: 200, content_type: "application/json", body: body.clone(), delay: Duration::ZERO, location: None })
}

/// `{"error": message}`.
pub fn failure(message: &str) -> Responder {
    let body = json!({ "error": message }).to_string();
    respond(move |_| Answer { status: 200, content_type: "application/json", body: body.clone(), delay: Duration::ZERO, location: None })
}

/// Any status and body.
pub fn raw(status: u16, content_type: &'static str, body: &str) -> Responder {
    let body = body.to_string();
    respond(move |_| Answer { status, content_type, body: body.clone(), delay: Duration::ZERO, location: None })
}

/// `{"success": value}`, after sleeping.
pub fn slow(delay: Duration, value: Value) -> Responder {
    let body = json!({ "success": value }).to_string();
    respond(move |_| Answer { status: 200, content_type: "application/json", body: body.clone(), delay, location: None })
}

/// A webhook server on 127.0.0.1 that records every request and answers per path.
pub struct WebhookServer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    answers: Arc<Mutex<HashMap<String, Responder>>>,
}

impl WebhookServer {
    /// HTTPS with the given certificate, or plain HTTP when `tls` is `None`.
    pub async fn start(tls: Option<&Pki>) -> WebhookServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers: Arc<Mutex<HashMap<String, Responder>>> = Arc::new(Mutex::new(HashMap::new()));
        let acceptor = tls.map(|pki| TlsAcceptor::from(pki.server_config()));
        let (log, table) = (seen.clone(), answers.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let (log, table) = (log.clone(), table.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(request, log.clone(), table.clone()));
                    let connection = http1::Builder::new();
                    // Failed handshakes are expected: the TLS refusal tests cause them.
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                let _ = connection.serve_connection(TokioIo::new(tls), service).await;
                            }
                        }
                        None => {
                            let _ = connection.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        WebhookServer { port, seen, answers }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// Sets (or replaces) the answer for `path`.
    pub fn answer(&self, path: &str, responder: Responder) {
        self.answers.lock().unwrap().insert(path.to_string(), responder);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }

    /// Waits (up to 5 s) until `path` has received at least `count` requests.
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Seen> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let seen = self.seen_at(path);
            if seen.len() >= count || Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn handle(
    request: Request<Incoming>,
    log: Arc<Mutex<Vec<Seen>>>,
    table: Arc<Mutex<HashMap<String, Responder>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.to_str().unwrap_or("<binary>").to_string()))
        .collect();
    let bytes = request.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    log.lock().unwrap().push(Seen { method, path: path.clone(), headers, body: body.clone() });

    let responder = table.lock().unwrap().get(&path).cloned();
    let answer = match responder {
        Some(responder) => responder(&body),
        None => Answer { status: 404, content_type: "text/plain", body: "no such webhook".into(), delay: Duration::ZERO, location: None },
    };
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut response = Response::builder().status(answer.status).header("content-type", answer.content_type);
    if let Some(location) = answer.location {
        response = response.header("location", location);
    }
    Ok(response.body(Full::new(Bytes::from(answer.body))).unwrap())
}
