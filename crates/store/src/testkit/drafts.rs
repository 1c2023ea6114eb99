//! Conformance cases for drafts, scheduled sends and approvals ([`crate::DraftStore`]).

use super::*;
use mailroom_core::drafts::*;

fn draft_value(mb: &Mailbox, status: DraftStatus, send_at: Option<DateTime<Utc>>) -> Draft {
    let t = now();
    Draft {
        id: DraftId::new(),
        site_id: mb.site_id,
        mailbox_id: mb.id,
        status,
        content: mailroom_core::api::SendMessageRequest {
            to: vec!["bob@y.test".into()],
            subject: "Later".into(),
            text: Some("hello".into()),
            ..Default::default()
        },
        thread_id: None,
        send_at,
        message_id: MessageId::new(),
        revision: 1,
        revisions: Vec::new(),
        approval: None,
        proposed_by: Proposer { kind: "api".into(), ..Default::default() },
        error: None,
        created_at: t,
        updated_at: t,
        sent_at: None,
        version: 1,
    }
}

fn approval_value(d: &Draft, status: ApprovalStatus, at: DateTime<Utc>) -> Approval {
    Approval {
        id: ApprovalId::new(),
        draft_id: d.id,
        message_id: d.message_id,
        mailbox_id: d.mailbox_id,
        status,
        policy: ApprovalPolicy::All,
        policy_source: "mailbox".into(),
        first_contacts: Vec::new(),
        proposed_by: d.proposed_by.clone(),
        requested_at: at,
        decided_by: None,
        decided_at: None,
        note: None,
        revision: d.revision,
    }
}

