//! Contacts, team members and secure tokens: the records the agent tools work from, with the
//! checks every interface applies before they are written.

use crate::access::not_found;
use crate::{Engine, EngineError, EngineResult};
use mailroom_core::agent::{Contact, SecureToken, TeamMember};
use mailroom_core::api::{
    ContactWithHistory, CreateSecureTokenRequest, CreateTeamMemberRequest, UpdateContactRequest, UpdateTeamMemberRequest, UpsertContactRequest,
};
use mailroom_core::{ContactId, EmailAddress, KeyScope, SecureTokenId, SiteId, TeamMemberId};

/// How many sent emails a contact's history shows.
pub const CONTACT_HISTORY_LIMIT: u32 = 100;

/// The largest team-member signature accepted, in bytes.
pub const MAX_SIGNATURE_BYTES: usize = 20 * 1024;

/// The largest sealed secure-token value accepted, in bytes of JSON.
const MAX_TOKEN_VALUE_BYTES: usize = 64 * 1024;

fn parse_email(raw: &str) -> EngineResult<EmailAddress> {
    EmailAddress::parse(raw.trim()).map_err(|e| EngineError::invalid("invalid_email_address", format!("`email`: {e}")))
}

fn check_external_id(id: &str) -> EngineResult<()> {
    if id.trim().is_empty() || id.len() > 255 {
        return Err(EngineError::invalid("validation_error", "`external_id` must be 1 to 255 characters"));
    }
    Ok(())
}

fn check_contact_name(name: &str) -> EngineResult<()> {
    if name.len() > 500 {
        return Err(EngineError::invalid("validation_error", "`name` must be at most 500 characters"));
    }
    Ok(())
}

fn merge_attributes(into: &mut serde_json::Map<String, serde_json::Value>, from: serde_json::Map<String, serde_json::Value>) {
    for (k, v) in from {
        if v.is_null() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}

fn check_member_name(name: &str) -> EngineResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.contains(['\r', '\n']) {
        return Err(EngineError::invalid("validation_error", "`name` must be 1 to 200 characters on one line"));
    }
    Ok(name.to_string())
}

fn check_signature(sig: &str) -> EngineResult<()> {
    if sig.len() > MAX_SIGNATURE_BYTES {
        return Err(EngineError::invalid("signature_too_large", format!("`signature_html` must be at most {MAX_SIGNATURE_BYTES} bytes")));
    }
    Ok(())
}

impl Engine {
    /// Checks that the owner is a team member of the contact's site.
    async fn check_contact_owner(&self, site: SiteId, owner: Option<TeamMemberId>) -> EngineResult<()> {
        if let Some(id) = owner {
            let found = self.store.get_team_member(id).await?.filter(|m| m.site_id == site);
            if found.is_none() {
                return Err(EngineError::invalid("invalid_owner", format!("`owner_team_member_id`: no team member with id {id} in this site")));
            }
        }
        Ok(())
    }

    /// Returns a contact the caller may see.
    pub async fn visible_contact(&self, scope: KeyScope, id: ContactId) -> EngineResult<Contact> {
        self.store.get_contact(id).await?.filter(|c| scope.allows(c.site_id)).ok_or_else(|| not_found("contact", id))
    }

    /// Creates a contact in the site the caller targets (`req.site_id`), or updates the site's
    /// contact with the same email (case-insensitive) or, failing that, the same external id.
    /// Attributes are merged into the existing ones. The boolean tells whether it was created.
    pub async fn upsert_contact(&self, scope: KeyScope, req: UpsertContactRequest) -> EngineResult<(Contact, bool)> {
        let site = self.target_site(scope, req.site_id).await?;
        let email = req.email.as_deref().map(parse_email).transpose()?;
        let external_id = req.external_id.as_deref().map(str::trim).map(str::to_string);
        if let Some(id) = &external_id {
            check_external_id(id)?;
        }
        if email.is_none() && external_id.is_none() {
            return Err(EngineError::invalid("missing_contact_identifier", "give `email` or `external_id` (or both)"));
        }
        if let Some(n) = &req.name {
            check_contact_name(n)?;
        }
        if let Some(Some(owner)) = req.owner_team_member_id {
            self.check_contact_owner(site, Some(owner)).await?;
        }
        let lower = email.as_ref().map(|e| e.as_str().to_ascii_lowercase());
        let existing = self.store.find_contact(site, lower.as_deref(), external_id.as_deref()).await?;
        let now = chrono::Utc::now();
        let created = existing.is_none();
        let mut contact = existing.unwrap_or_else(|| Contact {
            id: ContactId::new(),
            site_id: site,
            email: None,
            external_id: None,
            name: None,
            attributes: Default::default(),
            email_subscribed: None,
            marketing_opt_out: false,
            owner_team_member_id: None,
            created_at: now,
            updated_at: now,
        });
        if let Some(e) = email {
            contact.email = Some(e);
        }
        if let Some(id) = external_id {
            contact.external_id = Some(id);
        }
        if let Some(n) = req.name {
            contact.name = Some(n);
        }
        if let Some(a) = req.attributes {
            merge_attributes(&mut contact.attributes, a);
        }
        if let Some(s) = req.email_subscribed {
            contact.email_subscribed = s;
        }
        if let Some(o) = req.marketing_opt_out {
            contact.marketing_opt_out = o;
        }
        if let Some(o) = req.owner_team_member_id {
            contact.owner_team_member_id = o;
        }
        contact.updated_at = now;
        if created {
            self.store.create_contact(&contact).await?;
        } else {
            self.store.update_contact(&contact).await?;
        }
        Ok((contact, created))
    }

