//! Terminal progress bars for deploys: files hashed, then bytes uploaded, with rate and ETA.
//! Drawn on stderr only when it is a terminal, so pipes and `--json` stay clean.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pier_core::progress::{Progress, ProgressEvent};

pub fn deploy_progress(enabled: bool) -> (Progress, Arc<Mutex<Option<ProgressBar>>>) {
    let enabled = enabled && std::io::stderr().is_terminal();
    let current: Arc<Mutex<Option<ProgressBar>>> = Arc::new(Mutex::new(None));
    let slot = current.clone();
    let progress = Progress::new(move |event| {
        let mut slot = slot.lock().expect("not poisoned");
        match event {
            ProgressEvent::Hashing { files, .. } if enabled => {
                *slot = Some(bar(
                    files,
                    "hashing  {bar:30} {pos}/{len} files ({per_sec}, {eta})",
                ));
            }
            ProgressEvent::Hashed { .. } => {
                if let Some(bar) = slot.as_ref() {
                    bar.inc(1);
                }
            }
            ProgressEvent::Uploading { bytes, .. } if enabled => {
                if let Some(done) = slot.take() {
                    done.finish_and_clear();
                }
                *slot = Some(bar(
                    bytes,
                    "uploading {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                ));
            }
            ProgressEvent::Uploaded { bytes } => {
                if let Some(bar) = slot.as_ref() {
                    bar.inc(bytes);
                }
            }
            ProgressEvent::Finalizing => {
                if let Some(done) = slot.take() {
                    done.finish_and_clear();
                }
            }
            ProgressEvent::Publishing { function } => {
                if let Some(done) = slot.take() {
                    done.finish_and_clear();
                }
                eprintln!("publishing /{function} on AWS Lambda");
            }
            ProgressEvent::Warning(message) => match slot.as_ref() {
                Some(bar) => bar.println(format!("warning: {message}")),
                None => eprintln!("warning: {message}"),
            },
            _ => {}
        }
    });
    (progress, current)
}

fn bar(length: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("templates are valid")
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar
}
