//! PostgreSQL: the agent tools' records: contacts, team members, site settings, secure tokens, tool configs, tool runs and sent emails.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl AgentStore for PgStore {
    async fn create_contact(&self, contact: &Contact) -> StoreResult<()> {
        let c = contact;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO contacts (id, site_id, email, email_lower, external_id, name, attributes, email_subscribed, \
             marketing_opt_out, owner_team_member_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(c.id.as_uuid())
        .bind(c.site_id.as_uuid())
        .bind(c.email.as_ref().map(|e| e.as_str()))
        .bind(c.email.as_ref().map(|e| e.canonical()))
        .bind(&c.external_id)
        .bind(&c.name)
        .bind(to_json(&c.attributes)?)
        .bind(c.email_subscribed)
        .bind(c.marketing_opt_out)
        .bind(c.owner_team_member_id.map(|t| t.as_uuid()))
        .bind(trunc(c.created_at))
        .bind(trunc(c.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn update_contact(&self, contact: &Contact) -> StoreResult<()> {
        let c = contact;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE contacts SET email = $1, email_lower = $2, external_id = $3, name = $4, attributes = $5, email_subscribed = $6, \
             marketing_opt_out = $7, owner_team_member_id = $8, updated_at = $9 WHERE id = $10",
        )
        .bind(c.email.as_ref().map(|e| e.as_str()))
        .bind(c.email.as_ref().map(|e| e.canonical()))
        .bind(&c.external_id)
        .bind(&c.name)
        .bind(to_json(&c.attributes)?)
        .bind(c.email_subscribed)
        .bind(c.marketing_opt_out)
        .bind(c.owner_team_member_id.map(|t| t.as_uuid()))
        .bind(trunc(c.updated_at))
        .bind(c.id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("contact {}", c.id)));
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        let row = sqlx::query("SELECT * FROM contacts WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::contact).transpose()
    }

    async fn find_contact(&self, site: SiteId, email: Option<&str>, external_id: Option<&str>) -> StoreResult<Option<Contact>> {
        if let Some(email) = email {
            let row = sqlx::query("SELECT * FROM contacts WHERE site_id = $1 AND email_lower = $2")
                .bind(site.as_uuid())
                .bind(email.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
            if let Some(row) = row {
                return codec::contact(&row).map(Some);
            }
        }
        if let Some(external_id) = external_id {
            let row = sqlx::query("SELECT * FROM contacts WHERE site_id = $1 AND external_id = $2")
                .bind(site.as_uuid())
                .bind(external_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
            return row.as_ref().map(codec::contact).transpose();
        }
        Ok(None)
    }

    async fn list_contacts(&self, site: Option<SiteId>, before: Option<ContactId>, limit: u32) -> StoreResult<Vec<Contact>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM contacts WHERE TRUE");
        if let Some(site) = site {
            q.push(" AND site_id = ").push_bind(site.as_uuid());
        }
        if let Some(before) = before {
            q.push(" AND id < ").push_bind(before.as_uuid());
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::contact).collect()
    }

    async fn delete_contact(&self, id: ContactId) -> StoreResult<bool> {
        self.delete_by_id("contacts", id.as_uuid()).await
    }

    async fn create_team_member(&self, member: &TeamMember) -> StoreResult<()> {
        let m = member;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO team_members (id, site_id, name, mailbox_id, signature_html, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(m.id.as_uuid())
        .bind(m.site_id.as_uuid())
        .bind(&m.name)
        .bind(m.mailbox_id.as_uuid())
        .bind(&m.signature_html)
        .bind(trunc(m.created_at))
        .bind(trunc(m.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn update_team_member(&self, member: &TeamMember) -> StoreResult<()> {
        let m = member;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query("UPDATE team_members SET name = $1, mailbox_id = $2, signature_html = $3, updated_at = $4 WHERE id = $5")
            .bind(&m.name)
            .bind(m.mailbox_id.as_uuid())
            .bind(&m.signature_html)
            .bind(trunc(m.updated_at))
            .bind(m.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("team member {}", m.id)));
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_team_member(&self, id: TeamMemberId) -> StoreResult<Option<TeamMember>> {
        let row = sqlx::query("SELECT * FROM team_members WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::team_member).transpose()
    }

    async fn list_team_members(&self, site: Option<SiteId>) -> StoreResult<Vec<TeamMember>> {
        let rows = match site {
            Some(site) => sqlx::query("SELECT * FROM team_members WHERE site_id = $1 ORDER BY created_at, id")
                .bind(site.as_uuid())
                .fetch_all(&self.pool)
                .await,
            None => sqlx::query("SELECT * FROM team_members ORDER BY created_at, id").fetch_all(&self.pool).await,
        }
        .map_err(db_err)?;
        rows.iter().map(codec::team_member).collect()
    }

    async fn delete_team_member(&self, id: TeamMemberId) -> StoreResult<bool> {
        self.delete_by_id("team_members", id.as_uuid()).await
    }

    async fn get_site_settings(&self, site: SiteId) -> StoreResult<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT settings FROM site_settings WHERE site_id = $1")
            .bind(site.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(|r| json(r, "settings")).transpose()
    }

    async fn put_site_settings(&self, site: SiteId, settings: &serde_json::Value) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO site_settings (site_id, settings, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (site_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(site.as_uuid())
        .bind(to_json(settings)?)
        .bind(trunc(Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn put_secure_token(&self, token: &SecureToken) -> StoreResult<SecureToken> {
        let t = token;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let row = sqlx::query(
            "INSERT INTO secure_tokens (id, site_id, token_type, identifier, value_encrypted, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (site_id, token_type, identifier) DO UPDATE SET value_encrypted = excluded.value_encrypted, \
             updated_at = excluded.updated_at RETURNING *",
        )
        .bind(t.id.as_uuid())
        .bind(t.site_id.as_uuid())
        .bind(&t.token_type)
        .bind(&t.identifier)
        .bind(&t.value_encrypted)
        .bind(trunc(t.created_at))
        .bind(trunc(t.updated_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let stored = codec::secure_token(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn get_secure_token(&self, site: SiteId, token_type: &str, identifier: &str) -> StoreResult<Option<SecureToken>> {
        let row = sqlx::query("SELECT * FROM secure_tokens WHERE site_id = $1 AND token_type = $2 AND identifier = $3")
            .bind(site.as_uuid())
            .bind(token_type)
            .bind(identifier)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::secure_token).transpose()
    }

    async fn list_secure_tokens(&self, site: SiteId) -> StoreResult<Vec<SecureToken>> {
        let rows = sqlx::query("SELECT * FROM secure_tokens WHERE site_id = $1 ORDER BY created_at, id")
            .bind(site.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(codec::secure_token).collect()
    }

    async fn delete_secure_token(&self, id: SecureTokenId) -> StoreResult<bool> {
        self.delete_by_id("secure_tokens", id.as_uuid()).await
    }

    async fn create_tool_config(&self, config: &ToolConfig) -> StoreResult<()> {
        let c = config;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO tool_configs (id, site_id, name, tool, prompt, settings, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id.as_uuid())
        .bind(c.site_id.as_uuid())
        .bind(&c.name)
        .bind(&c.tool)
        .bind(&c.prompt)
        .bind(to_json(&c.settings)?)
        .bind(trunc(c.created_at))
        .bind(trunc(c.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn update_tool_config(&self, config: &ToolConfig) -> StoreResult<()> {
        let c = config;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query("UPDATE tool_configs SET name = $1, prompt = $2, settings = $3, updated_at = $4 WHERE id = $5")
            .bind(&c.name)
            .bind(&c.prompt)
            .bind(to_json(&c.settings)?)
            .bind(trunc(c.updated_at))
            .bind(c.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("tool config {}", c.id)));
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_tool_config(&self, id: ToolConfigId) -> StoreResult<Option<ToolConfig>> {
        let row = sqlx::query("SELECT * FROM tool_configs WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::tool_config).transpose()
    }

    async fn get_tool_config_by_name(&self, site: SiteId, name: &str) -> StoreResult<Option<ToolConfig>> {
        let row = sqlx::query("SELECT * FROM tool_configs WHERE site_id = $1 AND name = $2")
            .bind(site.as_uuid())
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::tool_config).transpose()
    }

    async fn list_tool_configs(&self, site: Option<SiteId>) -> StoreResult<Vec<ToolConfig>> {
        let rows = match site {
            Some(site) => sqlx::query("SELECT * FROM tool_configs WHERE site_id = $1 ORDER BY name COLLATE \"C\", id")
                .bind(site.as_uuid())
                .fetch_all(&self.pool)
                .await,
            None => sqlx::query("SELECT * FROM tool_configs ORDER BY name COLLATE \"C\", site_id, id").fetch_all(&self.pool).await,
        }
        .map_err(db_err)?;
        rows.iter().map(codec::tool_config).collect()
    }

    async fn delete_tool_config(&self, id: ToolConfigId) -> StoreResult<bool> {
        self.delete_by_id("tool_configs", id.as_uuid()).await
    }

    async fn insert_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> StoreResult<()> {
        let r = run;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO tool_runs (id, site_id, tool, tool_config_id, contact_id, status, code, dry_run, inputs, checks, \
             decision, outputs, message_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(r.id.as_uuid())
        .bind(r.site_id.as_uuid())
        .bind(&r.tool)
        .bind(r.tool_config_id.map(|c| c.as_uuid()))
        .bind(r.contact_id.map(|c| c.as_uuid()))
        .bind(&r.status)
        .bind(&r.code)
        .bind(r.dry_run)
        .bind(to_json(&r.inputs)?)
        .bind(to_json(&r.checks)?)
        .bind(to_json(&r.decision)?)
        .bind(to_json(&r.outputs)?)
        .bind(r.message_id.map(|m| m.as_uuid()))
        .bind(trunc(r.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn get_tool_run(&self, id: ToolRunId) -> StoreResult<Option<ToolRun>> {
        let row = sqlx::query("SELECT * FROM tool_runs WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::tool_run).transpose()
    }

    async fn list_tool_runs(&self, filter: &ToolRunFilter) -> StoreResult<Vec<ToolRun>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM tool_runs WHERE TRUE");
        if let Some(site) = filter.site {
            q.push(" AND site_id = ").push_bind(site.as_uuid());
        }
        if let Some(tool) = &filter.tool {
            q.push(" AND tool = ").push_bind(tool.clone());
        }
        if let Some(contact) = filter.contact {
            q.push(" AND contact_id = ").push_bind(contact.as_uuid());
        }
        if let Some(status) = &filter.status {
            q.push(" AND status = ").push_bind(status.clone());
        }
        if let Some(since) = filter.since {
            q.push(" AND created_at >= ").push_bind(trunc(since));
        }
        if let Some(until) = filter.until {
            q.push(" AND created_at < ").push_bind(trunc(until));
        }
        if let Some(before) = filter.before {
            q.push(" AND id < ").push_bind(before.as_uuid());
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::tool_run).collect()
    }

    async fn insert_sent_email(&self, sent: &SentEmail) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        insert_sent(&mut tx, sent).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn reserve_sent_email(&self, sent: &SentEmail, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>> {
        let recipient = sent.recipient.trim().to_lowercase();
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // One lock per site and recipient, held to the commit: reservations for a recipient are
        // serialised across every node, others run in parallel.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
            .bind(format!("sent_emails:{}:{recipient}", sent.site_id))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let rows = sqlx::query(
            "SELECT * FROM sent_emails WHERE site_id = $1 AND recipient = $2 AND created_at >= $3 \
             ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(sent.site_id.as_uuid())
        .bind(&recipient)
        .bind(trunc(since))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let earlier = rows.iter().map(codec::sent_email).collect::<StoreResult<Vec<_>>>()?;
        insert_sent(&mut tx, sent).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(earlier)
    }

    async fn list_sent_emails(&self, site: SiteId, recipient: &str, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>> {
        let rows = sqlx::query(
            "SELECT * FROM sent_emails WHERE site_id = $1 AND recipient = $2 AND created_at >= $3 \
             ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(site.as_uuid())
        .bind(recipient.trim().to_lowercase())
        .bind(trunc(since))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(codec::sent_email).collect()
    }

    async fn list_contact_sends(&self, contact: ContactId, limit: u32) -> StoreResult<Vec<SentEmail>> {
        let rows = sqlx::query("SELECT * FROM sent_emails WHERE contact_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
            .bind(contact.as_uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(codec::sent_email).collect()
    }

    async fn find_sent_email(&self, site: SiteId, provider: &str, external_message_id: &str) -> StoreResult<Option<SentEmail>> {
        let row = sqlx::query("SELECT * FROM sent_emails WHERE site_id = $1 AND provider = $2 AND external_message_id = $3")
            .bind(site.as_uuid())
            .bind(provider)
            .bind(external_message_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::sent_email).transpose()
    }

    async fn complete_sent_email(&self, id: SentEmailId, provider: &str, external_message_id: &str, message: Option<MessageId>) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE sent_emails SET provider = $1, external_message_id = $2, message_id = $3 WHERE id = $4")
            .bind(provider)
            .bind(external_message_id)
            .bind(message.map(|m| m.as_uuid()))
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_sent_email(&self, id: SentEmailId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sent_emails WHERE id = $1").bind(id.as_uuid()).execute(&self.pool).await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
