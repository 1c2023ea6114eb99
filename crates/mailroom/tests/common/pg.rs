//! A fresh PostgreSQL database per test, from `MAILROOM_TEST_POSTGRES_URL`.
#![allow(dead_code)]

use sqlx::Connection;

/// A database created for one test and dropped (connections forced closed) on [`drop_now`].
pub struct TestDatabase {
    /// Its URL, for `database_url`.
    pub url: String,
    name: String,
    base: String,
}

impl TestDatabase {
    /// Creates a database, or says loudly that `what` is skipped when
    /// `MAILROOM_TEST_POSTGRES_URL` is not set.
    pub async fn create(what: &str) -> Option<TestDatabase> {
        let Ok(base) = std::env::var("MAILROOM_TEST_POSTGRES_URL") else {
            eprintln!("SKIPPED: MAILROOM_TEST_POSTGRES_URL is not set; {what} did not run on PostgreSQL");
            return None;
        };
        let name = format!("mailroom_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&base).await.expect("PostgreSQL reachable");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let (server, query) = match base.split_once('?') {
            Some((u, q)) => (u.to_string(), format!("?{q}")),
            None => (base.clone(), String::new()),
        };
        let scheme_end = server.find("://").map(|i| i + 3).unwrap_or(0);
        let server = server[scheme_end..].find('/').map(|i| server[..scheme_end + i].to_string()).unwrap_or(server);
        Some(TestDatabase { url: format!("{server}/{name}{query}"), name, base })
    }

    /// Drops the database.
    pub async fn drop_now(self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.base).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin).await;
        }
    }
}

/// Runs `test` with the URL of a fresh database, then drops the database — also when `test`
/// panics (the panic is passed on). Without `MAILROOM_TEST_POSTGRES_URL`, says loudly that
/// `what` is skipped and returns.
pub async fn with_database<F, Fut>(what: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDatabase::create(what).await else { return };
    let outcome = tokio::spawn(test(db.url.clone())).await;
    db.drop_now().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
