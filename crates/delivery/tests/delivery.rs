//! The outbound queue against real sockets: a scripted SMTP server on 127.0.0.1, a SQLite
//! store in a temporary file, and the worker driven one round at a time with `run_once`.

mod support;

use mailroom_core::event_types::*;
use mailroom_core::*;
use mailroom_delivery::{DeliveryConfig, DkimKeyMaterial, LocalOutcome, RelayConfig, TlsMode};
use std::sync::Arc;
use std::time::Duration;
use support::smtp::{Reply, ServerOptions, Step, TestSmtp, self_signed_tls};
use support::*;

fn responder(f: impl Fn(usize, &Step) -> Reply + Send + Sync + 'static) -> support::smtp::Responder {
    Arc::new(f)
}

fn text(s: &str) -> Reply {
    Reply::Text(s.to_string())
}

fn events_of(events: &[(String, serde_json::Value)], kind: &str) -> Vec<serde_json::Value> {
    events.iter().filter(|(t, _)| t == kind).map(|(_, d)| d.clone()).collect()
}

#[tokio::test]
async fn a_static_route_delivers_and_records_the_reply() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions::default()).await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let d = h.deliverer(TestHooks::none(), config(&[("remote.test", server.port())]));

    assert_eq!(d.run_once().await.expect("run_once"), 1);

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "agent@mailroom.test");
    assert_eq!(received[0].rcpt_to, ["bob@remote.test"]);
    assert_eq!(received[0].helo, "sender.mailroom.test");
    assert_eq!(received[0].data, h.raw(&msg).await, "unsigned mail arrives byte for byte (dots unstuffed)");

    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Delivered);
    assert_eq!(r.last_reply.as_deref(), Some("250 2.0.0 Ok: queued as T0"));
    assert_eq!(r.attempts, 1);
    assert_eq!(r.next_attempt_at, None);

    let events = h.delivery_events().await;
    assert_eq!(events.len(), 1);
    let (kind, data) = &events[0];
    assert_eq!(kind, MESSAGE_DELIVERED);
    assert_eq!(data["message_id"], serde_json::json!(msg.id));
    assert_eq!(data["mailbox_id"], serde_json::json!(msg.mailbox_id));
    assert_eq!(data["thread_id"], serde_json::json!(msg.thread_id));
    assert_eq!(data["recipient"], "bob@remote.test");
    assert_eq!(data["status"], "delivered");
    assert_eq!(data["last_reply"], "250 2.0.0 Ok: queued as T0");
    assert_eq!(data["attempts"], 1);

    assert_eq!(d.run_once().await.expect("run_once"), 0, "nothing is left to deliver");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_temporary_failure_is_deferred_on_the_schedule_then_delivered() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|conn, step| match step {
            Step::Rcpt(_) if conn == 0 => text("451 4.7.1 Greylisted, try again later"),
            _ => Reply::Default,
        }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = config(&[("remote.test", server.port())]);
    let first_delay = cfg.retry_schedule[0];
    let d = h.deliverer(TestHooks::none(), cfg);

    let before = now();
    assert_eq!(d.run_once().await.unwrap(), 1);
    let after = now();
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert_eq!(r.attempts, 1);
    assert_eq!(r.last_reply.as_deref(), Some("451 4.7.1 Greylisted, try again later"));
    assert_due(r.next_attempt_at.expect("a retry time"), before, after, first_delay);
    assert!(server.received().is_empty());

    assert_eq!(d.run_once().await.unwrap(), 0, "not due yet");
    tokio::time::sleep(first_delay + Duration::from_millis(50)).await;
    assert_eq!(d.run_once().await.unwrap(), 1);

    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Delivered);
    assert_eq!(r.attempts, 2);
    assert_eq!(r.next_attempt_at, None);
    assert_eq!(server.received().len(), 1);
    assert_eq!(server.received()[0].connection, 1);

    let events = h.delivery_events().await;
    let kinds: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(kinds, [MESSAGE_DEFERRED, MESSAGE_DELIVERED]);
    assert_eq!(events[0].1["attempts"], 1);
    assert_eq!(events[0].1["status"], "deferred");
    assert_eq!(events[1].1["attempts"], 2);
}

