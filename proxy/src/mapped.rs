//! Blobs of a folder store mapped into memory, each remembering the file it came from, so the
//! connection can hand a body to the kernel with `sendfile(2)` instead of copying it
//! (`sendfile.rs`).
//!
//! A mapped blob is a `Bytes` like any other: a range slices it, compression reads it, and a
//! connection that cannot use `sendfile` writes it as memory. Its bytes live in the page
//! cache, not on the proxy's heap, so they cost the cache nothing but an open file.
//!
//! Every mapping is listed by address while it lives (`file_of` finds the file behind any
//! slice of it) and is taken off the list before it is unmapped, so an address reused by a
//! later mapping never names the wrong file.
//!
//! Safety rests on the store's write rule (store/local.rs): a folder store never changes a
//! file in place, it renames a new file over the key, so a mapped file's bytes never change
//! and never shrink while they are mapped. The proxy never writes to the store.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::{LazyLock, RwLock};

use bytes::Bytes;
use memmap2::Mmap;

/// What owns a mapping: the pages, and the open file whose descriptor the list lends to
/// `sendfile` (never read here, only kept open).
struct MappedBlob {
    map: Mmap,
    _file: File,
}

impl AsRef<[u8]> for MappedBlob {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MappedBlob {
    fn drop(&mut self) {
        // Runs before `map` is unmapped (fields drop after this), so no lookup can find an
        // address that is about to be released.
        regions()
            .remove(&(self.map.as_ptr() as usize))
            .expect("a mapped blob is listed while it lives");
    }
}

/// A live mapping's end address and file descriptor, listed by its start address.
struct Region {
    end: usize,
    fd: i32,
}

static REGIONS: LazyLock<RwLock<BTreeMap<usize, Region>>> = LazyLock::new(Default::default);

fn regions() -> std::sync::RwLockWriteGuard<'static, BTreeMap<usize, Region>> {
    REGIONS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Maps a whole blob file. An empty file gives empty bytes, since nothing maps zero bytes.
pub fn map(file: File) -> std::io::Result<Bytes> {
    if file.metadata()?.len() == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: the file is a blob of a folder store, which is never written in place (see the
    // module doc), so the mapped bytes cannot change or be truncated under a reader.
    let map = unsafe { Mmap::map(&file)? };
    let start = map.as_ptr() as usize;
    regions().insert(
        start,
        Region {
            end: start + map.len(),
            fd: std::os::fd::AsRawFd::as_raw_fd(&file),
        },
    );
    Ok(Bytes::from_owner(MappedBlob { map, _file: file }))
}

/// Where a slice of a mapped blob lies in its file.
#[cfg(target_os = "linux")]
pub struct FilePart<'a> {
    pub file: std::os::fd::BorrowedFd<'a>,
    /// Of the slice's first byte.
    pub offset: u64,
    /// The whole file's length.
    pub file_len: usize,
}

/// The file behind `slice`, when the slice lies wholly in a mapped blob.
#[cfg(target_os = "linux")]
pub fn file_of(slice: &[u8]) -> Option<FilePart<'_>> {
    let start = slice.as_ptr() as usize;
    let listed = REGIONS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (&region_start, region) = listed.range(..=start).next_back()?;
    if start + slice.len() > region.end || slice.is_empty() {
        return None;
    }
    // SAFETY: the slice borrows the mapping's memory, so its owner (which holds the open
    // file) lives at least as long as the slice, and the descriptor with it.
    let file = unsafe { std::os::fd::BorrowedFd::borrow_raw(region.fd) };
    Some(FilePart {
        file,
        offset: (start - region_start) as u64,
        file_len: region.end - region_start,
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Write;

    fn blob(content: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(content).unwrap();
        file
    }

    #[test]
    fn a_slice_names_its_file_and_offset_until_the_blob_is_gone() {
        let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let bytes = map(blob(&content)).unwrap();
        assert_eq!(&bytes[..], &content[..]);

        let part = bytes.slice(4_096..50_000);
        let found = file_of(&part).expect("a slice of a mapped blob");
        assert_eq!((found.offset, found.file_len), (4_096, 100_000));
        let found = file_of(&bytes).expect("the whole blob");
        assert_eq!((found.offset, found.file_len), (0, 100_000));

        let heap = Bytes::from(content.clone());
        assert!(file_of(&heap).is_none(), "heap bytes name no file");

        let address = part.as_ptr() as usize;
        drop(bytes);
        assert!(file_of(&part).is_some(), "a slice keeps its blob mapped");
        drop(part);
        assert!(
            REGIONS
                .read()
                .unwrap()
                .range(..=address)
                .next_back()
                .is_none_or(|(_, r)| r.end <= address),
            "a dropped blob is no longer listed"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any part of any blob names its own offset and the whole file's length, and reads
        /// the file's bytes at that offset.
        #[test]
        fn any_slice_names_its_offset(
            len in 1usize..70_000,
            cuts in (0.0f64..1.0, 0.0f64..1.0),
        ) {
            let content: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let bytes = map(blob(&content)).unwrap();
            let (a, b) = ((cuts.0 * len as f64) as usize, (cuts.1 * len as f64) as usize);
            let (first, end) = (a.min(b), a.max(b));
            let part = bytes.slice(first..end);
            match file_of(&part) {
                Some(found) => {
                    proptest::prop_assert!(end > first);
                    proptest::prop_assert_eq!(found.offset, first as u64);
                    proptest::prop_assert_eq!(found.file_len, len);
                    let mut read = vec![0u8; end - first];
                    std::os::unix::fs::FileExt::read_exact_at(
                        &std::fs::File::from(found.file.try_clone_to_owned().unwrap()),
                        &mut read,
                        found.offset,
                    )
                    .unwrap();
                    proptest::prop_assert_eq!(&read[..], &part[..]);
                }
                None => proptest::prop_assert_eq!(end, first, "only an empty slice names no file"),
            }
        }
    }

    #[test]
    fn an_empty_blob_maps_to_empty_bytes() {
        assert!(map(blob(b"")).unwrap().is_empty());
    }
}
