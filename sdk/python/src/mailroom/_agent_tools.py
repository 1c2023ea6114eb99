"""Framework-neutral definitions of the agent tools, wrapped by ``mailroom.langchain`` and
``mailroom.crewai``: the tools of ``GET /v1/tools`` (the three agent email tools and each
tool config, with the server's JSON Schemas) plus the mailbox tools (list threads, get thread,
get message, send, reply, wait for a reply, search)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from pydantic import BaseModel, ConfigDict, Field, create_model

from ._client import Mailroom
from ._errors import APIError

#: Longest text body a tool hands to the model (the rest is cut, and said so).
MAX_BODY_CHARS = 4000


@dataclass
class AgentTool:
    """One tool: its name, description, argument model and the function that runs it (returns
    the text the model reads; raises ``APIError`` on a refused call)."""

    name: str
    description: str
    args_schema: Type[BaseModel]
    func: Callable[..., str]


_JSON_TYPES: Dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "object": Dict[str, Any]}


def _json_type(schema: Dict[str, Any]) -> Any:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "array":
        return List[_json_type(schema.get("items", {}))]  # type: ignore[misc]
    if t is None and ("anyOf" in schema or "oneOf" in schema):
        return Any
    return _JSON_TYPES.get(t or "", Any)


def model_from_json_schema(name: str, schema: Dict[str, Any]) -> Type[BaseModel]:
    """Builds a pydantic model for a tool's input JSON Schema (top-level properties; nested
    objects stay dicts, which the server validates)."""
    required = set(schema.get("required", []))
    fields: Dict[str, Tuple[Any, Any]] = {}
    for prop, ps in schema.get("properties", {}).items():
        t = _json_type(ps)
        desc = ps.get("description")
        if prop in required:
            fields[prop] = (t, Field(..., description=desc))
        else:
            fields[prop] = (Optional[t], Field(None, description=desc))
    model_name = "".join(p.capitalize() for p in name.replace("-", "_").split("_")) + "Input"
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


def _dump(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    return json.dumps(value, default=str, ensure_ascii=False)


def _message_view(msg: Any) -> Dict[str, Any]:
    d = msg.model_dump(mode="json", exclude_none=True) if isinstance(msg, BaseModel) else dict(msg)
    text = d.get("text") or ""
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + f"\n[... {len(text) - MAX_BODY_CHARS} more characters]"
    keep = ["id", "thread_id", "direction", "from", "to", "cc", "subject", "created_at", "read", "labels", "message_id"]
    out = {k: d[k] for k in keep if k in d}
    out["text"] = text
    if d.get("attachments"):
        out["attachments"] = [{k: a.get(k) for k in ("id", "filename", "content_type", "size")} for a in d["attachments"]]
    return out


class _ListThreads(BaseModel):
    limit: int = Field(10, ge=1, le=100, description="How many threads, newest first")


class _GetThread(BaseModel):
    thread_id: str = Field(..., description="The thread's id")


class _GetMessage(BaseModel):
    message_id: str = Field(..., description="The message's id")


class _Send(BaseModel):
    to: List[str] = Field(..., description="Recipient email addresses")
    subject: str = Field(..., description="Subject line")
    text: str = Field(..., description="Plain-text body")
    cc: Optional[List[str]] = Field(None, description="CC addresses")


class _Reply(BaseModel):
    message_id: str = Field(..., description="The message to answer (the reply goes into its thread)")
    text: str = Field(..., description="Plain-text body of the reply")
    reply_all: bool = Field(False, description="Also answer every other recipient")


class _Wait(BaseModel):
    timeout: int = Field(30, ge=0, le=60, description="Seconds to wait (0-60)")


class _Search(BaseModel):
    query: str = Field(..., description="Words to find in subject, body, sender and recipients")
    limit: int = Field(10, ge=1, le=100, description="How many messages at most")


def mailbox_tools(client: Mailroom, mailbox_id: str) -> List[AgentTool]:
    """The tools that work on one mailbox: the model never handles the mailbox id.
    ``wait_for_reply`` returns the mail that arrived since the tools were made, one message
    per call, so a reply that lands before the model asks for it is not missed."""
    state: Dict[str, Optional[str]] = {"cursor": client.events.cursor()}

    def list_threads(limit: int = 10) -> str:
        page = client.threads.list(mailbox_id, limit=limit)
        return _dump([t.model_dump(mode="json", exclude_none=True) for t in page.items])

    def get_thread(thread_id: str) -> str:
        t = client.threads.get(thread_id)
        return _dump({"thread": t.thread.model_dump(mode="json", exclude_none=True), "messages": [_message_view(x) for x in t.messages]})

    def get_message(message_id: str) -> str:
        return _dump(_message_view(client.messages.get(message_id)))

    def send(to: List[str], subject: str, text: str, cc: Optional[List[str]] = None) -> str:
        extra = {"cc": cc} if cc else {}
        return _dump(client.messages.send(mailbox_id, to=to, subject=subject, text=text, **extra))

    def reply(message_id: str, text: str, reply_all: bool = False) -> str:
        return _dump(client.messages.reply(message_id, text=text, reply_all=reply_all))

    def wait_for_reply(timeout: int = 30) -> str:
        got = client.messages.wait(mailbox_id, after=state["cursor"], timeout=timeout)
        if got is None:
            return _dump({"message": None, "note": f"nothing arrived within {timeout} seconds"})
        state["cursor"] = got.cursor
        return _dump({"message": _message_view(got.message)})

    def search(query: str, limit: int = 10) -> str:
        page = client.messages.list(mailbox_id, q=query, limit=limit)
        return _dump([_message_view(x) for x in page.items])

    return [
        AgentTool("list_threads", "List the mailbox's conversations, newest first (id, subject, participants, message count).", _ListThreads, list_threads),
        AgentTool("get_thread", "Read a conversation: the thread and every message in it, oldest first.", _GetThread, get_thread),
        AgentTool("get_message", "Read one message: sender, recipients, subject, text and attachments.", _GetMessage, get_message),
        AgentTool("send_message", "Send a new email from the mailbox (starts a new conversation).", _Send, send),
        AgentTool("reply_to_message", "Reply to a message, in its thread, from the mailbox.", _Reply, reply),
        AgentTool("wait_for_reply", "Wait for the next email to arrive in the mailbox (returns it, or says nothing came).", _Wait, wait_for_reply),
        AgentTool("search_messages", "Search the mailbox's messages by words.", _Search, search),
    ]


def catalog_tools(client: Mailroom, site_id: Optional[str] = None) -> List[AgentTool]:
    """The tools of ``GET /v1/tools``: the agent email tools and each tool config."""
    out: List[AgentTool] = []
    for entry in client.tools.list(site_id=site_id).data:
        name = entry.name

        def run(_name: str = name, **kwargs: Any) -> str:
            args = {k: v for k, v in kwargs.items() if v is not None}
            return _dump(client.tools.invoke(_name, args, site_id=site_id))

        out.append(AgentTool(name, entry.description, model_from_json_schema(name, entry.input_schema), run))
    return out


def error_text(exc: APIError) -> str:
    """What the model reads when a call is refused."""
    return f"{exc.code}: {exc.message}"
