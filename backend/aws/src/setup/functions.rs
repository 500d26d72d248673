//! Functions on AWS Lambda: what setup makes so deploys can publish versions and the proxy can
//! invoke them (`pier_core::lambda`).
//! - the log group `/pier/<name>/functions`, kept as long as the spec says: every version
//!   logs there (Lambda's `LoggingConfig`), so function output is in one place and nothing
//!   keeps it forever;
//! - the role `<name>-functions` that every version runs as: only Lambda may assume it, and
//!   it may only write to that log group (a function gets its environment, and no AWS access);
//! - `settings/functions.json` in the store, which tells every deploy (the CLI, the desktop,
//!   the builder) to publish the project's functions as versions of `<name>-fn-<project>`.
//!
//! The proxy's role may invoke only functions with that prefix, and the builder's may publish
//! only those (`iam.rs`). Teardown deletes the Lambda functions with the prefix (deploys made
//! them; idle versions cost nothing, but a torn-down setup leaves none), the store's Lambda
//! records, then the settings record.

use aws_sdk_s3::primitives::ByteStream;
use pier_core::error::PierError;
use pier_core::lambda::{FunctionsRuntime, LambdaSettings};
use pier_core::store::keys;

use crate::setup::iam;
use crate::setup::logging;
use crate::setup::record::Created;
use crate::setup::spec::{Change, Clients, aws_error, code_of};
use crate::setup::step::Found;
use crate::setup::step::Step;

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let spec = step.spec;
    let group = spec.functions_log_group();
    step.out.functions_log_group = logging::ensure_group(step, &group).await?;
    step.out.functions_role_arn = if spec.serving_only {
        iam::made_by_primary(step, &spec.functions_role()).await?
    } else {
        iam::role(
            step,
            &spec.functions_role(),
            Some(iam::functions_policy(&spec.serving_regions(), &group)),
            None,
            iam::LAMBDA,
        )
        .await?
    };
    // A plan that would create the role has no ARN yet; the record names what it will be.
    let role_arn = step
        .out
        .functions_role_arn
        .clone()
        .unwrap_or_else(|| format!("arn:aws:iam::<account>:role/{}", spec.functions_role()));
    let wanted = FunctionsRuntime::Lambda(LambdaSettings {
        role_arn,
        function_prefix: spec.functions_prefix(),
        log_group: Some(group),
    });
    settings_record(step, &wanted).await
}

async fn settings_record(step: &mut Step<'_>, wanted: &FunctionsRuntime) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let key = keys::FUNCTIONS_RUNTIME;
    let current = match clients
        .s3
        .get_object()
        .bucket(&spec.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(object) => {
            let body = object.body.collect().await.map(|b| b.into_bytes());
            body.ok()
                .and_then(|bytes| serde_json::from_slice::<FunctionsRuntime>(&bytes).ok())
        }
        Err(e) if matches!(code_of(&e), "NoSuchKey" | "NoSuchBucket") => None,
        Err(e) => return Err(aws_error("GetObject", e)),
    };
    let found = match current {
        Some(current) if &current == wanted => Found::AsWanted(()),
        Some(_) => Found::Differs(()),
        None => Found::Missing,
    };
    let about = Change::about("store record", key).with_detail(format!(
        "functions run on Lambda as {}<project>",
        spec.functions_prefix()
    ));
    let body = serde_json::to_vec_pretty(wanted).expect("settings serialize");
    step.ensure(about, found, |existing| async move {
        clients
            .s3
            .put_object()
            .bucket(&spec.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| aws_error("PutObject", e))?;
        let created = existing.is_none().then(|| Created::FunctionsRuntime {
            bucket: spec.bucket.clone(),
            key: key.to_string(),
            prefix: spec.functions_prefix(),
        });
        Ok(((), created))
    })
    .await?;
    Ok(())
}

/// Deletes every Lambda function named with `prefix`, the store's Lambda records and zips,
/// then the settings record.
pub async fn delete(
    clients: &Clients,
    bucket: &str,
    key: &str,
    prefix: &str,
) -> Result<Option<String>, PierError> {
    let mut marker = None;
    loop {
        let page = clients
            .lambda
            .list_functions()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error("ListFunctions", e))?;
        for function in page.functions() {
            let Some(name) = function.function_name().filter(|n| n.starts_with(prefix)) else {
                continue;
            };
            match clients
                .lambda
                .delete_function()
                .function_name(name)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if code_of(&e) == "ResourceNotFoundException" => {}
                Err(e) => return Err(aws_error("DeleteFunction", e)),
            }
        }
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let mut stale = vec![key.to_string()];
    let mut token = None;
    loop {
        let listing = clients
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("lambda/")
            .set_continuation_token(token)
            .send()
            .await;
        let page = match listing {
            Ok(page) => page,
            Err(e) if code_of(&e) == "NoSuchBucket" => return Ok(None),
            Err(e) => return Err(aws_error("ListObjectsV2", e)),
        };
        stale.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    for key in stale {
        match clients
            .s3
            .delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if code_of(&e) == "NoSuchBucket" => return Ok(None),
            Err(e) => return Err(aws_error("DeleteObject", e)),
        }
    }
    Ok(None)
}
