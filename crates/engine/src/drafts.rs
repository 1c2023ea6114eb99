//! Drafts, scheduled sends and approvals (issue 17).
//!
//! A send that must not leave at once (a `send_at` in the future, or an approval policy that
//! applies) is stored as a [`Draft`] — durable at once — and nothing else: no message row, no
//! local copy, no queued recipient. The [`DraftScheduler`] (a leased queue run by
//! [`mailroom_store::runner`]) claims drafts when they are due and sends them through the one
//! send path with the message id each reserved, so a send retried after a crash or on another
//! node finds its message instead of sending twice. The policy step runs when the request is
//! made, again when a person approves, and again when the message is finally sent.

use crate::{Engine, EngineError, EngineResult};
use chrono::{DateTime, Utc};
use mailroom_core::api::{ReplyRequest, SendMessageRequest, SendMessageResponse};
use mailroom_core::drafts::*;
use mailroom_core::*;
use mailroom_store::{DraftFilter, NewEvent};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a node holds a due draft while it sends it.
const SEND_LEASE_SECS: i64 = 60;
/// The furthest ahead a send may be scheduled.
const MAX_SCHEDULE_DAYS: i64 = 366;
/// The setting key prefix of approval policies (`approval_policy.<scope>.<id>`).
const POLICY_KEY: &str = "approval_policy";

/// What a send request became.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// It was sent now.
    Sent(SendMessageResponse),
    /// It is held: scheduled or waiting for approval.
    Held(HeldSendResponse),
}

/// The JSON answer of a send that went at once: the [`SendMessageResponse`] with
/// `status: "sent"`, which tells it from a held send's answer.
pub fn sent_answer(s: &SendMessageResponse) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("status".into(), "sent".into());
    }
    v
}

impl SendOutcome {
    /// The JSON answer of the send routes (both are `202`): a sent message gets
    /// `status: "sent"`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SendOutcome::Sent(s) => sent_answer(s),
            SendOutcome::Held(h) => serde_json::to_value(h).unwrap_or_default(),
        }
    }
}

/// Which approval applies to a send, and why.
#[derive(Debug, Clone)]
struct ApprovalNeed {
    policy: ApprovalPolicy,
    source: &'static str,
    first_contacts: Vec<String>,
}

/// Where a send comes from, for the approval policy of a tool config.
#[derive(Debug, Clone, Default)]
pub struct SendContext {
    /// Who or what proposes the message.
    pub proposer: Proposer,
    /// The tool config whose policy also applies.
    pub tool_config: Option<ToolConfigId>,
}

fn parse_send_at(value: Option<&str>) -> EngineResult<Option<DateTime<Utc>>> {
    let Some(v) = value.map(str::trim) else { return Ok(None) };
    if v.is_empty() {
        return Ok(None);
    }
    let t = DateTime::parse_from_rfc3339(v)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| EngineError::invalid("invalid_send_at", "`send_at` must be an RFC 3339 time such as 2026-01-31T09:00:00Z"))?;
    if t > Utc::now() + chrono::Duration::days(MAX_SCHEDULE_DAYS) {
        return Err(EngineError::invalid("invalid_send_at", format!("`send_at` may be at most {MAX_SCHEDULE_DAYS} days ahead")));
    }
    Ok(Some(t))
}

fn recipients_of(req: &SendMessageRequest) -> EngineResult<Vec<EmailAddress>> {
    let mut out: Vec<EmailAddress> = Vec::new();
    for (field, list) in [("to", &req.to), ("cc", &req.cc), ("bcc", &req.bcc)] {
        for (i, v) in list.iter().enumerate() {
            let a = NamedAddress::parse(v).map_err(|e| EngineError::invalid("invalid_email_address", format!("`{field}[{i}]`: {e}")))?;
            if !out.iter().any(|x| x.canonical() == a.address.canonical()) {
                out.push(a.address);
            }
        }
    }
    Ok(out)
}

fn conflict(code: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::Conflict { code, message: message.into() }
}

fn approval_event_data(d: &Draft) -> serde_json::Value {
    let mut v = serde_json::to_value(d.approval.as_ref()).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("subject".into(), d.content.subject.clone().into());
        o.insert("to".into(), serde_json::to_value(&d.content.to).unwrap_or_default());
        o.insert("draft_status".into(), d.status.as_str().into());
    }
    v
}

fn scheduled_event(d: &Draft) -> NewEvent {
    NewEvent::new(
        d.site_id,
        Some(d.mailbox_id),
        draft_events::MESSAGE_SCHEDULED,
        serde_json::json!({"id": d.message_id, "draft_id": d.id, "mailbox_id": d.mailbox_id, "thread_id": d.thread_id,
            "send_at": d.send_at, "subject": d.content.subject, "to": d.content.to}),
    )
}

fn cancelled_event(d: &Draft, reason: &str) -> NewEvent {
    NewEvent::new(
        d.site_id,
        Some(d.mailbox_id),
        draft_events::MESSAGE_CANCELLED,
        serde_json::json!({"id": d.message_id, "draft_id": d.id, "mailbox_id": d.mailbox_id, "thread_id": d.thread_id,
            "send_at": d.send_at, "reason": reason}),
    )
}

