//! Conformance cases for full-text message search (`MessageFilter::q`).
//!
//! Both backends must answer alike: every word of the query appears (in the subject, the text
//! body, the sender or the To and Cc recipients), punctuation splits words, an address is a
//! phrase, the last word is a prefix, and no input is ever an error.

use super::*;

/// Returns an inbound message of `mb` with these fields, in a thread of its own.
fn mail(mb: &Mailbox, at: DateTime<Utc>, from: &str, to: &[&str], subject: &str, text: &str) -> Message {
    let mut m = message_value(mb, ThreadId::new(), at);
    m.from = Some(named(from));
    m.to = to.iter().map(|a| named(a)).collect();
    m.subject = Some(subject.to_string());
    m.text = Some(text.to_string());
    m
}

fn search(q: &str) -> MessageFilter {
    MessageFilter { q: Some(q.to_string()), ..page(100) }
}

async fn found(store: &Arc<dyn Store>, mb: MailboxId, filter: MessageFilter) -> Vec<MessageId> {
    let q = filter.q.clone();
    ids(&store.list_messages(mb, &filter).await.unwrap_or_else(|e| panic!("search {q:?} failed: {e}")))
}

/// The subject, the text body, the sender and the recipients are searched, case-insensitively;
/// an address is found whole, by its parts or by its display name; every word must appear.
pub async fn search_matches_subject_body_and_addresses(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let invoice = mail(&mb, t, "Billing Dept <billing@acme.test>", &["agent@x.test"], "Invoice 2025-03 overdue", "Please pay by Friday.");
    let lunch = mail(&mb, t + Duration::seconds(1), "Alice Smith <alice@example.com>", &["agent@x.test"], "Lunch?", "Free at noon tomorrow?");
    let mut report = mail(&mb, t + Duration::seconds(2), "carol@corp.test", &["dave@corp.test"], "Quarterly report", "Numbers attached.");
    report.cc = vec![named("Erin <erin@partner.test>")];
    let unicode = mail(&mb, t + Duration::seconds(3), "zoe@x.test", &["agent@x.test"], "Réunion café", "ünïcode 日本語 text, naïve façade");
    // Words of an address, scattered and out of order: not the address.
    let scattered = mail(&mb, t + Duration::seconds(4), "zoe@x.test", &["agent@x.test"], "Notes", "com example alice, met at the sender test");
    for m in [&invoice, &lunch, &report, &unicode, &scattered] {
        insert(&store, m, true).await;
    }
    let find = |q: &str| found(&store, mb.id, search(q));

    assert_eq!(find("invoice").await, vec![invoice.id], "subject");
    assert_eq!(find("OVERDUE").await, vec![invoice.id], "case-insensitive");
    assert_eq!(find("friday").await, vec![invoice.id], "body");
    assert_eq!(find("noon tomorrow").await, vec![lunch.id], "every word, in the body");
    assert_eq!(find("lunch noon").await, vec![lunch.id], "words from the subject and the body");
    assert_eq!(find("lunch friday").await, Vec::<MessageId>::new(), "every word must appear");
    assert_eq!(find("alice@example.com").await, vec![lunch.id], "the sender's address");
    assert_eq!(find("ALICE@EXAMPLE.COM").await, vec![lunch.id], "addresses ignore case");
    assert_eq!(find("Alice Smith").await, vec![lunch.id], "the sender's display name");
    assert_eq!(find("billing@acme.test").await, vec![invoice.id]);
    assert_eq!(find("acme").await, vec![invoice.id], "a part of an address");
    assert_eq!(find("dave@corp.test").await, vec![report.id], "a To address");
    assert_eq!(find("erin@partner.test").await, vec![report.id], "a Cc address");
    assert_eq!(find("Erin").await, vec![report.id], "a Cc display name");
    assert_eq!(find("corp.test").await, vec![report.id], "a domain");
    assert_eq!(find("agent@x.test").await, vec![scattered.id, unicode.id, lunch.id, invoice.id], "newest first");
    assert_eq!(find("alice@sender.test").await, Vec::<MessageId>::new(), "the words of an address must stand together");
    assert_eq!(find("2025-03").await, vec![invoice.id], "punctuation splits words in the text too");
    assert_eq!(find("quarter").await, vec![report.id], "the last word is a prefix");
    assert_eq!(find("report quart").await, vec![report.id]);
    assert_eq!(find("quarter report").await, Vec::<MessageId>::new(), "only the last word is a prefix");
    assert_eq!(find("quarter reports").await, Vec::<MessageId>::new());
    assert_eq!(find("alice@exam").await, vec![lunch.id], "an address as it is typed");
    assert_eq!(find("café").await, vec![unicode.id], "words outside ASCII");
    assert_eq!(find("réunion").await, vec![unicode.id]);
    assert_eq!(find("日本語").await, vec![unicode.id]);
    assert_eq!(find("ünïcode naïve façade").await, vec![unicode.id]);
    assert_eq!(find("cafe").await, Vec::<MessageId>::new(), "accents are kept");
    assert_eq!(find("nothing-like-this").await, Vec::<MessageId>::new(), "no match");
    assert_eq!(find("zebra").await, Vec::<MessageId>::new());
    assert_eq!(found(&store, MailboxId::new(), search("invoice")).await, Vec::<MessageId>::new(), "an unknown mailbox");
}

