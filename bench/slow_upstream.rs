//! The benchmark's loopback upstream: answers every request with `{"ok":true}` after a fixed
//! delay, as a third-party API would, without using CPU while it waits (so it does not compete
//! with the server being measured). Prints its URL, then serves until killed.
//! Usage: slow-upstream [delay-ms]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

fn main() -> std::io::Result<()> {
    let delay = match std::env::args().nth(1).map(|ms| ms.parse::<u64>()) {
        None => Duration::from_millis(20),
        Some(Ok(ms)) => Duration::from_millis(ms),
        Some(Err(_)) => {
            eprintln!("slow-upstream: the delay must be a number of milliseconds");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("slow-upstream: listening on http://{}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let service = service_fn(move |_: Request<hyper::body::Incoming>| async move {
                    tokio::time::sleep(delay).await;
                    let mut response = Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
                    response.headers_mut().insert("content-type", "application/json".parse().expect("header value"));
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
