//! The builder's queue worker: takes build jobs from the SQS queue and runs them, at most
//! `concurrency` at a time. It only takes a job when it has a free slot, so a burst of
//! builds waits in the queue (oldest first) instead of overloading a worker, and adding
//! workers (auto-scaled on queue depth) is how the fleet keeps up.
//!
//! Each job is run at least once and deployed at most once:
//! - while a job builds, a heartbeat keeps it hidden from other workers;
//! - a job whose deployment already exists, or whose log already ended, is done and removed;
//! - a build that fails on its own terms (bad source, failing script) is removed at once: trying
//!   it again gives the same result;
//! - a transient failure (store or network) leaves the job for another try after a back-off,
//!   continuing the same log; after `max_attempts` takes the log says so, and the queue's
//!   redrive policy moves the job to the dead-letter queue;
//! - a message that is not a valid job is left to reach the dead-letter queue quickly.
//!
//! With several regions, each job's output lands in all of them ([`Regions::deploy`]); a region
//! that fails is named in the log and does not fail the build.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::builds::job::{self, BuildJob, JobContext};
use crate::builds::queue::{BuildQueue, Delivery};
use crate::error::PierError;
use crate::logs::{BuildStatus, LiveAndBackend, LogRecord, LogWriter};
use crate::progress::Progress;
use crate::regions::Regions;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub concurrency: usize,
    /// The queue's visibility timeout; the heartbeat renews it at half this period.
    pub visibility: Duration,
    /// The queue's `maxReceiveCount`: the last take marks the build failed for good.
    pub max_attempts: u32,
    /// How long one receive call waits for a job.
    pub poll: Duration,
    /// Where checkouts go (each job gets its own folder, removed after).
    pub workdir: PathBuf,
    pub store_cache: bool,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 2,
            visibility: Duration::from_secs(120),
            max_attempts: 3,
            poll: Duration::from_secs(20),
            workdir: std::env::temp_dir(),
            store_cache: true,
        }
    }
}

/// What a worker did, for its exit summary and for tests.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub deployed: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub rejected: AtomicU64,
    pub duplicates: AtomicU64,
}

/// Runs jobs until `shutdown` is canceled, then waits for the builds in progress.
pub async fn work(
    queue: BuildQueue,
    regions: Regions,
    logs: Arc<dyn LiveAndBackend>,
    options: WorkerOptions,
    stats: Arc<WorkerStats>,
    shutdown: CancellationToken,
) -> Result<(), PierError> {
    let slots = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let free = slots.available_permits();
        if free == 0 {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => drop(permit),
            }
            continue;
        }
        let received = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = queue.receive(free as i32, options.poll) => received,
        };
        let deliveries = match received {
            Ok(deliveries) => {
                failures = 0;
                deliveries
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(%error, "cannot take jobs from the queue; retrying");
                let pause = Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(pause) => continue,
                }
            }
        };
        for delivery in deliveries {
            let permit = slots
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let (queue, regions, logs, options, stats) = (
                queue.clone(),
                regions.clone(),
                logs.clone(),
                options.clone(),
                stats.clone(),
            );
            tokio::spawn(async move {
                handle(&queue, regions, logs, &options, &stats, delivery).await;
                drop(permit);
            });
        }
    }
    // Wait for the builds in progress: a stopped task's unfinished job would be taken again
    // anyway, but finishing it is cheaper.
    let _ = slots.acquire_many(options.concurrency.max(1) as u32).await;
    Ok(())
}

async fn handle(
    queue: &BuildQueue,
    regions: Regions,
    logs: Arc<dyn LiveAndBackend>,
    options: &WorkerOptions,
    stats: &WorkerStats,
    delivery: Delivery,
) {
    let job = match serde_json::from_str::<BuildJob>(&delivery.body)
        .map_err(|e| PierError::BadJob {
            detail: e.to_string(),
        })
        .and_then(|job| job.validate().map(|()| job))
    {
        Ok(job) => job,
        Err(error) => {
            tracing::error!(%error, "not a build job; leaving it for the dead-letter queue");
            stats.rejected.fetch_add(1, Ordering::Relaxed);
            let _ = queue.hide(&delivery, Duration::ZERO).await;
            return;
        }
    };
    let last_attempt = delivery.receive_count >= options.max_attempts;
    // Operators (and the hosted-half test) tell which worker holds a job from this line.
    tracing::info!(deployment = %job.deployment, attempt = delivery.receive_count, "building");
    match run_once(
        queue,
        &regions,
        &logs,
        options,
        &delivery,
        &job,
        last_attempt,
    )
    .await
    {
        Ok(Finished::Deployed) => {
            stats.deployed.fetch_add(1, Ordering::Relaxed);
            complete(queue, &delivery).await;
        }
        Ok(Finished::AlreadyDone) => {
            stats.duplicates.fetch_add(1, Ordering::Relaxed);
            complete(queue, &delivery).await;
        }
        Err(error) if error.is_transient() && !last_attempt => {
            stats.retried.fetch_add(1, Ordering::Relaxed);
            let back_off = Duration::from_secs(2u64.pow(delivery.receive_count.min(8)));
            tracing::warn!(deployment = %job.deployment, %error, "transient failure; retrying");
            let _ = queue.hide(&delivery, back_off).await;
        }
        Err(error) if error.is_transient() => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(deployment = %job.deployment, %error, "gave up; the job goes to the dead-letter queue");
            let _ = queue.hide(&delivery, Duration::ZERO).await;
        }
        Err(error) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(deployment = %job.deployment, %error, "build failed");
            complete(queue, &delivery).await;
        }
    }
}