    /// Lists contacts of `site` (every site: `None`), newest first, before the cursor.
    pub async fn list_contacts(&self, site: Option<SiteId>, before: Option<ContactId>, limit: u32) -> EngineResult<Vec<Contact>> {
        Ok(self.store.list_contacts(site, before, limit).await?)
    }

    /// Returns a contact the caller may see with the emails the tools sent it, newest first.
    pub async fn contact_with_history(&self, scope: KeyScope, id: ContactId) -> EngineResult<ContactWithHistory> {
        let contact = self.visible_contact(scope, id).await?;
        let history = self.store.list_contact_sends(contact.id, CONTACT_HISTORY_LIMIT).await?;
        Ok(ContactWithHistory { contact, history })
    }

    /// Changes a contact the caller may see: only the fields given; attributes are merged.
    pub async fn update_contact(&self, scope: KeyScope, id: ContactId, req: UpdateContactRequest) -> EngineResult<Contact> {
        let mut contact = self.visible_contact(scope, id).await?;
        if let Some(e) = req.email {
            contact.email = e.as_deref().map(parse_email).transpose()?;
        }
        if let Some(x) = req.external_id {
            let x = x.map(|x| x.trim().to_string());
            if let Some(x) = &x {
                check_external_id(x)?;
            }
            contact.external_id = x;
        }
        if contact.email.is_none() && contact.external_id.is_none() {
            return Err(EngineError::invalid("missing_contact_identifier", "a contact keeps an `email` or an `external_id`"));
        }
        if let Some(n) = req.name {
            if let Some(n) = &n {
                check_contact_name(n)?;
            }
            contact.name = n;
        }
        if let Some(a) = req.attributes {
            merge_attributes(&mut contact.attributes, a);
        }
        if let Some(s) = req.email_subscribed {
            contact.email_subscribed = s;
        }
        if let Some(o) = req.marketing_opt_out {
            contact.marketing_opt_out = o;
        }
        if let Some(o) = req.owner_team_member_id {
            self.check_contact_owner(contact.site_id, o).await?;
            contact.owner_team_member_id = o;
        }
        contact.updated_at = chrono::Utc::now();
        self.store.update_contact(&contact).await?;
        Ok(contact)
    }

    /// Deletes a contact the caller may see; the emails sent to it and the tool runs about it stay.
    pub async fn delete_contact(&self, scope: KeyScope, id: ContactId) -> EngineResult<()> {
        let contact = self.visible_contact(scope, id).await?;
        if self.store.delete_contact(contact.id).await? { Ok(()) } else { Err(not_found("contact", id)) }
    }

    /// Records a contact's answer to the consent request (`email_subscribed`).
    pub async fn record_consent(&self, scope: KeyScope, id: ContactId, granted: bool) -> EngineResult<Contact> {
        let mut contact = self.visible_contact(scope, id).await?;
        contact.email_subscribed = Some(granted);
        contact.updated_at = chrono::Utc::now();
        self.store.update_contact(&contact).await?;
        Ok(contact)
    }

    /// Returns a team member the caller may see.
    pub async fn visible_team_member(&self, scope: KeyScope, id: TeamMemberId) -> EngineResult<TeamMember> {
        self.store.get_team_member(id).await?.filter(|m| scope.allows(m.site_id)).ok_or_else(|| not_found("team member", id))
    }

    /// Creates a team member sending from a mailbox the caller may see; the member belongs to
    /// the mailbox's site.
    pub async fn create_team_member(&self, scope: KeyScope, req: CreateTeamMemberRequest) -> EngineResult<TeamMember> {
        let name = check_member_name(&req.name)?;
        if let Some(s) = &req.signature_html {
            check_signature(s)?;
        }
        let mailbox = self.visible_mailbox(scope, req.mailbox_id).await?;
        let now = chrono::Utc::now();
        let member = TeamMember {
            id: TeamMemberId::new(),
            site_id: mailbox.site_id,
            name,
            mailbox_id: mailbox.id,
            signature_html: req.signature_html,
            created_at: now,
            updated_at: now,
        };
        self.store.create_team_member(&member).await?;
        Ok(member)
    }

