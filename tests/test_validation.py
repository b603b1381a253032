import pytest

from llmrelay.errors import InvalidRequestError
from llmrelay.types import (
    ChatRequest,
    EmbeddingRequest,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
)
from llmrelay.validation import validate_embedding, validate_request

USER = (Message.user("hi"),)


def req(**kw):
    kw.setdefault("messages", USER)
    return ChatRequest(model="local", **kw)


def test_valid_request_passes():
    validate_request(
        req(
            temperature=0.7,
            top_p=1,
            max_tokens=10,
            stop=["\n"],
            seed=3,
            tools=[Tool("get_weather", parameters={"type": "object", "properties": {}})],
            tool_choice=ForcedTool("get_weather"),
            response_format=ResponseFormat.json_schema({"type": "object"}),
        )
    )


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("temperature", 2.5, "temperature must be between 0 and 2"),
        ("temperature", -0.1, "temperature"),
        ("temperature", "hot", "temperature must be a number"),
        ("temperature", True, "temperature must be a number"),
        ("top_p", 1.5, "top_p must be between 0 and 1"),
        ("presence_penalty", 3, "presence_penalty"),
        ("frequency_penalty", -2.5, "frequency_penalty"),
        ("max_tokens", 0, "max_tokens must be a positive integer"),
        ("max_tokens", 1.5, "max_tokens must be a positive integer"),
        ("seed", "x", "seed must be an integer"),
        ("stop", "abc", "stop must be a list"),
        ("stop", ["ok", ""], "non-empty"),
    ],
)
def test_out_of_range_parameters_are_refused_with_the_field_named(field, value, needle):
    with pytest.raises(InvalidRequestError, match=needle):
        validate_request(req(**{field: value}))


def test_empty_messages():
    with pytest.raises(InvalidRequestError, match="messages must be a non-empty list"):
        validate_request(req(messages=()))


def test_empty_user_content():
    with pytest.raises(InvalidRequestError, match=r"messages\[0\] \(user\) has empty content"):
        validate_request(req(messages=(Message.user("   "),)))


def test_only_system_messages():
    with pytest.raises(InvalidRequestError, match="only system"):
        validate_request(req(messages=(Message.system("be nice"),)))


def test_tool_result_without_its_call():
    msgs = (Message.user("hi"), Message.tool("call_1", "42"))
    with pytest.raises(InvalidRequestError, match="no earlier assistant message made that call"):
        validate_request(req(messages=msgs))


def test_tool_result_with_its_call_is_fine():
    msgs = (
        Message.user("weather?"),
        Message.assistant(tool_calls=[ToolCall("call_1", "get_weather", '{"city":"Oslo"}')]),
        Message.tool("call_1", "sunny"),
    )
    validate_request(req(messages=msgs))


def test_assistant_without_content_or_calls():
    with pytest.raises(InvalidRequestError, match="neither content nor tool_calls"):
        validate_request(req(messages=(Message.user("a"), Message.assistant(""))))


def test_tool_message_needs_id():
    with pytest.raises(InvalidRequestError, match="needs tool_call_id"):
        validate_request(req(messages=(Message.user("a"), Message(role="tool", content="x"))))


def test_bad_role():
    with pytest.raises(InvalidRequestError, match="role"):
        validate_request(req(messages=(Message(role="robot", content="x"),)))  # type: ignore[arg-type]


def test_image_needs_exactly_one_source_and_media_type():
    with pytest.raises(InvalidRequestError, match="exactly one of url or data"):
        validate_request(req(messages=(Message.user([TextPart("see"), ImagePart()]),)))
    with pytest.raises(InvalidRequestError, match="media_type"):
        validate_request(req(messages=(Message.user([ImagePart(data="AAAA")]),)))
    with pytest.raises(InvalidRequestError, match="http"):
        validate_request(req(messages=(Message.user([ImagePart(url="ftp://x/y.png")]),)))
    validate_request(req(messages=(Message.user([ImagePart.from_bytes(b"\x89PNG", "image/png")]),)))


def test_tool_problems():
    with pytest.raises(InvalidRequestError, match="is invalid"):
        validate_request(req(tools=[Tool("get weather")]))
    with pytest.raises(InvalidRequestError, match="declared twice"):
        validate_request(req(tools=[Tool("a"), Tool("a")]))
    with pytest.raises(InvalidRequestError, match="type 'object'"):
        validate_request(req(tools=[Tool("a", parameters={"type": "string"})]))
    with pytest.raises(InvalidRequestError, match="not among the tools offered"):
        validate_request(req(tools=[Tool("a")], tool_choice=ForcedTool("b")))
    with pytest.raises(InvalidRequestError, match="needs at least one tool"):
        validate_request(req(tool_choice="required"))
    with pytest.raises(InvalidRequestError, match="tool_choice must be"):
        validate_request(req(tools=[Tool("a")], tool_choice="sometimes"))  # type: ignore[arg-type]


