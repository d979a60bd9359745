//! The connection pool to PostgreSQL and the synchronous door into it.
//!
//! [`Store`](crate::store::Store) is synchronous and is called from blocking threads, but also
//! from code that runs inside the HTTP runtime (start-up checks, the scheduler). A synchronous
//! client that drives its own runtime with `block_on` panics there, so the connections live on
//! threads of their own: each call is spawned onto one and the caller waits on a channel,
//! which works from any thread. The async client (tokio-postgres, pooled by deadpool-postgres,
//! both widely used and kept up) also lets many store calls share a few connections.
//!
//! Each of those threads ([`Lane`]) runs a single-threaded runtime with a pool of its own, so a
//! statement and the task driving its connection's socket run on the same thread: a call costs
//! one hand-off there and one back. (On one runtime of several threads, the statement's task
//! and the connection's task woke each other across threads, two more hand-offs a statement.)

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::store::StoreError;

/// Connections kept open at most, over all lanes. Statements are short; a few connections
/// serve many workers.
const MAX_CONNECTIONS: usize = 16;
/// Threads driving the connections. Each runs many statements at once (they wait on the
/// database, not on the thread); two keep one slow poll from delaying every statement.
const LANES: usize = 2;
/// How long a call waits for a free or new connection before it fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A call whose connection broke is tried once more on a fresh one after this pause, so a
/// database restart between two requests is not seen by clients.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// The first statement of a transaction whose statements may rightly wait longer than a query
/// may run: DDL waits for the lock every node takes (see `node.rs`) and rewrites tables.
pub const NO_STATEMENT_TIMEOUT: &str = "SET LOCAL statement_timeout = 0";

/// The lanes, and what every connection is opened with.
pub struct Connections {
    lanes: Vec<Lane>,
    /// The lane the next call goes to (calls take turns).
    next: AtomicUsize,
    /// How to connect, for the one connection that is not pooled (see `node.rs`).
    config: tokio_postgres::Config,
    /// `--query-timeout`, every pooled connection's `statement_timeout`.
    statement_timeout: Duration,
}

/// Why one statement failed: the database answered with an error, or could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("cannot reach PostgreSQL: {0}")]
    Pool(#[from] PoolError),
}

impl SqlError {
    /// The SQLSTATE the server answered, if it answered.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            SqlError::Database(e) => e.code(),
            SqlError::Pool(_) => None,
        }
    }

    /// Whether the connection, not the statement, failed (worth a retry on a new one): it was
    /// closed, never answered, was cut by the server (shutdown, `pg_terminate_backend`), or the
    /// server refuses connections for now.
    fn connection_lost(&self) -> bool {
        let cut = [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW];
        match self {
            SqlError::Database(e) => match e.code() {
                Some(code) => cut.contains(code) || code.code().starts_with("08"),
                None => e.is_closed() || e.as_db_error().is_none(),
            },
            SqlError::Pool(_) => true,
        }
    }
}

impl SqlError {
    /// The store's error for this one, `timeout` being the statement timeout that cancels a
    /// statement (SQLSTATE 57014, which nothing else here provokes).
    fn into_store_error(self, timeout: Duration) -> StoreError {
        match self.code() {
            Some(code) if *code == SqlState::QUERY_CANCELED => StoreError::TimedOut(timeout),
            _ => self.into(),
        }
    }
}

impl From<SqlError> for StoreError {
    fn from(error: SqlError) -> StoreError {
        match error.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreError::Duplicate,
            // The chain, since the pool's own message ends at "db error" and the server's
            // reason (too many clients, no such database) is its cause.
            _ if error.connection_lost() => StoreError::Unavailable(crate::error::error_chain(&error)),
            _ => StoreError::Io(format!("PostgreSQL: {}", detail(&error))),
        }
    }
}

/// The server's message with its detail, which says which row or column was at fault.
fn detail(error: &SqlError) -> String {
    match error {
        SqlError::Database(e) => match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{}: {detail}", db.message()),
                None => db.message().to_owned(),
            },
            None => e.to_string(),
        },
        SqlError::Pool(e) => crate::error::error_chain(e),
    }
}