    /// Lists team members of `site` (every site: `None`), oldest first.
    pub async fn list_team_members(&self, site: Option<SiteId>) -> EngineResult<Vec<TeamMember>> {
        Ok(self.store.list_team_members(site).await?)
    }

    /// Changes a team member's name, mailbox (of the same site) or signature.
    pub async fn update_team_member(&self, scope: KeyScope, id: TeamMemberId, req: UpdateTeamMemberRequest) -> EngineResult<TeamMember> {
        let mut member = self.visible_team_member(scope, id).await?;
        if let Some(n) = &req.name {
            member.name = check_member_name(n)?;
        }
        if let Some(s) = req.signature_html {
            if let Some(s) = &s {
                check_signature(s)?;
            }
            member.signature_html = s;
        }
        if let Some(mb) = req.mailbox_id {
            let mailbox = self.visible_mailbox(scope, mb).await?;
            if mailbox.site_id != member.site_id {
                return Err(EngineError::invalid("mailbox_site_mismatch", "`mailbox_id` must be a mailbox of the team member's site"));
            }
            member.mailbox_id = mailbox.id;
        }
        member.updated_at = chrono::Utc::now();
        self.store.update_team_member(&member).await?;
        Ok(member)
    }

    /// Deletes a team member; the contacts they owned are left without an owner.
    pub async fn delete_team_member(&self, scope: KeyScope, id: TeamMemberId) -> EngineResult<()> {
        let member = self.visible_team_member(scope, id).await?;
        if self.store.delete_team_member(member.id).await? { Ok(()) } else { Err(not_found("team member", id)) }
    }

    /// Stores a secret for the site, sealed with the server key; a token with the same type
    /// and identifier is replaced. The answer holds the metadata only, never the value.
    pub async fn put_secure_token(&self, scope: KeyScope, req: CreateSecureTokenRequest) -> EngineResult<SecureToken> {
        let invalid = |m: String| EngineError::invalid("validation_error", m);
        let site = self.target_site(scope, Some(req.site_id)).await?;
        let token_type = req.token_type.trim();
        let identifier = req.identifier.trim();
        if token_type.is_empty() || token_type.len() > 64 {
            return Err(invalid("`token_type` must be 1 to 64 characters".into()));
        }
        if identifier.is_empty() || identifier.len() > 255 {
            return Err(invalid("`identifier` must be 1 to 255 characters".into()));
        }
        if req.token_value.is_null() {
            return Err(invalid("`token_value` must not be null".into()));
        }
        // SMTP credentials: the host must be public (SSRF guard) and the security mode known.
        if token_type == "email" {
            self.check_smtp_token(&req.token_value).await?;
        }
        let plain = serde_json::to_vec(&req.token_value).map_err(|_| EngineError::Internal("secure token value does not serialise".into()))?;
        if plain.len() > MAX_TOKEN_VALUE_BYTES {
            return Err(invalid(format!("`token_value` must be at most {MAX_TOKEN_VALUE_BYTES} bytes of JSON")));
        }
        let now = chrono::Utc::now();
        let token = SecureToken {
            id: SecureTokenId::new(),
            site_id: site,
            token_type: token_type.to_string(),
            identifier: identifier.to_string(),
            value_encrypted: self.secrets.seal(&plain),
            created_at: now,
            updated_at: now,
        };
        drop(plain);
        Ok(self.store.put_secure_token(&token).await?)
    }

    /// Lists the tokens (metadata only) of the site the caller targets.
    pub async fn list_secure_tokens(&self, scope: KeyScope, site: Option<SiteId>) -> EngineResult<Vec<SecureToken>> {
        let site = self.target_site(scope, site).await?;
        Ok(self.store.list_secure_tokens(site).await?)
    }

    /// Deletes a token of a site the caller may reach (admin keys without `site`: any site).
    pub async fn delete_secure_token(&self, scope: KeyScope, id: SecureTokenId, site: Option<SiteId>) -> EngineResult<()> {
        // The store lists tokens by site: look among the sites the caller may reach.
        let sites = match (scope, site) {
            (KeyScope::Admin, None) => self.store.list_sites().await?.into_iter().map(|s| s.id).collect(),
            _ => vec![self.target_site(scope, site).await?],
        };
        let mut owned = false;
        for site in sites {
            if self.store.list_secure_tokens(site).await?.iter().any(|t| t.id == id) {
                owned = true;
                break;
            }
        }
        if owned && self.store.delete_secure_token(id).await? { Ok(()) } else { Err(not_found("secure token", id)) }
    }
}
