//! Conformance cases: settings and idempotency keys.

#[allow(unused_imports)]
use super::*;

/// A setting is written once; later writers get the first value back.
pub async fn settings_are_written_once(store: Arc<dyn Store>) {
    assert_eq!(store.get_setting("node.secret").await.unwrap(), None);
    assert_eq!(store.put_setting_if_absent("node.secret", "first").await.unwrap(), "first");
    assert_eq!(store.put_setting_if_absent("node.secret", "second").await.unwrap(), "first");
    assert_eq!(store.get_setting("node.secret").await.unwrap().as_deref(), Some("first"));
    assert_eq!(store.put_setting_if_absent("other", "").await.unwrap(), "");
    assert_eq!(store.get_setting("other").await.unwrap().as_deref(), Some(""));
}

// --- cases: idempotency keys -----------------------------------------------------------------

/// A key is claimed once, reports its request and answer afterwards, is freed by release and
/// purged by age.
pub async fn idempotency_keys_lifecycle(store: Arc<dyn Store>) {
    let (site, other) = (SiteId::new(), SiteId::new());
    assert_eq!(store.claim_idempotency_key(site, "k1", "h1").await.unwrap(), IdempotencyClaim::Claimed);
    let running = IdempotencyClaim::Existing { request_hash: "h1".into(), response: None };
    assert_eq!(store.claim_idempotency_key(site, "k1", "h1").await.unwrap(), running);
    assert_eq!(store.claim_idempotency_key(site, "k1", "other-hash").await.unwrap(), running, "the first hash is reported");
    assert_eq!(store.claim_idempotency_key(other, "k1", "h9").await.unwrap(), IdempotencyClaim::Claimed, "keys are per site");

    store.complete_idempotency_key(site, "k1", 201, r#"{"id":"x","ü":"✓"}"#).await.unwrap();
    assert_eq!(
        store.claim_idempotency_key(site, "k1", "h1").await.unwrap(),
        IdempotencyClaim::Existing { request_hash: "h1".into(), response: Some((201, r#"{"id":"x","ü":"✓"}"#.into())) }
    );
    store.complete_idempotency_key(site, "ghost", 200, "").await.expect("completing a vanished key is not an error");

    assert_eq!(store.claim_idempotency_key(site, "k2", "h2").await.unwrap(), IdempotencyClaim::Claimed);
    store.release_idempotency_key(site, "k2").await.unwrap();
    assert_eq!(store.claim_idempotency_key(site, "k2", "h2b").await.unwrap(), IdempotencyClaim::Claimed);
    store.release_idempotency_key(site, "never-claimed").await.unwrap();

    assert_eq!(store.purge_idempotency_keys(now() - Duration::hours(1)).await.unwrap(), 0);
    assert_eq!(store.purge_idempotency_keys(now() + Duration::seconds(1)).await.unwrap(), 3);
    assert_eq!(store.claim_idempotency_key(site, "k1", "h3").await.unwrap(), IdempotencyClaim::Claimed);
}

/// Of many concurrent claims of one key, exactly one wins.
pub async fn concurrent_idempotency_claims_have_one_winner(store: Arc<dyn Store>) {
    let site = SiteId::new();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_idempotency_key(site, "race", &format!("h{i}")).await.unwrap() })
        })
        .collect();
    let mut claimed = 0;
    let mut hashes = HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            IdempotencyClaim::Claimed => claimed += 1,
            IdempotencyClaim::Existing { request_hash, response: None } => {
                hashes.insert(request_hash);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
    assert_eq!(hashes.len(), 1, "every loser sees the winner's hash");
}

/// Concurrent `put_setting_if_absent` calls all get the one stored value.
pub async fn concurrent_settings_agree(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_setting_if_absent("cluster.id", &format!("v{i}")).await.unwrap() })
        })
        .collect();
    let mut values = HashSet::new();
    for t in tasks {
        values.insert(t.await.unwrap());
    }
    assert_eq!(values.len(), 1);
    assert_eq!(store.get_setting("cluster.id").await.unwrap(), values.into_iter().next());
}

/// `put_setting` creates or overwrites; `put_setting_if_absent` then keeps the put value.
pub async fn put_setting_overwrites(store: Arc<dyn Store>) {
    store.put_setting("webhooks.cursor", "1").await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("1"));
    store.put_setting("webhooks.cursor", "2").await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("2"));
    assert_eq!(store.put_setting_if_absent("webhooks.cursor", "3").await.unwrap(), "2");
    assert_eq!(store.put_setting_if_absent("node.secret", "first").await.unwrap(), "first");
    store.put_setting("node.secret", "ü ✓ \"quoted\"").await.unwrap();
    assert_eq!(store.get_setting("node.secret").await.unwrap().as_deref(), Some("ü ✓ \"quoted\""));
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("2"));
}
