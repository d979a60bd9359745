//! `GET /serverInfo` (master key): what the server is and which dashboard features it serves.
//! Parse Dashboard reads it first and shows a page only when its feature is on, so each flag
//! here says what cloudrt really answers.

use std::sync::Arc;

use serde_json::{json, Value};

use super::context::{master_required, Api, Ctx, Reply};
use super::schemas;
use crate::error::ParseError;

/// The Parse Server release whose REST behaviour cloudrt follows. A plain semver: the
/// dashboard compares it with `semver.gte` (3.7.0 and 3.9.0 unlock field options and Config's
/// master-key-only switch, 7.0.0 is its supported floor), and a pre-release tag would fail
/// every such check.
pub const PARSE_SERVER_VERSION: &str = "7.0.0";

fn features() -> Value {
    let crud = json!({ "create": true, "read": true, "update": true, "delete": true });
    json!({
        "globalConfig": crud,
        "hooks": crud,
        "cloudCode": { "jobs": true, "viewCode": true },
        "logs": { "level": true, "size": true, "order": true, "until": true, "from": true },
        "push": {
            "immediatePush": false, "scheduledPush": false, "storedPushData": false,
            "pushAudiences": false, "localization": false,
        },
        "schemas": schemas::features(),
    })
}

pub fn get(_api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    Ok(Reply::json(&json!({
        "parseServerVersion": PARSE_SERVER_VERSION,
        "cloudrtVersion": env!("CARGO_PKG_VERSION"),
        "features": features(),
    })))
}
