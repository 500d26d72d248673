//! Server code at the edge: a request the routes end at a function is answered by the
//! function's bundle, run by a runtime: the local runtime ([`local`], Node processes on this
//! machine) or AWS Lambda ([`lambda`], the version the deploy published); a proxy without
//! either answers such requests with 501.
//!
//! What every function answer gets, whatever runs it:
//! - the request with its method, headers and body (up to 4.5 MiB, Vercel's and Lambda's
//!   limit; a larger body gets a 413 page, RFC 9110 §15.5.14), the request's own URL with the
//!   rewrite's query added, and `X-Forwarded-For`/`-Host`/`-Proto`;
//! - the function's status, headers and every `Set-Cookie`, hop-by-hop headers dropped
//!   (RFC 9110 §7.6.1), the route's headers on top, and its body streamed as it comes;
//! - a 504 page once `maxDuration` has passed, and a 502 page when the function throws or its
//!   process exits: the error goes to the function's log, never into the response.

pub mod lambda;
pub mod local;
pub mod prune;
pub mod socket;

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body::{Body as HttpBody, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use pier_core::functions::FunctionBundle;
use pier_core::routes::transforms::{Transform, TransformTarget, apply_to_query};

use crate::lookup::Lookups;
use crate::respond::{self, Body};

/// The largest request body a function gets: 4.5 MiB.
pub const MAX_REQUEST_BODY: usize = 4_718_592;
/// The header the launcher sets on the answer of a handler that threw.
const FAILED_HEADER: &str = "x-pier-function-error";
/// Connection-specific headers, never forwarded either way (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Why a function gave no answer of its own.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("cannot run `{}`: {detail}; install Node.js (20 or later) or set the proxy's node path", node.display())]
    NoNode {
        node: std::path::PathBuf,
        detail: String,
    },
    #[error("the function did not start: {0}")]
    StartFailed(String),
    #[error("{0}")]
    Failed(String),
}

/// A request the routes sent to a function.
pub struct Invocation<'a> {
    /// The deployment's project (a Lambda version belongs to its project's function).
    pub project: &'a str,
    pub bundle_id: &'a str,
    pub bundle: &'a FunctionBundle,
    /// The function's path and deployment, for the log.
    pub label: String,
    pub parts: &'a http::request::Parts,
    pub body: Incoming,
    pub host: &'a str,
    pub peer: SocketAddr,
    /// The query a rewrite's destination added.
    pub added_query: Option<&'a str>,
    /// The route's headers, set on the answer.
    pub extra_headers: Vec<(String, String)>,
    /// The matched routes' `transforms`: of the request the function gets, and of its answer.
    pub transforms: &'a [Transform],
    /// An error page's status, which the answer keeps whatever the function says.
    pub status: Option<StatusCode>,
}

/// Runs functions, or says it cannot.
pub enum Functions {
    Local(Box<local::LocalRuntime>),
    Lambda(Box<lambda::LambdaRuntime>),
    None,
}

impl Functions {
    pub async fn invoke(&self, lookups: &Lookups, invocation: Invocation<'_>) -> Response<Body> {
        if let Functions::None = self {
            return page(
                StatusCode::NOT_IMPLEMENTED,
                "Functions are not run here",
                "This deployment has server functions, and this proxy was started without a runtime for them.",
            );
        };
        let label = invocation.label.clone();
        let max_duration =
            Duration::from_secs(u64::from(invocation.bundle.settings.max_duration_secs));
        let deadline = tokio::time::Instant::now() + max_duration;
        let request = match upstream_request(
            invocation.parts,
            invocation.body,
            invocation.host,
            invocation.peer,
            invocation.added_query,
            invocation.transforms,
        )
        .await
        {
            Ok(request) => request,
            Err(response) => return *response,
        };
        let sent = async {
            match self {
                Functions::Local(runtime) => {
                    let origin = local::Origin {
                        project: invocation.project,
                        label: &label,
                    };
                    let (response, in_flight) = runtime
                        .send(
                            lookups,
                            invocation.bundle_id,
                            invocation.bundle,
                            &origin,
                            request,
                        )
                        .await?;
                    let response =
                        response.map(|body| body.map_err(std::io::Error::other).boxed_unsync());
                    Ok::<_, FunctionError>((response, Some(in_flight)))
                }
                Functions::Lambda(runtime) => {
                    let response = runtime
                        .send(invocation.project, invocation.bundle_id, request)
                        .await?;
                    Ok((response, None))
                }
                Functions::None => unreachable!("answered above"),
            }
        };
        let (response, in_flight) = match tokio::time::timeout_at(deadline, sent).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => {
                tracing::warn!(target: "pier_proxy::function", function = %label, %error, "no answer");
                return failed_page();
            }
            Err(_) => {
                tracing::warn!(target: "pier_proxy::function", function = %label, "timed out after {} s (maxDuration)", max_duration.as_secs());
                // The process may be stuck in a loop: stop it; the next request starts another.
                self.stop(invocation.bundle_id, "it ran past maxDuration");
                return timeout_page(max_duration);
            }
        };
        if response.headers().contains_key(FAILED_HEADER) {
            return failed_page();
        }
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if let Some(status) = invocation.status {
            parts.status = status;
        }
        let body = Deadline {
            inner: body,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            done: false,
            in_flight,
            max_duration,
            label,
        };
        let mut response = Response::from_parts(parts, body.boxed_unsync());
        respond::apply_extra_headers(response.headers_mut(), &invocation.extra_headers);
        respond::apply_header_transforms(
            response.headers_mut(),
            invocation.transforms,
            TransformTarget::ResponseHeaders,
        );
        response
    }
}

