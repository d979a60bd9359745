//! Everything that touches deno_core: a pool of worker threads, each owning one warm
//! `JsRuntime` with the cloud code loaded once (ENGINE.md: QuickJS cannot churn runtimes).
//! This layer knows nothing of HTTP: it takes a handler name and a request as JSON, and gives
//! back the encoded result or a typed [`CloudError`].

mod budget;
mod host;
pub mod loader;
mod ops;
mod pool;
mod trigger;
pub mod code_snapshot;
pub mod release;
pub mod watch;
mod watchdog;
mod worker;

pub use budget::HttpSettings;
pub use host::{Host, HostError, HostFuture, HostRequest, HostSlot, Invoker, Target};
pub use pool::{Pool, PoolConfig};
pub use release::{Release, Releases};
pub use trigger::{TriggerKind, TriggerRegistration};

/// What main.js registered, read at start-up and after each reload from the first worker.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Handlers {
    pub functions: Vec<String>,
    pub jobs: Vec<String>,
    pub triggers: Vec<TriggerRegistration>,
}

/// One load of the cloud code on a worker: what main.js registered and the files it ran
/// (relative to the cloud directory, main.js first).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Loaded {
    pub handlers: Handlers,
    pub files: Vec<String>,
}

/// Why a call into cloud code did not produce a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudError {
    /// The handler failed (threw, rejected, or called `response.error`).
    #[error("{message}")]
    Script { code: i32, message: String },
    /// The handler did not finish before its deadline and was stopped.
    #[error("{what} timed out after {seconds} s")]
    Timeout { what: String, seconds: f64 },
    /// The handler's promise is pending and nothing left in the runtime can settle it. The
    /// worker is released at once; the caller still gets the timeout at the deadline, as if
    /// the call had been waited for.
    #[error("{what} can never finish")]
    NeverSettles { what: String },
    /// Every worker is busy and the queue in front of them is full.
    #[error("too many cloud code calls waiting; try again later")]
    Busy,
    /// The engine itself failed (not the script): the worker is gone or the runtime broke.
    #[error("cloud code engine failure: {0}")]
    Engine(String),
}

impl CloudError {
    /// The Parse codes the runtime itself raises, as numbers for JS (from the one table).
    pub const INTERNAL: i32 = crate::error::ErrorCode::INTERNAL_SERVER_ERROR.0;
    pub const TIMEOUT: i32 = crate::error::ErrorCode::TIMEOUT.0;
    pub const SCRIPT_FAILED: i32 = crate::error::ErrorCode::SCRIPT_FAILED.0;
}

/// Start-up failure: the cloud code could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BootError(pub String);
