//! The SQLite store as a [`BlobStore`] for small blobs: rows of a `blobs` table written through
//! the group commit, so a received message costs no file creation and shares its fsync with
//! the other messages committed beside it. Meant to be used behind
//! [`mailroom_store::TieredBlobStore`], which sends large blobs to files.

use crate::SqliteStore;
use async_trait::async_trait;
use bytes::Bytes;
use mailroom_store::{BlobStore, StoreError};
use sqlx::Row;
use std::io;

fn io_err(e: StoreError) -> io::Error {
    match e {
        StoreError::Conflict { .. } => io::Error::new(io::ErrorKind::AlreadyExists, "a blob with this key exists"),
        StoreError::Blob(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[async_trait]
impl BlobStore for SqliteStore {
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()> {
        self.group.put_blob(key.to_string(), data).await.map_err(io_err)
    }

    async fn get(&self, key: &str) -> io::Result<Bytes> {
        let row = sqlx::query("SELECT data FROM blobs WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.read)
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        match row {
            Some(r) => Ok(Bytes::from(r.try_get::<Vec<u8>, _>("data").map_err(|e| io::Error::other(e.to_string()))?)),
            None => Err(io::Error::new(io::ErrorKind::NotFound, format!("no blob `{key}`"))),
        }
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        sqlx::query("DELETE FROM blobs WHERE key = ?").bind(key).execute(&self.write).await.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(())
    }

    async fn check(&self) -> io::Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(())
    }
}
