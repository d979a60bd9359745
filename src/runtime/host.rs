//! What cloud code may ask of the server, and how the server asks cloud code to run.
//!
//! The runtime sits below the API layer, yet `Parse.Object#save` inside cloud code must reach
//! the same data pipeline as a REST save. The API layer implements [`Host`] and hands it to
//! the runtime after start-up ([`HostSlot`]); the runtime never names the layer above.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::budget::CallId;
use super::{CloudError, TriggerKind};

/// A request from cloud code to the Parse API (`Parse.Object#save`, `Parse.Query#find` …).
#[derive(Debug)]
pub struct HostRequest {
    pub method: String,
    /// Path below the mount: `classes/GameScore/abc`.
    pub path: String,
    /// JSON body (GET options included), or empty.
    pub body: String,
    /// Whose credentials the calling code uses.
    pub auth: CallerAuth,
    /// Runs triggers on the worker that made the request, so a save from cloud code whose
    /// class has a JS trigger never waits for another (possibly busy) worker.
    pub invoker: Invoker,
}

/// The credentials cloud code makes a data request with: its caller's, or the master key
/// (`useMasterKey`), or a session token it was given.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallerAuth {
    #[serde(default)]
    pub master: bool,
    pub session_token: Option<String>,
    pub installation_id: Option<String>,
}

/// A failed host request: a Parse error code and message.
#[derive(Debug, Clone)]
pub struct HostError {
    pub code: i32,
    pub message: String,
}

pub type HostFuture = Pin<Box<dyn Future<Output = Result<String, HostError>>>>;

/// The server side of cloud code's data API.
pub trait Host: Send + Sync + 'static {
    fn request(&self, request: HostRequest) -> HostFuture;
}

/// Where the host is installed once the API layer exists (after the pool has booted).
#[derive(Clone, Default)]
pub struct HostSlot(Arc<OnceLock<Arc<dyn Host>>>);

impl HostSlot {
    pub fn install(&self, host: Arc<dyn Host>) {
        let _ = self.0.set(host);
    }

    pub fn get(&self) -> Option<Arc<dyn Host>> {
        self.0.get().cloned()
    }
}

/// Which handler a call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Function(String),
    /// The `kind` trigger of `class_name` (`@File` for file triggers).
    Trigger { class_name: String, kind: TriggerKind },
    /// A background job run; `job_id` is its `_JobStatus` objectId.
    Job { name: String, job_id: String },
}

impl Target {
    /// How the handler is named in messages and logs.
    pub fn describe(&self) -> String {
        match self {
            Target::Function(name) => format!("Cloud function \"{name}\""),
            Target::Trigger { class_name, kind } => format!("{kind} trigger of {class_name}"),
            Target::Job { name, .. } => format!("Job \"{name}\""),
        }
    }
}

/// One call waiting for a worker.
pub struct Call {
    pub target: Target,
    pub request: String,
    pub deadline: Instant,
    pub timeout: Duration,
    /// The call in flight whose cloud code caused this one (a trigger of its save), if any.
    pub caller: Option<CallId>,
    pub reply: oneshot::Sender<Result<String, CloudError>>,
}

/// Sends calls to JavaScript: to the pool's shared queue, or (for triggers started by cloud
/// code) to the queue of the worker that is already running that code.
#[derive(Clone, Debug)]
pub enum Invoker {
    /// The pool's bounded queue, shared by all workers.
    Pool(async_channel::Sender<Call>),
    /// One worker's own queue, for calls caused by its call `caller`; the worker polls it with
    /// the calls in flight, and counts them against the nested-call cap of `caller`'s request.
    Worker { queue: tokio::sync::mpsc::UnboundedSender<Call>, caller: CallId },
}

impl Invoker {
    fn send(&self, mut call: Call) -> Result<(), CloudError> {
        let closed = || CloudError::Engine("the workers have stopped".into());
        match self {
            Invoker::Pool(queue) => queue.try_send(call).map_err(|e| match e {
                async_channel::TrySendError::Full(_) => CloudError::Busy,
                async_channel::TrySendError::Closed(_) => closed(),
            }),
            Invoker::Worker { queue, caller } => {
                call.caller = Some(*caller);
                queue.send(call).map_err(|_| closed())
            }
        }
    }

