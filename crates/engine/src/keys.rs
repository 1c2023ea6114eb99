//! API key secrets: generated with 256 bits of randomness and stored only as a SHA-256 hash.
//! A slow password hash (argon2) buys nothing for secrets this long, and a fast hash keeps
//! the per-request lookup cheap.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh API key.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The secret, shown once: `mr_` followed by 64 hex characters.
    pub secret: String,
    /// The SHA-256 hex of the secret, which is what gets stored.
    pub hash: String,
    /// The first characters of the secret, to recognise the key in listings.
    pub prefix: String,
}

/// Returns a new random API key.
pub fn generate_api_key() -> GeneratedKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("mr_{}", hex::encode(bytes));
    key_parts(secret)
}

/// Returns the stored form of a key the operator chose (such as `MAILROOM_ADMIN_API_KEY`).
pub fn key_parts(secret: String) -> GeneratedKey {
    let hash = hash_api_key(&secret);
    let prefix = secret.chars().take(10).collect();
    GeneratedKey { secret, hash, prefix }
}

/// Returns the SHA-256 hex hash under which a key's secret is stored.
pub fn hash_api_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
