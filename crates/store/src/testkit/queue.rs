//! Conformance cases: outbound recipients (the delivery queue).

#[allow(unused_imports)]
use super::*;

/// Recipients in `queued`/`deferred` come due when their time has come, oldest message first;
/// updates change them and log their events.
pub async fn recipients_update_and_come_due(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut newer = message_value(&mb, ThreadId::new(), t);
    newer.direction = Direction::Outbound;
    newer.recipients = vec![
        recipient_value("queued@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
        recipient_value("later@y.test", RecipientKind::Cc, DeliveryStatus::Deferred, Some(t + Duration::minutes(10))),
        recipient_value("done@y.test", RecipientKind::To, DeliveryStatus::Delivered, None),
        recipient_value("busy@y.test", RecipientKind::To, DeliveryStatus::Sending, None),
        recipient_value("gone@y.test", RecipientKind::Bcc, DeliveryStatus::Bounced, None),
        recipient_value("failed@y.test", RecipientKind::To, DeliveryStatus::Failed, None),
    ];
    // Stored earlier although created later: it is the oldest message.
    let mut older = message_value(&mb, ThreadId::new(), t - Duration::minutes(1));
    older.direction = Direction::Outbound;
    older.recipients = vec![recipient_value("first@y.test", RecipientKind::To, DeliveryStatus::Queued, Some(t))];
    insert(&store, &newer, true).await;
    insert(&store, &older, true).await;

    let due = |at: DateTime<Utc>, limit| {
        let store = store.clone();
        async move {
            store
                .due_recipients(at, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.message_id, p.site_id, p.recipient.address.to_string()))
                .collect::<Vec<_>>()
        }
    };
    let row = |m: &Message, a: &str| (m.id, site.id, a.to_string());
    assert_eq!(due(t - Duration::seconds(1), 10).await, vec![row(&newer, "queued@y.test")]);
    assert_eq!(due(t, 10).await, vec![row(&older, "first@y.test"), row(&newer, "queued@y.test")]);
    assert_eq!(
        due(t + Duration::minutes(10), 10).await,
        vec![row(&older, "first@y.test"), row(&newer, "queued@y.test"), row(&newer, "later@y.test")]
    );
    assert_eq!(due(t + Duration::minutes(10), 1).await, vec![row(&older, "first@y.test")]);
    let full = store.due_recipients(t, 10).await.unwrap();
    assert_eq!(full[1].recipient, newer.recipients[0]);

    let before = now();
    let update = RecipientUpdate {
        status: DeliveryStatus::Deferred,
        last_reply: Some("451 4.7.1 try later".into()),
        attempts: 1,
        next_attempt_at: Some(t + Duration::hours(1)),
    };
    let e = event(site.id, Some(mb.id), event_types::MESSAGE_DEFERRED);
    store.update_recipient(newer.id, &addr("queued@y.test"), &update, std::slice::from_ref(&e)).await.unwrap();
    let got = store.get_message(newer.id).await.unwrap().unwrap();
    let r = &got.recipients[0];
    assert_eq!(r.address, addr("queued@y.test"));
    assert_eq!((r.status, r.attempts, r.last_reply.as_deref()), (DeliveryStatus::Deferred, 1, Some("451 4.7.1 try later")));
    assert_eq!(r.next_attempt_at, Some(t + Duration::hours(1)));
    assert!(r.updated_at >= before, "updated_at moves forward");
    assert_eq!(got.recipients[1..], newer.recipients[1..], "other recipients are untouched");
    assert_eq!(all_events(&store).await.last().unwrap().id, e.id);
    assert_eq!(due(t, 10).await, vec![row(&older, "first@y.test")]);

    let delivered =
        RecipientUpdate { status: DeliveryStatus::Delivered, last_reply: Some("250 OK".into()), attempts: 1, next_attempt_at: None };
    store.update_recipient(older.id, &addr("first@y.test"), &delivered, &[]).await.unwrap();
    assert_eq!(due(t + Duration::minutes(10), 10).await, vec![row(&newer, "later@y.test")]);

    let count = all_events(&store).await.len();
    let e = event(site.id, None, event_types::MESSAGE_FAILED);
    assert_not_found(store.update_recipient(newer.id, &addr("stranger@y.test"), &delivered, std::slice::from_ref(&e)).await);
    assert_not_found(store.update_recipient(MessageId::new(), &addr("queued@y.test"), &delivered, &[e]).await);
    assert_eq!(all_events(&store).await.len(), count);
}

