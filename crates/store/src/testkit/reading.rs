//! Conformance cases for the reading area ([`crate::ReadingStore`]) and the reading fields of
//! messages (extracted text and html, security flags).

use super::*;
use mailroom_core::reading::{FlagKind, Security, SecurityFlag, Severity, TextStatus};

/// The reading fields of a message survive the round trip (equal to the body, different from
/// it, or absent), and a message whose text equals its extraction reads back the same.
pub async fn message_reading_fields_round_trip(store: Arc<dyn Store>) {
    let site = new_site(&store, "reading").await;
    let mb = new_mailbox(&store, site.id, "agent@reading.test").await;
    let mut m = message_value(&mb, ThreadId::new(), now());
    m.text = Some("New text\n\nOn Mon, Ana <ana@x.test> wrote:\n> old".into());
    m.html = Some("<p>New text</p>".into());
    m.extracted_text = Some("New text".into());
    m.extracted_html = m.html.clone();
    m.security = Some(Security::from_flags(vec![SecurityFlag {
        kind: FlagKind::HiddenText,
        severity: Severity::Medium,
        location: "hidden_html".into(),
        reason: "12 characters of text a reader does not see (display:none)".into(),
        excerpt: Some("hidden words".into()),
    }]));
    insert(&store, &m, true).await;
    let got = store.get_message(m.id).await.unwrap().unwrap();
    assert_eq!((got.extracted_text, got.extracted_html, got.security), (m.extracted_text.clone(), m.extracted_html.clone(), m.security.clone()));
    let plain = message_value(&mb, ThreadId::new(), now());
    insert(&store, &plain, true).await;
    assert_eq!(store.get_message(plain.id).await.unwrap().unwrap(), plain);
}

