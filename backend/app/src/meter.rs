//! Turns a deploy's progress events into what the progress bar shows: files hashed, bytes
//! uploaded, and an ETA from the rate so far. Pure, so it is tested without a window.

use std::time::{Duration, Instant};

use pier_core::progress::ProgressEvent;

pub use pier_wire::deploys::{DeploySnapshot, Phase};

pub struct Meter {
    snapshot: DeploySnapshot,
    phase_started: Instant,
}

impl Meter {
    pub fn new(job: &str, project: &str, deployment: Option<String>) -> Meter {
        Meter {
            snapshot: DeploySnapshot {
                job: job.to_string(),
                project: project.to_string(),
                phase: if deployment.is_some() {
                    Phase::Building
                } else {
                    Phase::Starting
                },
                files_total: 0,
                files_hashed: 0,
                bytes_total: 0,
                bytes_hashed: 0,
                upload_bytes_total: 0,
                bytes_uploaded: 0,
                fraction: 0.0,
                eta_ms: None,
                deployment,
            },
            phase_started: Instant::now(),
        }
    }

    pub fn apply(&mut self, event: &ProgressEvent, now: Instant) {
        let s = &mut self.snapshot;
        match event {
            ProgressEvent::Hashing { files, bytes } => {
                s.phase = Phase::Hashing;
                s.files_total = *files;
                s.bytes_total = *bytes;
                self.phase_started = now;
            }
            ProgressEvent::Hashed { bytes } => {
                s.files_hashed += 1;
                s.bytes_hashed += bytes;
            }
            ProgressEvent::Uploading { bytes, .. } => {
                s.phase = Phase::Uploading;
                s.upload_bytes_total = *bytes;
                self.phase_started = now;
            }
            ProgressEvent::Uploaded { bytes } => s.bytes_uploaded += bytes,
            ProgressEvent::Finalizing | ProgressEvent::Publishing { .. } => {
                s.phase = Phase::Finalizing
            }
            ProgressEvent::Warning(_) => {}
        }
        let (done, total) = match s.phase {
            Phase::Hashing => (s.bytes_hashed, s.bytes_total),
            Phase::Uploading => (s.bytes_uploaded, s.upload_bytes_total),
            _ => (0, 0),
        };
        // Hashing is the first half of the bar, uploading the second.
        s.fraction = match s.phase {
            Phase::Starting | Phase::Building => 0.0,
            Phase::Hashing => 0.5 * ratio(done, total),
            Phase::Uploading => 0.5 + 0.5 * ratio(done, total),
            Phase::Finalizing => 1.0,
        };
        s.eta_ms = eta(
            done,
            total,
            now.saturating_duration_since(self.phase_started),
        );
    }

    pub fn snapshot(&self) -> &DeploySnapshot {
        &self.snapshot
    }
}

fn ratio(done: u64, total: u64) -> f64 {
    if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    }
}

/// Time left in the current phase at the rate so far; none until a rate is meaningful.
fn eta(done: u64, total: u64, elapsed: Duration) -> Option<u64> {
    if done == 0 || total == 0 || elapsed < Duration::from_millis(200) {
        return None;
    }
    let rate = done as f64 / elapsed.as_secs_f64();
    Some((total.saturating_sub(done) as f64 / rate * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_then_uploading_fill_the_bar_with_an_eta() {
        let start = Instant::now();
        let mut meter = Meter::new("j1", "site", None);
        meter.apply(
            &ProgressEvent::Hashing {
                files: 4,
                bytes: 400,
            },
            start,
        );
        for _ in 0..2 {
            meter.apply(
                &ProgressEvent::Hashed { bytes: 100 },
                start + Duration::from_secs(1),
            );
        }
        let s = meter.snapshot().clone();
        assert_eq!((s.files_hashed, s.bytes_hashed), (2, 200));
        assert_eq!(s.fraction, 0.25);
        // 200 bytes in 1 s leaves 200 bytes: 1 s.
        assert_eq!(s.eta_ms, Some(1000));
        let t = start + Duration::from_secs(2);
        meter.apply(
            &ProgressEvent::Uploading {
                blobs: 2,
                bytes: 1000,
            },
            t,
        );
        meter.apply(
            &ProgressEvent::Uploaded { bytes: 250 },
            t + Duration::from_millis(500),
        );
        let s = meter.snapshot().clone();
        assert_eq!(s.phase, Phase::Uploading);
        assert_eq!(s.fraction, 0.5 + 0.5 * 0.25);
        assert_eq!(s.eta_ms, Some(1500));
        meter.apply(&ProgressEvent::Finalizing, t + Duration::from_secs(1));
        assert_eq!(meter.snapshot().fraction, 1.0);
    }

    #[test]
    fn nothing_to_upload_is_a_full_bar_not_a_division_by_zero() {
        let start = Instant::now();
        let mut meter = Meter::new("j1", "site", None);
        meter.apply(&ProgressEvent::Uploading { blobs: 0, bytes: 0 }, start);
        assert_eq!(meter.snapshot().fraction, 1.0);
        assert_eq!(meter.snapshot().eta_ms, None);
    }
}
