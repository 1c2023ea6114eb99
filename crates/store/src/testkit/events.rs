//! Conformance cases: the event log and its signal.

#[allow(unused_imports)]
use super::*;

// --- cases: the event log --------------------------------------------------------------------

/// Events read back in append order with increasing cursors, filtered by site and `after`
/// (exclusive), limited; a site's reads number its own events.
pub async fn events_are_ordered_and_filtered(store: Arc<dyn Store>) {
    let (a, b) = (SiteId::new(), SiteId::new());
    let mb = MailboxId::new();
    assert!(all_events(&store).await.is_empty());
    store.append_events(&[]).await.unwrap();
    let mut appended = Vec::new();
    for (i, site) in [a, b, a, a, b].into_iter().enumerate() {
        let mut e = event(site, (i % 2 == 0).then_some(mb), &format!("test.event{i}"));
        e.data = serde_json::json!({ "i": i, "nested": { "list": [1, "two", null] }, "text": "ü ✓" });
        appended.push(e);
    }
    store.append_events(&appended[..2]).await.unwrap();
    store.append_events(&appended[2..]).await.unwrap();

    let all = all_events(&store).await;
    assert_eq!(all.len(), 5);
    for (got, want) in all.iter().zip(&appended) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.site_id, want.site_id);
        assert_eq!(got.mailbox_id, want.mailbox_id);
        assert_eq!(got.event_type, want.event_type);
        assert_eq!(got.data, want.data);
        assert_eq!(got.created_at, want.created_at);
    }
    let cursors: Vec<i64> = all.iter().map(cursor).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "cursors increase: {cursors:?}");
    assert!(cursors[0] > 0);

    let of_a = store.list_events(Some(a), None, 100).await.unwrap();
    assert_eq!(of_a.iter().map(|e| e.id).collect::<Vec<_>>(), vec![appended[0].id, appended[2].id, appended[3].id]);
    let after = store.list_events(None, Some(cursors[1]), 100).await.unwrap();
    assert_eq!(after, all[2..].to_vec());
    // Site reads number the site's own events 1, 2, 3…
    assert_eq!(of_a.iter().map(cursor).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(of_a.iter().all(|e| mailroom_core::cursor::parse(&e.cursor).unwrap().0 == mailroom_core::cursor::CursorScope::Site));
    assert!(all.iter().all(|e| mailroom_core::cursor::parse(&e.cursor).unwrap().0 == mailroom_core::cursor::CursorScope::All));
    let after_a = store.list_events(Some(a), Some(cursor(&of_a[1])), 100).await.unwrap();
    assert_eq!(after_a.iter().map(|e| e.id).collect::<Vec<_>>(), vec![all[3].id]);
    assert_eq!(after_a, vec![of_a[2].clone()]);
    assert_eq!(store.list_events(None, Some(cursors[0]), 2).await.unwrap(), all[1..3].to_vec());
    assert!(store.list_events(None, Some(cursors[4]), 100).await.unwrap().is_empty());
    assert!(store.list_events(None, None, 0).await.unwrap().is_empty());
    assert!(store.list_events(Some(SiteId::new()), None, 100).await.unwrap().is_empty());
    assert_eq!(store.list_events(None, Some(-5), 1).await.unwrap(), vec![all[0].clone()]);

    let dup = NewEvent { created_at: now(), ..appended[0].clone() };
    assert!(matches!(store.append_events(&[dup]).await, Err(StoreError::Conflict { .. })), "event ids are unique");
    assert_eq!(all_events(&store).await.len(), 5);
}

/// The events of a write are appended with it or not at all.
pub async fn events_are_atomic_with_writes(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let mut m = message_value(&mb, ThreadId::new(), now());
    m.message_id = Some("once@x".into());
    let events = vec![
        event(site.id, Some(mb.id), event_types::MESSAGE_RECEIVED),
        event(site.id, Some(mb.id), event_types::MESSAGE_DELIVERED),
    ];
    store.insert_message(&NewMessage { message: m.clone(), new_thread: true }, &events).await.unwrap();
    let logged = all_events(&store).await;
    assert_eq!(logged.iter().skip(1).map(|e| e.id).collect::<Vec<_>>(), vec![events[0].id, events[1].id]);

    // A failing write logs nothing, even its events that came before the failure.
    let mut dup = message_value(&mb, ThreadId::new(), now());
    dup.message_id = Some("once@x".into());
    let more = vec![event(site.id, Some(mb.id), event_types::MESSAGE_RECEIVED)];
    assert!(store.insert_message(&NewMessage { message: dup, new_thread: true }, &more).await.is_err());
    // An event that conflicts rolls back the whole write, message included.
    let fresh = message_value(&mb, ThreadId::new(), now());
    let clash = vec![event(site.id, Some(mb.id), "x.ok"), NewEvent { created_at: now(), ..events[0].clone() }];
    assert!(store.insert_message(&NewMessage { message: fresh.clone(), new_thread: true }, &clash).await.is_err());
    assert_eq!(store.get_message(fresh.id).await.unwrap(), None);
    assert_eq!(store.get_thread(fresh.thread_id).await.unwrap(), None);
    assert_eq!(all_events(&store).await, logged);
    assert!(store.append_events(&clash).await.is_err());
    assert_eq!(all_events(&store).await, logged, "append_events is all or nothing");
}

