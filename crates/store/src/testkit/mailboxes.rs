//! Conformance cases: sites, API keys and mailboxes.

#[allow(unused_imports)]
use super::*;

/// Sites are created, fetched and listed oldest first; ids are unique.
pub async fn sites_round_trip(store: Arc<dyn Store>) {
    assert!(store.list_sites().await.unwrap().is_empty());
    let t = now();
    let later = Site { id: SiteId::new(), name: "Later".into(), created_at: t + Duration::seconds(5) };
    let earlier = Site { id: SiteId::new(), name: "Earlier — ünïcode".into(), created_at: t };
    store.create_site(&later).await.unwrap();
    store.create_site(&earlier).await.unwrap();
    assert_eq!(store.get_site(earlier.id).await.unwrap(), Some(earlier.clone()));
    assert_eq!(store.get_site(SiteId::new()).await.unwrap(), None);
    assert_eq!(store.list_sites().await.unwrap(), vec![earlier.clone(), later.clone()]);
    let dup = Site { name: "again".into(), ..earlier };
    assert!(matches!(store.create_site(&dup).await, Err(StoreError::Conflict { .. })));
}

/// Keys are found by hash and id, listed per site or all (oldest first), and deleted.
pub async fn api_keys_round_trip(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let other = new_site(&store, "b").await;
    let t = now();
    let admin = ApiKey {
        id: ApiKeyId::new(),
        name: "root".into(),
        scope: "admin".into(),
        site_id: None,
        prefix: "mr_adm".into(),
        created_at: t,
    };
    let key = ApiKey {
        id: ApiKeyId::new(),
        name: "agent".into(),
        scope: "site".into(),
        site_id: Some(site.id),
        prefix: "mr_abc".into(),
        created_at: t + Duration::seconds(1),
    };
    let other_key = ApiKey { id: ApiKeyId::new(), site_id: Some(other.id), created_at: t + Duration::seconds(2), ..key.clone() };
    store.create_api_key(&admin, "hash-admin").await.unwrap();
    store.create_api_key(&key, "hash-site").await.unwrap();
    store.create_api_key(&other_key, "hash-other").await.unwrap();

    let found = store.find_api_key_by_hash("hash-site").await.unwrap().expect("found by hash");
    assert_eq!(found, key);
    assert_eq!(found.key_scope(), KeyScope::Site(site.id));
    assert_eq!(store.find_api_key_by_hash("hash-admin").await.unwrap().unwrap().key_scope(), KeyScope::Admin);
    assert_eq!(store.find_api_key_by_hash("nope").await.unwrap(), None);
    assert_eq!(store.get_api_key(admin.id).await.unwrap(), Some(admin.clone()));
    assert_eq!(store.get_api_key(ApiKeyId::new()).await.unwrap(), None);
    assert_eq!(store.list_api_keys(Some(site.id)).await.unwrap(), vec![key.clone()]);
    assert_eq!(store.list_api_keys(None).await.unwrap(), vec![admin.clone(), key.clone(), other_key.clone()]);

    let dup = ApiKey { id: ApiKeyId::new(), ..key.clone() };
    assert_conflict(store.create_api_key(&dup, "hash-site").await, "api_key_hash");

    assert!(store.delete_api_key(key.id).await.unwrap());
    assert!(!store.delete_api_key(key.id).await.unwrap());
    assert_eq!(store.find_api_key_by_hash("hash-site").await.unwrap(), None);
    assert_eq!(store.get_api_key(key.id).await.unwrap(), None);
    assert_eq!(store.list_api_keys(Some(site.id)).await.unwrap(), vec![]);
}

// --- cases: mailboxes ------------------------------------------------------------------------

