"""The official google-genai SDK parses the simulator's thought parts, thought signatures,
thoughtsTokenCount and cachedContentTokenCount, streamed and not, and manages cachedContents."""

from __future__ import annotations

import pytest
from google.genai import types
from tests.conformance.conftest import Server
from tests.conformance.test_gemini import make_sdk

pytestmark = pytest.mark.sdk

THINKING = types.ThinkingConfig(include_thoughts=True, thinking_budget=512)


async def test_thought_parts_and_signatures(server: Server) -> None:
    sdk = make_sdk(server.base)
    config = types.GenerateContentConfig(thinking_config=THINKING)
    prompt = "Consider lighthouses for the conformance suite."
    r = await sdk.aio.models.generate_content(model="gemini-2.5-flash", contents=prompt, config=config)
    parts = r.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text
    assert parts[1].thought is None and parts[1].text and parts[1].thought_signature
    assert 0 < r.usage_metadata.thoughts_token_count <= 512  # within the budget
    streamed = [
        c
        async for c in await sdk.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents=prompt, config=config
        )
    ]
    parts_streamed = [p for c in streamed for p in c.candidates[0].content.parts]
    assert parts_streamed[0].thought is True and parts_streamed[0].text == parts[0].text
    assert parts_streamed[1].thought_signature == parts[1].thought_signature
    assert streamed[-1].usage_metadata.thoughts_token_count == r.usage_metadata.thoughts_token_count


async def test_function_call_signature_round_trip(server: Server) -> None:
    sdk = make_sdk(server.base)
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                description="Weather",
                parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}},
            )
        ]
    )
    config = types.GenerateContentConfig(
        tools=[tool], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)
    )
    question = types.Content(role="user", parts=[types.Part(text="Weather in Oslo for conformance?")])
    r = await sdk.aio.models.generate_content(
        model="gemini-3-flash-preview", contents=[question], config=config
    )
    turn = r.candidates[0].content
    assert turn.parts[0].function_call and turn.parts[0].thought_signature
    answers = types.Content(
        role="user",
        parts=[
            types.Part(
                function_response=types.FunctionResponse(name=p.function_call.name, response={"t": 21})
            )
            for p in turn.parts
            if p.function_call
        ],
    )
    # the SDK sends the model's turn back as it came (signature bytes included): accepted
    follow = await sdk.aio.models.generate_content(
        model="gemini-3-flash-preview", contents=[question, turn, answers], config=config
    )
    assert follow.text
    turn.parts[0].thought_signature = b"tampered-signature-bytes"
    with pytest.raises(Exception, match="Invalid thought signature"):
        await sdk.aio.models.generate_content(
            model="gemini-3-flash-preview", contents=[question, turn, answers], config=config
        )


async def test_cached_content_token_count(server: Server) -> None:
    sdk = make_sdk(server.base)
    long = " ".join(f"conformance rule {i} applies." for i in range(400))
    await sdk.aio.models.generate_content(model="gemini-2.5-flash", contents=long + " First?")
    r = await sdk.aio.models.generate_content(model="gemini-2.5-flash", contents=long + " Second?")
    assert r.usage_metadata.cached_content_token_count >= 1024
    assert r.usage_metadata.cached_content_token_count <= r.usage_metadata.prompt_token_count


async def test_cached_contents_through_the_sdk(server: Server) -> None:
    sdk = make_sdk(server.base)
    long = " ".join(f"conformance cache rule {i} holds." for i in range(400))
    config = types.CreateCachedContentConfig(
        contents=[types.Content(role="user", parts=[types.Part(text=long)])],
        system_instruction="Answer from the rules.",
        ttl="300s",
        display_name="conformance",
    )
    cache = await sdk.aio.caches.create(model="gemini-2.5-flash", config=config)
    assert cache.name and cache.name.startswith("cachedContents/") and cache.display_name == "conformance"
    assert cache.usage_metadata.total_token_count >= 1024 and cache.expire_time is not None
    r = await sdk.aio.models.generate_content(
        model="gemini-2.5-flash",
        contents="Which rule?",
        config=types.GenerateContentConfig(cached_content=cache.name),
    )
    assert r.usage_metadata.cached_content_token_count == cache.usage_metadata.total_token_count
    assert r.usage_metadata.prompt_token_count > r.usage_metadata.cached_content_token_count
    await sdk.aio.caches.delete(name=cache.name)
    with pytest.raises(Exception, match="CachedContent not found"):
        await sdk.aio.caches.get(name=cache.name)
