//! The transport: an HTTP/1.1 server on a loopback socket (hyper), and the same handler as a
//! tower `Service` for in-process clients. Applies injected faults, frames watch streams as
//! chunked NDJSON, and turns `api` replies into responses. No API semantics here.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper_util::rt::TokioIo;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::api::{Api, Reply};
use super::faults::Injector;
use super::request::{Request, parse_query};
use super::status::ApiError;
use super::watch;

/// Largest request body accepted (upstream's limit is 3 MiB for objects; patches can be larger).
const MAX_BODY: usize = 64 << 20;

/// Error of a response body: only raised on purpose, to drop a connection mid-response.
#[derive(Debug, Error)]
#[error("connection dropped by fault injection")]
pub struct DroppedConnection;

/// Response body: complete, a watch stream, or a deliberately broken one.
#[derive(Debug)]
pub enum SandboxBody {
    /// A complete body (taken on first poll).
    Full(Option<Bytes>),
    /// Watch events, one line per frame, until the sender ends.
    Stream(mpsc::Receiver<Bytes>),
    /// Sends a prefix, then fails (the server then drops the connection).
    Broken(Option<Bytes>),
}

impl Body for SandboxBody {
    type Data = Bytes;
    type Error = DroppedConnection;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            SandboxBody::Full(body) => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
            SandboxBody::Stream(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
            SandboxBody::Broken(prefix) => match prefix.take() {
                Some(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                None => Poll::Ready(Some(Err(DroppedConnection))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SandboxBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SandboxBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            SandboxBody::Full(None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

impl SandboxBody {
    /// Collects the whole body (tests and tools; watch bodies end when their stream ends).
    pub async fn into_bytes(self) -> Result<Bytes, DroppedConnection> {
        self.collect().await.map(|c| c.to_bytes())
    }
}

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    /// API semantics.
    pub api: Api,
    /// Fault injection.
    pub faults: Injector,
    /// Every request served, in the order they finished.
    pub requests: RequestLog,
    /// With a data directory: writes are made durable here before they are answered.
    pub journal: Option<Arc<crate::persist::Journal>>,
}

/// One request as the sandbox's request log keeps it: no headers, no bodies (they may carry
/// secrets), just what tests need to check ordering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Since the sandbox started, when the request arrived and when its answer was ready.
    pub started: std::time::Duration,
    pub finished: std::time::Duration,
    pub method: String,
    pub path: String,
    pub query: String,
    pub code: u16,
}

/// Where the sandbox serves its request log (not a Kubernetes path; not logged itself).
pub const REQUEST_LOG_PATH: &str = "/debug/requests";

/// The request log: append-only, in memory.
#[derive(Debug)]
pub struct RequestLog {
    epoch: std::time::Instant,
    /// The wall clock at `epoch`, so entries can be compared across sandbox processes.
    wall: std::time::SystemTime,
    entries: std::sync::Mutex<Vec<LoggedRequest>>,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            epoch: std::time::Instant::now(),
            wall: std::time::SystemTime::now(),
            entries: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl RequestLog {
    /// Kept at most; a long-running `helmfire sandbox` drops the oldest half beyond it.
    const LIMIT: usize = 200_000;

    fn record(&self, entry: LoggedRequest) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::LIMIT {
            entries.drain(..Self::LIMIT / 2);
        }
        entries.push(entry);
    }

    /// A copy of every entry so far.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `GET /debug/requests`: every entry as JSON, with wall-clock times (seconds since the
    /// Unix epoch), so a test can order requests served by several sandbox processes.
    fn to_json(&self) -> serde_json::Value {
        let since_unix = |offset: std::time::Duration| {
            (self.wall + offset)
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |t| t.as_secs_f64())
        };
        self.entries()
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "started": since_unix(entry.started),
                    "finished": since_unix(entry.finished),
                    "method": entry.method,
                    "path": entry.path,
                    "query": entry.query,
                    "code": entry.code,
                })
            })
            .collect()
    }
}

/// The RBAC-style verb and resource plural of a request, for fault matching.
fn classify(method: &str, path: &str, watch: bool) -> (&'static str, String) {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let rest: &[&str] = match segments.as_slice() {
        ["api", _, rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => &[],
    };
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() && !matches!(tail, ["status" | "finalize"]) => tail,
        other => other,
    };
    let resource = rest.first().map(|s| s.to_string()).unwrap_or_default();
    let named = rest.len() >= 2;
    let verb = match (method, named) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "other",
    };
    (verb, resource)
}

