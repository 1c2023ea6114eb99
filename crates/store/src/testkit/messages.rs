//! Conformance cases: messages, attachments and threads.

#[allow(unused_imports)]
use super::*;

// --- cases: messages and threads -------------------------------------------------------------

/// A message that starts a thread creates it with its counters, subject and participants.
pub async fn insert_message_starts_a_thread(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut m = message_value(&mb, ThreadId::new(), t);
    m.subject = Some("Re: Fwd: Quarterly report".into());
    m.snippet = "Numbers attached".into();
    m.cc = vec![named("Carol <carol@y.test>"), named("alice@sender.test")];
    m.bcc = vec![named("dave@y.test")];
    insert(&store, &m, true).await;

    let thread = store.get_thread(m.thread_id).await.unwrap().expect("the thread exists");
    let expected = Thread {
        id: m.thread_id,
        site_id: site.id,
        mailbox_id: mb.id,
        subject: Some("Quarterly report".into()),
        participants: vec![addr("alice@sender.test"), addr("agent@x.test"), addr("carol@y.test"), addr("dave@y.test")],
        message_count: 1,
        snippet: "Numbers attached".into(),
        last_message_at: t,
        created_at: t,
    };
    assert_eq!(thread, expected);

    let mut bare = message_value(&mb, ThreadId::new(), t);
    bare.subject = None;
    bare.from = None;
    bare.to = vec![];
    insert(&store, &bare, true).await;
    let thread = store.get_thread(bare.thread_id).await.unwrap().unwrap();
    assert_eq!(thread.subject, None);
    assert!(thread.participants.is_empty());
    assert_eq!(store.get_thread(ThreadId::new()).await.unwrap(), None);
}

/// Joining a thread counts the message, merges participants (ignoring case) and moves the
/// latest activity and snippet only forward.
pub async fn insert_message_joins_a_thread(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let thread = ThreadId::new();
    let mut first = message_value(&mb, thread, t);
    first.snippet = "first".into();
    insert(&store, &first, true).await;

    let mut reply = message_value(&mb, thread, t + Duration::seconds(10));
    reply.direction = Direction::Outbound;
    reply.from = Some(NamedAddress { name: None, address: mb.address.clone() });
    reply.to = vec![named("ALICE@sender.test"), named("bob@y.test")];
    reply.subject = Some("Re: Hello".into());
    reply.snippet = "second".into();
    insert(&store, &reply, false).await;
    let got = store.get_thread(thread).await.unwrap().unwrap();
    assert_eq!(got.message_count, 2);
    assert_eq!(got.last_message_at, t + Duration::seconds(10));
    assert_eq!(got.snippet, "second");
    assert_eq!(got.subject.as_deref(), Some("Hello"));
    assert_eq!(got.created_at, t);
    assert_eq!(got.participants, vec![addr("alice@sender.test"), addr("agent@x.test"), addr("bob@y.test")]);

    // A message stored with an older time counts but does not become the latest.
    let mut late = message_value(&mb, thread, t + Duration::seconds(5));
    late.snippet = "late".into();
    late.cc = vec![named("carol@y.test")];
    insert(&store, &late, false).await;
    let got = store.get_thread(thread).await.unwrap().unwrap();
    assert_eq!(got.message_count, 3);
    assert_eq!(got.last_message_at, t + Duration::seconds(10));
    assert_eq!(got.snippet, "second");
    assert_eq!(got.participants.last(), Some(&addr("carol@y.test")));
    assert_eq!(got.participants.len(), 4);
}

