//! Which network addresses Mailroom may connect to on a tenant's (or the DNS's) behalf.
//!
//! Webhook URLs, a site's own SMTP server (`smtpHost` of its `email` secure token) and the MX
//! hosts found for recipient domains are chosen by people outside the operator's control.
//! Without a guard, `169.254.169.254` would hand out cloud credentials and `10.0.0.5:25` would
//! reach internal services. This module is the one list of refused ranges; the webhook worker
//! and the delivery worker both ask it, at save time and again against the resolved address
//! at connect time. The operator's own relay and static routes (configuration) are trusted and
//! never checked. `security.allow_private_targets` lifts the guard for development and tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Returns why Mailroom must not connect to `ip`, or `None` when it is a public address.
///
/// Refused: unspecified, loopback, RFC 1918 private, CGNAT (100.64.0.0/10), link-local
/// (169.254.0.0/16, fe80::/10, which holds the 169.254.169.254 metadata service), unique local
/// (fc00::/7, which holds AWS's fd00:ec2::254), multicast, broadcast and reserved ranges,
/// documentation and benchmarking ranges, the IETF protocol block 192.0.0.0/24, and the IPv6
/// forms that embed an IPv4 address (mapped, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16)
/// when the embedded address is refused.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([169, 254, 169, 254], 32, "a cloud metadata address"),
        ([0, 0, 0, 0], 8, "an unspecified (\"this network\") address"),
        ([10, 0, 0, 0], 8, "a private address (RFC 1918)"),
        ([172, 16, 0, 0], 12, "a private address (RFC 1918)"),
        ([192, 168, 0, 0], 16, "a private address (RFC 1918)"),
        (
            [100, 64, 0, 0],
            10,
            "a shared carrier-grade NAT address (RFC 6598)",
        ),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([192, 0, 0, 0], 24, "an IETF protocol address (RFC 6890)"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        ([255, 255, 255, 255], 32, "the broadcast address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved address"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // Forms that carry an IPv4 address are judged by that address: mapped ::ffff:a.b.c.d,
    // compatible ::a.b.c.d (deprecated) and NAT64 64:ff9b::a.b.c.d.
    let embedded = |v4: u32| {
        forbidden_v4(Ipv4Addr::from(v4)).map(|_| "an IPv6 form of a refused IPv4 address")
    };
    let mapped = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0);
    let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0);
    if in_v6(ip, mapped, 96) || in_v6(ip, Ipv6Addr::UNSPECIFIED, 96) || in_v6(ip, nat64, 96) {
        return embedded(bits as u32);
    }
    if in_v6(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        // 6to4: 2002:AABB:CCDD::/48 routes to a.b.c.d.
        return embedded((bits >> 80) as u32);
    }
    const RANGES: &[(Ipv6Addr, u32, &str)] = &[
        (
            Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
            128,
            "a cloud metadata address",
        ),
        (
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
            10,
            "a link-local address",
        ),
        (
            Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
            10,
            "a site-local address",
        ),
        (
            Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
            7,
            "a unique local (private) address",
        ),
        (
            Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
            8,
            "a multicast address",
        ),
        (
            Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0),
            64,
            "a discard-only address",
        ),
        (
            Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0),
            32,
            "a documentation address",
        ),
        (
            Ipv6Addr::new(0x2001, 0x0002, 0, 0, 0, 0, 0, 0),
            48,
            "a benchmarking address",
        ),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

/// Refuses `ip` unless it is public (or `allow_private`), with a sentence that names the
/// address and why, never whether anything listens there.
pub fn check(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    match forbidden_reason(ip) {
        Some(why) => Err(format!(
            "{ip} is {why}; connections there are refused (set security.allow_private_targets to allow private targets in development)"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_public_addresses() {
        for ip in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "169.254.169.254",
            "192.168.0.1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(check(ip.parse().unwrap(), false).is_err(), "{ip}");
            assert!(check(ip.parse().unwrap(), true).is_ok(), "{ip}");
        }
        for ip in ["1.1.1.1", "2606:4700:4700::1111"] {
            assert!(check(ip.parse().unwrap(), false).is_ok(), "{ip}");
        }
    }
}
