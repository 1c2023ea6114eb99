//! The blob-store conformance suite against a real S3-compatible server, and the errors an
//! operator sees when the bucket, the credentials or the endpoint are wrong.
//!
//! Set `MAILROOM_TEST_S3_URL` to the endpoint of an S3-compatible server that accepts any
//! credentials, such as moto (`pip install 'moto[server]'; moto_server -p 5000` →
//! `http://127.0.0.1:5000`); `.ci/run` starts one. Each test process creates its own bucket and
//! each case its own prefix. Without the variable the S3 cases are skipped, loudly; the suite
//! still runs against local files (the reference) and the error cases that need no S3 run.

use bytes::Bytes;
use mailroom_blob_s3::{S3BlobStore, S3Config};
use mailroom_store::{BlobStore, LocalBlobStore};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const VAR: &str = "MAILROOM_TEST_S3_URL";

/// Returns the test endpoint, or says once (past the output capture) that S3 tests are skipped.
fn endpoint() -> Option<String> {
    match std::env::var(VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_string()),
        _ => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                let _ = writeln!(io::stderr(), "SKIPPED: {VAR} is not set; the S3 blob-store tests did not run (start moto_server, see .ci/run)");
            });
            None
        }
    }
}

/// Creates `bucket` with a plain unsigned PUT (object_store cannot create buckets; moto and
/// MinIO in its default development mode accept this).
async fn create_bucket(endpoint: &str, bucket: &str) {
    let resp = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.expect("the S3 test endpoint answers");
    assert!(resp.status().is_success(), "creating bucket {bucket}: {}", resp.status());
}

fn config(endpoint: &str, url: String) -> S3Config {
    S3Config {
        url,
        endpoint: Some(endpoint.to_string()),
        region: Some("us-east-1".into()),
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing".into()),
        allow_http: true,
    }
}

/// The bucket this test process uses, created on first use.
async fn bucket(endpoint: &str) -> String {
    static BUCKET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let name = BUCKET.get_or_init(|| format!("mailroom-test-{}", uuid::Uuid::now_v7().simple())).clone();
    // Creating an existing bucket is harmless; each test runs on its own runtime, so no
    // async once-cell spans them.
    create_bucket(endpoint, &name).await;
    name
}

/// An S3 blob store under a fresh prefix of the test bucket.
async fn s3_store() -> Option<Arc<dyn BlobStore>> {
    let endpoint = endpoint()?;
    let bucket = bucket(&endpoint).await;
    let store = S3BlobStore::new(&config(&endpoint, format!("s3://{bucket}/case-{}", uuid::Uuid::now_v7().simple()))).unwrap();
    Some(Arc::new(store))
}

mod s3 {
    use super::*;
    mailroom_store::blob_conformance_tests!(s3_store);
}

/// Local blob files in a temporary directory removed with the store: the reference the suite
/// is checked against, so it runs everywhere.
struct InTempDir {
    store: LocalBlobStore,
    _dir: tempfile::TempDir,
}

#[async_trait::async_trait]
impl BlobStore for InTempDir {
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()> {
        self.store.put(key, data).await
    }
    async fn get(&self, key: &str) -> io::Result<Bytes> {
        self.store.get(key).await
    }
    async fn get_stream(&self, key: &str) -> io::Result<mailroom_store::BlobStream> {
        self.store.get_stream(key).await
    }
    async fn delete(&self, key: &str) -> io::Result<()> {
        self.store.delete(key).await
    }
    async fn check(&self) -> io::Result<()> {
        self.store.check().await
    }
}

async fn local_store() -> Option<Arc<dyn BlobStore>> {
    let dir = tempfile::tempdir().unwrap();
    Some(Arc::new(InTempDir { store: LocalBlobStore::open(dir.path()).unwrap(), _dir: dir }))
}

mod local {
    use super::*;
    mailroom_store::blob_conformance_tests!(local_store);
}

