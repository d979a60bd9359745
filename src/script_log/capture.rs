//! Feeds the script log from the server's own log: every event with target `cloud` (what cloud
//! code printed, and the failures of its handlers, already tagged `[function hello]` …) is
//! also appended to the [`ScriptLog`]. Capturing at the logging layer keeps the runtime free of
//! any knowledge of where its output is kept.

use std::fmt::Write;
use std::sync::{Arc, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level as TracingLevel, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::{Level, ScriptLog};

/// The target every cloud code line is logged under.
pub const TARGET: &str = "cloud";

/// A tracing layer that copies `cloud` events into the script log once one is attached (the
/// log lives in the data directory, known only after the configuration is read).
#[derive(Clone, Default)]
pub struct Capture {
    log: Arc<OnceLock<Arc<ScriptLog>>>,
}

impl Capture {
    /// From now on, `cloud` events go to `log`.
    pub fn attach(&self, log: Arc<ScriptLog>) {
        let _ = self.log.set(log);
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if metadata.target() != TARGET {
            return;
        }
        let Some(log) = self.log.get() else { return };
        let level = match *metadata.level() {
            TracingLevel::ERROR => Level::Error,
            TracingLevel::WARN => Level::Warn,
            TracingLevel::INFO => Level::Info,
            // Debug and trace lines stay in the server's log only, as Parse Server's files
            // keep info and above.
            _ => return,
        };
        let mut message = Message(String::new());
        event.record(&mut message);
        log.append(level, &message.0);
    }
}

/// The event's `message` field, then any other fields as `name=value`.
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}