/// A mailbox is found by id, canonical address and client id, and its creation is logged.
pub async fn mailboxes_round_trip(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let other = new_site(&store, "b").await;
    let mb = mailbox_value(site.id, "Support.Team@x.test", Some("client-1"));
    let e = event(site.id, Some(mb.id), event_types::MAILBOX_CREATED);
    store.create_mailbox(&mb, &e).await.unwrap();

    assert_eq!(store.get_mailbox(mb.id).await.unwrap(), Some(mb.clone()));
    assert_eq!(store.get_mailbox(MailboxId::new()).await.unwrap(), None);
    let by_address = store.get_mailbox_by_address("support.team@x.test").await.unwrap().expect("found by address");
    assert_eq!(by_address, mb);
    assert_eq!(by_address.address.as_str(), "Support.Team@x.test", "the address is kept as given");
    assert_eq!(store.get_mailbox_by_address("nobody@x.test").await.unwrap(), None);
    assert_eq!(store.get_mailbox_by_client_id(site.id, "client-1").await.unwrap(), Some(mb.clone()));
    assert_eq!(store.get_mailbox_by_client_id(other.id, "client-1").await.unwrap(), None);
    assert_eq!(store.get_mailbox_by_client_id(site.id, "client-2").await.unwrap(), None);

    let events = all_events(&store).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, e.id);
    assert_eq!(events[0].event_type, event_types::MAILBOX_CREATED);
    assert_eq!(events[0].mailbox_id, Some(mb.id));
}

/// Addresses are unique whatever their case, across sites, and a refused mailbox logs nothing.
pub async fn mailbox_address_conflict_ignores_case(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let other = new_site(&store, "b").await;
    new_mailbox(&store, site.id, "Agent@x.test").await;
    let before = all_events(&store).await.len();
    for (s, address) in [(site.id, "agent@x.test"), (other.id, "AGENT@X.TEST"), (site.id, "Agent@x.test")] {
        let mb = mailbox_value(s, address, None);
        assert_conflict(store.create_mailbox(&mb, &event(s, Some(mb.id), event_types::MAILBOX_CREATED)).await, "mailbox_address");
        assert_eq!(store.get_mailbox(mb.id).await.unwrap(), None);
    }
    assert_eq!(all_events(&store).await.len(), before, "a refused mailbox appends no event");
}

/// Client ids are unique per site only; mailboxes without one never conflict.
pub async fn mailbox_client_id_conflict_is_per_site(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let other = new_site(&store, "b").await;
    let first = mailbox_value(site.id, "one@x.test", Some("agent-7"));
    store.create_mailbox(&first, &event(site.id, Some(first.id), "mailbox.created")).await.unwrap();
    let clash = mailbox_value(site.id, "two@x.test", Some("agent-7"));
    assert_conflict(store.create_mailbox(&clash, &event(site.id, Some(clash.id), "mailbox.created")).await, "mailbox_client_id");
    let elsewhere = mailbox_value(other.id, "three@x.test", Some("agent-7"));
    store.create_mailbox(&elsewhere, &event(other.id, Some(elsewhere.id), "mailbox.created")).await.unwrap();
    assert_eq!(store.get_mailbox_by_client_id(other.id, "agent-7").await.unwrap(), Some(elsewhere));
    assert_eq!(store.get_mailbox_by_client_id(site.id, "agent-7").await.unwrap(), Some(first));
    new_mailbox(&store, site.id, "four@x.test").await;
    new_mailbox(&store, site.id, "five@x.test").await;
}

/// Mailboxes list newest first, page by `before` (exclusive) and filter by site.
pub async fn mailboxes_paginate_newest_first(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let other = new_site(&store, "b").await;
    let mut mine = Vec::new();
    let mut all = Vec::new();
    for i in 0..7 {
        let s = if i % 3 == 2 { other.id } else { site.id };
        let mb = new_mailbox(&store, s, &format!("box{i}@x.test")).await;
        if s == site.id {
            mine.push(mb.clone());
        }
        all.push(mb);
    }
    mine.reverse();
    all.reverse();
    assert_eq!(store.list_mailboxes(None, None, 100).await.unwrap(), all);
    assert_eq!(store.list_mailboxes(Some(site.id), None, 100).await.unwrap(), mine);
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let got = store.list_mailboxes(Some(site.id), before, 2).await.unwrap();
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 2);
        before = Some(got.last().unwrap().id);
        pages.extend(got);
    }
    assert_eq!(pages, mine);
    assert_eq!(store.list_mailboxes(None, Some(all[0].id), 1).await.unwrap(), vec![all[1].clone()]);
    assert!(store.list_mailboxes(None, None, 0).await.unwrap().is_empty());
    assert!(store.list_mailboxes(Some(SiteId::new()), None, 10).await.unwrap().is_empty());
}

