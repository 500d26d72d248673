//! `pier images build`: the proxy and builder images built on this machine (Docker with
//! BuildKit, or Podman), from the checkout's Dockerfiles; `--push` sends them to the registry
//! named by `--prefix`. The work is `pier_aws::image_build`; this prints it.

use std::path::PathBuf;

use pier_aws::image_build::{self, ContainerEngine, ImageBuildRequest};
use serde_json::json;

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The Pier source checkout; defaults to the one holding the current folder.
    #[arg(long)]
    source: Option<PathBuf>,
    /// The images' tag; defaults to this Pier's version.
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    tag: String,
    /// Prefix of the image names, e.g. a registry to push to:
    /// 123456789012.dkr.ecr.eu-west-1.amazonaws.com/
    #[arg(long, default_value = "")]
    prefix: String,
    /// A pier-proxy binary built beforehand (with --builder-binary): copied in, not compiled.
    #[arg(long, requires = "builder_binary")]
    proxy_binary: Option<PathBuf>,
    /// A pier-builder binary built beforehand (with --proxy-binary).
    #[arg(long, requires = "proxy_binary")]
    builder_binary: Option<PathBuf>,
    /// Another base for the proxy image (default: gcr.io/distroless/cc-debian12:nonroot).
    #[arg(long)]
    proxy_base: Option<String>,
    /// Another base for the builder image (default: node:20-bookworm-slim).
    #[arg(long)]
    builder_base: Option<String>,
    /// The network the build's steps use (`host` where the engine has no bridge).
    #[arg(long)]
    network: Option<String>,
    /// Push both images after building them.
    #[arg(long)]
    push: bool,
}

pub fn build(args: BuildArgs, json_output: bool) -> anyhow::Result<()> {
    let engine = ContainerEngine::find()?;
    let source = match args.source {
        Some(source) => source,
        None => find_checkout(&std::env::current_dir()?),
    };
    let request = ImageBuildRequest {
        source,
        tag: args.tag,
        prefix: args.prefix,
        binaries: args.proxy_binary.zip(args.builder_binary),
        proxy_base: args.proxy_base,
        builder_base: args.builder_base,
        network: args.network,
        push: args.push,
    };
    if !json_output {
        eprintln!("Building with {}…", engine.program.display());
    }
    let built = image_build::build(&engine, &request, &mut |line| {
        if !json_output {
            eprintln!("  │ {line}");
        }
    })?;
    if json_output {
        println!("{}", json!({ "images": built }));
    } else {
        for image in &built {
            println!("Built {} ({})", image.reference, image.version);
        }
        if !request.push {
            println!(
                "Use them with `pier setup aws --proxy-image … --builder-image …` once pushed to a registry your account can pull from (--prefix REGISTRY/ --push)."
            );
        }
    }
    Ok(())
}

/// The nearest folder at or above `start` holding Pier's Dockerfiles (else `start`, which the
/// build then reports as not a checkout).
fn find_checkout(start: &std::path::Path) -> PathBuf {
    start
        .ancestors()
        .find(|dir| dir.join("proxy/Dockerfile").is_file())
        .unwrap_or(start)
        .to_path_buf()
}

#[derive(clap::Args)]
pub struct MirrorArgs {
    /// The image to copy, pinned by digest: registry/repository@sha256:… (a local registry
    /// with its scheme: http://127.0.0.1:5000/repo@sha256:…).
    source: String,
    /// Where to copy it: registry/repository (http:// for a local registry).
    destination: String,
    /// The CPU architecture the image must run on; refused before copying when it has none.
    #[arg(long, value_parser = ["x86_64", "arm64"])]
    arch: Option<String>,
    /// Also tag the copy (tasks always pull by digest).
    #[arg(long)]
    tag: Option<String>,
    /// Log in to the destination as this user; the password comes from
    /// PIER_REGISTRY_PASSWORD, never from the command line.
    #[arg(long)]
    username: Option<String>,
}

/// `pier images mirror`: one image, registry to registry, with no container engine.
pub async fn mirror(args: MirrorArgs, json_output: bool) -> anyhow::Result<()> {
    use pier_aws::images::{self, Arch, Credentials, ImageRef, MirrorOptions, Progress};
    let source = ImageRef::parse(&args.source)?;
    let (registry, repository) = match args.destination.split_once("://") {
        Some((scheme, rest)) => {
            let (host, repository) = rest.split_once('/').unwrap_or((rest, ""));
            (format!("{scheme}://{host}"), repository.to_string())
        }
        None => {
            let (host, repository) = args
                .destination
                .split_once('/')
                .unwrap_or((&args.destination, ""));
            (host.to_string(), repository.to_string())
        }
    };
    let mut options = MirrorOptions::new(source, images::Registry::parse(&registry)?, &repository);
    options.arch = args.arch.as_deref().map(|arch| match arch {
        "arm64" => Arch::Arm64,
        _ => Arch::X86_64,
    });
    options.tag = args.tag;
    if let Some(username) = &args.username {
        let password = std::env::var("PIER_REGISTRY_PASSWORD").map_err(|_| {
            anyhow::anyhow!("--username needs the password in PIER_REGISTRY_PASSWORD")
        })?;
        options.destination_credentials = Credentials::basic(username, &password);
    }
    let bar = (!json_output).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg}")
                .expect("a fixed template"),
        );
        bar
    });
    let progress_bar = bar.clone();
    let report = images::mirror(
        &options,
        Some(std::sync::Arc::new(move |event| {
            if let Some(bar) = &progress_bar {
                match event {
                    Progress::Planned { blobs, bytes } => {
                        bar.set_length(bytes);
                        bar.set_message(format!("{blobs} blobs"));
                    }
                    Progress::Blob { size, .. } => bar.inc(size),
                    Progress::Manifest { .. } => {}
                }
            }
        })),
    )
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json_output {
        println!(
            "{}",
            json!({
                "image": report.image.to_string(),
                "already_there": report.already_there,
                "blobs_copied": report.blobs_copied,
                "blobs_present": report.blobs_present,
                "bytes_copied": report.bytes_copied,
            })
        );
    } else if report.already_there {
        println!("{} was already there", report.image);
    } else {
        println!(
            "Copied {} ({} blobs, {} bytes; {} already there)",
            report.image, report.blobs_copied, report.bytes_copied, report.blobs_present
        );
    }
    Ok(())
}
