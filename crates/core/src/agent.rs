//! The records behind the agent email tools (seeds 000, 001, 002): contacts with consent,
//! team members, site sending settings, secure tokens, tool configs, tool runs and the record
//! of every email the tools sent (for duplicate detection and provider sync).

use crate::address::EmailAddress;
use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A person a site emails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    /// The contact's id.
    pub id: ContactId,
    /// The owning site.
    pub site_id: SiteId,
    /// The email address, when known.
    #[serde(default)]
    pub email: Option<EmailAddress>,
    /// The caller's own id for this person (CRM id, lead id…).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
    /// Free attributes: company, plan tier, milestones, language…
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Consent to informational email: `true`, `false` (opted out: ask first), or unset.
    #[serde(default)]
    pub email_subscribed: Option<bool>,
    /// Opted out of marketing / one-to-one outreach.
    #[serde(default)]
    pub marketing_opt_out: bool,
    /// The team member who owns the relationship.
    #[serde(default)]
    pub owner_team_member_id: Option<TeamMemberId>,
    /// When the contact was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A human sender identity mapped to a mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamMember {
    /// The member's id.
    pub id: TeamMemberId,
    /// The owning site.
    pub site_id: SiteId,
    /// The name shown in `From`.
    pub name: String,
    /// The mailbox the member sends from.
    pub mailbox_id: MailboxId,
    /// The HTML signature appended to their emails.
    #[serde(default)]
    pub signature_html: Option<String>,
    /// When the member was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A secret a site stores for a tool (seed 002's `secure_tokens`), sealed at rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecureToken {
    /// The token's id.
    pub id: SecureTokenId,
    /// The owning site.
    pub site_id: SiteId,
    /// The kind, such as `email` (SMTP credentials).
    pub token_type: String,
    /// What it is for, such as the SMTP account's address.
    pub identifier: String,
    /// The value (a JSON document), sealed with the server key; never returned.
    #[serde(skip)]
    pub value_encrypted: Vec<u8>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it was last replaced.
    pub updated_at: DateTime<Utc>,
}

/// A builder-configured instance of an agent tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolConfig {
    /// The config's id.
    pub id: ToolConfigId,
    /// The owning site.
    pub site_id: SiteId,
    /// The tool name agents call (unique per site), such as `welcome_followup`.
    pub name: String,
    /// The underlying tool: `send_email`, `send_one_to_one_email` or `send_information_email`.
    pub tool: String,
    /// The builder's prompt: when to use the tool and the quality bar; agents see it as the
    /// tool's description.
    pub prompt: String,
    /// Tool-specific settings (sender rule, default cc/bcc, `complete_on_send_failure`,
    /// allowed templates…), validated by the tools crate.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The audit record of one tool invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolRun {
    /// The run's id.
    pub id: ToolRunId,
    /// The owning site.
    pub site_id: SiteId,
    /// The tool invoked.
    pub tool: String,
    /// The tool config used, if any.
    #[serde(default)]
    pub tool_config_id: Option<ToolConfigId>,
    /// The contact concerned, if any.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// `success`, `failure`, `skipped`, `consent_required`, `sent`, …
    pub status: String,
    /// The reason code (`duplicate_email`, `user_marketing_email_opt_out`, …), if any.
    #[serde(default)]
    pub code: Option<String>,
    /// Whether it was a dry run (nothing sent).
    pub dry_run: bool,
    /// The inputs, secrets redacted.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// Each check and its result, in order: `[{name, passed, detail}]`.
    #[schema(value_type = Vec<Object>)]
    pub checks: serde_json::Value,
    /// The decision taken and why.
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
    /// The outputs returned to the caller.
    #[schema(value_type = Object)]
    pub outputs: serde_json::Value,
    /// The message sent, if any.
    #[serde(default)]
    pub message_id: Option<MessageId>,
    /// When the run happened.
    pub created_at: DateTime<Utc>,
    /// Where the delivery of `message_id` stands, read from the message's recipients when the
    /// run is read (not stored): the final outcome of a send the tool answered once queued.
    /// Absent when the run sent nothing (or the message is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<ToolRunDelivery>,
}

/// The delivery outcome of the message a tool run sent (`ToolRun.delivery`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolRunDelivery {
    /// All recipients alike: their status (`queued`, `sending`, `deferred`, `delivered`,
    /// `bounced` or `failed`); otherwise `pending` while any is not final, else `partial`.
    pub status: String,
    /// Each recipient (to, cc and bcc) with its status and the last SMTP reply.
    pub recipients: Vec<ToolRunRecipient>,
}

/// One recipient of a tool run's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolRunRecipient {
    /// The address.
    pub address: EmailAddress,
    /// `to`, `cc` or `bcc`.
    pub kind: crate::model::RecipientKind,
    /// Where its delivery stands.
    pub status: crate::model::DeliveryStatus,
    /// The last SMTP reply or delivery note.
    #[serde(default)]
    pub last_reply: Option<String>,
}

impl ToolRunDelivery {
    /// The outcome of a message with `recipients`; `None` when it has none (inbound, or gone).
    pub fn of(recipients: &[crate::model::Recipient]) -> Option<ToolRunDelivery> {
        let first = recipients.first()?;
        let status = if recipients.iter().all(|r| r.status == first.status) {
            first.status.as_str()
        } else if recipients.iter().any(|r| !r.status.is_final()) {
            "pending"
        } else {
            "partial"
        };
        Some(ToolRunDelivery {
            status: status.to_string(),
            recipients: recipients
                .iter()
                .map(|r| ToolRunRecipient { address: r.address.clone(), kind: r.kind, status: r.status, last_reply: r.last_reply.clone() })
                .collect(),
        })
    }
}

/// An email the tools sent: the duplicate check reads these, and a provider sync uses
/// `(provider, external_message_id)` to never import the same email twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentEmail {
    /// The record's id (the tools' `email_id`).
    pub id: SentEmailId,
    /// The owning site.
    pub site_id: SiteId,
    /// The recipient, lower-cased.
    pub recipient: String,
    /// The contact, if known.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// The tool that sent it.
    pub tool: String,
    /// `agent_email` (a Mailroom mailbox) or `smtp` (the site's SMTP account).
    pub provider: String,
    /// The provider's message id (the `Message-ID`).
    pub external_message_id: String,
    /// The stored message, when sent through a Mailroom mailbox.
    #[serde(default)]
    pub message_id: Option<MessageId>,
    /// The subject.
    pub subject: String,
    /// SHA-256 of the normalised subject and body: exact duplicates.
    pub content_hash: String,
    /// 64-bit SimHash of the normalised text (hex): near duplicates.
    pub simhash: String,
    /// The template used (informational emails).
    #[serde(default)]
    pub template: Option<String>,
    /// Conversation, agent and lead ids given by the caller.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

/// The names of MCP's built-in tools (mailbox tools). A tool config may not take one of these
/// names: MCP would have two tools of one name and leave the config out.
pub const MCP_BUILTIN_TOOL_NAMES: &[&str] = &[
    "list_mailboxes",
    "create_mailbox",
    "delete_mailbox",
    "list_threads",
    "get_thread",
    "get_message",
    "search_messages",
    "send_message",
    "reply_to_message",
    "forward_message",
    "update_message",
    "wait_for_message",
    // Issue 17: drafts and approvals.
    "create_draft",
    "update_draft",
    "send_draft",
    "list_drafts",
    "delete_draft",
    "wait_for_approval",
    "list_contacts",
    "upsert_contact",
    "grant_consent",
    "list_lists",
];
