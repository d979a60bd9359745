//! The supervisor half of a worker: a thread that stops the worker's JavaScript at a deadline.
//! A `while (true) {}` never yields to the worker's own event loop, so only another thread can
//! stop it, through the isolate's thread-safe handle.
//!
//! Many calls are in flight on one runtime, and most of the time none of them is running: they
//! are awaiting. A deadline passing then needs no termination (the worker answers the call
//! itself), and a termination requested while no JS runs would hit the next, innocent, call.
//! So the worker says when it enters and leaves JS, and the watchdog terminates only inside.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use deno_core::v8;

/// How soon a passed deadline is looked at again while the worker is outside JS (it is then
/// about to answer the late call itself and re-arm); doubled on each look, up to a second,
/// so an idle worker costs no wake-ups.
const RECHECK: Duration = Duration::from_millis(10);
const RECHECK_MAX: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    deadline: Option<Instant>,
    fired: bool,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    signal: Condvar,
    /// The worker thread is running JavaScript now.
    in_js: AtomicBool,
}

/// Watches the earliest deadline of the calls in flight; terminates the JS running past it.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn spawn(isolate: v8::IsolateHandle, name: String) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new().name(name).spawn(move || watch(&theirs, &isolate))?;
        Ok(Watchdog { shared, thread: Some(thread) })
    }

    /// Watches for `deadline` (replacing any earlier one). A firing not yet collected by
    /// [`take_fired`](Self::take_fired) or [`disarm`](Self::disarm) is kept.
    ///
    /// The watchdog thread is woken only when the deadline moves earlier: calls start and end
    /// thousands of times a second, and a later deadline is found when the earlier one is due.
    pub fn arm(&self, deadline: Instant) {
        let mut state = self.lock();
        let earlier = state.deadline.is_none_or(|armed| deadline < armed);
        state.deadline = Some(deadline);
        if earlier {
            self.shared.signal.notify_one();
        }
    }

    /// The worker is about to run JavaScript (start a call, or poll its event loop).
    pub fn enter(&self) {
        self.shared.in_js.store(true, Ordering::SeqCst);
    }

    /// The worker is back from JavaScript.
    pub fn leave(&self) {
        self.shared.in_js.store(false, Ordering::SeqCst);
    }

    /// Whether the deadline fired since last asked; keeps watching any deadline still set.
    pub fn take_fired(&self) -> bool {
        std::mem::take(&mut self.lock().fired)
    }

    /// Stops watching; returns whether the deadline fired (the caller must then cancel the
    /// termination so the next call runs normally).
    pub fn disarm(&self) -> bool {
        let mut state = self.lock();
        state.deadline = None;
        std::mem::take(&mut state.fired)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.lock().shutdown = true;
        self.shared.signal.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(shared: &Shared, isolate: &v8::IsolateHandle) {
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let mut recheck = RECHECK;
    while !state.shutdown {
        state = match state.deadline {
            None => shared.signal.wait(state).unwrap_or_else(|p| p.into_inner()),
            Some(deadline) => {
                let now = Instant::now();
                if now < deadline {
                    recheck = RECHECK;
                    shared.signal.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0
                } else if shared.in_js.load(Ordering::SeqCst) {
                    isolate.terminate_execution();
                    state.fired = true;
                    state.deadline = None;
                    state
                } else {
                    let wait = recheck;
                    recheck = (recheck * 2).min(RECHECK_MAX);
                    shared.signal.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner()).0
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use deno_core::{JsRuntime, RuntimeOptions};

    use super::*;

    fn runtime() -> (JsRuntime, Watchdog) {
        let mut js = JsRuntime::new(RuntimeOptions::default());
        let watchdog = Watchdog::spawn(js.v8_isolate().thread_safe_handle(), "test-watchdog".into()).unwrap();
        (js, watchdog)
    }

    #[test]
    fn javascript_running_past_the_deadline_is_stopped() {
        let (mut js, watchdog) = runtime();
        watchdog.arm(Instant::now() + Duration::from_millis(50));
        watchdog.enter();
        let outcome = js.execute_script("spin.js", "while (true) {}");
        watchdog.leave();
        assert!(outcome.is_err(), "the loop was terminated");
        assert!(watchdog.disarm(), "the firing is reported once");
        js.v8_isolate().cancel_terminate_execution();
        assert!(js.execute_script("after.js", "1 + 1").is_ok(), "the runtime serves the next call");
    }

    #[test]
    fn a_deadline_passing_outside_javascript_terminates_nothing() {
        let (mut js, watchdog) = runtime();
        watchdog.arm(Instant::now() + Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(120));
        assert!(!watchdog.take_fired(), "no JS ran, so nothing was stopped");
        watchdog.disarm();
        watchdog.enter();
        let outcome = js.execute_script("innocent.js", "let n = 0; for (let i = 0; i < 1000; i++) n += i; n");
        watchdog.leave();
        assert!(outcome.is_ok(), "the next call is not hit by a stale termination");
    }

    #[test]
    fn a_later_deadline_does_not_delay_an_earlier_one() {
        let (mut js, watchdog) = runtime();
        watchdog.arm(Instant::now() + Duration::from_secs(60));
        watchdog.arm(Instant::now() + Duration::from_millis(50));
        let started = Instant::now();
        watchdog.enter();
        let outcome = js.execute_script("spin.js", "while (true) {}");
        watchdog.leave();
        assert!(outcome.is_err());
        assert!(started.elapsed() < Duration::from_secs(30), "the earlier deadline fired");
        assert!(watchdog.disarm());
    }
}
