"""Verifies webhook deliveries (Standard Webhooks): ``verify(payload, headers, secret)``
checks the ``webhook-signature`` HMAC over ``{webhook-id}.{webhook-timestamp}.{body}`` and the
timestamp's freshness, and returns the decoded event.

    event = mailroom.webhooks.verify(request.get_data(), request.headers, secret)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional, Union

from ._errors import MailroomError

__all__ = ["verify", "sign", "WebhookVerificationError", "DEFAULT_TOLERANCE"]

#: How far (seconds) a delivery's timestamp may be from now: replays older than this fail.
DEFAULT_TOLERANCE = 5 * 60


class WebhookVerificationError(MailroomError):
    """The delivery is not signed by this secret, is too old, or lacks a header."""


def _key(secret: Union[str, bytes]) -> bytes:
    if isinstance(secret, bytes):
        return secret
    raw = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (ValueError, TypeError) as exc:
        raise WebhookVerificationError("the secret is not `whsec_` followed by base64") from exc


def _header(headers: Any, name: str) -> Optional[str]:
    getter = getattr(headers, "get", None)
    if getter is not None:
        for candidate in (name, name.title(), name.upper()):
            value = getter(candidate)
            if value is not None:
                return str(value)
    if isinstance(headers, Mapping):
        for k, v in headers.items():
            if str(k).lower() == name:
                return str(v)
    return None


def sign(payload: Union[bytes, str], secret: Union[str, bytes], msg_id: str, timestamp: int) -> str:
    """Returns the ``webhook-signature`` value (``v1,<base64>``) for a payload."""
    body = payload.encode() if isinstance(payload, str) else payload
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(payload: Union[bytes, str], headers: Any, secret: Union[str, bytes], *, tolerance: int = DEFAULT_TOLERANCE,
           now: Optional[float] = None) -> Any:
    """Checks a delivery and returns its decoded JSON body.

    ``payload`` must be the raw body bytes exactly as received; ``headers`` any mapping (Flask's
    ``request.headers``, a dict…); ``secret`` the endpoint's ``whsec_…`` secret. Raises
    ``WebhookVerificationError`` when a header is missing, the timestamp is more than
    ``tolerance`` seconds away, or no signature matches (during a secret rotation the server
    signs with both secrets: either verifies).
    """
    msg_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a number") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError(f"the delivery's timestamp is more than {tolerance} seconds away (replayed or clock skew)")
    expected = sign(payload, secret, msg_id, ts).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            body = payload.decode() if isinstance(payload, bytes) else payload
            return json.loads(body)
    raise WebhookVerificationError("no signature matches this secret")
