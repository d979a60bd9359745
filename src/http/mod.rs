//! The Parse REST API over hyper: accept connections, read requests, route them, answer.
//! Calls into the runtime and (later) the store; nothing below reaches back up here.

mod body;
mod connections;
mod descriptors;
mod email_links;
mod file_body;
mod files;
mod request;
mod response;
mod router;

pub use body::BodyError;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::api::Api;
use crate::config::ConnectionLimits;
use body::BodyBudget;
use connections::Connections;

/// Serves the API on `listener` until the process ends.
pub async fn serve(listener: TcpListener, app: Arc<Api>) {
    let connections = Connections::new(connection_limits(&app.config.connections));
    let budget = BodyBudget::new(app.config.bodies.max_body_memory);
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(admitted) = connections.admit() else {
            tracing::debug!("refused a connection from {peer}: every one of --max-connections is busy");
            connections::refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let budget = budget.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let connection = admitted.connection().clone();
            let service = service_fn(move |request| {
                let in_flight = connection.request_started();
                let app = app.clone();
                let budget = budget.clone();
                async move {
                    let response = router::handle(&app, &budget, request, peer).await;
                    drop(in_flight);
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let serving = builder.serve_connection(TokioIo::new(admitted.watch(stream)), service);
            admitted.supervise(serving, peer).await;
        });
    }
}

/// `--max-connections`, lowered (with a warning) to what the open-file limit leaves room for.
fn connection_limits(asked: &ConnectionLimits) -> ConnectionLimits {
    let mut limits = asked.clone();
    if let Some(descriptors) = descriptors::raise_open_files_limit() {
        limits.max_connections = connections::cap_to_descriptors(asked.max_connections, descriptors);
        if limits.max_connections < asked.max_connections {
            tracing::warn!(
                "--max-connections {} lowered to {}: the process may open {descriptors} files (ulimit -n); raise that limit to allow more",
                asked.max_connections,
                limits.max_connections
            );
        }
    }
    limits
}

/// The address to print for a listening socket and mount.
pub fn url(addr: SocketAddr, mount: &str) -> String {
    format!("http://{addr}{mount}")
}
