//! A tiny authoritative DNS server on 127.0.0.1 for tests: answers TXT, A and MX queries
//! from a table the test fills (DKIM keys, SPF, DMARC), NXDOMAIN otherwise.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, MX, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

type Zone = Arc<Mutex<HashMap<(String, RecordType), Vec<RData>>>>;

pub struct TestDns {
    pub addr: SocketAddr,
    zone: Zone,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl TestDns {
    pub async fn start() -> TestDns {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind DNS");
        let addr = socket.local_addr().unwrap();
        let zone: Zone = Arc::default();
        let z = zone.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else { return };
                let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
                let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
                reply.metadata.message_type = MessageType::Response;
                reply.metadata.authoritative = true;
                reply.metadata.recursion_desired = query.metadata.recursion_desired;
                reply.metadata.recursion_available = true;
                let mut found_name = false;
                for q in &query.queries {
                    reply.add_query(q.clone());
                    let name = key(&q.name().to_string());
                    let zone = z.lock().unwrap();
                    found_name |= zone.keys().any(|(n, _)| *n == name);
                    if let Some(records) = zone.get(&(name, q.query_type())) {
                        for r in records {
                            reply.add_answer(Record::from_rdata(q.name().clone(), 60, r.clone()));
                        }
                    }
                }
                if reply.answers.is_empty() && !found_name {
                    reply.metadata.response_code = ResponseCode::NXDomain;
                }
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        TestDns { addr, zone }
    }

    fn add(&self, name: &str, rtype: RecordType, data: RData) {
        self.zone.lock().unwrap().entry((key(name), rtype)).or_default().push(data);
    }

    /// Adds a TXT record, split into 255-byte strings as DNS requires.
    pub fn txt(&self, name: &str, value: &str) {
        let chunks: Vec<String> = value.as_bytes().chunks(255).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        self.add(name, RecordType::TXT, RData::TXT(TXT::new(chunks)));
    }

    pub fn a(&self, name: &str, ip: Ipv4Addr) {
        self.add(name, RecordType::A, RData::A(A(ip)));
    }

    pub fn mx(&self, name: &str, preference: u16, host: &str) {
        self.add(name, RecordType::MX, RData::MX(MX::new(preference, Name::from_ascii(format!("{}.", key(host))).unwrap())));
    }
}
