//! The pages e-mailed links open: `{mount}/apps/:appId/verify_email?token&username` and
//! `{mount}/apps/:appId/request_password_reset` (a form, and the form's POST). A person's
//! browser follows these, so they carry no Parse keys and answer small HTML pages.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::request::PendingRequest;
use super::response::{self, Body};
use crate::api::email::{self, Kind};
use crate::api::Api;

/// Largest form accepted (a token, a username and a password).
const MAX_FORM: usize = 16 * 1024;

/// Answers the request if it is one of the link pages; hands it back otherwise.
pub async fn serve(api: &Arc<Api>, pending: PendingRequest) -> Result<Response<Body>, PendingRequest> {
    let segments: Vec<&str> = pending.route().split('/').collect();
    let page = match segments.as_slice() {
        ["apps", app_id, page] if *app_id == api.config.keys.app_id => *page,
        _ => return Err(pending),
    };
    let method = pending.method().as_str().to_string();
    let fields = |text: &str| -> std::collections::HashMap<String, String> { form_urlencoded::parse(text.as_bytes()).into_owned().collect() };
    let query = fields(pending.query().unwrap_or(""));
    let get = |fields: &std::collections::HashMap<String, String>, key: &str| fields.get(key).cloned().unwrap_or_default();
    Ok(match (method.as_str(), page) {
        ("GET", page) if page == Kind::VerifyEmail.page() => {
            match email::verify_email(api, get(&query, "username"), get(&query, "token")).await {
                Ok(()) => html(200, "Email verified", "<p>Your e-mail address is verified.</p>"),
                Err(error) => html(400, "Invalid link", &paragraph(&error.message)),
            }
        }
        ("GET", page) if page == Kind::PasswordReset.page() => {
            let (username, token) = (get(&query, "username"), get(&query, "token"));
            match email::check_reset_link(api, &username, &token) {
                Ok(()) => html(200, "Reset your password", &reset_form(&username, &token)),
                Err(error) => html(400, "Invalid link", &paragraph(&error.message)),
            }
        }
        ("POST", page) if page == Kind::PasswordReset.page() => {
            let body = match Limited::new(pending.into_body(), MAX_FORM).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => return Ok(html(413, "Too large", "<p>The form is too large.</p>")),
            };
            let form = fields(&String::from_utf8_lossy(&body));
            match email::reset_password(api, get(&form, "username"), get(&form, "token"), get(&form, "new_password")).await {
                Ok(()) => html(200, "Password changed", "<p>Your password has been changed.</p>"),
                Err(error) => html(400, "Password not changed", &paragraph(&error.message)),
            }
        }
        _ => return Err(pending),
    })
}

/// `text` with HTML's special characters escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

fn reset_form(username: &str, token: &str) -> String {
    format!(
        "<form method=\"POST\"><input type=\"hidden\" name=\"username\" value=\"{}\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
         <label>New password <input type=\"password\" name=\"new_password\" required></label> <button type=\"submit\">Change</button></form>",
        escape(username),
        escape(token)
    )
}

fn html(status: u16, title: &str, content: &str) -> Response<Body> {
    let page = format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>{content}</body></html>");
    let mut response = Response::new(response::full(Bytes::from(page)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}
