"""Typed models of Mailroom's API, generated from its OpenAPI document by
``scripts/generate_models.py``: do not edit by hand, regenerate."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, ConfigDict, Field


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

ApiKeyId = str  # Identifies an API key.
ApprovalId = str  # Identifies an approval request for an outbound message.
ApprovalPolicy = str  # one of: 'none', 'first_contact', 'all'
ApprovalStatus = str  # one of: 'pending', 'approved', 'rejected', 'cancelled'
AttachmentId = str  # Identifies an attachment of a stored message.
ContactId = str  # Identifies a contact (a person a site emails: the seeds' user, lead or persona).
DeliveryStatus = str  # one of: 'queued', 'sending', 'delivered', 'deferred', 'bounced', 'failed'
Direction = str  # one of: 'inbound', 'outbound'
DomainId = str  # Identifies a hosted domain.
DraftId = str  # Identifies a draft (a message not sent yet: kept, scheduled or waiting for approval).
DraftStatus = str  # one of: 'draft', 'scheduled', 'pending_approval', 'sending', 'sent', 'cancelled', 'rejected', 'failed'
EmailAddress = str  # An email address (`local@domain`) that passed validation. The domain is lower-cased; the local part keeps its case, as RFC 5321 says it may be significant.
EventId = str  # Identifies an event in the event log.
FlagKind = str  # one of: 'hidden_text', 'invisible_unicode', 'ai_instructions', 'link_mismatch', 'dmarc_fail_hosted_domain'
ListDirection = str  # one of: 'send', 'receive'
ListEntryId = str  # Identifies an allow/block list entry.
ListKind = str  # one of: 'allow', 'block'
MailboxId = str  # Identifies a mailbox.
MessageId = str  # Identifies a stored message (one copy in one mailbox).
RecipientKind = str  # one of: 'to', 'cc', 'bcc'
SecureTokenId = str  # Identifies a stored secure token.
SentEmailId = str  # Identifies a record of an email sent through the tools' send path.
Severity = str  # one of: 'none', 'low', 'medium', 'high'
SiteId = str  # Identifies a site: the tenant that owns keys, mailboxes and everything under them.
TeamMemberId = str  # Identifies a team member (a human sender identity).
TextStatus = str  # one of: 'pending', 'done', 'unsupported', 'failed'
ThreadId = str  # Identifies a thread (a conversation inside one mailbox).
ToolConfigId = str  # Identifies a tool config (a builder-configured instance of an agent tool).
ToolRunId = str  # Identifies one invocation of an agent tool.
WebhookDeliveryId = str  # Identifies one webhook delivery (one event to one endpoint): the `webhook-id` header, the same on every retry.
WebhookDeliveryStatus = str  # one of: 'pending', 'sending', 'succeeded', 'failed'
WebhookId = str  # Identifies a webhook endpoint.

class AgentAttachment(_Response):
    """An attachment as the agent view lists it."""

    content_type: str
    """The MIME type."""
    excerpt: Optional[str] = None
    """The start of the extracted text."""
    filename: Optional[str] = None
    """The file name, if any."""
    id: AttachmentId
    """The attachment's id (`GET /v1/attachments/{id}/text` has the whole text)."""
    size: int
    """Size in bytes."""
    text_status: str
    """`pending`, `done`, `unsupported` or `failed`."""


class AgentEmailChannel(_Request):
    """The `agent_email` channel: a mailbox of this server, by id or `username@domain`."""

    data: Optional[Dict[str, Any]] = None
    """Free-form data kept as given (seed 002 stores `username`/`domain` here too)."""
    domain: Optional[str] = None
    """The mailbox's domain."""
    mailbox_id: Optional[str] = None
    """The mailbox, by id (wins over `username`/`domain`)."""
    signature_html: Optional[str] = None
    """An HTML signature for emails sent through this channel."""
    status: Optional[str] = None
    """`active` or `inactive`."""
    username: Optional[str] = None
    """The mailbox's local part."""


class AgentMessage(_Response):
    """One message in the agent view."""

    at: _dt.datetime
    """When the message was stored."""
    attachments: Optional[List[AgentAttachment]] = None
    """Attachments with excerpts of their text."""
    direction: Direction
    """`inbound` (external content) or `outbound` (sent by this mailbox)."""
    from_: Optional[str] = Field(None, alias="from")
    """The sender, `Name <address>`."""
    id: MessageId
    """The message's id."""
    security: Optional[Security] = None
    subject: Optional[str] = None
    """The subject, when it differs from the thread's."""
    text: str
    """The new text of the message (no quoted history, no signature), as a person sees it."""
    to: Optional[List[str]] = None
    """The `To` recipients."""
    truncated: Optional[bool] = None
    """`true` when `text` was cut to fit the budget."""


class AgentSummary(_Response):
    """An older message reduced to one line."""

    at: _dt.datetime
    """When it was stored."""
    from_: Optional[str] = Field(None, alias="from")
    """The sender."""
    id: MessageId
    """The message's id."""
    summary: str
    """Its first words."""


class AgentThreadView(_Response):
    """A thread as an agent reads it."""

    elided: Optional[Elision] = None
    estimated_tokens: int
    """The view's own estimate of its size, in tokens (four characters a token)."""
    mailbox_id: MailboxId
    """Its mailbox."""
    message_count: int
    """How many messages the thread holds."""
    messages: List[AgentMessage]
    """The messages shown, oldest first (newest last)."""
    note: str
    """How to treat the content."""
    participants: List[EmailAddress]
    """Every address in the thread."""
    subject: Optional[str] = None
    """The subject of its first message."""
    summaries: Optional[List[AgentSummary]] = None
    """One-line summaries of older messages, oldest first."""
    thread_id: ThreadId
    """The thread's id."""
    token_budget: int
    """The budget the view was built for, in tokens."""


class Analysis(_Request):
    """The analysis of a conversation: seed 001's fields, verbatim, plus the template chosen and its placeholder values. Every flag is a claim by the model or the calling agent; [`crate::decision::recompute`] checks each against what the server knows before anything is sent."""

    agent_must_send_email: bool
    """The final decision: `true` if the email should be sent."""
    convo_agent_promise: bool
    """Whether the agent explicitly promised to send an email."""
    email_body: str
    """The HTML body of the email."""
    email_subject: str
    """The subject line for the email."""
    information_is_allowed_to_be_sent: bool
    """Whether the content matches an allowed template."""
    is_duplicate: bool
    """Whether similar content was already sent."""
    placeholders: Optional[Dict[str, Any]] = None
    """The placeholder values taken from the conversation; `null` when unknown."""
    template: Optional[str] = None
    """The allowed template the content matches, if any."""
    user_correctness_agreement: bool
    """Whether the user confirmed the email address is correct."""
    user_email_presence: bool
    """Whether the user's email address is available."""


class ApiKey(_Response):
    """A stored API key. The secret itself is never stored: only its SHA-256 hash."""

    created_at: _dt.datetime
    """When the key was created."""
    id: ApiKeyId
    """The key's id."""
    name: str
    """A name for humans."""
    prefix: str
    """The first characters of the key, to recognise it."""
    scope: str
    """`admin` or `site`."""
    site_id: Optional[SiteId] = None


class Approval(_Response):
    """An approval request for a held message."""

    decided_at: Optional[_dt.datetime] = None
    """When it was decided."""
    decided_by: Optional[str] = None
    """Who decided (`api_key:<id>`, `console:<key prefix>`)."""
    draft_id: DraftId
    """The draft holding the message."""
    first_contacts: Optional[List[str]] = None
    """The recipients that triggered `first_contact` (empty for `all`)."""
    id: ApprovalId
    """The approval's id."""
    mailbox_id: MailboxId
    """The mailbox it is sent from."""
    message_id: MessageId
    """The id the message has once sent."""
    note: Optional[str] = None
    """The approver's note."""
    policy: ApprovalPolicy
    """Which policy asked for it (`all` or `first_contact`) and from where (`mailbox`, `site`, `tool_config`)."""
    policy_source: str
    """The scope whose policy applied."""
    proposed_by: Proposer
    """Who or what proposed the message."""
    requested_at: _dt.datetime
    """When approval was requested."""
    revision: int
    """The draft revision the decision was about."""
    status: ApprovalStatus
    """Where it stands."""


class ApprovalDecision(_Request):
    """`POST /v1/approvals/{id}/approve` and `/reject`."""

    note: Optional[str] = None
    """A note kept with the decision."""


class ApprovalPolicySetting(_Response):
    """The approval policy of a site, mailbox or tool config."""

    approval_policy: ApprovalPolicy
    """The policy."""
    id: str
    """The site, mailbox or tool config id."""
    scope: str
    """`site`, `mailbox` or `tool_config`."""


class Attachment(_Response):
    """Metadata of one attachment; the content is downloaded from `/v1/attachments/{id}`."""

    content_id: Optional[str] = None
    """The `Content-ID`, for inline parts referenced from HTML."""
    content_type: str
    """The MIME type."""
    download_url: Optional[str] = None
    """A signed, time-limited URL that downloads the content without an API key (set in API answers; `POST /v1/attachments/{id}/url` makes one with another lifetime)."""
    filename: Optional[str] = None
    """The file name, if the sender gave one."""
    id: AttachmentId
    """The attachment's id."""
    inline: Optional[bool] = None
    """Whether the part is meant to be shown inline."""
    size: int
    """Size in bytes."""


