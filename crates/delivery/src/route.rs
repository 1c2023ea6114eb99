//! Where mail for a domain goes: a static route, the relay, or the domain's MX hosts.

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

/// The destination of a group of recipients; recipients of one message with the same
/// destination share one SMTP transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Destination {
    /// A configured `host:port` for the recipients' domain.
    Static(String, u16),
    /// The smarthost.
    Relay,
    /// The MX hosts of this domain.
    Mx(String),
    /// The site's own SMTP account (`host`, `port`): the route the message was queued for.
    Account(String, u16),
}

/// What the MX records of a domain say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MxAnswer {
    /// Hosts to try, in order. When the domain has no MX records this is the domain itself
    /// (RFC 5321 §5.1, the "implicit MX"), and `implicit` is set.
    Hosts {
        /// Host names without the trailing dot.
        hosts: Vec<String>,
        /// Whether these are not from MX records but the domain itself.
        implicit: bool,
    },
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx,
    /// The domain does not exist (NXDOMAIN).
    NoSuchDomain,
}

/// Orders MX records as RFC 5321 §5.1 asks: lowest preference first, hosts of equal
/// preference in an order that varies with `seed` (to spread the load), each host once. A
/// lone null MX (exchange `.`) means the domain accepts no mail; a null MX among real ones
/// is ignored.
pub(crate) fn order_mx(domain: &str, records: &[(u16, String)], seed: u64) -> MxAnswer {
    if records.is_empty() {
        return MxAnswer::Hosts { hosts: vec![domain.trim_end_matches('.').to_string()], implicit: true };
    }
    let is_null = |name: &str| name.trim_end_matches('.').is_empty();
    let mut real: Vec<(u16, u64, String)> = records
        .iter()
        .filter(|(_, name)| !is_null(name))
        .map(|(pref, name)| {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (seed, &name).hash(&mut h);
            (*pref, h.finish(), name)
        })
        .collect();
    if real.is_empty() {
        return MxAnswer::NullMx;
    }
    real.sort();
    let mut hosts: Vec<String> = Vec::with_capacity(real.len());
    for (_, _, name) in real {
        if !hosts.contains(&name) {
            hosts.push(name);
        }
    }
    MxAnswer::Hosts { hosts, implicit: false }
}

/// Returns a random seed for [`order_mx`].
pub(crate) fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') { name.to_string() } else { format!("{name}.") }
}

/// Builds the resolver: the given name servers (UDP and TCP on each address's port), or
/// the system configuration.
pub(crate) fn build_resolver(dns: Option<&[SocketAddr]>) -> Result<TokioResolver, String> {
    let builder = match dns {
        Some(servers) => {
            let name_servers = servers
                .iter()
                .map(|s| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = s.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = s.port();
                    NameServerConfig::new(s.ip(), true, vec![udp, tcp])
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(name_servers), TokioRuntimeProvider::default())
        }
        None => TokioResolver::builder_tokio().map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
    };
    builder.build().map_err(|e| format!("cannot build the DNS resolver: {e}"))
}

/// Looks up the MX records of `domain`. `Err` is a temporary DNS failure.
pub(crate) async fn lookup_mx(resolver: &TokioResolver, domain: &str) -> Result<MxAnswer, String> {
    match resolver.mx_lookup(fqdn(domain).as_str()).await {
        Ok(lookup) => {
            let records: Vec<(u16, String)> = lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                    _ => None,
                })
                .collect();
            Ok(order_mx(domain, &records, random_seed()))
        }
        Err(e) if e.is_nx_domain() => Ok(MxAnswer::NoSuchDomain),
        Err(e) if e.is_no_records_found() => Ok(order_mx(domain, &[], 0)),
        Err(e) => Err(format!("MX lookup for {domain} failed: {e}")),
    }
}

/// What the address lookup of a host found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Addresses {
    /// These addresses.
    Found(Vec<IpAddr>),
    /// The name has no A or AAAA records (or does not exist).
    None,
}

/// Looks up the addresses of `host`. `Err` is a temporary DNS failure.
pub(crate) async fn lookup_addresses(resolver: &TokioResolver, host: &str) -> Result<Addresses, String> {
    match resolver.lookup_ip(fqdn(host).as_str()).await {
        Ok(lookup) => {
            let ips: Vec<IpAddr> = lookup.iter().collect();
            Ok(if ips.is_empty() { Addresses::None } else { Addresses::Found(ips) })
        }
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Addresses::None),
        Err(e) => Err(format!("address lookup for {host} failed: {e}")),
    }
}


/// A fake name server for tests.
#[cfg(test)]
pub(crate) mod fake_dns {
    use hickory_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{A, MX};
    use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, SocketAddr};

    /// A tiny authoritative DNS server on 127.0.0.1 (UDP) answering from a fixed table, so
    /// the hickory lookups run for real without the internet.
    pub(crate) struct FakeDns {
        pub mx: HashMap<String, Vec<(u16, String)>>,
        pub a: HashMap<String, Vec<Ipv4Addr>>,
        pub nxdomain: Vec<String>,
        pub servfail: Vec<String>,
    }

    pub(crate) async fn spawn_dns(zone: FakeDns) -> SocketAddr {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = socket.local_addr().expect("local addr");
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else { return };
                let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
                let Some(q) = query.queries.first().cloned() else { continue };
                let name = q.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
                let mut resp = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                resp.metadata.recursion_desired = query.metadata.recursion_desired;
                resp.metadata.recursion_available = true;
                resp.metadata.authoritative = true;
                resp.add_query(q.clone());
                if zone.servfail.contains(&name) {
                    resp.metadata.response_code = ResponseCode::ServFail;
                } else if zone.nxdomain.contains(&name) {
                    resp.metadata.response_code = ResponseCode::NXDomain;
                } else {
                    match q.query_type() {
                        RecordType::MX => {
                            for (pref, ex) in zone.mx.get(&name).cloned().unwrap_or_default() {
                                let exchange = if ex == "." { Name::root() } else { Name::from_ascii(format!("{ex}.")).expect("name") };
                                resp.add_answer(Record::from_rdata(q.name().clone(), 60, RData::MX(MX::new(pref, exchange))));
                            }
                        }
                        RecordType::A => {
                            for ip in zone.a.get(&name).cloned().unwrap_or_default() {
                                resp.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A(ip))));
                            }
                        }
                        _ => {}
                    }
                }
                let _ = socket.send_to(&resp.to_vec().expect("encode"), peer).await;
            }
        });
        addr
    }

}

