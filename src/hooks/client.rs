//! The outgoing half of Cloud Code webhooks: POST a JSON payload to a registered URL and turn
//! the answer into a result.
//!
//! Parse's webhook contract is narrow on purpose (POST only, JSON both ways, HTTPS with a
//! certificate that verifies, a bounded wait), so every one of those rules lives here once.
//! [`WebhookClient::check_url`] runs at registration, and every call runs it again: a URL stored
//! while the server ran with `--allow-insecure-webhooks` must stop being called once the server
//! is restarted without that flag.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use rustls::pki_types::pem::PemObject;
use reqwest::{redirect, Certificate, StatusCode, Url};
use serde_json::Value;

use crate::error::error_chain;

/// Header that carries the app's webhook key, so the webhook server can tell cloudrt's calls
/// apart from anybody else's.
const KEY_HEADER: &str = "X-Parse-Webhook-Key";

/// Parse's limit for one webhook call, used when the operator sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `--webhook-max-body`: 16 MiB, far above any answer a webhook should give.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// How much of an unexpected answer goes into an error message: enough to recognise an HTML
/// error page or a stack trace, too little to flood a log line.
const EXCERPT_CHARS: usize = 200;

/// The operator's webhook settings, as given on the command line.
#[derive(Clone)]
pub struct WebhookSettings {
    /// Sent as `X-Parse-Webhook-Key` with every call (`--webhook-key`); no header when unset.
    pub key: Option<String>,
    /// Bound on one call, from connecting to the answer's last byte (`--webhook-timeout`).
    pub timeout: Duration,
    /// Development escape hatch (`--allow-insecure-webhooks`): `http://` URLs and certificates
    /// that do not verify are accepted.
    pub allow_insecure: bool,
    /// PEM certificates to trust on top of the public roots (`--webhook-ca-file`), for webhook
    /// servers whose certificate comes from a private CA.
    pub ca_file: Option<PathBuf>,
    /// Largest answer read from a webhook, in bytes (`--webhook-max-body`): a webhook that
    /// streams without end must not grow the server's memory.
    pub max_body: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            key: None,
            timeout: DEFAULT_TIMEOUT,
            allow_insecure: false,
            ca_file: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// Written by hand so that logging the settings never prints the webhook key.
impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("allow_insecure", &self.allow_insecure)
            .field("ca_file", &self.ca_file)
            .field("max_body", &self.max_body)
            .finish()
    }
}

/// Calls webhooks. Cheap to clone: every clone shares one connection pool, so repeated calls
/// to the same webhook server reuse their TLS connections.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    /// The same trust as `http`, for the handshake-only certificate check at registration.
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
    allow_insecure: bool,
    max_body: usize,
}

/// Why a webhook could not be registered or did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// An `http://` URL while insecure webhooks are not allowed.
    #[error(
        "webhook URL {0} is not HTTPS; plain http:// is accepted only when cloudrt runs with \
         --allow-insecure-webhooks"
    )]
    InsecureUrl(String),
    /// Not an absolute http(s) URL with a host; the text names the URL and the reason.
    #[error("invalid webhook URL {0}")]
    InvalidUrl(String),
    /// The webhook key holds characters that an HTTP header cannot carry.
    #[error("the webhook key cannot be sent as the {KEY_HEADER} header: {0}")]
    InvalidKey(String),
    /// The `--webhook-ca-file` could not be read or holds no usable certificate.
    #[error("webhook CA file {0}")]
    CaFile(String),
    /// The webhook did not answer within the configured timeout.
    #[error("webhook {url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: f64 },
    /// No answer at all: connection refused, DNS, TLS (including an untrusted certificate).
    #[error("{0}")]
    Transport(String),
    /// The webhook's certificate is not one cloudrt trusts (found at registration).
    #[error("the webhook's certificate is not trusted: {0}")]
    UntrustedCertificate(String),
    /// An answer that breaks the webhook contract: non-2xx status, not JSON, or neither
    /// `success` nor `error`.
    #[error("{0}")]
    BadAnswer(String),
    /// The webhook answered `{"error": E}`: E itself, or its JSON text when it is not a string,
    /// which is the message the client gets.
    #[error("{0}")]
    Failed(String),
    /// The answer was longer than `--webhook-max-body`; reading stopped there.
    #[error("the answer of webhook {url} is larger than the {limit}-byte limit (--webhook-max-body)")]
    AnswerTooLarge { url: String, limit: usize },
}

