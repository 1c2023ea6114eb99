//! What the worker asks of the rest of the server: signing keys and local delivery.

use mailroom_core::{DeliveryStatus, Message, Recipient};

/// A DKIM private key, decrypted, ready to sign with.
#[derive(Clone)]
pub struct DkimKeyMaterial {
    /// The selector: the public key is published at `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// `ed25519` or `rsa` (RSA with SHA-256).
    pub algorithm: String,
    /// The private key, PKCS#8 DER.
    pub private_key_pkcs8_der: Vec<u8>,
}

impl std::fmt::Debug for DkimKeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimKeyMaterial")
            .field("selector", &self.selector)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The result of a local delivery done by the engine on the worker's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOutcome {
    /// `Delivered`, `Bounced` (no such mailbox), `Deferred` (try again later, on the retry
    /// schedule) or `Failed`. `Queued` and `Sending` count as `Deferred`.
    pub status: DeliveryStatus,
    /// The reply to record, such as `250 2.0.0 delivered to local mailbox a@b.test`.
    pub reply: String,
}

/// The worker's view of the rest of the server.
#[async_trait::async_trait]
pub trait DeliveryHooks: Send + Sync + 'static {
    /// Returns the keys to sign mail from `domain` with (empty: send unsigned). Every key
    /// adds one `DKIM-Signature` header (typically one Ed25519 and one RSA-2048).
    async fn dkim_keys(&self, domain: &str) -> Vec<DkimKeyMaterial>;

    /// Delivers `recipient` locally when its domain is hosted by this server and returns the
    /// outcome, which the worker records (status, reply, attempt count, event) exactly as it
    /// records an SMTP outcome; local bounces add no suppression. Returns `None` when the
    /// domain is not hosted here, and the worker delivers over SMTP.
    async fn deliver_local(&self, message: &Message, recipient: &Recipient) -> Option<LocalOutcome>;
}
