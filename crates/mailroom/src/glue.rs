//! Adapters between the protocol crates and the engine: the SMTP server's inbound handler and
//! the delivery worker's hooks.

use async_trait::async_trait;
use bytes::Bytes;
use mailroom_core::{Message, Recipient};
use mailroom_delivery::{AccountRoute, DeliveryHooks, DkimKeyMaterial, LocalOutcome, RouteLookup, TlsMode};
use mailroom_engine::{Engine, InboundRecipient, InboundSession, ResolvedRecipient};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use mailroom_smtp::{DeliveryOutcome, Envelope, InboundHandler, RcptDecision};

/// Receives SMTP mail into the engine.
pub struct EngineInbound {
    engine: Engine,
    /// What each accepted `RCPT TO` of a transaction in progress found, by the client's
    /// address and port (one session) and the recipient, taken back at DATA.
    resolved: std::sync::Mutex<HashMap<(SocketAddr, String), (Instant, ResolvedRecipient)>>,
}

/// How long what a `RCPT TO` found is used for its DATA: a client slower than this between
/// the two gets a fresh look-up. Older entries (mostly of transactions that ended without
/// DATA) are dropped.
const RESOLVED_FOR: Duration = Duration::from_secs(60);

/// Entries kept at most: past this, expired ones are dropped, and if none had expired, all
/// (their transactions then read the mailbox again at DATA).
const RESOLVED_MAX: usize = 10_000;

impl EngineInbound {
    /// A handler storing into `engine`.
    pub fn new(engine: Engine) -> Self {
        EngineInbound { engine, resolved: std::sync::Mutex::new(HashMap::new()) }
    }

    fn remember(&self, envelope: &Envelope, rcpt: &str, found: ResolvedRecipient) {
        let mut map = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= RESOLVED_MAX {
            map.retain(|_, (at, _)| at.elapsed() < RESOLVED_FOR);
            if map.len() >= RESOLVED_MAX {
                map.clear();
            }
        }
        map.insert((envelope.remote_addr, rcpt.to_string()), (Instant::now(), found));
    }

    /// Takes back what the transaction's `RCPT TO`s found, one entry per recipient.
    fn take(&self, envelope: &Envelope) -> Vec<Option<ResolvedRecipient>> {
        let mut map = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        envelope
            .rcpt_to
            .iter()
            .map(|rcpt| match map.remove(&(envelope.remote_addr, rcpt.clone())) {
                Some((at, found)) if at.elapsed() < RESOLVED_FOR => Some(found),
                _ => None,
            })
            .collect()
    }
}

#[async_trait]
impl InboundHandler for EngineInbound {
    async fn check_recipient(&self, envelope: &Envelope, rcpt: &str) -> RcptDecision {
        let client = Some((envelope.remote_addr.ip(), envelope.rcpt_to.is_empty()));
        match self.engine.resolve_inbound(rcpt, &envelope.mail_from, client).await {
            Ok((InboundRecipient::Reply(line), _)) => RcptDecision::Reply(line),
            Ok((InboundRecipient::Accept, found)) => {
                if let Some(found) = found {
                    self.remember(envelope, rcpt, found);
                }
                RcptDecision::Accept
            }
            Ok((InboundRecipient::SenderRefused, _)) => RcptDecision::Refused("Sender blocked by the recipient's list".into()),
            Ok((InboundRecipient::UnknownMailbox, _)) => RcptDecision::UnknownMailbox,
            Ok((InboundRecipient::NotHosted, _)) => RcptDecision::RelayDenied,
            Err(e) => {
                tracing::error!(error = %e, "recipient check failed");
                RcptDecision::TemporaryFailure("temporary failure, try again later".into())
            }
        }
    }