/// No query is ever an error, whatever quotes, operators or bytes it holds; operator words of
/// the databases' query languages are plain words.
pub async fn search_never_errors_on_tricky_input(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let m = mail(&mb, now(), "Alice <alice@example.com>", &["agent@x.test"], "Dinner OR lunch", "near the station, not far");
    insert(&store, &m, true).await;
    let long_word = "a".repeat(500);
    let many_words = "a ".repeat(250);
    let distinct_words =
        (0..166).map(|i| format!("{}{}", char::from(b'a' + (i / 26) as u8), char::from(b'a' + (i % 26) as u8))).collect::<Vec<_>>().join(" ");
    let tricky = [
        "\"",
        "\"\"",
        "'",
        "''",
        "`",
        "*",
        "**",
        "-",
        "--",
        "+",
        "^",
        ":",
        ";",
        "(",
        ")",
        "()",
        "{",
        "}",
        "[",
        "]",
        "<",
        ">",
        "<->",
        "&",
        "|",
        "!",
        "~",
        "\\",
        "%",
        "_",
        "@",
        ".",
        ",",
        "?",
        "#",
        "$",
        "$1",
        "?1",
        ":1",
        "\u{0}",
        "\t\n",
        "OR",
        "AND",
        "NOT",
        "NEAR",
        "NEAR(",
        "NEAR(alice bob)",
        "NEAR(alice bob, 2)",
        "alice OR",
        "OR alice",
        "AND alice",
        "alice NOT bob",
        "-alice",
        "alice -bob",
        "+alice",
        "alice*",
        "*alice",
        "al*ce",
        "\"alice",
        "alice\"",
        "\"alice example\"",
        "alice'",
        "'alice'",
        "subject:alice",
        "{subject}: alice",
        "^alice",
        "alice:*",
        "alice & bob",
        "alice | bob",
        "!alice",
        "alice <-> bob",
        "alice <2> bob",
        "(alice",
        "alice)",
        "'; DROP TABLE messages; --",
        "\" OR 1=1 --",
        "1' OR '1'='1",
        "%' OR '%'='",
        "\\' OR 1=1",
        "/* comment */",
        "🦀",
        "🦀 alice",
        "e\u{301}",
        "\u{200b}",
        "\u{feff}alice",
        "مرحبا",
        "שלום",
        "ß",
        "ǅ",
        "²",
        "①",
        "x\u{0}y",
        &long_word,
        &many_words,
        &distinct_words,
    ];
    for q in tricky {
        store.list_messages(mb.id, &search(q)).await.unwrap_or_else(|e| panic!("search {q:?} failed: {e}"));
    }
    let find = |q: &str| found(&store, mb.id, search(q));
    assert_eq!(find("Dinner OR lunch").await, vec![m.id], "OR is a word here, and it is in the subject");
    assert_eq!(find("alice OR bob").await, Vec::<MessageId>::new(), "OR is a word, not a choice");
    assert_eq!(find("near the station").await, vec![m.id], "NEAR is a word");
    assert_eq!(find("NEAR(the station)").await, vec![m.id], "words joined by punctuation are a phrase");
    assert_eq!(find("NEAR(station)").await, Vec::<MessageId>::new());
    assert_eq!(find("not far").await, vec![m.id], "NOT is a word");
    assert_eq!(find("-alice").await, vec![m.id], "a minus is not a negation");
    assert_eq!(find("\"alice\"").await, vec![m.id]);
    assert_eq!(find("alice*").await, vec![m.id]);
    assert_eq!(find("'alice'").await, vec![m.id]);
    assert_eq!(find("subject:alice").await, Vec::<MessageId>::new(), "no column filters: `subject` is a word");
    assert_eq!(find("'; DROP TABLE messages; --").await, Vec::<MessageId>::new());
    assert_eq!(find("\" OR 1=1 --").await, Vec::<MessageId>::new());
    assert_eq!(find("***").await, Vec::<MessageId>::new(), "no letters or digits: nothing matches");
    assert_eq!(find("🦀 alice").await, vec![m.id], "symbols only separate");
    assert_eq!(found(&store, mb.id, page(10)).await, vec![m.id], "the table is still there");
}

