//! The one handler registry: for a function, trigger or job name, which handler runs.
//! Cloud code registers its handlers at load time; webhooks (registered at run time through
//! the hooks API) will be consulted first here, as the seed says a webhook always wins.

use std::collections::HashSet;

use crate::runtime::Handlers;

/// What answers a call by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// A handler defined by main.js, run on the JS pool.
    CloudCode,
}

/// Every handler name known to the server.
#[derive(Debug, Default)]
pub struct Registry {
    functions: HashSet<String>,
    /// (className, triggerName)
    triggers: HashSet<(String, String)>,
    jobs: Vec<String>,
}

impl Registry {
    pub fn new(handlers: &Handlers) -> Self {
        Registry {
            functions: handlers.functions.iter().cloned().collect(),
            triggers: handlers.triggers.iter().map(|t| (t.class_name.clone(), t.trigger_name.clone())).collect(),
            jobs: handlers.jobs.clone(),
        }
    }

    /// The handler for background job `name`, if there is one.
    pub fn job(&self, name: &str) -> Option<Handler> {
        self.jobs.iter().any(|job| job == name).then_some(Handler::CloudCode)
    }

    /// Every job main.js defined, in definition order.
    pub fn job_names(&self) -> &[String] {
        &self.jobs
    }

    /// The handler for trigger `trigger_name` (beforeSave …) of `class_name`, if there is one.
    pub fn trigger(&self, class_name: &str, trigger_name: &str) -> Option<Handler> {
        self.triggers
            .contains(&(class_name.to_string(), trigger_name.to_string()))
            .then_some(Handler::CloudCode)
    }

    /// The handler for cloud function `name`, if there is one.
    pub fn function(&self, name: &str) -> Option<Handler> {
        self.functions.contains(name).then_some(Handler::CloudCode)
    }
}
