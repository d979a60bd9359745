//! The script log: what cloud code printed (`console.*`, `request.log.*`) and how its
//! functions, triggers, jobs and webhooks failed, each line tagged with its handler. Parse
//! Server serves the same from its log files at `GET /scriptlog`; the dashboard's Logs page and
//! `cloudrt logs` read it from there.
//!
//! Bounded and persisted: the newest `--log-retention` lines are kept, in memory for queries
//! and in an append-only JSON-lines file `script.log` in the data directory, so they survive a
//! restart (even a `kill -9`: each line is written to the file before the call goes on). The
//! file is rewritten with only the kept lines once it holds twice as many, so it never grows
//! past twice the bound. A line longer than [`MAX_MESSAGE_BYTES`] is cut there.

pub mod capture;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Longest message kept for one line (bytes); the rest is cut, so one runaway
/// `console.log` cannot make a line the size of the whole retention.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

const FILE_NAME: &str = "script.log";

/// How serious a line is; `info` queries return every level, `error` queries only errors,
/// as Parse Server's info and error log files hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// One line of the log, in the shape `GET /scriptlog` answers (`timestamp` as ISO 8601 UTC).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub message: String,
    pub timestamp: String,
    pub level: Level,
    /// Milliseconds since the epoch, for range queries; not part of the answer.
    #[serde(skip)]
    pub millis: i64,
}

