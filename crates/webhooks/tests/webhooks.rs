//! Webhooks against real sockets: axum receivers on 127.0.0.1, a SQLite store in a temporary
//! file, signatures checked with the independent `standardwebhooks` crate, and the worker
//! driven one step at a time (or running, where latency and recovery are the point).

mod support;

use chrono::Utc;
use mailroom_core::event_types::*;
use mailroom_core::*;
use mailroom_webhooks::*;
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::*;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_delivery_is_signed_per_standard_webhooks() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(204)).await;
    let (endpoint, secret) = h.endpoint(&rx.url()).await;
    assert!(secret.starts_with("whsec_"));
    let event = h.event(MESSAGE_RECEIVED, json!({"subject": "Hello"})).await;
    let w = h.worker(Harness::config());

    assert_eq!(w.fan_out_once().await.unwrap(), 1);
    assert_eq!(w.deliver_once().await.unwrap(), 1);

    let got = rx.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    verify(&secret, r).expect("the request verifies with the endpoint's secret");
    assert!(verify(&generate_secret(), r).is_err(), "another secret does not verify");
    let deliveries = h.deliveries(&endpoint).await;
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(r.header("webhook-id"), d.id.to_string());
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - ts).abs() <= 2);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("user-agent"), format!("Mailroom-Webhooks/{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(r.header("webhook-signature").split(' ').count(), 1);
    assert_eq!(r.json(), json!({"id": event.id, "type": "message.received", "created_at": event.created_at, "data": {"subject": "Hello"}}));

    assert_eq!(d.status, WebhookDeliveryStatus::Succeeded);
    assert_eq!(d.attempts, 1);
    assert_eq!(d.event_id, event.id);
    assert_eq!(d.history.len(), 1);
    assert_eq!(d.history[0].status_code, Some(204));
    assert_eq!(d.history[0].error, None);
    assert_eq!(w.deliver_once().await.unwrap(), 0, "nothing is left");
}

#[tokio::test]
async fn during_a_rotation_the_old_and_the_new_secret_both_verify() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(200)).await;
    let (endpoint, old) = h.endpoint(&rx.url()).await;
    let config = Harness::config();
    let (rotated, new) = rotate_secret(h.store.as_ref(), &h.secrets, &config, &endpoint).await.unwrap();
    assert_ne!(old, new);
    let overlap = rotated.previous_secret_expires_at.expect("the old secret expires") - rotated.updated_at;
    assert_eq!(overlap.num_hours(), 24, "the default overlap");
    let w = h.worker(config.clone());

    h.event(MESSAGE_RECEIVED, json!({"n": 1})).await;
    w.fan_out_once().await.unwrap();
    w.deliver_once().await.unwrap();
    let r = &rx.wait_for(1, 5 * SECOND).await[0];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2, "signed with both secrets");
    verify(&old, r).expect("the old secret still verifies");
    verify(&new, r).expect("the new secret verifies");

    // A rotation without overlap: only the newest secret signs from now on.
    let no_overlap = WebhookConfig { rotation_overlap: Duration::ZERO, ..config };
    let (_, newest) = rotate_secret(h.store.as_ref(), &h.secrets, &no_overlap, &rotated).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    h.event(MESSAGE_RECEIVED, json!({"n": 2})).await;
    w.fan_out_once().await.unwrap();
    w.deliver_once().await.unwrap();
    let r = &rx.wait_for(2, 5 * SECOND).await[1];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 1);
    verify(&newest, r).expect("the newest secret verifies");
    assert!(verify(&new, r).is_err(), "the replaced secret no longer signs");
    assert!(verify(&old, r).is_err());
}