def test_json_schema_needs_schema():
    with pytest.raises(InvalidRequestError, match="JSON Schema dict"):
        validate_request(req(response_format=ResponseFormat(type="json_schema")))


def test_embedding_validation():
    validate_embedding(EmbeddingRequest(model="m", inputs=["a"]))
    with pytest.raises(InvalidRequestError, match="non-empty list"):
        validate_embedding(EmbeddingRequest(model="m", inputs=[]))
    with pytest.raises(InvalidRequestError, match=r"inputs\[1\]"):
        validate_embedding(EmbeddingRequest(model="m", inputs=["a", ""]))
    with pytest.raises(InvalidRequestError, match="dimensions"):
        validate_embedding(EmbeddingRequest(model="m", inputs=["a"], dimensions=0))


# --------------------------------------------------------------------------- request fields

from llmrelay.types import PromptCache, Reasoning, SafetySetting  # noqa: E402


def test_request_fields_pass_when_valid():
    validate_request(
        req(
            reasoning=Reasoning(effort="xhigh", summary=True),
            prompt_cache=PromptCache(auto="1h", key="k", retention="24h", min_tokens=2048),
            service_tier="priority",
            top_k=40,
            safety_settings=[SafetySetting("HARM_CATEGORY_DANGEROUS_CONTENT", "BLOCK_NONE")],
            logprobs=True,
            top_logprobs=20,
            verbosity="medium",
            n=1,
            tools=(Tool("f", cache="5m"),),
            messages=(Message(role="user", content=(TextPart("x", cache="1h"),), cache="5m"),),
        )
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"n": 2}, "n=2: llmrelay returns one choice per call"),
        ({"top_k": 0}, "top_k must be an integer at least 1"),
        ({"top_logprobs": 21}, "top_logprobs must be an integer between 0 and 20"),
        ({"logprobs": False, "top_logprobs": 2}, "top_logprobs needs logprobs=True"),
        ({"service_tier": "scale"}, "service_tier must be one of auto, default, flex, priority"),
        ({"verbosity": "loud"}, "verbosity must be one of high, low, medium"),
        ({"reasoning": Reasoning(effort="extreme")}, "reasoning.effort must be one of"),  # type: ignore[arg-type]
        ({"reasoning": Reasoning(budget_tokens=-1)}, "reasoning.budget_tokens must be an integer at least 0"),
        (
            {"reasoning": Reasoning(summary="long")},
            "reasoning.summary must be one of auto, concise, detailed",
        ),  # type: ignore[arg-type]
        ({"reasoning": "low"}, "reasoning must be a llmrelay.Reasoning"),
        ({"prompt_cache": PromptCache(auto="10m")}, "prompt_cache.auto must be one of"),  # type: ignore[arg-type]
        (
            {"prompt_cache": PromptCache(retention="1d")},
            "prompt_cache.retention must be one of 24h, in_memory",
        ),  # type: ignore[arg-type]
        ({"prompt_cache": PromptCache(key="")}, "prompt_cache.key must be a non-empty string"),
        (
            {"safety_settings": [SafetySetting("HARASSMENT", "OFF")]},
            "safety_settings[0].category must be one of",
        ),
        (
            {"safety_settings": [SafetySetting("HARM_CATEGORY_HARASSMENT", "BLOCK_SOME")]},
            "threshold must be one of",
        ),
        (
            {"safety_settings": [SafetySetting("HARM_CATEGORY_HARASSMENT", "OFF")] * 2},
            "category HARM_CATEGORY_HARASSMENT is given twice",
        ),
        ({"tools": (Tool("f", cache="2h"),)}, "tools[0].cache must be one of 1h, 5m"),  # type: ignore[arg-type]
        ({"messages": (Message(role="user", content="x", cache="1d"),)}, "messages[0].cache must be one of"),  # type: ignore[arg-type]
    ],
)
def test_request_fields_out_of_range_fail_naming_the_field(changes, named):
    with pytest.raises(InvalidRequestError) as info:
        validate_request(req(**changes))
    assert named in str(info.value)
