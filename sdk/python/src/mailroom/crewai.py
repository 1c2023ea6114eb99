"""CrewAI tools for Mailroom (``pip install "mailroom[crewai]"``).

    from mailroom.crewai import MailroomCrewTools

    tools = MailroomCrewTools(Mailroom(), mailbox_id=inbox.id).get_tools()
    agent = Agent(role="Support", goal="...", backstory="...", tools=tools)

The same tools as ``mailroom.langchain`` (the tools of ``GET /v1/tools`` plus the mailbox
tools), as ``crewai.tools.BaseTool`` instances. A refused call raises ``MailroomToolError``;
CrewAI reports a tool's exception to the agent, which can retry with other arguments.
"""

from __future__ import annotations

from typing import Any, List, Optional, Type

try:
    from crewai.tools import BaseTool
except ImportError as exc:  # pragma: no cover
    raise ImportError('mailroom.crewai needs crewai: pip install "mailroom[crewai]"') from exc

from pydantic import BaseModel, PrivateAttr

from ._agent_tools import AgentTool, catalog_tools, error_text, mailbox_tools
from ._client import Mailroom
from ._errors import APIError

__all__ = ["MailroomCrewTools", "MailroomToolError", "to_crewai_tool"]


class MailroomToolError(Exception):
    """A Mailroom call made by a CrewAI tool was refused; the message says why."""


class _MailroomTool(BaseTool):
    name: str
    description: str
    args_schema: Type[BaseModel]
    _agent_tool: AgentTool = PrivateAttr()

    def _run(self, **kwargs: Any) -> str:
        try:
            return self._agent_tool.func(**kwargs)
        except APIError as exc:
            raise MailroomToolError(error_text(exc)) from exc


def to_crewai_tool(tool: AgentTool) -> BaseTool:
    """Wraps one Mailroom tool as a CrewAI ``BaseTool``."""
    wrapped = _MailroomTool(name=tool.name, description=tool.description, args_schema=tool.args_schema)
    wrapped._agent_tool = tool
    return wrapped


class MailroomCrewTools:
    """The Mailroom tools for a CrewAI agent (same options as ``mailroom.langchain.MailroomToolkit``)."""

    def __init__(self, client: Optional[Mailroom] = None, *, mailbox_id: Any = None, include_catalog: bool = True,
                 site_id: Optional[str] = None):
        self.client = client or Mailroom()
        self.mailbox_id = None if mailbox_id is None else str(getattr(mailbox_id, "id", mailbox_id))
        self.include_catalog = include_catalog
        self.site_id = site_id

    def get_tools(self) -> List[BaseTool]:
        tools: List[AgentTool] = []
        if self.include_catalog:
            tools += catalog_tools(self.client, self.site_id)
        if self.mailbox_id is not None:
            tools += mailbox_tools(self.client, self.mailbox_id)
        return [to_crewai_tool(t) for t in tools]