#[tokio::test]
async fn the_second_failure_waits_for_the_second_step_of_the_schedule() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|_, step| match step {
            Step::Mail(_) => text("421 4.3.2 Service not available"),
            _ => Reply::Default,
        }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = config(&[("remote.test", server.port())]);
    let (first, second) = (cfg.retry_schedule[0], cfg.retry_schedule[1]);
    let d = h.deliverer(TestHooks::none(), cfg);

    d.run_once().await.unwrap();
    tokio::time::sleep(first + Duration::from_millis(50)).await;
    let before = now();
    assert_eq!(d.run_once().await.unwrap(), 1);
    let after = now();
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert_eq!(r.attempts, 2);
    assert_eq!(r.last_reply.as_deref(), Some("421 4.3.2 Service not available"));
    assert_due(r.next_attempt_at.unwrap(), before, after, second);
}

#[tokio::test]
async fn a_permanent_refusal_bounces_and_suppresses_the_address() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|_, step| match step {
            Step::Rcpt(_) => text("550 5.1.1 <Nobody@remote.test>: Recipient address rejected: User unknown"),
            _ => Reply::Default,
        }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["Nobody@remote.test"]).await;
    let d = h.deliverer(TestHooks::none(), config(&[("remote.test", server.port())]));

    assert_eq!(d.run_once().await.unwrap(), 1);

    let reply = "550 5.1.1 <Nobody@remote.test>: Recipient address rejected: User unknown";
    let r = h.recipient(&msg, "Nobody@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Bounced);
    assert_eq!(r.last_reply.as_deref(), Some(reply));
    assert_eq!(r.attempts, 1);
    assert!(server.received().is_empty());
    assert!(!server.commands().iter().any(|(_, c)| c == "DATA"), "no DATA without an accepted recipient");

    let s = h.store.get_suppression(h.site.id, "nobody@remote.test").await.unwrap().expect("a suppression");
    assert_eq!(s.reason, "hard_bounce");
    assert_eq!(s.detail.as_deref(), Some(reply));
    assert_eq!(s.address.as_str(), "nobody@remote.test");

    let events = h.delivery_events().await;
    let kinds: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(kinds, [MESSAGE_BOUNCED, SUPPRESSION_CREATED]);
    assert_eq!(events[0].1["status"], "bounced");
    assert_eq!(events[0].1["last_reply"], reply);
    assert_eq!(events[1].1["address"], "nobody@remote.test");
    assert_eq!(events[1].1["reason"], "hard_bounce");

    assert_eq!(d.run_once().await.unwrap(), 0, "a bounce is final");
}

#[tokio::test]
async fn a_refused_message_bounces_without_suppressing_anyone() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|_, step| match step {
            Step::EndOfData => text("554 5.7.1 Message rejected as spam"),
            _ => Reply::Default,
        }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let d = h.deliverer(TestHooks::none(), config(&[("remote.test", server.port())]));
    d.run_once().await.unwrap();

    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Bounced);
    assert_eq!(r.last_reply.as_deref(), Some("554 5.7.1 Message rejected as spam"));
    assert!(h.store.get_suppression(h.site.id, "bob@remote.test").await.unwrap().is_none());
    let kinds: Vec<String> = h.delivery_events().await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(kinds, [MESSAGE_BOUNCED]);
}

#[tokio::test]
async fn recipients_of_one_domain_share_a_transaction_with_their_own_outcomes() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|_, step| match step {
            Step::Rcpt(a) if a.starts_with("grey") => text("450 4.2.1 Mailbox busy"),
            Step::Rcpt(a) if a.starts_with("gone") => text("550 5.1.1 No such user"),
            _ => Reply::Default,
        }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["ok@remote.test", "grey@remote.test", "gone@remote.test", "also-ok@remote.test"]).await;
    let d = h.deliverer(TestHooks::none(), config(&[("remote.test", server.port())]));

    assert_eq!(d.run_once().await.unwrap(), 4);
    assert_eq!(server.connections(), 1, "one connection");
    let mails = server.commands().iter().filter(|(_, c)| c.starts_with("MAIL FROM")).count();
    assert_eq!(mails, 1, "one transaction");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["ok@remote.test", "also-ok@remote.test"]);

    assert_eq!(h.recipient(&msg, "ok@remote.test").await.status, DeliveryStatus::Delivered);
    assert_eq!(h.recipient(&msg, "also-ok@remote.test").await.status, DeliveryStatus::Delivered);
    let grey = h.recipient(&msg, "grey@remote.test").await;
    assert_eq!(grey.status, DeliveryStatus::Deferred);
    assert_eq!(grey.last_reply.as_deref(), Some("450 4.2.1 Mailbox busy"));
    let gone = h.recipient(&msg, "gone@remote.test").await;
    assert_eq!(gone.status, DeliveryStatus::Bounced);
    assert_eq!(gone.last_reply.as_deref(), Some("550 5.1.1 No such user"));

    assert!(h.store.get_suppression(h.site.id, "gone@remote.test").await.unwrap().is_some());
    assert!(h.store.get_suppression(h.site.id, "grey@remote.test").await.unwrap().is_none());
    let events = h.delivery_events().await;
    assert_eq!(events_of(&events, MESSAGE_DELIVERED).len(), 2);
    assert_eq!(events_of(&events, MESSAGE_DEFERRED).len(), 1);
    assert_eq!(events_of(&events, MESSAGE_BOUNCED).len(), 1);
    assert_eq!(events_of(&events, SUPPRESSION_CREATED).len(), 1);
}

