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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::runtime::{CloudError, Target};

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// A cloud directory holding `main_js`, removed when the test ends.
    struct CloudDir(std::path::PathBuf);

    impl CloudDir {
        fn new(main_js: &str) -> CloudDir {
            let dir = std::env::temp_dir().join(format!("cloudrt-pool-{}-{}", std::process::id(), crate::data::ids::random_string(8)));
            std::fs::create_dir_all(&dir).unwrap();
            let cloud = CloudDir(dir);
            cloud.write(main_js);
            cloud
        }

        fn write(&self, main_js: &str) {
            std::fs::write(self.0.join("main.js"), main_js).unwrap();
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for CloudDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn start(cloud: &CloudDir, max_queue: usize, max_in_flight: usize) -> (Pool, Loaded) {
        Pool::start(PoolConfig {
            root: ModuleRoot::new(cloud.path().to_path_buf()),
            workers: 1,
            max_queue,
            host: HostSlot::default(),
            http: HttpSettings { timeout: TIMEOUT, max_body: 1 << 20 },
            heap_limit: 64 << 20,
            max_in_flight,
        })
        .unwrap_or_else(|e| panic!("the pool did not start: {e}"))
    }

    async fn call(pool: &Pool, name: &str, params: serde_json::Value, timeout: Duration) -> Result<String, CloudError> {
        let request = serde_json::json!({"params": params, "master": false});
        pool.invoker().run(Target::Function(name.into()), request.to_string(), timeout).await
    }

    #[tokio::test]
    async fn a_call_runs_on_a_worker_and_answers_its_result() {
        let cloud = CloudDir::new("Parse.Cloud.define('add', (request) => request.params.a + request.params.b);");
        let (pool, loaded) = start(&cloud, 8, 4);
        assert_eq!(loaded.handlers.functions, vec!["add".to_string()]);
        assert_eq!(call(&pool, "add", serde_json::json!({"a": 2, "b": 3}), TIMEOUT).await.unwrap(), r#"{"result":5}"#);
        match call(&pool, "nope", serde_json::json!({}), TIMEOUT).await {
            Err(CloudError::Script { code, .. }) => assert_eq!(code, CloudError::SCRIPT_FAILED),
            other => panic!("an unknown function answered {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_instead_of_waiting() {
        let cloud = CloudDir::new("Parse.Cloud.define('wait', () => new Promise((resolve) => setTimeout(() => resolve('done'), 400)));");
        let (pool, _) = start(&cloud, 1, 1);
        let running = tokio::spawn({
            let pool = pool.clone();
            async move { call(&pool, "wait", serde_json::json!({}), TIMEOUT).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { call(&pool, "wait", serde_json::json!({}), TIMEOUT).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(call(&pool, "wait", serde_json::json!({}), TIMEOUT).await, Err(CloudError::Busy)), "one running, one queued: the third is refused");
        assert_eq!(running.await.unwrap().unwrap(), r#"{"result":"done"}"#);
        assert_eq!(queued.await.unwrap().unwrap(), r#"{"result":"done"}"#, "the queued call ran once the worker was free");
    }

    #[tokio::test]
    async fn a_loop_is_stopped_at_its_deadline_and_the_worker_serves_on() {
        let cloud = CloudDir::new("Parse.Cloud.define('spin', () => { while (true) {} });\nParse.Cloud.define('ping', () => 'pong');");
        let (pool, _) = start(&cloud, 8, 4);
        match call(&pool, "spin", serde_json::json!({}), Duration::from_millis(200)).await {
            Err(CloudError::Timeout { .. }) => {}
            other => panic!("a busy loop answered {other:?}"),
        }
        assert_eq!(call(&pool, "ping", serde_json::json!({}), TIMEOUT).await.unwrap(), r#"{"result":"pong"}"#);
    }

    #[tokio::test]
    async fn code_that_fails_to_load_is_not_staged_and_the_old_code_serves() {
        let cloud = CloudDir::new("Parse.Cloud.define('version', () => 1);");
        let (pool, _) = start(&cloud, 8, 4);
        cloud.write("Parse.Cloud.define('version', () => {");
        assert!(pool.stage().await.is_err(), "a syntax error is not staged");
        assert_eq!(call(&pool, "version", serde_json::json!({}), TIMEOUT).await.unwrap(), r#"{"result":1}"#);
        cloud.write("Parse.Cloud.define('version', () => 2);");
        let loaded = pool.stage().await.unwrap();
        assert_eq!(loaded.handlers.functions, vec!["version".to_string()]);
        assert_eq!(call(&pool, "version", serde_json::json!({}), TIMEOUT).await.unwrap(), r#"{"result":1}"#, "staged code waits for the commit");
        pool.commit().await;
        assert_eq!(call(&pool, "version", serde_json::json!({}), TIMEOUT).await.unwrap(), r#"{"result":2}"#);
    }
}
