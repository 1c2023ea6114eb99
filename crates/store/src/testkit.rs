//! The conformance suite every [`Store`] backend must pass.
//!
//! Each case is a `pub async fn` taking a fresh, empty store; [`conformance_tests!`] expands to
//! one `#[tokio::test]` per case for a backend's test file:
//!
//! ```ignore
//! async fn open() -> Option<TestStore> { /* a fresh database, or None to skip */ }
//! mailroom_store::conformance_tests!(open);
//! ```
//!
//! The factory may return `Option<Arc<dyn Store>>` or `Option<TestStore>`; the latter also
//! says how to reopen the same database (for [`data_survives_reopen`]) and what to clean up
//! after the case (a temporary directory, a test database). The calling crate needs `tokio`
//! (with the multi-threaded runtime) among its dev-dependencies.
//!
//! Timestamps: both backends keep microseconds, so fixtures use microsecond-aligned times
//! (see [`now`]) and one case checks that finer digits are dropped, not rounded up.

pub mod blobs;

use crate::*;
use chrono::{Duration, Timelike};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Closes the store under test and opens the same database again.
pub type Reopen = Box<dyn FnOnce() -> BoxFuture<Arc<dyn Store>> + Send>;

/// A store under test, with how to reopen it and what to clean up afterwards.
pub struct TestStore {
    /// The fresh, empty store the case runs against.
    pub store: Arc<dyn Store>,
    /// Reopens the same database; `None` when the backend cannot (an in-memory database).
    pub reopen: Option<Reopen>,
    /// Runs after the case, even when it failed: closes pools, drops a test database.
    pub teardown: Option<BoxFuture<()>>,
}

impl From<Arc<dyn Store>> for TestStore {
    fn from(store: Arc<dyn Store>) -> Self {
        TestStore { store, reopen: None, teardown: None }
    }
}

/// Opens a store with `factory`, runs `case` on it, then tears down (also after a panic,
/// which is then resumed). A factory returning `None` skips the case.
pub async fn run_case<F, Fut, T, C, CFut>(factory: F, case: C)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Option<T>>,
    T: Into<TestStore>,
    C: FnOnce(Arc<dyn Store>) -> CFut,
    CFut: Future<Output = ()> + Send + 'static,
{
    let Some(t) = factory().await else { return };
    let TestStore { store, reopen: _, teardown } = t.into();
    finish(tokio::spawn(case(store)).await, teardown).await;
}

/// Runs [`data_survives_reopen`] when the factory can reopen its database.
pub async fn run_reopen_case<F, Fut, T>(factory: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Option<T>>,
    T: Into<TestStore>,
{
    let Some(t) = factory().await else { return };
    let TestStore { store, reopen, teardown } = t.into();
    let Some(reopen) = reopen else {
        eprintln!("SKIPPED: data_survives_reopen: this store cannot be reopened");
        finish(Ok(()), teardown).await;
        return;
    };
    finish(tokio::spawn(data_survives_reopen(store, reopen)).await, teardown).await;
}

async fn finish(outcome: Result<(), tokio::task::JoinError>, teardown: Option<BoxFuture<()>>) {
    if let Some(teardown) = teardown {
        teardown.await;
    }
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the case did not finish: {e}"),
        }
    }
}

/// Expands to one `#[tokio::test]` per conformance case, each on a store from `$factory` (an
/// async fn returning `Option<Arc<dyn Store>>` or `Option<TestStore>`; `None` skips).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::__conformance_cases!($factory;
            ping_and_backend,
            settings_are_written_once,
            sites_round_trip,
            api_keys_round_trip,
            mailboxes_round_trip,
            mailbox_address_conflict_ignores_case,
            mailbox_client_id_conflict_is_per_site,
            mailboxes_paginate_newest_first,
            update_mailbox_saves_and_logs,
            delete_mailbox_cascades_and_returns_blob_keys,
            insert_message_starts_a_thread,
            insert_message_joins_a_thread,
            insert_message_needs_its_thread_and_mailbox,
            get_message_round_trips_every_field,
            timestamps_keep_microseconds,
            list_messages_filters,
            list_messages_paginates,
            search_matches_subject_body_and_addresses,
            search_never_errors_on_tricky_input,
            search_stays_in_its_mailbox,
            search_follows_inserts_and_deletes,
            search_combines_with_filters_and_paginates,
            find_message_by_message_id_and_direction,
            find_thread_by_message_ids_picks_newest,
            duplicate_message_id_conflicts_and_rolls_back,
            update_message_flags_saves_read_and_labels,
            delete_message_recounts_and_removes_threads,
            deleted_blob_keys_skip_shared_blobs,
            get_attachment_names_message_and_site,
            threads_list_by_latest_activity,
            thread_messages_oldest_first,
            recipients_update_and_come_due,
            claim_recipients_leases_due_recipients,
            update_recipient_ends_the_lease,
            concurrent_claims_never_overlap,
            list_queue_filters_by_site_and_status,
            domains_round_trip,
            domain_names_conflict_across_sites,
            suppressions_upsert_and_look_up,
            suppressions_page_by_address,
            events_are_ordered_and_filtered,
            events_are_atomic_with_writes,
            idempotency_keys_lifecycle,
            concurrent_idempotency_claims_have_one_winner,
            concurrent_settings_agree,
            concurrent_writers_keep_cursors_increasing,
            webhooks_round_trip,
            update_webhook_saves_every_field_and_logs,
            delete_webhook_cascades_deliveries,
            webhook_deliveries_are_created_with_the_cursor,
            claim_webhook_deliveries_leases_due_ones,
            concurrent_webhook_claims_never_overlap,
            webhook_attempts_are_recorded_in_order,
            webhook_deliveries_paginate_newest_first,
            fail_pending_webhook_deliveries_fails_only_pending,
            requeue_webhook_deliveries_makes_them_due_again,
            put_setting_overwrites,
            get_event_and_last_event_cursor,
            event_signal_bumps_after_commits_that_append,
            event_signal_wakes_a_waiter,
            contacts_round_trip,
            contact_email_and_external_id_conflict_per_site,
            find_contact_by_email_then_external_id,
            contacts_paginate_newest_first,
            team_members_round_trip,
            deleting_a_team_member_clears_contact_owners,
            deleting_a_mailbox_in_use_by_a_team_member_is_refused,
            site_settings_are_one_document_per_site,
            secure_tokens_upsert_and_keep_sealed_bytes,
            tool_configs_round_trip_with_unique_names,
            tool_runs_round_trip,
            insert_tool_run_is_atomic_with_its_events,
            list_tool_runs_filters,
            sent_emails_round_trip_with_unique_external_ids,
            list_sent_emails_window_and_order,
            sent_email_reservations_complete_or_vanish,
            contact_history_and_what_outlives_a_contact,
            list_entries_round_trip_and_scope,
            dsn_records_are_recorded_once,
            message_routes_round_trip,
        );
    };
}

/// The expansion of [`conformance_tests!`]; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::testkit::run_case($factory, $crate::testkit::$case).await;
            }
        )*

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn data_survives_reopen() {
            $crate::testkit::run_reopen_case($factory).await;
        }
    };
}

mod search;
pub use search::*;
mod policy;
pub use policy::*;

// --- fixtures --------------------------------------------------------------------------------

/// Returns the current time cut to microseconds, the precision both backends keep.
pub fn now() -> DateTime<Utc> {
    micros(Utc::now())
}

fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).expect("a valid nanosecond")
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("a valid test address")
}

fn named(s: &str) -> NamedAddress {
    NamedAddress::parse(s).expect("a valid test address")
}

/// Creates and returns a site.
pub async fn new_site(store: &Arc<dyn Store>, name: &str) -> Site {
    let site = Site { id: SiteId::new(), name: name.to_string(), created_at: now() };
    store.create_site(&site).await.expect("create_site");
    site
}

fn mailbox_value(site: SiteId, address: &str, client_id: Option<&str>) -> Mailbox {
    let t = now();
    Mailbox {
        id: MailboxId::new(),
        site_id: site,
        address: addr(address),
        display_name: Some("Support Agent".to_string()),
        client_id: client_id.map(str::to_string),
        created_at: t,
        updated_at: t,
    }
}

