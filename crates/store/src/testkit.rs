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
use std::collections::{HashMap, HashSet};
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
            controls_round_trip_and_expiry,
            usage_and_retention_candidates,
            rate_buckets_take_all_or_nothing,
            uploads_and_leases,
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
            commit_send_writes_everything_in_order,
            commit_send_with_a_used_key_writes_nothing,
            commit_send_is_all_or_nothing,
            concurrent_sends_under_one_key_commit_once,
            commit_send_keeps_inline_blobs,
            search_combines_with_filters_and_paginates,
            search_finds_rare_and_common_words_in_a_large_mailbox,
            find_message_by_message_id_and_direction,
            find_thread_by_message_ids_picks_newest,
            duplicate_message_id_conflicts_and_rolls_back,
            concurrent_messages_each_get_their_own_answer,
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
            queue_backlog_of_an_empty_queue,
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
            site_cursors_reveal_nothing_about_other_sites,
            concurrent_writers_on_many_sites_keep_site_order,
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
            inbound_lookup_finds_a_recipient_with_its_controls_and_lists,
            dsn_records_are_recorded_once,
            message_routes_round_trip,
            drafts_round_trip_and_compare_and_swap,
            drafts_list_and_approvals_pending_first,
            due_drafts_are_claimed_under_a_lease,
            site_has_mailed_counts_outbound_recipients,
            message_reading_fields_round_trip,
            attachment_texts_queue_claim_and_finish,
            attachment_jobs_follow_the_log,
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
        extracted_text: None,
        extracted_html: None,
        security: None,
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
        download_url: None,
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
    let (_, position) = mailroom_core::cursor::parse(&e.cursor).expect("an event cursor this store made");
    position
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

mod mailboxes;
pub use mailboxes::*;
mod messages;
pub use messages::*;
mod queue;
pub use queue::*;
mod domains;
pub use domains::*;
mod webhooks;
pub use webhooks::*;
mod events;
pub use events::*;
mod agent;
pub use agent::*;
mod settings;
pub use settings::*;
mod policy;
pub use policy::*;
mod drafts;
pub use drafts::*;
mod controls;
pub use controls::*;
mod reading;
pub use reading::*;
mod send;
pub use send::*;

// --- cases: basics ---------------------------------------------------------------------------

/// The store answers and names its backend.
pub async fn ping_and_backend(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
    assert!(["sqlite", "postgres"].contains(&store.backend()), "unexpected backend {}", store.backend());
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
