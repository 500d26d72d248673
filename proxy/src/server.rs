//! The HTTP/1.1 server: accepts connections within limits, routes each request by Host,
//! and answers from the store through the caches.
//!
//! Limits, all enforced by hyper with a timer set: the header-read timeout (which also closes
//! keep-alive connections idle that long, as hyper starts it when it waits for a request),
//! header count and size (431, RFC 6585 §5), and a cap on open connections (further clients
//! wait in the listen backlog). Store trouble becomes 502, a store timeout 504, with no
//! internal detail in the body. Shutdown stops accepting and lets open requests finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use pier_core::store::DynReadStore;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::functions::{Functions, Invocation, lambda, local};
use crate::host::{self, Route};
use crate::lookup::{LookupConfig, LookupError, Lookups};
use crate::metrics::{Metrics, StatusLabel};
use crate::resolve::{self, RequestView};
use crate::respond::{self, Body, FileRequest, plain};
use crate::sendfile;
use crate::site::Served;
use pier_core::routes::Outcome;
use pier_core::routes::transforms::TransformTarget;

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Sites are served at `<label>.<base domain>`; `localhost` for the embedded default.
    pub base_domains: Vec<String>,
    /// How long a host → deployment answer is trusted before the aliases are read again.
    pub target_ttl: Duration,
    pub store_timeout: Duration,
    pub blob_cache_bytes: u64,
    /// Larger files are streamed from the store, never held in memory.
    pub max_cached_file: u64,
    /// How many of a folder store's files stay open (mapped, sent with `sendfile`).
    pub max_open_files: u64,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub max_headers: usize,
    pub max_header_bytes: usize,
    /// How long shutdown waits for open requests.
    pub drain_timeout: Duration,
    /// Runs deployments' functions in Node processes on this machine; without it (or Lambda),
    /// a request for a function gets 501.
    pub functions: Option<local::LocalConfig>,
    /// Invokes deployments' functions as the Lambda versions their deploy published (the
    /// store must be in S3); wins over `functions`.
    pub lambda: bool,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            base_domains: vec!["localhost".into()],
            target_ttl: Duration::from_secs(2),
            store_timeout: Duration::from_secs(10),
            blob_cache_bytes: 256 * 1024 * 1024,
            max_cached_file: 8 * 1024 * 1024,
            max_open_files: 1_000,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            drain_timeout: Duration::from_secs(10),
            functions: None,
            lambda: false,
        }
    }
}

struct State {
    config: ProxyConfig,
    /// `config.base_domains`, replaceable while serving (the desktop app's settings change).
    base_domains: std::sync::RwLock<Vec<String>>,
    lookups: Lookups,
    metrics: Arc<Metrics>,
    functions: Functions,
}

/// A proxy over one store; cheap to clone.
#[derive(Clone)]
pub struct Proxy {
    state: Arc<State>,
}

impl Proxy {
    pub fn new(store: DynReadStore, config: ProxyConfig) -> Proxy {
        let metrics = Arc::new(Metrics::new());
        let functions = match (
            &config.functions,
            config.lambda.then(|| store.aws()).flatten(),
        ) {
            (_, Some(place)) => {
                Functions::Lambda(Box::new(lambda::LambdaRuntime::new(&place, store.clone())))
            }
            (Some(local), None) => {
                Functions::Local(Box::new(local::LocalRuntime::new(local.clone())))
            }
            (None, None) => Functions::None,
        };
        let lookups = Lookups::new(
            store,
            LookupConfig {
                target_ttl: config.target_ttl,
                store_timeout: config.store_timeout,
                blob_cache_bytes: config.blob_cache_bytes,
                max_cached_file: config.max_cached_file,
                max_open_files: config.max_open_files,
            },
            metrics.clone(),
        );
        Proxy {
            state: Arc::new(State {
                base_domains: std::sync::RwLock::new(config.base_domains.clone()),
                functions,
                config,
                lookups,
                metrics,
            }),
        }
    }

    /// Serves sites under `domains` from the next request on; connections stay open.
    pub fn set_base_domains(&self, domains: Vec<String>) {
        *self.state.base_domains.write().expect("not poisoned") = domains;
    }

