//! The shared store suite: the local folder store and the S3 store (on moto's server) must
//! behave the same for every operation the engine relies on, conditional writes above all.

use std::sync::Arc;

use bytes::Bytes;
use pier_core::store::{
    self, Condition, DynStore, FileBody, PutOptions, StoreError, StoreUrl, list_all,
};
use pier_tests::Moto;
use sha2::{Digest, Sha256};

async fn reads_and_writes(store: &DynStore) {
    assert!(store.get("records/missing.json").await.unwrap().is_none());
    assert!(store.head("records/missing.json").await.unwrap().is_none());
    let etag = store
        .put(
            "records/a.json",
            Bytes::from_static(b"{\"a\":1}"),
            PutOptions::json(),
        )
        .await
        .unwrap();
    let object = store.get("records/a.json").await.unwrap().unwrap();
    assert_eq!(&object.body[..], b"{\"a\":1}");
    assert_eq!(object.etag, etag, "put and get agree on the version tag");
    assert_eq!(store.head("records/a.json").await.unwrap().unwrap().size, 7);
    store
        .put("records/empty", Bytes::new(), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(store.head("records/empty").await.unwrap().unwrap().size, 0);
    store
        .delete(&["records/a.json".into(), "records/never-existed".into()])
        .await
        .expect("deleting a missing key is not an error");
    assert!(store.get("records/a.json").await.unwrap().is_none());
}

async fn conditional_writes(store: &DynStore) {
    let create = || PutOptions::json().with_condition(Condition::IfNoneMatch);
    let first = store
        .put("cas/x.json", Bytes::from_static(b"1"), create())
        .await
        .unwrap();
    let again = store
        .put("cas/x.json", Bytes::from_static(b"2"), create())
        .await;
    assert!(
        matches!(again, Err(StoreError::PreconditionFailed { .. })),
        "create-only on an existing key fails: {again:?}"
    );
    let wrong = store
        .put(
            "cas/x.json",
            Bytes::from_static(b"3"),
            PutOptions::json().with_condition(Condition::IfMatch("\"not-the-etag\"".into())),
        )
        .await;
    assert!(matches!(wrong, Err(StoreError::PreconditionFailed { .. })));
    store
        .put(
            "cas/x.json",
            Bytes::from_static(b"4"),
            PutOptions::json().with_condition(Condition::IfMatch(first)),
        )
        .await
        .expect("the version we read can be replaced");
    assert_eq!(
        &store.get("cas/x.json").await.unwrap().unwrap().body[..],
        b"4"
    );
    let absent = store
        .put(
            "cas/absent.json",
            Bytes::from_static(b"5"),
            PutOptions::json().with_condition(Condition::IfMatch("\"any\"".into())),
        )
        .await;
    assert!(matches!(absent, Err(StoreError::PreconditionFailed { .. })));
}

/// Sixteen writers each add one to a counter by read-modify-write: none may be lost.
async fn concurrent_compare_and_swap_loses_nothing(store: &DynStore) {
    let key = "cas/counter.json";
    let writers = (0..16).map(|_| {
        let store = Arc::clone(store);
        tokio::spawn(async move {
            loop {
                let (value, condition) = match store.get(key).await.unwrap() {
                    Some(object) => (
                        String::from_utf8(object.body.to_vec())
                            .unwrap()
                            .parse::<u32>()
                            .unwrap(),
                        Condition::IfMatch(object.etag),
                    ),
                    None => (0, Condition::IfNoneMatch),
                };
                let next = Bytes::from((value + 1).to_string());
                match store
                    .put(key, next, PutOptions::json().with_condition(condition))
                    .await
                {
                    Ok(_) => return,
                    Err(StoreError::PreconditionFailed { .. }) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
    assert_eq!(&store.get(key).await.unwrap().unwrap().body[..], b"16");
}

async fn listing(store: &DynStore) {
    // More than one S3 page, in an order that differs from the keys' order.
    let keys: Vec<String> = (0..1005).rev().map(|i| format!("many/{i:05}")).collect();
    let puts = keys.iter().map(|key| {
        let store = Arc::clone(store);
        let key = key.clone();
        async move {
            store
                .put(&key, Bytes::from(key.clone()), PutOptions::default())
                .await
        }
    });
    futures::future::try_join_all(puts).await.unwrap();
    store
        .put(
            "many-not/x",
            Bytes::from_static(b"x"),
            PutOptions::default(),
        )
        .await
        .unwrap();
    store
        .put("tree/a/1", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .unwrap();
    store
        .put(
            "tree/b/c/2",
            Bytes::from_static(b"x"),
            PutOptions::default(),
        )
        .await
        .unwrap();
    store
        .put("tree/file", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .unwrap();

    let listed: Vec<String> = list_all(store.as_ref(), "many/")
        .await
        .unwrap()
        .into_iter()
        .map(|meta| meta.key)
        .collect();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(
        listed, expected,
        "every key under the prefix, in order, once"
    );
    assert_eq!(
        store.list_children("tree/").await.unwrap(),
        ["a", "b"],
        "children are the folder-like next segments"
    );
    assert!(store.list_children("nothing/").await.unwrap().is_empty());
    store.delete(&keys).await.unwrap();
    assert!(list_all(store.as_ref(), "many/").await.unwrap().is_empty());
}

async fn large_files(store: &DynStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    let body: Vec<u8> = (0..pier_tests::LARGE_FILE_BYTES)
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(&path, &body).unwrap();
    let sha256: [u8; 32] = Sha256::digest(&body).into();
    store
        .put_file(
            "blobs/large",
            FileBody {
                path: &path,
                size: body.len() as u64,
                sha256,
            },
        )
        .await
        .unwrap();
    let read = store.get("blobs/large").await.unwrap().unwrap();
    assert_eq!(read.body.len(), body.len());
    assert!(
        read.body[..] == body[..],
        "the large file reads back intact"
    );

    let streamed = collect(
        store
            .get_stream("blobs/large", None)
            .await
            .unwrap()
            .unwrap(),
    )
    .await;
    assert!(streamed == body, "the large file streams back intact");
    let (first, last) = (9_000_000u64, 9_065_535u64);
    let ranged = collect(
        store
            .get_stream("blobs/large", Some((first, last)))
            .await
            .unwrap()
            .unwrap(),
    )
    .await;
    assert!(
        ranged[..] == body[first as usize..=last as usize],
        "a range streams exactly"
    );
    assert!(
        store
            .get_stream("blobs/absent", None)
            .await
            .unwrap()
            .is_none()
    );

    // A file whose content no longer matches the hash it was announced with never lands.
    let wrong = store
        .put_file(
            "blobs/changed",
            FileBody {
                path: &path,
                size: body.len() as u64,
                sha256: [7; 32],
            },
        )
        .await;
    assert!(
        matches!(wrong, Err(StoreError::ContentChanged { .. })),
        "{wrong:?}"
    );
    assert!(store.head("blobs/changed").await.unwrap().is_none());
}

async fn collect(mut stream: store::ByteStream) -> Vec<u8> {
    use futures::StreamExt;
    let mut all = Vec::new();
    while let Some(chunk) = stream.next().await {
        all.extend_from_slice(&chunk.unwrap());
    }
    all
}

async fn check_passes(store: &DynStore) {
    store
        .check()
        .await
        .expect("a working store passes its check");
}

/// Each case is a test of its own on each store, so one failure hides no other. The
/// conditional-write cases run on a moto that answers one request at a time
/// ([`Moto::start_serial`]): threaded moto checks a precondition and writes without a lock,
/// a race real S3 does not have, and these cases test Pier's rule, not moto's race.
macro_rules! store_cases {
    ($($case:ident on $moto:path),* $(,)?) => {
        mod local_store {
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = super::StoreUrl::parse(dir.path().to_str().unwrap()).unwrap();
                    super::$case(&super::store::open(&url).await.unwrap()).await;
                }
            )*
        }

        mod s3_store_on_moto {
            $(
                #[tokio::test]
                async fn $case() {
                    let moto = $moto();
                    let url = super::StoreUrl::parse(&moto.bucket("suite").await).unwrap();
                    super::$case(&super::store::open(&url).await.unwrap()).await;
                }
            )*
        }
    };
}

store_cases! {
    reads_and_writes on pier_tests::Moto::start,
    conditional_writes on pier_tests::Moto::start_serial,
    concurrent_compare_and_swap_loses_nothing on pier_tests::Moto::start_serial,
    listing on pier_tests::Moto::start,
    large_files on pier_tests::Moto::start,
    check_passes on pier_tests::Moto::start,
}

#[tokio::test]
async fn a_missing_bucket_is_named_with_what_to_do() {
    let moto = Moto::start();
    let url = StoreUrl::parse(&moto.store_url("no-such-bucket")).unwrap();
    let store = store::open(&url).await.unwrap();
    let err = store.check().await.unwrap_err();
    assert!(matches!(err, StoreError::NoSuchBucket { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-bucket"));
    assert!(err.hint().contains("bucket name"));
}

#[tokio::test]
async fn an_unreachable_endpoint_says_so() {
    pier_tests::use_test_credentials();
    let port = pier_tests::free_port();
    let url = StoreUrl::parse(&format!(
        "s3://bucket/pier?endpoint=http://127.0.0.1:{port}&region=us-east-1"
    ))
    .unwrap();
    let store = store::open(&url).await.unwrap();
    let err = store.check().await.unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}
