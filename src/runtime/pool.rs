//! The pool: N worker threads behind one bounded queue. Callers wait for a reply on a
//! oneshot channel; when the queue is full they get [`CloudError::Busy`] at once instead of
//! hanging.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::loader::ModuleRoot;
use super::worker::{self, Call};
use super::{BootError, CloudError, Handlers};

/// How to build the pool.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub root: ModuleRoot,
    pub workers: usize,
    pub max_queue: usize,
}

/// A handle to the running workers; cheap to clone, shared by every HTTP connection.
#[derive(Clone)]
pub struct Pool {
    queue: async_channel::Sender<Call>,
}

impl Pool {
    /// Starts the workers and waits until each has loaded main.js. Returns the handlers main.js
    /// registered, or the first load error (file, line, message).
    pub fn start(config: PoolConfig) -> Result<(Pool, Handlers), BootError> {
        let (queue, inbox) = async_channel::bounded(config.max_queue);
        let mut booted = Vec::with_capacity(config.workers);
        for index in 0..config.workers {
            let (ready, boot) = std::sync::mpsc::channel();
            let root = config.root.clone();
            let inbox = inbox.clone();
            std::thread::Builder::new()
                .name(format!("cloudrt-js-{index}"))
                .spawn(move || worker::run(index, root, inbox, ready))
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
        Ok((Pool { queue }, handlers.unwrap_or_default()))
    }

    /// Runs cloud function `name` with `request` (the JSON request object). Answers the
    /// `{"result":…}` body.
    pub async fn run_function(&self, name: &str, request: String, timeout: Duration) -> Result<String, CloudError> {
        let (reply, answer) = oneshot::channel();
        let call_deadline = Instant::now() + timeout;
        let call = Call {
            name: name.to_string(),
            request,
            deadline: call_deadline,
            timeout,
            reply,
        };
        self.queue.try_send(call).map_err(|e| match e {
            async_channel::TrySendError::Full(_) => CloudError::Busy,
            async_channel::TrySendError::Closed(_) => CloudError::Engine("the workers have stopped".into()),
        })?;
        let deadline = call_deadline;
        match answer.await {
            Ok(Err(CloudError::NeverSettles { what })) => {
                tokio::time::sleep_until(deadline.into()).await;
                Err(CloudError::Timeout { what, seconds: timeout.as_secs_f64() })
            }
            Ok(outcome) => outcome,
            Err(_) => Err(CloudError::Engine("the worker stopped before answering".into())),
        }
    }
}