/// An update saves the display name and time and is logged; a missing mailbox is `NotFound`.
pub async fn update_mailbox_saves_and_logs(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let changed = Mailbox { display_name: Some("Renamed".into()), updated_at: mb.updated_at + Duration::seconds(3), ..mb.clone() };
    let e = event(site.id, Some(mb.id), event_types::MAILBOX_UPDATED);
    store.update_mailbox(&changed, &e).await.unwrap();
    assert_eq!(store.get_mailbox(mb.id).await.unwrap(), Some(changed.clone()));
    let cleared = Mailbox { display_name: None, ..changed };
    store.update_mailbox(&cleared, &event(site.id, Some(mb.id), event_types::MAILBOX_UPDATED)).await.unwrap();
    assert_eq!(store.get_mailbox(mb.id).await.unwrap().unwrap().display_name, None);
    assert_eq!(all_events(&store).await.len(), 3);

    let ghost = mailbox_value(site.id, "ghost@x.test", None);
    assert_not_found(store.update_mailbox(&ghost, &event(site.id, Some(ghost.id), event_types::MAILBOX_UPDATED)).await);
    assert_eq!(all_events(&store).await.len(), 3, "a failed update appends no event");
}

/// Deleting a mailbox removes its threads, messages, attachments and recipients, logs the
/// event and returns each unshared blob key once; other mailboxes are untouched.
pub async fn delete_mailbox_cascades_and_returns_blob_keys(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "doomed@x.test").await;
    let keep = new_mailbox(&store, site.id, "kept@x.test").await;
    let t = now();

    let t1 = ThreadId::new();
    let mut m1 = message_value(&mb, t1, t);
    m1.attachments = vec![attachment_value("a.pdf"), attachment_value("b.pdf")];
    let mut m2 = message_value(&mb, t1, t + Duration::seconds(1));
    m2.direction = Direction::Outbound;
    m2.recipients = vec![recipient_value("bob@y.test", RecipientKind::To, DeliveryStatus::Queued, None)];
    let mut m3 = message_value(&mb, ThreadId::new(), t + Duration::seconds(2));
    let shared = attachment_value("shared.pdf");
    m3.attachments = vec![shared.clone()];
    insert(&store, &m1, true).await;
    insert(&store, &m2, false).await;
    insert(&store, &m3, true).await;
    let mut kept = message_value(&keep, ThreadId::new(), t);
    kept.attachments = vec![Attachment { id: AttachmentId::new(), ..shared.clone() }];
    insert(&store, &kept, true).await;

    let e = event(site.id, Some(mb.id), event_types::MAILBOX_DELETED);
    let keys = store.delete_mailbox(mb.id, &e).await.unwrap();
    let expected: HashSet<String> = [
        m1.raw_blob_key.clone(),
        m1.attachments[0].blob_key.clone(),
        m1.attachments[1].blob_key.clone(),
        m2.raw_blob_key.clone(),
        m3.raw_blob_key.clone(),
    ]
    .into();
    assert_eq!(keys.len(), expected.len(), "each key once: {keys:?}");
    assert_eq!(keys.into_iter().collect::<HashSet<_>>(), expected, "the shared attachment blob is still used");

    assert_eq!(store.get_mailbox(mb.id).await.unwrap(), None);
    assert_eq!(store.get_mailbox_by_address("doomed@x.test").await.unwrap(), None);
    for m in [&m1, &m2, &m3] {
        assert_eq!(store.get_message(m.id).await.unwrap(), None);
        assert_eq!(store.get_thread(m.thread_id).await.unwrap(), None);
    }
    assert_eq!(store.get_attachment(m1.attachments[0].id).await.unwrap(), None);
    assert!(store.list_messages(mb.id, &page(10)).await.unwrap().is_empty());
    assert!(store.list_threads(mb.id, None, 10).await.unwrap().is_empty());
    assert!(store.due_recipients(t + Duration::days(1), 10).await.unwrap().is_empty());

    assert_eq!(store.get_message(kept.id).await.unwrap().unwrap().attachments.len(), 1);
    assert_eq!(store.list_mailboxes(Some(site.id), None, 10).await.unwrap(), vec![keep]);
    let last = all_events(&store).await.pop().unwrap();
    assert_eq!((last.id, last.event_type.as_str()), (e.id, event_types::MAILBOX_DELETED));

    // The address is free again, and a second delete finds nothing.
    new_mailbox(&store, site.id, "doomed@x.test").await;
    assert_not_found(store.delete_mailbox(mb.id, &event(site.id, Some(mb.id), event_types::MAILBOX_DELETED)).await);
}
