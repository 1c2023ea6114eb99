"""``Mailroom`` (sync) and ``AsyncMailroom`` (async): the same resources over httpx."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import httpx

from . import _resources as r
from . import models as m
from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, BaseClient, Request, clean, connection_error, sleep
from ._errors import APIConnectionError, error_from_response
from ._pagination import AsyncPage, AsyncPager, SyncPage
from ._sse import SseDecoder

__all__ = ["Mailroom", "AsyncMailroom"]

#: Longest pause between two reconnections of an event stream.
MAX_STREAM_BACKOFF = 10.0


def _page_request(path: str, params: Dict[str, Any], cursor: Optional[str], cursor_param: str) -> Request:
    q = dict(params)
    if cursor is not None:
        q[cursor_param] = cursor
    return Request("GET", path, params=q)


def _to_page_parts(data: Any, item: Any) -> "tuple[List[Any], Optional[str]]":
    from pydantic import TypeAdapter

    items = TypeAdapter(List[item]).validate_python(data.get("items", []))  # type: ignore[valid-type]
    return items, data.get("next_cursor")


def _stream_params(after: Optional[str], mailbox_id: Any, types: Union[None, str, Sequence[str]], site_id: Optional[str]) -> Dict[str, Any]:
    return clean(dict(after=after, mailbox_id=getattr(mailbox_id, "id", mailbox_id), types=types, site_id=site_id))


class _Resources:
    def _mount(self) -> None:
        self.mailboxes = r.Mailboxes(self)  # type: ignore[arg-type]
        self.messages = r.Messages(self)  # type: ignore[arg-type]
        self.threads = r.Threads(self)  # type: ignore[arg-type]
        self.attachments = r.Attachments(self)  # type: ignore[arg-type]
        self.webhooks = r.Webhooks(self)  # type: ignore[arg-type]
        self.domains = r.Domains(self)  # type: ignore[arg-type]
        self.suppressions = r.Suppressions(self)  # type: ignore[arg-type]
        self.contacts = r.Contacts(self)  # type: ignore[arg-type]
        self.team_members = r.TeamMembers(self)  # type: ignore[arg-type]
        self.settings = r.Settings(self)  # type: ignore[arg-type]
        self.secure_tokens = r.SecureTokens(self)  # type: ignore[arg-type]
        self.tools = r.Tools(self)  # type: ignore[arg-type]
        self.tool_runs = r.ToolRuns(self)  # type: ignore[arg-type]
        self.tool_configs = r.ToolConfigs(self)  # type: ignore[arg-type]
        self.sites = r.Sites(self)  # type: ignore[arg-type]
        self.api_keys = r.ApiKeys(self)  # type: ignore[arg-type]
        self.queue = r.Queue(self)  # type: ignore[arg-type]
        self.lists = r.Lists(self)  # type: ignore[arg-type]
        self.status = r.Status(self)  # type: ignore[arg-type]
        self.drafts = r.Drafts(self)  # type: ignore[arg-type]
        self.approvals = r.Approvals(self)  # type: ignore[arg-type]
        self.usage = r.Usage(self)  # type: ignore[arg-type]


class Events(r.Events):
    """Events of the sync client: ``list``, ``cursor`` and the ``stream`` iterator."""

    _c: "Mailroom"

    def cursor(self) -> str:
        """Returns the cursor of the end of the event log ("now"): pass it as ``after`` to
        ``messages.wait`` or ``events.stream`` to miss nothing that happens from here on."""
        headers = {**self._c._headers, "Accept": "text/event-stream"}
        with self._c._http.stream("GET", self._c._url("/v1/events/stream"), headers=headers,
                                  timeout=httpx.Timeout(self._c.timeout)) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise error_from_response(resp)
            decoder = SseDecoder()
            for line in resp.iter_lines():
                for ev in decoder.feed(line):
                    if ev.id:
                        return ev.id
        raise APIConnectionError("the event stream ended before giving its position")

    def stream(self, *, after: Optional[str] = None, mailbox_id: Any = None, types: Union[None, str, Sequence[str]] = None,
               site_id: Optional[str] = None, reconnect: bool = True) -> Iterator[m.Event]:
        """Yields events as they happen (Server-Sent Events). Without ``after`` it starts at the
        end of the log. When the connection drops (or the server restarts) it reconnects and
        resumes after the last cursor it saw, so no event is lost or repeated."""
        cursor = after
        failures = 0
        while True:
            headers = {**self._c._headers, "Accept": "text/event-stream"}
            if cursor:
                headers["Last-Event-ID"] = cursor
            try:
                with self._c._http.stream("GET", self._c._url("/v1/events/stream"), params=_stream_params(cursor, mailbox_id, types, site_id),
                                          headers=headers, timeout=httpx.Timeout(self._c.timeout, read=None)) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        raise error_from_response(resp)
                    failures = 0
                    decoder = SseDecoder()
                    for line in resp.iter_lines():
                        for ev in decoder.feed(line):
                            if ev.id:
                                cursor = ev.id
                            if ev.data:
                                yield m.Event.model_validate_json(ev.data)
            except httpx.TransportError:
                if not reconnect:
                    raise
                failures += 1
            if not reconnect:
                return
            sleep(min(MAX_STREAM_BACKOFF, 0.25 * (2 ** min(failures, 6))))


class AsyncEvents(r.Events):
    """Events of the async client: ``list``, ``cursor`` and the ``stream`` async iterator."""

    _c: "AsyncMailroom"

    async def cursor(self) -> str:
        """The async form of ``Mailroom.events.cursor``."""
        headers = {**self._c._headers, "Accept": "text/event-stream"}
        async with self._c._http.stream("GET", self._c._url("/v1/events/stream"), headers=headers,
                                        timeout=httpx.Timeout(self._c.timeout)) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                raise error_from_response(resp)
            decoder = SseDecoder()
            async for line in resp.aiter_lines():
                for ev in decoder.feed(line):
                    if ev.id:
                        return ev.id
        raise APIConnectionError("the event stream ended before giving its position")

    async def stream(self, *, after: Optional[str] = None, mailbox_id: Any = None, types: Union[None, str, Sequence[str]] = None,
                     site_id: Optional[str] = None, reconnect: bool = True) -> AsyncIterator[m.Event]:
        """The async form of ``Mailroom.events.stream``: ``async for event in client.events.stream()``."""
        cursor = after
        failures = 0
        while True:
            headers = {**self._c._headers, "Accept": "text/event-stream"}
            if cursor:
                headers["Last-Event-ID"] = cursor
            try:
                async with self._c._http.stream("GET", self._c._url("/v1/events/stream"), params=_stream_params(cursor, mailbox_id, types, site_id),
                                                headers=headers, timeout=httpx.Timeout(self._c.timeout, read=None)) as resp:
                    if resp.status_code >= 400:
                        await resp.aread()
                        raise error_from_response(resp)
                    failures = 0
                    decoder = SseDecoder()
                    async for line in resp.aiter_lines():
                        for ev in decoder.feed(line):
                            if ev.id:
                                cursor = ev.id
                            if ev.data:
                                yield m.Event.model_validate_json(ev.data)
            except httpx.TransportError:
                if not reconnect:
                    raise
                failures += 1
            if not reconnect:
                return
            await asyncio.sleep(min(MAX_STREAM_BACKOFF, 0.25 * (2 ** min(failures, 6))))


class Mailroom(BaseClient, _Resources):
    """The synchronous client.

    ``Mailroom(api_key=None, base_url=None, timeout=30.0)`` reads ``MAILROOM_API_KEY`` and
    ``MAILROOM_URL`` when they are not given. Use it as a context manager, or call ``close()``.
    """

    def __init__(self, api_key: Optional[str] = None, base_url: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES, default_headers: Optional[Mapping[str, str]] = None,
                 http_client: Optional[httpx.Client] = None):
        super().__init__(api_key, base_url, timeout, max_retries, default_headers)
        self._http = http_client or httpx.Client(timeout=timeout)
        self._mount()
        self.events = Events(self)  # type: ignore[arg-type]

    def call(self, req: Request) -> Any:
        url, kwargs = self._build(req)
        attempt = 0
        while True:
            response: Optional[httpx.Response] = None
            try:
                response = self._http.request(req.method, url, **kwargs)
            except httpx.TransportError as exc:
                if not self._should_retry(req, attempt, None):
                    raise connection_error(exc, url) from exc
            if response is not None and not self._should_retry(req, attempt, response):
                return self._finish(req, response)
            sleep(self._backoff(attempt, response))
            attempt += 1

    def fetch_unauthenticated(self, url: str) -> bytes:
        """GETs ``url`` without the API key (signed download URLs); raises the API's errors."""
        response = self._http.get(url)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response.content

    def page(self, path: str, params: Dict[str, Any], item: Any, cursor_param: str = "cursor") -> SyncPage[Any]:
        def fetch(cursor: Optional[str]) -> SyncPage[Any]:
            data = self.call(_page_request(path, params, cursor, cursor_param))
            items, nxt = _to_page_parts(data, item)
            return SyncPage(items, nxt, fetch)

        return fetch(params.get(cursor_param))

    def health(self) -> m.HealthStatus:
        """``GET /healthz``."""
        return self.call(Request("GET", "/healthz", cast=m.HealthStatus))

    def ready(self) -> m.HealthStatus:
        """``GET /readyz`` (raises ``InternalServerError`` with status 503 when not ready)."""
        return self.call(Request("GET", "/readyz", cast=m.HealthStatus))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Mailroom":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncMailroom(BaseClient, _Resources):
    """The asynchronous client: the same surface as ``Mailroom``, every call awaitable;
    listings are awaitable (first page) and ``async for``-iterable (every item)."""

    def __init__(self, api_key: Optional[str] = None, base_url: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES, default_headers: Optional[Mapping[str, str]] = None,
                 http_client: Optional[httpx.AsyncClient] = None):
        super().__init__(api_key, base_url, timeout, max_retries, default_headers)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._mount()
        self.events = AsyncEvents(self)  # type: ignore[arg-type]

    async def call(self, req: Request) -> Any:
        url, kwargs = self._build(req)
        attempt = 0
        while True:
            response: Optional[httpx.Response] = None
            try:
                response = await self._http.request(req.method, url, **kwargs)
            except httpx.TransportError as exc:
                if not self._should_retry(req, attempt, None):
                    raise connection_error(exc, url) from exc
            if response is not None and not self._should_retry(req, attempt, response):
                return self._finish(req, response)
            await asyncio.sleep(self._backoff(attempt, response))
            attempt += 1

    async def fetch_unauthenticated(self, url: str) -> bytes:
        """GETs ``url`` without the API key (signed download URLs); raises the API's errors."""
        response = await self._http.get(url)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response.content

    def page(self, path: str, params: Dict[str, Any], item: Any, cursor_param: str = "cursor") -> AsyncPager[Any]:
        async def fetch(cursor: Optional[str]) -> AsyncPage[Any]:
            data = await self.call(_page_request(path, params, cursor, cursor_param))
            items, nxt = _to_page_parts(data, item)
            return AsyncPage(items, nxt, fetch)

        return AsyncPager(lambda: fetch(params.get(cursor_param)))

    async def health(self) -> m.HealthStatus:
        return await self.call(Request("GET", "/healthz", cast=m.HealthStatus))

    async def ready(self) -> m.HealthStatus:
        return await self.call(Request("GET", "/readyz", cast=m.HealthStatus))

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncMailroom":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
