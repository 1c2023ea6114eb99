"""The transport shared by the sync and async clients: configuration, headers, retries with
backoff, error mapping and casting answers to models."""

from __future__ import annotations

import os
import random
import time
import uuid
from typing import Any, Dict, Mapping, Optional, Tuple

import httpx
from pydantic import BaseModel, TypeAdapter

from ._errors import APIConnectionError, AuthenticationError, error_from_response, _retry_after
from ._version import __version__

DEFAULT_BASE_URL = "http://127.0.0.1:8025"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_BACKOFF = 8.0


def new_idempotency_key() -> str:
    """Returns a fresh ``Idempotency-Key`` value."""
    return f"mailroom-py-{uuid.uuid4()}"


def clean(params: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Drops ``None`` values and turns booleans and lists into what the server reads."""
    out: Dict[str, Any] = {}
    for k, v in (params or {}).items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            v = ",".join(str(x) for x in v)
        out[k] = v
    return out


def to_json(body: Any) -> Any:
    """Turns models (and dicts or lists holding them) into JSON values."""
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(body, dict):
        return {k: to_json(v) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [to_json(v) for v in body]
    return body


class Request:
    """One API call as the resources describe it."""

    def __init__(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        content: Optional[bytes] = None,
        cast: Any = None,
        idempotency_key: Optional[str] = None,
        replayable: bool = False,
        allow_empty: bool = False,
        timeout: Optional[float] = None,
        headers: Optional[Mapping[str, str]] = None,
    ):
        self.method = method
        self.path = path
        self.params = clean(params)
        self.body = to_json(body)
        self.content = content  # a raw body (sent as is; the caller sets its Content-Type)
        self.cast = cast
        self.allow_empty = allow_empty
        self.timeout = timeout
        self.headers: Dict[str, str] = dict(headers or {})
        if replayable and idempotency_key is None:
            # The server answers a repeated key with the first answer: safe to retry.
            idempotency_key = new_idempotency_key()
        if idempotency_key is not None:
            self.headers["Idempotency-Key"] = idempotency_key
        self.retryable = method in IDEMPOTENT_METHODS or (replayable and idempotency_key is not None)


class BaseClient:
    """What both clients share."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Optional[Mapping[str, str]] = None,
    ):
        api_key = api_key if api_key is not None else os.environ.get("MAILROOM_API_KEY")
        if not api_key:
            raise AuthenticationError(
                401, "missing_api_key", "pass api_key= or set MAILROOM_API_KEY (the first admin key is in <data-dir>/admin-api-key)"
            )
        self.api_key = api_key
        self.base_url = (base_url or os.environ.get("MAILROOM_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"mailroom-python/{__version__}",
            "Accept": "application/json",
            **dict(default_headers or {}),
        }

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def _backoff(self, attempt: int, response: Optional[httpx.Response]) -> float:
        if response is not None:
            after = _retry_after(response.headers)
            if after is not None:
                return min(after, 60.0)
        return min(MAX_BACKOFF, 0.5 * (2**attempt)) * (0.75 + random.random() / 2)

    def _should_retry(self, req: Request, attempt: int, response: Optional[httpx.Response]) -> bool:
        if not req.retryable or attempt >= self.max_retries:
            return False
        return response is None or response.status_code in RETRY_STATUSES

    def _build(self, req: Request) -> Tuple[str, Dict[str, Any]]:
        kwargs: Dict[str, Any] = {"params": req.params or None, "headers": {**self._headers, **req.headers}}
        if req.content is not None:
            kwargs["content"] = req.content
        elif req.body is not None:
            kwargs["json"] = req.body
        if req.timeout is not None:
            kwargs["timeout"] = req.timeout
        return self._url(req.path), kwargs

    def _finish(self, req: Request, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        if req.cast is bytes:
            return response.content
        data = response.json()
        if req.cast is None:
            return data
        return TypeAdapter(req.cast).validate_python(data)


def connection_error(exc: Exception, url: str) -> APIConnectionError:
    return APIConnectionError(f"could not reach Mailroom at {url}: {exc}")


def sleep(seconds: float) -> None:
    time.sleep(seconds)