/// A draft round-trips by id, message id and approval id; updates are compare-and-swap on
/// the version and append their events; a second draft reserving one message id conflicts;
/// deletes report whether the draft existed.
pub async fn drafts_round_trip_and_compare_and_swap(store: Arc<dyn Store>) {
    let site = new_site(&store, "drafts").await;
    let mb = new_mailbox(&store, site.id, "agent@drafts.test").await;
    let mut d = draft_value(&mb, DraftStatus::PendingApproval, None);
    d.approval = Some(approval_value(&d, ApprovalStatus::Pending, now()));
    let before = all_events(&store).await.len();
    store.insert_draft(&d, &[event(site.id, Some(mb.id), draft_events::APPROVAL_REQUESTED)]).await.unwrap();
    assert_eq!(all_events(&store).await.len(), before + 1);
    assert_eq!(store.get_draft(d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(store.get_draft_by_message(d.message_id).await.unwrap(), Some(d.clone()));
    let approval_id = d.approval.as_ref().unwrap().id;
    assert_eq!(store.get_draft_by_approval(approval_id).await.unwrap(), Some(d.clone()));
    assert_eq!(store.get_draft(DraftId::new()).await.unwrap(), None);

    let mut twin = draft_value(&mb, DraftStatus::Draft, None);
    twin.message_id = d.message_id;
    assert!(store.insert_draft(&twin, &[]).await.is_err(), "a reserved message id is unique");

    let mut changed = d.clone();
    changed.content.subject = "Edited".into();
    changed.version = 2;
    assert!(store.update_draft(&changed, 1, &[event(site.id, Some(mb.id), draft_events::APPROVAL_APPROVED)]).await.unwrap());
    assert_eq!(store.get_draft(d.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(all_events(&store).await.len(), before + 2);
    // A stale writer changes nothing and appends nothing.
    let mut stale = d.clone();
    stale.version = 2;
    stale.content.subject = "Stale".into();
    assert!(!store.update_draft(&stale, 1, &[event(site.id, None, draft_events::APPROVAL_REJECTED)]).await.unwrap());
    assert_eq!(store.get_draft(d.id).await.unwrap().unwrap().content.subject, "Edited");
    assert_eq!(all_events(&store).await.len(), before + 2);

    assert!(store.delete_draft(d.id, &[event(site.id, None, draft_events::MESSAGE_CANCELLED)]).await.unwrap());
    assert!(!store.delete_draft(d.id, &[]).await.unwrap());
    assert_eq!(store.get_draft(d.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await.len(), before + 3);
}

/// Listings stay in their site, filter by mailbox and status, page newest first; approvals
/// list pending first (oldest request first), then decided ones.
pub async fn drafts_list_and_approvals_pending_first(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let other = new_site(&store, "b").await;
    let mb = new_mailbox(&store, site.id, "agent@a.test").await;
    let mb2 = new_mailbox(&store, site.id, "other@a.test").await;
    let foreign = new_mailbox(&store, other.id, "agent@b.test").await;
    let t = now();
    let mut ids = Vec::new();
    for (i, status) in [DraftStatus::Draft, DraftStatus::Scheduled, DraftStatus::PendingApproval, DraftStatus::PendingApproval].into_iter().enumerate() {
        let mut d = draft_value(&mb, status, None);
        if status == DraftStatus::PendingApproval {
            d.approval = Some(approval_value(&d, ApprovalStatus::Pending, t + Duration::seconds(i as i64)));
        }
        store.insert_draft(&d, &[]).await.unwrap();
        ids.push(d.id);
    }
    let mut decided = draft_value(&mb2, DraftStatus::Rejected, None);
    decided.approval = Some(approval_value(&decided, ApprovalStatus::Rejected, t + Duration::seconds(10)));
    store.insert_draft(&decided, &[]).await.unwrap();
    store.insert_draft(&draft_value(&foreign, DraftStatus::Draft, None), &[]).await.unwrap();

    let all = store.list_drafts(site.id, &DraftFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].id, decided.id, "newest first");
    let of_mb = store.list_drafts(site.id, &DraftFilter { mailbox: Some(mb.id), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(of_mb.iter().map(|d| d.id).collect::<Vec<_>>(), ids.iter().rev().copied().collect::<Vec<_>>());
    let pending = store
        .list_drafts(site.id, &DraftFilter { statuses: vec![DraftStatus::PendingApproval, DraftStatus::Scheduled], limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(pending.len(), 3);
    let page = store.list_drafts(site.id, &DraftFilter { mailbox: Some(mb.id), before: Some(ids[2]), limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(page.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[1]]);

    let approvals = store.list_approval_drafts(site.id, None, 10).await.unwrap();
    assert_eq!(approvals.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[2], ids[3], decided.id]);
    let only = store.list_approval_drafts(site.id, Some(ApprovalStatus::Rejected), 10).await.unwrap();
    assert_eq!(only.iter().map(|d| d.id).collect::<Vec<_>>(), vec![decided.id]);
    assert!(store.list_approval_drafts(other.id, None, 10).await.unwrap().is_empty());
}

/// Only due, scheduled drafts are claimed; a claimed draft is not claimed again while its
/// lease holds, and is once the lease runs out; an update frees the lease. The next due
/// time is the earliest scheduled one.
pub async fn due_drafts_are_claimed_under_a_lease(store: Arc<dyn Store>) {
    let site = new_site(&store, "due").await;
    let mb = new_mailbox(&store, site.id, "agent@due.test").await;
    let t = now();
    assert_eq!(store.next_draft_due().await.unwrap(), None);
    let due = draft_value(&mb, DraftStatus::Scheduled, Some(t - Duration::seconds(1)));
    let later = draft_value(&mb, DraftStatus::Scheduled, Some(t + Duration::seconds(60)));
    let held = draft_value(&mb, DraftStatus::PendingApproval, Some(t - Duration::seconds(5)));
    for d in [&due, &later, &held] {
        store.insert_draft(d, &[]).await.unwrap();
    }
    assert_eq!(store.next_draft_due().await.unwrap(), Some(t - Duration::seconds(1)));
    let lease = t + Duration::seconds(30);
    let claimed = store.claim_due_drafts(t, lease, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![due.id]);
    assert!(store.claim_due_drafts(t, lease, 10).await.unwrap().is_empty(), "the lease holds");
    let again = store.claim_due_drafts(lease + Duration::seconds(1), lease + Duration::seconds(31), 10).await.unwrap();
    assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), vec![due.id], "claimed again once the lease ran out");
    let mut sent = again[0].clone();
    sent.status = DraftStatus::Sent;
    sent.version += 1;
    assert!(store.update_draft(&sent, again[0].version, &[]).await.unwrap());
    assert!(store.claim_due_drafts(lease + Duration::seconds(2), lease + Duration::seconds(32), 10).await.unwrap().iter().all(|d| d.id != due.id));
    assert_eq!(store.next_draft_due().await.unwrap(), Some(t + Duration::seconds(60)));
}

/// A first contact is an address the site never sent to (case-insensitive); received mail
/// and other sites' sends do not count.
pub async fn site_has_mailed_counts_outbound_recipients(store: Arc<dyn Store>) {
    let site = new_site(&store, "fc").await;
    let other = new_site(&store, "fc2").await;
    let mb = new_mailbox(&store, site.id, "agent@fc.test").await;
    let mb2 = new_mailbox(&store, other.id, "agent@fc2.test").await;
    let mut m = message_value(&mb, ThreadId::new(), now());
    m.direction = Direction::Outbound;
    m.recipients = vec![recipient_value("Known@Y.test", RecipientKind::Cc, DeliveryStatus::Delivered, None)];
    insert(&store, &m, true).await;
    let mut o = message_value(&mb2, ThreadId::new(), now());
    o.direction = Direction::Outbound;
    o.recipients = vec![recipient_value("theirs@y.test", RecipientKind::To, DeliveryStatus::Delivered, None)];
    insert(&store, &o, true).await;
    assert!(store.site_has_mailed(site.id, "known@y.test").await.unwrap());
    assert!(store.site_has_mailed(site.id, "KNOWN@y.test").await.unwrap());
    assert!(!store.site_has_mailed(site.id, "theirs@y.test").await.unwrap());
    assert!(!store.site_has_mailed(site.id, "alice@sender.test").await.unwrap());
}
