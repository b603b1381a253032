"""Sending rendered prompts through the Client (the simulator): hints, overrides, metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.app.prompts import PromptLibrary, call_arguments, chat_prompt, stream_prompt
from llmrelay.client import Client
from llmrelay.settings import Settings
from llmrelay.types import Message, TextDelta


@pytest.fixture
async def client():
    async with Client(Settings(ledger={"enabled": False})) as c:
        yield c


def test_call_arguments_merge_hints_overrides_and_metadata(library_dir: Path) -> None:
    prompt = PromptLibrary.load(library_dir).render("support", question="Hi")
    history = [Message.user("earlier"), Message.assistant("reply")]
    messages, kwargs = call_arguments(
        prompt, history=history, params={"temperature": 0.9, "metadata": {"team": "a", "prompt": "spoof"}}
    )
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1:3] == history and messages[-1].text() == "Hi"
    assert kwargs == {
        "temperature": 0.9,  # the caller's value wins over the template's 0.2
        "max_tokens": 7,
        "model": "local",
        "metadata": {"team": "a", "prompt": "support", "prompt_version": "v1"},
    }
    assert call_arguments(prompt, model="simulator/x")[1]["model"] == "simulator/x"


async def test_chat_uses_the_templates_hints_and_names_the_prompt(client: Client, library_dir: Path) -> None:
    prompt = PromptLibrary.load(library_dir).render("support", question="Where is my parcel?")
    reply = await prompt.chat(client)
    assert (reply.prompt, reply.version, reply.experiment) == ("support", "v1", None)
    # the template's max_tokens hint reached the model
    assert reply.usage is not None and reply.usage.output_tokens == 7
    assert reply.response.finish_reason == "length"
    assert reply.text == reply.response.text and reply.cost == reply.response.cost
    assert reply.message.role == "assistant"
    direct = await client.chat(prompt.messages(), model="local", temperature=0.2, max_tokens=7)
    assert direct.text == reply.text  # the same request as written by hand


async def test_overrides_and_streaming(client: Client, library_dir: Path) -> None:
    lib = PromptLibrary.load(library_dir)
    prompt = lib.render("support", question="Hi", user_id="someone")
    longer = await chat_prompt(client, prompt, max_tokens=30)
    assert longer.usage is not None and longer.usage.output_tokens > 7
    assert longer.version == prompt.version and longer.experiment == "support"
    stream = stream_prompt(client, prompt, max_tokens=30)
    text = "".join([ev.text async for ev in stream if isinstance(ev, TextDelta)])
    assert text == longer.text
    streamed = prompt.stream(client, max_tokens=30)
    assert (await streamed.final()).text == longer.text