/// Inserts an outbound message of `mb` stored at `at` with `recipients`.
pub(crate) async fn outbound(store: &Arc<dyn Store>, mb: &Mailbox, at: DateTime<Utc>, recipients: Vec<Recipient>) -> Message {
    let mut m = message_value(mb, ThreadId::new(), at);
    m.direction = Direction::Outbound;
    m.recipients = recipients;
    insert(store, &m, true).await;
    m
}

/// Claims and returns `(message, address)` pairs.
pub(crate) async fn claim(store: &Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<(MessageId, String)> {
    store
        .claim_recipients(at, lease, limit)
        .await
        .expect("claim_recipients")
        .into_iter()
        .map(|p| (p.message_id, p.recipient.address.to_string()))
        .collect()
}

pub(crate) fn key(m: &Message, address: &str) -> (MessageId, String) {
    (m.id, address.to_string())
}

/// Claiming takes the due `queued` and `deferred` recipients and those whose lease expired,
/// oldest message first, at most `limit`; it returns them in `sending` state with everything
/// else unchanged, leaves valid leases alone (a lease ending exactly at `now` is still
/// valid), logs nothing, and hides claimed recipients from `due_recipients`.
pub async fn claim_recipients_leases_due_recipients(store: Arc<dyn Store>) {
    assert!(store.claim_recipients(now(), now(), 10).await.unwrap().is_empty(), "nothing to claim in an empty store");
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut later = recipient_value("later@y.test", RecipientKind::Cc, DeliveryStatus::Deferred, Some(t + Duration::minutes(10)));
    later.attempts = 2;
    later.last_reply = Some("451 4.7.1 try later".into());
    let newer = outbound(
        &store,
        &mb,
        t,
        vec![
            recipient_value("queued@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            later,
            recipient_value("done@y.test", RecipientKind::To, DeliveryStatus::Delivered, None),
            recipient_value("gone@y.test", RecipientKind::Bcc, DeliveryStatus::Bounced, None),
            recipient_value("failed@y.test", RecipientKind::To, DeliveryStatus::Failed, None),
        ],
    )
    .await;
    let older = outbound(
        &store,
        &mb,
        t - Duration::minutes(1),
        vec![recipient_value("first@y.test", RecipientKind::To, DeliveryStatus::Queued, Some(t))],
    )
    .await;
    let events = all_events(&store).await.len();

    // Only `queued@` is due a second before `t`.
    let before = now();
    let lease = t + Duration::minutes(5);
    let got = store.claim_recipients(t - Duration::seconds(1), lease, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].message_id, got[0].site_id), (newer.id, site.id));
    let r = &got[0].recipient;
    assert!(r.updated_at >= before, "claiming changes updated_at");
    assert_eq!(*r, Recipient { status: DeliveryStatus::Sending, updated_at: r.updated_at, ..newer.recipients[0].clone() });
    let stored = store.get_message(newer.id).await.unwrap().unwrap();
    assert_eq!(stored.recipients[0], *r, "the claim is stored");
    assert_eq!(stored.recipients[1..], newer.recipients[1..]);
    assert!(store.due_recipients(t, 10).await.unwrap().iter().all(|p| p.recipient.address.as_str() != "queued@y.test"));

    // At `t`: `first@` comes due; `queued@` is leased.
    assert_eq!(claim(&store, t, lease, 10).await, vec![key(&older, "first@y.test")]);
    // At the end of the lease it is still held, and `later@` is not due yet.
    assert!(claim(&store, lease, lease + Duration::minutes(5), 10).await.is_empty());
    assert!(store.due_recipients(lease, 10).await.unwrap().is_empty());

    // Once the leases expired they are claimed again, oldest message first, `limit` at most.
    let at = t + Duration::minutes(10);
    let lease2 = t + Duration::minutes(20);
    assert_eq!(claim(&store, at, lease2, 2).await, vec![key(&older, "first@y.test"), key(&newer, "queued@y.test")]);
    let got = store.claim_recipients(at, lease2, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    let r = &got[0].recipient;
    assert_eq!(r.address.as_str(), "later@y.test");
    assert_eq!(*r, Recipient { status: DeliveryStatus::Sending, updated_at: r.updated_at, ..newer.recipients[1].clone() });
    assert_eq!((r.attempts, r.last_reply.as_deref()), (2, Some("451 4.7.1 try later")), "attempts are unchanged");
    assert!(claim(&store, at, lease2, 10).await.is_empty());
    // Finished recipients are never claimed.
    assert_eq!(claim(&store, t + Duration::days(365), t + Duration::days(366), 10).await.len(), 3);
    assert!(claim(&store, t + Duration::days(365), t + Duration::days(366), 10).await.is_empty());
    assert_eq!(all_events(&store).await.len(), events, "claiming logs no event");
}

/// `update_recipient` ends the lease: a recipient put back in `queued` is claimable at once,
/// even before its old lease would have expired; one updated to a final status never is;
/// and one set to `sending` by `update_recipient` (or stored so) has no lease, so no claimer
/// takes it whatever the time.
pub async fn update_recipient_ends_the_lease(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let m = outbound(
        &store,
        &mb,
        t,
        vec![
            recipient_value("a@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("b@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("c@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("busy@y.test", RecipientKind::To, DeliveryStatus::Sending, None),
        ],
    )
    .await;
    let lease = t + Duration::hours(1);
    assert_eq!(claim(&store, t, lease, 10).await.len(), 3);

    let update = |status, next| RecipientUpdate { status, last_reply: Some("note".into()), attempts: 1, next_attempt_at: next };
    store.update_recipient(m.id, &addr("a@y.test"), &update(DeliveryStatus::Queued, None), &[]).await.unwrap();
    store.update_recipient(m.id, &addr("b@y.test"), &update(DeliveryStatus::Delivered, None), &[]).await.unwrap();
    store.update_recipient(m.id, &addr("c@y.test"), &update(DeliveryStatus::Sending, None), &[]).await.unwrap();
    let got = store.claim_recipients(t + Duration::minutes(1), lease, 10).await.unwrap();
    assert_eq!(got.len(), 1, "only the requeued recipient: {got:?}");
    assert_eq!(got[0].recipient.address.as_str(), "a@y.test");
    assert_eq!((got[0].recipient.attempts, got[0].recipient.last_reply.as_deref()), (1, Some("note")));

    let far = t + Duration::days(30);
    assert_eq!(claim(&store, far, far + Duration::hours(1), 10).await, vec![key(&m, "a@y.test")], "only a's new lease expires");
}

/// Claims `limit` at a time in a loop until nothing is left; returns what it got.
pub(crate) async fn claim_all(store: Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<(MessageId, String)> {
    let mut mine = Vec::new();
    loop {
        let got = claim(&store, at, lease, limit).await;
        if got.is_empty() {
            return mine;
        }
        mine.extend(got);
        tokio::task::yield_now().await;
    }
}

/// Fills `stores[0]` with 200 queued recipients, then runs 4 claimers in parallel, taking
/// the stores in turn (several handles on one database stand for several nodes): every
/// recipient is claimed exactly once, and each is then `sending`.
pub async fn claimers_never_overlap(stores: Vec<Arc<dyn Store>>) {
    let store = stores[0].clone();
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut expected = HashSet::new();
    for i in 0..20 {
        let recipients: Vec<Recipient> = (0..10)
            .map(|j| recipient_value(&format!("r{i}-{j}@y.test"), RecipientKind::To, DeliveryStatus::Queued, None))
            .collect();
        let m = outbound(&store, &mb, t - Duration::seconds(60 - i), recipients).await;
        expected.extend(m.recipients.iter().map(|r| key(&m, r.address.as_str())));
    }
    assert_eq!(expected.len(), 200);

    let lease = t + Duration::hours(1);
    let tasks: Vec<_> = (0..4)
        .map(|i| tokio::spawn(claim_all(stores[i % stores.len()].clone(), t, lease, 3 + i as u32 * 2)))
        .collect();
    let mut claimed = Vec::new();
    let mut per_claimer = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        per_claimer.push(got.len());
        claimed.extend(got);
    }
    let unique: HashSet<_> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), unique.len(), "a recipient was claimed twice (claims per claimer: {per_claimer:?})");
    assert_eq!(unique, expected, "every recipient is claimed");
    assert!(claim(&store, t, lease, 1000).await.is_empty(), "nothing is left to claim");
    let sending = store.list_queue(Some(site.id), &[DeliveryStatus::Sending], 1000).await.unwrap();
    assert_eq!(sending.len(), 200);
}

/// Four claimers in parallel over 200 queued recipients never get the same one.
pub async fn concurrent_claims_never_overlap(store: Arc<dyn Store>) {
    claimers_never_overlap(vec![store]).await;
}

/// `list_queue` lists recipients of one site or all, in any of the given statuses (all when
/// none is given), oldest message first, limited.
pub async fn list_queue_filters_by_site_and_status(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let mb_a = new_mailbox(&store, a.id, "agent@a.test").await;
    let mb_b = new_mailbox(&store, b.id, "agent@b.test").await;
    let t = now();
    let m_a = outbound(
        &store,
        &mb_a,
        t,
        vec![
            recipient_value("q@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("d@y.test", RecipientKind::Cc, DeliveryStatus::Deferred, Some(t + Duration::hours(1))),
            recipient_value("ok@y.test", RecipientKind::To, DeliveryStatus::Delivered, None),
        ],
    )
    .await;
    let m_b = outbound(
        &store,
        &mb_b,
        t - Duration::minutes(1),
        vec![recipient_value("bounced@y.test", RecipientKind::To, DeliveryStatus::Bounced, None)],
    )
    .await;
    insert(&store, &message_value(&mb_a, ThreadId::new(), t), true).await;

    let list = |site: Option<SiteId>, statuses: Vec<DeliveryStatus>, limit: u32| {
        let store = store.clone();
        async move {
            store
                .list_queue(site, &statuses, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.message_id, p.site_id, p.recipient.address.to_string()))
                .collect::<Vec<_>>()
        }
    };
    let row = |m: &Message, a: &str| (m.id, m.site_id, a.to_string());
    let all = vec![row(&m_b, "bounced@y.test"), row(&m_a, "q@y.test"), row(&m_a, "d@y.test"), row(&m_a, "ok@y.test")];
    assert_eq!(list(None, vec![], 100).await, all);
    assert_eq!(list(None, vec![], 2).await, all[..2]);
    assert_eq!(list(Some(a.id), vec![], 100).await, all[1..]);
    assert_eq!(list(Some(b.id), vec![], 100).await, all[..1]);
    assert_eq!(
        list(None, vec![DeliveryStatus::Deferred, DeliveryStatus::Bounced, DeliveryStatus::Queued], 100).await,
        vec![row(&m_b, "bounced@y.test"), row(&m_a, "q@y.test"), row(&m_a, "d@y.test")]
    );
    assert_eq!(list(Some(a.id), vec![DeliveryStatus::Bounced], 100).await, vec![]);
    assert!(list(Some(SiteId::new()), vec![], 100).await.is_empty());
    let full = store.list_queue(Some(a.id), &[DeliveryStatus::Deferred], 10).await.unwrap();
    assert_eq!(full, vec![PendingRecipient { message_id: m_a.id, site_id: a.id, recipient: m_a.recipients[1].clone() }]);

    // The backlog counts queued, sending and deferred recipients of every site, and dates the
    // oldest message that has one; delivered and bounced ones (m_b's) do not count.
    assert_eq!(store.queue_backlog().await.unwrap(), QueueBacklog { waiting: 2, oldest: Some(m_a.created_at) });
    let sending = outbound(
        &store,
        &mb_b,
        t - Duration::minutes(5),
        vec![recipient_value("s@y.test", RecipientKind::To, DeliveryStatus::Sending, None)],
    )
    .await;
    assert_eq!(store.queue_backlog().await.unwrap(), QueueBacklog { waiting: 3, oldest: Some(sending.created_at) });
}

/// An empty queue has no backlog and no oldest message.
pub async fn queue_backlog_of_an_empty_queue(store: Arc<dyn Store>) {
    assert_eq!(store.queue_backlog().await.unwrap(), QueueBacklog::default());
}