/// A search sees only the mailbox it is asked about: not the site's other mailboxes, not other
/// sites.
pub async fn search_stays_in_its_mailbox(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let mb = new_mailbox(&store, a.id, "agent@a.test").await;
    let sibling = new_mailbox(&store, a.id, "other@a.test").await;
    let foreign = new_mailbox(&store, b.id, "agent@b.test").await;
    let t = now();
    let mine = mail(&mb, t, "alice@example.com", &["agent@a.test"], "Secret plans", "The password is swordfish.");
    insert(&store, &mine, true).await;
    for (i, other) in [&sibling, &foreign].into_iter().enumerate() {
        let m = mail(other, t + Duration::seconds(i as i64 + 1), "alice@example.com", &[other.address.as_str()], "Secret plans", "swordfish");
        insert(&store, &m, true).await;
        assert_eq!(found(&store, other.id, search("swordfish")).await, vec![m.id]);
    }
    assert_eq!(found(&store, mb.id, search("swordfish")).await, vec![mine.id]);
    assert_eq!(found(&store, mb.id, search("alice@example.com secret")).await, vec![mine.id]);
}

/// Deleted messages leave the index, whether deleted alone or with their mailbox; new
/// messages are found at once, through every insert path.
pub async fn search_follows_inserts_and_deletes(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let thread = ThreadId::new();
    let mut first = mail(&mb, t, "alice@example.com", &["agent@x.test"], "Kiwi", "first kiwi");
    first.thread_id = thread;
    let mut second = mail(&mb, t + Duration::seconds(1), "bob@example.com", &["agent@x.test"], "Re: Kiwi", "second kiwi");
    second.thread_id = thread;
    insert(&store, &first, true).await;
    insert(&store, &second, false).await;
    // The path received mail takes, with blobs kept in the same transaction where the store can.
    let blobbed = mail(&mb, t + Duration::seconds(2), "carol@example.com", &["agent@x.test"], "Kiwi too", "third kiwi");
    let blobs = if store.inline_blob_max() > 0 { vec![(blobbed.raw_blob_key.clone(), bytes::Bytes::from_static(b"raw"))] } else { Vec::new() };
    let e = event(site.id, Some(mb.id), event_types::MESSAGE_RECEIVED);
    store.insert_message_with_blobs(&NewMessage { message: blobbed.clone(), new_thread: true }, &[e], blobs).await.unwrap();
    // Concurrent inserts (committed together where the store groups commits).
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, m) = (store.clone(), mail(&mb, t + Duration::seconds(3), "dan@example.com", &["agent@x.test"], "Mango", &format!("mango {i}")));
        tasks.push(tokio::spawn(async move {
            insert(&store, &m, true).await;
            m.id
        }));
    }
    let mut mangoes = Vec::new();
    for task in tasks {
        mangoes.push(task.await.unwrap());
    }
    mangoes.sort();
    mangoes.reverse();
    let find = |q: &str| found(&store, mb.id, search(q));
    assert_eq!(find("kiwi").await, vec![blobbed.id, second.id, first.id]);
    assert_eq!(find("mango").await, mangoes);
    assert_eq!(find("mango 3").await.len(), 1);

    store.delete_message(second.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await.unwrap();
    assert_eq!(find("kiwi").await, vec![blobbed.id, first.id]);
    assert_eq!(find("bob@example.com").await, Vec::<MessageId>::new());
    store.delete_message(first.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await.unwrap();
    assert_eq!(find("kiwi").await, vec![blobbed.id], "the emptied thread went, and its message with it");

    // A new message with the same words is found; the deleted ones stay gone.
    let again = mail(&mb, t + Duration::seconds(4), "bob@example.com", &["agent@x.test"], "Kiwi", "second kiwi again");
    insert(&store, &again, true).await;
    assert_eq!(find("second kiwi").await, vec![again.id]);

    // Deleting the mailbox empties its part of the index; a mailbox at the same address
    // starts empty.
    let keep = new_mailbox(&store, site.id, "keep@x.test").await;
    let kept = mail(&keep, t, "alice@example.com", &["keep@x.test"], "Kiwi", "kept kiwi");
    insert(&store, &kept, true).await;
    store.delete_mailbox(mb.id, &event(site.id, Some(mb.id), event_types::MAILBOX_DELETED)).await.unwrap();
    assert_eq!(find("kiwi").await, Vec::<MessageId>::new());
    let reborn = new_mailbox(&store, site.id, "agent@x.test").await;
    assert_eq!(found(&store, reborn.id, search("kiwi")).await, Vec::<MessageId>::new());
    assert_eq!(found(&store, keep.id, search("kiwi")).await, vec![kept.id]);
}

/// A search combines with the other filters and pages like the plain listing: newest first,
/// `before` exclusive, no gaps or repeats.
pub async fn search_combines_with_filters_and_paginates(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut matching = Vec::new();
    for i in 0..7 {
        let mut m = mail(&mb, t + Duration::seconds(i), "alice@example.com", &["agent@x.test"], &format!("Weekly digest {i}"), "news");
        m.labels = if i % 2 == 0 { vec!["even".into()] } else { Vec::new() };
        m.read = i >= 5;
        insert(&store, &m, true).await;
        matching.push(m.id);
        let noise = mail(&mb, t + Duration::seconds(i), "bob@example.com", &["agent@x.test"], "Other", "news");
        insert(&store, &noise, true).await;
    }
    matching.reverse();

    let mut got = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let batch = store.list_messages(mb.id, &MessageFilter { before, ..MessageFilter { limit: 3, ..search("weekly digest") } }).await.unwrap();
        if batch.is_empty() {
            break;
        }
        pages += 1;
        before = Some(batch.last().unwrap().id);
        got.extend(ids(&batch));
    }
    assert_eq!((pages, got), (3, matching.clone()));

    let even: Vec<MessageId> = matching.iter().copied().step_by(2).collect();
    assert_eq!(found(&store, mb.id, MessageFilter { label: Some("even".into()), ..search("digest") }).await, even);
    assert_eq!(found(&store, mb.id, MessageFilter { unread: Some(false), ..search("alice@example.com") }).await, matching[..2].to_vec());
    assert_eq!(found(&store, mb.id, MessageFilter { direction: Some(Direction::Outbound), ..search("digest") }).await, Vec::<MessageId>::new());
    assert_eq!(found(&store, mb.id, MessageFilter { since: Some(t + Duration::seconds(6)), ..search("news") }).await.len(), 2);
    assert_eq!(found(&store, mb.id, MessageFilter { before: Some(matching[5]), ..search("digest") }).await, vec![matching[6]]);
    assert_eq!(found(&store, mb.id, search("news")).await.len(), 14);
}

