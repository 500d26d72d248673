//! A store wrapper for tests: records writes, and injects the failures and races that real
//! stores produce only by bad luck. It wraps a real store; nothing underneath is mocked.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use pier_core::gc::{self, GcReport};
use pier_core::store::{
    ByteStream, DynStore, FileBody, ListPage, Object, ObjectMeta, PutOptions, ReadStore, Store,
    StoreError, keys,
};

#[derive(Debug)]
pub struct Spy {
    inner: DynStore,
    puts: Mutex<Vec<String>>,
    blob_puts: AtomicUsize,
    fail_after: AtomicUsize,
    sabotage: Mutex<Option<String>>,
    sabotaged: AtomicBool,
    gc_before_manifest: AtomicBool,
    gc_report: Mutex<Option<GcReport>>,
    outage: AtomicBool,
    /// How long every read waits before it is answered (a far region).
    read_latency: Mutex<std::time::Duration>,
    blob_reads: AtomicUsize,
    /// While closed, a blob stream stops after its first chunk until it opens.
    gate: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Spy {
    pub fn new(inner: DynStore) -> Spy {
        Spy {
            inner,
            puts: Mutex::default(),
            blob_puts: AtomicUsize::new(0),
            fail_after: AtomicUsize::new(usize::MAX),
            sabotage: Mutex::default(),
            sabotaged: AtomicBool::new(false),
            gc_before_manifest: AtomicBool::new(false),
            gc_report: Mutex::default(),
            outage: AtomicBool::new(false),
            read_latency: Mutex::default(),
            blob_reads: AtomicUsize::new(0),
            gate: std::sync::Arc::new(tokio::sync::watch::channel(true).0),
        }
    }

    /// How many times a blob was read (`get` or `get_stream`), so a test can tell a cache hit.
    pub fn blob_reads(&self) -> usize {
        self.blob_reads.load(Ordering::SeqCst)
    }

    /// Holds every blob stream after its first chunk until [`Spy::open_streams`]: a slow
    /// store, or a large blob still on its way.
    pub fn hold_streams_after_first_chunk(&self) {
        self.gate.send_replace(false);
    }

    pub fn open_streams(&self) {
        self.gate.send_replace(true);
    }

    fn count_blob_read(&self, key: &str) {
        if key.starts_with(keys::BLOBS) {
            self.blob_reads.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// While on, every call fails as if the store were unreachable.
    pub fn set_outage(&self, on: bool) {
        self.outage.store(on, Ordering::SeqCst);
    }

    /// Every read (get, head, list) waits this long first, as a far region's would.
    pub fn set_read_latency(&self, latency: std::time::Duration) {
        *self.read_latency.lock().unwrap() = latency;
    }

    async fn read_answer(&self) -> Result<(), StoreError> {
        let latency = *self.read_latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.reachable()
    }

    fn reachable(&self) -> Result<(), StoreError> {
        if self.outage.load(Ordering::SeqCst) {
            return Err(StoreError::Unreachable {
                endpoint: "spy".into(),
                detail: "injected outage".into(),
            });
        }
        Ok(())
    }

    /// Every key written, in order.
    pub fn puts(&self) -> Vec<String> {
        self.puts.lock().unwrap().clone()
    }

    /// Blob writes after the first `count` fail as if the network dropped.
    pub fn fail_blob_puts_after(&self, count: usize) {
        self.fail_after.store(count, Ordering::SeqCst);
    }

    /// Acts out a gc that read the leases too early: once the deploy has seen this blob
    /// present, delete it and bump the gc epoch, as that gc would.
    pub fn delete_after_seen_present(&self, sha256_hex: &str) {
        *self.sabotage.lock().unwrap() = Some(keys::blob(sha256_hex));
    }

    pub fn sabotaged(&self) -> bool {
        self.sabotaged.load(Ordering::SeqCst)
    }

    /// Runs a real gc just before the deploy writes its manifest.
    pub fn collect_garbage_before_manifest(&self) {
        self.gc_before_manifest.store(true, Ordering::SeqCst);
    }

    pub fn gc_report(&self) -> Option<GcReport> {
        self.gc_report.lock().unwrap().clone()
    }

    async fn before_put(&self, key: &str) -> Result<(), StoreError> {
        self.reachable()?;
        self.puts.lock().unwrap().push(key.to_string());
        if key.starts_with(keys::BLOBS) {
            let done = self.blob_puts.fetch_add(1, Ordering::SeqCst);
            if done >= self.fail_after.load(Ordering::SeqCst) {
                return Err(StoreError::Unreachable {
                    endpoint: "spy".into(),
                    detail: "injected failure".into(),
                });
            }
        }
        if key.starts_with(keys::DEPLOYMENTS)
            && self.gc_before_manifest.swap(false, Ordering::SeqCst)
        {
            let report = gc::collect(self.inner.as_ref(), false)
                .await
                .expect("gc runs");
            *self.gc_report.lock().unwrap() = Some(report);
        }
        Ok(())
    }
}

#[async_trait]
impl ReadStore for Spy {
    fn url(&self) -> String {
        self.inner.url()
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.reachable()?;
        self.inner.check().await
    }

    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        self.read_answer().await?;
        self.count_blob_read(key);
        self.inner.get(key).await
    }

    async fn get_stream(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<ByteStream>, StoreError> {
        use futures::StreamExt;
        self.read_answer().await?;
        self.count_blob_read(key);
        let Some(inner) = self.inner.get_stream(key, range).await? else {
            return Ok(None);
        };
        let gate = self.gate.subscribe();
        let gated = futures::stream::unfold(
            (inner, gate, true),
            |(mut inner, mut gate, first)| async move {
                let chunk = inner.next().await?;
                if !first {
                    // A closed gate holds the rest of the blob (not its end) until it opens.
                    let _ = gate.wait_for(|open| *open).await;
                }
                Some((chunk, (inner, gate, false)))
            },
        );
        let gated: ByteStream = Box::pin(gated);
        Ok(Some(gated))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        self.read_answer().await?;
        let found = self.inner.head(key).await?;
        let target = self.sabotage.lock().unwrap().clone();
        if found.is_some() && target.as_deref() == Some(key) && !self.sabotaged() {
            self.inner.delete(&[key.to_string()]).await?;
            let epoch = Bytes::from_static(b"{\"epoch\": 999}");
            self.inner
                .put(keys::GC_EPOCH, epoch, PutOptions::json())
                .await?;
            self.sabotaged.store(true, Ordering::SeqCst);
        }
        Ok(found)
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> Result<ListPage, StoreError> {
        self.read_answer().await?;
        self.inner.list_page(prefix, token).await
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.reachable()?;
        self.inner.list_children(prefix).await
    }

    fn aws(&self) -> Option<pier_core::store::AwsPlace> {
        self.inner.aws()
    }
}

#[async_trait]
impl Store for Spy {
    async fn put(&self, key: &str, body: Bytes, options: PutOptions) -> Result<String, StoreError> {
        self.before_put(key).await?;
        self.inner.put(key, body, options).await
    }

    async fn put_file(&self, key: &str, body: FileBody<'_>) -> Result<(), StoreError> {
        self.before_put(key).await?;
        self.inner.put_file(key, body).await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        self.reachable()?;
        self.inner.delete(keys).await
    }
}
