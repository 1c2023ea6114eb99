//! DKIM signing of outbound messages with mail-auth (relaxed/relaxed, SHA-256).

use crate::hooks::DkimKeyMaterial;
use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The headers each signature covers (those absent from a message are left out of `h=`).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
];

/// Explains why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    /// The algorithm is neither `ed25519` nor `rsa`.
    #[error("unknown DKIM algorithm `{0}`: use `ed25519` or `rsa`")]
    UnknownAlgorithm(String),
    /// The key bytes are not a PKCS#8 key of the algorithm.
    #[error("the {algorithm} key of selector `{selector}` is not a valid PKCS#8 key: {reason}")]
    InvalidKey {
        /// The selector.
        selector: String,
        /// The algorithm.
        algorithm: String,
        /// What the crypto library said.
        reason: String,
    },
    /// Signing failed.
    #[error("signing with selector `{selector}` failed: {reason}")]
    Sign {
        /// The selector.
        selector: String,
        /// What mail-auth said.
        reason: String,
    },
}

fn load(key: &DkimKeyMaterial) -> Result<DkimKey, DkimError> {
    let invalid = |reason: String| DkimError::InvalidKey { selector: key.selector.clone(), algorithm: key.algorithm.clone(), reason };
    match key.algorithm.to_ascii_lowercase().as_str() {
        "ed25519" => Ed25519Key::from_pkcs8_maybe_unchecked_der(&key.private_key_pkcs8_der)
            .map(DkimKey::from)
            .map_err(|e| invalid(e.to_string())),
        "rsa" => RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.private_key_pkcs8_der.as_slice())))
            .map(DkimKey::from)
            .map_err(|e| invalid(e.to_string())),
        other => Err(DkimError::UnknownAlgorithm(other.to_string())),
    }
}

/// Returns the `DKIM-Signature` header (with its CRLF) that `key` gives `message` for
/// `domain` (the `d=` tag: the sender's domain).
pub fn signature_header(message: &[u8], domain: &str, key: &DkimKeyMaterial) -> Result<Vec<u8>, DkimError> {
    let signer = DkimSigner::from_key(load(key)?).domain(domain).selector(key.selector.as_str()).headers(SIGNED_HEADERS.iter().copied());
    let signature = signer.sign(message).map_err(|e| DkimError::Sign { selector: key.selector.clone(), reason: e.to_string() })?;
    let mut header = Vec::new();
    signature.write_header(&mut header);
    Ok(header)
}

/// Returns `message` with one `DKIM-Signature` header per usable key prepended. A key that
/// cannot be used is logged and skipped: the message goes out with the other signatures (or
/// unsigned) rather than not at all.
pub fn sign(message: &[u8], domain: &str, keys: &[DkimKeyMaterial]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 512 * keys.len());
    for key in keys {
        match signature_header(message, domain, key) {
            Ok(header) => out.extend_from_slice(&header),
            Err(e) => tracing::error!(domain, error = %e, "a DKIM key could not be used; sending without its signature"),
        }
    }
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_algorithms_and_bad_keys_are_reported_and_skipped() {
        let bad = DkimKeyMaterial { selector: "s".into(), algorithm: "dsa".into(), private_key_pkcs8_der: vec![1, 2, 3] };
        assert!(matches!(signature_header(b"From: a@b.test\r\n\r\nhi\r\n", "b.test", &bad), Err(DkimError::UnknownAlgorithm(_))));
        let garbage = DkimKeyMaterial { selector: "s".into(), algorithm: "rsa".into(), private_key_pkcs8_der: vec![1, 2, 3] };
        assert!(matches!(signature_header(b"From: a@b.test\r\n\r\nhi\r\n", "b.test", &garbage), Err(DkimError::InvalidKey { .. })));
        let msg = b"From: a@b.test\r\n\r\nhi\r\n";
        assert_eq!(sign(msg, "b.test", &[bad, garbage]), msg.to_vec());
    }
}
