//! The files of a release: a snapshot of the cloud directory's files (path, SHA-256, source)
//! taken when the cloud code is loaded, which the dashboard's Cloud Code page shows. A snapshot, not
//! a live view of the disk: the page shows the code that runs, even after the files change on
//! disk, until a reload loads (and snapshots) the new code.
//!
//! Only what the loader itself could load is taken: regular files inside the cloud directory,
//! symlinks only when they resolve inside it (the loader's confinement rule).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use ring::digest::{digest, SHA256};

/// Most files and bytes one release snapshot holds; a larger cloud directory keeps the first
/// ones (by path) and leaves the rest out of the viewer, never out of the runtime.
const MAX_FILES: usize = 2_000;
const MAX_BYTES: usize = 32 * 1024 * 1024;

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseFile {
    /// Lower-case hex SHA-256 of the content.
    pub checksum: String,
    pub source: String,
}

/// The cloud code one load used.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeSnapshot {
    /// 1 for the code loaded at start, one more per reload.
    pub version: u64,
    /// When it was loaded, ISO 8601 UTC.
    pub loaded_at: String,
    /// Path relative to the cloud directory (`main.js`, `lib/util.js`) → file.
    pub files: BTreeMap<String, ReleaseFile>,
}

/// Why a file of the release cannot be served.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScriptError {
    #[error("invalid script path {0:?}: only files inside the cloud directory can be read (no absolute paths, no '..')")]
    Outside(String),
    #[error("no file {0:?} in the loaded cloud code")]
    NotFound(String),
    #[error("file {0:?} of that version is no longer loaded (the cloud code was reloaded); reload the page")]
    Stale(String),
}

impl CodeSnapshot {
    /// Snapshots `cloud_dir` (canonical) as release `version`, loaded at `loaded_at`.
    pub fn scan(cloud_dir: &Path, version: u64, loaded_at: String) -> CodeSnapshot {
        let mut files = BTreeMap::new();
        let mut bytes = 0;
        let mut pending = vec![cloud_dir.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for path in paths {
                // Symlinks count only when they resolve inside the cloud directory.
                let Ok(real) = path.canonicalize() else { continue };
                if !real.starts_with(cloud_dir) {
                    continue;
                }
                if real.is_dir() {
                    if path.file_name().is_some_and(|n| n != "node_modules" && !n.to_string_lossy().starts_with('.')) {
                        pending.push(path);
                    }
                    continue;
                }
                let Ok(relative) = path.strip_prefix(cloud_dir) else { continue };
                let Some(name) = relative.to_str().map(str::to_string) else { continue };
                let Ok(source) = std::fs::read_to_string(&real) else { continue };
                if files.len() >= MAX_FILES || bytes + source.len() > MAX_BYTES {
                    continue;
                }
                bytes += source.len();
                files.insert(name, ReleaseFile { checksum: hex(digest(&SHA256, source.as_bytes()).as_ref()), source });
            }
        }
        CodeSnapshot { version, loaded_at, files }
    }

    /// The file at `path` (relative to the cloud directory); `checksum`, when given, must be
    /// the one this release lists, so a page showing an older release learns it is stale.
    pub fn script(&self, path: &str, checksum: Option<&str>) -> Result<&ReleaseFile, ScriptError> {
        let confined = !path.is_empty()
            && !path.starts_with('/')
            && !path.contains('\\')
            && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)));
        if !confined {
            return Err(ScriptError::Outside(path.to_string()));
        }
        let file = self.files.get(path).ok_or_else(|| ScriptError::NotFound(path.to_string()))?;
        match checksum {
            Some(wanted) if !wanted.is_empty() && wanted != file.checksum => Err(ScriptError::Stale(path.to_string())),
            _ => Ok(file),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str) -> (PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(format!("cloudrt-release-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let cloud = root.join("cloud");
        std::fs::create_dir_all(cloud.join("lib")).unwrap();
        std::fs::write(cloud.join("main.js"), "require('./lib/util');").unwrap();
        std::fs::write(cloud.join("lib/util.js"), "module.exports = 1;").unwrap();
        std::fs::write(root.join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(root.join("secret.txt"), cloud.join("escape.js")).unwrap();
        std::os::unix::fs::symlink(cloud.join("main.js"), cloud.join("alias.js")).unwrap();
        (root.clone(), cloud.canonicalize().unwrap())
    }

    #[test]
    fn snapshots_the_cloud_directory_and_nothing_outside_it() {
        let (root, cloud) = project("scan");
        let release = CodeSnapshot::scan(&cloud, 1, "2026-01-01T00:00:00.000Z".into());
        let names: Vec<&str> = release.files.keys().map(String::as_str).collect();
        assert_eq!(names, ["alias.js", "lib/util.js", "main.js"]);
        let main = release.script("main.js", None).unwrap();
        assert_eq!(main.source, "require('./lib/util');");
        assert_eq!(main.checksum.len(), 64);
        assert_eq!(release.script("main.js", Some(&main.checksum)), Ok(main));
        assert_eq!(release.script("main.js", Some("0000")), Err(ScriptError::Stale("main.js".into())));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn refuses_paths_that_leave_the_cloud_directory() {
        let (root, cloud) = project("confine");
        let release = CodeSnapshot::scan(&cloud, 1, String::new());
        for path in ["../secret.txt", "../../etc/passwd", "/etc/passwd", "lib/../main.js", "./main.js", "", "a\\b"] {
            assert_eq!(release.script(path, None), Err(ScriptError::Outside(path.into())), "{path}");
        }
        assert_eq!(release.script("escape.js", None), Err(ScriptError::NotFound("escape.js".into())));
        let _ = std::fs::remove_dir_all(root);
    }
}
