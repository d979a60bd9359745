//! The `serve` configuration: flags, their environment variables and defaults, validated once
//! at start-up so the rest of the program can trust every value.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::auth::ip_list::{IpList, IpListError};
use crate::hooks::client::WebhookSettings;

/// Calls in flight per worker by default: far more than a slow upstream at a few thousand calls
/// per second keeps waiting (64 connections × 20 ms is 64), and each costs only its own state.
const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Most calls in flight per worker accepted: past it a typo, not a setting (each call in flight
/// holds its request, its JS state and its answer channel).
const MAX_MAX_IN_FLIGHT: usize = 100_000;

/// Most script log lines kept: at [`crate::script_log::MAX_MESSAGE_BYTES`] each, a bound on
/// the log's memory and disk, not only a count.
const MAX_LOG_RETENTION: usize = 1_000_000;

/// Flags of `cloudrt serve`. Each flag can also come from `CLOUDRT_<NAME>`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory holding main.js; its parent is the project root `require('cloud/…')` resolves from.
    #[arg(default_value = "./cloud", env = "CLOUDRT_CLOUD_DIR")]
    pub cloud_dir: PathBuf,

    /// Address to listen on.
    #[arg(long, env = "CLOUDRT_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on; 0 picks a free port (the chosen one is printed).
    #[arg(long, env = "CLOUDRT_PORT", default_value_t = 1337)]
    pub port: u16,

    /// Mount path of the Parse API. `/1` is always served too, as Parse.com did.
    #[arg(long, env = "CLOUDRT_MOUNT", default_value = "/parse")]
    pub mount: String,

    /// Application id every request must carry.
    #[arg(long, env = "CLOUDRT_APP_ID")]
    pub app_id: String,

    /// Master key: bypasses ACLs and unlocks jobs, hooks and schema.
    #[arg(long, env = "CLOUDRT_MASTER_KEY")]
    pub master_key: String,

    /// When set, non-master requests must carry it as REST API, JavaScript or client key.
    #[arg(long, env = "CLOUDRT_CLIENT_KEY")]
    pub client_key: Option<String>,

    /// Number of JavaScript workers (one warm runtime each). Default: number of cores.
    #[arg(long, env = "CLOUDRT_WORKERS")]
    pub workers: Option<usize>,

    /// Deadline of one cloud function call, in seconds (Parse.com: 15).
    #[arg(long, env = "CLOUDRT_FUNCTION_TIMEOUT", default_value_t = 15.0)]
    pub function_timeout: f64,

    /// Deadline of one trigger (beforeSave …), in seconds (Parse.com: 3).
    #[arg(long, env = "CLOUDRT_TRIGGER_TIMEOUT", default_value_t = 3.0)]
    pub trigger_timeout: f64,

    /// Largest `limit` a query may ask for.
    #[arg(long, env = "CLOUDRT_MAX_LIMIT", default_value_t = 1000)]
    pub max_limit: usize,

    /// Time one query (with its subqueries) may scan, in seconds; past it the query stops with
    /// code 124.
    #[arg(long, env = "CLOUDRT_QUERY_TIMEOUT", default_value_t = 30.0)]
    pub query_timeout: f64,

    /// Largest answer one query or get may build, in bytes of JSON; past it the request gets
    /// 413 with code 155.
    #[arg(long, env = "CLOUDRT_MAX_RESPONSE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_response_bytes: usize,

    /// Let clients without the master key create classes by saving objects to them.
    #[arg(long, env = "CLOUDRT_ALLOW_CLIENT_CLASS_CREATION")]
    pub allow_client_class_creation: bool,

    /// Run time allowed to one background job, in seconds (Parse.com: 15 minutes).
    #[arg(long, env = "CLOUDRT_JOB_TIMEOUT", default_value_t = 900.0)]
    pub job_timeout: f64,

    /// Jobs that may run at once; a job started beyond it fails at once. Each running job holds
    /// a JavaScript worker of its own, apart from the function workers.
    #[arg(long, env = "CLOUDRT_MAX_CONCURRENT_JOBS", default_value_t = 2)]
    pub max_concurrent_jobs: usize,

    /// Lines of cloud code output (console.*, request.log.*, handler failures) the script log
    /// keeps, newest first, for `GET /scriptlog`, the dashboard's Logs page and `cloudrt logs`.
    #[arg(long, env = "CLOUDRT_LOG_RETENTION", default_value_t = 10_000)]
    pub log_retention: usize,

    /// Length of a schedule "minute" in seconds. Only tests shorten it.
    #[arg(long, env = "CLOUDRT_MINUTE_SECONDS", default_value_t = 60.0, hide = true)]
    pub minute_seconds: f64,

    /// Sent to webhooks as `X-Parse-Webhook-Key`, so they can tell the calls are ours.
    #[arg(long, env = "CLOUDRT_WEBHOOK_KEY")]
    pub webhook_key: Option<String>,

    /// Time a webhook has to answer, in seconds (the seed: 30).
    #[arg(long, env = "CLOUDRT_WEBHOOK_TIMEOUT", default_value_t = 30.0)]
    pub webhook_timeout: f64,

    /// Largest answer read from a webhook, in bytes; a longer one fails the call.
    #[arg(long, env = "CLOUDRT_WEBHOOK_MAX_BODY", default_value_t = crate::hooks::client::DEFAULT_MAX_BODY)]
    pub webhook_max_body: usize,

    /// PEM file of CA certificates to trust for webhooks (for private CAs).
    #[arg(long, env = "CLOUDRT_WEBHOOK_CA_FILE")]
    pub webhook_ca_file: Option<PathBuf>,

    /// DEVELOPMENT ONLY: accept http:// webhooks and invalid certificates.
    #[arg(long, env = "CLOUDRT_ALLOW_INSECURE_WEBHOOKS")]
    pub allow_insecure_webhooks: bool,

    /// Heap one JavaScript runtime may use, in MB; a call past it is stopped with an error.
    #[arg(long, env = "CLOUDRT_HEAP_LIMIT_MB", default_value_t = 512)]
    pub heap_limit_mb: usize,

    /// Timeout of one `Parse.Cloud.httpRequest`, in seconds (Parse.com: 60).
    #[arg(long, env = "CLOUDRT_HTTP_TIMEOUT", default_value_t = 60.0)]
    pub http_timeout: f64,

    /// Largest response body `Parse.Cloud.httpRequest` reads, in bytes.
    #[arg(long, env = "CLOUDRT_HTTP_MAX_BODY", default_value_t = 32 * 1024 * 1024)]
    pub http_max_body: usize,

    /// Cloud code calls one worker runs at once. A call awaiting something (an httpRequest, a
    /// webhook, a save, a timer) leaves the thread to the others; past this many, calls wait
    /// in the queue (--max-queue).
    #[arg(long, env = "CLOUDRT_MAX_IN_FLIGHT", default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,

    /// Reload the cloud code when a file under the cloud directory changes (SIGHUP reloads it
    /// with or without this flag). New calls run the new code; calls in flight finish on the
    /// old; code that does not load leaves the old serving.
    #[arg(long, env = "CLOUDRT_WATCH")]
    pub watch: bool,

    /// Calls that may wait for a free worker before new ones are refused with code 155.
    #[arg(long, env = "CLOUDRT_MAX_QUEUE", default_value_t = 4096)]
    pub max_queue: usize,

    /// Largest request body accepted, in bytes (Parse Server's default is 20 MB).
    #[arg(long, env = "CLOUDRT_MAX_BODY", default_value_t = 20 * 1024 * 1024)]
    pub max_body: usize,

    /// Seconds a client has to send a request's headers, from its connection or its first byte.
    #[arg(long, env = "CLOUDRT_HEADER_TIMEOUT", default_value_t = 10.0)]
    pub header_timeout: f64,

    /// Seconds a client has to send a request's whole body once its headers are in (else 408).
    #[arg(long, env = "CLOUDRT_BODY_TIMEOUT", default_value_t = 30.0)]
    pub body_timeout: f64,

    /// Seconds a keep-alive connection may stay open with no request before it is closed.
    #[arg(long, env = "CLOUDRT_IDLE_TIMEOUT", default_value_t = 60.0)]
    pub idle_timeout: f64,

    /// Open connections at most; when full the longest-idle one is closed to make room.
    /// Lowered at start to what the file-descriptor limit allows.
    #[arg(long, env = "CLOUDRT_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Largest body read before a request is authenticated, when its headers carry no
    /// application id (the JS SDK's text/plain form, whose credentials are in the body).
    #[arg(long, env = "CLOUDRT_MAX_UNAUTHENTICATED_BODY", default_value_t = 4 * 1024 * 1024)]
    pub max_unauthenticated_body: usize,

    /// Bytes of request bodies all requests in flight may hold together; a body past it is
    /// refused at once (429 / code 155) instead of being read.
    #[arg(long, env = "CLOUDRT_MAX_BODY_MEMORY", default_value_t = 256 * 1024 * 1024)]
    pub max_body_memory: usize,

    /// Addresses (IPs and CIDRs, comma-separated) the master key is accepted from, as Parse
    /// Server's `masterKeyIps`; `0.0.0.0/0,::/0` allows every address.
    #[arg(long, env = "CLOUDRT_MASTER_KEY_IPS", default_value = "127.0.0.1,::1")]
    pub master_key_ips: String,

    /// Where objects, users, jobs, hooks and files are stored (default: `.cloudrt` beside the
    /// cloud dir).
    #[arg(long, env = "CLOUDRT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Memory for stored objects, in MB: decoded objects recently read or written plus sled's
    /// page cache. Objects live on disk; this bounds how many stay in memory, not how many the
    /// store holds (ignored with --database-uri).
    #[arg(long, env = "CLOUDRT_CACHE_MB", default_value_t = 64)]
    pub cache_mb: usize,

    /// Index, in the background, a field that queries of a large class keep scanning, as
    /// hosted Parse did (`on` or `off`; at most a few per class, listed as `auto_<field>`).
    #[arg(long, env = "CLOUDRT_AUTO_INDEX", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    pub auto_index: bool,

    /// Store objects in PostgreSQL, in Parse Server's own tables (`postgres://user@host/db`),
    /// instead of the data directory; files stay in the data directory.
    #[arg(long, env = "CLOUDRT_DATABASE_URI")]
    pub database_uri: Option<String>,

    /// Largest file `POST /files/:name` stores, in bytes (Parse Server's `maxUploadSize`).
    #[arg(long, env = "CLOUDRT_MAX_FILE_SIZE", default_value_t = 20 * 1024 * 1024)]
    pub max_file_size: u64,

    /// Let callers with neither a session nor the master key upload files (Parse Server's
    /// `fileUpload.enableForPublic`, off by default as there).
    #[arg(long, env = "CLOUDRT_FILE_UPLOAD_PUBLIC")]
    pub file_upload_public: bool,

    /// The server's address as clients reach it (`https://example.com/parse`), used in file
    /// URLs (Parse Server's `publicServerURL`); default: the request's `Host` and the mount.
    #[arg(long, env = "CLOUDRT_PUBLIC_SERVER_URL")]
    pub public_server_url: Option<String>,

    /// Where password-reset and e-mail verification messages go: each is POSTed there as JSON
    /// (`{kind, to, subject, text, link, username, appName}`) for the app's mailer to send.
    /// Without it or --smtp-url those routes answer an error.
    #[arg(long, env = "CLOUDRT_EMAIL_WEBHOOK", conflicts_with = "smtp_url")]
    pub email_webhook: Option<String>,

    /// Send those messages through this SMTP server instead: `smtp://host:port` (plain, or
    /// upgraded with `?tls=required`), `smtps://host:465` (TLS from the start), credentials as
    /// `smtp://user:password@host`.
    #[arg(long, env = "CLOUDRT_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The sender of e-mails sent over --smtp-url (Parse's mail adapters' `fromAddress`), as
    /// `address` or `Name <address>`.
    #[arg(long, env = "CLOUDRT_EMAIL_FROM", default_value = "noreply@localhost")]
    pub email_from: String,

    /// Mail a verification link when a user signs up with an e-mail or changes it, and store
    /// `emailVerified: false` until the link is followed (Parse Server's `verifyUserEmails`).
    /// Needs --email-webhook or --smtp-url.
    #[arg(long, env = "CLOUDRT_VERIFY_USER_EMAILS")]
    pub verify_user_emails: bool,

    /// With --verify-user-emails: a user whose e-mail is not verified cannot log in (205), and
    /// signing up answers no session token (Parse Server's `preventLoginWithUnverifiedEmail`).
    #[arg(long, env = "CLOUDRT_PREVENT_LOGIN_WITH_UNVERIFIED_EMAIL", requires = "verify_user_emails")]
    pub prevent_login_with_unverified_email: bool,

    /// The app's name in e-mails (Parse Server's `appName`).
    #[arg(long, env = "CLOUDRT_APP_NAME", default_value = "cloudrt")]
    pub app_name: String,

    /// Refuse a repeated `X-Parse-Request-Id` (code 159) on the writes of
    /// --idempotency-paths within --idempotency-ttl (Parse Server's `idempotencyOptions`).
    #[arg(long, env = "CLOUDRT_IDEMPOTENCY")]
    pub idempotency: bool,

    /// Routes (regular expressions matched from the start of the path below the mount,
    /// comma-separated) whose POST and PUT requests --idempotency covers.
    #[arg(long, env = "CLOUDRT_IDEMPOTENCY_PATHS", default_value = "functions/.*,jobs/.*,classes/.*,users,installations")]
    pub idempotency_paths: String,

    /// Seconds a request id is remembered (Parse Server's default: 300).
    #[arg(long, env = "CLOUDRT_IDEMPOTENCY_TTL", default_value_t = 300.0)]
    pub idempotency_ttl: f64,
}

