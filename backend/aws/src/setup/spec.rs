//! What setup is asked for and what it reports: the spec, the changes a step finds or makes,
//! the outputs steps hand on, and the AWS clients they share. Every step module depends on this
//! one and none on [`super`], which only runs them.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde::{Deserialize, Serialize};

use std::fmt;

use pier_core::error::PierError;

/// The local names `pier images build` gives the images (built from `backend/builder/Dockerfile`
/// and `proxy/Dockerfile`); setup's defaults when this build has no published images.
pub const BUILDER_IMAGE: &str = concat!("pier-builder:", env!("CARGO_PKG_VERSION"));
pub const PROXY_IMAGE: &str = concat!("pier-proxy:", env!("CARGO_PKG_VERSION"));

/// What the user asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupSpec {
    /// Prefix of every resource name (`pier` → bucket `pier-<account>-<region>` unless given,
    /// queue `pier-builds`, cluster `pier`, …).
    pub name: String,
    pub region: String,
    /// The store bucket; created when missing.
    pub bucket: String,
    /// Sites are served at `<project>.<base_domain>`.
    pub base_domain: String,
    pub builder_image: String,
    pub proxy_image: String,
    pub proxy_tasks: TaskRange,
    pub builder_tasks: TaskRange,
    /// Proxy scale-out point: requests per task per minute.
    pub proxy_requests_per_task: u32,
    /// Builder scale-out point: waiting jobs per worker.
    pub jobs_per_builder: u32,
    /// How long CloudWatch keeps the tasks' own output (one of [`RETENTION_DAYS`]).
    #[serde(default = "default_log_retention_days")]
    pub log_retention_days: i32,
    /// How long a build job stays hidden from other builders after one takes it: the queue's
    /// visibility timeout, and the builders' heartbeat period (half of it) through their task
    /// definition, so the two cannot drift apart. A job whose builder died is built again
    /// after this long.
    #[serde(default = "default_job_visibility_secs")]
    pub job_visibility_secs: u32,
    /// The Redis URL builders stream live logs to; it goes into Secrets Manager, never into
    /// the task definition, the record or any output.
    #[serde(skip)]
    pub redis_url: Option<SecretValue>,
    /// Where the tasks pull their images from: copies in the account's own ECR (the default),
    /// or the images as given.
    #[serde(default)]
    pub images: ImageSource,
    /// The tasks' CPU architecture, as ECS names it: `X86_64` or `ARM64` (Graviton, cheaper
    /// per vCPU). The images must have a linux build for it; the mirror checks before copying.
    #[serde(default = "default_cpu_architecture")]
    pub cpu_architecture: String,
    /// Other regions that serve the sites (`--regions`), each with its own bucket
    /// (`<bucket>-<region>`), load balancer and proxy tasks; builders, the build queue and the
    /// CDN stay in this one, the primary. See `setup::regions`.
    #[serde(default)]
    pub other_regions: Vec<String>,
    /// True in the run for one of the other regions: only what serves sites is made there.
    #[serde(default)]
    pub serving_only: bool,
}

/// Where the tasks' images come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageSource {
    /// Copied into private ECR repositories setup makes (`<name>/proxy`, `<name>/builder`),
    /// pinned by digest: the account's tasks never pull from outside it. Only images pinned by
    /// digest are copied; others are used as given.
    #[default]
    Mirror,
    /// Pulled from where they are published (GHCR, ECR Public), pinned by digest.
    Public,
}

pub const DEFAULT_CPU_ARCHITECTURE: &str = "X86_64";

fn default_cpu_architecture() -> String {
    DEFAULT_CPU_ARCHITECTURE.into()
}

/// The proxy image setup uses unless told otherwise: this release's, pinned by digest
/// (`backend/aws/images.json`), else the local name `pier images build` gives it.
pub fn default_proxy_image() -> String {
    published_or(crate::images::published().proxy, PROXY_IMAGE)
}

/// The builder image setup uses unless told otherwise (as [`default_proxy_image`]).
pub fn default_builder_image() -> String {
    published_or(crate::images::published().builder, BUILDER_IMAGE)
}

fn published_or(image: Option<crate::images::PublishedImage>, fallback: &str) -> String {
    image
        .and_then(|image| image.references().ok())
        .and_then(|references| references.into_iter().next())
        .map(|reference| reference.to_string())
        .unwrap_or_else(|| fallback.to_string())
}

pub use pier_wire::setup::DEFAULT_LOG_RETENTION_DAYS;

fn default_log_retention_days() -> i32 {
    DEFAULT_LOG_RETENTION_DAYS
}

pub const DEFAULT_JOB_VISIBILITY_SECS: u32 = 120;

