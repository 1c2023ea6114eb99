//! SQLite: operational controls, rate-limit state, uploads and worker leases. Rate decisions
//! run on the one writer thread, so reading and updating a bucket needs no further lock.

#[allow(unused_imports)]
use super::*;
use mailroom_core::controls::*;

fn scope_of(key: &str) -> StoreResult<ControlScope> {
    let bad = || StoreError::Corrupt(format!("control scope `{key}` is not site:<id> or mailbox:<id>"));
    let (kind, id) = key.split_once(':').ok_or_else(bad)?;
    let uuid: uuid::Uuid = id.parse().map_err(|_| bad())?;
    match kind {
        "site" => Ok(ControlScope::Site(uuid.into())),
        "mailbox" => Ok(ControlScope::Mailbox(uuid.into())),
        _ => Err(bad()),
    }
}

#[async_trait]
impl ControlStore for SqliteStore {
    async fn get_controls(&self, scope: ControlScope) -> StoreResult<Option<Controls>> {
        let key = scope.key();
        self.read(move |conn| {
            let row = query("SELECT * FROM controls WHERE scope = ?").bind(&key).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::controls).transpose()
        })
        .await
    }

    async fn put_controls(&self, scope: ControlScope, site: SiteId, controls: &Controls) -> StoreResult<()> {
        let key = scope.key();
        let mailbox = match scope {
            ControlScope::Mailbox(m) => Some(m.as_uuid()),
            ControlScope::Site(_) => None,
        };
        let limits = to_json(&controls.limits)?;
        let retention = controls.retention_days.map(i64::from);
        let expires = controls.expires_at.map(ts);
        self.write(move |tx| {
            query(
                "INSERT INTO controls (scope, site_id, mailbox_id, limits, retention_days, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (scope) DO UPDATE SET limits = excluded.limits, retention_days = excluded.retention_days, \
                 expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            )
            .bind(&key)
            .bind(site.as_uuid())
            .bind(mailbox)
            .bind(&limits)
            .bind(retention)
            .bind(&expires)
            .bind(ts(Utc::now()))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn take_rate(&self, buckets: &[RateBucket], cost: u64, now: DateTime<Utc>) -> StoreResult<RateDecision> {
        let buckets = buckets.to_vec();
        let now_ms = now.timestamp_millis();
        fn decide(conn: &Connection, buckets: &[RateBucket], cost: u64, now_ms: i64) -> StoreResult<(RateDecision, Vec<i64>)> {
            let mut tats = Vec::with_capacity(buckets.len());
            for b in buckets {
                let row = query("SELECT tat_ms FROM rate_states WHERE key = ?").bind(&b.key).fetch_optional(conn).map_err(db_err)?;
                tats.push(match row {
                    Some(r) => col::<i64>(&r, "tat_ms")?,
                    None => 0,
                });
            }
            Ok(gcra(buckets, &tats, cost, now_ms))
        }
        if cost == 0 {
            return self.read(move |conn| Ok(decide(conn, &buckets, 0, now_ms)?.0)).await;
        }
        self.write(move |tx| {
            let (decision, new_tats) = decide(tx, &buckets, cost, now_ms)?;
            if decision.allowed {
                for (b, tat) in buckets.iter().zip(new_tats) {
                    query("INSERT INTO rate_states (key, tat_ms) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET tat_ms = excluded.tat_ms")
                        .bind(&b.key)
                        .bind(tat)
                        .execute(tx)
                        .map_err(db_err)?;
                }
            }
            Ok(decision)
        })
        .await
    }

    async fn usage(&self, scope: ControlScope) -> StoreResult<Usage> {
        let (column, id) = match scope {
            ControlScope::Site(s) => ("site_id", s.as_uuid()),
            ControlScope::Mailbox(m) => ("mailbox_id", m.as_uuid()),
        };
        self.read(move |conn| {
            let row = query(format!(
                "SELECT COUNT(*) AS n, COALESCE(SUM(m.size), 0) AS bytes, \
                 COALESCE((SELECT SUM(a.size) FROM attachments a JOIN messages m2 ON m2.id = a.message_id WHERE m2.{column} = ?), 0) AS att \
                 FROM messages m WHERE m.{column} = ?"
            ))
            .bind(id)
            .bind(id)
            .fetch_one(conn)
            .map_err(db_err)?;
            let n: i64 = col(&row, "n")?;
            let bytes: i64 = col(&row, "bytes")?;
            let att: i64 = col(&row, "att")?;
            Ok(Usage { storage_bytes: (bytes + att).max(0) as u64, messages: n.max(0) as u64 })
        })
        .await
    }

    async fn expired_mailboxes(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MailboxId>> {
        self.read(move |conn| {
            let rows = query("SELECT mailbox_id FROM controls WHERE expires_at IS NOT NULL AND expires_at <= ? AND mailbox_id IS NOT NULL ORDER BY expires_at LIMIT ?")
                .bind(ts(now))
                .bind(i64::from(limit))
                .fetch_all(conn)
                .map_err(db_err)?;
            rows.iter().map(|r| id(r, "mailbox_id")).collect()
        })
        .await
    }

    async fn retention_rules(&self) -> StoreResult<Vec<(ControlScope, SiteId, u32)>> {
        self.read(move |conn| {
            let rows = query("SELECT scope, site_id, retention_days FROM controls WHERE retention_days IS NOT NULL ORDER BY scope")
                .fetch_all(conn)
                .map_err(db_err)?;
            rows.iter()
                .map(|r| {
                    let days: i64 = col(r, "retention_days")?;
                    Ok((scope_of(&col::<String>(r, "scope")?)?, id(r, "site_id")?, days.clamp(0, u32::MAX as i64) as u32))
                })
                .collect()
        })
        .await
    }

    async fn messages_before(&self, scope: ControlScope, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MessageId>> {
        self.read_long(move |conn| {
            let q = match scope {
                ControlScope::Mailbox(m) => query("SELECT id FROM messages WHERE mailbox_id = ? AND created_at < ? ORDER BY created_at LIMIT ?")
                    .bind(m.as_uuid()),
                ControlScope::Site(s) => query(
                    "SELECT id FROM messages WHERE site_id = ? AND created_at < ? AND mailbox_id NOT IN \
                     (SELECT mailbox_id FROM controls WHERE mailbox_id IS NOT NULL AND retention_days IS NOT NULL) ORDER BY created_at LIMIT ?",
                )
                .bind(s.as_uuid()),
            };
            let rows = q.bind(ts(before)).bind(i64::from(limit)).fetch_all(conn).map_err(db_err)?;
            rows.iter().map(|r| id(r, "id")).collect()
        })
        .await
    }

    async fn create_upload(&self, upload: &UploadedAttachment) -> StoreResult<()> {
        let u = upload.clone();
        self.write(move |tx| {
            query("INSERT INTO uploads (id, site_id, filename, content_type, size, sha256, blob_key, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(u.id.as_uuid())
                .bind(u.site_id.as_uuid())
                .bind(&u.filename)
                .bind(&u.content_type)
                .bind(signed(u.size, "size")?)
                .bind(&u.sha256)
                .bind(&u.blob_key)
                .bind(ts(u.created_at))
                .bind(ts(u.expires_at))
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_upload(&self, upload: AttachmentId) -> StoreResult<Option<UploadedAttachment>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM uploads WHERE id = ?").bind(upload.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::upload).transpose()
        })
        .await
    }

    async fn delete_expired_uploads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<UploadedAttachment>> {
        self.write(move |tx| {
            let rows = query("SELECT * FROM uploads WHERE expires_at <= ? ORDER BY expires_at LIMIT ?")
                .bind(ts(now))
                .bind(i64::from(limit))
                .fetch_all(tx)
                .map_err(db_err)?;
            let uploads: Vec<UploadedAttachment> = rows.iter().map(codec::upload).collect::<StoreResult<_>>()?;
            for u in &uploads {
                query("DELETE FROM uploads WHERE id = ?").bind(u.id.as_uuid()).execute(tx).map_err(db_err)?;
            }
            Ok(uploads)
        })
        .await
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
        let name = name.to_owned();
        let holder = holder.to_owned();
        self.write(move |tx| {
            let done = query(
                "INSERT INTO worker_leases (name, holder, until) VALUES (?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                 WHERE worker_leases.until <= ? OR worker_leases.holder = excluded.holder",
            )
            .bind(&name)
            .bind(&holder)
            .bind(ts(until))
            .bind(ts(now))
            .execute(tx)
            .map_err(db_err)?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}
