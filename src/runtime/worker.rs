//! One worker thread: one long-lived `JsRuntime` (it is `!Send`), the cloud code loaded once,
//! then many calls in flight on it at once. A call that awaits (an httpRequest, a data op, a
//! nested trigger, a timer) leaves the thread to the others; each call's state (credentials,
//! log tag, budget) travels with it in its request scope (js/00_console.js, budget.rs), so
//! interleaving calls never see each other's.
//!
//! Why one runtime interleaving calls rather than a runtime per call in flight: measured on
//! this engine, every extra warm runtime with the example app costs megabytes of RSS and its
//! creation ~10 ms, and QuickJS caps runtimes per thread (ENGINE.md), while an interleaved
//! call costs a few hundred bytes. The engine's async context keeps the per-call scope
//! across `await`, which is what made interleaving safe.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use deno_core::error::JsError;
use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};

use super::budget::{CallBudgets, CallId, HttpSettings, RequestBudget};
use super::host::{Call, HostSlot, Target};
use super::loader::ModuleRoot;
use super::ops::{cloudrt, NestedQueue};
use super::watchdog::Watchdog;
use super::{BootError, CloudError, Loaded};

/// How long main.js (and what it requires) may take to load.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// Most calls in flight at once for a single top-level call (triggers started by its saves).
/// Beyond it, cloud code is most likely recursing (a trigger saving its own class).
const MAX_NESTED: usize = 128;

/// What a worker thread is built from.
pub struct WorkerSetup {
    pub index: usize,
    pub root: ModuleRoot,
    pub host: HostSlot,
    pub http: HttpSettings,
    /// Heap one runtime may use (`--heap-limit-mb`). Past it the running call is stopped (a heap
    /// bomb in cloud code must not take the whole server down) and answered with an error.
    pub heap_limit: usize,
    /// Top-level calls this worker takes from the queue at once (`--max-in-flight`).
    pub max_in_flight: usize,
    pub inbox: async_channel::Receiver<Call>,
    /// The pool's orders to this worker alone (reloads).
    pub control: tokio::sync::mpsc::UnboundedReceiver<Control>,
}

/// What the pool asks of one worker besides calls: a reload in two steps, so that the new
/// cloud code replaces the old only once every worker has loaded it.
pub enum Control {
    /// Load main.js again as the next release, beside the current one (which keeps serving),
    /// and answer what it registered or why it could not be loaded.
    Stage(tokio::sync::oneshot::Sender<Result<Loaded, BootError>>),
    /// New calls run the staged release from now on; answered once done.
    Commit(tokio::sync::oneshot::Sender<()>),
    /// Drop the staged release.
    Abort,
}

/// The JS entry points a worker calls, taken from the runtime's internals at boot and then
/// hidden from cloud code.
struct Entry {
    dispatch: v8::Global<v8::Function>,
    stage: v8::Global<v8::Function>,
    commit: v8::Global<v8::Function>,
    abort: v8::Global<v8::Function>,
}

type Pending = Pin<Box<dyn Future<Output = Result<v8::Global<v8::Value>, Box<JsError>>>>>;
type NextCall = Pin<Box<dyn Future<Output = Option<Call>>>>;

/// A call started on this worker's runtime and not yet answered.
struct Flight {
    id: CallId,
    /// The top-level call it belongs to (its own id for a top-level call).
    root: CallId,
    call: Call,
    pending: Pending,
}

