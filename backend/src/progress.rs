//! Progress events of long operations, for the CLI's bars and the desktop's progress view.

use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The folder was walked; hashing starts.
    Hashing { files: u64, bytes: u64 },
    /// One file was hashed.
    Hashed { bytes: u64 },
    /// The store was asked what it holds; these blobs go up.
    Uploading { blobs: u64, bytes: u64 },
    /// One blob is in the store.
    Uploaded { bytes: u64 },
    /// A function is being published as a Lambda version (once per new bundle).
    Publishing { function: String },
    /// Every blob is in; the manifest and aliases are being written.
    Finalizing,
    /// Something was skipped; the deploy goes on.
    Warning(String),
}

/// A callback that receives progress; cheap to clone, called from any task.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(ProgressEvent) + Send + Sync>);

impl Progress {
    pub fn new(callback: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        Progress(Arc::new(callback))
    }

    pub fn silent() -> Self {
        Progress::new(|_| {})
    }

    pub fn emit(&self, event: ProgressEvent) {
        (self.0)(event)
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}
