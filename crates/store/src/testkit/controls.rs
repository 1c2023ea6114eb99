//! Conformance cases: operational controls, rate-limit state, uploads and worker leases.

#[allow(unused_imports)]
use super::*;
use mailroom_core::controls::*;

/// Controls round-trip per scope; a mailbox's expiry is found once due; retention rules list.
pub async fn controls_round_trip_and_expiry(store: Arc<dyn Store>) {
    let site = new_site(&store, "acme").await;
    let mb = new_mailbox(&store, site.id, "eph@example.test").await;
    let keep = new_mailbox(&store, site.id, "keep@example.test").await;
    assert_eq!(store.get_controls(ControlScope::Mailbox(mb.id)).await.unwrap(), None);
    let limits = LimitsPatch { send_per_minute: Some(Some(5)), storage_bytes: Some(None), ..Default::default() };
    let c = Controls { limits, retention_days: Some(30), expires_at: Some(now() + Duration::seconds(2)) };
    store.put_controls(ControlScope::Mailbox(mb.id), site.id, &c).await.unwrap();
    assert_eq!(store.get_controls(ControlScope::Mailbox(mb.id)).await.unwrap(), Some(c.clone()));
    let resolved = c.limits.resolve(&Limits { storage_bytes: Some(10), max_messages: Some(3), ..Default::default() });
    assert_eq!(resolved, Limits { send_per_minute: Some(5), storage_bytes: None, max_messages: Some(3), ..Default::default() }, "null overrides a default");
    store.put_controls(ControlScope::Site(site.id), site.id, &Controls { retention_days: Some(7), ..Default::default() }).await.unwrap();
    assert!(store.expired_mailboxes(now(), 10).await.unwrap().is_empty());
    assert_eq!(store.expired_mailboxes(now() + Duration::seconds(3), 10).await.unwrap(), vec![mb.id]);
    let mut rules = store.retention_rules().await.unwrap();
    rules.sort_by_key(|r| r.2);
    assert_eq!(rules, vec![(ControlScope::Site(site.id), site.id, 7), (ControlScope::Mailbox(mb.id), site.id, 30)]);
    // Several scopes in one read: in the order asked, `None` where nothing is stored.
    let scopes = [ControlScope::Mailbox(keep.id), ControlScope::Site(site.id), ControlScope::Mailbox(mb.id), ControlScope::Mailbox(keep.id)];
    let each = store.get_controls_of(&scopes).await.unwrap();
    assert_eq!(each, vec![None, Some(Controls { retention_days: Some(7), ..Default::default() }), Some(c.clone()), None]);
    assert!(store.get_controls_of(&[]).await.unwrap().is_empty());
    // Clearing an expiry.
    store.put_controls(ControlScope::Mailbox(mb.id), site.id, &Controls { expires_at: None, ..c }).await.unwrap();
    assert!(store.expired_mailboxes(now() + Duration::days(1), 10).await.unwrap().is_empty());
}

/// Usage counts a mailbox's and a site's messages and bytes; retention candidates are the
/// older messages, and a site's rule skips mailboxes with their own.
pub async fn usage_and_retention_candidates(store: Arc<dyn Store>) {
    let site = new_site(&store, "acme").await;
    let a = new_mailbox(&store, site.id, "a@example.test").await;
    let b = new_mailbox(&store, site.id, "b@example.test").await;
    let old = message_value(&a, ThreadId::new(), now() - Duration::days(10));
    let new = message_value(&a, ThreadId::new(), now());
    let other = message_value(&b, ThreadId::new(), now() - Duration::days(10));
    for m in [&old, &new, &other] {
        insert(&store, m, true).await;
    }
    assert_eq!(store.usage(ControlScope::Mailbox(a.id)).await.unwrap(), Usage { storage_bytes: 200, messages: 2 });
    assert_eq!(store.usage(ControlScope::Site(site.id)).await.unwrap(), Usage { storage_bytes: 300, messages: 3 });
    let cutoff = now() - Duration::days(5);
    assert_eq!(store.messages_before(ControlScope::Mailbox(a.id), cutoff, 10).await.unwrap(), vec![old.id]);
    let mut site_old = store.messages_before(ControlScope::Site(site.id), cutoff, 10).await.unwrap();
    site_old.sort();
    let mut want = vec![old.id, other.id];
    want.sort();
    assert_eq!(site_old, want);
    store.put_controls(ControlScope::Mailbox(b.id), site.id, &Controls { retention_days: Some(365), ..Default::default() }).await.unwrap();
    assert_eq!(store.messages_before(ControlScope::Site(site.id), cutoff, 10).await.unwrap(), vec![old.id], "b has its own rule");
}

