//! Blob storage for raw messages and attachments.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use std::io;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// Stores immutable byte strings under keys such as `messages/<id>.eml`.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `data` under `key` durably: when this returns, the bytes survive a crash.
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()>;
    /// Returns the bytes under `key` (`ErrorKind::NotFound` if absent).
    async fn get(&self, key: &str) -> io::Result<Bytes>;
    /// Returns the bytes under `key` as a stream of chunks, for downloads that must not hold
    /// a whole blob in memory (`ErrorKind::NotFound` if absent, before the first chunk). The
    /// default reads the whole blob: right for stores that only keep small blobs.
    async fn get_stream(&self, key: &str) -> io::Result<BlobStream> {
        let bytes = self.get(key).await?;
        Ok(futures::stream::once(async move { Ok(bytes) }).boxed())
    }
    /// Deletes `key`; deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> io::Result<()>;
    /// Checks that the store is usable.
    async fn check(&self) -> io::Result<()>;
}

/// A blob read in chunks (see [`BlobStore::get_stream`]).
pub type BlobStream = BoxStream<'static, io::Result<Bytes>>;

/// The size of the chunks a blob file is read in.
const STREAM_CHUNK: usize = 64 * 1024;

/// Blob files under a directory. Keys are never reused (they carry fresh ids), so a blob is
/// written straight to its final name (`create_new`), fsynced, and its directory fsynced before
/// `put` returns. A crash can leave a partial file only under a key no record points at yet
/// (records are written after `put` returns). Concurrent puts into one directory share the
/// directory fsync (see [`DirSync`]).
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
    dirs: Arc<Mutex<HashMap<PathBuf, Arc<DirSync>>>>,
}

/// Group fsync of one directory: every caller needs a directory fsync that started after its
/// file was linked in; one fsync started after several callers arrived serves them all.
#[derive(Debug, Default)]
struct DirSync {
    state: Mutex<DirSyncState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct DirSyncState {
    /// Tickets handed out so far.
    requested: u64,
    /// Every ticket up to this one is covered by a finished fsync.
    completed: u64,
    /// Whether a caller is running an fsync now.
    running: bool,
}

impl DirSync {
    fn sync(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.requested += 1;
        let ticket = st.requested;
        loop {
            if st.completed >= ticket {
                return Ok(());
            }
            if !st.running {
                st.running = true;
                let covers = st.requested;
                drop(st);
                let result = sync_dir(dir);
                st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                st.running = false;
                if result.is_ok() {
                    st.completed = st.completed.max(covers);
                }
                self.done.notify_all();
                result?;
                continue;
            }
            st = self.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl LocalBlobStore {
    /// Opens (and creates) the blob directory.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root, dirs: Arc::default() })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Checks that `key` is a blob key every backend can hold safely: non-empty `/`-separated
/// segments of ASCII letters, digits, `-`, `_` and `.`, none of them `.` or `..` (so a key
/// never escapes a directory or a bucket prefix). `ErrorKind::InvalidInput` otherwise.
pub fn check_key(key: &str) -> io::Result<()> {
    let valid = !key.is_empty()
        && key.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
    if valid { Ok(()) } else { Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid blob key `{key}`"))) }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().expect("blob path has a parent").to_path_buf();
        let syncer = self.dirs.lock().unwrap_or_else(|e| e.into_inner()).entry(dir.clone()).or_default().clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let open = || std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
            let mut f = match open() {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    std::fs::create_dir_all(&dir)?;
                    open()?
                }
                other => other?,
            };
            f.write_all(&data)?;
            f.sync_data()?;
            syncer.sync(&dir)
        })
        .await
        .map_err(io::Error::other)?
    }

    async fn get(&self, key: &str) -> io::Result<Bytes> {
        Ok(Bytes::from(tokio::fs::read(self.path(key)?).await?))
    }

    async fn get_stream(&self, key: &str) -> io::Result<BlobStream> {
        use tokio::io::AsyncReadExt;
        let file = tokio::fs::File::open(self.path(key)?).await?;
        let chunks = futures::stream::try_unfold(file, |mut file| async move {
            let mut buf = bytes::BytesMut::with_capacity(STREAM_CHUNK);
            match file.read_buf(&mut buf).await? {
                0 => Ok(None),
                _ => Ok(Some((buf.freeze(), file))),
            }
        });
        Ok(chunks.into_stream().boxed())
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    async fn check(&self) -> io::Result<()> {
        // A name of its own: several nodes may share the directory and start at once.
        static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let probe = self.root.join("tmp").join(format!(".probe-{}-{n}", std::process::id()));
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await
    }
}

/// Small blobs in one store (such as the SQLite database, where they share group commits),
/// large ones in another (files). Reads look in the small store first.
pub struct TieredBlobStore {
    small: std::sync::Arc<dyn BlobStore>,
    large: std::sync::Arc<dyn BlobStore>,
    threshold: usize,
}

impl TieredBlobStore {
    /// Returns a store that keeps blobs of at most `threshold` bytes in `small`.
    pub fn new(small: std::sync::Arc<dyn BlobStore>, large: std::sync::Arc<dyn BlobStore>, threshold: usize) -> Self {
        Self { small, large, threshold }
    }
}

#[async_trait]
impl BlobStore for TieredBlobStore {
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()> {
        if data.len() <= self.threshold { self.small.put(key, data).await } else { self.large.put(key, data).await }
    }

    async fn get(&self, key: &str) -> io::Result<Bytes> {
        match self.small.get(key).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.large.get(key).await,
            other => other,
        }
    }

    async fn get_stream(&self, key: &str) -> io::Result<BlobStream> {
        match self.small.get_stream(key).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.large.get_stream(key).await,
            other => other,
        }
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        self.small.delete(key).await?;
        self.large.delete(key).await
    }