    /// Runs `target` with `request` (the JSON request object) within `timeout`.
    pub async fn run(&self, target: Target, request: String, timeout: Duration) -> Result<String, CloudError> {
        let (reply, answer) = oneshot::channel();
        let deadline = Instant::now() + timeout;
        let what = target.describe();
        let call = Call { target, request, deadline, timeout, caller: None, reply };
        self.send(call)?;
        match answer.await {
            Ok(Err(CloudError::NeverSettles { .. })) => {
                tokio::time::sleep_until(deadline.into()).await;
                Err(CloudError::Timeout { what, seconds: timeout.as_secs_f64() })
            }
            Ok(outcome) => outcome,
            Err(_) => Err(CloudError::Engine("the worker stopped before answering".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str) -> Target {
        Target::Function(name.into())
    }

    #[test]
    fn targets_are_named_as_messages_name_them() {
        assert_eq!(function("hello").describe(), "Cloud function \"hello\"");
        let trigger = Target::Trigger { class_name: "Review".into(), kind: TriggerKind::BeforeSave };
        assert_eq!(trigger.describe(), "beforeSave trigger of Review");
        assert_eq!(Target::Job { name: "tick".into(), job_id: "j1".into() }.describe(), "Job \"tick\"");
    }

    struct Echo;

    impl Host for Echo {
        fn request(&self, request: HostRequest) -> HostFuture {
            Box::pin(async move { Ok(request.path) })
        }
    }

    #[tokio::test]
    async fn the_host_is_there_only_once_installed_and_the_first_install_stays() {
        let slot = HostSlot::default();
        assert!(slot.get().is_none(), "before the API exists");
        slot.clone().install(Arc::new(Echo));
        let (queue, _calls) = async_channel::bounded(1);
        let request = |path: &str| HostRequest {
            method: "GET".into(),
            path: path.into(),
            body: String::new(),
            auth: CallerAuth::default(),
            invoker: Invoker::Pool(queue.clone()),
        };
        assert_eq!(slot.get().unwrap().request(request("classes/A")).await.unwrap(), "classes/A");
        struct Other;
        impl Host for Other {
            fn request(&self, _: HostRequest) -> HostFuture {
                Box::pin(async { Err(HostError { code: crate::error::ErrorCode::INTERNAL_SERVER_ERROR.0, message: "replaced".into() }) })
            }
        }
        slot.install(Arc::new(Other));
        assert!(slot.get().unwrap().request(request("b")).await.is_ok(), "clones share the slot, and it is set once");
    }

    #[tokio::test]
    async fn a_pool_call_is_answered_by_whoever_takes_it_from_the_queue() {
        let (queue, calls) = async_channel::bounded::<Call>(1);
        tokio::spawn(async move {
            let call = calls.recv().await.unwrap();
            assert_eq!((call.target, call.caller), (function("hello"), None));
            let _ = call.reply.send(Ok(format!("answered {}", call.request)));
        });
        let answer = Invoker::Pool(queue).run(function("hello"), "{}".into(), Duration::from_secs(5)).await;
        assert_eq!(answer.unwrap(), "answered {}");
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_and_a_closed_one_an_engine_failure() {
        let (queue, calls) = async_channel::bounded::<Call>(1);
        let (reply, _answer) = oneshot::channel();
        let waiting = Call { target: function("a"), request: "{}".into(), deadline: Instant::now(), timeout: Duration::ZERO, caller: None, reply };
        queue.try_send(waiting).unwrap();
        let invoker = Invoker::Pool(queue);
        assert!(matches!(invoker.run(function("b"), "{}".into(), Duration::from_secs(1)).await, Err(CloudError::Busy)));
        calls.close();
        assert!(matches!(invoker.run(function("c"), "{}".into(), Duration::from_secs(1)).await, Err(CloudError::Engine(_))));
    }

    #[tokio::test]
    async fn a_worker_call_names_its_caller_and_a_dropped_reply_is_an_engine_failure() {
        let (queue, mut calls) = tokio::sync::mpsc::unbounded_channel::<Call>();
        tokio::spawn(async move {
            let call = calls.recv().await.unwrap();
            assert_eq!(call.caller, Some(7), "counted against the nested-call cap of call 7");
            drop(call.reply);
        });
        let answer = Invoker::Worker { queue, caller: 7 }.run(function("nested"), "{}".into(), Duration::from_secs(5)).await;
        assert!(matches!(answer, Err(CloudError::Engine(message)) if message.contains("before answering")));
    }

    #[tokio::test]
    async fn a_call_that_can_never_settle_still_answers_at_its_deadline() {
        let (queue, calls) = async_channel::bounded::<Call>(1);
        tokio::spawn(async move {
            let call = calls.recv().await.unwrap();
            let _ = call.reply.send(Err(CloudError::NeverSettles { what: "x".into() }));
        });
        let started = Instant::now();
        let answer = Invoker::Pool(queue).run(function("stuck"), "{}".into(), Duration::from_millis(200)).await;
        assert!(started.elapsed() >= Duration::from_millis(200), "not before the deadline");
        match answer {
            Err(CloudError::Timeout { what, seconds }) => assert_eq!((what.as_str(), seconds), ("Cloud function \"stuck\"", 0.2)),
            other => panic!("{other:?}"),
        }
    }
}