/// Thread body: boot, report, then serve calls until the pool is dropped.
pub fn run(setup: WorkerSetup, ready: std::sync::mpsc::Sender<Result<Loaded, BootError>>) {
    let WorkerSetup { index, root, host, http, heap_limit, max_in_flight, inbox, control } = setup;
    let tokio = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(BootError(format!("cannot start worker {index}: {e}"))));
            return;
        }
    };
    tokio.block_on(async move {
        let (nested_queue, nested) = tokio::sync::mpsc::unbounded_channel();
        let mut js = JsRuntime::new(RuntimeOptions {
            extensions: vec![cloudrt::init(root.clone(), host, NestedQueue(nested_queue), http)],
            create_params: Some(v8::CreateParams::default().heap_limits(0, heap_limit)),
            ..Default::default()
        });
        let out_of_memory = Arc::new(AtomicBool::new(false));
        guard_heap(&mut js, &out_of_memory);
        let isolate = js.v8_isolate().thread_safe_handle();
        let watchdog = match Watchdog::spawn(isolate, format!("cloudrt-watchdog-{index}")) {
            Ok(w) => w,
            Err(e) => {
                let _ = ready.send(Err(BootError(format!("cannot start watchdog {index}: {e}"))));
                return;
            }
        };
        let booted = seal(&mut js).and_then(|entry| {
            let loaded = load(&mut js, &entry, &watchdog, &root, &out_of_memory, heap_limit)?;
            call_sync(&mut js, &entry.commit, &[]).map_err(|e| BootError(user_stack(&e)))?;
            Ok((entry, loaded))
        });
        let (entry, loaded) = match booted {
            Ok(booted) => booted,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        if ready.send(Ok(loaded)).is_err() {
            return;
        }
        let mut worker = Worker {
            js,
            entry,
            root,
            watchdog,
            control,
            inbox,
            next_call: None,
            inbox_closed: false,
            nested,
            out_of_memory,
            heap_limit,
            max_in_flight,
            flights: Vec::new(),
            top_level: 0,
            last_id: 0,
            wake: Box::pin(tokio::time::sleep(Duration::ZERO)),
        };
        std::future::poll_fn(|cx| worker.drive(cx)).await;
    });
}

/// Takes the runtime's entry points out of the global scope, out of cloud code's reach.
fn seal(js: &mut JsRuntime) -> Result<Entry, BootError> {
    let internals = js
        .execute_script(
            "cloudrt:seal",
            "(() => { const i = globalThis.__cloudrtInternals; delete globalThis.__cloudrtInternals; delete globalThis.Deno; return i; })()",
        )
        .map_err(|e| BootError(e.to_string()))?;
    let entry = {
        deno_core::scope!(scope, js);
        let internals = v8::Local::new(scope, internals);
        let internals = v8::Local::<v8::Object>::try_from(internals)
            .map_err(|_| BootError("runtime internals missing".into()))?;
        let get = |name: &str| -> Result<v8::Global<v8::Function>, BootError> {
            let key = v8::String::new(scope, name).ok_or_else(|| BootError("out of memory".into()))?;
            let value = internals
                .get(scope, key.into())
                .ok_or_else(|| BootError(format!("runtime internal {name} missing")))?;
            let function = v8::Local::<v8::Function>::try_from(value)
                .map_err(|_| BootError(format!("runtime internal {name} is not a function")))?;
            Ok(v8::Global::new(scope, function))
        };
        Entry { dispatch: get("dispatch")?, stage: get("stage")?, commit: get("commit")?, abort: get("abort")? }
    };
    Ok(entry)
}

/// Loads main.js (and what it requires) as the next release, beside the current one, within
/// [`BOOT_TIMEOUT`] and the heap limit: an endless loop or a heap bomb at main.js top level
/// fails the load instead of the worker.
fn load(
    js: &mut JsRuntime,
    entry: &Entry,
    watchdog: &Watchdog,
    root: &ModuleRoot,
    out_of_memory: &Arc<AtomicBool>,
    heap_limit: usize,
) -> Result<Loaded, BootError> {
    let main = root.main_module().to_string_lossy().into_owned();
    watchdog.arm(Instant::now() + BOOT_TIMEOUT);
    watchdog.enter();
    let staged = call_sync(js, &entry.stage, &[&main]);
    watchdog.leave();
    let timed_out = watchdog.disarm();
    if timed_out {
        js.v8_isolate().cancel_terminate_execution();
        return Err(BootError(format!(
            "main.js did not finish loading within {} s (an endless loop at top level?)",
            BOOT_TIMEOUT.as_secs()
        )));
    }
    if out_of_memory.swap(false, Ordering::SeqCst) {
        reset_heap_guard(js, out_of_memory, heap_limit);
        return Err(BootError(format!("main.js used more than {} MB of memory while loading", heap_limit >> 20)));
    }
    let staged = staged.map_err(|e| BootError(user_stack(&e)))?;
    let mut loaded: Loaded = serde_json::from_str(&staged).map_err(|e| BootError(format!("handler list: {e}")))?;
    loaded.files = loaded.files.iter().map(|path| root.relative(path)).collect();
    Ok(loaded)
}

