//! Serving the API: HTTP/1.1 over hyper, one task per connection, within [`ApiLimits`].
//!
//! A connection is counted at accept, in total and per remote address; past either bound it
//! is answered 503 (if its socket takes the answer at once) and closed. hyper bounds the wait
//! for a request head from the moment a connection is idle (the idle timeout); the socket
//! itself bounds a head from its first byte (the header timeout); handlers bound the body.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::Redirect;
use axum::routing::get;
use axum::{middleware, Router};
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service as _};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use myriad_host::{HostHandle, Metrics};
use myriad_net::ConnectionBounds;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::error::not_found;
use crate::request::bounded_head;
use crate::{explorer_routes, router};

/// How long a request head may take from its first byte to its end.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request body may take to arrive, from when its handler starts reading it.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may wait for its next request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// API connections open at once.
pub const CONNECTIONS_MAX: usize = 1024;
/// API connections open at once from one IP address: room for a busy client's pool of
/// kept-alive connections, a quarter of [`CONNECTIONS_MAX`].
pub const CONNECTIONS_PER_ADDRESS_MAX: usize = 256;
/// How long stopping waits for the requests in progress; the connections still open then
/// (an event stream never ends by itself) are dropped.
pub const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The connection's read buffer in bytes, and so the largest request head hyper reads.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// How long to wait before accepting again after a failed accept (out of file descriptors).
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// What a connection over the bounds is told before it is closed.
const BUSY_BODY: &str = r#"{"error":"busy: too many connections, retry later"}"#;

/// The bounds on the API's connections and requests; [`Default`] gives the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
    pub connections_max: usize,
    pub connections_per_address_max: usize,
}

impl Default for ApiLimits {
    fn default() -> ApiLimits {
        ApiLimits {
            header_read: HEADER_READ_TIMEOUT,
            body_read: BODY_READ_TIMEOUT,
            idle: IDLE_TIMEOUT,
            connections_max: CONNECTIONS_MAX,
            connections_per_address_max: CONNECTIONS_PER_ADDRESS_MAX,
        }
    }
}

/// Serves the API on `listener` within `limits` until `shutdown` resolves; then lets the
/// requests in progress finish, for at most [`SHUTDOWN_DRAIN_TIMEOUT`].
pub async fn serve(
    listener: TcpListener,
    handle: HostHandle,
    limits: ApiLimits,
    watcher: Option<myriad_watcher::Watcher>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let metrics = handle.metrics.clone();
    let router = router(handle, limits, watcher);
    serve_router(listener, router, limits, metrics, shutdown).await;
}

/// Serves the explorer alone (`myriad explorer`), reading the API of the host at `api` and
/// trusting the root chain `root_chain`, within the same bounds as a host's API, until
/// `shutdown` completes.
pub async fn serve_explorer(
    listener: TcpListener,
    api: String,
    root_chain: String,
    limits: ApiLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = explorer_routes(Some(api), Some(root_chain))
        .route("/", get(|| async { Redirect::to("/explorer/") }))
        .fallback(|| async { not_found("no such page; the explorer is at /explorer/") })
        .layer(middleware::from_fn(bounded_head));
    serve_router(listener, router, limits, Arc::new(Metrics::new()), shutdown).await;
}

/// Accepts connections within `limits` and serves `router` on each, counting them in
/// `metrics`, until `shutdown` completes.
async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: ApiLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let bounds = Arc::new(ConnectionBounds::new(
        limits.connections_max,
        limits.connections_per_address_max,
    ));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.idle)
        .max_buf_size(READ_BUFFER_BYTES);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept an API connection");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                    continue;
                }
            },
        };
        if let Err(refusal) = bounds.admit(remote.ip()) {
            metrics.api_connections_refused.inc();
            tracing::debug!(%remote, %refusal, "refusing an API connection");
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BUSY_BODY}",
                BUSY_BODY.len()
            );
            // Best effort: a socket that cannot take it at once is closed all the same.
            let _ = stream.try_write(answer.as_bytes());
            continue;
        }
        let slot = Slot {
            bounds: bounds.clone(),
            address: remote.ip(),
            metrics: metrics.clone(),
        };
        metrics.api_connections.set(bounds.open() as i64);
        let served = serve_connection(
            http.clone(),
            stream,
            router.clone(),
            limits.header_read,
            stopping.clone(),
        );
        connections.spawn(async move {
            served.await;
            drop(slot);
        });
    }
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        connections.shutdown().await;
    }
}

/// A connection counted in the bounds; released, and the gauge updated, when it ends.
struct Slot {
    bounds: Arc<ConnectionBounds>,
    address: IpAddr,
    metrics: Arc<Metrics>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.bounds.release(self.address);
        self.metrics.api_connections.set(self.bounds.open() as i64);
    }
}

/// Serves one connection's requests until it closes, or gracefully once `stopping` is set.
async fn serve_connection(
    http: http1::Builder,
    stream: TcpStream,
    router: Router,
    header_read: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let requests = Arc::new(Requests::default());
    let socket = HeadDeadline {
        stream,
        header_read,
        requests: requests.clone(),
        head_of: None,
        deadline: Box::pin(tokio::time::sleep(header_read)),
    };
    let router = TowerToHyperService::new(router);
    let service = service_fn(move |request| {
        let answering = requests.begin();
        let answer = router.call(request);
        async move {
            let answer = answer.await;
            drop(answering);
            answer
        }
    });
    let connection = http.serve_connection(TokioIo::new(socket), service);
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => Some(ended),
        _ = stopping.wait_for(|stopping| *stopping) => None,
    };
    let ended = match ended {
        Some(ended) => ended,
        None => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%error, "API connection closed");
    }
}

/// The requests of one connection: how many began, and how many are being answered (from
/// when the head is read until the handler has answered).
#[derive(Debug, Default)]
struct Requests {
    begun: AtomicU64,
    answering: AtomicUsize,
}

impl Requests {
    fn begin(self: &Arc<Requests>) -> Answering {
        self.begun.fetch_add(1, Ordering::Relaxed);
        self.answering.fetch_add(1, Ordering::Relaxed);
        Answering(self.clone())
    }
}

/// A request being answered, until dropped.
struct Answering(Arc<Requests>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answering.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's socket that fails a read once a request head has taken `header_read` since
/// its first byte. (hyper's own head timer starts when the connection goes idle, so it bounds
/// idle and head together: it is set to the idle timeout.)
struct HeadDeadline {
    stream: TcpStream,
    header_read: Duration,
    requests: Arc<Requests>,
    /// While a head is arriving: how many requests had begun when its first byte came.
    head_of: Option<u64>,
    deadline: Pin<Box<Sleep>>,
}

impl AsyncRead for HeadDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let begun = this.requests.begun.load(Ordering::Relaxed);
        // Its request began: the head is complete.
        if this.head_of.is_some_and(|of| of != begun) {
            this.head_of = None;
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        let idle = this.requests.answering.load(Ordering::Relaxed) == 0;
        if this.head_of.is_none() && idle && buf.filled().len() > before {
            this.head_of = Some(begun);
            let deadline = Instant::now() + this.header_read;
            this.deadline.as_mut().reset(deadline);
        }
        if read.is_pending() && this.head_of.is_some() && this.deadline.as_mut().poll(cx).is_ready()
        {
            let message = format!(
                "the request head did not arrive within {:?}",
                this.header_read
            );
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, message)));
        }
        read
    }
}

impl AsyncWrite for HeadDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
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