#[tokio::test]
async fn internal_targets_are_refused_when_an_endpoint_is_saved() {
    let h = Harness::new().await;
    let strict = WebhookConfig { allow_private_targets: false, ..Harness::config() };
    let create = |url: &str| {
        let req = CreateWebhookRequest { url: url.into(), ..Default::default() };
        create_endpoint(h.store.as_ref(), &h.secrets, &strict, h.site.id, req)
    };
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://localhost:8080/hook",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.10.10/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd00:ec2::254]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
    ] {
        let err = create(url).await.expect_err(url);
        assert_eq!(err.code(), "forbidden_target", "{url}: {err}");
    }
    for url in ["ftp://example.com/", "https://user:pass@example.com/", "example.com/hook", "https://", "http://no-such-host.invalid/"] {
        let err = create(url).await.expect_err(url);
        assert_eq!(err.code(), "invalid_url", "{url}: {err}");
    }
    let long = format!("https://example.com/{}", "a".repeat(2100));
    assert_eq!(create(&long).await.unwrap_err().code(), "invalid_url");
    assert!(h.store.list_webhooks(Some(h.site.id)).await.unwrap().is_empty(), "nothing was saved");

    // A change of URL is checked the same way.
    let (endpoint, _) = h.endpoint("http://127.0.0.1:9/hook").await;
    let req = UpdateWebhookRequest { url: Some("http://169.254.169.254/".into()), ..Default::default() };
    assert_eq!(update_endpoint(h.store.as_ref(), &strict, &endpoint, req).await.unwrap_err().code(), "forbidden_target");
    assert_eq!(h.reload(&endpoint).await.url, "http://127.0.0.1:9/hook");
}

#[tokio::test]
async fn internal_targets_are_refused_at_delivery_time() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(200)).await;
    // Saved while private targets were allowed (or the name's address changed since).
    let (by_name, _) = h.endpoint(&format!("http://localhost:{}/hook", rx.addr.port())).await;
    let (by_ip, _) = h.endpoint(&rx.url()).await;
    h.event(MESSAGE_RECEIVED, json!({})).await;
    let w = h.worker(WebhookConfig { allow_private_targets: false, ..Harness::config() });

    w.fan_out_once().await.unwrap();
    assert_eq!(w.deliver_once().await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.received().is_empty(), "no request reached the loopback receiver");

    let d = &h.deliveries(&by_name).await[0];
    let error = d.history[0].error.clone().unwrap();
    assert!(error.contains("localhost resolves only to refused addresses"), "{error}");
    assert_eq!(d.history[0].status_code, None);
    assert_eq!(d.status, WebhookDeliveryStatus::Pending, "an ordinary failure: retried on the schedule");
    let d = &h.deliveries(&by_ip).await[0];
    let error = d.history[0].error.clone().unwrap();
    assert!(error.contains("127.0.0.1") && error.contains("loopback"), "{error}");
    assert!(h.reload(&by_ip).await.failing_since.is_some());
}

#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_webhook_id() {
    let h = Harness::new().await;
    let rx = Receiver::start(script(vec![Reply::status(500).with_body("database\n  down"), Reply::status(502)])).await;
    let (endpoint, secret) = h.endpoint(&rx.url()).await;
    h.event(MESSAGE_RECEIVED, json!({"subject": "retry me"})).await;
    let w = h.worker(Harness::config());

    w.fan_out_once().await.unwrap();
    assert_eq!(w.deliver_once().await.unwrap(), 1);
    let first = h.reload(&endpoint).await;
    assert!(first.failing_since.is_some(), "a failure starts the failing period");
    let d = &h.deliveries(&endpoint).await[0];
    assert_eq!(d.status, WebhookDeliveryStatus::Pending);
    assert_eq!(d.history[0].error.as_deref(), Some("HTTP 500 Internal Server Error: database down"));
    let wait = d.next_attempt_at.unwrap() - d.history[0].at;
    assert!(wait >= chrono::Duration::milliseconds(15), "the schedule's 20 ms: {wait}");

    drain(&w, 40, Duration::from_millis(10)).await;
    let got = rx.wait_for(3, 5 * SECOND).await;
    assert_eq!(got.len(), 3, "two failures, then a success, then nothing more");
    let ids: HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "every retry carries the same webhook-id");
    for r in &got {
        verify(&secret, r).expect("every attempt is signed afresh");
        assert_eq!(r.body, got[0].body);
    }
    let d = &h.deliveries(&endpoint).await[0];
    assert_eq!(d.status, WebhookDeliveryStatus::Succeeded);
    assert_eq!(d.attempts, 3);
    let codes: Vec<Option<u16>> = d.history.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(500), Some(502), Some(200)]);
    assert_eq!(d.history.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(h.reload(&endpoint).await.failing_since, None, "a success ends the failing period");
}

