from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.simulator.openai_harness import Harness, harness

from llmrelay.simulator import Fault, FaultSequence, SimulatorConfig
from llmrelay.simulator.engine import expected_text

USER = {"role": "user", "content": "What is the weather like?"}
AZURE = "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21"


@pytest.fixture
async def api() -> AsyncIterator[Harness]:
    async with harness(url=AZURE) as h:
        yield h


def chunks(text: str) -> list[dict[str, Any]]:
    data = [e.removeprefix("data: ") for e in text.split("\n\n") if e.strip()]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


async def test_azure_chat() -> None:
    async with harness(SimulatorConfig(api_keys=frozenset({"azure-key"})), url=AZURE) as h:
        r = await h.post({"messages": [USER]}, url=AZURE, headers={"api-key": "azure-key"})
        assert r.status_code == 200
        assert "apim-request-id" in r.headers
        body = r.json()
        assert body["model"] == "my-gpt"
        assert body["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
        assert body["choices"][0]["content_filter_results"]["violence"]["severity"] == "safe"
        assert body["choices"][0]["message"]["content"] == expected_text(USER["content"], seed=0)
        r = await h.post({"messages": [USER]}, url=AZURE, headers={"authorization": "Bearer azure-key"})
        assert r.status_code == 200
        r = await h.post({"messages": [USER]}, url=AZURE, headers={"api-key": "nope"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "401"


async def test_azure_stream_starts_with_prompt_filter_results(api: Harness) -> None:
    events = chunks((await api.post({"messages": [USER], "stream": True}, url=AZURE)).text)
    assert events[0]["choices"] == []
    assert events[0]["prompt_filter_results"][0]["prompt_index"] == 0
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[1:])
    assert text == expected_text(USER["content"], seed=0)


async def test_azure_needs_api_version_and_a_known_deployment() -> None:
    async with harness(SimulatorConfig(models=frozenset({"my-gpt"})), url=AZURE) as h:
        r = await h.post({"messages": [USER]}, url="/openai/deployments/my-gpt/chat/completions")
        assert r.status_code == 404
        assert r.json() == {"error": {"code": "404", "message": "Resource not found"}}
        r = await h.post({"messages": [USER]}, url=AZURE.replace("my-gpt", "other"))
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "DeploymentNotFound"


async def test_azure_rate_limit_shape() -> None:
    async with harness(faults=FaultSequence([Fault.rate_limited(retry_after=3)]), url=AZURE) as h:
        r = await h.post({"messages": [USER]}, url=AZURE)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "3"
        assert r.json()["error"]["code"] == "429"
        assert "Please retry after 3 seconds" in r.json()["error"]["message"]


async def test_azure_embeddings(api: Harness) -> None:
    url = "/openai/deployments/emb/embeddings?api-version=2024-10-21"
    r = await api.post({"input": "hello"}, url=url)
    assert r.status_code == 200
    assert r.json()["model"] == "emb"
