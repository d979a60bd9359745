//! A scan of a large sled key range on two threads.
//!
//! sled 0.34 yields about half a million entries a second per thread (each `next` pins an epoch,
//! searches its node again and, past the page cache, reads and decodes the page from the log),
//! so an unindexed query over a million objects is bound by the iterator, not by matching. Two
//! threads over the two halves of the key range halve that. The visitor is the caller's (not
//! `Send`, and it may stop the scan), so the second thread only tests and decodes entries and
//! hands what it accepts to the caller, which visits them between its own entries.
//!
//! A small range never pays for the thread: the split happens only once this thread has read
//! [`SPLIT_AFTER`] entries and more remain.

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use sled::IVec;

/// Entries read on the calling thread before the rest is split: a scan this short ends in a
/// few milliseconds, less than a thread's start-up would save.
const SPLIT_AFTER: usize = 16_384;
/// Accepted entries the second thread may be ahead of the caller by.
const QUEUE: usize = 1_024;
/// How often (in entries of its own) the caller visits what the second thread has accepted.
const DRAIN_EVERY: usize = 32;

/// What one entry became: `accept`'s answer, or sled's failure.
type Found<T> = sled::Result<T>;

/// The test and decoding of one entry (key, value), shared by both threads; None skips it.
pub(super) type Accept<'a, T> = &'a (dyn Fn(&[u8], &[u8]) -> Option<T> + Sync);

/// Visits `accept(key, value)` of each entry of `tree` from `from` on, in no particular order,
/// until `visit` answers false (then `Ok(false)`). `accept` answers None for an entry to skip.
pub(super) fn scan<T: Send>(
    tree: &sled::Tree,
    from: &[u8],
    accept: Accept<'_, T>,
    visit: &mut dyn FnMut(T) -> bool,
) -> sled::Result<bool> {
    let mut entries = tree.range(from..);
    let mut last_read: Option<IVec> = None;
    for _ in 0..SPLIT_AFTER {
        let Some(entry) = entries.next() else { return Ok(true) };
        let (key, value) = entry?;
        if let Some(found) = accept(&key, &value) {
            if !visit(found) {
                return Ok(false);
            }
        }
        last_read = Some(key);
    }
    let split = match (&last_read, tree.last()?) {
        (Some(read), Some((last, _))) => midpoint(read, &last).map(|middle| (read.clone(), middle)),
        _ => None,
    };
    let Some((read, middle)) = split else {
        for entry in entries {
            let (key, value) = entry?;
            if let Some(found) = accept(&key, &value) {
                if !visit(found) {
                    return Ok(false);
                }
            }
        }
        return Ok(true);
    };
    drop(entries);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<Found<T>>(QUEUE);
        let upper_half = middle.clone();
        let stop_flag = &stop;
        scope.spawn(move || {
            for entry in tree.range(upper_half.as_slice()..) {
                if stop_flag.load(Ordering::Relaxed) {
                    return;
                }
                let found = match entry {
                    Ok((key, value)) => match accept(&key, &value) {
                        Some(found) => Ok(found),
                        None => continue,
                    },
                    Err(error) => Err(error),
                };
                let failed = found.is_err();
                if sender.send(found).is_err() || failed {
                    return;
                }
            }
        });
        let outcome = visit_both(tree, read, middle, &receiver, accept, visit);
        // Ends the second thread early when the caller stopped: its next send fails.
        stop.store(true, Ordering::Relaxed);
        drop(receiver);
        outcome
    })
}

/// The caller's half (`read` excluded to `middle` excluded), with the second thread's finds
/// visited as they come, then the rest of those.
fn visit_both<T>(
    tree: &sled::Tree,
    read: IVec,
    middle: Vec<u8>,
    theirs: &mpsc::Receiver<Found<T>>,
    accept: Accept<'_, T>,
    visit: &mut dyn FnMut(T) -> bool,
) -> sled::Result<bool> {
    let own = tree.range::<&[u8], _>((Bound::Excluded(read.as_ref()), Bound::Excluded(middle.as_slice())));
    for (n, entry) in own.enumerate() {
        let (key, value) = entry?;
        if let Some(found) = accept(&key, &value) {
            if !visit(found) {
                return Ok(false);
            }
        }
        if n % DRAIN_EVERY == 0 {
            while let Ok(found) = theirs.try_recv() {
                if !visit(found?) {
                    return Ok(false);
                }
            }
        }
    }
    for found in theirs.iter() {
        if !visit(found?) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A key strictly between `low` and `high` by their first eight bytes, near the middle of the
/// keys between them when those are spread evenly (random objectIds are); None when the two are
/// too close to split.
fn midpoint(low: &[u8], high: &[u8]) -> Option<Vec<u8>> {
    let number = |key: &[u8]| {
        let mut bytes = [0u8; 8];
        let len = key.len().min(8);
        bytes[..len].copy_from_slice(&key[..len]);
        u64::from_be_bytes(bytes)
    };
    let (low, high) = (number(low), number(high));
    if high <= low.saturating_add(1) {
        return None;
    }
    Some((low + (high - low) / 2).to_be_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_midpoint_lies_strictly_between() {
        let cases: [(&[u8], &[u8]); 4] =
            [(b"0000000000", b"zzzzzzzzzz"), (b"a", b"b"), (b"abcdefgh1", b"abcdefgh9"), (b"Ab", b"z")];
        for (low, high) in cases {
            match midpoint(low, high) {
                Some(middle) => assert!(low < middle.as_slice() && middle.as_slice() < high, "{low:?} {middle:?} {high:?}"),
                None => assert_eq!(low[..8.min(low.len())], high[..8.min(high.len())], "only equal prefixes refuse"),
            }
        }
        assert!(midpoint(b"abcdefgh1", b"abcdefgh9").is_none());
    }

    #[test]
    fn a_split_scan_visits_every_entry_once_and_stops_when_asked() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let total = SPLIT_AFTER * 3 + 17;
        for n in 0..total {
            // Spread like objectIds: the first bytes vary most.
            let key = format!("{:08x}", (n as u64).wrapping_mul(0x9E37_79B9) as u32);
            tree.insert(key.as_bytes(), n.to_string().as_bytes()).unwrap();
        }
        tree.insert(b"\0lookup", b"x".as_slice()).unwrap();
        let accept = |_key: &[u8], value: &[u8]| -> Option<usize> { std::str::from_utf8(value).ok()?.parse().ok() };
        let mut seen = vec![0u32; total];
        let completed = scan(&tree, &[1], &accept, &mut |n| {
            seen[n] += 1;
            true
        })
        .unwrap();
        assert!(completed);
        assert!(seen.iter().all(|&count| count == 1), "every entry exactly once");

        let odd_only = |_key: &[u8], value: &[u8]| -> Option<usize> {
            let n: usize = std::str::from_utf8(value).ok()?.parse().ok()?;
            (n % 2 == 1).then_some(n)
        };
        let mut visited = 0;
        let completed = scan(&tree, &[1], &odd_only, &mut |n| {
            assert_eq!(n % 2, 1, "a refused entry is never visited");
            visited += 1;
            visited < SPLIT_AFTER
        })
        .unwrap();
        assert!(!completed, "the visitor stopped it");
        assert_eq!(visited, SPLIT_AFTER);
    }
}