impl Connections {
    /// Opens the pool and makes one connection, so that a wrong URI or a stopped server is
    /// reported at start instead of on the first request. Every statement on a pooled
    /// connection is cancelled by PostgreSQL after `statement_timeout` (`--query-timeout`), as a
    /// query on the embedded store stops scanning then; a transaction of DDL lifts it (see
    /// [`NO_STATEMENT_TIMEOUT`]).
    pub fn open(uri: &str, statement_timeout: Duration) -> Result<Connections, StoreError> {
        let mut config: tokio_postgres::Config =
            uri.parse().map_err(|e| StoreError::Io(format!("--database-uri is not a PostgreSQL URI: {e}")))?;
        // Timestamps come back as text in rows; UTC makes their offset always +00:00. A write
        // is acknowledged only once its commit is on disk, whatever the server's default.
        config.options("-c TimeZone=UTC -c synchronous_commit=on");
        config.connect_timeout(CONNECT_TIMEOUT);
        let mut pooled = config.clone();
        // PostgreSQL takes whole milliseconds; 0 would mean no timeout at all.
        let timeout_ms = statement_timeout.as_millis().clamp(1, i32::MAX as u128);
        pooled.options(format!("-c TimeZone=UTC -c synchronous_commit=on -c statement_timeout={timeout_ms}"));
        let lanes = (0..LANES).map(|index| Lane::start(index, &pooled)).collect::<Result<Vec<_>, _>>()?;
        let connections = Connections { lanes, next: AtomicUsize::new(0), config, statement_timeout };
        connections
            .run(|client| async move { client.simple_query("SELECT 1").await.map(drop).map_err(SqlError::from) })
            .map_err(|e| match e {
                StoreError::Unavailable(reason) => StoreError::Unavailable(format!("cannot connect to the database at --database-uri: {reason}")),
                other => other,
            })?;
        Ok(connections)
    }

    /// Runs `work` on a pooled connection and waits for its answer. A call that fails because
    /// its connection broke is tried once more on a new connection.
    pub fn run<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(Object) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, SqlError>> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let lane = self.lane();
        let call = with_retry(lane.pool.clone(), work);
        lane.runtime.spawn(async move {
            let _ = reply.send(call.await);
        });
        let outcome = answer.recv().map_err(|_| StoreError::Io("a PostgreSQL call was dropped".into()))?;
        outcome.map_err(|error| error.into_store_error(self.statement_timeout))
    }

    /// [`Connections::run`] for async callers: the answer is awaited, no thread waits for it.
    pub fn call<T, F, Fut>(&self, work: F) -> impl Future<Output = Result<T, StoreError>> + Send + 'static
    where
        T: Send + 'static,
        F: Fn(Object) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, SqlError>> + Send + 'static,
    {
        let lane = self.lane();
        let answer = lane.runtime.spawn(with_retry(lane.pool.clone(), work));
        let timeout = self.statement_timeout;
        async move {
            let outcome = answer.await.map_err(|_| StoreError::Io("a PostgreSQL call was dropped".into()))?;
            outcome.map_err(|error| error.into_store_error(timeout))
        }
    }
}

/// `work` on a pooled connection; a call that fails because its connection broke is tried
/// once more on a new connection.
async fn with_retry<T, F, Fut>(pool: Pool, work: F) -> Result<T, SqlError>
where
    F: Fn(Object) -> Fut,
    Fut: Future<Output = Result<T, SqlError>>,
{
    let mut outcome = attempt(&pool, &work).await;
    if outcome.as_ref().is_err_and(SqlError::connection_lost) {
        tokio::time::sleep(RETRY_PAUSE).await;
        outcome = attempt(&pool, &work).await;
    }
    outcome
}

impl Connections {
    /// How to open a connection of one's own to the database.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Runs `task` on one of the store's threads, in the background.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.lane().runtime.spawn(task);
    }

    fn lane(&self) -> &Lane {
        &self.lanes[self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len()]
    }
}

/// One thread driving a pool of connections on a runtime of its own.
struct Lane {
    runtime: tokio::runtime::Handle,
    pool: Pool,
    /// Dropped with the store: the thread's runtime then returns, closing its connections.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Lane {
    fn start(index: usize, config: &tokio_postgres::Config) -> Result<Lane, StoreError> {
        let failed = |e: std::io::Error| StoreError::Io(format!("cannot start a PostgreSQL thread: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(failed)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("cloudrt-postgres-{index}"))
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })
            .map_err(failed)?;
        let manager = Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS / LANES)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Io(format!("cannot set up the PostgreSQL pool: {e}")))?;
        Ok(Lane { runtime: handle, pool, _stop: stop })
    }
}

async fn attempt<T, F, Fut>(pool: &Pool, work: &F) -> Result<T, SqlError>
where
    F: Fn(Object) -> Fut,
    Fut: Future<Output = Result<T, SqlError>>,
{
    let client = pool.get().await?;
    work(client).await
}
