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
}

impl Registry {
    pub fn new(handlers: &Handlers) -> Self {
        Registry { functions: handlers.functions.iter().cloned().collect() }
    }

    /// The handler for cloud function `name`, if there is one.
    pub fn function(&self, name: &str) -> Option<Handler> {
        self.functions.contains(name).then_some(Handler::CloudCode)
    }
}