    /// Forgets cached host targets: the next request reads aliases again.
    pub fn refresh(&self) {
        self.state.lookups.refresh();
    }

    pub fn metrics_text(&self) -> String {
        self.state.metrics.encode()
    }

    /// Serves sites on `listener` until `shutdown` completes, then drains.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let service_state = self.state.clone();
        serve_with(
            listener,
            &self.state.config,
            self.state.metrics.clone(),
            shutdown,
            move |request, peer| {
                let state = service_state.clone();
                async move { handle(&state, request, peer).await }
            },
        )
        .await
    }

    /// Serves `/health`, `/metrics` and `POST /refresh` on an operator-only listener.
    pub async fn serve_admin(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let proxy = self.clone();
        serve_with(
            listener,
            &self.state.config,
            Arc::new(Metrics::new()),
            shutdown,
            move |request, _| {
                let proxy = proxy.clone();
                async move {
                    match (request.method(), request.uri().path()) {
                        (&Method::GET, "/health") => plain(StatusCode::OK, "ok\n"),
                        (&Method::GET, "/metrics") => Response::builder()
                            .header(
                                header::CONTENT_TYPE,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )
                            .body(respond::full(proxy.metrics_text()))
                            .expect("static headers"),
                        (&Method::POST, "/refresh") => {
                            proxy.refresh();
                            plain(StatusCode::OK, "refreshed\n")
                        }
                        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
                    }
                }
            },
        )
        .await
    }
}

async fn serve_with<H, F>(
    listener: TcpListener,
    config: &ProxyConfig,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
    handler: H,
) -> std::io::Result<()>
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_headers(config.max_headers)
        .max_buf_size(config.max_header_bytes.max(8192));
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = service_fn(move |request| {
            let response = handler(request, peer);
            async move { Ok::<_, Infallible>(response.await) }
        });
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(sendfile::connection(stream)), service));
        let metrics = metrics.clone();
        tokio::spawn(async move {
            metrics.connections.inc();
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection closed with an error");
            }
            metrics.connections.dec();
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(config.drain_timeout) => {
            tracing::warn!("shutdown: some connections did not finish in time");
        }
    }
    Ok(())
}

async fn handle(state: &State, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let started = Instant::now();
    // The body goes to a function, if the routes end at one; the head is kept for the log.
    let (request, body) = request.into_parts();
    let response = route(state, &request, body, peer).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state
        .metrics
        .requests
        .get_or_create(&StatusLabel { status })
        .inc();
    state.metrics.latency.observe(elapsed.as_secs_f64());
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if request.method != Method::HEAD {
        state.metrics.bytes_sent.inc_by(length);
    }
    tracing::info!(
        target: "pier_proxy::access",
        %peer,
        method = %request.method,
        host = request.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(""),
        path = request.uri.path(),
        status,
        bytes = length,
        micros = elapsed.as_micros() as u64,
    );
    response
}

const NOT_FOUND_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Not found</title>\
<p>There is nothing here.</p>\n";

fn redirect(location: &str, status: u16, headers: &[(String, String)]) -> Response<Body> {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::PERMANENT_REDIRECT))
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "public, max-age=0, must-revalidate")
        .body(respond::empty())
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "Bad Gateway\n"));
    respond::apply_extra_headers(response.headers_mut(), headers);
    response
}

/// An error status with no page of the deployment's own to show.
fn error_page(status: u16, headers: &[(String, String)]) -> Response<Body> {
    let mut response = match StatusCode::from_u16(status) {
        Ok(StatusCode::NOT_FOUND) | Err(_) => not_found(),
        Ok(status) => {
            let reason = status.canonical_reason().unwrap_or("Error");
            Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .header(header::CACHE_CONTROL, "no-store")
                .body(respond::full(format!("{} {reason}\n", status.as_u16())))
                .expect("static response")
        }
    };
    respond::apply_extra_headers(response.headers_mut(), headers);
    response
}

/// The host a request names, lower-case and without its port.
fn bare_host(raw: &str) -> String {
    let without_port = match raw.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => raw.rsplit_once(':').map_or(raw, |(name, _)| name),
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

fn not_found() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(respond::full(NOT_FOUND_PAGE))
        .expect("static response")
}

