//! Drafts, scheduled sends and approvals (issue 17): the records and the API shapes.
//!
//! A [`Draft`] is an outbound message that has not left yet: kept for later (`draft`), due at
//! a time (`scheduled`), or waiting for a person (`pending_approval`). It becomes a stored,
//! sent message with the id it reserved ([`Draft::message_id`]) once it is released, so a
//! scheduled send is answered with the id its message will have.

use crate::api::SendMessageRequest;
use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Event types of drafts, scheduled sends and approvals.
pub mod draft_events {
    /// A message was scheduled to be sent later (`send_at`).
    pub const MESSAGE_SCHEDULED: &str = "message.scheduled";
    /// A scheduled or held message was cancelled before it left.
    pub const MESSAGE_CANCELLED: &str = "message.cancelled";
    /// An outbound message waits for a person to approve it.
    pub const APPROVAL_REQUESTED: &str = "approval.requested";
    /// A person approved a held message; it is sent (or scheduled) now.
    pub const APPROVAL_APPROVED: &str = "approval.approved";
    /// A person rejected a held message; it is never sent.
    pub const APPROVAL_REJECTED: &str = "approval.rejected";
    /// All of them, for webhook event filters.
    pub const ALL: &[&str] = &[MESSAGE_SCHEDULED, MESSAGE_CANCELLED, APPROVAL_REQUESTED, APPROVAL_APPROVED, APPROVAL_REJECTED];
}

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    /// Kept; nothing is sent until `POST /v1/drafts/{id}/send`.
    Draft,
    /// Will be sent at `send_at`.
    Scheduled,
    /// Waits for a person to approve it.
    PendingApproval,
    /// Being sent right now (leased by one node); cannot be cancelled any more.
    Sending,
    /// Sent: `message_id` is the stored message.
    Sent,
    /// Cancelled before it left; never sent.
    Cancelled,
    /// Rejected by a person; never sent.
    Rejected,
    /// Refused when it was due (a recipient suppressed or blocked meanwhile); never sent.
    Failed,
}

impl DraftStatus {
    /// The name stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::PendingApproval => "pending_approval",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    /// Whether the draft is still open (may change or be sent).
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Draft | Self::Scheduled | Self::PendingApproval)
    }
}

impl std::str::FromStr for DraftStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "draft" => Self::Draft,
            "scheduled" => Self::Scheduled,
            "pending_approval" => Self::PendingApproval,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "cancelled" => Self::Cancelled,
            "rejected" => Self::Rejected,
            "failed" => Self::Failed,
            other => return Err(format!("unknown draft status `{other}`")),
        })
    }
}

/// Whether outbound mail needs a person's approval before it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalPolicy {
    /// Sent without approval.
    #[default]
    None,
    /// Approval when any recipient is one the site has never mailed.
    FirstContact,
    /// Every message needs approval.
    All,
}

impl ApprovalPolicy {
    /// The name stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::FirstContact => "first_contact",
            Self::All => "all",
        }
    }
}

impl std::str::FromStr for ApprovalPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "none" => Self::None,
            "first_contact" => Self::FirstContact,
            "all" => Self::All,
            other => return Err(format!("unknown approval policy `{other}` (none, all or first_contact)")),
        })
    }
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a decision.
    Pending,
    /// Approved: the message is sent.
    Approved,
    /// Rejected: the message is never sent.
    Rejected,
    /// The draft was cancelled (deleted) while waiting.
    Cancelled,
}

impl ApprovalStatus {
    /// The name stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for ApprovalStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "cancelled" => Self::Cancelled,
            other => return Err(format!("unknown approval status `{other}`")),
        })
    }
}

/// Who or what proposed a message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Proposer {
    /// `api` (a REST call), `mcp` (an agent over MCP), `tool` (an agent tool run) or `console`.
    pub kind: String,
    /// The API key's id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    /// The tool run that proposed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_run_id: Option<ToolRunId>,
    /// The tool config the run used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config_id: Option<ToolConfigId>,
    /// A free-form label (an agent's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// An approval request for a held message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    /// The approval's id.
    pub id: ApprovalId,
    /// The draft holding the message.
    pub draft_id: DraftId,
    /// The id the message has once sent.
    pub message_id: MessageId,
    /// The mailbox it is sent from.
    pub mailbox_id: MailboxId,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// Which policy asked for it (`all` or `first_contact`) and from where (`mailbox`, `site`,
    /// `tool_config`).
    pub policy: ApprovalPolicy,
    /// The scope whose policy applied.
    pub policy_source: String,
    /// The recipients that triggered `first_contact` (empty for `all`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_contacts: Vec<String>,
    /// Who or what proposed the message.
    pub proposed_by: Proposer,
    /// When approval was requested.
    pub requested_at: DateTime<Utc>,
    /// Who decided (`api_key:<id>`, `console:<key prefix>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// The approver's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The draft revision the decision was about.
    pub revision: u32,
}

