from __future__ import annotations

import json

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from llmrelay.simulator.responses import (
    ResetResponse,
    SimulatedReset,
    TruncatedResponse,
    dumps,
    json_response,
    sse_data,
)


def test_dumps_is_compact_utf8() -> None:
    assert dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()


def test_sse_data_frames_events() -> None:
    assert sse_data({"x": 1}) == b'data: {"x":1}\n\n'
    assert sse_data({"x": 1}, event="ping") == b'event: ping\ndata: {"x":1}\n\n'


def _app(response: Response) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return response

    return Starlette(routes=[Route("/", endpoint)])


async def test_json_response_carries_status_and_headers() -> None:
    app = _app(json_response({"ok": True}, status=201, headers={"x-a": "b"}))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url="http://t") as client:
        r = await client.get("/")
    assert r.status_code == 201
    assert r.headers["x-a"] == "b"
    assert r.headers["content-type"] == "application/json"
    assert json.loads(r.content) == {"ok": True}


@pytest.mark.parametrize("response", [ResetResponse(), TruncatedResponse(b'{"a": "long body"}')])
async def test_broken_responses_drop_the_connection(response: Response) -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(_app(response)), base_url="http://t"
    ) as client:
        with pytest.raises(SimulatedReset):
            await client.get("/")
    assert issubclass(SimulatedReset, ConnectionResetError)
