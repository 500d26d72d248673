//! The images step: the proxy and builder images copied into private ECR repositories in the
//! user's account (`<name>/proxy`, `<name>/builder`), so the account's tasks pull from inside
//! it, pinned by the published digest. No container engine is needed on the user's machine:
//! the copy is registry to registry ([`crate::images::mirror`]), logged in with ECR's
//! `GetAuthorizationToken`, and a copy stopped half way resumes on the next run.
//!
//! The task definitions then name `<account>.dkr.ecr.<region>.amazonaws.com/<name>/proxy@sha256:…`.
//! With `--images public`, or for an image not pinned by digest (one the user built and
//! pushed), the image is used as given and nothing is copied. The ECS execution role's managed
//! policy (AmazonECSTaskExecutionRolePolicy) already lets tasks pull from the account's ECR.

use std::sync::Arc;

use crate::images::{
    self, Arch, EcrLogin, ImageError, ImageRef, MirrorOptions, Progress, Registry,
};
use crate::setup::record::{Created, SetupRecord};
use crate::setup::{
    Action, Change, Clients, ImageSource, Mode, Outputs, SetupSpec, aws_error, code_of,
};
use pier_core::error::PierError;

/// The ECR repository setup makes for one of the images.
pub fn repository_name(spec: &SetupSpec, image: &str) -> String {
    format!("{}/{image}", spec.name)
}

/// Ensures both images; every change (and the copy's progress, as updates of the image's
/// change) goes to `on_progress` as it happens.
pub async fn ensure(
    clients: &Clients,
    spec: &SetupSpec,
    mode: Mode,
    record: &mut SetupRecord,
    out: &mut Outputs,
    on_progress: &mut (dyn FnMut(&Change) + Send),
) -> Result<Vec<Change>, PierError> {
    let mut changes = Vec::new();
    let mut login: Option<EcrLogin> = None;
    for (image, source) in [
        ("proxy", &spec.proxy_image),
        ("builder", &spec.builder_image),
    ] {
        let pinned = ImageRef::parse(source).ok();
        let (Some(pinned), ImageSource::Mirror) = (pinned, spec.images) else {
            let why = match spec.images {
                ImageSource::Public => "pulled from where it is published",
                ImageSource::Mirror => "used as given: only images pinned by digest are copied",
            };
            set_image(out, image, source.clone());
            let change = Change::new("image", image, Action::Exists)
                .with_detail(format!("{source} ({why})"));
            emit(&mut changes, on_progress, change);
            continue;
        };
        let repository = repository_name(spec, image);
        let change = ensure_repository(clients, &repository, mode, record).await?;
        emit(&mut changes, on_progress, change);
        if !mode.applies() {
            let change = Change::new("image", image, Action::Create)
                .with_detail(format!("copy {pinned} into ECR {repository}"));
            emit(&mut changes, on_progress, change);
            continue;
        }
        if login.is_none() {
            login = Some(
                images::ecr_login_from(&clients.ecr)
                    .await
                    .map_err(image_error)?,
            );
        }
        let login = login.as_ref().expect("set just above");
        let change = copy(
            clients,
            spec,
            image,
            &pinned,
            &repository,
            login,
            on_progress,
        )
        .await
        .map_err(image_error)?;
        let copy = format!("{}/{repository}@{}", login.registry.host(), pinned.digest);
        set_image(out, image, copy);
        emit(&mut changes, on_progress, change);
    }
    Ok(changes)
}

/// This step reports each change as it happens (the copy's progress comes between them), so
/// its caller does not report them again.
fn emit(changes: &mut Vec<Change>, on_progress: &mut (dyn FnMut(&Change) + Send), change: Change) {
    on_progress(&change);
    changes.push(change);
}

fn set_image(out: &mut Outputs, image: &str, reference: String) {
    match image {
        "proxy" => out.proxy_image = Some(reference),
        _ => out.builder_image = Some(reference),
    }
}

fn image_error(error: ImageError) -> PierError {
    PierError::Image {
        detail: error.to_string(),
        hint: error.hint(),
    }
}

/// The repository, found by name or created (and recorded, so teardown deletes it).
async fn ensure_repository(
    clients: &Clients,
    repository: &str,
    mode: Mode,
    record: &mut SetupRecord,
) -> Result<Change, PierError> {
    let found = match clients
        .ecr
        .describe_repositories()
        .repository_names(repository)
        .send()
        .await
    {
        Ok(found) => !found.repositories().is_empty(),
        Err(e) if code_of(&e) == "RepositoryNotFoundException" => false,
        Err(e) => return Err(aws_error("DescribeRepositories", e)),
    };
    if found {
        return Ok(Change::new("ecr repository", repository, Action::Exists));
    }
    if mode.applies() {
        clients
            .ecr
            .create_repository()
            .repository_name(repository)
            .send()
            .await
            .map_err(|e| aws_error("CreateRepository", e))?;
        record.created(Created::EcrRepository {
            name: repository.to_string(),
        })?;
    }
    Ok(Change::new("ecr repository", repository, Action::Create))
}

/// Copies one image, reporting progress to `on_progress` as updates of the image's change.
async fn copy(
    clients: &Clients,
    spec: &SetupSpec,
    image: &str,
    source: &ImageRef,
    repository: &str,
    login: &EcrLogin,
    on_progress: &mut (dyn FnMut(&Change) + Send),
) -> Result<Change, ImageError> {
    let destination = match &clients.ecr_registry_override {
        Some(url) => Registry::parse(url)?,
        None => login.registry.clone(),
    };
    let mut options = MirrorOptions::new(source.clone(), destination, repository);
    options.destination_credentials = login.credentials.clone();
    options.arch = Arch::from_ecs(&spec.cpu_architecture);
    options.tag = Some(
        images::published()
            .version
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
    );
    let where_to = format!("{}/{repository}", login.registry.host());
    let (sender, mut progress) = tokio::sync::mpsc::unbounded_channel();
    let mirror = images::mirror(
        &options,
        Some(Arc::new(move |event| {
            let _ = sender.send(event);
        })),
    );
    tokio::pin!(mirror);
    let (mut total, mut done) = (0u64, 0u64);
    let report = loop {
        tokio::select! {
            report = &mut mirror => break report?,
            Some(event) = progress.recv() => {
                match event {
                    Progress::Planned { bytes, .. } => total = bytes,
                    Progress::Blob { size, .. } => done += size,
                    Progress::Manifest { .. } => continue,
                }
                on_progress(&Change::new("image", image, Action::Working).with_detail(format!(
                    "copying {source} → {where_to}: {} of {}",
                    megabytes(done),
                    megabytes(total)
                )));
            }
        }
    };
    let (action, detail) = if report.already_there {
        (
            Action::Exists,
            format!("{source} → {where_to} (already there)"),
        )
    } else {
        (
            Action::Create,
            format!(
                "{source} → {where_to} ({} copied, {} of {} blobs were already there)",
                megabytes(report.bytes_copied),
                report.blobs_present,
                report.blobs_present + report.blobs_copied
            ),
        )
    };
    Ok(Change::new("image", image, action).with_detail(detail))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Deletes a repository setup made, with the images in it (`force`).
pub async fn delete_repository(clients: &Clients, name: &str) -> Result<(), PierError> {
    match clients
        .ecr
        .delete_repository()
        .repository_name(name)
        .force(true)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code_of(&e) == "RepositoryNotFoundException" => Ok(()),
        Err(e) => Err(aws_error("DeleteRepository", e)),
    }
}
