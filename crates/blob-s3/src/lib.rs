//! Mailroom's [`BlobStore`] on S3-compatible object storage.
//!
//! Several Mailroom nodes behind one load balancer must read each other's raw messages and
//! attachments, so they keep them in one bucket instead of their own disks. This crate maps
//! the blob-store trait onto the [`object_store`] crate's S3 client (AWS S3, MinIO, Ceph, R2,
//! moto, …), addressed by a URL such as `s3://bucket/prefix`.
//!
//! Durability: `put` returns only after S3 answered the PUT with a success, which S3 (and the
//! compatible stores) give once the object is stored durably. Writes are plain PUTs that
//! overwrite: keys carry fresh ids and are never reused, and a PUT the client retries after a
//! lost answer must succeed again rather than fail as "already exists".
//!
//! Errors come back as [`std::io::Error`] (the blob-store trait's error), with a message that
//! says what to check: a missing bucket, refused credentials, an unreachable endpoint.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use async_trait::async_trait;
use bytes::Bytes;
use mailroom_store::{BlobStore, BlobStream};
use mailroom_store::blob::check_key;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStoreExt, PutPayload, RetryConfig};
use std::fmt;
use std::io;
use std::time::Duration;

/// The object `check` reads (and writes when absent), under the prefix. Engine keys never
/// start with `.`, so it cannot collide with a blob.
const PROBE: &str = ".mailroom-probe";

/// How to reach a bucket. `Debug` never shows the secret key.
#[derive(Clone, Default, PartialEq)]
pub struct S3Config {
    /// `s3://bucket` or `s3://bucket/prefix`: where blobs go (under `prefix/` when given).
    pub url: String,
    /// The service's base URL for S3-compatible stores (`http://127.0.0.1:9000`); `None`
    /// means AWS itself (or `AWS_ENDPOINT` when no credentials are configured here).
    pub endpoint: Option<String>,
    /// The region; `None` means `AWS_REGION` or `us-east-1`.
    pub region: Option<String>,
    /// The access key id; with `secret_access_key`. When both are `None`, the standard
    /// `AWS_*` environment variables and instance or container credentials are used.
    pub access_key_id: Option<String>,
    /// The secret access key.
    pub secret_access_key: Option<String>,
    /// Allows a plain `http://` endpoint (development and tests).
    pub allow_http: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "(hidden)"))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Blobs as objects of one S3 bucket, under an optional prefix.
///
/// Cloning is cheap and shares the HTTP client.
#[derive(Clone)]
pub struct S3BlobStore {
    s3: AmazonS3,
    bucket: String,
    /// Without slashes at either end; empty for the bucket's root.
    prefix: String,
    /// The endpoint as the operator named it, for messages.
    endpoint: String,
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore").field("bucket", &self.bucket).field("prefix", &self.prefix).field("endpoint", &self.endpoint).finish()
    }
}

