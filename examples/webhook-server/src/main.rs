//! An example Cloud Code webhook server for cloudrt: the function and trigger logic lives in
//! [`handlers`]; this file only listens, checks the webhook key and speaks JSON.
//!
//! HTTPS with `--cert`/`--key`, as cloudrt requires of webhooks; plain HTTP without them, for
//! local development against a cloudrt started with `--allow-insecure-webhooks`.

mod handlers;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{crypto, ServerConfig};
use tokio_rustls::TlsAcceptor;

const USAGE: &str = "\
usage: cloudrt-webhook-example [--port PORT] [--cert CERT.pem --key KEY.pem]

Serves Cloud Code webhooks on 127.0.0.1:PORT (default 8443), on every path.
  --port PORT   port to listen on
  --cert FILE   PEM certificate chain; with --key, serve HTTPS
  --key FILE    PEM private key for --cert
Without --cert/--key it serves plain HTTP, which cloudrt only calls when started with
--allow-insecure-webhooks. The environment variable WEBHOOK_KEY must hold the same key as
cloudrt's --webhook-key.";

/// cloudrt sends Parse objects, which are small; anything far larger is not a webhook call.
const MAX_BODY_BYTES: usize = 1 << 20;

struct Options {
    port: u16,
    tls: Option<(PathBuf, PathBuf)>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut port = 8443;
        let mut cert = None;
        let mut key = None;
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--port" => {
                    let text = value()?;
                    port = text.parse().map_err(|_| format!("--port {text}: not a port number"))?;
                }
                "--cert" => cert = Some(PathBuf::from(value()?)),
                "--key" => key = Some(PathBuf::from(value()?)),
                other => return Err(format!("unknown argument {other}\n\n{USAGE}")),
            }
        }
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err("--cert and --key go together".to_owned()),
        };
        Ok(Options { port, tls })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = Options::parse(args.into_iter())?;
    // Refusing to start beats answering every call with "Request Unauthorized".
    let key = std::env::var("WEBHOOK_KEY")
        .ok()
        .filter(|key| !key.is_empty())
        .ok_or("set WEBHOOK_KEY to the key cloudrt was started with (--webhook-key)")?;
    let key: Arc<str> = key.into();
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };

    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|err| format!("cannot listen on 127.0.0.1:{}: {err}", options.port))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("webhook server listening on {scheme}://localhost:{}/", options.port);

    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("accept failed: {err}");
                continue;
            }
        };
        let tls = tls.clone();
        let key = Arc::clone(&key);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, Arc::clone(&key)));
            let connection = http1::Builder::new();
            let served = match tls {
                Some(tls) => match tls.accept(tcp).await {
                    Ok(stream) => connection.serve_connection(TokioIo::new(stream), service).await,
                    Err(err) => {
                        eprintln!("TLS handshake with {peer} failed: {err}");
                        return;
                    }
                },
                None => connection.serve_connection(TokioIo::new(tcp), service).await,
            };
            if let Err(err) = served {
                eprintln!("connection with {peer} failed: {err}");
            }
        });
    }
}

/// Loads the certificate chain and private key; errors name the file so a mix-up is obvious.
fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("--cert {}: {err}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("--cert {}: no PEM certificate in it", cert.display()));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| format!("--key {}: {err}", key.display()))?;
    let config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, private_key))
        .map_err(|err| format!("--cert/--key: {err}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// One webhook call: POST only, the key checked before the body is even read.
async fn handle(
    request: Request<Incoming>,
    key: Arc<str>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::POST {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "webhooks are POSTed"})));
    }
    let authorized = request
        .headers()
        .get("x-parse-webhook-key")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|received| handlers::keys_match(received, &key));
    // cloudrt relays the error to its client, so it answers 200 like any other webhook error.
    if !authorized {
        return Ok(reply(StatusCode::OK, &handlers::unauthorized()));
    }
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => {
            let answer = json!({"error": format!("request body: {err}")});
            return Ok(reply(StatusCode::BAD_REQUEST, &answer));
        }
    };
    let answer = match serde_json::from_slice::<Value>(&body) {
        Ok(call) => handlers::answer(&call),
        Err(err) => json!({"error": format!("request body is not JSON: {err}")}),
    };
    Ok(reply(StatusCode::OK, &answer))
}

fn reply(status: StatusCode, answer: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
