//! `pier images build`: builds the proxy and builder images on this machine, for a user who
//! wants their own instead of Pier's published ones, with the local Docker or Podman. From a
//! source checkout, the Dockerfiles compile the binaries (BINARY_FROM=source); given binaries
//! built beforehand, they are staged into a small context and copied in (BINARY_FROM=context),
//! so nothing compiles twice. Both images are checked to answer `--version` before the build
//! counts as done.
//!
//! Docker builds need BuildKit (only the stages the binary source needs are built): a client
//! from 23 on has it through the buildx plugin; an older client (Debian's 20.10) through
//! `DOCKER_BUILDKIT=1`. Podman (buildah) skips unused stages by itself.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What building images locally can fail with; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ImageBuildError {
    #[error("no container engine here: neither `docker` nor `podman` is on the PATH")]
    NoEngine,
    #[error("{program} is installed but its engine does not answer: {detail}")]
    EngineDown { program: String, detail: String },
    #[error(
        "this Docker client ({version}) builds only through the buildx plugin, which is missing"
    )]
    NoBuildx { version: String },
    #[error("`{}` is not a Pier source checkout (no proxy/Dockerfile there)", path.display())]
    NotACheckout { path: PathBuf },
    #[error("`{}` is not an executable binary", path.display())]
    BadBinary { path: PathBuf },
    #[error("building {image} failed: {detail}")]
    BuildFailed { image: String, detail: String },
    #[error("{image} was built but does not run: {detail}")]
    DoesNotRun { image: String, detail: String },
    #[error("pushing {image} failed: {detail}")]
    PushFailed { image: String, detail: String },
    #[error("I/O error on `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ImageBuildError {
    pub fn hint(&self) -> &'static str {
        match self {
            ImageBuildError::NoEngine => {
                "install Docker Engine (with the buildx plugin) or Podman, or skip building: `pier setup aws` uses Pier's published images"
            }
            ImageBuildError::EngineDown { .. } => {
                "start the engine (`sudo systemctl start docker`, or `podman machine start`) and check you may use it, then run this again"
            }
            ImageBuildError::NoBuildx { .. } => {
                "install the buildx plugin (`docker-buildx-plugin` from Docker's packages), or use Podman"
            }
            ImageBuildError::NotACheckout { .. } => {
                "run it inside a clone of Pier's repository, or pass --source DIR"
            }
            ImageBuildError::BadBinary { .. } => {
                "build them first (`cargo build --release -p pier-proxy` and `-p pier-builder`), or leave out --proxy-binary/--builder-binary to compile in the image"
            }
            ImageBuildError::BuildFailed { .. } => {
                "read the engine's output above; from source, the build needs the network to pull the base images and crates"
            }
            ImageBuildError::DoesNotRun { .. } => {
                "the binary must be built for the base image's architecture and glibc (Debian 12); build it there, or compile in the image"
            }
            ImageBuildError::PushFailed { .. } => {
                "log in to the registry first (`docker login REGISTRY`), and check the repository exists and you may push to it"
            }
            ImageBuildError::Io { .. } => "check the path exists and is writable by you",
        }
    }
}

/// A container engine that can build the Dockerfiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEngine {
    pub program: PathBuf,
    /// Set `DOCKER_BUILDKIT=1` (a Docker client older than 23, without buildx).
    pub buildkit_variable: bool,
    pub podman: bool,
}