/// A configuration error found before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cloud directory {0} does not exist or is not a directory")]
    MissingCloudDir(PathBuf),
    #[error("cloud directory {0} has no main.js")]
    MissingMain(PathBuf),
    #[error("--mount must start with '/' and name a path, got {0:?}")]
    BadMount(String),
    #[error("--{0} must be a positive number of seconds")]
    BadTimeout(&'static str),
    #[error("--workers must be at least 1")]
    NoWorkers,
    #[error("--max-in-flight must be between 1 and {MAX_MAX_IN_FLIGHT} calls per worker, got {0}")]
    BadMaxInFlight(usize),
    #[error("--max-concurrent-jobs must be at least 1")]
    NoJobWorkers,
    #[error("--log-retention must be 1 to 1000000 lines")]
    BadLogRetention,
    #[error("--app-id and --master-key must not be empty")]
    EmptyKey,
    #[error("--{0} must be at least 1")]
    ZeroLimit(&'static str),
    #[error("--max-connections must be at least 1")]
    NoConnections,
    #[error("--max-body-memory ({memory} bytes) must be at least --max-body ({body} bytes)")]
    BodyMemoryBelowBody { memory: usize, body: usize },
    #[error("--master-key-ips: {0}")]
    BadMasterKeyIps(#[from] IpListError),
    #[error("--max-response-bytes must be at least {MIN_RESPONSE_BYTES} (one small object)")]
    TinyResponses,
    #[error("--max-file-size must be between 1 byte and {MAX_FILE_SIZE} bytes")]
    BadFileSize,
    #[error("--public-server-url must be an http:// or https:// URL, got {0:?}")]
    BadPublicServerUrl(String),
    #[error("--email-webhook must be an http:// or https:// URL, got {0:?}")]
    BadEmailWebhook(String),
    #[error("--smtp-url must be an smtp:// or smtps:// URL, got {0:?}: {1}")]
    BadSmtpUrl(String, String),
    #[error("--email-from must be an e-mail address or `Name <address>`, got {0:?}")]
    BadEmailFrom(String),
    #[error("--verify-user-emails needs a mailer: --email-webhook or --smtp-url")]
    VerificationWithoutMailer,
    #[error("--idempotency-paths: {0:?} is not a regular expression: {1}")]
    BadIdempotencyPath(String, regex::Error),
    #[error("--database-uri must be a postgres:// or postgresql:// URI")]
    BadDatabaseUri,
}

/// Largest `--max-file-size`: 16 GiB, past which a single upload is not a file but a disk.
const MAX_FILE_SIZE: u64 = 16 << 30;

/// Smallest `--max-response-bytes`: below it even one ordinary object could not be answered.
const MIN_RESPONSE_BYTES: usize = 1024;

/// Validated settings of a running server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub cloud_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub mount: String,
    pub keys: Keys,
    pub workers: usize,
    pub max_in_flight: usize,
    /// `--watch`: reload the cloud code when its files change.
    pub watch: bool,
    pub function_timeout: Duration,
    pub trigger_timeout: Duration,
    pub http_timeout: Duration,
    pub http_max_body: usize,
    pub heap_limit: usize,
    pub job_timeout: Duration,
    pub webhooks: WebhookSettings,
    pub max_concurrent_jobs: usize,
    pub log_retention: usize,
    pub minute: Duration,
    pub max_limit: usize,
    pub query_timeout: Duration,
    pub max_response_bytes: usize,
    pub allow_client_class_creation: bool,
    pub max_queue: usize,
    pub connections: ConnectionLimits,
    pub bodies: BodyLimits,
    pub data_dir: PathBuf,
    /// Bytes the sled store keeps in memory (--cache-mb).
    pub cache_bytes: usize,
    /// `--auto-index on|off`: index fields that queries keep scanning.
    pub auto_index: bool,
    /// PostgreSQL instead of the sled store in `data_dir`.
    pub database_uri: Option<String>,
    pub files: FileSettings,
    pub email: EmailSettings,
    /// Set by --idempotency.
    pub idempotency: Option<IdempotencySettings>,
}

/// Where the password-reset and verification e-mails go, and whether sign-ups are verified.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// None: those routes answer that no mailer is configured.
    pub mailer: Option<Mailer>,
    pub app_name: String,
    pub verify_user_emails: bool,
    pub prevent_login_with_unverified_email: bool,
}