#[cfg(test)]
mod tests {
    use super::fake_dns::{FakeDns, spawn_dns};
    use super::*;
    use std::collections::HashMap;
    use std::net::Ipv4Addr;

    fn recs(list: &[(u16, &str)]) -> Vec<(u16, String)> {
        list.iter().map(|(p, n)| (*p, n.to_string())).collect()
    }

    fn hosts(answer: MxAnswer) -> Vec<String> {
        match answer {
            MxAnswer::Hosts { hosts, .. } => hosts,
            other => panic!("expected hosts, got {other:?}"),
        }
    }

    #[test]
    fn mx_hosts_are_tried_by_preference() {
        let r = recs(&[(20, "b.example.test."), (10, "A.example.test."), (30, "c.example.test.")]);
        assert_eq!(hosts(order_mx("example.test", &r, 7)), ["a.example.test", "b.example.test", "c.example.test"]);
    }

    #[test]
    fn equal_preferences_stay_together_in_a_seed_dependent_order() {
        let r = recs(&[(10, "a."), (10, "b."), (10, "c."), (10, "d."), (5, "first."), (50, "last.")]);
        let mut orders = std::collections::HashSet::new();
        for seed in 0..64 {
            let h = hosts(order_mx("x.test", &r, seed));
            assert_eq!(h.first().map(String::as_str), Some("first"));
            assert_eq!(h.last().map(String::as_str), Some("last"));
            let mut middle = h[1..5].to_vec();
            orders.insert(middle.clone());
            middle.sort();
            assert_eq!(middle, ["a", "b", "c", "d"]);
        }
        assert!(orders.len() > 1, "equal-preference hosts should not always come in the same order");
    }

    #[test]
    fn duplicate_hosts_are_tried_once() {
        let r = recs(&[(10, "mx.x.test."), (20, "MX.x.test.")]);
        assert_eq!(hosts(order_mx("x.test", &r, 1)), ["mx.x.test"]);
    }

    #[test]
    fn null_mx_means_no_mail_unless_real_hosts_exist_too() {
        assert_eq!(order_mx("x.test", &recs(&[(0, ".")]), 1), MxAnswer::NullMx);
        assert_eq!(order_mx("x.test", &recs(&[(0, "")]), 1), MxAnswer::NullMx);
        assert_eq!(hosts(order_mx("x.test", &recs(&[(0, "."), (10, "mx.x.test.")]), 1)), ["mx.x.test"]);
    }

    #[test]
    fn no_mx_records_fall_back_to_the_domain_itself() {
        assert_eq!(order_mx("x.test", &[], 1), MxAnswer::Hosts { hosts: vec!["x.test".into()], implicit: true });
    }

    fn zone() -> FakeDns {
        let mut mx = HashMap::new();
        mx.insert("multi.test".to_string(), vec![(20, "backup.multi.test".to_string()), (10, "primary.multi.test".to_string())]);
        mx.insert("nullmx.test".to_string(), vec![(0, ".".to_string())]);
        let mut a = HashMap::new();
        a.insert("primary.multi.test".to_string(), vec![Ipv4Addr::new(127, 0, 0, 10)]);
        a.insert("bare.test".to_string(), vec![Ipv4Addr::new(127, 0, 0, 20)]);
        FakeDns { mx, a, nxdomain: vec!["nowhere.test".to_string()], servfail: vec!["broken.test".to_string()] }
    }

    #[tokio::test]
    async fn mx_lookups_against_a_local_name_server() {
        let dns = spawn_dns(zone()).await;
        let resolver = build_resolver(Some(&[dns])).expect("resolver");

        assert_eq!(
            lookup_mx(&resolver, "multi.test").await.expect("mx"),
            MxAnswer::Hosts { hosts: vec!["primary.multi.test".into(), "backup.multi.test".into()], implicit: false }
        );
        assert_eq!(lookup_mx(&resolver, "nullmx.test").await.expect("mx"), MxAnswer::NullMx);
        assert_eq!(lookup_mx(&resolver, "nowhere.test").await.expect("mx"), MxAnswer::NoSuchDomain);
        assert_eq!(
            lookup_mx(&resolver, "bare.test").await.expect("mx"),
            MxAnswer::Hosts { hosts: vec!["bare.test".into()], implicit: true }
        );
        assert!(lookup_mx(&resolver, "broken.test").await.is_err(), "SERVFAIL is a temporary failure");

        assert_eq!(
            lookup_addresses(&resolver, "primary.multi.test").await.expect("a"),
            Addresses::Found(vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10))])
        );
        assert_eq!(lookup_addresses(&resolver, "backup.multi.test").await.expect("a"), Addresses::None);
        assert_eq!(lookup_addresses(&resolver, "nowhere.test").await.expect("a"), Addresses::None);
    }
}
