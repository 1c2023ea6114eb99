//! Conformance cases for the send-policy area ([`crate::PolicyStore`]): allow/block lists
//! and applied delivery-status reports.

use super::*;

fn entry(
    site: SiteId,
    direction: ListDirection,
    kind: ListKind,
    e: &str,
    mailbox: Option<MailboxId>,
) -> ListEntry {
    ListEntry {
        id: ListEntryId::new(),
        site_id: site,
        direction,
        kind,
        entry: e.to_string(),
        mailbox_id: mailbox,
        reason: Some("test".into()),
        created_at: now(),
    }
}

/// Entries round-trip, conflict on the same scope, list by site/direction/mailbox, apply
/// site-wide plus the mailbox's own, and are deleted (also with their mailbox).
pub async fn list_entries_round_trip_and_scope(store: Arc<dyn Store>) {
    let site = new_site(&store, "lists").await;
    let other = new_site(&store, "other").await;
    let mb = new_mailbox(&store, site.id, "agent@lists.test").await;
    let mb2 = new_mailbox(&store, site.id, "agent2@lists.test").await;

    let block = entry(
        site.id,
        ListDirection::Send,
        ListKind::Block,
        "victim.test",
        None,
    );
    store.create_list_entry(&block).await.expect("create");
    assert_eq!(
        store.get_list_entry(block.id).await.unwrap(),
        Some(block.clone())
    );
    let again = entry(
        site.id,
        ListDirection::Send,
        ListKind::Block,
        "victim.test",
        None,
    );
    match store.create_list_entry(&again).await {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, "list_entry"),
        other => panic!("the same entry twice must conflict, got {other:?}"),
    }
    // The same entry for a mailbox, or allowing, or for receiving, is another entry.
    let per_mb = entry(
        site.id,
        ListDirection::Send,
        ListKind::Block,
        "victim.test",
        Some(mb.id),
    );
    store.create_list_entry(&per_mb).await.expect("per mailbox");
    let again_mb = entry(
        site.id,
        ListDirection::Send,
        ListKind::Block,
        "victim.test",
        Some(mb.id),
    );
    assert!(matches!(
        store.create_list_entry(&again_mb).await,
        Err(StoreError::Conflict { .. })
    ));
    let allow = entry(
        site.id,
        ListDirection::Receive,
        ListKind::Allow,
        "boss@corp.test",
        Some(mb2.id),
    );
    store.create_list_entry(&allow).await.expect("allow");
    store
        .create_list_entry(&entry(
            other.id,
            ListDirection::Send,
            ListKind::Block,
            "x@y.test",
            None,
        ))
        .await
        .expect("other site");

    let all = store
        .list_list_entries(Some(site.id), None, None)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![block.id, per_mb.id, allow.id]
    );
    assert_eq!(
        store
            .list_list_entries(None, None, None)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        store
            .list_list_entries(Some(site.id), Some(ListDirection::Receive), None)
            .await
            .unwrap(),
        vec![allow.clone()]
    );
    assert_eq!(
        store
            .list_list_entries(Some(site.id), None, Some(mb.id))
            .await
            .unwrap(),
        vec![per_mb.clone()]
    );

    let for_mb = store
        .applicable_list_entries(site.id, ListDirection::Send, Some(mb.id))
        .await
        .unwrap();
    assert_eq!(
        for_mb.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![block.id, per_mb.id]
    );
    let for_mb2 = store
        .applicable_list_entries(site.id, ListDirection::Send, Some(mb2.id))
        .await
        .unwrap();
    assert_eq!(for_mb2, vec![block.clone()]);
    let site_wide = store
        .applicable_list_entries(site.id, ListDirection::Send, None)
        .await
        .unwrap();
    assert_eq!(site_wide, vec![block.clone()]);
    assert_eq!(
        store
            .applicable_list_entries(site.id, ListDirection::Receive, Some(mb2.id))
            .await
            .unwrap(),
        vec![allow.clone()]
    );

    assert!(store.delete_list_entry(block.id).await.unwrap());
    assert!(!store.delete_list_entry(block.id).await.unwrap());
    assert_eq!(store.get_list_entry(block.id).await.unwrap(), None);
    let ev = event(site.id, Some(mb2.id), event_types::MAILBOX_DELETED);
    store
        .delete_mailbox(mb2.id, &ev)
        .await
        .expect("delete mailbox");
    assert_eq!(
        store.get_list_entry(allow.id).await.unwrap(),
        None,
        "a mailbox's entries go with it"
    );
}

