//! The one handler registry: for a function, trigger or job name, which handler runs.
//! Cloud code registers its handlers at load time; webhooks are registered at run time
//! through the hooks API, and a webhook always wins over cloud code of the same name (the
//! seed's priority rule). Removing the webhook brings the cloud code back. A reload of the
//! cloud code replaces its names all at once; the webhooks stay as they are.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use serde_json::{Map, Value};

use crate::runtime::{Handlers, TriggerKind};

/// What answers a call by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handler {
    /// A handler defined by main.js, run on the JS pool.
    CloudCode,
    /// The user's own HTTPS endpoint.
    Webhook(String),
}

/// The webhooks registered now: function name → URL, (className, trigger) → URL.
#[derive(Debug, Default, Clone)]
pub struct Webhooks {
    pub functions: HashMap<String, String>,
    pub triggers: HashMap<(String, TriggerKind), String>,
}

impl Webhooks {
    /// The registrations stored as `_Hooks` rows (`{functionName, url}` or `{className,
    /// triggerName, url}`); a row that is neither, or names a trigger no webhook may answer,
    /// registers nothing.
    pub fn from_stored(rows: &[Map<String, Value>]) -> Webhooks {
        let mut webhooks = Webhooks::default();
        for row in rows {
            let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::to_string);
            match (text("functionName"), text("className"), text("triggerName"), text("url")) {
                (Some(name), None, _, Some(url)) => {
                    webhooks.functions.insert(name, url);
                }
                (None, Some(class), Some(trigger), Some(url)) => {
                    if let Some(kind) = webhook_trigger(&trigger) {
                        webhooks.triggers.insert((class, kind), url);
                    }
                }
                _ => {}
            }
        }
        webhooks
    }
}

/// The trigger kind `name` stands for, if a webhook may answer it.
pub fn webhook_trigger(name: &str) -> Option<TriggerKind> {
    name.parse().ok().filter(|kind| TriggerKind::WEBHOOK.contains(kind))
}

/// The names the cloud code now serving registered.
#[derive(Debug, Default)]
struct CloudCode {
    functions: HashSet<String>,
    triggers: HashSet<(String, TriggerKind)>,
    jobs: Vec<String>,
}

impl CloudCode {
    fn of(handlers: &Handlers) -> CloudCode {
        CloudCode {
            functions: handlers.functions.iter().cloned().collect(),
            triggers: handlers.triggers.iter().map(|t| (t.class_name.clone(), t.kind)).collect(),
            jobs: handlers.jobs.clone(),
        }
    }
}

/// Every handler name known to the server.
#[derive(Debug, Default)]
pub struct Registry {
    cloud: RwLock<CloudCode>,
    webhooks: RwLock<Webhooks>,
}

impl Registry {
    pub fn new(handlers: &Handlers, webhooks: Webhooks) -> Self {
        Registry { cloud: RwLock::new(CloudCode::of(handlers)), webhooks: RwLock::new(webhooks) }
    }

    /// The cloud code was reloaded: its names replace the old ones, all at once.
    pub fn replace_cloud_code(&self, handlers: &Handlers) {
        *self.cloud.write().unwrap_or_else(|p| p.into_inner()) = CloudCode::of(handlers);
    }

    fn cloud(&self) -> std::sync::RwLockReadGuard<'_, CloudCode> {
        self.cloud.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The handler for cloud function `name`, if there is one.
    pub fn function(&self, name: &str) -> Option<Handler> {
        if let Some(url) = self.webhooks.read().unwrap_or_else(|p| p.into_inner()).functions.get(name) {
            return Some(Handler::Webhook(url.clone()));
        }
        self.cloud().functions.contains(name).then_some(Handler::CloudCode)
    }

    /// The handler for the `kind` trigger of `class_name`, if there is one.
    pub fn trigger(&self, class_name: &str, kind: TriggerKind) -> Option<Handler> {
        let key = (class_name.to_string(), kind);
        if let Some(url) = self.webhooks.read().unwrap_or_else(|p| p.into_inner()).triggers.get(&key) {
            return Some(Handler::Webhook(url.clone()));
        }
        self.cloud().triggers.contains(&key).then_some(Handler::CloudCode)
    }