/// Splits `s3://bucket/prefix` into the bucket and the prefix (without slashes at its ends).
pub fn parse_url(url: &str) -> io::Result<(String, String)> {
    let invalid =
        |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("blobs.url `{url}` {why}; expected s3://bucket or s3://bucket/prefix"));
    let rest = url.trim().strip_prefix("s3://").ok_or_else(|| invalid("is not an s3:// URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        return Err(invalid("names no valid bucket (3-63 lower-case letters, digits, `.`, `-`)"));
    }
    let prefix = prefix.trim_matches('/');
    if !prefix.is_empty() && check_key(prefix).is_err() {
        return Err(invalid("has a prefix that is not plain path segments of letters, digits, `-`, `_` and `.`"));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

impl S3BlobStore {
    /// Builds the client for `config` without contacting the service (call [`BlobStore::check`]
    /// for that). Fails on an invalid URL or endpoint, or half-given credentials.
    pub fn new(config: &S3Config) -> io::Result<Self> {
        let (bucket, prefix) = parse_url(&config.url)?;
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        let some = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let (key_id, secret) = (some(&config.access_key_id), some(&config.secret_access_key));
        let mut builder = match (&key_id, &secret) {
            // Explicit credentials: nothing from the environment mixes in (a session token
            // there would spoil the signature).
            (Some(id), Some(secret)) => AmazonS3Builder::new().with_access_key_id(id).with_secret_access_key(secret),
            (None, None) => AmazonS3Builder::from_env(),
            _ => {
                return Err(invalid("blobs.access_key_id and blobs.secret_access_key must be given together".into()));
            }
        };
        builder = builder.with_bucket_name(&bucket);
        let endpoint = match some(&config.endpoint) {
            Some(e) => {
                let e = e.trim_end_matches('/').to_string();
                if e.starts_with("http://") && !config.allow_http {
                    return Err(invalid(format!("blobs.endpoint `{e}` is plain HTTP; set blobs.allow_http = true to allow it (development only)")));
                }
                if !e.starts_with("http://") && !e.starts_with("https://") {
                    return Err(invalid(format!("blobs.endpoint `{e}` must start with https:// (or http:// with blobs.allow_http)")));
                }
                builder = builder.with_endpoint(&e);
                e
            }
            None => "AWS S3".to_string(),
        };
        if let Some(region) = some(&config.region) {
            builder = builder.with_region(region);
        }
        let s3 = builder
            .with_allow_http(config.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(config.allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            )
            // Bounded retries: an unreachable store must surface within seconds (readiness,
            // SMTP answers), not after object_store's default three minutes.
            .with_retry(RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(30), ..RetryConfig::default() })
            .build()
            .map_err(|e| invalid(format!("the S3 blob store for {} cannot be set up: {e}", config.url.trim())))?;
        Ok(Self { s3, bucket, prefix, endpoint })
    }

    /// Returns the `s3://bucket/prefix` this store writes to.
    pub fn location(&self) -> String {
        if self.prefix.is_empty() { format!("s3://{}", self.bucket) } else { format!("s3://{}/{}", self.bucket, self.prefix) }
    }

    fn path(&self, key: &str) -> io::Result<Path> {
        check_key(key)?;
        self.object(key)
    }

    fn object(&self, name: &str) -> io::Result<Path> {
        let full = if self.prefix.is_empty() { name.to_string() } else { format!("{}/{name}", self.prefix) };
        Path::parse(&full).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("invalid blob key `{name}`: {e}")))
    }

    /// Maps an object_store error to an `io::Error` whose message says what to check.
    fn error(&self, action: Action, key: &str, e: object_store::Error) -> io::Error {
        use object_store::Error as E;
        let text = e.to_string();
        let code = s3_error_code(&text);
        let bucket = &self.bucket;
        let endpoint = &self.endpoint;
        let verb = action.verb();
        match &e {
            E::NotFound { .. } if action == Action::Write || code.as_deref() == Some("NoSuchBucket") => io::Error::other(format!(
                "the bucket `{bucket}` does not exist at {endpoint} (while trying to {verb} `{key}`): create it, or check blobs.url and blobs.endpoint"
            )),
            E::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, format!("blob `{key}` not found in {}", self.location())),
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{endpoint} refused to {verb} `{key}` in bucket `{bucket}` ({}): check blobs.access_key_id and blobs.secret_access_key \
                     (or MAILROOM_BLOBS_ACCESS_KEY_ID / MAILROOM_BLOBS_SECRET_ACCESS_KEY), blobs.region, and that the credentials may \
                     read, write and delete objects in the bucket",
                    code.as_deref().unwrap_or("access denied")
                ),
            ),
            _ => match http_error_kind(&e) {
                Some(kind @ (object_store::client::HttpErrorKind::Connect | object_store::client::HttpErrorKind::Timeout)) => {
                    let (io_kind, what) = match kind {
                        object_store::client::HttpErrorKind::Connect => (io::ErrorKind::NotConnected, "could not reach"),
                        _ => (io::ErrorKind::TimedOut, "timed out talking to"),
                    };
                    io::Error::new(
                        io_kind,
                        format!(
                            "{what} the S3 endpoint {endpoint} to {verb} `{key}` ({}): check blobs.endpoint (and blobs.allow_http for an http:// \
                             endpoint), the network, and that the service is running",
                            root_cause(&e)
                        ),
                    )
                }
                _ => io::Error::other(format!("the S3 blob store ({}) failed to {verb} `{key}`: {text}", self.location())),
            },
        }
    }
}

/// What a request was for, to word errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Write,
    Read,
    Delete,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Write => "write",
            Action::Read => "read",
            Action::Delete => "delete",
        }
    }
}

/// Returns the `<Code>` of an S3 error body quoted in `text`, such as `NoSuchBucket` or
/// `InvalidAccessKeyId`.
fn s3_error_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(text[start..start + len].trim().to_string()).filter(|c| !c.is_empty())
}