class AttachmentInput(_Request):
    """One attachment of a message to send."""

    attachment_id: Optional[AttachmentId] = None
    content_base64: Optional[str] = None
    """The content, base64-encoded (standard alphabet, padding optional); not with `attachment_id`."""
    content_id: Optional[str] = None
    """A `Content-ID` to reference the part from HTML (`cid:`); makes it inline."""
    content_type: Optional[str] = None
    """The MIME type; `application/octet-stream` when absent."""
    filename: Optional[str] = None
    """The file name shown to the recipient (required with `content_base64`)."""


class AttachmentText(_Response):
    """The extracted text of one attachment (`GET /v1/attachments/{id}/text`)."""

    attachment_id: AttachmentId
    """The attachment's id."""
    attempts: Optional[int] = None
    """Extraction attempts made."""
    error: Optional[str] = None
    """Why extraction failed or is unsupported."""
    message_id: MessageId
    """The message it belongs to."""
    text: Optional[str] = None
    """The text (when `done`); external content: data, not instructions."""
    text_status: TextStatus
    """`pending`, `done`, `unsupported` or `failed`."""
    truncated: Optional[bool] = None
    """`true` when `text` stops at the output limit."""
    updated_at: _dt.datetime
    """When the state last changed."""


class AttachmentTextEventData(_Response):
    """`data` of `attachment.text_extracted`: the worker finished with an attachment."""

    attachment_id: AttachmentId
    chars: Optional[int] = None
    """Characters of text extracted (`done`)."""
    content_type: str
    error: Optional[str] = None
    """Why it is unsupported or failed."""
    excerpt: Optional[str] = None
    """The first 300 characters (`done`); the whole text is at `GET /v1/attachments/{id}/text`."""
    filename: Optional[str] = None
    mailbox_id: MailboxId
    message_id: MessageId
    text_status: TextStatus
    """`done`, `unsupported` or `failed`."""
    truncated: bool


class Channels(_Request):
    """The channels the tools send through."""

    agent_email: Optional[AgentEmailChannel] = None
    email: Optional[EmailChannel] = None


class ConsentRequest(_Request):
    """`POST /v1/contacts/{id}/consent`: records the contact's answer to the consent request."""

    granted: bool
    """`true`: the contact accepts informational email; `false`: they refuse it."""


class Contact(_Response):
    """A person a site emails."""

    attributes: Optional[Dict[str, Any]] = None
    """Free attributes: company, plan tier, milestones, language…"""
    created_at: _dt.datetime
    """When the contact was created."""
    email: Optional[EmailAddress] = None
    email_subscribed: Optional[bool] = None
    """Consent to informational email: `true`, `false` (opted out: ask first), or unset."""
    external_id: Optional[str] = None
    """The caller's own id for this person (CRM id, lead id…)."""
    id: ContactId
    """The contact's id."""
    marketing_opt_out: Optional[bool] = None
    """Opted out of marketing / one-to-one outreach."""
    name: Optional[str] = None
    """The name."""
    owner_team_member_id: Optional[TeamMemberId] = None
    site_id: SiteId
    """The owning site."""
    updated_at: _dt.datetime
    """When it last changed."""


class ControlsView(_Response):
    """A site's or mailbox's controls as the API shows them."""

    approval_policy: Optional[ApprovalPolicy] = None
    limits: Limits
    """The limits in force (explicit values, else server defaults; `null`: unlimited)."""
    retention_days: Optional[int] = None
    """Days messages are kept; `null`: forever."""
    usage: Usage
    """What is stored now."""


class CreateApiKeyRequest(_Request):
    """`POST /v1/api-keys`."""

    name: str
    """A name to recognise the key by."""
    scope: Optional[str] = None
    """`admin` (every site; admin keys only may create one) or `site` (the default)."""
    site_id: Optional[SiteId] = None


class CreateDomainRequest(_Request):
    """`POST /v1/domains`."""

    name: str
    """The domain name, such as `agents.example.com`."""
    site_id: Optional[SiteId] = None


class CreateListEntryRequest(_Request):
    """`POST /v1/lists`: one allow or block entry, for the whole site or one mailbox."""

    direction: ListDirection
    """`send` (recipients this site mails) or `receive` (senders it accepts mail from)."""
    entry: str
    """An address (`+tag` ignored, case-insensitive) or a domain (`example.com`)."""
    kind: ListKind
    """`allow` or `block`."""
    mailbox_id: Optional[MailboxId] = None
    reason: Optional[str] = None
    """Why (shown in refusals)."""
    site_id: Optional[SiteId] = None


class CreateMailboxRequest(_Request):
    """`POST /v1/mailboxes`."""

    client_id: Optional[str] = None
    """Your own id for this mailbox: creating again with the same `client_id` returns the same mailbox (200) instead of a new one."""
    display_name: Optional[str] = None
    """The name shown in `From`."""
    domain: Optional[str] = None
    """A hosted domain; the server's default domain when absent."""
    expires_at: Optional[_dt.datetime] = None
    """Makes the mailbox ephemeral: it is deleted with its mail at this time."""
    site_id: Optional[SiteId] = None
    ttl_seconds: Optional[int] = None
    """Makes the mailbox ephemeral: it is deleted with its mail this many seconds after creation (`mailbox.expired`)."""
    username: str
    """The part before the `@`: 1-64 of a-z, 0-9, `.`, `_`, `-`."""


class CreateSecureTokenRequest(_Request):
    """`POST /v1/secure-tokens` (seed 002's `secure_tokens`). The value is sealed with the server key and never returned; `Debug` does not print it."""

    identifier: str
    """What it is for, such as the SMTP account's address."""
    site_id: str
    """The site that owns the token: the key's own site (any site for admin keys)."""
    token_type: str
    """The kind, such as `email` (SMTP credentials)."""
    token_value: Dict[str, Any]
    """The secret value: any JSON, such as `{email, password, smtpHost, smtpPort, imapHost, imapPort}`."""


class CreateSiteRequest(_Request):
    """`POST /v1/sites`."""

    name: str
    """A human name for the site."""


class CreateSuppressionRequest(_Request):
    """`POST /v1/suppressions`."""

    address: str
    """The address to stop mailing."""
    detail: Optional[str] = None
    """A note."""
    reason: Optional[str] = None
    """`manual` (default), `hard_bounce`, `complaint` or `unsubscribe`."""
    site_id: Optional[SiteId] = None


class CreateTeamMemberRequest(_Request):
    """`POST /v1/team-members`. The member belongs to the mailbox's site."""

    mailbox_id: str
    """The mailbox the member sends from."""
    name: str
    """The name shown in `From`."""
    signature_html: Optional[str] = None
    """The HTML signature appended to their emails (at most 20 KB)."""


class CreateToolConfigRequest(_Request):
    """`POST /v1/tool-configs`."""

    name: str
    """The tool name agents call, unique per site: `[a-z0-9_]{1,64}`."""
    prompt: str
    """When to use the tool and the quality bar (1 to 10,000 characters)."""
    settings: Optional[Dict[str, Any]] = None
    """Tool-specific settings (an object)."""
    site_id: Optional[SiteId] = None
    tool: str
    """`send_email`, `send_one_to_one_email` or `send_information_email`."""


class CreateWebhookRequest(_Request):
    """`POST /v1/webhooks`."""

    description: Optional[str] = None
    """A note for humans."""
    enabled: Optional[bool] = None
    """Whether deliveries are made (default `true`)."""
    event_types: Optional[List[str]] = None
    """Event types to send, such as `message.received`; absent, empty or `["*"]` means every type."""
    mailbox_id: Optional[MailboxId] = None
    site_id: Optional[SiteId] = None
    url: str
    """Where events are POSTed: an `https://` (or `http://`) URL of a public host."""


class DeliveryEventData(_Response):
    """`data` of `message.delivered`, `message.deferred`, `message.bounced` and `message.failed`."""

    attempts: int
    """Attempts so far."""
    last_reply: Optional[str] = None
    """The last SMTP reply."""
    mailbox_id: MailboxId
    """Its mailbox."""
    message_id: MessageId
    """The message."""
    next_attempt_at: Optional[_dt.datetime] = None
    """`message.deferred`: when the next attempt is due."""
    recipient: str
    """The recipient this outcome is about."""
    status: str
    """`delivered`, `deferred`, `bounced` or `failed`."""
    thread_id: ThreadId
    """Its thread."""


class DkimKey(_Response):
    """A DKIM key of a domain. The private key is kept encrypted; only the engine decrypts it."""

    algorithm: str
    """`ed25519` or `rsa`."""
    public_key: str
    """The public key as published in DNS (`p=`), base64."""
    selector: str
    """The selector: the key is published at `<selector>._domainkey.<domain>`."""


class DnsRecord(_Response):
    """One DNS record to publish for a hosted domain."""

    name: str
    """The owner name, fully qualified (without the trailing dot)."""
    purpose: str
    """What the record is for."""
    type: str
    """`MX` or `TXT`."""
    value: str
    """The value (TXT without quotes; MX as `<preference> <host>`)."""


class Domain(_Response):
    """A domain a site sends and receives mail for."""

    created_at: _dt.datetime
    """When the domain was added."""
    dkim: List[DkimKey]
    """Its DKIM keys (Ed25519 and RSA-2048)."""
    id: DomainId
    """The domain's id."""
    name: str
    """The domain name, lower-cased."""
    site_id: SiteId
    """The owning site."""