enum Finished {
    Deployed,
    AlreadyDone,
}

async fn run_once(
    queue: &BuildQueue,
    regions: &Regions,
    logs: &Arc<dyn LiveAndBackend>,
    options: &WorkerOptions,
    delivery: &Delivery,
    job: &BuildJob,
    last_attempt: bool,
) -> Result<Finished, PierError> {
    let previous = earlier_attempts(logs, &job.deployment).await;
    if previous
        .iter()
        .any(|record| record.terminal_status().is_some())
    {
        return Ok(Finished::AlreadyDone);
    }
    let env = job.environment(|name| std::env::var(name).ok());
    let secrets = env
        .as_ref()
        .map(|env| crate::builds::secrets(env))
        .unwrap_or_default();
    let log = LogWriter::resume(
        &job.deployment,
        logs.clone().as_backend(),
        secrets,
        previous,
    );
    if delivery.receive_count > 1 {
        log.status(
            BuildStatus::Queued,
            Some(format!(
                "attempt {} of {}",
                delivery.receive_count, options.max_attempts
            )),
        )
        .await;
    }
    let store = regions.primary_store();
    let already_deployed = store
        .head(&crate::store::keys::manifest(&job.deployment))
        .await;
    match already_deployed {
        Ok(Some(_)) => return Ok(Finished::AlreadyDone),
        Ok(None) => {}
        Err(error) => {
            let error = PierError::from(error);
            if last_attempt {
                log.status(BuildStatus::Failed, Some(give_up(&error))).await;
                log.flush().await;
            } else {
                log.status(
                    BuildStatus::Queued,
                    Some(format!("{error}; the build will be retried")),
                )
                .await;
                log.flush().await;
            }
            return Err(error);
        }
    }
    let env = match env {
        Ok(env) => env,
        Err(error) => {
            crate::builds::conclude(store, &log, job.owner(), Err(&error)).await;
            return Err(error);
        }
    };
    let workdir =
        tempfile::tempdir_in(&options.workdir).map_err(|source| PierError::Unreadable {
            path: options.workdir.clone(),
            source,
        })?;
    let heartbeat = CancellationToken::new();
    let beat = {
        let (queue, delivery, heartbeat) = (queue.clone(), delivery.clone(), heartbeat.clone());
        let visibility = options.visibility;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = heartbeat.cancelled() => return,
                    _ = tokio::time::sleep(visibility / 2) => {
                        if let Err(error) = queue.hide(&delivery, visibility).await {
                            tracing::warn!(%error, "could not extend the job's visibility");
                        }
                    }
                }
            }
        })
    };
    let cancel = CancellationToken::new();
    let result = job::run(
        regions,
        job,
        JobContext {
            log: &log,
            env,
            cancel: &cancel,
            progress: &Progress::silent(),
            workdir: workdir.path(),
            store_cache: options.store_cache,
            retry_on_transient: !last_attempt,
        },
    )
    .await;
    heartbeat.cancel();
    let _ = beat.await;
    result.map(|_| Finished::Deployed)
}

/// The log so far of earlier attempts at this job (empty for a first attempt).
async fn earlier_attempts(logs: &Arc<dyn LiveAndBackend>, deployment: &str) -> Vec<LogRecord> {
    let live = logs.clone().as_live();
    let mut records: Vec<LogRecord> = Vec::new();
    loop {
        let after = records.last().map_or(0, |record| record.seq);
        match live.read_after(deployment, after, Duration::ZERO).await {
            Ok(Some(more)) if !more.is_empty() => records.extend(more),
            _ => return records,
        }
    }
}

fn give_up(error: &PierError) -> String {
    format!("{error}; gave up after the last attempt (the job is in the dead-letter queue)")
}

async fn complete(queue: &BuildQueue, delivery: &Delivery) {
    if let Err(error) = queue.complete(delivery).await {
        // The job may run again; it will find its deployment and stop there.
        tracing::warn!(%error, "could not remove a finished job from the queue");
    }
}
