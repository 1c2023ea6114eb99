"""``mailroom.crewai``: the same tools as CrewAI ``BaseTool``s, run against a real server."""

from __future__ import annotations

import json
import os

import pytest

if os.environ.get("CI") != "true":
    pytest.importorskip("crewai", reason="SKIPPED: crewai is not installed (pip install './sdk/python[crewai]')")

from crewai.tools import BaseTool  # noqa: E402

from mailroom import Mailroom  # noqa: E402
from mailroom.crewai import MailroomCrewTools, MailroomToolError  # noqa: E402


def test_crewai_tools_run_against_the_server(client: Mailroom, name: str) -> None:
    box = client.mailboxes.create(username=f"{name}crew")
    other = client.mailboxes.create(username=f"{name}peer")
    tools = {t.name: t for t in MailroomCrewTools(client, mailbox_id=box.id).get_tools()}
    assert all(isinstance(t, BaseTool) for t in tools.values())
    assert {"send_email", "send_one_to_one_email", "send_information_email", "send_message", "wait_for_reply"} <= set(tools)
    assert "email" in tools["send_email"].args_schema.model_fields
    sent = json.loads(tools["send_message"].run(to=[other.address], subject="From a crew", text="Hello"))
    assert sent["recipients"][0]["status"] == "delivered"
    threads = json.loads(tools["list_threads"].run(limit=5))
    assert threads[0]["subject"] == "From a crew"
    with pytest.raises(MailroomToolError) as e:
        tools["get_thread"]._run(thread_id="00000000-0000-0000-0000-000000000000")
    assert "not_found" in str(e.value)


def test_a_tool_config_is_a_crewai_tool(client: Mailroom, name: str) -> None:
    config = client.tool_configs.create(name=f"crew_{name}", tool="send_information_email", prompt=f"Send the brochure ({name}).")
    tools = {t.name: t for t in MailroomCrewTools(client).get_tools()}
    assert config.name in tools, sorted(tools)
    assert isinstance(tools[config.name], BaseTool) and name in tools[config.name].description
    assert tools[config.name].args_schema.model_fields, "the wrapped tool's input schema"
    client.tool_configs.delete(config.id)
    assert config.name not in {t.name for t in MailroomCrewTools(client).get_tools()}
