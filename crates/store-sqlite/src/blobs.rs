//! The SQLite store as a [`BlobStore`] for small blobs: rows of a `blobs` table written through
//! the group commit, so a received message costs no file creation and shares its fsync with
//! the other messages committed beside it. Meant to be used behind
//! [`mailroom_store::TieredBlobStore`], which sends large blobs to files.

use crate::SqliteStore;
use crate::codec::db_err;
use crate::db::query;
use async_trait::async_trait;
use bytes::Bytes;
use mailroom_store::{BlobStore, StoreError};
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
        let key = key.to_string();
        self.write(move |tx| {
            query("INSERT INTO blobs (key, data) VALUES (?, ?)").bind(&key).bind(data.as_ref()).execute(tx).map_err(db_err)?;
            Ok(())
        })
        .await
        .map_err(io_err)
    }

    async fn get(&self, key: &str) -> io::Result<Bytes> {
        let name = key.to_string();
        let key = key.to_string();
        let found = self
            .read(move |conn| {
                let row = query("SELECT data FROM blobs WHERE key = ?").bind(&key).fetch_optional(conn).map_err(db_err)?;
                match row {
                    Some(r) => r.try_get::<Vec<u8>>("data").map(|d| Some(Bytes::from(d))).map_err(StoreError::Corrupt),
                    None => Ok(None),
                }
            })
            .await
            .map_err(io_err)?;
        found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no blob `{name}`")))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        let key = key.to_string();
        self.write(move |tx| {
            query("DELETE FROM blobs WHERE key = ?").bind(&key).execute(tx).map_err(db_err)?;
            Ok(())
        })
        .await
        .map_err(io_err)
    }

    async fn check(&self) -> io::Result<()> {
        self.read(|conn| query("SELECT 1").fetch_one(conn).map(|_| ()).map_err(db_err)).await.map_err(io_err)
    }
}
