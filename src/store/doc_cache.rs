//! The decoded-object cache in front of sled: a bounded set of recently read or written
//! documents, so that a hot object is decoded once, not on every read, while memory stays
//! bounded however many objects the store holds.
//!
//! Eviction is CLOCK (second chance): each entry has a "referenced" bit a hit sets, and the
//! hand clears bits until it finds an entry nobody read since its last pass. That approximates
//! LRU without moving entries on every hit, so a hit costs one hash lookup under its shard's
//! lock. The cache is split into shards by key hash so that the two cores rarely wait on each
//! other.
//!
//! A miss decodes outside the lock, so a write could land between a reader's sled read and its
//! insert and leave the older document cached. Each shard therefore counts its writes: a reader
//! notes the count before reading sled ([`DocCache::ticket`]) and its insert is dropped if any
//! write reached the shard meanwhile ([`DocCache::fill`]). Writers always replace
//! ([`DocCache::put`], [`DocCache::remove`]) after sled has the change.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::Document;

/// Shards: a power of two well above the core count, so contention is rare.
const SHARDS: usize = 16;

/// What a decoded document costs in memory per byte of its JSON: maps, `Value`s and small
/// strings weigh several times the text they came from: a ~170-byte Parse object decodes into a
/// B-tree node of ~640 bytes plus one small allocation per key and string value.
const DECODED_BYTES_PER_JSON_BYTE: usize = 6;
/// A decoded document's fixed cost beyond its fields: the Arc, the map header and this
/// cache's own entry (its keys in the map and in the CLOCK circle).
const ENTRY_OVERHEAD_BYTES: usize = 256;

/// (class, objectId), as the CLOCK circle holds it.
type Key = (Box<str>, Box<str>);

/// The cache; cheap to share by reference.
pub struct DocCache {
    shards: Vec<Mutex<Shard>>,
    /// Each shard's share of the budget.
    shard_budget: usize,
}

/// Proof of the write count a miss started under; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    writes: u64,
}

#[derive(Default)]
struct Shard {
    /// class → objectId → slot, nested so that a lookup borrows the caller's strings instead
    /// of allocating a key.
    entries: HashMap<Box<str>, HashMap<Box<str>, Slot>>,
    /// Live entries (the sum of the inner maps' lengths).
    len: usize,
    /// The CLOCK hand's circle. May hold keys already removed (skipped when reached) so that a
    /// removal need not search it; `ghosts` counts them so that the circle is compacted before
    /// it outgrows the live entries.
    clock: VecDeque<Key>,
    ghosts: usize,
    bytes: usize,
    writes: u64,
}

struct Slot {
    doc: Arc<Document>,
    cost: usize,
    referenced: bool,
}

/// What keeping a document decoded costs, estimated from its stored JSON size.
pub fn cost_of(json_len: usize) -> usize {
    json_len.saturating_mul(DECODED_BYTES_PER_JSON_BYTE).saturating_add(ENTRY_OVERHEAD_BYTES)
}

impl DocCache {
    /// A cache holding about `budget_bytes` of decoded documents. A budget of 0 caches nothing.
    pub fn new(budget_bytes: usize) -> DocCache {
        DocCache { shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(), shard_budget: budget_bytes / SHARDS }
    }

    fn shard(&self, class: &str, id: &str) -> MutexGuard<'_, Shard> {
        let mut hasher = DefaultHasher::new();
        (class, id).hash(&mut hasher);
        let shard = (hasher.finish() as usize) % SHARDS;
        self.shards[shard].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached document, marked as recently used.
    pub fn get(&self, class: &str, id: &str) -> Option<Arc<Document>> {
        let mut shard = self.shard(class, id);
        let slot = shard.entries.get_mut(class)?.get_mut(id)?;
        slot.referenced = true;
        Some(Arc::clone(&slot.doc))
    }

    /// Whether the document is cached, without marking it used (a scan passing by must not
    /// keep everything it saw alive).
    pub fn peek(&self, class: &str, id: &str) -> Option<Arc<Document>> {
        self.shard(class, id).entries.get(class)?.get(id).map(|slot| Arc::clone(&slot.doc))
    }

    /// Taken before a miss reads sled.
    pub fn ticket(&self, class: &str, id: &str) -> Ticket {
        Ticket { writes: self.shard(class, id).writes }
    }

    /// Caches what a miss decoded, unless a write reached the shard since `ticket` (the
    /// decoded document may then be older than the stored one) or the key is cached already.
    pub fn fill(&self, class: &str, id: &str, doc: &Arc<Document>, cost: usize, ticket: Ticket) {
        let mut shard = self.shard(class, id);
        if shard.writes != ticket.writes || shard.entries.get(class).is_some_and(|ids| ids.contains_key(id)) {
            return;
        }
        shard.insert(class, id, Arc::clone(doc), cost, self.shard_budget);
    }

