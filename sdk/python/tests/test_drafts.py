"""Drafts, scheduled sends and approvals through the SDK (issue 17), against a real server."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from mailroom import Mailroom, models


def test_drafts_schedule_and_approvals(client: Mailroom, name: str) -> None:
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")

    draft = client.drafts.create(a.id, to=b.address, subject="Draft", text="not yet")
    assert isinstance(draft, models.Draft)
    assert draft.status == "draft"
    assert client.messages.list(b.id).items == []
    edited = client.drafts.update(draft.id, text="now")
    with pytest.raises(pydantic.ValidationError):  # the request model refuses it before sending
        client.drafts.update(draft.id, txet="typo")
    assert edited.revision == 2
    listed = client.drafts.list(a.id)
    assert [d.id for d in listed.items] == [draft.id]
    sent = client.drafts.send(draft.id)
    assert isinstance(sent, models.SendMessageResponse) and sent.status == "sent"
    assert len(client.messages.list(b.id).items) == 1

    # Scheduled a minute out, then cancelled by its message id.
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)).isoformat()
    held = client.drafts.send(client.drafts.create(a.id, to=b.address, subject="Later", text="x").id, send_at=later)
    assert isinstance(held, models.HeldSendResponse) and held.status == "scheduled"
    cancelled = client.drafts.cancel_message(held.id)
    assert cancelled.status == "cancelled"

    # A mailbox that needs approval: held, then approved after a wait that times out.
    # (Through the resource's call: the generated UpdateMailboxRequest may predate `approval_policy`.)
    client.drafts._call("PATCH", f"/v1/mailboxes/{a.id}", body={"approval_policy": "all"})
    assert client.approvals.mailbox_policy(a.id).approval_policy == "all"
    pending = client.drafts.send(client.drafts.create(a.id, to=b.address, subject="Careful", text="y").id)
    assert pending.status == "pending_approval"
    approval = pending.approval_id
    waited = client.approvals.wait(approval, timeout=0)
    assert waited.status == "pending"
    assert any(i.id == approval for i in client.approvals.list(status="pending").items)
    decided = client.approvals.approve(approval, note="ok")
    assert decided.status == "approved"
    rejected = client.drafts.send(client.drafts.create(a.id, to=b.address, subject="No", text="z").id)
    assert client.approvals.reject(rejected.approval_id, note="no").status == "rejected"
