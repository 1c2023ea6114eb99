//! Real email between real servers: two Mailroom instances on loopback exchanging DKIM-signed
//! mail over SMTP, the inbound listener's reply codes through the real engine, bounces and
//! suppression end to end.

mod common;

use common::dns::TestDns;
use common::smtp::{smtp_dialogue, smtp_send};
use common::*;
use mailroom_client::Method;
use mailroom_core::api::*;
use mailroom_core::*;
use serde_json::json;
use std::net::Ipv4Addr;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts a node hosting `domain` whose SMTP listens on `port`, routing `routes` directly.
async fn node(domain: &str, port: u16, routes: &[(&str, u16)], dns: &TestDns) -> TestApp {
    let routes: Vec<(String, String)> = routes.iter().map(|(d, p)| (d.to_string(), format!("127.0.0.1:{p}"))).collect();
    let dns_addr = dns.addr.to_string();
    let host = format!("mx.{domain}");
    spawn_app_with(move |c| {
        c.hostname = host;
        c.smtp.addr = format!("127.0.0.1:{port}");
        c.delivery.enabled = true;
        c.delivery.routes = routes.into_iter().collect();
        c.delivery.retry_schedule_secs = vec![1];
        c.dns.nameservers = vec![dns_addr];
    })
    .await
}

/// Adds `domain` to the node and publishes its records (DKIM, SPF, DMARC, MX → 127.0.0.1).
async fn host_domain(app: &TestApp, dns: &TestDns, domain: &str) {
    let created = app.admin.raw_request(Method::POST, "/v1/domains", Some(json!({"name": domain})), &[]).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json::<serde_json::Value>().unwrap()["id"].as_str().unwrap().to_string();
    let records: serde_json::Value = app.admin.raw_request(Method::GET, &format!("/v1/domains/{id}/dns"), None, &[]).await.unwrap().json().unwrap();
    let mut kinds = Vec::new();
    for r in records["records"].as_array().unwrap() {
        let (t, name, value) = (r["type"].as_str().unwrap(), r["name"].as_str().unwrap(), r["value"].as_str().unwrap());
        kinds.push(format!("{t} {name}"));
        match t {
            "TXT" => dns.txt(name, value),
            "MX" => {
                let host = value.split_whitespace().nth(1).unwrap();
                dns.mx(name, 10, host);
                dns.a(host, Ipv4Addr::LOCALHOST);
            }
            other => panic!("unexpected record type {other}"),
        }
    }
    assert_eq!(
        kinds,
        vec![
            format!("MX {domain}"),
            format!("TXT {domain}"),
            format!("TXT mailroom-ed25519._domainkey.{domain}"),
            format!("TXT mailroom-rsa._domainkey.{domain}"),
            format!("TXT _dmarc.{domain}"),
        ]
    );
}

