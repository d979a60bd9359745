//! Everything `serve` opens before it listens, and the [`Api`] made of it: one constructor for
//! the binary (main.rs) and the in-process test harness, so neither wires the server by hand.
//! Opening comes first and apart so that a bad data directory or a broken main.js is reported
//! before the port is taken; the API is assembled once the port is known (file URLs name it).

use std::sync::Arc;

use super::context::{Api, CodeViewer, JobWorkers};
use super::hooks as hooks_api;
use super::idempotency::Idempotency;
use super::{reload, ApiHost};
use crate::config::ServeConfig;
use crate::data::accounts::Accounts;
use crate::data::{ids, DataSettings, Database};
use crate::hooks::client::WebhookClient;
use crate::registry::{Registry, Webhooks};
use crate::runtime::code_snapshot::CodeSnapshot;
use crate::runtime::loader::ModuleRoot;
use crate::runtime::{HostSlot, HttpSettings, Loaded, Pool, PoolConfig, Releases};
use crate::script_log::capture::Capture;
use crate::script_log::ScriptLog;
use crate::store::files::{FileStore, SharedFiles};
use crate::store::Store;

/// The server's parts, opened and loaded, not yet serving.
pub struct Opened {
    db: Database,
    files: FileStore,
    webhooks: WebhookClient,
    webhook_registrations: Webhooks,
    pool: Pool,
    job_pool: Pool,
    loaded: Loaded,
    snapshot: CodeSnapshot,
    host: HostSlot,
    script_log: Arc<ScriptLog>,
}

impl Opened {
    /// Opens the data over `store`, the files, the script log (attached to `capture` before
    /// main.js loads, so what it prints at load is kept) and the webhook client, reads the
    /// webhook registrations and loads main.js on both pools. The error is the message `serve`
    /// exits with.
    pub fn open(config: &ServeConfig, store: Arc<dyn Store>, shared_files: Option<Arc<dyn SharedFiles>>, capture: &Capture) -> Result<Opened, String> {
        let settings = DataSettings {
            max_limit: config.max_limit,
            allow_client_class_creation: config.allow_client_class_creation,
            query_timeout: config.query_timeout,
            max_response_bytes: config.max_response_bytes,
            auto_index: config.auto_index,
        };
        let db = Database::open(store, settings).map_err(|e| format!("cannot read the data in {}: {e}", config.data_dir.display()))?;
        let files = FileStore::open(&config.data_dir, shared_files).map_err(|e| format!("cannot open the files in {}: {e}", config.data_dir.display()))?;
        let script_log = Arc::new(ScriptLog::open(&config.data_dir, config.log_retention).map_err(|e| e.to_string())?);
        capture.attach(script_log.clone());
        let webhooks = WebhookClient::new(config.webhooks.clone()).map_err(|e| format!("webhooks: {e}"))?;
        if config.webhooks.allow_insecure {
            eprintln!("cloudrt: WARNING: --allow-insecure-webhooks is on: webhooks may use http:// and invalid certificates. Never use it in production.");
        }
        let webhook_registrations =
            hooks_api::load(&db).map_err(|e| format!("cannot read the webhook registrations: {}", e.message))?;
        let host = HostSlot::default();
        let pool_config = PoolConfig {
            root: ModuleRoot::new(config.cloud_dir.clone()),
            workers: config.workers,
            max_queue: config.max_queue,
            host: host.clone(),
            http: HttpSettings { timeout: config.http_timeout, max_body: config.http_max_body },
            heap_limit: config.heap_limit,
            max_in_flight: config.max_in_flight,
        };
        let jobs_config = PoolConfig {
            workers: config.max_concurrent_jobs,
            max_queue: config.max_concurrent_jobs,
            // Each running job holds a worker of its own (--max-concurrent-jobs).
            max_in_flight: 1,
            ..pool_config.clone()
        };
        let started = Pool::start(pool_config).and_then(|(pool, handlers)| Ok((pool, handlers, Pool::start(jobs_config)?.0)));
        let (pool, loaded, job_pool) =
            started.map_err(|e| format!("cannot load {}: {e}", config.cloud_dir.join("main.js").display()))?;
        reload::print_handlers(&loaded.handlers);
        let snapshot = CodeSnapshot::scan(&config.cloud_dir, 1, ids::now_iso());
        Ok(Opened { db, files, webhooks, webhook_registrations, pool, job_pool, loaded, snapshot, host, script_log })
    }

    /// The API over what was opened, installed as the runtime's host (cloud code's data
    /// requests reach it from then on). `config` is final here: its port is the one listened on.
    pub fn into_api(self, config: ServeConfig) -> Arc<Api> {
        let api = Arc::new(Api {
            idempotency: config.idempotency.clone().map(Idempotency::new),
            installations: Default::default(),
            registry: Registry::new(&self.loaded.handlers, self.webhook_registrations),
            releases: Releases::new(self.loaded),
            webhooks: self.webhooks,
            config,
            db: self.db,
            files: self.files,
            accounts: Accounts,
            pool: self.pool,
            jobs: JobWorkers::new(self.job_pool),
            code_viewer: CodeViewer::new(self.snapshot),
            script_log: self.script_log,
        });
        self.host.install(Arc::new(ApiHost(api.clone())));
        api
    }
}