fn default_job_visibility_secs() -> u32 {
    DEFAULT_JOB_VISIBILITY_SECS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRange {
    pub min: u32,
    pub max: u32,
}

impl SetupSpec {
    pub fn validate(&self) -> Result<(), PierError> {
        let bad = |detail: String| PierError::BadSetup { detail };
        if self.name.is_empty()
            || self.name.len() > 20
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(format!(
                "the name `{}` must be 1–20 characters of a-z, 0-9 and '-'",
                self.name
            )));
        }
        pier_core::domains::normalize(&self.base_domain)?;
        for (what, range) in [("proxy", self.proxy_tasks), ("builder", self.builder_tasks)] {
            if range.min > range.max || range.max == 0 {
                return Err(bad(format!(
                    "the {what} task range {}–{} is empty; give a maximum of at least 1 and at \
                     least the minimum",
                    range.min, range.max
                )));
            }
        }
        if !(10..=43_200).contains(&self.job_visibility_secs) {
            return Err(bad(format!(
                "a build job's visibility of {} s is outside SQS's range for Pier: give 10 to \
                 43200 seconds (12 hours)",
                self.job_visibility_secs
            )));
        }
        if let Some(url) = &self.redis_url
            && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
        {
            return Err(bad(
                "the Redis URL must start with redis:// or rediss:// (rediss:// for TLS, as \
                 ElastiCache with encryption in transit needs)"
                    .into(),
            ));
        }
        if crate::images::Arch::from_ecs(&self.cpu_architecture).is_none() {
            return Err(bad(format!(
                "the CPU architecture `{}` is not one ECS runs: use X86_64 or ARM64",
                self.cpu_architecture
            )));
        }
        if let Some(region) =
            pier_wire::regions::not_another_region(Some(&self.region), &self.other_regions)
        {
            return Err(bad(format!(
                "`{region}` is not another AWS region: give region codes as in \
                 --regions us-east-1,eu-west-1 (the first is the primary)"
            )));
        }
        for region in &self.other_regions {
            if region_bucket(&self.bucket, region).len() > 63 {
                return Err(bad(format!(
                    "the bucket `{}` leaves no room for the region in `{}`: give a --bucket \
                     of at most {} characters",
                    self.bucket,
                    region_bucket(&self.bucket, region),
                    62 - region.len()
                )));
            }
        }
        if !RETENTION_DAYS.contains(&self.log_retention_days) {
            return Err(bad(format!(
                "CloudWatch Logs cannot keep logs {} days; choose one of {:?}",
                self.log_retention_days, RETENTION_DAYS
            )));
        }
        Ok(())
    }

    /// The name CloudFront reaches the proxies by when several regions serve: Route53 latency
    /// records send it to the nearest region whose load balancer has healthy targets.
    pub fn origin_name(&self) -> String {
        format!("origin.{}", self.base_domain)
    }

    /// Every region that serves, the primary first.
    pub fn serving_regions(&self) -> Vec<String> {
        std::iter::once(self.region.clone())
            .chain(self.other_regions.iter().cloned())
            .collect()
    }

    /// Every serving region's bucket, the primary's first.
    pub fn serving_buckets(&self) -> Vec<String> {
        std::iter::once(self.bucket.clone())
            .chain(
                self.other_regions
                    .iter()
                    .map(|r| region_bucket(&self.bucket, r)),
            )
            .collect()
    }

    /// Every other region's name and store URL, as the config file and the builders name them.
    pub fn other_region_stores(&self) -> Vec<(String, String)> {
        self.other_regions
            .iter()
            .map(|region| {
                let bucket = region_bucket(&self.bucket, region);
                (region.clone(), format!("s3://{bucket}?region={region}"))
            })
            .collect()
    }

    /// The spec of another region's run: its own bucket, only what serves sites.
    pub fn for_region(&self, region: &str) -> SetupSpec {
        SetupSpec {
            region: region.to_string(),
            bucket: region_bucket(&self.bucket, region),
            other_regions: Vec::new(),
            serving_only: true,
            redis_url: None,
            ..self.clone()
        }
    }

    pub fn resource(&self, suffix: &str) -> String {
        if suffix.is_empty() {
            self.name.clone()
        } else {
            format!("{}-{suffix}", self.name)
        }
    }

    /// Every Lambda function deploys make starts with it: `<name>-fn-`.
    pub fn functions_prefix(&self) -> String {
        format!("{}-fn-", self.name)
    }

    /// The role every function version runs as.
    pub fn functions_role(&self) -> String {
        self.resource("functions")
    }

    /// Where every function version logs.
    pub fn functions_log_group(&self) -> String {
        format!("/pier/{}/functions", self.name)
    }
}

/// Another region's bucket: the primary's name with the region after it.
pub fn region_bucket(bucket: &str, region: &str) -> String {
    format!("{bucket}-{region}")
}

// What a step found or did crosses to the desktop's window as it is: the wire's types.
pub use pier_wire::setup::{Action, Change};

