//! One worker thread: one long-lived `JsRuntime` (it is `!Send`), the cloud code loaded once,
//! then calls taken from the pool's queue one at a time. One call at a time means no request
//! state can bleed into another; each call gets its own request object from JS.

use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use deno_core::error::JsError;
use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};
use tokio::sync::oneshot;

use super::budget::{HttpSettings, RequestBudget};
use super::host::{Call, HostSlot, Invoker, Target};
use super::loader::ModuleRoot;
use super::ops::cloudrt;
use super::watchdog::Watchdog;
use super::{BootError, CloudError, Handlers};

/// How long main.js (and what it requires) may take to load.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// Most calls one worker runs at once for a single top-level call (triggers started by its
/// saves). Beyond it, cloud code is most likely recursing (a trigger saving its own class).
const MAX_IN_FLIGHT: usize = 128;

/// What a worker thread is built from.
pub struct WorkerSetup {
    pub index: usize,
    pub root: ModuleRoot,
    pub host: HostSlot,
    pub http: HttpSettings,
    /// Heap one runtime may use (`--heap-limit-mb`). Past it the running call is stopped (a heap
    /// bomb in cloud code must not take the whole server down) and answered with an error.
    pub heap_limit: usize,
    pub inbox: async_channel::Receiver<Call>,
}

/// The JS entry point a worker calls, taken from the runtime's internals at boot and then
/// hidden from cloud code.
struct Entry {
    dispatch: v8::Global<v8::Function>,
}

type Pending = Pin<Box<dyn Future<Output = Result<v8::Global<v8::Value>, Box<JsError>>>>>;

/// A call started on this worker's runtime and not yet answered.
struct Flight {
    call: Call,
    pending: Pending,
}

/// Thread body: boot, report, then serve calls until the pool is dropped.
pub fn run(setup: WorkerSetup, ready: std::sync::mpsc::Sender<Result<Handlers, BootError>>) {
    let WorkerSetup { index, root, host, http, heap_limit, inbox } = setup;
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
            extensions: vec![cloudrt::init(root.clone(), host, Invoker::Worker(nested_queue), http)],
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
        watchdog.arm(Instant::now() + BOOT_TIMEOUT);
        let booted = boot(&mut js, &root);
        if watchdog.disarm() {
            let _ = ready.send(Err(BootError(format!(
                "main.js did not finish loading within {} s (an endless loop at top level?)",
                BOOT_TIMEOUT.as_secs()
            ))));
            return;
        }
        let (entry, handlers) = match booted {
            Ok(booted) => booted,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        if ready.send(Ok(handlers)).is_err() {
            return;
        }
        let mut worker = Worker { js, entry, watchdog, nested, out_of_memory, heap_limit };
        while let Ok(call) = inbox.recv().await {
            if call.reply.is_closed() {
                continue;
            }
            worker.serve(call).await;
        }
    });
}

