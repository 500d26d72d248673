//! IAM roles for the hosted half, each with only what it needs:
//! - `<name>-execution`: lets ECS pull images and write container logs (AWS's managed task
//!   execution policy) and read the builders' secret when there is one (only that secret);
//! - `<name>-proxy`: read-only on the store bucket (the proxy never writes);
//! - `<name>-proxy` may also invoke Pier's functions (`<name>-fn-*`), and nothing else;
//! - `<name>-builder`: reads the store, writes only under the keys a deploy writes (blobs,
//!   deployments, projects, previews, leases, logs, the build cache, Lambda's records and
//!   zips), takes jobs from the build queue, and publishes Pier's functions (passing them only
//!   the functions' role). With other regions it deploys to each of their buckets too (there it
//!   writes deployments and their records, and repeats the primary's removals, as a sync does);
//! - `<name>-functions` (made by `functions.rs`): what every function version runs as; Lambda
//!   may assume it, and it may only write to the functions' log group.
//!
//! Policies are inline, so deleting the role deletes them, and compared as JSON values so a
//! re-run changes nothing unless the rules differ.

use aws_sdk_iam::Client;
use serde_json::{Value, json};

use crate::setup::record::Created;
use crate::setup::spec::{Action, Change, Clients, aws_error, code_of};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

const EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
const INLINE_POLICY: &str = "pier";

/// Key prefixes a build writes (see ARCHITECTURE.md's key layout).
const BUILDER_WRITES: [&str; 9] = [
    "blobs/",
    "deployments/",
    "projects/",
    "previews/",
    "leases/",
    "logs/",
    "cache/",
    "sources/",
    "lambda/",
];

/// What only the primary's bucket holds: another region gets deployments and their records.
const PRIMARY_ONLY_WRITES: [&str; 3] = ["logs/", "cache/", "sources/"];

/// What a removal deletes, which a deploy repeats in another region when the primary made one.
const REGION_REMOVALS: [&str; 3] = ["deployments/", "projects/", "previews/"];

/// Who may assume a role: ECS tasks for the hosted half's roles, Lambda for the functions'.
pub const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";
pub const LAMBDA: &str = "lambda.amazonaws.com";

fn trust_policy(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// Functions Pier may invoke or publish: `<name>-fn-*` in the setup's region (a version's
/// qualified ARN matches too).
fn functions_arns(regions: &[String], prefix: &str) -> Vec<String> {
    regions
        .iter()
        .map(|region| format!("arn:aws:lambda:{region}:*:function:{prefix}*"))
        .collect()
}

/// Every object in each bucket (what `s3:GetObject` names).
fn object_arns(buckets: &[String]) -> Vec<String> {
    buckets
        .iter()
        .map(|bucket| format!("arn:aws:s3:::{bucket}/*"))
        .collect()
}

/// The buckets themselves (what `s3:ListBucket` names).
fn bucket_arns(buckets: &[String]) -> Vec<String> {
    buckets
        .iter()
        .map(|bucket| format!("arn:aws:s3:::{bucket}"))
        .collect()
}

/// Read-only on the stores, and invoke (`InvokeWithResponseStream` is `lambda:InvokeFunction`)
/// on Pier's functions only. IAM is global, so the one role names every serving region's
/// bucket and functions: each region's proxies run as it.
pub fn proxy_policy(buckets: &[String], regions: &[String], functions_prefix: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Effect": "Allow", "Action": "s3:GetObject", "Resource": object_arns(buckets) },
            { "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arns(buckets) },
            { "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": functions_arns(regions, functions_prefix) }
        ]
    })
}

/// What the functions' role allows: writing their output to their log group, nothing else.
pub fn functions_policy(regions: &[String], log_group: &str) -> Value {
    let groups: Vec<String> = regions
        .iter()
        .map(|region| format!("arn:aws:logs:{region}:*:log-group:{log_group}:*"))
        .collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": groups
            }
        ]
    })
}

/// What the execution role may read besides the managed policy: the one secret ECS resolves
/// into the builders' environment at task start.
pub fn execution_secrets_policy(secret_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn }
        ]
    })
}

