//! The local function runtime: each function bundle runs in its own Node process on this
//! machine (the embedded default, `pier serve`, the desktop app, and a `pier-proxy` given a
//! functions folder).
//!
//! - A process starts on its bundle's first request. The bundle's files are copied from the
//!   store into `<work>/<bundle id>/` once (into a temporary folder that is then renamed, so a
//!   half-copied bundle is never run), and `node launcher.mjs` listens on a Unix socket in a
//!   private folder (loopback TCP where there is none: [`super::socket`]).
//! - It stays warm for the next requests, and is stopped once idle for `idle`, or when the
//!   runtime is dropped.
//! - A process that exits (a crash, `process.exit`) is reported in the log and started again
//!   by the next request. One that has not answered when its `maxDuration` passes is stopped:
//!   a busy loop would otherwise hold it for every later request.
//! - A process gets a clean environment: `PATH`, `HOME`, `LANG`, `TZ`, `NODE_ENV=production`
//!   and the function's own variables, never the proxy's (which may hold AWS credentials).
//!   Its `pier env` secrets are read from [`LocalConfig::secrets`] as it starts, and their
//!   values are masked in every line of its output.
//!
//! Bundles are named by their content, so a redeploy that changes nothing in a function, a
//! preview and production of the same code share one warm process.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pier_core::functions::FunctionBundle;
use pier_core::project_env::SecretSource;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use super::FunctionError;
use super::prune::COMPLETE;
use super::socket::{self, Listen, Sockets};
use crate::lookup::Lookups;

const LAUNCHER: &str = pier_core::functions::runtime::LAUNCHER;
const READY: &str = "pier:ready:";
/// How often a long-running runtime prunes its work folder.
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 3600);
/// The variables of the proxy's own environment a function may see.
const PASSED_THROUGH: [&str; 4] = ["PATH", "HOME", "LANG", "TZ"];

#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// The `node` to run.
    pub node: PathBuf,
    /// Where bundles are copied and the launcher is written; not the store.
    pub work_dir: PathBuf,
    /// A process idle this long is stopped.
    pub idle: Duration,
    /// How long a process may take to load its handler and listen.
    pub start_timeout: Duration,
    /// Where the values of a function's `pier env` secrets come from (`pier serve` and the
    /// desktop app: the OS keychain). Without one, a function that names secrets does not
    /// start.
    pub secrets: Option<Arc<dyn SecretSource>>,
    /// A bundle copy no process has started from for this long is deleted (`prune`).
    pub keep_unused: Duration,
    /// Where the runtime makes its private folder of sockets: the system's temporary folder
    /// unless set. One whose path leaves no room for a socket's name means loopback TCP.
    pub sockets_in: PathBuf,
}

impl LocalConfig {
    /// `node` from `PATH`, bundles under `work_dir`, five idle minutes.
    pub fn new(work_dir: PathBuf) -> LocalConfig {
        LocalConfig {
            node: PathBuf::from("node"),
            work_dir,
            idle: Duration::from_secs(300),
            start_timeout: Duration::from_secs(10),
            secrets: None,
            keep_unused: Duration::from_secs(7 * 24 * 3600),
            sockets_in: std::env::temp_dir(),
        }
    }
}

type Slots = Mutex<HashMap<String, Arc<Slot>>>;

pub struct LocalRuntime {
    config: LocalConfig,
    slots: Arc<Slots>,
    launcher: tokio::sync::OnceCell<PathBuf>,
    reaper_started: AtomicBool,
    sockets: Sockets,
    client: Client<HttpConnector, Full<Bytes>>,
    socket_client: Client<socket::Connector, Full<Bytes>>,
}

/// One bundle's process, if it runs; locked while it starts, so one request starts it.
#[derive(Default)]
struct Slot {
    running: tokio::sync::Mutex<Option<Arc<Instance>>>,
}

