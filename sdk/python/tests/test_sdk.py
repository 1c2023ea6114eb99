"""The SDK against a real server: resources, pagination, errors, idempotency, retries,
typed models checked against the OpenAPI document, the event stream and its resume."""

from __future__ import annotations

import importlib.util
import inspect
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pydantic
import pytest

import mailroom
from mailroom import Mailroom, models
from mailroom._resources import OPERATIONS

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_flow(client: Mailroom, name: str) -> None:
    alice = client.mailboxes.create(username=f"{name}a", client_id=f"{name}a", display_name="Alice")
    again = client.mailboxes.create(username=f"{name}a", client_id=f"{name}a", display_name="Alice")
    assert again.id == alice.id  # client_id makes creation re-runnable
    bob = client.mailboxes.create(username=f"{name}b")
    cursor = client.events.cursor()
    sent = client.messages.send(alice.id, to=bob.address, subject="Lunch?", text="Are you free at noon?")
    assert isinstance(sent, models.SendMessageResponse) and sent.recipients[0].status == "delivered"
    incoming = client.messages.wait(bob.id, after=cursor, timeout=20)
    assert incoming is not None and incoming.message.subject == "Lunch?"
    assert incoming.message.from_.address == alice.address
    client.messages.reply(incoming.message.id, text="Noon works.")
    reply = client.messages.wait(alice.id, after=incoming.cursor, timeout=20)
    assert reply is not None and reply.message.subject == "Re: Lunch?" and reply.message.thread_id == sent.thread_id
    thread = client.threads.get(sent.thread_id)
    assert [m.subject for m in thread.messages] == ["Lunch?", "Re: Lunch?"]
    assert client.messages.raw(reply.message.id).startswith(b"") and b"Noon works." in client.messages.raw(reply.message.id)
    unread = list(client.messages.list(bob.id, status="unread"))
    assert [m.subject for m in unread] == ["Lunch?"]
    client.messages.update(unread[0].id, read=True, add_labels=["done"])
    assert list(client.messages.list(bob.id, status="unread")) == []
    assert [m.subject for m in client.messages.search(bob.id, "noon", direction="inbound")] == ["Lunch?"]
    fwd = client.messages.forward(reply.message.id, to=bob.address, text="FYI")
    assert fwd.thread_id != sent.thread_id
    assert client.messages.wait(alice.id, after=reply.cursor, timeout=0) is None


def test_pages_iterate_across_cursors(client: Mailroom, name: str) -> None:
    created = [client.mailboxes.create(username=f"{name}{i}").id for i in range(5)]
    page = client.mailboxes.list(limit=2)
    assert len(page.items) == 2 and page.has_next_page()
    seen = [m.id for m in client.mailboxes.list(limit=2)]
    assert set(created) <= set(seen) and len(seen) == len(set(seen))
    pages = list(client.mailboxes.list(limit=2).iter_pages())
    assert len(pages) >= 3
    events = list(client.events.list(limit=3))
    assert len(events) >= 5 and [e.cursor for e in events] == sorted({e.cursor for e in events}, key=lambda c: int(c[1:], 36))  # opaque, rising


def test_errors_carry_status_code_and_message(client: Mailroom, server, name: str) -> None:
    with pytest.raises(mailroom.NotFoundError) as e:
        client.mailboxes.get("00000000-0000-0000-0000-000000000000")
    assert e.value.status == 404 and e.value.code == "not_found"
    client.mailboxes.create(username=name)
    with pytest.raises(mailroom.ConflictError) as c:
        client.mailboxes.create(username=name)
    assert c.value.code == "address_taken"
    with pytest.raises(mailroom.BadRequestError) as b:
        client.settings.update({"channels": {"agent_email": {"status": "active"}}, "tools": {}}, site_id="nope")
    assert b.value.code == "invalid_query"
    with pytest.raises(mailroom.AuthenticationError) as a:
        Mailroom(api_key="mr_wrong", base_url=server.url).mailboxes.list()
    assert a.value.status == 401 and a.value.code == "invalid_api_key"
    with pytest.raises(mailroom.ValidationError) as v:
        client.webhooks.create(url="not a url")
    assert v.value.status == 422
    with pytest.raises(mailroom.APIConnectionError):
        Mailroom(api_key="x", base_url="http://127.0.0.1:9", max_retries=0).mailboxes.list()


