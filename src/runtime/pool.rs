//! The pool: N worker threads behind one bounded queue, each running up to `max_in_flight`
//! calls at once. Callers wait for a reply on a oneshot channel; when the queue is full they
//! get [`CloudError::Busy`] at once instead of hanging.

use super::budget::HttpSettings;
use super::host::{HostSlot, Invoker};
use super::loader::ModuleRoot;
use super::worker::{self, WorkerSetup};
use super::{BootError, Handlers};

/// How to build the pool.
#[derive(Clone)]
pub struct PoolConfig {
    pub root: ModuleRoot,
    pub workers: usize,
    pub max_queue: usize,
    /// Filled in by the API layer once it exists; cloud code reaches the data API through it.
    pub host: HostSlot,
    pub http: HttpSettings,
    /// Heap limit of each runtime, in bytes.
    pub heap_limit: usize,
    /// Top-level calls one worker runs at once (`--max-in-flight`); calls awaiting something
    /// leave the thread to the others, so this bounds waiting calls, not threads.
    pub max_in_flight: usize,
}

/// A handle to the running workers; cheap to clone, shared by every HTTP connection.
#[derive(Clone)]
pub struct Pool {
    invoker: Invoker,
}

impl Pool {
    /// Starts the workers and waits until each has loaded main.js. Returns the handlers main.js
    /// registered, or the first load error (file, line, message).
    pub fn start(config: PoolConfig) -> Result<(Pool, Handlers), BootError> {
        let (queue, inbox) = async_channel::bounded(config.max_queue);
        let mut booted = Vec::with_capacity(config.workers);
        for index in 0..config.workers {
            let (ready, boot) = std::sync::mpsc::channel();
            let setup = WorkerSetup {
                index,
                root: config.root.clone(),
                host: config.host.clone(),
                http: config.http.clone(),
                heap_limit: config.heap_limit,
                max_in_flight: config.max_in_flight,
                inbox: inbox.clone(),
            };
            std::thread::Builder::new()
                .name(format!("cloudrt-js-{index}"))
                .spawn(move || worker::run(setup, ready))
                .map_err(|e| BootError(format!("cannot start worker thread: {e}")))?;
            booted.push(boot);
        }
        let mut handlers = None;
        for boot in booted {
            let loaded = boot
                .recv()
                .map_err(|_| BootError("a worker stopped while loading main.js".into()))??;
            handlers.get_or_insert(loaded);
        }
        Ok((Pool { invoker: Invoker::Pool(queue) }, handlers.unwrap_or_default()))
    }

    /// Sends calls to whichever worker is free.
    pub fn invoker(&self) -> &Invoker {
        &self.invoker
    }
}
