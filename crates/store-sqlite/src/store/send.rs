//! SQLite: one send in one write closure, so it takes one group-commit slot and one fsync.

#[allow(unused_imports)]
use super::*;
use super::domains::put_suppression_on;
use super::messages::insert_blobs;
use super::policy::put_message_route_on;

#[async_trait]
impl SendStore for SqliteStore {
    async fn commit_send(&self, send: NewSend) -> StoreResult<IdempotencyClaim> {
        if let Some((key, _)) = send.writes.iter().flat_map(|w| match w {
            SendWrite::Message { blobs, .. } => blobs.as_slice(),
            _ => &[],
        })
        .find(|(_, d)| d.len() > crate::INLINE_BLOB_MAX)
        {
            return Err(StoreError::Database(format!("blob {key} is larger than the inline limit").into()));
        }
        self.write(move |tx| {
            if let Some(answer) = &send.idempotency {
                // Claimed and answered in one statement: a retry sees the whole send or nothing.
                let done = query(
                    "INSERT INTO idempotency_keys (site_id, key, request_hash, status_code, response_body, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, key) DO NOTHING",
                )
                .bind(answer.site.as_uuid())
                .bind(&answer.key)
                .bind(&answer.request_hash)
                .bind(i64::from(answer.status))
                .bind(&answer.body)
                .bind(ts(Utc::now()))
                .execute(tx)
                .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    let row = query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE site_id = ? AND key = ?")
                        .bind(answer.site.as_uuid())
                        .bind(&answer.key)
                        .fetch_one(tx)
                        .map_err(db_err)?;
                    return existing_claim(&row);
                }
            }
            if let Some((message, site, route)) = &send.route {
                put_message_route_on(tx, *message, *site, route)?;
            }
            // The events go in last, in the order of the writes (as the PostgreSQL store does).
            let mut events: Vec<NewEvent> = Vec::new();
            for write in send.writes {
                match write {
                    SendWrite::Message { new, events: own, blobs } => {
                        insert_blobs(tx, &blobs)?;
                        insert_message_on(tx, &new, &[])?;
                        events.extend(own);
                    }
                    SendWrite::Suppression { suppression, event } => {
                        put_suppression_on(tx, &suppression, None)?;
                        events.extend(event);
                    }
                    SendWrite::Events(own) => events.extend(own),
                }
            }
            append(tx, &events)?;
            Ok(IdempotencyClaim::Claimed)
        })
        .await
    }

    async fn find_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<Option<IdempotencyClaim>> {
        let key = key.to_owned();
        self.read(move |conn| {
            let row = query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE site_id = ? AND key = ?")
                .bind(site.as_uuid())
                .bind(&key)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(existing_claim).transpose()
        })
        .await
    }
}
