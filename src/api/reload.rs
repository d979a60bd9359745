//! Hot reload: the cloud code is loaded again, on a file change under the cloud directory
//! (`--watch`) or on SIGHUP, while the server keeps serving.
//!
//! Every worker (the function pool's and the job pool's) first loads the new main.js beside
//! the code it runs; only when all have loaded it do they switch, and then the registry takes
//! the new names. A main.js that does not load (a syntax error, a throw at top level) changes
//! nothing: the old code keeps serving and the error is logged with its file and line. Calls
//! in flight finish on the code they started with.

use std::sync::Arc;

use super::context::Api;
use crate::data::ids;
use crate::runtime::code_snapshot::CodeSnapshot;
use crate::runtime::{BootError, Handlers, Release};

/// Why the cloud code is loaded again, for the log.
#[derive(Debug, Clone, Copy)]
pub enum Cause {
    FileChanged,
    Hangup,
}

/// Loads the cloud code again and switches every worker to it; the old code stays if it fails.
pub async fn reload(api: &Api) -> Result<Arc<Release>, BootError> {
    let _one_at_a_time = api.releases.lock().await;
    let loaded = api.pool.stage().await?;
    if let Err(e) = api.jobs.pool.stage().await {
        api.pool.abort();
        return Err(e);
    }
    api.pool.commit().await;
    api.jobs.pool.commit().await;
    api.registry.replace_cloud_code(&loaded.handlers);
    let release = api.releases.publish(loaded);
    // The Cloud Code viewer shows the files of the code that now serves.
    api.code_viewer.install(CodeSnapshot::scan(&api.config.cloud_dir, release.version, ids::now_iso()));
    Ok(release)
}

/// What asks for reloads: SIGHUP always, file changes under the cloud directory with `watch`.
pub struct Reloads(tokio::sync::mpsc::UnboundedReceiver<Cause>);

/// Starts listening for reloads. Called before the server says it is listening, so that a
/// SIGHUP from then on reloads instead of ending the process (its default action), and a file
/// written from then on is seen as a change.
pub fn listen(cloud_dir: &std::path::Path, watch: bool) -> Reloads {
    let (causes, wanted) = tokio::sync::mpsc::unbounded_channel();
    if watch {
        let changed = causes.clone();
        let spawned = crate::runtime::watch::spawn(cloud_dir.to_path_buf(), move || changed.send(Cause::FileChanged).is_ok());
        if let Err(e) = spawned {
            tracing::error!("--watch: cannot watch {}: {e}", cloud_dir.display());
        }
    }
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangups) => {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    if causes.send(Cause::Hangup).is_err() {
                        return;
                    }
                }
            });
        }
        Err(e) => tracing::error!("cannot listen for SIGHUP (reloads on SIGHUP are off): {e}"),
    }
    Reloads(wanted)
}

/// Reloads each time one is asked for, until the server stops. The outcome is logged; the
/// handler lines are printed again as at start-up.
pub async fn run_reloader(api: Arc<Api>, reloads: Reloads) {
    let Reloads(mut wanted) = reloads;
    while let Some(cause) = wanted.recv().await {
        // Asks that came in while waiting are covered by this load, which reads every file anew.
        while wanted.try_recv().is_ok() {}
        let why = match cause {
            Cause::FileChanged => "a file changed",
            Cause::Hangup => "SIGHUP",
        };
        match reload(&api).await {
            Ok(release) => {
                tracing::info!(
                    "cloud code reloaded ({why}): release {}, files {}",
                    release.version,
                    release.files.join(", ")
                );
                println!("cloudrt: reloaded the cloud code ({why}): release {}", release.version);
                print_handlers(&release.handlers);
            }
            Err(e) => tracing::error!(
                "cloud code not reloaded ({why}); the previous release keeps serving: cannot load {}: {e}",
                api.config.cloud_dir.join("main.js").display()
            ),
        }
    }
}

/// One start-up line per handler main.js registered.
pub fn print_handlers(handlers: &Handlers) {
    for name in &handlers.functions {
        println!("cloudrt: function {name}");
    }
    for trigger in &handlers.triggers {
        println!("cloudrt: trigger {} {}", trigger.kind, trigger.class_name);
    }
    for name in &handlers.jobs {
        println!("cloudrt: job {name}");
    }
}
