//! The images step: the proxy and builder images copied into private ECR repositories in the
//! user's account (`<name>/proxy`, `<name>/builder`), so the account's tasks pull from inside
//! it, pinned by the published digest. No container engine is needed on the user's machine:
//! the copy is registry to registry ([`crate::images::mirror`]), logged in with ECR's
//! `GetAuthorizationToken`, and a copy stopped half way resumes on the next run. A source
//! that cannot give the image (down, refusing, rate-limiting) is passed over for the next
//! repository the release published the same digest under (GHCR, then ECR Public).
//!
//! The task definitions then name `<account>.dkr.ecr.<region>.amazonaws.com/<name>/proxy@sha256:…`.
//! With `--images public`, or for an image not pinned by digest (one the user built and
//! pushed), the image is used as given and nothing is copied. The ECS execution role's managed
//! policy (AmazonECSTaskExecutionRolePolicy) already lets tasks pull from the account's ECR.

use std::sync::Arc;

use crate::images::{
    self, Arch, EcrLogin, ImageError, ImageRef, MirrorOptions, Progress, Registry,
};
use crate::setup::record::Created;
use crate::setup::spec::{
    Action, Change, Clients, ImageSource, Outputs, SetupSpec, aws_error, code_of,
};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

/// The ECR repository setup makes for one of the images.
pub fn repository_name(spec: &SetupSpec, image: &str) -> String {
    format!("{}/{image}", spec.name)
}

/// Ensures both images; the copy's progress goes to the caller as updates of the image's
/// change.
pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let mut login: Option<EcrLogin> = None;
    let images = [
        ("proxy", &spec.proxy_image),
        ("builder", &spec.builder_image),
    ];
    // Another region runs no builders, so it needs no copy of their image.
    let wanted = if spec.serving_only { 1 } else { 2 };
    for (image, source) in images.into_iter().take(wanted) {
        let pinned = ImageRef::parse(source).ok();
        let (Some(pinned), ImageSource::Mirror) = (pinned, spec.images) else {
            let why = match spec.images {
                ImageSource::Public => "pulled from where it is published",
                ImageSource::Mirror => "used as given: only images pinned by digest are copied",
            };
            set_image(step.out, image, source.clone());
            step.report(
                Change::new("image", image, Action::Exists)
                    .with_detail(format!("{source} ({why})")),
            );
            continue;
        };
        let repository = repository_name(spec, image);
        ensure_repository(step, &repository).await?;
        if !step.mode.applies() {
            step.report(
                Change::new("image", image, Action::Create)
                    .with_detail(format!("copy {pinned} into ECR {repository}")),
            );
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
        let change = copy(step, image, &pinned, &repository, login)
            .await
            .map_err(image_error)?;
        let copy = format!("{}/{repository}@{}", login.registry.host(), pinned.digest);
        set_image(step.out, image, copy);
        step.report(change);
    }
    Ok(())
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
async fn ensure_repository(step: &mut Step<'_>, repository: &str) -> Result<(), PierError> {
    let clients = step.clients;
    let ecr = &clients.ecr;
    let found = match ecr
        .describe_repositories()
        .repository_names(repository)
        .send()
        .await
    {
        Ok(found) if !found.repositories().is_empty() => Found::AsWanted(()),
        Ok(_) => Found::Missing,
        Err(e) if code_of(&e) == "RepositoryNotFoundException" => Found::Missing,
        Err(e) => return Err(aws_error("DescribeRepositories", e)),
    };
    let about = Change::about("ecr repository", repository);
    step.ensure(about, found, |_| async {
        ecr.create_repository()
            .repository_name(repository)
            .send()
            .await
            .map_err(|e| aws_error("CreateRepository", e))?;
        let created = Created::EcrRepository {
            name: repository.to_string(),
        };
        Ok(((), Some(created)))
    })
    .await?;
    Ok(())
}

/// Copies one image, from the first of its sources that can give it: the image asked for,
/// then every other repository the release published the same digest under (GHCR, then ECR
/// Public), so one registry being down or rate-limiting does not stop setup.
async fn copy(
    step: &mut Step<'_>,
    image: &str,
    source: &ImageRef,
    repository: &str,
    login: &EcrLogin,
) -> Result<Change, ImageError> {
    let sources = sources_for(source, &images::published());
    let mut tried = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let another_left = index + 1 < sources.len();
        match copy_from(step, image, source, repository, login).await {
            Ok(change) if tried.is_empty() => return Ok(change),
            Ok(change) => {
                let detail = change.detail.clone().unwrap_or_default();
                return Ok(change.with_detail(format!("{detail}; {}", tried.join("; "))));
            }
            Err(error) if another_left && error.source_unavailable(&source.registry) => {
                tried.push(format!("{source} was unavailable ({error})"));
            }
            Err(error) => return Err(error),
        }
    }
    unreachable!("the last source returns")
}

