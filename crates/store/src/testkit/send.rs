//! Conformance cases: one send in one transaction ([`SendStore`]).

use super::*;

/// An outbound message of `from` to `to`, its recipient already delivered, and the copy `to`
/// received, sharing the raw blob; with their events.
fn local_send(from: &Mailbox, to: &Mailbox) -> (Message, Message, Vec<SendWrite>) {
    let mut sent = message_value(from, ThreadId::new(), now());
    sent.direction = Direction::Outbound;
    sent.read = true;
    sent.message_id = Some(format!("{}@x.test", sent.id));
    sent.recipients = vec![Recipient {
        last_reply: Some("250 delivered".into()),
        attempts: 1,
        ..recipient_value(to.address.as_str(), RecipientKind::To, DeliveryStatus::Delivered, None)
    }];
    let mut copy = message_value(to, ThreadId::new(), now());
    copy.message_id = sent.message_id.clone();
    copy.raw_blob_key = sent.raw_blob_key.clone();
    copy.labels = vec!["tag".into()];
    let writes = vec![
        SendWrite::Message {
            new: NewMessage { message: sent.clone(), new_thread: true },
            events: vec![event(from.site_id, Some(from.id), event_types::MESSAGE_SENT)],
            blobs: Vec::new(),
        },
        SendWrite::Message {
            new: NewMessage { message: copy.clone(), new_thread: true },
            events: vec![event(to.site_id, Some(to.id), event_types::MESSAGE_RECEIVED)],
            blobs: Vec::new(),
        },
        SendWrite::Events(vec![event(from.site_id, Some(from.id), event_types::MESSAGE_DELIVERED)]),
    ];
    (sent, copy, writes)
}

fn answer(site: SiteId, key: &str, hash: &str, body: &str) -> IdempotentAnswer {
    IdempotentAnswer { site, key: key.into(), request_hash: hash.into(), status: 202, body: body.into() }
}