async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn inbound(app: &TestApp, mailbox: MailboxId, count: usize) -> Vec<Message> {
    wait_for("inbound mail", || async {
        let page = app.admin.list_messages(mailbox, &MessageQuery { direction: Some("inbound".into()), ..Default::default() }).await.unwrap();
        (page.items.len() >= count).then_some(page.items)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_exchange_dkim_signed_mail_and_keep_threads() {
    let dns = TestDns::start().await;
    let (port_a, port_b) = (free_port(), free_port());
    let a = node("a.test", port_a, &[("b.test", port_b)], &dns).await;
    let b = node("b.test", port_b, &[("a.test", port_a)], &dns).await;
    host_domain(&a, &dns, "a.test").await;
    host_domain(&b, &dns, "b.test").await;
    let alice = a.admin.create_mailbox(&CreateMailboxRequest { username: "alice".into(), domain: Some("a.test".into()), display_name: Some("Alice".into()), ..Default::default() }).await.unwrap();
    let bob = b.admin.create_mailbox(&CreateMailboxRequest { username: "bob".into(), domain: Some("b.test".into()), ..Default::default() }).await.unwrap();

    // A sends to B over SMTP.
    let sent = a.admin.send_message(alice.id, &text_message(&["bob@b.test"], "Across servers", "Hello from A"), None).await.unwrap();
    assert_eq!(sent.recipients[0].status, DeliveryStatus::Queued);
    let got = inbound(&b, bob.id, 1).await;
    let received = &got[0];
    assert_eq!(received.message_id.as_deref(), Some(sent.message_id.as_str()));
    assert_eq!(received.subject.as_deref(), Some("Across servers"));
    let auth = received.auth_results.as_ref().expect("auth results are stored");
    assert_eq!(auth["dkim"], "pass", "{auth}");
    assert_eq!(auth["spf"], "pass", "{auth}");
    assert_eq!(auth["dmarc"], "pass", "{auth}");
    assert_eq!(auth["dkim_domains"], json!(["a.test", "a.test"]), "both the Ed25519 and the RSA signature verify");
    let raw = String::from_utf8(b.admin.get_raw_message(received.id).await.unwrap().to_vec()).unwrap();
    assert_eq!(raw.matches("DKIM-Signature:").count(), 2);
    assert!(raw.contains("a=ed25519-sha256") && raw.contains("a=rsa-sha256"));
    wait_for("A's recipient to be delivered", || async {
        let m = a.admin.get_message(sent.id).await.unwrap();
        (m.recipients[0].status == DeliveryStatus::Delivered).then_some(m)
    })
    .await;

    // B replies through the API; the reply lands in A's original thread.
    let reply = b.admin.reply(received.id, &ReplyRequest { text: Some("Hello back from B".into()), ..Default::default() }, None).await.unwrap();
    assert_eq!(reply.thread_id, received.thread_id);
    let back = inbound(&a, alice.id, 1).await;
    assert_eq!(back[0].thread_id, sent.thread_id, "the reply joins the original thread on A");
    assert_eq!(back[0].in_reply_to.as_deref(), Some(sent.message_id.as_str()));
    assert_eq!(back[0].auth_results.as_ref().unwrap()["dkim"], "pass");
    let thread = a.admin.get_thread(sent.thread_id).await.unwrap();
    assert_eq!(thread.messages.len(), 2);
    assert_eq!(thread.messages[1].text.as_deref().map(str::trim), Some("Hello back from B"));

    // Mail claiming to be from a.test but not signed by it fails DKIM and DMARC on B.
    let forged = "From: alice@a.test\r\nTo: bob@b.test\r\nSubject: forged\r\nMessage-ID: <forged@a.test>\r\n\r\nnot really alice\r\n";
    let replies = smtp_send(b.server.as_ref().unwrap().smtp_addr.unwrap(), "evil@elsewhere.test", &["bob@b.test"], forged).await;
    assert!(replies.last().unwrap().starts_with("250"), "{replies:?}");
    let all = inbound(&b, bob.id, 2).await;
    let forged = all.iter().find(|m| m.subject.as_deref() == Some("forged")).unwrap();
    let auth = forged.auth_results.as_ref().unwrap();
    assert_eq!(auth["dkim"], "none");
    assert_eq!(auth["dmarc"], "fail", "{auth}");
}

#[tokio::test]
async fn the_listener_accepts_only_hosted_mailboxes_and_labels_plus_tags() {
    let dns = TestDns::start().await;
    let app = spawn_app_with(|c| c.dns.nameservers = vec![dns.addr.to_string()]).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let agent = mailbox(&app.admin, "agent").await;
    let cmd = |s: &str| s.to_string();

    let r = smtp_dialogue(smtp, &[cmd("EHLO c.test"), cmd("MAIL FROM:<x@sender.test>"), cmd("RCPT TO:<nobody@mailroom.localhost>"), cmd("RCPT TO:<someone@gmail.com>"), cmd("RCPT TO:<agent+invoices@mailroom.localhost>"), cmd("DATA")], Some("Subject: tagged\r\nMessage-ID: <t1@sender.test>\r\n\r\nhi\r\n")).await;
    assert!(r[0].starts_with("220"), "{r:?}");
    assert!(r[1].contains("PIPELINING") && r[1].contains("STARTTLS") && r[1].contains("SIZE"), "{r:?}");
    assert!(r[3].starts_with("550 5.1.1"), "unknown mailbox: {r:?}");
    assert!(r[4].starts_with("550 5.7.1"), "no open relay: {r:?}");
    assert!(r[5].starts_with("250"), "{r:?}");
    assert!(r[7].starts_with("250"), "{r:?}");
    let got = inbound(&app, agent.id, 1).await;
    assert_eq!(got[0].labels, vec!["invoices"], "plus-addressing delivers to the base mailbox with the tag as a label");
    assert_eq!(got[0].subject.as_deref(), Some("tagged"));
    let events = app.admin.list_events(None, Some(1000)).await.unwrap();
    assert!(events.items.iter().any(|e| e.event_type == "message.received" && e.mailbox_id == Some(agent.id)));
}

/// A server answering DNS from `dns`, set further by `edit` (its database, for the tests run on
/// both).
async fn app_on(dns: &TestDns, edit: impl FnOnce(&mut mailroom::config::Config)) -> TestApp {
    let nameserver = dns.addr.to_string();
    spawn_app_with(move |c| {
        c.dns.nameservers = vec![nameserver];
        edit(c);
    })
    .await
}

/// Runs `$body` (taking a config edit) as two tests: on SQLite, and on a fresh PostgreSQL
/// database when `MAILROOM_TEST_POSTGRES_URL` is set.
macro_rules! on_sqlite_and_postgres {
    ($body:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $body(|_| {}).await;
        }

        #[tokio::test]
        async fn $postgres() {
            common::pg::with_database(stringify!($postgres), |url| async move {
                $body(move |c| c.database_url = url).await;
            })
            .await;
        }
    };
}

/// A client that lost our `250` sends the same message again: the mailbox keeps one copy and
/// the log one `message.received`, and the second delivery is answered `250` with the first
/// copy's id; a different message to the same mailbox is stored beside it. The store's unique
/// Message-ID index decides (nothing is read before the write), on both databases.
async fn a_redelivered_message_is_stored_once(edit: impl FnOnce(&mut mailroom::config::Config)) {
    let dns = TestDns::start().await;
    let app = app_on(&dns, edit).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let agent = mailbox(&app.admin, "again").await;
    let first = "Subject: twice\r\nMessage-ID: <same@sender.test>\r\n\r\nhello\r\n";
    let mut accepted = Vec::new();
    for _ in 0..3 {
        let r = smtp_send(smtp, "x@sender.test", &["again@mailroom.localhost"], first).await;
        let last = r.last().unwrap().clone();
        assert!(last.starts_with("250"), "{r:?}");
        accepted.push(last);
    }
    assert!(accepted.iter().all(|a| a == &accepted[0]), "every delivery is answered with the first copy's id: {accepted:?}");
    let other = "Subject: other\r\nMessage-ID: <other@sender.test>\r\n\r\nhello\r\n";
    assert!(smtp_send(smtp, "x@sender.test", &["again@mailroom.localhost"], other).await.last().unwrap().starts_with("250"));
    let got = inbound(&app, agent.id, 2).await;
    let mut ids: Vec<&str> = got.iter().filter_map(|m| m.message_id.as_deref()).collect();
    ids.sort();
    assert_eq!(ids, vec!["other@sender.test", "same@sender.test"]);
    let events = app.admin.list_events(None, Some(1000)).await.unwrap();
    let received: Vec<_> = events.items.iter().filter(|e| e.event_type == "message.received" && e.mailbox_id == Some(agent.id)).collect();
    assert_eq!(received.len(), 2, "one event per stored copy: {received:?}");
    app.server.unwrap().shutdown().await;
}

on_sqlite_and_postgres!(a_redelivered_message_is_stored_once, a_redelivered_message_is_stored_once_on_sqlite, a_redelivered_message_is_stored_once_on_postgres);

/// What RCPT found is used at DATA, so a mailbox deleted in between is noticed when its copy
/// is written: that copy is skipped, the message is stored for the other recipient and answered
/// `250`, as when the mailbox was gone before DATA began.
async fn a_mailbox_deleted_between_rcpt_and_data_is_skipped(edit: impl FnOnce(&mut mailroom::config::Config)) {
    use tokio::io::{AsyncWriteExt, BufReader};
    let dns = TestDns::start().await;
    let app = app_on(&dns, edit).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let stays = mailbox(&app.admin, "stays").await;
    let goes = mailbox(&app.admin, "goes").await;
    let stream = tokio::net::TcpStream::connect(smtp).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    assert!(common::smtp::read_reply(&mut r).await.unwrap_or_default().starts_with("220"));
    let mut replies = Vec::new();
    for command in ["EHLO client.test", "MAIL FROM:<x@sender.test>", "RCPT TO:<stays@mailroom.localhost>", "RCPT TO:<goes@mailroom.localhost>"] {
        w.write_all(format!("{command}\r\n").as_bytes()).await.unwrap();
        replies.push(common::smtp::read_reply(&mut r).await.unwrap_or_default());
    }
    assert!(replies.iter().all(|r| r.starts_with("250")), "{replies:?}");
    app.admin.delete_mailbox(goes.id).await.unwrap();
    w.write_all(b"DATA\r\n").await.unwrap();
    let go = common::smtp::read_reply(&mut r).await.unwrap_or_default();
    assert!(go.starts_with("354"), "{go}");
    w.write_all(b"Subject: after the delete\r\nMessage-ID: <deleted@sender.test>\r\n\r\nhello\r\n.\r\n").await.unwrap();
    let done = common::smtp::read_reply(&mut r).await.unwrap_or_default();
    assert!(done.starts_with("250"), "stored for the mailbox that stays: {done}");
    let got = inbound(&app, stays.id, 1).await;
    assert_eq!(got[0].subject.as_deref(), Some("after the delete"));
    let events = app.admin.list_events(None, Some(1000)).await.unwrap();
    assert!(
        !events.items.iter().any(|e| e.event_type == "message.received" && e.mailbox_id == Some(goes.id)),
        "nothing is stored for the deleted mailbox"
    );
    w.write_all(b"QUIT\r\n").await.unwrap();
    app.server.unwrap().shutdown().await;
}

on_sqlite_and_postgres!(
    a_mailbox_deleted_between_rcpt_and_data_is_skipped,
    a_mailbox_deleted_between_rcpt_and_data_is_skipped_on_sqlite,
    a_mailbox_deleted_between_rcpt_and_data_is_skipped_on_postgres
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_peer_bounces_and_suppresses_then_sends_are_refused() {
    let dns = TestDns::start().await;
    // A peer that refuses every recipient.
    let sink = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        loop {
            let Ok((s, _)) = sink.accept().await else { return };
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 refuser ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") {
                        b"250-refuser\r\n250 PIPELINING\r\n"
                    } else if upper.starts_with("RCPT") {
                        b"550 5.1.1 <gone@refuse.test>: Recipient address rejected: User unknown\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else if upper.starts_with("DATA") {
                        b"554 5.5.1 no valid recipients\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    if w.write_all(answer).await.is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    let app = spawn_app_with(|c| {
        c.delivery.enabled = true;
        c.delivery.routes = [("refuse.test".to_string(), format!("127.0.0.1:{sink_port}"))].into();
        c.dns.nameservers = vec![dns.addr.to_string()];
    })
    .await;
    let a = mailbox(&app.admin, "sender").await;
    let sent = app.admin.send_message(a.id, &text_message(&["gone@refuse.test"], "hello?", "anyone"), None).await.unwrap();
    let m = wait_for("the bounce", || async {
        let m = app.admin.get_message(sent.id).await.unwrap();
        (m.recipients[0].status == DeliveryStatus::Bounced).then_some(m)
    })
    .await;
    assert!(m.recipients[0].last_reply.as_deref().unwrap().starts_with("550 5.1.1"));
    let supp = app.admin.raw_request(Method::GET, "/v1/suppressions", None, &[]).await.unwrap();
    let supp: serde_json::Value = supp.json().unwrap();
    assert_eq!(supp["items"][0]["address"], "gone@refuse.test");
    assert_eq!(supp["items"][0]["reason"], "hard_bounce");
    let events = app.admin.list_events(None, Some(1000)).await.unwrap();
    assert!(events.items.iter().any(|e| e.event_type == "message.bounced"));
    // The next send is refused before anything is queued.
    assert_api_error(app.admin.send_message(a.id, &text_message(&["gone@refuse.test"], "again", "x"), None).await, 422, "recipient_suppressed");
    // Removing the suppression allows sending again.
    let del = app.admin.raw_request(Method::DELETE, "/v1/suppressions/gone@refuse.test", None, &[]).await.unwrap();
    assert_eq!(del.status, 204);
    app.admin.send_message(a.id, &text_message(&["gone@refuse.test"], "again", "x"), None).await.unwrap();
}
