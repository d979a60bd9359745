//! The supervisor half of a worker: a thread that stops the worker's JavaScript at its
//! deadline. A `while (true) {}` never yields to the worker's own event loop, so only another
//! thread can stop it, through the isolate's thread-safe handle.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use deno_core::v8;

#[derive(Default)]
struct State {
    deadline: Option<Instant>,
    fired: bool,
    shutdown: bool,
}

/// Arms a deadline for each call; terminates the isolate if the call is still running then.
pub struct Watchdog {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn spawn(isolate: v8::IsolateHandle, name: String) -> std::io::Result<Self> {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let theirs = shared.clone();
        let thread = std::thread::Builder::new().name(name).spawn(move || watch(&theirs, &isolate))?;
        Ok(Watchdog { shared, thread: Some(thread) })
    }

    /// Watches for `deadline` (replacing any earlier one). A firing not yet collected by
    /// [`take_fired`](Self::take_fired) or [`disarm`](Self::disarm) is kept.
    pub fn arm(&self, deadline: Instant) {
        let (lock, signal) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
        state.deadline = Some(deadline);
        signal.notify_one();
    }

    /// Whether the deadline fired since last asked; keeps watching any deadline still set.
    pub fn take_fired(&self) -> bool {
        let (lock, _) = &*self.shared;
        std::mem::take(&mut lock.lock().unwrap_or_else(|p| p.into_inner()).fired)
    }

    /// Stops watching; returns whether the deadline fired (the caller must then cancel the
    /// termination so the next call runs normally).
    pub fn disarm(&self) -> bool {
        let (lock, _) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
        state.deadline = None;
        std::mem::take(&mut state.fired)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        {
            let (lock, signal) = &*self.shared;
            lock.lock().unwrap_or_else(|p| p.into_inner()).shutdown = true;
            signal.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(shared: &(Mutex<State>, Condvar), isolate: &v8::IsolateHandle) {
    let (lock, signal) = shared;
    let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
    while !state.shutdown {
        state = match state.deadline {
            None => signal.wait(state).unwrap_or_else(|p| p.into_inner()),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    isolate.terminate_execution();
                    state.fired = true;
                    state.deadline = None;
                    state
                } else {
                    signal.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0
                }
            }
        };
    }
}
