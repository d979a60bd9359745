//! The moments cloud code can hook, by the names `Parse.Cloud` gives them. One enum instead of
//! strings, so a misspelt trigger is a compile error in Rust and an unknown one a clear error
//! at the hooks API; the JS side receives the same names (`as_str`) it registered them under.

use std::fmt;
use std::str::FromStr;

/// A trigger kind: what happens to an object (or a file, or a session) that runs the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TriggerKind {
    BeforeSave,
    AfterSave,
    BeforeDelete,
    AfterDelete,
    BeforeFind,
    AfterFind,
    BeforeLogin,
    AfterLogin,
    AfterLogout,
    BeforeSaveFile,
    AfterSaveFile,
    BeforeDeleteFile,
    AfterDeleteFile,
    /// cloudrt's auth adapter: validates the authData of one provider (the "class").
    AuthProvider,
}

impl TriggerKind {
    /// Every kind, in the order above.
    pub const ALL: [TriggerKind; 14] = [
        TriggerKind::BeforeSave,
        TriggerKind::AfterSave,
        TriggerKind::BeforeDelete,
        TriggerKind::AfterDelete,
        TriggerKind::BeforeFind,
        TriggerKind::AfterFind,
        TriggerKind::BeforeLogin,
        TriggerKind::AfterLogin,
        TriggerKind::AfterLogout,
        TriggerKind::BeforeSaveFile,
        TriggerKind::AfterSaveFile,
        TriggerKind::BeforeDeleteFile,
        TriggerKind::AfterDeleteFile,
        TriggerKind::AuthProvider,
    ];

    /// The kinds a webhook may answer (the seed's list; the others exist in cloud code only).
    pub const WEBHOOK: [TriggerKind; 4] =
        [TriggerKind::BeforeSave, TriggerKind::AfterSave, TriggerKind::BeforeDelete, TriggerKind::AfterDelete];

    /// The name as `Parse.Cloud` spells it (`beforeSave` …).
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::BeforeSave => "beforeSave",
            TriggerKind::AfterSave => "afterSave",
            TriggerKind::BeforeDelete => "beforeDelete",
            TriggerKind::AfterDelete => "afterDelete",
            TriggerKind::BeforeFind => "beforeFind",
            TriggerKind::AfterFind => "afterFind",
            TriggerKind::BeforeLogin => "beforeLogin",
            TriggerKind::AfterLogin => "afterLogin",
            TriggerKind::AfterLogout => "afterLogout",
            TriggerKind::BeforeSaveFile => "beforeSaveFile",
            TriggerKind::AfterSaveFile => "afterSaveFile",
            TriggerKind::BeforeDeleteFile => "beforeDeleteFile",
            TriggerKind::AfterDeleteFile => "afterDeleteFile",
            TriggerKind::AuthProvider => "authProvider",
        }
    }
}

impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no trigger kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown trigger name: {0}")]
pub struct UnknownTrigger(pub String);

impl FromStr for TriggerKind {
    type Err = UnknownTrigger;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        TriggerKind::ALL.into_iter().find(|kind| kind.as_str() == name).ok_or_else(|| UnknownTrigger(name.to_string()))
    }
}

/// One trigger main.js registered: which class, which moment. File triggers are registered
/// under Parse Server's pseudo-class `@File`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerRegistration {
    pub class_name: String,
    #[serde(rename = "triggerName")]
    pub kind: TriggerKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in TriggerKind::ALL {
            assert_eq!(kind.as_str().parse::<TriggerKind>(), Ok(kind));
            let json = format!("\"{kind}\"");
            assert_eq!(serde_json::from_str::<TriggerKind>(&json).unwrap(), kind);
        }
        assert_eq!("beforesave".parse::<TriggerKind>(), Err(UnknownTrigger("beforesave".into())));
    }
}