/// Many concurrent writers (messages with events, into new threads and one shared thread,
/// plus bare event appends) all succeed, counters stay exact, and a reader tailing the log
/// by cursor sees every event exactly once, in strictly increasing cursor order: a cursor
/// smaller than one already read never appears later.
pub async fn concurrent_writers_keep_cursors_increasing(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let shared = message_value(&mb, ThreadId::new(), now());
    insert(&store, &shared, true).await;
    let start = all_events(&store).await.last().map(cursor);

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tail = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = start;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let batch = store.list_events(None, after, 50).await.unwrap();
                if let Some(last) = batch.last() {
                    after = Some(cursor(last));
                }
                let empty = batch.is_empty();
                seen.extend(batch);
                if finished && empty {
                    return seen;
                }
                if empty {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        })
    };

    const WRITERS: usize = 24;
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = store.clone();
        let mb = mb.clone();
        let shared_thread = shared.thread_id;
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for j in 0..3 {
                let join = (i + j) % 2 == 0;
                let m = message_value(&mb, if join { shared_thread } else { ThreadId::new() }, now());
                let events = vec![
                    event(mb.site_id, Some(mb.id), event_types::MESSAGE_RECEIVED),
                    event(mb.site_id, Some(mb.id), "test.second"),
                ];
                store.insert_message(&NewMessage { message: m, new_thread: !join }, &events).await.expect("concurrent insert_message");
                mine.extend(events.iter().map(|e| e.id));
                let bare = vec![event(mb.site_id, None, "test.bare")];
                store.append_events(&bare).await.expect("concurrent append_events");
                mine.extend(bare.iter().map(|e| e.id));
            }
            mine
        }));
    }
    let mut written = HashSet::new();
    let mut joined = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        written.extend(t.await.unwrap());
        joined += (0..3).filter(|j| (i + j) % 2 == 0).count() as u64;
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = tail.await.unwrap();

    let cursors: Vec<i64> = seen.iter().map(cursor).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "the tail reads strictly increasing cursors");
    let seen_ids: HashSet<EventId> = seen.iter().map(|e| e.id).collect();
    assert_eq!(seen_ids.len(), seen.len(), "no event is read twice");
    assert_eq!(seen_ids, written, "the tail saw every event: none appeared behind its cursor");
    assert_eq!(written.len(), WRITERS * 3 * 3);

    let all = all_events(&store).await;
    assert!(all.windows(2).all(|w| cursor(&w[0]) < cursor(&w[1])));
    assert_eq!(store.get_thread(shared.thread_id).await.unwrap().unwrap().message_count, 1 + joined);
    assert_eq!(store.list_messages(mb.id, &page(1000)).await.unwrap().len(), 1 + WRITERS * 3);
    assert_eq!(store.list_threads(mb.id, None, 1000).await.unwrap().len() as u64, 1 + (WRITERS as u64 * 3 - joined));
}

/// `get_event` returns the event with an id, its cursor in its site's scope;
/// `last_event_cursor` the newest position of a site or of the log, 0 when there is none.
pub async fn get_event_and_last_event_cursor(store: Arc<dyn Store>) {
    assert_eq!(store.last_event_cursor(None).await.unwrap(), 0);
    assert_eq!(store.get_event(EventId::new()).await.unwrap(), None);
    let (site, other) = (SiteId::new(), SiteId::new());
    assert_eq!(store.last_event_cursor(Some(site)).await.unwrap(), 0);
    let mut e = event(site, Some(MailboxId::new()), "test.one");
    e.data = serde_json::json!({ "nested": [1, { "x": null }], "text": "ü ✓" });
    store.append_events(&[e, event(other, None, "test.other"), event(site, None, "test.two"), event(site, None, "test.three")]).await.unwrap();
    let of_site = store.list_events(Some(site), None, 100).await.unwrap();
    assert_eq!(of_site.len(), 3);
    for listed in &of_site {
        assert_eq!(store.get_event(listed.id).await.unwrap().as_ref(), Some(listed));
    }
    assert_eq!(store.last_event_cursor(Some(site)).await.unwrap(), 3);
    assert_eq!(store.last_event_cursor(Some(other)).await.unwrap(), 1);
    assert_eq!(store.last_event_cursor(Some(SiteId::new())).await.unwrap(), 0);
    let all = all_events(&store).await;
    assert_eq!(store.last_event_cursor(None).await.unwrap(), cursor(all.last().unwrap()));
}