/// The builder deploys what it builds, so it also publishes functions: Pier's functions only,
/// passing only the functions' role to them. It deploys to every serving region: `buckets` and
/// `regions` list them, the primary first, whose bucket alone also holds logs, the build cache
/// and uploaded sources.
pub fn builder_policy(
    buckets: &[String],
    queue_arn: &str,
    regions: &[String],
    functions_prefix: &str,
    functions_role: &str,
) -> Value {
    let writes: Vec<String> = buckets
        .iter()
        .enumerate()
        .flat_map(|(index, bucket)| {
            BUILDER_WRITES
                .iter()
                .filter(move |prefix| index == 0 || !PRIMARY_ONLY_WRITES.contains(prefix))
                .map(move |prefix| format!("arn:aws:s3:::{bucket}/{prefix}*"))
        })
        .collect();
    // Leases and staged function code are the builder's own; in another region a deploy also
    // catches up on the primary's removals (a manifest, then its records), as a sync does.
    let deletes: Vec<String> = buckets
        .iter()
        .enumerate()
        .flat_map(|(index, bucket)| {
            let own = ["leases/", "lambda/code/"].iter();
            let removals = REGION_REMOVALS.iter().filter(move |_| index > 0);
            own.chain(removals)
                .map(move |prefix| format!("arn:aws:s3:::{bucket}/{prefix}*"))
        })
        .collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Effect": "Allow", "Action": "s3:GetObject", "Resource": object_arns(buckets) },
            { "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arns(buckets) },
            { "Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"], "Resource": writes },
            { "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": deletes },
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
                "Resource": queue_arn
            },
            {
                "Effect": "Allow",
                "Action": [
                    "lambda:GetFunctionConfiguration", "lambda:CreateFunction", "lambda:UpdateFunctionCode",
                    "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion", "lambda:TagResource"
                ],
                "Resource": functions_arns(regions, functions_prefix)
            },
            { "Effect": "Allow", "Action": "iam:PassRole", "Resource": functions_role }
        ]
    })
}

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let spec = step.spec;
    if spec.serving_only {
        // The roles are global: the primary's run made them for every region.
        step.out.execution_role_arn = made_by_primary(step, &spec.resource("execution")).await?;
        step.out.proxy_role_arn = made_by_primary(step, &spec.resource("proxy")).await?;
        return Ok(());
    }
    let queue_arn =
        step.out.queue_arn.clone().unwrap_or_else(|| {
            format!("arn:aws:sqs:{}:*:{}", spec.region, spec.resource("builds"))
        });
    let execution_inline = step
        .out
        .redis_secret_arn
        .as_deref()
        .map(execution_secrets_policy);
    step.out.execution_role_arn = role(
        step,
        &spec.resource("execution"),
        execution_inline,
        Some(EXECUTION_POLICY),
        ECS_TASKS,
    )
    .await?;
    let prefix = spec.functions_prefix();
    step.out.proxy_role_arn = role(
        step,
        &spec.resource("proxy"),
        Some(proxy_policy(
            &spec.serving_buckets(),
            &spec.serving_regions(),
            &prefix,
        )),
        None,
        ECS_TASKS,
    )
    .await?;
    let functions_role = format!("arn:aws:iam::*:role/{}", spec.functions_role());
    step.out.builder_role_arn = role(
        step,
        &spec.resource("builder"),
        Some(builder_policy(
            &spec.serving_buckets(),
            &queue_arn,
            &spec.serving_regions(),
            &prefix,
            &functions_role,
        )),
        None,
        ECS_TASKS,
    )
    .await?;
    Ok(())
}

/// In another region's run: the ARN of a role the primary's run made (a plan may find none).
pub async fn made_by_primary(step: &mut Step<'_>, name: &str) -> Result<Option<String>, PierError> {
    let found = match step.clients.iam.get_role().role_name(name).send().await {
        Ok(output) => output.role().map(|r| r.arn().to_string()),
        Err(e) if code_of(&e) == "NoSuchEntity" => None,
        Err(e) => return Err(aws_error("GetRole", e)),
    };
    let action = match (&found, step.mode.applies()) {
        (Some(_), _) => Action::Exists,
        (None, false) => Action::Create,
        (None, true) => {
            return Err(PierError::BadSetup {
                detail: format!(
                    "the role {name} is missing; the primary region's run makes it, so run \
                     setup with the primary region first in --regions"
                ),
            });
        }
    };
    step.report(
        Change::new("iam role", name, action).with_detail("global: the primary's run keeps it"),
    );
    Ok(found)
}