impl WebhookError {
    /// Timeouts get their own Parse error code (124), distinct from every other failure (141).
    pub fn is_timeout(&self) -> bool {
        matches!(self, WebhookError::Timeout { .. })
    }
}

impl WebhookClient {
    /// Builds the one HTTP client shared by all webhook calls. A bad CA file or key is refused
    /// here so that the server fails at start-up, not at the first webhook call.
    pub fn new(settings: WebhookSettings) -> Result<Self, WebhookError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &settings.key {
            let mut value = HeaderValue::from_str(key).map_err(|_| {
                WebhookError::InvalidKey("only printable ASCII characters can be sent".to_owned())
            })?;
            value.set_sensitive(true);
            headers.insert(KEY_HEADER, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            // A redirect would POST the payload (and the key) somewhere nobody registered.
            .redirect(redirect::Policy::none())
            .timeout(settings.timeout)
            .danger_accept_invalid_certs(settings.allow_insecure);
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(path) = &settings.ca_file {
            for certificate in read_ca_file(path)? {
                builder = builder.add_root_certificate(certificate);
            }
            // read_ca_file has checked the file; the same certificates go to the TLS check.
            let pem = std::fs::read(path).map_err(|err| WebhookError::CaFile(format!("{}: {err}", path.display())))?;
            for der in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                let der = der.map_err(|err| WebhookError::CaFile(format!("{}: {err}", path.display())))?;
                roots.add(der).map_err(|err| WebhookError::CaFile(format!("{}: {err}", path.display())))?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|err| WebhookError::Transport(format!("cannot set up TLS: {err}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = builder.build().map_err(|err| match &settings.ca_file {
            // Certificates are only decoded from DER here, so a broken one shows up at build.
            Some(path) => WebhookError::CaFile(format!("{}: {}", path.display(), error_chain(&err))),
            None => WebhookError::Transport(format!(
                "cannot set up the webhook HTTP client: {}",
                error_chain(&err)
            )),
        })?;
        Ok(WebhookClient {
            http,
            tls: Arc::new(tls),
            timeout: settings.timeout,
            allow_insecure: settings.allow_insecure,
            max_body: settings.max_body,
        })
    }

    /// Registration-time check of an `https://` webhook's certificate, by a TLS handshake alone
    /// (no HTTP request reaches the webhook). A certificate we do not trust (self-signed, an
    /// unknown CA, another host's) is refused now rather than on every call; a server that
    /// cannot be reached now is accepted, since it may simply not be up yet.
    pub async fn check_certificate(&self, url: &str) -> Result<(), WebhookError> {
        self.check_url(url)?;
        let parsed = Url::parse(url).map_err(|err| WebhookError::InvalidUrl(format!("{url:?}: {err}")))?;
        let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
            return Err(WebhookError::InvalidUrl(format!("{url:?}: no host")));
        };
        if self.allow_insecure || parsed.scheme() != "https" {
            return Ok(());
        }
        let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
            .map_err(|err| WebhookError::InvalidUrl(format!("{url:?}: {err}")))?;
        let limit = self.timeout.min(Duration::from_secs(5));
        let Ok(Ok(tcp)) = tokio::time::timeout(limit, tokio::net::TcpStream::connect((host, port))).await else {
            return Ok(());
        };
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        match tokio::time::timeout(limit, connector.connect(name, tcp)).await {
            Ok(Err(err)) => Err(WebhookError::UntrustedCertificate(format!("webhook {url}: {err}"))),
            Ok(Ok(_)) | Err(_) => Ok(()),
        }
    }

    /// Registration-time check: an absolute http(s) URL with a host, and HTTPS unless insecure
    /// webhooks are allowed.
    pub fn check_url(&self, url: &str) -> Result<(), WebhookError> {
        let parsed =
            Url::parse(url).map_err(|err| WebhookError::InvalidUrl(format!("{url:?}: {err}")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            "http" => return Err(WebhookError::InsecureUrl(url.to_owned())),
            other => {
                return Err(WebhookError::InvalidUrl(format!(
                    "{url:?}: the scheme is {other:?}, not http or https"
                )))
            }
        }
        // The URL standard forgives "https:host" and "https:///host" by reading "host" as the
        // host name; in a registration those are typos, so the host must follow "://".
        let after_scheme = url.trim().get(parsed.scheme().len()..).unwrap_or_default();
        match after_scheme.strip_prefix("://") {
            Some(rest) if !rest.starts_with(['/', '\\']) => Ok(()),
            _ => Err(WebhookError::InvalidUrl(format!(
                "{url:?}: expected {}://host/path",
                parsed.scheme()
            ))),
        }
    }

    /// Calls a function, beforeSave or beforeDelete webhook and returns its `success` value.
    pub async fn call(&self, url: &str, payload: &Value) -> Result<Value, WebhookError> {
        let mut response = self.post(url, payload).await?;
        let status = response.status();
        let too_large = || WebhookError::AnswerTooLarge { url: url.to_owned(), limit: self.max_body };
        if response.content_length().is_some_and(|length| length > self.max_body as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| self.request_error(url, err))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        interpret_answer(url, status, &body)
    }

    /// Calls an afterSave or afterDelete webhook, whose answer carries nothing the server uses;
    /// a failed call or a non-2xx status is still reported, so that it can be logged.
    pub async fn notify(&self, url: &str, payload: &Value) -> Result<(), WebhookError> {
        let response = self.post(url, payload).await?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(unexpected_status(url, status, &[]))
        }
    }

    async fn post(&self, url: &str, payload: &Value) -> Result<reqwest::Response, WebhookError> {
        self.check_url(url)?;
        let response = self
            .http
            .post(url)
            .json(payload)
            .send()
            .await
            .map_err(|err| self.request_error(url, err))?;
        tracing::debug!(url, status = response.status().as_u16(), "webhook answered");
        Ok(response)
    }

    fn request_error(&self, url: &str, err: reqwest::Error) -> WebhookError {
        if err.is_timeout() {
            WebhookError::Timeout { url: url.to_owned(), seconds: self.timeout.as_secs_f64() }
        } else {
            // The URL leads the message already; reqwest would repeat it.
            let err = err.without_url();
            WebhookError::Transport(format!("webhook {url} failed: {}", error_chain(&err)))
        }
    }
}

/// Reads every PEM certificate of the CA file; a file with none is almost certainly the wrong
/// file (a key, a DER certificate), so it is refused rather than silently trusting nothing.
fn read_ca_file(path: &Path) -> Result<Vec<Certificate>, WebhookError> {
    let pem = std::fs::read(path).map_err(|err| {
        WebhookError::CaFile(format!("{}: cannot be read: {err}", path.display()))
    })?;
    let certificates = Certificate::from_pem_bundle(&pem).map_err(|err| {
        WebhookError::CaFile(format!(
            "{}: not a PEM certificate bundle: {}",
            path.display(),
            error_chain(&err)
        ))
    })?;
    if certificates.is_empty() {
        return Err(WebhookError::CaFile(format!(
            "{}: holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")",
            path.display()
        )));
    }
    Ok(certificates)
}