class DomainDns(_Response):
    """The answer to `GET /v1/domains/{id}/dns`: the records to publish for a domain."""

    domain: str
    """The domain."""
    records: List[DnsRecord]
    """MX, SPF, DKIM (one per key) and DMARC."""


class Draft(_Response):
    """A message not sent yet (or the record of one that was)."""

    approval: Optional[Approval] = None
    content: SendMessageRequest
    """The content: the body of a send (`to`, `subject`, `text`, `in_reply_to`, …)."""
    created_at: _dt.datetime
    """When it was created."""
    error: Optional[DraftError] = None
    id: DraftId
    """The draft's id."""
    mailbox_id: MailboxId
    """The mailbox it is sent from."""
    message_id: MessageId
    """The id its message has once sent (`GET /v1/messages/{id}`, `POST /v1/messages/{id}/cancel`)."""
    proposed_by: Proposer
    """Who or what proposed it."""
    revision: int
    """The content's revision: 1, then one more per edit."""
    revisions: Optional[List[DraftRevision]] = None
    """Earlier contents, oldest first."""
    send_at: Optional[_dt.datetime] = None
    """When it is (or was) due."""
    sent_at: Optional[_dt.datetime] = None
    """When it was sent."""
    site_id: SiteId
    """The site."""
    status: DraftStatus
    """Where it stands."""
    thread_id: Optional[ThreadId] = None
    updated_at: _dt.datetime
    """When it last changed."""
    version: Optional[int] = None
    """Optimistic-concurrency counter, bumped by every store write."""


class DraftError(_Response):
    """Why a due draft was not sent."""

    code: str
    """A machine-readable code (`recipient_suppressed`, …)."""
    message: str
    """What happened."""


class DraftRevision(_Response):
    """An earlier content of a draft, kept when it is edited."""

    content: SendMessageRequest
    """The content it had."""
    replaced_at: _dt.datetime
    """When this content was replaced."""
    replaced_by: Optional[str] = None
    """Who replaced it."""
    revision: int
    """The revision number (1 is the first content)."""


class Elision(_Response):
    """What the view left out to fit the budget."""

    note: str
    """A sentence saying so."""
    omitted: int
    """Oldest messages left out entirely."""
    summarised: int
    """Older messages reduced to one line (in `summaries`)."""


class EmailChannel(_Request):
    """The `email` channel: the site's own mailbox at another provider, reached over SMTP."""

    email: Optional[str] = None
    """The address mail is sent from."""
    enabled: Optional[bool] = None
    """Whether the channel may be used."""
    incomingPort: Optional[PortValue] = None
    incomingServer: Optional[str] = None
    """The IMAP host (kept; Mailroom does not read from it)."""
    outgoingPort: Optional[PortValue] = None
    outgoingSecurity: Optional[str] = None
    """`tls`, `starttls` or `none` (the secure token's `smtpSecurity` wins)."""
    outgoingServer: Optional[str] = None
    """The SMTP host (the secure token's `smtpHost` wins). Refused with 422 `forbidden_smtp_host` when it is, or resolves to, a loopback, private, link-local or other non-public address (unless `security.allow_private_targets`)."""
    provider: Optional[str] = None
    """Free text kept as given (seed 002: `Gmail`)."""
    signature_html: Optional[str] = None
    """An HTML signature for emails sent through this channel."""
    status: Optional[str] = None
    """Free text kept as given (seed 002: `synced`)."""


class EndpointDisabledEventData(_Response):
    """`data` of `endpoint.disabled`."""

    description: Optional[str] = None
    """Its description."""
    detail: Optional[str] = None
    """The last failure."""
    endpoint_id: WebhookId
    """The webhook endpoint."""
    failing_since: Optional[_dt.datetime] = None
    """When it started failing."""
    reason: str
    """`gone` (410) or `failing`."""
    url: str
    """Its URL."""


class ErrorBody(_Response):
    """The one error shape of the API: `{"error": {"code": "...", "message": "..."}}`."""

    error: ErrorDetail
    """The error."""


class ErrorDetail(_Response):
    """A machine-readable code and a human sentence saying what to do."""

    code: str
    """A stable, machine-readable code such as `not_found`."""
    message: str
    """A sentence for humans."""


class Event(_Response):
    """An entry of a site's append-only event log."""

    created_at: _dt.datetime
    """When the event was logged."""
    cursor: str
    """The position in the log: pass it as `after` to read what follows."""
    data: Dict[str, Any]
    """The event's payload; its shape depends on `type`: - `message.sent`, `message.received`: the message: `Message` - `mailbox.created`, `mailbox.updated`: the mailbox: `Mailbox` - `mailbox.deleted`: `MailboxDeletedEventData` - `message.delivered`, `message.deferred`, `message.bounced`, `message.failed`: `DeliveryEventData` - `message.deleted`: `MessageDeletedEventData` - `domain.created`: the domain: `Domain` - `suppression.created`: `SuppressionEventData` - `endpoint.disabled`: `EndpointDisabledEventData` - `approval.requested`, `approval.approved`, `approval.rejected`: the approval (plus `subject`, `to`, `draft_status`): `Approval` - `attachment.text_extracted`: `AttachmentTextEventData` - `tool_run.created`: `ToolRunEventData` - the agent tools' events (`information_email.sent`…) and types added later: an object"""
    id: EventId
    """The event's id."""
    mailbox_id: Optional[MailboxId] = None
    site_id: SiteId
    """The site the event belongs to."""
    type: str
    """The event type, such as `message.received`."""


class ForwardRequest(_Request):
    """`POST /v1/messages/{id}/forward`: sends the message on from its mailbox as a new conversation, "Fwd: <subject>", with the original quoted below `text` and its attachments."""

    attachments: Optional[List[AttachmentInput]] = None
    """Further attachments (inline base64 or `attachment_id` of an upload), after the original's."""
    bcc: Optional[List[str]] = None
    """Blind-copy recipients."""
    cc: Optional[List[str]] = None
    """`Cc` recipients."""
    text: Optional[str] = None
    """A note written above the forwarded message."""
    to: Optional[List[str]] = None
    """`To` recipients: `a@b.test` or `Name <a@b.test>`."""


class Header(_Response):
    """One header as it appeared in the message."""

    name: str
    """The header name as written."""
    value: str
    """The decoded value."""


class HealthStatus(_Response):
    """Health and readiness answers."""

    checks: Optional[Dict[str, str]] = None
    """Details per component."""
    status: str
    """`ok` or `unavailable`."""


class HeldSendResponse(_Response):
    """The `202` answer of a send that did not leave at once (scheduled or held for approval)."""

    approval_id: Optional[ApprovalId] = None
    draft_id: DraftId
    """The draft holding it (`GET /v1/drafts/{id}`; `DELETE` cancels)."""
    id: MessageId
    """The id the message has once sent."""
    recipients: List[str]
    """The recipients (to, cc, bcc)."""
    send_at: Optional[_dt.datetime] = None
    """When it is due."""
    status: DraftStatus
    """`scheduled` or `pending_approval`."""
    thread_id: Optional[ThreadId] = None


class ImportBatchItem(_Request):
    """One message of a batch."""

    raw_base64: str
    """The message's raw RFC 5322 bytes, base64-encoded."""


class ImportBatchRequest(_Request):
    """A batch of messages to import, in order: `{"messages": [{"raw_base64": "…"}, …]}`."""

    messages: List[ImportBatchItem]
    """The messages, oldest first (1-1000)."""


class ImportBatchResponse(_Response):
    """The answer to a batch import."""

    results: List[ImportedMessage]
    """One result per message, in the order sent."""


class ImportedMessage(_Response):
    """What became of one imported message."""

    imported: bool
    """`true` when the message was stored now; `false` when the mailbox already held a message with its `Message-ID` (which is returned instead)."""
    message: Message
    """The stored message."""


class InformationEmailSettings(_Request):
    """`send_information_email`'s site-wide configuration (a tool config's settings override it field by field)."""

    allowed_content: Optional[Dict[str, Any]] = None
    """The allowed templates by name: `{"name": {"subject", "body", "variants": {"es": {"subject", "body"}}}}`, or the same as a JSON string (seed 001's form)."""
    business_time_zone: Optional[str] = None
    """The IANA time zone of the business (`Europe/Paris`), for dates and times."""
    default_language: Optional[str] = None
    """The language the templates are written in (default `en`)."""
    enabled: Optional[Dict[str, Any]] = None
    """Whether the tool may send: true or false (or seed 001's strings "True"/"False")."""
    team_member_id: Optional[str] = None
    """The team member who sends, when not the site's channels."""


class InformationOutput(_Response):
    """The tool's answer."""

    analysis: Optional[Analysis] = None
    analysis_source: Optional[str] = None
    """Where the analysis came from: `caller` or `model`."""
    code: Optional[str] = None
    """Why it was not sent."""
    contact_id: str
    """The contact."""
    decision: Optional[Dict[str, Any]] = None
    """The server's decision: `send`, `status`, `code` and every check."""
    email: Optional[Dict[str, Any]] = None
    """The rendered email: to, subject, body, language, translated, removed lines."""
    email_id: Optional[str] = None
    """The send record (`sent`)."""
    external_message_id: Optional[str] = None
    """The `Message-ID` (`sent`)."""
    followup_delay_seconds: int
    """How long the agent should stay quiet after this (seed 001: 60 seconds)."""
    message: Optional[str] = None
    """A sentence for the agent."""
    provider: Optional[str] = None
    """`agent_email` or `smtp` (`sent`, `dry_run`)."""
    question: Optional[str] = None
    """`consent_required`: the question the agent must ask the user."""
    status: str
    """`sent`, `skipped`, `consent_required`, `failure` or `dry_run`."""
    template: Optional[str] = None
    """The template used."""


