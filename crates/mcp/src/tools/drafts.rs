//! The draft and approval tools (issue 17): create, edit, send, list and delete drafts, and
//! wait for a person's decision on a held message.

use super::{AttachmentArg, Effect, more, plural, sent_summary, tool};
use crate::args::{id, parse};
use crate::outcome::{Failure, Success};
use mailroom_client::{Client, SendResult};
use mailroom_core::api::SendMessageRequest;
use mailroom_core::drafts::*;
use mailroom_core::{ApprovalId, DraftId, MailboxId, MessageId};
use rmcp::model::{JsonObject, Tool};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateDraftArgs {
    /// The id of the mailbox the draft is sent from.
    #[schemars(extend("format" = "uuid"))]
    mailbox_id: String,
    /// Recipients: `a@example.com` or `Name <a@example.com>`.
    #[serde(default)]
    to: Vec<String>,
    /// Copy recipients.
    #[serde(default)]
    cc: Vec<String>,
    /// Blind-copy recipients.
    #[serde(default)]
    bcc: Vec<String>,
    /// The subject line.
    #[serde(default)]
    subject: String,
    /// The plain-text body.
    #[serde(default)]
    text: Option<String>,
    /// The HTML body.
    #[serde(default)]
    html: Option<String>,
    /// Files to attach.
    #[serde(default)]
    attachments: Vec<AttachmentArg>,
    /// For a reply draft: the id of the message it answers (it joins that thread).
    #[serde(default)]
    in_reply_to: Option<String>,
    /// When to send it once send_draft is called: an RFC 3339 time such as 2026-01-31T09:00:00Z.
    #[serde(default)]
    send_at: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateDraftArgs {
    /// The draft's id.
    #[schemars(extend("format" = "uuid"))]
    draft_id: String,
    /// New recipients.
    #[serde(default)]
    to: Option<Vec<String>>,
    /// New copy recipients.
    #[serde(default)]
    cc: Option<Vec<String>>,
    /// New blind-copy recipients.
    #[serde(default)]
    bcc: Option<Vec<String>>,
    /// New subject.
    #[serde(default)]
    subject: Option<String>,
    /// New plain-text body.
    #[serde(default)]
    text: Option<String>,
    /// New HTML body.
    #[serde(default)]
    html: Option<String>,
    /// New send time (RFC 3339); an empty string removes it.
    #[serde(default)]
    send_at: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SendDraftArgs {
    /// The draft's id.
    #[schemars(extend("format" = "uuid"))]
    draft_id: String,
    /// Send later instead of now: an RFC 3339 time.
    #[serde(default)]
    send_at: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListDraftsArgs {
    /// The mailbox's id.
    #[schemars(extend("format" = "uuid"))]
    mailbox_id: String,
    /// Only these statuses, comma-separated: draft, scheduled, pending_approval, sending, sent,
    /// cancelled, rejected, failed.
    #[serde(default)]
    status: Option<String>,
    /// How many drafts to return, 1-100 (default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// The `next_cursor` of the previous answer.
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DraftArgs {
    /// The draft's id.
    #[schemars(extend("format" = "uuid"))]
    draft_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WaitApprovalArgs {
    /// The approval's id (`approval_id` of a held send).
    #[schemars(extend("format" = "uuid"))]
    approval_id: String,
    /// How long to wait, 0-60 seconds (default 30).
    #[serde(default)]
    #[schemars(range(max = 60))]
    timeout_seconds: Option<u64>,
}

/// The draft tools, appended to the mailbox tools.
pub(super) fn tools() -> Vec<Tool> {
    vec![
        tool::<CreateDraftArgs>(
            "create_draft",
            "Create a draft",
            Effect::Add,
            "Stores an email as a draft in a mailbox without sending it (with `in_reply_to`, a reply \
             draft in that message's thread). Send it later with send_draft; edit it with update_draft.",
        ),
        tool::<UpdateDraftArgs>(
            "update_draft",
            "Edit a draft",
            Effect::Change,
            "Changes a draft's recipients, subject, body or send time. Works on kept drafts, scheduled \
             ones and ones waiting for approval; the earlier content is kept as a revision.",
        ),
        tool::<SendDraftArgs>(
            "send_draft",
            "Send a draft",
            Effect::Send,
            "Sends a draft now, or at `send_at`. When the mailbox needs a person's approval, it answers \
             status pending_approval with an approval_id: call wait_for_approval to learn the outcome.",
        ),
        tool::<ListDraftsArgs>(
            "list_drafts",
            "List drafts",
            Effect::Read,
            "Lists a mailbox's drafts, newest first: kept, scheduled, waiting for approval, and finished ones.",
        ),
        tool::<DraftArgs>(
            "delete_draft",
            "Delete a draft",
            Effect::Change,
            "Deletes a draft. A scheduled message or one waiting for approval is cancelled and never sent.",
        ),
        tool::<WaitApprovalArgs>(
            "wait_for_approval",
            "Wait for an approval",
            Effect::Read,
            "Waits until a person approves or rejects a held message, at most `timeout_seconds` (default \
             30, at most 60), and returns the approval: status approved (the message is sent), rejected \
             (never sent, with the approver's note) or still pending.",
        ),
    ]
}

/// Runs a draft tool; `None` when `name` is not one.
pub(super) async fn call(client: &Client, name: &str, arguments: Option<JsonObject>) -> Option<Result<Success, Failure>> {
    Some(match name {
        "create_draft" => match parse(arguments) {
            Ok(a) => create_draft(client, a).await,
            Err(e) => Err(e),
        },
        "update_draft" => match parse(arguments) {
            Ok(a) => update_draft(client, a).await,
            Err(e) => Err(e),
        },
        "send_draft" => match parse(arguments) {
            Ok(a) => send_draft(client, a).await,
            Err(e) => Err(e),
        },
        "list_drafts" => match parse(arguments) {
            Ok(a) => list_drafts(client, a).await,
            Err(e) => Err(e),
        },
        "delete_draft" => match parse(arguments) {
            Ok(a) => delete_draft(client, a).await,
            Err(e) => Err(e),
        },
        "wait_for_approval" => match parse(arguments) {
            Ok(a) => wait_for_approval(client, a).await,
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

/// The answer of a send that may have been held.
pub(super) fn send_outcome(verb: &str, out: SendResult) -> Success {
    match out {
        SendResult::Sent(sent) => Success::new(sent_summary(verb, &sent), sent),
        SendResult::Held(h) => {
            let summary = match (h.status, h.approval_id) {
                (DraftStatus::PendingApproval, Some(a)) => format!(
                    "Held for approval: message {} waits for a person (approval {a}). Call wait_for_approval with approval_id \"{a}\" to learn the outcome.",
                    h.id
                ),
                _ => format!(
                    "Scheduled message {} for {}. Cancel it with delete_draft (draft {}).",
                    h.id,
                    h.send_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    h.draft_id
                ),
            };
            Success::new(summary, h)
        }
    }
}

fn draft_summary(verb: &str, d: &Draft) -> String {
    format!(
        "{verb} draft {} ({}), \"{}\" to {}; revision {}.",
        d.id,
        d.status.as_str(),
        d.content.subject,
        if d.content.to.is_empty() { "nobody yet".to_string() } else { d.content.to.join(", ") },
        d.revision
    )
}

async fn create_draft(client: &Client, a: CreateDraftArgs) -> Result<Success, Failure> {
    let mailbox: MailboxId = id("mailbox_id", "mailbox", &a.mailbox_id)?;
    let req = SendMessageRequest {
        to: a.to,
        cc: a.cc,
        bcc: a.bcc,
        subject: a.subject,
        text: a.text,
        html: a.html,
        attachments: a.attachments.into_iter().map(Into::into).collect(),
        in_reply_to: a.in_reply_to,
        send_at: a.send_at,
        ..SendMessageRequest::default()
    };
    let d = client.create_draft(mailbox, &req, None).await?;
    Ok(Success::new(draft_summary("Created", &d), d))
}

async fn update_draft(client: &Client, a: UpdateDraftArgs) -> Result<Success, Failure> {
    let draft: DraftId = id("draft_id", "draft", &a.draft_id)?;
    let req = UpdateDraftRequest { to: a.to, cc: a.cc, bcc: a.bcc, subject: a.subject, text: a.text, html: a.html, send_at: a.send_at };
    let d = client.update_draft(draft, &req).await?;
    Ok(Success::new(draft_summary("Updated", &d), d))
}

async fn send_draft(client: &Client, a: SendDraftArgs) -> Result<Success, Failure> {
    let draft: DraftId = id("draft_id", "draft", &a.draft_id)?;
    let out = client.send_draft(draft, &SendDraftRequest { send_at: a.send_at }, None).await?;
    Ok(send_outcome("Sent", out))
}

async fn list_drafts(client: &Client, a: ListDraftsArgs) -> Result<Success, Failure> {
    let mailbox: MailboxId = id("mailbox_id", "mailbox", &a.mailbox_id)?;
    let page = client.list_drafts(mailbox, a.status.as_deref(), a.cursor.as_deref(), a.limit).await?;
    let lines: Vec<String> = page.items.iter().map(|d| format!("{} ({}): \"{}\"", d.id, d.status.as_str(), d.content.subject)).collect();
    let summary = format!("{}{}.{}", plural(lines.len(), "draft", "drafts"), if lines.is_empty() { String::new() } else { format!(": {}", lines.join("; ")) }, more(&page.next_cursor));
    Ok(Success::new(summary, page))
}

async fn delete_draft(client: &Client, a: DraftArgs) -> Result<Success, Failure> {
    let draft: DraftId = id("draft_id", "draft", &a.draft_id)?;
    client.delete_draft(draft).await?;
    Ok(Success::new(format!("Deleted draft {draft}; if it was scheduled or waiting for approval, it is cancelled."), json!({"deleted": true, "draft_id": draft})))
}

async fn wait_for_approval(client: &Client, a: WaitApprovalArgs) -> Result<Success, Failure> {
    let approval: ApprovalId = id("approval_id", "approval", &a.approval_id)?;
    let timeout = a.timeout_seconds.unwrap_or(30);
    if timeout > 60 {
        return Err(Failure::new("invalid_request", "`timeout_seconds` must be 0 to 60"));
    }
    let item = client.wait_for_approval(approval, timeout).await?;
    let a = &item.approval;
    let note = a.note.as_deref().map(|n| format!(" Note: \"{n}\".")).unwrap_or_default();
    let message: MessageId = a.message_id;
    let summary = match a.status {
        ApprovalStatus::Pending => format!("Still waiting for approval after {timeout} s; call wait_for_approval again."),
        ApprovalStatus::Approved => format!("Approved by {}; message {message} is sent.{note}", a.decided_by.as_deref().unwrap_or("a person")),
        ApprovalStatus::Rejected => format!("Rejected by {}; message {message} is not sent.{note}", a.decided_by.as_deref().unwrap_or("a person")),
        ApprovalStatus::Cancelled => format!("The draft was cancelled; message {message} is not sent."),
    };
    Ok(Success::new(summary, item))
}
