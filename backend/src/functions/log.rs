//! Function output on this machine. The local runtime (the proxy of `pier serve` and of the
//! desktop app) appends every line a function's process prints to
//! `<work folder>/logs/<project>.jsonl`, one JSON record per line; `pier logs --functions`
//! reads and follows that file from another process. A file past 8 MiB is moved to
//! `<project>.1.jsonl` (replacing the one before), so the logs of a busy function never fill
//! the disk. (On AWS, functions log to CloudWatch instead: `pier_aws::function_logs`.)

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A file grows to this size before it is moved aside.
const ROTATE_AT: u64 = 8 * 1024 * 1024;

/// One line a function printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionLogLine {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The function's path and deployment, as `/api/hello (shop-1a2b3c4d)`.
    pub function: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

/// Where the local runtime of `pier serve` and the desktop app keeps bundles and this log: the
/// user's cache folder.
pub fn default_work_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("pier")
        .join("functions")
}

/// The file a project's function output goes to.
pub fn path(work_dir: &Path, project: &str) -> PathBuf {
    work_dir.join("logs").join(format!("{project}.jsonl"))
}

/// Appends to a project's function log, moving a full file aside first.
pub fn append(work_dir: &Path, project: &str, line: &FunctionLogLine) -> std::io::Result<()> {
    let path = path(work_dir, project);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    if std::fs::metadata(&path).is_ok_and(|meta| meta.len() >= ROTATE_AT) {
        std::fs::rename(&path, path.with_extension("1.jsonl"))?;
    }
    let mut record = serde_json::to_vec(line).expect("a log line serializes");
    record.push(b'\n');
    // One write per record on an append-mode file: records from several processes do not
    // interleave within a line.
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?
        .write_all(&record)
}

/// The records from byte `offset` on, and the offset after the last whole one. A file that
/// shrank (it was moved aside) is read from its start.
pub fn read_from(path: &Path, offset: u64) -> std::io::Result<(Vec<FunctionLogLine>, u64)> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let length = file.metadata()?.len();
    let mut at = if offset > length { 0 } else { offset };
    file.seek(SeekFrom::Start(at))?;
    let mut reader = BufReader::new(file);
    let mut lines = Vec::new();
    let mut buffer = String::new();
    loop {
        buffer.clear();
        let read = reader.read_line(&mut buffer)?;
        // A line still being written has no newline yet: it is read on the next call.
        if read == 0 || !buffer.ends_with('\n') {
            break;
        }
        at += read as u64;
        if let Ok(line) = serde_json::from_str(buffer.trim_end()) {
            lines.push(line);
        }
    }
    Ok((lines, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> FunctionLogLine {
        FunctionLogLine {
            at: OffsetDateTime::UNIX_EPOCH,
            function: "/api/hello (shop-1a2b3c4d)".into(),
            stream: "stdout".into(),
            text: text.into(),
        }
    }

    #[test]
    fn lines_are_read_back_in_order_and_followed_from_an_offset() {
        let work = tempfile::tempdir().unwrap();
        append(work.path(), "shop", &line("one")).unwrap();
        append(work.path(), "shop", &line("two")).unwrap();
        let file = path(work.path(), "shop");
        let (first, offset) = read_from(&file, 0).unwrap();
        assert_eq!(first, [line("one"), line("two")]);
        append(work.path(), "shop", &line("three")).unwrap();
        let (next, _) = read_from(&file, offset).unwrap();
        assert_eq!(next, [line("three")]);
        let (other, _) = read_from(&path(work.path(), "blog"), 0).unwrap();
        assert!(other.is_empty(), "each project has its own log");
    }

    #[test]
    fn a_half_written_line_waits_and_a_moved_file_is_read_from_its_start() {
        let work = tempfile::tempdir().unwrap();
        append(work.path(), "shop", &line("whole")).unwrap();
        let file = path(work.path(), "shop");
        let mut handle = OpenOptions::new().append(true).open(&file).unwrap();
        handle
            .write_all(br#"{"at":"1970-01-01T00:00:00Z","#)
            .unwrap();
        let (lines, offset) = read_from(&file, 0).unwrap();
        assert_eq!(lines, [line("whole")]);
        std::fs::write(&file, b"").unwrap();
        append(work.path(), "shop", &line("after")).unwrap();
        let (lines, _) = read_from(&file, offset + 1000).unwrap();
        assert_eq!(lines, [line("after")]);
    }
}
