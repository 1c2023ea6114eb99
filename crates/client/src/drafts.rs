//! Drafts, scheduled sends and approvals (issue 17).

use super::*;
use mailroom_core::api::Page;
use mailroom_core::{ApprovalId, DraftId, MailboxId, MessageId, SiteId};
use mailroom_core::api::{ReplyRequest, SendMessageRequest, SendMessageResponse};
use mailroom_core::drafts::*;

/// What a send became: sent now, or held (scheduled, or waiting for approval).
#[derive(Debug, Clone)]
pub enum SendResult {
    /// Sent now.
    Sent(SendMessageResponse),
    /// Held: `status` is `scheduled` or `pending_approval`.
    Held(HeldSendResponse),
}

impl SendResult {
    /// The id the message has (or will have once sent).
    pub fn message_id(&self) -> MessageId {
        match self {
            SendResult::Sent(s) => s.id,
            SendResult::Held(h) => h.id,
        }
    }

    /// The held answer, if the message did not leave at once.
    pub fn held(&self) -> Option<&HeldSendResponse> {
        match self {
            SendResult::Held(h) => Some(h),
            SendResult::Sent(_) => None,
        }
    }
}

fn send_result(what: &str, value: serde_json::Value) -> Result<SendResult, ClientError> {
    let held = value.get("status").and_then(|s| s.as_str()).is_some_and(|s| s != "sent");
    let body = serde_json::to_vec(&value).unwrap_or_default();
    if held { decode(what, &body).map(SendResult::Held) } else { decode(what, &body).map(SendResult::Sent) }
}

#[derive(Serialize)]
struct DraftListQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

#[derive(Serialize)]
struct ApprovalListQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

