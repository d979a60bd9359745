//! `_Idempotency`: the request ids (`X-Parse-Request-Id`) seen lately, so that a client
//! retrying a write whose answer it lost does not make the write twice.
//!
//! Each id is a row of the master-only `_Idempotency` class keyed by the id itself, so the
//! check and the claim are one insert (the store refuses a second row under one key, which
//! no race can slip past) and survive a restart. A row past its `expire` frees its id; expired
//! rows are swept at most once per TTL, so the class stays as large as one TTL of requests.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::ids;
use super::DataError;
use crate::store::{Store, StoreError};

pub const IDEMPOTENCY: &str = "_Idempotency";

/// Longest request id kept (the SDKs send a 36-character UUID).
pub const MAX_ID_LEN: usize = 128;

/// Remembers request ids for `ttl`.
pub struct RequestIds {
    ttl: Duration,
    last_sweep: Mutex<Option<Instant>>,
}

fn expire_of(row: &Map<String, Value>) -> Option<i64> {
    row.get("expire").and_then(|e| e.get("iso")).and_then(Value::as_str).and_then(ids::millis_from_iso)
}

impl RequestIds {
    pub fn new(ttl: Duration) -> RequestIds {
        RequestIds { ttl, last_sweep: Mutex::new(None) }
    }

    /// Claims `id` for one TTL: 159 "Duplicate request" if it is claimed already; 162 for an
    /// id that is empty, too long or holds control characters.
    pub fn claim(&self, store: &dyn Store, id: &str) -> Result<(), DataError> {
        if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
            return Err(DataError::InvalidRequestId);
        }
        let now_iso = ids::now_iso();
        let now = ids::millis_from_iso(&now_iso).unwrap_or(0);
        self.sweep(store, now)?;
        let expire = ids::iso_from_millis(now + self.ttl.as_millis() as i64);
        let row: Map<String, Value> = json!({
            "objectId": id,
            "reqId": id,
            "expire": {"__type": "Date", "iso": expire},
            "createdAt": now_iso,
            "updatedAt": now_iso,
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        match store.insert(IDEMPOTENCY, id, row.clone()) {
            Ok(()) => {}
            Err(StoreError::Duplicate) => {
                let held = store.get(IDEMPOTENCY, id)?;
                match held {
                    Some(held) if expire_of(&held).is_none_or(|expire| expire > now) => return Err(DataError::DuplicateRequest),
                    // Expired: the id is free again; a racing reuse loses on the compare.
                    Some(held) => match store.update(IDEMPOTENCY, id, row, Some(&held)) {
                        Ok(()) => {}
                        Err(StoreError::Conflict | StoreError::NotFound) => return Err(DataError::DuplicateRequest),
                        Err(error) => return Err(error.into()),
                    },
                    None => return Err(DataError::DuplicateRequest),
                }
            }
            Err(error) => return Err(error.into()),
        }
        store.sync().map_err(DataError::from)
    }

    /// Deletes expired rows, once per TTL at most.
    fn sweep(&self, store: &dyn Store, now: i64) -> Result<(), DataError> {
        {
            let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < self.ttl) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let mut expired = Vec::new();
        store
            .scan(IDEMPOTENCY, &mut |row| {
                if expire_of(&row).is_some_and(|expire| expire <= now) {
                    if let Some(id) = row.get("objectId").and_then(Value::as_str) {
                        expired.push(id.to_owned());
                    }
                }
                true
            })
            ?;
        for id in expired {
            match store.delete(IDEMPOTENCY, &id) {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn an_id_is_refused_until_it_expires() {
        let dir = std::env::temp_dir().join(format!("cloudrt-idempotency-{}", std::process::id()));
        let store = crate::store::SledStore::open(&dir).unwrap();
        let ids = RequestIds::new(Duration::from_millis(200));
        ids.claim(&store, "req-1").unwrap();
        assert_eq!(ids.claim(&store, "req-1").unwrap_err().code(), ErrorCode::DUPLICATE_REQUEST.0);
        ids.claim(&store, "req-2").expect("another id is free");
        for bad in ["", "a\u{0}b", &"x".repeat(200)] {
            assert_eq!(ids.claim(&store, bad).unwrap_err().code(), ErrorCode::INVALID_VALUE.0);
        }
        std::thread::sleep(Duration::from_millis(250));
        ids.claim(&store, "req-1").expect("an expired id is free again");
        let mut rows = 0;
        store.scan(IDEMPOTENCY, &mut |_| { rows += 1; true }).unwrap();
        assert_eq!(rows, 1, "the sweep removed req-2, req-1 was claimed anew");
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
