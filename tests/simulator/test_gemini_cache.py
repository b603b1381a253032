"""Gemini cachedContents in the simulator: create, use, list, expire, delete, and the rules."""

from __future__ import annotations

from typing import Any

import pytest
from tests.simulator.test_gemini import KEY, WEATHER, client_for

from llmrelay.simulator import Simulator

LONG = " ".join(f"rule{i} applies here." for i in range(600))
FLASH = "/v1beta/models/gemini-2.5-flash:generateContent"


def resource(**extra: Any) -> dict[str, Any]:
    return {
        "model": "models/gemini-2.5-flash",
        "contents": [{"role": "user", "parts": [{"text": LONG}]}],
        "systemInstruction": {"parts": [{"text": "Answer from the rules."}]},
        "ttl": "300s",
        **extra,
    }


def ask(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "contents": [{"role": "user", "parts": [{"text": "Which rule applies?"}]}],
        "cachedContent": name,
        **extra,
    }


async def test_a_cache_is_used_as_if_its_contents_were_sent() -> None:
    sim = Simulator()
    async with client_for(sim) as http:
        created = await http.post("/v1beta/cachedContents", json=resource(displayName="rules"), headers=KEY)
        assert created.status_code == 200, created.text
        cache = created.json()
        assert cache["name"].startswith("cachedContents/") and cache["model"] == "models/gemini-2.5-flash"
        assert cache["displayName"] == "rules" and cache["usageMetadata"]["totalTokenCount"] > 1024
        used = (await http.post(FLASH, json=ask(cache["name"]), headers=KEY)).json()
        whole = {
            "contents": [*resource()["contents"], *ask("")["contents"]],
            "systemInstruction": resource()["systemInstruction"],
        }
        plain = (await http.post(FLASH, json=whole, headers=KEY)).json()
        assert used["candidates"][0]["content"] == plain["candidates"][0]["content"]
        meta = used["usageMetadata"]
        assert meta["cachedContentTokenCount"] == cache["usageMetadata"]["totalTokenCount"]
        assert meta["promptTokenCount"] == plain["usageMetadata"]["promptTokenCount"]
        listed = (await http.get("/v1beta/cachedContents", headers=KEY)).json()
        assert [c["name"] for c in listed["cachedContents"]] == [cache["name"]]
        assert (await http.get(f"/v1beta/{cache['name']}", headers=KEY)).json() == cache


async def test_a_cache_expires_and_can_be_deleted() -> None:
    sim = Simulator()
    async with client_for(sim) as http:
        first = (await http.post("/v1beta/cachedContents", json=resource(), headers=KEY)).json()
        second = (await http.post("/v1beta/cachedContents", json=resource(ttl="3600s"), headers=KEY)).json()
        sim.clock.advance(301)
        expired = await http.post(FLASH, json=ask(first["name"]), headers=KEY)
        assert expired.status_code == 403
        assert expired.json()["error"]["message"] == "CachedContent not found (or permission denied)"
        assert (await http.post(FLASH, json=ask(second["name"]), headers=KEY)).status_code == 200
        assert (await http.delete(f"/v1beta/{second['name']}", headers=KEY)).json() == {}
        assert (await http.post(FLASH, json=ask(second["name"]), headers=KEY)).status_code == 403
        unknown = await http.post(FLASH, json=ask("cachedContents/nope"), headers=KEY)
        assert unknown.status_code == 403 and unknown.json()["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("create", "use", "message"),
    [
        (
            resource(contents=[{"role": "user", "parts": [{"text": "short"}]}]),
            None,
            "Cached content is too small.",
        ),
        (resource(ttl="soon"), None, "cached_content.ttl"),
        (resource(), {"systemInstruction": {"parts": [{"text": "x"}]}}, "CachedContent can not be used with"),
        (resource(), {"tools": [{"functionDeclarations": [WEATHER]}]}, "CachedContent can not be used with"),
        (resource(model="models/gemini-2.5-flash-lite"), {}, "has to be the same"),
    ],
)
async def test_rules(create: dict[str, Any], use: dict[str, Any] | None, message: str) -> None:
    async with client_for(Simulator()) as http:
        created = await http.post("/v1beta/cachedContents", json=create, headers=KEY)
        if use is None:
            assert created.status_code == 400 and message in created.json()["error"]["message"]
            return
        r = await http.post(FLASH, json=ask(created.json()["name"], **use), headers=KEY)
        assert r.status_code == 400 and message in r.json()["error"]["message"]
