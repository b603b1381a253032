"""The canonical key: a hit never changes the answer.

Changing any one thing that decides the answer (where it is served, any parameter,
tools, one character of one message, the subject) gives another key; what does not
decide it (metadata, tags, request and trace ids) gives the same key."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.cache import Keys, cache_key, namespace
from llmrelay.cache.key import FORM_FIELDS, NOT_IN_KEY, RENAMED, request_form
from llmrelay.resolve import Deployment, Route
from llmrelay.types import (
    ChatRequest,
    ForcedTool,
    ImagePart,
    Message,
    PromptCache,
    Reasoning,
    ResponseFormat,
    SafetySetting,
    Subject,
    TextPart,
    Tool,
    ToolCall,
)
from llmrelay.wire import Endpoint

ROUTE = Route(
    "fast",
    (Deployment("fast", Endpoint("openai", "gpt-4o-mini", "https://api.openai.com/v1", host="openai")),),
)
WEATHER = Tool("weather", "the weather", {"type": "object", "properties": {"city": {"type": "string"}}})
BASE = ChatRequest(
    model="fast",
    messages=(
        Message.system("Be brief."),
        Message.user("What is the weather in Paris?"),
        Message.assistant(None, (ToolCall("c1", "weather", '{"city":"Paris"}'),)),
        Message.tool("c1", "sunny"),
        Message.user((TextPart("and this?"), ImagePart(url="https://x/y.png"))),
    ),
    temperature=0.0,
    top_p=1.0,
    max_tokens=100,
    stop=("END",),
    seed=7,
    presence_penalty=0.0,
    frequency_penalty=0.0,
    tools=(WEATHER,),
    tool_choice="auto",
    parallel_tool_calls=True,
    response_format=ResponseFormat(type="json_object"),
    extra={"reasoning_effort": "low"},
    extra_headers={"anthropic-beta": "x"},
    reasoning=Reasoning(effort="low"),
)
SUBJECT = Subject(key_id="vk_1", user="ann", team="search")


def key(req: ChatRequest = BASE, route: Route = ROUTE, subject: Subject = SUBJECT) -> str:
    return cache_key(req, route, namespace(subject))


CHANGES: dict[str, dict[str, Any]] = {
    "temperature": {"temperature": 0.5},
    "top_p": {"top_p": 0.9},
    "max_tokens": {"max_tokens": 101},
    "stop": {"stop": ("STOP",)},
    "seed": {"seed": 8},
    "presence_penalty": {"presence_penalty": 0.1},
    "frequency_penalty": {"frequency_penalty": 0.1},
    "tools": {"tools": (replace(WEATHER, description="the forecast"),)},
    "no tools": {"tools": None},
    "tool_choice": {"tool_choice": ForcedTool("weather")},
    "parallel_tool_calls": {"parallel_tool_calls": False},
    "response_format": {"response_format": ResponseFormat.json_schema({"type": "object"})},
    "extra": {"extra": {"reasoning_effort": "high"}},
    "header": {"extra_headers": {"anthropic-beta": "y"}},
    "reasoning effort": {"reasoning": Reasoning(effort="high")},
    "reasoning budget": {"reasoning": Reasoning(budget_tokens=2048)},
    "reasoning summary": {"reasoning": Reasoning(effort="low", summary="detailed")},
    "cached content": {"prompt_cache": PromptCache(cached_content="cachedContents/abc")},
    "service_tier": {"service_tier": "flex"},
    "top_k": {"top_k": 40},
    "safety": {"safety_settings": (SafetySetting("HARM_CATEGORY_HARASSMENT", "BLOCK_NONE"),)},
    "logprobs": {"logprobs": True},
    "top_logprobs": {"top_logprobs": 3},
    "verbosity": {"verbosity": "low"},
}


def test_identical_requests_have_one_key() -> None:
    copy = replace(BASE, messages=tuple(replace(m) for m in BASE.messages))
    assert key(copy) == key()
    assert len(key()) == 32


def test_every_generation_parameter_is_in_the_key() -> None:
    base = key()
    keys = {name: key(replace(BASE, **change)) for name, change in CHANGES.items()}
    assert all(k != base for k in keys.values()), [n for n, k in keys.items() if k == base]
    assert len(set(keys.values())) == len(keys)


def test_every_request_field_is_in_the_key_or_deliberately_left_out() -> None:
    # a field added to ChatRequest without a place in the key would make hits that change the answer
    form = request_form(BASE)
    for f in fields(ChatRequest):
        assert f.name in NOT_IN_KEY or RENAMED.get(f.name, f.name) in form, f.name


def test_prompt_cache_placement_is_not_in_the_key() -> None:
    # where the provider caches changes the price of a call, never its answer
    base = key()
    marked = tuple(replace(m, cache="1h") for m in BASE.messages)
    assert key(replace(BASE, messages=marked)) == base
    assert key(replace(BASE, tools=(replace(WEATHER, cache="5m"),))) == base
    cached = PromptCache(auto="5m", key="tenant-1", retention="24h")
    assert key(replace(BASE, prompt_cache=cached)) == base
    parts = (TextPart("and this?", cache="5m"), ImagePart(url="https://x/y.png"))
    last = replace(BASE.messages[-1], content=parts)
    assert key(replace(BASE, messages=(*BASE.messages[:-1], last))) == base


def test_temperature_zero_is_one_spelling() -> None:
    assert key(replace(BASE, temperature=0)) == key(replace(BASE, temperature=0.0))


def test_what_does_not_decide_the_answer_is_not_in_the_key() -> None:
    base = key()
    assert key(replace(BASE, metadata={"request_id": "r-1", "trace": "abc"})) == base
    assert key(replace(BASE, tags=("eu", "batch"))) == base
    assert key(replace(BASE, user="someone-else")) == base
    traced = {"anthropic-beta": "x", "traceparent": "00-abc-def-01", "X-Request-ID": "r-9"}
    assert key(replace(BASE, extra_headers=traced)) == base
    # the alias name is not the answer: another alias on the same deployment shares it
    assert key(replace(BASE, model="other")) == base


def test_where_the_call_is_served_is_in_the_key() -> None:
    ep = ROUTE.deployments[0].endpoint
    other_model = Route("fast", (Deployment("fast", replace(ep, model="gpt-4o")),))
    other_host = Route("fast", (Deployment("fast", replace(ep, host="azure", base_url="https://az/v1")),))
    other_options = Route("fast", (Deployment("fast", replace(ep, options={"api_version": "2"})),))
    base = key()
    assert len({base, key(route=other_model), key(route=other_host), key(route=other_options)}) == 4


def test_the_subject_namespaces_the_key() -> None:
    base = key()
    for other in (
        replace(SUBJECT, key_id="vk_2"),
        replace(SUBJECT, user="bob"),
        replace(SUBJECT, team="ads"),
        Subject(),
    ):
        assert key(subject=other) != base
    # tags label spending, not identity
    assert key(subject=replace(SUBJECT, tags=("eu",))) == base
    shared = cache_key(BASE, ROUTE, namespace(SUBJECT, shared=True))
    assert shared == cache_key(BASE, ROUTE, namespace(Subject(user="bob"), shared=True)) != base


def test_the_api_key_is_not_in_the_key() -> None:
    from llmrelay.secrets import Secret

    ep = ROUTE.deployments[0].endpoint
    keyed = Route("fast", (Deployment("fast", replace(ep, api_key=Secret("sk-1"))),))
    rekeyed = Route("fast", (Deployment("fast", replace(ep, api_key=Secret("sk-2"))),))
    assert key(route=keyed) == key(route=rekeyed) == key()


def _messages_with_one_char_changed(data: st.DataObject) -> tuple[int, ChatRequest]:
    texts = [(i, m) for i, m in enumerate(BASE.messages) if isinstance(m.content, str) and m.content]
    i, msg = data.draw(st.sampled_from(texts))
    assert isinstance(msg.content, str)
    pos = data.draw(st.integers(0, len(msg.content) - 1))
    new = data.draw(st.characters().filter(lambda c: c != msg.content[pos]))  # type: ignore[index]
    changed = msg.content[:pos] + new + msg.content[pos + 1 :]
    messages = list(BASE.messages)
    messages[i] = replace(msg, content=changed)
    return i, replace(BASE, messages=tuple(messages))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_one_character_of_one_message_is_a_miss(data: st.DataObject) -> None:
    _, changed = _messages_with_one_char_changed(data)
    assert key(changed) != key()


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(sorted(CHANGES)),
    meta=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    tags=st.lists(st.text(max_size=5), max_size=3),
)
def test_any_one_change_misses_while_metadata_never_does(
    name: str, meta: dict[str, str], tags: list[str]
) -> None:
    noise = {"metadata": meta or None, "tags": tuple(tags)}
    assert key(replace(BASE, **noise)) == key()
    assert key(replace(BASE, **CHANGES[name], **noise)) != key()


def test_roles_tool_results_and_images_are_in_the_key() -> None:
    msgs = list(BASE.messages)
    variants = [
        replace(msgs[1], role="assistant"),
        replace(msgs[3], tool_call_id="c2"),
        replace(msgs[2], tool_calls=(ToolCall("c1", "weather", '{"city":"Rome"}'),)),
        replace(msgs[4], content=(TextPart("and this?"), ImagePart(url="https://x/z.png"))),
        replace(msgs[2], provider_state={"anthropic": {"thinking": "sig"}}),
    ]
    index = {id(v): i for i, v in zip((1, 3, 2, 4, 2), variants, strict=True)}
    keys = set()
    for v in variants:
        m = list(msgs)
        m[index[id(v)]] = v
        keys.add(key(replace(BASE, messages=tuple(m))))
    assert key() not in keys and len(keys) == len(variants)


def test_keys_gives_the_same_keys_as_cache_key() -> None:
    # the route-remembering form used on the hot path must be the function, byte for byte
    keys = Keys(limit=2)
    other = Route("fast", (Deployment("fast", replace(ROUTE.deployments[0].endpoint, model="gpt-4o")),))
    third = Route("slow", ROUTE.deployments)
    subjects = (SUBJECT, Subject(), Subject(user='a"b\\é'))
    for route in (ROUTE, other, third, ROUTE, other):  # past the limit: forgotten routes come back
        for subject in subjects:
            for change in (*CHANGES.values(), {}):
                req = replace(BASE, **change)
                space = namespace(subject)
                assert keys.key(req, route, space) == cache_key(req, route, space)
    assert keys.key(BASE, ROUTE, namespace(SUBJECT)) != keys.key(BASE, other, namespace(SUBJECT))


def test_namespace_is_the_json_of_the_subject() -> None:
    # stored beside entries and matched by `cache clear`: its text must not drift
    import json

    for s in (SUBJECT, Subject(), Subject(key_id="vk_é", team='a"b', user="\\n")):
        assert namespace(s) == json.dumps([s.key_id, s.team, s.user], separators=(",", ":"))
    assert namespace(SUBJECT, shared=True) == "shared"


def test_nested_mappings_are_canonical_whatever_their_order() -> None:
    a = replace(BASE, extra={"b": 1, "a": {"y": 2, "x": 3}}, extra_headers={"X-B": "1", "x-a": "2"})
    b = replace(BASE, extra={"a": {"x": 3, "y": 2}, "b": 1}, extra_headers={"x-a": "2", "x-b": "1"})
    assert key(a) == key(b)
    assert key(a) != key(replace(BASE, extra={"b": 1, "a": {"y": 2, "x": 4}}))
    assert request_form(BASE).keys() == set(FORM_FIELDS)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=4),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
        max_leaves=12,
    )
)
def test_the_fast_encoder_spells_values_as_the_json_module_does(value: Any) -> None:
    from llmrelay.cache.key import _ENCODER, _encode

    assert _encode([value]) == _ENCODER.encode([value])