/// A site's cursors depend on its own events only: two sites' first events carry the same
/// cursor whatever other sites wrote before and between, and so do their later ones.
pub async fn site_cursors_reveal_nothing_about_other_sites(store: Arc<dyn Store>) {
    let (quiet, busy, noisy) = (SiteId::new(), SiteId::new(), SiteId::new());
    let burst = |n: usize| (0..n).map(|_| event(noisy, None, "test.noise")).collect::<Vec<_>>();
    store.append_events(&burst(7)).await.unwrap();
    store.append_events(&[event(busy, None, "test.first")]).await.unwrap();
    store.append_events(&burst(3)).await.unwrap();
    store.append_events(&[event(quiet, None, "test.first")]).await.unwrap();
    store.append_events(&[event(busy, None, "test.second"), event(noisy, None, "test.noise")]).await.unwrap();
    store.append_events(&burst(11)).await.unwrap();
    store.append_events(&[event(quiet, None, "test.second")]).await.unwrap();
    let of = |site| {
        let store = store.clone();
        async move { store.list_events(Some(site), None, 100).await.unwrap().into_iter().map(|e| e.cursor).collect::<Vec<_>>() }
    };
    let (q, b) = (of(quiet).await, of(busy).await);
    assert_eq!(q, b, "same cursors for the same own history, whatever other sites did");
    assert_eq!(q.len(), 2);
    assert_ne!(q[0], q[1]);
    // Their starting positions (an SSE stream's announced position) are alike too.
    assert_eq!(store.last_event_cursor(Some(quiet)).await.unwrap(), store.last_event_cursor(Some(busy)).await.unwrap());
    // A site's cursor read in another site's scope means that site's own position: nothing leaks.
    let after_first = store.list_events(Some(quiet), Some(cursor(&store.list_events(Some(busy), None, 1).await.unwrap()[0])), 100).await.unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].site_id, quiet);
}

/// Writers on several sites at once (messages and bare appends); a tail per site, following
/// its site cursor, sees every event of its site exactly once, in order, and no other site's.
pub async fn concurrent_writers_on_many_sites_keep_site_order(store: Arc<dyn Store>) {
    concurrent_writers_on_nodes_keep_site_order(&[store]).await;
}

/// As [`concurrent_writers_on_many_sites_keep_site_order`], with the writers and the tails
/// spread over several stores sharing one database (nodes): writer `i` writes through
/// `nodes[i % n]`, the tail of site `k` reads through `nodes[k % n]`; a message's event is
/// readable on its node and on the next when its write returns.
pub async fn concurrent_writers_on_nodes_keep_site_order(nodes: &[Arc<dyn Store>]) {
    let store = nodes[0].clone();
    const SITES: usize = 3;
    const WRITERS: usize = 8;
    const ROUNDS: usize = 4;
    let mut mailboxes = Vec::new();
    for i in 0..SITES {
        let site = new_site(&store, &format!("s{i}")).await;
        mailboxes.push(new_mailbox(&store, site.id, &format!("agent{i}@x.test")).await);
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tails = Vec::new();
    for (k, mb) in mailboxes.iter().enumerate() {
        let (store, done, site) = (nodes[k % nodes.len()].clone(), done.clone(), mb.site_id);
        let start = store.last_event_cursor(Some(site)).await.unwrap();
        tails.push(tokio::spawn(async move {
            let mut seen: Vec<Event> = Vec::new();
            let mut after = start;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let batch = store.list_events(Some(site), Some(after), 7).await.unwrap();
                for e in &batch {
                    assert_eq!(e.site_id, site, "a site read returns its site's events only");
                    assert_eq!(cursor(e), after + 1, "site positions follow one another without gaps");
                    after = cursor(e);
                }
                let empty = batch.is_empty();
                seen.extend(batch);
                if finished && empty {
                    return seen;
                }
                if empty {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        }));
    }
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = nodes[i % nodes.len()].clone();
        let next = nodes[(i + 1) % nodes.len()].clone();
        let mailboxes = mailboxes.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for j in 0..ROUNDS {
                let mb = &mailboxes[(i + j) % SITES];
                let m = message_value(mb, ThreadId::new(), now());
                let events = vec![event(mb.site_id, Some(mb.id), event_types::MESSAGE_RECEIVED)];
                store.insert_message(&NewMessage { message: m, new_thread: true }, &events).await.expect("insert_message");
                // Numbered when the write returns, whichever node's seal numbered it.
                for node in [&store, &next] {
                    assert!(node.get_event(events[0].id).await.unwrap().is_some(), "a write's events are readable on every node when it returns");
                }
                mine.extend(events.iter().map(|e| (e.site_id, e.id)));
                let bare = vec![event(mb.site_id, None, "test.bare"), event(mailboxes[(i + j + 1) % SITES].site_id, None, "test.bare")];
                store.append_events(&bare).await.expect("append_events");
                mine.extend(bare.iter().map(|e| (e.site_id, e.id)));
            }
            mine
        }));
    }
    let mut written: HashMap<SiteId, HashSet<EventId>> = HashMap::new();
    for t in tasks {
        for (site, id) in t.await.unwrap() {
            written.entry(site).or_default().insert(id);
        }
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for (mb, tail) in mailboxes.iter().zip(tails) {
        let seen = tail.await.unwrap();
        let ids: HashSet<EventId> = seen.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), seen.len(), "no event is read twice");
        assert_eq!(Some(&ids), written.get(&mb.site_id), "the tail saw every event of its site");
    }
}

