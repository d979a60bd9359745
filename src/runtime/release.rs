//! Which release of the cloud code is serving. Every successful load (start-up, then each
//! reload by `--watch` or SIGHUP) is a new [`Release`], numbered from 1; whoever shows the
//! cloud code (the dashboard's Cloud Code page) reads [`Releases::latest`] or waits on
//! [`Releases::subscribe`] to see a reload the moment it is committed.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{watch, Mutex, MutexGuard};

use super::{Handlers, Loaded};

/// One load of the cloud code that serves (or served) calls.
// `loaded_at` is read by the dashboard's Cloud Code page (branch `dashboard`), once merged.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct Release {
    /// 1 for the code loaded at start-up, one more for each reload.
    pub version: u64,
    /// When it started serving.
    pub loaded_at: SystemTime,
    /// The files its main.js ran at load time, relative to the cloud directory, main.js first.
    pub files: Vec<String>,
    /// What its main.js registered.
    pub handlers: Handlers,
}

/// The release serving now, and the lock that lets one reload run at a time.
pub struct Releases {
    latest: watch::Sender<Arc<Release>>,
    loading: Mutex<()>,
}

// `latest` and `subscribe` are for the dashboard's Cloud Code page (branch `dashboard`).
#[allow(dead_code)]
impl Releases {
    /// Starts with the code loaded at start-up as release 1.
    pub fn new(first: Loaded) -> Releases {
        let first = Release { version: 1, loaded_at: SystemTime::now(), files: first.files, handlers: first.handlers };
        Releases { latest: watch::Sender::new(Arc::new(first)), loading: Mutex::new(()) }
    }

    /// The release serving now.
    pub fn latest(&self) -> Arc<Release> {
        self.latest.borrow().clone()
    }

    /// Sees every release from now on (the current one is marked seen).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Release>> {
        self.latest.subscribe()
    }

    /// Held while a reload loads and commits, so two reloads (a file change and a SIGHUP)
    /// never interleave their steps.
    pub async fn lock(&self) -> MutexGuard<'_, ()> {
        self.loading.lock().await
    }

    /// Records `loaded` as the release serving now.
    pub fn publish(&self, loaded: Loaded) -> Arc<Release> {
        let version = self.latest.borrow().version + 1;
        let release = Arc::new(Release { version, loaded_at: SystemTime::now(), files: loaded.files, handlers: loaded.handlers });
        self.latest.send_replace(release.clone());
        release
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_publish_is_the_next_version_and_subscribers_see_it() {
        let releases = Releases::new(Loaded { files: vec!["main.js".into()], ..Default::default() });
        let mut seen = releases.subscribe();
        assert_eq!(releases.latest().version, 1);
        assert!(!seen.has_changed().unwrap());
        let next = releases.publish(Loaded { files: vec!["main.js".into(), "lib/a.js".into()], ..Default::default() });
        assert_eq!((next.version, releases.latest().files.len()), (2, 2));
        assert!(seen.has_changed().unwrap());
        assert_eq!(seen.borrow_and_update().version, 2);
    }
}