/// Joining a missing thread, or one of another mailbox, or writing to a missing mailbox is
/// `NotFound`, and stores nothing.
pub async fn insert_message_needs_its_thread_and_mailbox(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let other = new_mailbox(&store, site.id, "other@x.test").await;
    let theirs = message_value(&other, ThreadId::new(), now());
    insert(&store, &theirs, true).await;
    let before = all_events(&store).await.len();

    let orphan = message_value(&mb, ThreadId::new(), now());
    let e = event(site.id, Some(mb.id), event_types::MESSAGE_RECEIVED);
    assert_not_found(store.insert_message(&NewMessage { message: orphan.clone(), new_thread: false }, std::slice::from_ref(&e)).await);
    let foreign = message_value(&mb, theirs.thread_id, now());
    assert_not_found(store.insert_message(&NewMessage { message: foreign.clone(), new_thread: false }, std::slice::from_ref(&e)).await);
    let ghost_box = Mailbox { id: MailboxId::new(), ..mb.clone() };
    let homeless = message_value(&ghost_box, ThreadId::new(), now());
    assert_not_found(store.insert_message(&NewMessage { message: homeless.clone(), new_thread: true }, &[e]).await);

    for m in [&orphan, &foreign, &homeless] {
        assert_eq!(store.get_message(m.id).await.unwrap(), None);
    }
    assert_eq!(store.get_thread(homeless.thread_id).await.unwrap(), None);
    assert_eq!(store.get_thread(theirs.thread_id).await.unwrap().unwrap().message_count, 1);
    assert_eq!(all_events(&store).await.len(), before);
}