    async fn deliver(&self, envelope: &Envelope, message: Vec<u8>) -> DeliveryOutcome {
        let started = std::time::Instant::now();
        let size = message.len();
        let session = InboundSession { remote_ip: envelope.remote_addr.ip(), helo: envelope.helo.clone(), mail_from: envelope.mail_from.clone() };
        let resolved = self.take(envelope);
        let (outcome, code, message_id) = match self.engine.accept_inbound_with(&session, &envelope.rcpt_to, &resolved, Bytes::from(message)).await {
            Ok(stored) if !stored.is_empty() => {
                let message_id = stored[0].message_id.clone().unwrap_or_default();
                (DeliveryOutcome::Accepted { queue_id: stored[0].id.to_string() }, 250, message_id)
            }
            Ok(_) => (DeliveryOutcome::TemporaryFailure("no recipient mailbox exists any more".into()), 451, String::new()),
            Err(mailroom_engine::EngineError::Invalid { code: mailroom_engine::controls::SMTP_REPLY, message }) => {
                tracing::info!(remote_addr = %envelope.remote_addr, reply = %message, "received message refused by a control");
                let code = message.get(..3).and_then(|c| c.parse().ok()).unwrap_or(452);
                (DeliveryOutcome::Reply(message), code, String::new())
            }
            Err(mailroom_engine::EngineError::Invalid { code: mailroom_engine::MESSAGE_LIMIT_EXCEEDED, message }) => {
                tracing::info!(remote_addr = %envelope.remote_addr, reason = %message, "received message refused");
                (DeliveryOutcome::Rejected(message), 554, String::new())
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store a received message");
                (DeliveryOutcome::TemporaryFailure("the message could not be stored, try again later".into()), 451, String::new())
            }
        };
        let elapsed = started.elapsed();
        // The transaction's one line: who, from whom, for how many, how big, the answer.
        tracing::info!(
            target: "mailroom::smtp",
            client_ip = %envelope.remote_addr.ip(),
            mail_from = envelope.mail_from.as_str(),
            recipients = envelope.rcpt_to.len(),
            size,
            reply = code,
            message_id = message_id.as_str(),
            store_ms = elapsed.as_secs_f64() * 1000.0,
            "smtp transaction"
        );
        metrics::counter!("mailroom_smtp_transactions_total", "reply" => crate::observe::reply_class(code)).increment(1);
        if code == 250 {
            metrics::histogram!("mailroom_smtp_store_duration_seconds").record(elapsed.as_secs_f64());
        }
        outcome
    }
}

/// Gives the delivery worker DKIM keys and local delivery.
pub struct EngineHooks(pub Engine);

#[async_trait]
impl DeliveryHooks for EngineHooks {
    async fn dkim_keys(&self, domain: &str) -> Vec<DkimKeyMaterial> {
        match self.0.dkim_signing_keys(domain).await {
            Ok(keys) => keys
                .into_iter()
                .map(|k| DkimKeyMaterial { selector: k.selector, algorithm: k.algorithm, private_key_pkcs8_der: k.private_key_pkcs8_der })
                .collect(),
            Err(e) => {
                tracing::error!(domain, error = %e, "could not load DKIM keys; sending unsigned");
                Vec::new()
            }
        }
    }

    async fn deliver_local(&self, message: &Message, recipient: &Recipient) -> Option<LocalOutcome> {
        match self.0.deliver_one_local(message, recipient, &mut None).await {
            Ok(outcome) => outcome.map(|(status, reply)| LocalOutcome { status, reply }),
            Err(e) => {
                tracing::error!(error = %e, "local delivery failed; will retry");
                if self.0.is_hosted(recipient.address.domain()).await.unwrap_or(true) {
                    Some(LocalOutcome { status: mailroom_core::DeliveryStatus::Deferred, reply: "451 4.3.0 local delivery failed, will retry".into() })
                } else {
                    None
                }
            }
        }
    }

    async fn route(&self, message: &Message) -> RouteLookup {
        match self.0.message_account(message).await {
            Ok(None) => RouteLookup::Default,
            Ok(Some(a)) => RouteLookup::Account(AccountRoute {
                host: a.host,
                port: a.port,
                tls: match a.security {
                    mailroom_engine::SmtpSecurity::Tls => TlsMode::Implicit,
                    mailroom_engine::SmtpSecurity::StartTls => TlsMode::StartTls,
                    mailroom_engine::SmtpSecurity::None => TlsMode::None,
                },
                username: a.user,
                password: a.password,
                sender: a.address.to_string(),
            }),
            Err(reply) => RouteLookup::Unusable(reply),
        }
    }

    async fn envelope_sender(&self, message: &Message, from: &str) -> String {
        self.0.envelope_sender(message, from)
    }
}