/// A send's messages, route, suppression, events and idempotency key are written together,
/// the events in the order of the writes, and the key holds the answer.
pub async fn commit_send_writes_everything_in_order(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let from = new_mailbox(&store, site.id, "agent@x.test").await;
    let to = new_mailbox(&store, site.id, "inbox@x.test").await;
    let (sent, copy, mut writes) = local_send(&from, &to);
    let suppression = Suppression {
        site_id: site.id,
        address: addr("gone@x.test"),
        reason: "hard_bounce".into(),
        detail: Some("550 no such mailbox".into()),
        created_at: now(),
    };
    writes.push(SendWrite::Suppression { suppression: suppression.clone(), event: Some(event(site.id, None, event_types::SUPPRESSION_CREATED)) });
    writes.push(SendWrite::Events(vec![event(site.id, Some(from.id), event_types::MESSAGE_BOUNCED)]));
    let before = all_events(&store).await.len();
    let send = NewSend {
        idempotency: Some(answer(site.id, "k1", "h1", r#"{"id":"x"}"#)),
        route: Some((sent.id, site.id, "smtp-account".into())),
        writes,
    };
    assert_eq!(store.commit_send(send).await.unwrap(), IdempotencyClaim::Claimed);

    assert_eq!(store.get_message(sent.id).await.unwrap(), Some(sent.clone()));
    assert_eq!(store.get_message(copy.id).await.unwrap(), Some(copy.clone()));
    assert_eq!(store.get_thread(copy.thread_id).await.unwrap().map(|t| t.message_count), Some(1));
    assert_eq!(store.get_message_route(sent.id).await.unwrap().as_deref(), Some("smtp-account"));
    assert_eq!(store.get_suppression(site.id, "gone@x.test").await.unwrap(), Some(suppression));
    let types: Vec<String> = all_events(&store).await[before..].iter().map(|e| e.event_type.clone()).collect();
    assert_eq!(
        types,
        [event_types::MESSAGE_SENT, event_types::MESSAGE_RECEIVED, event_types::MESSAGE_DELIVERED, event_types::SUPPRESSION_CREATED, event_types::MESSAGE_BOUNCED]
    );
    assert_eq!(
        store.find_idempotency_key(site.id, "k1").await.unwrap(),
        Some(IdempotencyClaim::Existing { request_hash: "h1".into(), response: Some((202, r#"{"id":"x"}"#.into())) })
    );
    assert_eq!(store.find_idempotency_key(site.id, "other").await.unwrap(), None);
    // The key is the one the claim/complete methods use too.
    let claim = store.claim_idempotency_key(site.id, "k1", "h1").await.unwrap();
    assert_eq!(claim, IdempotencyClaim::Existing { request_hash: "h1".into(), response: Some((202, r#"{"id":"x"}"#.into())) });
    // A send without a key is committed as well.
    let (sent2, copy2, writes) = local_send(&from, &to);
    assert_eq!(store.commit_send(NewSend { writes, ..NewSend::default() }).await.unwrap(), IdempotencyClaim::Claimed);
    assert!(store.get_message(sent2.id).await.unwrap().is_some());
    assert!(store.get_message(copy2.id).await.unwrap().is_some());
}

/// A send whose key the site used before writes nothing and returns the earlier use; keys are
/// per site.
pub async fn commit_send_with_a_used_key_writes_nothing(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let other = new_site(&store, "b").await;
    let from = new_mailbox(&store, site.id, "agent@x.test").await;
    let to = new_mailbox(&store, site.id, "inbox@x.test").await;
    let (_, _, writes) = local_send(&from, &to);
    store.commit_send(NewSend { idempotency: Some(answer(site.id, "k", "h1", "first")), route: None, writes }).await.unwrap();
    let events = all_events(&store).await.len();

    let (sent, copy, writes) = local_send(&from, &to);
    let again = NewSend { idempotency: Some(answer(site.id, "k", "h2", "second")), route: Some((sent.id, site.id, "r".into())), writes };
    assert_eq!(
        store.commit_send(again).await.unwrap(),
        IdempotencyClaim::Existing { request_hash: "h1".into(), response: Some((202, "first".into())) }
    );
    assert_eq!(store.get_message(sent.id).await.unwrap(), None);
    assert_eq!(store.get_message(copy.id).await.unwrap(), None);
    assert_eq!(store.get_message_route(sent.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await.len(), events, "no events either");

    // A key claimed the old way and still running is reported as such.
    store.claim_idempotency_key(site.id, "running", "h").await.unwrap();
    let (_, _, writes) = local_send(&from, &to);
    let send = NewSend { idempotency: Some(answer(site.id, "running", "h", "x")), route: None, writes };
    assert_eq!(store.commit_send(send).await.unwrap(), IdempotencyClaim::Existing { request_hash: "h".into(), response: None });
    assert_eq!(store.find_idempotency_key(site.id, "running").await.unwrap(), Some(IdempotencyClaim::Existing { request_hash: "h".into(), response: None }));

    // The same key in another site is another key.
    let from_b = new_mailbox(&store, other.id, "agent@b.test").await;
    let to_b = new_mailbox(&store, other.id, "inbox@b.test").await;
    let (sent, _, writes) = local_send(&from_b, &to_b);
    let send = NewSend { idempotency: Some(answer(other.id, "k", "h1", "b")), route: None, writes };
    assert_eq!(store.commit_send(send).await.unwrap(), IdempotencyClaim::Claimed);
    assert!(store.get_message(sent.id).await.unwrap().is_some());
}

/// One failing write fails the whole send: nothing of it is stored, its key stays free.
pub async fn commit_send_is_all_or_nothing(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let from = new_mailbox(&store, site.id, "agent@x.test").await;
    let to = new_mailbox(&store, site.id, "inbox@x.test").await;
    let (sent, _, mut writes) = local_send(&from, &to);
    // A copy for a mailbox that does not exist (deleted meanwhile).
    let gone = mailbox_value(site.id, "gone@x.test", None);
    let orphan = message_value(&gone, ThreadId::new(), now());
    writes.push(SendWrite::Message { new: NewMessage { message: orphan.clone(), new_thread: true }, events: Vec::new(), blobs: Vec::new() });
    let events = all_events(&store).await.len();
    let send = NewSend { idempotency: Some(answer(site.id, "k", "h", "x")), route: Some((sent.id, site.id, "r".into())), writes };
    assert_not_found(store.commit_send(send).await);
    assert_eq!(store.get_message(sent.id).await.unwrap(), None);
    assert_eq!(store.get_message(orphan.id).await.unwrap(), None);
    assert_eq!(store.get_message_route(sent.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await.len(), events);
    assert_eq!(store.find_idempotency_key(site.id, "k").await.unwrap(), None);
    // The same send without the bad write goes through, key and all.
    let (sent, _, writes) = local_send(&from, &to);
    let send = NewSend { idempotency: Some(answer(site.id, "k", "h", "x")), route: None, writes };
    assert_eq!(store.commit_send(send).await.unwrap(), IdempotencyClaim::Claimed);
    assert!(store.get_message(sent.id).await.unwrap().is_some());
}

/// Concurrent sends under one key: exactly one is committed, the others see its answer.
pub async fn concurrent_sends_under_one_key_commit_once(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let from = new_mailbox(&store, site.id, "agent@x.test").await;
    let to = new_mailbox(&store, site.id, "inbox@x.test").await;
    let mut tasks = Vec::new();
    let mut ids = Vec::new();
    for i in 0..8 {
        let (sent, _, writes) = local_send(&from, &to);
        ids.push(sent.id);
        let send = NewSend { idempotency: Some(answer(site.id, "k", "h", &format!("answer {i}"))), route: None, writes };
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.commit_send(send).await.unwrap() }));
    }
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap() {
            IdempotencyClaim::Claimed => claimed += 1,
            IdempotencyClaim::Existing { request_hash, response } => {
                assert_eq!(request_hash, "h");
                assert!(response.is_some_and(|(s, b)| s == 202 && b.starts_with("answer ")));
            }
        }
    }
    assert_eq!(claimed, 1);
    let mut stored = 0;
    for id in ids {
        stored += usize::from(store.get_message(id).await.unwrap().is_some());
    }
    assert_eq!(stored, 1, "one send stored");
    let inbox = store.list_messages(to.id, &page(100)).await.unwrap();
    assert_eq!(inbox.len(), 1, "one copy delivered");
}

/// Blobs the store keeps itself are written with the send (for a store that keeps blobs).
pub async fn commit_send_keeps_inline_blobs(store: Arc<dyn Store>) {
    if store.inline_blob_max() == 0 {
        return;
    }
    let site = new_site(&store, "a").await;
    let from = new_mailbox(&store, site.id, "agent@x.test").await;
    let to = new_mailbox(&store, site.id, "inbox@x.test").await;
    let (sent, copy, mut writes) = local_send(&from, &to);
    if let SendWrite::Message { blobs, .. } = &mut writes[0] {
        blobs.push((sent.raw_blob_key.clone(), bytes::Bytes::from_static(b"raw bytes")));
    }
    store.commit_send(NewSend { writes, ..NewSend::default() }).await.unwrap();
    // The copy shares the sender's raw blob: deleting one copy keeps it.
    let deleted = || event(site.id, Some(from.id), event_types::MESSAGE_DELETED);
    assert_eq!(store.delete_message(sent.id, &deleted()).await.unwrap(), Vec::<String>::new());
    assert_eq!(store.delete_message(copy.id, &deleted()).await.unwrap(), vec![copy.raw_blob_key.clone()]);
    // Too large a blob is refused before anything is written.
    let (sent, _, mut writes) = local_send(&from, &to);
    if let SendWrite::Message { blobs, .. } = &mut writes[0] {
        blobs.push((sent.raw_blob_key.clone(), bytes::Bytes::from(vec![0u8; store.inline_blob_max() + 1])));
    }
    assert!(store.commit_send(NewSend { writes, ..NewSend::default() }).await.is_err());
    assert_eq!(store.get_message(sent.id).await.unwrap(), None);
}
