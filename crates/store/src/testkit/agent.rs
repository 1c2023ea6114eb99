//! Conformance cases: the agent tools' records.

#[allow(unused_imports)]
use super::*;

// --- fixtures and cases: agent tools ---------------------------------------------------------

/// Returns a contact of `site` with every optional field set but the owner.
pub fn contact_value(site: SiteId, email: Option<&str>, external_id: Option<&str>) -> Contact {
    let t = now();
    let attributes = serde_json::json!({
        "company": "Acme",
        "plan": { "tier": "pro", "seats": 12 },
        "milestones": ["signed_up", "activated"],
        "language": "fr",
        "score": 0.75,
        "nothing": null,
    });
    Contact {
        id: ContactId::new(),
        site_id: site,
        email: email.map(addr),
        external_id: external_id.map(str::to_string),
        name: Some("Bob Ünicode".to_string()),
        attributes: attributes.as_object().expect("an object").clone(),
        email_subscribed: Some(true),
        marketing_opt_out: false,
        owner_team_member_id: None,
        created_at: t,
        updated_at: t,
    }
}

/// Creates and returns a contact of `site`.
pub async fn new_contact(store: &Arc<dyn Store>, site: SiteId, email: Option<&str>, external_id: Option<&str>) -> Contact {
    let c = contact_value(site, email, external_id);
    store.create_contact(&c).await.expect("create_contact");
    c
}

/// Returns a team member of `site` sending from `mailbox`.
pub fn team_member_value(site: SiteId, mailbox: MailboxId, name: &str) -> TeamMember {
    let t = now();
    TeamMember {
        id: TeamMemberId::new(),
        site_id: site,
        name: name.to_string(),
        mailbox_id: mailbox,
        signature_html: Some(format!("<p>{name}<br>Acme</p>")),
        created_at: t,
        updated_at: t,
    }
}

/// Creates and returns a team member of `site` sending from `mailbox`.
pub async fn new_team_member(store: &Arc<dyn Store>, site: SiteId, mailbox: MailboxId, name: &str) -> TeamMember {
    let m = team_member_value(site, mailbox, name);
    store.create_team_member(&m).await.expect("create_team_member");
    m
}

pub(crate) fn token_value(site: SiteId, token_type: &str, identifier: &str, value: Vec<u8>) -> SecureToken {
    let t = now();
    SecureToken {
        id: SecureTokenId::new(),
        site_id: site,
        token_type: token_type.to_string(),
        identifier: identifier.to_string(),
        value_encrypted: value,
        created_at: t,
        updated_at: t,
    }
}

/// Returns a tool config of `site` named `name`.
pub fn tool_config_value(site: SiteId, name: &str) -> ToolConfig {
    let t = now();
    ToolConfig {
        id: ToolConfigId::new(),
        site_id: site,
        name: name.to_string(),
        tool: "send_one_to_one_email".to_string(),
        prompt: "Use after a demo call; keep it short and personal.".to_string(),
        settings: serde_json::json!({ "sender": "owner", "cc": ["sales@acme.test"], "complete_on_send_failure": false }),
        created_at: t,
        updated_at: t,
    }
}

/// Returns a tool run of `site` with every field set but the config, contact and message.
pub fn tool_run_value(site: SiteId, tool: &str, status: &str, at: DateTime<Utc>) -> ToolRun {
    ToolRun {
        id: ToolRunId::new(),
        site_id: site,
        tool: tool.to_string(),
        tool_config_id: None,
        contact_id: None,
        status: status.to_string(),
        code: Some("duplicate_email".to_string()),
        dry_run: false,
        inputs: serde_json::json!({ "to": "bob@y.test", "subject": "Hi", "smtp_password": "[redacted]" }),
        checks: serde_json::json!([{ "name": "consent", "passed": true, "detail": null }, { "name": "duplicate", "passed": false }]),
        decision: serde_json::json!({ "action": "skip", "why": "same email sent 2 hours ago" }),
        outputs: serde_json::json!({ "status": status, "email_id": null }),
        message_id: None,
        created_at: at,
        delivery: None,
    }
}

/// Returns a record of an email to `recipient` sent at `at` through `provider`.
pub fn sent_email_value(site: SiteId, recipient: &str, provider: &str, external_id: &str, at: DateTime<Utc>) -> SentEmail {
    SentEmail {
        id: SentEmailId::new(),
        site_id: site,
        recipient: recipient.to_string(),
        contact_id: None,
        tool: "send_email".to_string(),
        provider: provider.to_string(),
        external_message_id: external_id.to_string(),
        message_id: None,
        subject: "Your trial ends soon".to_string(),
        content_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_string(),
        simhash: "a1b2c3d4e5f60718".to_string(),
        template: None,
        context: serde_json::json!({ "conversation_id": "c-1", "agent_id": "a-1" }),
        created_at: at,
    }
}

pub(crate) fn run_ids(runs: &[ToolRun]) -> Vec<ToolRunId> {
    runs.iter().map(|r| r.id).collect()
}

pub(crate) fn sent_ids(sent: &[SentEmail]) -> Vec<SentEmailId> {
    sent.iter().map(|s| s.id).collect()
}