/// The role, found by name or created (assumable by `service`), with its inline policy and
/// managed policy corrected when they differ.
pub async fn role(
    step: &mut Step<'_>,
    name: &str,
    inline: Option<Value>,
    managed: Option<&str>,
    service: &str,
) -> Result<Option<String>, PierError> {
    let clients = step.clients;
    let iam = &clients.iam;
    let existing = match iam.get_role().role_name(name).send().await {
        Ok(output) => output.role().map(|r| r.arn().to_string()),
        Err(e) if code_of(&e) == "NoSuchEntity" => None,
        Err(e) => return Err(aws_error("GetRole", e)),
    };
    let (inline_differs, managed_missing) = match &existing {
        Some(_) => (
            inline_policy_differs(iam, name, inline.as_ref()).await?,
            managed_policy_missing(iam, name, managed).await,
        ),
        None => (inline.is_some(), managed.is_some()),
    };
    let found = match existing {
        None => Found::Missing,
        Some(arn) if inline_differs || managed_missing => Found::Differs(arn),
        Some(arn) => Found::AsWanted(arn),
    };
    step.ensure(
        Change::about("iam role", name),
        found,
        |existing| async move {
            let (arn, created) = match existing {
                Some(arn) => (arn, None),
                None => {
                    let made = iam
                        .create_role()
                        .role_name(name)
                        .assume_role_policy_document(trust_policy(service).to_string())
                        .description("Pier: made by `pier setup aws`")
                        .send()
                        .await
                        .map_err(|e| aws_error("CreateRole", e))?;
                    let arn = made.role().map(|r| r.arn().to_string()).unwrap_or_default();
                    let created = Created::Role {
                        name: name.to_string(),
                    };
                    (arn, Some(created))
                }
            };
            if let (true, Some(policy)) = (inline_differs, inline) {
                iam.put_role_policy()
                    .role_name(name)
                    .policy_name(INLINE_POLICY)
                    .policy_document(policy.to_string())
                    .send()
                    .await
                    .map_err(|e| aws_error("PutRolePolicy", e))?;
            }
            if let (true, Some(managed)) = (managed_missing, managed) {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(managed)
                    .send()
                    .await
                    .map_err(|e| aws_error("AttachRolePolicy", e))?;
            }
            Ok((arn, created))
        },
    )
    .await
}

async fn inline_policy_differs(
    iam: &Client,
    role: &str,
    wanted: Option<&Value>,
) -> Result<bool, PierError> {
    let Some(wanted) = wanted else {
        return Ok(false);
    };
    let current = match iam
        .get_role_policy()
        .role_name(role)
        .policy_name(INLINE_POLICY)
        .send()
        .await
    {
        Ok(output) => serde_json::from_str::<Value>(&percent_decode(output.policy_document())).ok(),
        Err(e) if code_of(&e) == "NoSuchEntity" => None,
        Err(e) => return Err(aws_error("GetRolePolicy", e)),
    };
    Ok(current.as_ref() != Some(wanted))
}

async fn managed_policy_missing(iam: &Client, role: &str, managed: Option<&str>) -> bool {
    let Some(managed) = managed else {
        return false;
    };
    !iam.list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .map(|output| {
            output
                .attached_policies()
                .iter()
                .any(|p| p.policy_arn() == Some(managed))
        })
        .unwrap_or(false)
}

/// Detaches and deletes the role's policies, then the role.
pub async fn delete_role(clients: &Clients, name: &str) -> Result<Option<String>, PierError> {
    let iam: &Client = &clients.iam;
    match iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
    {
        Ok(output) => {
            for policy in output.attached_policies() {
                if let Some(arn) = policy.policy_arn() {
                    iam.detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                        .await
                        .map_err(|e| aws_error("DetachRolePolicy", e))?;
                }
            }
        }
        Err(e) if code_of(&e) == "NoSuchEntity" => return Ok(None),
        Err(e) => return Err(aws_error("ListAttachedRolePolicies", e)),
    }
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| aws_error("ListRolePolicies", e))?;
    for policy in inline.policy_names() {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .map_err(|e| aws_error("DeleteRolePolicy", e))?;
    }
    match iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(None),
        Err(e) if code_of(&e) == "NoSuchEntity" => Ok(None),
        Err(e) => Err(aws_error("DeleteRole", e)),
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986 percent-encoding).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn policy_documents_decode() {
        assert_eq!(
            super::percent_decode("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(super::percent_decode("{\"a\": 1}"), "{\"a\": 1}");
    }
}
