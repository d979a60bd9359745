//! Several cloudrt processes ("nodes") on one shared store: what one node tells the others, and
//! the few duties only one of them may carry out at a time.
//!
//! A node caches what it derives from stored data (schemas, webhook registrations, the role
//! graph); when another node changes that data, the cache must follow within a second, so the
//! store tells every node what changed. Schedules must run once per occurrence however many
//! nodes there are, so one node at a time is the leader. A store only one process can open
//! (sled locks its directory) has no [`Nodes`] at all.

/// What another node changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The schema of the class changed (fields, columns, permissions, indexes) or the class was
    /// deleted.
    Schema(String),
    /// Objects of a watched class (see [`Nodes::watch`]) were written or deleted.
    Objects(String),
    /// Changes may have been missed (the node's link to the others was lost for a while):
    /// everything derived from stored data should be read again.
    Everything,
}

/// Called with each change another node made.
pub type OnChange = Box<dyn Fn(&Change) + Send + Sync>;

/// This node among the others sharing the store.
pub trait Nodes: Send + Sync {
    /// This node's id, unique among the nodes running now.
    fn id(&self) -> &str;

    /// Whether this node is the leader now: the one node that runs schedules and cleans up
    /// after nodes that stopped. Another node takes over soon after the leader stops.
    fn is_leader(&self) -> bool;

    /// Whether the node `id` is still running (it holds its link to the store open).
    fn is_running(&self, id: &str) -> Result<bool, super::StoreError>;

    /// From now on, tells the other nodes about every write to objects of `classes` (as well as
    /// every schema change, always told), and calls `on_change` with what they tell this node.
    fn watch(&self, classes: &[&str], on_change: OnChange);
}
