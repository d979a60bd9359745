//! Who is calling: application id and keys checked against the configuration, giving a
//! [`Caller`]. Credentials come from `X-Parse-*` headers or, as the official JS SDK sends them,
//! from `_ApplicationId`-style fields of a `text/plain` JSON body; a header wins over the body.

use crate::config::Keys;
use crate::error::Unauthorized;

/// Credentials as presented by one request, before they are checked.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    pub app_id: Option<String>,
    pub master_key: Option<String>,
    /// REST API, JavaScript, client or Windows key: any one of them may carry the client key.
    pub client_keys: Vec<String>,
    pub session_token: Option<String>,
    pub installation_id: Option<String>,
}

/// The checked identity of a request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The master key was presented (and was right).
    pub master: bool,
    pub installation_id: Option<String>,
}

/// Checks the keys: the app id must match; a master key, when sent, must be right; when the
/// server has a client key, a non-master request must carry it.
pub fn authenticate(keys: &Keys, credentials: &Credentials) -> Result<Caller, Unauthorized> {
    if credentials.app_id.as_deref() != Some(keys.app_id.as_str()) {
        return Err(Unauthorized);
    }
    let master = match &credentials.master_key {
        Some(presented) if constant_time_eq(presented, &keys.master_key) => true,
        Some(_) => return Err(Unauthorized),
        None => false,
    };
    if !master {
        if let Some(client_key) = &keys.client_key {
            if !credentials.client_keys.iter().any(|k| constant_time_eq(k, client_key)) {
                return Err(Unauthorized);
            }
        }
    }
    Ok(Caller { master, installation_id: credentials.installation_id.clone() })
}

/// Compares secrets without leaking through timing where they first differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(client_key: Option<&str>) -> Keys {
        Keys { app_id: "app".into(), master_key: "master".into(), client_key: client_key.map(Into::into) }
    }

    fn credentials(app_id: &str) -> Credentials {
        Credentials { app_id: Some(app_id.into()), ..Default::default() }
    }

    #[test]
    fn app_id_must_match() {
        assert!(authenticate(&keys(None), &credentials("app")).is_ok());
        assert!(authenticate(&keys(None), &credentials("other")).is_err());
        assert!(authenticate(&keys(None), &Credentials::default()).is_err());
    }

    #[test]
    fn master_key_must_be_right_when_sent() {
        let mut c = credentials("app");
        c.master_key = Some("master".into());
        assert!(authenticate(&keys(None), &c).unwrap().master);
        c.master_key = Some("masteR".into());
        assert!(authenticate(&keys(None), &c).is_err());
    }

    #[test]
    fn client_key_required_only_when_configured_and_not_master() {
        let mut c = credentials("app");
        assert!(authenticate(&keys(Some("ck")), &c).is_err());
        c.client_keys.push("ck".into());
        assert!(!authenticate(&keys(Some("ck")), &c).unwrap().master);
        let mut m = credentials("app");
        m.master_key = Some("master".into());
        assert!(authenticate(&keys(Some("ck")), &m).is_ok());
    }
}