pub struct Instance {
    listen: Listen,
    label: String,
    in_flight: AtomicUsize,
    last_used: Mutex<Instant>,
    exited: AtomicBool,
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl Instance {
    fn stop(&self, why: &str) {
        if let Some(stop) = self.stop.lock().expect("not poisoned").take() {
            tracing::info!(target: "pier_proxy::function", function = %self.label, "stopping: {why}");
            let _ = stop.send(());
        }
    }

    fn idle_for(&self) -> Duration {
        self.last_used.lock().expect("not poisoned").elapsed()
    }
}

/// A request being answered: keeps its process counted as busy until the answer's last byte.
pub struct InFlight {
    instance: Arc<Instance>,
}

impl InFlight {
    fn new(instance: Arc<Instance>) -> InFlight {
        instance.in_flight.fetch_add(1, Ordering::SeqCst);
        *instance.last_used.lock().expect("not poisoned") = Instant::now();
        InFlight { instance }
    }

    /// Stops the process: the answer ran out of time.
    pub fn stop(&self, why: &str) {
        self.instance.stop(why);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.instance.last_used.lock().expect("not poisoned") = Instant::now();
        self.instance.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LocalRuntime {
    pub fn new(config: LocalConfig) -> LocalRuntime {
        let sockets = Sockets::in_folder(config.sockets_in.clone());
        let pooled = || {
            let mut builder = Client::builder(TokioExecutor::new());
            builder.pool_idle_timeout(Duration::from_secs(30));
            builder
        };
        LocalRuntime {
            config,
            slots: Arc::default(),
            launcher: tokio::sync::OnceCell::new(),
            reaper_started: AtomicBool::new(false),
            client: pooled().build_http(),
            socket_client: pooled().build(socket::Connector::new(sockets.clone())),
            sockets,
        }
    }

    /// Sends `request` to the bundle's process, starting it first if needed. `label` names the
    /// function in the log.
    pub async fn send(
        &self,
        lookups: &Lookups,
        bundle_id: &str,
        bundle: &FunctionBundle,
        origin: &Origin<'_>,
        request: http::Request<Full<Bytes>>,
    ) -> Result<(http::Response<Incoming>, InFlight), FunctionError> {
        let instance = self.instance(lookups, bundle_id, bundle, origin).await?;
        let in_flight = InFlight::new(instance.clone());
        let (mut parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_string();
        let authority = match &instance.listen {
            Listen::Tcp(port) => format!("127.0.0.1:{port}"),
            Listen::Socket { name, .. } => name.clone(),
        };
        parts.uri = format!("http://{authority}{path}")
            .parse()
            .map_err(|e| FunctionError::Failed(format!("bad request target: {e}")))?;
        let request = http::Request::from_parts(parts, body);
        let answer = match &instance.listen {
            Listen::Tcp(_) => self.client.request(request).await,
            Listen::Socket { .. } => self.socket_client.request(request).await,
        };
        match answer {
            Ok(response) => Ok((response, in_flight)),
            Err(error) => {
                // Give the exit watcher a moment, so the log says why the process went away.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let detail = if instance.exited.load(Ordering::SeqCst) {
                    "the function's process exited during the request".to_string()
                } else {
                    format!("the function's process did not answer: {error}")
                };
                Err(FunctionError::Failed(detail))
            }
        }
    }

    /// Stops a bundle's process, if it runs and is not starting.
    pub fn stop(&self, bundle_id: &str, why: &str) {
        let slot = self
            .slots
            .lock()
            .expect("not poisoned")
            .get(bundle_id)
            .cloned();
        if let Some(slot) = slot
            && let Ok(mut running) = slot.running.try_lock()
            && let Some(instance) = running.take()
        {
            instance.stop(why);
        }
    }

    async fn instance(
        &self,
        lookups: &Lookups,
        bundle_id: &str,
        bundle: &FunctionBundle,
        origin: &Origin<'_>,
    ) -> Result<Arc<Instance>, FunctionError> {
        let slot = self
            .slots
            .lock()
            .expect("not poisoned")
            .entry(bundle_id.to_string())
            .or_default()
            .clone();
        let mut running = slot.running.lock().await;
        if let Some(instance) = running.as_ref()
            && !instance.exited.load(Ordering::SeqCst)
        {
            return Ok(instance.clone());
        }
        self.start_reaper();
        let dir = self.copy_bundle(lookups, bundle_id, bundle).await?;
        let instance = self.start(&dir, bundle, origin).await?;
        *running = Some(instance.clone());
        Ok(instance)
    }

    /// The bundle's folder, copied from the store the first time.
    async fn copy_bundle(
        &self,
        lookups: &Lookups,
        bundle_id: &str,
        bundle: &FunctionBundle,
    ) -> Result<PathBuf, FunctionError> {
        let failed = |what: &str, error: &dyn std::fmt::Display| {
            FunctionError::Failed(format!(
                "cannot copy the function's files ({what}): {error}"
            ))
        };
        let target = self.config.work_dir.join(bundle_id);
        if target.join(COMPLETE).exists() {
            super::prune::mark_used(&target);
            return Ok(target);
        }
        tokio::fs::create_dir_all(&self.config.work_dir)
            .await
            .map_err(|e| failed("folder", &e))?;
        // Removed on drop: a copy that fails half way leaves nothing behind.
        let temporary = tempfile::Builder::new()
            .prefix(&format!(".copying-{bundle_id}-"))
            .tempdir_in(&self.config.work_dir)
            .map_err(|e| failed("folder", &e))?;
        for file in &bundle.files {
            if !Path::new(&file.path)
                .components()
                .all(|part| matches!(part, Component::Normal(_)))
            {
                return Err(failed(&file.path, &"not a relative path"));
            }
            let path = temporary.path().join(&file.path);
            let parent = path.parent().expect("joined onto a folder");
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| failed(&file.path, &e))?;
            let mut stream = lookups
                .stream(&file.sha256, None)
                .await
                .map_err(|e| failed(&file.path, &e))?;
            let mut out = tokio::fs::File::create(&path)
                .await
                .map_err(|e| failed(&file.path, &e))?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| failed(&file.path, &e))?;
                out.write_all(&chunk)
                    .await
                    .map_err(|e| failed(&file.path, &e))?;
            }
            out.flush().await.map_err(|e| failed(&file.path, &e))?;
        }
        tokio::fs::write(temporary.path().join(COMPLETE), b"")
            .await
            .map_err(|e| failed(COMPLETE, &e))?;
        if let Err(error) = tokio::fs::rename(temporary.path(), &target).await {
            // Another proxy on the same folder copied it first.
            if !target.join(COMPLETE).exists() {
                return Err(failed("rename", &error));
            }
            return Ok(target);
        }
        // Renamed away: nothing is left for the guard to remove.
        let _ = temporary.keep();
        Ok(target)
    }

