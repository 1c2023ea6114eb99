//! PostgreSQL: one send in one transaction, its events appended together at the end (they are
//! numbered after the commit, see the `seal` module).

#[allow(unused_imports)]
use super::*;
use super::domains::put_suppression_on;
use super::messages::{check_inline, insert_message_on};
use super::policy::put_message_route_on;

#[async_trait]
impl SendStore for PgStore {
    async fn commit_send(&self, send: NewSend) -> StoreResult<IdempotencyClaim> {
        for write in &send.writes {
            if let SendWrite::Message { blobs, .. } = write {
                check_inline(blobs)?;
            }
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if let Some(answer) = &send.idempotency {
            // Claimed and answered in one statement: a retry sees the whole send or nothing.
            // The insert waits for a concurrent use of the same key to commit or roll back; if
            // the row it met is deleted (released) before the select, claim again.
            loop {
                let done = sqlx::query(
                    "INSERT INTO idempotency_keys (site_id, key, request_hash, status_code, response_body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (site_id, key) DO NOTHING",
                )
                .bind(answer.site.as_uuid())
                .bind(&answer.key)
                .bind(&answer.request_hash)
                .bind(i32::from(answer.status))
                .bind(&answer.body)
                .bind(trunc(Utc::now()))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 1 {
                    break;
                }
                let row = sqlx::query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE site_id = $1 AND key = $2")
                    .bind(answer.site.as_uuid())
                    .bind(&answer.key)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(row) = row {
                    let claim = existing_claim(&row)?;
                    tx.rollback().await.map_err(db_err)?;
                    return Ok(claim);
                }
            }
        }
        if let Some((message, site, route)) = &send.route {
            put_message_route_on(&mut tx, *message, *site, route).await?;
        }
        let mut events: Vec<&NewEvent> = Vec::new();
        for write in &send.writes {
            match write {
                SendWrite::Message { new, events: own, blobs } => {
                    insert_message_on(&mut tx, new, &[], blobs).await?;
                    events.extend(own);
                }
                SendWrite::Suppression { suppression, event } => {
                    put_suppression_on(&mut tx, suppression).await?;
                    events.extend(event);
                }
                SendWrite::Events(own) => events.extend(own),
            }
        }
        let events: Vec<NewEvent> = events.into_iter().cloned().collect();
        let appended = append(&mut tx, &events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(IdempotencyClaim::Claimed)
    }

    async fn find_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<Option<IdempotencyClaim>> {
        let row = sqlx::query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE site_id = $1 AND key = $2")
            .bind(site.as_uuid())
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(existing_claim).transpose()
    }
}
