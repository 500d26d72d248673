//! The image mirror against real registries: two Debian `docker-registry` servers stand in for
//! the public source and the account's ECR (the latter behind htpasswd with the login moto's
//! `GetAuthorizationToken` hands out, the way ECR answers), images put in and read back by
//! skopeo, a client no one here wrote. Digests must match end to end; bad input must say what
//! to do and leave the destination without a half image.

use std::sync::{Arc, Mutex};

use pier_aws::images::{
    Arch, Credentials, ImageError, ImageRef, MirrorOptions, Progress, Registry, Side,
    ecr_login_from, mirror,
};
use pier_tests::Moto;
use pier_tests::registry::{LocalRegistry, OciLayout};

const SOURCE_REPO: &str = "pier-dev/pier-builder";
const ECR_REPO: &str = "pier/builder";

fn pinned(registry: &LocalRegistry, repository: &str, digest: &str) -> ImageRef {
    ImageRef::parse(&format!("{}/{repository}@{digest}", registry.url())).unwrap()
}

/// The account's "ECR": moto gives the login, and a registry behind htpasswd accepts it.
async fn ecr_stand_in(moto: &Moto) -> (LocalRegistry, Credentials) {
    let ecr = aws_sdk_ecr::Client::new(&moto.sdk_config().await);
    ecr.create_repository()
        .repository_name(ECR_REPO)
        .send()
        .await
        .expect("moto creates the repository");
    let login = ecr_login_from(&ecr).await.expect("moto hands out a login");
    assert!(
        login
            .registry
            .host()
            .ends_with(".dkr.ecr.us-east-1.amazonaws.com"),
        "{}",
        login.registry
    );
    let Credentials::Basic { username, password } = &login.credentials else {
        panic!("ECR logins are basic credentials");
    };
    assert_eq!(username, "AWS");
    (
        LocalRegistry::with_login(username, password),
        login.credentials.clone(),
    )
}

fn options(source: ImageRef, ecr: &LocalRegistry, credentials: &Credentials) -> MirrorOptions {
    let mut options = MirrorOptions::new(source, Registry::parse(&ecr.url()).unwrap(), ECR_REPO);
    options.destination_credentials = credentials.clone();
    options.arch = Some(Arch::X86_64);
    options
}

/// Copying `layout`, pushed to `public` as [`SOURCE_REPO`], into the ECR stand-in.
fn layout_options(
    public: &LocalRegistry,
    layout: &OciLayout,
    ecr: &LocalRegistry,
    credentials: &Credentials,
) -> MirrorOptions {
    options(
        pinned(public, SOURCE_REPO, &layout.index_digest),
        ecr,
        credentials,
    )
}

/// An image pushed to a "public" registry as [`SOURCE_REPO`], and the ECR stand-in (with the
/// login moto handed out) to copy it into.
struct Published {
    _moto: Moto,
    public: LocalRegistry,
    layout: OciLayout,
    ecr: LocalRegistry,
    credentials: Credentials,
}

impl Published {
    async fn new(platforms: &[(&str, &str)], layer_bytes: usize) -> Published {
        let moto = Moto::start();
        let public = LocalRegistry::open();
        let layout = OciLayout::new(platforms, layer_bytes);
        public.push(&layout, SOURCE_REPO);
        let (ecr, credentials) = ecr_stand_in(&moto).await;
        Published {
            _moto: moto,
            public,
            layout,
            ecr,
            credentials,
        }
    }

    /// Copying the published image, by digest, into the ECR stand-in.
    fn options(&self) -> MirrorOptions {
        layout_options(&self.public, &self.layout, &self.ecr, &self.credentials)
    }
}

/// What a missing image's error must say: the digest it looked for, and how to make one.
fn assert_names_the_missing_image(message: &str, hint: &str, digest: &str) {
    assert!(message.contains(digest), "{message}");
    assert!(hint.contains("pier images build"), "{hint}");
}

