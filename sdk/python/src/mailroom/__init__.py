"""Python SDK for Mailroom, the email server for AI agents.

    from mailroom import Mailroom

    client = Mailroom()  # MAILROOM_API_KEY and MAILROOM_URL from the environment
    inbox = client.mailboxes.create(username="agent", client_id="agent")
    client.messages.send(inbox.id, to="someone@example.com", subject="Hi", text="Hello")
"""

from . import models, webhooks
from ._client import AsyncMailroom, Mailroom
from ._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MailroomError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from ._pagination import AsyncPage, AsyncPager, SyncPage
from ._version import __version__
from .webhooks import WebhookVerificationError

__all__ = [
    "Mailroom",
    "AsyncMailroom",
    "models",
    "webhooks",
    "SyncPage",
    "AsyncPage",
    "AsyncPager",
    "MailroomError",
    "APIConnectionError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "RateLimitError",
    "InternalServerError",
    "WebhookVerificationError",
    "__version__",
]
