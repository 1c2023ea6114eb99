//! What only PostgreSQL's full-text column needs checked beyond the shared suite: the
//! migration indexes messages stored before it, and the index is the GIN one.
//!
//! Needs `MAILROOM_TEST_POSTGRES_URL` (see `conformance.rs`); skipped, loudly, without it.

use mailroom_core::*;
use mailroom_store::areas::*;
use mailroom_store::MessageFilter;
use mailroom_store_postgres::PgStore;
use sqlx::{Connection, PgConnection};

/// The version of the migration that adds the index.
const SEARCH_MIGRATION: i64 = 20251101000000;

/// Messages stored before the search migration are found after it.
#[tokio::test]
async fn the_migration_indexes_existing_messages() {
    let Ok(admin_url) = std::env::var("MAILROOM_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: MAILROOM_TEST_POSTGRES_URL is not set; the PostgreSQL search migration test did not run");
        return;
    };
    let name = format!("mailroom_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to MAILROOM_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let (base, query) = admin_url.split_once('?').map(|(u, q)| (u.to_string(), format!("?{q}"))).unwrap_or((admin_url.clone(), String::new()));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let server = base[scheme_end..].find('/').map(|i| &base[..scheme_end + i]).unwrap_or(&base);
    let url = format!("{server}/{name}{query}");
    let outcome = tokio::spawn(migrate_and_search(url)).await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn migrate_and_search(url: String) {
    let earlier = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&migrations).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let version: i64 = file.split('_').next().unwrap().parse().unwrap();
        if version < SEARCH_MIGRATION {
            std::fs::copy(migrations.join(&file), earlier.path().join(&file)).unwrap();
        }
    }
    let raw = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(earlier.path()).await.unwrap().run(&raw).await.unwrap();
    let (site, mailbox) = (SiteId::new(), MailboxId::new());
    sqlx::query("INSERT INTO sites (id, name, created_at) VALUES ($1, 's', now())").bind(site.as_uuid()).execute(&raw).await.unwrap();
    sqlx::query("INSERT INTO mailboxes (id, site_id, address, address_canonical, created_at, updated_at) VALUES ($1, $2, 'a@x.test', 'a@x.test', now(), now())")
        .bind(mailbox.as_uuid())
        .bind(site.as_uuid())
        .execute(&raw)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (from, to, subject, text) in [
        (Some(r#"{"name":"Alice","address":"alice@example.com"}"#), r#"[{"address":"a@x.test"}]"#, Some("Old invoice"), Some("pay soon")),
        (None, r#"[{"name":"Bob","address":"bob@example.com"}]"#, None, None),
        // Odd address values do not stop the migration.
        (Some(r#""a string""#), r#"{"not": "a list"}"#, Some("odd addresses"), Some("still indexed")),
    ] {
        let (thread, message) = (ThreadId::new(), MessageId::new());
        sqlx::query("INSERT INTO threads (id, site_id, mailbox_id, message_count, snippet, last_message_at, created_at) VALUES ($1, $2, $3, 1, '', now(), now())")
            .bind(thread.as_uuid())
            .bind(site.as_uuid())
            .bind(mailbox.as_uuid())
            .execute(&raw)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO messages (id, site_id, mailbox_id, thread_id, direction, from_address, to_addresses, subject, text_body, \
             snippet, size, raw_blob_key, created_at) VALUES ($1, $2, $3, $4, 'inbound', $5::jsonb, $6::jsonb, $7, $8, '', 1, 'k', now())",
        )
        .bind(message.as_uuid())
        .bind(site.as_uuid())
        .bind(mailbox.as_uuid())
        .bind(thread.as_uuid())
        .bind(from)
        .bind(to)
        .bind(subject)
        .bind(text)
        .execute(&raw)
        .await
        .unwrap();
        ids.push(message);
    }

    let store = PgStore::connect(&url).await.unwrap();
    let find = |q: &'static str| {
        let store = store.clone();
        async move {
            let filter = MessageFilter { q: Some(q.into()), limit: 10, ..MessageFilter::default() };
            store.list_messages(mailbox, &filter).await.unwrap().into_iter().map(|m| m.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(find("invoice").await, vec![ids[0]]);
    assert_eq!(find("alice@example.com").await, vec![ids[0]]);
    assert_eq!(find("pay soon").await, vec![ids[0]]);
    assert_eq!(find("bob@example.com").await, vec![ids[1]]);
    assert_eq!(find("a@x.test").await, vec![ids[0]]);
    // The listing cannot decode the odd row, but the migration indexed it all the same.
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE search @@ to_tsquery('simple', 'odd & still')").fetch_one(&raw).await.unwrap();
    assert_eq!(n, 1);
    let index: String = sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'messages_search'").fetch_one(&raw).await.unwrap();
    assert!(index.contains("USING gin (search)"), "{index}");
    store.close().await;
    raw.close().await;
}

/// The search vectors Mailroom writes for ASCII documents are exactly those
/// `to_tsvector('simple', …)` makes, on documents built to reach every rule: case, digits and
/// letters mixed, control characters, tokens at and past the length limit, lexemes repeated
/// past the position limits, documents past the last position.
#[tokio::test]
async fn ascii_search_vectors_equal_to_tsvector() {
    let Ok(admin_url) = std::env::var("MAILROOM_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: MAILROOM_TEST_POSTGRES_URL is not set; the PostgreSQL search vector test did not run");
        return;
    };
    let mut conn = PgConnection::connect(&admin_url).await.expect("connect to MAILROOM_TEST_POSTGRES_URL");
    let mut docs: Vec<String> = vec![
        String::new(),
        "   \r\n\t ".into(),
        "Hello hello HELLO hElLo".into(),
        "1e10 0x1F abc123def 123abc v2 1st 00123 1E5 e5 3e 12 345 A1b2C3".into(),
        "Ab\u{1}cd\u{7f}ef\u{b}gh\u{c}ij".into(),
        format!("a {} b {} c", "y".repeat(2048), "z".repeat(2047)),
        "w ".repeat(300),
        "q ".repeat(16_390) + "z y Q",
        (1..=64).map(|i| format!("{i}{}", "X".repeat(78))).collect::<Vec<_>>().join("\r\n"),
    ];
    // Pseudo-random documents from a small alphabet, so tokens repeat and vary in case.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let alphabet = b"aAbB09zZ \r\n\t\x01";
    for len in [10usize, 100, 1000, 20_000] {
        for _ in 0..5 {
            let doc: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize] as char
                })
                .collect();
            docs.push(doc);
        }
    }
    for doc in &docs {
        let literal = mailroom_store_postgres::tsvector::ascii_literal(doc).expect("an ASCII document without punctuation");
        let (same, ours, theirs): (bool, String, String) =
            sqlx::query_as("SELECT $1::tsvector = to_tsvector('simple', $2), $1::tsvector::text, to_tsvector('simple', $2)::text")
                .bind(&literal)
                .bind(doc)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert!(same, "document {:?}…: ours {:.300} vs {:.300}", doc.chars().take(80).collect::<String>(), ours, theirs);
    }
}