/// Applies the webhook answer contract to a received answer.
fn interpret_answer(url: &str, status: StatusCode, body: &[u8]) -> Result<Value, WebhookError> {
    const EXPECTED: &str = r#"expected {"success": ...} or {"error": ...}"#;
    if !status.is_success() {
        return Err(unexpected_status(url, status, body));
    }
    if body.trim_ascii().is_empty() {
        return Err(WebhookError::BadAnswer(format!(
            "webhook {url} answered with an empty body; {EXPECTED}"
        )));
    }
    let answer: Value = serde_json::from_slice(body).map_err(|err| {
        WebhookError::BadAnswer(format!(
            "webhook {url} answered with a body that is not JSON ({err}); {EXPECTED}: {}",
            excerpt(body)
        ))
    })?;
    let neither = || {
        WebhookError::BadAnswer(format!(
            "webhook {url} answered JSON with neither \"success\" nor \"error\"; {EXPECTED}: {}",
            excerpt(body)
        ))
    };
    let Value::Object(mut fields) = answer else {
        return Err(neither());
    };
    // Some frameworks serialise every field, so `"error": null` beside a success means no error.
    match fields.remove("error") {
        None | Some(Value::Null) => {}
        Some(Value::String(message)) => return Err(WebhookError::Failed(message)),
        Some(other) => return Err(WebhookError::Failed(other.to_string())),
    }
    fields.remove("success").ok_or_else(neither)
}

