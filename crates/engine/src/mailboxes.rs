//! Sites, API keys and mailboxes.

use crate::{Engine, EngineError, EngineResult, GeneratedKey, generate_api_key};

use mailroom_core::api::{CreateApiKeyRequest, CreateMailboxRequest, CreatedApiKey, UpdateMailboxRequest};
use mailroom_core::event_types::*;
use mailroom_core::*;
use mailroom_store::{NewEvent, StoreError};

fn check_text(field: &str, value: &str, max: usize) -> EngineResult<()> {
    if value.chars().any(|c| c.is_control()) {
        return Err(EngineError::invalid("validation_error", format!("`{field}` must not contain line breaks or control characters")));
    }
    if value.chars().count() > max {
        return Err(EngineError::invalid("validation_error", format!("`{field}` is longer than {max} characters")));
    }
    Ok(())
}

impl Engine {
    /// Creates a site.
    pub async fn create_site(&self, name: &str) -> EngineResult<Site> {
        let name = name.trim();
        if name.is_empty() {
            return Err(EngineError::invalid("validation_error", "`name` must not be empty"));
        }
        check_text("name", name, 200)?;
        let site = Site { id: SiteId::new(), name: name.to_string(), created_at: now() };
        self.store.create_site(&site).await?;
        Ok(site)
    }

    /// Creates an API key for a caller with scope `caller`. Site keys may only create keys
    /// for their own site; only admin keys create admin keys.
    pub async fn create_api_key(&self, caller: KeyScope, req: &CreateApiKeyRequest) -> EngineResult<CreatedApiKey> {
        let name = req.name.trim();
        if name.is_empty() {
            return Err(EngineError::invalid("validation_error", "`name` must not be empty"));
        }
        check_text("name", name, 200)?;
        let site_id = match (req.scope.as_deref().unwrap_or("site"), caller) {
            ("admin", KeyScope::Admin) => {
                if req.site_id.is_some() {
                    return Err(EngineError::invalid("validation_error", "an `admin` key spans every site: leave out `site_id`"));
                }
                None
            }
            ("admin", KeyScope::Site(_)) => {
                return Err(EngineError::invalid("forbidden", "only an admin key can create an admin key"));
            }
            ("site", KeyScope::Admin) => Some(match req.site_id {
                Some(s) => self.store.get_site(s).await?.ok_or_else(|| EngineError::NotFound(format!("no site with id {s}")))?.id,
                None => self.default_site_id().await?,
            }),
            ("site", KeyScope::Site(own)) => match req.site_id {
                Some(s) if s != own => return Err(EngineError::NotFound(format!("no site with id {s}"))),
                _ => Some(own),
            },
            (other, _) => {
                return Err(EngineError::invalid("validation_error", format!("`scope` must be `admin` or `site`, not `{other}`")));
            }
        };
        let GeneratedKey { secret, hash, prefix } = generate_api_key();
        let key = ApiKey {
            id: ApiKeyId::new(),
            name: name.to_string(),
            scope: if site_id.is_some() { "site" } else { "admin" }.into(),
            site_id,
            prefix,
            created_at: now(),
        };
        self.store.create_api_key(&key, &hash).await?;
        Ok(CreatedApiKey { api_key: key, key: secret })
    }