/// Loads main.js and takes the dispatcher out of the global scope.
fn boot(js: &mut JsRuntime, root: &ModuleRoot) -> Result<(Entry, Handlers), BootError> {
    let internals = js
        .execute_script(
            "cloudrt:seal",
            "(() => { const i = globalThis.__cloudrtInternals; delete globalThis.__cloudrtInternals; delete globalThis.Deno; return i; })()",
        )
        .map_err(|e| BootError(e.to_string()))?;
    let (load_module, dispatch, handlers) = {
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
        (get("loadModule")?, get("dispatch")?, get("handlers")?)
    };
    let main = root.main_module().to_string_lossy().into_owned();
    call_sync(js, &load_module, &[&main]).map_err(|e| BootError(user_stack(&e)))?;
    let listed = call_sync(js, &handlers, &[]).map_err(|e| BootError(user_stack(&e)))?;
    let handlers = serde_json::from_str(&listed).map_err(|e| BootError(format!("handler list: {e}")))?;
    Ok((Entry { dispatch }, handlers))
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

/// A booted runtime and what drives it.
struct Worker {
    js: JsRuntime,
    entry: Entry,
    watchdog: Watchdog,
    /// Calls started by this worker's own cloud code (triggers of its saves). Polled with the
    /// task's waker: the ops that send them may finish outside the event loop's poll.
    nested: tokio::sync::mpsc::UnboundedReceiver<Call>,
    /// Set by the near-heap-limit callback when it stopped the running call.
    out_of_memory: Arc<AtomicBool>,
    heap_limit: usize,
}

impl Worker {
    /// Runs one call from the pool, and every nested call it causes, until it is answered.
    async fn serve(&mut self, call: Call) {
        let deadline = call.deadline;
        if Instant::now() >= deadline {
            let outcome = Err(timed_out(&call));
            let _ = call.reply.send(outcome);
            return;
        }
        self.watchdog.arm(deadline);
        self.js.op_state().borrow_mut().put(RequestBudget::new(deadline));
        let main = self.start(call, false);
        let mut flights = vec![main];
        let mut wake = Box::pin(tokio::time::sleep_until(deadline.into()));
        let (outcome, reply) = std::future::poll_fn(|cx| self.drive(cx, &mut flights, &mut wake)).await;
        if self.watchdog.disarm() {
            self.js.v8_isolate().cancel_terminate_execution();
        }
        let outcome = if self.out_of_memory.swap(false, Ordering::SeqCst) {
            self.js.v8_isolate().cancel_terminate_execution();
            self.js.remove_near_heap_limit_callback(self.heap_limit);
            guard_heap(&mut self.js, &self.out_of_memory);
            self.js.v8_isolate().low_memory_notification();
            Err(CloudError::Script {
                code: 141,
                message: format!("cloud code used more than {} MB of memory and was stopped", self.heap_limit >> 20),
            })
        } else {
            outcome
        };
        let _ = reply.send(outcome);
        for flight in flights {
            let _ = flight.call.reply.send(Err(CloudError::Engine("the call that started it has ended".into())));
        }
    }

    /// Starts a call on the runtime: a sync handler is already answered, an async one pending.
    /// `nested` calls were caused by the call in flight (triggers of its saves).
    fn start(&mut self, call: Call, nested: bool) -> Flight {
        let (kind, name) = match &call.target {
            Target::Function(name) => ("function", name.clone()),
            Target::Trigger { class_name, trigger_name } => ("trigger", format!("{class_name}|{trigger_name}")),
            Target::Job { name, .. } => ("job", name.clone()),
        };
        let pending = {
            deno_core::scope!(scope, &mut self.js);
            let nested = if nested { "nested" } else { "" };
            let args: Vec<v8::Global<v8::Value>> = strings(scope, &[kind, &name, &call.request, nested])
                .into_iter()
                .map(|value| v8::Global::new(scope, value))
                .collect();
            Box::pin(JsRuntime::scoped_call_with_args(scope, &self.entry.dispatch, &args))
        };
        Flight { call, pending }
    }

    /// One poll of everything in flight. Answers nested calls as they finish; resolves with
    /// the main call's outcome (flight 0) and its reply channel.
    #[allow(clippy::type_complexity)] // the outcome and its reply channel, as the doc above says
    fn drive(
        &mut self,
        cx: &mut Context<'_>,
        flights: &mut Vec<Flight>,
        wake: &mut Pin<Box<tokio::time::Sleep>>,
    ) -> Poll<(Result<String, CloudError>, oneshot::Sender<Result<String, CloudError>>)> {
        // The event loop reported nothing pending: one more look at the calls (the loop's
        // microtasks may just have settled them) before concluding none can finish.
        let mut idle = false;
        loop {
            // Collected first: while a termination is pending no JS may start.
            let fired = self.take_fired();
            let mut changed = fired;
            while let Poll::Ready(Some(call)) = self.nested.poll_recv(cx) {
                changed = true;
                if flights.len() >= MAX_IN_FLIGHT {
                    let _ = call.reply.send(Err(CloudError::Script {
                        code: 141,
                        message: format!("too many nested cloud code calls (over {MAX_IN_FLIGHT}): is a trigger saving its own class?"),
                    }));
                    continue;
                }
                let flight = self.start(call, true);
                flights.push(flight);
            }
            let now = Instant::now();
            let mut index = 0;
            while index < flights.len() {
                let flight = &mut flights[index];
                let late = fired || now >= flight.call.deadline;
                let outcome = match flight.pending.as_mut().poll(cx) {
                    Poll::Ready(Ok(value)) => Some(self.answer(value)),
                    Poll::Ready(Err(_)) if late => Some(Err(timed_out(&flight.call))),
                    Poll::Ready(Err(error)) => Some(Err(CloudError::Engine(user_stack(&error)))),
                    Poll::Pending if now >= flight.call.deadline => Some(Err(timed_out(&flight.call))),
                    Poll::Pending => None,
                };
                let Some(outcome) = outcome else {
                    index += 1;
                    continue;
                };
                if index == 0 {
                    let main = flights.remove(0);
                    return Poll::Ready((outcome, main.call.reply));
                }
                let flight = flights.swap_remove(index);
                let _ = flight.call.reply.send(outcome);
                changed = true;
            }
            if changed {
                // Deadlines of finished calls must not stop the ones still running.
                let next = earliest(flights);
                self.watchdog.arm(next);
                wake.as_mut().reset(next.into());
            }
            match self.js.poll_event_loop(cx, PollEventLoopOptions::default()) {
                Poll::Ready(Err(error)) => {
                    let main = flights.remove(0);
                    let outcome = if self.take_fired() || Instant::now() >= main.call.deadline {
                        self.js.v8_isolate().cancel_terminate_execution();
                        Err(timed_out(&main.call))
                    } else {
                        Err(CloudError::Engine(error.to_string()))
                    };
                    return Poll::Ready((outcome, main.call.reply));
                }
                Poll::Ready(Ok(())) if !changed && !idle => idle = true,
                Poll::Ready(Ok(())) if !changed => {
                    // Nothing left that could settle the main call's promise.
                    let main = flights.remove(0);
                    let what = main.call.target.describe();
                    return Poll::Ready((Err(CloudError::NeverSettles { what }), main.call.reply));
                }
                Poll::Pending if !changed => {
                    let _ = wake.as_mut().poll(cx);
                    return Poll::Pending;
                }
                _ => {}
            }
        }
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
        let answer = {
            deno_core::scope!(scope, &mut self.js);
            v8::Local::new(scope, value).to_rust_string_lossy(scope)
        };
        decode_answer(answer)
    }
}

/// Stops the running call when the heap nears its limit, and flags it.
fn guard_heap(js: &mut JsRuntime, out_of_memory: &Arc<AtomicBool>) {
    let (isolate, flag) = (js.v8_isolate().thread_safe_handle(), out_of_memory.clone());
    js.add_near_heap_limit_callback(move |current, _initial| {
        flag.store(true, Ordering::SeqCst);
        isolate.terminate_execution();
        // Room to unwind the stopped call; the limit is set back when it has ended.
        current * 2
    });
}

fn earliest(flights: &[Flight]) -> Instant {
    flights.iter().map(|f| f.call.deadline).min().unwrap_or_else(Instant::now)
}

fn timed_out(call: &Call) -> CloudError {
    CloudError::Timeout { what: call.target.describe(), seconds: call.timeout.as_secs_f64() }
}

/// The dispatcher answers "R" + `{"result":…}` or "E" + `{"code":…,"error":…}`.
fn decode_answer(mut answer: String) -> Result<String, CloudError> {
    match answer.chars().next() {
        Some('R') => {
            answer.remove(0);
            Ok(answer)
        }
        Some('E') => {
            #[derive(serde::Deserialize)]
            struct Failure {
                code: i32,
                error: serde_json::Value,
            }
            let failure: Failure = serde_json::from_str(&answer[1..])
                .map_err(|e| CloudError::Engine(format!("unreadable failure from cloud code: {e}")))?;
            let message = match failure.error {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            Err(CloudError::Script { code: failure.code, message })
        }
        _ => Err(CloudError::Engine("unexpected answer from the dispatcher".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_decoded_by_their_tag() {
        assert_eq!(decode_answer("R{\"result\":1}".into()).unwrap(), "{\"result\":1}");
        match decode_answer("E{\"code\":142,\"error\":\"no\"}".into()) {
            Err(CloudError::Script { code, message }) => assert_eq!((code, message.as_str()), (142, "no")),
            other => panic!("unexpected {other:?}"),
        }
        match decode_answer("E{\"code\":141,\"error\":{\"why\":1}}".into()) {
            Err(CloudError::Script { message, .. }) => assert_eq!(message, "{\"why\":1}"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(decode_answer("?".into()), Err(CloudError::Engine(_))));
    }
}
