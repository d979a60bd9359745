//! `authData`: the third-party identities (`{"anonymous": {"id": …}, "myProvider": {…}}`) a
//! `_User` row is linked to, as Parse stores them.
//!
//! A client sends the providers it links (`{provider: {...}}`) and those it unlinks
//! (`{provider: null}`); what is stored is the user's authData with those changes merged in,
//! never the client's object as given, or one link request would drop every other provider.
//! Each linked `(provider, id)` belongs to one user at most; that rule is kept by the same
//! claims as usernames ([`super::unique`]), so a log-in by authData is a lookup, not a scan.

use serde_json::{Map, Value};

use super::DataError;

/// The provider Parse builds in: a device's random id, nothing to verify.
pub const ANONYMOUS: &str = "anonymous";

/// Longest provider id kept: ids of real providers are far shorter, and each is held in memory.
const MAX_ID_LEN: usize = 1024;

/// One provider of a request's authData: linked with its data, or unlinked (`null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub provider: String,
    pub data: Option<Map<String, Value>>,
}

impl Link {
    /// The provider's user id, which the claims index by.
    pub fn id(&self) -> Option<String> {
        self.data.as_ref().and_then(provider_id)
    }
}

/// A provider's `id` as the claims hold it: a string, or a number written out.
fn provider_id(data: &Map<String, Value>) -> Option<String> {
    match data.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    }
}

/// Reads a request's `authData`. A value that is not an object is 111 (the field's type is
/// Object); a provider with a bad name, data that is neither an object nor `null`, or data
/// without an `id` is 107, before anything is looked up or stored.
pub fn parse(value: &Value) -> Result<Vec<Link>, DataError> {
    let Value::Object(providers) = value else {
        return Err(DataError::AuthDataNotObject);
    };
    let malformed = DataError::InvalidAuthData;
    let mut links = Vec::with_capacity(providers.len());
    for (provider, data) in providers {
        if super::schema::validate_field_name(provider).is_err() {
            return Err(malformed(format!("Invalid authentication provider name: {provider}.")));
        }
        let data = match data {
            Value::Null => None,
            Value::Object(data) => {
                let id = provider_id(data).ok_or_else(|| malformed(format!("The authData of {provider} needs an id.")))?;
                if id.len() > MAX_ID_LEN {
                    return Err(malformed(format!("The authData id of {provider} is longer than {MAX_ID_LEN} bytes.")));
                }
                Some(data.clone())
            }
            _ => return Err(malformed(format!("The authData of {provider} must be an object or null."))),
        };
        links.push(Link { provider: provider.clone(), data });
    }
    Ok(links)
}

/// Whether a request's links log in or link anything (as opposed to only unlinking).
pub fn links_any(links: &[Link]) -> bool {
    links.iter().any(|link| link.data.is_some())
}

/// The authData to store: `stored` (the user's current authData, if any) with `links` applied.
pub fn merged(stored: Option<&Value>, links: &[Link]) -> Map<String, Value> {
    let mut out = stored.and_then(Value::as_object).cloned().unwrap_or_default();
    for link in links {
        match &link.data {
            Some(data) => out.insert(link.provider.clone(), Value::Object(data.clone())),
            None => out.remove(&link.provider),
        };
    }
    out
}

/// Every `(provider, id)` a stored user is linked to.
pub fn ids_of(user: &Map<String, Value>) -> Vec<(String, String)> {
    let Some(Value::Object(providers)) = user.get("authData") else { return Vec::new() };
    providers
        .iter()
        .filter_map(|(provider, data)| Some((provider.clone(), provider_id(data.as_object()?)?)))
        .collect()
}

/// The identities `after` links and `before` did not: what a user's update newly claims.
pub fn newly_linked(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<(String, String)> {
    let held = ids_of(before);
    ids_of(after).into_iter().filter(|identity| !held.contains(identity)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    #[test]
    fn parses_links_and_unlinks_and_refuses_malformed_data() {
        let links = parse(&json!({"anonymous": {"id": "abc"}, "facebook": null, "game": {"id": 42}})).unwrap();
        assert_eq!(links.len(), 3);
        assert_eq!(links.iter().filter_map(Link::id).collect::<Vec<_>>(), ["abc", "42"]);
        assert!(links_any(&links));
        assert!(!links_any(&parse(&json!({"facebook": null})).unwrap()));
        assert_eq!(parse(&json!("x")).unwrap_err().code(), ErrorCode::INCORRECT_TYPE.0);
        for bad in [json!({"anonymous": {}}), json!({"anonymous": "abc"}), json!({"an on": {"id": "1"}}), json!({"a": {"id": ""}})] {
            assert_eq!(parse(&bad).unwrap_err().code(), ErrorCode::INVALID_JSON.0, "{bad}");
        }
    }

    #[test]
    fn merging_keeps_other_providers_and_removes_unlinked_ones() {
        let stored = json!({"anonymous": {"id": "a"}, "game": {"id": "g"}});
        let links = parse(&json!({"anonymous": null, "other": {"id": "o"}})).unwrap();
        let merged = Value::Object(merged(Some(&stored), &links));
        assert_eq!(merged, json!({"game": {"id": "g"}, "other": {"id": "o"}}));
        let user = json!({"authData": merged}).as_object().unwrap().clone();
        assert_eq!(ids_of(&user), [("game".to_string(), "g".to_string()), ("other".to_string(), "o".to_string())]);
    }

    #[test]
    fn newly_linked_names_only_the_identities_an_update_adds() {
        let user = |auth: Value| json!({"authData": auth}).as_object().unwrap().clone();
        let before = user(json!({"anonymous": {"id": "a"}}));
        let after = user(json!({"anonymous": {"id": "a"}, "game": {"id": "g"}}));
        assert_eq!(newly_linked(&before, &after), [("game".to_string(), "g".to_string())]);
        assert!(newly_linked(&after, &before).is_empty(), "an unlink claims nothing");
        assert!(newly_linked(&after, &after).is_empty());
    }
}
