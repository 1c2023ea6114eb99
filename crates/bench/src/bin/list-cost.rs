//! What the SQLite store spends reading one listing page (issue 13): `list_messages` with
//! `limit=20` on a mailbox of a data directory `bench/api-send.sh` left (KEEP=1), one call at a
//! time, with and without `q=`.
//!
//! Run `KEEP=1 bench/api-send.sh`; its last line names the data directory it kept (`kept <dir>`).
//! The mailbox is the one named `sink` (`GET /v1/mailboxes` on a server started on that directory,
//! or the `mailbox_id` with the most rows in `messages`):
//!
//! ```sh
//! cargo run --release -p mailroom-bench --bin list-cost -- <dir>/mailroom/mailroom.db <mailbox-uuid> [word]
//! ```

use mailroom_store::{MessageStore, MessageFilter};
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, mailbox, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: list-cost <mailroom.db> <mailbox-uuid> [search word]");
    };
    let store = mailroom_store_sqlite::SqliteStore::connect(&format!("sqlite://{db}")).await?;
    let mailbox: mailroom_core::MailboxId = uuid::Uuid::parse_str(mailbox)?.into();
    let rounds: u32 = std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let queries = std::iter::once(None).chain(rest.first().cloned().map(Some));
    for q in queries {
        let filter = MessageFilter { limit: 20, q, ..Default::default() };
        let start = Instant::now();
        let mut n = 0;
        for _ in 0..rounds {
            n = store.list_messages(mailbox, &filter).await?.len();
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        println!("{us:8.1} µs per page of {n} ({})", filter.q.as_deref().map_or("listing".to_string(), |q| format!("q={q}")));
    }
    Ok(())
}
