//! Open connections and how long each may hold its socket. A connection is always in one of
//! three phases: waiting for a request's head (from its accept, or from the first byte after
//! an idle spell: `--header-timeout`), idle between keep-alive requests (`--idle-timeout`), or
//! busy answering requests (no connection deadline; the body has `--body-timeout` and the
//! calls their own). At most `--max-connections` are open: a new one closes the one that has
//! waited longest without a request in flight, and is turned away at once when all are busy.
//!
//! hyper's own `header_read_timeout` is not used: it starts when a keep-alive connection goes
//! idle, so it would close idle connections after the header timeout instead of the idle one.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::ConnectionLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request's head since `since`.
    Head { since: Instant },
    /// Keep-alive with nothing received since the last answer at `since`.
    Idle { since: Instant },
    /// Answering this many requests (more than one only over HTTP/2).
    Busy { requests: usize },
}

impl Phase {
    /// When the connection has waited since, if it is not busy.
    fn waiting_since(self) -> Option<Instant> {
        match self {
            Phase::Head { since } | Phase::Idle { since } => Some(since),
            Phase::Busy { .. } => None,
        }
    }
}

/// One open connection as its watchdog and the accept loop see it.
#[derive(Debug)]
pub struct Connection {
    phase: Mutex<Phase>,
    /// The deadline may have moved earlier (a request ended, a new head began).
    moved: Notify,
    /// The accept loop closed it to make room.
    evicted: Notify,
}

impl Connection {
    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks a request as being answered until the guard is dropped.
    pub fn request_started(self: &Arc<Self>) -> RequestInFlight {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy { requests } => Phase::Busy { requests: requests + 1 },
            _ => Phase::Busy { requests: 1 },
        };
        RequestInFlight(self.clone())
    }

    fn bytes_arrived(&self) {
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Head { since: Instant::now() };
            self.moved.notify_one();
        }
    }

    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        match *self.phase() {
            Phase::Head { since } => Some(since + limits.header_timeout),
            Phase::Idle { since } => Some(since + limits.idle_timeout),
            Phase::Busy { .. } => None,
        }
    }
}

/// A request being answered on a connection; the connection is idle again when the last
/// one is dropped.
pub struct RequestInFlight(Arc<Connection>);

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy { requests: requests - 1 },
            _ => Phase::Idle { since: Instant::now() },
        };
        self.0.moved.notify_one();
    }
}

/// Every open connection, against `--max-connections`.
#[derive(Debug)]
pub struct Connections {
    limits: ConnectionLimits,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
}

impl Connections {
    pub fn new(limits: ConnectionLimits) -> Arc<Connections> {
        Arc::new(Connections { limits, open: Mutex::new(HashMap::new()), next_id: AtomicU64::new(0) })
    }

    fn open(&self) -> MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a new connection. When all slots are taken, the connection that has waited
    /// longest without a request in flight is closed to make room; `None` when every open
    /// connection is busy.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.open();
        if open.len() >= self.limits.max_connections {
            let oldest = open
                .iter()
                .filter_map(|(id, connection)| Some((connection.phase().waiting_since()?, *id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(evicted) = open.remove(&oldest) {
                tracing::debug!("--max-connections reached: closing the longest-idle connection");
                evicted.evicted.notify_one();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            phase: Mutex::new(Phase::Head { since: Instant::now() }),
            moved: Notify::new(),
            evicted: Notify::new(),
        });
        open.insert(id, connection.clone());
        Some(Admitted { connections: self.clone(), id, connection })
    }
}

/// A connection holding one of the slots; it gives the slot back when dropped.
pub struct Admitted {
    connections: Arc<Connections>,
    id: u64,
    connection: Arc<Connection>,
}

impl Admitted {
    pub fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }

    /// `stream`, telling this connection when bytes arrive.
    pub fn watch(&self, stream: TcpStream) -> Watched {
        Watched { stream, connection: self.connection.clone() }
    }

    /// Drives `serving` (hyper's connection) until it ends, a deadline of its phase passes or
    /// it is evicted; the last two drop it, which closes the socket.
    pub async fn supervise<E: std::fmt::Display>(&self, serving: impl Future<Output = Result<(), E>>, peer: SocketAddr) {
        let limits = &self.connections.limits;
        let mut serving = std::pin::pin!(serving);
        loop {
            let deadline = self.connection.deadline(limits);
            let expired = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ended = serving.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                    return;
                }
                () = self.connection.evicted.notified() => return,
                () = self.connection.moved.notified() => {}
                () = expired => {
                    if self.connection.deadline(limits).is_some_and(|d| d <= Instant::now()) {
                        tracing::debug!("closing the connection from {peer}: {}", self.what_timed_out());
                        return;
                    }
                }
            }
        }
    }

    fn what_timed_out(&self) -> &'static str {
        match *self.connection.phase() {
            Phase::Head { .. } => "no complete request head within --header-timeout",
            _ => "idle for --idle-timeout",
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.open().remove(&self.id);
    }
}

