//! One worker thread: one long-lived `JsRuntime` (it is `!Send`), the cloud code loaded once,
//! then calls taken from the pool's queue one at a time. One call at a time means no request
//! state can bleed into another; each call gets its own request object from JS.

use std::time::{Duration, Instant};

use deno_core::error::CoreErrorKind;
use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};
use tokio::sync::oneshot;

use super::loader::ModuleRoot;
use super::ops::cloudrt;
use super::watchdog::Watchdog;
use super::{BootError, CloudError, Handlers};

/// How long main.js (and what it requires) may take to load.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// One cloud function call waiting for a worker.
pub struct Call {
    pub name: String,
    pub request: String,
    pub deadline: Instant,
    pub timeout: Duration,
    pub reply: oneshot::Sender<Result<String, CloudError>>,
}

/// The JS entry points a worker calls, taken from the runtime's internals at boot and then
/// hidden from cloud code.
struct Entry {
    run_function: v8::Global<v8::Function>,
}

/// Thread body: boot, report, then serve calls until the pool is dropped.
pub fn run(
    index: usize,
    root: ModuleRoot,
    inbox: async_channel::Receiver<Call>,
    ready: std::sync::mpsc::Sender<Result<Handlers, BootError>>,
) {
    let tokio = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(BootError(format!("cannot start worker {index}: {e}"))));
            return;
        }
    };
    tokio.block_on(async move {
        let mut js = JsRuntime::new(RuntimeOptions {
            extensions: vec![cloudrt::init(root.clone())],
            ..Default::default()
        });
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
        while let Ok(call) = inbox.recv().await {
            if call.reply.is_closed() {
                continue;
            }
            let outcome = run_call(&mut js, &entry, &watchdog, &call).await;
            let _ = call.reply.send(outcome);
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
    let (load_module, run_function, handlers) = {
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
        (get("loadModule")?, get("runFunction")?, get("handlers")?)
    };
    let main = root.main_module().to_string_lossy().into_owned();
    call_sync(js, &load_module, &[&main]).map_err(|e| BootError(user_stack(&e)))?;
    let listed = call_sync(js, &handlers, &[]).map_err(|e| BootError(user_stack(&e)))?;
    let handlers = serde_json::from_str(&listed).map_err(|e| BootError(format!("handler list: {e}")))?;
    Ok((Entry { run_function }, handlers))
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

/// Runs one call under its deadline. A synchronous handler answers without touching the
/// event loop; an async one drives it until its promise settles or the deadline passes.
async fn run_call(js: &mut JsRuntime, entry: &Entry, watchdog: &Watchdog, call: &Call) -> Result<String, CloudError> {
    let what = format!("Cloud function \"{}\"", call.name);
    let timed_out = || CloudError::Timeout { what: what.clone(), seconds: call.timeout.as_secs_f64() };
    if Instant::now() >= call.deadline {
        return Err(timed_out());
    }
    watchdog.arm(call.deadline);
    let pending = {
        deno_core::scope!(scope, js);
        let args: Vec<v8::Global<v8::Value>> = strings(scope, &[&call.name, &call.request])
            .into_iter()
            .map(|value| v8::Global::new(scope, value))
            .collect();
        JsRuntime::scoped_call_with_args(scope, &entry.run_function, &args)
    };
    let settled = tokio::time::timeout_at(
        call.deadline.into(),
        js.with_event_loop_promise(pending, PollEventLoopOptions::default()),
    )
    .await;
    if watchdog.disarm() {
        js.v8_isolate().cancel_terminate_execution();
        return Err(timed_out());
    }
    let value = match settled {
        Err(_) => return Err(timed_out()),
        Ok(Err(e)) if matches!(e.as_kind(), CoreErrorKind::PendingPromiseResolution) => {
            return Err(CloudError::NeverSettles { what });
        }
        Ok(Err(e)) => return Err(CloudError::Engine(e.to_string())),
        Ok(Ok(value)) => value,
    };
    let answer = {
        deno_core::scope!(scope, js);
        v8::Local::new(scope, value).to_rust_string_lossy(scope)
    };
    decode_answer(answer)
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
