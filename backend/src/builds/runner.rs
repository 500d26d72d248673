//! Runs one build step as a child process and streams its output into the log, line by line
//! as it happens.
//!
//! The child gets its own process group, so a timeout or a cancel stops the whole tree
//! (`npm` and the `node` it starts): SIGTERM, then SIGKILL after a grace period. Failure is
//! decided by exit status alone. Lines longer than [`MAX_LINE`] are split; output that ends
//! without a newline (a progress bar, a hung tool) is logged after [`PARTIAL_AFTER`] of
//! silence, so nothing printed is ever held back indefinitely.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use super::detect::Step;
use crate::logs::{LogStream, LogWriter};

pub const MAX_LINE: usize = 64 * 1024;
pub const PARTIAL_AFTER: Duration = Duration::from_millis(500);
const KILL_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    Succeeded,
    Failed { code: Option<i32> },
    TimedOut,
    Canceled,
}

pub struct RunOptions<'a> {
    pub dir: &'a Path,
    pub env: &'a [(String, String)],
    pub deadline: tokio::time::Instant,
    pub cancel: &'a CancellationToken,
    pub log: &'a LogWriter,
}

/// Runs `step`; `Err` only when it could not be started (the message says why).
pub async fn run(step: &Step, options: RunOptions<'_>) -> Result<RunOutcome, String> {
    let mut command = match step {
        Step::Argv(words) => {
            let mut command = tokio::process::Command::new(&words[0]);
            command.args(&words[1..]);
            command
        }
        Step::Shell(line) => {
            let mut command = tokio::process::Command::new("sh");
            command.arg("-c").arg(line);
            command
        }
    };
    command
        .current_dir(options.dir)
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .env("CI", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| {
        let program = match step {
            Step::Argv(words) => words[0].clone(),
            Step::Shell(_) => "sh".into(),
        };
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("`{program}` is not installed or not on PATH")
        } else {
            format!("cannot start `{program}`: {e}")
        }
    })?;
    let pid = child.id();
    let stdout = pump(
        child.stdout.take().expect("piped"),
        LogStream::Stdout,
        options.log.clone(),
    );
    let stderr = pump(
        child.stderr.take().expect("piped"),
        LogStream::Stderr,
        options.log.clone(),
    );
    let outcome = tokio::select! {
        status = child.wait() => match status {
            Ok(status) if status.success() => RunOutcome::Succeeded,
            Ok(status) => RunOutcome::Failed { code: status.code() },
            Err(_) => RunOutcome::Failed { code: None },
        },
        () = tokio::time::sleep_until(options.deadline) => RunOutcome::TimedOut,
        () = options.cancel.cancelled() => RunOutcome::Canceled,
    };
    if matches!(outcome, RunOutcome::TimedOut | RunOutcome::Canceled) {
        stop_group(pid, &mut child).await;
    }
    // The pipes close when the group is gone; every line printed is in the log before we return.
    let _ = tokio::join!(stdout, stderr);
    Ok(outcome)
}

async fn stop_group(pid: Option<u32>, child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        // SAFETY: signalling a process group we created; no memory is touched.
        unsafe { libc::killpg(pid as libc::pid_t, libc::SIGTERM) };
        if tokio::time::timeout(KILL_GRACE, child.wait()).await.is_ok() {
            // The leader is gone; make sure its children are too.
            unsafe { libc::killpg(pid as libc::pid_t, libc::SIGKILL) };
            return;
        }
        unsafe { libc::killpg(pid as libc::pid_t, libc::SIGKILL) };
    }
    let _ = child.kill().await;
}

fn pump(
    mut reader: impl AsyncRead + Unpin + Send + 'static,
    stream: LogStream,
    log: LogWriter,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pending: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let read = if pending.is_empty() {
                reader.read(&mut chunk).await
            } else {
                match tokio::time::timeout(PARTIAL_AFTER, reader.read(&mut chunk)).await {
                    Ok(read) => read,
                    Err(_) => {
                        emit(&log, stream, &std::mem::take(&mut pending)).await;
                        continue;
                    }
                }
            };
            let read = match read {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            pending.extend_from_slice(&chunk[..read]);
            while let Some(newline) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=newline).collect();
                emit(&log, stream, &line[..line.len() - 1]).await;
            }
            while pending.len() >= MAX_LINE {
                let part: Vec<u8> = pending.drain(..MAX_LINE).collect();
                emit(&log, stream, &part).await;
            }
        }
        if !pending.is_empty() {
            emit(&log, stream, &pending).await;
        }
    })
}

async fn emit(log: &LogWriter, stream: LogStream, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    log.line(stream, text.trim_end_matches('\r')).await;
}
