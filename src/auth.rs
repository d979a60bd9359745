//! Who is calling: application id and keys checked against the configuration, giving a
//! [`Caller`]. Credentials come from `X-Parse-*` headers or, as the official JS SDK sends them,
//! from `_ApplicationId`-style fields of a `text/plain` JSON body; a header wins over the body.
//! The master key counts only from the addresses of `--master-key-ips`.

pub mod ip_list;

use std::net::IpAddr;

use subtle::ConstantTimeEq;

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

/// Checks the keys: the app id must match; a master key, when sent, must be right and come
/// from an allowed address; when the server has a client key, a non-master request must carry it.
pub fn authenticate(keys: &Keys, credentials: &Credentials, peer: IpAddr) -> Result<Caller, Unauthorized> {
    if credentials.app_id.as_deref() != Some(keys.app_id.as_str()) {
        return Err(Unauthorized);
    }
    let master = match &credentials.master_key {
        Some(presented) if wrong_master_beside_client_key(keys, presented, credentials) => false,
        Some(presented) => {
            master_key_accepted(keys, presented, peer)?;
            true
        }
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

/// What the headers alone say, before a body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderCheck {
    /// The headers authenticate the request on their own.
    Authenticated,
    /// The headers lack what the body may still carry (the SDK's text/plain form).
    Undecided,
}

/// Checks the credentials a request's headers carry, so that a request with a wrong app id
/// or key is refused before its body costs anything; only missing credentials stay open.
pub fn check_headers(keys: &Keys, headers: &Credentials, peer: IpAddr) -> Result<HeaderCheck, Unauthorized> {
    let Some(app_id) = &headers.app_id else {
        return Ok(HeaderCheck::Undecided);
    };
    if app_id != &keys.app_id {
        return Err(Unauthorized);
    }
    if let Some(presented) = &headers.master_key {
        if wrong_master_beside_client_key(keys, presented, headers) {
            return Ok(HeaderCheck::Authenticated);
        }
        master_key_accepted(keys, presented, peer)?;
        return Ok(HeaderCheck::Authenticated);
    }
    match &keys.client_key {
        Some(_) if headers.client_keys.is_empty() => Ok(HeaderCheck::Undecided),
        Some(_) => authenticate(keys, headers, peer).map(|_| HeaderCheck::Authenticated),
        None => Ok(HeaderCheck::Authenticated),
    }
}

/// Parse Server's rule: a wrong master key sent next to a valid client key is no master key
/// at all (the request goes on as a client's), where alone it is refused. A browser app that
/// sends a stale master key beside its JavaScript key keeps working as a client.
fn wrong_master_beside_client_key(keys: &Keys, presented: &str, credentials: &Credentials) -> bool {
    let Some(client_key) = &keys.client_key else { return false };
    !constant_time_eq(presented, &keys.master_key) && credentials.client_keys.iter().any(|k| constant_time_eq(k, client_key))
}

/// A right master key from an address outside `--master-key-ips` is refused like a wrong
/// one (the client learns nothing), and the log says why.
fn master_key_accepted(keys: &Keys, presented: &str, peer: IpAddr) -> Result<(), Unauthorized> {
    if !constant_time_eq(presented, &keys.master_key) {
        return Err(Unauthorized);
    }
    if !keys.master_key_ips.allows(peer) {
        tracing::warn!("the master key was refused from {peer}: the address is not in --master-key-ips");
        return Err(Unauthorized);
    }
    Ok(())
}

/// Compares secrets without leaking through timing where they first differ (`subtle` keeps the
/// optimiser from turning the comparison back into an early exit).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ip_list::IpList;

    const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const FAR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));

    fn keys(client_key: Option<&str>) -> Keys {
        Keys {
            app_id: "app".into(),
            master_key: "master".into(),
            client_key: client_key.map(Into::into),
            master_key_ips: IpList::parse("127.0.0.1,::1").unwrap(),
        }
    }

    fn credentials(app_id: &str) -> Credentials {
        Credentials { app_id: Some(app_id.into()), ..Default::default() }
    }

    fn master(app_id: &str, key: &str) -> Credentials {
        Credentials { master_key: Some(key.into()), ..credentials(app_id) }
    }

    #[test]
    fn app_id_must_match() {
        assert!(authenticate(&keys(None), &credentials("app"), LOOPBACK).is_ok());
        assert!(authenticate(&keys(None), &credentials("other"), LOOPBACK).is_err());
        assert!(authenticate(&keys(None), &Credentials::default(), LOOPBACK).is_err());
    }

    #[test]
    fn master_key_must_be_right_when_sent() {
        assert!(authenticate(&keys(None), &master("app", "master"), LOOPBACK).unwrap().master);
        assert!(authenticate(&keys(None), &master("app", "masteR"), LOOPBACK).is_err());
    }

    #[test]
    fn master_key_counts_only_from_allowed_addresses() {
        assert!(authenticate(&keys(None), &master("app", "master"), FAR).is_err());
        assert!(authenticate(&keys(None), &credentials("app"), FAR).is_ok());
        let mut open = keys(None);
        open.master_key_ips = IpList::parse("0.0.0.0/0,::/0").unwrap();
        assert!(authenticate(&open, &master("app", "master"), FAR).unwrap().master);
    }

    #[test]
    fn client_key_required_only_when_configured_and_not_master() {
        let mut c = credentials("app");
        assert!(authenticate(&keys(Some("ck")), &c, LOOPBACK).is_err());
        c.client_keys.push("ck".into());
        assert!(!authenticate(&keys(Some("ck")), &c, LOOPBACK).unwrap().master);
        assert!(authenticate(&keys(Some("ck")), &master("app", "master"), LOOPBACK).is_ok());
    }

    #[test]
    fn a_wrong_master_key_beside_a_valid_client_key_is_no_master_key() {
        let mut c = master("app", "wrong");
        c.client_keys.push("ck".into());
        let caller = authenticate(&keys(Some("ck")), &c, LOOPBACK).unwrap();
        assert!(!caller.master);
        assert_eq!(check_headers(&keys(Some("ck")), &c, LOOPBACK).unwrap(), HeaderCheck::Authenticated);
        c.client_keys = vec!["bad".into()];
        assert!(authenticate(&keys(Some("ck")), &c, LOOPBACK).is_err(), "and a wrong client key beside it is refused");
        assert!(authenticate(&keys(None), &master("app", "wrong"), LOOPBACK).is_err(), "alone it is refused");
    }

    #[test]
    fn headers_refuse_wrong_credentials_and_leave_missing_ones_to_the_body() {
        let k = keys(Some("ck"));
        assert_eq!(check_headers(&k, &Credentials::default(), LOOPBACK).unwrap(), HeaderCheck::Undecided);
        assert!(check_headers(&k, &credentials("other"), LOOPBACK).is_err());
        assert_eq!(check_headers(&k, &credentials("app"), LOOPBACK).unwrap(), HeaderCheck::Undecided);
        let mut with_key = credentials("app");
        with_key.client_keys.push("ck".into());
        assert_eq!(check_headers(&k, &with_key, LOOPBACK).unwrap(), HeaderCheck::Authenticated);
        with_key.client_keys = vec!["wrong".into()];
        assert!(check_headers(&k, &with_key, LOOPBACK).is_err());
        assert!(check_headers(&k, &master("app", "wrong"), LOOPBACK).is_err());
        assert!(check_headers(&k, &master("app", "master"), FAR).is_err());
        assert_eq!(check_headers(&k, &master("app", "master"), LOOPBACK).unwrap(), HeaderCheck::Authenticated);
        assert_eq!(check_headers(&keys(None), &credentials("app"), FAR).unwrap(), HeaderCheck::Authenticated);
    }
}