/// Rate buckets allow their limit, then refuse with a retry time, all or nothing across
/// buckets; a cost of 0 only reports.
pub async fn rate_buckets_take_all_or_nothing(store: Arc<dyn Store>) {
    let t = now();
    let minute = RateBucket { key: "send:mailbox:x:minute".into(), limit: 5, period_ms: 60_000 };
    let day = RateBucket { key: "send:site:y:day".into(), limit: 7, period_ms: 86_400_000 };
    let both = [minute.clone(), day.clone()];
    for i in 0..5u64 {
        let d = store.take_rate(&both, 1, t).await.unwrap();
        assert!(d.allowed, "send {i}");
        assert_eq!(d.states[0].remaining, 4 - i);
    }
    let refused = store.take_rate(&both, 1, t).await.unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.states[0].remaining, 0);
    assert!(refused.states[0].retry_after_ms > 0 && refused.states[0].retry_after_ms <= 12_000, "{:?}", refused.states[0]);
    // The refused send took nothing from the day bucket.
    assert_eq!(store.take_rate(std::slice::from_ref(&day), 0, t).await.unwrap().states[0].remaining, 2);
    // A minute later the minute bucket is whole again; the day bucket has 2 left.
    let later = t + Duration::seconds(61);
    assert!(store.take_rate(&both, 1, later).await.unwrap().allowed);
    assert!(store.take_rate(&both, 1, later).await.unwrap().allowed);
    let d = store.take_rate(&both, 1, later).await.unwrap();
    assert!(!d.allowed, "the day bucket is empty");
}

/// Uploads round-trip and are deleted once expired; leases go to one holder at a time.
pub async fn uploads_and_leases(store: Arc<dyn Store>) {
    let site = new_site(&store, "acme").await;
    let id = AttachmentId::new();
    let u = UploadedAttachment {
        id,
        site_id: site.id,
        filename: Some("a.pdf".into()),
        content_type: "application/pdf".into(),
        size: 42,
        sha256: "00".repeat(32),
        created_at: now(),
        expires_at: now() + Duration::hours(1),
        blob_key: format!("uploads/{id}"),
    };
    store.create_upload(&u).await.unwrap();
    assert_eq!(store.get_upload(id).await.unwrap(), Some(u.clone()));
    assert!(store.delete_expired_uploads(now(), 10).await.unwrap().is_empty());
    assert_eq!(store.delete_expired_uploads(now() + Duration::hours(2), 10).await.unwrap(), vec![u]);
    assert_eq!(store.get_upload(id).await.unwrap(), None);

    let t = now();
    assert!(store.acquire_lease("controls", "node-a", t, t + Duration::seconds(10)).await.unwrap());
    assert!(!store.acquire_lease("controls", "node-b", t, t + Duration::seconds(10)).await.unwrap());
    assert!(store.acquire_lease("controls", "node-a", t, t + Duration::seconds(20)).await.unwrap(), "renewed by its holder");
    assert!(store.acquire_lease("controls", "node-b", t + Duration::seconds(21), t + Duration::seconds(30)).await.unwrap(), "taken once lapsed");
}