fn held_response(d: &Draft) -> EngineResult<HeldSendResponse> {
    Ok(HeldSendResponse {
        id: d.message_id,
        status: d.status,
        draft_id: d.id,
        thread_id: d.thread_id,
        send_at: d.send_at,
        approval_id: d.approval.as_ref().map(|a| a.id),
        recipients: recipients_of(&d.content)?.iter().map(ToString::to_string).collect(),
    })
}

/// Builds the send a reply stands for: to the original's sender (or `Reply-To`), with
/// `reply_all` its other recipients too, subject `Re: …`, in its thread (`in_reply_to` is the
/// original's id, resolved again when the message is sent).
pub fn reply_as_send(mailbox: &Mailbox, original: &Message, req: &ReplyRequest) -> EngineResult<SendMessageRequest> {
    let own = mailbox.address.canonical();
    let mut to: Vec<NamedAddress> = match original.direction {
        Direction::Inbound if !original.reply_to.is_empty() => original.reply_to.clone(),
        Direction::Inbound => original.from.clone().into_iter().collect(),
        Direction::Outbound => original.to.clone(),
    };
    let mut cc: Vec<NamedAddress> = Vec::new();
    if req.reply_all {
        for a in original.to.iter().chain(original.cc.iter()).filter(|a| a.address.canonical() != own) {
            if !to.iter().chain(cc.iter()).any(|x| x.address.canonical() == a.address.canonical()) {
                cc.push(a.clone());
            }
        }
    }
    to.retain(|a| a.address.canonical() != own || original.direction == Direction::Outbound);
    if to.is_empty() && cc.is_empty() {
        return Err(EngineError::invalid("validation_error", "the original message has no address to reply to"));
    }
    let subject = original.subject.clone().unwrap_or_default();
    let subject = if subject.to_ascii_lowercase().starts_with("re:") { subject } else { format!("Re: {subject}") };
    Ok(SendMessageRequest {
        to: to.iter().map(ToString::to_string).collect(),
        cc: cc.iter().map(ToString::to_string).chain(req.cc.iter().cloned()).collect(),
        bcc: req.bcc.clone(),
        reply_to: Vec::new(),
        subject,
        text: req.text.clone(),
        html: req.html.clone(),
        attachments: req.attachments.clone(),
        headers: req.headers.clone(),
        in_reply_to: Some(original.id.to_string()),
        labels: req.labels.clone(),
        allow_auto_reply: req.allow_auto_reply,
        send_at: req.send_at.clone(),
    })
}

impl Engine {
    // --- approval policies -------------------------------------------------------------------

    /// Sets the approval policy of a site, mailbox or tool config (`scope`: `site`,
    /// `mailbox`, `tool_config`); the caller checked that it belongs to the caller's site.
    pub async fn set_approval_policy(&self, scope: &str, id: &str, policy: ApprovalPolicy) -> EngineResult<ApprovalPolicySetting> {
        self.store.put_setting(&format!("{POLICY_KEY}.{scope}.{id}"), policy.as_str()).await?;
        Ok(ApprovalPolicySetting { scope: scope.into(), id: id.into(), approval_policy: policy })
    }

    /// Returns the approval policy of a site, mailbox or tool config (`none` when unset).
    pub async fn approval_policy(&self, scope: &str, id: &str) -> EngineResult<ApprovalPolicy> {
        Ok(self
            .store
            .get_setting(&format!("{POLICY_KEY}.{scope}.{id}"))
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or_default())
    }