#[tokio::test]
async fn a_two_platform_image_arrives_in_ecr_with_every_digest_unchanged() {
    let published = Published::new(&[("linux", "amd64"), ("linux", "arm64")], 256 * 1024).await;
    let Published {
        public,
        layout,
        ecr,
        ..
    } = &published;

    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let mut options = published.options();
    options.tag = Some("0.1.0".into());
    let report = mirror(
        &options,
        Some(Arc::new(move |event| seen.lock().unwrap().push(event))),
    )
    .await
    .expect("the mirror copies the image");

    // Three layers (one shared by both platforms) and two configs, each sent once.
    assert_eq!(report.blobs_copied, 5, "{report:?}");
    assert_eq!(report.blobs_present, 0);
    assert_eq!(
        report.manifests_pushed, 3,
        "two platform manifests and the index"
    );
    assert!(!report.already_there);
    assert_eq!(report.image.digest.as_str(), layout.index_digest);
    assert_eq!(report.image.repository, ECR_REPO);

    // The index is byte for byte the source's, under its digest and under the tag.
    let source_index = public.manifest(SOURCE_REPO, &layout.index_digest).unwrap();
    assert_eq!(
        ecr.manifest(ECR_REPO, &layout.index_digest),
        Some(source_index.clone())
    );
    assert_eq!(ecr.manifest(ECR_REPO, "0.1.0"), Some(source_index));
    // What a puller gets from "ECR" is exactly what was published, blob by blob.
    assert_eq!(
        ecr.pull_digests(ECR_REPO, &layout.index_digest),
        layout.digests()
    );

    let events = events.lock().unwrap().clone();
    assert!(
        matches!(events.first(), Some(Progress::Planned { blobs: 5, .. })),
        "{events:?}"
    );
    let blob_events = events
        .iter()
        .filter(|e| matches!(e, Progress::Blob { copied: true, .. }));
    assert_eq!(blob_events.count(), 5);

    // Running it again sends nothing.
    let again = mirror(&options, None).await.unwrap();
    assert!(again.already_there, "{again:?}");
    assert_eq!(again.bytes_copied, 0);
}

#[tokio::test]
async fn an_interrupted_mirror_resumes_and_copies_only_what_is_missing() {
    let published = Published::new(&[("linux", "amd64"), ("linux", "arm64")], 1024 * 1024).await;
    let Published { layout, ecr, .. } = &published;
    let mut options = published.options();
    options.parallel_blobs = 1;

    // Stopped as a crash would stop it, right after the second blob is in: one blob at a
    // time, so no other upload is in flight.
    let copied = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&copied);
    let first = {
        let options = options.clone();
        tokio::spawn(async move {
            mirror(
                &options,
                Some(Arc::new(move |event| {
                    if let Progress::Blob { copied: true, .. } = event {
                        let mut count = counter.lock().unwrap();
                        *count += 1;
                        assert!(*count < 2, "interrupted on purpose after two blobs");
                    }
                })),
            )
            .await
        })
    };
    assert!(first.await.is_err(), "the first run stopped half way");

    assert_eq!(
        ecr.manifest(ECR_REPO, &layout.index_digest),
        None,
        "no half image"
    );
    let already = ecr.stored_blobs().len();
    assert_eq!(already, 2, "two blobs were in before the stop");

    let report = mirror(&options, None).await.expect("the rerun finishes");
    assert_eq!(report.blobs_present, already, "{report:?}");
    assert_eq!(report.blobs_copied, 5 - already);
    assert_eq!(
        ecr.pull_digests(ECR_REPO, &layout.index_digest),
        layout.digests()
    );
}

