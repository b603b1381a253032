"""The message-threads beta on Anthropic deployments with ``threads: true``: the exact
create and continue requests (pure), and whole conversations through ``llmrelay.Client``
and the in-process simulator, which holds the threads and refuses lost ones."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

import llmrelay
from llmrelay import errors
from llmrelay.hosts import SIMULATOR_URL
from llmrelay.providers.anthropic import AnthropicAdapter
from llmrelay.settings import Settings
from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Transport
from llmrelay.types import ChatRequest, ChatResponse, Message, Tool, ToolCall
from llmrelay.wire import Endpoint, HttpRequest, HttpResponse

BETA = "message-threads-2026-08-12"
WEATHER = Tool(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
QUESTION = "What is the weather in Paris today?"
WEATHER_WIRE = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": WEATHER.parameters,
}


def endpoint(**options: Any) -> Endpoint:
    return Endpoint("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com", options=options)


def build(messages: list[Message], ep: Endpoint, **kw: Any) -> tuple[dict[str, str], dict[str, Any]]:
    http = AnthropicAdapter().chat_request(
        ChatRequest(model="claude-sonnet-4-5", messages=messages, **kw), ep, stream=False
    )
    return dict(http.headers), json.loads(http.body)


def replied(text: str, message_id: str | None, calls: tuple[ToolCall, ...] = ()) -> Message:
    state = {"anthropic": {"content": [], "message_id": message_id}} if message_id else None
    return Message(role="assistant", content=text, tool_calls=calls, provider_state=state)


# ----------------------------------------------------------------------------- pure


def test_a_first_turn_creates_a_thread_with_the_whole_request() -> None:
    headers, body = build(
        [Message.system("Be brief."), Message.user(QUESTION)], endpoint(threads=True), tools=[WEATHER]
    )
    assert headers["anthropic-beta"] == BETA
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        "tools": [WEATHER_WIRE],
        "thread": {"type": "create"},
    }


def test_a_later_turn_continues_from_the_last_reply_with_only_the_new_messages() -> None:
    call = ToolCall("toolu_1", "get_weather", '{"city": "Paris"}')
    messages = [
        Message.system("Be brief."),
        Message.user(QUESTION),
        replied("", "msg_first", (call,)),
        Message(role="tool", content="sunny", tool_call_id="toolu_1"),
        replied("Sunny.", "msg_second"),
        Message.user("And tomorrow?"),
    ]
    headers, body = build(messages, endpoint(threads=True), tools=[WEATHER], tool_choice="auto")
    assert headers["anthropic-beta"] == BETA
    # no system, no tools (the thread keeps them); tool_choice is the call's own
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]}],
        "tool_choice": {"type": "auto"},
        "thread": {"type": "continue", "previous_message_id": "msg_second"},
    }
    # a tool result continues from the tool-calling reply
    _, body = build(messages[:4], endpoint(threads=True), tools=[WEATHER])
    assert body["thread"] == {"type": "continue", "previous_message_id": "msg_first"}
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}
    ]


def test_the_beta_is_merged_with_other_betas() -> None:
    ep = Endpoint(
        "anthropic",
        "claude-sonnet-4-5",
        "https://api.anthropic.com",
        headers={"anthropic-beta": "context-1m-2025-08-07"},
        options={"threads": True},
    )
    headers, _ = build([Message.user("hi")], ep, extra_headers={"anthropic-beta": "files-api-2025-04-14"})
    assert headers["anthropic-beta"].split(",") == [BETA, "context-1m-2025-08-07", "files-api-2025-04-14"]


def test_cases_that_start_a_new_thread() -> None:
    ep = endpoint(threads=True)
    history = [Message.user("hi"), replied("Hello.", "msg_1")]
    # nothing after the reply (a prefill of that very reply)
    assert build(history, ep)[1]["thread"] == {"type": "create"}
    # a system message after the position needs `system`, which a continue cannot carry
    _, body = build([*history, Message.system("Now be terse."), Message.user("and?")], ep)
    assert body["thread"] == {"type": "create"} and len(body["messages"]) == 3
    # the resend after a lost thread
    _, body = build([*history, Message.user("and?")], endpoint(threads=True, threads_fresh=True))
    assert body["thread"] == {"type": "create"} and len(body["messages"]) == 3
    # a reply from a deployment without threads carries no id: a new thread
    _, body = build([Message.user("hi"), replied("Hello.", None), Message.user("and?")], ep)
    assert body["thread"] == {"type": "create"}


def test_threads_off_sends_no_thread_and_never_the_id() -> None:
    headers, body = build([Message.user("hi"), replied("Hello.", "msg_1"), Message.user("and?")], endpoint())
    assert "anthropic-beta" not in headers and "thread" not in body
    assert "msg_1" not in json.dumps(body)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


def test_token_counting_counts_the_whole_conversation() -> None:
    messages = [
        Message.system("Be brief."),
        Message.user("hi"),
        replied("Hello.", "msg_1"),
        Message.user("and?"),
    ]
    req = ChatRequest(model="claude-sonnet-4-5", messages=messages)
    http = AnthropicAdapter().count_request(req, endpoint(threads=True))
    body = json.loads(http.body or b"{}")
    assert "thread" not in body and body["system"] == "Be brief."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert BETA not in http.headers.get("anthropic-beta", "")


def test_bad_option_and_bad_state_are_refused_before_sending() -> None:
    with pytest.raises(errors.ConfigError, match="'threads' must be true or false"):
        build([Message.user("hi")], endpoint(threads="yes"))
    bad = Message(
        role="assistant", content="x", provider_state={"anthropic": {"content": [], "message_id": 7}}
    )
    with pytest.raises(errors.InvalidRequestError, match=r"messages\[1\].*message_id"):
        build([Message.user("hi"), bad, Message.user("and?")], endpoint(threads=True))
    with pytest.raises(errors.InvalidRequestError, match=r"messages\[1\].*message_id"):
        build([Message.user("hi"), bad, Message.user("and?")], endpoint())
    odd = Message(role="assistant", content="x", provider_state={"anthropic": {"content": [], "id": "msg_1"}})
    with pytest.raises(errors.InvalidRequestError, match="unexpected key 'id'"):
        build([Message.user("hi"), odd, Message.user("and?")], endpoint())


def test_lost_thread_errors_carry_the_resend() -> None:
    adapter = AnthropicAdapter()
    for status, etype, code in (
        (404, "not_found_error", "thread_not_found"),
        (409, "conflict_error", "thread_already_continued"),
    ):
        body = {"type": "error", "error": {"type": etype, "message": "no", "details": {"error_code": code}}}
        err = adapter.parse_error(status, {}, json.dumps(body).encode(), endpoint(threads=True))
        assert isinstance(err, errors.ServerStateLostError)
        assert err.status == status and err.resend_options == {"threads_fresh": True}
    plain = {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-x"}}
    err = adapter.parse_error(404, {}, json.dumps(plain).encode(), endpoint(threads=True))
    assert type(err) is errors.NotFoundError


# ----------------------------------------------------------------------------- end to end


class Recorded(Transport):
    """The simulator mounted as usual, with every request the client sends kept."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(mounts={SIMULATOR_URL: StreamingASGITransport(sim.app)})
        self.sim = sim
        self.sent: list[dict[str, Any]] = []

    def _keep(self, req: HttpRequest) -> None:
        if req.url.endswith("/v1/messages"):
            self.sent.append(json.loads(req.body or b"{}"))

    async def send(self, req: HttpRequest, **kw: Any) -> Any:
        self._keep(req)
        return await super().send(req, **kw)

    def stream(self, req: HttpRequest, **kw: Any) -> Any:
        self._keep(req)
        return super().stream(req, **kw)