impl ContainerEngine {
    /// `$PIER_CONTAINER_ENGINE` if set, else `docker`, else `podman` on the PATH; checks that its
    /// engine answers and that it can build the Dockerfiles.
    pub fn find() -> Result<ContainerEngine, ImageBuildError> {
        let candidates: Vec<PathBuf> = match std::env::var_os("PIER_CONTAINER_ENGINE") {
            Some(program) => vec![PathBuf::from(program)],
            None => ["docker", "podman"]
                .iter()
                .filter_map(|name| on_path(name))
                .collect(),
        };
        let program = candidates
            .into_iter()
            .next()
            .ok_or(ImageBuildError::NoEngine)?;
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let podman = name.contains("podman");
        let answers = Command::new(&program).arg("info").output();
        match answers {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                return Err(ImageBuildError::EngineDown {
                    program: name,
                    detail: last_line(&output.stderr),
                });
            }
            Err(error) => {
                return Err(ImageBuildError::EngineDown {
                    program: name,
                    detail: error.to_string(),
                });
            }
        }
        if podman {
            return Ok(ContainerEngine {
                program,
                buildkit_variable: false,
                podman,
            });
        }
        let has_buildx = Command::new(&program)
            .args(["buildx", "version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has_buildx {
            return Ok(ContainerEngine {
                program,
                buildkit_variable: false,
                podman,
            });
        }
        let version = Command::new(&program)
            .args(["version", "--format", "{{.Client.Version}}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major > 0 && major < 23 {
            Ok(ContainerEngine {
                program,
                buildkit_variable: true,
                podman,
            })
        } else {
            Err(ImageBuildError::NoBuildx { version })
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        if self.buildkit_variable {
            command.env("DOCKER_BUILDKIT", "1");
        }
        command
    }

    /// The engine's architecture as Docker names it (`amd64`, `arm64`).
    fn architecture(&self) -> String {
        let format = if self.podman {
            "{{.Host.Arch}}"
        } else {
            "{{.Server.Arch}}"
        };
        let output = self
            .command()
            .args(["version", "--format", format])
            .output();
        output
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|arch| !arch.is_empty())
            .unwrap_or_else(|| match std::env::consts::ARCH {
                "aarch64" => "arm64".into(),
                _ => "amd64".into(),
            })
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct ImageBuildRequest {
    /// The Pier checkout holding the Dockerfiles.
    pub source: PathBuf,
    /// Tag of both images, as in `pier-proxy:<tag>`.
    pub tag: String,
    /// Prefix of the image names (a registry and namespace to push to, e.g.
    /// `123456789012.dkr.ecr.eu-west-1.amazonaws.com/`); empty for local names.
    pub prefix: String,
    /// Binaries built beforehand; `None` compiles them in the image.
    pub binaries: Option<(PathBuf, PathBuf)>,
    pub proxy_base: Option<String>,
    pub builder_base: Option<String>,
    /// `--network` for the build's steps (an engine without a bridge needs `host`).
    pub network: Option<String>,
    pub push: bool,
}

/// One image built.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuiltImage {
    pub name: String,
    pub reference: String,
    pub version: String,
}

/// Builds (and pushes, if asked) both images; `on_line` gets the engine's output as it comes.
pub fn build(
    engine: &ContainerEngine,
    request: &ImageBuildRequest,
    on_line: &mut dyn FnMut(&str),
) -> Result<Vec<BuiltImage>, ImageBuildError> {
    if !request.source.join("proxy/Dockerfile").is_file() {
        return Err(ImageBuildError::NotACheckout {
            path: request.source.clone(),
        });
    }
    let staging = match &request.binaries {
        Some((proxy, builder)) => Some(stage(engine, proxy, builder)?),
        None => None,
    };
    let images = [
        (
            "pier-proxy",
            "proxy/Dockerfile",
            request.proxy_base.as_deref(),
        ),
        (
            "pier-builder",
            "backend/builder/Dockerfile",
            request.builder_base.as_deref(),
        ),
    ];
    let mut built = Vec::new();
    for (name, dockerfile, base) in images {
        let reference = format!("{}{name}:{}", request.prefix, request.tag);
        let context = staging
            .as_ref()
            .map(|dir| dir.path().to_path_buf())
            .unwrap_or_else(|| request.source.clone());
        let mut command = engine.command();
        command
            .arg("build")
            .arg("-f")
            .arg(request.source.join(dockerfile))
            .args(["-t", &reference])
            .args(["--build-arg", &format!("VERSION={}", request.tag)])
            .args([
                "--build-arg",
                &format!(
                    "BINARY_FROM={}",
                    if staging.is_some() {
                        "context"
                    } else {
                        "source"
                    }
                ),
            ]);
        if let Some(base) = base {
            command.args(["--build-arg", &format!("BASE_IMAGE={base}")]);
        }
        if let Some(network) = &request.network {
            command.args(["--network", network]);
        }
        command.arg(&context);
        run_streaming(command, on_line).map_err(|detail| ImageBuildError::BuildFailed {
            image: reference.clone(),
            detail,
        })?;
        let mut check = engine.command();
        check.args(["run", "--rm"]);
        if let Some(network) = &request.network {
            check.args(["--network", network]);
        }
        let version = check
            .args([reference.as_str(), "--version"])
            .output()
            .map_err(|e| ImageBuildError::DoesNotRun {
                image: reference.clone(),
                detail: e.to_string(),
            })?;
        if !version.status.success() {
            return Err(ImageBuildError::DoesNotRun {
                image: reference,
                detail: last_line(&version.stderr),
            });
        }
        if request.push {
            let mut push = engine.command();
            push.args(["push", &reference]);
            run_streaming(push, on_line).map_err(|detail| ImageBuildError::PushFailed {
                image: reference.clone(),
                detail,
            })?;
        }
        built.push(BuiltImage {
            name: name.to_string(),
            reference,
            version: String::from_utf8_lossy(&version.stdout).trim().to_string(),
        });
    }
    Ok(built)
}

/// Copies the binaries into a context of their own (`target/docker/<arch>/`), so the engine
/// is sent a few megabytes, not the checkout.
fn stage(
    engine: &ContainerEngine,
    proxy: &Path,
    builder: &Path,
) -> Result<tempfile::TempDir, ImageBuildError> {
    let dir = tempfile::tempdir().map_err(|e| ImageBuildError::Io {
        path: std::env::temp_dir(),
        source: e,
    })?;
    let into = dir.path().join("target/docker").join(engine.architecture());
    std::fs::create_dir_all(&into).map_err(|e| ImageBuildError::Io {
        path: into.clone(),
        source: e,
    })?;
    for (binary, name) in [(proxy, "pier-proxy"), (builder, "pier-builder")] {
        if !binary.is_file() {
            return Err(ImageBuildError::BadBinary {
                path: binary.to_path_buf(),
            });
        }
        std::fs::copy(binary, into.join(name)).map_err(|e| ImageBuildError::Io {
            path: binary.to_path_buf(),
            source: e,
        })?;
    }
    Ok(dir)
}

/// Runs a command, handing each output line on; `Err` with the last lines when it fails.
fn run_streaming(mut command: Command, on_line: &mut dyn FnMut(&str)) -> Result<(), String> {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stderr = child.stderr.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let (sender, receiver) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        Box::new(stderr) as Box<dyn std::io::Read + Send>,
        Box::new(stdout),
    ]
    .into_iter()
    .map(|stream| {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                let _ = sender.send(line);
            }
        })
    })
    .collect();
    drop(sender);
    let mut tail: std::collections::VecDeque<String> = Default::default();
    for line in receiver {
        on_line(&line);
        tail.push_back(line);
        if tail.len() > 5 {
            tail.pop_front();
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(Vec::from(tail).join("\n"))
    }
}
