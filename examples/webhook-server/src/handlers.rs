//! What the example webhook does with a request, kept apart from the HTTP plumbing so that it
//! can be tested without a server.
//!
//! Every answer follows the webhook contract: `{"success": value}` or `{"error": message}`.

use serde_json::{json, Map, Value};

/// Longest `comment` a `Review` may keep.
const MAX_COMMENT_CHARS: usize = 140;

/// Marks a shortened comment; it counts towards [`MAX_COMMENT_CHARS`].
const ELLIPSIS: &str = "...";

/// The answer for a caller whose `X-Parse-Webhook-Key` did not match.
pub fn unauthorized() -> Value {
    failure("Request Unauthorized")
}

/// The answer for a request body cloudrt sent: a Cloud function call carries `functionName`,
/// a trigger carries `triggerName`.
pub fn answer(request: &Value) -> Value {
    if let Some(function) = request.get("functionName").and_then(Value::as_str) {
        return run_function(function, request);
    }
    if let Some(trigger) = request.get("triggerName").and_then(Value::as_str) {
        return run_trigger(trigger, request);
    }
    failure("Unknown function")
}

/// Compares the received key with ours in time that does not depend on where they differ, so
/// that response times tell a guesser nothing about how close a guess was.
pub fn keys_match(received: &str, expected: &str) -> bool {
    received.len() == expected.len()
        && received.bytes().zip(expected.bytes()).fold(0, |diff, (a, b)| diff | (a ^ b)) == 0
}

fn run_function(name: &str, request: &Value) -> Value {
    let master = request.get("master") == Some(&Value::Bool(true));
    match name {
        "helloWorld" => success(json!("Hello World!")),
        // Billing must never be triggered by an app user, only by a trusted backend.
        "chargeCustomer" if master => {
            let user = request.pointer("/params/userObjectId").and_then(Value::as_str);
            // A real server would hand this to its billing queue here.
            println!("billing user {}", user.unwrap_or("(none given)"));
            success(json!("User billed!"))
        }
        _ => failure("Unknown function"),
    }
}

fn run_trigger(name: &str, request: &Value) -> Value {
    let object = request.get("object").and_then(Value::as_object);
    match (name, object) {
        ("beforeSave", Some(review))
            if review.get("className").and_then(Value::as_str) == Some("Review") =>
        {
            shorten_review(review)
        }
        _ => failure("Unknown trigger"),
    }
}

/// beforeSave on `Review`: a comment over the limit is cut and the changed object sent back,
/// which makes cloudrt save that instead; `true` lets the object be saved as it is.
fn shorten_review(review: &Map<String, Value>) -> Value {
    let Some(comment) = review.get("comment").and_then(Value::as_str) else {
        return success(json!(true));
    };
    // Characters, not bytes: cutting a UTF-8 string inside a character would corrupt it.
    if comment.chars().count() <= MAX_COMMENT_CHARS {
        return success(json!(true));
    }
    let kept = MAX_COMMENT_CHARS - ELLIPSIS.chars().count();
    let shortened: String = comment.chars().take(kept).chain(ELLIPSIS.chars()).collect();
    let mut changed = review.clone();
    changed.insert("comment".to_owned(), Value::String(shortened));
    success(Value::Object(changed))
}

fn success(value: Value) -> Value {
    json!({ "success": value })
}

fn failure(message: &str) -> Value {
    json!({ "error": message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(comment: &str) -> Value {
        json!({
            "triggerName": "beforeSave",
            "master": false,
            "object": {"className": "Review", "stars": 4, "comment": comment},
        })
    }

    #[test]
    fn hello_world_greets() {
        let request = json!({"functionName": "helloWorld", "master": false, "params": {}});
        assert_eq!(answer(&request), json!({"success": "Hello World!"}));
    }

    #[test]
    fn charge_customer_needs_the_master_key() {
        let mut request = json!({
            "functionName": "chargeCustomer",
            "master": true,
            "params": {"userObjectId": "u1"},
        });
        assert_eq!(answer(&request), json!({"success": "User billed!"}));

        request["master"] = json!(false);
        assert_eq!(answer(&request), json!({"error": "Unknown function"}));
        request.as_object_mut().unwrap().remove("master");
        assert_eq!(answer(&request), json!({"error": "Unknown function"}));
    }

    #[test]
    fn other_functions_are_unknown() {
        let request = json!({"functionName": "deleteEverything", "master": true});
        assert_eq!(answer(&request), json!({"error": "Unknown function"}));
        assert_eq!(answer(&json!({})), json!({"error": "Unknown function"}));
    }

    #[test]
    fn a_long_review_comment_is_cut_to_140_characters() {
        let long = "é".repeat(200);
        let answered = answer(&review(&long));
        let saved = &answered["success"];
        let comment = saved["comment"].as_str().unwrap();
        assert_eq!(comment.chars().count(), 140);
        assert_eq!(comment, format!("{}...", "é".repeat(137)));
        assert_eq!(saved["className"], json!("Review"));
        assert_eq!(saved["stars"], json!(4));
    }

    #[test]
    fn a_short_review_is_saved_as_it_is() {
        assert_eq!(answer(&review(&"x".repeat(140))), json!({"success": true}));
        assert_eq!(answer(&review("Great film")), json!({"success": true}));
        let no_comment = json!({"triggerName": "beforeSave", "object": {"className": "Review"}});
        assert_eq!(answer(&no_comment), json!({"success": true}));
    }

    #[test]
    fn other_triggers_are_unknown() {
        let mut request = review(&"x".repeat(300));
        request["object"]["className"] = json!("Movie");
        assert_eq!(answer(&request), json!({"error": "Unknown trigger"}));

        let mut request = review(&"x".repeat(300));
        request["triggerName"] = json!("afterSave");
        assert_eq!(answer(&request), json!({"error": "Unknown trigger"}));
    }

    #[test]
    fn keys_must_match_exactly() {
        assert!(keys_match("s3cret", "s3cret"));
        assert!(!keys_match("s3cre", "s3cret"));
        assert!(!keys_match("s3creT", "s3cret"));
        assert!(!keys_match("", "s3cret"));
        assert_eq!(unauthorized(), json!({"error": "Request Unauthorized"}));
    }
}