/// In a mailbox of several hundred messages, a word every message holds and a word only a few
/// old ones hold are both found exactly, newest first, page after page (a store may answer the
/// common word from the newest messages alone, but never a different page).
pub async fn search_finds_rare_and_common_words_in_a_large_mailbox(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let other = new_mailbox(&store, site.id, "other@x.test").await;
    let t = now();
    let mut all = Vec::new();
    let mut rare = Vec::new();
    for i in 0..320 {
        let word = if i == 3 || i == 40 || i == 41 { " zephyrine" } else { "" };
        let m = mail(&mb, t + Duration::seconds(i), "alice@example.com", &["agent@x.test"], &format!("Status {i}"), &format!("common{word}"));
        insert(&store, &m, true).await;
        all.push(m.id);
        if !word.is_empty() {
            rare.push(m.id);
        }
        if i % 10 == 0 {
            insert(&store, &mail(&other, t + Duration::seconds(i), "bob@example.com", &["other@x.test"], "Noise", "common zephyrine"), true).await;
        }
    }
    all.reverse();
    rare.reverse();
    assert_eq!(found(&store, mb.id, search("zephyrine")).await, rare, "the rare word, in old messages only");
    assert_eq!(found(&store, mb.id, MessageFilter { limit: 20, ..search("common") }).await, all[..20].to_vec());
    let mut got = Vec::new();
    let mut before = None;
    loop {
        let batch = store.list_messages(mb.id, &MessageFilter { before, ..MessageFilter { limit: 100, ..search("common") } }).await.unwrap();
        if batch.is_empty() {
            break;
        }
        before = Some(batch.last().unwrap().id);
        got.extend(ids(&batch));
    }
    assert_eq!(got, all, "every page of the common word, in order, without gaps or repeats");
    assert_eq!(found(&store, mb.id, MessageFilter { before: Some(rare[0]), ..search("zephyrine") }).await, rare[1..].to_vec());
    assert_eq!(found(&store, mb.id, MessageFilter { unread: Some(true), limit: 5, ..search("status") }).await, all[..5].to_vec());
}