/// An error as the cloud code's author needs it: message and the frames in their own files,
/// without the runtime's internal (`ext:`) frames.
fn user_stack(error: &deno_core::error::JsError) -> String {
    error
        .to_string()
        .lines()
        .filter(|line| !line.contains("(ext:") && !line.trim_start().starts_with("at ext:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Calls a JS function that answers synchronously with a string.
fn call_sync(js: &mut JsRuntime, function: &v8::Global<v8::Function>, args: &[&str]) -> Result<String, Box<deno_core::error::JsError>> {
    let value = {
        deno_core::scope!(scope, js);
        let function = v8::Local::new(scope, function);
        let args = strings(scope, args);
        v8::tc_scope!(let scope, scope);
        let undefined = v8::undefined(scope).into();
        match function.call(scope, undefined, &args) {
            Some(value) => value.to_rust_string_lossy(scope),
            None => {
                let exception = scope.exception().unwrap_or_else(|| v8::undefined(scope).into());
                return Err(deno_core::error::JsError::from_v8_exception(scope, exception));
            }
        }
    };
    Ok(value)
}

fn strings<'s>(scope: &mut v8::PinScope<'s, '_>, args: &[&str]) -> Vec<v8::Local<'s, v8::Value>> {
    args.iter()
        .map(|text| {
            v8::String::new(scope, text)
                .map(Into::into)
                .unwrap_or_else(|| v8::undefined(scope).into())
        })
        .collect()
}

/// A booted runtime and the calls in flight on it.
struct Worker {
    js: JsRuntime,
    entry: Entry,
    root: ModuleRoot,
    watchdog: Watchdog,
    /// Reload orders from the pool.
    control: tokio::sync::mpsc::UnboundedReceiver<Control>,
    /// The pool's queue of top-level calls, shared with the other workers.
    inbox: async_channel::Receiver<Call>,
    /// The wait for the next call from `inbox`, kept across polls.
    next_call: Option<NextCall>,
    inbox_closed: bool,
    /// Calls started by this worker's own cloud code (triggers of its saves). Polled with the
    /// task's waker: the ops that send them may finish outside the event loop's poll.
    nested: tokio::sync::mpsc::UnboundedReceiver<Call>,
    /// Set by the near-heap-limit callback when it stopped the running call.
    out_of_memory: Arc<AtomicBool>,
    heap_limit: usize,
    max_in_flight: usize,
    flights: Vec<Flight>,
    /// How many of `flights` came from the pool's queue (the rest are nested calls).
    top_level: usize,
    last_id: CallId,
    /// Wakes the worker at the earliest deadline of the calls in flight.
    wake: Pin<Box<tokio::time::Sleep>>,
}

impl Worker {
    /// Takes calls, runs them and everything they cause, answers each as it settles; only
    /// returns once the pool is gone and nothing is in flight.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // The event loop reported nothing pending: one more look at the calls (the loop's
        // microtasks may just have settled them) before concluding none can finish.
        let mut idle = false;
        loop {
            let mut changed = self.take_fired();
            changed |= self.take_control(cx);
            changed |= self.take_calls(cx);
            changed |= self.settle(cx);
            if self.flights.is_empty() && self.inbox_closed {
                return Poll::Ready(());
            }
            if changed {
                // Deadlines of finished calls must not stop the ones still running.
                let next = self.earliest();
                self.watchdog.arm(next);
                self.wake.as_mut().reset(next.into());
            }
            self.watchdog.enter();
            let polled = self.js.poll_event_loop(cx, PollEventLoopOptions::default());
            self.watchdog.leave();
            // A continuation after an `await` blew the heap, whatever the loop reported.
            let out_of_memory = self.blame_heap(None);
            match polled {
                Poll::Ready(Err(error)) => {
                    // A termination (handled above on the next turn) or an error no call
                    // owns: the loop itself goes on serving the others.
                    if !self.take_fired() && !out_of_memory {
                        tracing::warn!(target: "cloud", "cloud code event loop: {error}");
                    }
                }
                Poll::Ready(Ok(())) if changed => {}
                Poll::Ready(Ok(())) if self.flights.is_empty() => return Poll::Pending,
                Poll::Ready(Ok(())) if !idle => idle = true,
                Poll::Ready(Ok(())) => {
                    // Nothing left in the runtime can settle the calls still pending: release
                    // them now; their callers still get the timeout at the deadline.
                    for flight in std::mem::take(&mut self.flights) {
                        let what = flight.call.target.describe();
                        self.finish(flight, Err(CloudError::NeverSettles { what }));
                    }
                    idle = false;
                }
                Poll::Pending if changed => {}
                Poll::Pending => {
                    if !self.flights.is_empty() {
                        let _ = self.wake.as_mut().poll(cx);
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Carries out the pool's reload orders. Whether any came (loading moved the watchdog).
    fn take_control(&mut self, cx: &mut Context<'_>) -> bool {
        let mut any = false;
        while let Poll::Ready(Some(order)) = self.control.poll_recv(cx) {
            any = true;
            match order {
                Control::Stage(reply) => {
                    let loaded =
                        load(&mut self.js, &self.entry, &self.watchdog, &self.root, &self.out_of_memory, self.heap_limit);
                    let _ = reply.send(loaded);
                }
                Control::Commit(done) => {
                    if let Err(e) = call_sync(&mut self.js, &self.entry.commit, &[]) {
                        tracing::error!(target: "cloud", "cannot switch to the new cloud code: {}", user_stack(&e));
                    }
                    let _ = done.send(());
                }
                Control::Abort => {
                    let _ = call_sync(&mut self.js, &self.entry.abort, &[]);
                }
            }
        }
        any
    }

    /// Starts the calls waiting: nested ones first (the calls in flight wait for them), then
    /// top-level ones from the pool's queue while there is room. Whether any started.
    fn take_calls(&mut self, cx: &mut Context<'_>) -> bool {
        let mut started = false;
        while let Poll::Ready(Some(call)) = self.nested.poll_recv(cx) {
            started = true;
            let root = call
                .caller
                .and_then(|caller| self.flights.iter().find(|f| f.id == caller))
                .map(|caller| caller.root);
            if let Some(root) = root {
                if self.flights.iter().filter(|f| f.root == root).count() >= MAX_NESTED {
                    let _ = call.reply.send(Err(CloudError::Script {
                        code: CloudError::SCRIPT_FAILED,
                        message: format!("too many nested cloud code calls (over {MAX_NESTED}): is a trigger saving its own class?"),
                    }));
                    continue;
                }
            }
            self.start(call, root);
        }
        while !self.inbox_closed && self.top_level < self.max_in_flight {
            let next = self.next_call.get_or_insert_with(|| {
                let inbox = self.inbox.clone();
                Box::pin(async move { inbox.recv().await.ok() })
            });
            let Poll::Ready(call) = next.as_mut().poll(cx) else { break };
            self.next_call = None;
            let Some(call) = call else {
                self.inbox_closed = true;
                break;
            };
            started = true;
            if call.reply.is_closed() {
                continue;
            }
            self.start(call, None);
        }
        started
    }

    /// Starts a call on the runtime: a sync handler is already answered, an async one pending.
    /// `root` is the top-level call a nested call belongs to.
    fn start(&mut self, call: Call, root: Option<CallId>) {
        if Instant::now() >= call.deadline {
            let outcome = Err(timed_out(&call));
            let _ = call.reply.send(outcome);
            return;
        }
        self.last_id += 1;
        let id = self.last_id;
        let budget = {
            let state = self.js.op_state();
            let mut state = state.borrow_mut();
            let budgets = state.borrow_mut::<CallBudgets>();
            let budget = match root.and_then(|root| budgets.get(root)) {
                // A nested call shares its request's httpRequest slots, within its own deadline.
                Some(request) => RequestBudget {
                    deadline: request.deadline.min(call.deadline),
                    http_slots: request.http_slots.clone(),
                },
                None => RequestBudget::new(call.deadline),
            };
            budgets.insert(id, budget.clone());
            budget
        };
        // The dispatcher's arguments: kind, handler name, request, call id, and the class a
        // trigger is registered for (empty for the others).
        let (kind, name, class) = match &call.target {
            Target::Function(name) => ("function", name.as_str(), ""),
            Target::Trigger { class_name, kind } => ("trigger", kind.as_str(), class_name.as_str()),
            Target::Job { name, .. } => ("job", name.as_str(), ""),
        };
        // Its deadline may be the earliest now: the watchdog must know before its JS runs.
        self.watchdog.arm(self.earliest().min(budget.deadline));
        self.watchdog.enter();
        let pending = {
            deno_core::scope!(scope, &mut self.js);
            let args: Vec<v8::Global<v8::Value>> = strings(scope, &[kind, name, &call.request, &id.to_string(), class])
                .into_iter()
                .map(|value| v8::Global::new(scope, value))
                .collect();
            Box::pin(JsRuntime::scoped_call_with_args(scope, &self.entry.dispatch, &args)) as Pending
        };
        self.watchdog.leave();
        if root.is_none() {
            self.top_level += 1;
        }
        // If its own synchronous part blew the heap, it is the one to stop.
        self.blame_heap(Some(Flight { id, root: root.unwrap_or(id), call, pending }));
    }

    /// Answers every call that has settled or is past its deadline. Whether any was answered.
    fn settle(&mut self, cx: &mut Context<'_>) -> bool {
        let now = Instant::now();
        let mut answered = false;
        let mut index = 0;
        while index < self.flights.len() {
            let flight = &mut self.flights[index];
            let late = now >= flight.call.deadline;
            let outcome = match flight.pending.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => {
                    let outcome = self.answer(value);
                    Some(self.blame_out_of_memory(outcome))
                }
                Poll::Ready(Err(_)) if late => Some(Err(timed_out(&flight.call))),
                Poll::Ready(Err(error)) => Some(Err(CloudError::Engine(user_stack(&error)))),
                Poll::Pending if late => Some(Err(timed_out(&flight.call))),
                Poll::Pending => None,
            };
            match outcome {
                Some(outcome) => {
                    let flight = self.flights.swap_remove(index);
                    self.finish(flight, outcome);
                    answered = true;
                }
                None => index += 1,
            }
        }
        answered
    }

    /// Sends a call its answer and forgets it: its budget goes, so what it left running (a
    /// timer, an op) can no longer act for it.
    fn finish(&mut self, flight: Flight, outcome: Result<String, CloudError>) {
        self.js.op_state().borrow_mut().borrow_mut::<CallBudgets>().remove(flight.id);
        if flight.root == flight.id {
            self.top_level -= 1;
        }
        let _ = flight.call.reply.send(outcome);
    }

    /// After the heap guard stopped the JS: answers the call that blew it (`culprit`, when
    /// known) with 141 and makes the runtime usable again. The calls that were only waiting
    /// go on. Whether the guard had fired.
    fn blame_heap(&mut self, culprit: Option<Flight>) -> bool {
        if !self.out_of_memory.swap(false, Ordering::SeqCst) {
            if let Some(flight) = culprit {
                self.flights.push(flight);
            }
            return false;
        }
        reset_heap_guard(&mut self.js, &self.out_of_memory, self.heap_limit);
        match culprit {
            Some(flight) => {
                let error = self.heap_exceeded();
                self.finish(flight, Err(error));
            }
            None => tracing::warn!(target: "cloud", "a call in flight reached the {} MB heap limit", self.heap_limit >> 20),
        }
        true
    }

    /// The answer of a call stopped by the heap limit.
    fn heap_exceeded(&self) -> CloudError {
        CloudError::Script {
            code: CloudError::SCRIPT_FAILED,
            message: format!("cloud code used more than {} MB of memory and was stopped", self.heap_limit >> 20),
        }
    }

    /// A call that failed with the engine's out-of-memory error is the one that allocated past
    /// the heap limit ([`guard_heap`]): it is answered as stopped by the limit.
    fn blame_out_of_memory(&self, outcome: Result<String, CloudError>) -> Result<String, CloudError> {
        match outcome {
            Err(CloudError::Script { message, .. }) if message == ENGINE_OUT_OF_MEMORY => Err(self.heap_exceeded()),
            other => other,
        }
    }

    /// The earliest deadline of the calls in flight (a while ahead when there are none: JS
    /// left running by calls already answered is stopped after it too).
    fn earliest(&self) -> Instant {
        self.flights
            .iter()
            .map(|f| f.call.deadline)
            .min()
            .unwrap_or_else(|| Instant::now() + BOOT_TIMEOUT)
    }

    /// Whether the watchdog stopped the JS since last asked; if so the isolate is made usable
    /// again (the calls past their deadline are then answered with 124).
    fn take_fired(&mut self) -> bool {
        let fired = self.watchdog.take_fired();
        if fired {
            self.js.v8_isolate().cancel_terminate_execution();
        }
        fired
    }

    fn answer(&mut self, value: v8::Global<v8::Value>) -> Result<String, CloudError> {
        deno_core::scope!(scope, &mut self.js);
        let value = v8::Local::new(scope, value);
        let answer: Answer = deno_core::serde_v8::from_v8(scope, value)
            .map_err(|e| CloudError::Engine(format!("unreadable answer from the dispatcher: {e}")))?;
        answer.outcome()
    }
}

/// Flags the heap reaching its limit, and stops the call that allocated.
///
/// On QuickJS the first allocation past the limit fails with the engine's own out-of-memory
/// error, thrown in the call that allocated, so that call's promise rejects and it is answered
/// in its own scope, even after an `await` when nothing else tells which of the calls in
/// flight was running; its memory is freed as it unwinds (QuickJS counts references). A
/// termination instead would kill the continuation without settling it, and raising the limit
/// would let the loop run on until its next interrupt check, thousands of allocations later.
/// The next allocation past the limit gets a margin (building the error and unwinding need a
/// little memory); one after that means the call caught the error and allocates on, so it is
/// terminated as before. The worker sets the guard back after each turn of its event loop.
#[cfg(not(feature = "v8"))]
fn guard_heap(js: &mut JsRuntime, out_of_memory: &Arc<AtomicBool>) {
    let (isolate, flag) = (js.v8_isolate().thread_safe_handle(), out_of_memory.clone());
    let crossings = std::sync::atomic::AtomicUsize::new(0);
    js.add_near_heap_limit_callback(move |current, initial| {
        flag.store(true, Ordering::SeqCst);
        match crossings.fetch_add(1, Ordering::SeqCst) {
            0 => current,
            1 => current + (initial / 4).max(4 << 20),
            _ => {
                isolate.terminate_execution();
                current * 2
            }
        }
    });
}

/// Flags the heap reaching its limit, and stops the running JS. V8 treats a heap that cannot
/// grow as fatal, so the limit is raised to let the stopped call unwind; it is set back once
/// it has ended.
#[cfg(feature = "v8")]
fn guard_heap(js: &mut JsRuntime, out_of_memory: &Arc<AtomicBool>) {
    let (isolate, flag) = (js.v8_isolate().thread_safe_handle(), out_of_memory.clone());
    js.add_near_heap_limit_callback(move |current, _initial| {
        flag.store(true, Ordering::SeqCst);
        isolate.terminate_execution();
        current * 2
    });
}

/// The message of QuickJS's out-of-memory error, which [`guard_heap`] lets reach the call
/// that allocated past the limit.
const ENGINE_OUT_OF_MEMORY: &str = "out of memory";

/// After the heap guard fired: the runtime made usable again, with the limit set back.
fn reset_heap_guard(js: &mut JsRuntime, out_of_memory: &Arc<AtomicBool>, heap_limit: usize) {
    js.v8_isolate().cancel_terminate_execution();
    js.remove_near_heap_limit_callback(heap_limit);
    guard_heap(js, out_of_memory);
    js.v8_isolate().low_memory_notification();
}

fn timed_out(call: &Call) -> CloudError {
    CloudError::Timeout { what: call.target.describe(), seconds: call.timeout.as_secs_f64() }
}

/// What the dispatcher (js/70_cloud.js `dispatch`) settles with, for every kind of handler.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum Answer {
    /// The handler succeeded: the body of the REST answer (`{"result":…}` for a function, the
    /// write and context for a trigger, `{"message":…}` for a job), as JSON text.
    Done { body: String },
    /// The handler failed: its Parse error code and message (a string, or whatever value cloud
    /// code passed to `response.error`).
    Failed { code: i32, error: serde_json::Value },
}

impl Answer {
    fn outcome(self) -> Result<String, CloudError> {
        match self {
            Answer::Done { body } => Ok(body),
            Answer::Failed { code, error } => {
                let message = match error {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                Err(CloudError::Script { code, message })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// A runtime with cloudrt's extension, as a worker builds it.
    fn runtime(root: &ModuleRoot, queue: &tokio::sync::mpsc::UnboundedSender<Call>) -> JsRuntime {
        let http = HttpSettings { timeout: Duration::from_secs(1), max_body: 1 << 20 };
        JsRuntime::new(RuntimeOptions {
            extensions: vec![cloudrt::init(root.clone(), HostSlot::default(), NestedQueue(queue.clone()), http)],
            ..Default::default()
        })
    }

    /// Part 7 of issue 11: what fresh JS state per request would cost on this engine, with the
    /// example app. Prints figures, asserts nothing about time: run by `bench/isolation.sh`
    /// (it takes a minute), not by `cargo test`.
    ///
    /// 1. A fresh runtime per request: build one, load main.js, drop it, 200 times on one
    ///    thread (QuickJS refuses new runtimes after a few hundred per thread, ENGINE.md).
    /// 2. Fresh module state per request in the warm runtime: main.js and what it requires run
    ///    again with an empty module cache (what a reload does), 100,000 times.
    ///
    /// deno_core 0.413 has one context per runtime, so a fresh context alone is not an option.
    #[test]
    #[ignore]
    fn isolation_per_request_costs() {
        let cloud = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cloud").canonicalize().unwrap();
        let root = ModuleRoot::new(cloud);
        let main = root.main_module().to_string_lossy().into_owned();
        std::thread::spawn(move || {
            let (queue, _nested) = tokio::sync::mpsc::unbounded_channel();
            const RUNTIMES: usize = 200;
            let start_rss = rss_kib();
            let started = Instant::now();
            for _ in 0..RUNTIMES {
                let mut js = runtime(&root, &queue);
                let entry = seal(&mut js).map_err(|e| e.0).unwrap();
                call_sync(&mut js, &entry.stage, &[&main]).unwrap();
            }
            println!(
                "fresh runtime + main.js per request: {:?} each; {} KiB of RSS kept per runtime dropped ({RUNTIMES} in a row)",
                started.elapsed() / RUNTIMES as u32,
                rss_kib().saturating_sub(start_rss) / RUNTIMES as u64
            );

            const RELOADS: usize = 100_000;
            let mut js = runtime(&root, &queue);
            let entry = seal(&mut js).map_err(|e| e.0).unwrap();
            call_sync(&mut js, &entry.stage, &[&main]).unwrap();
            let warm_rss = rss_kib();
            let started = Instant::now();
            for run in 1..=RELOADS {
                call_sync(&mut js, &entry.stage, &[&main]).unwrap();
                if run == 1_000 || run == RELOADS {
                    println!(
                        "fresh module state per request, after {run}: {:?} each; RSS +{} KiB since warm",
                        started.elapsed() / run as u32,
                        rss_kib().saturating_sub(warm_rss)
                    );
                }
            }
        })
        .join()
        .unwrap();
    }

    /// Cloud code's `Parse.Error` constants are the one code table, name for name.
    #[test]
    fn parse_error_constants_are_the_code_table() {
        let cloud = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cloud").canonicalize().unwrap();
        let (queue, _nested) = tokio::sync::mpsc::unbounded_channel();
        let mut js = runtime(&ModuleRoot::new(cloud), &queue);
        let answer = js.execute_script("codes.js", "JSON.stringify(Object.entries(Parse.Error))").unwrap();
        let text = {
            deno_core::scope!(scope, js);
            v8::Local::new(scope, answer).to_rust_string_lossy(scope)
        };
        let mut constants: Vec<(String, i32)> = serde_json::from_str(&text).unwrap();
        let mut table: Vec<(String, i32)> =
            crate::error::ErrorCode::ALL.iter().map(|(name, code)| ((*name).to_owned(), code.0)).collect();
        constants.sort();
        table.sort();
        assert_eq!(constants, table);
    }

    #[test]
    fn answers_are_read_by_their_shape() {
        let read = |json: &str| serde_json::from_str::<Answer>(json).unwrap().outcome();
        assert_eq!(read(r#"{"body":"{\"result\":1}"}"#).unwrap(), r#"{"result":1}"#);
        match read(r#"{"code":142,"error":"no"}"#) {
            Err(CloudError::Script { code, message }) => assert_eq!((code, message.as_str()), (142, "no")),
            other => panic!("unexpected {other:?}"),
        }
        match read(r#"{"code":141,"error":{"why":1}}"#) {
            Err(CloudError::Script { message, .. }) => assert_eq!(message, r#"{"why":1}"#),
            other => panic!("unexpected {other:?}"),
        }
        assert!(serde_json::from_str::<Answer>(r#"{"result":1}"#).is_err(), "neither shape");
    }
}