    /// Decides whether a send from `mailbox` to `recipients` needs approval: the strictest
    /// policy of the site, the mailbox and the tool config wins; `first_contact` applies when
    /// any recipient is one the site has never mailed.
    async fn approval_need(&self, mailbox: &Mailbox, tool_config: Option<ToolConfigId>, recipients: &[EmailAddress]) -> EngineResult<Option<ApprovalNeed>> {
        let mut scopes = vec![("site", mailbox.site_id.to_string()), ("mailbox", mailbox.id.to_string())];
        if let Some(t) = tool_config {
            scopes.push(("tool_config", t.to_string()));
        }
        let mut best: Option<(ApprovalPolicy, &'static str)> = None;
        for (scope, id) in scopes {
            let p = self.approval_policy(scope, &id).await?;
            if p != ApprovalPolicy::None && best.is_none_or(|(b, _)| p > b) {
                best = Some((p, scope));
            }
        }
        let Some((policy, source)) = best else { return Ok(None) };
        if policy == ApprovalPolicy::All {
            return Ok(Some(ApprovalNeed { policy, source, first_contacts: Vec::new() }));
        }
        let mut first = Vec::new();
        for r in recipients {
            if !self.store.site_has_mailed(mailbox.site_id, r.as_str()).await? {
                first.push(r.to_string());
            }
        }
        Ok((!first.is_empty()).then_some(ApprovalNeed { policy, source, first_contacts: first }))
    }

    // --- sends that may be held ------------------------------------------------------------

    /// Sends from `mailbox`, or holds the message: with a `send_at` in the future it is
    /// scheduled; when an approval policy applies it waits for a person. Every recipient goes
    /// through the policy step first either way.
    pub async fn send_or_hold(&self, mailbox: &Mailbox, req: &SendMessageRequest, ctx: &SendContext) -> EngineResult<SendOutcome> {
        let send_at = parse_send_at(req.send_at.as_deref())?;
        let recipients = recipients_of(req)?;
        let need = self.approval_need(mailbox, ctx.tool_config, &recipients).await?;
        let due_now = send_at.is_none_or(|t| t <= Utc::now());
        if need.is_none() && due_now {
            let mut now_req = req.clone();
            now_req.send_at = None;
            return Ok(SendOutcome::Sent(self.send_message(mailbox, &now_req).await?));
        }
        let draft = self.new_draft(mailbox, req, ctx.proposer.clone()).await?;
        let held = self.hold(draft, send_at, need).await?;
        Ok(SendOutcome::Held(held_response(&held)?))
    }

    /// Tells whether [`Engine::send_or_hold`] would hold this send (a future `send_at`, or an
    /// approval policy that applies), without doing anything: the send routes send the others
    /// in one transaction with their Idempotency-Key.
    pub async fn would_hold(&self, mailbox: &Mailbox, req: &SendMessageRequest, ctx: &SendContext) -> EngineResult<bool> {
        let send_at = parse_send_at(req.send_at.as_deref())?;
        if !send_at.is_none_or(|t| t <= Utc::now()) {
            return Ok(true);
        }
        let recipients = recipients_of(req)?;
        Ok(self.approval_need(mailbox, ctx.tool_config, &recipients).await?.is_some())
    }

    /// Tells whether [`Engine::reply_or_hold`] would hold this reply.
    pub async fn reply_would_hold(&self, mailbox: &Mailbox, original: &Message, req: &ReplyRequest, ctx: &SendContext) -> EngineResult<bool> {
        let send = reply_as_send(mailbox, original, req)?;
        if req.send_at.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            let send_at = parse_send_at(req.send_at.as_deref())?;
            if !send_at.is_none_or(|t| t <= Utc::now()) {
                return Ok(true);
            }
        }
        Ok(self.approval_need(mailbox, ctx.tool_config, &recipients_of(&send)?).await?.is_some())
    }

    /// Refuses a send that cannot be held (a forward, whose attachments come from the original)
    /// when an approval policy applies to it: `422 approval_required`.
    pub async fn refuse_if_approval_needed(&self, mailbox: &Mailbox, to: &[String], cc: &[String], bcc: &[String]) -> EngineResult<()> {
        let req = SendMessageRequest { to: to.to_vec(), cc: cc.to_vec(), bcc: bcc.to_vec(), ..Default::default() };
        if let Some(n) = self.approval_need(mailbox, None, &recipients_of(&req)?).await? {
            return Err(EngineError::invalid(
                "approval_required",
                format!("the {} policy of the {} requires approval: forward by sending a draft instead", n.policy.as_str(), n.source),
            ));
        }
        Ok(())
    }

    /// Replies to `original`, or holds the reply like [`Engine::send_or_hold`].
    pub async fn reply_or_hold(&self, mailbox: &Mailbox, original: &Message, req: &ReplyRequest, ctx: &SendContext) -> EngineResult<SendOutcome> {
        let needs_hold = req.send_at.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !needs_hold {
            // Without a time, decide on the reply's recipients whether approval applies.
            let send = reply_as_send(mailbox, original, req)?;
            if self.approval_need(mailbox, ctx.tool_config, &recipients_of(&send)?).await?.is_none() {
                return Ok(SendOutcome::Sent(self.reply(mailbox, original, req).await?));
            }
            return self.send_or_hold(mailbox, &send, ctx).await;
        }
        let send = reply_as_send(mailbox, original, req)?;
        self.send_or_hold(mailbox, &send, ctx).await
    }

    /// Validates a send body and returns a new draft of it (not stored): recipients parsed and
    /// checked by the policy step, the thread of `in_reply_to` resolved.
    async fn new_draft(&self, mailbox: &Mailbox, req: &SendMessageRequest, proposer: Proposer) -> EngineResult<Draft> {
        let mut content = req.clone();
        content.send_at = None;
        let recipients = recipients_of(&content)?;
        if recipients.len() > self.config.max_recipients {
            return Err(EngineError::invalid("too_many_recipients", format!("a message may have at most {} recipients", self.config.max_recipients)));
        }
        if !recipients.is_empty() {
            self.enforce_send_policy(mailbox.site_id, Some(mailbox.id), &recipients).await?;
        }
        if content.subject.chars().any(|c| c.is_control()) {
            return Err(EngineError::invalid("validation_error", "`subject` must not contain line breaks or control characters"));
        }
        let thread_id = self.draft_thread(mailbox, &content, req.allow_auto_reply).await?;
        let t = now();
        Ok(Draft {
            id: DraftId::new(),
            site_id: mailbox.site_id,
            mailbox_id: mailbox.id,
            status: DraftStatus::Draft,
            content,
            thread_id,
            send_at: None,
            message_id: MessageId::new(),
            revision: 1,
            revisions: Vec::new(),
            approval: None,
            proposed_by: proposer,
            error: None,
            created_at: t,
            updated_at: t,
            sent_at: None,
            version: 1,
        })
    }