/// What a query asks for: Parse Server's `level`, `size`/`n`, `from`, `until`, `order`.
#[derive(Debug, Clone)]
pub struct Query {
    pub level: Level,
    pub limit: usize,
    /// Only lines at or after this instant (ms since the epoch).
    pub from: Option<i64>,
    /// Only lines at or before this instant.
    pub until: Option<i64>,
    /// Only lines strictly before this instant: the dashboard's `startDate` paging.
    pub before: Option<i64>,
    pub newest_first: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptLogError {
    #[error("cannot open the script log {0}: {1}")]
    Open(PathBuf, std::io::Error),
}

/// The log itself; shared by the capture layer (writer) and the API (reader).
pub struct ScriptLog {
    retention: usize,
    path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    entries: VecDeque<Entry>,
    file: File,
    lines_in_file: usize,
}

impl ScriptLog {
    /// Opens (or creates) the log in `data_dir`, keeping the newest `retention` lines.
    pub fn open(data_dir: &Path, retention: usize) -> Result<ScriptLog, ScriptLogError> {
        let path = data_dir.join(FILE_NAME);
        let fail = |e| ScriptLogError::Open(path.clone(), e);
        let mut entries = VecDeque::with_capacity(retention.min(4096));
        let (mut lines_in_file, mut torn) = (0, false);
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                lines_in_file += 1;
                // A line cut short by a crash mid-write is skipped, not fatal.
                if let Ok(mut entry) = serde_json::from_str::<Entry>(&line) {
                    entry.millis = crate::data::ids::millis_from_iso(&entry.timestamp).unwrap_or(0);
                    entries.push_back(entry);
                    if entries.len() > retention {
                        entries.pop_front();
                    }
                } else {
                    torn = true;
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(fail)?;
        let log = ScriptLog { retention, path: path.clone(), inner: Mutex::new(Inner { entries, file, lines_in_file }) };
        let mut inner = log.lock();
        // A torn line is rewritten away, so the next line does not start in the middle of it.
        if torn || inner.lines_in_file > retention {
            log.compact(&mut inner).map_err(fail)?;
        }
        drop(inner);
        Ok(log)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one line stamped now.
    pub fn append(&self, level: Level, message: &str) {
        let timestamp = crate::data::ids::now_iso();
        let millis = crate::data::ids::millis_from_iso(&timestamp).unwrap_or(0);
        let entry = Entry { message: cut(message).to_string(), timestamp, level, millis };
        let Ok(mut line) = serde_json::to_string(&entry) else { return };
        line.push('\n');
        let mut inner = self.lock();
        // A failed write loses this line from the file only; the log must never fail a call.
        if inner.file.write_all(line.as_bytes()).is_ok() {
            inner.lines_in_file += 1;
        }
        inner.entries.push_back(entry);
        if inner.entries.len() > self.retention {
            inner.entries.pop_front();
        }
        if inner.lines_in_file >= self.retention.saturating_mul(2) {
            let _ = self.compact(&mut inner);
        }
    }

    /// Rewrites the file with only the kept lines (write aside, then rename over).
    fn compact(&self, inner: &mut Inner) -> std::io::Result<()> {
        let aside = self.path.with_extension("log.new");
        let mut text = String::new();
        for entry in &inner.entries {
            if let Ok(line) = serde_json::to_string(entry) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        std::fs::write(&aside, text)?;
        std::fs::rename(&aside, &self.path)?;
        inner.file = OpenOptions::new().append(true).open(&self.path)?;
        inner.lines_in_file = inner.entries.len();
        Ok(())
    }

    /// The first `limit` lines a query selects, from the newest back (or, ascending, from the
    /// oldest on: `from` + `order=asc` reads forward without skipping any).
    pub fn query(&self, query: &Query) -> Vec<Entry> {
        let inner = self.lock();
        let selected = inner.entries.iter().filter(|e| {
            (query.level != Level::Error || e.level == Level::Error)
                && query.from.is_none_or(|from| e.millis >= from)
                && query.until.is_none_or(|until| e.millis <= until)
                && query.before.is_none_or(|before| e.millis < before)
        });
        if query.newest_first {
            selected.rev().take(query.limit).cloned().collect()
        } else {
            selected.take(query.limit).cloned().collect()
        }
    }

    pub fn retention(&self) -> usize {
        self.retention
    }
}

/// `message` cut to at most [`MAX_MESSAGE_BYTES`], on a character boundary.
fn cut(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cloudrt-script-log-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn all(level: Level) -> Query {
        Query { level, limit: usize::MAX, from: None, until: None, before: None, newest_first: true }
    }

    #[test]
    fn keeps_the_newest_lines_across_reopen_and_bounds_the_file() {
        let dir = dir("bound");
        let log = ScriptLog::open(&dir, 5).unwrap();
        for i in 0..23 {
            log.append(if i % 2 == 0 { Level::Info } else { Level::Error }, &format!("line {i}"));
        }
        let newest: Vec<String> = log.query(&all(Level::Info)).into_iter().map(|e| e.message).collect();
        assert_eq!(newest, ["line 22", "line 21", "line 20", "line 19", "line 18"]);
        let errors: Vec<String> = log.query(&all(Level::Error)).into_iter().map(|e| e.message).collect();
        assert_eq!(errors, ["line 21", "line 19"]);
        let lines = std::fs::read_to_string(dir.join(FILE_NAME)).unwrap().lines().count();
        assert!(lines < 10, "the file holds {lines} lines for a retention of 5");
        drop(log);
        let reopened = ScriptLog::open(&dir, 3).unwrap();
        let kept: Vec<String> = reopened.query(&all(Level::Info)).into_iter().map(|e| e.message).collect();
        assert_eq!(kept, ["line 22", "line 21", "line 20"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_long_lines_are_cut() {
        let dir = dir("torn");
        let log = ScriptLog::open(&dir, 10).unwrap();
        log.append(Level::Info, &"é".repeat(MAX_MESSAGE_BYTES));
        drop(log);
        let mut file = OpenOptions::new().append(true).open(dir.join(FILE_NAME)).unwrap();
        file.write_all(b"{\"message\":\"half").unwrap();
        let log = ScriptLog::open(&dir, 10).unwrap();
        let entries = log.query(&all(Level::Info));
        assert_eq!(entries.len(), 1);
        assert!(entries[0].message.len() <= MAX_MESSAGE_BYTES);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