fn header_text(request: &http::request::Parts, name: header::HeaderName) -> String {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn respond(code: u16, content_type: &str, body: SandboxBody, retry_after: Option<u64>) -> Response<SandboxBody> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn error_response(error: &ApiError) -> Response<SandboxBody> {
    let body = Bytes::from(serde_json::to_vec(&error.to_status()).unwrap_or_default());
    respond(
        error.code,
        "application/json",
        SandboxBody::Full(Some(body)),
        error.retry_after,
    )
}

/// Serves one request end to end and logs it.
pub async fn serve<B>(shared: Arc<Shared>, request: http::Request<B>) -> Response<SandboxBody>
where
    B: Body + Send,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = shared.requests.epoch.elapsed();
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    if method == "GET" && path == REQUEST_LOG_PATH {
        let body = Bytes::from(serde_json::to_vec(&shared.requests.to_json()).unwrap_or_default());
        return respond(200, "application/json", SandboxBody::Full(Some(body)), None);
    }
    let query = request.uri().query().unwrap_or_default().to_string();
    let response = serve_unlogged(shared.clone(), request).await;
    shared.requests.record(LoggedRequest {
        started,
        finished: shared.requests.epoch.elapsed(),
        method,
        path,
        query,
        code: response.status().as_u16(),
    });
    response
}

async fn serve_unlogged<B>(shared: Arc<Shared>, request: http::Request<B>) -> Response<SandboxBody>
where
    B: Body + Send,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return error_response(&ApiError::bad_request(
                "the request body could not be read or is larger than 64 MiB",
            ));
        }
    };
    let query = parse_query(parts.uri.query().unwrap_or_default());
    let request = Request {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_string(),
        query,
        content_type: header_text(&parts, header::CONTENT_TYPE),
        accept: header_text(&parts, header::ACCEPT),
        user_agent: header_text(&parts, header::USER_AGENT),
        body,
    };
    let decision = if shared.faults.is_active() {
        let (verb, resource) = classify(&request.method, &request.path, request.flag("watch"));
        shared.faults.decide(verb, &resource)
    } else {
        Default::default()
    };
    if let Some(latency) = decision.latency {
        tokio::time::sleep(latency).await;
    }
    if let Some(error) = &decision.error {
        return error_response(error);
    }
    // Last line of defence: a bug in a handler answers 500 instead of killing the connection.
    let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.api.handle(&request)))
        .unwrap_or_else(|_| Reply::error(&ApiError::internal("the sandbox hit a bug handling this request")));
    // A confirmed write survives a crash: it is on disk before the answer leaves. (Reads
    // commit too when controllers wrote meanwhile: what a client saw is never lost.)
    if let Some(journal) = &shared.journal
        && shared.api.store.lock().journal_pending()
    {
        let journal = journal.clone();
        let store = shared.api.store.clone();
        let committed = tokio::task::spawn_blocking(move || journal.commit(&store)).await;
        if !matches!(committed, Ok(Ok(()))) {
            return error_response(&ApiError::internal(
                "the sandbox could not write its journal to its data directory",
            ));
        }
    }
    match reply {
        Reply::Full {
            code,
            content_type,
            body,
        } => {
            if decision.drop {
                let half = body.slice(..body.len() / 2);
                respond(code, &content_type, SandboxBody::Broken(Some(half)), None)
            } else {
                respond(code, &content_type, SandboxBody::Full(Some(body)), None)
            }
        }
        Reply::Watch(watch_request) => match watch::start(&shared.api.store, watch_request, decision.cut_watch) {
            Ok(rx) => respond(200, "application/json", SandboxBody::Stream(rx), None),
            Err(error) => error_response(&error),
        },
    }
}

/// The sandbox as a tower service, for in-process clients (e.g. `kube::Client::new`).
#[derive(Debug, Clone)]
pub struct SandboxService {
    shared: Arc<Shared>,
}

impl SandboxService {
    /// A service over shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl<B> tower_service::Service<http::Request<B>> for SandboxService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<SandboxBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { Ok(serve(shared, request).await) })
    }
}

/// Accepts connections until `stop` fires; then closes every open connection (watches
/// included) and returns.
pub async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(serve(shared, request).await) }
                    });
                    // Client disconnects and dropped-connection faults end here; nothing to do.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> LoggedRequest {
        LoggedRequest {
            started: std::time::Duration::ZERO,
            finished: std::time::Duration::ZERO,
            method: "GET".into(),
            path: path.into(),
            query: String::new(),
            code: 200,
        }
    }

    #[test]
    fn the_request_log_keeps_order_and_bounds_its_size() {
        let log = RequestLog::default();
        log.record(entry("/a"));
        log.record(entry("/b"));
        let paths: Vec<String> = log.entries().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["/a", "/b"]);
        for _ in 0..RequestLog::LIMIT {
            log.record(entry("/x"));
        }
        let entries = log.entries();
        assert!(entries.len() <= RequestLog::LIMIT);
        assert!(entries.iter().all(|e| e.path == "/x"), "the oldest entries went first");
    }
}