/// An earlier content of a draft, kept when it is edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DraftRevision {
    /// The revision number (1 is the first content).
    pub revision: u32,
    /// The content it had.
    pub content: SendMessageRequest,
    /// When this content was replaced.
    pub replaced_at: DateTime<Utc>,
    /// Who replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
}

/// Why a due draft was not sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DraftError {
    /// A machine-readable code (`recipient_suppressed`, …).
    pub code: String,
    /// What happened.
    pub message: String,
}

/// A message not sent yet (or the record of one that was).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Draft {
    /// The draft's id.
    pub id: DraftId,
    /// The site.
    pub site_id: SiteId,
    /// The mailbox it is sent from.
    pub mailbox_id: MailboxId,
    /// Where it stands.
    pub status: DraftStatus,
    /// The content: the body of a send (`to`, `subject`, `text`, `in_reply_to`, …).
    pub content: SendMessageRequest,
    /// The thread it joins (a reply draft), or none for a new conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<ThreadId>,
    /// When it is (or was) due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<DateTime<Utc>>,
    /// The id its message has once sent (`GET /v1/messages/{id}`, `POST /v1/messages/{id}/cancel`).
    pub message_id: MessageId,
    /// The content's revision: 1, then one more per edit.
    pub revision: u32,
    /// Earlier contents, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<DraftRevision>,
    /// The approval, when one was needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Who or what proposed it.
    pub proposed_by: Proposer,
    /// Why it failed, when `status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<DraftError>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency counter, bumped by every store write.
    #[serde(default)]
    pub version: u32,
}

/// `POST /v1/mailboxes/{id}/drafts`: the body of a send (with `send_at` to schedule it once
/// it is sent, and `in_reply_to` for a reply draft).
pub type CreateDraftRequest = SendMessageRequest;

/// `PATCH /v1/drafts/{id}`: the fields to change; absent ones are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDraftRequest {
    /// New `To` recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// New `Cc` recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<Vec<String>>,
    /// New blind-copy recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcc: Option<Vec<String>>,
    /// New subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// New plain-text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// New HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// New send time (RFC 3339); an empty string removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
}

/// `POST /v1/drafts/{id}/send`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendDraftRequest {
    /// Sends later instead of now (RFC 3339); overrides the draft's own `send_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
}

/// `POST /v1/approvals/{id}/approve` and `/reject`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDecision {
    /// A note kept with the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `PATCH /v1/sites/{id}` and the tool-config approval setting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicyRequest {
    /// `none`, `all` or `first_contact`.
    pub approval_policy: ApprovalPolicy,
}

/// The approval policy of a site, mailbox or tool config.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalPolicySetting {
    /// `site`, `mailbox` or `tool_config`.
    pub scope: String,
    /// The site, mailbox or tool config id.
    pub id: String,
    /// The policy.
    pub approval_policy: ApprovalPolicy,
}

/// The `202` answer of a send that did not leave at once (scheduled or held for approval).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeldSendResponse {
    /// The id the message has once sent.
    pub id: MessageId,
    /// `scheduled` or `pending_approval`.
    pub status: DraftStatus,
    /// The draft holding it (`GET /v1/drafts/{id}`; `DELETE` cancels).
    pub draft_id: DraftId,
    /// The thread it joins, when it is a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<ThreadId>,
    /// When it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<DateTime<Utc>>,
    /// The approval it waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<ApprovalId>,
    /// The recipients (to, cc, bcc).
    pub recipients: Vec<String>,
}

/// A draft as the approvals page and `GET /v1/approvals` show it: the approval with its draft.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalItem {
    /// The approval.
    #[serde(flatten)]
    pub approval: Approval,
    /// The draft (content, revision, status).
    pub draft: Draft,
}
