//! Conformance cases: domains and suppressions.

#[allow(unused_imports)]
use super::*;

// --- cases: domains --------------------------------------------------------------------------

pub(crate) fn domain_value(site: SiteId, name: &str) -> Domain {
    Domain {
        id: DomainId::new(),
        site_id: site,
        name: name.to_string(),
        dkim: vec![
            DkimKey {
                selector: "mr-ed".into(),
                algorithm: "ed25519".into(),
                public_key: "MCowBQYDK2VwAyEA".into(),
                // Every byte value, NUL and invalid UTF-8 included.
                private_key_encrypted: (0..=255u8).chain([0, 0, 255]).collect(),
            },
            DkimKey {
                selector: "mr-rsa".into(),
                algorithm: "rsa".into(),
                public_key: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".into(),
                private_key_encrypted: vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x80],
            },
        ],
        created_at: now(),
    }
}

/// Domains read back with their DKIM keys in order (the encrypted private keys byte for
/// byte), by id and by name (any case), listed by name per site or for all sites; creating
/// logs the event; deleting removes the domain with its keys.
pub async fn domains_round_trip(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let mail = domain_value(a.id, "mail.x.test");
    let bare = Domain { dkim: Vec::new(), ..domain_value(a.id, "b.x.test") };
    let other = domain_value(b.id, "a.other.test");
    let e = event(a.id, None, event_types::DOMAIN_CREATED);
    store.create_domain(&mail, &e).await.unwrap();
    assert_eq!(all_events(&store).await.last().unwrap().id, e.id);
    store.create_domain(&bare, &event(a.id, None, event_types::DOMAIN_CREATED)).await.unwrap();
    store.create_domain(&other, &event(b.id, None, event_types::DOMAIN_CREATED)).await.unwrap();

    assert_eq!(store.get_domain(mail.id).await.unwrap(), Some(mail.clone()));
    assert_eq!(store.get_domain(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(store.get_domain(DomainId::new()).await.unwrap(), None);
    assert_eq!(store.get_domain_by_name("mail.x.test").await.unwrap(), Some(mail.clone()));
    assert_eq!(store.get_domain_by_name("MAIL.X.Test").await.unwrap(), Some(mail.clone()));
    assert_eq!(store.get_domain_by_name("x.test").await.unwrap(), None);
    assert_eq!(store.list_domains(Some(a.id)).await.unwrap(), vec![bare.clone(), mail.clone()]);
    assert_eq!(store.list_domains(Some(b.id)).await.unwrap(), vec![other.clone()]);
    assert_eq!(store.list_domains(Some(SiteId::new())).await.unwrap(), vec![]);
    assert_eq!(store.list_domains(None).await.unwrap(), vec![other.clone(), bare.clone(), mail.clone()]);

    // A name given in capitals is stored lower-cased.
    let caps = Domain { dkim: Vec::new(), ..domain_value(b.id, "Caps.Other.TEST") };
    store.create_domain(&caps, &event(b.id, None, event_types::DOMAIN_CREATED)).await.unwrap();
    let got = store.get_domain_by_name("caps.other.test").await.unwrap().unwrap();
    assert_eq!(got, Domain { name: "caps.other.test".into(), ..caps.clone() });

    assert!(store.delete_domain(mail.id).await.unwrap());
    assert!(!store.delete_domain(mail.id).await.unwrap());
    assert_eq!(store.get_domain(mail.id).await.unwrap(), None);
    assert_eq!(store.get_domain_by_name("mail.x.test").await.unwrap(), None);
    assert_eq!(store.list_domains(Some(a.id)).await.unwrap(), vec![bare.clone()]);
    // The name is free again, and the new domain has only its own keys.
    let again = Domain { dkim: vec![mail.dkim[1].clone()], ..domain_value(b.id, "mail.x.test") };
    store.create_domain(&again, &event(b.id, None, event_types::DOMAIN_CREATED)).await.unwrap();
    assert_eq!(store.get_domain_by_name("mail.x.test").await.unwrap(), Some(again));
}

/// A domain name belongs to one site at most, whatever its case: a second `create_domain`
/// fails with `Conflict { domain_name }` and leaves no trace (no domain, no keys, no event).
/// A domain of a site that does not exist is `NotFound`.
pub async fn domain_names_conflict_across_sites(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let first = domain_value(a.id, "x.test");
    store.create_domain(&first, &event(a.id, None, event_types::DOMAIN_CREATED)).await.unwrap();
    let events = all_events(&store).await.len();

    let across = domain_value(b.id, "X.Test");
    assert_conflict(store.create_domain(&across, &event(b.id, None, event_types::DOMAIN_CREATED)).await, "domain_name");
    let same_site = domain_value(a.id, "x.test");
    assert_conflict(store.create_domain(&same_site, &event(a.id, None, event_types::DOMAIN_CREATED)).await, "domain_name");
    assert_eq!(store.get_domain(across.id).await.unwrap(), None);
    assert_eq!(store.get_domain(same_site.id).await.unwrap(), None);
    assert_eq!(store.list_domains(Some(b.id)).await.unwrap(), vec![]);
    assert_eq!(store.list_domains(None).await.unwrap(), vec![first.clone()]);
    assert_eq!(all_events(&store).await.len(), events, "a failed create logs nothing");

    let orphan = domain_value(SiteId::new(), "orphan.test");
    assert_not_found(store.create_domain(&orphan, &event(orphan.site_id, None, event_types::DOMAIN_CREATED)).await);
    assert_eq!(store.get_domain(orphan.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await.len(), events);

    // A sub-domain is another name.
    let sub = domain_value(b.id, "mail.x.test");
    store.create_domain(&sub, &event(b.id, None, event_types::DOMAIN_CREATED)).await.unwrap();
    assert_eq!(store.get_domain_by_name("mail.x.test").await.unwrap(), Some(sub));
}

// --- cases: suppressions ---------------------------------------------------------------------

pub(crate) fn suppression_value(site: SiteId, address: &str, reason: &str) -> Suppression {
    Suppression {
        site_id: site,
        address: addr(address),
        reason: reason.into(),
        detail: Some("550 5.1.1 no such user".into()),
        created_at: now(),
    }
}

/// A suppression is stored lower-cased and found in any case; putting the same address again
/// (in any case) replaces reason, detail and time; suppressions belong to one site; deleting
/// works in any case. The optional event is appended with the write, and not at all when the
/// write fails.
pub async fn suppressions_upsert_and_look_up(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let first = suppression_value(a.id, "Bob@Y.test", "hard_bounce");
    let e = event(a.id, None, event_types::SUPPRESSION_CREATED);
    store.put_suppression(&first, Some(&e)).await.unwrap();
    assert_eq!(all_events(&store).await.last().unwrap().id, e.id);
    let stored = Suppression { address: addr("bob@y.test"), ..first.clone() };
    assert_eq!(store.get_suppression(a.id, "bob@y.test").await.unwrap(), Some(stored.clone()));
    assert_eq!(store.get_suppression(a.id, "BOB@Y.TEST").await.unwrap(), Some(stored.clone()));
    assert_eq!(store.get_suppression(b.id, "bob@y.test").await.unwrap(), None, "suppressions are per site");
    assert_eq!(store.get_suppression(a.id, "alice@y.test").await.unwrap(), None);

    // Without an event nothing is logged; the same address replaces the entry.
    let events = all_events(&store).await.len();
    let replaced = Suppression {
        site_id: a.id,
        address: addr("BOB@y.TEST"),
        reason: "complaint".into(),
        detail: None,
        created_at: now() + Duration::seconds(5),
    };
    store.put_suppression(&replaced, None).await.unwrap();
    assert_eq!(all_events(&store).await.len(), events);
    let now_stored = Suppression { address: addr("bob@y.test"), ..replaced.clone() };
    assert_eq!(store.get_suppression(a.id, "Bob@Y.test").await.unwrap(), Some(now_stored.clone()));
    assert_eq!(store.list_suppressions(Some(a.id), None, 10).await.unwrap(), vec![now_stored.clone()]);

    // The same address on another site is a separate entry.
    let other = suppression_value(b.id, "bob@y.test", "manual");
    store.put_suppression(&other, Some(&event(b.id, None, event_types::SUPPRESSION_CREATED))).await.unwrap();
    assert_eq!(store.get_suppression(b.id, "bob@y.test").await.unwrap(), Some(other.clone()));
    assert_eq!(store.get_suppression(a.id, "bob@y.test").await.unwrap(), Some(now_stored.clone()));

    // A failed write logs nothing.
    let events = all_events(&store).await.len();
    let orphan = suppression_value(SiteId::new(), "x@y.test", "manual");
    let e = event(orphan.site_id, None, event_types::SUPPRESSION_CREATED);
    assert_not_found(store.put_suppression(&orphan, Some(&e)).await);
    assert_eq!(all_events(&store).await.len(), events, "the event is not logged when the write fails");
    assert_eq!(store.list_suppressions(None, None, 10).await.unwrap().len(), 2);

    assert!(!store.delete_suppression(b.id, "nobody@y.test").await.unwrap());
    assert!(store.delete_suppression(a.id, "BOB@Y.TEST").await.unwrap());
    assert!(!store.delete_suppression(a.id, "bob@y.test").await.unwrap());
    assert_eq!(store.get_suppression(a.id, "bob@y.test").await.unwrap(), None);
    assert_eq!(store.get_suppression(b.id, "bob@y.test").await.unwrap(), Some(other), "the other site's entry stays");
}

/// Suppressions list in bytewise address order (the same on every backend, whatever the
/// database's locale), after an exclusive `after`, limited, of one site or all.
pub async fn suppressions_page_by_address(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    // Punctuation that locale-aware collations ignore or reorder.
    let names = ["ab@y.test", "a.b@y.test", "a_b@y.test", "a-b@y.test", "zed@y.test", "Ab2@y.test", "b@y.test"];
    for n in names {
        store.put_suppression(&suppression_value(a.id, n, "hard_bounce"), None).await.unwrap();
    }
    store.put_suppression(&suppression_value(b.id, "ab@y.test", "manual"), None).await.unwrap();
    store.put_suppression(&suppression_value(b.id, "c@y.test", "manual"), None).await.unwrap();
    let mut sorted: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    sorted.sort();
    assert_eq!(sorted[..4], ["a-b@y.test", "a.b@y.test", "a_b@y.test", "ab2@y.test"], "the fixture's bytewise order");

    let addresses = |list: Vec<Suppression>| list.into_iter().map(|s| s.address.to_string()).collect::<Vec<_>>();
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_suppressions(Some(a.id), after.as_deref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        assert!(page.iter().all(|s| s.site_id == a.id));
        let Some(last) = page.last() else { break };
        after = Some(last.address.to_string());
        pages.push(addresses(page));
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.concat(), sorted);
    assert_eq!(addresses(store.list_suppressions(Some(a.id), Some("b@y.test"), 10).await.unwrap()), vec!["zed@y.test"]);
    assert_eq!(addresses(store.list_suppressions(Some(a.id), Some("B@Y.TEST"), 10).await.unwrap()), vec!["zed@y.test"]);
    assert_eq!(addresses(store.list_suppressions(Some(a.id), Some("zzz"), 10).await.unwrap()), Vec::<String>::new());
    assert_eq!(addresses(store.list_suppressions(Some(b.id), None, 10).await.unwrap()), vec!["ab@y.test", "c@y.test"]);

    let all = store.list_suppressions(None, None, 100).await.unwrap();
    assert_eq!(all.len(), names.len() + 2);
    let keys: Vec<(String, SiteId)> = all.iter().map(|s| (s.address.to_string(), s.site_id)).collect();
    assert!(keys.windows(2).all(|w| w[0].0 <= w[1].0), "all sites: ordered by address");
    assert_eq!(addresses(store.list_suppressions(None, Some("b@y.test"), 100).await.unwrap()), vec!["c@y.test", "zed@y.test"]);
    assert_eq!(store.list_suppressions(None, None, 2).await.unwrap().len(), 2);
}