#[tokio::test]
async fn recipients_on_different_routes_get_separate_transactions() {
    let h = Harness::new().await;
    let a = TestSmtp::start(ServerOptions::default()).await;
    let b = TestSmtp::start(ServerOptions::default()).await;
    let msg = h.queue(&["x@a.test", "y@b.test", "z@a.test"]).await;
    let d = h.deliverer(TestHooks::none(), config(&[("a.test", a.port()), ("b.test", b.port())]));
    assert_eq!(d.run_once().await.unwrap(), 3);
    assert_eq!(a.received().len(), 1);
    assert_eq!(a.received()[0].rcpt_to, ["x@a.test", "z@a.test"]);
    assert_eq!(b.received()[0].rcpt_to, ["y@b.test"]);
    for addr in ["x@a.test", "y@b.test", "z@a.test"] {
        assert_eq!(h.recipient(&msg, addr).await.status, DeliveryStatus::Delivered);
    }
}

#[tokio::test]
async fn a_temporary_failure_after_the_retry_period_fails_the_recipient() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|_, step| match step {
            Step::Rcpt(_) => text("451 4.3.0 Temporary lookup failure"),
            _ => Reply::Default,
        }),
        ..ServerOptions::default()
    })
    .await;
    // Queued six days ago; the default retry period is five days.
    let msg = h.queue_at(&["bob@remote.test"], now() - chrono::Duration::days(6)).await;
    let cfg = DeliveryConfig { give_up_after: DeliveryConfig::default().give_up_after, ..config(&[("remote.test", server.port())]) };
    let d = h.deliverer(TestHooks::none(), cfg);

    assert_eq!(d.run_once().await.unwrap(), 1);
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Failed);
    assert_eq!(r.last_reply.as_deref(), Some("451 4.3.0 Temporary lookup failure"));
    assert_eq!(r.next_attempt_at, None);
    assert_eq!(r.attempts, 1);
    let events = h.delivery_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, MESSAGE_FAILED);
    assert_eq!(events[0].1["status"], "failed");
    assert_eq!(d.run_once().await.unwrap(), 0, "failed is final");
}

#[tokio::test]
async fn the_last_retry_is_scheduled_at_the_end_of_the_retry_period() {
    let h = Harness::new().await;
    let port = closed_port().await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = DeliveryConfig {
        retry_schedule: vec![Duration::from_secs(3600)],
        give_up_after: Duration::from_secs(600),
        ..config(&[("remote.test", port)])
    };
    let d = h.deliverer(TestHooks::none(), cfg);
    d.run_once().await.unwrap();
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert_eq!(r.next_attempt_at, Some(msg.created_at + chrono::Duration::seconds(600)));
}

#[tokio::test]
async fn a_refused_connection_is_deferred() {
    let h = Harness::new().await;
    let port = closed_port().await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let d = h.deliverer(TestHooks::none(), config(&[("remote.test", port)]));
    assert_eq!(d.run_once().await.unwrap(), 1);
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert_eq!(r.attempts, 1);
    let reply = r.last_reply.unwrap();
    assert!(reply.starts_with("4.4.1 connection to 127.0.0.1"), "{reply}");
    assert!(reply.contains("refused"), "{reply}");
    assert_eq!(h.delivery_events().await[0].0, MESSAGE_DEFERRED);
}

