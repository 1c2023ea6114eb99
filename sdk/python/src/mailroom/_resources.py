"""The resources of the REST API, written once for both clients: each method describes its
call and the client (sync or async) runs it, so ``client.mailboxes.create(...)`` returns a
``Mailbox`` on ``Mailroom`` and an awaitable of one on ``AsyncMailroom``."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Union
from urllib.parse import quote

from . import models as m
from ._base import Request

if TYPE_CHECKING:  # pragma: no cover
    from ._client import _ClientCore

__all__ = [
    "Mailboxes", "Messages", "Threads", "Attachments", "Events", "Webhooks", "Domains", "Suppressions",
    "Contacts", "TeamMembers", "Settings", "SecureTokens", "Tools", "ToolRuns", "ToolConfigs", "Sites",
    "ApiKeys", "Queue", "Lists", "Status", "Drafts", "Approvals", "Usage",
]


def _id(value: Any) -> str:
    """Accepts an id or an object that has one."""
    value = getattr(value, "id", value)
    return quote(str(value), safe="")


def _send_answer() -> Any:
    """A send's answer: a ``SendMessageResponse``, or a ``HeldSendResponse`` (``status``
    ``scheduled`` or ``pending_approval``) when it did not leave at once."""
    held = getattr(m, "HeldSendResponse", None)
    return Union[m.SendMessageResponse, held] if held is not None else m.SendMessageResponse


def _body(model: Any, fields: Mapping[str, Any]) -> Any:
    """Validates ``fields`` against the request model (unknown fields raise at once)."""
    return model.model_validate(dict(fields))


class Resource:
    def __init__(self, client: "_ClientCore"):
        self._c = client

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        return self._c.call(Request(method, path, **kw))

    def _list(self, path: str, item: Any, params: Optional[Mapping[str, Any]] = None) -> Any:
        return self._c.page(path, dict(params or {}), item)


class Mailboxes(Resource):
    """``/v1/mailboxes``: addresses that send and receive."""

    def create(self, *, username: str, domain: Optional[str] = None, display_name: Optional[str] = None,
               client_id: Optional[str] = None, site_id: Optional[str] = None, idempotency_key: Optional[str] = None) -> Any:
        """Creates a mailbox ``username@domain``; with a ``client_id`` used before, returns that mailbox."""
        body = _body(m.CreateMailboxRequest, {k: v for k, v in dict(username=username, domain=domain, display_name=display_name,
                                                                    client_id=client_id, site_id=site_id).items() if v is not None})
        return self._call("POST", "/v1/mailboxes", body=body, cast=m.Mailbox, idempotency_key=idempotency_key, replayable=True)

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None, site_id: Optional[str] = None) -> Any:
        return self._list("/v1/mailboxes", m.Mailbox, dict(limit=limit, cursor=cursor, site_id=site_id))

    def get(self, mailbox_id: Any) -> Any:
        return self._call("GET", f"/v1/mailboxes/{_id(mailbox_id)}", cast=m.Mailbox)

    def update(self, mailbox_id: Any, **fields: Any) -> Any:
        return self._call("PATCH", f"/v1/mailboxes/{_id(mailbox_id)}", body=_body(m.UpdateMailboxRequest, fields), cast=m.Mailbox)

    def delete(self, mailbox_id: Any) -> Any:
        return self._call("DELETE", f"/v1/mailboxes/{_id(mailbox_id)}")


class Messages(Resource):
    """Messages: send, list, read, reply, forward, wait."""

    def send(self, mailbox_id: Any = None, *, to: Union[str, Sequence[str]], subject: str, text: Optional[str] = None,
             html: Optional[str] = None, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Sends a message from a mailbox (``cc``, ``bcc``, ``reply_to``, ``attachments``, ``headers``,
        ``in_reply_to``, ``labels`` and ``send_at`` are taken too; a scheduled or held send answers a
        ``HeldSendResponse``). ``mailbox_id`` may also be passed by keyword."""
        mailbox_id = mailbox_id if mailbox_id is not None else fields.pop("mailbox_id", None)
        if mailbox_id is None:
            raise TypeError("send() needs the sending mailbox: messages.send(mailbox_id, to=..., subject=...)")
        to_list = [to] if isinstance(to, str) else list(to)
        payload: Dict[str, Any] = {"to": to_list, "subject": subject, **fields}
        if text is not None:
            payload["text"] = text
        if html is not None:
            payload["html"] = html
        return self._call("POST", f"/v1/mailboxes/{_id(mailbox_id)}/messages", body=_body(m.SendMessageRequest, payload),
                          cast=_send_answer(), idempotency_key=idempotency_key, replayable=True)

    def list(self, mailbox_id: Any = None, *, direction: Optional[str] = None, thread_id: Optional[str] = None,
             unread: Optional[bool] = None, status: Optional[str] = None, since: Optional[str] = None,
             label: Optional[str] = None, q: Optional[str] = None, limit: Optional[int] = None,
             cursor: Optional[str] = None) -> Any:
        """Lists a mailbox's messages, newest first. ``status="unread"`` is ``unread=True``
        (``"read"``: ``unread=False``); ``q`` searches."""
        if mailbox_id is None:
            raise TypeError("list() needs the mailbox: messages.list(mailbox_id, ...)")
        if status is not None:
            if status not in ("read", "unread"):
                raise ValueError("status must be 'read' or 'unread'")
            unread = status == "unread"
        params = dict(direction=direction, thread_id=thread_id, unread=unread, since=since, label=label, q=q, limit=limit, cursor=cursor)
        return self._list(f"/v1/mailboxes/{_id(mailbox_id)}/messages", m.Message, params)

    def search(self, mailbox_id: Any, q: str, **filters: Any) -> Any:
        """Full-text search of a mailbox (the same as ``list(mailbox_id, q=...)``)."""
        return self.list(mailbox_id, q=q, **filters)

    def get(self, message_id: Any) -> Any:
        return self._call("GET", f"/v1/messages/{_id(message_id)}", cast=m.MessageResponse)

    def raw(self, message_id: Any) -> Any:
        """Returns the message exactly as stored (RFC 5322 bytes)."""
        return self._call("GET", f"/v1/messages/{_id(message_id)}/raw", cast=bytes, headers={"Accept": "message/rfc822"})

    def update(self, message_id: Any, **fields: Any) -> Any:
        """Marks read/unread (``read=``) and changes labels (``labels=``, ``add_labels=``, ``remove_labels=``)."""
        return self._call("PATCH", f"/v1/messages/{_id(message_id)}", body=_body(m.UpdateMessageRequest, fields), cast=m.Message)

    def delete(self, message_id: Any) -> Any:
        return self._call("DELETE", f"/v1/messages/{_id(message_id)}")

    def reply(self, message_id: Any, *, text: Optional[str] = None, html: Optional[str] = None,
              idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Replies in the message's thread, from its mailbox (``reply_all``, ``cc``, ``attachments``…)."""
        payload = {k: v for k, v in dict(text=text, html=html, **fields).items() if v is not None}
        return self._call("POST", f"/v1/messages/{_id(message_id)}/reply", body=_body(m.ReplyRequest, payload),
                          cast=_send_answer(), idempotency_key=idempotency_key, replayable=True)

    def forward(self, message_id: Any, *, to: Union[str, Sequence[str]], text: Optional[str] = None,
                idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        to_list = [to] if isinstance(to, str) else list(to)
        payload = {k: v for k, v in dict(to=to_list, text=text, **fields).items() if v is not None}
        return self._call("POST", f"/v1/messages/{_id(message_id)}/forward", body=_body(m.ForwardRequest, payload),
                          cast=m.SendMessageResponse, idempotency_key=idempotency_key, replayable=True)

    def find(self, message_id: str) -> Any:
        """Finds messages by their ``Message-ID`` header (with or without the angle brackets)
        across the mailboxes the key can see: one per mailbox holding it (mail between two local
        mailboxes is in both). Returns a page of ``Message``."""
        return self._list("/v1/messages", m.Message, dict(message_id=message_id))

    def import_(self, mailbox_id: Any, raw: Union[bytes, str, Sequence[Union[bytes, str]]], *, idempotency_key: Optional[str] = None) -> Any:
        """Imports existing mail into a mailbox as received mail (threaded, searchable, never
        sent). ``raw`` is one message's RFC 5322 bytes, or a list of them (a batch of up to 1,000,
        stored in order). Returns an ``ImportedMessage`` for one message and an
        ``ImportBatchResponse`` (``.results``) for a list; ``imported`` is ``False`` for a message
        whose ``Message-ID`` the mailbox already held, so importing again is safe."""
        path = f"/v1/mailboxes/{_id(mailbox_id)}/import"
        if isinstance(raw, (bytes, bytearray, str)):
            data = raw.encode() if isinstance(raw, str) else bytes(raw)
            return self._call("POST", path, content=data, headers={"Content-Type": "message/rfc822"}, cast=m.ImportedMessage,
                              idempotency_key=idempotency_key, replayable=True)
        items = [{"raw_base64": base64.b64encode(r.encode() if isinstance(r, str) else bytes(r)).decode()} for r in raw]
        return self._call("POST", path, body=_body(m.ImportBatchRequest, {"messages": items}), cast=m.ImportBatchResponse,
                          idempotency_key=idempotency_key, replayable=True)

    def wait(self, mailbox_id: Any, *, after: Optional[str] = None, timeout: int = 30) -> Any:
        """Waits up to ``timeout`` seconds (0-60) for the next inbound message; returns a
        ``WaitResponse`` (``.message``, ``.cursor``) or ``None`` when nothing arrived. Pass the
        previous answer's ``cursor`` as ``after`` to wait for the one after it."""
        return self._call("GET", f"/v1/mailboxes/{_id(mailbox_id)}/messages/wait", params=dict(after=after, timeout=timeout),
                          cast=m.WaitResponse, timeout=float(timeout) + 15.0)


class Threads(Resource):
    def list(self, mailbox_id: Any, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Any:
        return self._list(f"/v1/mailboxes/{_id(mailbox_id)}/threads", m.Thread, dict(limit=limit, cursor=cursor))

    def get(self, thread_id: Any, *, view: Optional[str] = None, max_tokens: Optional[int] = None) -> Any:
        """Returns the thread and its messages, oldest first (a ``ThreadWithMessages``). With
        ``view="agent"`` it returns the thread as an agent should read it (an ``AgentThreadView``:
        each message's new text only, hidden text removed, security flags), within
        ``max_tokens`` (200-100000, default 4000)."""
        cast = m.AgentThreadView if view == "agent" else m.ThreadWithMessages
        return self._call("GET", f"/v1/threads/{_id(thread_id)}", params=dict(view=view, max_tokens=max_tokens), cast=cast)


class Attachments(Resource):
    def download(self, attachment_id: Any) -> Any:
        """Returns the attachment's bytes."""
        return self._call("GET", f"/v1/attachments/{_id(attachment_id)}", cast=bytes, headers={"Accept": "*/*"})

    def upload(self, content: bytes, *, filename: Optional[str] = None, content_type: str = "application/octet-stream",
               site_id: Optional[str] = None, idempotency_key: Optional[str] = None) -> Any:
        """Uploads a file to send later by id: ``attachments=[{"attachment_id": upload.id}]``.
        Returns an ``UploadedAttachment`` (``id``, ``filename``, ``content_type``, ``size``,
        ``sha256``, ``expires_at``…)."""
        return self._call("POST", "/v1/attachments", params=dict(filename=filename, site_id=site_id), content=bytes(content),
                          headers={"Content-Type": content_type}, cast=m.UploadedAttachment, idempotency_key=idempotency_key,
                          replayable=True)

    def url(self, attachment_id: Any, *, expires_in_seconds: Optional[int] = None) -> Any:
        """Returns a ``SignedUrl`` (``url``, ``expires_at``): a URL that downloads the attachment
        without an API key until it expires (default 1 hour, at most 7 days)."""
        body = _body(m.SignedUrlRequest, {} if expires_in_seconds is None else {"expires_in_seconds": expires_in_seconds})
        return self._call("POST", f"/v1/attachments/{_id(attachment_id)}/url", body=body, cast=m.SignedUrl)

    def download_signed(self, url: str) -> Any:
        """Downloads through a signed URL (no API key is sent); returns the bytes."""
        return self._c.fetch_unauthenticated(url)

    def text(self, attachment_id: Any) -> Any:
        """Returns the attachment's extracted text (``AttachmentText``: ``text_status`` is
        ``pending``, ``done``, ``unsupported`` or ``failed``)."""
        return self._call("GET", f"/v1/attachments/{_id(attachment_id)}/text", cast=m.AttachmentText)


class Usage(Resource):
    """``GET /v1/usage``: storage use, limits and retention of the site and each mailbox."""

    def get(self, *, site_id: Optional[str] = None) -> Any:
        """Returns a ``UsageReport``: the site's use, limits and retention, and each mailbox's."""
        return self._call("GET", "/v1/usage", params=dict(site_id=site_id), cast=m.UsageReport)


class Events(Resource):
    """The ordered event log. ``stream`` is defined by each client (sync or async iterator)."""

    def list(self, *, after: Optional[str] = None, limit: Optional[int] = None, site_id: Optional[str] = None) -> Any:
        """Lists events after the cursor ``after``, oldest first; the pages follow each other."""
        return self._c.page("/v1/events", dict(after=after, limit=limit, site_id=site_id), m.Event, cursor_param="after")


class Webhooks(Resource):
    def create(self, *, url: str, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Registers an endpoint; the answer holds its signing ``secret`` (shown once)."""
        return self._call("POST", "/v1/webhooks", body=_body(m.CreateWebhookRequest, dict(url=url, **fields)), cast=m.WebhookResponse,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self) -> Any:
        return self._list("/v1/webhooks", m.WebhookEndpoint)

    def get(self, webhook_id: Any) -> Any:
        return self._call("GET", f"/v1/webhooks/{_id(webhook_id)}", cast=m.WebhookEndpoint)

    def update(self, webhook_id: Any, **fields: Any) -> Any:
        return self._call("PATCH", f"/v1/webhooks/{_id(webhook_id)}", body=_body(m.UpdateWebhookRequest, fields), cast=m.WebhookEndpoint)

    def delete(self, webhook_id: Any) -> Any:
        return self._call("DELETE", f"/v1/webhooks/{_id(webhook_id)}")

    def rotate_secret(self, webhook_id: Any) -> Any:
        return self._call("POST", f"/v1/webhooks/{_id(webhook_id)}/rotate-secret", cast=m.WebhookResponse)

    def deliveries(self, webhook_id: Any, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Any:
        return self._list(f"/v1/webhooks/{_id(webhook_id)}/deliveries", m.WebhookDelivery, dict(limit=limit, cursor=cursor))

    def replay(self, webhook_id: Any, *, after: Optional[str] = None) -> Any:
        return self._call("POST", f"/v1/webhooks/{_id(webhook_id)}/replay", body=_body(m.ReplayRequest, {"after": after} if after else {}),
                          cast=m.ReplayResponse)


class Domains(Resource):
    def create(self, *, name: str, site_id: Optional[str] = None, idempotency_key: Optional[str] = None) -> Any:
        body = _body(m.CreateDomainRequest, {k: v for k, v in dict(name=name, site_id=site_id).items() if v is not None})
        return self._call("POST", "/v1/domains", body=body, cast=m.Domain, idempotency_key=idempotency_key, replayable=True)

    def list(self) -> Any:
        return self._list("/v1/domains", m.Domain)

    def get(self, domain_id: Any) -> Any:
        return self._call("GET", f"/v1/domains/{_id(domain_id)}", cast=m.Domain)

    def dns(self, domain_id: Any) -> Any:
        """Returns the DNS records to publish (MX, SPF, DKIM, DMARC)."""
        return self._call("GET", f"/v1/domains/{_id(domain_id)}/dns", cast=m.DomainDns)

    def delete(self, domain_id: Any) -> Any:
        return self._call("DELETE", f"/v1/domains/{_id(domain_id)}")


class Suppressions(Resource):
    def create(self, *, address: str, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        return self._call("POST", "/v1/suppressions", body=_body(m.CreateSuppressionRequest, dict(address=address, **fields)), cast=m.Suppression,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None, site_id: Optional[str] = None) -> Any:
        return self._list("/v1/suppressions", m.Suppression, dict(limit=limit, cursor=cursor, site_id=site_id))

    def delete(self, address: str, *, site_id: Optional[str] = None) -> Any:
        return self._call("DELETE", f"/v1/suppressions/{_id(address)}", params=dict(site_id=site_id))


class Contacts(Resource):
    def upsert(self, *, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Creates a contact, or updates the one with the same ``email`` or ``external_id``."""
        return self._call("POST", "/v1/contacts", body=_body(m.UpsertContactRequest, fields), cast=m.Contact, idempotency_key=idempotency_key, replayable=True)

    create = upsert

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None, site_id: Optional[str] = None) -> Any:
        return self._list("/v1/contacts", m.Contact, dict(limit=limit, cursor=cursor, site_id=site_id))

    def get(self, contact_id: Any) -> Any:
        return self._call("GET", f"/v1/contacts/{_id(contact_id)}", cast=m.ContactWithHistory)

    def update(self, contact_id: Any, **fields: Any) -> Any:
        return self._call("PATCH", f"/v1/contacts/{_id(contact_id)}", body=_body(m.UpdateContactRequest, fields), cast=m.Contact)

    def delete(self, contact_id: Any) -> Any:
        return self._call("DELETE", f"/v1/contacts/{_id(contact_id)}")

    def consent(self, contact_id: Any, **fields: Any) -> Any:
        """Records consent (or its withdrawal)."""
        return self._call("POST", f"/v1/contacts/{_id(contact_id)}/consent", body=_body(m.ConsentRequest, fields), cast=m.Contact)


class TeamMembers(Resource):
    def create(self, *, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        return self._call("POST", "/v1/team-members", body=_body(m.CreateTeamMemberRequest, fields), cast=m.TeamMember,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self) -> Any:
        return self._list("/v1/team-members", m.TeamMember)

    def get(self, member_id: Any) -> Any:
        return self._call("GET", f"/v1/team-members/{_id(member_id)}", cast=m.TeamMember)

    def update(self, member_id: Any, **fields: Any) -> Any:
        return self._call("PATCH", f"/v1/team-members/{_id(member_id)}", body=_body(m.UpdateTeamMemberRequest, fields), cast=m.TeamMember)

    def delete(self, member_id: Any) -> Any:
        return self._call("DELETE", f"/v1/team-members/{_id(member_id)}")


class Settings(Resource):
    """The site's settings document (channels, ``information_email``, ``tools``)."""

    def get(self, *, site_id: Optional[str] = None) -> Any:
        return self._call("GET", "/v1/settings", params=dict(site_id=site_id), cast=m.SiteSettings)

    def update(self, settings: Union[Mapping[str, Any], Any], *, site_id: Optional[str] = None) -> Any:
        """Replaces the document (unknown keys are refused, naming their path)."""
        body = settings if isinstance(settings, m.SiteSettings) else m.SiteSettings.model_validate(dict(settings))
        return self._call("PUT", "/v1/settings", params=dict(site_id=site_id), body=body, cast=m.SiteSettings)

    put = update
    set = update


class SecureTokens(Resource):
    def create(self, *, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Stores a sealed secret (``token_type``, ``identifier``, ``token_value``); the value is never shown again."""
        return self._call("POST", "/v1/secure-tokens", body=_body(m.CreateSecureTokenRequest, fields), cast=m.SecureToken,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self, *, site_id: Optional[str] = None) -> Any:
        return self._list("/v1/secure-tokens", m.SecureToken, dict(site_id=site_id))

    def delete(self, token_id: Any, *, site_id: Optional[str] = None) -> Any:
        return self._call("DELETE", f"/v1/secure-tokens/{_id(token_id)}", params=dict(site_id=site_id))


class Tools(Resource):
    """The agent email tools: the catalogue and invocation."""

    def list(self, *, site_id: Optional[str] = None) -> Any:
        """Returns the catalogue: each tool with its input JSON Schema (``.data``), plus OpenAI and
        Anthropic function definitions."""
        return self._call("GET", "/v1/tools", params=dict(site_id=site_id), cast=m.ToolCatalog)

    def invoke(self, name: str, input: Optional[Mapping[str, Any]] = None, *, site_id: Optional[str] = None,
               idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Runs a tool (``send_email``, ``send_one_to_one_email``, ``send_information_email`` or a
        tool config's name) and returns its outputs (a ``ToolResult`` model): a run that was skipped or failed
        by policy is an answer (``status``), a refused request raises."""
        payload = {**dict(input or {}), **fields}
        return self._call("POST", f"/v1/tools/{_id(name)}/invoke", params=dict(site_id=site_id), body=payload, cast=m.ToolResult,
                          idempotency_key=idempotency_key, replayable=True)

    def send_email(self, *, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Seed 002's ``POST /v1/send-email``."""
        return self._call("POST", "/v1/send-email", body=_body(m.SendEmailInput, fields), cast=m.SendEmailOutput,
                          idempotency_key=idempotency_key, replayable=True)


class ToolRuns(Resource):
    def list(self, *, tool: Optional[str] = None, contact_id: Optional[str] = None, status: Optional[str] = None,
             since: Optional[str] = None, until: Optional[str] = None, limit: Optional[int] = None,
             cursor: Optional[str] = None, site_id: Optional[str] = None) -> Any:
        params = dict(tool=tool, contact_id=contact_id, status=status, since=since, until=until, limit=limit, cursor=cursor, site_id=site_id)
        return self._list("/v1/tool-runs", m.ToolRun, params)

    def get(self, run_id: Any) -> Any:
        return self._call("GET", f"/v1/tool-runs/{_id(run_id)}", cast=m.ToolRun)


class ToolConfigs(Resource):
    def create(self, *, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        return self._call("POST", "/v1/tool-configs", body=_body(m.CreateToolConfigRequest, fields), cast=m.ToolConfig,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self) -> Any:
        return self._list("/v1/tool-configs", m.ToolConfig)

    def get(self, config_id: Any) -> Any:
        return self._call("GET", f"/v1/tool-configs/{_id(config_id)}", cast=m.ToolConfig)

    def update(self, config_id: Any, **fields: Any) -> Any:
        return self._call("PATCH", f"/v1/tool-configs/{_id(config_id)}", body=_body(m.UpdateToolConfigRequest, fields), cast=m.ToolConfig)

    def delete(self, config_id: Any) -> Any:
        return self._call("DELETE", f"/v1/tool-configs/{_id(config_id)}")


class Sites(Resource):
    """Tenants (admin keys)."""

    def create(self, *, name: str, idempotency_key: Optional[str] = None) -> Any:
        return self._call("POST", "/v1/sites", body=_body(m.CreateSiteRequest, dict(name=name)), cast=m.Site,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self) -> Any:
        return self._list("/v1/sites", m.Site)

    def update(self, site_id: Any, *, limits: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        """Sets the site's ``limits`` (``send_per_minute``, ``send_per_hour``, ``send_per_day``,
        ``storage_bytes``, ``max_messages``; ``None`` = unlimited) and ``retention_days``."""
        body: Dict[str, Any] = dict(fields)
        if limits is not None:
            body["limits"] = dict(limits)
        return self._call("PATCH", f"/v1/sites/{_id(site_id)}", body=_body(m.UpdateSiteRequest, body), cast=m.ControlsView)


class ApiKeys(Resource):
    def create(self, *, name: str, idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Creates a key; the secret is in the answer's ``key`` and nowhere else."""
        return self._call("POST", "/v1/api-keys", body=_body(m.CreateApiKeyRequest, dict(name=name, **fields)), cast=m.CreatedApiKey,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self) -> Any:
        return self._list("/v1/api-keys", m.ApiKey)

    def delete(self, key_id: Any) -> Any:
        return self._call("DELETE", f"/v1/api-keys/{_id(key_id)}")


class Queue(Resource):
    """The outbound delivery queue."""

    def list(self, *, status: Optional[str] = None, limit: Optional[int] = None, site_id: Optional[str] = None) -> Any:
        return self._list("/v1/queue", m.QueueEntry, dict(status=status, limit=limit, site_id=site_id))

    def retry(self, message_id: Any, address: str) -> Any:
        return self._call("POST", f"/v1/messages/{_id(message_id)}/recipients/{_id(address)}/retry", cast=m.Message)

    def cancel(self, message_id: Any, address: str) -> Any:
        return self._call("POST", f"/v1/messages/{_id(message_id)}/recipients/{_id(address)}/cancel", cast=m.Message)


class Lists(Resource):
    """``/v1/lists``: allow and block lists for mail sent (``direction="send"``) and received
    (``"receive"``), for the whole site or one mailbox."""

    def create(self, *, direction: str, kind: str, entry: str, mailbox_id: Any = None, reason: Optional[str] = None,
               site_id: Optional[str] = None, idempotency_key: Optional[str] = None) -> Any:
        """Adds an entry: ``kind`` is ``allow`` or ``block``; ``entry`` an address (``+tag`` and case
        ignored) or a domain. Returns the ``ListEntry``."""
        fields = dict(direction=direction, kind=kind, entry=entry, mailbox_id=getattr(mailbox_id, "id", mailbox_id), reason=reason,
                      site_id=site_id)
        body = _body(m.CreateListEntryRequest, {k: v for k, v in fields.items() if v is not None})
        return self._call("POST", "/v1/lists", body=body, cast=m.ListEntry, idempotency_key=idempotency_key, replayable=True)

    def list(self, *, direction: Optional[str] = None, mailbox_id: Any = None, site_id: Optional[str] = None) -> Any:
        """Lists the entries, oldest first (filters: ``direction``, a mailbox's own entries, an admin key's ``site_id``)."""
        return self._list("/v1/lists", m.ListEntry, dict(direction=direction, mailbox_id=getattr(mailbox_id, "id", mailbox_id), site_id=site_id))

    def delete(self, entry_id: Any) -> Any:
        return self._call("DELETE", f"/v1/lists/{_id(entry_id)}")


class Status(Resource):
    """``GET /v1/status`` (admin keys)."""

    def get(self) -> Any:
        """Returns the server's version, listeners and store, the outbound queue's depth and
        age, and the webhook backlog (a ``StatusResponse``)."""
        return self._call("GET", "/v1/status", cast=m.StatusResponse)


class Drafts(Resource):
    """Drafts and scheduled sends (issue 17): ``/v1/mailboxes/{id}/drafts`` and ``/v1/drafts``."""

    def create(self, mailbox_id: Any, *, to: Union[str, Sequence[str], None] = None, subject: str = "", text: Optional[str] = None,
               html: Optional[str] = None, in_reply_to: Any = None, send_at: Optional[str] = None,
               idempotency_key: Optional[str] = None, **fields: Any) -> Any:
        """Stores a draft (nothing is sent). ``in_reply_to`` (a message or its id) makes a reply
        draft in that thread; ``send_at`` (RFC 3339) is used when it is sent."""
        payload: Dict[str, Any] = {"to": [to] if isinstance(to, str) else list(to or []), "subject": subject, **fields}
        for k, v in dict(text=text, html=html, send_at=send_at, in_reply_to=getattr(in_reply_to, "id", in_reply_to)).items():
            if v is not None:
                payload[k] = str(v) if k == "in_reply_to" else v
        return self._call("POST", f"/v1/mailboxes/{_id(mailbox_id)}/drafts", body=_body(m.SendMessageRequest, payload), cast=m.Draft,
                          idempotency_key=idempotency_key, replayable=True)

    def list(self, mailbox_id: Any, *, status: Optional[str] = None, limit: Optional[int] = None, cursor: Optional[str] = None) -> Any:
        """Lists a mailbox's drafts, newest first (``status``: comma-separated draft statuses)."""
        return self._list(f"/v1/mailboxes/{_id(mailbox_id)}/drafts", m.Draft, dict(status=status, limit=limit, cursor=cursor))

    def get(self, draft_id: Any) -> Any:
        return self._call("GET", f"/v1/drafts/{_id(draft_id)}", cast=m.Draft)

    def update(self, draft_id: Any, **fields: Any) -> Any:
        """Edits an open draft (``to``, ``cc``, ``bcc``, ``subject``, ``text``, ``html``, ``send_at``); the
        earlier content is kept as a revision."""
        return self._call("PATCH", f"/v1/drafts/{_id(draft_id)}", body=_body(m.UpdateDraftRequest, fields), cast=m.Draft)

    def delete(self, draft_id: Any) -> Any:
        """Deletes a draft; a scheduled or held one is cancelled (never sent)."""
        return self._call("DELETE", f"/v1/drafts/{_id(draft_id)}")

    def send(self, draft_id: Any, *, send_at: Optional[str] = None, idempotency_key: Optional[str] = None) -> Any:
        """Sends a draft now, at ``send_at``, or once approved: a ``SendMessageResponse``
        (``status`` ``sent``) or a ``HeldSendResponse`` (``scheduled``, ``pending_approval``)."""
        body = _body(m.SendDraftRequest, {"send_at": send_at} if send_at is not None else {})
        return self._call("POST", f"/v1/drafts/{_id(draft_id)}/send", body=body, cast=_send_answer(), idempotency_key=idempotency_key,
                          replayable=True)

    def cancel_message(self, message_id: Any) -> Any:
        """Cancels a scheduled (or held) message by its id: ``POST /v1/messages/{id}/cancel``."""
        return self._call("POST", f"/v1/messages/{_id(message_id)}/cancel", cast=m.Draft)


class Approvals(Resource):
    """``/v1/approvals``: outbound messages held for a person."""

    def list(self, *, status: Optional[str] = None, limit: Optional[int] = None, site_id: Optional[str] = None) -> Any:
        """Lists approvals, pending first."""
        return self._list("/v1/approvals", m.ApprovalItem, dict(status=status, limit=limit, site_id=site_id))

    def get(self, approval_id: Any) -> Any:
        return self._call("GET", f"/v1/approvals/{_id(approval_id)}", cast=m.ApprovalItem)

    def wait(self, approval_id: Any, *, timeout: int = 30) -> Any:
        """Waits up to ``timeout`` seconds (0-60) for a decision; ``status`` is still ``pending`` on timeout."""
        return self._call("GET", f"/v1/approvals/{_id(approval_id)}/wait", params=dict(timeout=timeout), cast=m.ApprovalItem,
                          timeout=float(timeout) + 30.0)

    def approve(self, approval_id: Any, *, note: Optional[str] = None) -> Any:
        return self._call("POST", f"/v1/approvals/{_id(approval_id)}/approve", body={"note": note} if note else {},
                          cast=m.ApprovalItem)

    def reject(self, approval_id: Any, *, note: Optional[str] = None) -> Any:
        return self._call("POST", f"/v1/approvals/{_id(approval_id)}/reject", body={"note": note} if note else {},
                          cast=m.ApprovalItem)

    def set_site_policy(self, site_id: Any, policy: str) -> Any:
        """Sets a site's ``approval_policy`` (``none``, ``all``, ``first_contact``): ``PATCH /v1/sites/{id}``."""
        return self._call("PATCH", f"/v1/sites/{_id(site_id)}", body=_body(m.UpdateSiteRequest, {"approval_policy": policy}), cast=m.ControlsView)

    def site_policy(self, site_id: Any) -> Any:
        return self._call("GET", f"/v1/sites/{_id(site_id)}/approval-policy", cast=m.ApprovalPolicySetting)

    def mailbox_policy(self, mailbox_id: Any) -> Any:
        """A mailbox's policy (set it with ``mailboxes.update(id, approval_policy=...)``)."""
        return self._call("GET", f"/v1/mailboxes/{_id(mailbox_id)}/approval-policy", cast=m.ApprovalPolicySetting)


#: Every operation of the OpenAPI document and the SDK method that calls it; a test checks
#: that the document has no operation missing here and that every method exists.
OPERATIONS: Dict[str, str] = {
    "mailboxes_create": "mailboxes.create", "mailboxes_list": "mailboxes.list", "mailboxes_get": "mailboxes.get",
    "mailboxes_update": "mailboxes.update", "mailboxes_delete": "mailboxes.delete",
    "messages_send": "messages.send", "messages_list": "messages.list", "messages_get": "messages.get", "messages_raw": "messages.raw",
    "messages_update": "messages.update", "messages_delete": "messages.delete", "messages_reply": "messages.reply",
    "messages_forward": "messages.forward", "messages_wait": "messages.wait",
    "threads_list": "threads.list", "threads_get": "threads.get",
    "attachments_download": "attachments.download", "attachments_upload": "attachments.upload",
    "attachments_url": "attachments.url", "attachments_download_signed": "attachments.download_signed", "usage_get": "usage.get",
    "attachments_text": "attachments.text",
    "events_list": "events.list", "events_stream": "events.stream",
    "webhooks_create": "webhooks.create", "webhooks_list": "webhooks.list", "webhooks_get": "webhooks.get",
    "webhooks_update": "webhooks.update", "webhooks_delete": "webhooks.delete", "webhooks_rotate_secret": "webhooks.rotate_secret",
    "webhooks_deliveries": "webhooks.deliveries", "webhooks_replay": "webhooks.replay",
    "domains_create": "domains.create", "domains_list": "domains.list", "domains_get": "domains.get", "domains_dns": "domains.dns",
    "domains_delete": "domains.delete",
    "suppressions_create": "suppressions.create", "suppressions_list": "suppressions.list", "suppressions_delete": "suppressions.delete",
    "contacts_upsert": "contacts.upsert", "contacts_list": "contacts.list", "contacts_get": "contacts.get",
    "contacts_update": "contacts.update", "contacts_delete": "contacts.delete", "contacts_consent": "contacts.consent",
    "team_members_create": "team_members.create", "team_members_list": "team_members.list", "team_members_get": "team_members.get",
    "team_members_update": "team_members.update", "team_members_delete": "team_members.delete",
    "settings_get": "settings.get", "settings_update": "settings.update",
    "secure_tokens_create": "secure_tokens.create", "secure_tokens_list": "secure_tokens.list", "secure_tokens_delete": "secure_tokens.delete",
    "tools_list": "tools.list", "tools_invoke": "tools.invoke", "tools_send_email": "tools.send_email",
    "tool_runs_list": "tool_runs.list", "tool_runs_get": "tool_runs.get",
    "tool_configs_create": "tool_configs.create", "tool_configs_list": "tool_configs.list", "tool_configs_get": "tool_configs.get",
    "tool_configs_update": "tool_configs.update", "tool_configs_delete": "tool_configs.delete",
    "sites_create": "sites.create", "sites_list": "sites.list", "sites_update": "sites.update",
    "api_keys_create": "api_keys.create", "api_keys_list": "api_keys.list", "api_keys_delete": "api_keys.delete",
    "queue_list": "queue.list", "queue_retry": "queue.retry", "queue_cancel": "queue.cancel",
    "lists_create": "lists.create", "lists_list": "lists.list", "lists_delete": "lists.delete",
    "status_get": "status.get", "messages_find": "messages.find", "messages_import": "messages.import_",
    "health_live": "health", "health_ready": "ready",
    "drafts_create": "drafts.create", "drafts_list": "drafts.list", "drafts_get": "drafts.get", "drafts_update": "drafts.update",
    "drafts_delete": "drafts.delete", "drafts_send": "drafts.send", "drafts_get_in_mailbox": "drafts.get",
    "drafts_update_in_mailbox": "drafts.update", "drafts_delete_in_mailbox": "drafts.delete",
    "messages_cancel": "drafts.cancel_message",
    "approvals_list": "approvals.list", "approvals_get": "approvals.get", "approvals_wait": "approvals.wait",
    "approvals_approve": "approvals.approve", "approvals_reject": "approvals.reject",
    "sites_approval_policy": "approvals.site_policy",
    "mailboxes_approval_policy": "approvals.mailbox_policy",
}