    /// The thread a draft joins: that of the message `in_reply_to` names (an id of this
    /// mailbox, or a `Message-ID` it holds); none for a new conversation.
    async fn draft_thread(&self, mailbox: &Mailbox, content: &SendMessageRequest, allow_auto_reply: bool) -> EngineResult<Option<ThreadId>> {
        let Some(target) = content.in_reply_to.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        let original = if let Ok(id) = target.parse::<MessageId>() {
            Some(self.store.get_message(id).await?.filter(|m| m.mailbox_id == mailbox.id).ok_or_else(|| {
                EngineError::invalid("invalid_in_reply_to", format!("`in_reply_to`: this mailbox has no message with id {id}"))
            })?)
        } else {
            let header = target.trim_start_matches('<').trim_end_matches('>');
            if header.is_empty() || header.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(EngineError::invalid("invalid_in_reply_to", "`in_reply_to` must be a message id of this mailbox or a Message-ID header value"));
            }
            let mut found = None;
            for direction in [Direction::Inbound, Direction::Outbound] {
                if let Some(m) = self.store.find_message_by_message_id(mailbox.id, Some(direction), header).await? {
                    found = Some(m);
                    break;
                }
            }
            found
        };
        if let Some(o) = &original
            && o.auto_submitted
            && o.direction == Direction::Inbound
            && !allow_auto_reply
        {
            return Err(crate::policy::auto_reply_refusal(o));
        }
        Ok(original.map(|m| m.thread_id))
    }

    /// Stores `draft` (new) or moves it (stored, status `draft`) to held: waiting for approval
    /// when `need` is set, else scheduled at `send_at`. Returns the held draft.
    async fn hold(&self, mut draft: Draft, send_at: Option<DateTime<Utc>>, need: Option<ApprovalNeed>) -> EngineResult<Draft> {
        let stored = draft.status != DraftStatus::Draft || draft.version > 1 || self.store.get_draft(draft.id).await?.is_some();
        let expected = draft.version;
        let t = now();
        draft.send_at = send_at.or(draft.send_at).map(|s| s.max(t));
        draft.updated_at = t;
        let mut events = Vec::new();
        match need {
            Some(n) => {
                draft.status = DraftStatus::PendingApproval;
                draft.approval = Some(Approval {
                    id: ApprovalId::new(),
                    draft_id: draft.id,
                    message_id: draft.message_id,
                    mailbox_id: draft.mailbox_id,
                    status: ApprovalStatus::Pending,
                    policy: n.policy,
                    policy_source: n.source.into(),
                    first_contacts: n.first_contacts,
                    proposed_by: draft.proposed_by.clone(),
                    requested_at: t,
                    decided_by: None,
                    decided_at: None,
                    note: None,
                    revision: draft.revision,
                });
                events.push(NewEvent::new(draft.site_id, Some(draft.mailbox_id), draft_events::APPROVAL_REQUESTED, approval_event_data(&draft)));
            }
            None => {
                draft.status = DraftStatus::Scheduled;
                draft.send_at = Some(draft.send_at.unwrap_or(t));
                events.push(scheduled_event(&draft));
            }
        }
        if stored {
            draft.version = expected + 1;
            if !self.store.update_draft(&draft, expected, &events).await? {
                return Err(conflict("draft_changed", format!("draft {} changed meanwhile; read it again", draft.id)));
            }
        } else {
            self.store.insert_draft(&draft, &events).await?;
        }
        self.scheduler.notify_one();
        Ok(draft)
    }

    // --- drafts -----------------------------------------------------------------------------

    /// Creates a draft in `mailbox` (nothing is sent). Its `send_at`, if any, is kept for when
    /// it is sent.
    pub async fn create_draft(&self, mailbox: &Mailbox, req: &SendMessageRequest, proposer: Proposer) -> EngineResult<Draft> {
        let send_at = parse_send_at(req.send_at.as_deref())?;
        let mut draft = self.new_draft(mailbox, req, proposer).await?;
        draft.send_at = send_at;
        self.store.insert_draft(&draft, &[]).await?;
        Ok(draft)
    }

    /// Returns a draft of `site` (404 for another site's).
    pub async fn get_draft(&self, site: Option<SiteId>, id: DraftId) -> EngineResult<Draft> {
        self.store
            .get_draft(id)
            .await?
            .filter(|d| site.is_none_or(|s| s == d.site_id))
            .ok_or_else(|| EngineError::NotFound(format!("no draft with id {id}")))
    }

    /// Lists a mailbox's drafts (all statuses unless `status` narrows), newest first.
    pub async fn list_drafts(&self, mailbox: &Mailbox, status: Option<&str>, cursor: Option<&str>, limit: Option<u32>) -> EngineResult<(Vec<Draft>, u32)> {
        let limit = crate::page_limit(limit)?;
        let statuses = match status.map(str::trim).filter(|s| !s.is_empty()) {
            None => Vec::new(),
            Some(s) => s
                .split(',')
                .map(|x| x.trim().parse::<DraftStatus>().map_err(|e| EngineError::invalid("invalid_query", e)))
                .collect::<EngineResult<Vec<_>>>()?,
        };
        let before = cursor
            .map(|c| c.parse::<DraftId>())
            .transpose()
            .map_err(|_| EngineError::invalid("invalid_cursor", "`cursor` is not a cursor this server returned"))?;
        let items = self.store.list_drafts(mailbox.site_id, &DraftFilter { mailbox: Some(mailbox.id), statuses, before, limit }).await?;
        Ok((items, limit))
    }

    /// Edits an open draft (kept, scheduled or waiting for approval): the earlier content is
    /// kept as a revision. Recipients go through the policy step again.
    pub async fn update_draft(&self, mut draft: Draft, req: &UpdateDraftRequest, editor: Option<String>) -> EngineResult<Draft> {
        if !matches!(draft.status, DraftStatus::Draft | DraftStatus::Scheduled | DraftStatus::PendingApproval) {
            return Err(conflict("draft_not_editable", format!("draft {} is {}; only open drafts can be edited", draft.id, draft.status.as_str())));
        }
        let expected = draft.version;
        let mut content = draft.content.clone();
        if let Some(v) = &req.to {
            content.to = v.clone();
        }
        if let Some(v) = &req.cc {
            content.cc = v.clone();
        }
        if let Some(v) = &req.bcc {
            content.bcc = v.clone();
        }
        if let Some(v) = &req.subject {
            if v.chars().any(|c| c.is_control()) {
                return Err(EngineError::invalid("validation_error", "`subject` must not contain line breaks or control characters"));
            }
            content.subject = v.clone();
        }
        if let Some(v) = &req.text {
            content.text = Some(v.clone());
        }
        if let Some(v) = &req.html {
            content.html = Some(v.clone());
        }
        let recipients = recipients_of(&content)?;
        if !recipients.is_empty() {
            self.enforce_send_policy(draft.site_id, Some(draft.mailbox_id), &recipients).await?;
        }
        let mut events = Vec::new();
        if let Some(s) = &req.send_at {
            let t = parse_send_at(Some(s.as_str()))?;
            match draft.status {
                DraftStatus::Scheduled => {
                    draft.send_at = Some(t.unwrap_or_else(now).max(now()));
                    events.push(scheduled_event(&draft));
                }
                _ => draft.send_at = t,
            }
        }
        let t = now();
        if content != draft.content {
            draft.revisions.push(DraftRevision { revision: draft.revision, content: draft.content.clone(), replaced_at: t, replaced_by: editor });
            draft.revision += 1;
            draft.content = content;
            if let Some(a) = draft.approval.as_mut() {
                a.revision = draft.revision;
            }
        }
        draft.updated_at = t;
        draft.version = expected + 1;
        if !self.store.update_draft(&draft, expected, &events).await? {
            return Err(conflict("draft_changed", format!("draft {} changed meanwhile (sent or decided?); read it again", draft.id)));
        }
        self.scheduler.notify_one();
        Ok(draft)
    }

    /// Sends a kept draft: now, at `send_at` (the request's, else the draft's), or once
    /// approved when a policy applies.
    pub async fn send_draft(&self, draft: Draft, req: &SendDraftRequest, tool_config: Option<ToolConfigId>) -> EngineResult<SendOutcome> {
        if draft.status != DraftStatus::Draft {
            return Err(conflict("draft_not_editable", format!("draft {} is {}; only a kept draft can be sent", draft.id, draft.status.as_str())));
        }
        let mailbox = self
            .store
            .get_mailbox(draft.mailbox_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("the mailbox of draft {} is gone", draft.id)))?;
        let send_at = match req.send_at.as_deref() {
            Some(s) => parse_send_at(Some(s))?,
            None => draft.send_at,
        };
        let recipients = recipients_of(&draft.content)?;
        if recipients.is_empty() {
            return Err(EngineError::invalid("validation_error", "give at least one recipient in `to`, `cc` or `bcc`"));
        }
        self.enforce_send_policy(draft.site_id, Some(draft.mailbox_id), &recipients).await?;
        let need = self.approval_need(&mailbox, tool_config, &recipients).await?;
        if need.is_none() && send_at.is_none_or(|t| t <= Utc::now()) {
            // Mark it `sending` (leased), send with its reserved id, then `sent`: a crash in
            // between leaves it to the scheduler, which finds the message already stored.
            let mut sending = draft.clone();
            sending.status = DraftStatus::Sending;
            sending.send_at = Some(now());
            sending.version = draft.version + 1;
            if !self.store.update_draft(&sending, draft.version, &[]).await? {
                return Err(conflict("draft_changed", format!("draft {} changed meanwhile; read it again", draft.id)));
            }
            return match self.release(&mailbox, sending).await? {
                Released::Sent(resp) => Ok(SendOutcome::Sent(resp)),
                Released::Refused(e) => Err(e),
            };
        }
        let held = self.hold(draft, send_at, need).await?;
        Ok(SendOutcome::Held(held_response(&held)?))
    }

    /// Deletes a draft: a kept draft (or the record of a finished one) is removed; a scheduled
    /// or held one is cancelled (`message.cancelled`) and kept as `cancelled`.
    pub async fn delete_draft(&self, draft: Draft) -> EngineResult<Option<Draft>> {
        match draft.status {
            DraftStatus::Scheduled | DraftStatus::PendingApproval => self.cancel_draft(draft, "the draft was deleted").await.map(Some),
            DraftStatus::Sending => Err(conflict("already_sending", format!("message {} is being sent; it can no longer be cancelled", draft.message_id))),
            _ => {
                self.store.delete_draft(draft.id, &[]).await?;
                Ok(None)
            }
        }
    }

    /// Cancels a scheduled or held message by its (reserved) message id.
    pub async fn cancel_message(&self, site: Option<SiteId>, message: MessageId) -> EngineResult<Draft> {
        let draft = self
            .store
            .get_draft_by_message(message)
            .await?
            .filter(|d| site.is_none_or(|s| s == d.site_id));
        let Some(draft) = draft else {
            if let Some(m) = self.store.get_message(message).await?.filter(|m| site.is_none_or(|s| s == m.site_id)) {
                return Err(conflict("already_sent", format!("message {} was sent already; it cannot be cancelled", m.id)));
            }
            return Err(EngineError::NotFound(format!("no message with id {message}")));
        };
        match draft.status {
            DraftStatus::Scheduled | DraftStatus::PendingApproval | DraftStatus::Draft => self.cancel_draft(draft, "cancelled by request").await,
            DraftStatus::Sending => Err(conflict("already_sending", format!("message {message} is being sent; it can no longer be cancelled"))),
            DraftStatus::Sent => Err(conflict("already_sent", format!("message {message} was sent already; it cannot be cancelled"))),
            other => Err(conflict("invalid_state", format!("message {message} is {} already", other.as_str()))),
        }
    }

    async fn cancel_draft(&self, mut draft: Draft, reason: &str) -> EngineResult<Draft> {
        let expected = draft.version;
        draft.status = DraftStatus::Cancelled;
        draft.updated_at = now();
        if let Some(a) = draft.approval.as_mut()
            && a.status == ApprovalStatus::Pending
        {
            a.status = ApprovalStatus::Cancelled;
        }
        draft.version = expected + 1;
        let event = cancelled_event(&draft, reason);
        if !self.store.update_draft(&draft, expected, &[event]).await? {
            let now_is = self.store.get_draft(draft.id).await?.map(|d| d.status.as_str()).unwrap_or("gone");
            return Err(conflict("invalid_state", format!("message {} is {now_is} now; it was not cancelled", draft.message_id)));
        }
        Ok(draft)
    }

    // --- approvals --------------------------------------------------------------------------

    /// Lists a site's approvals, pending first.
    pub async fn list_approvals(&self, site: SiteId, status: Option<&str>, limit: Option<u32>) -> EngineResult<Vec<ApprovalItem>> {
        let limit = crate::page_limit(limit)?;
        let status = status
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<ApprovalStatus>().map_err(|e| EngineError::invalid("invalid_query", e)))
            .transpose()?;
        let drafts = self.store.list_approval_drafts(site, status, limit).await?;
        Ok(drafts.into_iter().filter_map(approval_item).collect())
    }

    /// Returns one approval of `site`.
    pub async fn get_approval(&self, site: Option<SiteId>, id: ApprovalId) -> EngineResult<ApprovalItem> {
        self.store
            .get_draft_by_approval(id)
            .await?
            .filter(|d| site.is_none_or(|s| s == d.site_id))
            .and_then(approval_item)
            .ok_or_else(|| EngineError::NotFound(format!("no approval with id {id}")))
    }

    /// Approves a held message: the policy step runs again (a recipient suppressed or blocked
    /// meanwhile refuses the approval, which stays pending), then it is scheduled for its
    /// `send_at` or now. The approver and time go on the draft and, as labels
    /// (`approved-by:…`, `approved-at:…`), on the sent message.
    pub async fn approve(&self, site: Option<SiteId>, id: ApprovalId, approver: &str, note: Option<String>) -> EngineResult<ApprovalItem> {
        let item = self.get_approval(site, id).await?;
        let mut draft = item.draft;
        self.check_pending(&draft)?;
        let recipients = recipients_of(&draft.content)?;
        self.enforce_send_policy(draft.site_id, Some(draft.mailbox_id), &recipients).await?;
        let expected = draft.version;
        let t = now();
        let a = draft.approval.as_mut().ok_or_else(|| EngineError::Internal("an approval without its record".into()))?;
        a.status = ApprovalStatus::Approved;
        a.decided_by = Some(approver.to_string());
        a.decided_at = Some(t);
        a.note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        a.revision = draft.revision;
        for label in [format!("approved-by:{approver}"), format!("approved-at:{}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))] {
            let label: String = label.chars().filter(|c| !c.is_control()).take(100).collect();
            if !draft.content.labels.contains(&label) {
                draft.content.labels.push(label);
            }
        }
        draft.status = DraftStatus::Scheduled;
        draft.send_at = Some(draft.send_at.map_or(t, |s| s.max(t)));
        draft.updated_at = t;
        draft.version = expected + 1;
        let mut events = vec![NewEvent::new(draft.site_id, Some(draft.mailbox_id), draft_events::APPROVAL_APPROVED, approval_event_data(&draft))];
        if draft.send_at.is_some_and(|s| s > t) {
            events.push(scheduled_event(&draft));
        }
        if !self.store.update_draft(&draft, expected, &events).await? {
            return Err(conflict("approval_decided", format!("approval {id} changed meanwhile; read it again")));
        }
        self.scheduler.notify_one();
        approval_item(draft).ok_or_else(|| EngineError::Internal("an approval without its record".into()))
    }

    /// Rejects a held message: it is never sent.
    pub async fn reject(&self, site: Option<SiteId>, id: ApprovalId, approver: &str, note: Option<String>) -> EngineResult<ApprovalItem> {
        let item = self.get_approval(site, id).await?;
        let mut draft = item.draft;
        self.check_pending(&draft)?;
        let expected = draft.version;
        let t = now();
        let a = draft.approval.as_mut().ok_or_else(|| EngineError::Internal("an approval without its record".into()))?;
        a.status = ApprovalStatus::Rejected;
        a.decided_by = Some(approver.to_string());
        a.decided_at = Some(t);
        a.note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        a.revision = draft.revision;
        draft.status = DraftStatus::Rejected;
        draft.updated_at = t;
        draft.version = expected + 1;
        let event = NewEvent::new(draft.site_id, Some(draft.mailbox_id), draft_events::APPROVAL_REJECTED, approval_event_data(&draft));
        if !self.store.update_draft(&draft, expected, &[event]).await? {
            return Err(conflict("approval_decided", format!("approval {id} changed meanwhile; read it again")));
        }
        approval_item(draft).ok_or_else(|| EngineError::Internal("an approval without its record".into()))
    }

    fn check_pending(&self, draft: &Draft) -> EngineResult<()> {
        match (&draft.approval, draft.status) {
            (Some(a), DraftStatus::PendingApproval) if a.status == ApprovalStatus::Pending => Ok(()),
            (Some(a), _) => Err(conflict("approval_decided", format!("approval {} is {} already", a.id, a.status.as_str()))),
            (None, _) => Err(EngineError::NotFound(format!("draft {} has no approval", draft.id))),
        }
    }

    /// Waits until an approval is decided (or cancelled), at most `timeout`; returns it as it
    /// stands then (still `pending` on timeout).
    pub async fn wait_for_approval(&self, site: Option<SiteId>, id: ApprovalId, timeout: Duration) -> EngineResult<ApprovalItem> {
        let mut signal = self.store.event_signal();
        signal.borrow_and_update();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let item = self.get_approval(site, id).await?;
            if item.approval.status != ApprovalStatus::Pending {
                return Ok(item);
            }
            tokio::select! {
                changed = signal.changed() => if changed.is_err() { return Ok(item) },
                _ = tokio::time::sleep_until(deadline) => return Ok(item),
                // The signal covers this node's commits (and, on PostgreSQL, other nodes');
                // a short poll covers anything it misses.
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }

    // --- release ----------------------------------------------------------------------------

    /// Sends a draft this node holds (status `sending`) with its reserved message id and
    /// records the outcome. Idempotent: a message already stored under the id is not sent
    /// again.
    async fn release(&self, mailbox: &Mailbox, draft: Draft) -> EngineResult<Released> {
        let existing = self.store.get_message(draft.message_id).await?;
        let result = match existing {
            Some(m) => Ok(SendMessageResponse {
                id: m.id,
                thread_id: m.thread_id,
                message_id: m.message_id.clone().unwrap_or_default(),
                recipients: m.recipients.iter().map(|r| mailroom_core::api::RecipientStatus { address: r.address.clone(), status: r.status }).collect(),
            }),
            None => {
                let mut content = draft.content.clone();
                content.send_at = None;
                self.send_reserved(mailbox, &content, draft.message_id).await
            }
        };
        let mut done = draft.clone();
        done.version = draft.version + 1;
        done.updated_at = now();
        let outcome = match result {
            Ok(resp) => {
                done.status = DraftStatus::Sent;
                done.sent_at = Some(now());
                done.thread_id = Some(resp.thread_id);
                Released::Sent(resp)
            }
            Err(e) if crate::policy::is_refusal(&e) => {
                let code = match &e {
                    EngineError::Invalid { code, .. } | EngineError::Conflict { code, .. } => code.to_string(),
                    _ => "not_found".to_string(),
                };
                done.status = DraftStatus::Failed;
                done.error = Some(DraftError { code, message: e.to_string() });
                Released::Refused(e)
            }
            Err(e) => return Err(e),
        };
        let events = match &outcome {
            Released::Refused(_) => vec![NewEvent::new(
                done.site_id,
                Some(done.mailbox_id),
                event_types::MESSAGE_FAILED,
                serde_json::json!({"id": done.message_id, "message_id": done.message_id, "draft_id": done.id, "mailbox_id": done.mailbox_id,
                    "status": "failed", "error": done.error}),
            )],
            Released::Sent(_) => Vec::new(),
        };
        if !self.store.update_draft(&done, draft.version, &events).await? {
            tracing::warn!(draft = %draft.id, "a released draft changed while it was sent; its message is {}", draft.message_id);
        }
        Ok(outcome)
    }

    /// Releases one due draft the scheduler claimed.
    async fn release_claimed(&self, draft: Draft) {
        let id = draft.id;
        let mailbox = match self.store.get_mailbox(draft.mailbox_id).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                tracing::warn!(draft = %id, "the mailbox of a due draft is gone; it is not sent");
                return;
            }
            Err(e) => {
                tracing::warn!(draft = %id, error = %e, "could not load a due draft's mailbox; retried when its lease runs out");
                return;
            }
        };
        match self.release(&mailbox, draft).await {
            Ok(Released::Sent(_)) => tracing::info!(draft = %id, "scheduled message sent"),
            Ok(Released::Refused(e)) => tracing::info!(draft = %id, error = %e, "a due message was refused by the send policy; not sent"),
            Err(e) => tracing::warn!(draft = %id, error = %e, "sending a due draft failed; retried when its lease runs out"),
        }
    }

    /// Returns the signal raised when a draft is scheduled or approved, for the scheduler.
    pub fn scheduler_notify(&self) -> Arc<tokio::sync::Notify> {
        self.scheduler.clone()
    }
}