fn unexpected_status(url: &str, status: StatusCode, body: &[u8]) -> WebhookError {
    let mut message = format!("webhook {url} answered HTTP {status}");
    if status.is_redirection() {
        message.push_str(" (redirects are not followed: register the final URL)");
    }
    if !body.is_empty() {
        message.push_str(": ");
        message.push_str(&excerpt(body));
    }
    WebhookError::BadAnswer(message)
}

/// The start of an answer body, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut chars = text.trim().chars();
    let mut short: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

/// The test CA and webhook server, shared with tests/webhooks.rs.
#[cfg(test)]
#[path = "../../tests/support/webhook_server.rs"]
mod test_webhook_server;

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Instant;

    use serde_json::json;
    use tokio::net::TcpListener;

    use super::test_webhook_server::{raw, slow, Answer, Pki, TempFile, WebhookServer};

    const KEY: &str = "test-webhook-key";

    /// A webhook server answering one path per answer shape.
    async fn test_server(tls: Option<&Pki>) -> WebhookServer {
        let server = WebhookServer::start(tls).await;
        let json = |body: &str| raw(200, "application/json", body);
        server.answer("/value", json(r#"{"success": {"comment": "short", "stars": 5}}"#));
        server.answer("/true", json(r#"{"success": true}"#));
        server.answer("/error-null", json(r#"{"success": "fine", "error": null}"#));
        server.answer("/error-string", json(r#"{"error": "Card declined"}"#));
        server.answer("/error-object", json(r#"{"error": {"code": 42, "message": "quota"}}"#));
        server.answer("/status-500", raw(500, "text/plain", "database down"));
        server.answer("/not-json", raw(200, "text/html", "<html>hello</html>"));
        server.answer("/neither", json(r#"{"result": 1}"#));
        server.answer("/array", json("[1, 2]"));
        server.answer("/empty", raw(200, "text/plain", ""));
        server.answer("/redirect", Arc::new(|_: &Value| Answer {
            status: 302,
            content_type: "text/plain",
            body: String::new(),
            delay: Duration::ZERO,
            location: Some("/true"),
        }));
        server.answer("/slow", slow(Duration::from_secs(3), json!(true)));
        server
    }

    fn settings() -> WebhookSettings {
        WebhookSettings {
            key: Some(KEY.to_owned()),
            timeout: Duration::from_secs(5),
            ..Default::default()
        }
    }

    /// An HTTPS webhook server with a private-CA certificate, and a client trusting that CA.
    struct Fixture {
        server: WebhookServer,
        client: WebhookClient,
        ca_file: TempFile,
    }

    impl Fixture {
        async fn new() -> Self {
            let pki = Pki::private_ca("cloudrt webhook test CA");
            let ca_file = TempFile::with_contents(pki.ca_pem.as_bytes());
            let server = test_server(Some(&pki)).await;
            let client = WebhookClient::new(WebhookSettings {
                ca_file: Some(ca_file.0.clone()),
                ..settings()
            })
            .unwrap();
            Fixture { server, client, ca_file }
        }

        /// Calls the webhook at `path` with an empty payload.
        async fn call(&self, path: &str) -> Result<Value, WebhookError> {
            self.client.call(&self.server.url(path), &json!({})).await
        }

        /// Notifies the webhook at `path` with an empty payload.
        async fn notify(&self, path: &str) -> Result<(), WebhookError> {
            self.client.notify(&self.server.url(path), &json!({})).await
        }
    }

    #[tokio::test]
    async fn posts_the_payload_as_json_with_the_key() {
        let fixture = Fixture::new().await;
        let payload = json!({
            "master": false,
            "functionName": "helloWorld",
            "installationId": "b7f0c4e2",
            "params": {"text": "héllo \"quoted\" ✓\n", "list": [1, 2.5, null, true], "nested": {}},
        });
        let result = fixture.client.call(&fixture.server.url("/true"), &payload).await.unwrap();
        assert_eq!(result, json!(true));

        let seen = fixture.server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].path, "/true");
        assert_eq!(seen[0].headers.get("content-type").map(String::as_str), Some("application/json"));
        assert_eq!(seen[0].headers.get("x-parse-webhook-key").map(String::as_str), Some(KEY));
        assert_eq!(seen[0].body, payload);
    }

    #[tokio::test]
    async fn notify_posts_too() {
        let fixture = Fixture::new().await;
        let payload = json!({"triggerName": "afterSave", "object": {"className": "Review"}});
        fixture.client.notify(&fixture.server.url("/true"), &payload).await.unwrap();

        let seen = fixture.server.seen();
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].headers.get("x-parse-webhook-key").map(String::as_str), Some(KEY));
        assert_eq!(seen[0].body, payload);
    }

    #[tokio::test]
    async fn no_key_header_without_a_key() {
        let fixture = Fixture::new().await;
        let client = WebhookClient::new(WebhookSettings {
            key: None,
            ca_file: Some(fixture.ca_file.0.clone()),
            ..settings()
        })
        .unwrap();
        client.call(&fixture.server.url("/true"), &json!({})).await.unwrap();
        assert_eq!(fixture.server.seen()[0].headers.get("x-parse-webhook-key"), None);
    }

    #[tokio::test]
    async fn success_answers_give_their_value() {
        let fixture = Fixture::new().await;
        assert_eq!(fixture.call("/value").await.unwrap(), json!({"comment": "short", "stars": 5}));
        assert_eq!(fixture.call("/true").await.unwrap(), json!(true));
        assert_eq!(fixture.call("/error-null").await.unwrap(), json!("fine"));
    }

    #[tokio::test]
    async fn error_answers_carry_the_webhook_message() {
        let fixture = Fixture::new().await;
        match fixture.call("/error-string").await {
            Err(WebhookError::Failed(message)) => assert_eq!(message, "Card declined"),
            other => panic!("expected Failed, got {other:?}"),
        }
        match fixture.call("/error-object").await {
            Err(WebhookError::Failed(message)) => assert_eq!(
                serde_json::from_str::<Value>(&message).unwrap(),
                json!({"code": 42, "message": "quota"})
            ),
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_outside_the_contract_are_bad_answers_naming_the_url() {
        let fixture = Fixture::new().await;
        let cases = [
            ("/status-500", "500 Internal Server Error: database down"),
            ("/not-json", "not JSON"),
            ("/neither", "neither \"success\" nor \"error\""),
            ("/array", "neither \"success\" nor \"error\""),
            ("/empty", "empty body"),
            ("/redirect", "302 Found (redirects are not followed"),
        ];
        for (path, expected) in cases {
            let url = fixture.server.url(path);
            match fixture.client.call(&url, &json!({})).await {
                Err(WebhookError::BadAnswer(message)) => {
                    assert!(message.contains(&url), "{path}: {message}");
                    assert!(message.contains(expected), "{path}: {message}");
                }
                other => panic!("{path}: expected BadAnswer, got {other:?}"),
            }
        }
        // The redirect was not followed: /true was never asked.
        assert!(fixture.server.seen().iter().all(|seen| seen.path != "/true"));
    }

    #[tokio::test]
    async fn a_certificate_from_an_unknown_ca_is_refused_without_the_ca_file() {
        let fixture = Fixture::new().await;
        let url = fixture.server.url("/true");
        let untrusting = WebhookClient::new(settings()).unwrap();
        match untrusting.call(&url, &json!({})).await {
            Err(WebhookError::Transport(message)) => {
                assert!(message.contains(&url), "{message}");
                assert!(message.contains("certificate"), "{message}");
            }
            other => panic!("expected Transport, got {other:?}"),
        }
        assert!(fixture.server.seen().is_empty());

        assert_eq!(fixture.client.call(&url, &json!({})).await.unwrap(), json!(true));
    }

    #[tokio::test]
    async fn allow_insecure_accepts_an_unverified_certificate() {
        let fixture = Fixture::new().await;
        let insecure =
            WebhookClient::new(WebhookSettings { allow_insecure: true, ..settings() }).unwrap();
        let answer = insecure.call(&fixture.server.url("/true"), &json!({})).await.unwrap();
        assert_eq!(answer, json!(true));
    }

    #[tokio::test]
    async fn plain_http_is_refused_unless_allowed() {
        let server = test_server(None).await;
        let url = server.http_url("/true");

        let strict = WebhookClient::new(settings()).unwrap();
        assert!(matches!(strict.check_url(&url), Err(WebhookError::InsecureUrl(_))));
        assert!(matches!(strict.call(&url, &json!({})).await, Err(WebhookError::InsecureUrl(_))));
        assert!(matches!(strict.notify(&url, &json!({})).await, Err(WebhookError::InsecureUrl(_))));
        assert!(server.seen().is_empty());

        let insecure =
            WebhookClient::new(WebhookSettings { allow_insecure: true, ..settings() }).unwrap();
        insecure.check_url(&url).unwrap();
        assert_eq!(insecure.call(&url, &json!({})).await.unwrap(), json!(true));
        assert_eq!(server.seen().len(), 1);
    }

    #[test]
    fn malformed_urls_are_invalid() {
        let client =
            WebhookClient::new(WebhookSettings { allow_insecure: true, ..settings() }).unwrap();
        for url in [
            "",
            "not a url",
            "/relative/path",
            "ftp://localhost/hook",
            "https://",
            "https:///hook",
            "https:hook",
            "https:/hook",
            "http:\\\\hook",
        ] {
            assert!(
                matches!(client.check_url(url), Err(WebhookError::InvalidUrl(_))),
                "{url:?} was accepted"
            );
        }
        client.check_url("https://hooks.example.com:8443/webhook?app=1").unwrap();
        client.check_url("HTTPS://Hooks.Example.com/webhook").unwrap();
    }

    #[tokio::test]
    async fn a_slow_webhook_times_out() {
        let fixture = Fixture::new().await;
        let client = WebhookClient::new(WebhookSettings {
            timeout: Duration::from_millis(300),
            ca_file: Some(fixture.ca_file.0.clone()),
            ..settings()
        })
        .unwrap();
        let url = fixture.server.url("/slow");
        let started = Instant::now();
        let err = client.call(&url, &json!({})).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        assert!(err.is_timeout(), "{err:?}");
        assert_eq!(err.to_string(), format!("webhook {url} did not answer within 0.3 s"));

        assert!(client.notify(&url, &json!({})).await.unwrap_err().is_timeout());
    }

    #[tokio::test]
    async fn notify_ignores_the_body_but_reports_failures() {
        let fixture = Fixture::new().await;
        fixture.notify("/not-json").await.unwrap();
        fixture.notify("/error-string").await.unwrap();
        let err = fixture.notify("/status-500").await.unwrap_err();
        assert!(matches!(err, WebhookError::BadAnswer(_)), "{err:?}");
        assert!(!err.is_timeout());

        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://localhost:{}/gone", closed.local_addr().unwrap().port());
        drop(closed);
        match fixture.client.notify(&url, &json!({})).await {
            Err(WebhookError::Transport(message)) => assert!(message.contains(&url), "{message}"),
            other => panic!("expected Transport, got {other:?}"),
        }
    }

    #[test]
    fn an_unusable_ca_file_is_a_clear_error() {
        let missing = std::env::temp_dir().join("cloudrt-webhook-test-no-such-ca.pem");
        let err =
            WebhookClient::new(WebhookSettings { ca_file: Some(missing.clone()), ..settings() })
                .unwrap_err();
        assert!(
            matches!(&err, WebhookError::CaFile(message) if message.contains(&missing.display().to_string())),
            "{err:?}"
        );

        let not_pem = TempFile::with_contents(b"this is not a certificate\n");
        let err =
            WebhookClient::new(WebhookSettings { ca_file: Some(not_pem.0.clone()), ..settings() })
                .unwrap_err();
        assert!(
            matches!(&err, WebhookError::CaFile(message) if message.contains("no PEM certificate")),
            "{err:?}"
        );
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_refused() {
        let err = WebhookClient::new(WebhookSettings {
            key: Some("line\nbreak".to_owned()),
            ..settings()
        })
        .unwrap_err();
        assert!(matches!(err, WebhookError::InvalidKey(_)), "{err:?}");
    }

    #[test]
    fn settings_debug_hides_the_key() {
        let text = format!("{:?}", settings());
        assert!(!text.contains(KEY), "{text}");
    }
}
