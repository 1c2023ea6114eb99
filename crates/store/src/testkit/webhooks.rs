//! Conformance cases: webhook endpoints and deliveries.

#[allow(unused_imports)]
use super::*;

// --- cases: webhooks -------------------------------------------------------------------------

pub(crate) fn webhook_value(site: SiteId, url: &str) -> WebhookEndpoint {
    let t = now();
    WebhookEndpoint {
        id: WebhookId::new(),
        site_id: site,
        url: url.to_string(),
        event_types: vec![event_types::MESSAGE_RECEIVED.to_string(), event_types::MESSAGE_DELIVERED.to_string()],
        mailbox_id: Some(MailboxId::new()),
        description: Some("CRM hook ✓".to_string()),
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        // NUL and invalid UTF-8 included.
        secret_encrypted: vec![0, 1, 2, 0xff, 0xfe, 0, b'w', b'h', 0x80],
        previous_secret_encrypted: None,
        previous_secret_expires_at: None,
        created_at: t,
        updated_at: t,
    }
}

/// Creates and returns an endpoint of `site` posting to `url`.
pub async fn new_webhook(store: &Arc<dyn Store>, site: SiteId, url: &str) -> WebhookEndpoint {
    let endpoint = webhook_value(site, url);
    store.create_webhook(&endpoint).await.expect("create_webhook");
    endpoint
}

/// Returns a pending delivery of the event `(event_id, cursor)` to `endpoint`, due at `due`.
pub fn delivery_value(endpoint: &WebhookEndpoint, event_id: EventId, cursor: i64, due: Option<DateTime<Utc>>) -> WebhookDelivery {
    let t = now();
    WebhookDelivery {
        id: WebhookDeliveryId::new(),
        endpoint_id: endpoint.id,
        site_id: endpoint.site_id,
        event_id,
        event_cursor: cursor.to_string(),
        event_type: event_types::MESSAGE_RECEIVED.to_string(),
        status: WebhookDeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: due,
        history: Vec::new(),
        created_at: t,
        updated_at: t,
    }
}

pub(crate) fn attempt_value(attempt: u32, status_code: Option<u16>, error: Option<&str>) -> WebhookAttempt {
    WebhookAttempt { attempt, at: now(), status_code, latency_ms: 100 + u64::from(attempt), error: error.map(str::to_string) }
}

pub(crate) async fn deliveries_of(store: &Arc<dyn Store>, endpoint: WebhookId) -> Vec<WebhookDelivery> {
    store.list_webhook_deliveries(endpoint, None, 10_000).await.expect("list_webhook_deliveries")
}

pub(crate) async fn delivery(store: &Arc<dyn Store>, endpoint: WebhookId, id: WebhookDeliveryId) -> WebhookDelivery {
    deliveries_of(store, endpoint).await.into_iter().find(|d| d.id == id).expect("the delivery exists")
}