#[tokio::test]
async fn a_delivery_fails_after_the_last_step_of_the_schedule() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(500)).await;
    let (endpoint, _) = h.endpoint(&rx.url()).await;
    h.event(MESSAGE_RECEIVED, json!({})).await;
    let config = WebhookConfig { retry_schedule: vec![Duration::ZERO, Duration::from_millis(10), Duration::from_millis(10)], ..Harness::config() };
    let w = h.worker(config);

    drain(&w, 40, Duration::from_millis(10)).await;
    assert_eq!(rx.received().len(), 3);
    let d = &h.deliveries(&endpoint).await[0];
    assert_eq!(d.status, WebhookDeliveryStatus::Failed);
    assert_eq!(d.attempts, 3);
    assert_eq!(d.next_attempt_at, None);
    assert!(h.reload(&endpoint).await.enabled, "one failed delivery does not disable the endpoint");
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_every_event_when_it_comes_back() {
    let h = Harness::new().await;
    let port = Receiver::free_port().await;
    let (endpoint, secret) = h.endpoint(&format!("http://127.0.0.1:{port}/hook")).await;
    let ms = Duration::from_millis;
    let config = WebhookConfig { retry_schedule: vec![ms(0), ms(50), ms(100), ms(200), ms(200), ms(200), ms(200), ms(200), ms(200), ms(200)], ..Harness::config() };
    let w = h.worker(config);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(w.clone().run(shutdown));

    let mut sent = HashSet::new();
    for n in 0..5 {
        sent.insert(h.event(MESSAGE_RECEIVED, json!({"n": n})).await.id.to_string());
        tokio::time::sleep(ms(30)).await;
    }
    // Down for a while: every event is tried at least twice and refused.
    let deadline = Instant::now() + 10 * SECOND;
    let failed = loop {
        let ds = h.deliveries(&endpoint).await;
        if ds.len() == 5 && ds.iter().all(|d| d.attempts >= 2) {
            break ds;
        }
        assert!(Instant::now() < deadline, "the worker keeps trying: {ds:?}");
        tokio::time::sleep(ms(20)).await;
    };
    for d in &failed {
        assert!(matches!(d.status, WebhookDeliveryStatus::Pending | WebhookDeliveryStatus::Sending), "still being retried: {d:?}");
        assert_eq!(d.history[0].status_code, None, "connection refused");
    }

    let rx = Receiver::start_on(port, always(200)).await;
    let got = rx.wait_for(5, 10 * SECOND).await;
    let received: HashSet<String> = got.iter().map(|r| r.json()["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(received, sent, "every event arrived once the receiver was back");
    for r in &got {
        verify(&secret, r).unwrap();
    }
    stop.send(true).unwrap();
    tokio::time::timeout(5 * SECOND, running).await.expect("run stops on shutdown").unwrap();
    for d in h.deliveries(&endpoint).await {
        assert_eq!(d.status, WebhookDeliveryStatus::Succeeded);
        assert!(d.attempts >= 2);
    }
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_says_so() {
    let h = Harness::new().await;
    let gone = Receiver::start(always(410)).await;
    let watcher = Receiver::start(always(200)).await;
    let (endpoint, _) = h.endpoint(&gone.url()).await;
    let (_, watcher_secret) =
        h.endpoint_with(CreateWebhookRequest { url: watcher.url(), event_types: Some(vec![ENDPOINT_DISABLED.into()]), ..Default::default() }).await;
    h.event(MESSAGE_RECEIVED, json!({"n": 1})).await;
    h.event(MESSAGE_RECEIVED, json!({"n": 2})).await;
    let w = h.worker(WebhookConfig { concurrency: 1, ..Harness::config() });

    w.fan_out_once().await.unwrap();
    assert_eq!(w.deliver_once().await.unwrap(), 1);
    let e = h.reload(&endpoint).await;
    assert!(!e.enabled);
    assert_eq!(e.disabled_reason.as_deref(), Some("gone"));
    let deliveries = h.deliveries(&endpoint).await;
    assert_eq!(deliveries[0].status, WebhookDeliveryStatus::Failed);
    assert_eq!(deliveries[0].history[0].status_code, Some(410));
    assert_eq!(deliveries[1].status, WebhookDeliveryStatus::Failed, "the pending delivery is failed with the endpoint");
    assert_eq!(deliveries[1].attempts, 0);

    let disabled: Vec<Event> = h.events().await.into_iter().filter(|e| e.event_type == ENDPOINT_DISABLED).collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].data["endpoint_id"], json!(endpoint.id));
    assert_eq!(disabled[0].data["reason"], "gone");

    // The site's other endpoints hear about it.
    drain(&w, 5, Duration::from_millis(5)).await;
    let got = watcher.wait_for(1, 5 * SECOND).await;
    assert_eq!(got.len(), 1);
    verify(&watcher_secret, &got[0]).unwrap();
    assert_eq!(got[0].json()["type"], ENDPOINT_DISABLED);
    assert_eq!(got[0].json()["data"]["reason"], "gone");
    assert_eq!(gone.received().len(), 1, "nothing more is sent to a gone endpoint");

    // Enabling it again clears the reason.
    let req = UpdateWebhookRequest { enabled: Some(true), ..Default::default() };
    let e = update_endpoint(h.store.as_ref(), &Harness::config(), &e, req).await.unwrap();
    assert!(e.enabled);
    assert_eq!(e.disabled_reason, None);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429_and_503_and_capped() {
    let h = Harness::new().await;
    let in_an_hour = (Utc::now() + chrono::Duration::hours(1)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let cases = [
        (Reply::status(429).with_header("retry-after", "3"), 3),
        (Reply::status(503).with_header("retry-after", in_an_hour), 3600),
        (Reply::status(429).with_header("retry-after", "100000000"), 24 * 3600),
        (Reply::status(500).with_header("retry-after", "3600"), 0),
    ];
    let mut endpoints = Vec::new();
    let mut receivers = Vec::new();
    for (reply, expected) in cases {
        let rx = Receiver::start(script(vec![reply])).await;
        endpoints.push((h.endpoint(&rx.url()).await.0, expected));
        receivers.push(rx);
    }
    h.event(MESSAGE_RECEIVED, json!({})).await;
    let w = h.worker(Harness::config());
    w.fan_out_once().await.unwrap();
    assert_eq!(w.deliver_once().await.unwrap(), 4);

    for (endpoint, expected) in &endpoints {
        let d = &h.deliveries(endpoint).await[0];
        assert_eq!(d.status, WebhookDeliveryStatus::Pending);
        let wait = (d.next_attempt_at.unwrap() - d.history[0].at).num_milliseconds();
        let expected_ms = expected * 1000;
        assert!(wait >= expected_ms - 1500 && wait <= expected_ms + 2000, "expected about {expected} s, got {wait} ms");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(w.deliver_once().await.unwrap(), 1, "only the 500 (whose Retry-After does not count) is due again");
}

#[tokio::test]
async fn an_endpoint_failing_for_too_long_is_disabled() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(500)).await;
    let (endpoint, _) = h.endpoint(&rx.url()).await;
    let ms = Duration::from_millis;
    let config = WebhookConfig { retry_schedule: vec![ms(0); 100], disable_after: ms(300), ..Harness::config() };
    let w = h.worker(config);
    h.event(MESSAGE_RECEIVED, json!({})).await;

    let started = Instant::now();
    let mut e = h.reload(&endpoint).await;
    while e.enabled && started.elapsed() < 10 * SECOND {
        w.fan_out_once().await.unwrap();
        w.deliver_once().await.unwrap();
        tokio::time::sleep(ms(20)).await;
        e = h.reload(&endpoint).await;
    }
    assert!(!e.enabled, "disabled after failing for 300 ms");
    assert_eq!(e.disabled_reason.as_deref(), Some("failing"));
    let since = e.failing_since.expect("the failing period is kept for the record");
    assert!(e.updated_at - since >= chrono::Duration::milliseconds(300));
    let d = &h.deliveries(&endpoint).await[0];
    assert_eq!(d.status, WebhookDeliveryStatus::Failed, "the schedule had steps left, but the endpoint is disabled");
    let disabled: Vec<Event> = h.events().await.into_iter().filter(|e| e.event_type == ENDPOINT_DISABLED).collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].data["reason"], "failing");
    let attempts = rx.received().len();
    drain(&w, 3, ms(30)).await;
    assert_eq!(rx.received().len(), attempts, "nothing is sent to a disabled endpoint");
}