/// Turns a connection away when every slot is busy: a short 429 (code 155) if the socket takes
/// it at once, then close. Never waits on the client.
pub fn refuse(stream: TcpStream) {
    let body = r#"{"code":155,"error":"too many open connections (--max-connections); try again"}"#;
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// A TCP stream that tells its [`Connection`] when bytes arrive (the start of a new head).
pub struct Watched {
    stream: TcpStream,
    connection: Arc<Connection>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.connection.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Descriptors kept for everything but client connections (the store, workers, webhooks,
/// `httpRequest`): a tenth of the limit, at least 128.
fn reserved_descriptors(limit: u64) -> u64 {
    (limit / 10).max(128)
}

/// The connection cap the descriptor limit leaves room for: `requested`, or lower.
pub fn cap_to_descriptors(requested: usize, descriptor_limit: u64) -> usize {
    let room = descriptor_limit.saturating_sub(reserved_descriptors(descriptor_limit)).max(1);
    requested.min(usize::try_from(room).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(max_connections: usize) -> ConnectionLimits {
        let second = Duration::from_secs(1);
        ConnectionLimits { header_timeout: second, body_timeout: second, idle_timeout: second * 2, max_connections }
    }

    #[test]
    fn a_full_table_closes_the_longest_waiting_idle_connection() {
        let connections = Connections::new(limits(2));
        let first = connections.admit().unwrap();
        let second = connections.admit().unwrap();
        let busy = first.connection().request_started();
        let third = connections.admit().expect("the idle second one makes room");
        assert_eq!(connections.open().len(), 2);
        assert!(!connections.open().contains_key(&second.id));
        assert!(connections.open().contains_key(&first.id));
        let _busy_too = third.connection().request_started();
        assert!(connections.admit().is_none(), "every open connection is busy");
        drop(busy);
        assert!(connections.admit().is_some(), "the first is idle again");
    }

    #[test]
    fn dropped_connections_give_their_slot_back() {
        let connections = Connections::new(limits(1));
        let only = connections.admit().unwrap();
        let busy = only.connection().request_started();
        assert!(connections.admit().is_none());
        drop(busy);
        drop(only);
        assert!(connections.open().is_empty());
    }

    #[test]
    fn phases_have_their_own_deadlines() {
        let limits = limits(10);
        let connections = Connections::new(limits.clone());
        let admitted = connections.admit().unwrap();
        let connection = admitted.connection();
        let Phase::Head { since: opened } = *connection.phase() else { panic!("a new connection waits for a head") };
        assert_eq!(connection.deadline(&limits), Some(opened + limits.header_timeout));
        let request = connection.request_started();
        assert_eq!(connection.deadline(&limits), None);
        connection.bytes_arrived();
        assert_eq!(connection.deadline(&limits), None, "body bytes do not start a head");
        drop(request);
        let Phase::Idle { since: idle } = *connection.phase() else { panic!("idle after its answer") };
        assert_eq!(connection.deadline(&limits), Some(idle + limits.idle_timeout));
        connection.bytes_arrived();
        let Phase::Head { since: head } = *connection.phase() else { panic!("a byte starts a new head") };
        assert!(head >= idle);
        assert_eq!(connection.deadline(&limits), Some(head + limits.header_timeout));
        connection.bytes_arrived();
        assert_eq!(*connection.phase(), Phase::Head { since: head }, "later bytes do not move the deadline");
    }

    #[test]
    fn the_cap_leaves_descriptors_for_the_rest_of_the_server() {
        assert_eq!(cap_to_descriptors(10_000, 1024), 896);
        assert_eq!(cap_to_descriptors(10_000, 1_048_576), 10_000);
        assert_eq!(cap_to_descriptors(500, 1024), 500);
        assert_eq!(cap_to_descriptors(10_000, 20_000), 10_000);
        assert_eq!(cap_to_descriptors(10_000, 64), 1);
    }
}
