"""The simulator's own RPM limit (``rpm_limit`` over a sliding ``rate_window``)."""

from __future__ import annotations

import re

import httpx2
import pytest

from llmrelay.errors import ConfigError
from llmrelay.simulator import Simulator, SimulatorConfig

BODIES = {
    "/v1/chat/completions": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    "/v1/messages": {
        "model": "claude-haiku-4-5",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "/v1beta/models/gemini-2.5-flash:generateContent": {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}]
    },
}


@pytest.mark.parametrize("kwargs", [{"rpm_limit": 0}, {"rate_window": 0}, {"rate_window": -1.0}])
def test_bad_knobs(kwargs) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        SimulatorConfig(**kwargs)


@pytest.mark.parametrize("path", list(BODIES))
async def test_requests_beyond_the_limit_get_429_until_the_window_moves_on(path: str) -> None:
    # The window slides on the simulator's clock: the test moves it on instead of sleeping, so
    # a loaded machine that takes long over the first three requests cannot let the window
    # pass early, as a 0.3 s real-time window could.
    window = 60.0
    sim = Simulator(SimulatorConfig(rpm_limit=2, rate_window=window))
    headers = {"anthropic-version": "2023-06-01"}
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(sim.app), base_url="http://sim") as client:
        first = [await client.post(path, json=BODIES[path], headers=headers) for _ in range(3)]
        assert [r.status_code for r in first] == [200, 200, 429]
        refused = first[2]
        if "gemini" in path:  # Gemini says when in the body (RetryInfo), the others in a header
            found = re.search(r'"retryDelay": ?"(\d+)s"', refused.text)
            assert found is not None, refused.text
            wait = int(found.group(1))
        else:
            wait = int(refused.headers["retry-after"])  # whole seconds, rounded up
        assert 0 < wait <= window
        sim.clock.advance(window / 2)  # the first two requests are still within the window
        assert (await client.post(path, json=BODIES[path], headers=headers)).status_code == 429
        sim.clock.advance(window / 2)
        assert (await client.post(path, json=BODIES[path], headers=headers)).status_code == 200
    assert sim.stats.rate_limited == 2
    assert sim.stats.peak_window_requests == 2
    assert sim.stats.statuses[429] == 2
    assert sim.stats.snapshot()["peak_window_requests"] == 2


async def test_no_limit_by_default() -> None:
    sim = Simulator()
    body = BODIES["/v1/chat/completions"]
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(sim.app), base_url="http://sim") as client:
        statuses = {(await client.post("/v1/chat/completions", json=body)).status_code for _ in range(20)}
    assert statuses == {200}
    assert sim.stats.rate_limited == 0 and sim.stats.peak_window_requests == 0