/// How a message leaves the server.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// POSTed as JSON to the app's own mailer.
    Webhook(String),
    /// Sent over SMTP from `from`; the URL was checked at start-up.
    Smtp { url: String, from: lettre::message::Mailbox },
}

/// Which requests are deduplicated by their `X-Parse-Request-Id`, and for how long.
#[derive(Debug, Clone)]
pub struct IdempotencySettings {
    /// Each anchored at the start of the route.
    pub paths: Vec<regex::Regex>,
    pub ttl: Duration,
}

/// Parse files: how large, who may upload, and the URL they are served from.
#[derive(Debug, Clone)]
pub struct FileSettings {
    pub max_file_size: u64,
    pub public_upload: bool,
    /// Without a trailing slash.
    pub public_server_url: Option<String>,
}

/// How long a connection may take over each part of a request, and how many may be open.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    /// As asked for; `http::connections` lowers it to what the descriptor limit allows.
    pub max_connections: usize,
}

/// What request bodies may cost before and after the caller is known.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    pub max_body: usize,
    pub max_unauthenticated_body: usize,
    pub max_body_memory: usize,
    pub timeout: Duration,
}

/// The application's credentials, checked on every request.
#[derive(Debug, Clone)]
pub struct Keys {
    pub app_id: String,
    pub master_key: String,
    pub client_key: Option<String>,
    /// Peers the master key is accepted from.
    pub master_key_ips: IpList,
}

