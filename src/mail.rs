//! Outgoing e-mail: the password-reset and verification messages, handed to the app's own
//! mailer (`--email-webhook`, a JSON POST) or sent over SMTP (`--smtp-url`).
//!
//! An SMTP message opens its own connection: these messages are rare (one per reset or
//! sign-up), so a pool would only hold idle sockets to the mail server.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use crate::config::Mailer;
use crate::data::ids;
use crate::error::error_chain;
use crate::hooks::client::{WebhookClient, WebhookError};

/// How long an SMTP exchange may take before the request that asked for it gives up.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One message: what the webhook receives as JSON, and what SMTP sends as plain text.
pub struct Email {
    /// `passwordReset` or `verifyEmail`.
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub link: String,
    pub username: String,
    pub app_name: String,
}

/// Why a message was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("The e-mail could not be handed to --email-webhook: {0}")]
    Webhook(#[from] WebhookError),
    /// The user's stored e-mail is not an address SMTP can deliver to (it cannot carry a line
    /// break or a second recipient, so no header can be smuggled through it).
    #[error("The e-mail address {0:?} cannot be mailed to.")]
    BadRecipient(String),
    #[error("The e-mail could not be sent over --smtp-url: {0}")]
    Smtp(String),
}

/// Hands `email` to the configured mailer.
pub async fn send(mailer: &Mailer, webhooks: &WebhookClient, email: &Email) -> Result<(), MailError> {
    match mailer {
        Mailer::Webhook(url) => {
            let payload = json!({
                "kind": email.kind,
                "to": email.to,
                "subject": email.subject,
                "text": email.text,
                "link": email.link,
                "username": email.username,
                "appName": email.app_name,
            });
            Ok(webhooks.notify(url, &payload).await?)
        }
        Mailer::Smtp { url, from } => send_smtp(url, from, email).await,
    }
}

async fn send_smtp(url: &str, from: &Mailbox, email: &Email) -> Result<(), MailError> {
    let to: Mailbox = email.to.parse().map_err(|_| MailError::BadRecipient(email.to.clone()))?;
    // The message id names the sender's domain, as mail servers expect of a sender.
    let message_id = format!("<{}@{}>", ids::random_string(24), from.email.domain());
    let message = Message::builder()
        .message_id(Some(message_id))
        .from(from.clone())
        .to(to)
        .subject(email.subject.as_str())
        .header(ContentType::TEXT_PLAIN)
        .body(email.text.clone())
        .map_err(|e| MailError::Smtp(error_chain(&e)))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| MailError::Smtp(error_chain(&e)))?
        .timeout(Some(SMTP_TIMEOUT))
        .build();
    transport.send(message).await.map_err(|e| MailError::Smtp(error_chain(&e)))?;
    Ok(())
}
