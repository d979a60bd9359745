//! The typed runtime boundary as cloud code sees it: a failed data request rejects with a
//! `Parse.Error` whose `code` is the API's, a failed `require` throws an `Error` with the
//! loader's message, and an uncaught one answers the call with that code.

mod common;

use common::Server;
use serde_json::json;

#[tokio::test]
async fn cloud_code_catches_op_failures_as_parse_errors_with_their_code() {
    let server = Server::start("op_errors", &[]);
    let (status, body) = server.call("missingObject", json!({}), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"],
        json!({"isParseError": true, "isError": true, "name": "ParseError", "code": 101, "message": "Object not found."})
    );
    let (_, body) = server.call("forbiddenClass", json!({}), &[]).await;
    assert_eq!((body["result"]["isParseError"].clone(), body["result"]["code"].clone()), (json!(true), json!(119)), "{body}");

    let (_, body) = server.call("missingModule", json!({}), &[]).await;
    let caught = &body["result"];
    assert_eq!((caught["isParseError"].clone(), caught["isError"].clone(), caught["code"].clone()), (json!(false), json!(true), json!(null)), "{body}");
    assert_eq!(caught["message"], json!("Cannot find module './not-there'"));

    let (status, body) = server.call("uncaught", json!({}), &[]).await;
    assert_eq!((status, body), (404, json!({"code": 101, "error": "Object not found."})));
}
