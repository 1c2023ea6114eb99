//! The conformance suite every [`BlobStore`] must pass (local files, S3).
//!
//! Each case is a `pub async fn` taking a fresh, empty blob store; [`blob_conformance_tests!`]
//! expands to one `#[tokio::test]` per case:
//!
//! ```ignore
//! async fn open() -> Option<Arc<dyn BlobStore>> { /* a fresh store, or None to skip */ }
//! mailroom_store::blob_conformance_tests!(open);
//! ```
//!
//! [`blob_conformance_tests!`]: crate::blob_conformance_tests

use crate::BlobStore;
use bytes::Bytes;
use std::collections::HashSet;
use std::io;
use std::sync::Arc;

/// Expands to one `#[tokio::test]` per blob conformance case, each on a store from `$factory`
/// (an async fn returning `Option<Arc<dyn BlobStore>>`; `None` skips the case).
#[macro_export]
macro_rules! blob_conformance_tests {
    ($factory:expr) => {
        $crate::__blob_conformance_cases!($factory;
            blobs_round_trip_byte_exact,
            missing_blobs_are_not_found,
            deleting_is_idempotent,
            empty_blobs_round_trip,
            large_blobs_round_trip,
            blobs_stream_byte_exact,
            keys_are_distinct_paths,
            concurrent_puts_all_land,
            invalid_keys_are_refused,
            the_store_checks_usable,
        );
    };
}

/// The expansion of [`blob_conformance_tests!`](crate::blob_conformance_tests); not for direct
/// use.
#[doc(hidden)]
#[macro_export]
macro_rules! __blob_conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(blobs) = ($factory)().await else { return };
                $crate::testkit::blobs::$case(blobs).await;
            }
        )*
    };
}