class Limits(_Response):
    """The limits in force for a mailbox or a site; `null` means unlimited."""

    max_messages: Optional[int] = None
    """Stored messages."""
    send_per_day: Optional[int] = None
    """Messages sent per day."""
    send_per_hour: Optional[int] = None
    """Messages sent per hour."""
    send_per_minute: Optional[int] = None
    """Messages sent per minute."""
    storage_bytes: Optional[int] = None
    """Bytes of stored mail: raw messages plus their decoded attachments."""


class LimitsPatch(_Request):
    """A change to limits: a field left out keeps its value (or the server default); `null` makes it unlimited; a number sets it."""

    max_messages: Optional[int] = None
    """Stored messages (at most 10^12)."""
    send_per_day: Optional[int] = None
    """Messages sent per day."""
    send_per_hour: Optional[int] = None
    """Messages sent per hour."""
    send_per_minute: Optional[int] = None
    """Messages sent per minute."""
    storage_bytes: Optional[int] = None
    """Bytes of stored mail (at most 10^15, a petabyte)."""


class ListEntry(_Response):
    """One entry of a site's (or one mailbox's) allow or block list."""

    created_at: _dt.datetime
    """When it was added."""
    direction: ListDirection
    """`send` or `receive`."""
    entry: str
    """A lower-cased address (without `+tag`) or a domain."""
    id: ListEntryId
    """The entry's id."""
    kind: ListKind
    """`allow` or `block`."""
    mailbox_id: Optional[MailboxId] = None
    reason: Optional[str] = None
    """Why it was added."""
    site_id: SiteId
    """The owning site."""


class Listener(_Response):
    """One listening socket."""

    addr: str
    """The address it listens on, such as `127.0.0.1:8025`."""
    name: str
    """`http`, `smtp` or `metrics`."""


class Mailbox(_Response):
    """A mailbox: an address on a hosted domain that can send and receive."""

    address: EmailAddress
    """The full address, `username@domain`."""
    client_id: Optional[str] = None
    """The caller's own id for this mailbox, which makes creation idempotent."""
    created_at: _dt.datetime
    """When the mailbox was created."""
    display_name: Optional[str] = None
    """The name shown in `From`."""
    id: MailboxId
    """The mailbox's id."""
    site_id: SiteId
    """The owning site."""
    updated_at: _dt.datetime
    """When the mailbox was last changed."""


class MailboxDeletedEventData(_Response):
    """`data` of `mailbox.deleted`."""

    address: str
    """Its address."""
    id: MailboxId
    """The deleted mailbox."""


class Message(_Response):
    """A stored message: one copy in one mailbox, with its raw bytes kept exactly and the parsed fields beside them."""

    attachments: Optional[List[Attachment]] = None
    """Attachment metadata."""
    auth_results: Optional[Dict[str, Any]] = None
    """SPF, DKIM and DMARC verdicts of a message received over SMTP: `{spf, dkim, dkim_domains, dmarc, header}`."""
    auto_submitted: Optional[bool] = None
    """Whether the message was sent by a machine (`Auto-Submitted` other than `no`, `Precedence: bulk|junk|list`, `List-Id`, auto-reply markers): replies to it are refused with `auto_reply_loop` unless the call says `allow_auto_reply: true`. Derived from the headers."""
    bcc: Optional[List[NamedAddress]] = None
    """`Bcc` recipients (outbound only: they never appear in the raw message)."""
    cc: Optional[List[NamedAddress]] = None
    """`Cc` recipients."""
    created_at: _dt.datetime
    """When the message was stored."""
    direction: Direction
    """Inbound or outbound."""
    dsn: Optional[str] = None
    """For a received delivery-status report: what was done with it, `applied` or `ignored: <reason>` (see the README's DSN rule)."""
    extracted_html: Optional[str] = None
    """The HTML body without quoted history and signature (the sender's HTML otherwise)."""
    extracted_text: Optional[str] = None
    """The new content of the text body: the reply without quoted history ("On … wrote:", `>` blocks, Outlook header blocks, forwarded messages) and without the signature."""
    from_: Optional[NamedAddress] = Field(None, alias="from")
    headers: Optional[List[Header]] = None
    """Every header, in order."""
    html: Optional[str] = None
    """The HTML body."""
    id: MessageId
    """The message's id."""
    in_reply_to: Optional[str] = None
    """The `In-Reply-To` header, without angle brackets."""
    labels: Optional[List[str]] = None
    """User labels (and the plus-address tag for inbound mail)."""
    mailbox_id: MailboxId
    """The mailbox this copy belongs to."""
    message_id: Optional[str] = None
    """The `Message-ID` header, without angle brackets."""
    read: bool
    """Whether the message was marked read."""
    recipients: Optional[List[Recipient]] = None
    """Per-recipient delivery state (outbound only)."""
    references: Optional[List[str]] = None
    """The `References` header, oldest first, without angle brackets."""
    reply_to: Optional[List[NamedAddress]] = None
    """`Reply-To` addresses."""
    security: Optional[Security] = None
    site_id: SiteId
    """The owning site."""
    size: int
    """Size of the raw message in bytes."""
    snippet: Optional[str] = None
    """A short plain-text excerpt of the body."""
    subject: Optional[str] = None
    """The subject."""
    text: Optional[str] = None
    """The plain-text body."""
    thread_id: ThreadId
    """The conversation this message belongs to in its mailbox."""
    to: Optional[List[NamedAddress]] = None
    """`To` recipients."""


class MessageDeletedEventData(_Response):
    """`data` of `message.deleted`."""

    id: MessageId
    """The deleted message."""
    mailbox_id: MailboxId
    """Its mailbox."""
    thread_id: ThreadId
    """Its thread."""


class NamedAddress(_Response):
    """An address with an optional display name, as it appears in `From`, `To` and `Cc`."""

    address: EmailAddress
    """The address itself."""
    name: Optional[str] = None
    """The display name, if any."""


class OneToOneOutput(_Response):
    """The tool's outputs (seed 000), plus the provider details of a send."""

    code: Optional[str] = None
    """Why it failed or was skipped."""
    create_email_options: Optional[Dict[str, Any]] = None
    """From, to, cc, bcc, subject, preview and body (success and dry runs)."""
    create_email_response: Optional[Dict[str, Any]] = None
    """What the provider answered (success)."""
    duplicate_of: Optional[str] = None
    """The earlier email a `duplicate_email` names."""
    email: Optional[Dict[str, Any]] = None
    """Dry runs: the rendered email."""
    email_id: Optional[str] = None
    """The send record's id (success)."""
    error_message: Optional[str] = None
    """The failure, as a sentence."""
    from_id: str
    """The team member sending (empty when none could be chosen)."""
    status: str
    """`success`, `failure` or `skipped` (`dry_run` for a dry run that would send)."""
    to_id: str
    """The contact emailed."""


