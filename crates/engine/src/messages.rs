//! Sending, replying, local delivery, threading and message housekeeping.
//!
//! Order of writes for every stored message: the raw bytes and attachment blobs are written
//! and fsynced first, then one store transaction records the message, its thread, its
//! recipients and its events. A crash in between leaves at most an unreferenced blob, never
//! a record pointing at missing bytes.

use crate::{Engine, EngineError, EngineResult};
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use mailroom_core::api::{AttachmentInput, ForwardRequest, MessageQuery, ReplyRequest, RecipientStatus, SendMessageRequest, SendMessageResponse};
use mailroom_core::event_types::*;
use mailroom_core::mime::{self, OutgoingAttachment, OutgoingMessage, ParsedMessage};
use mailroom_core::*;
use mailroom_store::search::MAX_QUERY_CHARS;
use crate::idempotency::{IdempotencyKey, Sent};
use mailroom_store::{IdempotencyClaim, MessageFilter, NewEvent, NewMessage, NewSend, RecipientUpdate, SendWrite, StoreError};

/// A validated message listing request.
#[derive(Debug, Clone)]
pub struct ListMessages {
    /// The store filter.
    pub filter: MessageFilter,
}

impl ListMessages {
    /// Validates the query string of `GET /v1/mailboxes/{id}/messages`.
    pub fn from_query(q: &MessageQuery) -> EngineResult<Self> {
        let direction = q
            .direction
            .as_deref()
            .map(|d| d.parse::<Direction>())
            .transpose()
            .map_err(|e| EngineError::invalid("invalid_query", e))?;
        let since = q
            .since
            .as_deref()
            .map(|s| DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)))
            .transpose()
            .map_err(|_| EngineError::invalid("invalid_query", "`since` must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))?;
        let before = q
            .cursor
            .as_deref()
            .map(|c| c.parse::<MessageId>())
            .transpose()
            .map_err(|_| EngineError::invalid("invalid_cursor", "`cursor` is not a cursor this server returned"))?;
        let search = match q.q.as_deref().map(str::trim) {
            None => None,
            Some("") => return Err(EngineError::invalid("invalid_query", "`q` is empty; give the words to search for, or leave `q` out")),
            Some(s) if s.chars().count() > MAX_QUERY_CHARS => {
                return Err(EngineError::invalid("invalid_query", format!("`q` is longer than {MAX_QUERY_CHARS} characters")));
            }
            Some(s) => Some(s.to_string()),
        };
        Ok(Self {
            filter: MessageFilter {
                direction,
                thread_id: q.thread_id,
                unread: q.unread,
                since,
                label: q.label.clone(),
                q: search,
                before,
                limit: page_limit(q.limit)?,
            },
        })
    }
}

/// Checks a page size: 1 to 100, default 50.
pub fn page_limit(limit: Option<u32>) -> EngineResult<u32> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=100) => Ok(n),
        Some(_) => Err(EngineError::invalid("invalid_query", "`limit` must be between 1 and 100")),
    }
}

fn parse_list(field: &str, values: &[String]) -> EngineResult<Vec<NamedAddress>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            NamedAddress::parse(v)
                .map_err(|e| EngineError::invalid("invalid_email_address", format!("`{field}[{i}]`: {e}")))
        })
        .collect()
}

fn decode_attachments(inputs: &[AttachmentInput]) -> EngineResult<Vec<OutgoingAttachment>> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let filename = a.filename.trim();
            if filename.is_empty() || filename.chars().any(|c| c.is_control()) || filename.len() > 255 {
                return Err(EngineError::invalid(
                    "invalid_attachment",
                    format!("`attachments[{i}].filename` must be 1 to 255 characters without control characters"),
                ));
            }
            let content_type = a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
            let valid_ct = content_type.split_once('/').is_some_and(|(t, s)| {
                let ok = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
                ok(t) && ok(s)
            });
            if !valid_ct {
                return Err(EngineError::invalid(
                    "invalid_attachment",
                    format!("`attachments[{i}].content_type` `{content_type}` is not a MIME type such as application/pdf"),
                ));
            }
            let cleaned: String = a.content_base64.chars().filter(|c| !c.is_whitespace()).collect();
            let content = base64::engine::general_purpose::STANDARD
                .decode(cleaned.trim_end_matches('='))
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('=')))
                .map_err(|_| {
                    EngineError::invalid("invalid_attachment", format!("`attachments[{i}].content_base64` is not valid base64"))
                })?;
            if let Some(cid) = &a.content_id
                && (cid.is_empty() || cid.chars().any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')) {
                    return Err(EngineError::invalid("invalid_attachment", format!("`attachments[{i}].content_id` is not a valid Content-ID")));
                }
            Ok(OutgoingAttachment { filename: filename.to_string(), content_type, content, content_id: a.content_id.clone() })
        })
        .collect()
}

