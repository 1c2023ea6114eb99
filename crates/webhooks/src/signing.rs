//! Standard Webhooks signatures (version `v1`).
//!
//! A secret is `whsec_` followed by the base64 of its key bytes. A request is signed by
//! computing HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` with the key, and sent
//! as `webhook-signature: v1,<base64 MAC>`; several signatures are separated by spaces, which
//! is how a rotation works: during the overlap, every request carries the signature of the old
//! secret and of the new one, so the receiver can switch secrets whenever it likes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The secret is not `whsec_` followed by base64 (or is empty).
    #[error("the webhook secret is not `whsec_` followed by base64")]
    InvalidSecret,
}

/// Returns a new secret: `whsec_` and the base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// Returns the key bytes of a `whsec_…` secret.
fn key_of(secret: &str) -> Result<Vec<u8>, SigningError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or(SigningError::InvalidSecret)?;
    let key = STANDARD.decode(encoded).map_err(|_| SigningError::InvalidSecret)?;
    if key.is_empty() {
        return Err(SigningError::InvalidSecret);
    }
    Ok(key)
}

/// Returns `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">` under `secret`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, SigningError> {
    let key = key_of(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SigningError::InvalidSecret)?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Returns the `webhook-signature` value: the signature under each of `secrets`, separated
/// by spaces (the current secret first, then the previous one during a rotation).
pub fn signature_header(secrets: &[String], msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, SigningError> {
    let signatures = secrets.iter().map(|s| sign(s, msg_id, timestamp, body)).collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specification_example() {
        assert_eq!(sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap(), SPEC_SIGNATURE);
    }

    #[test]
    fn signs_the_reference_crate_example() {
        // The test vector of the `standardwebhooks` crate's own `test_sign`.
        let got = sign(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .unwrap();
        assert_eq!(got, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn agrees_with_the_reference_crate_on_random_secrets() {
        for _ in 0..20 {
            let secret = generate_secret();
            let reference = standardwebhooks::Webhook::new(&secret).unwrap();
            let body = br#"{"type":"message.received","data":{"x":"\u00e9"}}"#;
            assert_eq!(sign(&secret, "a-delivery-id", 1_700_000_000, body).unwrap(), reference.sign("a-delivery-id", 1_700_000_000, body).unwrap());
        }
    }

    #[test]
    fn secrets_are_32_random_bytes() {
        let s = generate_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(key_of(&s).unwrap().len(), 32);
        assert_ne!(s, generate_secret());
    }

    #[test]
    fn the_header_carries_one_signature_per_secret_in_order() {
        let old = generate_secret();
        let new = generate_secret();
        let header = signature_header(&[new.clone(), old.clone()], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [sign(&new, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap(), sign(&old, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap()]);
        assert_eq!(signature_header(&[SPEC_SECRET.to_string()], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap(), SPEC_SIGNATURE);
    }

    #[test]
    fn malformed_secrets_are_refused() {
        for bad in ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"] {
            assert_eq!(sign(bad, "id", 1, b"{}"), Err(SigningError::InvalidSecret), "{bad:?}");
        }
    }
}
