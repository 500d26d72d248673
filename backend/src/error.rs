//! Typed errors for the core, each carrying a hint that tells the user what to do next.
//!
//! Libraries return these; only the binaries (CLI, builder, proxy) turn them into `anyhow` at the
//! edge. Every variant's `Display` is one sentence about what went wrong; [`PierError::hint`]
//! is the next step. No variant ever carries a credential.

use std::path::PathBuf;

/// What a store (local folder or S3) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store URL `{url}` is not valid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the bucket `{bucket}` does not exist")]
    NoSuchBucket { bucket: String },
    #[error("access to `{target}` was denied")]
    AccessDenied { target: String },
    #[error("the AWS credentials have expired")]
    ExpiredCredentials,
    #[error("no usable AWS credentials were found ({detail})")]
    NoCredentials { detail: String },
    #[error("the AWS credentials were rejected ({code})")]
    BadCredentials { code: String },
    #[error("the store at `{endpoint}` could not be reached ({detail})")]
    Unreachable { endpoint: String, detail: String },
    #[error("`{key}` was changed by someone else first")]
    PreconditionFailed { key: String },
    #[error("`{path}` changed while it was being uploaded")]
    ContentChanged { path: String },
    #[error("the store refused `{key}`: {detail}")]
    Other { key: String, detail: String },
    #[error("I/O error on `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            StoreError::BadUrl { .. } => {
                "use a folder path, `file:///path`, or `s3://bucket[/prefix]` with --store or PIER_STORE"
            }
            StoreError::NoSuchBucket { .. } => {
                "check the bucket name and AWS_REGION, or create the bucket (`pier setup aws`)"
            }
            StoreError::AccessDenied { .. } => {
                "check that your AWS profile's policy allows s3:GetObject, s3:PutObject, s3:ListBucket and s3:DeleteObject on the bucket, or fix the folder's permissions"
            }
            StoreError::ExpiredCredentials => {
                "sign in again (`aws sso login --profile <profile>`) or refresh your credentials, then retry"
            }
            StoreError::NoCredentials { .. } => {
                "set AWS_PROFILE to a configured profile, run `aws configure`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            }
            StoreError::BadCredentials { .. } => {
                "the access key is unknown or its secret is wrong: check your profile or environment"
            }
            StoreError::Unreachable { .. } => {
                "check your network, AWS_REGION and AWS_ENDPOINT_URL, then retry; nothing live was changed"
            }
            StoreError::PreconditionFailed { .. } => {
                "retry; another deploy or promote got there first"
            }
            StoreError::ContentChanged { .. } => {
                "a file changed during the deploy; wait for writes to finish and deploy again"
            }
            StoreError::Other { .. } => "retry; if it persists, check the store's status",
            StoreError::Io { .. } => "check the path exists and is readable and writable by you",
        }
    }
}

/// The error a one-line message was made from (an SDK or queue failure), kept as the message's
/// `source()` so logs and `{:#}` show the whole chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything the engine can report to a user.
/// Why a source folder cannot be built or served (`builds::detect`).
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("`{}` has no package.json and no index.html: there is nothing to build or serve", dir.display())]
    NothingToDeploy { dir: std::path::PathBuf },
    #[error("`{}` is not valid JSON: {detail}", path.display())]
    BadPackageJson {
        path: std::path::PathBuf,
        detail: String,
    },
}

