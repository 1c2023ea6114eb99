//! PostgreSQL: operational controls, rate-limit state, uploads and worker leases. A rate
//! decision locks its buckets' rows (`SELECT … FOR UPDATE`, in key order so concurrent
//! decisions cannot deadlock) for the length of one short transaction: every node of a
//! cluster draws from the same budget.

#[allow(unused_imports)]
use super::*;
use mailroom_core::controls::*;

fn scope_of(key: &str) -> StoreResult<ControlScope> {
    let bad = || StoreError::Corrupt(format!("control scope `{key}` is not site:<id> or mailbox:<id>"));
    let (kind, id) = key.split_once(':').ok_or_else(bad)?;
    let uuid: Uuid = id.parse().map_err(|_| bad())?;
    match kind {
        "site" => Ok(ControlScope::Site(uuid.into())),
        "mailbox" => Ok(ControlScope::Mailbox(uuid.into())),
        _ => Err(bad()),
    }
}

#[async_trait]
impl ControlStore for PgStore {
    async fn get_controls(&self, scope: ControlScope) -> StoreResult<Option<Controls>> {
        let row = sqlx::query("SELECT * FROM controls WHERE scope = $1").bind(scope.key()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(codec::controls).transpose()
    }

    async fn get_controls_of(&self, scopes: &[ControlScope]) -> StoreResult<Vec<Option<Controls>>> {
        let keys: Vec<String> = scopes.iter().map(|s| s.key()).collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One placeholder per scope (`scope IN ($1, $2)`, usually a mailbox and its site), not
        // `= ANY($1)`: a generic plan cannot see an array parameter's length, so PostgreSQL
        // planned that statement again at every call.
        let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT * FROM controls WHERE scope IN ({})", placeholders.join(", "));
        let mut q = sqlx::query(&sql);
        for k in &keys {
            q = q.bind(k);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db_err)?;
        let mut found: HashMap<String, Controls> = HashMap::with_capacity(rows.len());
        for row in &rows {
            found.insert(col::<String>(row, "scope")?, codec::controls(row)?);
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    async fn put_controls(&self, scope: ControlScope, site: SiteId, controls: &Controls) -> StoreResult<()> {
        let mailbox = match scope {
            ControlScope::Mailbox(m) => Some(m.as_uuid()),
            ControlScope::Site(_) => None,
        };
        sqlx::query(
            "INSERT INTO controls (scope, site_id, mailbox_id, limits, retention_days, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (scope) DO UPDATE SET limits = excluded.limits, retention_days = excluded.retention_days, \
             expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        )
        .bind(scope.key())
        .bind(site.as_uuid())
        .bind(mailbox)
        .bind(to_json(&controls.limits)?)
        .bind(controls.retention_days.map(|d| d.min(i32::MAX as u32) as i32))
        .bind(controls.expires_at.map(trunc))
        .bind(trunc(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn take_rate(&self, buckets: &[RateBucket], cost: u64, now: DateTime<Utc>) -> StoreResult<RateDecision> {
        let now_ms = now.timestamp_millis();
        let mut order: Vec<usize> = (0..buckets.len()).collect();
        order.sort_by(|a, b| buckets[*a].key.cmp(&buckets[*b].key));
        let keys: Vec<String> = buckets.iter().map(|b| b.key.clone()).collect();
        if cost == 0 {
            let rows = sqlx::query("SELECT key, tat_ms FROM rate_states WHERE key = ANY($1)").bind(&keys).fetch_all(&self.pool).await.map_err(db_err)?;
            let stored: HashMap<String, i64> = rows.iter().map(|r| Ok((col(r, "key")?, col(r, "tat_ms")?))).collect::<StoreResult<_>>()?;
            let tats: Vec<i64> = keys.iter().map(|k| stored.get(k).copied().unwrap_or(0)).collect();
            return Ok(gcra(buckets, &tats, 0, now_ms).0);
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Create missing rows first (in key order), then lock them all in key order.
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        sqlx::query("INSERT INTO rate_states (key, tat_ms) SELECT k, 0 FROM UNNEST($1::text[]) AS k ORDER BY k ON CONFLICT (key) DO NOTHING")
            .bind(&sorted)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let rows = sqlx::query("SELECT key, tat_ms FROM rate_states WHERE key = ANY($1) ORDER BY key FOR UPDATE")
            .bind(&sorted)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let stored: HashMap<String, i64> = rows.iter().map(|r| Ok((col(r, "key")?, col(r, "tat_ms")?))).collect::<StoreResult<_>>()?;
        let tats: Vec<i64> = keys.iter().map(|k| stored.get(k).copied().unwrap_or(0)).collect();
        let (decision, new_tats) = gcra(buckets, &tats, cost, now_ms);
        if decision.allowed {
            sqlx::query("UPDATE rate_states AS r SET tat_ms = v.tat FROM UNNEST($1::text[], $2::bigint[]) AS v(key, tat) WHERE r.key = v.key")
                .bind(&keys)
                .bind(&new_tats)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(decision)
    }

    async fn usage(&self, scope: ControlScope) -> StoreResult<Usage> {
        let (column, id) = match scope {
            ControlScope::Site(s) => ("site_id", s.as_uuid()),
            ControlScope::Mailbox(m) => ("mailbox_id", m.as_uuid()),
        };
        let row = sqlx::query(&format!(
            "SELECT COUNT(*)::BIGINT AS n, COALESCE(SUM(m.size), 0)::BIGINT AS bytes, \
             COALESCE((SELECT SUM(a.size) FROM attachments a JOIN messages m2 ON m2.id = a.message_id WHERE m2.{column} = $1), 0)::BIGINT AS att \
             FROM messages m WHERE m.{column} = $1"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let n: i64 = col(&row, "n")?;
        let bytes: i64 = col(&row, "bytes")?;
        let att: i64 = col(&row, "att")?;
        Ok(Usage { storage_bytes: (bytes + att).max(0) as u64, messages: n.max(0) as u64 })
    }

    async fn expired_mailboxes(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MailboxId>> {
        let rows = sqlx::query("SELECT mailbox_id FROM controls WHERE expires_at IS NOT NULL AND expires_at <= $1 AND mailbox_id IS NOT NULL ORDER BY expires_at LIMIT $2")
            .bind(trunc(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| id(r, "mailbox_id")).collect()
    }

    async fn retention_rules(&self) -> StoreResult<Vec<(ControlScope, SiteId, u32)>> {
        let rows = sqlx::query("SELECT scope, site_id, retention_days FROM controls WHERE retention_days IS NOT NULL ORDER BY scope")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let days: i32 = col(r, "retention_days")?;
                Ok((scope_of(&col::<String>(r, "scope")?)?, id(r, "site_id")?, days.max(0) as u32))
            })
            .collect()
    }

    async fn messages_before(&self, scope: ControlScope, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MessageId>> {
        let q = match scope {
            ControlScope::Mailbox(m) => {
                sqlx::query("SELECT id FROM messages WHERE mailbox_id = $1 AND created_at < $2 ORDER BY created_at LIMIT $3").bind(m.as_uuid())
            }
            ControlScope::Site(s) => sqlx::query(
                "SELECT id FROM messages WHERE site_id = $1 AND created_at < $2 AND mailbox_id NOT IN \
                 (SELECT mailbox_id FROM controls WHERE mailbox_id IS NOT NULL AND retention_days IS NOT NULL) ORDER BY created_at LIMIT $3",
            )
            .bind(s.as_uuid()),
        };
        let rows = q.bind(trunc(before)).bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(|r| id(r, "id")).collect()
    }

    async fn create_upload(&self, u: &UploadedAttachment) -> StoreResult<()> {
        sqlx::query("INSERT INTO uploads (id, site_id, filename, content_type, size, sha256, blob_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(u.id.as_uuid())
            .bind(u.site_id.as_uuid())
            .bind(&u.filename)
            .bind(&u.content_type)
            .bind(signed::<i64, _>(u.size, "size")?)
            .bind(&u.sha256)
            .bind(&u.blob_key)
            .bind(trunc(u.created_at))
            .bind(trunc(u.expires_at))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_upload(&self, upload: AttachmentId) -> StoreResult<Option<UploadedAttachment>> {
        let row = sqlx::query("SELECT * FROM uploads WHERE id = $1").bind(upload.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(codec::upload).transpose()
    }

    async fn delete_expired_uploads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<UploadedAttachment>> {
        let rows = sqlx::query(
            "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING *",
        )
        .bind(trunc(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(codec::upload).collect()
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO worker_leases (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE worker_leases.until <= $4 OR worker_leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(trunc(until))
        .bind(trunc(now))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
