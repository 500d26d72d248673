//! A store whose target can be switched while readers hold it: the in-process proxy is
//! started once with this, and when the Settings screen points the app at another store,
//! the proxy serves the new one from the next request on (after a cache refresh), without
//! re-binding its port.

use std::sync::RwLock;

use async_trait::async_trait;

use pier_core::error::StoreError;
use pier_core::store::{ByteStream, DynReadStore, ListPage, Object, ObjectMeta, ReadStore};

#[derive(Debug)]
pub struct SwitchStore {
    current: RwLock<DynReadStore>,
}

impl SwitchStore {
    pub fn new(store: DynReadStore) -> SwitchStore {
        SwitchStore {
            current: RwLock::new(store),
        }
    }

    pub fn switch_to(&self, store: DynReadStore) {
        *self.current.write().expect("not poisoned") = store;
    }

    fn current(&self) -> DynReadStore {
        self.current.read().expect("not poisoned").clone()
    }
}

#[async_trait]
impl ReadStore for SwitchStore {
    fn url(&self) -> String {
        self.current().url()
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.current().check().await
    }

    fn local_file(&self, key: &str) -> Option<std::path::PathBuf> {
        self.current().local_file(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        self.current().get(key).await
    }

    async fn get_stream(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<ByteStream>, StoreError> {
        self.current().get_stream(key, range).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        self.current().head(key).await
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> Result<ListPage, StoreError> {
        self.current().list_page(prefix, token).await
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.current().list_children(prefix).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use bytes::Bytes;
    use pier_core::store::{DynStore, PutOptions};

    #[tokio::test]
    async fn reads_follow_the_switch() {
        let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        async fn open(dir: &std::path::Path) -> DynStore {
            let url = pier_core::store::StoreUrl::Local(dir.to_path_buf());
            pier_core::store::open(&url).await.unwrap()
        }
        let first = open(first_dir.path()).await;
        let second = open(second_dir.path()).await;
        first
            .put("k", Bytes::from_static(b"one"), PutOptions::default())
            .await
            .unwrap();
        second
            .put("k", Bytes::from_static(b"two"), PutOptions::default())
            .await
            .unwrap();
        let switch = SwitchStore::new(first.clone());
        assert_eq!(&switch.get("k").await.unwrap().unwrap().body[..], b"one");
        switch.switch_to(second.clone());
        assert_eq!(&switch.get("k").await.unwrap().unwrap().body[..], b"two");
        assert_eq!(switch.url(), open(second_dir.path()).await.url());
    }
}