#[tokio::test]
async fn a_server_that_never_greets_is_deferred_after_the_connect_timeout() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|_, step| if *step == Step::Banner { Reply::Hang } else { Reply::Default }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = DeliveryConfig { connect_timeout: Duration::from_millis(300), ..config(&[("remote.test", server.port())]) };
    let d = h.deliverer(TestHooks::none(), cfg);
    let started = std::time::Instant::now();
    d.run_once().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert!(r.last_reply.as_deref().unwrap().contains("timed out"), "{:?}", r.last_reply);
}

fn relay(port: u16, tls: TlsMode, user: &str, password: &str) -> RelayConfig {
    RelayConfig { host: "localhost".into(), port, tls, username: Some(user.into()), password: Some(password.into()) }
}

#[tokio::test]
async fn the_relay_gets_all_remote_mail_with_auth_plain_over_starttls() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        starttls: Some(self_signed_tls()),
        auth: Some(("relay-user".into(), "s3cret".into())),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@one.test", "carol@two.test"]).await;
    let cfg = DeliveryConfig {
        relay: Some(relay(server.port(), TlsMode::StartTls, "relay-user", "s3cret")),
        allow_invalid_certs: true,
        ..config(&[])
    };
    let d = h.deliverer(TestHooks::none(), cfg);
    assert_eq!(d.run_once().await.unwrap(), 2);

    let received = server.received();
    assert_eq!(received.len(), 1, "one transaction for both domains through the relay");
    assert!(received[0].tls, "the session was upgraded with STARTTLS");
    assert_eq!(received[0].auth_user.as_deref(), Some("relay-user"));
    assert_eq!(received[0].rcpt_to, ["bob@one.test", "carol@two.test"]);
    let commands = server.commands();
    assert!(commands.iter().any(|(_, c)| c.starts_with("AUTH PLAIN")), "{commands:?}");
    assert!(!commands.iter().any(|(_, c)| c.contains("s3cret")), "credentials never travel in clear");
    assert_eq!(h.recipient(&msg, "bob@one.test").await.status, DeliveryStatus::Delivered);
    assert_eq!(h.recipient(&msg, "carol@two.test").await.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn a_static_route_overrides_the_relay() {
    let h = Harness::new().await;
    let relay_server = TestSmtp::start(ServerOptions::default()).await;
    let routed = TestSmtp::start(ServerOptions::default()).await;
    h.queue(&["bob@routed.test", "carol@elsewhere.test"]).await;
    let cfg = DeliveryConfig {
        relay: Some(RelayConfig { host: "127.0.0.1".into(), port: relay_server.port(), tls: TlsMode::None, username: None, password: None }),
        ..config(&[("routed.test", routed.port())])
    };
    h.deliverer(TestHooks::none(), cfg).run_once().await.unwrap();
    assert_eq!(routed.received()[0].rcpt_to, ["bob@routed.test"]);
    assert_eq!(relay_server.received()[0].rcpt_to, ["carol@elsewhere.test"]);
}

#[tokio::test]
async fn a_refused_relay_login_defers_instead_of_bouncing() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        starttls: Some(self_signed_tls()),
        auth: Some(("relay-user".into(), "s3cret".into())),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@one.test"]).await;
    let cfg = DeliveryConfig {
        relay: Some(relay(server.port(), TlsMode::StartTls, "relay-user", "wrong")),
        allow_invalid_certs: true,
        ..config(&[])
    };
    h.deliverer(TestHooks::none(), cfg).run_once().await.unwrap();
    let r = h.recipient(&msg, "bob@one.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    let reply = r.last_reply.unwrap();
    assert!(reply.contains("535 5.7.8"), "{reply}");
    assert!(h.store.get_suppression(h.site.id, "bob@one.test").await.unwrap().is_none());
}

#[tokio::test]
async fn required_tls_is_deferred_when_unavailable_or_untrusted() {
    let h = Harness::new().await;
    // No STARTTLS offered.
    let plain = TestSmtp::start(ServerOptions::default()).await;
    let msg = h.queue(&["bob@one.test"]).await;
    let cfg = DeliveryConfig {
        relay: Some(RelayConfig { host: "127.0.0.1".into(), port: plain.port(), tls: TlsMode::StartTls, username: None, password: None }),
        ..config(&[])
    };
    h.deliverer(TestHooks::none(), cfg).run_once().await.unwrap();
    let r = h.recipient(&msg, "bob@one.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert!(r.last_reply.as_deref().unwrap().contains("does not offer STARTTLS"), "{:?}", r.last_reply);
    assert!(plain.received().is_empty());

    // A self-signed certificate, verified for real.
    let h = Harness::new().await;
    let tls = TestSmtp::start(ServerOptions { implicit_tls: Some(self_signed_tls()), ..ServerOptions::default() }).await;
    let msg = h.queue(&["bob@one.test"]).await;
    let cfg = DeliveryConfig {
        relay: Some(RelayConfig { host: "localhost".into(), port: tls.port(), tls: TlsMode::Implicit, username: None, password: None }),
        allow_invalid_certs: false,
        ..config(&[])
    };
    h.deliverer(TestHooks::none(), cfg).run_once().await.unwrap();
    let r = h.recipient(&msg, "bob@one.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert!(r.last_reply.as_deref().unwrap().contains("TLS"), "{:?}", r.last_reply);
    assert!(tls.received().is_empty());
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        implicit_tls: Some(self_signed_tls()),
        auth: Some(("u".into(), "p".into())),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = DeliveryConfig { relay: Some(relay(server.port(), TlsMode::Implicit, "u", "p")), allow_invalid_certs: true, ..config(&[]) };
    h.deliverer(TestHooks::none(), cfg).run_once().await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
    assert_eq!(received[0].auth_user.as_deref(), Some("u"));
    assert_eq!(received[0].data, h.raw(&msg).await);
    assert_eq!(h.recipient(&msg, "bob@remote.test").await.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn static_routes_upgrade_opportunistically_to_starttls() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions { starttls: Some(self_signed_tls()), ..ServerOptions::default() }).await;
    let msg = h.queue(&["bob@remote.test"]).await;
    // No allow_invalid_certs: opportunistic TLS does not verify the certificate.
    h.deliverer(TestHooks::none(), config(&[("remote.test", server.port())])).run_once().await.unwrap();
    assert!(server.received()[0].tls);
    assert_eq!(h.recipient(&msg, "bob@remote.test").await.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn a_broken_starttls_falls_back_to_plain_text_when_tls_is_opportunistic() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions { broken_starttls: true, ..ServerOptions::default() }).await;
    let msg = h.queue(&["bob@remote.test"]).await;
    h.deliverer(TestHooks::none(), config(&[("remote.test", server.port())])).run_once().await.unwrap();
    assert_eq!(server.connections(), 2, "the second connection skips STARTTLS");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(!received[0].tls);
    assert_eq!(h.recipient(&msg, "bob@remote.test").await.status, DeliveryStatus::Delivered);

    // Where TLS is required there is no such fallback.
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions { broken_starttls: true, ..ServerOptions::default() }).await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = DeliveryConfig {
        relay: Some(RelayConfig { host: "127.0.0.1".into(), port: server.port(), tls: TlsMode::StartTls, username: None, password: None }),
        allow_invalid_certs: true,
        ..config(&[])
    };
    h.deliverer(TestHooks::none(), cfg).run_once().await.unwrap();
    assert_eq!(server.connections(), 1);
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
    assert!(server.received().is_empty());
}

// --- DKIM -----------------------------------------------------------------------------------

struct TxtCache(std::sync::Mutex<std::collections::HashMap<Box<str>, mail_auth::Txt>>);

impl mail_auth::ResolverCache<Box<str>, mail_auth::Txt> for TxtCache {
    fn get<Q>(&self, name: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }

    fn insert(&self, key: Box<str>, value: mail_auth::Txt, _valid_until: std::time::Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

/// Returns fresh Ed25519 and RSA-2048 keys as the engine makes them, with their DNS records.
fn dkim_keys() -> (Vec<DkimKeyMaterial>, Vec<(String, String)>) {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let ed_pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let ed = Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).unwrap();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&rsa).unwrap();
    let rsa_public = AsDer::<PublicKeyX509Der>::as_der(rsa.public_key()).unwrap();
    let keys = vec![
        DkimKeyMaterial { selector: "mr-ed".into(), algorithm: "ed25519".into(), private_key_pkcs8_der: ed_pkcs8.as_ref().to_vec() },
        DkimKeyMaterial { selector: "mr-rsa".into(), algorithm: "rsa".into(), private_key_pkcs8_der: rsa_pkcs8.as_ref().to_vec() },
    ];
    let records = vec![
        (format!("mr-ed._domainkey.{SENDER_DOMAIN}."), format!("v=DKIM1; k=ed25519; p={}", b64(ed.public_key().as_ref()))),
        (format!("mr-rsa._domainkey.{SENDER_DOMAIN}."), format!("v=DKIM1; k=rsa; p={}", b64(rsa_public.as_ref()))),
    ];
    (keys, records)
}

#[tokio::test]
async fn mail_is_signed_with_every_key_and_verifies() {
    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::common::verify::DomainKey;
    use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters};

    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions::default()).await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let (keys, records) = dkim_keys();
    let hooks = Arc::new(TestHooks { keys, ..TestHooks::default() });
    h.deliverer(hooks, config(&[("remote.test", server.port())])).run_once().await.unwrap();

    let data = server.received().pop().expect("the message arrived").data;
    let text = String::from_utf8_lossy(&data).to_string();
    assert!(text.starts_with("DKIM-Signature: "), "signatures come first");
    assert_eq!(text.matches("DKIM-Signature: ").count(), 2, "one Ed25519 and one RSA signature");
    assert!(text.contains("a=ed25519-sha256") && text.contains("a=rsa-sha256"));
    assert!(text.contains(&format!("d={SENDER_DOMAIN}")));
    assert!(data.ends_with(&h.raw(&msg).await), "the message itself is unchanged");
    let headers_end = text.find("\r\n\r\n").unwrap();
    let signed_list = &text[..headers_end];
    for header in ["from", "to", "subject", "date", "message-id", "mime-version", "content-type"] {
        assert!(signed_list.to_ascii_lowercase().contains(header), "h= should cover {header}");
    }

    let cache = TxtCache(Default::default());
    for (name, record) in &records {
        let key = DomainKey::parse(record.as_bytes()).expect("a valid DKIM record");
        mail_auth::ResolverCache::insert(&cache, name.clone().into_boxed_str(), key.into(), std::time::Instant::now() + Duration::from_secs(3600));
    }
    let authenticator = MessageAuthenticator::new(
        mail_auth::hickory_resolver::config::ResolverConfig::from_name_servers(Vec::new()),
        Default::default(),
    )
    .expect("an authenticator");
    let parsed = AuthenticatedMessage::parse(&data).expect("the delivered message parses");
    let results = authenticator.verify_dkim(Parameters::new(&parsed).with_txt_cache(&cache)).await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.result(), &DkimResult::Pass, "{r:?}");
    }

    // Tampering breaks both signatures.
    let tampered = String::from_utf8(data.clone()).unwrap().replace("Quarterly report", "Quarterly r3port");
    let parsed = AuthenticatedMessage::parse(tampered.as_bytes()).unwrap();
    let results = authenticator.verify_dkim(Parameters::new(&parsed).with_txt_cache(&cache)).await;
    assert!(results.iter().all(|r| r.result() != &DkimResult::Pass));
}

