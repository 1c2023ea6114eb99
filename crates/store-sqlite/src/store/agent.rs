//! SQLite: the agent tools' records: contacts, team members, site settings, secure tokens, tool configs, tool runs and sent emails.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl AgentStore for SqliteStore {
    async fn create_contact(&self, contact: &Contact) -> StoreResult<()> {
        let contact = contact.to_owned();
        self.write(move |tx| {
            let contact = &contact;
            let c = contact;
            query(
                "INSERT INTO contacts (id, site_id, email, email_lower, external_id, name, attributes, email_subscribed, \
                 marketing_opt_out, owner_team_member_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            .bind(ts(c.created_at))
            .bind(ts(c.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn update_contact(&self, contact: &Contact) -> StoreResult<()> {
        let contact = contact.to_owned();
        self.write(move |tx| {
            let contact = &contact;
            let c = contact;
            let done = query(
                "UPDATE contacts SET email = ?, email_lower = ?, external_id = ?, name = ?, attributes = ?, email_subscribed = ?, \
                 marketing_opt_out = ?, owner_team_member_id = ?, updated_at = ? WHERE id = ?",
            )
            .bind(c.email.as_ref().map(|e| e.as_str()))
            .bind(c.email.as_ref().map(|e| e.canonical()))
            .bind(&c.external_id)
            .bind(&c.name)
            .bind(to_json(&c.attributes)?)
            .bind(c.email_subscribed)
            .bind(c.marketing_opt_out)
            .bind(c.owner_team_member_id.map(|t| t.as_uuid()))
            .bind(ts(c.updated_at))
            .bind(c.id.as_uuid())
            .execute(tx)
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("contact {}", c.id)));
            }
            Ok(())
        })
        .await
    }

    async fn get_contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM contacts WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::contact).transpose()
        })
        .await
    }

    async fn find_contact(&self, site: SiteId, email: Option<&str>, external_id: Option<&str>) -> StoreResult<Option<Contact>> {
        let email = email.map(|v| v.to_owned());
        let external_id = external_id.map(|v| v.to_owned());
        self.read(move |conn| {
            let email = email.as_deref();
            let external_id = external_id.as_deref();
            if let Some(email) = email {
                let row = query("SELECT * FROM contacts WHERE site_id = ? AND email_lower = ?")
                    .bind(site.as_uuid())
                    .bind(email.trim().to_lowercase())
                    .fetch_optional(conn)
                    .map_err(db_err)?;
                if let Some(row) = row {
                    return codec::contact(&row).map(Some);
                }
            }
            if let Some(external_id) = external_id {
                let row = query("SELECT * FROM contacts WHERE site_id = ? AND external_id = ?")
                    .bind(site.as_uuid())
                    .bind(external_id)
                    .fetch_optional(conn)
                    .map_err(db_err)?;
                return row.as_ref().map(codec::contact).transpose();
            }
            Ok(None)
        })
        .await
    }

    async fn list_contacts(&self, site: Option<SiteId>, before: Option<ContactId>, limit: u32) -> StoreResult<Vec<Contact>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM contacts WHERE 1 = 1");
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            if let Some(before) = before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::contact).collect()
        })
        .await
    }

    async fn delete_contact(&self, id: ContactId) -> StoreResult<bool> {
        self.delete_by_id("contacts", id.as_uuid()).await
    }

    async fn create_team_member(&self, member: &TeamMember) -> StoreResult<()> {
        let member = member.to_owned();
        self.write(move |tx| {
            let member = &member;
            let m = member;
            query(
                "INSERT INTO team_members (id, site_id, name, mailbox_id, signature_html, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(m.id.as_uuid())
            .bind(m.site_id.as_uuid())
            .bind(&m.name)
            .bind(m.mailbox_id.as_uuid())
            .bind(&m.signature_html)
            .bind(ts(m.created_at))
            .bind(ts(m.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn update_team_member(&self, member: &TeamMember) -> StoreResult<()> {
        let member = member.to_owned();
        self.write(move |tx| {
            let member = &member;
            let m = member;
            let done = query("UPDATE team_members SET name = ?, mailbox_id = ?, signature_html = ?, updated_at = ? WHERE id = ?")
                .bind(&m.name)
                .bind(m.mailbox_id.as_uuid())
                .bind(&m.signature_html)
                .bind(ts(m.updated_at))
                .bind(m.id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("team member {}", m.id)));
            }
            Ok(())
        })
        .await
    }

    async fn get_team_member(&self, id: TeamMemberId) -> StoreResult<Option<TeamMember>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM team_members WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::team_member).transpose()
        })
        .await
    }

    async fn list_team_members(&self, site: Option<SiteId>) -> StoreResult<Vec<TeamMember>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => {
                    query("SELECT * FROM team_members WHERE site_id = ? ORDER BY created_at, id").bind(site.as_uuid()).fetch_all(conn)
                }
                None => query("SELECT * FROM team_members ORDER BY created_at, id").fetch_all(conn),
            }
            .map_err(db_err)?;
            rows.iter().map(codec::team_member).collect()
        })
        .await
    }

    async fn delete_team_member(&self, id: TeamMemberId) -> StoreResult<bool> {
        self.delete_by_id("team_members", id.as_uuid()).await
    }

    async fn get_site_settings(&self, site: SiteId) -> StoreResult<Option<serde_json::Value>> {
        self.read(move |conn| {
            let row =
                query("SELECT settings FROM site_settings WHERE site_id = ?").bind(site.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(|r| json(r, "settings")).transpose()
        })
        .await
    }

    async fn put_site_settings(&self, site: SiteId, settings: &serde_json::Value) -> StoreResult<()> {
        let settings = settings.to_owned();
        self.write(move |tx| {
            let settings = &settings;
            query(
                "INSERT INTO site_settings (site_id, settings, updated_at) VALUES (?, ?, ?) \
                 ON CONFLICT (site_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            )
            .bind(site.as_uuid())
            .bind(to_json(settings)?)
            .bind(ts(Utc::now()))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn put_secure_token(&self, token: &SecureToken) -> StoreResult<SecureToken> {
        let token = token.to_owned();
        self.write(move |tx| {
            let token = &token;
            let t = token;
            let row = query(
                "INSERT INTO secure_tokens (id, site_id, token_type, identifier, value_encrypted, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (site_id, token_type, identifier) DO UPDATE SET value_encrypted = excluded.value_encrypted, \
                 updated_at = excluded.updated_at RETURNING *",
            )
            .bind(t.id.as_uuid())
            .bind(t.site_id.as_uuid())
            .bind(&t.token_type)
            .bind(&t.identifier)
            .bind(&t.value_encrypted)
            .bind(ts(t.created_at))
            .bind(ts(t.updated_at))
            .fetch_one(tx)
            .map_err(db_err)?;
            let stored = codec::secure_token(&row)?;
            Ok(stored)
        })
        .await
    }

    async fn get_secure_token(&self, site: SiteId, token_type: &str, identifier: &str) -> StoreResult<Option<SecureToken>> {
        let token_type = token_type.to_owned();
        let identifier = identifier.to_owned();
        self.read(move |conn| {
            let token_type = &token_type;
            let identifier = &identifier;
            let row = query("SELECT * FROM secure_tokens WHERE site_id = ? AND token_type = ? AND identifier = ?")
                .bind(site.as_uuid())
                .bind(token_type)
                .bind(identifier)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::secure_token).transpose()
        })
        .await
    }

    async fn list_secure_tokens(&self, site: SiteId) -> StoreResult<Vec<SecureToken>> {
        self.read(move |conn| {
            let rows = query("SELECT * FROM secure_tokens WHERE site_id = ? ORDER BY created_at, id")
                .bind(site.as_uuid())
                .fetch_all(conn)
                .map_err(db_err)?;
            rows.iter().map(codec::secure_token).collect()
        })
        .await
    }

    async fn delete_secure_token(&self, id: SecureTokenId) -> StoreResult<bool> {
        self.delete_by_id("secure_tokens", id.as_uuid()).await
    }

    async fn create_tool_config(&self, config: &ToolConfig) -> StoreResult<()> {
        let config = config.to_owned();
        self.write(move |tx| {
            let config = &config;
            let c = config;
            query(
                "INSERT INTO tool_configs (id, site_id, name, tool, prompt, settings, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(c.id.as_uuid())
            .bind(c.site_id.as_uuid())
            .bind(&c.name)
            .bind(&c.tool)
            .bind(&c.prompt)
            .bind(to_json(&c.settings)?)
            .bind(ts(c.created_at))
            .bind(ts(c.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn update_tool_config(&self, config: &ToolConfig) -> StoreResult<()> {
        let config = config.to_owned();
        self.write(move |tx| {
            let config = &config;
            let c = config;
            let done = query("UPDATE tool_configs SET name = ?, prompt = ?, settings = ?, updated_at = ? WHERE id = ?")
                .bind(&c.name)
                .bind(&c.prompt)
                .bind(to_json(&c.settings)?)
                .bind(ts(c.updated_at))
                .bind(c.id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("tool config {}", c.id)));
            }
            Ok(())
        })
        .await
    }

    async fn get_tool_config(&self, id: ToolConfigId) -> StoreResult<Option<ToolConfig>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM tool_configs WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::tool_config).transpose()
        })
        .await
    }

    async fn get_tool_config_by_name(&self, site: SiteId, name: &str) -> StoreResult<Option<ToolConfig>> {
        let name = name.to_owned();
        self.read(move |conn| {
            let name = &name;
            let row = query("SELECT * FROM tool_configs WHERE site_id = ? AND name = ?")
                .bind(site.as_uuid())
                .bind(name)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::tool_config).transpose()
        })
        .await
    }

    async fn list_tool_configs(&self, site: Option<SiteId>) -> StoreResult<Vec<ToolConfig>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => query("SELECT * FROM tool_configs WHERE site_id = ? ORDER BY name, id").bind(site.as_uuid()).fetch_all(conn),
                None => query("SELECT * FROM tool_configs ORDER BY name, site_id, id").fetch_all(conn),
            }
            .map_err(db_err)?;
            rows.iter().map(codec::tool_config).collect()
        })
        .await
    }

    async fn delete_tool_config(&self, id: ToolConfigId) -> StoreResult<bool> {
        self.delete_by_id("tool_configs", id.as_uuid()).await
    }

    async fn insert_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> StoreResult<()> {
        let run = run.to_owned();
        let events = events.to_owned();
        self.write(move |tx| {
            let run = &run;
            let events = &events;
            let r = run;
            query(
                "INSERT INTO tool_runs (id, site_id, tool, tool_config_id, contact_id, status, code, dry_run, inputs, checks, \
                 decision, outputs, message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            .bind(ts(r.created_at))
            .execute(tx)
            .map_err(db_err)?;
            append(tx, events)?;
            Ok(())
        })
        .await
    }

    async fn get_tool_run(&self, id: ToolRunId) -> StoreResult<Option<ToolRun>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM tool_runs WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::tool_run).transpose()
        })
        .await
    }

    async fn list_tool_runs(&self, filter: &ToolRunFilter) -> StoreResult<Vec<ToolRun>> {
        let filter = filter.to_owned();
        self.read(move |conn| {
            let filter = &filter;
            let mut q = QueryBuilder::new("SELECT * FROM tool_runs WHERE 1 = 1");
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
                q.push(" AND created_at >= ").push_bind(ts(trunc(since)));
            }
            if let Some(until) = filter.until {
                q.push(" AND created_at < ").push_bind(ts(trunc(until)));
            }
            if let Some(before) = filter.before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::tool_run).collect()
        })
        .await
    }

    async fn insert_sent_email(&self, sent: &SentEmail) -> StoreResult<()> {
        let sent = sent.to_owned();
        self.write(move |tx| {
            let sent = &sent;
            insert_sent(tx, sent)?;
            Ok(())
        })
        .await
    }

    async fn reserve_sent_email(&self, sent: &SentEmail, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>> {
        let sent = sent.to_owned();
        self.write(move |tx| {
            let sent = &sent;
            // BEGIN IMMEDIATE holds the database's one write lock: reservations are serialised.
            let rows = query(
                "SELECT * FROM sent_emails WHERE site_id = ? AND recipient = ? AND created_at >= ? \
                 ORDER BY created_at DESC, id DESC LIMIT ?",
            )
            .bind(sent.site_id.as_uuid())
            .bind(sent.recipient.trim().to_lowercase())
            .bind(ts(since))
            .bind(i64::from(limit))
            .fetch_all(tx)
            .map_err(db_err)?;
            let earlier = rows.iter().map(codec::sent_email).collect::<StoreResult<Vec<_>>>()?;
            insert_sent(tx, sent)?;
            Ok(earlier)
        })
        .await
    }

    async fn list_sent_emails(&self, site: SiteId, recipient: &str, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>> {
        let recipient = recipient.to_owned();
        self.read(move |conn| {
            let recipient = &recipient;
            let rows = query(
                "SELECT * FROM sent_emails WHERE site_id = ? AND recipient = ? AND created_at >= ? \
                 ORDER BY created_at DESC, id DESC LIMIT ?",
            )
            .bind(site.as_uuid())
            .bind(recipient.trim().to_lowercase())
            .bind(ts(trunc(since)))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .map_err(db_err)?;
            rows.iter().map(codec::sent_email).collect()
        })
        .await
    }

    async fn list_contact_sends(&self, contact: ContactId, limit: u32) -> StoreResult<Vec<SentEmail>> {
        self.read(move |conn| {
            let rows = query("SELECT * FROM sent_emails WHERE contact_id = ? ORDER BY created_at DESC, id DESC LIMIT ?")
                .bind(contact.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(conn)
                .map_err(db_err)?;
            rows.iter().map(codec::sent_email).collect()
        })
        .await
    }

    async fn find_sent_email(&self, site: SiteId, provider: &str, external_message_id: &str) -> StoreResult<Option<SentEmail>> {
        let provider = provider.to_owned();
        let external_message_id = external_message_id.to_owned();
        self.read(move |conn| {
            let provider = &provider;
            let external_message_id = &external_message_id;
            let row = query("SELECT * FROM sent_emails WHERE site_id = ? AND provider = ? AND external_message_id = ?")
                .bind(site.as_uuid())
                .bind(provider)
                .bind(external_message_id)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::sent_email).transpose()
        })
        .await
    }

    async fn complete_sent_email(
        &self,
        id: SentEmailId,
        provider: &str,
        external_message_id: &str,
        message: Option<MessageId>,
    ) -> StoreResult<bool> {
        let provider = provider.to_owned();
        let external_message_id = external_message_id.to_owned();
        self.write(move |tx| {
            let provider = &provider;
            let external_message_id = &external_message_id;
            let done = query("UPDATE sent_emails SET provider = ?, external_message_id = ?, message_id = ? WHERE id = ?")
                .bind(provider)
                .bind(external_message_id)
                .bind(message.map(|m| m.as_uuid()))
                .bind(id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn delete_sent_email(&self, id: SentEmailId) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query("DELETE FROM sent_emails WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}
