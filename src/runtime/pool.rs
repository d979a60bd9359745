//! The pool: N worker threads behind one bounded queue, each running up to `max_in_flight`
//! calls at once. Callers wait for a reply on a oneshot channel; when the queue is full they
//! get [`CloudError::Busy`] at once instead of hanging. Each worker also has a control channel
//! of its own, through which the pool reloads the cloud code on every worker in two steps.

use super::budget::HttpSettings;
use super::host::{HostSlot, Invoker};
use super::loader::ModuleRoot;
use super::worker::{self, Control, WorkerSetup};
use super::{BootError, Loaded};

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
    controls: Vec<tokio::sync::mpsc::UnboundedSender<Control>>,
}

impl Pool {
    /// Starts the workers and waits until each has loaded main.js. Returns what main.js
    /// registered, or the first load error (file, line, message).
    pub fn start(config: PoolConfig) -> Result<(Pool, Loaded), BootError> {
        let (queue, inbox) = async_channel::bounded(config.max_queue);
        let mut booted = Vec::with_capacity(config.workers);
        let mut controls = Vec::with_capacity(config.workers);
        for index in 0..config.workers {
            let (ready, boot) = std::sync::mpsc::channel();
            let (orders, control) = tokio::sync::mpsc::unbounded_channel();
            controls.push(orders);
            let setup = WorkerSetup {
                index,
                root: config.root.clone(),
                host: config.host.clone(),
                http: config.http.clone(),
                heap_limit: config.heap_limit,
                max_in_flight: config.max_in_flight,
                inbox: inbox.clone(),
                control,
            };
            std::thread::Builder::new()
                .name(format!("cloudrt-js-{index}"))
                .spawn(move || worker::run(setup, ready))
                .map_err(|e| BootError(format!("cannot start worker thread: {e}")))?;
            booted.push(boot);
        }
        let mut first = None;
        for boot in booted {
            let loaded = boot
                .recv()
                .map_err(|_| BootError("a worker stopped while loading main.js".into()))??;
            first.get_or_insert(loaded);
        }
        Ok((Pool { invoker: Invoker::Pool(queue), controls }, first.unwrap_or_default()))
    }

    /// Every worker loads main.js again beside the code it runs, which keeps serving. Answers
    /// what the new code registered once all have loaded it; if any could not, none keeps it.
    pub async fn stage(&self) -> Result<Loaded, BootError> {
        let mut answers = Vec::with_capacity(self.controls.len());
        for control in &self.controls {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let _ = control.send(Control::Stage(reply));
            answers.push(answer);
        }
        let mut first = None;
        let mut failure = None;
        for answer in answers {
            match answer.await {
                Ok(Ok(loaded)) => {
                    first.get_or_insert(loaded);
                }
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => {
                    failure.get_or_insert(BootError("a worker stopped while loading main.js".into()));
                }
            }
        }
        match failure {
            Some(e) => {
                self.abort();
                Err(e)
            }
            None => Ok(first.unwrap_or_default()),
        }
    }

    /// New calls run the staged code from now on, on every worker; calls in flight finish on
    /// the code they started with. Returns once every worker has switched.
    pub async fn commit(&self) {
        let mut done = Vec::with_capacity(self.controls.len());
        for control in &self.controls {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let _ = control.send(Control::Commit(reply));
            done.push(answer);
        }
        for answer in done {
            let _ = answer.await;
        }
    }

    /// Every worker drops the code it staged.
    pub fn abort(&self) {
        for control in &self.controls {
            let _ = control.send(Control::Abort);
        }
    }

    /// Sends calls to whichever worker is free.
    pub fn invoker(&self) -> &Invoker {
        &self.invoker
    }
}
