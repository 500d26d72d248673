//! The S3 store, through aws-config's standard credential chain (profiles, SSO, environment).
//!
//! Conditional writes use S3's `If-None-Match: *` and `If-Match: <etag>` (412 Precondition
//! Failed on a lost race; 409 ConditionalRequestConflict is treated the same). Files above
//! [`MULTIPART_THRESHOLD`] go up as multipart uploads, parts read in order and hashed as they
//! are read, so the upload is aborted rather than completed when the file changed underneath.
//! Any custom endpoint (`AWS_ENDPOINT_URL`, or `?endpoint=` in the store URL) switches to
//! path-style addressing, which S3-compatible servers expect.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

use super::url::S3Options;
use super::{
    ByteStream, Condition, FileBody, ListPage, Object, ObjectMeta, PutOptions, ReadStore, Store,
    StoreError,
};

/// Files at least this large are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
const PART_SIZE: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint: String,
    credentials: Option<SharedCredentialsProvider>,
    sdk_config: aws_config::SdkConfig,
}

impl S3Store {
    pub async fn connect(
        bucket: &str,
        prefix: &str,
        options: &S3Options,
    ) -> Result<Self, StoreError> {
        let mut loader = crate::aws::loader()
            .retry_config(RetryConfig::standard().with_max_attempts(4))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .build(),
            );
        if let Some(region) = &options.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &options.profile {
            loader = crate::aws::named_profile(loader, profile);
        }
        if let Some(endpoint) = &options.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let mut sdk_config = loader.load().await;
        if sdk_config.region().is_none() {
            // Named nowhere in the chain: us-east-1's endpoint answers for a bucket anywhere.
            sdk_config = sdk_config
                .into_builder()
                .region(aws_config::Region::from_static("us-east-1"))
                .build();
        }
        let endpoint = sdk_config.endpoint_url().map(str::to_string);
        let config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .force_path_style(endpoint.is_some())
            .build();
        let region = sdk_config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        Ok(S3Store {
            client: Client::from_conf(config),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint: endpoint.unwrap_or_else(|| format!("s3.{region}.amazonaws.com")),
            credentials: sdk_config.credentials_provider(),
            sdk_config,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn error<E>(&self, key: &str, err: SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|raw| raw.status().as_u16());
        let code = err.code().unwrap_or_default().to_string();
        let detail = DisplayErrorContext(&err).to_string();
        match &err {
            SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
                return StoreError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    detail: short(&detail),
                };
            }
            SdkError::TimeoutError(_) => {
                return StoreError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    detail: "timed out".into(),
                };
            }
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => {}
            _ => {
                let lower = detail.to_lowercase();
                if lower.contains("expired") {
                    return StoreError::ExpiredCredentials;
                }
                if lower.contains("credential") || lower.contains("identity") {
                    return StoreError::NoCredentials {
                        detail: short(&detail),
                    };
                }
                return StoreError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    detail: short(&detail),
                };
            }
        }
        match (code.as_str(), status) {
            ("NoSuchBucket", _) => StoreError::NoSuchBucket {
                bucket: self.bucket.clone(),
            },
            ("PreconditionFailed" | "ConditionalRequestConflict", _) | (_, Some(412 | 409)) => {
                StoreError::PreconditionFailed { key: key.into() }
            }
            ("ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired", _) => {
                StoreError::ExpiredCredentials
            }
            ("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken", _) => {
                StoreError::BadCredentials { code }
            }
            ("AccessDenied" | "AllAccessDisabled", _) | (_, Some(403)) => {
                StoreError::AccessDenied {
                    target: format!("s3://{}/{}", self.bucket, self.full_key(key)),
                }
            }
            _ => StoreError::Other {
                key: key.into(),
                detail: if code.is_empty() {
                    short(&detail)
                } else {
                    code
                },
            },
        }
    }

    /// Resolves the credentials up front: an expired SSO session or a profile without
    /// credentials gets its own message instead of a failed request.
    async fn check_credentials(&self) -> Result<(), StoreError> {
        let Some(provider) = &self.credentials else {
            return Err(StoreError::NoCredentials {
                detail: "no credentials provider is configured".into(),
            });
        };
        match provider.provide_credentials().await {
            Ok(credentials) => match credentials.expiry() {
                Some(expiry) if expiry <= SystemTime::now() => Err(StoreError::ExpiredCredentials),
                _ => Ok(()),
            },
            Err(error) => {
                let detail = short(&DisplayErrorContext(&error).to_string());
                if detail.to_lowercase().contains("expired") {
                    Err(StoreError::ExpiredCredentials)
                } else {
                    Err(StoreError::NoCredentials { detail })
                }
            }
        }
    }

    async fn put_multipart(&self, key: &str, body: &FileBody<'_>) -> Result<(), StoreError> {
        let full_key = self.full_key(key);
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&full_key)
            .send()
            .await
            .map_err(|e| self.error(key, e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = self.upload_parts(key, &full_key, &upload_id, body).await;
        let parts = match result {
            Ok(parts) => parts,
            Err(e) => {
                // Best effort: an abandoned upload only costs storage until the lifecycle rule.
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&full_key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&full_key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.error(key, e))?;
        Ok(())
    }

    async fn upload_parts(
        &self,
        key: &str,
        full_key: &str,
        upload_id: &str,
        body: &FileBody<'_>,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let mut file = tokio::fs::File::open(body.path)
            .await
            .map_err(|e| StoreError::io(body.path, e))?;
        let mut hasher = Sha256::new();
        let mut in_flight = FuturesUnordered::new();
        let mut parts = Vec::new();
        let mut part_number = 0i32;
        loop {
            let mut chunk = Vec::with_capacity(PART_SIZE);
            let read = (&mut file)
                .take(PART_SIZE as u64)
                .read_to_end(&mut chunk)
                .await
                .map_err(|e| StoreError::io(body.path, e))?;
            if read == 0 && part_number > 0 {
                break;
            }
            hasher.update(&chunk);
            part_number += 1;
            let number = part_number;
            let request = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(full_key)
                .upload_id(upload_id)
                .part_number(number)
                .body(SdkBody::from(chunk));
            in_flight.push(async move {
                let output = request.send().await.map_err(|e| self.error(key, e))?;
                Ok::<_, StoreError>(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(output.e_tag().map(str::to_string))
                        .build(),
                )
            });
            if in_flight.len() >= PARTS_IN_FLIGHT {
                parts.push(in_flight.next().await.expect("non-empty")?);
            }
            if read < PART_SIZE {
                break;
            }
        }
        while let Some(part) = in_flight.next().await {
            parts.push(part?);
        }
        if hasher.finalize().as_slice() != body.sha256 {
            return Err(StoreError::ContentChanged {
                path: body.path.display().to_string(),
            });
        }
        parts.sort_by_key(|p| p.part_number());
        Ok(parts)
    }
}

fn short(detail: &str) -> String {
    detail.chars().take(300).collect()
}

fn to_time(value: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(value?.secs()).ok()
}

#[async_trait]
impl ReadStore for S3Store {
    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
    }

    fn aws(&self) -> Option<super::AwsPlace> {
        Some(super::AwsPlace {
            config: self.sdk_config.clone(),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
        })
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.check_credentials().await?;
        // HeadBucket costs the same however many objects the bucket holds. Its errors have no
        // body, so the status tells: 404 no bucket, 403 denied, 301 another region.
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.raw_response().map(|raw| raw.status().as_u16()) {
                Some(404) => Err(StoreError::NoSuchBucket {
                    bucket: self.bucket.clone(),
                }),
                Some(301) => Err(StoreError::Other {
                    key: String::new(),
                    detail: format!(
                        "the bucket `{}` is in another region; set AWS_REGION or ?region= in the store URL",
                        self.bucket
                    ),
                }),
                _ => Err(self.error("", e)),
            },
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.error(key, e)),
        };
        let etag = output.e_tag().unwrap_or_default().to_string();
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unreachable {
                endpoint: self.endpoint.clone(),
                detail: e.to_string(),
            })?
            .into_bytes();
        Ok(Some(Object { body, etag }))
    }

    async fn get_stream(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<ByteStream>, StoreError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .set_range(range.map(|(first, last)| format!("bytes={first}-{last}")))
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.error(key, e)),
        };
        let endpoint = self.endpoint.clone();
        let stream =
            futures::stream::unfold((output.body, endpoint), |(mut body, endpoint)| async move {
                match body.try_next().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), (body, endpoint))),
                    Ok(None) => None,
                    Err(e) => {
                        let error = StoreError::Unreachable {
                            endpoint: endpoint.clone(),
                            detail: e.to_string(),
                        };
                        Some((Err(error), (body, endpoint)))
                    }
                }
            });
        Ok(Some(Box::pin(stream)))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(output) => Ok(Some(ObjectMeta {
                key: key.to_string(),
                size: output.content_length().unwrap_or_default().max(0) as u64,
                last_modified: to_time(output.last_modified()),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> Result<ListPage, StoreError> {
        let output = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| self.error(prefix, e))?;
        let objects = output
            .contents()
            .iter()
            .filter_map(|object| {
                let key = object.key()?.strip_prefix(&self.prefix)?.to_string();
                Some(ObjectMeta {
                    key,
                    size: object.size().unwrap_or_default().max(0) as u64,
                    last_modified: to_time(object.last_modified()),
                })
            })
            .collect();
        let next = match output.is_truncated() {
            Some(true) => output.next_continuation_token().map(str::to_string),
            _ => None,
        };
        Ok(ListPage { objects, next })
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let full_prefix = self.full_key(prefix);
        let mut children = Vec::new();
        let mut token = None;
        loop {
            let output = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .delimiter("/")
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| self.error(prefix, e))?;
            children.extend(output.common_prefixes().iter().filter_map(|common| {
                let child = common.prefix()?.strip_prefix(&full_prefix)?;
                Some(child.trim_end_matches('/').to_string())
            }));
            match (output.is_truncated(), output.next_continuation_token()) {
                (Some(true), Some(next)) => token = Some(next.to_string()),
                _ => return Ok(children),
            }
        }
    }
}