impl ServeArgs {
    pub fn validate(self) -> Result<ServeConfig, ConfigError> {
        if !self.cloud_dir.is_dir() {
            return Err(ConfigError::MissingCloudDir(self.cloud_dir));
        }
        let cloud_dir = self
            .cloud_dir
            .canonicalize()
            .map_err(|_| ConfigError::MissingCloudDir(self.cloud_dir.clone()))?;
        if !cloud_dir.join("main.js").is_file() {
            return Err(ConfigError::MissingMain(cloud_dir));
        }
        let mount = self.mount.trim_end_matches('/').to_string();
        if !mount.starts_with('/') || mount.len() < 2 {
            return Err(ConfigError::BadMount(self.mount));
        }
        let function_timeout = positive_seconds(self.function_timeout, "function-timeout")?;
        let trigger_timeout = positive_seconds(self.trigger_timeout, "trigger-timeout")?;
        let http_timeout = positive_seconds(self.http_timeout, "http-timeout")?;
        let job_timeout = positive_seconds(self.job_timeout, "job-timeout")?;
        let webhooks = WebhookSettings {
            key: self.webhook_key.filter(|k| !k.is_empty()),
            timeout: positive_seconds(self.webhook_timeout, "webhook-timeout")?,
            allow_insecure: self.allow_insecure_webhooks,
            ca_file: self.webhook_ca_file,
            max_body: self.webhook_max_body,
        };
        if self.webhook_max_body == 0 {
            return Err(ConfigError::ZeroLimit("webhook-max-body"));
        }
        let minute = positive_seconds(self.minute_seconds, "minute-seconds")?;
        let query_timeout = positive_seconds(self.query_timeout, "query-timeout")?;
        if self.max_response_bytes < MIN_RESPONSE_BYTES {
            return Err(ConfigError::TinyResponses);
        }
        if self.max_concurrent_jobs == 0 {
            return Err(ConfigError::NoJobWorkers);
        }
        if !(1..=MAX_LOG_RETENTION).contains(&self.log_retention) {
            return Err(ConfigError::BadLogRetention);
        }
        let workers = self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        });
        if workers == 0 {
            return Err(ConfigError::NoWorkers);
        }
        if !(1..=MAX_MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            return Err(ConfigError::BadMaxInFlight(self.max_in_flight));
        }
        if self.app_id.is_empty() || self.master_key.is_empty() {
            return Err(ConfigError::EmptyKey);
        }
        if self.max_connections == 0 {
            return Err(ConfigError::NoConnections);
        }
        if self.max_body_memory < self.max_body {
            return Err(ConfigError::BodyMemoryBelowBody { memory: self.max_body_memory, body: self.max_body });
        }
        let master_key_ips = IpList::parse(&self.master_key_ips)?;
        let connections = ConnectionLimits {
            header_timeout: positive_seconds(self.header_timeout, "header-timeout")?,
            body_timeout: positive_seconds(self.body_timeout, "body-timeout")?,
            idle_timeout: positive_seconds(self.idle_timeout, "idle-timeout")?,
            max_connections: self.max_connections,
        };
        let bodies = BodyLimits {
            max_body: self.max_body,
            max_unauthenticated_body: self.max_unauthenticated_body.min(self.max_body),
            max_body_memory: self.max_body_memory,
            timeout: connections.body_timeout,
        };
        if self.max_file_size == 0 || self.max_file_size > MAX_FILE_SIZE {
            return Err(ConfigError::BadFileSize);
        }
        let public_server_url = match self.public_server_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(char::is_whitespace) => {
                return Err(ConfigError::BadPublicServerUrl(url));
            }
            url => url.map(|u| u.trim_end_matches('/').to_string()),
        };
        let files = FileSettings { max_file_size: self.max_file_size, public_upload: self.file_upload_public, public_server_url };
        let is_url = |url: &str| (url.starts_with("http://") || url.starts_with("https://")) && !url.contains(char::is_whitespace);
        let email_webhook = match self.email_webhook.filter(|url| !url.is_empty()) {
            Some(url) if !is_url(&url) => return Err(ConfigError::BadEmailWebhook(url)),
            url => url,
        };
        let mailer = match (email_webhook, self.smtp_url.filter(|url| !url.is_empty())) {
            (Some(url), _) => Some(Mailer::Webhook(url)),
            (None, Some(url)) => {
                if let Err(e) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url) {
                    return Err(ConfigError::BadSmtpUrl(url, e.to_string()));
                }
                let from = self.email_from.parse().map_err(|_| ConfigError::BadEmailFrom(self.email_from.clone()))?;
                Some(Mailer::Smtp { url, from })
            }
            (None, None) => None,
        };
        if self.verify_user_emails && mailer.is_none() {
            return Err(ConfigError::VerificationWithoutMailer);
        }
        let email = EmailSettings {
            mailer,
            app_name: self.app_name,
            verify_user_emails: self.verify_user_emails,
            prevent_login_with_unverified_email: self.prevent_login_with_unverified_email,
        };
        let idempotency = if self.idempotency {
            let mut paths = Vec::new();
            for path in self.idempotency_paths.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let anchored = if path.starts_with('^') { path.to_string() } else { format!("^{path}") };
                paths.push(regex::Regex::new(&anchored).map_err(|e| ConfigError::BadIdempotencyPath(path.to_string(), e))?);
            }
            Some(IdempotencySettings { paths, ttl: positive_seconds(self.idempotency_ttl, "idempotency-ttl")? })
        } else {
            None
        };
        if let Some(uri) = &self.database_uri {
            if !(uri.starts_with("postgres://") || uri.starts_with("postgresql://")) {
                return Err(ConfigError::BadDatabaseUri);
            }
        }
        let data_dir = self.data_dir.unwrap_or_else(|| {
            cloud_dir.parent().unwrap_or(&cloud_dir).join(".cloudrt")
        });
        Ok(ServeConfig {
            cloud_dir,
            host: self.host,
            port: self.port,
            mount,
            keys: Keys {
                app_id: self.app_id,
                master_key: self.master_key,
                client_key: self.client_key.filter(|k| !k.is_empty()),
                master_key_ips,
            },
            workers,
            max_in_flight: self.max_in_flight,
            watch: self.watch,
            function_timeout,
            trigger_timeout,
            http_timeout,
            http_max_body: self.http_max_body,
            heap_limit: self.heap_limit_mb.clamp(16, 1 << 20) << 20,
            job_timeout,
            webhooks,
            max_concurrent_jobs: self.max_concurrent_jobs,
            log_retention: self.log_retention,
            minute,
            max_limit: self.max_limit.max(1),
            query_timeout,
            max_response_bytes: self.max_response_bytes,
            allow_client_class_creation: self.allow_client_class_creation,
            max_queue: self.max_queue.max(1),
            connections,
            bodies,
            data_dir,
            cache_bytes: self.cache_mb.clamp(1, 1 << 20) << 20,
            auto_index: self.auto_index,
            database_uri: self.database_uri,
            files,
            email,
            idempotency,
        })
    }
}

/// Reads an `on`/`off` switch (also `true`/`false`, `1`/`0`, as environment variables say it).
fn on_off(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        other => Err(format!("expected on or off, got {other:?}")),
    }
}

fn positive_seconds(value: f64, flag: &'static str) -> Result<Duration, ConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(ConfigError::BadTimeout(flag))
    }
}
