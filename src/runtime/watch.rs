//! `--watch`: notices when a file under the cloud directory changes, by polling the files'
//! sizes and modification times (no file-notification crate is available to this build, and a
//! cloud directory is a handful of files, so a poll costs microseconds). A burst of writes (an
//! editor saving several files, a `git checkout`) is one change: it is reported once the
//! directory has looked the same for [`SETTLE`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How often the directory is looked at.
const POLL: Duration = Duration::from_millis(250);

/// How long the directory must stay unchanged before a change is reported.
const SETTLE: Duration = Duration::from_millis(200);

/// Most entries looked at per poll: past it the directory is not cloud code but something
/// else (a checkout of a whole project), and polling it would cost real time.
const MAX_ENTRIES: usize = 10_000;

/// Each file's size and modification time, by path.
type Snapshot = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

/// Watches `dir` on a thread of its own; calls `changed` after each settled change. Stops
/// when `changed` answers false (nobody listens any more). The files as they are now are the
/// starting point: any write after this returns is a change.
pub fn spawn(dir: PathBuf, changed: impl Fn() -> bool + Send + 'static) -> std::io::Result<()> {
    let mut seen = snapshot(&dir);
    std::thread::Builder::new().name("cloudrt-watch".into()).spawn(move || {
        loop {
            std::thread::sleep(POLL);
            let mut now = snapshot(&dir);
            if now == seen {
                continue;
            }
            // Wait for the burst of writes to end.
            loop {
                std::thread::sleep(SETTLE);
                let later = snapshot(&dir);
                if later == now {
                    break;
                }
                now = later;
            }
            seen = now;
            if !changed() {
                return;
            }
        }
    })?;
    Ok(())
}

/// The files under `dir`, skipping hidden ones and editor backups (`.main.js.swp`, `main.js~`),
/// which change while the user types without changing the code.
fn snapshot(dir: &Path) -> Snapshot {
    let mut files = Snapshot::new();
    let mut pending = vec![dir.to_path_buf()];
    let mut entries = 0;
    while let Some(folder) = pending.pop() {
        let Ok(listing) = std::fs::read_dir(&folder) else { continue };
        for entry in listing.flatten() {
            entries += 1;
            if entries > MAX_ENTRIES {
                return files;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.ends_with('~') {
                continue;
            }
            let Ok(meta) = std::fs::metadata(entry.path()) else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                files.insert(entry.path(), (meta.len(), meta.modified().ok()));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_sees_writes_and_new_files_but_not_editor_backups() {
        let dir = std::env::temp_dir().join(format!("cloudrt-watch-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("main.js"), "1").unwrap();
        let first = snapshot(&dir);
        std::fs::write(dir.join(".main.js.swp"), "x").unwrap();
        std::fs::write(dir.join("main.js~"), "x").unwrap();
        assert_eq!(snapshot(&dir), first);
        std::fs::write(dir.join("main.js"), "22").unwrap();
        let second = snapshot(&dir);
        assert_ne!(second, first);
        std::fs::write(dir.join("lib/a.js"), "").unwrap();
        assert_eq!(snapshot(&dir).len(), second.len() + 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
