//! The PostgreSQL store as a [`BlobStore`] for small blobs: rows of the `blobs` table. A
//! message's own blobs (its raw bytes, its attachments) are written by the statement that
//! writes the message ([`MessageStore::insert_message_with_blobs`](mailroom_store::MessageStore::insert_message_with_blobs)),
//! so a received message costs no file and no fsync of its own on the node, and every node of
//! the cluster reads them. Meant to be used behind [`mailroom_store::TieredBlobStore`], which
//! sends blobs larger than [`INLINE_BLOB_MAX`](crate::INLINE_BLOB_MAX) to the configured blob
//! store (files or S3).

use crate::PgStore;
use async_trait::async_trait;
use bytes::Bytes;
use mailroom_store::BlobStore;
use std::io;

fn io_err(e: sqlx::Error) -> io::Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => io::Error::new(io::ErrorKind::AlreadyExists, "a blob with this key exists"),
        _ => io::Error::other(format!("PostgreSQL: {e}")),
    }
}

#[async_trait]
impl BlobStore for PgStore {
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()> {
        if data.len() > crate::INLINE_BLOB_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("blob `{key}` is {} bytes, more than the {} the database keeps", data.len(), crate::INLINE_BLOB_MAX),
            ));
        }
        sqlx::query("INSERT INTO blobs (key, data) VALUES ($1, $2)").bind(key).bind(data.as_ref()).execute(&self.pool).await.map_err(io_err)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> io::Result<Bytes> {
        let data: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT data FROM blobs WHERE key = $1").bind(key).fetch_optional(&self.pool).await.map_err(io_err)?;
        data.map(Bytes::from).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no blob `{key}`")))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        sqlx::query("DELETE FROM blobs WHERE key = $1").bind(key).execute(&self.pool).await.map_err(io_err)?;
        Ok(())
    }

    async fn check(&self) -> io::Result<()> {
        sqlx::query("SELECT 1 FROM blobs LIMIT 0").execute(&self.pool).await.map_err(io_err)?;
        Ok(())
    }
}