enum Released {
    Sent(SendMessageResponse),
    Refused(EngineError),
}

fn approval_item(d: Draft) -> Option<ApprovalItem> {
    let approval = d.approval.clone()?;
    Some(ApprovalItem { approval, draft: d })
}

/// The worker that sends scheduled and approved drafts when they are due: a leased queue
/// for [`mailroom_store::runner::run`]. Its idle wait ends at the next due time, so a message
/// leaves within a few milliseconds of its `send_at`.
pub struct DraftScheduler {
    engine: Engine,
    next_due: Mutex<Option<DateTime<Utc>>>,
    poll: Duration,
}

impl DraftScheduler {
    /// Returns a scheduler over `engine` that re-reads the next due time at least every `poll`.
    pub fn new(engine: Engine, poll: Duration) -> Arc<Self> {
        Arc::new(Self { engine, next_due: Mutex::new(None), poll })
    }

    /// Runs until `shutdown` turns `true`.
    pub async fn run(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        let waker = self.engine.scheduler_notify();
        let signal = Some(self.engine.store.event_signal());
        mailroom_store::runner::run(self, 4, waker, signal, shutdown).await;
    }
}

#[async_trait::async_trait]
impl mailroom_store::runner::LeasedQueue for DraftScheduler {
    type Work = Draft;

