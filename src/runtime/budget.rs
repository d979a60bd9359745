//! What one cloud-code request (a function call, a trigger run from REST, a job run) may use,
//! shared by everything it causes on its worker: its deadline and its `httpRequest` slots.
//! Many calls are in flight on one runtime, so the budgets live in a table keyed by call id:
//! JS passes the id of the call it runs for (its request scope, js/00_console.js) to every op,
//! and a call that has been answered has no entry any more, so what it left running is refused.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// At most this many `Parse.Cloud.httpRequest`s run at once per request; more wait (the seed).
pub const HTTP_CONCURRENCY: usize = 8;

/// The budget of the request running on a worker.
#[derive(Clone)]
pub struct RequestBudget {
    /// When the request's deadline passes (a function's 15 s, a job's 15 min).
    pub deadline: Instant,
    /// Slots for outgoing HTTP requests.
    pub http_slots: Rc<Semaphore>,
}

impl RequestBudget {
    pub fn new(deadline: Instant) -> RequestBudget {
        RequestBudget { deadline, http_slots: Rc::new(Semaphore::new(HTTP_CONCURRENCY)) }
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// Names one call in flight on a worker; unique on that worker.
pub type CallId = u64;

/// The budgets of the calls in flight on a worker (kept in its op state).
#[derive(Default)]
pub struct CallBudgets(HashMap<CallId, RequestBudget>);

impl CallBudgets {
    pub fn get(&self, call: CallId) -> Option<&RequestBudget> {
        self.0.get(&call)
    }

    pub fn insert(&mut self, call: CallId, budget: RequestBudget) {
        self.0.insert(call, budget);
    }

    pub fn remove(&mut self, call: CallId) {
        self.0.remove(&call);
    }
}

/// Settings of `Parse.Cloud.httpRequest`, from the command line.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Per-request timeout (`--http-timeout`, Parse.com's 60 s).
    pub timeout: Duration,
    /// Largest response body read (`--http-max-body`).
    pub max_body: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_deadline_leaves_no_time() {
        assert_eq!(RequestBudget::new(Instant::now() - Duration::from_secs(1)).remaining(), Duration::ZERO);
        let later = RequestBudget::new(Instant::now() + Duration::from_secs(60));
        assert!(later.remaining() > Duration::from_secs(59));
        assert_eq!(later.http_slots.available_permits(), HTTP_CONCURRENCY);
    }

    #[test]
    fn an_answered_call_has_no_budget_left_to_spend() {
        let mut budgets = CallBudgets::default();
        budgets.insert(7, RequestBudget::new(Instant::now() + Duration::from_secs(1)));
        assert!(budgets.get(7).is_some());
        assert!(budgets.get(8).is_none(), "budgets are per call");
        budgets.remove(7);
        assert!(budgets.get(7).is_none());
    }
}