#[async_trait]
impl Store for S3Store {
    async fn put(&self, key: &str, body: Bytes, options: PutOptions) -> Result<String, StoreError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .set_content_type(options.content_type)
            .body(SdkBody::from(body));
        let replacing = matches!(options.condition, Condition::IfMatch(_));
        request = match options.condition {
            Condition::None => request,
            Condition::IfNoneMatch => request.if_none_match("*"),
            Condition::IfMatch(etag) => request.if_match(etag),
        };
        let output = request.send().await.map_err(|e| {
            // S3 answers `If-Match` on a missing key with 404: the version we read is gone.
            if replacing
                && e.raw_response()
                    .is_some_and(|raw| raw.status().as_u16() == 404)
            {
                return StoreError::PreconditionFailed { key: key.into() };
            }
            self.error(key, e)
        })?;
        Ok(output.e_tag().unwrap_or_default().to_string())
    }

    async fn put_file(&self, key: &str, body: FileBody<'_>) -> Result<(), StoreError> {
        if body.size >= MULTIPART_THRESHOLD {
            return self.put_multipart(key, &body).await;
        }
        let bytes = tokio::fs::read(body.path)
            .await
            .map_err(|e| StoreError::io(body.path, e))?;
        if Sha256::digest(&bytes).as_slice() != body.sha256 {
            return Err(StoreError::ContentChanged {
                path: body.path.display().to_string(),
            });
        }
        // The blob's SHA-256 is known, so S3 checks the body against it (the header is signed)
        // and the SDK neither hashes the body again to sign it nor computes a CRC32 of its own:
        // a deploy to several regions no longer pays two passes over every file per region.
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .checksum_sha256(BASE64_STANDARD.encode(body.sha256))
            .body(SdkBody::from(bytes))
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| self.error(key, e))?;
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .map(|key| {
                    ObjectIdentifier::builder()
                        .key(self.full_key(key))
                        .build()
                        .expect("key is set")
                })
                .collect();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .expect("objects are set");
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.error(&batch[0], e))?;
            if let Some(failed) = output.errors().first() {
                return Err(StoreError::Other {
                    key: failed.key().unwrap_or_default().to_string(),
                    detail: failed.code().unwrap_or("delete failed").to_string(),
                });
            }
        }
        Ok(())
    }
}
