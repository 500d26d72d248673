//! A store whose target can be switched while readers hold it: the in-process proxy is
//! started once with this, and when the Settings screen points the app at another store,
//! the proxy serves the new one from the next request on (after a cache refresh), without
//! re-binding its port.

use std::sync::RwLock;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::StoreError;
use crate::store::{
    ByteStream, DynStore, FileBody, ListPage, Object, ObjectMeta, PutOptions, Store,
};

#[derive(Debug)]
pub struct SwitchStore {
    current: RwLock<DynStore>,
}

impl SwitchStore {
    pub fn new(store: DynStore) -> SwitchStore {
        SwitchStore {
            current: RwLock::new(store),
        }
    }

    pub fn switch_to(&self, store: DynStore) {
        *self.current.write().expect("not poisoned") = store;
    }

    fn current(&self) -> DynStore {
        self.current.read().expect("not poisoned").clone()
    }
}

#[async_trait]
impl Store for SwitchStore {
    fn url(&self) -> String {
        self.current().url()
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.current().check().await
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

    async fn put(&self, key: &str, body: Bytes, options: PutOptions) -> Result<String, StoreError> {
        self.current().put(key, body, options).await
    }

    async fn put_file(&self, key: &str, body: FileBody<'_>) -> Result<(), StoreError> {
        self.current().put_file(key, body).await
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> Result<ListPage, StoreError> {
        self.current().list_page(prefix, token).await
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.current().list_children(prefix).await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        self.current().delete(keys).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_follow_the_switch() {
        let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        async fn open(dir: &std::path::Path) -> DynStore {
            let url = crate::store::StoreUrl::Local(dir.to_path_buf());
            crate::store::open(&url).await.unwrap()
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
        let switch = SwitchStore::new(first);
        assert_eq!(&switch.get("k").await.unwrap().unwrap().body[..], b"one");
        switch.switch_to(second);
        assert_eq!(&switch.get("k").await.unwrap().unwrap().body[..], b"two");
        assert_eq!(switch.url(), open(second_dir.path()).await.url());
    }
}
