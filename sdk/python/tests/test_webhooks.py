"""``mailroom.webhooks.verify`` against real deliveries from the server to a local HTTP
receiver, including a secret rotation, a tampered body and a stale timestamp."""

from __future__ import annotations

import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, Tuple

import pytest

import mailroom
from mailroom import Mailroom
from mailroom.webhooks import WebhookVerificationError, verify


class Receiver:
    def __init__(self) -> None:
        self.deliveries: "queue.Queue[Tuple[bytes, Dict[str, str]]]" = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.deliveries.put((body, dict(self.headers.items())))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def next(self) -> Tuple[bytes, Dict[str, str]]:
        return self.deliveries.get(timeout=20)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.httpd.shutdown()


def test_real_deliveries_verify(client: Mailroom, receiver: Receiver, name: str) -> None:
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    hook = client.webhooks.create(url=receiver.url, event_types=["message.received"], mailbox_id=b.id)
    secret = hook.secret
    assert secret.startswith("whsec_")
    client.messages.send(a.id, to=b.address, subject="hooked", text="hello")
    body, headers = receiver.next()
    event = verify(body, headers, secret)
    assert event["type"] == "message.received" and event["data"]["subject"] == "hooked"
    assert event["data"]["thread_id"] and event["data"]["from"]["address"] == a.address

    with pytest.raises(WebhookVerificationError):
        verify(body.replace(b"hooked", b"hacked"), headers, secret)
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, "whsec_" + "QUJD" * 8)
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, secret, now=int(headers["webhook-timestamp"]) + 3600)
    with pytest.raises(WebhookVerificationError):
        verify(body, {k: v for k, v in headers.items() if k.lower() != "webhook-signature"}, secret)

    # During a rotation the server signs with both secrets: each verifies.
    rotated = client.webhooks.rotate_secret(hook.id)
    client.messages.send(a.id, to=b.address, subject="rotated", text="hello again")
    body, headers = receiver.next()
    assert verify(body, headers, rotated.secret)["data"]["subject"] == "rotated"
    assert verify(body, headers, secret)["data"]["subject"] == "rotated"
    deliveries = list(client.webhooks.deliveries(hook.id))
    assert len(deliveries) == 2
    client.webhooks.delete(hook.id)


def test_the_readme_flask_handler_shape(client: Mailroom, receiver: Receiver, name: str) -> None:
    """The README's handler: verify, read thread_id / from / text, answer fast."""
    a = client.mailboxes.create(username=f"{name}a")
    b = client.mailboxes.create(username=f"{name}b")
    secret = client.webhooks.create(url=receiver.url, event_types=["message.received"], mailbox_id=b.id).secret
    client.messages.send(a.id, to=b.address, subject="job", text="please handle")
    raw_body, headers = receiver.next()
    try:
        event = mailroom.webhooks.verify(raw_body, headers, secret)
    except mailroom.WebhookVerificationError:
        pytest.fail("a real delivery did not verify")
    msg = event["data"]
    assert (msg["thread_id"], msg["from"]["address"], msg["text"].strip()) == (msg["thread_id"], a.address, "please handle")