/// A message reads back exactly, attachments in insertion order, recipients included.
pub async fn get_message_round_trips_every_field(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut m = message_value(&mb, ThreadId::new(), t);
    m.direction = Direction::Outbound;
    m.message_id = Some("abc.123@x.test".into());
    m.in_reply_to = Some("parent@y.test".into());
    m.references = vec!["root@y.test".into(), "parent@y.test".into()];
    m.from = Some(named("Agent Smith <agent@x.test>"));
    m.to = vec![named("\"Bob B\" <bob@y.test>"), named("carol@y.test")];
    m.cc = vec![named("dave@y.test")];
    m.bcc = vec![named("eve@z.test")];
    m.reply_to = vec![named("Support <help@x.test>")];
    m.subject = Some("Grüße — «quotes» 'and' \"more\"".into());
    m.text = Some("Line one\nLine two ✓".into());
    m.html = Some("<p>Line one<br>Line two ✓</p>".into());
    m.snippet = "Line one Line two ✓".into();
    m.headers = vec![
        Header { name: "Subject".into(), value: "Grüße".into() },
        Header { name: "X-Custom".into(), value: "1".into() },
        Header { name: "X-Custom".into(), value: "2".into() },
    ];
    // Insertion order differs from id order on purpose.
    let later = attachment_value("z-later-id.pdf");
    let mut earlier = attachment_value("a-earlier-id.png");
    earlier.content_type = "image/png".into();
    earlier.content_id = Some("logo@x".into());
    earlier.inline = true;
    earlier.filename = None;
    m.attachments = vec![later, earlier];
    m.labels = vec!["important".into(), "tag:news".into()];
    m.read = true;
    m.size = 5_000_000_000;
    let mut r1 = recipient_value("bob@y.test", RecipientKind::To, DeliveryStatus::Queued, None);
    r1.last_reply = Some("250 OK".into());
    let r2 = recipient_value("carol@y.test", RecipientKind::To, DeliveryStatus::Deferred, Some(t + Duration::minutes(5)));
    let mut r3 = recipient_value("dave@y.test", RecipientKind::Cc, DeliveryStatus::Delivered, None);
    r3.attempts = 3;
    let r4 = recipient_value("eve@z.test", RecipientKind::Bcc, DeliveryStatus::Bounced, None);
    m.recipients = vec![r2, r1, r3, r4];
    insert(&store, &m, true).await;

    assert_eq!(store.get_message(m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(store.get_message(MessageId::new()).await.unwrap(), None);
    assert_eq!(store.list_messages(mb.id, &page(10)).await.unwrap(), vec![m.clone()]);
    assert_eq!(store.list_thread_messages(m.thread_id).await.unwrap(), vec![m.clone()]);
    assert_eq!(store.find_message_by_message_id(mb.id, None, "abc.123@x.test").await.unwrap(), Some(m));
}

/// Timestamps keep microseconds: finer digits are dropped (never rounded up), and `since`
/// compares at that precision.
pub async fn timestamps_keep_microseconds(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let base = DateTime::parse_from_rfc3339("2025-03-04T05:06:07.123456999Z").unwrap().with_timezone(&Utc);
    let m = message_value(&mb, ThreadId::new(), base);
    insert(&store, &m, true).await;
    let got = store.get_message(m.id).await.unwrap().unwrap();
    assert_eq!(got.created_at, micros(base));
    assert_eq!(got.created_at.nanosecond(), 123_456_000);
    let thread = store.get_thread(m.thread_id).await.unwrap().unwrap();
    assert_eq!(thread.last_message_at, micros(base));
    let since = |t| MessageFilter { since: Some(t), ..page(10) };
    assert_eq!(store.list_messages(mb.id, &since(micros(base))).await.unwrap().len(), 1);
    assert_eq!(store.list_messages(mb.id, &since(base)).await.unwrap().len(), 1, "same microsecond");
    assert_eq!(store.list_messages(mb.id, &since(micros(base) + Duration::microseconds(1))).await.unwrap().len(), 0);
    let far = DateTime::parse_from_rfc3339("2099-12-31T23:59:59.999999Z").unwrap().with_timezone(&Utc);
    let old = DateTime::parse_from_rfc3339("1999-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
    for t in [far, old] {
        let m = message_value(&mb, ThreadId::new(), t);
        insert(&store, &m, true).await;
        assert_eq!(store.get_message(m.id).await.unwrap().unwrap().created_at, t);
    }
}

/// Each filter of a message listing, alone and combined; results are newest first by id.
pub async fn list_messages_filters(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let elsewhere = new_mailbox(&store, site.id, "else@x.test").await;
    let t = now();
    let (ta, tb) = (ThreadId::new(), ThreadId::new());

    let mut m1 = message_value(&mb, ta, t);
    m1.labels = vec!["a".into()];
    let mut m2 = message_value(&mb, ta, t + Duration::seconds(1));
    m2.direction = Direction::Outbound;
    m2.read = true;
    m2.labels = vec!["a".into(), "b".into()];
    let mut m3 = message_value(&mb, tb, t + Duration::seconds(2));
    m3.read = true;
    m3.labels = vec!["ab".into()];
    let mut m4 = message_value(&mb, tb, t + Duration::seconds(2) + Duration::microseconds(1));
    m4.labels = vec!["b".into()];
    // The newest id with the oldest time: order follows ids.
    let m5 = message_value(&mb, ThreadId::new(), t - Duration::seconds(10));
    let mut noise = message_value(&elsewhere, ThreadId::new(), t);
    noise.labels = vec!["a".into()];
    insert(&store, &m1, true).await;
    insert(&store, &m2, false).await;
    insert(&store, &m3, true).await;
    insert(&store, &m4, false).await;
    insert(&store, &m5, true).await;
    insert(&store, &noise, true).await;

    let list = |f: MessageFilter| {
        let store = store.clone();
        async move { ids(&store.list_messages(mb.id, &f).await.unwrap()) }
    };
    let all = page(100);
    assert_eq!(list(all.clone()).await, vec![m5.id, m4.id, m3.id, m2.id, m1.id]);
    assert_eq!(list(MessageFilter { direction: Some(Direction::Inbound), ..all.clone() }).await, vec![m5.id, m4.id, m3.id, m1.id]);
    assert_eq!(list(MessageFilter { direction: Some(Direction::Outbound), ..all.clone() }).await, vec![m2.id]);
    assert_eq!(list(MessageFilter { thread_id: Some(ta), ..all.clone() }).await, vec![m2.id, m1.id]);
    assert_eq!(list(MessageFilter { unread: Some(true), ..all.clone() }).await, vec![m5.id, m4.id, m1.id]);
    assert_eq!(list(MessageFilter { unread: Some(false), ..all.clone() }).await, vec![m3.id, m2.id]);
    assert_eq!(list(MessageFilter { since: Some(t + Duration::seconds(1)), ..all.clone() }).await, vec![m4.id, m3.id, m2.id]);
    assert_eq!(
        list(MessageFilter { since: Some(t + Duration::seconds(2) + Duration::microseconds(1)), ..all.clone() }).await,
        vec![m4.id]
    );
    assert_eq!(list(MessageFilter { label: Some("a".into()), ..all.clone() }).await, vec![m2.id, m1.id]);
    assert_eq!(list(MessageFilter { label: Some("b".into()), ..all.clone() }).await, vec![m4.id, m2.id]);
    assert_eq!(list(MessageFilter { label: Some("ab".into()), ..all.clone() }).await, vec![m3.id]);
    assert_eq!(list(MessageFilter { label: Some("%".into()), ..all.clone() }).await, Vec::<MessageId>::new());
    assert_eq!(
        list(MessageFilter { direction: Some(Direction::Inbound), unread: Some(true), since: Some(t), ..all.clone() }).await,
        vec![m4.id, m1.id]
    );
    assert_eq!(list(MessageFilter { label: Some("b".into()), before: Some(m4.id), ..all.clone() }).await, vec![m2.id]);
    assert_eq!(list(page(2)).await, vec![m5.id, m4.id]);
    assert_eq!(list(page(0)).await, Vec::<MessageId>::new());
    assert!(store.list_messages(MailboxId::new(), &all).await.unwrap().is_empty());
}

/// Pages of messages follow `before` (exclusive) without gaps or repeats.
pub async fn list_messages_paginates(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut expected = Vec::new();
    for i in 0..7 {
        let mut m = message_value(&mb, ThreadId::new(), t + Duration::seconds(i));
        m.attachments = vec![attachment_value(&format!("{i}.pdf"))];
        insert(&store, &m, true).await;
        expected.push(m);
    }
    expected.reverse();
    let mut got = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let batch = store.list_messages(mb.id, &MessageFilter { before, ..page(3) }).await.unwrap();
        if batch.is_empty() {
            break;
        }
        pages += 1;
        before = Some(batch.last().unwrap().id);
        got.extend(batch);
    }
    assert_eq!(pages, 3);
    assert_eq!(got, expected, "listings carry attachments too");
    assert!(store.list_messages(mb.id, &MessageFilter { before: Some(expected[6].id), ..page(3) }).await.unwrap().is_empty());
}

/// Finding by `Message-ID` honours the mailbox and direction; without a direction the newest
/// wins.
pub async fn find_message_by_message_id_and_direction(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let other = new_mailbox(&store, site.id, "other@x.test").await;
    let t = now();
    let mut inbound = message_value(&mb, ThreadId::new(), t);
    inbound.message_id = Some("same@x.test".into());
    let mut outbound = message_value(&mb, inbound.thread_id, t);
    outbound.direction = Direction::Outbound;
    outbound.message_id = Some("same@x.test".into());
    let mut copy = message_value(&other, ThreadId::new(), t);
    copy.message_id = Some("same@x.test".into());
    insert(&store, &inbound, true).await;
    insert(&store, &outbound, false).await;
    insert(&store, &copy, true).await;

    let find = |mailbox, direction| {
        let store = store.clone();
        async move { store.find_message_by_message_id(mailbox, direction, "same@x.test").await.unwrap().map(|m| m.id) }
    };
    assert_eq!(find(mb.id, Some(Direction::Inbound)).await, Some(inbound.id));
    assert_eq!(find(mb.id, Some(Direction::Outbound)).await, Some(outbound.id));
    assert_eq!(find(mb.id, None).await, Some(outbound.id));
    assert_eq!(find(other.id, None).await, Some(copy.id));
    assert_eq!(find(other.id, Some(Direction::Outbound)).await, None);
    assert_eq!(store.find_message_by_message_id(mb.id, None, "SAME@x.test").await.unwrap(), None);
    assert_eq!(store.find_message_by_message_id(mb.id, None, "missing@x.test").await.unwrap(), None);
}

/// The thread of the newest matching message of the mailbox is returned.
pub async fn find_thread_by_message_ids_picks_newest(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let other = new_mailbox(&store, site.id, "other@x.test").await;
    let t = now();
    let (ta, tb) = (ThreadId::new(), ThreadId::new());
    let mut a1 = message_value(&mb, ta, t);
    a1.message_id = Some("a1@x".into());
    let mut a2 = message_value(&mb, ta, t);
    a2.message_id = Some("a2@x".into());
    let mut b1 = message_value(&mb, tb, t);
    b1.message_id = Some("b1@x".into());
    let mut foreign = message_value(&other, ThreadId::new(), t);
    foreign.message_id = Some("c1@x".into());
    insert(&store, &a1, true).await;
    insert(&store, &a2, false).await;
    insert(&store, &b1, true).await;
    insert(&store, &foreign, true).await;

    let find = |list: &[&str]| {
        let store = store.clone();
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        async move { store.find_thread_by_message_ids(mb.id, &list).await.unwrap() }
    };
    assert_eq!(find(&["a1@x"]).await, Some(ta));
    assert_eq!(find(&["a1@x", "b1@x"]).await, Some(tb));
    assert_eq!(find(&["b1@x", "a2@x", "nope"]).await, Some(tb));
    assert_eq!(find(&["nope", "a2@x"]).await, Some(ta));
    assert_eq!(find(&["c1@x"]).await, None, "another mailbox's messages do not count");
    assert_eq!(find(&[]).await, None);
    let many: Vec<String> = (0..1200).map(|i| format!("x{i}@x")).chain(["a1@x".to_string()]).collect();
    assert_eq!(store.find_thread_by_message_ids(mb.id, &many).await.unwrap(), Some(ta));
}

/// A second message of the same mailbox, direction and `Message-ID` is a `message_id`
/// conflict that stores nothing: no message, no thread, no event.
pub async fn duplicate_message_id_conflicts_and_rolls_back(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let other = new_mailbox(&store, site.id, "other@x.test").await;
    let mut first = message_value(&mb, ThreadId::new(), now());
    first.message_id = Some("dup@x.test".into());
    insert(&store, &first, true).await;
    let events_before = all_events(&store).await.len();

    let mut again = message_value(&mb, ThreadId::new(), now());
    again.message_id = Some("dup@x.test".into());
    again.attachments = vec![attachment_value("x.pdf")];
    let e = event(site.id, Some(mb.id), event_types::MESSAGE_RECEIVED);
    assert_conflict(store.insert_message(&NewMessage { message: again.clone(), new_thread: true }, std::slice::from_ref(&e)).await, "message_id");
    let mut joining = message_value(&mb, first.thread_id, now());
    joining.message_id = Some("dup@x.test".into());
    assert_conflict(store.insert_message(&NewMessage { message: joining.clone(), new_thread: false }, &[e]).await, "message_id");

    assert_eq!(store.get_message(again.id).await.unwrap(), None);
    assert_eq!(store.get_thread(again.thread_id).await.unwrap(), None);
    assert_eq!(store.get_attachment(again.attachments[0].id).await.unwrap(), None);
    assert_eq!(store.get_thread(first.thread_id).await.unwrap().unwrap().message_count, 1);
    assert_eq!(all_events(&store).await.len(), events_before);

    // Other directions, other mailboxes and messages without a Message-ID are fine.
    let mut outbound = message_value(&mb, first.thread_id, now());
    outbound.direction = Direction::Outbound;
    outbound.message_id = Some("dup@x.test".into());
    insert(&store, &outbound, false).await;
    let mut copy = message_value(&other, ThreadId::new(), now());
    copy.message_id = Some("dup@x.test".into());
    insert(&store, &copy, true).await;
    for _ in 0..2 {
        insert(&store, &message_value(&mb, ThreadId::new(), now()), true).await;
    }
    assert_eq!(store.list_messages(mb.id, &page(10)).await.unwrap().len(), 4);
}

/// Many messages stored at once (a backend may write concurrent ones together) each get
/// their own answer: a duplicate `Message-ID` is its own `message_id` conflict and a missing
/// mailbox its own `NotFound`, storing nothing of theirs, while every other message is stored
/// with its thread, attachment and event, each event listed once; large messages among them
/// too.
pub async fn concurrent_messages_each_get_their_own_answer(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let mut first = message_value(&mb, ThreadId::new(), now());
    first.message_id = Some("taken@x.test".into());
    insert(&store, &first, true).await;
    let before: HashSet<EventId> = all_events(&store).await.iter().map(|e| e.id).collect();
    let ghost = Mailbox { id: MailboxId::new(), ..mb.clone() };
    const EACH: usize = 12;
    let mut writes = Vec::new();
    for i in 0..3 * EACH {
        let mut m = match i % 3 {
            1 => message_value(&ghost, ThreadId::new(), now()),
            _ => message_value(&mb, ThreadId::new(), now()),
        };
        m.message_id = Some(if i % 3 == 2 { "taken@x.test".to_string() } else { format!("m{i}@x.test") });
        m.attachments = vec![attachment_value(&format!("a{i}.pdf"))];
        if i % 5 == 4 {
            // Large messages among the small (a store may write them apart from the others).
            m.size = 2 * 1024 * 1024;
        }
        let e = event(site.id, Some(m.mailbox_id), event_types::MESSAGE_RECEIVED);
        let store = store.clone();
        writes.push(tokio::spawn(async move {
            let result = store.insert_message(&NewMessage { message: m.clone(), new_thread: true }, std::slice::from_ref(&e)).await;
            (i, m, e, result)
        }));
    }
    let mut stored = HashSet::new();
    for w in writes {
        let (i, m, e, result) = w.await.unwrap();
        match i % 3 {
            0 => {
                result.expect("a message with its own Message-ID is stored");
                assert_eq!(store.get_message(m.id).await.unwrap().map(|g| g.attachments.len()), Some(1));
                assert_eq!(store.get_thread(m.thread_id).await.unwrap().map(|t| t.message_count), Some(1));
                stored.insert(e.id);
            }
            1 => {
                assert_not_found(result);
                assert_eq!(store.get_thread(m.thread_id).await.unwrap(), None);
            }
            _ => {
                assert_conflict(result, "message_id");
                assert_eq!(store.get_thread(m.thread_id).await.unwrap(), None);
            }
        }
        if i % 3 != 0 {
            assert_eq!(store.get_message(m.id).await.unwrap(), None);
            assert_eq!(store.get_attachment(m.attachments[0].id).await.unwrap(), None);
        }
    }
    let mut listed: Vec<EventId> = all_events(&store).await.iter().map(|e| e.id).filter(|id| !before.contains(id)).collect();
    listed.sort();
    let mut expected: Vec<EventId> = stored.into_iter().collect();
    expected.sort();
    assert_eq!(listed, expected, "each stored message's event is listed once; the others' are not");
    assert_eq!(store.list_messages(mb.id, &page(100)).await.unwrap().len(), EACH + 1);
}

/// Flags replace the read state and labels; a missing message is `NotFound`.
pub async fn update_message_flags_saves_read_and_labels(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let mut m = message_value(&mb, ThreadId::new(), now());
    m.labels = vec!["inbox".into()];
    insert(&store, &m, true).await;
    let labels = vec!["done".to_string(), "q3".to_string()];
    store.update_message_flags(m.id, true, &labels).await.unwrap();
    let got = store.get_message(m.id).await.unwrap().unwrap();
    assert!(got.read);
    assert_eq!(got.labels, labels);
    assert_eq!(got, Message { read: true, labels: labels.clone(), ..m.clone() });
    let by_label = |label: &str| MessageFilter { label: Some(label.into()), ..page(10) };
    assert_eq!(store.list_messages(mb.id, &by_label("q3")).await.unwrap().len(), 1);
    assert!(store.list_messages(mb.id, &by_label("inbox")).await.unwrap().is_empty());
    store.update_message_flags(m.id, false, &[]).await.unwrap();
    let got = store.get_message(m.id).await.unwrap().unwrap();
    assert!(!got.read && got.labels.is_empty());
    assert_eq!(store.list_messages(mb.id, &MessageFilter { unread: Some(true), ..page(10) }).await.unwrap().len(), 1);
    assert_not_found(store.update_message_flags(MessageId::new(), true, &[]).await);
}

/// Deleting messages recounts their thread from what remains and deletes it when emptied;
/// the message's blob keys come back and the deletion is logged.
pub async fn delete_message_recounts_and_removes_threads(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let thread = ThreadId::new();
    let mut first = message_value(&mb, thread, t);
    first.snippet = "first".into();
    let mut newest = message_value(&mb, thread, t + Duration::seconds(10));
    newest.snippet = "newest".into();
    newest.attachments = vec![attachment_value("a.pdf"), attachment_value("b.pdf")];
    newest.direction = Direction::Outbound;
    newest.recipients = vec![recipient_value("bob@y.test", RecipientKind::To, DeliveryStatus::Queued, None)];
    let mut middle = message_value(&mb, thread, t + Duration::seconds(5));
    middle.snippet = "middle".into();
    insert(&store, &first, true).await;
    insert(&store, &newest, false).await;
    insert(&store, &middle, false).await;

    let e = event(site.id, Some(mb.id), event_types::MESSAGE_DELETED);
    let keys = store.delete_message(newest.id, &e).await.unwrap();
    assert_eq!(
        keys.into_iter().collect::<HashSet<_>>(),
        HashSet::from([
            newest.raw_blob_key.clone(),
            newest.attachments[0].blob_key.clone(),
            newest.attachments[1].blob_key.clone()
        ])
    );
    assert_eq!(store.get_message(newest.id).await.unwrap(), None);
    assert_eq!(store.get_attachment(newest.attachments[0].id).await.unwrap(), None);
    assert!(store.due_recipients(t + Duration::days(1), 10).await.unwrap().is_empty());
    let got = store.get_thread(thread).await.unwrap().unwrap();
    assert_eq!((got.message_count, got.snippet.as_str(), got.last_message_at), (2, "middle", t + Duration::seconds(5)));
    assert_eq!(all_events(&store).await.last().unwrap().id, e.id);

    store.delete_message(first.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await.unwrap();
    let got = store.get_thread(thread).await.unwrap().unwrap();
    assert_eq!((got.message_count, got.snippet.as_str(), got.created_at), (1, "middle", t));
    assert_eq!(store.list_threads(mb.id, None, 10).await.unwrap().len(), 1);

    let keys = store.delete_message(middle.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await.unwrap();
    assert_eq!(keys, vec![middle.raw_blob_key.clone()]);
    assert_eq!(store.get_thread(thread).await.unwrap(), None, "an emptied thread is deleted");
    assert!(store.list_threads(mb.id, None, 10).await.unwrap().is_empty());
    assert!(store.list_thread_messages(thread).await.unwrap().is_empty());

    let count = all_events(&store).await.len();
    assert_not_found(store.delete_message(middle.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await);
    assert_eq!(all_events(&store).await.len(), count, "a failed delete appends no event");
}

/// A blob key still used by another message or attachment is not returned for deletion.
pub async fn deleted_blob_keys_skip_shared_blobs(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let other = new_mailbox(&store, site.id, "other@x.test").await;
    let mut a = message_value(&mb, ThreadId::new(), now());
    a.raw_blob_key = "messages/shared.eml".into();
    let shared = attachment_value("shared.pdf");
    a.attachments = vec![shared.clone(), Attachment { id: AttachmentId::new(), ..shared.clone() }];
    let mut b = message_value(&other, ThreadId::new(), now());
    b.raw_blob_key = "messages/shared.eml".into();
    b.attachments = vec![Attachment { id: AttachmentId::new(), ..shared.clone() }];
    insert(&store, &a, true).await;
    insert(&store, &b, true).await;

    let keys = store.delete_message(a.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await.unwrap();
    assert!(keys.is_empty(), "both blobs are still used by b: {keys:?}");
    let keys = store.delete_mailbox(other.id, &event(site.id, Some(other.id), event_types::MAILBOX_DELETED)).await.unwrap();
    assert_eq!(keys.into_iter().collect::<HashSet<_>>(), HashSet::from(["messages/shared.eml".to_string(), shared.blob_key]));
}

/// An attachment is found by id with its message and site.
pub async fn get_attachment_names_message_and_site(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let mut m = message_value(&mb, ThreadId::new(), now());
    let mut inline = attachment_value("logo.png");
    inline.inline = true;
    inline.content_id = Some("logo@cid".into());
    m.attachments = vec![attachment_value("a.pdf"), inline.clone()];
    insert(&store, &m, true).await;
    assert_eq!(store.get_attachment(inline.id).await.unwrap(), Some((inline, m.id, site.id)));
    assert_eq!(store.get_attachment(AttachmentId::new()).await.unwrap(), None);
}

/// Threads list by latest activity (ties by id, both descending) and page strictly after
/// the cursor; new activity moves a thread to the front.
pub async fn threads_list_by_latest_activity(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let other = new_mailbox(&store, site.id, "other@x.test").await;
    let t = now();
    let mut threads = Vec::new();
    for offset in [0, 5, 5, 3, 5] {
        let m = message_value(&mb, ThreadId::new(), t + Duration::seconds(offset));
        insert(&store, &m, true).await;
        threads.push((t + Duration::seconds(offset), m.thread_id));
    }
    insert(&store, &message_value(&other, ThreadId::new(), t + Duration::seconds(100)), true).await;
    let mut expected = threads.clone();
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<ThreadId> = expected.into_iter().map(|(_, id)| id).collect();

    let listed = store.list_threads(mb.id, None, 100).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), expected);
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let batch = store.list_threads(mb.id, cursor, 2).await.unwrap();
        if batch.is_empty() {
            break;
        }
        let last = batch.last().unwrap();
        cursor = Some(ThreadCursor { last_message_at: last.last_message_at, id: last.id });
        paged.extend(batch.iter().map(|t| t.id));
    }
    assert_eq!(paged, expected, "pages split the tie at the same time without loss");

    // New mail in the oldest thread makes it the latest.
    let oldest = *expected.last().unwrap();
    insert(&store, &message_value(&mb, oldest, t + Duration::seconds(50)), false).await;
    let listed = store.list_threads(mb.id, None, 1).await.unwrap();
    assert_eq!(listed[0].id, oldest);
    assert_eq!(listed[0].message_count, 2);
    assert!(store.list_threads(mb.id, None, 0).await.unwrap().is_empty());
}

/// A thread's messages come oldest first, complete.
pub async fn thread_messages_oldest_first(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let thread = ThreadId::new();
    let t = now();
    let mut expected = Vec::new();
    for i in 0..4 {
        let mut m = message_value(&mb, thread, t + Duration::seconds(i));
        m.attachments = vec![attachment_value("x.pdf")];
        if i % 2 == 1 {
            m.direction = Direction::Outbound;
            m.recipients = vec![recipient_value("bob@y.test", RecipientKind::To, DeliveryStatus::Delivered, None)];
        }
        insert(&store, &m, i == 0).await;
        expected.push(m);
    }
    insert(&store, &message_value(&mb, ThreadId::new(), t), true).await;
    assert_eq!(store.list_thread_messages(thread).await.unwrap(), expected);
    assert!(store.list_thread_messages(ThreadId::new()).await.unwrap().is_empty());
}
