//! Hosted domains: DKIM key generation (Ed25519 and RSA-2048, private keys sealed at rest),
//! the DNS records to publish, and the question "is this domain ours?".

use crate::{Engine, EngineError, EngineResult};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use mailroom_core::event_types::DOMAIN_CREATED;
use mailroom_core::*;
use mailroom_store::{NewEvent, StoreError};

/// The DKIM selector of a domain's Ed25519 key.
pub const ED25519_SELECTOR: &str = "mailroom-ed25519";
/// The DKIM selector of a domain's RSA key.
pub const RSA_SELECTOR: &str = "mailroom-rsa";

pub use mailroom_core::api::DnsRecord;

/// A DKIM private key, decrypted, for signing.
#[derive(Clone)]
pub struct DkimSigningKey {
    /// The selector.
    pub selector: String,
    /// `ed25519` or `rsa`.
    pub algorithm: String,
    /// PKCS#8 DER.
    pub private_key_pkcs8_der: Vec<u8>,
}

impl std::fmt::Debug for DkimSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimSigningKey").field("selector", &self.selector).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Engine {
    /// Tells whether this server receives mail for `domain`: the default domain, a configured
    /// one, or one a site added.
    pub async fn is_hosted(&self, domain: &str) -> EngineResult<bool> {
        if self.is_hosted_domain(domain) {
            return Ok(true);
        }
        Ok(self.store.get_domain_by_name(&domain.to_ascii_lowercase()).await?.is_some())
    }

    /// Adds a hosted domain to `site` and generates its DKIM keys.
    pub async fn create_domain(&self, site: SiteId, name: &str) -> EngineResult<Domain> {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if EmailAddress::parse(&format!("postmaster@{name}")).is_err() || !name.contains('.') {
            return Err(EngineError::invalid("invalid_domain", format!("`{name}` is not a domain name such as mail.example.com")));
        }
        if self.is_hosted_domain(&name) {
            return Err(EngineError::Conflict { code: "domain_taken", message: format!("`{name}` is already hosted by this server's configuration") });
        }
        let rng = SystemRandom::new();
        let ed_pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| EngineError::Internal("Ed25519 key generation failed".into()))?;
        let ed = Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).map_err(|_| EngineError::Internal("Ed25519 key rejected".into()))?;
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| EngineError::Internal("RSA key generation failed".into()))?;
        let rsa_pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).map_err(|_| EngineError::Internal("RSA key export failed".into()))?;
        let rsa_public = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(rsa.public_key())
            .map_err(|_| EngineError::Internal("RSA public key export failed".into()))?;
        let domain = Domain {
            id: DomainId::new(),
            site_id: site,
            name: name.clone(),
            dkim: vec![
                DkimKey {
                    selector: ED25519_SELECTOR.into(),
                    algorithm: "ed25519".into(),
                    public_key: b64(ed.public_key().as_ref()),
                    private_key_encrypted: self.secrets.seal(ed_pkcs8.as_ref()),
                },
                DkimKey {
                    selector: RSA_SELECTOR.into(),
                    algorithm: "rsa".into(),
                    public_key: b64(rsa_public.as_ref()),
                    private_key_encrypted: self.secrets.seal(rsa_pkcs8.as_ref()),
                },
            ],
            created_at: now(),
        };
        let event = NewEvent::new(site, None, DOMAIN_CREATED, serde_json::json!({"id": domain.id, "name": domain.name}));
        match self.store.create_domain(&domain, &event).await {
            Ok(()) => Ok(domain),
            Err(StoreError::Conflict { .. }) => {
                Err(EngineError::Conflict { code: "domain_taken", message: format!("`{name}` is already hosted here") })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Returns the records to publish for `domain`: MX, SPF, one DKIM record per key, DMARC.
    pub fn dns_records(&self, domain: &Domain) -> Vec<DnsRecord> {
        let mx_host = self.config.hostname.trim_end_matches('.');
        let mut records = vec![
            DnsRecord {
                record_type: "MX".into(),
                name: domain.name.clone(),
                value: format!("10 {mx_host}."),
                purpose: "Routes mail for the domain to this server.".into(),
            },
            DnsRecord {
                record_type: "TXT".into(),
                name: domain.name.clone(),
                value: "v=spf1 mx -all".into(),
                purpose: "SPF: only the domain's MX hosts send its mail (add `ip4:`/`include:` for a relay).".into(),
            },
        ];
        for key in &domain.dkim {
            let k = if key.algorithm == "ed25519" { "ed25519" } else { "rsa" };
            records.push(DnsRecord {
                record_type: "TXT".into(),
                name: format!("{}._domainkey.{}", key.selector, domain.name),
                value: format!("v=DKIM1; k={k}; p={}", key.public_key),
                purpose: format!("DKIM public key ({}) that verifies the domain's signatures.", key.algorithm),
            });
        }
        records.push(DnsRecord {
            record_type: "TXT".into(),
            name: format!("_dmarc.{}", domain.name),
            value: format!("v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:postmaster@{}", domain.name),
            purpose: "DMARC: receivers quarantine mail that fails SPF and DKIM alignment.".into(),
        });
        records
    }

    /// Returns the decrypted DKIM keys of a hosted domain (none for unknown domains).
    pub async fn dkim_signing_keys(&self, domain: &str) -> EngineResult<Vec<DkimSigningKey>> {
        let Some(d) = self.store.get_domain_by_name(&domain.to_ascii_lowercase()).await? else { return Ok(Vec::new()) };
        d.dkim
            .iter()
            .map(|k| {
                Ok(DkimSigningKey {
                    selector: k.selector.clone(),
                    algorithm: k.algorithm.clone(),
                    private_key_pkcs8_der: self.secrets.open(&k.private_key_encrypted).map_err(|e| EngineError::Internal(e.to_string()))?,
                })
            })
            .collect()
    }
}
