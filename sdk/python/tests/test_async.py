"""The async client against a real server: the same surface, awaitable."""

from __future__ import annotations

import asyncio

import pytest

import mailroom
from mailroom import AsyncMailroom, models

pytestmark = pytest.mark.asyncio


async def test_async_quickstart_and_pages(aclient: AsyncMailroom, name: str) -> None:
    alice = await aclient.mailboxes.create(username=f"{name}a", client_id=f"{name}a")
    bob = await aclient.mailboxes.create(username=f"{name}b")
    assert isinstance(alice, models.Mailbox)
    cursor = await aclient.events.cursor()
    sent = await aclient.messages.send(alice.id, to=[bob.address], subject="Async hello", text="Hi")
    incoming = await aclient.messages.wait(bob.id, after=cursor, timeout=20)
    assert incoming.message.subject == "Async hello"
    await aclient.messages.reply(incoming.message.id, text="Hello back")
    reply = await aclient.messages.wait(alice.id, after=incoming.cursor, timeout=20)
    assert reply.message.thread_id == sent.thread_id
    page = await aclient.messages.list(bob.id)
    assert [m.subject for m in page.items][-1] == "Async hello"
    for i in range(3):
        await aclient.mailboxes.create(username=f"{name}{i}")
    first = await aclient.mailboxes.list(limit=2)
    assert len(first.items) == 2 and first.has_next_page()
    ids = [m.id async for m in aclient.mailboxes.list(limit=2)]
    assert alice.id in ids and len(ids) == len(set(ids)) >= 5
    thread = await aclient.threads.get(sent.thread_id)
    assert len(thread.messages) == 2


async def test_async_errors(aclient: AsyncMailroom, name: str) -> None:
    with pytest.raises(mailroom.NotFoundError):
        await aclient.messages.get("00000000-0000-0000-0000-000000000000")
    await aclient.mailboxes.create(username=name)
    with pytest.raises(mailroom.ConflictError) as e:
        await aclient.mailboxes.create(username=name)
    assert e.value.code == "address_taken" and e.value.status == 409


async def test_async_event_stream(aclient: AsyncMailroom, name: str) -> None:
    a = await aclient.mailboxes.create(username=f"{name}a")
    b = await aclient.mailboxes.create(username=f"{name}b")
    start = await aclient.events.cursor()

    async def first_two() -> list:
        out = []
        async for ev in aclient.events.stream(after=start, mailbox_id=b.id, types="message.received"):
            out.append(ev.data["subject"])
            if len(out) == 2:
                return out
        return out

    task = asyncio.create_task(first_two())
    await aclient.messages.send(a.id, to=b.address, subject="s1", text="1")
    await aclient.messages.send(a.id, to=b.address, subject="s2", text="2")
    assert await asyncio.wait_for(task, 20) == ["s1", "s2"]


async def test_async_lists_status_import_and_find(aclient: AsyncMailroom, name: str) -> None:
    box = await aclient.mailboxes.create(username=name)
    entry = await aclient.lists.create(direction="receive", kind="block", entry="spam.example", mailbox_id=box.id)
    assert isinstance(entry, models.ListEntry) and entry.entry == "spam.example"
    page = await aclient.lists.list(mailbox_id=box.id)
    assert [e.id for e in page.items] == [entry.id]
    await aclient.lists.delete(entry.id)
    assert [e async for e in aclient.lists.list(mailbox_id=box.id)] == []
    status = await aclient.status.get()
    assert isinstance(status, models.StatusResponse) and {"http", "smtp"} <= {listener.name for listener in status.listeners}
    raw = f"From: a@example.com\r\nTo: {box.address}\r\nSubject: async import\r\nMessage-ID: <{name}@example.com>\r\n\r\nbody\r\n"
    imported = await aclient.messages.import_(box.id, raw)
    assert imported.imported and imported.message.subject == "async import"
    found = await aclient.messages.find(f"<{name}@example.com>")
    assert [m.id for m in found.items] == [imported.message.id]


async def test_async_event_stream_resumes_after_a_disconnect(server, aclient: AsyncMailroom, name: str) -> None:
    a = await aclient.mailboxes.create(username=f"{name}a")
    b = await aclient.mailboxes.create(username=f"{name}b")
    start = await aclient.events.cursor()
    got: list = []

    async def listen() -> None:
        async with AsyncMailroom(api_key=server.api_key, base_url=server.url) as c:
            async for ev in c.events.stream(after=start, mailbox_id=b.id, types=["message.received"]):
                got.append(ev.data["subject"])
                if len(got) == 3:
                    return

    task = asyncio.create_task(listen())
    await aclient.messages.send(a.id, to=b.address, subject="one", text="1")
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.1)
    assert got == ["one"]
    await asyncio.to_thread(server.restart)  # the stream breaks; the iterator reconnects with Last-Event-ID
    await aclient.messages.send(a.id, to=b.address, subject="two", text="2")
    await aclient.messages.send(a.id, to=b.address, subject="three", text="3")
    await asyncio.wait_for(task, 30)
    assert got == ["one", "two", "three"]