def test_settings_are_typed_and_strict(client: Mailroom) -> None:
    doc = {"channels": {"agent_email": {"status": "inactive"}}, "tools": {"duplicate_window_days": 7}}
    saved = client.settings.update(doc)
    assert isinstance(saved, models.SiteSettings) and saved.tools.duplicate_window_days == 7
    assert client.settings.get().channels.agent_email.status == "inactive"
    # The server refuses unknown keys with their path; the raw API shows it.
    r = httpx.put(f"{client.base_url}/v1/settings", headers={"Authorization": f"Bearer {client.api_key}"},
                  json={"channels": {"agent_emial": {"status": "active"}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_field"
    assert "channels.agent_emial" in r.json()["error"]["message"]
    # The SDK's request model refuses it before sending.
    with pytest.raises(Exception):
        client.settings.update({"channels": {"agent_emial": {}}})
    client.settings.update({})


def test_idempotency_key_returns_the_first_answer(client: Mailroom, name: str) -> None:
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    first = client.messages.send(a.id, to=b.address, subject="once", text="x", idempotency_key=f"{name}-k")
    second = client.messages.send(a.id, to=b.address, subject="once", text="x", idempotency_key=f"{name}-k")
    assert first.id == second.id
    assert len([m for m in client.messages.list(b.id) if m.subject == "once"]) == 1


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 then 429 (Retry-After: 0), then 200: the SDK retries idempotent calls."""

    calls: list = []

    def do_GET(self) -> None:  # noqa: N802
        _Flaky.calls.append(self.headers.get("Idempotency-Key"))
        n = len(_Flaky.calls)
        if n == 1:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error":{"code":"unavailable","message":"try later"}}')
        elif n == 2:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error":{"code":"rate_limited","message":"slow down"}}')
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if self.command == "POST":
                self.wfile.write(b'{"id":"s1","name":"x","created_at":"2026-01-01T00:00:00Z"}')
            else:
                self.wfile.write(b'{"status":"ok","checks":{}}')

    do_POST = do_GET

    def log_message(self, *args) -> None:
        pass


def test_retries_with_backoff_and_rate_limit_error() -> None:
    httpd = HTTPServer(("127.0.0.1", 0), _Flaky)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        _Flaky.calls = []
        assert Mailroom(api_key="k", base_url=url).health().status == "ok"
        assert len(_Flaky.calls) == 3
        _Flaky.calls = [None]  # the next call answers 429 first
        with pytest.raises(mailroom.RateLimitError) as e:
            Mailroom(api_key="k", base_url=url, max_retries=0).health()
        assert e.value.retry_after == 0 and e.value.code == "rate_limited"
        # A POST the server does not deduplicate is not retried: the 503 surfaces.
        _Flaky.calls = []
        with pytest.raises(mailroom.InternalServerError):
            Mailroom(api_key="k", base_url=url).webhooks.rotate_secret("w1")
        assert len(_Flaky.calls) == 1
        # A creating call that the server deduplicates carries a key and is retried with it.
        _Flaky.calls = []
        Mailroom(api_key="k", base_url=url).sites.create(name="x")
        assert len(_Flaky.calls) == 3 and _Flaky.calls[0] and len(set(_Flaky.calls)) == 1
    finally:
        httpd.shutdown()


def _operations(doc: dict) -> dict:
    """operationId -> the operation, over the whole document."""
    return {op["operationId"]: op for item in doc["paths"].values() for op in item.values() if isinstance(op, dict) and "operationId" in op}


def test_every_operation_of_the_document_has_an_sdk_method(client: Mailroom) -> None:
    doc = httpx.get(f"{client.base_url}/v1/openapi.json").json()
    ops = _operations(doc)
    missing = sorted(set(ops) - set(OPERATIONS))
    assert not missing, f"the SDK lacks methods for {missing}: add them to mailroom/_resources.py (OPERATIONS)"
    extra = sorted(set(OPERATIONS) - set(ops))
    assert not extra, f"OPERATIONS names operations the document does not have: {extra}"
    # The signed download takes the whole URL the server signed, which carries these.
    carried = {("attachments_download_signed", "site"), ("attachments_download_signed", "expires"),
               ("attachments_download_signed", "signature")}
    lacking = []
    for op_id, target in OPERATIONS.items():
        obj = client
        for part in target.split("."):
            obj = getattr(obj, part)
        assert callable(obj), target
        # Each query parameter is a named argument of the method (not swallowed by **fields),
        # and a documented Idempotency-Key is its `idempotency_key=`.
        named = {n for n, p in inspect.signature(obj).parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        for p in ops[op_id].get("parameters", []):
            if p["in"] == "query":
                wanted = p["name"]
            elif p["in"] == "header" and p["name"].lower() == "idempotency-key":
                wanted = "idempotency_key"
            else:
                continue
            if wanted not in named and (op_id, p["name"]) not in carried:
                lacking.append(f"{op_id} ({target}): {p['in']} parameter `{p['name']}`")
    assert not lacking, "SDK methods lack parameters of the document:\n" + "\n".join(lacking)
    assert len(ops) > 60


def test_the_operation_check_sees_a_missing_query_parameter(client: Mailroom, monkeypatch) -> None:
    # The check above is not vacuous: a method without one of its query parameters fails it.
    from mailroom import _resources

    def get(self, thread_id, *, view=None):  # no max_tokens
        return None

    monkeypatch.setattr(_resources.Threads, "get", get)
    with pytest.raises(AssertionError, match="threads_get .*max_tokens"):
        test_every_operation_of_the_document_has_an_sdk_method(client)


def test_thread_agent_view(client: Mailroom, name: str) -> None:
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    sent = client.messages.send(a.id, to=b.address, subject="Agent view", text="Read me as an agent.")
    full = client.threads.get(sent.thread_id)
    assert isinstance(full, models.ThreadWithMessages) and [m.subject for m in full.messages] == ["Agent view"]
    view = client.threads.get(sent.thread_id, view="agent", max_tokens=500)
    assert isinstance(view, models.AgentThreadView)
    assert "Read me as an agent." in view.model_dump_json()
    with pytest.raises(mailroom.BadRequestError):
        client.threads.get(sent.thread_id, view="agent", max_tokens=10)


def test_creating_calls_replay_with_their_idempotency_key(client: Mailroom, name: str) -> None:
    # Without a key a second webhook would be a second endpoint (and a second tool config a 409).
    hooks = [client.webhooks.create(url=f"http://127.0.0.1:9/{name}", idempotency_key=f"{name}-wh") for _ in range(2)]
    assert hooks[0].id == hooks[1].id and hooks[0].secret == hooks[1].secret
    assert len([h for h in client.webhooks.list() if h.url.endswith(name)]) == 1
    configs = [client.tool_configs.create(name=f"cfg_{name}", tool="send_one_to_one_email", prompt="p", idempotency_key=f"{name}-tc")
               for _ in range(2)]
    assert configs[0].id == configs[1].id
    with pytest.raises(mailroom.ConflictError):
        client.tool_configs.create(name=f"cfg_{name}", tool="send_one_to_one_email", prompt="p")
    keys = [client.api_keys.create(name=name, idempotency_key=f"{name}-key") for _ in range(2)]
    assert keys[0].id == keys[1].id and len([k for k in client.api_keys.list() if k.name == name]) == 1
    with pytest.raises(mailroom.ValidationError) as reused:
        client.api_keys.create(name=f"{name}-other", idempotency_key=f"{name}-key")
    assert reused.value.code == "idempotency_key_reused"


def test_models_match_the_openapi_document(client: Mailroom, tmp_path: Path) -> None:
    doc = httpx.get(f"{client.base_url}/v1/openapi.json").json()
    spec = importlib.util.spec_from_file_location("generate_models", ROOT / "scripts" / "generate_models.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    expected = gen.generate(doc)
    actual = (ROOT / "src" / "mailroom" / "models.py").read_text()
    assert actual == expected, "src/mailroom/models.py differs from the server's OpenAPI document: run scripts/generate_models.py"
    for schema, body in doc["components"]["schemas"].items():
        model = getattr(models, schema)
        if isinstance(model, type) and hasattr(model, "model_fields"):
            aliases = {f.alias or n for n, f in model.model_fields.items()}
            for prop in body.get("properties", {}):
                assert prop in aliases, f"{schema}.{prop} is missing from the SDK"


def test_event_stream_resumes_after_a_disconnect(server, client: Mailroom, name: str) -> None:
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    start = client.events.cursor()
    got: list = []
    done = threading.Event()

    def listen() -> None:
        with Mailroom(api_key=server.api_key, base_url=server.url) as c:
            for ev in c.events.stream(after=start, mailbox_id=b.id, types=["message.received"]):
                got.append(ev.data["subject"])
                if len(got) == 3:
                    done.set()
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    client.messages.send(a.id, to=b.address, subject="one", text="1")
    deadline = time.time() + 20
    while not got and time.time() < deadline:
        time.sleep(0.1)
    assert got == ["one"]
    server.restart()  # the stream breaks; the iterator reconnects with Last-Event-ID
    client.messages.send(a.id, to=b.address, subject="two", text="2")
    client.messages.send(a.id, to=b.address, subject="three", text="3")
    assert done.wait(30), got
    assert got == ["one", "two", "three"]


def test_attachments_download(client: Mailroom, name: str) -> None:
    import base64

    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    payload = b"%PDF-1.4 report"
    client.messages.send(a.id, to=b.address, subject="file", text="see attached",
                         attachments=[{"filename": "r.pdf", "content_type": "application/pdf",
                                       "content_base64": base64.b64encode(payload).decode()}])
    msg = next(iter(client.messages.list(b.id)))
    assert client.attachments.download(msg.attachments[0].id) == payload


def test_other_resources(client: Mailroom, name: str) -> None:
    contact = client.contacts.upsert(email=f"{name}@example.com", name="Ana")
    assert client.contacts.get(contact.id).history == []
    mb = client.mailboxes.create(username=name)
    member = client.team_members.create(name="Ana", mailbox_id=mb.id)
    assert client.team_members.get(member.id).name == "Ana"
    assert any(t.name == "send_email" for t in client.tools.list().data)
    sup = client.suppressions.create(address=f"no-{name}@example.com")
    assert any(s.address == sup.address for s in client.suppressions.list())
    client.suppressions.delete(sup.address)
    key = client.api_keys.create(name=name)
    assert key.key.startswith("mr_")
    client.api_keys.delete(key.id)
    site = client.sites.list().items[0].id
    token = client.secure_tokens.create(site_id=site, token_type="email", identifier=f"{name}@example.com",
                                        token_value={"password": "x", "smtpHost": "smtp.example.com", "smtpPort": 587})
    client.secure_tokens.delete(token.id)
    assert list(client.tool_runs.list(limit=5)) is not None
    assert client.health().status == "ok"


def test_lists_block_and_unblock_a_recipient(client: Mailroom, name: str) -> None:
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    local, domain = b.address.split("@")
    # A mailbox-level entry (a site-wide one would reach the other tests' mailboxes).
    entry = client.lists.create(direction="send", kind="block", entry=f"{local.upper()}+news@{domain}", mailbox_id=a,
                                reason="asked us to stop")
    assert isinstance(entry, models.ListEntry)
    assert (entry.entry, entry.kind, entry.direction, entry.mailbox_id) == (b.address, "block", "send", a.id)
    mine = list(client.lists.list(direction="send", mailbox_id=a.id))
    assert [e.id for e in mine] == [entry.id]
    assert entry.id not in [e.id for e in client.lists.list(direction="receive")]
    with pytest.raises(mailroom.ConflictError) as dup:
        client.lists.create(direction="send", kind="block", entry=b.address, mailbox_id=a.id)
    assert dup.value.code == "list_entry_exists"
    with pytest.raises(mailroom.ValidationError) as refused:
        client.messages.send(a.id, to=b.address, subject="blocked", text="x")
    assert refused.value.code == "recipient_blocked" and b.address in refused.value.message
    with pytest.raises(mailroom.ValidationError):
        client.lists.create(direction="sideways", kind="block", entry=b.address)
    assert client.lists.delete(entry) is None
    assert list(client.lists.list(mailbox_id=a.id)) == []
    with pytest.raises(mailroom.NotFoundError):
        client.lists.delete(entry.id)
    assert client.messages.send(a.id, to=b.address, subject="allowed again", text="x").recipients[0].status == "delivered"


def test_status_is_for_admin_keys(client: Mailroom, server) -> None:
    status = client.status.get()
    assert isinstance(status, models.StatusResponse)
    assert status.version and status.default_domain
    listeners = {listener.name: listener.addr for listener in status.listeners}
    assert listeners["http"] == f"127.0.0.1:{server.http_port}" and listeners["smtp"] == f"127.0.0.1:{server.smtp_port}"
    assert status.store.startswith("sqlite") and status.queue_depth >= 0 and status.webhook_backlog >= 0
    site_key = client.api_keys.create(name="status-probe", scope="site")
    try:
        with pytest.raises(mailroom.PermissionDeniedError) as denied:
            Mailroom(api_key=site_key.key, base_url=server.url).status.get()
        assert denied.value.status == 403
    finally:
        client.api_keys.delete(site_key.id)


def test_import_then_find_by_message_id(client: Mailroom, name: str) -> None:
    box = client.mailboxes.create(username=name)
    first = (f"From: Old Friend <old@example.com>\r\nTo: {box.address}\r\nSubject: From the archive\r\n"
             f"Message-ID: <{name}-1@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello from 2024.\r\n").encode()
    one = client.messages.import_(box.id, first)
    assert isinstance(one, models.ImportedMessage) and one.imported is True
    assert one.message.subject == "From the archive" and one.message.direction == "inbound"
    assert client.messages.raw(one.message.id) == first  # kept byte for byte
    again = client.messages.import_(box, first)
    assert again.imported is False and again.message.id == one.message.id  # re-running is safe
    reply = (f"From: {box.address}\r\nTo: old@example.com\r\nSubject: Re: From the archive\r\n"
             f"Message-ID: <{name}-2@example.com>\r\nIn-Reply-To: <{name}-1@example.com>\r\n\r\nHi!\r\n")
    batch = client.messages.import_(box.id, [first, reply])
    assert isinstance(batch, models.ImportBatchResponse)
    assert [r.imported for r in batch.results] == [False, True]
    assert batch.results[1].message.thread_id == one.message.thread_id
    found = client.messages.find(f"<{name}-2@example.com>")
    assert [m.id for m in found] == [batch.results[1].message.id]
    assert [m.id for m in client.messages.find(f"{name}-1@example.com")] == [one.message.id]
    assert list(client.messages.find(f"nobody-{name}@example.com")) == []
    with pytest.raises(mailroom.ValidationError) as bad:
        client.messages.import_(box.id, b'{"not": "mail"}')
    assert bad.value.code == "invalid_message"
    with pytest.raises(mailroom.BadRequestError) as empty:
        client.messages.find("<>")
    assert empty.value.code == "invalid_query"


def test_a_refused_non_object_invocation_is_a_readable_tool_run(client: Mailroom) -> None:
    # send_email records every invocation, even a body that is not a JSON object; the record's
    # `inputs` stays an object, so listing the runs still validates.
    r = httpx.post(f"{client.base_url}/v1/tools/send_email/invoke", headers={"Authorization": f"Bearer {client.api_key}"}, json=0)
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_REQUEST"
    runs = list(client.tool_runs.list(tool="send_email", status="failure"))  # validates every run's model
    refused = [t for t in runs if t.decision.get("reason") == "the body must be a JSON object"]
    assert refused and all(t.inputs == {} and t.code == "INVALID_REQUEST" for t in refused)


def test_attachments_upload_first_and_signed_urls(client: Mailroom, name: str) -> None:
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    payload = b"col1,col2\n1,2\n"
    upload = client.attachments.upload(payload, filename="data.csv", content_type="text/csv")
    assert isinstance(upload, models.UploadedAttachment)
    assert upload.size == len(payload) and upload.content_type == "text/csv" and upload.filename == "data.csv"
    client.messages.send(a.id, to=b.address, subject="by id", text="see attached",
                         attachments=[{"attachment_id": upload.id}])
    msg = next(iter(client.messages.list(b.id)))
    assert client.attachments.download(msg.attachments[0].id) == payload
    signed = client.attachments.url(upload.id, expires_in_seconds=60)
    assert isinstance(signed, models.SignedUrl)
    assert client.attachments.download_signed(signed.url) == payload
    assert httpx.get(signed.url + "x").status_code == 403
    usage = client.usage.get()
    assert isinstance(usage, models.UsageReport)
    assert any(m.mailbox_id == str(b.id) and m.usage.messages == 1 for m in usage.mailboxes)
    view = client.sites.update(usage.site_id, limits={"send_per_day": 1000})
    assert isinstance(view, models.ControlsView) and view.limits.send_per_day == 1000
    assert client.sites.update(usage.site_id, limits={"send_per_day": None}).limits.send_per_day is None
    with pytest.raises(pydantic.ValidationError):  # the request model refuses it before sending
        client.sites.update(usage.site_id, limits={"send_per_dya": 5})
    # The same upload retried with its key is the first upload, not a second one.
    again = [client.attachments.upload(b"x", filename="k.txt", idempotency_key=f"{name}-up") for _ in range(2)]
    assert again[0].id == again[1].id
    assert client.attachments.upload(b"x", filename="k.txt").id != again[0].id