impl DetectError {
    pub fn hint(&self) -> &'static str {
        match self {
            DetectError::NothingToDeploy { .. } => {
                "point Pier at the folder with your package.json or your built index.html"
            }
            DetectError::BadPackageJson { .. } => "fix package.json, then try again",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PierError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    SiteConfig(#[from] crate::site_config::SiteConfigError),
    #[error(transparent)]
    Functions(#[from] crate::functions::FunctionsError),
    #[error(transparent)]
    Lambda(#[from] LambdaError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("`{}` does not exist", path.display())]
    MissingFolder { path: PathBuf },
    #[error("`{}` is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("`{}` has no files to deploy", path.display())]
    EmptyFolder { path: PathBuf },
    #[error("cannot read `{}`: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{name}` is not a valid project name: {rule}")]
    BadProjectName { name: String, rule: &'static str },
    #[error("`{domain}` is not a valid domain: {rule}")]
    BadDomain { domain: String, rule: &'static str },
    #[error("no deployment `{reference}`")]
    UnknownDeployment { reference: String },
    #[error("no project `{project}`")]
    UnknownProject { project: String },
    #[error("project `{project}` has no earlier production deployment to roll back to")]
    NothingToRollBack { project: String },
    #[error("deployment `{id}` is what `{project}` serves in production")]
    DeploymentIsLive { id: String, project: String },
    #[error("another garbage collection is running (started {started})")]
    GcRunning { started: String },
    #[error("the alias of `{project}` kept changing under concurrent writers")]
    AliasContention { project: String },
    #[error("the record `{key}` in the store is corrupt: {detail}")]
    Corrupt { key: String, detail: String },
    #[error("`{key}` is named by a manifest but missing from {store}")]
    MissingBlob { key: String, store: String },
    #[error("deployment `{id}` runs functions on AWS Lambda, which {store} has not published")]
    FunctionsNeedADeploy { id: String, store: String },
    #[error("no region `{name}` in the config file")]
    UnknownRegion { name: String },
    #[error("the region list entry `{entry}` is not usable: {rule}")]
    BadRegionList { entry: String, rule: String },
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error("the build step `{step}` failed: {detail}")]
    BuildFailed { step: String, detail: String },
    #[error("the {what} is not allowed: {rule}")]
    BadGitSource { what: String, rule: String },
    #[error("the build was canceled")]
    BuildCanceled,
    #[error("the deploy was canceled")]
    DeployCanceled,
    /// Unlike the AWS and queue errors, this keeps no `#[source]`: a `RedisError` can quote
    /// the URL with its password, and anything that prints the source chain (`{:#}`, a tracing
    /// span) would print it. `detail` is the error's text with the password masked.
    #[error("Redis at `{url}` failed: {detail}")]
    Redis { url: String, detail: String },
    #[error("the config file `{}` is invalid: {detail}", path.display())]
    BadConfig { path: PathBuf, detail: String },
    #[error("the source folder `{}` packs to {} MiB, over the 512 MiB limit", path.display(), bytes / (1024 * 1024))]
    SourceTooLarge { path: PathBuf, bytes: u64 },
    #[error("the build queue `{queue}` failed: {detail}")]
    Queue {
        queue: String,
        detail: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("AWS {call} failed: {code} {detail}")]
    Aws {
        call: String,
        code: String,
        detail: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("the setup settings are invalid: {detail}")]
    BadSetup { detail: String },
    #[error("the build job is malformed: {detail}")]
    BadJob { detail: String },
    #[error("remote builds need {what}")]
    RemoteBuildsNotSetUp { what: String },
    /// The hosted half's images could not be copied (pier-aws's image mirror); the hint is the
    /// mirror's own.
    #[error("the images could not be copied: {detail}")]
    Image { detail: String, hint: &'static str },
}

impl PierError {
    pub fn hint(&self) -> &'static str {
        match self {
            PierError::Store(e) => e.hint(),
            PierError::SiteConfig(e) => e.hint(),
            PierError::Functions(e) => e.hint(),
            PierError::Lambda(e) => e.hint(),
            PierError::Env(e) => e.hint(),
            PierError::MissingFolder { .. } => {
                "check the path, or run `pier deploy` inside the folder"
            }
            PierError::NotAFolder { .. } => {
                "pass the folder that holds the site, not a single file"
            }
            PierError::EmptyFolder { .. } => {
                "add your built site (an index.html at least), or check .pierignore does not exclude everything"
            }
            PierError::Unreadable { .. } => {
                "fix its permissions (`chmod u+r`), or list it in .pierignore to leave it out"
            }
            PierError::BadProjectName { .. } => {
                "use 1-54 characters from a-z, 0-9 and '-', not starting or ending with '-' (--project NAME)"
            }
            PierError::BadDomain { .. } => "give the full host name, as in www.example.com",
            PierError::UnknownDeployment { .. } => "run `pier ls` to see deployment ids",
            PierError::UnknownProject { .. } => "run `pier ls` to see projects",
            PierError::NothingToRollBack { .. } => {
                "promote a specific deployment instead: `pier promote ID`"
            }
            PierError::DeploymentIsLive { .. } => {
                "promote another deployment or roll back first, then remove this one"
            }
            PierError::GcRunning { .. } => "wait for it to finish, then retry",
            PierError::AliasContention { .. } => "retry in a moment",
            PierError::Corrupt { .. } => {
                "the record was not written by this version of Pier; restore it from the store's versioning or remove it"
            }
            PierError::MissingBlob { .. } => {
                "deploy the project again: a deploy puts back every blob a store lacks"
            }
            PierError::FunctionsNeedADeploy { .. } => {
                "deploy the project again (`pier deploy`): a deploy publishes its functions in every region"
            }
            PierError::UnknownRegion { .. } => {
                "`pier regions status` lists the regions ([[regions]] in config.toml)"
            }
            PierError::BadRegionList { .. } => {
                "PIER_REGIONS takes `name=store` pairs separated by commas, as `pier setup aws --regions` writes it (`eu-west-1=s3://bucket-eu-west-1?region=eu-west-1`)"
            }
            PierError::BadConfig { .. } => {
                "fix or remove the file; `pier --help` lists the settings"
            }
            PierError::Redis { .. } => {
                "check PIER_REDIS_URL (redis:// or rediss://), that Redis runs and accepts the password"
            }
            PierError::Detect(e) => e.hint(),
            PierError::BuildFailed { .. } => {
                "read the build log above (or `pier logs ID`); nothing was deployed or promoted"
            }
            PierError::BuildCanceled => "nothing was deployed; start the build again when ready",
            PierError::DeployCanceled => {
                "nothing was deployed (files already uploaded are reused next time); deploy again when ready"
            }
            PierError::BadGitSource { .. } => {
                "pass a repository URL such as https://github.com/you/site.git and a branch or tag"
            }
            PierError::SourceTooLarge { .. } => {
                "list build output and dependencies in .gitignore or .pierignore, or build here with `--runner local`"
            }
            PierError::Queue { .. } => {
                "check the queue URL (`pier setup aws` writes it), the region and that your credentials may use SQS"
            }
            PierError::Aws { code, .. } => match code.as_str() {
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                    "your AWS identity lacks this permission; use an administrator profile for setup (`--profile`)"
                }
                "ExpiredToken" | "ExpiredTokenException" => {
                    "your AWS session expired; sign in again (`aws sso login`)"
                }
                _ => {
                    "fix the cause above and run the same command again; it resumes where it stopped"
                }
            },
            PierError::BadSetup { .. } => "run `pier setup aws --help` for the settings",
            PierError::Image { hint, .. } => hint,
            PierError::BadJob { .. } => {
                "the job was not made by this version of Pier; start the build again with `pier deploy`"
            }
            PierError::RemoteBuildsNotSetUp { .. } => {
                "run `pier setup aws` first, or build on this machine with `--runner local`"
            }
        }
    }

    /// Whether trying the same work again later may succeed: the store or a service was
    /// unreachable, as opposed to a build that failed on its own terms.
    pub fn is_transient(&self) -> bool {
        match self {
            PierError::Store(error) => matches!(
                error,
                StoreError::Unreachable { .. } | StoreError::Other { .. } | StoreError::Io { .. }
            ),
            PierError::Queue { .. }
            | PierError::Redis { .. }
            | PierError::AliasContention { .. } => true,
            _ => false,
        }
    }
}

pub type Result<T, E = PierError> = std::result::Result<T, E>;

/// Why a function could not be put on Lambda, or taken off it.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error(
        "this store's functions run on AWS Lambda, and this build of Pier cannot publish to it"
    )]
    NotBuiltIn,
    #[error("this store's functions run on AWS Lambda, but the store is not in S3 ({store})")]
    NotS3 { store: String },
    #[error("cannot pack the function `{function}`: {detail}")]
    Package { function: String, detail: String },
    #[error("Lambda refused `{action}` for `{function}`: {detail}")]
    Refused {
        action: &'static str,
        function: String,
        detail: String,
    },
    #[error("`{function}` kept changing while it was published (another deploy of the project?)")]
    Contended { function: String },
}

impl LambdaError {
    pub fn hint(&self) -> &'static str {
        match self {
            LambdaError::NotBuiltIn => {
                "use a `pier` built with its default features (the `lambda` feature), or remove settings/functions.json to deploy static files only"
            }
            LambdaError::NotS3 { .. } => {
                "point the store at the S3 bucket `pier setup aws` made, or remove settings/functions.json from this store"
            }
            LambdaError::Package { .. } => {
                "check the function's files can be read, then deploy again"
            }
            LambdaError::Refused { .. } => {
                "check the credentials may manage Lambda functions named by `pier setup aws` (run it again to repair the role), then deploy again"
            }
            LambdaError::Contended { .. } => "deploy again; the other deploy has finished by then",
        }
    }
}

