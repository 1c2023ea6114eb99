//! What the worker asks of the rest of the server: signing keys and local delivery.

use crate::config::TlsMode;
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

/// A site's own SMTP account (seed 002's `email` channel) that a message is submitted
/// through instead of the relay or MX: the route recorded with the queued message, with the
/// credentials opened from the site's secure token at delivery time.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRoute {
    /// The server's host name or IP address, as the token gives it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// `Implicit` (465), `StartTls` (required), or `None` only when the token says
    /// `smtpSecurity: "none"` explicitly.
    pub tls: TlsMode,
    /// The AUTH user name.
    pub username: String,
    /// The AUTH password.
    pub password: String,
    /// The envelope sender (the account's address).
    pub sender: String,
}

impl std::fmt::Debug for AccountRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRoute")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where the hooks say a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteLookup {
    /// The usual way: local mailbox, static route, relay or MX.
    Default,
    /// Through the site's SMTP account.
    Account(AccountRoute),
    /// The message was queued for a route that cannot be used (the token is gone or
    /// unreadable): every remote recipient fails with this reply.
    Unusable(String),
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

    /// Returns the route recorded for `message` when it was queued. The default: none.
    async fn route(&self, _message: &Message) -> RouteLookup {
        RouteLookup::Default
    }

    /// Returns the envelope sender (`MAIL FROM`) for `message`, sent from `from`. The default
    /// is `from` itself; the server puts a per-message token in it (VERP) so that
    /// delivery-status reports can be matched to the message they are about.
    async fn envelope_sender(&self, _message: &Message, from: &str) -> String {
        from.to_string()
    }
}