/// Asserts that the signal moved by exactly one since last seen (`true`) or not at all.
#[track_caller]
pub(crate) fn assert_bumped(rx: &mut tokio::sync::watch::Receiver<u64>, last: &mut u64, bumped: bool, what: &str) {
    assert_eq!(rx.has_changed().expect("the store keeps its sender"), bumped, "{what}: changed");
    let now = *rx.borrow_and_update();
    assert_eq!(now, *last + u64::from(bumped), "{what}: one bump per commit that appended events");
    *last = now;
}

/// The event signal moves once after every commit that appended events (every write that
/// takes events), and not after writes without events, failed writes, or reads.
pub async fn event_signal_bumps_after_commits_that_append(store: Arc<dyn Store>) {
    let mut rx = store.event_signal();
    assert!(!rx.has_changed().unwrap(), "a new receiver has seen the current value");
    let mut last = *rx.borrow_and_update();
    let mut step = |rx: &mut tokio::sync::watch::Receiver<u64>, bumped: bool, what: &str| assert_bumped(rx, &mut last, bumped, what);

    let site = new_site(&store, "a").await;
    step(&mut rx, false, "create_site");
    let mut mb = mailbox_value(site.id, "agent@x.test", None);
    store.create_mailbox(&mb, &event(site.id, Some(mb.id), event_types::MAILBOX_CREATED)).await.unwrap();
    step(&mut rx, true, "create_mailbox");
    assert!(store.create_mailbox(&mb, &event(site.id, Some(mb.id), event_types::MAILBOX_CREATED)).await.is_err());
    step(&mut rx, false, "a failed create_mailbox");
    mb.display_name = Some("Renamed".into());
    store.update_mailbox(&mb, &event(site.id, Some(mb.id), event_types::MAILBOX_UPDATED)).await.unwrap();
    step(&mut rx, true, "update_mailbox");

    let mut m = message_value(&mb, ThreadId::new(), now());
    m.direction = Direction::Outbound;
    m.recipients = vec![recipient_value("bob@y.test", RecipientKind::To, DeliveryStatus::Queued, None)];
    store.insert_message(&NewMessage { message: m.clone(), new_thread: true }, &[]).await.unwrap();
    step(&mut rx, false, "insert_message without events");
    let second = message_value(&mb, ThreadId::new(), now());
    insert(&store, &second, true).await;
    step(&mut rx, true, "insert_message");
    store.update_message_flags(m.id, true, &["x".to_string()]).await.unwrap();
    step(&mut rx, false, "update_message_flags");
    let update = RecipientUpdate { status: DeliveryStatus::Deferred, last_reply: None, attempts: 1, next_attempt_at: None };
    store.update_recipient(m.id, &addr("bob@y.test"), &update, &[]).await.unwrap();
    step(&mut rx, false, "update_recipient without events");
    store.update_recipient(m.id, &addr("bob@y.test"), &update, &[event(site.id, Some(mb.id), event_types::MESSAGE_DEFERRED)]).await.unwrap();
    step(&mut rx, true, "update_recipient");
    assert!(!store.claim_recipients(now() + Duration::seconds(1), now() + Duration::minutes(1), 10).await.unwrap().is_empty());
    step(&mut rx, false, "claim_recipients");
    store.delete_message(second.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await.unwrap();
    step(&mut rx, true, "delete_message");

    store.create_domain(&domain_value(site.id, "x.test"), &event(site.id, None, event_types::DOMAIN_CREATED)).await.unwrap();
    step(&mut rx, true, "create_domain");
    store.put_suppression(&suppression_value(site.id, "gone@y.test", "bounce"), None).await.unwrap();
    step(&mut rx, false, "put_suppression without event");
    let e = event(site.id, None, event_types::SUPPRESSION_CREATED);
    store.put_suppression(&suppression_value(site.id, "gone@y.test", "bounce"), Some(&e)).await.unwrap();
    step(&mut rx, true, "put_suppression");

    let mut ep = new_webhook(&store, site.id, "https://a.test").await;
    step(&mut rx, false, "create_webhook");
    ep.enabled = false;
    store.update_webhook(&ep, &[]).await.unwrap();
    step(&mut rx, false, "update_webhook without events");
    store.update_webhook(&ep, &[event(site.id, None, event_types::ENDPOINT_DISABLED)]).await.unwrap();
    step(&mut rx, true, "update_webhook");
    let d = delivery_value(&ep, EventId::new(), 1, None);
    store.create_webhook_deliveries(std::slice::from_ref(&d), Some(("webhooks.cursor", "1"))).await.unwrap();
    step(&mut rx, false, "create_webhook_deliveries");
    store.claim_webhook_deliveries(now(), now() + Duration::minutes(1), 10).await.unwrap();
    store.record_webhook_attempt(d.id, &attempt_value(1, Some(200), None), WebhookDeliveryStatus::Succeeded, None).await.unwrap();
    store.fail_pending_webhook_deliveries(ep.id).await.unwrap();
    store.put_setting("k", "v").await.unwrap();
    store.put_setting_if_absent("k2", "v").await.unwrap();
    store.claim_idempotency_key(site.id, "idem", "h").await.unwrap();
    store.list_events(None, None, 100).await.unwrap();
    step(&mut rx, false, "webhook deliveries, settings, idempotency keys and reads");
    assert!(store.delete_webhook(ep.id).await.unwrap());
    step(&mut rx, false, "delete_webhook");

    store.append_events(&[]).await.unwrap();
    step(&mut rx, false, "append_events of nothing");
    let two = [event(site.id, None, "test.a"), event(site.id, None, "test.b")];
    store.append_events(&two).await.unwrap();
    step(&mut rx, true, "append_events (one bump for one commit)");
    assert!(store.append_events(&two).await.is_err());
    step(&mut rx, false, "a failed append_events");
    store.delete_mailbox(mb.id, &event(site.id, Some(mb.id), event_types::MAILBOX_DELETED)).await.unwrap();
    step(&mut rx, true, "delete_mailbox");

    // Every receiver sees the same signal.
    let mut other = store.event_signal();
    store.append_events(&[event(site.id, None, "test.c")]).await.unwrap();
    assert!(other.has_changed().unwrap());
    other.borrow_and_update();
    step(&mut rx, true, "append_events seen by a second receiver");
}

/// A task waiting on the signal is woken by another task's `insert_message`, and the log it
/// then reads already holds the message's event: the signal moves after the commit.
pub async fn event_signal_wakes_a_waiter(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let start = store.last_event_cursor(None).await.unwrap();
    let mut rx = store.event_signal();
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::timeout(std::time::Duration::from_secs(10), rx.changed())
                .await
                .expect("woken within 10 s")
                .expect("the store keeps its sender");
            store.list_events(None, Some(start), 100).await.expect("list_events")
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "nothing happened yet");
    let writer = {
        let store = store.clone();
        let mb = mb.clone();
        tokio::spawn(async move {
            let m = message_value(&mb, ThreadId::new(), now());
            let e = event(mb.site_id, Some(mb.id), event_types::MESSAGE_RECEIVED);
            store.insert_message(&NewMessage { message: m, new_thread: true }, std::slice::from_ref(&e)).await.expect("insert_message");
            e.id
        })
    };
    let written = writer.await.unwrap();
    let seen = waiter.await.unwrap();
    assert!(seen.iter().any(|e| e.id == written), "the woken waiter reads the new event: {seen:?}");
}