/// `pier env`'s errors (`crate::project_env`); here, so `project_env` and `error` do not
/// depend on each other.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("`{name}` is not a variable name: {rule}")]
    BadName { name: String, rule: &'static str },
    #[error("`{name}` is not a valid project name: {rule}")]
    BadProject { name: String, rule: &'static str },
    #[error("project `{project}` has no variable `{name}`")]
    NoSuchVariable { project: String, name: String },
    #[error("the secret `{name}` of project `{project}` has no value in {place}")]
    MissingSecret {
        project: String,
        name: String,
        place: String,
    },
    #[error("the OS keychain is not available: {detail}")]
    Keychain { detail: String },
    #[error("cannot read or write `{}`: {detail}", path.display())]
    File { path: PathBuf, detail: String },
}

impl EnvError {
    pub fn hint(&self) -> &'static str {
        match self {
            EnvError::BadName { .. } => {
                "use letters, digits and `_`, not starting with a digit, and not a name AWS Lambda or Pier reserves"
            }
            EnvError::BadProject { .. } => {
                "use 1-54 characters from a-z, 0-9 and '-', not starting or ending with '-' (--project NAME)"
            }
            EnvError::NoSuchVariable { .. } => "run `pier env ls` to see the project's variables",
            EnvError::MissingSecret { .. } => {
                "set it again on this machine: `pier env set NAME --secret` (or remove it: `pier env rm NAME`)"
            }
            EnvError::Keychain { .. } => {
                "unlock or start your keychain (on Linux the kernel keyring must be allowed), then try again"
            }
            EnvError::File { .. } => {
                "check the config folder's permissions (PIER_CONFIG moves it), or fix or remove the file"
            }
        }
    }
}