// --- leases ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_claim_left_by_a_dead_worker_is_retried_after_its_lease() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions::default()).await;
    let msg = h.queue(&["bob@remote.test"]).await;
    // A worker claims the recipient and dies before recording anything.
    let t = now();
    let claimed = h.store.claim_recipients(t, t + chrono::Duration::milliseconds(500), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(h.recipient(&msg, "bob@remote.test").await.status, DeliveryStatus::Sending);

    let d = h.deliverer(TestHooks::none(), config(&[("remote.test", server.port())]));
    assert_eq!(d.run_once().await.unwrap(), 0, "the lease still holds");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(d.run_once().await.unwrap(), 1);
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Delivered);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn an_attempt_killed_mid_transaction_is_retried_by_another_worker() {
    let h = Harness::new().await;
    // The first connection hangs after DATA, as if the worker died while sending.
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|conn, step| if conn == 0 && *step == Step::Data { Reply::Hang } else { Reply::Default }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = DeliveryConfig { lease: Duration::from_secs(2), ..config(&[("remote.test", server.port())]) };
    let first = Arc::new(h.deliverer(TestHooks::none(), cfg.clone()));
    let task = tokio::spawn({
        let first = first.clone();
        async move { first.run_once().await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !server.commands().iter().any(|(_, c)| c == "DATA") {
        assert!(std::time::Instant::now() < deadline, "the first attempt never reached DATA");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(h.recipient(&msg, "bob@remote.test").await.status, DeliveryStatus::Sending);

    let second = h.deliverer(TestHooks::none(), cfg);
    assert_eq!(second.run_once().await.unwrap(), 0, "leased to the dead worker");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(second.run_once().await.unwrap(), 1);
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Delivered);
    assert_eq!(r.attempts, 1, "the killed attempt never recorded anything");
    assert_eq!(server.received().len(), 1);
    assert_eq!(server.received()[0].connection, 1);
}

#[tokio::test]
async fn a_stuck_server_is_cut_off_before_the_lease_runs_out() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|_, step| if *step == Step::EndOfData { Reply::Hang } else { Reply::Default }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    let cfg = DeliveryConfig { lease: Duration::from_secs(2), ..config(&[("remote.test", server.port())]) };
    let started = std::time::Instant::now();
    h.deliverer(TestHooks::none(), cfg).run_once().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "recorded before the lease ended");
    let r = h.recipient(&msg, "bob@remote.test").await;
    assert_eq!(r.status, DeliveryStatus::Deferred);
}

// --- local recipients and the long-running loop ---------------------------------------------

#[tokio::test]
async fn local_recipients_go_through_the_hooks() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions::default()).await;
    let msg = h.queue(&["me@local.test", "ghost@local.test", "bob@remote.test"]).await;
    let mut local = std::collections::HashMap::new();
    local.insert("local.test".to_string(), LocalOutcome { status: DeliveryStatus::Delivered, reply: "250 2.0.0 delivered locally".into() });
    let hooks = Arc::new(TestHooks { local, ..TestHooks::default() });
    h.deliverer(hooks.clone(), config(&[("remote.test", server.port())])).run_once().await.unwrap();

    assert_eq!(hooks.local_calls.lock().unwrap().len(), 2);
    assert_eq!(server.received()[0].rcpt_to, ["bob@remote.test"], "local recipients never go out over SMTP");
    let me = h.recipient(&msg, "me@local.test").await;
    assert_eq!(me.status, DeliveryStatus::Delivered);
    assert_eq!(me.last_reply.as_deref(), Some("250 2.0.0 delivered locally"));
    assert_eq!(me.attempts, 1);
    assert_eq!(events_of(&h.delivery_events().await, MESSAGE_DELIVERED).len(), 3);
}

