//! A registry client for one repository on one registry, on `reqwest` (rustls): the few calls
//! of the OCI Distribution Spec v1.1 a mirror needs, each by digest.
//!
//! - `GET /v2/` first, to log in before any work ([`RepoClient::prepare`]; see `auth.rs`).
//! - Manifests: `HEAD`/`GET /v2/<name>/manifests/<digest>` with every copied media type in
//!   `Accept`, checked against the digest; `PUT` with the bytes as fetched and their media
//!   type as `Content-Type`.
//! - Blobs: `HEAD` (does the destination have it?), `GET` as a stream (redirects to a CDN or
//!   S3 are followed; `reqwest` drops `Authorization` when the host changes), and the
//!   **monolithic upload**: `POST /v2/<name>/blobs/uploads/`, then one `PUT <location>?digest=`
//!   with the whole blob as a streamed body and its `Content-Length`. No chunked `PATCH`es:
//!   ECR answers them 201 instead of 202, and chunked uploads to it are known to lose data.
//!
//! Requests that carry no body are repeated once after a 401 with a fresh login; the blob
//! `PUT` cannot be (its body is a stream), which is why the login happens up front.

use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};

use super::auth::{Challenge, TokenAnswer, parse_challenge};
use super::media::{ACCEPT_MANIFESTS, MANIFEST_LIMIT, manifest_media_type};
use super::{Credentials, Digest, ImageError, Registry, Side};

/// One HTTP client for a whole mirror: its connection pool is shared by both ends.
pub(crate) fn http_client() -> Result<reqwest::Client, ImageError> {
    // reqwest takes the process's provider; ring is the only one linked. Already installed
    // (by an earlier client, or by a TLS connection to Redis) is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("pier/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        // Between two reads of a response; a stalled transfer fails instead of hanging.
        .read_timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| ImageError::Network {
            registry: "this machine".into(),
            detail: error_chain(&e),
        })
}

/// A fetched manifest: its bytes exactly as served, their media type, and their digest.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: Digest,
}

pub(crate) struct RepoClient {
    http: reqwest::Client,
    registry: Registry,
    repository: String,
    credentials: Credentials,
    side: Side,
    /// Whether this client pushes (its token scope is `pull,push`).
    push: bool,
    /// The `Authorization` header the last login gave, if any.
    authorization: Mutex<Option<HeaderValue>>,
}