    async fn launcher(&self) -> Result<&PathBuf, FunctionError> {
        self.launcher
            .get_or_try_init(|| async {
                use sha2::Digest;
                let hash = hex::encode(&sha2::Sha256::digest(LAUNCHER.as_bytes())[..6]);
                let path = self.config.work_dir.join(format!("launcher-{hash}.mjs"));
                let written = async {
                    tokio::fs::create_dir_all(&self.config.work_dir).await?;
                    let temporary = tempfile::NamedTempFile::new_in(&self.config.work_dir)?;
                    tokio::fs::write(temporary.path(), LAUNCHER).await?;
                    temporary.persist(&path).map_err(|e| e.error)?;
                    Ok::<_, std::io::Error>(())
                };
                written.await.map_err(|e| {
                    FunctionError::Failed(format!(
                        "cannot write the launcher into {}: {e}",
                        self.config.work_dir.display()
                    ))
                })?;
                Ok(path)
            })
            .await
    }

    async fn start(
        &self,
        dir: &Path,
        bundle: &FunctionBundle,
        origin: &Origin<'_>,
    ) -> Result<Arc<Instance>, FunctionError> {
        let launcher = self.launcher().await?;
        let secrets = self.secrets(bundle, origin)?;
        let socket = self.sockets.next();
        let mut command = Command::new(&self.config.node);
        command
            .arg(launcher)
            .arg(dir)
            .arg(&bundle.settings.handler)
            .arg(if bundle.settings.helpers { "1" } else { "0" })
            .current_dir(dir)
            .env_clear()
            .envs(
                PASSED_THROUGH
                    .iter()
                    .filter_map(|name| Some((name, std::env::var_os(name)?))),
            )
            .env("NODE_ENV", "production")
            .envs(&bundle.settings.environment)
            .envs(&secrets)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(Listen::Socket { path, .. }) = &socket {
            command.arg(path);
        }
        let mut child = command.spawn().map_err(|error| FunctionError::NoNode {
            node: self.config.node.clone(),
            detail: error.to_string(),
        })?;
        let sink = Arc::new(LogSink {
            label: origin.label.to_string(),
            project: origin.project.to_string(),
            work_dir: self.config.work_dir.clone(),
            masker: pier_core::logs::Masker::new(secrets.into_values()),
        });
        if let (Some(deployed), Some(source)) =
            (&bundle.settings.env_revision, &self.config.secrets)
            && source.revision(origin.project).as_ref() != Some(deployed)
        {
            sink.line(
                "[pier] the project's variables changed after this deployment was made: its \
                 secrets have today's values, its plain variables the deployed ones (deploy \
                 again to give it all of today's)",
                true,
            );
        }
        let label = sink.label.clone();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        forward_log(stderr, sink.clone(), true);
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(self.config.start_timeout, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let listening = match (line.strip_prefix(READY), &socket) {
                    (Some("socket"), Some(listen)) => Some(listen.clone()),
                    (Some(port), None) => port.parse().ok().map(Listen::Tcp),
                    _ => None,
                };
                match listening {
                    Some(listen) => return Some(listen),
                    None => sink.line(&line, false),
                }
            }
            None
        })
        .await;
        let listen = match ready {
            Ok(Some(listen)) => listen,
            Ok(None) => {
                let status = child.wait().await.ok();
                let detail = match status.and_then(|status| status.code()) {
                    Some(78) => {
                        "its handler file exports no handler (see the function's log)".to_string()
                    }
                    Some(code) => format!(
                        "it exited with status {code} before it listened (see the function's log)"
                    ),
                    None => "it was stopped before it listened".to_string(),
                };
                return Err(FunctionError::StartFailed(detail));
            }
            Err(_) => {
                let _ = child.kill().await;
                return Err(FunctionError::StartFailed(format!(
                    "it did not listen within {} s",
                    self.config.start_timeout.as_secs()
                )));
            }
        };
        forward_log(lines.into_inner(), sink, false);
        let (stop, stopped) = oneshot::channel();
        let instance = Arc::new(Instance {
            listen,
            label,
            in_flight: AtomicUsize::new(0),
            last_used: Mutex::new(Instant::now()),
            exited: AtomicBool::new(false),
            stop: Mutex::new(Some(stop)),
        });
        tracing::info!(target: "pier_proxy::function", function = %instance.label, listen = ?instance.listen, "started");
        supervise(child, stopped, instance.clone());
        Ok(instance)
    }

    /// The values of the secrets the bundle names, from the configured source.
    fn secrets(
        &self,
        bundle: &FunctionBundle,
        origin: &Origin<'_>,
    ) -> Result<std::collections::BTreeMap<String, String>, FunctionError> {
        if bundle.settings.secrets.is_empty() {
            return Ok(Default::default());
        }
        let Some(source) = &self.config.secrets else {
            return Err(FunctionError::StartFailed(format!(
                "it needs the secrets {} and this proxy reads no keychain (run it with `pier \
                 serve` or the desktop app)",
                bundle.settings.secrets.join(", ")
            )));
        };
        source
            .secrets(origin.project, &bundle.settings.secrets)
            .map_err(|error| FunctionError::StartFailed(format!("{error}; {}", error.hint())))
    }

    /// Stops processes idle longer than `idle`, checking a few times per idle period; prunes
    /// the work folder as it starts and once a day after.
    fn start_reaper(&self) {
        if self.reaper_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let slots: Weak<Slots> = Arc::downgrade(&self.slots);
        let idle = self.config.idle;
        let period = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        let (work_dir, keep) = (self.config.work_dir.clone(), self.config.keep_unused);
        tokio::spawn(async move {
            let mut pruned_at: Option<Instant> = None;
            loop {
                if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                    pruned_at = Some(Instant::now());
                    let Some(slots) = slots.upgrade() else { return };
                    // Every bundle this runtime has run is kept, running or not.
                    let in_use = slots
                        .lock()
                        .expect("not poisoned")
                        .keys()
                        .cloned()
                        .collect();
                    drop(slots);
                    let work_dir = work_dir.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        super::prune::prune(&work_dir, keep, &in_use)
                    })
                    .await;
                }
                tokio::time::sleep(period).await;
                let Some(slots) = slots.upgrade() else { return };
                let all: Vec<Arc<Slot>> = slots
                    .lock()
                    .expect("not poisoned")
                    .values()
                    .cloned()
                    .collect();
                for slot in all {
                    let Ok(mut running) = slot.running.try_lock() else {
                        continue;
                    };
                    let idle_out = running.as_ref().is_some_and(|instance| {
                        instance.in_flight.load(Ordering::SeqCst) == 0
                            && instance.idle_for() >= idle
                    });
                    if idle_out && let Some(instance) = running.take() {
                        instance.stop(&format!("idle for {} s", idle.as_secs()));
                    }
                }
            }
        });
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        let slots = self.slots.lock().expect("not poisoned");
        for slot in slots.values() {
            if let Ok(running) = slot.running.try_lock()
                && let Some(instance) = running.as_ref()
            {
                instance.stop("the proxy stopped");
            }
        }
    }
}