#[tokio::test]
async fn a_large_event_is_trimmed_and_links_to_the_message() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(200)).await;
    let (_, secret) = h.endpoint(&rx.url()).await;
    let id = MessageId::new();
    let message = json!({
        "id": id, "thread_id": ThreadId::new(), "mailbox_id": h.mailbox.id, "direction": "inbound",
        "subject": "A big one", "snippet": "Hello", "text": "x".repeat(300_000), "html": "<p>y</p>".repeat(10_000),
        "headers": [{"name": "Received", "value": "z".repeat(5_000)}], "attachments": [],
    });
    h.event(MESSAGE_RECEIVED, message).await;
    let w = h.worker(WebhookConfig { max_payload_bytes: 4096, ..Harness::config() });
    w.fan_out_once().await.unwrap();
    w.deliver_once().await.unwrap();

    let r = &rx.wait_for(1, 5 * SECOND).await[0];
    assert!(r.body.len() <= 4096, "{} bytes", r.body.len());
    verify(&secret, r).expect("the trimmed body is what is signed");
    let body = r.json();
    assert_eq!(body["truncated"], true);
    assert_eq!(body["url"], format!("https://mail.example.test/v1/messages/{id}"));
    assert_eq!(body["data"]["subject"], "A big one");
    assert!(body["data"].get("text").is_none() && body["data"].get("html").is_none());
}