impl RepoClient {
    pub fn new(
        http: reqwest::Client,
        registry: Registry,
        repository: &str,
        credentials: Credentials,
        side: Side,
    ) -> RepoClient {
        RepoClient {
            http,
            registry,
            repository: repository.to_string(),
            credentials,
            side,
            push: side == Side::Destination,
            authorization: Mutex::new(None),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// `GET /v2/`: logs in (a 401 starts the flow its challenge names), so wrong credentials
    /// fail here, before any work, and streamed uploads later carry a valid login.
    pub async fn prepare(&self) -> Result<(), ImageError> {
        let url = self
            .registry
            .url()
            .join("/v2/")
            .expect("a fixed path joins");
        self.send(&url, |http| http.get(url.clone()))
            .await
            .map(drop)
    }

    /// Whether the repository has the manifest `reference` (a digest or a tag), and the digest
    /// the registry gives for it (`Docker-Content-Digest`), when it says.
    pub async fn manifest_exists(&self, reference: &str) -> Result<Option<String>, ImageError> {
        let url = self
            .registry
            .endpoint(&self.repository, &format!("manifests/{reference}"));
        let action = format!("HEAD manifest {reference}");
        let response = self
            .send(&url, |http| {
                http.head(url.clone()).header(ACCEPT, ACCEPT_MANIFESTS)
            })
            .await?;
        match response.status() {
            status if status.is_success() => Ok(Some(
                response
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string(),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.unexpected(&action, response).await),
        }
    }

    /// The manifest `digest`, checked against it. `descriptor_type` is the media type the
    /// referencing index gives, used when the bytes do not say.
    pub async fn get_manifest(
        &self,
        digest: &Digest,
        descriptor_type: Option<&str>,
    ) -> Result<Manifest, ImageError> {
        let url = self
            .registry
            .endpoint(&self.repository, &format!("manifests/{digest}"));
        let action = format!("GET manifest {digest}");
        let response = self
            .send(&url, |http| {
                http.get(url.clone()).header(ACCEPT, ACCEPT_MANIFESTS)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(self
                .not_found(&format!("the image {}@{digest}", self.repository), response)
                .await);
        }
        if !response.status().is_success() {
            return Err(self.unexpected(&action, response).await);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = self.read_limited(response, MANIFEST_LIMIT, digest).await?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(ImageError::DigestMismatch {
                registry: self.registry.to_string(),
                what: "manifest",
                digest: digest.to_string(),
                detail: format!("the bytes served hash to {actual}"),
            });
        }
        let media_type = manifest_media_type(&bytes, descriptor_type, content_type.as_deref())
            .ok_or_else(|| ImageError::Unsupported {
                image: format!("{}/{}@{digest}", self.registry, self.repository),
                detail: "its manifest names no media type Pier knows".into(),
            })?;
        Ok(Manifest {
            bytes,
            media_type,
            digest: digest.clone(),
        })
    }

    /// Pushes `manifest` under `reference` (its digest, or a tag), byte for byte.
    pub async fn put_manifest(
        &self,
        reference: &str,
        manifest: &Manifest,
    ) -> Result<(), ImageError> {
        let url = self
            .registry
            .endpoint(&self.repository, &format!("manifests/{reference}"));
        let action = format!("PUT manifest {reference}");
        let response = self
            .send(&url, |http| {
                http.put(url.clone())
                    .header(CONTENT_TYPE, manifest.media_type.as_str())
                    .body(manifest.bytes.clone())
            })
            .await?;
        if !response.status().is_success() {
            if response.status() == StatusCode::NOT_FOUND {
                let what = format!("the repository {}", self.repository);
                return Err(self.not_found(&what, response).await);
            }
            return Err(self.unexpected(&action, response).await);
        }
        let stored = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok());
        match stored {
            Some(stored) if stored != manifest.digest.as_str() => Err(ImageError::DigestMismatch {
                registry: self.registry.to_string(),
                what: "manifest",
                digest: manifest.digest.to_string(),
                detail: format!("the destination stored it as {stored}"),
            }),
            _ => Ok(()),
        }
    }

    /// `HEAD` the blob: whether the repository has it.
    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool, ImageError> {
        let url = self
            .registry
            .endpoint(&self.repository, &format!("blobs/{digest}"));
        let action = format!("HEAD blob {digest}");
        let response = self.send(&url, |http| http.head(url.clone())).await?;
        match response.status() {
            status if status.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.unexpected(&action, response).await),
        }
    }

    /// `GET` the blob, answered with a success status; the body is for the caller to stream.
    pub async fn get_blob(&self, digest: &Digest) -> Result<Response, ImageError> {
        let url = self
            .registry
            .endpoint(&self.repository, &format!("blobs/{digest}"));
        let action = format!("GET blob {digest}");
        let response = self.send(&url, |http| http.get(url.clone())).await?;
        match response.status() {
            status if status.is_success() => Ok(response),
            StatusCode::NOT_FOUND => {
                let what = format!("the blob {digest} of {}", self.repository);
                Err(self.not_found(&what, response).await)
            }
            _ => Err(self.unexpected(&action, response).await),
        }
    }

    /// A small blob (an image config) in memory, checked against its digest.
    pub async fn get_small_blob(&self, digest: &Digest) -> Result<Bytes, ImageError> {
        let response = self.get_blob(digest).await?;
        let bytes = self.read_limited(response, MANIFEST_LIMIT, digest).await?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(ImageError::DigestMismatch {
                registry: self.registry.to_string(),
                what: "blob",
                digest: digest.to_string(),
                detail: format!("the bytes served hash to {actual}"),
            });
        }
        Ok(bytes)
    }

    /// `POST /v2/<name>/blobs/uploads/`: opens an upload and returns where to send it.
    pub async fn start_upload(&self) -> Result<Url, ImageError> {
        let url = self.registry.endpoint(&self.repository, "blobs/uploads/");
        let action = "POST blobs/uploads/";
        let response = self
            .send(&url, |http| {
                http.post(url.clone()).header(CONTENT_LENGTH, 0)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            let what = format!("the repository {}", self.repository);
            return Err(self.not_found(&what, response).await);
        }
        if !response.status().is_success() {
            return Err(self.unexpected(action, response).await);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|location| self.registry.url().join(location).ok());
        match location {
            Some(location) => Ok(location),
            None => Err(ImageError::Registry {
                registry: self.registry.to_string(),
                action: action.into(),
                status: response.status().as_u16(),
                detail: "the answer has no upload Location".into(),
            }),
        }
    }

    /// The monolithic upload's one `PUT <location>?digest=`, with the whole blob as `body`
    /// (`size` bytes). Sent once: a stream cannot be replayed.
    pub async fn finish_upload(
        &self,
        location: Url,
        digest: &Digest,
        size: u64,
        body: reqwest::Body,
    ) -> Result<(), ImageError> {
        let mut url = location;
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let mut request = self
            .http
            .put(url.clone())
            .header(CONTENT_LENGTH, size)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if self.registry.owns(&url)
            && let Some(authorization) = self.authorization()
        {
            request = request.header(AUTHORIZATION, authorization);
        }
        let response = request.send().await.map_err(|e| self.network(&e))?;
        let status = response.status();
        let action = format!("PUT blob {digest}");
        if status.is_success() {
            return Ok(());
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(self.refused(response).await);
        }
        let detail = response_detail(response).await;
        if detail.contains("DIGEST_INVALID") || detail.contains("SIZE_INVALID") {
            return Err(ImageError::DigestMismatch {
                registry: self.registry.to_string(),
                what: "blob",
                digest: digest.to_string(),
                detail: format!("the destination refused the bytes: {detail}"),
            });
        }
        Err(ImageError::Registry {
            registry: self.registry.to_string(),
            action,
            status: status.as_u16(),
            detail,
        })
    }

    /// Sends a request `build` makes (again, after a login), with the login's
    /// `Authorization` when the URL is on this registry.
    async fn send(
        &self,
        url: &Url,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, ImageError> {
        let mut logged_in = false;
        loop {
            let mut request = build(&self.http);
            if self.registry.owns(url)
                && let Some(authorization) = self.authorization()
            {
                request = request.header(AUTHORIZATION, authorization);
            }
            let response = request.send().await.map_err(|e| self.network(&e))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !logged_in {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_challenge);
                self.login(challenge, response).await?;
                logged_in = true;
                continue;
            }
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                return Err(self.refused(response).await);
            }
            return Ok(response);
        }
    }

    /// Answers a 401's challenge: basic credentials, or a bearer token from the realm.
    async fn login(
        &self,
        challenge: Option<Challenge>,
        response: Response,
    ) -> Result<(), ImageError> {
        match challenge {
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token = self.fetch_token(&realm, service.as_deref()).await?;
                let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    self.refused_with(401, "the token service gave an unusable token")
                })?;
                self.set_authorization(value);
                Ok(())
            }
            Some(Challenge::Basic) | None => match &self.credentials {
                Credentials::Basic { username, password } => {
                    use base64::Engine as _;
                    let encoded = base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{password}"));
                    let value = HeaderValue::from_str(&format!("Basic {encoded}"))
                        .map_err(|_| self.refused_with(401, "the credentials cannot be sent"))?;
                    self.set_authorization(value);
                    Ok(())
                }
                Credentials::Anonymous => Err(self.refused(response).await),
            },
            Some(Challenge::Other(scheme)) => Err(self.refused_with(
                401,
                &format!("it asks for `{scheme}` authentication, which Pier does not speak"),
            )),
        }
    }

    /// `GET realm?service=…&scope=repository:<name>:pull[,push]`, anonymously or with the
    /// basic credentials.
    async fn fetch_token(&self, realm: &str, service: Option<&str>) -> Result<String, ImageError> {
        let mut url = Url::parse(realm).map_err(|_| {
            self.refused_with(
                401,
                &format!("its token service address `{realm}` is not a URL"),
            )
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            let actions = if self.push { "pull,push" } else { "pull" };
            query.append_pair(
                "scope",
                &format!("repository:{}:{actions}", self.repository),
            );
        }
        let mut request = self.http.request(Method::GET, url);
        if let Credentials::Basic { username, password } = &self.credentials {
            request = request.basic_auth(username, Some(password));
        }
        let response = request.send().await.map_err(|e| self.network(&e))?;
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(self.refused(response).await);
        }
        if !status.is_success() {
            return Err(self.unexpected("GET token", response).await);
        }
        let body = self
            .read_limited(response, 1024 * 1024, &Digest::of(b""))
            .await?;
        serde_json::from_slice::<TokenAnswer>(&body)
            .ok()
            .and_then(TokenAnswer::into_token)
            .ok_or_else(|| {
                self.refused_with(
                    status.as_u16(),
                    "its token service answered without a token",
                )
            })
    }

    fn authorization(&self) -> Option<HeaderValue> {
        self.authorization
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_authorization(&self, mut value: HeaderValue) {
        value.set_sensitive(true);
        *self
            .authorization
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(value);
    }

    /// Reads a body of at most `limit` bytes (`digest` names it in the error).
    async fn read_limited(
        &self,
        mut response: Response,
        limit: u64,
        digest: &Digest,
    ) -> Result<Bytes, ImageError> {
        let too_large = || ImageError::Unsupported {
            image: format!("{}/{}", self.registry, self.repository),
            detail: format!("{digest} is larger than {limit} bytes"),
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.network(&e))? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    pub fn network(&self, error: &reqwest::Error) -> ImageError {
        ImageError::Network {
            registry: self.registry.to_string(),
            detail: error_chain(error),
        }
    }

    async fn refused(&self, response: Response) -> ImageError {
        let status = response.status().as_u16();
        let detail = response_detail(response).await;
        self.refused_with(status, &detail)
    }

    fn refused_with(&self, status: u16, detail: &str) -> ImageError {
        ImageError::AuthRefused {
            side: self.side,
            registry: self.registry.to_string(),
            status,
            detail: detail.to_string(),
        }
    }

    async fn not_found(&self, what: &str, response: Response) -> ImageError {
        ImageError::NotFound {
            side: self.side,
            registry: self.registry.to_string(),
            what: what.to_string(),
            detail: response_detail(response).await,
        }
    }

    async fn unexpected(&self, action: &str, response: Response) -> ImageError {
        let status = response.status().as_u16();
        ImageError::Registry {
            registry: self.registry.to_string(),
            action: action.to_string(),
            status,
            detail: response_detail(response).await,
        }
    }
}

/// A registry's error body, short: `CODE: message` for each entry of the Distribution
/// Spec's `{"errors":[…]}`, else the start of the text.
async fn response_detail(response: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let text = response.text().await.unwrap_or_default();
    if let Ok(errors) = serde_json::from_str::<Errors>(&text) {
        return errors
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// An error and its causes, `: `-joined (reqwest's own message names only the URL).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