/// A report is recorded once per recipient; the records are listed by original message.
pub async fn dsn_records_are_recorded_once(store: Arc<dyn Store>) {
    let site = new_site(&store, "dsn").await;
    let original = MessageId::new();
    let report = MessageId::new();
    let r = DsnRecord {
        site_id: site.id,
        report_message_id: report,
        original_message_id: original,
        recipient: "bob@remote.test".into(),
        decision: "applied".into(),
        created_at: now(),
    };
    assert!(store.record_dsn(&r).await.unwrap());
    assert!(
        !store
            .record_dsn(&DsnRecord {
                decision: "ignored: again".into(),
                ..r.clone()
            })
            .await
            .unwrap(),
        "a second time changes nothing"
    );
    let carol = DsnRecord {
        recipient: "carol@remote.test".into(),
        decision: "ignored: already delivered".into(),
        ..r.clone()
    };
    assert!(store.record_dsn(&carol).await.unwrap());
    assert_eq!(
        store.list_dsn_records(original).await.unwrap(),
        vec![r, carol]
    );
    assert!(
        store
            .list_dsn_records(MessageId::new())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A message's route is written (before the message), read back, and replaced.
pub async fn message_routes_round_trip(store: Arc<dyn Store>) {
    let site = new_site(&store, "routes").await;
    let id = MessageId::new();
    assert_eq!(store.get_message_route(id).await.unwrap(), None);
    store
        .put_message_route(
            id,
            site.id,
            r#"{"kind":"smtp_account","identifier":"a@b.test"}"#,
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_message_route(id).await.unwrap().as_deref(),
        Some(r#"{"kind":"smtp_account","identifier":"a@b.test"}"#)
    );
    store.put_message_route(id, site.id, "{}").await.unwrap();
    assert_eq!(
        store.get_message_route(id).await.unwrap().as_deref(),
        Some("{}")
    );
}

/// A recipient of received mail is found with what it is checked against, in one read: the
/// mailbox (by its address in any case), its and its site's controls, and the receive lists
/// that apply to it (its site's and its own, oldest first; not another mailbox's, another
/// site's, or the send lists).
pub async fn inbound_lookup_finds_a_recipient_with_its_controls_and_lists(store: Arc<dyn Store>) {
    use mailroom_core::controls::{ControlScope, Controls, LimitsPatch};
    let site = new_site(&store, "inbound").await;
    let other = new_site(&store, "elsewhere").await;
    let mb = new_mailbox(&store, site.id, "agent@inbound.test").await;
    let mb2 = new_mailbox(&store, site.id, "agent2@inbound.test").await;
    let far = new_mailbox(&store, other.id, "far@inbound.test").await;
    assert_eq!(store.inbound_lookup("nobody@inbound.test").await.unwrap(), None);

    // Nothing stored yet: no controls, no lists.
    let bare = store.inbound_lookup("agent@inbound.test").await.unwrap().expect("found");
    assert_eq!(bare, InboundLookup { mailbox: mb.clone(), controls: [None, None], receive_lists: Vec::new() });

    let own = Controls { retention_days: Some(3), expires_at: Some(now() + chrono::Duration::days(1)), ..Default::default() };
    let site_wide = Controls { limits: LimitsPatch { storage_bytes: Some(Some(1000)), ..Default::default() }, ..Default::default() };
    store.put_controls(ControlScope::Mailbox(mb.id), site.id, &own).await.unwrap();
    store.put_controls(ControlScope::Site(site.id), site.id, &site_wide).await.unwrap();
    store.put_controls(ControlScope::Mailbox(mb2.id), site.id, &Controls { retention_days: Some(9), ..Default::default() }).await.unwrap();
    let first = entry(site.id, ListDirection::Receive, ListKind::Block, "spam.test", None);
    let second = entry(site.id, ListDirection::Receive, ListKind::Allow, "friend@ok.test", Some(mb.id));
    let third = entry(site.id, ListDirection::Receive, ListKind::Allow, "pal@ok.test", None);
    for (i, e) in [&first, &second, &third].into_iter().enumerate() {
        let e = ListEntry { created_at: e.created_at + chrono::Duration::milliseconds(i as i64), ..e.clone() };
        store.create_list_entry(&e).await.unwrap();
    }
    // Entries that do not apply to `mb`'s received mail.
    for e in [
        entry(site.id, ListDirection::Receive, ListKind::Block, "x.test", Some(mb2.id)),
        entry(site.id, ListDirection::Send, ListKind::Block, "y.test", None),
        entry(site.id, ListDirection::Send, ListKind::Block, "z.test", Some(mb.id)),
        entry(other.id, ListDirection::Receive, ListKind::Block, "w.test", None),
    ] {
        store.create_list_entry(&e).await.unwrap();
    }

    let found = store.inbound_lookup("Agent@Inbound.TEST").await.unwrap().expect("found in any case");
    assert_eq!(found.mailbox, mb);
    assert_eq!(found.controls, [Some(own), Some(site_wide.clone())]);
    let expected = store.applicable_list_entries(site.id, ListDirection::Receive, Some(mb.id)).await.unwrap();
    assert_eq!(expected.iter().map(|e| e.id).collect::<Vec<_>>(), vec![first.id, second.id, third.id]);
    assert_eq!(found.receive_lists, expected, "the lists as applicable_list_entries reads them");

    let found = store.inbound_lookup("agent2@inbound.test").await.unwrap().expect("found");
    assert_eq!(found.controls, [Some(Controls { retention_days: Some(9), ..Default::default() }), Some(site_wide)]);
    assert_eq!(found.receive_lists.len(), 3, "the site's two and its own block");
    let found = store.inbound_lookup("far@inbound.test").await.unwrap().expect("found");
    assert_eq!(found.mailbox, far);
    assert_eq!(found.controls, [None, None]);
    assert_eq!(found.receive_lists.iter().map(|e| e.entry.as_str()).collect::<Vec<_>>(), vec!["w.test"]);
}
