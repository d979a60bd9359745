//! The classes the server keeps for itself. Their rows steer what runs with the master key
//! (`_JobSchedule` starts jobs, `_Hooks` redirects functions and triggers to a URL), so a
//! client without the master key may neither read nor write them through `/classes`, `/batch`
//! or cloud code; only their own APIs (jobs, schedules, hooks, config) write them, and those
//! write through the data layer directly, never through this route.

use crate::data::protected;
use crate::error::{ErrorCode, ParseError};

/// Refuses a non-master call of `/classes/<class>[/<id>]` on a master-only class, with Parse
/// Server's answer (119, "Clients aren't allowed to perform the … operation on the … collection.").
pub fn check_class_route(master: bool, method: &str, segments: &[&str]) -> Result<(), ParseError> {
    let (class, with_id) = match segments {
        ["classes", class] => (*class, false),
        ["classes", class, _] => (*class, true),
        _ => return Ok(()),
    };
    if master {
        return Ok(());
    }
    // An installation is deleted by the operator only, as on Parse Server: a client that could
    // delete others' installations would silence their push notifications.
    if class == "_Installation" && method == "DELETE" {
        return Err(ParseError::new(
            ErrorCode::OPERATION_FORBIDDEN,
            "Clients aren't allowed to perform the delete operation on the installation collection.",
        ));
    }
    let operation = match (method, with_id) {
        ("GET", false) => "find",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("DELETE", _) => "delete",
        _ => "access",
    };
    protected::check_class(false, class, operation).map_err(ParseError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::protected::MASTER_ONLY_CLASSES;

    #[test]
    fn master_only_classes_refuse_clients_for_every_verb() {
        for class in MASTER_ONLY_CLASSES {
            for (method, segments) in [
                ("GET", vec!["classes", class]),
                ("GET", vec!["classes", class, "x"]),
                ("POST", vec!["classes", class]),
                ("PUT", vec!["classes", class, "x"]),
                ("DELETE", vec!["classes", class, "x"]),
            ] {
                let error = check_class_route(false, method, &segments).unwrap_err();
                assert_eq!(error.code, ErrorCode::OPERATION_FORBIDDEN);
                assert!(check_class_route(true, method, &segments).is_ok());
            }
        }
    }

    #[test]
    fn other_classes_and_routes_pass() {
        assert!(check_class_route(false, "POST", &["classes", "GameScore"]).is_ok());
        assert!(check_class_route(false, "GET", &["classes", "_User", "x"]).is_ok());
        assert!(check_class_route(false, "POST", &["jobs", "_JobStatus"]).is_ok());
        assert!(check_class_route(false, "POST", &["classes", "_Installation"]).is_ok());
    }

    #[test]
    fn only_the_master_key_deletes_installations() {
        assert!(check_class_route(false, "DELETE", &["classes", "_Installation", "x"]).is_err());
        assert!(check_class_route(true, "DELETE", &["classes", "_Installation", "x"]).is_ok());
    }
}