def settings() -> Settings:
    dep = {"provider": "simulator-anthropic", "model": "claude-sonnet-4-5", "options": {"threads": True}}
    plain = {"provider": "simulator-anthropic", "model": "claude-sonnet-4-5"}
    return Settings.load(
        ledger={"enabled": False},
        models={"threaded": {"deployments": [dep]}, "plain": {"deployments": [plain]}},
    )


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[llmrelay.Client, Recorded]]:
    transport = Recorded(Simulator(SimulatorConfig(seed=7)))
    async with llmrelay.Client(settings(), transport=transport) as client:
        yield client, transport
    await transport.aclose()


async def ask(
    client: llmrelay.Client,
    messages: list[Message],
    stream: bool,
    model: str = "threaded",
    tools: bool = True,
) -> ChatResponse:
    kw: dict[str, Any] = {"model": model, "tools": [WEATHER] if tools else None, "max_tokens": 400}
    if stream:
        return await client.stream(messages, **kw).final()
    return await client.chat(messages, **kw)


def answer_tools(first: ChatResponse) -> list[Message]:
    return [Message(role="tool", content="sunny, 21 C", tool_call_id=c.id) for c in first.tool_calls]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
async def test_a_tool_conversation_sends_only_new_messages(
    recorded: tuple[llmrelay.Client, Recorded], stream: bool
) -> None:
    client, transport = recorded
    system = Message.system("Be brief.")
    history = [system, Message.user(QUESTION)]
    first = await ask(client, history, stream)
    assert first.finish_reason == "tool_calls" and first.tool_calls
    assert first.provider_state is not None
    assert first.provider_state["anthropic"]["message_id"] == first.id
    history += [first.message, *answer_tools(first)]
    second = await ask(client, history, stream)
    assert second.finish_reason == "stop" and second.text
    history += [second.message, Message.user("And in Lyon?")]
    third = await ask(client, history, stream)
    assert third.text or third.tool_calls

    create, cont2, cont3 = transport.sent
    assert create["thread"] == {"type": "create"} and "system" in create and "tools" in create
    assert cont2["thread"] == {"type": "continue", "previous_message_id": first.id}
    assert [b["type"] for b in cont2["messages"][0]["content"]] == ["tool_result"]
    assert len(cont2["messages"]) == 1 and "system" not in cont2 and "tools" not in cont2
    assert cont3["thread"] == {"type": "continue", "previous_message_id": second.id}
    assert cont3["messages"] == [{"role": "user", "content": [{"type": "text", "text": "And in Lyon?"}]}]
    assert transport.sim.stats.statuses[200] == 3 and sum(transport.sim.stats.statuses.values()) == 3

    # the answers are the ones the whole history gets without threads
    whole = await ask(client, history[:4], stream, model="plain")
    assert whole.text == second.text
    whole = await ask(client, history, stream, model="plain")
    assert whole.text == third.text
    assert [c.arguments for c in whole.tool_calls] == [c.arguments for c in third.tool_calls]
    assert "thread" not in transport.sent[-1] and len(transport.sent[-1]["messages"]) == 5


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
async def test_a_thread_the_server_no_longer_holds_is_recreated(stream: bool) -> None:
    history = [Message.user(QUESTION)]
    async with llmrelay.Client(settings(), transport=Recorded(Simulator(SimulatorConfig(seed=7)))) as before:
        first = await ask(before, history, stream)
    history += [first.message, *answer_tools(first)]
    # a fresh simulator: the thread is gone
    transport = Recorded(Simulator(SimulatorConfig(seed=7)))
    async with llmrelay.Client(settings(), transport=transport) as client:
        second = await ask(client, history, stream)
        assert second.finish_reason == "stop" and second.text
        refused, resent = transport.sent
        assert refused["thread"]["type"] == "continue" and len(refused["messages"]) == 1
        assert resent["thread"] == {"type": "create"} and len(resent["messages"]) == 3
        assert "tools" in resent
        assert transport.sim.stats.statuses[404] == 1 and transport.sim.stats.statuses[200] == 1
        # the recreated thread continues as usual
        third = await ask(client, [*history, second.message, Message.user("And in Lyon?")], stream)
        assert (third.text or third.tool_calls) and transport.sent[-1]["thread"][
            "previous_message_id"
        ] == second.id
        assert len(transport.sent) == 3
    await transport.aclose()


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
async def test_a_branched_conversation_recovers(
    recorded: tuple[llmrelay.Client, Recorded], stream: bool
) -> None:
    client, transport = recorded
    history = [Message.user("Tell me about Paris.")]
    first = await ask(client, history, stream, tools=False)
    a = await ask(client, [*history, first.message, Message.user("Its museums?")], stream, tools=False)
    # a second branch from the same reply: that position was continued already
    b = await ask(client, [*history, first.message, Message.user("Its parks?")], stream, tools=False)
    assert a.text and b.text
    assert transport.sim.stats.statuses[409] == 1
    assert len(transport.sent) == 4
    assert transport.sent[2]["thread"]["type"] == "continue"
    assert transport.sent[3]["thread"] == {"type": "create"} and len(transport.sent[3]["messages"]) == 3


class Refusing:
    """A server that refuses every request as a lost thread (a create too, which no real
    server does): the client must resend once, then give up with the error."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, req: HttpRequest, **kw: Any) -> HttpResponse:
        self.sent.append(json.loads(req.body or b"{}"))
        error = {"type": "not_found_error", "message": "gone", "details": {"error_code": "thread_not_found"}}
        return HttpResponse(
            404, {"content-type": "application/json"}, json.dumps({"type": "error", "error": error}).encode()
        )

    def stream(self, req: HttpRequest, **kw: Any) -> Any:
        raise AssertionError("unary only")

    async def aclose(self) -> None:
        return None


async def test_the_resend_happens_once() -> None:
    transport = Refusing()
    history = [Message.user("hi"), replied("Hello.", "msg_gone"), Message.user("and?")]
    async with llmrelay.Client(settings(), transport=transport) as client:  # type: ignore[arg-type]
        with pytest.raises(errors.ServerStateLostError) as info:
            await client.chat(history, model="threaded", max_tokens=50)
    assert info.value.status == 404
    assert [b["thread"]["type"] for b in transport.sent] == ["continue", "create"]
