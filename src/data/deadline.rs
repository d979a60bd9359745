//! The query deadline (`--query-timeout`): a query that scans for longer than the operator
//! allows stops with Parse error 124 instead of holding a thread and its memory indefinitely.

use std::time::{Duration, Instant};

use super::DataError;

/// How many objects a scan matches between two looks at the clock: often enough to stop
/// within a few milliseconds of the deadline, rarely enough to cost nothing.
pub const CHECK_EVERY: usize = 64;

/// When one query (with its subqueries) must be done.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    pub fn after(timeout: Duration) -> Deadline {
        let now = Instant::now();
        Deadline { at: now.checked_add(timeout).unwrap_or(now + Duration::from_secs(86_400 * 365)), timeout }
    }

    /// 124 once the deadline has passed.
    pub fn check(&self) -> Result<(), DataError> {
        if Instant::now() < self.at {
            return Ok(());
        }
        Err(DataError::QueryTimeout(self.timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_before_and_fails_after() {
        assert!(Deadline::after(Duration::from_secs(60)).check().is_ok());
        let passed = Deadline::after(Duration::ZERO);
        let error = passed.check().unwrap_err();
        assert_eq!(error.code(), 124);
        assert!(error.to_string().contains("--query-timeout"), "{}", error);
    }

    #[test]
    fn an_enormous_timeout_does_not_overflow() {
        assert!(Deadline::after(Duration::MAX).check().is_ok());
    }
}
