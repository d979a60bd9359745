//! `console.*` and `request.log.*` from cloud code, into the server's log.

use deno_core::op2;

/// Writes one line of cloud-code output, tagged with the handler that wrote it.
#[op2(fast)]
pub fn op_cloud_log(#[string] level: &str, #[string] tag: &str, #[string] message: &str) {
    match level {
        "error" => tracing::error!(target: "cloud", "[{tag}] {message}"),
        "warn" => tracing::warn!(target: "cloud", "[{tag}] {message}"),
        "debug" => tracing::debug!(target: "cloud", "[{tag}] {message}"),
        _ => tracing::info!(target: "cloud", "[{tag}] {message}"),
    }
}
