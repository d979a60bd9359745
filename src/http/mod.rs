//! The Parse REST API over hyper: accept connections, read requests, route them, answer.
//! Calls into the runtime and (later) the store; nothing below reaches back up here.

mod request;
mod response;
mod router;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::api::Api;

/// Serves the API on `listener` until the process ends.
pub async fn serve(listener: TcpListener, app: Arc<Api>) {
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
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(router::handle(&app, request, peer).await) }
            });
            if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
}

/// The address to print for a listening socket and mount.
pub fn url(addr: SocketAddr, mount: &str) -> String {
    format!("http://{addr}{mount}")
}