    fn name(&self) -> &'static str {
        "scheduled sends"
    }

    async fn prepare(&self) {
        match self.engine.store.next_draft_due().await {
            Ok(next) => *self.next_due.lock().unwrap_or_else(|e| e.into_inner()) = next,
            Err(e) => tracing::warn!(error = %e, "scheduled sends: could not read the next due time"),
        }
    }

    async fn claim_work(&self, limit: usize) -> Result<(usize, Vec<Draft>), String> {
        let t = Utc::now();
        // `prepare` just read the next due time: claim (a write) only when something is due.
        let next = *self.next_due.lock().unwrap_or_else(|e| e.into_inner());
        if next.is_none_or(|due| due > t) {
            return Ok((0, Vec::new()));
        }
        let drafts = self
            .engine
            .store
            .claim_due_drafts(t, t + chrono::Duration::seconds(SEND_LEASE_SECS), limit as u32)
            .await
            .map_err(|e| e.to_string())?;
        Ok((drafts.len(), drafts))
    }

    async fn run_work(self: Arc<Self>, work: Draft) {
        self.engine.release_claimed(work).await;
    }

    fn idle_wait(&self) -> Duration {
        let next = *self.next_due.lock().unwrap_or_else(|e| e.into_inner());
        match next {
            Some(t) => match (t - Utc::now()).to_std() {
                // Wake just after the due time (stored times keep microseconds).
                Ok(d) => (d + Duration::from_millis(2)).min(self.poll),
                Err(_) => Duration::from_millis(200).min(self.poll),
            },
            None => self.poll,
        }
    }
}