    async fn check(&self) -> io::Result<()> {
        self.small.check().await?;
        self.large.check().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalBlobStore::open(dir.path()).unwrap();
        s.put("messages/a.eml", Bytes::from_static(b"raw\r\n")).await.unwrap();
        assert_eq!(&s.get("messages/a.eml").await.unwrap()[..], b"raw\r\n");
        s.delete("messages/a.eml").await.unwrap();
        s.delete("messages/a.eml").await.unwrap();
        assert_eq!(s.get("messages/a.eml").await.unwrap_err().kind(), io::ErrorKind::NotFound);
        s.check().await.unwrap();
    }

    #[tokio::test]
    async fn a_blob_file_streams_in_bounded_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalBlobStore::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..(3 * STREAM_CHUNK + 5)).map(|i| (i % 251) as u8).collect();
        s.put("attachments/big.bin", Bytes::from(data.clone())).await.unwrap();
        let chunks: Vec<Bytes> = s.get_stream("attachments/big.bin").await.unwrap().try_collect().await.unwrap();
        assert!(chunks.len() >= 4, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= STREAM_CHUNK));
        assert_eq!(chunks.concat(), data);
        let missing = s.get_stream("attachments/none.bin").await.err().expect("a missing blob is an error before any chunk");
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        // The tiered store streams from whichever store holds the key.
        let small: std::sync::Arc<dyn BlobStore> = std::sync::Arc::new(LocalBlobStore::open(tempfile::tempdir().unwrap().keep()).unwrap());
        let tiered = TieredBlobStore::new(small, std::sync::Arc::new(s), 16);
        let again: Vec<Bytes> = tiered.get_stream("attachments/big.bin").await.unwrap().try_collect().await.unwrap();
        assert_eq!(again.concat(), data);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_puts_share_directory_fsyncs_and_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalBlobStore::open(dir.path()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..64 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.put(&format!("messages/{i}.eml"), Bytes::from(vec![i as u8; 100])).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        for i in 0..64 {
            assert_eq!(s.get(&format!("messages/{i}.eml")).await.unwrap(), Bytes::from(vec![i as u8; 100]));
        }
        assert_eq!(s.put("messages/0.eml", Bytes::new()).await.unwrap_err().kind(), io::ErrorKind::AlreadyExists, "keys are never overwritten");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_checks_on_one_directory_all_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (LocalBlobStore::open(dir.path()).unwrap(), LocalBlobStore::open(dir.path()).unwrap());
        let checks: Vec<_> =
            (0..32).map(|i| if i % 2 == 0 { a.clone() } else { b.clone() }).map(|s| tokio::spawn(async move { s.check().await })).collect();
        for c in checks {
            c.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn tiered_store_splits_by_size_and_reads_both() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let small: std::sync::Arc<dyn BlobStore> = std::sync::Arc::new(LocalBlobStore::open(a.path()).unwrap());
        let large: std::sync::Arc<dyn BlobStore> = std::sync::Arc::new(LocalBlobStore::open(b.path()).unwrap());
        let t = TieredBlobStore::new(small.clone(), large.clone(), 10);
        t.put("k/small", Bytes::from_static(b"tiny")).await.unwrap();
        t.put("k/large", Bytes::from_static(b"much larger than ten")).await.unwrap();
        assert_eq!(&small.get("k/small").await.unwrap()[..], b"tiny");
        assert_eq!(large.get("k/small").await.unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(&large.get("k/large").await.unwrap()[..], b"much larger than ten");
        assert_eq!(&t.get("k/large").await.unwrap()[..], b"much larger than ten");
        t.delete("k/large").await.unwrap();
        assert_eq!(t.get("k/large").await.unwrap_err().kind(), io::ErrorKind::NotFound);
        t.check().await.unwrap();
    }

    #[tokio::test]
    async fn rejects_keys_that_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalBlobStore::open(dir.path()).unwrap();
        for bad in ["../x", "/etc/passwd", "a//b", "a/../../b", "", "a b"] {
            assert!(s.put(bad, Bytes::new()).await.is_err(), "{bad}");
        }
    }
}