#[tokio::test]
async fn a_registry_that_refuses_the_login_says_what_to_do_before_copying() {
    let published = Published::new(&[("linux", "amd64")], 64 * 1024).await;
    let Published {
        public,
        layout,
        ecr,
        ..
    } = &published;

    let wrong = Credentials::basic("AWS", "an-expired-token");
    let source = pinned(public, SOURCE_REPO, &layout.index_digest);
    let with_the_wrong_login = options(source, ecr, &wrong);
    let error = mirror(&with_the_wrong_login, None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ImageError::AuthRefused {
                side: Side::Destination,
                status: 401,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("refused the credentials"),
        "{error}"
    );
    assert!(
        error.hint().contains("GetAuthorizationToken"),
        "{}",
        error.hint()
    );
    assert!(
        !format!("{error:?}").contains("an-expired-token"),
        "no secret in errors"
    );
    assert!(ecr.stored_blobs().is_empty(), "nothing was copied");
}

#[tokio::test]
async fn an_arm64_only_image_is_refused_for_an_x86_task_before_anything_moves() {
    let published = Published::new(&[("linux", "arm64")], 64 * 1024).await;
    let ecr = &published.ecr;

    let error = mirror(&published.options(), None).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::PlatformMissing { .. }),
        "{error:?}"
    );
    assert!(
        message.contains("linux/amd64") && message.contains("linux/arm64"),
        "{message}"
    );
    assert!(error.hint().contains("cpuArchitecture"), "{}", error.hint());
    assert!(ecr.stored_blobs().is_empty());

    // The same image for an ARM64 task goes through.
    let mut arm = published.options();
    arm.arch = Some(Arch::Arm64);
    mirror(&arm, None).await.expect("arm64 tasks can run it");
}

