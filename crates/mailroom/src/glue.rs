//! Adapters between the protocol crates and the engine: the SMTP server's inbound handler and
//! the delivery worker's hooks.

use async_trait::async_trait;
use bytes::Bytes;
use mailroom_core::{Message, Recipient};
use mailroom_delivery::{DeliveryHooks, DkimKeyMaterial, LocalOutcome};
use mailroom_engine::{Engine, InboundRecipient, InboundSession};
use mailroom_smtp::{DeliveryOutcome, Envelope, InboundHandler, RcptDecision};

/// Receives SMTP mail into the engine.
pub struct EngineInbound(pub Engine);

#[async_trait]
impl InboundHandler for EngineInbound {
    async fn check_recipient(&self, _envelope: &Envelope, rcpt: &str) -> RcptDecision {
        match self.0.check_inbound_recipient(rcpt).await {
            Ok(InboundRecipient::Accept) => RcptDecision::Accept,
            Ok(InboundRecipient::UnknownMailbox) => RcptDecision::UnknownMailbox,
            Ok(InboundRecipient::NotHosted) => RcptDecision::RelayDenied,
            Err(e) => {
                tracing::error!(error = %e, "recipient check failed");
                RcptDecision::TemporaryFailure("temporary failure, try again later".into())
            }
        }
    }

    async fn deliver(&self, envelope: &Envelope, message: Vec<u8>) -> DeliveryOutcome {
        let session = InboundSession { remote_ip: envelope.remote_addr.ip(), helo: envelope.helo.clone(), mail_from: envelope.mail_from.clone() };
        match self.0.accept_inbound(&session, &envelope.rcpt_to, Bytes::from(message)).await {
            Ok(stored) if !stored.is_empty() => DeliveryOutcome::Accepted { queue_id: stored[0].id.to_string() },
            Ok(_) => DeliveryOutcome::TemporaryFailure("no recipient mailbox exists any more".into()),
            Err(mailroom_engine::EngineError::Invalid { code: mailroom_engine::MESSAGE_LIMIT_EXCEEDED, message }) => {
                tracing::info!(remote_addr = %envelope.remote_addr, reason = %message, "received message refused");
                DeliveryOutcome::Rejected(message)
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store a received message");
                DeliveryOutcome::TemporaryFailure("the message could not be stored, try again later".into())
            }
        }
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
}