#[tokio::test]
async fn the_fan_out_never_duplicates_and_keeps_its_cursor() {
    let h = Harness::new().await;
    let (a, _) = h.endpoint("http://127.0.0.1:9/a").await;
    let (b, _) = h.endpoint("http://127.0.0.1:9/b").await;
    for n in 0..3 {
        h.event(MESSAGE_RECEIVED, json!({"n": n})).await;
    }
    // The fan-out reads every site's log: its stored position is a log position.
    let last = h.store.last_event_cursor(None).await.unwrap().to_string();
    let w = h.worker(Harness::config());

    assert_eq!(w.fan_out_once().await.unwrap(), 6);
    assert_eq!(h.store.get_setting(FANOUT_CURSOR_SETTING).await.unwrap(), Some(last.clone()));
    assert_eq!(w.fan_out_once().await.unwrap(), 0, "a second run finds nothing new");

    // A crash before the cursor was saved: the batch is repeated, and the store drops the
    // pairs it already has.
    h.store.put_setting(FANOUT_CURSOR_SETTING, "0").await.unwrap();
    w.fan_out_once().await.unwrap();
    // Two workers (two nodes) racing over the same events.
    h.event(MESSAGE_RECEIVED, json!({"n": 3})).await;
    let other = h.worker(Harness::config());
    let (x, y) = tokio::join!(w.fan_out_once(), other.fan_out_once());
    x.unwrap();
    y.unwrap();
    for endpoint in [&a, &b] {
        let deliveries = h.deliveries(endpoint).await;
        assert_eq!(deliveries.len(), 4, "one delivery per event and endpoint");
        let events: HashSet<EventId> = deliveries.iter().map(|d| d.event_id).collect();
        assert_eq!(events.len(), 4);
    }
}

