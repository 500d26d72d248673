//! The store bucket: private (all four Block Public Access switches on), encrypted at rest
//! (SSE-S3), and a lifecycle rule for what removed deployments and builds leave behind:
//! source archives and build caches expire after 30 days (a later build recreates them), and
//! unfinished multipart uploads are aborted after a day. Deployment blobs are never expired by
//! lifecycle: `pier gc` knows which are still used.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

use crate::setup::record::Created;
use crate::setup::spec::{Change, aws_error, code_of};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

const LEFTOVER_DAYS: i32 = 30;

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let s3 = &clients.s3;
    let bucket = &spec.bucket;
    step.out.bucket = Some(bucket.clone());
    let found = match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Found::AsWanted(()),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Found::Missing,
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            return Err(PierError::BadSetup {
                detail: format!(
                    "the bucket name `{bucket}` is taken by another AWS account; choose another \
                     with --bucket"
                ),
            });
        }
        Err(e) => return Err(aws_error("HeadBucket", e)),
    };
    step.ensure(Change::about("bucket", bucket), found, |_| async {
        let mut create = s3.create_bucket().bucket(bucket);
        if spec.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(spec.region.as_str()))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok((
                (),
                Some(Created::Bucket {
                    name: bucket.clone(),
                }),
            )),
            Err(e) if code_of(&e) == "BucketAlreadyOwnedByYou" => Ok(((), None)),
            Err(e) => Err(aws_error("CreateBucket", e)),
        }
    })
    .await?;

    // Public access: all four switches on.
    let blocked = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(output) => output.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(_) => false,
    };
    let about = Change::about("public access block", bucket);
    step.ensure(about, Found::setting(blocked), |_| async {
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("PutPublicAccessBlock", e))?;
        Ok(((), None))
    })
    .await?;

    // Encryption at rest.
    let encrypted = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(output) => output
            .server_side_encryption_configuration()
            .is_some_and(|c| !c.rules().is_empty()),
        Err(_) => false,
    };
    let about = Change::about("encryption", bucket);
    step.ensure(about, Found::setting(encrypted), |_| async {
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .expect("algorithm set"),
            )
            .bucket_key_enabled(true)
            .build();
        s3.put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .expect("rules set"),
            )
            .send()
            .await
            .map_err(|e| aws_error("PutBucketEncryption", e))?;
        Ok(((), None))
    })
    .await?;

    // Lifecycle for leftovers.
    let rule_ids = ["pier-sources", "pier-build-cache", "pier-multipart"];
    let has_rules = match s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(output) => rule_ids
            .iter()
            .all(|id| output.rules().iter().any(|r| r.id() == Some(*id))),
        Err(_) => false,
    };
    let about = Change::about("lifecycle rules", bucket);
    step.ensure(about, Found::setting(has_rules), |_| async {
        let expire = |id: &str, prefix: &str| {
            LifecycleRule::builder()
                .id(id)
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
                .expiration(LifecycleExpiration::builder().days(LEFTOVER_DAYS).build())
                .build()
                .expect("status set")
        };
        let configuration = BucketLifecycleConfiguration::builder()
            .rules(expire("pier-sources", "sources/"))
            .rules(expire("pier-build-cache", "cache/"))
            .rules(
                LifecycleRule::builder()
                    .id("pier-multipart")
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(1)
                            .build(),
                    )
                    .build()
                    .expect("status set"),
            )
            .build()
            .expect("rules set");
        s3.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(configuration)
            .send()
            .await
            .map_err(|e| aws_error("PutBucketLifecycleConfiguration", e))?;
        Ok(((), None))
    })
    .await?;
    Ok(())
}
