//! CommonJS module resolution, confined to the cloud directory.
//!
//! Parse.com resolved `require('cloud/name.js')` from the project root (the parent of `cloud/`)
//! and loaded nothing outside `cloud/`. Resolution happens here, in Rust, so the confinement
//! check cannot be bypassed from JavaScript: a path is first normalised lexically (so `../x`
//! is refused without touching the disk), then canonicalised (so a symlink pointing out is
//! refused too).

use std::path::{Component, Path, PathBuf};

/// Why a module could not be resolved; raised in JS as an `Error` with this message.
#[derive(Debug, thiserror::Error, PartialEq, deno_error::JsError)]
#[class(generic)]
pub enum ModuleError {
    #[error("Cannot find module '{0}'")]
    NotFound(String),
    #[error("Cannot load module '{0}': it resolves outside the cloud directory, and only modules in the cloud directory can be loaded")]
    OutsideCloudDir(String),
    #[error("Cannot load module '{0}': absolute paths are not allowed; use 'cloud/…' or a relative path")]
    Absolute(String),
    #[error("Cannot read module '{0}': {1}")]
    Unreadable(String, String),
}

/// The cloud directory and the project root above it, both canonical.
#[derive(Debug, Clone)]
pub struct ModuleRoot {
    cloud_dir: PathBuf,
    project_root: PathBuf,
}

impl ModuleRoot {
    /// `cloud_dir` must be canonical (config validation does that).
    pub fn new(cloud_dir: PathBuf) -> Self {
        let project_root = cloud_dir.parent().map(Path::to_path_buf).unwrap_or_else(|| cloud_dir.clone());
        ModuleRoot { cloud_dir, project_root }
    }

    pub fn main_module(&self) -> PathBuf {
        self.cloud_dir.join("main.js")
    }

    /// Resolves `specifier` as required from the module at `referrer`.
    ///
    /// `cloud/x` is relative to the project root; `./x` and `../x` to the referrer's folder;
    /// a bare `x` to the cloud directory. `.js`, `.json` and `/index.js` are tried in turn.
    pub fn resolve(&self, specifier: &str, referrer: &Path) -> Result<PathBuf, ModuleError> {
        if Path::new(specifier).is_absolute() {
            return Err(ModuleError::Absolute(specifier.to_string()));
        }
        let base = if specifier.starts_with("./") || specifier.starts_with("../") {
            referrer.parent().unwrap_or(&self.cloud_dir).to_path_buf()
        } else if specifier == "cloud" || specifier.starts_with("cloud/") {
            self.project_root.clone()
        } else {
            self.cloud_dir.clone()
        };
        let wanted = normalize(&base.join(specifier));
        if !wanted.starts_with(&self.cloud_dir) {
            return Err(ModuleError::OutsideCloudDir(specifier.to_string()));
        }
        let found = candidates(&wanted)
            .into_iter()
            .find(|path| path.is_file())
            .ok_or_else(|| ModuleError::NotFound(specifier.to_string()))?;
        let canonical = found
            .canonicalize()
            .map_err(|e| ModuleError::Unreadable(specifier.to_string(), e.to_string()))?;
        if !canonical.starts_with(&self.cloud_dir) {
            return Err(ModuleError::OutsideCloudDir(specifier.to_string()));
        }
        Ok(canonical)
    }

    /// `path` (a module [`resolve`](Self::resolve) returned) as written inside the cloud
    /// directory: `main.js`, `lib/a.js`.
    pub fn relative(&self, path: &str) -> String {
        Path::new(path)
            .strip_prefix(&self.cloud_dir)
            .map(|inside| inside.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.to_string())
    }

    /// Reads a module that [`resolve`](Self::resolve) returned.
    pub fn read(&self, path: &Path) -> Result<String, ModuleError> {
        if !path.starts_with(&self.cloud_dir) {
            return Err(ModuleError::OutsideCloudDir(path.display().to_string()));
        }
        std::fs::read_to_string(path)
            .map_err(|e| ModuleError::Unreadable(path.display().to_string(), e.to_string()))
    }
}

fn candidates(path: &Path) -> Vec<PathBuf> {
    let text = path.as_os_str().to_string_lossy();
    vec![
        path.to_path_buf(),
        PathBuf::from(format!("{text}.js")),
        PathBuf::from(format!("{text}.json")),
        path.join("index.js"),
    ]
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempdir::Dir, ModuleRoot) {
        let dir = tempdir::Dir::new();
        let cloud = dir.path().join("cloud");
        std::fs::create_dir_all(cloud.join("lib")).unwrap();
        std::fs::write(cloud.join("main.js"), "").unwrap();
        std::fs::write(cloud.join("name.js"), "").unwrap();
        std::fs::write(cloud.join("lib/index.js"), "").unwrap();
        std::fs::write(dir.path().join("secret.js"), "").unwrap();
        let root = ModuleRoot::new(cloud.canonicalize().unwrap());
        (dir, root)
    }

    /// A throwaway directory removed on drop (keeps the tests free of extra crates).
    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let path = std::env::temp_dir().join(format!("cloudrt-loader-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&path).unwrap();
                Dir(path.canonicalize().unwrap())
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn resolves_every_accepted_form() {
        let (_dir, root) = project();
        let main = root.main_module();
        let name = root.cloud_dir.join("name.js");
        assert_eq!(root.resolve("cloud/name.js", &main).unwrap(), name);
        assert_eq!(root.resolve("cloud/name", &main).unwrap(), name);
        assert_eq!(root.resolve("./name", &main).unwrap(), name);
        assert_eq!(root.resolve("name.js", &main).unwrap(), name);
        assert_eq!(root.resolve("../name", &root.cloud_dir.join("lib/index.js")).unwrap(), name);
        assert_eq!(root.resolve("./lib", &main).unwrap(), root.cloud_dir.join("lib/index.js"));
    }

    #[test]
    fn refuses_escapes_and_reports_missing_modules() {
        let (dir, root) = project();
        let main = root.main_module();
        assert_eq!(root.resolve("../secret.js", &main), Err(ModuleError::OutsideCloudDir("../secret.js".into())));
        assert_eq!(root.resolve("cloud/../secret", &main), Err(ModuleError::OutsideCloudDir("cloud/../secret".into())));
        let absolute = dir.path().join("secret.js").display().to_string();
        assert_eq!(root.resolve(&absolute, &main), Err(ModuleError::Absolute(absolute.clone())));
        assert_eq!(root.resolve("./nope", &main), Err(ModuleError::NotFound("./nope".into())));
    }

    #[test]
    fn refuses_a_symlink_pointing_out() {
        let (dir, root) = project();
        std::os::unix::fs::symlink(dir.path().join("secret.js"), root.cloud_dir.join("link.js")).unwrap();
        assert_eq!(
            root.resolve("./link.js", &root.main_module()),
            Err(ModuleError::OutsideCloudDir("./link.js".into()))
        );
    }
}