/// Returns `len` bytes of every value 0-255 in a scrambled order (CR, LF, NUL and bytes that
/// are not UTF-8 included), different for each `seed`.
pub fn bytes_of(len: usize, seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

/// What `put` wrote, `get` returns byte for byte, under message- and attachment-shaped keys.
pub async fn blobs_round_trip_byte_exact(blobs: Arc<dyn BlobStore>) {
    let raw = Bytes::from_static(b"From: a@x.test\r\nSubject: hi\r\n\r\nbare\rcr, bare\nlf, NUL \0 and \xff\xfe\r\n.\r\n");
    let attachment = bytes_of(70_000, 1);
    blobs.put("messages/0190c6f3-raw.eml", raw.clone()).await.unwrap();
    blobs.put("attachments/0190c6f3-att", attachment.clone()).await.unwrap();
    assert_eq!(blobs.get("messages/0190c6f3-raw.eml").await.unwrap(), raw);
    assert_eq!(blobs.get("attachments/0190c6f3-att").await.unwrap(), attachment);
    blobs.delete("messages/0190c6f3-raw.eml").await.unwrap();
    assert_eq!(blobs.get("messages/0190c6f3-raw.eml").await.unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(blobs.get("attachments/0190c6f3-att").await.unwrap(), attachment, "deleting one blob leaves the others");
}

/// A key never written is `NotFound`, at the top level and under a directory.
pub async fn missing_blobs_are_not_found(blobs: Arc<dyn BlobStore>) {
    for key in ["never-written", "messages/never-written.eml", "a/b/c/d"] {
        let err = blobs.get(key).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{key}: {err}");
    }
}

/// Deleting a missing key, or the same key twice, succeeds.
pub async fn deleting_is_idempotent(blobs: Arc<dyn BlobStore>) {
    blobs.delete("messages/never-written.eml").await.unwrap();
    blobs.put("messages/once.eml", Bytes::from_static(b"x")).await.unwrap();
    blobs.delete("messages/once.eml").await.unwrap();
    blobs.delete("messages/once.eml").await.unwrap();
    assert_eq!(blobs.get("messages/once.eml").await.unwrap_err().kind(), io::ErrorKind::NotFound);
}

/// A blob of no bytes is stored and read back (an empty attachment), not taken for a missing
/// one.
pub async fn empty_blobs_round_trip(blobs: Arc<dyn BlobStore>) {
    blobs.put("attachments/empty", Bytes::new()).await.unwrap();
    assert_eq!(blobs.get("attachments/empty").await.unwrap(), Bytes::new());
}

/// `get_stream` yields what `put` wrote, byte for byte, in pieces that add up to it; a missing
/// key is `NotFound` before any piece.
pub async fn blobs_stream_byte_exact(blobs: Arc<dyn BlobStore>) {
    use futures::TryStreamExt;
    for (key, data) in [("attachments/stream-small", bytes_of(1000, 3)), ("attachments/stream-large", bytes_of(3 * 1024 * 1024 + 11, 4))] {
        blobs.put(key, data.clone()).await.unwrap();
        let pieces: Vec<Bytes> = blobs.get_stream(key).await.unwrap().try_collect().await.unwrap();
        assert_eq!(pieces.iter().map(Bytes::len).sum::<usize>(), data.len(), "{key}");
        assert!(pieces.concat() == data, "{key} streamed back changed");
    }
    let missing = blobs.get_stream("attachments/never-written").await.err().expect("a missing key is an error");
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
}

/// A blob as large as the biggest message SMTP accepts by default (25 MiB) reads back intact.
pub async fn large_blobs_round_trip(blobs: Arc<dyn BlobStore>) {
    let big = bytes_of(25 * 1024 * 1024 + 7, 2);
    blobs.put("messages/big.eml", big.clone()).await.unwrap();
    let back = blobs.get("messages/big.eml").await.unwrap();
    assert_eq!(back.len(), big.len());
    assert!(back == big, "the 25 MiB blob came back changed");
}

/// Keys that share a prefix, or differ only in case, are different blobs.
pub async fn keys_are_distinct_paths(blobs: Arc<dyn BlobStore>) {
    let keys = ["a/b", "a/bc", "a/b.c", "A/b", "ab", "a/b/c"];
    let mut failed = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        // "a/b" and "a/b/c" cannot both exist as files; a backend may refuse the second, but
        // must never mix their bytes up.
        if blobs.put(key, bytes_of(100 + i, i as u64)).await.is_err() {
            failed.push(*key);
        }
    }
    assert!(failed.iter().all(|k| *k == "a/b/c"), "only a key nested under another blob may be refused: {failed:?}");
    for (i, key) in keys.iter().enumerate() {
        if !failed.contains(key) {
            assert_eq!(blobs.get(key).await.unwrap(), bytes_of(100 + i, i as u64), "{key}");
        }
    }
}

/// Many puts at once (one message's raw bytes and attachments, several messages) all land.
pub async fn concurrent_puts_all_land(blobs: Arc<dyn BlobStore>) {
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let blobs = blobs.clone();
        tasks.push(tokio::spawn(async move { blobs.put(&format!("messages/{i}.eml"), bytes_of(1000 + i as usize, i)).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let mut seen = HashSet::new();
    for i in 0..32u64 {
        let got = blobs.get(&format!("messages/{i}.eml")).await.unwrap();
        assert_eq!(got, bytes_of(1000 + i as usize, i));
        seen.insert(got);
    }
    assert_eq!(seen.len(), 32);
}

/// Keys that could escape the store's root or prefix, or are not plain ASCII paths, are
/// refused with `InvalidInput` by every operation.
pub async fn invalid_keys_are_refused(blobs: Arc<dyn BlobStore>) {
    for bad in ["", "../x", "/etc/passwd", "a//b", "a/../../b", "./a", "a/", "a b", "é", "a\\b", "a?b", "a%2F"] {
        let put = blobs.put(bad, Bytes::from_static(b"x")).await.unwrap_err();
        assert_eq!(put.kind(), io::ErrorKind::InvalidInput, "put {bad:?}: {put}");
        assert_eq!(blobs.get(bad).await.unwrap_err().kind(), io::ErrorKind::InvalidInput, "get {bad:?}");
        assert_eq!(blobs.delete(bad).await.unwrap_err().kind(), io::ErrorKind::InvalidInput, "delete {bad:?}");
    }
}

/// A usable store passes its own check, and checking leaves no blob behind under test keys.
pub async fn the_store_checks_usable(blobs: Arc<dyn BlobStore>) {
    blobs.check().await.unwrap();
    blobs.check().await.unwrap();
    blobs.put("messages/after-check.eml", Bytes::from_static(b"ok")).await.unwrap();
    assert_eq!(&blobs.get("messages/after-check.eml").await.unwrap()[..], b"ok");
}