/// Claims and returns the ids.
pub(crate) async fn claim_webhooks(store: &Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<WebhookDeliveryId> {
    store
        .claim_webhook_deliveries(at, lease, limit)
        .await
        .expect("claim_webhook_deliveries")
        .into_iter()
        .map(|d| d.id)
        .collect()
}

/// Endpoints read back field for field (both sealed secrets byte for byte, the previous
/// secret's expiry, optional fields unset), by id and listed oldest first per site or for all
/// sites. A duplicate id is `Conflict`, an endpoint of a site that does not exist `NotFound`;
/// creating logs nothing.
pub async fn webhooks_round_trip(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let events = all_events(&store).await.len();
    let t = now();
    let full = WebhookEndpoint {
        enabled: false,
        disabled_reason: Some("gone".into()),
        failing_since: Some(t - Duration::hours(3)),
        previous_secret_encrypted: Some((0..=255u8).chain([0, 0, 255]).collect()),
        previous_secret_expires_at: Some(t + Duration::hours(24) + Duration::microseconds(7)),
        ..webhook_value(a.id, "https://hooks.example.test/a?x=1&y=ü")
    };
    store.create_webhook(&full).await.unwrap();
    let bare = WebhookEndpoint {
        event_types: Vec::new(),
        mailbox_id: None,
        description: None,
        secret_encrypted: vec![42],
        created_at: t + Duration::seconds(1),
        updated_at: t + Duration::seconds(1),
        ..webhook_value(a.id, "http://127.0.0.1:9/bare")
    };
    store.create_webhook(&bare).await.unwrap();
    let other = WebhookEndpoint { created_at: t - Duration::seconds(1), ..webhook_value(b.id, "https://b.test/hook") };
    store.create_webhook(&other).await.unwrap();

    assert_eq!(store.get_webhook(full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(store.get_webhook(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(store.get_webhook(WebhookId::new()).await.unwrap(), None);
    assert_eq!(store.list_webhooks(Some(a.id)).await.unwrap(), vec![full.clone(), bare.clone()]);
    assert_eq!(store.list_webhooks(Some(b.id)).await.unwrap(), vec![other.clone()]);
    assert_eq!(store.list_webhooks(Some(SiteId::new())).await.unwrap(), vec![]);
    assert_eq!(store.list_webhooks(None).await.unwrap(), vec![other.clone(), full.clone(), bare.clone()]);

    assert_conflict(store.create_webhook(&WebhookEndpoint { url: "https://dup.test".into(), ..bare.clone() }).await, "webhook_endpoints_pkey");
    assert_eq!(store.get_webhook(bare.id).await.unwrap(), Some(bare.clone()));
    let orphan = webhook_value(SiteId::new(), "https://orphan.test");
    assert_not_found(store.create_webhook(&orphan).await);
    assert_eq!(store.get_webhook(orphan.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await.len(), events, "endpoints are created without events");
}

/// `update_webhook` saves every mutable field (setting and clearing optional ones, rotating
/// the secrets) with its events in one transaction; an endpoint that does not exist is
/// `NotFound` and logs nothing.
pub async fn update_webhook_saves_every_field_and_logs(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let original = new_webhook(&store, site.id, "https://a.test/hook").await;
    let untouched = new_webhook(&store, site.id, "https://b.test/hook").await;
    let t = now();
    let rotated = WebhookEndpoint {
        url: "https://a.test/v2".into(),
        event_types: vec![event_types::ENDPOINT_DISABLED.into()],
        mailbox_id: None,
        description: None,
        enabled: false,
        disabled_reason: Some("failing".into()),
        failing_since: Some(t - Duration::days(5)),
        secret_encrypted: vec![9, 8, 7, 0, 0xff],
        previous_secret_encrypted: Some(original.secret_encrypted.clone()),
        previous_secret_expires_at: Some(t + Duration::hours(24)),
        updated_at: t + Duration::seconds(1),
        ..original.clone()
    };
    let e = event(site.id, None, event_types::ENDPOINT_DISABLED);
    let before = all_events(&store).await.len();
    store.update_webhook(&rotated, std::slice::from_ref(&e)).await.unwrap();
    assert_eq!(store.get_webhook(original.id).await.unwrap(), Some(rotated.clone()));
    assert_eq!(store.get_webhook(untouched.id).await.unwrap(), Some(untouched.clone()));
    let logged = all_events(&store).await;
    assert_eq!(logged.len(), before + 1);
    assert_eq!(logged.last().unwrap().id, e.id);

    // Back the other way: optional fields set to none, without an event.
    let restored = WebhookEndpoint {
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        previous_secret_encrypted: None,
        previous_secret_expires_at: None,
        mailbox_id: Some(MailboxId::new()),
        description: Some("again".into()),
        updated_at: t + Duration::seconds(2),
        ..rotated.clone()
    };
    store.update_webhook(&restored, &[]).await.unwrap();
    assert_eq!(store.get_webhook(original.id).await.unwrap(), Some(restored.clone()));
    assert_eq!(all_events(&store).await, logged);

    let ghost = webhook_value(site.id, "https://ghost.test");
    assert_not_found(store.update_webhook(&ghost, &[event(site.id, None, "x.ghost")]).await);
    assert_eq!(store.get_webhook(ghost.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await, logged, "a failed update logs nothing");
    // An event that conflicts rolls the update back.
    let clash = WebhookEndpoint { url: "https://never.test".into(), ..restored.clone() };
    assert!(store.update_webhook(&clash, &[NewEvent { created_at: now(), ..e.clone() }]).await.is_err());
    assert_eq!(store.get_webhook(original.id).await.unwrap(), Some(restored));
}

/// Deleting an endpoint deletes its deliveries and their attempts, and nothing of other
/// endpoints; recording an attempt of a deleted delivery, or creating deliveries for a
/// deleted endpoint, is `NotFound`.
pub async fn delete_webhook_cascades_deliveries(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let doomed = new_webhook(&store, site.id, "https://doomed.test").await;
    let kept = new_webhook(&store, site.id, "https://kept.test").await;
    let t = now();
    let (e1, e2) = (EventId::new(), EventId::new());
    let mine = vec![delivery_value(&doomed, e1, 1, None), delivery_value(&doomed, e2, 2, Some(t + Duration::hours(1)))];
    let theirs = vec![delivery_value(&kept, e1, 1, None), delivery_value(&kept, e2, 2, None)];
    store.create_webhook_deliveries(&[mine.clone(), theirs.clone()].concat(), None).await.unwrap();
    store.record_webhook_attempt(mine[0].id, &attempt_value(1, Some(500), None), WebhookDeliveryStatus::Pending, Some(t)).await.unwrap();
    store.record_webhook_attempt(theirs[0].id, &attempt_value(1, Some(200), None), WebhookDeliveryStatus::Succeeded, None).await.unwrap();
    let kept_before = deliveries_of(&store, kept.id).await;
    assert_eq!(kept_before.len(), 2);

    assert!(store.delete_webhook(doomed.id).await.unwrap());
    assert!(!store.delete_webhook(doomed.id).await.unwrap());
    assert_eq!(store.get_webhook(doomed.id).await.unwrap(), None);
    assert_eq!(store.list_webhooks(Some(site.id)).await.unwrap(), vec![kept.clone()]);
    assert!(deliveries_of(&store, doomed.id).await.is_empty());
    assert_eq!(deliveries_of(&store, kept.id).await, kept_before);
    assert_not_found(store.record_webhook_attempt(mine[0].id, &attempt_value(2, None, Some("x")), WebhookDeliveryStatus::Failed, None).await);
    let far = t + Duration::days(1);
    assert_eq!(claim_webhooks(&store, far, far, 100).await, vec![theirs[1].id], "only the kept endpoint's pending delivery");
    assert_not_found(store.create_webhook_deliveries(&[delivery_value(&doomed, EventId::new(), 3, None)], None).await);
    // The kept endpoint takes new deliveries.
    let again = delivery_value(&kept, EventId::new(), 3, None);
    store.create_webhook_deliveries(std::slice::from_ref(&again), None).await.unwrap();
    assert_eq!(deliveries_of(&store, kept.id).await.len(), 3);
}

/// Deliveries are stored as given, with the cursor setting in the same transaction; a
/// delivery whose (endpoint, event) pair exists (from an earlier call or earlier in the same
/// batch) is skipped while the rest and the cursor are written; a failing batch writes
/// neither deliveries nor cursor.
pub async fn webhook_deliveries_are_created_with_the_cursor(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let (a, b) = (new_webhook(&store, site.id, "https://a.test").await, new_webhook(&store, site.id, "https://b.test").await);
    let t = now();
    let (e1, e2, e3) = (EventId::new(), EventId::new(), EventId::new());
    let mut first = vec![delivery_value(&a, e1, 7, Some(t)), delivery_value(&b, e1, 7, None)];
    first[0].attempts = 3;
    first[0].event_type = event_types::MESSAGE_DELIVERED.into();
    first[1].status = WebhookDeliveryStatus::Failed;
    store.create_webhook_deliveries(&first, Some(("webhooks.cursor", "7"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("7"));
    assert_eq!(deliveries_of(&store, a.id).await, vec![first[0].clone()]);
    assert_eq!(deliveries_of(&store, b.id).await, vec![first[1].clone()]);

    // Repeating the fan-out (a crash before the cursor moved) skips what exists.
    let repeat = vec![
        delivery_value(&a, e1, 7, None),
        delivery_value(&a, e2, 8, None),
        delivery_value(&a, e2, 8, Some(t)),
        delivery_value(&b, e2, 8, None),
    ];
    store.create_webhook_deliveries(&repeat, Some(("webhooks.cursor", "8"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("8"));
    assert_eq!(deliveries_of(&store, a.id).await, vec![repeat[1].clone(), first[0].clone()]);
    assert_eq!(deliveries_of(&store, b.id).await, vec![repeat[3].clone(), first[1].clone()]);
    // Everything skipped: the cursor still moves.
    store.create_webhook_deliveries(&repeat, Some(("webhooks.cursor", "9"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("9"));
    assert_eq!(deliveries_of(&store, a.id).await.len(), 2);
    // No deliveries, only the cursor; and deliveries without a cursor leave it alone.
    store.create_webhook_deliveries(&[], Some(("webhooks.cursor", "10"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    let third = delivery_value(&a, e3, 11, None);
    store.create_webhook_deliveries(std::slice::from_ref(&third), None).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    store.create_webhook_deliveries(&[], None).await.unwrap();

    // One bad delivery (its endpoint does not exist) fails the batch: nothing is written.
    let ghost = webhook_value(site.id, "https://ghost.test");
    let bad = vec![delivery_value(&b, e3, 11, None), delivery_value(&ghost, e3, 11, None)];
    assert_not_found(store.create_webhook_deliveries(&bad, Some(("webhooks.cursor", "11"))).await);
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    assert_eq!(deliveries_of(&store, b.id).await.len(), 2);
    // Nor does a duplicate delivery id.
    let dup_id = WebhookDelivery { id: third.id, ..delivery_value(&b, e3, 11, None) };
    assert_conflict(store.create_webhook_deliveries(&[dup_id], Some(("webhooks.cursor", "11"))).await, "webhook_deliveries_pkey");
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    assert_eq!(deliveries_of(&store, b.id).await.len(), 2);
}

/// Claiming takes `pending` deliveries that are due (or have no time) and `sending` ones
/// whose lease expired, in event cursor order (numerically), at most `limit`; it returns them
/// `sending` without history and otherwise unchanged, leaves valid leases (one ending
/// exactly at `now` included) and finished deliveries alone, and logs nothing.
pub async fn claim_webhook_deliveries_leases_due_ones(store: Arc<dyn Store>) {
    assert!(store.claim_webhook_deliveries(now(), now(), 10).await.unwrap().is_empty());
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let t = now();
    // Created newest event first, so id order is not cursor order; 9 < 10 numerically.
    let mut later = delivery_value(&ep, EventId::new(), 100, Some(t + Duration::minutes(10)));
    later.attempts = 2;
    let ten = delivery_value(&ep, EventId::new(), 10, None);
    let nine = delivery_value(&ep, EventId::new(), 9, Some(t));
    let done = WebhookDelivery { status: WebhookDeliveryStatus::Succeeded, ..delivery_value(&ep, EventId::new(), 1, None) };
    let failed = WebhookDelivery { status: WebhookDeliveryStatus::Failed, ..delivery_value(&ep, EventId::new(), 2, None) };
    assert_eq!(store.webhook_backlog().await.unwrap(), 0);
    store.create_webhook_deliveries(&[later.clone(), ten.clone(), nine.clone(), done, failed], None).await.unwrap();
    let events = all_events(&store).await.len();
    assert_eq!(store.webhook_backlog().await.unwrap(), 3, "pending ones count, finished ones do not");

    // A second before `t`, only the one without a time is due.
    let lease = t + Duration::minutes(5);
    let before = now();
    let got = store.claim_webhook_deliveries(t - Duration::seconds(1), lease, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].updated_at >= before, "claiming changes updated_at");
    assert_eq!(got[0], WebhookDelivery { status: WebhookDeliveryStatus::Sending, updated_at: got[0].updated_at, ..ten.clone() });
    assert_eq!(delivery(&store, ep.id, ten.id).await, got[0], "the claim is stored");

    // At `t` the ninth event's delivery comes due; the tenth's is leased.
    assert_eq!(claim_webhooks(&store, t, lease, 10).await, vec![nine.id]);
    // At the end of the lease both are still held, and `later` is not due yet.
    assert!(claim_webhooks(&store, lease, lease + Duration::minutes(5), 10).await.is_empty());
    // Once the leases expired they are claimed again, in cursor order, `limit` at most.
    let at = t + Duration::minutes(10);
    let lease2 = t + Duration::minutes(20);
    assert_eq!(claim_webhooks(&store, at, lease2, 2).await, vec![nine.id, ten.id]);
    let got = store.claim_webhook_deliveries(at, lease2, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0], WebhookDelivery { status: WebhookDeliveryStatus::Sending, updated_at: got[0].updated_at, ..later.clone() });
    assert_eq!(got[0].attempts, 2, "attempts are unchanged");
    assert!(claim_webhooks(&store, at, lease2, 10).await.is_empty());
    // Finished deliveries are never claimed; the expired leases are, in cursor order.
    let far = t + Duration::days(365);
    assert_eq!(claim_webhooks(&store, far, far, 10).await, vec![nine.id, ten.id, later.id]);
    assert!(claim_webhooks(&store, far, far, 0).await.is_empty());
    assert_eq!(all_events(&store).await.len(), events, "claiming logs no event");
    assert_eq!(store.webhook_backlog().await.unwrap(), 3, "deliveries being sent still count");
}

/// Claims webhook deliveries `limit` at a time until nothing is left; returns what it got.
pub(crate) async fn claim_all_webhooks(store: Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<WebhookDeliveryId> {
    let mut mine = Vec::new();
    loop {
        let got = claim_webhooks(&store, at, lease, limit).await;
        if got.is_empty() {
            return mine;
        }
        mine.extend(got);
        tokio::task::yield_now().await;
    }
}

/// Fills `stores[0]` with 200 pending webhook deliveries (two endpoints), then runs 4
/// claimers in parallel, taking the stores in turn: every delivery is claimed exactly once.
pub async fn webhook_claimers_never_overlap(stores: Vec<Arc<dyn Store>>) {
    let store = stores[0].clone();
    let site = new_site(&store, "a").await;
    let eps = [new_webhook(&store, site.id, "https://a.test").await, new_webhook(&store, site.id, "https://b.test").await];
    let deliveries: Vec<WebhookDelivery> =
        (0..200).map(|i| delivery_value(&eps[i % 2], EventId::new(), i as i64 + 1, None)).collect();
    for chunk in deliveries.chunks(50) {
        store.create_webhook_deliveries(chunk, None).await.unwrap();
    }
    let expected: HashSet<WebhookDeliveryId> = deliveries.iter().map(|d| d.id).collect();

    let t = now();
    let lease = t + Duration::hours(1);
    let tasks: Vec<_> = (0..4)
        .map(|i| tokio::spawn(claim_all_webhooks(stores[i % stores.len()].clone(), t, lease, 3 + i as u32 * 2)))
        .collect();
    let mut claimed = Vec::new();
    let mut per_claimer = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        per_claimer.push(got.len());
        claimed.extend(got);
    }
    let unique: HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a delivery was claimed twice (claims per claimer: {per_claimer:?})");
    assert_eq!(unique, expected, "every delivery is claimed");
    assert!(claim_webhooks(&store, t, lease, 1000).await.is_empty(), "nothing is left to claim");
    for ep in &eps {
        assert!(deliveries_of(&store, ep.id).await.iter().all(|d| d.status == WebhookDeliveryStatus::Sending));
    }
}

/// Four claimers in parallel over 200 pending deliveries never get the same one.
pub async fn concurrent_webhook_claims_never_overlap(store: Arc<dyn Store>) {
    webhook_claimers_never_overlap(vec![store]).await;
}

/// Each attempt is kept (number, time, status code or none, latency, error) and sets the
/// delivery's status, attempt count and next attempt, ending the lease: a delivery put back
/// to `pending` is claimable when due even within its old lease. The history reads oldest
/// first; two attempts of one number (two workers after a lease expired) are both kept, in
/// the order they were recorded. A delivery that does not exist is `NotFound`.
pub async fn webhook_attempts_are_recorded_in_order(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let d = delivery_value(&ep, EventId::new(), 1, None);
    let other = delivery_value(&ep, EventId::new(), 2, Some(now() + Duration::days(1)));
    store.create_webhook_deliveries(&[d.clone(), other.clone()], None).await.unwrap();
    let events = all_events(&store).await.len();
    let t = now();
    let lease = t + Duration::hours(1);
    assert_eq!(claim_webhooks(&store, t, lease, 10).await, vec![d.id]);

    let first = WebhookAttempt { latency_ms: u64::from(u32::MAX) * 4, ..attempt_value(1, Some(503), Some("503 Service Unavailable")) };
    let retry_at = t + Duration::seconds(5) + Duration::microseconds(3);
    let before = now();
    store.record_webhook_attempt(d.id, &first, WebhookDeliveryStatus::Pending, Some(retry_at)).await.unwrap();
    let got = delivery(&store, ep.id, d.id).await;
    assert!(got.updated_at >= before);
    assert_eq!(
        got,
        WebhookDelivery {
            status: WebhookDeliveryStatus::Pending,
            attempts: 1,
            next_attempt_at: Some(retry_at),
            history: vec![first.clone()],
            updated_at: got.updated_at,
            ..d.clone()
        }
    );
    assert!(claim_webhooks(&store, t + Duration::seconds(5), lease, 10).await.is_empty(), "not due yet");
    assert_eq!(claim_webhooks(&store, retry_at, lease, 10).await, vec![d.id], "due again within the old lease");

    let second = attempt_value(2, None, Some("connection refused"));
    store.record_webhook_attempt(d.id, &second, WebhookDeliveryStatus::Pending, Some(retry_at)).await.unwrap();
    let second_again = attempt_value(2, Some(500), None);
    store.record_webhook_attempt(d.id, &second_again, WebhookDeliveryStatus::Pending, Some(retry_at)).await.unwrap();
    let third = attempt_value(3, Some(204), None);
    store.record_webhook_attempt(d.id, &third, WebhookDeliveryStatus::Succeeded, None).await.unwrap();
    let got = delivery(&store, ep.id, d.id).await;
    assert_eq!((got.status, got.attempts, got.next_attempt_at), (WebhookDeliveryStatus::Succeeded, 3, None));
    assert_eq!(got.history, vec![first, second, second_again, third]);
    assert_eq!(claim_webhooks(&store, t + Duration::days(30), t + Duration::days(31), 10).await, vec![other.id], "succeeded is final");
    assert!(delivery(&store, ep.id, other.id).await.history.is_empty(), "the other delivery has no history");

    assert_not_found(store.record_webhook_attempt(WebhookDeliveryId::new(), &attempt_value(1, None, None), WebhookDeliveryStatus::Failed, None).await);
    assert_eq!(all_events(&store).await.len(), events, "recording logs no event");
}

/// An endpoint's deliveries list newest first (by id), each with its own attempts, paged by
/// `before` and `limit`; other endpoints' deliveries never appear.
pub async fn webhook_deliveries_paginate_newest_first(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let other = new_webhook(&store, site.id, "https://b.test").await;
    let mut mine = Vec::new();
    for i in 0..5 {
        let d = delivery_value(&ep, EventId::new(), i + 1, None);
        store.create_webhook_deliveries(std::slice::from_ref(&d), None).await.unwrap();
        store.create_webhook_deliveries(&[delivery_value(&other, d.event_id, i + 1, None)], None).await.unwrap();
        mine.push(d);
    }
    // Attempts on every other delivery, a different number each.
    for (i, d) in mine.iter_mut().enumerate().filter(|(i, _)| i % 2 == 0) {
        for n in 1..=(i as u32 / 2 + 1) {
            let a = attempt_value(n, Some(500 + n as u16), None);
            store.record_webhook_attempt(d.id, &a, WebhookDeliveryStatus::Pending, None).await.unwrap();
            d.history.push(a);
        }
    }
    let listed = deliveries_of(&store, ep.id).await;
    assert_eq!(listed.len(), 5);
    for (got, want) in listed.iter().zip(mine.iter().rev()) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.history, want.history);
        assert_eq!(got.attempts, want.history.len() as u32);
    }
    let ids = |ds: Vec<WebhookDelivery>| ds.into_iter().map(|d| d.id).collect::<Vec<_>>();
    let page1 = store.list_webhook_deliveries(ep.id, None, 2).await.unwrap();
    assert_eq!(ids(page1.clone()), vec![mine[4].id, mine[3].id]);
    let page2 = store.list_webhook_deliveries(ep.id, Some(page1[1].id), 2).await.unwrap();
    assert_eq!(ids(page2.clone()), vec![mine[2].id, mine[1].id]);
    assert_eq!(page2[0].history, mine[2].history);
    let page3 = store.list_webhook_deliveries(ep.id, Some(page2[1].id), 2).await.unwrap();
    assert_eq!(ids(page3.clone()), vec![mine[0].id]);
    assert!(store.list_webhook_deliveries(ep.id, Some(mine[0].id), 2).await.unwrap().is_empty());
    assert!(store.list_webhook_deliveries(ep.id, None, 0).await.unwrap().is_empty());
    assert!(store.list_webhook_deliveries(WebhookId::new(), None, 10).await.unwrap().is_empty());
    assert!(deliveries_of(&store, other.id).await.iter().all(|d| d.history.is_empty() && d.endpoint_id == other.id));
}

/// `requeue_webhook_deliveries` (a replay) makes finished, failed and future deliveries due
/// now, keeping ids and history, and leaves one being sent alone.
pub async fn requeue_webhook_deliveries_makes_them_due_again(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let t = now();
    let sending = delivery_value(&ep, EventId::new(), 1, None);
    let done = WebhookDelivery { status: WebhookDeliveryStatus::Succeeded, ..delivery_value(&ep, EventId::new(), 2, None) };
    let failed = WebhookDelivery { status: WebhookDeliveryStatus::Failed, ..delivery_value(&ep, EventId::new(), 3, None) };
    let later = delivery_value(&ep, EventId::new(), 4, Some(t + Duration::days(1)));
    store.create_webhook_deliveries(&[sending.clone(), done.clone(), failed.clone(), later.clone()], None).await.unwrap();
    assert_eq!(claim_webhooks(&store, t, t + Duration::minutes(5), 1).await, vec![sending.id]);
    let attempt = WebhookAttempt { attempt: 1, at: now(), status_code: Some(500), latency_ms: 3, error: Some("HTTP 500".into()) };
    store.record_webhook_attempt(failed.id, &attempt, WebhookDeliveryStatus::Failed, None).await.unwrap();
    let ids = [sending.id, done.id, failed.id, later.id, WebhookDeliveryId::new()];
    assert_eq!(store.requeue_webhook_deliveries(&ids).await.unwrap(), 3, "all but the one being sent");
    assert_eq!(store.requeue_webhook_deliveries(&[]).await.unwrap(), 0);
    for id in [done.id, failed.id, later.id] {
        let got = delivery(&store, ep.id, id).await;
        assert_eq!(got.status, WebhookDeliveryStatus::Pending);
        assert!(got.next_attempt_at.is_some_and(|n| n <= now()));
    }
    assert_eq!(delivery(&store, ep.id, failed.id).await.history.len(), 1, "history is kept");
    let claimed = claim_webhooks(&store, now(), now() + Duration::minutes(5), 10).await;
    assert_eq!(claimed, vec![done.id, failed.id, later.id]);
}

/// `fail_pending_webhook_deliveries` fails the endpoint's `pending` deliveries (due or not,
/// clearing their next attempt) and counts them; deliveries being sent, finished ones and
/// other endpoints' are left alone.
pub async fn fail_pending_webhook_deliveries_fails_only_pending(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let other = new_webhook(&store, site.id, "https://b.test").await;
    let t = now();
    let sending = delivery_value(&ep, EventId::new(), 1, None);
    let due = delivery_value(&ep, EventId::new(), 2, Some(t + Duration::hours(1)));
    let later = delivery_value(&ep, EventId::new(), 3, Some(t + Duration::days(1)));
    let done = WebhookDelivery { status: WebhookDeliveryStatus::Succeeded, ..delivery_value(&ep, EventId::new(), 4, None) };
    let theirs = delivery_value(&other, EventId::new(), 5, None);
    store.create_webhook_deliveries(&[sending.clone(), due.clone(), later.clone(), done.clone(), theirs.clone()], None).await.unwrap();
    assert_eq!(claim_webhooks(&store, t, t + Duration::minutes(5), 1).await, vec![sending.id]);
    let claimed = delivery(&store, ep.id, sending.id).await;

    let before = now();
    assert_eq!(store.fail_pending_webhook_deliveries(ep.id).await.unwrap(), 2);
    for d in [&due, &later] {
        let got = delivery(&store, ep.id, d.id).await;
        assert!(got.updated_at >= before);
        assert_eq!(
            got,
            WebhookDelivery { status: WebhookDeliveryStatus::Failed, next_attempt_at: None, updated_at: got.updated_at, ..d.clone() }
        );
    }
    assert_eq!(delivery(&store, ep.id, sending.id).await, claimed, "the delivery being sent is left to its worker");
    assert_eq!(delivery(&store, ep.id, done.id).await, done);
    assert_eq!(delivery(&store, other.id, theirs.id).await, theirs);
    assert_eq!(store.fail_pending_webhook_deliveries(ep.id).await.unwrap(), 0);
    assert_eq!(store.fail_pending_webhook_deliveries(WebhookId::new()).await.unwrap(), 0);
    let far = t + Duration::days(30);
    assert_eq!(claim_webhooks(&store, far, far, 10).await, vec![sending.id, theirs.id], "failed deliveries are never claimed");
}