    /// Records a write that sled has accepted: the new document replaces any cached one.
    pub fn put(&self, class: &str, id: &str, doc: Arc<Document>, cost: usize) {
        let mut shard = self.shard(class, id);
        shard.writes += 1;
        shard.insert(class, id, doc, cost, self.shard_budget);
    }

    /// Records a delete (or a write whose result is not worth keeping decoded).
    pub fn remove(&self, class: &str, id: &str) {
        let mut shard = self.shard(class, id);
        shard.writes += 1;
        shard.forget(class, id);
    }

    /// Decoded bytes held, as estimated by [`cost_of`].
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner).bytes).sum()
    }
}

impl Shard {
    fn insert(&mut self, class: &str, id: &str, doc: Arc<Document>, cost: usize, budget: usize) {
        if cost > budget {
            self.forget(class, id);
            return;
        }
        let ids = match self.entries.get_mut(class) {
            Some(ids) => ids,
            None => self.entries.entry(class.into()).or_default(),
        };
        match ids.entry(id.into()) {
            Entry::Occupied(mut occupied) => {
                let slot = occupied.get_mut();
                self.bytes = self.bytes - slot.cost + cost;
                *slot = Slot { doc, cost, referenced: true };
            }
            Entry::Vacant(vacant) => {
                self.clock.push_back((class.into(), id.into()));
                vacant.insert(Slot { doc, cost, referenced: false });
                self.bytes += cost;
                self.len += 1;
            }
        }
        self.evict(budget);
    }

    fn forget(&mut self, class: &str, id: &str) {
        if self.take(class, id).is_some() {
            self.ghosts += 1;
            if self.ghosts > self.len {
                let entries = &self.entries;
                self.clock.retain(|(class, id)| entries.get(class).is_some_and(|ids| ids.contains_key(id)));
                self.ghosts = 0;
            }
        }
    }

    /// Removes an entry, dropping its class's map once empty.
    fn take(&mut self, class: &str, id: &str) -> Option<Slot> {
        let ids = self.entries.get_mut(class)?;
        let slot = ids.remove(id)?;
        if ids.is_empty() {
            self.entries.remove(class);
        }
        self.bytes -= slot.cost;
        self.len -= 1;
        Some(slot)
    }

    /// Turns the hand until the shard fits its budget.
    fn evict(&mut self, budget: usize) {
        while self.bytes > budget {
            let Some((class, id)) = self.clock.pop_front() else { return };
            let Some(slot) = self.entries.get_mut(&class).and_then(|ids| ids.get_mut(&id)) else {
                self.ghosts = self.ghosts.saturating_sub(1);
                continue;
            };
            if slot.referenced {
                slot.referenced = false;
                self.clock.push_back((class, id));
            } else {
                self.take(&class, &id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(n: u64) -> Arc<Document> {
        Arc::new(json!({"n": n}).as_object().unwrap().clone())
    }

    #[test]
    fn stays_within_its_budget_and_keeps_what_is_read() {
        let cache = DocCache::new(SHARDS * 1_000);
        cache.put("C", "hot", doc(0), 100);
        for n in 0..1_000u64 {
            cache.put("C", &n.to_string(), doc(n), 100);
            assert!(cache.get("C", "hot").is_some(), "a document read between writes survives the hand");
        }
        assert!(cache.bytes() <= SHARDS * 1_000, "{} bytes held", cache.bytes());
        assert!(cache.get("C", "0").is_none(), "cold entries were evicted");
        assert_eq!(cache.get("C", "999").unwrap(), doc(999));
    }

    #[test]
    fn a_miss_filled_after_a_write_is_dropped() {
        let cache = DocCache::new(1 << 20);
        let ticket = cache.ticket("C", "a");
        cache.put("C", "a", doc(2), 10);
        cache.remove("C", "a");
        cache.fill("C", "a", &doc(1), 10, ticket);
        assert!(cache.get("C", "a").is_none(), "the older document read before the write is not cached");
        let ticket = cache.ticket("C", "a");
        cache.fill("C", "a", &doc(3), 10, ticket);
        assert_eq!(cache.get("C", "a").unwrap(), doc(3));
    }

    #[test]
    fn removal_and_oversized_documents_free_their_bytes() {
        let cache = DocCache::new(SHARDS * 1_000);
        cache.put("C", "a", doc(1), 500);
        cache.put("C", "a", doc(2), 2_000);
        assert!(cache.get("C", "a").is_none(), "a document larger than a shard is not kept, nor its older copy");
        for n in 0..100u64 {
            cache.put("C", &n.to_string(), doc(n), 10);
            cache.remove("C", &n.to_string());
        }
        assert_eq!(cache.bytes(), 0);
        assert!(cache.shards.iter().all(|s| s.lock().unwrap().clock.len() <= 1), "removed keys do not pile up");
    }
}