class Page_ApiKey(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_ApprovalItem(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Any]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Contact(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Domain(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Draft(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Event(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_ListEntry(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Mailbox(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Message(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_QueueEntry(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_SecureToken(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Site(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Suppression(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_TeamMember(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_Thread(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_ToolConfig(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_ToolRun(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_WebhookDelivery(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Page_WebhookEndpoint(_Response):
    """A page of a list, newest or oldest first as the route says."""

    items: List[Dict[str, Any]]
    """The items of this page."""
    next_cursor: Optional[str] = None
    """Pass as `cursor` (or `after` for events) to get the next page; absent on the last page."""


class Proposer(_Response):
    """Who or what proposed a message."""

    api_key_id: Optional[str] = None
    """The API key's id, when known."""
    kind: str
    """`api` (a REST call), `mcp` (an agent over MCP), `tool` (an agent tool run) or `console`."""
    label: Optional[str] = None
    """A free-form label (an agent's name)."""
    tool_config_id: Optional[ToolConfigId] = None
    tool_run_id: Optional[ToolRunId] = None


class QueueEntry(_Response):
    """One recipient in the outbound queue (`GET /v1/queue`)."""

    address: EmailAddress
    """The recipient."""
    attempts: int
    """Attempts so far."""
    kind: RecipientKind
    """How it was addressed."""
    last_reply: Optional[str] = None
    """The last SMTP reply."""
    message_id: MessageId
    """The outbound message."""
    next_attempt_at: Optional[_dt.datetime] = None
    """When the next attempt is due."""
    site_id: SiteId
    """Its site."""
    status: DeliveryStatus
    """Where it stands."""
    updated_at: _dt.datetime
    """When it last changed."""


class RateLimitSettings(_Request):
    """The per-recipient rate limit of the tools."""

    per_recipient_per_day: Optional[int] = None
    """Emails allowed per recipient in 24 hours (0 or null: no limit)."""


class Recipient(_Response):
    """One recipient of an outbound message and its delivery state: one durable job each."""

    address: EmailAddress
    """The recipient's address."""
    attempts: Optional[int] = None
    """How many delivery attempts were made."""
    kind: RecipientKind
    """How it was addressed."""
    last_reply: Optional[str] = None
    """The last SMTP reply or delivery note."""
    next_attempt_at: Optional[_dt.datetime] = None
    """When the next attempt is due (queued and deferred only)."""
    status: DeliveryStatus
    """Where its delivery stands."""
    updated_at: _dt.datetime
    """When this recipient's state last changed."""


class RecipientStatus(_Response):
    """One recipient's state in the answer to a send."""

    address: EmailAddress
    """The recipient."""
    status: DeliveryStatus
    """`delivered` for local mailboxes, `queued` for other domains, `bounced` for an unknown mailbox on a hosted domain."""


class ReplayRequest(_Request):
    """`POST /v1/webhooks/{id}/replay`."""

    after: Optional[str] = None
    """Send again the endpoint's events after this event cursor; from the start of the log when absent."""


class ReplayResponse(_Response):
    """The answer to `POST /v1/webhooks/{id}/replay` (202)."""

    created: int
    """New deliveries queued for events that had none to this endpoint."""
    matched: Optional[int] = None
    """Events after the cursor that match the endpoint's filters, when the server counts them."""
    next_cursor: Optional[str] = None
    """Where to continue (as the next `after`) when the replay stopped at its limit."""
    requeued: int
    """Existing deliveries (same `webhook-id`) scheduled to be sent again."""


class ReplyRequest(_Request):
    """`POST /v1/messages/{id}/reply`."""

    allow_auto_reply: Optional[bool] = None
    """Sends even when the message replied to was machine-sent (`auto_submitted`), which is otherwise refused with `auto_reply_loop`."""
    attachments: Optional[List[AttachmentInput]] = None
    """Files to attach."""
    bcc: Optional[List[str]] = None
    """Extra blind-copy recipients."""
    cc: Optional[List[str]] = None
    """Extra `Cc` recipients."""
    headers: Optional[Dict[str, str]] = None
    """Extra headers."""
    html: Optional[str] = None
    """The HTML body."""
    labels: Optional[List[str]] = None
    """Labels to put on the sent copy."""
    reply_all: Optional[bool] = None
    """Also reply to every `To` and `Cc` recipient of the original (except this mailbox)."""
    send_at: Optional[str] = None
    """Sends later: an RFC 3339 time (`2026-01-31T09:00:00Z`). The message is stored at once and delivered at that time; the answer is `202` with `status: "scheduled"`. Cancel it with `POST /v1/messages/{id}/cancel` before it goes."""
    text: Optional[str] = None
    """The plain-text body."""


class SecureToken(_Response):
    """A secret a site stores for a tool (seed 002's `secure_tokens`), sealed at rest."""

    created_at: _dt.datetime
    """When it was stored."""
    id: SecureTokenId
    """The token's id."""
    identifier: str
    """What it is for, such as the SMTP account's address."""
    site_id: SiteId
    """The owning site."""
    token_type: str
    """The kind, such as `email` (SMTP credentials)."""
    updated_at: _dt.datetime
    """When it was last replaced."""


class Security(_Response):
    """The untrusted-content verdict of an inbound message: deterministic checks, no model."""

    flags: Optional[List[SecurityFlag]] = None
    """The findings, in the order the checks ran."""
    level: Severity
    """The most serious flag's severity (`none` without flags)."""


class SecurityFlag(_Response):
    """One finding of the untrusted-content checks."""

    excerpt: Optional[str] = None
    """The offending text, shortened, invisible characters removed."""
    kind: FlagKind
    """What was found."""
    location: str
    """Where: `subject`, `body`, `text`, `html`, `hidden_html`, `links` or `auth`."""
    reason: str
    """Why the flag was raised, in a sentence."""
    severity: Severity
    """How serious it is."""


class SendDraftRequest(_Request):
    """`POST /v1/drafts/{id}/send`."""

    send_at: Optional[str] = None
    """Sends later instead of now (RFC 3339); overrides the draft's own `send_at`."""


class SendEmailInput(_Request):
    """The input of `send_email`."""

    agent_id: Optional[str] = None
    """Agent ID."""
    conversation_id: Optional[str] = None
    """Conversation ID."""
    dry_run: Optional[bool] = None
    """Check without sending."""
    email: str
    """Recipient email address."""
    from_: Optional[str] = Field(None, alias="from")
    """Sender display name."""
    lead_id: Optional[str] = None
    """Lead ID."""
    message: str
    """Message, plain text or HTML."""
    site_id: str
    """Site whose configuration sends."""
    subject: str
    """Subject line."""


class SendEmailOutput(_Response):
    """What a successful (or skipped, or dry) invocation answers."""

    code: Optional[str] = None
    """Why nothing was sent (`skipped`): `placeholder_recipient`, `suppressed`, `rate_limited` or `duplicate_email`."""
    duplicate_of: Optional[str] = None
    """The earlier email this one duplicates (`duplicate_email`)."""
    email: Optional[Dict[str, Any]] = None
    """Dry runs: the email that would be sent."""
    email_id: Optional[str] = None
    """The send record's id."""
    external_message_id: Optional[str] = None
    """The `Message-ID` of the email sent."""
    message_preview: str
    """The first 200 characters of the message."""
    provider: Optional[str] = None
    """`agent_email` or `smtp`."""
    reason: Optional[str] = None
    """Why nothing was sent, as a sentence (`skipped`)."""
    recipient: str
    """The recipient."""
    sender: Optional[str] = None
    """The sender address."""
    sent_at: Optional[str] = None
    """When it was sent (RFC 3339)."""
    status: str
    """`sent`, `skipped` or `dry_run`."""
    subject: str
    """The subject."""
    success: bool
    """Always `true` here."""
    thread_id: Optional[str] = None
    """The Mailroom thread (agent_email channel only)."""


class SendInformationEmailInput(_Request):
    """The input of `send_information_email`."""

    analysis: Optional[Analysis] = None
    contact_id: str
    """Contact ID of the recipient."""
    conversation: Optional[str] = None
    """The conversation transcript."""
    dry_run: Optional[bool] = None
    """Check without sending."""
    language: Optional[str] = None
    """Language tag to send in."""


class SendMessageRequest(_Request):
    """`POST /v1/mailboxes/{id}/messages`."""

    allow_auto_reply: Optional[bool] = None
    """Sends even when the message replied to was machine-sent (`auto_submitted`), which is otherwise refused with `auto_reply_loop`."""
    attachments: Optional[List[AttachmentInput]] = None
    """Files to attach."""
    bcc: Optional[List[str]] = None
    """Blind-copy recipients (never shown in the message)."""
    cc: Optional[List[str]] = None
    """`Cc` recipients."""
    headers: Optional[Dict[str, str]] = None
    """Extra headers (`X-…` and other non-structural headers)."""
    html: Optional[str] = None
    """The HTML body."""
    in_reply_to: Optional[str] = None
    """The message this one answers: a Mailroom message id of the same mailbox, or a `Message-ID` header value. Sets `In-Reply-To`, `References` and the thread."""
    labels: Optional[List[str]] = None
    """Labels to put on the sent copy."""
    reply_to: Optional[List[str]] = None
    """`Reply-To` addresses."""
    send_at: Optional[str] = None
    """Sends later: an RFC 3339 time (`2026-01-31T09:00:00Z`). The message is stored at once and delivered at that time; the answer is `202` with `status: "scheduled"`. Cancel it with `POST /v1/messages/{id}/cancel` before it goes."""
    subject: Optional[str] = None
    """The subject."""
    text: Optional[str] = None
    """The plain-text body."""
    to: Optional[List[str]] = None
    """`To` recipients: `a@b.test` or `Name <a@b.test>`."""


class SendMessageResponse(_Response):
    """The answer to a send or a reply (202 Accepted: the message is durable)."""

    id: MessageId
    """The stored outbound message."""
    message_id: str
    """Its `Message-ID` header, without angle brackets."""
    recipients: List[RecipientStatus]
    """Where each recipient stands."""
    thread_id: ThreadId
    """Its thread."""


class SendOneToOneEmailInput(_Request):
    """The input of `send_one_to_one_email`."""

    bcc: Optional[List[str]] = None
    """BCC addresses."""
    body: str
    """Body, HTML or plain text."""
    cc: Optional[List[str]] = None
    """CC addresses."""
    dry_run: Optional[bool] = None
    """Check without sending."""
    preview: Optional[str] = None
    """Preview text."""
    send_from: Optional[str] = None
    """Team member ID of the sender."""
    send_to: str
    """Contact ID of the recipient."""
    subject: str
    """Subject line."""


class SentEmail(_Response):
    """An email the tools sent: the duplicate check reads these, and a provider sync uses `(provider, external_message_id)` to never import the same email twice."""

    contact_id: Optional[ContactId] = None
    content_hash: str
    """SHA-256 of the normalised subject and body: exact duplicates."""
    context: Optional[Dict[str, Any]] = None
    """Conversation, agent and lead ids given by the caller."""
    created_at: _dt.datetime
    """When it was sent."""
    external_message_id: str
    """The provider's message id (the `Message-ID`)."""
    id: SentEmailId
    """The record's id (the tools' `email_id`)."""
    message_id: Optional[MessageId] = None
    provider: str
    """`agent_email` (a Mailroom mailbox) or `smtp` (the site's SMTP account)."""
    recipient: str
    """The recipient, lower-cased."""
    simhash: str
    """64-bit SimHash of the normalised text (hex): near duplicates."""
    site_id: SiteId
    """The owning site."""
    subject: str
    """The subject."""
    template: Optional[str] = None
    """The template used (informational emails)."""
    tool: str
    """The tool that sent it."""


class SignedUrl(_Response):
    """A time-limited download URL."""

    expires_at: _dt.datetime
    """When the URL stops working."""
    url: str
    """Downloads the attachment without an API key until `expires_at`."""


class SignedUrlRequest(_Request):
    """`POST /v1/attachments/{id}/url`."""

    expires_in_seconds: Optional[int] = None
    """Seconds the URL stays valid (default 3600, at most 604800)."""


class Site(_Response):
    """A tenant. Owns API keys, mailboxes and everything under them."""

    created_at: _dt.datetime
    """When the site was created."""
    id: SiteId
    """The site's id (the seeds' `site_id`)."""
    name: str
    """A human name."""


class SiteSettings(_Request):
    """The site's settings document (seed 002's `settings`): every key is optional, unknown keys are refused (`unknown_field`, naming the key's path)."""

    channels: Optional[Channels] = None
    information_email: Optional[InformationEmailSettings] = None
    signature_html: Optional[str] = None
    """An HTML signature appended by `send_email` (before the channels' own)."""
    tools: Optional[ToolSettings] = None


class StatusResponse(_Response):
    """The answer to `GET /v1/status`."""

    default_domain: str
    """The domain mailboxes get when none is given."""
    listeners: List[Listener]
    """The listening sockets of the node that answered."""
    oldest_queued_secs: float
    """Seconds since the oldest message with a waiting recipient was created (0 when none)."""
    queue_depth: int
    """Outbound recipients queued, sending or deferred (every site)."""
    store: str
    """The store: `sqlite` or `postgres`, with where it is (no credentials)."""
    version: str
    """The server's version."""
    webhook_backlog: int
    """Webhook deliveries pending or being sent (every site)."""


class Suppression(_Response):
    """An address a site must not send to."""

    address: EmailAddress
    """The suppressed address (lower-cased)."""
    created_at: _dt.datetime
    """When it was added."""
    detail: Optional[str] = None
    """What caused it, such as the SMTP reply of the bounce."""
    reason: str
    """`hard_bounce`, `complaint`, `unsubscribe` or `manual`."""
    site_id: SiteId
    """The owning site."""


class SuppressionEventData(_Response):
    """`data` of `suppression.created`."""

    address: str
    """The suppressed address."""
    detail: Optional[str] = None
    """The details (a bounce's SMTP reply)."""
    mailbox_id: Optional[MailboxId] = None
    message_id: Optional[MessageId] = None
    reason: str
    """Why (`hard_bounce`, `complaint`, `manual`…)."""


class TeamMember(_Response):
    """A human sender identity mapped to a mailbox."""

    created_at: _dt.datetime
    """When the member was created."""
    id: TeamMemberId
    """The member's id."""
    mailbox_id: MailboxId
    """The mailbox the member sends from."""
    name: str
    """The name shown in `From`."""
    signature_html: Optional[str] = None
    """The HTML signature appended to their emails."""
    site_id: SiteId
    """The owning site."""
    updated_at: _dt.datetime
    """When it last changed."""


class Thread(_Response):
    """A conversation inside one mailbox."""

    created_at: _dt.datetime
    """When the thread began."""
    id: ThreadId
    """The thread's id."""
    last_message_at: _dt.datetime
    """When the latest message was stored."""
    mailbox_id: MailboxId
    """The mailbox the thread belongs to."""
    message_count: int
    """How many messages the thread holds."""
    participants: Optional[List[EmailAddress]] = None
    """Every address that sent or received a message of the thread."""
    site_id: SiteId
    """The owning site."""
    snippet: Optional[str] = None
    """The snippet of the latest message."""
    subject: Optional[str] = None
    """The subject of the first message, without `Re:` prefixes."""


class ToolCatalog(_Response):
    """The catalogue."""

    anthropic: List[Dict[str, Any]]
    """The same as Anthropic tool definitions (`tools` of a message)."""
    data: List[ToolEntry]
    """Every tool."""
    openai: List[Dict[str, Any]]
    """The same as OpenAI function-calling definitions (`tools` of a chat completion)."""


class ToolConfig(_Response):
    """A builder-configured instance of an agent tool."""

    created_at: _dt.datetime
    """When it was created."""
    id: ToolConfigId
    """The config's id."""
    name: str
    """The tool name agents call (unique per site), such as `welcome_followup`."""
    prompt: str
    """The builder's prompt: when to use the tool and the quality bar; agents see it as the tool's description."""
    settings: Optional[Dict[str, Any]] = None
    """Tool-specific settings (sender rule, default cc/bcc, `complete_on_send_failure`, allowed templates…), validated by the tools crate."""
    site_id: SiteId
    """The owning site."""
    tool: str
    """The underlying tool: `send_email`, `send_one_to_one_email` or `send_information_email`."""
    updated_at: _dt.datetime
    """When it last changed."""


class ToolEntry(_Response):
    """One tool in the catalogue."""

    description: str
    """What the model reads: the tool's description, or the builder's prompt."""
    input_schema: Dict[str, Any]
    """The input JSON Schema."""
    name: str
    """The name to invoke (`POST /v1/tools/{name}/invoke`) and the function name for models."""
    strict: bool
    """Whether OpenAI strict function calling applies."""
    tool: str
    """The underlying tool."""
    tool_config_id: Optional[ToolConfigId] = None


class ToolErrorBody(_Response):
    """A tool's refusal: the API's error shape; `send_email` adds `"success": false` (seed 002's shape, with its upper-case codes such as `INVALID_REQUEST` or `SITE_CONFIG_NOT_FOUND`)."""

    error: ErrorDetail
    """The code and message."""
    result: Optional[OneToOneOutput] = None
    success: Optional[bool] = None
    """`false` (`send_email` only)."""
    tool_run_id: Optional[ToolRunId] = None


class ToolRun(_Response):
    """The audit record of one tool invocation."""

    checks: List[Dict[str, Any]]
    """Each check and its result, in order: `[{name, passed, detail}]`."""
    code: Optional[str] = None
    """The reason code (`duplicate_email`, `user_marketing_email_opt_out`, …), if any."""
    contact_id: Optional[ContactId] = None
    created_at: _dt.datetime
    """When the run happened."""
    decision: Dict[str, Any]
    """The decision taken and why."""
    delivery: Optional[ToolRunDelivery] = None
    dry_run: bool
    """Whether it was a dry run (nothing sent)."""
    id: ToolRunId
    """The run's id."""
    inputs: Dict[str, Any]
    """The inputs, secrets redacted."""
    message_id: Optional[MessageId] = None
    outputs: Dict[str, Any]
    """The outputs returned to the caller."""
    site_id: SiteId
    """The owning site."""
    status: str
    """`success`, `failure`, `skipped`, `consent_required`, `sent`, …"""
    tool: str
    """The tool invoked."""
    tool_config_id: Optional[ToolConfigId] = None


class ToolRunDelivery(_Response):
    """The delivery outcome of the message a tool run sent (`ToolRun.delivery`)."""

    recipients: List[ToolRunRecipient]
    """Each recipient (to, cc and bcc) with its status and the last SMTP reply."""
    status: str
    """All recipients alike: their status (`queued`, `sending`, `deferred`, `delivered`, `bounced` or `failed`); otherwise `pending` while any is not final, else `partial`."""


class ToolRunEventData(_Response):
    """`data` of `tool_run.created`: an agent tool's run was recorded. Its inputs, checks and outputs are left out: read them at `GET /v1/tool-runs/{id}`."""

    code: Optional[str] = None
    """The reason code, if any."""
    contact_id: Optional[ContactId] = None
    created_at: _dt.datetime
    """When the run happened."""
    decision: Dict[str, Any]
    """The decision taken and why."""
    dry_run: bool
    """Whether it was a dry run (nothing sent)."""
    id: ToolRunId
    """The run."""
    message_id: Optional[MessageId] = None
    status: str
    """`success`, `failure`, `skipped`, `consent_required`, `sent`, …"""
    tool: str
    """The tool invoked."""


class ToolRunRecipient(_Response):
    """One recipient of a tool run's message."""

    address: EmailAddress
    """The address."""
    kind: RecipientKind
    """`to`, `cc` or `bcc`."""
    last_reply: Optional[str] = None
    """The last SMTP reply or delivery note."""
    status: DeliveryStatus
    """Where its delivery stands."""


class ToolSettings(_Request):
    """The send policy shared by the tools."""

    duplicate_window_days: Optional[int] = None
    """How far back an identical or near-identical email counts as a duplicate (1-3650 days)."""
    near_duplicate_max_distance: Optional[int] = None
    """The largest SimHash distance (bits) still counted as a near duplicate; 0 = exact only."""
    rate_limit: Optional[RateLimitSettings] = None


class UpdateContactRequest(_Request):
    """`PATCH /v1/contacts/{id}`: only the fields given change; `null` clears a field."""

    attributes: Optional[Dict[str, Any]] = None
    """Attributes merged into the existing ones (a `null` value removes that attribute)."""
    email: Optional[str] = None
    """The new email address (`null` removes it, if the contact keeps an external id)."""
    email_subscribed: Optional[bool] = None
    """Consent to informational email (`"true"` / `"false"` accepted too)."""
    external_id: Optional[str] = None
    """The new external id (`null` removes it, if the contact keeps an email)."""
    marketing_opt_out: Optional[bool] = None
    """Opted out of marketing / one-to-one outreach."""
    name: Optional[str] = None
    """The new name."""
    owner_team_member_id: Optional[str] = None
    """The owning team member; `null` removes it."""


class UpdateDraftRequest(_Request):
    """`PATCH /v1/drafts/{id}`: the fields to change; absent ones are kept."""

    bcc: Optional[List[str]] = None
    """New blind-copy recipients."""
    cc: Optional[List[str]] = None
    """New `Cc` recipients."""
    html: Optional[str] = None
    """New HTML body."""
    send_at: Optional[str] = None
    """New send time (RFC 3339); an empty string removes it."""
    subject: Optional[str] = None
    """New subject."""
    text: Optional[str] = None
    """New plain-text body."""
    to: Optional[List[str]] = None
    """New `To` recipients."""


class UpdateMailboxRequest(_Request):
    """`PATCH /v1/mailboxes/{id}`."""

    approval_policy: Optional[ApprovalPolicy] = None
    display_name: Optional[str] = None
    """The new display name; an empty string removes it."""
    expires_at: Optional[_dt.datetime] = None
    """Sets the expiry (`null`: the mailbox no longer expires)."""
    limits: Optional[LimitsPatch] = None
    retention_days: Optional[int] = None
    """Days messages are kept (`null`: the site's rule, else forever)."""
    ttl_seconds: Optional[int] = None
    """Sets the expiry this many seconds from now."""


class UpdateMessageRequest(_Request):
    """`PATCH /v1/messages/{id}`."""

    add_labels: Optional[List[str]] = None
    """Adds these labels."""
    labels: Optional[List[str]] = None
    """Replaces all labels."""
    read: Optional[bool] = None
    """Marks the message read or unread."""
    remove_labels: Optional[List[str]] = None
    """Removes these labels."""


class UpdateSiteRequest(_Request):
    """`PATCH /v1/sites/{id}`."""

    approval_policy: Optional[ApprovalPolicy] = None
    limits: Optional[LimitsPatch] = None
    retention_days: Optional[int] = None
    """Days messages are kept (`null`: forever); a mailbox's own value wins."""


class UpdateTeamMemberRequest(_Request):
    """`PATCH /v1/team-members/{id}`."""

    mailbox_id: Optional[str] = None
    """The new mailbox (of the same site)."""
    name: Optional[str] = None
    """The new name."""
    signature_html: Optional[str] = None
    """The new signature; `null` removes it."""


class UpdateToolConfigRequest(_Request):
    """`PATCH /v1/tool-configs/{id}` (the underlying tool cannot change)."""

    approval_policy: Optional[ApprovalPolicy] = None
    name: Optional[str] = None
    """The new name."""
    prompt: Optional[str] = None
    """The new prompt."""
    settings: Optional[Dict[str, Any]] = None
    """The new settings (replace the old ones)."""


class UpdateWebhookRequest(_Request):
    """`PATCH /v1/webhooks/{id}`: absent fields keep their value."""

    description: Optional[str] = None
    """The new description; `null` or an empty string removes it."""
    enabled: Optional[bool] = None
    """`true` enables the endpoint again (clearing why it was disabled); `false` disables it."""
    event_types: Optional[List[str]] = None
    """The new event type filter; empty or `["*"]` means every type."""
    mailbox_id: Optional[str] = None
    """The new mailbox filter; `null` removes it (`Some(None)` here)."""
    url: Optional[str] = None
    """The new URL."""


class UploadedAttachment(_Response):
    """An attachment uploaded before the message that carries it (`POST /v1/attachments`)."""

    content_type: str
    """The MIME type."""
    created_at: _dt.datetime
    """When it was uploaded."""
    expires_at: _dt.datetime
    """When the upload is deleted (messages that used it keep their own copy)."""
    filename: Optional[str] = None
    """The file name given at upload."""
    id: AttachmentId
    """The id to reference as `{"attachment_id": "…"}` in sends, replies and forwards."""
    sha256: str
    """SHA-256 of the content, hex."""
    site_id: SiteId
    """The owning site."""
    size: int
    """Size in bytes."""


class UpsertContactRequest(_Request):
    """`POST /v1/contacts`: creates a contact, or updates the site's contact with the same email (compared case-insensitively) or, failing that, the same external id."""

    attributes: Optional[Dict[str, Any]] = None
    """Attributes, merged into the existing ones (a `null` value removes that attribute)."""
    email: Optional[str] = None
    """The email address; at least one of `email` and `external_id` is needed."""
    email_subscribed: Optional[bool] = None
    """Consent to informational email: `true`, `false` or `null` (unset); seed 001's strings `"true"` / `"false"` are accepted too."""
    external_id: Optional[str] = None
    """The caller's own id for this person."""
    marketing_opt_out: Optional[bool] = None
    """Opted out of marketing / one-to-one outreach."""
    name: Optional[str] = None
    """The name."""
    owner_team_member_id: Optional[str] = None
    """The team member (of the same site) who owns the relationship; `null` removes it."""
    site_id: Optional[SiteId] = None


class Usage(_Response):
    """What a site or mailbox has stored."""

    messages: int
    """Stored messages."""
    storage_bytes: int
    """Bytes of raw messages plus their decoded attachments."""


class UsageReport(_Response):
    """`GET /v1/usage`: the site's use and limits, and each mailbox's."""

    mailboxes: List[MailboxUsage]
    """Each mailbox's limits, retention, totals and expiry."""
    site: ControlsView
    """The site's limits, retention and totals."""
    site_id: SiteId
    """The site."""


class WaitResponse(_Response):
    """The answer to `GET /v1/mailboxes/{id}/messages/wait` when a message arrived (200; the route answers 204 without a body when the timeout passes first)."""

    cursor: str
    """The cursor of the `message.received` event: pass it as `after` to wait for the next message without missing one."""
    message: Message
    """The received message."""


class WebhookAttempt(_Response):
    """One HTTP attempt of a webhook delivery."""

    at: _dt.datetime
    """When it was made."""
    attempt: int
    """1 for the first attempt."""
    error: Optional[str] = None
    """What went wrong (connection refused, timeout, non-2xx…), if anything."""
    latency_ms: int
    """How long the request took, in milliseconds."""
    status_code: Optional[int] = None
    """The HTTP status, when the endpoint answered."""


class WebhookDelivery(_Response):
    """One event to be delivered to one endpoint, with its attempts."""

    attempts: int
    """Attempts so far."""
    created_at: _dt.datetime
    """When the delivery was created."""
    endpoint_id: WebhookId
    """The endpoint."""
    event_cursor: str
    """The event's cursor in the log."""
    event_id: EventId
    """The event's id."""
    event_type: str
    """The event's type."""
    history: Optional[List[WebhookAttempt]] = None
    """The attempts, oldest first."""
    id: WebhookDeliveryId
    """The delivery's id, sent as `webhook-id`."""
    next_attempt_at: Optional[_dt.datetime] = None
    """When the next attempt is due (pending only)."""
    site_id: SiteId
    """The site."""
    status: WebhookDeliveryStatus
    """Where it stands."""
    updated_at: _dt.datetime
    """When it last changed."""


class WebhookEndpoint(_Response):
    """A URL that receives a site's events, signed per Standard Webhooks."""

    created_at: _dt.datetime
    """When the endpoint was created."""
    description: Optional[str] = None
    """A note for humans."""
    disabled_reason: Optional[str] = None
    """Why the endpoint was disabled automatically (`gone` after a 410, `failing` after a period of nothing but failures), if it was."""
    enabled: bool
    """Whether deliveries are made."""
    event_types: Optional[List[str]] = None
    """Event types to send (`message.received`, …); empty means every type."""
    failing_since: Optional[_dt.datetime] = None
    """Since when every delivery attempt has failed; cleared by a success."""
    id: WebhookId
    """The endpoint's id."""
    mailbox_id: Optional[MailboxId] = None
    previous_secret_expires_at: Optional[_dt.datetime] = None
    """When the previous secret stops being used."""
    site_id: SiteId
    """The owning site."""
    updated_at: _dt.datetime
    """When it was last changed."""
    url: str
    """Where events are POSTed."""


class ApprovalItem(Approval):
    """A draft as the approvals page and `GET /v1/approvals` show it: the approval with its draft."""

    draft: Draft
    """The draft (content, revision, status)."""


class ContactWithHistory(Contact):
    """A contact with the emails the tools sent it, newest first."""

    history: List[SentEmail]
    """The emails sent to it, newest first."""


class CreatedApiKey(ApiKey):
    """The answer to `POST /v1/api-keys`: the only time the secret is shown."""

    key: str
    """The secret to send as `Authorization: Bearer <key>`. It is not stored and cannot be shown again."""


class MailboxUsage(ControlsView):
    """One mailbox's line of [`UsageReport`]."""

    address: str
    """Its address."""
    expires_at: Optional[_dt.datetime] = None
    """When it expires, if it is ephemeral."""
    mailbox_id: MailboxId
    """The mailbox."""


class MailboxView(Mailbox):
    """A mailbox as `GET`, `POST` and `PATCH /v1/mailboxes…` show it: its fields plus its expiry, limits, retention and storage use."""

    expires_at: Optional[_dt.datetime] = None
    """When the mailbox expires and is deleted with its mail; `null`: never."""
    limits: Limits
    """The mailbox's limits in force (its site's apply too)."""
    retention_days: Optional[int] = None
    """Days messages are kept; `null`: the site's rule, else forever."""
    usage: Usage
    """What the mailbox stores now."""


class MessageResponse(Message):
    """A message as `GET /v1/messages/{id}` returns it: its fields, with at most `limits.api_max_header_entries` header entries."""

    headers_total: int
    """How many header entries the message has."""
    headers_truncated: bool
    """Whether `headers` holds only the first entries: the message has more (`headers_total`); `GET /v1/messages/{id}/raw` has them all."""


class ThreadWithMessages(Thread):
    """A thread with its messages, oldest first."""

    messages: List[Message]
    """Its messages in the order they were stored."""


class WebhookResponse(WebhookEndpoint):
    """An endpoint as the API shows it, with its secret only in the answer to a create or a rotation."""

    secret: Optional[str] = None
    """The signing secret (`whsec_…`): keep it, it is shown only this once. Verify requests with any Standard Webhooks library."""


ImportResponse = Union[ImportedMessage, ImportBatchResponse]  # The answer to an import: one message's result, or a batch's results in order.
PortValue = Union[int, str]  # A port as a number or a string of digits (seed 002 stores `"587"`).
ThreadAnswer = Union[ThreadWithMessages, AgentThreadView]  # A thread: with its stored messages, or (`view=agent`) as an agent reads it.
ToolInput = Union[SendEmailInput, SendOneToOneEmailInput, SendInformationEmailInput]  # The input of a tool: the shape of the tool invoked (a tool config takes its tool's input); `GET /v1/tools` gives each one's exact JSON Schema.
ToolResult = Union[SendEmailOutput, OneToOneOutput, InformationOutput]  # What a tool answers when it ran (sent, skipped, consent required, failed or dry run).

for _model in (AgentAttachment, AgentEmailChannel, AgentMessage, AgentSummary, AgentThreadView, Analysis, ApiKey, Approval, ApprovalDecision, ApprovalItem, ApprovalPolicySetting, Attachment, AttachmentInput, AttachmentText, AttachmentTextEventData, Channels, ConsentRequest, Contact, ContactWithHistory, ControlsView, CreateApiKeyRequest, CreateDomainRequest, CreateListEntryRequest, CreateMailboxRequest, CreateSecureTokenRequest, CreateSiteRequest, CreateSuppressionRequest, CreateTeamMemberRequest, CreateToolConfigRequest, CreateWebhookRequest, CreatedApiKey, DeliveryEventData, DkimKey, DnsRecord, Domain, DomainDns, Draft, DraftError, DraftRevision, Elision, EmailChannel, EndpointDisabledEventData, ErrorBody, ErrorDetail, Event, ForwardRequest, Header, HealthStatus, HeldSendResponse, ImportBatchItem, ImportBatchRequest, ImportBatchResponse, ImportedMessage, InformationEmailSettings, InformationOutput, Limits, LimitsPatch, ListEntry, Listener, Mailbox, MailboxDeletedEventData, MailboxUsage, MailboxView, Message, MessageDeletedEventData, MessageResponse, NamedAddress, OneToOneOutput, Page_ApiKey, Page_ApprovalItem, Page_Contact, Page_Domain, Page_Draft, Page_Event, Page_ListEntry, Page_Mailbox, Page_Message, Page_QueueEntry, Page_SecureToken, Page_Site, Page_Suppression, Page_TeamMember, Page_Thread, Page_ToolConfig, Page_ToolRun, Page_WebhookDelivery, Page_WebhookEndpoint, Proposer, QueueEntry, RateLimitSettings, Recipient, RecipientStatus, ReplayRequest, ReplayResponse, ReplyRequest, SecureToken, Security, SecurityFlag, SendDraftRequest, SendEmailInput, SendEmailOutput, SendInformationEmailInput, SendMessageRequest, SendMessageResponse, SendOneToOneEmailInput, SentEmail, SignedUrl, SignedUrlRequest, Site, SiteSettings, StatusResponse, Suppression, SuppressionEventData, TeamMember, Thread, ThreadWithMessages, ToolCatalog, ToolConfig, ToolEntry, ToolErrorBody, ToolRun, ToolRunDelivery, ToolRunEventData, ToolRunRecipient, ToolSettings, UpdateContactRequest, UpdateDraftRequest, UpdateMailboxRequest, UpdateMessageRequest, UpdateSiteRequest, UpdateTeamMemberRequest, UpdateToolConfigRequest, UpdateWebhookRequest, UploadedAttachment, UpsertContactRequest, Usage, UsageReport, WaitResponse, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookResponse,):
    _model.model_rebuild()

SCHEMAS = ['AgentAttachment', 'AgentEmailChannel', 'AgentMessage', 'AgentSummary', 'AgentThreadView', 'Analysis', 'ApiKey', 'ApiKeyId', 'Approval', 'ApprovalDecision', 'ApprovalId', 'ApprovalItem', 'ApprovalPolicy', 'ApprovalPolicySetting', 'ApprovalStatus', 'Attachment', 'AttachmentId', 'AttachmentInput', 'AttachmentText', 'AttachmentTextEventData', 'Channels', 'ConsentRequest', 'Contact', 'ContactId', 'ContactWithHistory', 'ControlsView', 'CreateApiKeyRequest', 'CreateDomainRequest', 'CreateListEntryRequest', 'CreateMailboxRequest', 'CreateSecureTokenRequest', 'CreateSiteRequest', 'CreateSuppressionRequest', 'CreateTeamMemberRequest', 'CreateToolConfigRequest', 'CreateWebhookRequest', 'CreatedApiKey', 'DeliveryEventData', 'DeliveryStatus', 'Direction', 'DkimKey', 'DnsRecord', 'Domain', 'DomainDns', 'DomainId', 'Draft', 'DraftError', 'DraftId', 'DraftRevision', 'DraftStatus', 'Elision', 'EmailAddress', 'EmailChannel', 'EndpointDisabledEventData', 'ErrorBody', 'ErrorDetail', 'Event', 'EventId', 'FlagKind', 'ForwardRequest', 'Header', 'HealthStatus', 'HeldSendResponse', 'ImportBatchItem', 'ImportBatchRequest', 'ImportBatchResponse', 'ImportResponse', 'ImportedMessage', 'InformationEmailSettings', 'InformationOutput', 'Limits', 'LimitsPatch', 'ListDirection', 'ListEntry', 'ListEntryId', 'ListKind', 'Listener', 'Mailbox', 'MailboxDeletedEventData', 'MailboxId', 'MailboxUsage', 'MailboxView', 'Message', 'MessageDeletedEventData', 'MessageId', 'MessageResponse', 'NamedAddress', 'OneToOneOutput', 'Page_ApiKey', 'Page_ApprovalItem', 'Page_Contact', 'Page_Domain', 'Page_Draft', 'Page_Event', 'Page_ListEntry', 'Page_Mailbox', 'Page_Message', 'Page_QueueEntry', 'Page_SecureToken', 'Page_Site', 'Page_Suppression', 'Page_TeamMember', 'Page_Thread', 'Page_ToolConfig', 'Page_ToolRun', 'Page_WebhookDelivery', 'Page_WebhookEndpoint', 'PortValue', 'Proposer', 'QueueEntry', 'RateLimitSettings', 'Recipient', 'RecipientKind', 'RecipientStatus', 'ReplayRequest', 'ReplayResponse', 'ReplyRequest', 'SecureToken', 'SecureTokenId', 'Security', 'SecurityFlag', 'SendDraftRequest', 'SendEmailInput', 'SendEmailOutput', 'SendInformationEmailInput', 'SendMessageRequest', 'SendMessageResponse', 'SendOneToOneEmailInput', 'SentEmail', 'SentEmailId', 'Severity', 'SignedUrl', 'SignedUrlRequest', 'Site', 'SiteId', 'SiteSettings', 'StatusResponse', 'Suppression', 'SuppressionEventData', 'TeamMember', 'TeamMemberId', 'TextStatus', 'Thread', 'ThreadAnswer', 'ThreadId', 'ThreadWithMessages', 'ToolCatalog', 'ToolConfig', 'ToolConfigId', 'ToolEntry', 'ToolErrorBody', 'ToolInput', 'ToolResult', 'ToolRun', 'ToolRunDelivery', 'ToolRunEventData', 'ToolRunId', 'ToolRunRecipient', 'ToolSettings', 'UpdateContactRequest', 'UpdateDraftRequest', 'UpdateMailboxRequest', 'UpdateMessageRequest', 'UpdateSiteRequest', 'UpdateTeamMemberRequest', 'UpdateToolConfigRequest', 'UpdateWebhookRequest', 'UploadedAttachment', 'UpsertContactRequest', 'Usage', 'UsageReport', 'WaitResponse', 'WebhookAttempt', 'WebhookDelivery', 'WebhookDeliveryId', 'WebhookDeliveryStatus', 'WebhookEndpoint', 'WebhookId', 'WebhookResponse']
"""Every schema of the OpenAPI document this module was generated from."""
