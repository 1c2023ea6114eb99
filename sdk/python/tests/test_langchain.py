"""A LangChain agent loop against a real server: a scripted fake chat model from
langchain_core calls the Mailroom toolkit's tools (mailbox tools and the catalogue's
``send_email``); a refused call comes back to the model as the tool's answer."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Iterator, List

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage  # noqa: E402

from mailroom import Mailroom  # noqa: E402
from mailroom.langchain import MailroomToolkit  # noqa: E402


class ScriptedModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts tools (the script decides what to call)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self


def run_agent(model: Any, tools: List[Any], prompt: str, max_steps: int = 10) -> List[BaseMessage]:
    """The classic tool-calling loop: ask the model, run the tools it calls, repeat."""
    by_name = {t.name: t for t in tools}
    bound = model.bind_tools(tools)
    messages: List[BaseMessage] = [HumanMessage(prompt)]
    for _ in range(max_steps):
        ai = bound.invoke(messages)
        messages.append(ai)
        if not ai.tool_calls:
            return messages
        for call in ai.tool_calls:
            messages.append(by_name[call["name"]].invoke(call))
    raise AssertionError("the agent did not finish")


def test_agent_sends_waits_and_replies_in_thread(client: Mailroom, name: str) -> None:
    agent_box = client.mailboxes.create(username=f"{name}agent")
    customer = client.mailboxes.create(username=f"{name}cust")
    site = client.sites.list().items[0].id
    client.settings.update({"channels": {"agent_email": {"status": "active", "mailbox_id": agent_box.id}}})
    toolkit = MailroomToolkit(client, mailbox_id=agent_box.id)
    tools = toolkit.get_tools()
    names = {t.name for t in tools}
    assert {"send_email", "send_one_to_one_email", "send_information_email"} <= names
    assert {"list_threads", "get_thread", "get_message", "send_message", "reply_to_message", "wait_for_reply", "search_messages"} <= names
    send_email = next(t for t in tools if t.name == "send_email")
    assert set(send_email.args) >= {"email", "subject", "message", "site_id"}

    # The customer answers the agent's first email (a person, in real life).
    start = client.events.cursor()

    def customer_side() -> None:
        got = client.messages.wait(customer.id, after=start, timeout=30)
        if got is not None:
            client.messages.reply(got.message.id, text="Yes please, 3 units.")

    helper = threading.Thread(target=customer_side, daemon=True)
    helper.start()

    seen: Dict[str, Any] = {}

    def script() -> Iterator[AIMessage]:
        yield AIMessage("", tool_calls=[{"name": "get_message", "args": {"message_id": "00000000-0000-0000-0000-000000000000"}, "id": "c0"}])
        yield AIMessage("", tool_calls=[{"name": "send_message", "id": "c1",
                                         "args": {"to": [customer.address], "subject": "Your quote", "text": "Do you want the quote?"}}])
        yield AIMessage("", tool_calls=[{"name": "wait_for_reply", "args": {"timeout": 30}, "id": "c2"}])
        reply = json.loads(seen["last"])["message"]
        yield AIMessage("", tool_calls=[{"name": "reply_to_message", "id": "c3",
                                         "args": {"message_id": reply["id"], "text": "Great, 3 units it is."}}])
        yield AIMessage("", tool_calls=[{"name": "search_messages", "args": {"query": "units"}, "id": "c4"},
                                        {"name": "send_email", "id": "c5", "args": {"email": customer.address, "subject": "Receipt",
                                                                                   "message": "Thanks for your order.", "site_id": site,
                                                                                   "dry_run": True}}])
        yield AIMessage("Done: the customer ordered 3 units.")

    class Recording(ScriptedModel):
        def invoke(self, messages: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            last = messages[-1]
            if isinstance(last, ToolMessage):
                seen["last"] = last.content
            return super().invoke(messages, *args, **kwargs)

    transcript = run_agent(Recording(messages=script()), tools, "Offer the customer a quote and confirm the order.")
    helper.join(5)
    tool_results = {m.tool_call_id: m for m in transcript if isinstance(m, ToolMessage)}
    assert "not_found" in tool_results["c0"].content  # the refusal went back to the model
    assert json.loads(tool_results["c1"].content)["recipients"][0]["status"] == "delivered"
    waited = json.loads(tool_results["c2"].content)["message"]
    assert waited["subject"] == "Re: Your quote" and "3 units" in waited["text"]
    replied = json.loads(tool_results["c3"].content)
    thread = client.threads.get(replied["thread_id"])
    assert [m.subject for m in thread.messages] == ["Your quote", "Re: Your quote", "Re: Your quote"]
    assert any("units" in (m.get("text") or "") for m in json.loads(tool_results["c4"].content))
    receipt = json.loads(tool_results["c5"].content)
    assert receipt["success"] is True and receipt["status"] == "dry_run"
    assert transcript[-1].content.startswith("Done")
    assert any(r.tool == "send_email" for r in client.tool_runs.list(tool="send_email"))
    client.settings.update({})


def test_a_tool_config_is_a_tool_of_the_toolkit(client: Mailroom, name: str) -> None:
    config = client.tool_configs.create(name=f"followup_{name}", tool="send_one_to_one_email",
                                        prompt=f"Follow up with a lead a day after signup ({name}).")
    tools = {t.name: t for t in MailroomToolkit(client).get_tools()}
    assert config.name in tools, sorted(tools)
    tool = tools[config.name]
    assert name in tool.description  # the builder's prompt is what the model reads
    assert "send_to" in tool.args  # the wrapped tool's input schema, from the server
    # Invoking it runs the config on the server: an unknown contact is the run's outcome, which
    # goes back to the model as the tool's answer.
    answer = tool.invoke({"type": "tool_call", "id": "t1", "name": tool.name,
                          "args": {"send_to": "00000000-0000-0000-0000-000000000000", "subject": "Hi", "body": "Hello"}})
    assert isinstance(answer, ToolMessage)
    outcome = json.loads(answer.content)
    assert (outcome["status"], outcome["code"]) == ("failure", "contact_not_found"), outcome
    runs = [r for r in client.tool_runs.list(tool="send_one_to_one_email") if r.tool_config_id == config.id]
    assert len(runs) == 1 and runs[0].code == "contact_not_found"
    client.tool_configs.delete(config.id)
    assert config.name not in {t.name for t in MailroomToolkit(client).get_tools()}