fn strip_angles(s: &str) -> String {
    s.trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

/// What a new outbound message answers, once resolved.
struct ReplyContext {
    in_reply_to: String,
    references: Vec<String>,
    thread: Option<ThreadId>,
}

impl Engine {
    /// Sends a message from `mailbox`: validates the request, builds the MIME message, stores
    /// it durably with one queued recipient each, delivers to mailboxes of this server at
    /// once, and leaves the others `queued` for the outbound queue.
    pub async fn send_message(&self, mailbox: &Mailbox, req: &SendMessageRequest) -> EngineResult<SendMessageResponse> {
        self.send_message_once(mailbox, req, None).await?.fresh()
    }

    /// Sends like [`Engine::send_message`] under an optional `Idempotency-Key`: a key the
    /// mailbox's site used before answers its first answer again (or an error for another
    /// request); otherwise the key and its answer are committed with the message.
    pub async fn send_message_once(&self, mailbox: &Mailbox, req: &SendMessageRequest, key: Option<&IdempotencyKey>) -> EngineResult<Sent> {
        if let Some(earlier) = self.earlier_use(mailbox.site_id, key).await? {
            return Ok(earlier);
        }
        let reply = match req.in_reply_to.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(target) => Some(self.resolve_reply_target(mailbox, target, req.allow_auto_reply).await?),
        };
        self.send_internal(mailbox, req, reply, Vec::new(), None, key).await
    }

    /// Sends like [`Engine::send_message`], with `route` recorded for the delivery worker
    /// before the message is stored.
    pub(crate) async fn send_with_route(&self, mailbox: &Mailbox, req: &SendMessageRequest, route: &str) -> EngineResult<SendMessageResponse> {
        let reply = match req.in_reply_to.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(target) => Some(self.resolve_reply_target(mailbox, target, req.allow_auto_reply).await?),
        };
        self.send_internal(mailbox, req, reply, Vec::new(), Some(route), None).await?.fresh()
    }

    async fn resolve_reply_target(&self, mailbox: &Mailbox, target: &str, allow_auto_reply: bool) -> EngineResult<ReplyContext> {
        if let Ok(id) = target.parse::<MessageId>() {
            let original = self.store.get_message(id).await?.filter(|m| m.mailbox_id == mailbox.id).ok_or_else(|| {
                EngineError::invalid("invalid_in_reply_to", format!("`in_reply_to`: this mailbox has no message with id {id}"))
            })?;
            if original.auto_submitted && original.direction == Direction::Inbound && !allow_auto_reply {
                return Err(crate::policy::auto_reply_refusal(&original));
            }
            return Ok(Self::reply_context(&original));
        }
        let header = strip_angles(target);
        if header.is_empty() || header.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(EngineError::invalid(
                "invalid_in_reply_to",
                "`in_reply_to` must be a message id of this mailbox or a Message-ID header value",
            ));
        }
        Ok(match self.store.find_message_by_message_id(mailbox.id, None, &header).await? {
            Some(original) if original.auto_submitted && original.direction == Direction::Inbound && !allow_auto_reply => {
                return Err(crate::policy::auto_reply_refusal(&original));
            }
            Some(original) => Self::reply_context(&original),
            None => ReplyContext { in_reply_to: header.clone(), references: vec![header], thread: None },
        })
    }

    fn reply_context(original: &Message) -> ReplyContext {
        let mut references = original.references.clone();
        if references.is_empty() {
            references.extend(original.in_reply_to.clone());
        }
        let in_reply_to = original.message_id.clone().unwrap_or_default();
        if !in_reply_to.is_empty() {
            references.push(in_reply_to.clone());
        }
        ReplyContext { in_reply_to, references, thread: Some(original.thread_id) }
    }

    /// Replies to `original` from its mailbox, to its sender (or `Reply-To`), and with
    /// `reply_all` to its other recipients too, in the same thread.
    pub async fn reply(&self, mailbox: &Mailbox, original: &Message, req: &ReplyRequest) -> EngineResult<SendMessageResponse> {
        self.reply_once(mailbox, original, req, None).await?.fresh()
    }

    /// Replies like [`Engine::reply`] under an optional `Idempotency-Key` (see
    /// [`Engine::send_message_once`]).
    pub async fn reply_once(&self, mailbox: &Mailbox, original: &Message, req: &ReplyRequest, key: Option<&IdempotencyKey>) -> EngineResult<Sent> {
        if let Some(earlier) = self.earlier_use(mailbox.site_id, key).await? {
            return Ok(earlier);
        }
        let own = mailbox.address.canonical();
        let mut to: Vec<NamedAddress> = match original.direction {
            Direction::Inbound if !original.reply_to.is_empty() => original.reply_to.clone(),
            Direction::Inbound => original.from.clone().into_iter().collect(),
            Direction::Outbound => original.to.clone(),
        };
        let mut cc = Vec::new();
        if req.reply_all {
            let others = original.to.iter().chain(original.cc.iter()).filter(|a| a.address.canonical() != own);
            for a in others {
                if !to.iter().chain(cc.iter()).any(|x: &NamedAddress| x.address.canonical() == a.address.canonical()) {
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
        let send = SendMessageRequest {
            to: to.iter().map(ToString::to_string).collect(),
            cc: cc.iter().map(ToString::to_string).chain(req.cc.iter().cloned()).collect(),
            bcc: req.bcc.clone(),
            reply_to: Vec::new(),
            subject,
            text: req.text.clone(),
            html: req.html.clone(),
            attachments: req.attachments.clone(),
            headers: req.headers.clone(),
            in_reply_to: None,
            labels: req.labels.clone(),
            allow_auto_reply: req.allow_auto_reply,
            send_at: None,
        };
        if original.auto_submitted && original.direction == Direction::Inbound && !req.allow_auto_reply {
            return Err(crate::policy::auto_reply_refusal(original));
        }
        self.send_internal(mailbox, &send, Some(Self::reply_context(original)), Vec::new(), None, key).await
    }

    /// Forwards `original` from its mailbox as a new conversation: the subject gets `Fwd:`,
    /// the body is `req.text` above the quoted original (its header block, then its text; and
    /// its HTML too when it has some), and every attachment of the original is attached again,
    /// inline parts keeping their `Content-ID` so the quoted HTML still shows them.
    pub async fn forward(&self, mailbox: &Mailbox, original: &Message, req: &ForwardRequest) -> EngineResult<SendMessageResponse> {
        self.forward_once(mailbox, original, req, None).await?.fresh()
    }

    /// Forwards like [`Engine::forward`] under an optional `Idempotency-Key` (see
    /// [`Engine::send_message_once`]).
    pub async fn forward_once(&self, mailbox: &Mailbox, original: &Message, req: &ForwardRequest, key: Option<&IdempotencyKey>) -> EngineResult<Sent> {
        if let Some(earlier) = self.earlier_use(mailbox.site_id, key).await? {
            return Ok(earlier);
        }
        let subject = original.subject.clone().unwrap_or_default();
        let lower = subject.to_ascii_lowercase();
        let subject = if lower.starts_with("fwd:") || lower.starts_with("fw:") { subject } else { format!("Fwd: {subject}") };
        let quote = ForwardQuote::of(original);
        let note = req.text.as_deref().map(str::trim_end).filter(|t| !t.is_empty());
        let mut text = String::new();
        if let Some(note) = note {
            text.push_str(note);
            text.push_str("\n\n");
        }
        text.push_str(&quote.text_header());
        text.push('\n');
        text.push_str(original.text.as_deref().unwrap_or("(the forwarded message has no plain-text part)"));
        let html = original.html.as_deref().map(|body| {
            let note = note.map(|n| format!("<div>{}</div><br>\n", html_escape(n).replace('\n', "<br>"))).unwrap_or_default();
            format!("{note}<div class=\"mailroom_forward\">{}</div><br>\n{body}", quote.html_header())
        });
        let mut attachments = Vec::with_capacity(original.attachments.len());
        for (i, a) in original.attachments.iter().enumerate() {
            let content = self.blobs.get(&a.blob_key).await?.to_vec();
            attachments.push(OutgoingAttachment {
                filename: a.filename.clone().filter(|f| !f.trim().is_empty()).unwrap_or_else(|| format!("attachment-{}", i + 1)),
                content_type: a.content_type.clone(),
                content,
                content_id: a.content_id.clone(),
            });
        }
        let send = SendMessageRequest {
            to: req.to.clone(),
            cc: req.cc.clone(),
            bcc: req.bcc.clone(),
            subject,
            text: Some(text),
            html,
            attachments: req.attachments.clone(),
            ..SendMessageRequest::default()
        };
        self.send_internal(mailbox, &send, None, attachments, None, key).await
    }

    // --- issue 17 hook: a draft released by the scheduler is sent with the message id it
    // reserved, so a send retried after a crash finds its message instead of sending twice.
    /// Sends like [`Engine::send_message`] with the message id `id` (a draft's reservation).
    pub(crate) async fn send_reserved(&self, mailbox: &Mailbox, req: &SendMessageRequest, id: MessageId) -> EngineResult<SendMessageResponse> {
        let reply = match req.in_reply_to.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(target) => Some(self.resolve_reply_target(mailbox, target, req.allow_auto_reply).await?),
        };
        self.send_internal_as(mailbox, req, reply, Vec::new(), None, Some(id), None).await?.fresh()
    }

    async fn send_internal(
        &self,
        mailbox: &Mailbox,
        req: &SendMessageRequest,
        reply: Option<ReplyContext>,
        extra_attachments: Vec<OutgoingAttachment>,
        route: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> EngineResult<Sent> {
        self.send_internal_as(mailbox, req, reply, extra_attachments, route, None, key).await
    }
    // --- end of the issue 17 hook

    #[allow(clippy::too_many_arguments)]
    async fn send_internal_as(
        &self,
        mailbox: &Mailbox,
        req: &SendMessageRequest,
        reply: Option<ReplyContext>,
        extra_attachments: Vec<OutgoingAttachment>,
        route: Option<&str>,
        reserved: Option<MessageId>,
        key: Option<&IdempotencyKey>,
    ) -> EngineResult<Sent> {
        let to = parse_list("to", &req.to)?;
        let cc = parse_list("cc", &req.cc)?;
        let bcc = parse_list("bcc", &req.bcc)?;
        let reply_to = parse_list("reply_to", &req.reply_to)?;
        let mut recipients: Vec<(EmailAddress, RecipientKind)> = Vec::new();
        for (list, kind) in [(&to, RecipientKind::To), (&cc, RecipientKind::Cc), (&bcc, RecipientKind::Bcc)] {
            for a in list {
                if !recipients.iter().any(|(r, _)| r.canonical() == a.address.canonical()) {
                    recipients.push((a.address.clone(), kind));
                }
            }
        }
        if recipients.is_empty() {
            return Err(EngineError::invalid("validation_error", "give at least one recipient in `to`, `cc` or `bcc`"));
        }
        // The one policy step: every recipient (to, cc, bcc), by its address without `+tag`.
        let addresses: Vec<EmailAddress> = recipients.iter().map(|(a, _)| a.clone()).collect();
        self.enforce_send_policy(mailbox.site_id, Some(mailbox.id), &addresses).await?;
        if let Some(thread) = reply.as_ref().and_then(|r| r.thread) {
            self.enforce_thread_limit(mailbox, thread).await?;
        }
        if recipients.len() > self.config.max_recipients {
            return Err(EngineError::invalid(
                "too_many_recipients",
                format!("a message may have at most {} recipients", self.config.max_recipients),
            ));
        }
        if req.subject.chars().any(|c| c.is_control()) {
            return Err(EngineError::invalid("validation_error", "`subject` must not contain line breaks or control characters"));
        }
        if req.text.is_none() && req.html.is_none() {
            return Err(EngineError::invalid("validation_error", "give `text`, `html` or both"));
        }
        let mut headers = Vec::new();
        for (name, value) in &req.headers {
            mime::validate_custom_header(name, value).map_err(|e| EngineError::invalid("invalid_header", e.to_string()))?;
            headers.push((name.clone(), value.clone()));
        }
        let labels = clean_labels(&req.labels)?;
        // Controls hook (issue 15, crates/engine/src/controls.rs): uploaded attachments by id,
        // then quotas and rate limits, after validation and before anything is built or stored.
        let (inline_attachments, uploaded) = self.resolve_uploaded_attachments(mailbox.site_id, &req.attachments).await?;
        self.check_send_controls(mailbox).await?;
        let mut attachments = decode_attachments(&inline_attachments)?;
        attachments.extend(uploaded);
        attachments.extend(extra_attachments);

        let id = reserved.unwrap_or_default();
        let now = now();
        let header_id = format!("{}@{}", id.as_uuid().simple(), mailbox.address.domain());
        let out = OutgoingMessage {
            from: mailbox.named_address(),
            to: to.clone(),
            cc: cc.clone(),
            reply_to,
            subject: req.subject.clone(),
            text: req.text.clone(),
            html: req.html.clone(),
            attachments,
            headers,
            message_id: header_id.clone(),
            in_reply_to: reply.as_ref().map(|r| r.in_reply_to.clone()).filter(|s| !s.is_empty()),
            references: reply.as_ref().map(|r| r.references.clone()).unwrap_or_default(),
            date: now,
        };
        let raw = mime::build(&out).map_err(|e| EngineError::Internal(e.to_string()))?;
        let parsed = mime::parse(&raw).map_err(|e| EngineError::Internal(format!("a message we built does not parse: {e}")))?;
        let (thread_id, new_thread) = match reply.and_then(|r| r.thread) {
            Some(t) => (t, false),
            None => (ThreadId::new(), true),
        };
        let recipients = recipients
            .into_iter()
            .map(|(address, kind)| Recipient {
                address,
                kind,
                status: DeliveryStatus::Queued,
                last_reply: None,
                attempts: 0,
                next_attempt_at: None,
                updated_at: now,
            })
            .collect();
        let parsed_bcc = parsed.bcc.clone();
        let staged = self
            .stage(StoreParsed {
                id,
                site_id: mailbox.site_id,
                mailbox_id: mailbox.id,
                thread_id,
                new_thread,
                direction: Direction::Outbound,
                raw: Bytes::from(raw),
                parsed,
                bcc,
                labels,
                recipients,
                created_at: now,
                event_type: MESSAGE_SENT,
                auth_results: None,
            })
            .await?;
        let written = staged.written.clone();
        let sent = self.commit_send(staged, parsed_bcc, header_id, route, key).await;
        if !matches!(sent, Ok(Sent::New(_))) {
            // Nothing refers to the blobs written for it.
            self.delete_blobs(written).await;
        }
        sent
    }

    /// Commits a staged outbound message in one store transaction with everything its send
    /// writes: its local deliveries (a copy for each mailbox of this server it is addressed
    /// to, sharing its blobs; a bounce for unknown or refusing ones), their events, its route,
    /// and the idempotency key with its answer. Recipients elsewhere stay `queued` for the
    /// outbound queue. Answers once the transaction is durable.
    async fn commit_send(
        &self,
        staged: Staged,
        parsed_bcc: Vec<NamedAddress>,
        header_id: String,
        route: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> EngineResult<Sent> {
        let Staged { mut message, event: sent_event, new_thread, inline, written: _ } = staged;
        let mut writes = Vec::new();
        let mut delivered_to: Vec<MailboxId> = Vec::new();
        let mut outcomes = Vec::new();
        for i in 0..message.recipients.len() {
            let r = message.recipients[i].clone();
            let Some(plan) = self.plan_local(&message, &r).await? else { continue };
            let (status, reply) = match plan {
                LocalPlan::Deliver { target, tag } => {
                    // Two addresses of one mailbox (`a@` and `a+tag@`) get one copy.
                    if !delivered_to.contains(&target.id) {
                        delivered_to.push(target.id);
                        writes.push(self.local_copy(&message, &parsed_bcc, &target, tag).await?);
                    }
                    (DeliveryStatus::Delivered, format!("250 2.0.0 delivered to local mailbox {}", target.address))
                }
                LocalPlan::Bounce { reply, suppression } => {
                    if let Some(s) = suppression {
                        let event = NewEvent::new(s.site_id, None, SUPPRESSION_CREATED, serde_json::to_value(&s).unwrap_or_default());
                        writes.push(SendWrite::Suppression { suppression: s, event: Some(event) });
                    }
                    (DeliveryStatus::Bounced, reply)
                }
            };
            let event_type = if status == DeliveryStatus::Delivered { MESSAGE_DELIVERED } else { MESSAGE_BOUNCED };
            let attempts = r.attempts + 1;
            let event = NewEvent::recipient_outcome(&message, event_type, &r.address, status, &reply, attempts);
            let rec = &mut message.recipients[i];
            rec.status = status;
            rec.last_reply = Some(reply);
            rec.attempts = attempts;
            rec.updated_at = event.created_at;
            writes.push(SendWrite::Events(vec![event]));
            outcomes.push(status);
        }
        let response = SendMessageResponse {
            id: message.id,
            thread_id: message.thread_id,
            message_id: header_id,
            recipients: message.recipients.iter().map(|r| RecipientStatus { address: r.address.clone(), status: r.status }).collect(),
        };
        let queued = message.recipients.iter().any(|r| r.status == DeliveryStatus::Queued);
        let copies = delivered_to.len();
        let site = message.site_id;
        // The sender's copy goes first, with the recipients' outcomes; its `message.sent` event
        // shows them queued, as it was made before the deliveries.
        writes.insert(0, SendWrite::Message { new: NewMessage { message, new_thread }, events: vec![sent_event], blobs: inline });
        let send = NewSend {
            idempotency: key.map(|k| k.answer(site, &response)).transpose()?,
            route: route.map(|r| (response.id, site, r.to_string())),
            writes,
        };
        match self.store.commit_send(send).await? {
            IdempotencyClaim::Claimed => {}
            // Another request with the same key committed first; nothing of this one was written.
            earlier => return key.ok_or_else(|| EngineError::Internal("a send without a key met an earlier use".into()))?.replay(earlier),
        }
        metrics::counter!("mailroom_messages_sent_total").increment(1);
        metrics::counter!("mailroom_messages_received_total").increment(copies as u64);
        let delivered = outcomes.iter().filter(|s| **s == DeliveryStatus::Delivered).count() as u64;
        metrics::counter!("mailroom_messages_delivered_total").increment(delivered);
        metrics::counter!("mailroom_messages_bounced_total").increment(outcomes.len() as u64 - delivered);
        if queued {
            self.outbound.notify_one();
        }
        Ok(Sent::New(response))
    }
    /// Writes the blobs, then records the message, its thread and its event in one
    /// transaction. Returns the stored message.
    async fn store_parsed(&self, s: StoreParsed) -> EngineResult<Message> {
        let event_type = s.event_type;
        let Staged { message, event, new_thread, inline, written } = self.stage(s).await?;
        let new = NewMessage { message, new_thread };
        if let Err(e) = self.store.insert_message_with_blobs(&new, std::slice::from_ref(&event), inline).await {
            self.delete_blobs(written).await;
            return Err(e.into());
        }
        match event_type {
            MESSAGE_RECEIVED => metrics::counter!("mailroom_messages_received_total").increment(1),
            MESSAGE_SENT => metrics::counter!("mailroom_messages_sent_total").increment(1),
            MESSAGE_IMPORTED => metrics::counter!("mailroom_messages_imported_total").increment(1),
            _ => {}
        }
        Ok(new.message)
    }

    /// Writes the blobs the store cannot keep itself to the blob store (and fsyncs them) and
    /// makes the message and its event, ready for one store transaction. On failure, nothing
    /// written is left behind.
    async fn stage(&self, s: StoreParsed) -> EngineResult<Staged> {
        let raw_key = format!("messages/{}.eml", s.id);
        let size = s.raw.len() as u64;
        // Blobs the store can keep itself go into the message's own transaction (one commit,
        // no file); larger ones are written to the blob store first.
        let inline_max = self.store.inline_blob_max();
        let mut inline: Vec<(String, Bytes)> = Vec::new();
        let mut written: Vec<String> = Vec::new();
        let mut p = s.parsed;
        let mut blobs = vec![(raw_key.clone(), s.raw)];
        let mut attachments = Vec::new();
        for a in std::mem::take(&mut p.attachments) {
            let aid = AttachmentId::new();
            let key = format!("attachments/{aid}");
            attachments.push(Attachment {
                id: aid,
                filename: a.filename,
                content_type: a.content_type,
                size: a.content.len() as u64,
                content_id: a.content_id,
                inline: a.inline,
                blob_key: key.clone(),
                download_url: None,
            });
            blobs.push((key, Bytes::from(a.content)));
        }
        for (key, data) in blobs {
            if data.len() <= inline_max {
                inline.push((key, data));
            } else if let Err(e) = self.blobs.put(&key, data).await {
                self.delete_blobs(written).await;
                return Err(e.into());
            } else {
                written.push(key);
            }
        }
        let message = Message {
            id: s.id,
            site_id: s.site_id,
            mailbox_id: s.mailbox_id,
            thread_id: s.thread_id,
            direction: s.direction,
            message_id: p.message_id,
            in_reply_to: p.in_reply_to,
            references: p.references,
            from: p.from,
            to: p.to,
            cc: p.cc,
            bcc: if s.bcc.is_empty() { p.bcc } else { s.bcc },
            reply_to: p.reply_to,
            subject: p.subject,
            text: p.text,
            html: p.html,
            snippet: p.snippet,
            headers: p.headers,
            attachments,
            labels: s.labels,
            read: s.direction == Direction::Outbound,
            size,
            recipients: s.recipients,
            created_at: s.created_at,
            raw_blob_key: raw_key,
            auth_results: s.auth_results,
            auto_submitted: false,
            dsn: None,
            extracted_text: None,
            extracted_html: None,
            security: None,
        }
        .derived();
        // Reply extraction and untrusted-content flags (issue 18): see `crate::reading`.
        let message = self.read_content(message).await;
        let event = NewEvent::new(s.site_id, Some(s.mailbox_id), s.event_type, message_event_data(&message));
        Ok(Staged { message, event, new_thread: s.new_thread, inline, written })
    }

    /// Decides the local delivery of one recipient of an outbound message: `None` when its
    /// domain is not hosted here (it stays queued for the outbound queue).
    async fn plan_local(&self, message: &Message, recipient: &Recipient) -> EngineResult<Option<LocalPlan>> {
        if !self.is_hosted(recipient.address.domain()).await? {
            return Ok(None);
        }
        let (base, tag) = recipient.address.without_tag();
        let Some(target) = self.store.get_mailbox_by_address(&base.canonical()).await? else {
            let reply = format!("550 5.1.1 <{}>: no such mailbox here", recipient.address);
            let canonical = EmailAddress::parse(&recipient.address.canonical()).unwrap_or_else(|_| recipient.address.clone());
            let suppression =
                Suppression { site_id: message.site_id, address: canonical, reason: "hard_bounce".into(), detail: Some(reply.clone()), created_at: now() };
            return Ok(Some(LocalPlan::Bounce { reply, suppression: Some(suppression) }));
        };
        // The recipient mailbox's receive lists hold for mail between mailboxes here too.
        if let Some(from) = &message.from
            && !self.sender_allowed(&target, from.address.as_str()).await?
        {
            let reply = format!("550 5.7.1 <{}>: the sender is blocked by the recipient's list", recipient.address);
            return Ok(Some(LocalPlan::Bounce { reply, suppression: None }));
        }
        // The recipient mailbox's storage quota holds as it does for mail received over SMTP.
        // A local delivery is not queued for a later try, so a full mailbox bounces the copy.
        if self.check_inbound_quota(std::slice::from_ref(&target), message.size, "local").await?.is_some() {
            let reply = format!("552 5.2.2 <{}>: the mailbox's storage quota is full", recipient.address);
            return Ok(Some(LocalPlan::Bounce { reply, suppression: None }));
        }
        Ok(Some(LocalPlan::Deliver { target, tag }))
    }

    /// Makes the copy of the outbound `message` that `target` (a mailbox here) receives, as
    /// [`Engine::store_inbound_copy`] would from the same bytes (threaded by `In-Reply-To`
    /// and `References`, labelled with the address's `+tag`), sharing the sender's blobs.
    async fn local_copy(&self, message: &Message, parsed_bcc: &[NamedAddress], target: &Mailbox, tag: Option<String>) -> EngineResult<SendWrite> {
        let mut ids: Vec<String> = message.references.clone();
        ids.extend(message.in_reply_to.clone());
        let found = if ids.is_empty() { None } else { self.store.find_thread_by_message_ids(target.id, &ids).await? };
        let (thread_id, new_thread) = match found {
            Some(t) => (t, false),
            None => (ThreadId::new(), true),
        };
        let copy = Message {
            id: MessageId::new(),
            mailbox_id: target.id,
            site_id: target.site_id,
            thread_id,
            direction: Direction::Inbound,
            bcc: parsed_bcc.to_vec(),
            attachments: message.attachments.iter().map(|a| Attachment { id: AttachmentId::new(), ..a.clone() }).collect(),
            labels: tag.map(|t| vec![t]).unwrap_or_default(),
            read: false,
            recipients: Vec::new(),
            created_at: now(),
            auth_results: None,
            ..message.clone()
        }
        .derived();
        let event = NewEvent::new(copy.site_id, Some(copy.mailbox_id), MESSAGE_RECEIVED, message_event_data(&copy));
        Ok(SendWrite::Message { new: NewMessage { message: copy, new_thread }, events: vec![event], blobs: Vec::new() })
    }

    /// Delivers every still-queued recipient of `message` that is on a domain this server
    /// hosts: an inbound copy for an existing mailbox, a bounce for an unknown one. Other
    /// recipients stay queued for the outbound queue.
    async fn deliver_locally(&self, message: &mut Message) -> EngineResult<()> {
        let mut raw: Option<Bytes> = None;
        for i in 0..message.recipients.len() {
            let r = message.recipients[i].clone();
            if r.status != DeliveryStatus::Queued {
                continue;
            }
            let Some((status, reply)) = self.deliver_one_local(message, &r, &mut raw).await? else { continue };
            let event_type = if status == DeliveryStatus::Delivered { MESSAGE_DELIVERED } else { MESSAGE_BOUNCED };
            let update = RecipientUpdate { status, last_reply: Some(reply.clone()), attempts: r.attempts + 1, next_attempt_at: None };
            let event = NewEvent::recipient_outcome(message, event_type, &r.address, status, &reply, update.attempts);
            self.store.update_recipient(message.id, &r.address, &update, std::slice::from_ref(&event)).await?;
            if status == DeliveryStatus::Delivered {
                metrics::counter!("mailroom_messages_delivered_total").increment(1);
            } else {
                metrics::counter!("mailroom_messages_bounced_total").increment(1);
            }
            let rec = &mut message.recipients[i];
            rec.status = status;
            rec.last_reply = Some(reply);
            rec.attempts = update.attempts;
            rec.updated_at = event.created_at;
        }
        Ok(())
    }

    /// Delivers one recipient of `message` to a mailbox of this server, without recording
    /// the outcome on the recipient (the caller does): `None` when the recipient's domain
    /// is not hosted here; `Delivered` with an inbound copy stored; `Bounced` (and the address
    /// suppressed) when the hosted domain has no such mailbox. `raw` caches the message bytes
    /// across recipients.
    pub async fn deliver_one_local(
        &self,
        message: &Message,
        recipient: &Recipient,
        raw: &mut Option<Bytes>,
    ) -> EngineResult<Option<(DeliveryStatus, String)>> {
        if !self.is_hosted(recipient.address.domain()).await? {
            return Ok(None);
        }
        let (base, tag) = recipient.address.without_tag();
        let Some(target) = self.store.get_mailbox_by_address(&base.canonical()).await? else {
            let reply = format!("550 5.1.1 <{}>: no such mailbox here", recipient.address);
            self.suppress(message.site_id, &recipient.address, "hard_bounce", Some(reply.clone())).await?;
            return Ok(Some((DeliveryStatus::Bounced, reply)));
        };
        // The recipient mailbox's receive lists hold for mail between mailboxes here too.
        if let Some(from) = &message.from
            && !self.sender_allowed(&target, from.address.as_str()).await?
        {
            return Ok(Some((DeliveryStatus::Bounced, format!("550 5.7.1 <{}>: the sender is blocked by the recipient's list", recipient.address))));
        }
        let bytes = match raw {
            Some(b) => b.clone(),
            None => raw.insert(self.blobs.get(&message.raw_blob_key).await?).clone(),
        };
        self.store_inbound_copy(&target, bytes, tag, None).await?;
        Ok(Some((DeliveryStatus::Delivered, format!("250 2.0.0 delivered to local mailbox {}", target.address))))
    }

    /// Stores `raw` as an inbound message of `mailbox`, threaded by its `In-Reply-To` and
    /// `References`. A message whose `Message-ID` the mailbox already holds inbound is not
    /// stored twice: the existing copy is returned.
    ///
    /// The store decides that: the write is refused with `Conflict` by the unique
    /// (mailbox, direction, Message-ID) index, and only then is the stored copy read. A
    /// redelivery is rare, so a read before every write (a round trip for every received
    /// message) would cost far more than the refused write costs the rare duplicate (its
    /// blobs over the store's inline size are written, then deleted).
    pub async fn store_inbound_copy(
        &self,
        mailbox: &Mailbox,
        raw: Bytes,
        tag: Option<String>,
        auth_results: Option<serde_json::Value>,
    ) -> EngineResult<Message> {
        let parsed = mime::parse(&raw).unwrap_or_default();
        let mut ids: Vec<String> = parsed.references.clone();
        ids.extend(parsed.in_reply_to.clone());
        let found = if ids.is_empty() { None } else { self.store.find_thread_by_message_ids(mailbox.id, &ids).await? };
        let (thread_id, new_thread) = match found {
            Some(t) => (t, false),
            None => (ThreadId::new(), true),
        };
        let labels = tag.map(|t| vec![t]).unwrap_or_default();
        let message_id = parsed.message_id.clone();
        let stored = self
            .store_parsed(StoreParsed {
                id: MessageId::new(),
                site_id: mailbox.site_id,
                mailbox_id: mailbox.id,
                thread_id,
                new_thread,
                direction: Direction::Inbound,
                raw,
                parsed,
                bcc: Vec::new(),
                labels,
                recipients: Vec::new(),
                created_at: now(),
                event_type: MESSAGE_RECEIVED,
                auth_results,
            })
            .await;
        match (stored, message_id) {
            // A redelivery, or another delivery of the same message that won a race: keep the
            // stored copy.
            (Err(EngineError::Store(StoreError::Conflict { .. })), Some(mid)) => self
                .store
                .find_message_by_message_id(mailbox.id, Some(Direction::Inbound), &mid)
                .await?
                .ok_or_else(|| EngineError::Internal("duplicate Message-ID without a stored copy".into())),
            (other, _) => other,
        }
    }

    /// Imports `raw` into `mailbox` as a received message, exactly as given (nothing is sent)
    /// and threaded by its `In-Reply-To` and `References` like mail arriving over SMTP.
    /// Returns the message and whether it is new: a message whose `Message-ID` the mailbox
    /// holds already, in either direction, is not stored twice, so an import can be re-run.
    pub async fn import_message(&self, mailbox: &Mailbox, raw: Bytes) -> EngineResult<(Message, bool)> {
        let mut out = self.import_messages(mailbox, vec![raw]).await?;
        out.pop().ok_or_else(|| EngineError::Internal("an import of one message answered nothing".into()))
    }

    /// Imports a batch of messages in order, as [`Engine::import_message`] does for one, with
    /// one answer per message. Threads are resolved in order first (a reply finds a parent
    /// earlier in the same batch), then the messages are stored concurrently so the store can
    /// commit them together: the messages that start a thread first, then the others. Ids are
    /// assigned in batch order, so listings keep the order of the input.
    pub async fn import_messages(&self, mailbox: &Mailbox, raws: Vec<Bytes>) -> EngineResult<Vec<(Message, bool)>> {
        enum Slot {
            Existing(Box<Message>),
            SameAsEarlier(String),
            New(Option<Box<StoreParsed>>),
        }
        let mut slots = Vec::with_capacity(raws.len());
        let mut batch_threads: std::collections::HashMap<String, ThreadId> = std::collections::HashMap::new();
        for raw in raws {
            let parsed = mime::parse(&raw).unwrap_or_default();
            if let Some(mid) = &parsed.message_id {
                if batch_threads.contains_key(mid) {
                    slots.push(Slot::SameAsEarlier(mid.clone()));
                    continue;
                }
                if let Some(existing) = self.find_by_message_id(mailbox.id, mid).await? {
                    slots.push(Slot::Existing(Box::new(existing)));
                    continue;
                }
            }
            let mut ids: Vec<String> = parsed.references.clone();
            ids.extend(parsed.in_reply_to.clone());
            let mut found = ids.iter().find_map(|id| batch_threads.get(id).copied());
            if found.is_none() && !ids.is_empty() {
                found = self.store.find_thread_by_message_ids(mailbox.id, &ids).await?;
            }
            let (thread_id, new_thread) = match found {
                Some(t) => (t, false),
                None => (ThreadId::new(), true),
            };
            if let Some(mid) = &parsed.message_id {
                batch_threads.insert(mid.clone(), thread_id);
            }
            slots.push(Slot::New(Some(Box::new(StoreParsed {
                id: MessageId::new(),
                site_id: mailbox.site_id,
                mailbox_id: mailbox.id,
                thread_id,
                new_thread,
                direction: Direction::Inbound,
                raw,
                parsed,
                bcc: Vec::new(),
                labels: Vec::new(),
                recipients: Vec::new(),
                created_at: now(),
                event_type: MESSAGE_IMPORTED,
                auth_results: None,
            }))));
        }
        // Store: thread starters first (the others update their thread), each group at once.
        let mut stored: std::collections::HashMap<usize, Message> = std::collections::HashMap::new();
        for starters in [true, false] {
            let mut work = Vec::new();
            for (i, slot) in slots.iter_mut().enumerate() {
                if let Slot::New(pending) = slot
                    && pending.as_ref().is_some_and(|p| p.new_thread == starters)
                    && let Some(p) = pending.take()
                {
                    work.push(async move { (i, self.store_parsed(*p).await) });
                }
            }
            for (i, result) in futures::future::join_all(work).await {
                stored.insert(i, result?);
            }
        }
        let mut out = Vec::with_capacity(slots.len());
        for (i, slot) in slots.into_iter().enumerate() {
            out.push(match slot {
                Slot::Existing(m) => (*m, false),
                Slot::New(_) => (stored.remove(&i).ok_or_else(|| EngineError::Internal("an imported message was not stored".into()))?, true),
                Slot::SameAsEarlier(mid) => {
                    let m = self
                        .find_by_message_id(mailbox.id, &mid)
                        .await?
                        .ok_or_else(|| EngineError::Internal("an imported Message-ID has no stored copy".into()))?;
                    (m, false)
                }
            });
        }
        Ok(out)
    }

    /// Returns the mailbox's message with this `Message-ID`, received or sent: one indexed
    /// lookup per direction.
    async fn find_by_message_id(&self, mailbox: MailboxId, message_id: &str) -> EngineResult<Option<Message>> {
        for direction in [Direction::Inbound, Direction::Outbound] {
            if let Some(m) = self.store.find_message_by_message_id(mailbox, Some(direction), message_id).await? {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// Finishes local deliveries that a crash interrupted: every due recipient on a hosted
    /// domain is delivered (idempotently: a copy already stored is not stored again).
    pub async fn recover_local_deliveries(&self) -> EngineResult<usize> {
        let mut done = 0;
        loop {
            let due = self.store.due_recipients(now(), 100).await?;
            let mut local = Vec::new();
            for p in due {
                if self.is_hosted(p.recipient.address.domain()).await? {
                    local.push(p);
                }
            }
            if local.is_empty() {
                return Ok(done);
            }
            let before = done;
            for p in local {
                if let Some(mut m) = self.store.get_message(p.message_id).await? {
                    m.recipients.retain(|r| r.address == p.recipient.address);
                    self.deliver_locally(&mut m).await?;
                    done += 1;
                }
            }
            if done == before {
                return Ok(done);
            }
        }
    }

    /// Schedules another attempt for one recipient of `message` (deferred, bounced or failed)
    /// right away, and wakes the delivery worker.
    pub async fn retry_recipient(&self, message: &Message, address: &str) -> EngineResult<Message> {
        let r = Self::find_recipient(message, address)?;
        if matches!(r.status, DeliveryStatus::Delivered | DeliveryStatus::Sending | DeliveryStatus::Queued) {
            return Err(EngineError::Conflict {
                code: "invalid_state",
                message: format!("{} is {}; only deferred, bounced or failed recipients can be retried", r.address, r.status),
            });
        }
        let update = RecipientUpdate { status: DeliveryStatus::Queued, last_reply: r.last_reply.clone(), attempts: r.attempts, next_attempt_at: None };
        self.store.update_recipient(message.id, &r.address, &update, &[]).await?;
        self.outbound.notify_one();
        self.store.get_message(message.id).await?.ok_or_else(|| EngineError::NotFound(format!("no message with id {}", message.id)))
    }

    /// Gives up on a recipient still waiting for delivery: it becomes `failed`.
    pub async fn cancel_recipient(&self, message: &Message, address: &str) -> EngineResult<Message> {
        let r = Self::find_recipient(message, address)?;
        if r.status.is_final() {
            return Err(EngineError::Conflict { code: "invalid_state", message: format!("{} is already {}", r.address, r.status) });
        }
        let reply = "cancelled by an operator".to_string();
        let update = RecipientUpdate { status: DeliveryStatus::Failed, last_reply: Some(reply.clone()), attempts: r.attempts, next_attempt_at: None };
        let event = NewEvent::recipient_outcome(message, MESSAGE_FAILED, &r.address, DeliveryStatus::Failed, &reply, r.attempts);
        self.store.update_recipient(message.id, &r.address, &update, std::slice::from_ref(&event)).await?;
        self.store.get_message(message.id).await?.ok_or_else(|| EngineError::NotFound(format!("no message with id {}", message.id)))
    }

    fn find_recipient<'a>(message: &'a Message, address: &str) -> EngineResult<&'a Recipient> {
        let wanted = address.trim().to_lowercase();
        message
            .recipients
            .iter()
            .find(|r| r.address.canonical() == wanted)
            .ok_or_else(|| EngineError::NotFound(format!("message {} has no recipient {address}", message.id)))
    }

    /// Applies a `PATCH /v1/messages/{id}`.
    pub async fn update_message(&self, mut message: Message, read: Option<bool>, labels: Option<Vec<String>>, add: &[String], remove: &[String]) -> EngineResult<Message> {
        if let Some(r) = read {
            message.read = r;
        }
        if let Some(l) = labels {
            message.labels = clean_labels(&l)?;
        }
        for l in clean_labels(add)? {
            if !message.labels.contains(&l) {
                message.labels.push(l);
            }
        }
        let remove = clean_labels(remove)?;
        message.labels.retain(|l| !remove.contains(l));
        self.store.update_message_flags(message.id, message.read, &message.labels).await?;
        Ok(message)
    }

    /// Deletes a message and its blobs.
    pub async fn delete_message(&self, message: &Message) -> EngineResult<()> {
        let event = NewEvent::new(
            message.site_id,
            Some(message.mailbox_id),
            MESSAGE_DELETED,
            serde_json::json!({"id": message.id, "mailbox_id": message.mailbox_id, "thread_id": message.thread_id}),
        );
        let keys = self.store.delete_message(message.id, &event).await?;
        self.delete_blobs(keys).await;
        Ok(())
    }

    /// Returns a message's raw bytes, exactly as stored.
    pub async fn raw_message(&self, message: &Message) -> EngineResult<Bytes> {
        Ok(self.blobs.get(&message.raw_blob_key).await?)
    }

    /// Returns an attachment's content.
    pub async fn attachment_content(&self, attachment: &Attachment) -> EngineResult<Bytes> {
        Ok(self.blobs.get(&attachment.blob_key).await?)
    }

    /// An attachment's bytes in chunks, for a download that never holds the whole file.
    pub async fn attachment_stream(&self, attachment: &Attachment) -> EngineResult<mailroom_store::BlobStream> {
        Ok(self.blobs.get_stream(&attachment.blob_key).await?)
    }
}

/// A message ready for its store transaction: its blobs too large for the store are written
/// (`written`), the others go into the transaction (`inline`).
struct Staged {
    message: Message,
    event: NewEvent,
    new_thread: bool,
    inline: Vec<(String, Bytes)>,
    written: Vec<String>,
}

/// What a send does for one recipient on a domain hosted here.
enum LocalPlan {
    /// A copy for this mailbox; `tag` is the address's `+tag`.
    Deliver { target: Mailbox, tag: Option<String> },
    /// A bounce, suppressing the address when no mailbox has it.
    Bounce { reply: String, suppression: Option<Suppression> },
}

struct StoreParsed {
    id: MessageId,
    site_id: SiteId,
    mailbox_id: MailboxId,
    thread_id: ThreadId,
    new_thread: bool,
    direction: Direction,
    raw: Bytes,
    parsed: ParsedMessage,
    bcc: Vec<NamedAddress>,
    labels: Vec<String>,
    recipients: Vec<Recipient>,
    created_at: DateTime<Utc>,
    event_type: &'static str,
    auth_results: Option<serde_json::Value>,
}

/// The header block quoted above a forwarded message.
struct ForwardQuote {
    lines: Vec<(&'static str, String)>,
}

impl ForwardQuote {
    fn of(m: &Message) -> ForwardQuote {
        let join = |list: &[NamedAddress]| list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let date = m
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("date"))
            .map(|h| h.value.trim().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| m.created_at.to_rfc2822());
        let mut lines = vec![
            ("From", m.from.as_ref().map(ToString::to_string).unwrap_or_default()),
            ("Date", date),
            ("Subject", m.subject.clone().unwrap_or_default()),
            ("To", join(&m.to)),
        ];
        if !m.cc.is_empty() {
            lines.push(("Cc", join(&m.cc)));
        }
        ForwardQuote { lines }
    }

    fn text_header(&self) -> String {
        let mut out = String::from("---------- Forwarded message ---------\n");
        for (name, value) in &self.lines {
            out.push_str(&format!("{name}: {value}\n"));
        }
        out
    }

    fn html_header(&self) -> String {
        let mut out = String::from("---------- Forwarded message ---------<br>\n");
        for (name, value) in &self.lines {
            out.push_str(&format!("{name}: {}<br>\n", html_escape(value)));
        }
        out
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Returns the payload of `message.sent` / `message.received` events: the message object.
/// `extracted_text` is kept as a length when it is the start of `text` (see
/// [`mailroom_core::reading::compact_extracted_text`]); readers get it back through
/// [`Engine::complete_event`].
pub fn message_event_data(message: &Message) -> serde_json::Value {
    let mut data = serde_json::to_value(message).unwrap_or_default();
    mailroom_core::reading::compact_extracted_text(&mut data);
    data
}

fn clean_labels(labels: &[String]) -> EngineResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        let l = l.trim();
        if l.is_empty() || l.chars().count() > 100 || l.chars().any(|c| c.is_control()) {
            return Err(EngineError::invalid("validation_error", "labels must be 1 to 100 characters without control characters"));
        }
        if !out.iter().any(|x| x == l) {
            out.push(l.to_string());
        }
    }
    Ok(out)
}
