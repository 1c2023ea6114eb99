"""LangChain tools for Mailroom (``pip install "mailroom[langchain]"``).

    from mailroom import Mailroom
    from mailroom.langchain import MailroomToolkit

    toolkit = MailroomToolkit(Mailroom(), mailbox_id=inbox.id)
    tools = toolkit.get_tools()          # langchain_core StructuredTools
    model = ChatOpenAI(...).bind_tools(tools)

The toolkit holds the tools of ``GET /v1/tools`` (``send_email``, ``send_one_to_one_email``,
``send_information_email`` and each tool config, with the server's JSON Schemas) and, when a
mailbox is given, the mailbox tools (``list_threads``, ``get_thread``, ``get_message``,
``send_message``, ``reply_to_message``, ``wait_for_reply``, ``search_messages``). A refused
call raises ``ToolException``, which LangChain hands back to the model as the tool's answer
(``handle_tool_error``), so the agent can correct itself.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

try:
    from langchain_core.tools import BaseTool, StructuredTool, ToolException
except ImportError as exc:  # pragma: no cover
    raise ImportError('mailroom.langchain needs langchain-core: pip install "mailroom[langchain]"') from exc

from ._agent_tools import AgentTool, catalog_tools, error_text, mailbox_tools
from ._client import Mailroom
from ._errors import APIError

__all__ = ["MailroomToolkit", "to_langchain_tool"]


def _guarded(func: Callable[..., str]) -> Callable[..., str]:
    def run(**kwargs: Any) -> str:
        try:
            return func(**kwargs)
        except APIError as exc:
            raise ToolException(error_text(exc)) from exc

    return run


def to_langchain_tool(tool: AgentTool) -> StructuredTool:
    """Wraps one Mailroom tool as a ``StructuredTool``."""
    return StructuredTool.from_function(
        func=_guarded(tool.func),
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        handle_tool_error=True,
    )


class MailroomToolkit:
    """The Mailroom tools for a LangChain agent.

    ``include_catalog`` adds the tools of ``GET /v1/tools``; ``mailbox_id`` adds the mailbox
    tools for that mailbox; ``site_id`` picks the site for admin keys.
    """

    def __init__(self, client: Optional[Mailroom] = None, *, mailbox_id: Any = None, include_catalog: bool = True,
                 site_id: Optional[str] = None):
        self.client = client or Mailroom()
        self.mailbox_id = None if mailbox_id is None else str(getattr(mailbox_id, "id", mailbox_id))
        self.include_catalog = include_catalog
        self.site_id = site_id

    def agent_tools(self) -> List[AgentTool]:
        tools: List[AgentTool] = []
        if self.include_catalog:
            tools += catalog_tools(self.client, self.site_id)
        if self.mailbox_id is not None:
            tools += mailbox_tools(self.client, self.mailbox_id)
        return tools

    def get_tools(self) -> List[BaseTool]:
        """Returns the tools (fetching the catalogue from the server now)."""
        return [to_langchain_tool(t) for t in self.agent_tools()]