#[tokio::test]
async fn a_blob_whose_bytes_do_not_match_its_digest_is_never_stored() {
    let published = Published::new(&[("linux", "amd64")], 512 * 1024).await;
    let Published { layout, ecr, .. } = &published;
    let big_layer = layout.layers.last().unwrap().clone();
    published.public.corrupt_blob(&big_layer);

    let error = mirror(&published.options(), None).await.unwrap_err();
    assert!(
        matches!(error, ImageError::DigestMismatch { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(&big_layer), "{error}");
    assert!(error.hint().contains("run setup again"), "{}", error.hint());
    assert!(
        !ecr.stored_blobs().contains(&big_layer),
        "the bad bytes were not kept"
    );
    assert_eq!(ecr.manifest(ECR_REPO, &layout.index_digest), None);
}

#[tokio::test]
async fn a_digest_the_source_does_not_have_names_the_image() {
    let moto = Moto::start();
    let public = LocalRegistry::open();
    let (ecr, credentials) = ecr_stand_in(&moto).await;
    let missing = format!("sha256:{}", "ab".repeat(32));
    let from_nowhere = options(pinned(&public, SOURCE_REPO, &missing), &ecr, &credentials);
    let error = mirror(&from_nowhere, None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ImageError::NotFound {
                side: Side::Source,
                ..
            }
        ),
        "{error:?}"
    );
    assert_names_the_missing_image(&error.to_string(), error.hint(), &missing);
}

/// Setup's image step, end to end: the published images (pinned by digest, here in a local
/// "public" registry) are copied into ECR repositories setup creates in moto, the task
/// definitions name the copies by digest, a rerun copies nothing, a bad image leaves what
/// runs untouched, and teardown deletes the repositories.
#[tokio::test(flavor = "multi_thread")]
async fn setup_copies_the_published_images_into_ecr_and_the_tasks_pull_the_copies() {
    use pier_aws::setup::record::SetupRecord;
    use pier_aws::setup::{self, Action, Clients, Mode, SetupSpec, TaskRange};

    let moto = Moto::start();
    let public = LocalRegistry::open();
    let proxy = OciLayout::new(&[("linux", "amd64"), ("linux", "arm64")], 100 * 1024);
    let builder = OciLayout::new(&[("linux", "amd64"), ("linux", "arm64")], 300 * 1024);
    public.push(&proxy, "pier-dev/pier-proxy");
    public.push(&builder, "pier-dev/pier-builder");

    let mut clients = Clients::connect("us-east-1", Some(&moto.endpoint)).await;
    let login = ecr_login_from(&clients.ecr).await.unwrap();
    let Credentials::Basic { username, password } = &login.credentials else {
        panic!("ECR logins are basic credentials");
    };
    let ecr = LocalRegistry::with_login(username, password);
    clients.ecr_registry_override = Some(ecr.url());
    let ecr_host = login.registry.host();

    let spec = |proxy_digest: &str| SetupSpec {
        name: "pier".into(),
        region: "us-east-1".into(),
        bucket: "pier-sites-example-com".into(),
        base_domain: "sites.example.com".into(),
        builder_image: format!(
            "{}/pier-dev/pier-builder@{}",
            public.url(),
            builder.index_digest
        ),
        proxy_image: format!("{}/pier-dev/pier-proxy@{proxy_digest}", public.url()),
        proxy_tasks: TaskRange { min: 1, max: 2 },
        builder_tasks: TaskRange { min: 0, max: 2 },
        proxy_requests_per_task: 1000,
        jobs_per_builder: 2,
        log_retention_days: 14,
        job_visibility_secs: 120,
        redis_url: None,
        images: setup::ImageSource::Mirror,
        cpu_architecture: "X86_64".into(),
        other_regions: Vec::new(),
        serving_only: false,
    };
    moto.hosted_zone("example.com").await;
    let records = tempfile::tempdir().unwrap();
    let mut record =
        SetupRecord::open(&records.path().join("record.json"), "pier", "us-east-1").unwrap();

    let published_spec = spec(&proxy.index_digest);
    let plan = setup::run(&clients, &published_spec, Mode::Plan, &mut record)
        .await
        .unwrap();
    assert!(
        plan.changes.iter().any(|c| c.resource == "image"
            && c.name == "proxy"
            && c.action == Action::Create
            && c.detail.as_deref().is_some_and(|d| d.contains("copy"))),
        "{:#?}",
        plan.changes
    );
    assert!(ecr.stored_blobs().is_empty(), "a plan copies nothing");

    let mut progress = Vec::new();
    let first = setup::run_reporting(
        &clients,
        &published_spec,
        Mode::Apply,
        &mut record,
        &mut |change| {
            if change.resource == "image" {
                progress.push(change.detail.clone().unwrap_or_default());
            }
        },
    )
    .await
    .unwrap();
    assert!(
        progress
            .iter()
            .any(|d| d.starts_with("copying") && d.contains(" of ")),
        "the copy reports its progress: {progress:#?}"
    );
    assert!(first.changes.iter().any(|c| c.resource == "ecr repository"
        && c.name == "pier/proxy"
        && c.action == Action::Create));

    // The tasks pull the copies, by the published digest, from the account's own registry.
    let task_image = |family: &str| {
        let ecs = clients.ecs.clone();
        let family = family.to_string();
        async move {
            ecs.describe_task_definition()
                .task_definition(family)
                .send()
                .await
                .unwrap()
                .task_definition()
                .unwrap()
                .container_definitions()[0]
                .image()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(
        task_image("pier-proxy").await,
        format!("{ecr_host}/pier/proxy@{}", proxy.index_digest)
    );
    assert_eq!(
        task_image("pier-builder").await,
        format!("{ecr_host}/pier/builder@{}", builder.index_digest)
    );
    assert_eq!(
        ecr.pull_digests("pier/builder", &builder.index_digest),
        builder.digests()
    );
    let repositories = clients.ecr.describe_repositories().send().await.unwrap();
    let mut names: Vec<_> = repositories
        .repositories()
        .iter()
        .filter_map(|r| r.repository_name())
        .collect();
    names.sort();
    assert_eq!(names, ["pier/builder", "pier/proxy"]);

    // Again: nothing is copied, nothing changes.
    let again = setup::run(&clients, &published_spec, Mode::Apply, &mut record)
        .await
        .unwrap();
    for image in again.changes.iter().filter(|c| c.resource == "image") {
        assert_eq!(image.action, Action::Exists, "{image:?}");
    }

    // A proxy image that is not there: setup says what to do, and what runs keeps running.
    let missing = format!("sha256:{}", "cd".repeat(32));
    let error = setup::run(&clients, &spec(&missing), Mode::Apply, &mut record)
        .await
        .unwrap_err();
    assert_names_the_missing_image(&error.to_string(), error.hint(), &missing);
    assert_eq!(
        task_image("pier-proxy").await,
        format!("{ecr_host}/pier/proxy@{}", proxy.index_digest)
    );

    // Teardown deletes the repositories setup made.
    setup::teardown(&clients, &mut record).await.unwrap();
    let after = clients.ecr.describe_repositories().send().await.unwrap();
    assert!(
        after.repositories().is_empty(),
        "{:?}",
        after.repositories()
    );
}
