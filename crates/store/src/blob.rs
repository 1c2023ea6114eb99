//! Blob storage for raw messages and attachments.

use async_trait::async_trait;
use bytes::Bytes;
use std::io;
use std::path::{Path, PathBuf};

/// Stores immutable byte strings under keys such as `messages/<id>.eml`.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `data` under `key` durably: when this returns, the bytes survive a crash.
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()>;
    /// Returns the bytes under `key` (`ErrorKind::NotFound` if absent).
    async fn get(&self, key: &str) -> io::Result<Bytes>;
    /// Deletes `key`; deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> io::Result<()>;
    /// Checks that the store is usable.
    async fn check(&self) -> io::Result<()>;
}

/// Blob files under a directory: written to a temporary file, fsynced, renamed into place,
/// and the directory fsynced, so a crash never leaves a partial blob under its key.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// Opens (and creates) the blob directory.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        let valid = !key.is_empty()
            && key.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
        if !valid {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid blob key `{key}`")));
        }
        Ok(self.root.join(key))
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()> {
        let path = self.path(key)?;
        let tmp = self.root.join("tmp").join(uuid::Uuid::now_v7().to_string());
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let dir = path.parent().expect("blob path has a parent");
            std::fs::create_dir_all(dir)?;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            sync_dir(dir)
        })
        .await
        .map_err(io::Error::other)?
    }

    async fn get(&self, key: &str) -> io::Result<Bytes> {
        Ok(Bytes::from(tokio::fs::read(self.path(key)?).await?))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    async fn check(&self) -> io::Result<()> {
        let probe = self.root.join("tmp").join(".probe");
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await
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
    async fn rejects_keys_that_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalBlobStore::open(dir.path()).unwrap();
        for bad in ["../x", "/etc/passwd", "a//b", "a/../../b", "", "a b"] {
            assert!(s.put(bad, Bytes::new()).await.is_err(), "{bad}");
        }
    }
}