/// Two stores on one bucket (two nodes) see each other's blobs; another prefix does not.
#[tokio::test]
async fn nodes_on_one_prefix_share_blobs_and_prefixes_keep_them_apart() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = bucket(&endpoint).await;
    let url = format!("s3://{bucket}/shared-{}", uuid::Uuid::now_v7().simple());
    let (a, b) = (S3BlobStore::new(&config(&endpoint, url.clone())).unwrap(), S3BlobStore::new(&config(&endpoint, url)).unwrap());
    let other = S3BlobStore::new(&config(&endpoint, format!("s3://{bucket}/other-{}", uuid::Uuid::now_v7().simple()))).unwrap();
    a.put("messages/m.eml", Bytes::from_static(b"raw")).await.unwrap();
    assert_eq!(&b.get("messages/m.eml").await.unwrap()[..], b"raw");
    assert_eq!(other.get("messages/m.eml").await.unwrap_err().kind(), io::ErrorKind::NotFound);
    b.delete("messages/m.eml").await.unwrap();
    assert_eq!(a.get("messages/m.eml").await.unwrap_err().kind(), io::ErrorKind::NotFound);
}

/// A bucket that does not exist is named as such by `check`, `put` and `get`.
#[tokio::test]
async fn a_missing_bucket_is_named() {
    let Some(endpoint) = endpoint() else { return };
    let store = S3BlobStore::new(&config(&endpoint, format!("s3://mailroom-missing-{}", uuid::Uuid::now_v7().simple()))).unwrap();
    let check = store.check().await.unwrap_err();
    assert!(check.to_string().contains("does not exist") && check.to_string().contains("blobs.url"), "{check}");
    let put = store.put("messages/x.eml", Bytes::from_static(b"x")).await.unwrap_err();
    assert!(put.to_string().contains("does not exist"), "{put}");
    let get = store.get("messages/x.eml").await.unwrap_err();
    assert_ne!(get.kind(), io::ErrorKind::NotFound, "a missing bucket is not a missing blob: {get}");
    assert!(get.to_string().contains("does not exist"), "{get}");
}

/// An endpoint nobody listens on fails fast with a message about the endpoint.
#[tokio::test]
async fn an_unreachable_endpoint_fails_fast_and_says_what_to_check() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let store = S3BlobStore::new(&config(&format!("http://127.0.0.1:{port}"), "s3://mail".into())).unwrap();
    let started = Instant::now();
    let err = store.check().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err}");
    let text = err.to_string();
    assert!(text.contains("could not reach") && text.contains("blobs.endpoint") && text.contains(&port.to_string()), "{text}");
    let put = store.put("messages/x.eml", Bytes::from_static(b"x")).await.unwrap_err();
    assert_eq!(put.kind(), io::ErrorKind::NotConnected, "{put}");
}

/// Starts a one-trick HTTP server that answers every request with `status` and an S3 error
/// body carrying `code`, the way S3 refuses credentials.
async fn refusing_server(status: &'static str, code: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                // Read the request head (and whatever body came with it), then answer.
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>refused</Message></Error>");
                let head =
                    format!("HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// Refused credentials come back as `PermissionDenied` naming the S3 error code and the
/// settings to check — never the secret.
#[tokio::test]
async fn refused_credentials_say_which_settings_to_check() {
    for (status, code) in [("403 Forbidden", "InvalidAccessKeyId"), ("403 Forbidden", "SignatureDoesNotMatch")] {
        let endpoint = refusing_server(status, code).await;
        let mut c = config(&endpoint, "s3://mail/prefix".into());
        c.secret_access_key = Some("do-not-print-me".into());
        let store = S3BlobStore::new(&c).unwrap();
        for err in [
            store.check().await.unwrap_err(),
            store.put("messages/x.eml", Bytes::from_static(b"x")).await.unwrap_err(),
            store.get("messages/x.eml").await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
            let text = err.to_string();
            assert!(text.contains(code) && text.contains("blobs.secret_access_key"), "{text}");
            assert!(!text.contains("do-not-print-me"), "{text}");
        }
    }
}