#[tokio::test]
async fn the_first_fan_out_skips_history_when_there_is_no_endpoint() {
    let h = Harness::new().await;
    h.event(MESSAGE_RECEIVED, json!({})).await;
    let w = h.worker(Harness::config());
    assert_eq!(w.fan_out_once().await.unwrap(), 0);
    let last = h.store.last_event_cursor(None).await.unwrap().to_string();
    assert_eq!(h.store.get_setting(FANOUT_CURSOR_SETTING).await.unwrap(), Some(last));
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(200)).await;
    let (endpoint, secret) = h.endpoint(&rx.url()).await;
    h.event(MESSAGE_RECEIVED, json!({"n": 1})).await;
    h.event(MESSAGE_RECEIVED, json!({"n": 2})).await;
    {
        // The first server queues both, starts one, and dies with it leased.
        let before = h.worker(Harness::config());
        assert_eq!(before.fan_out_once().await.unwrap(), 2);
        let t = now();
        let claimed = h.store.claim_webhook_deliveries(t, t + chrono::Duration::seconds(1), 1).await.unwrap();
        assert_eq!(claimed.len(), 1);
    }

    let store = h.reopen().await;
    let after = mailroom_webhooks::WebhookWorker::new(store, h.secrets.clone(), Harness::config());
    assert_eq!(after.fan_out_once().await.unwrap(), 0, "the cursor survived");
    assert_eq!(after.deliver_once().await.unwrap(), 1, "the pending one is delivered; the leased one waits for its lease");
    assert_eq!(after.deliver_once().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(after.deliver_once().await.unwrap(), 1, "the dead worker's delivery is claimed again once its lease ends");
    let got = rx.wait_for(2, 5 * SECOND).await;
    let ns: HashSet<i64> = got.iter().map(|r| r.json()["data"]["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, HashSet::from([1, 2]));
    for r in &got {
        verify(&secret, r).unwrap();
    }
    assert!(h.deliveries(&endpoint).await.iter().all(|d| d.status == WebhookDeliveryStatus::Succeeded));
}

#[tokio::test]
async fn type_mailbox_and_creation_time_filters_apply() {
    let h = Harness::new().await;
    let url = "http://127.0.0.1:9/hook";
    let create = |types: Option<Vec<&str>>, mailbox: Option<MailboxId>| CreateWebhookRequest {
        url: url.into(),
        event_types: types.map(|t| t.into_iter().map(String::from).collect()),
        mailbox_id: mailbox,
        ..Default::default()
    };
    let (received_only, _) = h.endpoint_with(create(Some(vec![MESSAGE_RECEIVED]), None)).await;
    let (first_mailbox, _) = h.endpoint_with(create(None, Some(h.mailbox.id))).await;
    let (sent_other, _) = h.endpoint_with(create(Some(vec![MESSAGE_SENT]), Some(h.other_mailbox.id))).await;
    let (star, _) = h.endpoint_with(create(Some(vec!["*"]), None)).await;
    let (disabled, _) = h.endpoint_with(CreateWebhookRequest { enabled: Some(false), ..create(None, None) }).await;
    assert!(star.event_types.is_empty(), "`*` is stored as every type");

    let e1 = h.event_of(MESSAGE_RECEIVED, Some(h.mailbox.id), json!({})).await;
    let e2 = h.event_of(MESSAGE_SENT, Some(h.mailbox.id), json!({})).await;
    let e3 = h.event_of(MESSAGE_RECEIVED, Some(h.other_mailbox.id), json!({})).await;
    let e4 = h.event_of(MESSAGE_SENT, Some(h.other_mailbox.id), json!({})).await;
    let e5 = h.event_of(DOMAIN_CREATED, None, json!({})).await;
    let (late, _) = h.endpoint(url).await;
    let w = h.worker(Harness::config());
    w.fan_out_once().await.unwrap();

    let events_of = |ds: Vec<WebhookDelivery>| ds.into_iter().map(|d| d.event_id).collect::<Vec<_>>();
    assert_eq!(events_of(h.deliveries(&received_only).await), [e1.id, e3.id]);
    assert_eq!(events_of(h.deliveries(&first_mailbox).await), [e1.id, e2.id]);
    assert_eq!(events_of(h.deliveries(&sent_other).await), [e4.id]);
    assert_eq!(events_of(h.deliveries(&star).await), [e1.id, e2.id, e3.id, e4.id, e5.id]);
    assert!(h.deliveries(&disabled).await.is_empty(), "a disabled endpoint gets nothing");
    assert!(h.deliveries(&late).await.is_empty(), "an endpoint gets only events from its creation on");
    // The mailbox.created events of the harness predate every endpoint.
}

#[tokio::test]
async fn running_it_delivers_within_milliseconds_of_the_commit() {
    let h = Harness::new().await;
    let rx = Receiver::start(always(200)).await;
    h.endpoint(&rx.url()).await;
    // A long poll interval: only the event signal can explain a quick delivery.
    let w = h.worker(WebhookConfig { poll_interval: Duration::from_secs(30), ..Harness::config() });
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(w.clone().run(shutdown));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut latencies = Vec::new();
    for n in 0..5 {
        let started = Instant::now();
        h.event(MESSAGE_RECEIVED, json!({"n": n})).await;
        let got = rx.wait_for(n + 1, 5 * SECOND).await;
        latencies.push(got[n].at - started);
    }
    eprintln!("event commit to receiver: {latencies:?}");
    assert!(latencies.iter().all(|l| *l < Duration::from_millis(1000)), "{latencies:?}");
    stop.send(true).unwrap();
    tokio::time::timeout(5 * SECOND, running).await.expect("run stops on shutdown").unwrap();
}

#[tokio::test]
async fn the_service_validates_and_replays() {
    let h = Harness::new().await;
    let config = Harness::config();
    let create = |req: CreateWebhookRequest| create_endpoint(h.store.as_ref(), &h.secrets, &config, h.site.id, req);
    let base = || CreateWebhookRequest { url: "http://127.0.0.1:9/hook".into(), ..Default::default() };

    let err = create(CreateWebhookRequest { event_types: Some(vec!["message.recieved".into()]), ..base() }).await.unwrap_err();
    assert_eq!(err.code(), "invalid_event_type");
    let err = create(CreateWebhookRequest { description: Some("d".repeat(501)), ..base() }).await.unwrap_err();
    assert_eq!(err.code(), "validation_error");
    let err = create(CreateWebhookRequest { mailbox_id: Some(MailboxId::new()), ..base() }).await.unwrap_err();
    assert_eq!(err.code(), "validation_error");

    let (endpoint, secret) = create(CreateWebhookRequest { description: Some(" CRM ".into()), ..base() }).await.unwrap();
    assert_eq!(endpoint.description.as_deref(), Some("CRM"));
    assert!(endpoint.enabled);
    let shown = serde_json::to_value(WebhookResponse { endpoint: endpoint.clone(), secret: Some(secret.clone()) }).unwrap();
    assert_eq!(shown["secret"], secret);
    assert_eq!(signing_secrets(&h.secrets, &endpoint, now()).unwrap(), vec![secret.clone()], "the secret is sealed, and opens");
    assert!(!String::from_utf8_lossy(&endpoint.secret_encrypted).contains(&secret));

    let req = UpdateWebhookRequest {
        event_types: Some(vec![MESSAGE_RECEIVED.into()]),
        mailbox_id: Some(Some(h.mailbox.id)),
        description: Some(None),
        ..Default::default()
    };
    let updated = update_endpoint(h.store.as_ref(), &config, &endpoint, req).await.unwrap();
    assert_eq!(updated.event_types, [MESSAGE_RECEIVED]);
    assert_eq!(updated.mailbox_id, Some(h.mailbox.id));
    assert_eq!(updated.description, None);
    assert_eq!(h.reload(&endpoint).await, updated);
    let req = UpdateWebhookRequest { mailbox_id: Some(None), event_types: Some(vec![]), ..Default::default() };
    let updated = update_endpoint(h.store.as_ref(), &config, &updated, req).await.unwrap();
    assert_eq!(updated.mailbox_id, None);
    assert!(updated.event_types.is_empty());

    // Replay: events already delivered are reported, not queued again; older events are
    // included; a cursor limits the range.
    let e1 = h.event(MESSAGE_RECEIVED, json!({})).await;
    h.event(MESSAGE_SENT, json!({})).await;
    let w = h.worker(config.clone());
    assert_eq!(w.fan_out_once().await.unwrap(), 2);
    let report = replay(h.store.as_ref(), &updated, Some(mailroom_core::cursor::position(&e1.cursor) - 1)).await.unwrap();
    assert_eq!((report.matched, report.queued, report.already_delivered), (2, 0, 2));
    assert_eq!(report.existing.len(), 2);

    let (late, _) = create(CreateWebhookRequest { event_types: Some(vec![MESSAGE_RECEIVED.into()]), ..base() }).await.unwrap();
    let report = replay(h.store.as_ref(), &late, None).await.unwrap();
    assert_eq!((report.matched, report.queued, report.already_delivered), (1, 1, 0));
    assert_eq!(h.deliveries(&late).await[0].event_id, e1.id);
    let report = replay(h.store.as_ref(), &late, Some(mailroom_core::cursor::position(&e1.cursor))).await.unwrap();
    assert_eq!(report.matched, 0);

    let off = UpdateWebhookRequest { enabled: Some(false), ..Default::default() };
    let late = update_endpoint(h.store.as_ref(), &config, &late, off).await.unwrap();
    assert_eq!(h.deliveries(&late).await[0].status, WebhookDeliveryStatus::Failed, "disabling fails what was pending");
    assert_eq!(replay(h.store.as_ref(), &late, None).await.unwrap_err().code(), "validation_error");

    let mut gone = late.clone();
    gone.id = WebhookId::new();
    assert_eq!(rotate_secret(h.store.as_ref(), &h.secrets, &config, &gone).await.unwrap_err().code(), "not_found");
}
