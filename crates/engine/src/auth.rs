//! SPF, DKIM and DMARC verification of received mail with mail-auth. The resolver is
//! configurable so tests (and split-horizon setups) can answer from their own zone.

use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DkimResult, DmarcResult, MessageAuthenticator, SpfResult};
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// The verdicts stored on an inbound message as `auth_results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthResults {
    /// SPF of the MAIL FROM identity (or HELO for bounces): `pass`, `fail`, `softfail`,
    /// `neutral`, `none`, `temperror` or `permerror`.
    pub spf: String,
    /// `pass` when at least one DKIM signature verified, else the first signature's result,
    /// or `none` when the message is not signed.
    pub dkim: String,
    /// The domains (`d=`) whose signatures verified.
    pub dkim_domains: Vec<String>,
    /// DMARC of the `From` domain: `pass`, `fail`, `temperror`, `permerror` or `none`.
    pub dmarc: String,
    /// The `Authentication-Results` header value these verdicts correspond to.
    pub header: String,
}

/// Verifies received mail against DNS.
pub struct AuthVerifier {
    authenticator: MessageAuthenticator,
    hostname: String,
}

impl std::fmt::Debug for AuthVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthVerifier").field("hostname", &self.hostname).finish_non_exhaustive()
    }
}

impl AuthVerifier {
    /// Returns a verifier asking `nameservers` (the system's resolvers when empty).
    pub fn new(nameservers: &[SocketAddr], hostname: &str) -> Result<Self, String> {
        let authenticator = if nameservers.is_empty() {
            MessageAuthenticator::new_system_conf().map_err(|e| format!("could not read the system DNS configuration: {e}"))?
        } else {
            let servers = nameservers
                .iter()
                .map(|ns| {
                    let mut c = NameServerConfig::udp_and_tcp(ns.ip());
                    for conn in &mut c.connections {
                        conn.port = ns.port();
                    }
                    c
                })
                .collect();
            let mut opts = ResolverOpts::default();
            opts.timeout = std::time::Duration::from_secs(3);
            opts.attempts = 2;
            MessageAuthenticator::new(ResolverConfig::from_name_servers(servers), opts).map_err(|e| format!("could not build the DNS resolver: {e}"))?
        };
        Ok(Self { authenticator, hostname: hostname.to_string() })
    }

    /// Verifies one received message, giving DNS at most [`AuthVerifier::DEADLINE`]: past it
    /// every verdict is `temperror` (the message is still accepted and stored), so an
    /// unreachable resolver slows no sender down for long.
    pub async fn verify(&self, remote_ip: IpAddr, helo: &str, mail_from: &str, raw: &[u8]) -> AuthResults {
        match tokio::time::timeout(Self::DEADLINE, self.verify_inner(remote_ip, helo, mail_from, raw)).await {
            Ok(results) => results,
            Err(_) => AuthResults {
                spf: "temperror".into(),
                dkim: "temperror".into(),
                dkim_domains: Vec::new(),
                dmarc: "temperror".into(),
                header: format!("{}; spf=temperror; dkim=temperror; dmarc=temperror (DNS did not answer in time)", self.hostname),
            },
        }
    }

    /// How long the SPF, DKIM and DMARC lookups of one message may take together.
    pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(4);

    async fn verify_inner(&self, remote_ip: IpAddr, helo: &str, mail_from: &str, raw: &[u8]) -> AuthResults {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return AuthResults {
                spf: "none".into(),
                dkim: "none".into(),
                dkim_domains: Vec::new(),
                dmarc: "none".into(),
                header: format!("{}; none", self.hostname),
            };
        };
        let mail_from_domain = mail_from.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        // DKIM and SPF look up different names: ask for both at once.
        let spf_check = async {
            if mail_from_domain.is_some() {
                self.authenticator.verify_spf(SpfParameters::verify_mail_from(remote_ip, helo, &self.hostname, mail_from)).await
            } else {
                self.authenticator.verify_spf(SpfParameters::verify_ehlo(remote_ip, helo, &self.hostname)).await
            }
        };
        let (dkim, spf) = tokio::join!(self.authenticator.verify_dkim(&message), spf_check);
        let spf_domain = mail_from_domain.clone().unwrap_or_else(|| helo.to_ascii_lowercase());
        let dmarc = self
            .authenticator
            .verify_dmarc(DmarcParameters::new(&message, &dkim, &spf_domain, &spf))
            .await;
        let dkim_domains: Vec<String> =
            dkim.iter().filter(|d| d.result() == &DkimResult::Pass).filter_map(|d| d.signature().map(|s| s.d.to_string())).collect();
        let dkim_verdict = if !dkim_domains.is_empty() {
            "pass".to_string()
        } else {
            dkim.first().map(|d| dkim_name(d.result())).unwrap_or("none").to_string()
        };
        let dmarc_verdict = if dmarc.dkim_result() == &DmarcResult::Pass || dmarc.spf_result() == &DmarcResult::Pass {
            "pass"
        } else {
            match (dmarc.dkim_result(), dmarc.spf_result()) {
                (DmarcResult::TempError(_), _) | (_, DmarcResult::TempError(_)) => "temperror",
                (DmarcResult::PermError(_), _) | (_, DmarcResult::PermError(_)) => "permerror",
                // The From domain publishes DMARC and nothing aligned passed: that is a fail
                // (RFC 7489 §6.6.2), even when the message carries no signature at all.
                _ if dmarc.dmarc_record().is_some() => "fail",
                _ => "none",
            }
        };
        let from_domain = message.from().rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
        let header = mail_auth::AuthenticationResults::new(&self.hostname)
            .with_dkim_results(&dkim, &from_domain)
            .with_spf_mailfrom_result(&spf, remote_ip, mail_from, helo)
            .with_dmarc_result(&dmarc)
            .to_string();
        AuthResults {
            spf: spf_name(spf.result()).into(),
            dkim: dkim_verdict,
            dkim_domains,
            dmarc: dmarc_verdict.into(),
            header: header.trim_start_matches("Authentication-Results:").trim().to_string(),
        }
    }
}

fn spf_name(r: SpfResult) -> &'static str {
    match r {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

fn dkim_name(r: &DkimResult) -> &'static str {
    match r {
        DkimResult::Pass => "pass",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_silent_resolver_gives_temperror_within_the_deadline() {
        // A name server that receives queries and never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let verifier = AuthVerifier::new(&[silent.local_addr().unwrap()], "mx.test").unwrap();
        let started = std::time::Instant::now();
        let raw = b"From: a@sender.test\r\nTo: b@x.test\r\nSubject: s\r\n\r\nbody\r\n";
        let r = verifier.verify("192.0.2.1".parse().unwrap(), "sender.test", "a@sender.test", raw).await;
        assert!(started.elapsed() < AuthVerifier::DEADLINE + std::time::Duration::from_secs(1));
        assert_eq!((r.spf.as_str(), r.dmarc.as_str()), ("temperror", "temperror"));
        drop(silent);
    }
}
