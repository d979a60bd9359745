//! Reading a request body within bounds: a size cap (smaller while the caller is unknown), a
//! deadline for the whole body, and one byte budget shared by every request in flight, so that
//! many slow or large bodies together cannot take the memory of the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than {limit} bytes (--max-body)")]
    TooLarge { limit: usize },
    #[error(
        "a request body is read before it is authenticated only up to {limit} bytes \
         (--max-unauthenticated-body); send X-Parse-Application-Id in the headers"
    )]
    TooLargeUnauthenticated { limit: usize },
    #[error("the server is reading too many request bodies at once (--max-body-memory); try again")]
    Busy,
    #[error("the request body did not arrive within {} s (--body-timeout)", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the request body could not be read: {0}")]
    Broken(String),
}

/// Bytes of bodies held by requests in flight, against `--max-body-memory`.
#[derive(Debug)]
pub struct BodyBudget {
    used: AtomicUsize,
    cap: usize,
}

impl BodyBudget {
    pub fn new(cap: usize) -> Arc<BodyBudget> {
        Arc::new(BodyBudget { used: AtomicUsize::new(0), cap })
    }

    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.cap)
            })
            .is_ok()
    }
}

/// A share of the budget, given back when the request that holds it is answered.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

impl Reservation {
    fn new(budget: &Arc<BodyBudget>, bytes: usize) -> Result<Reservation, BodyError> {
        if !budget.take(bytes) {
            return Err(BodyError::Busy);
        }
        Ok(Reservation { budget: budget.clone(), bytes })
    }

    /// Makes the reservation cover `total` bytes.
    fn cover(&mut self, total: usize) -> Result<(), BodyError> {
        if total > self.bytes {
            if !self.budget.take(total - self.bytes) {
                return Err(BodyError::Busy);
            }
            self.bytes = total;
        }
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The bounds one body is read within.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub limit: usize,
    /// The limit is the one for requests whose headers did not authenticate them.
    pub unauthenticated: bool,
    pub timeout: Duration,
}

impl Bounds {
    fn too_large(&self) -> BodyError {
        if self.unauthenticated {
            BodyError::TooLargeUnauthenticated { limit: self.limit }
        } else {
            BodyError::TooLarge { limit: self.limit }
        }
    }
}

/// Reads `body` whole. A declared `Content-Length` over the limit or the budget is refused
/// before a byte is read; a chunked body is checked as it arrives.
pub async fn read(
    body: Incoming,
    declared: Option<usize>,
    bounds: Bounds,
    budget: &Arc<BodyBudget>,
) -> Result<(Bytes, Reservation), BodyError> {
    if declared.is_some_and(|n| n > bounds.limit) {
        return Err(bounds.too_large());
    }
    let mut reservation = Reservation::new(budget, declared.unwrap_or(0))?;
    let collect = async {
        let mut body = body;
        let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
            let Ok(data) = frame.into_data() else { continue };
            let total = buffer.len() + data.len();
            if total > bounds.limit {
                return Err(bounds.too_large());
            }
            reservation.cover(total)?;
            buffer.extend_from_slice(&data);
        }
        Ok(buffer.freeze())
    };
    match tokio::time::timeout(bounds.timeout, collect).await {
        Ok(Ok(bytes)) => Ok((bytes, reservation)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BodyError::Timeout(bounds.timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = BodyBudget::new(100);
        let first = Reservation::new(&budget, 60).unwrap();
        assert!(matches!(Reservation::new(&budget, 50), Err(BodyError::Busy)));
        let mut second = Reservation::new(&budget, 0).unwrap();
        second.cover(40).unwrap();
        assert!(matches!(second.cover(41), Err(BodyError::Busy)));
        drop(first);
        second.cover(100).unwrap();
        drop(second);
        assert_eq!(budget.used.load(Ordering::Acquire), 0);
    }
}