impl Client {
    /// Sends a message, or has it held (`POST /v1/mailboxes/{id}/messages`): with `send_at`
    /// it is scheduled; with an approval policy it waits for approval.
    pub async fn send_or_hold(&self, mailbox: MailboxId, req: &SendMessageRequest, idempotency_key: Option<&str>) -> Result<SendResult, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/messages");
        let rb = with_idempotency_key(self.request(Method::POST, &path).json(req), idempotency_key)?;
        let v: serde_json::Value = self.json(Method::POST, &path, rb).await?;
        send_result(&format!("POST {path}"), v)
    }

    /// Replies to a message, or has the reply held (`POST /v1/messages/{id}/reply`).
    pub async fn reply_or_hold(&self, id: MessageId, req: &ReplyRequest, idempotency_key: Option<&str>) -> Result<SendResult, ClientError> {
        let path = format!("/v1/messages/{id}/reply");
        let rb = with_idempotency_key(self.request(Method::POST, &path).json(req), idempotency_key)?;
        let v: serde_json::Value = self.json(Method::POST, &path, rb).await?;
        send_result(&format!("POST {path}"), v)
    }

    /// Creates a draft (`POST /v1/mailboxes/{id}/drafts`); nothing is sent.
    pub async fn create_draft(&self, mailbox: MailboxId, req: &SendMessageRequest, idempotency_key: Option<&str>) -> Result<Draft, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/drafts");
        let rb = with_idempotency_key(self.request(Method::POST, &path).json(req), idempotency_key)?;
        self.json(Method::POST, &path, rb).await
    }

    /// Lists a mailbox's drafts, newest first (`GET /v1/mailboxes/{id}/drafts`); `status` is
    /// a comma-separated list of draft statuses.
    pub async fn list_drafts(&self, mailbox: MailboxId, status: Option<&str>, cursor: Option<&str>, limit: Option<u32>) -> Result<Page<Draft>, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/drafts");
        self.json(Method::GET, &path, self.request(Method::GET, &path).query(&DraftListQuery { status, cursor, limit })).await
    }

    /// Returns a draft (`GET /v1/drafts/{id}`).
    pub async fn get_draft(&self, id: DraftId) -> Result<Draft, ClientError> {
        let path = format!("/v1/drafts/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Edits an open draft (`PATCH /v1/drafts/{id}`).
    pub async fn update_draft(&self, id: DraftId, req: &UpdateDraftRequest) -> Result<Draft, ClientError> {
        let path = format!("/v1/drafts/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Deletes a draft (`DELETE /v1/drafts/{id}`); a scheduled or held one is cancelled.
    pub async fn delete_draft(&self, id: DraftId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/drafts/{id}"))).await
    }

    /// Sends a draft (`POST /v1/drafts/{id}/send`), now, at `send_at`, or once approved.
    pub async fn send_draft(&self, id: DraftId, req: &SendDraftRequest, idempotency_key: Option<&str>) -> Result<SendResult, ClientError> {
        let path = format!("/v1/drafts/{id}/send");
        let rb = with_idempotency_key(self.request(Method::POST, &path).json(req), idempotency_key)?;
        let v: serde_json::Value = self.json(Method::POST, &path, rb).await?;
        send_result(&format!("POST {path}"), v)
    }

    /// Cancels a scheduled or held message (`POST /v1/messages/{id}/cancel`).
    pub async fn cancel_message(&self, id: MessageId) -> Result<Draft, ClientError> {
        let path = format!("/v1/messages/{id}/cancel");
        self.json(Method::POST, &path, self.request(Method::POST, &path)).await
    }

    /// Lists approvals, pending first (`GET /v1/approvals`).
    pub async fn list_approvals(&self, status: Option<&str>, limit: Option<u32>) -> Result<Page<ApprovalItem>, ClientError> {
        self.json(Method::GET, "/v1/approvals", self.request(Method::GET, "/v1/approvals").query(&ApprovalListQuery { status, limit })).await
    }

    /// Returns one approval (`GET /v1/approvals/{id}`).
    pub async fn get_approval(&self, id: ApprovalId) -> Result<ApprovalItem, ClientError> {
        let path = format!("/v1/approvals/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Waits up to `timeout_secs` (0-60) for an approval to be decided
    /// (`GET /v1/approvals/{id}/wait`); still `pending` on timeout.
    pub async fn wait_for_approval(&self, id: ApprovalId, timeout_secs: u64) -> Result<ApprovalItem, ClientError> {
        let path = format!("/v1/approvals/{id}/wait");
        self.json(Method::GET, &path, self.request(Method::GET, &path).query(&[("timeout", timeout_secs)])).await
    }

    /// Approves a held message (`POST /v1/approvals/{id}/approve`).
    pub async fn approve(&self, id: ApprovalId, note: Option<&str>) -> Result<ApprovalItem, ClientError> {
        let path = format!("/v1/approvals/{id}/approve");
        let body = ApprovalDecision { note: note.map(str::to_string) };
        self.json(Method::POST, &path, self.request(Method::POST, &path).json(&body)).await
    }

    /// Rejects a held message (`POST /v1/approvals/{id}/reject`).
    pub async fn reject(&self, id: ApprovalId, note: Option<&str>) -> Result<ApprovalItem, ClientError> {
        let path = format!("/v1/approvals/{id}/reject");
        let body = ApprovalDecision { note: note.map(str::to_string) };
        self.json(Method::POST, &path, self.request(Method::POST, &path).json(&body)).await
    }

    /// Sets a site's approval policy (`PATCH /v1/sites/{id}`, admin keys).
    pub async fn set_site_approval_policy(&self, site: SiteId, policy: ApprovalPolicy) -> Result<mailroom_core::controls::ControlsView, ClientError> {
        let req = mailroom_core::controls::UpdateSiteRequest { approval_policy: Some(policy), ..Default::default() };
        self.update_site(site, &req).await
    }

    /// Returns a mailbox's approval policy (`GET /v1/mailboxes/{id}/approval-policy`).
    pub async fn mailbox_approval_policy(&self, mailbox: MailboxId) -> Result<ApprovalPolicySetting, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/approval-policy");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }
}