    /// The handler for background job `name`, if there is one.
    pub fn job(&self, name: &str) -> Option<Handler> {
        self.cloud().jobs.iter().any(|job| job == name).then_some(Handler::CloudCode)
    }

    /// Every job main.js defined, in definition order.
    pub fn job_names(&self) -> Vec<String> {
        self.cloud().jobs.clone()
    }

    /// Every function main.js defined, by name (whether a webhook shadows it or not).
    pub fn cloud_functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self.cloud().functions.iter().cloned().collect();
        names.sort();
        names
    }

    /// Every trigger main.js defined, as (className, kind).
    pub fn cloud_triggers(&self) -> Vec<(String, TriggerKind)> {
        let mut triggers: Vec<(String, TriggerKind)> = self.cloud().triggers.iter().cloned().collect();
        triggers.sort();
        triggers
    }

    /// Replaces every registered webhook with those stored now (another node changed them).
    pub fn replace_webhooks(&self, webhooks: Webhooks) {
        *self.webhooks.write().unwrap_or_else(|p| p.into_inner()) = webhooks;
    }

    /// Changes the registered webhooks (after the change is stored).
    pub fn update_webhooks(&self, change: impl FnOnce(&mut Webhooks)) {
        change(&mut self.webhooks.write().unwrap_or_else(|p| p.into_inner()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::TriggerRegistration;

    #[test]
    fn a_webhook_wins_over_cloud_code_until_removed() {
        let handlers = Handlers {
            functions: vec!["hello".into()],
            jobs: vec![],
            triggers: vec![TriggerRegistration { class_name: "Review".into(), kind: TriggerKind::BeforeSave }],
        };
        let registry = Registry::new(&handlers, Webhooks::default());
        assert_eq!(registry.function("hello"), Some(Handler::CloudCode));
        assert_eq!(registry.function("nope"), None);
        registry.update_webhooks(|w| {
            w.functions.insert("hello".into(), "https://h/1".into());
            w.triggers.insert(("Review".into(), TriggerKind::BeforeSave), "https://h/2".into());
        });
        assert_eq!(registry.function("hello"), Some(Handler::Webhook("https://h/1".into())));
        assert_eq!(registry.trigger("Review", TriggerKind::BeforeSave), Some(Handler::Webhook("https://h/2".into())));
        registry.update_webhooks(|w| w.functions.clear());
        assert_eq!(registry.function("hello"), Some(Handler::CloudCode));
    }

    #[test]
    fn stored_rows_register_functions_and_webhook_triggers_only() {
        let rows: Vec<Map<String, Value>> = serde_json::from_value(serde_json::json!([
            {"functionName": "hello", "url": "https://h/1"},
            {"className": "Review", "triggerName": "beforeSave", "url": "https://h/2"},
            {"className": "Review", "triggerName": "beforeLogin", "url": "https://h/3"},
            {"url": "https://h/4"},
        ]))
        .unwrap();
        let webhooks = Webhooks::from_stored(&rows);
        assert_eq!(webhooks.functions, HashMap::from([("hello".to_string(), "https://h/1".to_string())]));
        assert_eq!(webhooks.triggers, HashMap::from([(("Review".to_string(), TriggerKind::BeforeSave), "https://h/2".to_string())]));
    }

    #[test]
    fn a_reload_replaces_the_cloud_code_names_and_keeps_the_webhooks() {
        let before = Handlers { functions: vec!["old".into()], jobs: vec!["nightly".into()], triggers: vec![] };
        let registry = Registry::new(&before, Webhooks::default());
        registry.update_webhooks(|w| {
            w.functions.insert("hooked".into(), "https://h/1".into());
        });
        let after = Handlers { functions: vec!["new".into()], jobs: vec![], triggers: vec![] };
        registry.replace_cloud_code(&after);
        assert_eq!(registry.function("old"), None);
        assert_eq!(registry.function("new"), Some(Handler::CloudCode));
        assert_eq!(registry.job("nightly"), None);
        assert!(registry.job_names().is_empty());
        assert_eq!(registry.function("hooked"), Some(Handler::Webhook("https://h/1".into())));
    }
}
