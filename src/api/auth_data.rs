//! authData through the API: which user a request's identities belong to, and each provider's
//! validation before anything is linked.
//!
//! `anonymous` is built in and accepts any id, as Parse Server's. Every other provider is
//! validated by the app's own cloud code, `Parse.Cloud.authProvider(name, handler)`: this
//! server cannot reach Facebook or Apple, and an identity nobody checked must not log anyone
//! in. A provider with neither is refused with 252 before any lookup or write.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{trigger_timeout, Api, Ctx};
use crate::data::auth_data::{self, Link, ANONYMOUS};
use crate::data::DataError;
use crate::error::ParseError;
use crate::registry::Handler;
use crate::runtime::{Target, TriggerKind};

/// The links of a `_User` body's `authData`; `None` when it has none. `authData: null` is
/// 252, as Parse Server answers it.
pub fn links_of(body: &Map<String, Value>) -> Result<Option<Vec<Link>>, ParseError> {
    match body.get("authData") {
        None => Ok(None),
        Some(Value::Null) => Err(DataError::UnsupportedAuthProvider.into()),
        Some(value) => Ok(Some(auth_data::parse(value)?)),
    }
}

/// The one user the linked identities belong to, if any; 208 when they belong to two.
pub fn linked_user(api: &Api, links: &[Link]) -> Result<Option<String>, ParseError> {
    let mut found: Option<String> = None;
    for link in links {
        let Some(id) = link.id() else { continue };
        let Some(holder) = api.db.user_id_by_auth_data(&link.provider, &id)? else { continue };
        match &found {
            Some(other) if *other != holder => return Err(DataError::AccountAlreadyLinked.into()),
            _ => found = Some(holder),
        }
    }
    Ok(found)
}

/// Refuses links whose identity another user than `user_id` holds (208).
pub fn check_not_linked_elsewhere(api: &Api, user_id: &str, links: &[Link]) -> Result<(), ParseError> {
    match linked_user(api, links)? {
        Some(holder) if holder != user_id => Err(DataError::AccountAlreadyLinked.into()),
        _ => Ok(()),
    }
}

/// Validates every provider being linked, in name order as Parse Server does (so one that
/// fails stops the rest). Answers the links with the data to store: an adapter may answer
/// `{save: …}` to store something else than what the client sent.
pub async fn validate(api: &Arc<Api>, ctx: &Ctx, mut links: Vec<Link>, user: Value) -> Result<Vec<Link>, ParseError> {
    links.sort_by(|a, b| a.provider.cmp(&b.provider));
    for link in &mut links {
        let Some(data) = &link.data else { continue };
        if link.provider == ANONYMOUS {
            continue;
        }
        if // An adapter is registered as a trigger of its provider (the "class"), so the registry
        // and the worker's dispatch need no new kind of handler.
        api.registry.trigger(&link.provider, TriggerKind::AuthProvider) != Some(Handler::CloudCode) {
            return Err(DataError::UnsupportedAuthProvider.into());
        }
        let request = json!({
            "authData": data,
            "provider": link.provider,
            "user": user,
            "master": ctx.master,
            "installationId": ctx.installation_id,
            "headers": ctx.headers,
            "ip": ctx.ip,
        });
        let target = Target::Trigger { class_name: link.provider.clone(), kind: TriggerKind::AuthProvider };
        let reply = ctx.cloud_code_runs_on.run(target, request.to_string(), trigger_timeout(api)).await?;
        if let Ok(Value::Object(mut reply)) = serde_json::from_str::<Value>(&reply) {
            if let Some(Value::Object(save)) = reply.remove("save") {
                link.data = Some(save);
            }
        }
    }
    auth_data::parse(&Value::Object(links.iter().map(|l| (l.provider.clone(), l.data.clone().map_or(Value::Null, Value::Object))).collect()))
        .map_err(ParseError::from)
}

/// The providers a session was started by, as `createdWith.authProvider` names them.
pub fn provider_names(links: &[Link]) -> String {
    links.iter().filter(|l| l.data.is_some()).map(|l| l.provider.as_str()).collect::<Vec<_>>().join(",")
}
