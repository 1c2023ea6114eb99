//! Nothing acknowledged is lost: SIGKILL the server while many SMTP sessions deliver, restart
//! it, and every message that received `250` is stored exactly once. The same under API sends
//! to a local mailbox: every send answered `202` is stored, with its delivered copy, once.

mod common;

use common::dns::TestDns;
use common::process::{serve_env, stop};
use common::smtp::read_reply as reply;
use mailroom_client::Client;
use mailroom_core::api::{CreateMailboxRequest, MessageQuery, SendMessageRequest};
use mailroom_core::{Direction, MailboxId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};

const SESSIONS: usize = 20;

/// One client session sending messages until the server dies or `stop` is set; returns the
/// Message-IDs that got `250` after DATA.
async fn client(addr: std::net::SocketAddr, session: usize, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut acked = Vec::new();
    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else { return acked };
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    if reply(&mut r).await.is_none() || w.write_all(b"EHLO load.test\r\n").await.is_err() || reply(&mut r).await.is_none() {
        return acked;
    }
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("s{session}-m{n}@load.test");
        let message = format!(
            "MAIL FROM:<load@load.test>\r\nRCPT TO:<sink@mailroom.localhost>\r\nDATA\r\n\
             From: load@load.test\r\nTo: sink@mailroom.localhost\r\nSubject: load {session}/{n}\r\nMessage-ID: <{id}>\r\n\r\n{}\r\n.\r\n",
            "x".repeat(2000)
        );
        if w.write_all(message.as_bytes()).await.is_err() {
            break;
        }
        // PIPELINING: three replies for MAIL, RCPT, DATA, then the final one.
        let mut ok = true;
        for _ in 0..3 {
            match reply(&mut r).await {
                Some(rep) if rep.starts_with('2') || rep.starts_with('3') => {}
                _ => ok = false,
            }
        }
        match reply(&mut r).await {
            Some(rep) if ok && rep.starts_with("250") => acked.push(id),
            _ => break,
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_message_and_stores_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    // SPF/DKIM/DMARC lookups go to a local zone (there is no other DNS here).
    let dns = TestDns::start().await;
    let dns_addr = dns.addr.to_string();
    let env = [("MAILROOM_DNS_NAMESERVERS", dns_addr.as_str())];
    let served = serve_env(dir.path(), &[], &env);
    let key = std::fs::read_to_string(dir.path().join("admin-api-key")).unwrap().trim().to_string();
    let api = Client::new(&served.url, key.clone()).unwrap();
    let sink = api.create_mailbox(&CreateMailboxRequest { username: "sink".into(), ..Default::default() }).await.unwrap();
    let smtp = served.smtp.unwrap();

    let stop_flag = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..SESSIONS).map(|s| tokio::spawn(client(smtp, s, stop_flag.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    served.kill();
    stop_flag.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(acked.len() > 20, "the load ran before the kill ({} acknowledged)", acked.len());

    let served = serve_env(dir.path(), &[], &env);
    let api = Client::new(&served.url, key).unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut cursor = None;
    loop {
        let page = api.list_messages(sink.id, &MessageQuery { cursor: cursor.clone(), limit: Some(100), ..Default::default() }).await.unwrap();
        for m in &page.items {
            *counts.entry(m.message_id.clone().unwrap_or_default()).or_default() += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let missing: Vec<_> = acked.iter().filter(|id| !counts.contains_key(*id)).collect();
    assert!(missing.is_empty(), "{} acknowledged messages were lost: {:?}", missing.len(), &missing[..missing.len().min(5)]);
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "stored twice: {doubled:?}");
    let unacked_but_stored = counts.len() - acked.len();
    eprintln!("crash test: {} acknowledged, all stored once; {} in flight at the kill were stored too (allowed)", acked.len(), unacked_but_stored);
    assert!(unacked_but_stored <= SESSIONS, "at most one message per session can be in flight");
    stop(served);
}

/// One API client sending to a local mailbox until the server dies or `stop` is set, each send
/// with its own `Idempotency-Key`; returns the subjects answered `202` and the one in flight
/// when the connection failed (its key is retried after the restart).
async fn api_client(api: Client, from: MailboxId, to: String, client: usize, stop: Arc<AtomicBool>) -> (Vec<String>, Option<String>) {
    let mut acked = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let subject = format!("c{client}-m{n}");
        let req = SendMessageRequest { to: vec![to.clone()], subject: subject.clone(), text: Some("x".repeat(500)), ..Default::default() };
        match api.send_message(from, &req, Some(&subject)).await {
            Ok(_) => acked.push(subject),
            Err(_) => return (acked, Some(subject)),
        }
    }
    (acked, None)
}

/// Counts a mailbox's messages of `direction` by subject.
async fn subjects(api: &Client, mailbox: MailboxId, direction: Direction) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut cursor = None;
    loop {
        let query = MessageQuery { cursor: cursor.clone(), limit: Some(100), direction: Some(direction.as_str().into()), ..Default::default() };
        let page = api.list_messages(mailbox, &query).await.unwrap();
        for m in &page.items {
            *counts.entry(m.subject.clone().unwrap_or_default()).or_default() += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return counts,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_api_sends_loses_no_acknowledged_send_and_delivers_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve_env(dir.path(), &[], &[]);
    let key = std::fs::read_to_string(dir.path().join("admin-api-key")).unwrap().trim().to_string();
    let api = Client::new(&served.url, key.clone()).unwrap();
    let agent = api.create_mailbox(&CreateMailboxRequest { username: "agent".into(), ..Default::default() }).await.unwrap();
    let inbox = api.create_mailbox(&CreateMailboxRequest { username: "inbox".into(), ..Default::default() }).await.unwrap();
    let to = inbox.address.to_string();

    let stop_flag = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..SESSIONS)
        .map(|c| tokio::spawn(api_client(Client::new(&served.url, key.clone()).unwrap(), agent.id, to.clone(), c, stop_flag.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    served.kill();
    stop_flag.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut in_flight = Vec::new();
    for t in tasks {
        let (a, f) = t.await.unwrap();
        acked.extend(a);
        in_flight.extend(f);
    }
    assert!(acked.len() > 20, "the load ran before the kill ({} acknowledged)", acked.len());

    let served = serve_env(dir.path(), &[], &[]);
    let api = Client::new(&served.url, key).unwrap();
    let sent = subjects(&api, agent.id, Direction::Outbound).await;
    let received = subjects(&api, inbox.id, Direction::Inbound).await;
    let missing: Vec<_> = acked.iter().filter(|s| sent.get(*s) != Some(&1) || received.get(*s) != Some(&1)).collect();
    assert!(missing.is_empty(), "{} acknowledged sends were lost or doubled: {:?}", missing.len(), &missing[..missing.len().min(5)]);
    // A send is stored whole or not at all: the sender's copy and the delivered copy together.
    assert_eq!(sent, received, "every stored send has its delivered copy, once");
    let unacked_but_stored = sent.len() - acked.len();
    assert!(unacked_but_stored <= SESSIONS, "at most one send per client can be in flight");

    // Retrying the sends in flight with their keys sends each once: a replay if it was stored.
    for subject in &in_flight {
        let req = SendMessageRequest { to: vec![to.clone()], subject: subject.clone(), text: Some("x".repeat(500)), ..Default::default() };
        api.send_message(agent.id, &req, Some(subject)).await.unwrap();
    }
    let sent = subjects(&api, agent.id, Direction::Outbound).await;
    let received = subjects(&api, inbox.id, Direction::Inbound).await;
    assert!(sent.values().all(|n| *n == 1), "a retried send is not sent twice");
    assert_eq!(sent, received);
    assert!(in_flight.iter().all(|s| sent.contains_key(s)), "every retried send is stored");
    eprintln!(
        "crash test (API): {} acknowledged, all stored once with their copies; {} in flight at the kill were stored too; {} retried",
        acked.len(),
        unacked_but_stored,
        in_flight.len()
    );
    stop(served);
}