/// A contact round-trips every field (nested attributes, consent, owner); updates save every
/// mutable field and clear optional ones; missing sites, owners and contacts are `NotFound`;
/// deleting says whether it existed.
pub async fn contacts_round_trip(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let owner = new_team_member(&store, site.id, mb.id, "Olivia Owner").await;
    let full = Contact {
        email_subscribed: Some(false),
        marketing_opt_out: true,
        owner_team_member_id: Some(owner.id),
        created_at: now() - Duration::days(3),
        ..contact_value(site.id, Some("Bob.Smith@Example.TEST"), Some("crm-42"))
    };
    store.create_contact(&full).await.unwrap();
    let bare = Contact {
        email: None,
        external_id: None,
        name: None,
        attributes: serde_json::Map::new(),
        email_subscribed: None,
        ..contact_value(site.id, None, None)
    };
    store.create_contact(&bare).await.unwrap();
    // Contacts without email or external id never conflict with each other.
    let bare2 = Contact { id: ContactId::new(), ..bare.clone() };
    store.create_contact(&bare2).await.unwrap();

    assert_eq!(store.get_contact(full.id).await.unwrap(), Some(full.clone()), "the email keeps its spelling");
    assert_eq!(store.get_contact(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(store.get_contact(ContactId::new()).await.unwrap(), None);

    let mut changed = full.clone();
    changed.email = Some(addr("robert@new.test"));
    changed.external_id = Some("crm-43".into());
    changed.name = Some("Robert".into());
    changed.attributes = serde_json::json!({ "company": "Initech", "tags": ["a", "b"] }).as_object().unwrap().clone();
    changed.email_subscribed = Some(true);
    changed.marketing_opt_out = false;
    changed.owner_team_member_id = None;
    changed.updated_at = now() + Duration::seconds(5);
    store.update_contact(&changed).await.unwrap();
    assert_eq!(store.get_contact(full.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(store.find_contact(site.id, Some("bob.smith@example.test"), None).await.unwrap(), None, "the old email is free");
    // Clearing every optional field, and setting the owner again.
    let cleared = Contact {
        email: None,
        external_id: None,
        name: None,
        attributes: serde_json::Map::new(),
        email_subscribed: None,
        owner_team_member_id: Some(owner.id),
        ..changed.clone()
    };
    store.update_contact(&cleared).await.unwrap();
    assert_eq!(store.get_contact(full.id).await.unwrap(), Some(cleared.clone()));

    assert_not_found(store.update_contact(&contact_value(site.id, Some("ghost@x.test"), None)).await);
    assert_not_found(store.create_contact(&contact_value(SiteId::new(), Some("orphan@x.test"), None)).await);
    let unowned = Contact { owner_team_member_id: Some(TeamMemberId::new()), ..contact_value(site.id, Some("c@x.test"), None) };
    assert_not_found(store.create_contact(&unowned).await);
    assert_eq!(store.get_contact(unowned.id).await.unwrap(), None);
    assert_not_found(store.update_contact(&Contact { owner_team_member_id: Some(TeamMemberId::new()), ..cleared.clone() }).await);
    assert_eq!(store.get_contact(full.id).await.unwrap(), Some(cleared.clone()));

    assert!(store.delete_contact(bare.id).await.unwrap());
    assert!(!store.delete_contact(bare.id).await.unwrap());
    assert_eq!(store.get_contact(bare.id).await.unwrap(), None);
    assert_eq!(store.get_contact(bare2.id).await.unwrap(), Some(bare2));
}

/// Emails are unique per site ignoring case, external ids per site; other sites may reuse
/// both; a conflicting create or update changes nothing.
pub async fn contact_email_and_external_id_conflict_per_site(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let bob = new_contact(&store, a.id, Some("Bob@Example.test"), Some("ext-1")).await;
    let dup_email = contact_value(a.id, Some("bOB@example.TEST"), None);
    assert_conflict(store.create_contact(&dup_email).await, "contact_email");
    assert_eq!(store.get_contact(dup_email.id).await.unwrap(), None);
    let dup_ext = contact_value(a.id, Some("other@example.test"), Some("ext-1"));
    assert_conflict(store.create_contact(&dup_ext).await, "contact_external_id");
    assert_eq!(store.get_contact(dup_ext.id).await.unwrap(), None);
    // External ids compare exactly.
    new_contact(&store, a.id, Some("other@example.test"), Some("EXT-1")).await;
    // Another site may hold the same email and external id.
    let twin = new_contact(&store, b.id, Some("bob@example.test"), Some("ext-1")).await;
    assert_eq!(store.get_contact(twin.id).await.unwrap(), Some(twin));

    let carol = new_contact(&store, a.id, Some("carol@example.test"), Some("ext-3")).await;
    let mut taken = carol.clone();
    taken.email = Some(addr("BOB@EXAMPLE.TEST"));
    assert_conflict(store.update_contact(&taken).await, "contact_email");
    let mut taken = carol.clone();
    taken.external_id = Some("ext-1".into());
    assert_conflict(store.update_contact(&taken).await, "contact_external_id");
    assert_eq!(store.get_contact(carol.id).await.unwrap(), Some(carol.clone()));
    // A contact may change the case of its own email.
    let mut recased = bob.clone();
    recased.email = Some(addr("BOB@example.test"));
    store.update_contact(&recased).await.unwrap();
    assert_eq!(store.get_contact(bob.id).await.unwrap(), Some(recased));
}

/// `find_contact` looks up the site's contact by email ignoring case, else by external id.
pub async fn find_contact_by_email_then_external_id(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let bob = new_contact(&store, a.id, Some("Bob@Example.test"), Some("ext-bob")).await;
    let lead = new_contact(&store, a.id, None, Some("lead-7")).await;
    let elsewhere = new_contact(&store, b.id, Some("zed@example.test"), Some("ext-zed")).await;

    assert_eq!(store.find_contact(a.id, Some("bob@example.test"), None).await.unwrap(), Some(bob.clone()));
    assert_eq!(store.find_contact(a.id, Some("BOB@EXAMPLE.TEST"), None).await.unwrap(), Some(bob.clone()));
    assert_eq!(store.find_contact(a.id, None, Some("ext-bob")).await.unwrap(), Some(bob.clone()));
    assert_eq!(store.find_contact(a.id, None, Some("lead-7")).await.unwrap(), Some(lead.clone()));
    // The email wins over the external id; an unknown email falls back to the external id.
    assert_eq!(store.find_contact(a.id, Some("bob@example.test"), Some("lead-7")).await.unwrap(), Some(bob.clone()));
    assert_eq!(store.find_contact(a.id, Some("nobody@example.test"), Some("lead-7")).await.unwrap(), Some(lead.clone()));
    assert_eq!(store.find_contact(a.id, Some("nobody@example.test"), None).await.unwrap(), None);
    assert_eq!(store.find_contact(a.id, None, Some("LEAD-7")).await.unwrap(), None, "external ids compare exactly");
    assert_eq!(store.find_contact(a.id, None, None).await.unwrap(), None);
    // Only the given site.
    assert_eq!(store.find_contact(a.id, Some("zed@example.test"), Some("ext-zed")).await.unwrap(), None);
    assert_eq!(store.find_contact(b.id, Some("zed@example.test"), None).await.unwrap(), Some(elsewhere));
    assert_eq!(store.find_contact(b.id, Some("bob@example.test"), Some("ext-bob")).await.unwrap(), None);
}

/// Contacts list newest first, of one site or all, in pages.
pub async fn contacts_paginate_newest_first(store: Arc<dyn Store>) {
    let (site, other) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let mut mine = Vec::new();
    let mut all = Vec::new();
    for i in 0..7 {
        let s = if i % 3 == 2 { other.id } else { site.id };
        let c = new_contact(&store, s, Some(&format!("c{i}@x.test")), None).await;
        if s == site.id {
            mine.push(c.clone());
        }
        all.push(c);
    }
    mine.reverse();
    all.reverse();
    assert_eq!(store.list_contacts(None, None, 100).await.unwrap(), all);
    assert_eq!(store.list_contacts(Some(site.id), None, 100).await.unwrap(), mine);
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let got = store.list_contacts(Some(site.id), before, 2).await.unwrap();
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 2);
        before = Some(got.last().unwrap().id);
        pages.extend(got);
    }
    assert_eq!(pages, mine);
    assert_eq!(store.list_contacts(None, Some(all[0].id), 1).await.unwrap(), vec![all[1].clone()]);
    assert!(store.list_contacts(None, None, 0).await.unwrap().is_empty());
    assert!(store.list_contacts(Some(SiteId::new()), None, 10).await.unwrap().is_empty());
}

/// Team members round-trip, list oldest first, update their name, mailbox and signature,
/// need an existing site and mailbox, and delete.
pub async fn team_members_round_trip(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let (mb1, mb2) = (new_mailbox(&store, a.id, "one@x.test").await, new_mailbox(&store, a.id, "two@x.test").await);
    let mbb = new_mailbox(&store, b.id, "b@x.test").await;
    let t = now();
    let first = TeamMember { created_at: t - Duration::seconds(10), ..team_member_value(a.id, mb1.id, "Ann") };
    store.create_team_member(&first).await.unwrap();
    let second = TeamMember { signature_html: None, ..team_member_value(a.id, mb1.id, "Ben") };
    store.create_team_member(&second).await.unwrap();
    let other = TeamMember { created_at: t - Duration::seconds(5), ..team_member_value(b.id, mbb.id, "Zoe") };
    store.create_team_member(&other).await.unwrap();

    assert_eq!(store.get_team_member(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.get_team_member(second.id).await.unwrap(), Some(second.clone()));
    assert_eq!(store.get_team_member(TeamMemberId::new()).await.unwrap(), None);
    assert_eq!(store.list_team_members(Some(a.id)).await.unwrap(), vec![first.clone(), second.clone()]);
    assert_eq!(store.list_team_members(None).await.unwrap(), vec![first.clone(), other.clone(), second.clone()]);
    assert!(store.list_team_members(Some(SiteId::new())).await.unwrap().is_empty());
    assert_conflict(store.create_team_member(&TeamMember { name: "Dup".into(), ..first.clone() }).await, "team_members_pkey");

    let mut moved = second.clone();
    moved.name = "Benjamin".into();
    moved.mailbox_id = mb2.id;
    moved.signature_html = Some("<b>B</b>".into());
    moved.updated_at = t + Duration::seconds(3);
    store.update_team_member(&moved).await.unwrap();
    assert_eq!(store.get_team_member(second.id).await.unwrap(), Some(moved.clone()));
    let unsigned = TeamMember { signature_html: None, ..moved.clone() };
    store.update_team_member(&unsigned).await.unwrap();
    assert_eq!(store.get_team_member(second.id).await.unwrap(), Some(unsigned.clone()));

    assert_not_found(store.update_team_member(&team_member_value(a.id, mb1.id, "Ghost")).await);
    assert_not_found(store.update_team_member(&TeamMember { mailbox_id: MailboxId::new(), ..unsigned.clone() }).await);
    assert_eq!(store.get_team_member(second.id).await.unwrap(), Some(unsigned.clone()));
    assert_not_found(store.create_team_member(&team_member_value(a.id, MailboxId::new(), "No mailbox")).await);
    assert_not_found(store.create_team_member(&team_member_value(SiteId::new(), mb1.id, "No site")).await);

    assert!(store.delete_team_member(first.id).await.unwrap());
    assert!(!store.delete_team_member(first.id).await.unwrap());
    assert_eq!(store.list_team_members(Some(a.id)).await.unwrap(), vec![unsigned]);
}

/// Deleting a team member leaves the contacts they owned without an owner, unchanged
/// otherwise.
pub async fn deleting_a_team_member_clears_contact_owners(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let (ann, ben) = (new_team_member(&store, site.id, mb.id, "Ann").await, new_team_member(&store, site.id, mb.id, "Ben").await);
    let owned = Contact { owner_team_member_id: Some(ann.id), ..contact_value(site.id, Some("a@y.test"), None) };
    store.create_contact(&owned).await.unwrap();
    let also = Contact { owner_team_member_id: Some(ann.id), ..contact_value(site.id, Some("b@y.test"), None) };
    store.create_contact(&also).await.unwrap();
    let kept = Contact { owner_team_member_id: Some(ben.id), ..contact_value(site.id, Some("c@y.test"), None) };
    store.create_contact(&kept).await.unwrap();

    assert!(store.delete_team_member(ann.id).await.unwrap());
    assert_eq!(store.get_contact(owned.id).await.unwrap(), Some(Contact { owner_team_member_id: None, ..owned }));
    assert_eq!(store.get_contact(also.id).await.unwrap(), Some(Contact { owner_team_member_id: None, ..also }));
    assert_eq!(store.get_contact(kept.id).await.unwrap(), Some(kept));
}

/// A mailbox a team member sends from cannot be deleted (`Conflict` on `team_member_mailbox`,
/// nothing deleted, nothing logged) until the member moves to another mailbox or goes.
pub async fn deleting_a_mailbox_in_use_by_a_team_member_is_refused(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let (mb, spare) = (new_mailbox(&store, site.id, "agent@x.test").await, new_mailbox(&store, site.id, "spare@x.test").await);
    let m = message_value(&mb, ThreadId::new(), now());
    insert(&store, &m, true).await;
    let member = new_team_member(&store, site.id, mb.id, "Ann").await;
    let events = all_events(&store).await;

    let deleted = event(site.id, Some(mb.id), event_types::MAILBOX_DELETED);
    assert_conflict(store.delete_mailbox(mb.id, &deleted).await, "team_member_mailbox");
    assert_eq!(store.get_mailbox(mb.id).await.unwrap(), Some(mb.clone()));
    assert_eq!(store.get_message(m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(all_events(&store).await, events, "a refused delete logs nothing");

    store.update_team_member(&TeamMember { mailbox_id: spare.id, ..member.clone() }).await.unwrap();
    assert_eq!(store.delete_mailbox(mb.id, &deleted).await.unwrap(), vec![m.raw_blob_key.clone()]);
    assert_conflict(store.delete_mailbox(spare.id, &event(site.id, Some(spare.id), event_types::MAILBOX_DELETED)).await, "team_member_mailbox");
    assert!(store.delete_team_member(member.id).await.unwrap());
    store.delete_mailbox(spare.id, &event(site.id, Some(spare.id), event_types::MAILBOX_DELETED)).await.unwrap();
    assert_eq!(store.get_mailbox(spare.id).await.unwrap(), None);
}

/// A site's settings document is absent until put, then replaced whole; sites do not share
/// it; a missing site is `NotFound`.
pub async fn site_settings_are_one_document_per_site(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    assert_eq!(store.get_site_settings(a.id).await.unwrap(), None);
    let doc = serde_json::json!({
        "channels": { "email": { "enabled": true, "from": "Acme <hello@acme.test>" } },
        "informational": { "templates": ["welcome", "trial_end"], "daily_limit": 3, "ratio": 0.5 },
        "unicode": "żółć ✓",
    });
    store.put_site_settings(a.id, &doc).await.unwrap();
    assert_eq!(store.get_site_settings(a.id).await.unwrap(), Some(doc.clone()));
    assert_eq!(store.get_site_settings(b.id).await.unwrap(), None);
    let replaced = serde_json::json!({ "channels": {} });
    store.put_site_settings(a.id, &replaced).await.unwrap();
    assert_eq!(store.get_site_settings(a.id).await.unwrap(), Some(replaced.clone()), "replaced, not merged");
    store.put_site_settings(b.id, &serde_json::json!([1, "two"])).await.unwrap();
    assert_eq!(store.get_site_settings(b.id).await.unwrap(), Some(serde_json::json!([1, "two"])));
    assert_eq!(store.get_site_settings(a.id).await.unwrap(), Some(replaced));
    assert_not_found(store.put_site_settings(SiteId::new(), &doc).await);
}

/// A secure token keeps its sealed bytes exactly; putting one with the same site, type and
/// identifier replaces its value and updated_at but keeps its id and created_at.
pub async fn secure_tokens_upsert_and_keep_sealed_bytes(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let sealed: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    let t = now();
    let smtp = SecureToken { created_at: t - Duration::seconds(10), ..token_value(a.id, "email", "smtp@acme.test", sealed.clone()) };
    assert_eq!(store.put_secure_token(&smtp).await.unwrap(), smtp);
    assert_eq!(store.get_secure_token(a.id, "email", "smtp@acme.test").await.unwrap(), Some(smtp.clone()));
    let crm = SecureToken { created_at: t - Duration::seconds(5), ..token_value(a.id, "crm", "smtp@acme.test", vec![1]) };
    assert_eq!(store.put_secure_token(&crm).await.unwrap(), crm);
    let empty = token_value(a.id, "email", "other@acme.test", Vec::new());
    assert_eq!(store.put_secure_token(&empty).await.unwrap(), empty);
    let theirs = token_value(b.id, "email", "smtp@acme.test", vec![9, 9]);
    assert_eq!(store.put_secure_token(&theirs).await.unwrap(), theirs);

    // Replacing: a new id and created_at are ignored.
    let newer = SecureToken {
        id: SecureTokenId::new(),
        value_encrypted: vec![0xde, 0xad, 0, 0xbe, 0xef],
        created_at: t + Duration::seconds(30),
        updated_at: t + Duration::seconds(30),
        ..smtp.clone()
    };
    let stored = store.put_secure_token(&newer).await.unwrap();
    let expected = SecureToken { id: smtp.id, created_at: smtp.created_at, ..newer.clone() };
    assert_eq!(stored, expected);
    assert_eq!(store.get_secure_token(a.id, "email", "smtp@acme.test").await.unwrap(), Some(expected.clone()));
    assert_eq!(store.get_secure_token(b.id, "email", "smtp@acme.test").await.unwrap(), Some(theirs.clone()));
    assert_eq!(store.get_secure_token(a.id, "email", "SMTP@acme.test").await.unwrap(), None, "identifiers compare exactly");
    assert_eq!(store.get_secure_token(a.id, "sms", "smtp@acme.test").await.unwrap(), None);
    assert_eq!(store.list_secure_tokens(a.id).await.unwrap(), vec![expected.clone(), crm.clone(), empty.clone()]);
    assert_eq!(store.list_secure_tokens(b.id).await.unwrap(), vec![theirs.clone()]);

    // A token's id is its own: another key cannot take it.
    let stolen = SecureToken { id: crm.id, ..token_value(a.id, "x", "y", vec![1]) };
    assert_conflict(store.put_secure_token(&stolen).await, "secure_tokens_pkey");
    assert_not_found(store.put_secure_token(&token_value(SiteId::new(), "email", "x", vec![1])).await);

    assert!(store.delete_secure_token(crm.id).await.unwrap());
    assert!(!store.delete_secure_token(crm.id).await.unwrap());
    assert_eq!(store.list_secure_tokens(a.id).await.unwrap(), vec![expected, empty]);
    // After a delete the same key starts afresh.
    let again = token_value(a.id, "crm", "smtp@acme.test", vec![2]);
    assert_eq!(store.put_secure_token(&again).await.unwrap(), again);
}

/// Tool configs round-trip, are found by name, list by name, have a unique name per site
/// (`tool_config_name`), update their name, prompt and settings (not their tool) and delete.
pub async fn tool_configs_round_trip_with_unique_names(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let welcome = tool_config_value(a.id, "welcome_followup");
    store.create_tool_config(&welcome).await.unwrap();
    let digest = ToolConfig { tool: "send_information_email".into(), settings: serde_json::Value::Null, ..tool_config_value(a.id, "digest") };
    store.create_tool_config(&digest).await.unwrap();
    let theirs = tool_config_value(b.id, "welcome_followup");
    store.create_tool_config(&theirs).await.unwrap();
    // Names sort bytewise on every backend (upper case first), whatever the database collation.
    let upper = tool_config_value(b.id, "Zeta");
    store.create_tool_config(&upper).await.unwrap();
    assert_eq!(store.list_tool_configs(Some(b.id)).await.unwrap(), vec![upper.clone(), theirs.clone()]);
    assert!(store.delete_tool_config(upper.id).await.unwrap());

    assert_eq!(store.get_tool_config(welcome.id).await.unwrap(), Some(welcome.clone()));
    assert_eq!(store.get_tool_config(digest.id).await.unwrap(), Some(digest.clone()));
    assert_eq!(store.get_tool_config(ToolConfigId::new()).await.unwrap(), None);
    assert_eq!(store.get_tool_config_by_name(a.id, "welcome_followup").await.unwrap(), Some(welcome.clone()));
    assert_eq!(store.get_tool_config_by_name(b.id, "welcome_followup").await.unwrap(), Some(theirs.clone()));
    assert_eq!(store.get_tool_config_by_name(a.id, "Welcome_Followup").await.unwrap(), None, "names compare exactly");
    assert_eq!(store.list_tool_configs(Some(a.id)).await.unwrap(), vec![digest.clone(), welcome.clone()]);
    let all = store.list_tool_configs(None).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], digest);
    assert!(all[1..].contains(&welcome) && all[1..].contains(&theirs));

    let dup = tool_config_value(a.id, "welcome_followup");
    assert_conflict(store.create_tool_config(&dup).await, "tool_config_name");
    assert_eq!(store.get_tool_config(dup.id).await.unwrap(), None);
    assert_not_found(store.create_tool_config(&tool_config_value(SiteId::new(), "x")).await);

    let mut changed = digest.clone();
    changed.name = "weekly_digest".into();
    changed.prompt = "Weekly only.".into();
    changed.settings = serde_json::json!({ "templates": ["weekly"] });
    changed.updated_at = now() + Duration::seconds(2);
    store.update_tool_config(&ToolConfig { tool: "send_email".into(), ..changed.clone() }).await.unwrap();
    assert_eq!(store.get_tool_config(digest.id).await.unwrap(), Some(changed.clone()), "the tool is not changed");
    assert_eq!(store.get_tool_config_by_name(a.id, "digest").await.unwrap(), None);
    assert_conflict(store.update_tool_config(&ToolConfig { name: "welcome_followup".into(), ..changed.clone() }).await, "tool_config_name");
    assert_eq!(store.get_tool_config(digest.id).await.unwrap(), Some(changed.clone()));
    assert_not_found(store.update_tool_config(&tool_config_value(a.id, "ghost")).await);

    assert!(store.delete_tool_config(welcome.id).await.unwrap());
    assert!(!store.delete_tool_config(welcome.id).await.unwrap());
    // The name is free again.
    store.create_tool_config(&dup).await.unwrap();
    assert_eq!(store.list_tool_configs(Some(a.id)).await.unwrap(), vec![changed, dup]);
}

/// A tool run round-trips every field; its config, contact and site must exist.
pub async fn tool_runs_round_trip(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let config = tool_config_value(site.id, "welcome_followup");
    store.create_tool_config(&config).await.unwrap();
    let contact = new_contact(&store, site.id, Some("bob@y.test"), None).await;
    let full = ToolRun {
        tool_config_id: Some(config.id),
        contact_id: Some(contact.id),
        dry_run: true,
        message_id: Some(MessageId::new()),
        ..tool_run_value(site.id, "send_one_to_one_email", "sent", now())
    };
    store.insert_tool_run(&full, &[]).await.unwrap();
    let bare = ToolRun {
        code: None,
        inputs: serde_json::json!({}),
        checks: serde_json::json!([]),
        decision: serde_json::Value::Null,
        outputs: serde_json::json!("plain"),
        ..tool_run_value(site.id, "send_email", "failure", now())
    };
    store.insert_tool_run(&bare, &[]).await.unwrap();
    assert_eq!(store.get_tool_run(full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(store.get_tool_run(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(store.get_tool_run(ToolRunId::new()).await.unwrap(), None);

    assert_conflict(store.insert_tool_run(&full, &[]).await, "tool_runs_pkey");
    for orphan in [
        tool_run_value(SiteId::new(), "send_email", "sent", now()),
        ToolRun { contact_id: Some(ContactId::new()), ..tool_run_value(site.id, "send_email", "sent", now()) },
        ToolRun { tool_config_id: Some(ToolConfigId::new()), ..tool_run_value(site.id, "send_email", "sent", now()) },
    ] {
        assert_not_found(store.insert_tool_run(&orphan, &[]).await);
        assert_eq!(store.get_tool_run(orphan.id).await.unwrap(), None);
    }
}

/// `insert_tool_run` appends its events in the same transaction: both or neither, and the
/// event signal moves only after a commit that appended.
pub async fn insert_tool_run_is_atomic_with_its_events(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mut rx = store.event_signal();
    let mut last = *rx.borrow_and_update();
    let before = all_events(&store).await;

    let run = tool_run_value(site.id, "send_email", "sent", now());
    let events = vec![event(site.id, None, "tool.run"), event(site.id, None, "email.sent")];
    store.insert_tool_run(&run, &events).await.unwrap();
    assert_bumped(&mut rx, &mut last, true, "insert_tool_run with events");
    let logged = all_events(&store).await;
    assert_eq!(logged.iter().skip(before.len()).map(|e| e.id).collect::<Vec<_>>(), vec![events[0].id, events[1].id]);
    assert!(cursor(&logged[logged.len() - 2]) < cursor(&logged[logged.len() - 1]));

    let quiet = tool_run_value(site.id, "send_email", "skipped", now());
    store.insert_tool_run(&quiet, &[]).await.unwrap();
    assert_bumped(&mut rx, &mut last, false, "insert_tool_run without events");

    // A failing run logs nothing.
    let more = vec![event(site.id, None, "tool.run")];
    assert_conflict(store.insert_tool_run(&run, &more).await, "tool_runs_pkey");
    let orphan = ToolRun { contact_id: Some(ContactId::new()), ..tool_run_value(site.id, "send_email", "sent", now()) };
    assert_not_found(store.insert_tool_run(&orphan, &more).await);
    // A failing event rolls back the run.
    let fresh = tool_run_value(site.id, "send_email", "sent", now());
    let clash = vec![event(site.id, None, "x.ok"), NewEvent { created_at: now(), ..events[0].clone() }];
    assert!(store.insert_tool_run(&fresh, &clash).await.is_err());
    assert_eq!(store.get_tool_run(fresh.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await, logged);
    assert_bumped(&mut rx, &mut last, false, "failed insert_tool_run");
}

/// Tool runs list newest first with every filter: site, tool, contact, status, a time window
/// (`since` inclusive, `until` exclusive), the `before` cursor and the limit.
pub async fn list_tool_runs_filters(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let bob = new_contact(&store, a.id, Some("bob@y.test"), None).await;
    let eve = new_contact(&store, a.id, Some("eve@y.test"), None).await;
    let t0 = now() - Duration::hours(1);
    let specs: [(SiteId, &str, Option<ContactId>, &str); 8] = [
        (a.id, "send_email", Some(bob.id), "sent"),
        (a.id, "send_email", Some(eve.id), "skipped"),
        (a.id, "send_information_email", Some(bob.id), "consent_required"),
        (b.id, "send_email", None, "sent"),
        (a.id, "send_one_to_one_email", None, "sent"),
        (a.id, "send_email", Some(bob.id), "skipped"),
        (b.id, "send_information_email", None, "failure"),
        (a.id, "send_email", Some(bob.id), "sent"),
    ];
    let mut runs = Vec::new();
    for (i, (site, tool, contact, status)) in specs.into_iter().enumerate() {
        let run = ToolRun { contact_id: contact, ..tool_run_value(site, tool, status, t0 + Duration::minutes(i as i64)) };
        store.insert_tool_run(&run, &[]).await.unwrap();
        runs.push(run);
    }
    let newest_first = |pick: &dyn Fn(&ToolRun) -> bool| runs.iter().rev().filter(|r| pick(r)).map(|r| r.id).collect::<Vec<_>>();
    let list = |f: ToolRunFilter| {
        let store = store.clone();
        async move { run_ids(&store.list_tool_runs(&ToolRunFilter { limit: if f.limit == 0 { 100 } else { f.limit }, ..f }).await.unwrap()) }
    };

    let all = store.list_tool_runs(&ToolRunFilter { limit: 100, ..ToolRunFilter::default() }).await.unwrap();
    assert_eq!(all, runs.iter().rev().cloned().collect::<Vec<_>>(), "every run, newest first, every field");
    assert_eq!(list(ToolRunFilter { site: Some(a.id), ..Default::default() }).await, newest_first(&|r| r.site_id == a.id));
    assert_eq!(list(ToolRunFilter { site: Some(b.id), ..Default::default() }).await, newest_first(&|r| r.site_id == b.id));
    assert_eq!(list(ToolRunFilter { site: Some(SiteId::new()), ..Default::default() }).await, vec![]);
    assert_eq!(
        list(ToolRunFilter { tool: Some("send_email".into()), ..Default::default() }).await,
        newest_first(&|r| r.tool == "send_email")
    );
    assert_eq!(list(ToolRunFilter { contact: Some(bob.id), ..Default::default() }).await, newest_first(&|r| r.contact_id == Some(bob.id)));
    assert_eq!(list(ToolRunFilter { contact: Some(eve.id), ..Default::default() }).await, vec![runs[1].id]);
    assert_eq!(list(ToolRunFilter { status: Some("sent".into()), ..Default::default() }).await, newest_first(&|r| r.status == "sent"));
    assert_eq!(
        list(ToolRunFilter { since: Some(t0 + Duration::minutes(3)), ..Default::default() }).await,
        newest_first(&|r| r.created_at >= t0 + Duration::minutes(3)),
        "since is inclusive"
    );
    assert_eq!(
        list(ToolRunFilter { until: Some(t0 + Duration::minutes(3)), ..Default::default() }).await,
        newest_first(&|r| r.created_at < t0 + Duration::minutes(3)),
        "until is exclusive"
    );
    assert_eq!(
        list(ToolRunFilter { since: Some(t0 + Duration::minutes(2)), until: Some(t0 + Duration::minutes(6)), ..Default::default() }).await,
        vec![runs[5].id, runs[4].id, runs[3].id, runs[2].id]
    );
    assert_eq!(
        list(ToolRunFilter {
            site: Some(a.id),
            tool: Some("send_email".into()),
            contact: Some(bob.id),
            status: Some("sent".into()),
            ..Default::default()
        })
        .await,
        vec![runs[7].id, runs[0].id]
    );
    assert_eq!(list(ToolRunFilter { before: Some(runs[4].id), ..Default::default() }).await, newest_first(&|r| r.id < runs[4].id));
    assert_eq!(list(ToolRunFilter { limit: 3, ..Default::default() }).await, vec![runs[7].id, runs[6].id, runs[5].id]);
    assert!(store.list_tool_runs(&ToolRunFilter { limit: 0, ..ToolRunFilter::default() }).await.unwrap().is_empty());

    // Paging a filtered listing with the cursor visits every match once.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let got = list(ToolRunFilter { site: Some(a.id), before, limit: 2, ..Default::default() }).await;
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 2);
        before = got.last().copied();
        pages.extend(got);
    }
    assert_eq!(pages, newest_first(&|r| r.site_id == a.id));
}

/// Sent emails round-trip, are found by provider and external message id, which are unique
/// per site (`sent_email_external_id`); the recipient is stored lower-cased.
pub async fn sent_emails_round_trip_with_unique_external_ids(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let contact = new_contact(&store, a.id, Some("bob@y.test"), None).await;
    let full = SentEmail {
        contact_id: Some(contact.id),
        message_id: Some(MessageId::new()),
        template: Some("trial_end".into()),
        ..sent_email_value(a.id, "bob@y.test", "agent_email", "<m1@acme.test>", now())
    };
    store.insert_sent_email(&full).await.unwrap();
    let bare = SentEmail { context: serde_json::Value::Null, ..sent_email_value(a.id, "eve@y.test", "smtp", "<m2@acme.test>", now()) };
    store.insert_sent_email(&bare).await.unwrap();

    assert_eq!(store.find_sent_email(a.id, "agent_email", "<m1@acme.test>").await.unwrap(), Some(full.clone()));
    assert_eq!(store.find_sent_email(a.id, "smtp", "<m2@acme.test>").await.unwrap(), Some(bare.clone()));
    assert_eq!(store.find_sent_email(a.id, "smtp", "<m1@acme.test>").await.unwrap(), None);
    assert_eq!(store.find_sent_email(b.id, "agent_email", "<m1@acme.test>").await.unwrap(), None);
    assert_eq!(store.find_sent_email(a.id, "agent_email", "<M1@acme.test>").await.unwrap(), None, "message ids compare exactly");

    let dup = sent_email_value(a.id, "carol@y.test", "agent_email", "<m1@acme.test>", now());
    assert_conflict(store.insert_sent_email(&dup).await, "sent_email_external_id");
    assert!(store.list_sent_emails(a.id, "carol@y.test", now() - Duration::days(1), 10).await.unwrap().is_empty());
    // The same message id through another provider, or for another site, is another email.
    store.insert_sent_email(&sent_email_value(a.id, "bob@y.test", "smtp", "<m1@acme.test>", now())).await.unwrap();
    store.insert_sent_email(&sent_email_value(b.id, "bob@y.test", "agent_email", "<m1@acme.test>", now())).await.unwrap();
    assert_conflict(
        store.insert_sent_email(&SentEmail { external_message_id: "<m9@acme.test>".into(), ..full.clone() }).await,
        "sent_emails_pkey",
    );
    assert_not_found(store.insert_sent_email(&sent_email_value(SiteId::new(), "x@y.test", "smtp", "<o@x>", now())).await);
    let unknown_contact = SentEmail { contact_id: Some(ContactId::new()), ..sent_email_value(a.id, "x@y.test", "smtp", "<o@x>", now()) };
    assert_not_found(store.insert_sent_email(&unknown_contact).await);

    // The recipient is stored lower-cased.
    let shouted = sent_email_value(a.id, "Dave@Y.Test", "smtp", "<m3@acme.test>", now());
    store.insert_sent_email(&shouted).await.unwrap();
    assert_eq!(
        store.find_sent_email(a.id, "smtp", "<m3@acme.test>").await.unwrap(),
        Some(SentEmail { recipient: "dave@y.test".into(), ..shouted })
    );
}

/// A sent email recorded before its send (the tools' reservation) is completed with the
/// provider's ids, or deleted when the send is abandoned.
pub async fn sent_email_reservations_complete_or_vanish(store: Arc<dyn Store>) {
    let a = new_site(&store, "a").await;
    let reserved = sent_email_value(a.id, "bob@y.test", "pending", "r-1", now());
    store.insert_sent_email(&reserved).await.unwrap();
    let abandoned = sent_email_value(a.id, "bob@y.test", "pending", "r-2", now());
    store.insert_sent_email(&abandoned).await.unwrap();
    assert!(store.complete_sent_email(reserved.id, "smtp", "<x@acme.test>", None).await.unwrap());
    let got = store.find_sent_email(a.id, "smtp", "<x@acme.test>").await.unwrap().expect("completed");
    assert_eq!((got.id, got.subject.as_str(), got.content_hash.as_str()), (reserved.id, reserved.subject.as_str(), reserved.content_hash.as_str()));
    assert_eq!(store.find_sent_email(a.id, "pending", "r-1").await.unwrap(), None);
    assert!(store.delete_sent_email(abandoned.id).await.unwrap());
    assert!(!store.delete_sent_email(abandoned.id).await.unwrap());
    assert!(!store.complete_sent_email(abandoned.id, "smtp", "<y@acme.test>", None).await.unwrap());
    let left = store.list_sent_emails(a.id, "bob@y.test", now() - Duration::days(1), 10).await.unwrap();
    assert_eq!(sent_ids(&left), vec![reserved.id]);

    // A reservation returns what was recorded before it, and is itself recorded.
    let next = sent_email_value(a.id, "BOB@y.test", "pending", "r-3", now());
    let earlier = store.reserve_sent_email(&next, now() - Duration::days(1), 10).await.unwrap();
    assert_eq!(sent_ids(&earlier), vec![reserved.id]);
    let after = store.reserve_sent_email(&sent_email_value(a.id, "bob@y.test", "pending", "r-4", now()), now() - Duration::days(1), 10).await.unwrap();
    assert_eq!(after.len(), 2, "the previous reservation is seen");

    // Concurrent reservations for one recipient: each sees every one recorded before it, so
    // exactly one saw none of the others.
    let c = sent_email_value(a.id, "carol@y.test", "pending", "c-0", now());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let s = SentEmail { id: SentEmailId::new(), external_message_id: format!("c-{i}"), ..c.clone() };
            tokio::spawn(async move { store.reserve_sent_email(&s, now() - Duration::days(1), 100).await.unwrap().len() })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, (0..8).collect::<Vec<_>>(), "the reservations form one order");
}

/// `list_sent_emails` returns the site's emails to one recipient (ignoring case) sent at or
/// after `since`, newest first by send time, at most `limit`.
pub async fn list_sent_emails_window_and_order(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let t = now();
    let mut n = 0;
    let mut send = |site: SiteId, to: &str, at: DateTime<Utc>| {
        n += 1;
        sent_email_value(site, to, "agent_email", &format!("<{n}@acme.test>"), at)
    };
    let old = send(a.id, "bob@y.test", t - Duration::days(3));
    let edge = send(a.id, "bob@y.test", t - Duration::hours(24));
    let recent = send(a.id, "bob@y.test", t - Duration::hours(2));
    let latest = send(a.id, "bob@y.test", t - Duration::minutes(5));
    // Imported later but sent earlier (a provider sync): ordered by when it was sent.
    let imported = send(a.id, "bob@y.test", t - Duration::hours(3));
    let same_time = send(a.id, "bob@y.test", t - Duration::minutes(5));
    let other_recipient = send(a.id, "eve@y.test", t - Duration::minutes(1));
    let other_site = send(b.id, "bob@y.test", t - Duration::minutes(1));
    for s in [&old, &edge, &recent, &latest, &imported, &same_time, &other_recipient, &other_site] {
        store.insert_sent_email(s).await.unwrap();
    }
    let since = t - Duration::hours(24);
    let got = store.list_sent_emails(a.id, "bob@y.test", since, 100).await.unwrap();
    assert_eq!(sent_ids(&got), vec![same_time.id, latest.id, recent.id, imported.id, edge.id], "since is inclusive");
    assert_eq!(got[4], edge, "every field");
    assert_eq!(sent_ids(&store.list_sent_emails(a.id, "BOB@Y.TEST", since, 100).await.unwrap()), sent_ids(&got));
    assert_eq!(sent_ids(&store.list_sent_emails(a.id, "bob@y.test", since, 2).await.unwrap()), vec![same_time.id, latest.id]);
    assert_eq!(
        sent_ids(&store.list_sent_emails(a.id, "bob@y.test", t - Duration::days(30), 100).await.unwrap()),
        vec![same_time.id, latest.id, recent.id, imported.id, edge.id, old.id]
    );
    assert!(store.list_sent_emails(a.id, "bob@y.test", t, 100).await.unwrap().is_empty());
    assert!(store.list_sent_emails(a.id, "bob@y.test", since, 0).await.unwrap().is_empty());
    assert_eq!(sent_ids(&store.list_sent_emails(a.id, "eve@y.test", since, 100).await.unwrap()), vec![other_recipient.id]);
    assert_eq!(sent_ids(&store.list_sent_emails(b.id, "bob@y.test", since, 100).await.unwrap()), vec![other_site.id]);
    assert!(store.list_sent_emails(a.id, "nobody@y.test", since, 100).await.unwrap().is_empty());
}

/// A contact's sends list newest first; deleting the contact keeps its sends (for the
/// duplicate check) and its tool runs, without the contact; deleting a config keeps its runs.
pub async fn contact_history_and_what_outlives_a_contact(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let bob = new_contact(&store, site.id, Some("bob@y.test"), None).await;
    let eve = new_contact(&store, site.id, Some("eve@y.test"), None).await;
    let t = now();
    let mut sends = Vec::new();
    for (i, (contact, minutes)) in [(bob.id, 30), (bob.id, 10), (eve.id, 5), (bob.id, 20)].into_iter().enumerate() {
        let to = if contact == bob.id { "bob@y.test" } else { "eve@y.test" };
        let at = t - Duration::minutes(minutes);
        let s = SentEmail { contact_id: Some(contact), ..sent_email_value(site.id, to, "smtp", &format!("<{i}@x>"), at) };
        store.insert_sent_email(&s).await.unwrap();
        sends.push(s);
    }
    let history = store.list_contact_sends(bob.id, 10).await.unwrap();
    assert_eq!(history, vec![sends[1].clone(), sends[3].clone(), sends[0].clone()]);
    assert_eq!(sent_ids(&store.list_contact_sends(bob.id, 2).await.unwrap()), vec![sends[1].id, sends[3].id]);
    assert_eq!(sent_ids(&store.list_contact_sends(eve.id, 10).await.unwrap()), vec![sends[2].id]);
    assert!(store.list_contact_sends(ContactId::new(), 10).await.unwrap().is_empty());

    let config = tool_config_value(site.id, "welcome_followup");
    store.create_tool_config(&config).await.unwrap();
    let run = ToolRun { contact_id: Some(bob.id), tool_config_id: Some(config.id), ..tool_run_value(site.id, "send_email", "sent", t) };
    store.insert_tool_run(&run, &[]).await.unwrap();

    assert!(store.delete_contact(bob.id).await.unwrap());
    assert!(store.list_contact_sends(bob.id, 10).await.unwrap().is_empty());
    let kept = store.list_sent_emails(site.id, "bob@y.test", t - Duration::hours(1), 10).await.unwrap();
    assert_eq!(sent_ids(&kept), vec![sends[1].id, sends[3].id, sends[0].id]);
    assert!(kept.iter().all(|s| s.contact_id.is_none()));
    assert_eq!(store.get_tool_run(run.id).await.unwrap(), Some(ToolRun { contact_id: None, ..run.clone() }));
    assert!(store.delete_tool_config(config.id).await.unwrap());
    assert_eq!(store.get_tool_run(run.id).await.unwrap(), Some(ToolRun { contact_id: None, tool_config_id: None, ..run.clone() }));
    assert_eq!(store.list_contact_sends(eve.id, 10).await.unwrap(), vec![sends[2].clone()]);
}

/// Deleting a site (which the `Store` trait cannot do: `delete_site` deletes the row with the
/// backend's own SQL) removes its contacts, team members, settings, tokens, tool configs,
/// tool runs and sent emails, and leaves other sites' alone. Backends call this from their own
/// tests.
pub async fn site_deletion_cascades_to_agent_records<F>(store: Arc<dyn Store>, delete_site: F)
where
    F: FnOnce(SiteId) -> BoxFuture<()>,
{
    struct Records {
        member: TeamMember,
        contact: Contact,
        token: SecureToken,
        config: ToolConfig,
        run: ToolRun,
        sent: SentEmail,
    }
    async fn populate(store: &Arc<dyn Store>, site: SiteId, n: &str) -> Records {
        let mb = new_mailbox(store, site, &format!("agent-{n}@x.test")).await;
        let member = new_team_member(store, site, mb.id, "Ann").await;
        let contact = Contact { owner_team_member_id: Some(member.id), ..contact_value(site, Some("bob@y.test"), Some("ext-1")) };
        store.create_contact(&contact).await.unwrap();
        store.put_site_settings(site, &serde_json::json!({ "site": n })).await.unwrap();
        let token = store.put_secure_token(&token_value(site, "email", "smtp", vec![1, 2, 3])).await.unwrap();
        let config = tool_config_value(site, "welcome_followup");
        store.create_tool_config(&config).await.unwrap();
        let run = ToolRun {
            contact_id: Some(contact.id),
            tool_config_id: Some(config.id),
            ..tool_run_value(site, "send_email", "sent", now())
        };
        store.insert_tool_run(&run, &[]).await.unwrap();
        let sent = SentEmail { contact_id: Some(contact.id), ..sent_email_value(site, "bob@y.test", "smtp", "<1@x>", now()) };
        store.insert_sent_email(&sent).await.unwrap();
        Records { member, contact, token, config, run, sent }
    }
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let gone = populate(&store, a.id, "a").await;
    let kept = populate(&store, b.id, "b").await;

    delete_site(a.id).await;
    assert_eq!(store.get_site(a.id).await.unwrap(), None);
    assert_eq!(store.get_team_member(gone.member.id).await.unwrap(), None);
    assert!(store.list_team_members(Some(a.id)).await.unwrap().is_empty());
    assert_eq!(store.get_contact(gone.contact.id).await.unwrap(), None);
    assert!(store.list_contacts(Some(a.id), None, 10).await.unwrap().is_empty());
    assert_eq!(store.get_site_settings(a.id).await.unwrap(), None);
    assert_eq!(store.get_secure_token(a.id, "email", "smtp").await.unwrap(), None);
    assert!(store.list_secure_tokens(a.id).await.unwrap().is_empty());
    assert_eq!(store.get_tool_config(gone.config.id).await.unwrap(), None);
    assert_eq!(store.get_tool_run(gone.run.id).await.unwrap(), None);
    assert!(store.list_tool_runs(&ToolRunFilter { site: Some(a.id), limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert_eq!(store.find_sent_email(a.id, "smtp", "<1@x>").await.unwrap(), None);

    assert_eq!(store.get_team_member(kept.member.id).await.unwrap(), Some(kept.member));
    assert_eq!(store.get_contact(kept.contact.id).await.unwrap(), Some(kept.contact));
    assert_eq!(store.get_site_settings(b.id).await.unwrap(), Some(serde_json::json!({ "site": "b" })));
    assert_eq!(store.get_secure_token(b.id, "email", "smtp").await.unwrap(), Some(kept.token));
    assert_eq!(store.get_tool_config(kept.config.id).await.unwrap(), Some(kept.config));
    assert_eq!(store.get_tool_run(kept.run.id).await.unwrap(), Some(kept.run));
    assert_eq!(store.find_sent_email(b.id, "smtp", "<1@x>").await.unwrap(), Some(kept.sent));
}