/// Whether steps may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plan,
    Apply,
}

impl Mode {
    pub fn applies(self) -> bool {
        self == Mode::Apply
    }
}

/// One client per service, all from one configuration. ACM for CloudFront lives in
/// us-east-1 whatever the region.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub scaling: aws_sdk_applicationautoscaling::Client,
    pub acm: aws_sdk_acm::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub route53: aws_sdk_route53::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ecr: aws_sdk_ecr::Client,
    /// Where image bytes go instead of the account's ECR endpoint: a local registry standing
    /// in for ECR (`PIER_ECR_REGISTRY_URL`, as `http://127.0.0.1:5000`). Task definitions still
    /// name the ECR registry ECS pulls from.
    pub ecr_registry_override: Option<String>,
}

impl Clients {
    pub async fn connect(region: &str, endpoint: Option<&str>) -> Clients {
        Clients::connect_as(None, region, endpoint).await
    }

    /// With a named AWS profile instead of the chain's default.
    pub async fn connect_as(
        profile: Option<&str>,
        region: &str,
        endpoint: Option<&str>,
    ) -> Clients {
        let config = pier_core::aws::load_as(profile, endpoint, Some(region)).await;
        let global = pier_core::aws::load_as(profile, endpoint, Some("us-east-1")).await;
        // Any custom endpoint (the flag, or AWS_ENDPOINT_URL as the SDK reads it) is an
        // emulator or an S3-compatible server, which wants path-style addressing.
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&global),
            ec2: aws_sdk_ec2::Client::new(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            scaling: aws_sdk_applicationautoscaling::Client::new(&config),
            acm: aws_sdk_acm::Client::new(&global),
            cloudfront: aws_sdk_cloudfront::Client::new(&global),
            route53: aws_sdk_route53::Client::new(&global),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            ecr_registry_override: std::env::var("PIER_ECR_REGISTRY_URL")
                .ok()
                .filter(|url| !url.is_empty()),
        }
    }
}

/// What steps learn and hand to later steps (ARNs, ids, DNS names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    pub bucket: Option<String>,
    pub queue_url: Option<String>,
    pub queue_arn: Option<String>,
    pub dead_letter_url: Option<String>,
    pub execution_role_arn: Option<String>,
    pub proxy_role_arn: Option<String>,
    pub builder_role_arn: Option<String>,
    pub vpc_id: Option<String>,
    pub subnets: Vec<String>,
    #[serde(default)]
    pub log_group: Option<String>,
    /// Where functions log (`/pier/<name>/functions`), and the role their versions run as.
    #[serde(default)]
    pub functions_log_group: Option<String>,
    #[serde(default)]
    pub functions_role_arn: Option<String>,
    /// The Secrets Manager secret holding the builders' Redis URL, when there is one.
    #[serde(default)]
    pub redis_secret_arn: Option<String>,
    pub balancer_group: Option<String>,
    pub task_group: Option<String>,
    pub cluster_arn: Option<String>,
    pub builder_task_definition: Option<String>,
    pub proxy_task_definition: Option<String>,
    /// The images the task definitions name: the ECR copies, pinned by digest, when mirrored.
    #[serde(default)]
    pub proxy_image: Option<String>,
    #[serde(default)]
    pub builder_image: Option<String>,
    pub balancer_arn: Option<String>,
    pub balancer_dns: Option<String>,
    /// The load balancer's own hosted zone, which an alias record to it names.
    #[serde(default)]
    pub balancer_zone_id: Option<String>,
    pub target_group_arn: Option<String>,
    pub certificate_arn: Option<String>,
    pub hosted_zone_id: Option<String>,
    pub distribution_id: Option<String>,
    pub distribution_domain: Option<String>,
}

/// Everything a run reports, in step order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub changes: Vec<Change>,
    pub outputs: Outputs,
}

impl Report {
    pub fn changed_nothing(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::Exists)
    }
}

impl Report {
    /// Whether a step waits on something outside Pier (DNS validation); running again
    /// continues from there.
    pub fn waiting(&self) -> bool {
        self.changes.iter().any(|c| c.action == Action::Waiting)
    }
}

/// An SDK error as one line, for [`PierError::Aws`].
pub(crate) fn aws_error<E, R>(call: &str, error: SdkError<E, R>) -> PierError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error.code().unwrap_or("").to_string();
    let message = error
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(&error).to_string());
    PierError::Aws {
        call: call.to_string(),
        code,
        detail: message.chars().take(300).collect(),
        source: Some(Box::new(error)),
    }
}

/// The error code of an SDK error, for "already exists" and "not found" checks.
pub(crate) fn code_of<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> &str {
    error.code().unwrap_or("")
}

/// Retention values CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A secret value on its way into Secrets Manager: never printed, serialised or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(••••••)")
    }
}