/// Attachment-text jobs: queued once (with the cursor, atomically), skipped for unknown
/// attachments, claimed under a lease by one claimer, retried when due, finished with their
/// event, and gone with their message.
pub async fn attachment_texts_queue_claim_and_finish(store: Arc<dyn Store>) {
    let site = new_site(&store, "texts").await;
    let mb = new_mailbox(&store, site.id, "agent@texts.test").await;
    let mut m = message_value(&mb, ThreadId::new(), now());
    m.attachments = vec![attachment_value("a.pdf"), attachment_value("b.docx")];
    insert(&store, &m, true).await;
    let job = |a: &Attachment| AttachmentTextJob { attachment_id: a.id, message_id: m.id, site_id: site.id, mailbox_id: mb.id, attempts: 0 };
    let ghost = AttachmentTextJob { attachment_id: AttachmentId::new(), ..job(&m.attachments[0]) };
    let jobs = vec![job(&m.attachments[0]), job(&m.attachments[1]), ghost.clone()];
    store.queue_attachment_texts(&jobs, Some(("texts_cursor", "7"))).await.unwrap();
    store.queue_attachment_texts(&jobs, None).await.unwrap();
    assert_eq!(store.get_setting("texts_cursor").await.unwrap().as_deref(), Some("7"));
    let ids: Vec<AttachmentId> = jobs.iter().map(|j| j.attachment_id).collect();
    let states = store.get_attachment_texts(&ids).await.unwrap();
    assert_eq!(states.len(), 2, "the unknown attachment is skipped");
    assert!(states.iter().all(|s| s.text_status == TextStatus::Pending && s.message_id == m.id));

    let t = now();
    let lease = t + chrono::Duration::seconds(60);
    let claimed = store.claim_attachment_texts(t, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(store.claim_attachment_texts(t, lease, 10).await.unwrap().is_empty(), "leased jobs are not claimed twice");
    // A retry, due later; then done with its event.
    let a = m.attachments[0].id;
    let retry = AttachmentTextUpdate { status: TextStatus::Pending, text: None, truncated: false, error: Some("timed out".into()), attempts: 1, next_attempt_at: Some(t + chrono::Duration::seconds(30)) };
    store.record_attachment_text(a, &retry, &[]).await.unwrap();
    assert!(store.claim_attachment_texts(t, lease, 10).await.unwrap().is_empty(), "not due yet");
    let later = store.claim_attachment_texts(t + chrono::Duration::seconds(31), lease + chrono::Duration::seconds(31), 10).await.unwrap();
    assert_eq!(later.iter().map(|j| (j.attachment_id, j.attempts)).collect::<Vec<_>>(), vec![(a, 1)]);
    let before = all_events(&store).await.len();
    let done = AttachmentTextUpdate { status: TextStatus::Done, text: Some("Quarterly revenue".into()), truncated: true, error: None, attempts: 2, next_attempt_at: None };
    store.record_attachment_text(a, &done, &[event(site.id, Some(mb.id), event_types::ATTACHMENT_TEXT_EXTRACTED)]).await.unwrap();
    assert_eq!(all_events(&store).await.len(), before + 1);
    let got = store.get_attachment_texts(&[a]).await.unwrap().pop().unwrap();
    assert_eq!((got.text_status, got.text.as_deref(), got.truncated, got.attempts), (TextStatus::Done, Some("Quarterly revenue"), true, 2));
    assert_not_found(store.record_attachment_text(ghost.attachment_id, &done, &[]).await);
    // Deleting the message deletes its jobs.
    store.delete_message(m.id, &event(site.id, Some(mb.id), event_types::MESSAGE_DELETED)).await.unwrap();
    assert!(store.get_attachment_texts(&ids).await.unwrap().is_empty());
}

/// The attachment-text fan-out's read of the log: a job for each attachment that a received,
/// imported or sent message's event names, nothing for other events (nor for a message event
/// without attachments), and the position of the last event read, page by page.
pub async fn attachment_jobs_follow_the_log(store: Arc<dyn Store>) {
    let site = new_site(&store, "fanout").await;
    let mb = new_mailbox(&store, site.id, "agent@fanout.test").await;
    let start = store.attachment_jobs_after(i64::MAX - 1, 10).await.unwrap();
    assert!(start.jobs.is_empty() && start.last.is_none(), "nothing after the log's end");
    assert_eq!(start.read, 0);
    let after = store.last_event_cursor(None).await.unwrap();
    let (message, a, b) = (MessageId::new(), AttachmentId::new(), AttachmentId::new());
    let with = |kind: &str, attachments: serde_json::Value| {
        let data = serde_json::json!({ "id": message.to_string(), "mailbox_id": mb.id.to_string(), "subject": "s", "attachments": attachments });
        NewEvent::new(site.id, Some(mb.id), kind, data)
    };
    let two = serde_json::json!([{ "id": a.to_string(), "filename": "a.pdf" }, { "id": b.to_string(), "filename": "b.txt" }]);
    let events = vec![
        with(event_types::MESSAGE_RECEIVED, two.clone()),
        with(event_types::MESSAGE_RECEIVED, serde_json::json!([])),
        with(event_types::MAILBOX_UPDATED, two.clone()),
        event(site.id, Some(mb.id), event_types::MESSAGE_SENT),
        with(event_types::MESSAGE_SENT, serde_json::json!([{ "id": b.to_string() }])),
        with(event_types::MESSAGE_IMPORTED, serde_json::json!("not a list")),
    ];
    store.append_events(&events).await.unwrap();
    let job = |attachment_id| AttachmentTextJob { attachment_id, message_id: message, site_id: site.id, mailbox_id: mb.id, attempts: 0 };

    let all = store.attachment_jobs_after(after, 100).await.unwrap();
    assert_eq!(all.jobs, vec![job(a), job(b), job(b)]);
    let end = store.last_event_cursor(None).await.unwrap();
    assert_eq!((all.last, all.read), (Some(end), 6));
    // Two pages of three.
    let first = store.attachment_jobs_after(after, 3).await.unwrap();
    assert_eq!((first.jobs, first.read), (vec![job(a), job(b)], 3));
    let middle = first.last.expect("three read");
    assert!(middle > after && middle < end);
    let second = store.attachment_jobs_after(middle, 3).await.unwrap();
    assert_eq!(second, AttachmentScan { jobs: vec![job(b)], last: Some(end), read: 3 });
    let nothing = store.attachment_jobs_after(end, 3).await.unwrap();
    assert_eq!(nothing, AttachmentScan::default());
}