/// The request as the function gets it, or the page that answers instead.
async fn upstream_request(
    parts: &http::request::Parts,
    body: Incoming,
    host: &str,
    peer: SocketAddr,
    added_query: Option<&str>,
    transforms: &[Transform],
) -> Result<http::Request<Full<Bytes>>, Box<Response<Body>>> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY as u64) {
        return Err(Box::new(too_large_page()));
    }
    // Read whole, within the limit: Lambda takes a request whole too.
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(Box::new(too_large_page()));
        }
        Err(error) => {
            tracing::debug!(%error, "request body not received");
            return Err(Box::new(respond::plain(
                StatusCode::BAD_REQUEST,
                "Bad Request: the request body did not arrive whole\n",
            )));
        }
    };
    let query = match (parts.uri.query(), added_query) {
        (Some(own), Some(added)) => Some(format!("{own}&{added}")),
        (own, added) => own.or(added).map(str::to_string),
    };
    let query = apply_to_query(transforms, query.as_deref());
    let target = match query {
        Some(query) => format!("{}?{query}", parts.uri.path()),
        None => parts.uri.path().to_string(),
    };
    let mut request = http::Request::builder()
        .method(parts.method.clone())
        .uri(target)
        .body(Full::new(body))
        .map_err(|_| {
            Box::new(respond::plain(
                StatusCode::BAD_REQUEST,
                "Bad Request: the rewritten URL is not valid\n",
            ))
        })?;
    let headers = request.headers_mut();
    for (name, value) in &parts.headers {
        headers.append(name, value.clone());
    }
    strip_hop_by_hop(headers);
    respond::apply_header_transforms(headers, transforms, TransformTarget::RequestHeaders);
    let forwarded_for = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok())
    {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    let forwarded = [
        ("x-forwarded-for", forwarded_for),
        ("x-real-ip", peer.ip().to_string()),
        ("x-forwarded-host", host.to_string()),
    ];
    for (name, value) in forwarded {
        if let Some(value) = header_value(&value) {
            headers.insert(name, value);
        }
    }
    if !headers.contains_key("x-forwarded-proto") {
        headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    }
    Ok(request)
}

impl Functions {
    /// Stops a bundle's process, if it runs.
    pub fn stop(&self, bundle_id: &str, why: &str) {
        if let Functions::Local(runtime) = self {
            runtime.stop(bundle_id, why);
        }
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(FAILED_HEADER);
}

/// A function's body, ended with an error (which closes the connection) once `maxDuration`
/// has passed; it keeps a local process counted busy until it ends.
struct Deadline {
    inner: UnsyncBoxBody<Bytes, std::io::Error>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    done: bool,
    in_flight: Option<local::InFlight>,
    max_duration: Duration,
    label: String,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.done = true;
                this.in_flight = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(error))) => {
                this.done = true;
                this.in_flight = None;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Pending => {
                if this.sleep.as_mut().poll(cx).is_ready() {
                    tracing::warn!(target: "pier_proxy::function", function = %this.label, "timed out after {} s while sending (maxDuration)", this.max_duration.as_secs());
                    this.done = true;
                    if let Some(in_flight) = this.in_flight.take() {
                        in_flight.stop("it ran past maxDuration");
                    }
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the function ran past its maxDuration",
                    ))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// An HTML page for an answer the function did not give.
fn page(status: StatusCode, title: &str, text: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>{} {title}</title>\
         <h1>{} {title}</h1><p>{text}</p>\n",
        status.as_u16(),
        status.as_u16()
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(respond::full(html))
        .expect("static response")
}

fn failed_page() -> Response<Body> {
    page(
        StatusCode::BAD_GATEWAY,
        "Function failed",
        "The function failed while answering this request. Its error is in the function's log.",
    )
}

fn timeout_page(max_duration: Duration) -> Response<Body> {
    page(
        StatusCode::GATEWAY_TIMEOUT,
        "Function timed out",
        &format!(
            "The function did not answer within its limit of {} seconds (maxDuration).",
            max_duration.as_secs()
        ),
    )
}

fn too_large_page() -> Response<Body> {
    page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body too large",
        "Functions accept request bodies of up to 4.5 MB. Send large files straight to storage instead.",
    )
}

fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}