/// Returns the kind of the HTTP failure under `e`, if the request failed below HTTP status.
fn http_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<object_store::client::HttpErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(http) = err.downcast_ref::<object_store::client::HttpError>() {
            return Some(http.kind());
        }
        cur = err.source();
    }
    None
}

/// Returns the innermost error's message (such as `Connection refused (os error 111)`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, data: Bytes) -> io::Result<()> {
        let path = self.path(key)?;
        self.s3.put(&path, PutPayload::from(data)).await.map_err(|e| self.error(Action::Write, key, e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> io::Result<Bytes> {
        let path = self.path(key)?;
        let found = self.s3.get(&path).await.map_err(|e| self.error(Action::Read, key, e))?;
        found.bytes().await.map_err(|e| self.error(Action::Read, key, e))
    }

    async fn get_stream(&self, key: &str) -> io::Result<BlobStream> {
        use futures::StreamExt;
        let path = self.path(key)?;
        let found = self.s3.get(&path).await.map_err(|e| self.error(Action::Read, key, e))?;
        let (this, key) = (self.clone(), key.to_string());
        Ok(found.into_stream().map(move |chunk| chunk.map_err(|e| this.error(Action::Read, &key, e))).boxed())
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        let path = self.path(key)?;
        match self.s3.delete(&path).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other.map_err(|e| self.error(Action::Delete, key, e)),
        }
    }

    /// Reads the probe object; writes it when it is missing. Either proves the endpoint
    /// answers, the bucket exists and the credentials are accepted, with no more than read and
    /// write rights on objects (no bucket listing). A GET rather than a HEAD: S3 explains a
    /// refusal only in a response body.
    async fn check(&self) -> io::Result<()> {
        let probe = self.object(PROBE)?;
        let read = match self.s3.get(&probe).await {
            Ok(found) => found.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        };
        match read {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => {
                let body = PutPayload::from_static(b"mailroom blob store probe\n");
                self.s3.put(&probe, body).await.map(|_| ()).map_err(|e| self.error(Action::Write, PROBE, e))
            }
            Err(e) => Err(self.error(Action::Read, PROBE, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_an_optional_prefix() {
        assert_eq!(parse_url("s3://mail").unwrap(), ("mail".into(), String::new()));
        assert_eq!(parse_url("s3://mail/").unwrap(), ("mail".into(), String::new()));
        assert_eq!(parse_url(" s3://mail-prod.eu/node/blobs/ ").unwrap(), ("mail-prod.eu".into(), "node/blobs".into()));
        for bad in ["mail", "file:///x", "s3://", "s3://ab", "s3://Upper", "s3://-x-bucket", "s3://b_b_b/../x", "s3://bucket/a b"] {
            let err = parse_url(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert!(err.to_string().contains("s3://bucket"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let config = S3Config {
            url: "s3://mail".into(),
            access_key_id: Some("AKIAEXAMPLE".into()),
            secret_access_key: Some("very-secret-value".into()),
            ..S3Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("AKIAEXAMPLE") && shown.contains("hidden"), "{shown}");
        let store = S3BlobStore::new(&config).unwrap();
        assert!(!format!("{store:?}").contains("very-secret-value"));
    }

    #[test]
    fn configuration_mistakes_are_explained() {
        let base = S3Config { url: "s3://mail".into(), ..S3Config::default() };
        let half = S3Config { access_key_id: Some("AKIA".into()), ..base.clone() };
        assert!(S3BlobStore::new(&half).unwrap_err().to_string().contains("given together"));
        let http = S3Config { endpoint: Some("http://127.0.0.1:9000".into()), ..base.clone() };
        assert!(S3BlobStore::new(&http).unwrap_err().to_string().contains("blobs.allow_http"));
        let scheme = S3Config { endpoint: Some("127.0.0.1:9000".into()), ..base.clone() };
        assert!(S3BlobStore::new(&scheme).unwrap_err().to_string().contains("https://"));
        let ok = S3Config { endpoint: Some("http://127.0.0.1:9000/".into()), allow_http: true, ..base };
        assert_eq!(S3BlobStore::new(&ok).unwrap().location(), "s3://mail");
    }

    #[test]
    fn s3_error_codes_are_read_from_the_body() {
        let text =
            "Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>x</Message></Error>";
        assert_eq!(s3_error_code(text).as_deref(), Some("NoSuchBucket"));
        assert_eq!(s3_error_code("no body"), None);
    }
}
