//! Which URLs Mailroom may call.
//!
//! A webhook URL is chosen by a tenant, and the request is made from inside the server's
//! network: without a guard, `http://169.254.169.254/` would hand out cloud credentials and
//! `http://10.0.0.5/admin` would reach internal services. So a URL must be plain http(s)
//! without credentials, and every address it is sent to must be public.
//!
//! The check happens twice. [`check_target`] resolves the host when an endpoint is saved and
//! refuses it if any address is forbidden, so a tenant learns at once. At delivery time the
//! HTTP client resolves through [`GuardedResolver`], which drops forbidden addresses from the
//! answer it hands to the connector, so a name that changes its answer between the check and
//! the connection (DNS rebinding) still cannot reach a forbidden address. IP-literal URLs are
//! never resolved by the client, so the worker checks them itself with [`check_ip`].

use crate::WebhookError;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};

/// How to allow local receivers, named in every refusal so a developer knows the setting.
const ALLOW_HINT: &str = "to allow local and private receivers (development only), set security.allow_private_targets = true \
                          in the config file or MAILROOM_SECURITY_ALLOW_PRIVATE_TARGETS=true";

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Parses a webhook URL: http or https, with a host, without user name or password, at most
/// [`MAX_URL_LEN`] characters. Returns it normalized (lower-case scheme and host, `/` path).
pub fn validate_url(url: &str) -> Result<Url, WebhookError> {
    let invalid = |m: &str| WebhookError::InvalidUrl(m.to_string());
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(invalid("the URL is empty"));
    }
    if trimmed.len() > MAX_URL_LEN {
        return Err(WebhookError::InvalidUrl(format!("the URL is longer than {MAX_URL_LEN} characters")));
    }
    let parsed = Url::parse(trimmed).map_err(|e| WebhookError::InvalidUrl(format!("the URL is not valid: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(WebhookError::InvalidUrl(format!("the URL must start with https:// or http://, not {}://", parsed.scheme())));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("the URL must not contain a user name or password; authenticate requests by their signature"));
    }
    match parsed.host_str() {
        None | Some("") => return Err(invalid("the URL has no host")),
        Some(_) => {}
    }
    if parsed.as_str().len() > MAX_URL_LEN {
        return Err(WebhookError::InvalidUrl(format!("the URL is longer than {MAX_URL_LEN} characters")));
    }
    Ok(parsed)
}

/// Returns the URL's host as an IP address when it is an IP literal.
pub(crate) fn literal_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Resolves the URL's host and returns its addresses, or refuses the URL when any of them is
/// forbidden (see [`forbidden_reason`]) and `allow_private` is false. A host that does not
/// resolve is an invalid URL.
pub async fn check_target(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, WebhookError> {
    let port = url.port_or_known_default().ok_or_else(|| WebhookError::InvalidUrl("the URL has no port".into()))?;
    let addrs: Vec<SocketAddr> = match literal_ip(url) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => {
            let host = url.host_str().ok_or_else(|| WebhookError::InvalidUrl("the URL has no host".into()))?;
            let found = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| WebhookError::InvalidUrl(format!("the host {host} could not be resolved: {e}")))?;
            let mut addrs: Vec<SocketAddr> = Vec::new();
            for a in found {
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
            if addrs.is_empty() {
                return Err(WebhookError::InvalidUrl(format!("the host {host} has no address")));
            }
            addrs
        }
    };
    if !allow_private {
        for a in &addrs {
            check_ip(a.ip())?;
        }
    }
    Ok(addrs)
}

/// Refuses a forbidden address with a sentence saying why.
pub fn check_ip(ip: IpAddr) -> Result<(), WebhookError> {
    match forbidden_reason(ip) {
        Some(why) => Err(WebhookError::ForbiddenTarget(format!("webhooks may not be sent to {ip}: it is {why}; {ALLOW_HINT}"))),
        None => Ok(()),
    }
}

pub use mailroom_core::netguard::forbidden_reason;

/// The HTTP client's resolver: the system resolver, with every forbidden address removed
/// from each answer (unless private targets are allowed). An answer left empty is an error
/// that names the refused addresses, so the attempt's record says why nothing was sent.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Skips the filter (development and tests).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if allow_private {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found.into_iter().partition(|a| forbidden_reason(a.ip()).is_none());
            if allowed.is_empty() {
                let list = refused.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                let err = WebhookError::ForbiddenTarget(format!("{host} resolves only to refused addresses ({list}); {ALLOW_HINT}"));
                return Err(Box::new(err) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        forbidden_reason(ip.parse().unwrap()).is_some()
    }

    #[test]
    fn forbidden_ranges_are_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "100.100.100.200",
            "169.254.0.1",
            "169.254.169.254",
            "192.0.0.192",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "169.253.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!refused(ip), "{ip} must pass");
        }
    }

    #[test]
    fn urls_are_validated() {
        assert_eq!(validate_url("HTTPS://Example.COM/hook?x=1").unwrap().as_str(), "https://example.com/hook?x=1");
        assert!(validate_url("http://example.com").is_ok());
        for bad in [
            "",
            "example.com/hook",
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "http://",
            "http://[::1/",
        ] {
            assert!(matches!(validate_url(bad), Err(WebhookError::InvalidUrl(_))), "{bad:?} must be refused");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(validate_url(&long), Err(WebhookError::InvalidUrl(_))));
    }

    #[tokio::test]
    async fn literal_addresses_in_every_spelling_are_checked() {
        for url in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://2130706433/",
            "http://017700000001/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://0.0.0.0:8080/",
            "http://[fe80::1%25eth0]/",
        ] {
            let Ok(parsed) = validate_url(url) else { continue };
            let got = check_target(&parsed, false).await;
            assert!(matches!(got, Err(WebhookError::ForbiddenTarget(_))), "{url}: {got:?}");
            assert!(check_target(&parsed, true).await.is_ok(), "{url} is allowed with private targets");
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused() {
        let url = validate_url("http://localhost:9/hook").unwrap();
        assert!(matches!(check_target(&url, false).await, Err(WebhookError::ForbiddenTarget(_))));
        let addrs = check_target(&url, true).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9), "{addrs:?}");
    }

    #[tokio::test]
    async fn the_resolver_drops_forbidden_answers() {
        let guarded = GuardedResolver { allow_private: false };
        let err = guarded.resolve("localhost".parse().unwrap()).await.err().expect("localhost is refused");
        assert!(err.to_string().contains("refused"), "{err}");
        let open = GuardedResolver { allow_private: true };
        let addrs: Vec<SocketAddr> = open.resolve("localhost".parse().unwrap()).await.unwrap().collect();
        assert!(!addrs.is_empty());
    }
}
