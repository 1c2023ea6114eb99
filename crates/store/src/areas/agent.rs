//! The agent tools' records: contacts, team members, site settings, secure tokens, tool configs, tool runs and sent emails.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// The agent tools' records: contacts, team members, site settings, secure tokens, tool configs, tool runs and sent emails.
#[async_trait]
pub trait AgentStore: Send + Sync + 'static {
    /// Creates a contact. `Conflict` with `contact_email` when the site has a contact with the
    /// same (lower-cased) email, `contact_external_id` with the same external id.
    async fn create_contact(&self, contact: &Contact) -> StoreResult<()>;

    /// Saves every mutable field of a contact (email, external id, name, attributes, consent,
    /// opt-out, owner, updated_at); the same conflicts as `create_contact`.
    async fn update_contact(&self, contact: &Contact) -> StoreResult<()>;

    /// Returns a contact by id.
    async fn get_contact(&self, id: ContactId) -> StoreResult<Option<Contact>>;

    /// Returns the site's contact with this email (compared lower-cased), else with this
    /// external id.
    async fn find_contact(&self, site: SiteId, email: Option<&str>, external_id: Option<&str>) -> StoreResult<Option<Contact>>;

    /// Lists contacts newest first with ids lower than `before`: of one site or all.
    async fn list_contacts(&self, site: Option<SiteId>, before: Option<ContactId>, limit: u32) -> StoreResult<Vec<Contact>>;

    /// Deletes a contact, keeping its sent emails and tool runs (without the contact); returns
    /// whether it existed.
    async fn delete_contact(&self, id: ContactId) -> StoreResult<bool>;

    /// Creates a team member.
    async fn create_team_member(&self, member: &TeamMember) -> StoreResult<()>;

    /// Saves a team member's name, mailbox, signature and updated_at.
    async fn update_team_member(&self, member: &TeamMember) -> StoreResult<()>;

    /// Returns a team member by id.
    async fn get_team_member(&self, id: TeamMemberId) -> StoreResult<Option<TeamMember>>;

    /// Lists team members oldest first: of one site or all.
    async fn list_team_members(&self, site: Option<SiteId>) -> StoreResult<Vec<TeamMember>>;

    /// Deletes a team member, leaving the contacts they owned without an owner; returns
    /// whether it existed.
    async fn delete_team_member(&self, id: TeamMemberId) -> StoreResult<bool>;

    /// Returns a site's sending settings document (seed 002's `settings.channels`, the
    /// informational-email configuration, …), if one was stored.
    async fn get_site_settings(&self, site: SiteId) -> StoreResult<Option<serde_json::Value>>;

    /// Replaces a site's sending settings document.
    async fn put_site_settings(&self, site: SiteId, settings: &serde_json::Value) -> StoreResult<()>;

    /// Stores a secure token, replacing the value of an existing one with the same site, type
    /// and identifier (which keeps its id and created_at); returns the stored record.
    async fn put_secure_token(&self, token: &SecureToken) -> StoreResult<SecureToken>;

    /// Returns the site's token of this type and identifier.
    async fn get_secure_token(&self, site: SiteId, token_type: &str, identifier: &str) -> StoreResult<Option<SecureToken>>;

    /// Lists a site's tokens (type, identifier, times; values stay sealed), oldest first.
    async fn list_secure_tokens(&self, site: SiteId) -> StoreResult<Vec<SecureToken>>;

    /// Deletes a token; returns whether it existed.
    async fn delete_secure_token(&self, id: SecureTokenId) -> StoreResult<bool>;

    /// Creates a tool config. `Conflict` with `tool_config_name` when the site has one with the
    /// same name.
    async fn create_tool_config(&self, config: &ToolConfig) -> StoreResult<()>;

    /// Saves a tool config's name, prompt, settings and updated_at.
    async fn update_tool_config(&self, config: &ToolConfig) -> StoreResult<()>;

    /// Returns a tool config by id.
    async fn get_tool_config(&self, id: ToolConfigId) -> StoreResult<Option<ToolConfig>>;

    /// Returns the site's tool config with this name.
    async fn get_tool_config_by_name(&self, site: SiteId, name: &str) -> StoreResult<Option<ToolConfig>>;

    /// Lists tool configs by name (bytewise): of one site or all.
    async fn list_tool_configs(&self, site: Option<SiteId>) -> StoreResult<Vec<ToolConfig>>;

    /// Deletes a tool config, keeping its tool runs (without the config); returns whether it
    /// existed.
    async fn delete_tool_config(&self, id: ToolConfigId) -> StoreResult<bool>;

    /// Records a tool run, appending `events` in the same transaction.
    async fn insert_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> StoreResult<()>;

    /// Returns a tool run by id.
    async fn get_tool_run(&self, id: ToolRunId) -> StoreResult<Option<ToolRun>>;

    /// Lists tool runs, newest first (by id); `since` is inclusive, `until` exclusive.
    async fn list_tool_runs(&self, filter: &ToolRunFilter) -> StoreResult<Vec<ToolRun>>;

    /// Records an email the tools sent (the recipient is stored lower-cased). `Conflict` with
    /// `sent_email_external_id` when the site has one with the same provider and external
    /// message id.
    async fn insert_sent_email(&self, sent: &SentEmail) -> StoreResult<()>;

    /// Lists the site's emails to `recipient` (lower-cased) sent at or after `since`, newest
    /// first, at most `limit`: what the duplicate check compares against.
    async fn list_sent_emails(&self, site: SiteId, recipient: &str, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>>;

    /// Lists the emails sent to a contact, newest first (its history).
    async fn list_contact_sends(&self, contact: ContactId, limit: u32) -> StoreResult<Vec<SentEmail>>;

    /// Returns the site's sent email with this provider and external message id.
    async fn find_sent_email(&self, site: SiteId, provider: &str, external_message_id: &str) -> StoreResult<Option<SentEmail>>;

    /// Records `sent` (a reservation made before sending) and returns the site's earlier emails
    /// to the same recipient since `since`, newest first, at most `limit` — atomically per
    /// recipient: of two concurrent reservations for one recipient (on any nodes), the later
    /// one always sees the earlier one.
    async fn reserve_sent_email(&self, sent: &SentEmail, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>>;

    /// Completes a sent email recorded before its send (a reservation): sets the provider, its
    /// external message id and the stored message. Returns whether the record exists.
    async fn complete_sent_email(&self, id: SentEmailId, provider: &str, external_message_id: &str, message: Option<MessageId>) -> StoreResult<bool>;

    /// Deletes a sent email (a reservation whose send was abandoned). Returns whether it existed.
    async fn delete_sent_email(&self, id: SentEmailId) -> StoreResult<bool>;
}
