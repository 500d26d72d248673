//! Reading and writing the store's small JSON records (manifests, aliases, index entries).

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::PierError;
use crate::store::{PutOptions, ReadStore, Store};

const READS_IN_FLIGHT: usize = 32;

/// Parses a JSON record, naming its key when it is corrupt.
pub fn parse_json<T: DeserializeOwned>(key: &str, body: &[u8]) -> Result<T, PierError> {
    serde_json::from_slice(body).map_err(|e| PierError::Corrupt {
        key: key.to_string(),
        detail: e.to_string(),
    })
}

/// Reads one record; `None` when the key is absent.
pub async fn read_json<T: DeserializeOwned>(
    store: &dyn ReadStore,
    key: &str,
) -> Result<Option<T>, PierError> {
    match store.get(key).await? {
        Some(object) => Ok(Some(parse_json(key, &object.body)?)),
        None => Ok(None),
    }
}

/// Writes one record under `options` (a condition, usually).
pub async fn write_json<T: Serialize>(
    store: &dyn Store,
    key: &str,
    record: &T,
    options: PutOptions,
) -> Result<String, PierError> {
    let body = serde_json::to_vec_pretty(record).expect("records serialise");
    Ok(store.put(key, Bytes::from(body), options).await?)
}

/// Reads and parses many small records concurrently, in the order of `record_keys`, each
/// beside its key; records that vanished meanwhile are left out.
pub async fn read_all<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    record_keys: &[String],
) -> Result<Vec<(String, T)>, PierError> {
    let results: Vec<Result<Option<(String, T)>, PierError>> =
        futures::stream::iter(record_keys.iter().cloned())
            .map(|key| async move {
                let record = read_json::<T>(store, &key).await?;
                Ok(record.map(|record| (key, record)))
            })
            .buffered(READS_IN_FLIGHT)
            .collect()
            .await;
    let mut records = Vec::with_capacity(results.len());
    for result in results {
        if let Some(record) = result? {
            records.push(record);
        }
    }
    Ok(records)
}
