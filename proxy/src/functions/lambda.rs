//! The AWS runtime: a function request becomes an `InvokeWithResponseStream` of the Lambda
//! version its bundle was published as (`lambda/versions/<project>/<bundle>.json`, written by
//! the deploy before the manifest), signed with the proxy's own IAM role. There is no function
//! URL: nothing but this proxy can reach a function.
//!
//! The event and the two answer shapes are Pier's own, written by the entry in every zip
//! (`pier_core::functions::runtime`, `lambda.mjs`): the request as
//! `{ method, url, headers: [[name, value]…], body: base64 }`; the answer either streamed
//! (a JSON prelude `{ statusCode, headers }`, eight NUL bytes, then the body as it comes) or,
//! where the runtime cannot stream, whole (`{ statusCode, headers, body: base64 }`). JSON never
//! holds a NUL byte, so the first one marks a streamed answer.
//!
//! An invocation error (the module failed to load, the runtime gave up) is logged with
//! Lambda's error details and answered with the 502 page; an error after the first bytes ends
//! the body early, which closes the connection.

use std::sync::Arc;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent as Event;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use pier_core::lambda::{LambdaVersion, read_version};
use pier_core::store::{AwsPlace, DynReadStore};
use serde::Deserialize;

use super::FunctionError;

/// The eight NUL bytes between a streamed answer's prelude and its body.
const DELIMITER: [u8; 8] = [0; 8];

type EventStream = aws_sdk_lambda::primitives::event_stream::EventReceiver<
    Event,
    aws_sdk_lambda::types::error::InvokeWithResponseStreamResponseEventError,
>;

/// What the answer's head says, in either shape.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "statusCode")]
    status_code: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// Only in a whole answer.
    #[serde(default)]
    body: Option<String>,
}

/// Invokes deployments' functions on Lambda.
pub struct LambdaRuntime {
    client: Client,
    store: DynReadStore,
    /// `(project, bundle)` → the version; records never change once written.
    versions: moka::future::Cache<(String, String), Arc<LambdaVersion>>,
}

impl LambdaRuntime {
    pub fn new(place: &AwsPlace, store: DynReadStore) -> LambdaRuntime {
        LambdaRuntime {
            client: Client::new(&place.config),
            store,
            versions: moka::future::Cache::builder().max_capacity(100_000).build(),
        }
    }

    async fn version(
        &self,
        project: &str,
        bundle_id: &str,
    ) -> Result<Arc<LambdaVersion>, FunctionError> {
        let key = (project.to_string(), bundle_id.to_string());
        if let Some(version) = self.versions.get(&key).await {
            return Ok(version);
        }
        let found = read_version(self.store.as_ref(), project, bundle_id)
            .await
            .map_err(|e| FunctionError::StartFailed(format!("cannot read its Lambda record: {e}")))?
            .ok_or_else(|| {
                FunctionError::StartFailed(format!(
                    "the bundle {bundle_id} of {project} has no Lambda version (deployed before `pier setup aws` turned Lambda on? deploy it again)"
                ))
            })?;
        let found = Arc::new(found);
        self.versions.insert(key, found.clone()).await;
        Ok(found)
    }

    pub async fn send(
        &self,
        project: &str,
        bundle_id: &str,
        request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<UnsyncBoxBody<Bytes, std::io::Error>>, FunctionError> {
        let version = self.version(project, bundle_id).await?;
        let event = event(request).await;
        let mut output = self
            .client
            .invoke_with_response_stream()
            .function_name(&version.arn)
            .payload(Blob::new(event))
            .send()
            .await
            .map_err(|e| {
                FunctionError::Failed(format!("{}: {}", version.arn, DisplayErrorContext(&e)))
            })?;
        let mut head = BytesMut::new();
        loop {
            match output.event_stream.recv().await {
                Ok(Some(Event::PayloadChunk(update))) => {
                    if let Some(payload) = update.payload {
                        head.extend_from_slice(payload.as_ref());
                    }
                    if let Some(at) = find(&head, &DELIMITER) {
                        let rest = head.split_off(at + DELIMITER.len()).freeze();
                        head.truncate(at);
                        let head = parse_head(&head)?;
                        return response(head, streamed(rest, output.event_stream));
                    }
                }
                Ok(Some(Event::InvokeComplete(done))) => {
                    if let Some(code) = done.error_code {
                        return Err(FunctionError::Failed(format!(
                            "{code}: {}",
                            done.error_details.unwrap_or_default()
                        )));
                    }
                    break;
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(FunctionError::Failed(DisplayErrorContext(&e).to_string())),
            }
        }
        let mut head = parse_head(&head)?;
        let body = match head.body.take() {
            Some(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| {
                    FunctionError::Failed(format!("the answer's body is not base64: {e}"))
                })?,
            None => Vec::new(),
        };
        response(
            head,
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
    }
}

/// The invocation's payload: Pier's event for `lambda.mjs`.
async fn event(request: http::Request<Full<Bytes>>) -> Vec<u8> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let headers: Vec<(&str, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let url = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    serde_json::to_vec(&serde_json::json!({
        "method": parts.method.as_str(),
        "url": url,
        "headers": headers,
        "body": base64::engine::general_purpose::STANDARD.encode(&body),
    }))
    .expect("an event serializes")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn parse_head(bytes: &[u8]) -> Result<Head, FunctionError> {
    serde_json::from_slice(bytes).map_err(|e| {
        FunctionError::Failed(format!(
            "the function's answer is not in Pier's shape ({e}); was the version published by Pier?"
        ))
    })
}

fn response(
    head: Head,
    body: UnsyncBoxBody<Bytes, std::io::Error>,
) -> Result<http::Response<UnsyncBoxBody<Bytes, std::io::Error>>, FunctionError> {
    let status = StatusCode::from_u16(head.status_code)
        .map_err(|_| FunctionError::Failed(format!("status {} is not valid", head.status_code)))?;
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in head.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => {
                tracing::debug!(target: "pier_proxy::function", %name, "header left out: not valid in HTTP")
            }
        }
    }
    Ok(response)
}

/// The rest of a streamed answer, chunk by chunk, starting with what came with the prelude.
fn streamed(first: Bytes, events: EventStream) -> UnsyncBoxBody<Bytes, std::io::Error> {
    let chunks =
        futures::stream::unfold((Some(first), Some(events)), |(first, events)| async move {
            if let Some(first) = first.filter(|first| !first.is_empty()) {
                return Some((Ok(Frame::data(first)), (None, events)));
            }
            let mut events = events?;
            loop {
                match events.recv().await {
                    Ok(Some(Event::PayloadChunk(update))) => {
                        let Some(payload) = update.payload else {
                            continue;
                        };
                        let bytes = Bytes::from(payload.into_inner());
                        if bytes.is_empty() {
                            continue;
                        }
                        return Some((Ok(Frame::data(bytes)), (None, Some(events))));
                    }
                    Ok(Some(Event::InvokeComplete(done))) => {
                        let code = done.error_code?;
                        let error = std::io::Error::other(format!(
                            "the function failed while streaming: {code}: {}",
                            done.error_details.unwrap_or_default()
                        ));
                        return Some((Err(error), (None, None)));
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => {
                        let error = std::io::Error::other(DisplayErrorContext(&e).to_string());
                        return Some((Err(error), (None, None)));
                    }
                }
            }
        });
    StreamBody::new(chunks).boxed_unsync()
}
