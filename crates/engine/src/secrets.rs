//! Encryption of secrets at rest (DKIM private keys, SMTP passwords, webhook secrets).
//!
//! XChaCha20-Poly1305 under one 256-bit server key: `MAILROOM_ENCRYPTION_KEY` (base64) when
//! set, else `<data_dir>/encryption-key`, generated with mode 0600 on first start. A sealed
//! value is `0x01 || 24-byte random nonce || ciphertext+tag`; the leading version byte leaves
//! room for key rotation.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;

const VERSION: u8 = 1;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The configured key is not 32 bytes of base64.
    #[error("the encryption key must be 32 bytes, base64-encoded (generate one with `openssl rand -base64 32`)")]
    BadKey,
    /// The key file could not be read or written.
    #[error("could not use the encryption key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The sealed value was altered, truncated, or sealed under another key.
    #[error("a stored secret could not be decrypted: it was sealed under another encryption key or is damaged")]
    Open,
}

/// Seals and opens secrets under the server key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// A key for keyed hashes (bounce tokens), derived from the server key so that sealing
    /// and hashing never share key material.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Returns a box for a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"mailroom mac key v1");
        h.update(key);
        Self { cipher: XChaCha20Poly1305::new(key.into()), mac_key: h.finalize().into() }
    }

    /// Returns the key for keyed hashes (never the sealing key).
    pub fn mac_key(&self) -> &[u8; 32] {
        &self.mac_key
    }

    /// Returns a box for a base64-encoded 32-byte key.
    pub fn from_base64(key: &str) -> Result<Self, SecretError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(key.trim()).map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self::new(&key))
    }

    /// Returns the box for `configured` (the environment's key) or for the key in `file`,
    /// creating that file with a new random key (mode 0600) when it does not exist.
    pub fn load_or_create(configured: Option<&str>, file: &Path) -> Result<Self, SecretError> {
        if let Some(k) = configured.filter(|k| !k.trim().is_empty()) {
            return Self::from_base64(k);
        }
        let err = |source| SecretError::KeyFile { path: file.display().to_string(), source };
        match std::fs::read_to_string(file) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private_file(file, &base64::engine::general_purpose::STANDARD.encode(key)).map_err(err)?;
                Ok(Self::new(&key))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Encrypts `plain`.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(XNonce::from_slice(&nonce), plain).expect("XChaCha20-Poly1305 encryption cannot fail");
        let mut out = Vec::with_capacity(1 + 24 + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts a value made by [`SecretBox::seal`].
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < 1 + 24 + 16 || sealed[0] != VERSION {
            return Err(SecretError::Open);
        }
        self.cipher.decrypt(XNonce::from_slice(&sealed[1..25]), &sealed[25..]).map_err(|_| SecretError::Open)
    }
}

/// Writes `content` to a new file readable by its owner only, and syncs it.
pub fn write_private_file(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    writeln!(f, "{content}")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_detects_tampering() {
        let b = SecretBox::new(&[7u8; 32]);
        let sealed = b.seal(b"hunter2");
        assert_ne!(&sealed[25..], b"hunter2");
        assert_eq!(b.open(&sealed).unwrap(), b"hunter2");
        assert_ne!(b.seal(b"hunter2"), sealed, "a fresh nonce every time");
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(b.open(&bad).is_err());
        assert!(SecretBox::new(&[8u8; 32]).open(&sealed).is_err());
        assert!(b.open(&[1, 2, 3]).is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("encryption-key");
        let a = SecretBox::load_or_create(None, &file).unwrap();
        let sealed = a.seal(b"x");
        let b = SecretBox::load_or_create(None, &file).unwrap();
        assert_eq!(b.open(&sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(SecretBox::load_or_create(Some("short"), &file), Err(SecretError::BadKey)));
    }
}