fn event(site: SiteId, mailbox: Option<MailboxId>, kind: &str) -> NewEvent {
    let mut e = NewEvent::new(site, mailbox, kind, serde_json::json!({ "kind": kind, "n": 1 }));
    e.created_at = micros(e.created_at);
    e
}

/// Creates and returns a mailbox of `site` at `address`.
pub async fn new_mailbox(store: &Arc<dyn Store>, site: SiteId, address: &str) -> Mailbox {
    let mb = mailbox_value(site, address, None);
    store.create_mailbox(&mb, &event(site, Some(mb.id), event_types::MAILBOX_CREATED)).await.expect("create_mailbox");
    mb
}

/// Returns a plain inbound message of `mb` in `thread`, stored at `at`.
pub fn message_value(mb: &Mailbox, thread: ThreadId, at: DateTime<Utc>) -> Message {
    let id = MessageId::new();
    Message {
        id,
        site_id: mb.site_id,
        mailbox_id: mb.id,
        thread_id: thread,
        direction: Direction::Inbound,
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        from: Some(named("Alice <alice@sender.test>")),
        to: vec![NamedAddress { name: None, address: mb.address.clone() }],
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: Vec::new(),
        subject: Some("Hello".to_string()),
        text: Some("Hello there".to_string()),
        html: None,
        snippet: "Hello there".to_string(),
        headers: Vec::new(),
        attachments: Vec::new(),
        labels: Vec::new(),
        read: false,
        size: 100,
        recipients: Vec::new(),
        created_at: at,
        raw_blob_key: format!("messages/{id}.eml"),
        auth_results: None,
        auto_submitted: false,
        dsn: None,
    }
}

fn attachment_value(name: &str) -> Attachment {
    let id = AttachmentId::new();
    Attachment {
        id,
        filename: Some(name.to_string()),
        content_type: "application/pdf".to_string(),
        size: 1234,
        content_id: None,
        inline: false,
        blob_key: format!("attachments/{id}"),
    }
}

fn recipient_value(address: &str, kind: RecipientKind, status: DeliveryStatus, next: Option<DateTime<Utc>>) -> Recipient {
    Recipient { address: addr(address), kind, status, last_reply: None, attempts: 0, next_attempt_at: next, updated_at: now() }
}

/// Inserts `m` (starting a thread when `new_thread`) with one `message.received` event.
pub async fn insert(store: &Arc<dyn Store>, m: &Message, new_thread: bool) {
    let e = event(m.site_id, Some(m.mailbox_id), event_types::MESSAGE_RECEIVED);
    store.insert_message(&NewMessage { message: m.clone(), new_thread }, &[e]).await.expect("insert_message");
}

