"""Exceptions raised by the SDK: one per HTTP status family, each carrying the status, the
server's machine-readable ``code`` and its message."""

from __future__ import annotations

from typing import Any, Dict, Optional

import httpx

__all__ = [
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
]


class MailroomError(Exception):
    """Base class of every error the SDK raises."""


class APIConnectionError(MailroomError):
    """The server could not be reached (or the connection broke) after every retry."""


class APIError(MailroomError):
    """The server answered with an error status.

    ``status`` is the HTTP status, ``code`` the error code of ``{"error": {"code", "message"}}``
    (for example ``not_found`` or ``address_taken``), ``message`` the server's sentence and
    ``body`` the decoded answer.
    """

    def __init__(self, status: int, code: str, message: str, body: Any = None, headers: Optional[httpx.Headers] = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.status_code = status
        self.code = code
        self.message = message
        self.body = body
        self.headers = headers if headers is not None else httpx.Headers()


class BadRequestError(APIError):
    """400: the request could not be read (``malformed_json``, ``unknown_field``, ``invalid_query``…)."""


class AuthenticationError(APIError):
    """401: no API key, or an unknown or deleted one."""


class PermissionDeniedError(APIError):
    """403: the key may not do this (an admin key is needed)."""


class NotFoundError(APIError):
    """404: no such object (or one of another site)."""


class ConflictError(APIError):
    """409: the request conflicts with existing data (``address_taken``…)."""


class PayloadTooLargeError(APIError):
    """413: the body is larger than the server accepts."""


class UnsupportedMediaTypeError(APIError):
    """415: the body is not JSON."""


class ValidationError(APIError):
    """422: a value is refused (``invalid_request``, ``invalid_address``…)."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` is the server's ``Retry-After`` in seconds."""

    @property
    def retry_after(self) -> Optional[float]:
        return _retry_after(self.headers)


class InternalServerError(APIError):
    """5xx: the server failed."""


_BY_STATUS: Dict[int, type] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationError,
    429: RateLimitError,
}


def _retry_after(headers: httpx.Headers) -> Optional[float]:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime
        import datetime as _dt

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())


def error_from_response(response: httpx.Response) -> APIError:
    """Builds the exception for an error answer."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    code, message = "http_error", response.reason_phrase or "error"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", code))
        message = str(body["error"].get("message", message))
    elif isinstance(body, str) and body:
        message = body
    status = response.status_code
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIError)
    return cls(status, code, message, body, response.headers)
