//! Which release of the cloud code is serving. Every successful load (start-up, then each
//! reload by `--watch` or SIGHUP) is a new [`Release`], numbered from 1, so the log and the
//! Cloud Code viewer can say which code answers.

use std::sync::{Arc, PoisonError};

use tokio::sync::{Mutex, MutexGuard};

use super::{Handlers, Loaded};

/// One load of the cloud code that serves (or served) calls.
#[derive(Debug, Clone)]
pub struct Release {
    /// 1 for the code loaded at start-up, one more for each reload.
    pub version: u64,
    /// The files its main.js ran at load time, relative to the cloud directory, main.js first.
    pub files: Vec<String>,
    /// What its main.js registered.
    pub handlers: Handlers,
}

/// The release serving now, and the lock that lets one reload run at a time.
pub struct Releases {
    latest: std::sync::Mutex<Arc<Release>>,
    loading: Mutex<()>,
}

impl Releases {
    /// Starts with the code loaded at start-up as release 1.
    pub fn new(first: Loaded) -> Releases {
        let first = Release { version: 1, files: first.files, handlers: first.handlers };
        Releases { latest: std::sync::Mutex::new(Arc::new(first)), loading: Mutex::new(()) }
    }

    /// Held while a reload loads and commits, so two reloads (a file change and a SIGHUP)
    /// never interleave their steps.
    pub async fn lock(&self) -> MutexGuard<'_, ()> {
        self.loading.lock().await
    }

    /// Records `loaded` as the release serving now.
    pub fn publish(&self, loaded: Loaded) -> Arc<Release> {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        let release = Arc::new(Release { version: latest.version + 1, files: loaded.files, handlers: loaded.handlers });
        *latest = release.clone();
        release
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_publish_is_the_next_version() {
        let releases = Releases::new(Loaded { files: vec!["main.js".into()], ..Default::default() });
        let next = releases.publish(Loaded { files: vec!["main.js".into(), "lib/a.js".into()], ..Default::default() });
        assert_eq!((next.version, next.files.len()), (2, 2));
        assert_eq!(releases.publish(Loaded::default()).version, 3);
    }
}