fn ids(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

fn cursor(e: &Event) -> i64 {
    e.cursor.parse().expect("an event cursor is a decimal integer")
}

async fn all_events(store: &Arc<dyn Store>) -> Vec<Event> {
    store.list_events(None, None, 10_000).await.expect("list_events")
}

fn page(limit: u32) -> MessageFilter {
    MessageFilter { limit, ..MessageFilter::default() }
}

fn assert_conflict<T: std::fmt::Debug>(result: StoreResult<T>, constraint: &str) {
    match result {
        Err(StoreError::Conflict { constraint: c }) => assert_eq!(c, constraint),
        other => panic!("expected a conflict on {constraint}, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(result: StoreResult<T>) {
    assert!(matches!(result, Err(StoreError::NotFound(_))), "expected NotFound, got {result:?}");
}

// --- cases: basics ---------------------------------------------------------------------------

/// The store answers and names its backend.
pub async fn ping_and_backend(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
    assert!(["sqlite", "postgres"].contains(&store.backend()), "unexpected backend {}", store.backend());
}

/// A setting is written once; later writers get the first value back.
pub async fn settings_are_written_once(store: Arc<dyn Store>) {
    assert_eq!(store.get_setting("node.secret").await.unwrap(), None);
    assert_eq!(store.put_setting_if_absent("node.secret", "first").await.unwrap(), "first");
    assert_eq!(store.put_setting_if_absent("node.secret", "second").await.unwrap(), "first");
    assert_eq!(store.get_setting("node.secret").await.unwrap().as_deref(), Some("first"));
    assert_eq!(store.put_setting_if_absent("other", "").await.unwrap(), "");
    assert_eq!(store.get_setting("other").await.unwrap().as_deref(), Some(""));
}

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

/// Recipients in `queued`/`deferred` come due when their time has come, oldest message first;
/// updates change them and log their events.
pub async fn recipients_update_and_come_due(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut newer = message_value(&mb, ThreadId::new(), t);
    newer.direction = Direction::Outbound;
    newer.recipients = vec![
        recipient_value("queued@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
        recipient_value("later@y.test", RecipientKind::Cc, DeliveryStatus::Deferred, Some(t + Duration::minutes(10))),
        recipient_value("done@y.test", RecipientKind::To, DeliveryStatus::Delivered, None),
        recipient_value("busy@y.test", RecipientKind::To, DeliveryStatus::Sending, None),
        recipient_value("gone@y.test", RecipientKind::Bcc, DeliveryStatus::Bounced, None),
        recipient_value("failed@y.test", RecipientKind::To, DeliveryStatus::Failed, None),
    ];
    // Stored earlier although created later: it is the oldest message.
    let mut older = message_value(&mb, ThreadId::new(), t - Duration::minutes(1));
    older.direction = Direction::Outbound;
    older.recipients = vec![recipient_value("first@y.test", RecipientKind::To, DeliveryStatus::Queued, Some(t))];
    insert(&store, &newer, true).await;
    insert(&store, &older, true).await;

    let due = |at: DateTime<Utc>, limit| {
        let store = store.clone();
        async move {
            store
                .due_recipients(at, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.message_id, p.site_id, p.recipient.address.to_string()))
                .collect::<Vec<_>>()
        }
    };
    let row = |m: &Message, a: &str| (m.id, site.id, a.to_string());
    assert_eq!(due(t - Duration::seconds(1), 10).await, vec![row(&newer, "queued@y.test")]);
    assert_eq!(due(t, 10).await, vec![row(&older, "first@y.test"), row(&newer, "queued@y.test")]);
    assert_eq!(
        due(t + Duration::minutes(10), 10).await,
        vec![row(&older, "first@y.test"), row(&newer, "queued@y.test"), row(&newer, "later@y.test")]
    );
    assert_eq!(due(t + Duration::minutes(10), 1).await, vec![row(&older, "first@y.test")]);
    let full = store.due_recipients(t, 10).await.unwrap();
    assert_eq!(full[1].recipient, newer.recipients[0]);

    let before = now();
    let update = RecipientUpdate {
        status: DeliveryStatus::Deferred,
        last_reply: Some("451 4.7.1 try later".into()),
        attempts: 1,
        next_attempt_at: Some(t + Duration::hours(1)),
    };
    let e = event(site.id, Some(mb.id), event_types::MESSAGE_DEFERRED);
    store.update_recipient(newer.id, &addr("queued@y.test"), &update, std::slice::from_ref(&e)).await.unwrap();
    let got = store.get_message(newer.id).await.unwrap().unwrap();
    let r = &got.recipients[0];
    assert_eq!(r.address, addr("queued@y.test"));
    assert_eq!((r.status, r.attempts, r.last_reply.as_deref()), (DeliveryStatus::Deferred, 1, Some("451 4.7.1 try later")));
    assert_eq!(r.next_attempt_at, Some(t + Duration::hours(1)));
    assert!(r.updated_at >= before, "updated_at moves forward");
    assert_eq!(got.recipients[1..], newer.recipients[1..], "other recipients are untouched");
    assert_eq!(all_events(&store).await.last().unwrap().id, e.id);
    assert_eq!(due(t, 10).await, vec![row(&older, "first@y.test")]);

    let delivered =
        RecipientUpdate { status: DeliveryStatus::Delivered, last_reply: Some("250 OK".into()), attempts: 1, next_attempt_at: None };
    store.update_recipient(older.id, &addr("first@y.test"), &delivered, &[]).await.unwrap();
    assert_eq!(due(t + Duration::minutes(10), 10).await, vec![row(&newer, "later@y.test")]);

    let count = all_events(&store).await.len();
    let e = event(site.id, None, event_types::MESSAGE_FAILED);
    assert_not_found(store.update_recipient(newer.id, &addr("stranger@y.test"), &delivered, std::slice::from_ref(&e)).await);
    assert_not_found(store.update_recipient(MessageId::new(), &addr("queued@y.test"), &delivered, &[e]).await);
    assert_eq!(all_events(&store).await.len(), count);
}

/// Inserts an outbound message of `mb` stored at `at` with `recipients`.
async fn outbound(store: &Arc<dyn Store>, mb: &Mailbox, at: DateTime<Utc>, recipients: Vec<Recipient>) -> Message {
    let mut m = message_value(mb, ThreadId::new(), at);
    m.direction = Direction::Outbound;
    m.recipients = recipients;
    insert(store, &m, true).await;
    m
}

/// Claims and returns `(message, address)` pairs.
async fn claim(store: &Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<(MessageId, String)> {
    store
        .claim_recipients(at, lease, limit)
        .await
        .expect("claim_recipients")
        .into_iter()
        .map(|p| (p.message_id, p.recipient.address.to_string()))
        .collect()
}

fn key(m: &Message, address: &str) -> (MessageId, String) {
    (m.id, address.to_string())
}

/// Claiming takes the due `queued` and `deferred` recipients and those whose lease expired,
/// oldest message first, at most `limit`; it returns them in `sending` state with everything
/// else unchanged, leaves valid leases alone (a lease ending exactly at `now` is still
/// valid), logs nothing, and hides claimed recipients from `due_recipients`.
pub async fn claim_recipients_leases_due_recipients(store: Arc<dyn Store>) {
    assert!(store.claim_recipients(now(), now(), 10).await.unwrap().is_empty(), "nothing to claim in an empty store");
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut later = recipient_value("later@y.test", RecipientKind::Cc, DeliveryStatus::Deferred, Some(t + Duration::minutes(10)));
    later.attempts = 2;
    later.last_reply = Some("451 4.7.1 try later".into());
    let newer = outbound(
        &store,
        &mb,
        t,
        vec![
            recipient_value("queued@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            later,
            recipient_value("done@y.test", RecipientKind::To, DeliveryStatus::Delivered, None),
            recipient_value("gone@y.test", RecipientKind::Bcc, DeliveryStatus::Bounced, None),
            recipient_value("failed@y.test", RecipientKind::To, DeliveryStatus::Failed, None),
        ],
    )
    .await;
    let older = outbound(
        &store,
        &mb,
        t - Duration::minutes(1),
        vec![recipient_value("first@y.test", RecipientKind::To, DeliveryStatus::Queued, Some(t))],
    )
    .await;
    let events = all_events(&store).await.len();

    // Only `queued@` is due a second before `t`.
    let before = now();
    let lease = t + Duration::minutes(5);
    let got = store.claim_recipients(t - Duration::seconds(1), lease, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].message_id, got[0].site_id), (newer.id, site.id));
    let r = &got[0].recipient;
    assert!(r.updated_at >= before, "claiming changes updated_at");
    assert_eq!(*r, Recipient { status: DeliveryStatus::Sending, updated_at: r.updated_at, ..newer.recipients[0].clone() });
    let stored = store.get_message(newer.id).await.unwrap().unwrap();
    assert_eq!(stored.recipients[0], *r, "the claim is stored");
    assert_eq!(stored.recipients[1..], newer.recipients[1..]);
    assert!(store.due_recipients(t, 10).await.unwrap().iter().all(|p| p.recipient.address.as_str() != "queued@y.test"));

    // At `t`: `first@` comes due; `queued@` is leased.
    assert_eq!(claim(&store, t, lease, 10).await, vec![key(&older, "first@y.test")]);
    // At the end of the lease it is still held, and `later@` is not due yet.
    assert!(claim(&store, lease, lease + Duration::minutes(5), 10).await.is_empty());
    assert!(store.due_recipients(lease, 10).await.unwrap().is_empty());

    // Once the leases expired they are claimed again, oldest message first, `limit` at most.
    let at = t + Duration::minutes(10);
    let lease2 = t + Duration::minutes(20);
    assert_eq!(claim(&store, at, lease2, 2).await, vec![key(&older, "first@y.test"), key(&newer, "queued@y.test")]);
    let got = store.claim_recipients(at, lease2, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    let r = &got[0].recipient;
    assert_eq!(r.address.as_str(), "later@y.test");
    assert_eq!(*r, Recipient { status: DeliveryStatus::Sending, updated_at: r.updated_at, ..newer.recipients[1].clone() });
    assert_eq!((r.attempts, r.last_reply.as_deref()), (2, Some("451 4.7.1 try later")), "attempts are unchanged");
    assert!(claim(&store, at, lease2, 10).await.is_empty());
    // Finished recipients are never claimed.
    assert_eq!(claim(&store, t + Duration::days(365), t + Duration::days(366), 10).await.len(), 3);
    assert!(claim(&store, t + Duration::days(365), t + Duration::days(366), 10).await.is_empty());
    assert_eq!(all_events(&store).await.len(), events, "claiming logs no event");
}

/// `update_recipient` ends the lease: a recipient put back in `queued` is claimable at once,
/// even before its old lease would have expired; one updated to a final status never is;
/// and one set to `sending` by `update_recipient` (or stored so) has no lease, so no claimer
/// takes it whatever the time.
pub async fn update_recipient_ends_the_lease(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let m = outbound(
        &store,
        &mb,
        t,
        vec![
            recipient_value("a@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("b@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("c@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("busy@y.test", RecipientKind::To, DeliveryStatus::Sending, None),
        ],
    )
    .await;
    let lease = t + Duration::hours(1);
    assert_eq!(claim(&store, t, lease, 10).await.len(), 3);

    let update = |status, next| RecipientUpdate { status, last_reply: Some("note".into()), attempts: 1, next_attempt_at: next };
    store.update_recipient(m.id, &addr("a@y.test"), &update(DeliveryStatus::Queued, None), &[]).await.unwrap();
    store.update_recipient(m.id, &addr("b@y.test"), &update(DeliveryStatus::Delivered, None), &[]).await.unwrap();
    store.update_recipient(m.id, &addr("c@y.test"), &update(DeliveryStatus::Sending, None), &[]).await.unwrap();
    let got = store.claim_recipients(t + Duration::minutes(1), lease, 10).await.unwrap();
    assert_eq!(got.len(), 1, "only the requeued recipient: {got:?}");
    assert_eq!(got[0].recipient.address.as_str(), "a@y.test");
    assert_eq!((got[0].recipient.attempts, got[0].recipient.last_reply.as_deref()), (1, Some("note")));

    let far = t + Duration::days(30);
    assert_eq!(claim(&store, far, far + Duration::hours(1), 10).await, vec![key(&m, "a@y.test")], "only a's new lease expires");
}

/// Claims `limit` at a time in a loop until nothing is left; returns what it got.
async fn claim_all(store: Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<(MessageId, String)> {
    let mut mine = Vec::new();
    loop {
        let got = claim(&store, at, lease, limit).await;
        if got.is_empty() {
            return mine;
        }
        mine.extend(got);
        tokio::task::yield_now().await;
    }
}

/// Fills `stores[0]` with 200 queued recipients, then runs 4 claimers in parallel, taking
/// the stores in turn (several handles on one database stand for several nodes): every
/// recipient is claimed exactly once, and each is then `sending`.
pub async fn claimers_never_overlap(stores: Vec<Arc<dyn Store>>) {
    let store = stores[0].clone();
    let site = new_site(&store, "a").await;
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let t = now();
    let mut expected = HashSet::new();
    for i in 0..20 {
        let recipients: Vec<Recipient> = (0..10)
            .map(|j| recipient_value(&format!("r{i}-{j}@y.test"), RecipientKind::To, DeliveryStatus::Queued, None))
            .collect();
        let m = outbound(&store, &mb, t - Duration::seconds(60 - i), recipients).await;
        expected.extend(m.recipients.iter().map(|r| key(&m, r.address.as_str())));
    }
    assert_eq!(expected.len(), 200);

    let lease = t + Duration::hours(1);
    let tasks: Vec<_> = (0..4)
        .map(|i| tokio::spawn(claim_all(stores[i % stores.len()].clone(), t, lease, 3 + i as u32 * 2)))
        .collect();
    let mut claimed = Vec::new();
    let mut per_claimer = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        per_claimer.push(got.len());
        claimed.extend(got);
    }
    let unique: HashSet<_> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), unique.len(), "a recipient was claimed twice (claims per claimer: {per_claimer:?})");
    assert_eq!(unique, expected, "every recipient is claimed");
    assert!(claim(&store, t, lease, 1000).await.is_empty(), "nothing is left to claim");
    let sending = store.list_queue(Some(site.id), &[DeliveryStatus::Sending], 1000).await.unwrap();
    assert_eq!(sending.len(), 200);
}

/// Four claimers in parallel over 200 queued recipients never get the same one.
pub async fn concurrent_claims_never_overlap(store: Arc<dyn Store>) {
    claimers_never_overlap(vec![store]).await;
}

/// `list_queue` lists recipients of one site or all, in any of the given statuses (all when
/// none is given), oldest message first, limited.
pub async fn list_queue_filters_by_site_and_status(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let mb_a = new_mailbox(&store, a.id, "agent@a.test").await;
    let mb_b = new_mailbox(&store, b.id, "agent@b.test").await;
    let t = now();
    let m_a = outbound(
        &store,
        &mb_a,
        t,
        vec![
            recipient_value("q@y.test", RecipientKind::To, DeliveryStatus::Queued, None),
            recipient_value("d@y.test", RecipientKind::Cc, DeliveryStatus::Deferred, Some(t + Duration::hours(1))),
            recipient_value("ok@y.test", RecipientKind::To, DeliveryStatus::Delivered, None),
        ],
    )
    .await;
    let m_b = outbound(
        &store,
        &mb_b,
        t - Duration::minutes(1),
        vec![recipient_value("bounced@y.test", RecipientKind::To, DeliveryStatus::Bounced, None)],
    )
    .await;
    insert(&store, &message_value(&mb_a, ThreadId::new(), t), true).await;

    let list = |site: Option<SiteId>, statuses: Vec<DeliveryStatus>, limit: u32| {
        let store = store.clone();
        async move {
            store
                .list_queue(site, &statuses, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.message_id, p.site_id, p.recipient.address.to_string()))
                .collect::<Vec<_>>()
        }
    };
    let row = |m: &Message, a: &str| (m.id, m.site_id, a.to_string());
    let all = vec![row(&m_b, "bounced@y.test"), row(&m_a, "q@y.test"), row(&m_a, "d@y.test"), row(&m_a, "ok@y.test")];
    assert_eq!(list(None, vec![], 100).await, all);
    assert_eq!(list(None, vec![], 2).await, all[..2]);
    assert_eq!(list(Some(a.id), vec![], 100).await, all[1..]);
    assert_eq!(list(Some(b.id), vec![], 100).await, all[..1]);
    assert_eq!(
        list(None, vec![DeliveryStatus::Deferred, DeliveryStatus::Bounced, DeliveryStatus::Queued], 100).await,
        vec![row(&m_b, "bounced@y.test"), row(&m_a, "q@y.test"), row(&m_a, "d@y.test")]
    );
    assert_eq!(list(Some(a.id), vec![DeliveryStatus::Bounced], 100).await, vec![]);
    assert!(list(Some(SiteId::new()), vec![], 100).await.is_empty());
    let full = store.list_queue(Some(a.id), &[DeliveryStatus::Deferred], 10).await.unwrap();
    assert_eq!(full, vec![PendingRecipient { message_id: m_a.id, site_id: a.id, recipient: m_a.recipients[1].clone() }]);
}

// --- cases: domains --------------------------------------------------------------------------

fn domain_value(site: SiteId, name: &str) -> Domain {
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

fn suppression_value(site: SiteId, address: &str, reason: &str) -> Suppression {
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

// --- cases: the event log --------------------------------------------------------------------

/// Events read back in append order with increasing decimal cursors, filtered by site and
/// `after` (exclusive), limited.
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
    let after_a = store.list_events(Some(a), Some(cursors[2]), 100).await.unwrap();
    assert_eq!(after_a, vec![all[3].clone()]);
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

// --- cases: webhooks -------------------------------------------------------------------------

fn webhook_value(site: SiteId, url: &str) -> WebhookEndpoint {
    let t = now();
    WebhookEndpoint {
        id: WebhookId::new(),
        site_id: site,
        url: url.to_string(),
        event_types: vec![event_types::MESSAGE_RECEIVED.to_string(), event_types::MESSAGE_DELIVERED.to_string()],
        mailbox_id: Some(MailboxId::new()),
        description: Some("CRM hook ✓".to_string()),
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        // NUL and invalid UTF-8 included.
        secret_encrypted: vec![0, 1, 2, 0xff, 0xfe, 0, b'w', b'h', 0x80],
        previous_secret_encrypted: None,
        previous_secret_expires_at: None,
        created_at: t,
        updated_at: t,
    }
}

/// Creates and returns an endpoint of `site` posting to `url`.
pub async fn new_webhook(store: &Arc<dyn Store>, site: SiteId, url: &str) -> WebhookEndpoint {
    let endpoint = webhook_value(site, url);
    store.create_webhook(&endpoint).await.expect("create_webhook");
    endpoint
}

/// Returns a pending delivery of the event `(event_id, cursor)` to `endpoint`, due at `due`.
pub fn delivery_value(endpoint: &WebhookEndpoint, event_id: EventId, cursor: i64, due: Option<DateTime<Utc>>) -> WebhookDelivery {
    let t = now();
    WebhookDelivery {
        id: WebhookDeliveryId::new(),
        endpoint_id: endpoint.id,
        site_id: endpoint.site_id,
        event_id,
        event_cursor: cursor.to_string(),
        event_type: event_types::MESSAGE_RECEIVED.to_string(),
        status: WebhookDeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: due,
        history: Vec::new(),
        created_at: t,
        updated_at: t,
    }
}

fn attempt_value(attempt: u32, status_code: Option<u16>, error: Option<&str>) -> WebhookAttempt {
    WebhookAttempt { attempt, at: now(), status_code, latency_ms: 100 + u64::from(attempt), error: error.map(str::to_string) }
}

async fn deliveries_of(store: &Arc<dyn Store>, endpoint: WebhookId) -> Vec<WebhookDelivery> {
    store.list_webhook_deliveries(endpoint, None, 10_000).await.expect("list_webhook_deliveries")
}

async fn delivery(store: &Arc<dyn Store>, endpoint: WebhookId, id: WebhookDeliveryId) -> WebhookDelivery {
    deliveries_of(store, endpoint).await.into_iter().find(|d| d.id == id).expect("the delivery exists")
}

/// Claims and returns the ids.
async fn claim_webhooks(store: &Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<WebhookDeliveryId> {
    store
        .claim_webhook_deliveries(at, lease, limit)
        .await
        .expect("claim_webhook_deliveries")
        .into_iter()
        .map(|d| d.id)
        .collect()
}

/// Endpoints read back field for field (both sealed secrets byte for byte, the previous
/// secret's expiry, optional fields unset), by id and listed oldest first per site or for all
/// sites. A duplicate id is `Conflict`, an endpoint of a site that does not exist `NotFound`;
/// creating logs nothing.
pub async fn webhooks_round_trip(store: Arc<dyn Store>) {
    let (a, b) = (new_site(&store, "a").await, new_site(&store, "b").await);
    let events = all_events(&store).await.len();
    let t = now();
    let full = WebhookEndpoint {
        enabled: false,
        disabled_reason: Some("gone".into()),
        failing_since: Some(t - Duration::hours(3)),
        previous_secret_encrypted: Some((0..=255u8).chain([0, 0, 255]).collect()),
        previous_secret_expires_at: Some(t + Duration::hours(24) + Duration::microseconds(7)),
        ..webhook_value(a.id, "https://hooks.example.test/a?x=1&y=ü")
    };
    store.create_webhook(&full).await.unwrap();
    let bare = WebhookEndpoint {
        event_types: Vec::new(),
        mailbox_id: None,
        description: None,
        secret_encrypted: vec![42],
        created_at: t + Duration::seconds(1),
        updated_at: t + Duration::seconds(1),
        ..webhook_value(a.id, "http://127.0.0.1:9/bare")
    };
    store.create_webhook(&bare).await.unwrap();
    let other = WebhookEndpoint { created_at: t - Duration::seconds(1), ..webhook_value(b.id, "https://b.test/hook") };
    store.create_webhook(&other).await.unwrap();

    assert_eq!(store.get_webhook(full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(store.get_webhook(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(store.get_webhook(WebhookId::new()).await.unwrap(), None);
    assert_eq!(store.list_webhooks(Some(a.id)).await.unwrap(), vec![full.clone(), bare.clone()]);
    assert_eq!(store.list_webhooks(Some(b.id)).await.unwrap(), vec![other.clone()]);
    assert_eq!(store.list_webhooks(Some(SiteId::new())).await.unwrap(), vec![]);
    assert_eq!(store.list_webhooks(None).await.unwrap(), vec![other.clone(), full.clone(), bare.clone()]);

    assert_conflict(store.create_webhook(&WebhookEndpoint { url: "https://dup.test".into(), ..bare.clone() }).await, "webhook_endpoints_pkey");
    assert_eq!(store.get_webhook(bare.id).await.unwrap(), Some(bare.clone()));
    let orphan = webhook_value(SiteId::new(), "https://orphan.test");
    assert_not_found(store.create_webhook(&orphan).await);
    assert_eq!(store.get_webhook(orphan.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await.len(), events, "endpoints are created without events");
}

/// `update_webhook` saves every mutable field (setting and clearing optional ones, rotating
/// the secrets) with its events in one transaction; an endpoint that does not exist is
/// `NotFound` and logs nothing.
pub async fn update_webhook_saves_every_field_and_logs(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let original = new_webhook(&store, site.id, "https://a.test/hook").await;
    let untouched = new_webhook(&store, site.id, "https://b.test/hook").await;
    let t = now();
    let rotated = WebhookEndpoint {
        url: "https://a.test/v2".into(),
        event_types: vec![event_types::ENDPOINT_DISABLED.into()],
        mailbox_id: None,
        description: None,
        enabled: false,
        disabled_reason: Some("failing".into()),
        failing_since: Some(t - Duration::days(5)),
        secret_encrypted: vec![9, 8, 7, 0, 0xff],
        previous_secret_encrypted: Some(original.secret_encrypted.clone()),
        previous_secret_expires_at: Some(t + Duration::hours(24)),
        updated_at: t + Duration::seconds(1),
        ..original.clone()
    };
    let e = event(site.id, None, event_types::ENDPOINT_DISABLED);
    let before = all_events(&store).await.len();
    store.update_webhook(&rotated, std::slice::from_ref(&e)).await.unwrap();
    assert_eq!(store.get_webhook(original.id).await.unwrap(), Some(rotated.clone()));
    assert_eq!(store.get_webhook(untouched.id).await.unwrap(), Some(untouched.clone()));
    let logged = all_events(&store).await;
    assert_eq!(logged.len(), before + 1);
    assert_eq!(logged.last().unwrap().id, e.id);

    // Back the other way: optional fields set to none, without an event.
    let restored = WebhookEndpoint {
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        previous_secret_encrypted: None,
        previous_secret_expires_at: None,
        mailbox_id: Some(MailboxId::new()),
        description: Some("again".into()),
        updated_at: t + Duration::seconds(2),
        ..rotated.clone()
    };
    store.update_webhook(&restored, &[]).await.unwrap();
    assert_eq!(store.get_webhook(original.id).await.unwrap(), Some(restored.clone()));
    assert_eq!(all_events(&store).await, logged);

    let ghost = webhook_value(site.id, "https://ghost.test");
    assert_not_found(store.update_webhook(&ghost, &[event(site.id, None, "x.ghost")]).await);
    assert_eq!(store.get_webhook(ghost.id).await.unwrap(), None);
    assert_eq!(all_events(&store).await, logged, "a failed update logs nothing");
    // An event that conflicts rolls the update back.
    let clash = WebhookEndpoint { url: "https://never.test".into(), ..restored.clone() };
    assert!(store.update_webhook(&clash, &[NewEvent { created_at: now(), ..e.clone() }]).await.is_err());
    assert_eq!(store.get_webhook(original.id).await.unwrap(), Some(restored));
}

/// Deleting an endpoint deletes its deliveries and their attempts, and nothing of other
/// endpoints; recording an attempt of a deleted delivery, or creating deliveries for a
/// deleted endpoint, is `NotFound`.
pub async fn delete_webhook_cascades_deliveries(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let doomed = new_webhook(&store, site.id, "https://doomed.test").await;
    let kept = new_webhook(&store, site.id, "https://kept.test").await;
    let t = now();
    let (e1, e2) = (EventId::new(), EventId::new());
    let mine = vec![delivery_value(&doomed, e1, 1, None), delivery_value(&doomed, e2, 2, Some(t + Duration::hours(1)))];
    let theirs = vec![delivery_value(&kept, e1, 1, None), delivery_value(&kept, e2, 2, None)];
    store.create_webhook_deliveries(&[mine.clone(), theirs.clone()].concat(), None).await.unwrap();
    store.record_webhook_attempt(mine[0].id, &attempt_value(1, Some(500), None), WebhookDeliveryStatus::Pending, Some(t)).await.unwrap();
    store.record_webhook_attempt(theirs[0].id, &attempt_value(1, Some(200), None), WebhookDeliveryStatus::Succeeded, None).await.unwrap();
    let kept_before = deliveries_of(&store, kept.id).await;
    assert_eq!(kept_before.len(), 2);

    assert!(store.delete_webhook(doomed.id).await.unwrap());
    assert!(!store.delete_webhook(doomed.id).await.unwrap());
    assert_eq!(store.get_webhook(doomed.id).await.unwrap(), None);
    assert_eq!(store.list_webhooks(Some(site.id)).await.unwrap(), vec![kept.clone()]);
    assert!(deliveries_of(&store, doomed.id).await.is_empty());
    assert_eq!(deliveries_of(&store, kept.id).await, kept_before);
    assert_not_found(store.record_webhook_attempt(mine[0].id, &attempt_value(2, None, Some("x")), WebhookDeliveryStatus::Failed, None).await);
    let far = t + Duration::days(1);
    assert_eq!(claim_webhooks(&store, far, far, 100).await, vec![theirs[1].id], "only the kept endpoint's pending delivery");
    assert_not_found(store.create_webhook_deliveries(&[delivery_value(&doomed, EventId::new(), 3, None)], None).await);
    // The kept endpoint takes new deliveries.
    let again = delivery_value(&kept, EventId::new(), 3, None);
    store.create_webhook_deliveries(std::slice::from_ref(&again), None).await.unwrap();
    assert_eq!(deliveries_of(&store, kept.id).await.len(), 3);
}

/// Deliveries are stored as given, with the cursor setting in the same transaction; a
/// delivery whose (endpoint, event) pair exists (from an earlier call or earlier in the same
/// batch) is skipped while the rest and the cursor are written; a failing batch writes
/// neither deliveries nor cursor.
pub async fn webhook_deliveries_are_created_with_the_cursor(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let (a, b) = (new_webhook(&store, site.id, "https://a.test").await, new_webhook(&store, site.id, "https://b.test").await);
    let t = now();
    let (e1, e2, e3) = (EventId::new(), EventId::new(), EventId::new());
    let mut first = vec![delivery_value(&a, e1, 7, Some(t)), delivery_value(&b, e1, 7, None)];
    first[0].attempts = 3;
    first[0].event_type = event_types::MESSAGE_DELIVERED.into();
    first[1].status = WebhookDeliveryStatus::Failed;
    store.create_webhook_deliveries(&first, Some(("webhooks.cursor", "7"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("7"));
    assert_eq!(deliveries_of(&store, a.id).await, vec![first[0].clone()]);
    assert_eq!(deliveries_of(&store, b.id).await, vec![first[1].clone()]);

    // Repeating the fan-out (a crash before the cursor moved) skips what exists.
    let repeat = vec![
        delivery_value(&a, e1, 7, None),
        delivery_value(&a, e2, 8, None),
        delivery_value(&a, e2, 8, Some(t)),
        delivery_value(&b, e2, 8, None),
    ];
    store.create_webhook_deliveries(&repeat, Some(("webhooks.cursor", "8"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("8"));
    assert_eq!(deliveries_of(&store, a.id).await, vec![repeat[1].clone(), first[0].clone()]);
    assert_eq!(deliveries_of(&store, b.id).await, vec![repeat[3].clone(), first[1].clone()]);
    // Everything skipped: the cursor still moves.
    store.create_webhook_deliveries(&repeat, Some(("webhooks.cursor", "9"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("9"));
    assert_eq!(deliveries_of(&store, a.id).await.len(), 2);
    // No deliveries, only the cursor; and deliveries without a cursor leave it alone.
    store.create_webhook_deliveries(&[], Some(("webhooks.cursor", "10"))).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    let third = delivery_value(&a, e3, 11, None);
    store.create_webhook_deliveries(std::slice::from_ref(&third), None).await.unwrap();
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    store.create_webhook_deliveries(&[], None).await.unwrap();

    // One bad delivery (its endpoint does not exist) fails the batch: nothing is written.
    let ghost = webhook_value(site.id, "https://ghost.test");
    let bad = vec![delivery_value(&b, e3, 11, None), delivery_value(&ghost, e3, 11, None)];
    assert_not_found(store.create_webhook_deliveries(&bad, Some(("webhooks.cursor", "11"))).await);
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    assert_eq!(deliveries_of(&store, b.id).await.len(), 2);
    // Nor does a duplicate delivery id.
    let dup_id = WebhookDelivery { id: third.id, ..delivery_value(&b, e3, 11, None) };
    assert_conflict(store.create_webhook_deliveries(&[dup_id], Some(("webhooks.cursor", "11"))).await, "webhook_deliveries_pkey");
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("10"));
    assert_eq!(deliveries_of(&store, b.id).await.len(), 2);
}

/// Claiming takes `pending` deliveries that are due (or have no time) and `sending` ones
/// whose lease expired, in event cursor order (numerically), at most `limit`; it returns them
/// `sending` without history and otherwise unchanged, leaves valid leases (one ending
/// exactly at `now` included) and finished deliveries alone, and logs nothing.
pub async fn claim_webhook_deliveries_leases_due_ones(store: Arc<dyn Store>) {
    assert!(store.claim_webhook_deliveries(now(), now(), 10).await.unwrap().is_empty());
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let t = now();
    // Created newest event first, so id order is not cursor order; 9 < 10 numerically.
    let mut later = delivery_value(&ep, EventId::new(), 100, Some(t + Duration::minutes(10)));
    later.attempts = 2;
    let ten = delivery_value(&ep, EventId::new(), 10, None);
    let nine = delivery_value(&ep, EventId::new(), 9, Some(t));
    let done = WebhookDelivery { status: WebhookDeliveryStatus::Succeeded, ..delivery_value(&ep, EventId::new(), 1, None) };
    let failed = WebhookDelivery { status: WebhookDeliveryStatus::Failed, ..delivery_value(&ep, EventId::new(), 2, None) };
    store.create_webhook_deliveries(&[later.clone(), ten.clone(), nine.clone(), done, failed], None).await.unwrap();
    let events = all_events(&store).await.len();

    // A second before `t`, only the one without a time is due.
    let lease = t + Duration::minutes(5);
    let before = now();
    let got = store.claim_webhook_deliveries(t - Duration::seconds(1), lease, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].updated_at >= before, "claiming changes updated_at");
    assert_eq!(got[0], WebhookDelivery { status: WebhookDeliveryStatus::Sending, updated_at: got[0].updated_at, ..ten.clone() });
    assert_eq!(delivery(&store, ep.id, ten.id).await, got[0], "the claim is stored");

    // At `t` the ninth event's delivery comes due; the tenth's is leased.
    assert_eq!(claim_webhooks(&store, t, lease, 10).await, vec![nine.id]);
    // At the end of the lease both are still held, and `later` is not due yet.
    assert!(claim_webhooks(&store, lease, lease + Duration::minutes(5), 10).await.is_empty());
    // Once the leases expired they are claimed again, in cursor order, `limit` at most.
    let at = t + Duration::minutes(10);
    let lease2 = t + Duration::minutes(20);
    assert_eq!(claim_webhooks(&store, at, lease2, 2).await, vec![nine.id, ten.id]);
    let got = store.claim_webhook_deliveries(at, lease2, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0], WebhookDelivery { status: WebhookDeliveryStatus::Sending, updated_at: got[0].updated_at, ..later.clone() });
    assert_eq!(got[0].attempts, 2, "attempts are unchanged");
    assert!(claim_webhooks(&store, at, lease2, 10).await.is_empty());
    // Finished deliveries are never claimed; the expired leases are, in cursor order.
    let far = t + Duration::days(365);
    assert_eq!(claim_webhooks(&store, far, far, 10).await, vec![nine.id, ten.id, later.id]);
    assert!(claim_webhooks(&store, far, far, 0).await.is_empty());
    assert_eq!(all_events(&store).await.len(), events, "claiming logs no event");
}

/// Claims webhook deliveries `limit` at a time until nothing is left; returns what it got.
async fn claim_all_webhooks(store: Arc<dyn Store>, at: DateTime<Utc>, lease: DateTime<Utc>, limit: u32) -> Vec<WebhookDeliveryId> {
    let mut mine = Vec::new();
    loop {
        let got = claim_webhooks(&store, at, lease, limit).await;
        if got.is_empty() {
            return mine;
        }
        mine.extend(got);
        tokio::task::yield_now().await;
    }
}

/// Fills `stores[0]` with 200 pending webhook deliveries (two endpoints), then runs 4
/// claimers in parallel, taking the stores in turn: every delivery is claimed exactly once.
pub async fn webhook_claimers_never_overlap(stores: Vec<Arc<dyn Store>>) {
    let store = stores[0].clone();
    let site = new_site(&store, "a").await;
    let eps = [new_webhook(&store, site.id, "https://a.test").await, new_webhook(&store, site.id, "https://b.test").await];
    let deliveries: Vec<WebhookDelivery> =
        (0..200).map(|i| delivery_value(&eps[i % 2], EventId::new(), i as i64 + 1, None)).collect();
    for chunk in deliveries.chunks(50) {
        store.create_webhook_deliveries(chunk, None).await.unwrap();
    }
    let expected: HashSet<WebhookDeliveryId> = deliveries.iter().map(|d| d.id).collect();

    let t = now();
    let lease = t + Duration::hours(1);
    let tasks: Vec<_> = (0..4)
        .map(|i| tokio::spawn(claim_all_webhooks(stores[i % stores.len()].clone(), t, lease, 3 + i as u32 * 2)))
        .collect();
    let mut claimed = Vec::new();
    let mut per_claimer = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        per_claimer.push(got.len());
        claimed.extend(got);
    }
    let unique: HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a delivery was claimed twice (claims per claimer: {per_claimer:?})");
    assert_eq!(unique, expected, "every delivery is claimed");
    assert!(claim_webhooks(&store, t, lease, 1000).await.is_empty(), "nothing is left to claim");
    for ep in &eps {
        assert!(deliveries_of(&store, ep.id).await.iter().all(|d| d.status == WebhookDeliveryStatus::Sending));
    }
}

/// Four claimers in parallel over 200 pending deliveries never get the same one.
pub async fn concurrent_webhook_claims_never_overlap(store: Arc<dyn Store>) {
    webhook_claimers_never_overlap(vec![store]).await;
}

/// Each attempt is kept (number, time, status code or none, latency, error) and sets the
/// delivery's status, attempt count and next attempt, ending the lease: a delivery put back
/// to `pending` is claimable when due even within its old lease. The history reads oldest
/// first; two attempts of one number (two workers after a lease expired) are both kept, in
/// the order they were recorded. A delivery that does not exist is `NotFound`.
pub async fn webhook_attempts_are_recorded_in_order(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let d = delivery_value(&ep, EventId::new(), 1, None);
    let other = delivery_value(&ep, EventId::new(), 2, Some(now() + Duration::days(1)));
    store.create_webhook_deliveries(&[d.clone(), other.clone()], None).await.unwrap();
    let events = all_events(&store).await.len();
    let t = now();
    let lease = t + Duration::hours(1);
    assert_eq!(claim_webhooks(&store, t, lease, 10).await, vec![d.id]);

    let first = WebhookAttempt { latency_ms: u64::from(u32::MAX) * 4, ..attempt_value(1, Some(503), Some("503 Service Unavailable")) };
    let retry_at = t + Duration::seconds(5) + Duration::microseconds(3);
    let before = now();
    store.record_webhook_attempt(d.id, &first, WebhookDeliveryStatus::Pending, Some(retry_at)).await.unwrap();
    let got = delivery(&store, ep.id, d.id).await;
    assert!(got.updated_at >= before);
    assert_eq!(
        got,
        WebhookDelivery {
            status: WebhookDeliveryStatus::Pending,
            attempts: 1,
            next_attempt_at: Some(retry_at),
            history: vec![first.clone()],
            updated_at: got.updated_at,
            ..d.clone()
        }
    );
    assert!(claim_webhooks(&store, t + Duration::seconds(5), lease, 10).await.is_empty(), "not due yet");
    assert_eq!(claim_webhooks(&store, retry_at, lease, 10).await, vec![d.id], "due again within the old lease");

    let second = attempt_value(2, None, Some("connection refused"));
    store.record_webhook_attempt(d.id, &second, WebhookDeliveryStatus::Pending, Some(retry_at)).await.unwrap();
    let second_again = attempt_value(2, Some(500), None);
    store.record_webhook_attempt(d.id, &second_again, WebhookDeliveryStatus::Pending, Some(retry_at)).await.unwrap();
    let third = attempt_value(3, Some(204), None);
    store.record_webhook_attempt(d.id, &third, WebhookDeliveryStatus::Succeeded, None).await.unwrap();
    let got = delivery(&store, ep.id, d.id).await;
    assert_eq!((got.status, got.attempts, got.next_attempt_at), (WebhookDeliveryStatus::Succeeded, 3, None));
    assert_eq!(got.history, vec![first, second, second_again, third]);
    assert_eq!(claim_webhooks(&store, t + Duration::days(30), t + Duration::days(31), 10).await, vec![other.id], "succeeded is final");
    assert!(delivery(&store, ep.id, other.id).await.history.is_empty(), "the other delivery has no history");

    assert_not_found(store.record_webhook_attempt(WebhookDeliveryId::new(), &attempt_value(1, None, None), WebhookDeliveryStatus::Failed, None).await);
    assert_eq!(all_events(&store).await.len(), events, "recording logs no event");
}

/// An endpoint's deliveries list newest first (by id), each with its own attempts, paged by
/// `before` and `limit`; other endpoints' deliveries never appear.
pub async fn webhook_deliveries_paginate_newest_first(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let other = new_webhook(&store, site.id, "https://b.test").await;
    let mut mine = Vec::new();
    for i in 0..5 {
        let d = delivery_value(&ep, EventId::new(), i + 1, None);
        store.create_webhook_deliveries(std::slice::from_ref(&d), None).await.unwrap();
        store.create_webhook_deliveries(&[delivery_value(&other, d.event_id, i + 1, None)], None).await.unwrap();
        mine.push(d);
    }
    // Attempts on every other delivery, a different number each.
    for (i, d) in mine.iter_mut().enumerate().filter(|(i, _)| i % 2 == 0) {
        for n in 1..=(i as u32 / 2 + 1) {
            let a = attempt_value(n, Some(500 + n as u16), None);
            store.record_webhook_attempt(d.id, &a, WebhookDeliveryStatus::Pending, None).await.unwrap();
            d.history.push(a);
        }
    }
    let listed = deliveries_of(&store, ep.id).await;
    assert_eq!(listed.len(), 5);
    for (got, want) in listed.iter().zip(mine.iter().rev()) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.history, want.history);
        assert_eq!(got.attempts, want.history.len() as u32);
    }
    let ids = |ds: Vec<WebhookDelivery>| ds.into_iter().map(|d| d.id).collect::<Vec<_>>();
    let page1 = store.list_webhook_deliveries(ep.id, None, 2).await.unwrap();
    assert_eq!(ids(page1.clone()), vec![mine[4].id, mine[3].id]);
    let page2 = store.list_webhook_deliveries(ep.id, Some(page1[1].id), 2).await.unwrap();
    assert_eq!(ids(page2.clone()), vec![mine[2].id, mine[1].id]);
    assert_eq!(page2[0].history, mine[2].history);
    let page3 = store.list_webhook_deliveries(ep.id, Some(page2[1].id), 2).await.unwrap();
    assert_eq!(ids(page3.clone()), vec![mine[0].id]);
    assert!(store.list_webhook_deliveries(ep.id, Some(mine[0].id), 2).await.unwrap().is_empty());
    assert!(store.list_webhook_deliveries(ep.id, None, 0).await.unwrap().is_empty());
    assert!(store.list_webhook_deliveries(WebhookId::new(), None, 10).await.unwrap().is_empty());
    assert!(deliveries_of(&store, other.id).await.iter().all(|d| d.history.is_empty() && d.endpoint_id == other.id));
}

/// `requeue_webhook_deliveries` (a replay) makes finished, failed and future deliveries due
/// now, keeping ids and history, and leaves one being sent alone.
pub async fn requeue_webhook_deliveries_makes_them_due_again(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let t = now();
    let sending = delivery_value(&ep, EventId::new(), 1, None);
    let done = WebhookDelivery { status: WebhookDeliveryStatus::Succeeded, ..delivery_value(&ep, EventId::new(), 2, None) };
    let failed = WebhookDelivery { status: WebhookDeliveryStatus::Failed, ..delivery_value(&ep, EventId::new(), 3, None) };
    let later = delivery_value(&ep, EventId::new(), 4, Some(t + Duration::days(1)));
    store.create_webhook_deliveries(&[sending.clone(), done.clone(), failed.clone(), later.clone()], None).await.unwrap();
    assert_eq!(claim_webhooks(&store, t, t + Duration::minutes(5), 1).await, vec![sending.id]);
    let attempt = WebhookAttempt { attempt: 1, at: now(), status_code: Some(500), latency_ms: 3, error: Some("HTTP 500".into()) };
    store.record_webhook_attempt(failed.id, &attempt, WebhookDeliveryStatus::Failed, None).await.unwrap();
    let ids = [sending.id, done.id, failed.id, later.id, WebhookDeliveryId::new()];
    assert_eq!(store.requeue_webhook_deliveries(&ids).await.unwrap(), 3, "all but the one being sent");
    assert_eq!(store.requeue_webhook_deliveries(&[]).await.unwrap(), 0);
    for id in [done.id, failed.id, later.id] {
        let got = delivery(&store, ep.id, id).await;
        assert_eq!(got.status, WebhookDeliveryStatus::Pending);
        assert!(got.next_attempt_at.is_some_and(|n| n <= now()));
    }
    assert_eq!(delivery(&store, ep.id, failed.id).await.history.len(), 1, "history is kept");
    let claimed = claim_webhooks(&store, now(), now() + Duration::minutes(5), 10).await;
    assert_eq!(claimed, vec![done.id, failed.id, later.id]);
}

/// `fail_pending_webhook_deliveries` fails the endpoint's `pending` deliveries (due or not,
/// clearing their next attempt) and counts them; deliveries being sent, finished ones and
/// other endpoints' are left alone.
pub async fn fail_pending_webhook_deliveries_fails_only_pending(store: Arc<dyn Store>) {
    let site = new_site(&store, "a").await;
    let ep = new_webhook(&store, site.id, "https://a.test").await;
    let other = new_webhook(&store, site.id, "https://b.test").await;
    let t = now();
    let sending = delivery_value(&ep, EventId::new(), 1, None);
    let due = delivery_value(&ep, EventId::new(), 2, Some(t + Duration::hours(1)));
    let later = delivery_value(&ep, EventId::new(), 3, Some(t + Duration::days(1)));
    let done = WebhookDelivery { status: WebhookDeliveryStatus::Succeeded, ..delivery_value(&ep, EventId::new(), 4, None) };
    let theirs = delivery_value(&other, EventId::new(), 5, None);
    store.create_webhook_deliveries(&[sending.clone(), due.clone(), later.clone(), done.clone(), theirs.clone()], None).await.unwrap();
    assert_eq!(claim_webhooks(&store, t, t + Duration::minutes(5), 1).await, vec![sending.id]);
    let claimed = delivery(&store, ep.id, sending.id).await;

    let before = now();
    assert_eq!(store.fail_pending_webhook_deliveries(ep.id).await.unwrap(), 2);
    for d in [&due, &later] {
        let got = delivery(&store, ep.id, d.id).await;
        assert!(got.updated_at >= before);
        assert_eq!(
            got,
            WebhookDelivery { status: WebhookDeliveryStatus::Failed, next_attempt_at: None, updated_at: got.updated_at, ..d.clone() }
        );
    }
    assert_eq!(delivery(&store, ep.id, sending.id).await, claimed, "the delivery being sent is left to its worker");
    assert_eq!(delivery(&store, ep.id, done.id).await, done);
    assert_eq!(delivery(&store, other.id, theirs.id).await, theirs);
    assert_eq!(store.fail_pending_webhook_deliveries(ep.id).await.unwrap(), 0);
    assert_eq!(store.fail_pending_webhook_deliveries(WebhookId::new()).await.unwrap(), 0);
    let far = t + Duration::days(30);
    assert_eq!(claim_webhooks(&store, far, far, 10).await, vec![sending.id, theirs.id], "failed deliveries are never claimed");
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

/// `get_event` returns the event with a cursor, as listed; `last_event_cursor` the newest
/// cursor, 0 for an empty log.
pub async fn get_event_and_last_event_cursor(store: Arc<dyn Store>) {
    assert_eq!(store.last_event_cursor().await.unwrap(), 0);
    assert_eq!(store.get_event(1).await.unwrap(), None);
    let site = SiteId::new();
    let mut e = event(site, Some(MailboxId::new()), "test.one");
    e.data = serde_json::json!({ "nested": [1, { "x": null }], "text": "ü ✓" });
    store.append_events(&[e, event(site, None, "test.two"), event(site, None, "test.three")]).await.unwrap();
    let all = all_events(&store).await;
    for listed in &all {
        assert_eq!(store.get_event(cursor(listed)).await.unwrap().as_ref(), Some(listed));
    }
    assert_eq!(store.last_event_cursor().await.unwrap(), cursor(all.last().unwrap()));
    assert_eq!(store.get_event(cursor(all.last().unwrap()) + 1).await.unwrap(), None);
    assert_eq!(store.get_event(0).await.unwrap(), None);
    assert_eq!(store.get_event(-1).await.unwrap(), None);
}

/// Asserts that the signal moved by exactly one since last seen (`true`) or not at all.
#[track_caller]
fn assert_bumped(rx: &mut tokio::sync::watch::Receiver<u64>, last: &mut u64, bumped: bool, what: &str) {
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
    let start = store.last_event_cursor().await.unwrap();
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

fn token_value(site: SiteId, token_type: &str, identifier: &str, value: Vec<u8>) -> SecureToken {
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

fn run_ids(runs: &[ToolRun]) -> Vec<ToolRunId> {
    runs.iter().map(|r| r.id).collect()
}

fn sent_ids(sent: &[SentEmail]) -> Vec<SentEmailId> {
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

// --- cases: restart --------------------------------------------------------------------------

/// What was acknowledged is still there after the store is closed and opened again, and the
/// event log continues after its last cursor.
pub async fn data_survives_reopen(store: Arc<dyn Store>, reopen: Reopen) {
    let site = new_site(&store, "a").await;
    let key = ApiKey {
        id: ApiKeyId::new(),
        name: "k".into(),
        scope: "site".into(),
        site_id: Some(site.id),
        prefix: "mr_x".into(),
        created_at: now(),
    };
    store.create_api_key(&key, "hash").await.unwrap();
    let mb = new_mailbox(&store, site.id, "agent@x.test").await;
    let mut m = message_value(&mb, ThreadId::new(), now());
    m.direction = Direction::Outbound;
    m.message_id = Some("persist@x".into());
    m.attachments = vec![attachment_value("a.pdf")];
    m.recipients = vec![recipient_value("bob@y.test", RecipientKind::To, DeliveryStatus::Queued, None)];
    insert(&store, &m, true).await;
    store.put_setting_if_absent("node.secret", "s3cr3t").await.unwrap();
    store.claim_idempotency_key(site.id, "idem", "h").await.unwrap();
    store.complete_idempotency_key(site.id, "idem", 202, "{}").await.unwrap();
    let ep = WebhookEndpoint {
        previous_secret_encrypted: Some(vec![0, 0xff]),
        previous_secret_expires_at: Some(now()),
        ..webhook_value(site.id, "https://a.test")
    };
    store.create_webhook(&ep).await.unwrap();
    let d = delivery_value(&ep, EventId::new(), 1, None);
    store.create_webhook_deliveries(std::slice::from_ref(&d), Some(("webhooks.cursor", "1"))).await.unwrap();
    store.record_webhook_attempt(d.id, &attempt_value(1, Some(500), None), WebhookDeliveryStatus::Pending, Some(now())).await.unwrap();
    let deliveries = deliveries_of(&store, ep.id).await;
    let contact = new_contact(&store, site.id, Some("Bob@Y.test"), Some("crm-1")).await;
    let token = store.put_secure_token(&token_value(site.id, "email", "smtp", vec![0, 1, 0xfe, 0xff])).await.unwrap();
    let run = ToolRun { contact_id: Some(contact.id), ..tool_run_value(site.id, "send_email", "sent", now()) };
    store.insert_tool_run(&run, &[]).await.unwrap();
    let events = all_events(&store).await;
    let thread = store.get_thread(m.thread_id).await.unwrap();
    drop(store);

    let store = reopen().await;
    assert_eq!(store.get_site(site.id).await.unwrap(), Some(site.clone()));
    assert_eq!(store.find_api_key_by_hash("hash").await.unwrap(), Some(key));
    assert_eq!(store.get_mailbox_by_address("agent@x.test").await.unwrap(), Some(mb.clone()));
    assert_eq!(store.get_message(m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(store.get_thread(m.thread_id).await.unwrap(), thread);
    assert_eq!(store.get_setting("node.secret").await.unwrap().as_deref(), Some("s3cr3t"));
    assert_eq!(
        store.claim_idempotency_key(site.id, "idem", "h").await.unwrap(),
        IdempotencyClaim::Existing { request_hash: "h".into(), response: Some((202, "{}".into())) }
    );
    assert_eq!(store.due_recipients(now() + Duration::seconds(1), 10).await.unwrap().len(), 1);
    assert_eq!(all_events(&store).await, events);
    assert_eq!(store.get_webhook(ep.id).await.unwrap(), Some(ep.clone()));
    assert_eq!(deliveries_of(&store, ep.id).await, deliveries);
    assert_eq!(store.get_setting("webhooks.cursor").await.unwrap().as_deref(), Some("1"));
    assert_eq!(claim_webhooks(&store, now() + Duration::seconds(1), now() + Duration::minutes(1), 10).await, vec![d.id]);
    assert_eq!(store.find_contact(site.id, Some("bob@y.test"), None).await.unwrap(), Some(contact));
    assert_eq!(store.get_secure_token(site.id, "email", "smtp").await.unwrap(), Some(token));
    assert_eq!(store.get_tool_run(run.id).await.unwrap(), Some(run));

    let next = event(site.id, None, "test.after_restart");
    store.append_events(std::slice::from_ref(&next)).await.unwrap();
    let after = store.list_events(None, events.last().map(cursor), 10).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, next.id);
    let mut dup = message_value(&mb, ThreadId::new(), now());
    dup.direction = Direction::Outbound;
    dup.message_id = Some("persist@x".into());
    assert_conflict(store.insert_message(&NewMessage { message: dup, new_thread: true }, &[]).await, "message_id");
}