    /// Creates a mailbox in `site`, or returns the site's existing mailbox with the same
    /// `client_id`. The boolean tells whether a mailbox was created.
    pub async fn create_mailbox(&self, site: SiteId, req: &CreateMailboxRequest) -> EngineResult<(Mailbox, bool)> {
        Self::check_create_controls(req)?;
        let name = MailboxName::parse(&req.username).map_err(|e| EngineError::invalid("invalid_username", e.to_string()))?;
        let domain = req.domain.as_deref().map(|d| d.trim().to_ascii_lowercase()).unwrap_or_else(|| self.config.default_domain.clone());
        let site_domain = self.store.get_domain_by_name(&domain).await?;
        let hosted_for_site = self.is_hosted_domain(&domain) || site_domain.as_ref().is_some_and(|d| d.site_id == site);
        if !hosted_for_site {
            return Err(EngineError::invalid(
                "domain_not_hosted",
                format!(
                    "`{domain}` is not a domain this site hosts; add it with POST /v1/domains, or leave `domain` out to use `{}`",
                    self.config.default_domain
                ),
            ));
        }
        let address = EmailAddress::parse(&format!("{}@{domain}", name.as_str()))
            .map_err(|e| EngineError::invalid("invalid_email_address", e.to_string()))?;
        if let Some(d) = &req.display_name {
            check_text("display_name", d, 200)?;
        }
        if let Some(c) = &req.client_id {
            if c.is_empty() || c.len() > 200 || c.chars().any(|ch| ch.is_control()) {
                return Err(EngineError::invalid("validation_error", "`client_id` must be 1 to 200 characters without control characters"));
            }
            if let Some(existing) = self.store.get_mailbox_by_client_id(site, c).await? {
                return Ok((existing, false));
            }
        }
        let now = now();
        let mailbox = Mailbox {
            id: MailboxId::new(),
            site_id: site,
            address,
            display_name: req.display_name.clone().filter(|d| !d.trim().is_empty()),
            client_id: req.client_id.clone(),
            created_at: now,
            updated_at: now,
        };
        let event = NewEvent::new(site, Some(mailbox.id), MAILBOX_CREATED, serde_json::to_value(&mailbox).unwrap_or_default());
        match self.store.create_mailbox(&mailbox, &event).await {
            Ok(()) => {
                self.apply_create_controls(&mailbox, req).await?;
                Ok((mailbox, true))
            }
            // A concurrent create with the same client_id (on this node or another) won: the
            // database may report the address or the client_id as the clash, whichever it
            // checked first. Either way the winner's mailbox is the answer.
            Err(StoreError::Conflict { constraint }) => {
                let winner = match req.client_id.as_deref() {
                    Some(c) => self.store.get_mailbox_by_client_id(site, c).await?,
                    None => None,
                };
                match winner {
                    Some(existing) => Ok((existing, false)),
                    None if constraint == "mailbox_client_id" => Err(EngineError::Internal("client_id conflict without a mailbox".into())),
                    None => Err(EngineError::Conflict {
                        code: "address_taken",
                        message: format!("the address {} is already taken; choose another username", mailbox.address),
                    }),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a mailbox's display name.
    pub async fn update_mailbox(&self, mut mailbox: Mailbox, req: &UpdateMailboxRequest) -> EngineResult<Mailbox> {
        Self::check_update_controls(req)?;
        if let Some(d) = &req.display_name {
            check_text("display_name", d, 200)?;
            mailbox.display_name = Some(d.trim().to_string()).filter(|d| !d.is_empty());
        }
        if let Some(p) = req.approval_policy {
            // Issue 17: kept with the approval policies (see `drafts.rs`).
            self.set_approval_policy("mailbox", &mailbox.id.to_string(), p).await?;
        }
        mailbox.updated_at = now();
        let event = NewEvent::new(mailbox.site_id, Some(mailbox.id), MAILBOX_UPDATED, serde_json::to_value(&mailbox).unwrap_or_default());
        self.store.update_mailbox(&mailbox, &event).await?;
        self.apply_update_controls(&mailbox, req).await?;
        Ok(mailbox)
    }

    /// Deletes a mailbox with all its messages and their blobs.
    pub async fn delete_mailbox(&self, mailbox: &Mailbox) -> EngineResult<()> {
        let event = NewEvent::new(
            mailbox.site_id,
            Some(mailbox.id),
            MAILBOX_DELETED,
            serde_json::json!({"id": mailbox.id, "address": mailbox.address}),
        );
        let keys = self.store.delete_mailbox(mailbox.id, &event).await?;
        self.delete_blobs(keys).await;
        Ok(())
    }

    pub(crate) async fn delete_blobs(&self, keys: Vec<String>) {
        for key in keys {
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(blob = %key, error = %e, "could not delete a blob; it is orphaned");
            }
        }
    }
}