fn lookup_failed(error: LookupError) -> Response<Body> {
    tracing::warn!(%error, "store lookup failed");
    match error {
        LookupError::Timeout => plain(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout\n"),
        LookupError::Store(_) => plain(StatusCode::BAD_GATEWAY, "Bad Gateway\n"),
    }
}

fn method_not_allowed() -> Response<Body> {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    response
        .headers_mut()
        .insert(header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
    response
}

async fn route(
    state: &State,
    request: &http::request::Parts,
    body: Incoming,
    peer: SocketAddr,
) -> Response<Body> {
    let head = match request.method {
        Method::GET => false,
        Method::HEAD => true,
        // Other methods are for functions: known once the routes have run.
        _ => false,
    };
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri.authority().map(|a| a.as_str()));
    let route =
        host.and_then(|host| host::route(host, &state.base_domains.read().expect("not poisoned")));
    let Some(route) = route else {
        return plain(
            StatusCode::BAD_REQUEST,
            "Bad Request: missing or invalid Host\n",
        );
    };
    let deployment = match &route {
        Route::Own => {
            return match request.uri.path() {
                "/health" | "/healthz" => plain(StatusCode::OK, "ok\n"),
                _ => not_found(),
            };
        }
        Route::Label(label) => state.lookups.deployment_for_label(label).await,
        Route::Custom(domain) => state.lookups.deployment_for_domain(domain).await,
    };
    let deployment = match deployment {
        Ok(Some(id)) => id,
        Ok(None) => return not_found(),
        Err(error) => return lookup_failed(error),
    };
    let site = match state.lookups.site(&deployment).await {
        Ok(Some(site)) => site,
        Ok(None) => return not_found(),
        Err(error) => return lookup_failed(error),
    };
    let path = match crate::path::normalize(request.uri.path()) {
        Ok(path) => path,
        Err(error) => {
            tracing::debug!(%error, path = request.uri.path(), "refused path");
            return plain(StatusCode::BAD_REQUEST, "Bad Request\n");
        }
    };
    let bare_host = bare_host(host.unwrap_or_default());
    let view = RequestView {
        method: request.method.as_str(),
        path: &path,
        query: request.uri.query(),
        host: &bare_host,
        headers: &request.headers,
    };
    let (served, status, extra_headers, added_query, transforms) =
        match resolve::resolve(&site, &view) {
            Outcome::File {
                file,
                status,
                headers,
                query,
                transforms,
            } => (file, status, headers, query, transforms),
            Outcome::Redirect {
                location,
                status,
                headers,
            } => return redirect(&location, status, &headers),
            Outcome::Error {
                status,
                page: Some(page),
                headers,
            } => (page, status, headers, None, Vec::new()),
            Outcome::Error {
                status,
                page: None,
                headers,
            } => return error_page(status, &headers),
        };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let entry = match served {
        Served::File(entry) => entry,
        Served::Function {
            path,
            bundle_id,
            bundle,
        } => {
            let invocation = Invocation {
                project: &site.manifest.project,
                bundle_id,
                bundle,
                label: format!(
                    "/{path} ({})",
                    pier_core::manifest::preview_name(&site.manifest.project, &site.manifest.id)
                ),
                parts: request,
                body,
                host: &bare_host,
                peer,
                added_query: added_query.as_deref(),
                extra_headers,
                transforms: &transforms,
                status: (status != StatusCode::OK).then_some(status),
            };
            return state.functions.invoke(&state.lookups, invocation).await;
        }
    };
    if !matches!(request.method, Method::GET | Method::HEAD) {
        return method_not_allowed();
    }
    let file_request = FileRequest {
        headers: &request.headers,
        head,
        status,
        extra_headers,
    };
    match respond::file(&state.lookups, entry, file_request).await {
        Ok(mut response) => {
            respond::apply_header_transforms(
                response.headers_mut(),
                &transforms,
                TransformTarget::ResponseHeaders,
            );
            response
        }
        Err(error) => lookup_failed(error),
    }
}