#[tokio::test]
async fn the_run_loop_delivers_when_woken_and_stops_on_shutdown() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions::default()).await;
    let cfg = DeliveryConfig { poll_interval: Duration::from_secs(3600), ..config(&[("remote.test", server.port())]) };
    let d = Arc::new(h.deliverer(TestHooks::none(), cfg));
    let waker = d.waker();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(d.clone().run(shutdown));

    let msg = h.queue(&["bob@remote.test", "carol@remote.test"]).await;
    waker.notify_one();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = h.store.get_message(msg.id).await.unwrap().unwrap();
        if m.recipients.iter().all(|r| r.status == DeliveryStatus::Delivered) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the woken worker did not deliver: {:?}", m.recipients);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.received().len(), 1);

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker).await.expect("the worker stops").unwrap();
}

#[tokio::test]
async fn the_run_loop_retries_deferred_mail_without_being_woken() {
    let h = Harness::new().await;
    let server = TestSmtp::start(ServerOptions {
        responder: responder(|conn, step| match step {
            Step::Rcpt(_) if conn == 0 => text("451 4.7.1 Try later"),
            _ => Reply::Default,
        }),
        ..ServerOptions::default()
    })
    .await;
    let msg = h.queue(&["bob@remote.test"]).await;
    // A long poll interval: only the worker's own record of the retry time wakes it.
    let cfg = DeliveryConfig { poll_interval: Duration::from_secs(3600), ..config(&[("remote.test", server.port())]) };
    let d = Arc::new(h.deliverer(TestHooks::none(), cfg));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(d.clone().run(shutdown));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.recipient(&msg, "bob@remote.test").await.status != DeliveryStatus::Delivered {
        assert!(std::time::Instant::now() < deadline, "the deferred recipient was not retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.recipient(&msg, "bob@remote.test").await.attempts, 2);
    drop(stop);
    tokio::time::timeout(Duration::from_secs(5), worker).await.expect("the worker stops when the sender is dropped").unwrap();
}
