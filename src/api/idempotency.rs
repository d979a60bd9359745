//! `--idempotency`: which requests are deduplicated by their `X-Parse-Request-Id` (Parse
//! Server's `idempotencyOptions`). Checked at the front door only, for the client's own request:
//! the calls cloud code makes while serving it carry the same headers and must not count as
//! repeats.

use crate::config::IdempotencySettings;
use crate::data::idempotency::RequestIds;
use crate::error::ParseError;
use crate::store::Store;

/// The routes covered and the ids seen.
pub struct Idempotency {
    settings: IdempotencySettings,
    ids: RequestIds,
}

impl Idempotency {
    pub fn new(settings: IdempotencySettings) -> Idempotency {
        let ids = RequestIds::new(settings.ttl);
        Idempotency { settings, ids }
    }

    /// Whether a request is one Parse Server deduplicates: a POST or PUT (functions and jobs
    /// are POSTs) of a covered route.
    fn covers(&self, method: &str, route: &str) -> bool {
        matches!(method, "POST" | "PUT") && self.settings.paths.iter().any(|path| path.is_match(route.trim_matches('/')))
    }

    /// Claims the request's id when its route is covered; 159 for a repeat within the TTL.
    pub fn check(&self, store: &dyn Store, method: &str, route: &str, request_id: Option<&str>) -> Result<(), ParseError> {
        match request_id {
            Some(id) if self.covers(method, route) => Ok(self.ids.claim(store, id)?),
            _ => Ok(()),
        }
    }
}