/// Waits for the process to exit or to be told to stop, and reports an exit nobody asked for.
fn supervise(mut child: Child, stopped: oneshot::Receiver<()>, instance: Arc<Instance>) {
    tokio::spawn(async move {
        tokio::select! {
            status = child.wait() => {
                instance.exited.store(true, Ordering::SeqCst);
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                tracing::warn!(target: "pier_proxy::function", function = %instance.label, %status, "the function's process exited; the next request starts it again");
            }
            _ = stopped => {
                instance.exited.store(true, Ordering::SeqCst);
                let _ = child.kill().await;
            }
        }
        if let Listen::Socket { path, .. } = &instance.listen {
            let _ = std::fs::remove_file(path);
        }
    });
}

fn forward_log(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    sink: Arc<LogSink>,
    is_stderr: bool,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let sink = sink.clone();
            // The file append is blocking I/O: off the runtime's threads, in order per stream.
            let _ = tokio::task::spawn_blocking(move || sink.line(&line, is_stderr)).await;
        }
    });
}

/// Which function a request is for, for its log.
pub struct Origin<'a> {
    pub project: &'a str,
    /// The function's path and deployment, as `/api/hello (shop-1a2b3c4d)`.
    pub label: &'a str,
}

/// Where a process's output goes: the proxy's log (target `pier_proxy::function`) and the
/// project's function log file, which `pier logs --functions` follows.
struct LogSink {
    label: String,
    project: String,
    work_dir: PathBuf,
    /// The function's secrets, masked in every line.
    masker: pier_core::logs::Masker,
}

impl LogSink {
    fn line(&self, line: &str, is_stderr: bool) {
        let line = self.masker.mask(line);
        let label = &self.label;
        if is_stderr {
            tracing::warn!(target: "pier_proxy::function", function = %label, stream = "stderr", "{line}");
        } else {
            tracing::info!(target: "pier_proxy::function", function = %label, stream = "stdout", "{line}");
        }
        let record = pier_core::functions::log::FunctionLogLine {
            at: time::OffsetDateTime::now_utc(),
            function: self.label.clone(),
            stream: if is_stderr { "stderr" } else { "stdout" }.into(),
            text: line.into_owned(),
        };
        if let Err(error) =
            pier_core::functions::log::append(&self.work_dir, &self.project, &record)
        {
            tracing::debug!(%error, "function log not written");
        }
    }
}