/// `pinned`, then the other repositories `published` lists for the same digest.
pub fn sources_for(pinned: &ImageRef, published: &images::Published) -> Vec<ImageRef> {
    let mut sources = vec![pinned.clone()];
    for image in published.proxy.iter().chain(&published.builder) {
        for alternative in image.references().unwrap_or_default() {
            if alternative.digest == pinned.digest && !sources.contains(&alternative) {
                sources.push(alternative);
            }
        }
    }
    sources
}

/// Copies one image from one source, reporting progress as updates of the image's change.
async fn copy_from(
    step: &mut Step<'_>,
    image: &str,
    source: &ImageRef,
    repository: &str,
    login: &EcrLogin,
) -> Result<Change, ImageError> {
    let (clients, spec) = (step.clients, step.spec);
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
                step.progress(&Change::new("image", image, Action::Working).with_detail(format!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_comes_from_its_own_reference_then_every_mirror_of_its_digest() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let other = format!("sha256:{}", "cd".repeat(32));
        let published: images::Published = serde_json::from_str(&format!(
            r#"{{"version":"1.0.0",
                "proxy":{{"digest":"{digest}","repositories":["ghcr.io/pier/pier-proxy","public.ecr.aws/pier/pier-proxy"]}},
                "builder":{{"digest":"{other}","repositories":["ghcr.io/pier/pier-builder"]}}}}"#
        ))
        .unwrap();
        let asked = ImageRef::parse(&format!("ghcr.io/pier/pier-proxy@{digest}")).unwrap();
        let names: Vec<String> = sources_for(&asked, &published)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            names,
            [
                format!("ghcr.io/pier/pier-proxy@{digest}"),
                format!("public.ecr.aws/pier/pier-proxy@{digest}"),
            ]
        );
        // An image the user built and pushed has no mirrors: it is copied from where it is.
        let built = format!("sha256:{}", "ef".repeat(32));
        let own = ImageRef::parse(&format!("registry.example.com/me/proxy@{built}")).unwrap();
        assert_eq!(sources_for(&own, &published), [own]);
    }

    #[test]
    fn only_a_source_that_cannot_give_the_image_is_passed_over() {
        let ghcr = Registry::parse("https://ghcr.io").unwrap();
        let down = ImageError::Network {
            registry: ghcr.to_string(),
            detail: "connection refused".into(),
        };
        assert!(down.source_unavailable(&ghcr));
        let throttled = ImageError::Registry {
            registry: ghcr.to_string(),
            action: "GET manifest".into(),
            status: 429,
            detail: String::new(),
        };
        assert!(throttled.source_unavailable(&ghcr));
        // The same bytes anywhere: another repository cannot help.
        let corrupt = ImageError::DigestMismatch {
            registry: ghcr.to_string(),
            what: "blob",
            digest: "sha256:00".into(),
            detail: "got sha256:11".into(),
        };
        assert!(!corrupt.source_unavailable(&ghcr));
        // The user's own ECR refusing is not the source's fault.
        let ecr_refused = ImageError::AuthRefused {
            side: images::Side::Destination,
            registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
            status: 403,
            detail: String::new(),
        };
        assert!(!ecr_refused.source_unavailable(&ghcr));
    }
}
