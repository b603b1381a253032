"""A real Redis for the tests that need one: 127.0.0.1:6379, a unique key prefix, cleaned up.

Under CI (``CI=true``) a missing Redis fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

REDIS_URL = os.environ.get("LLMRELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_or_skip() -> object:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        reason = f"no Redis at {REDIS_URL} ({type(exc).__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": the distributed tests need it under CI")
        pytest.skip(reason)
    return client


async def clean(client: object, prefix: str) -> None:
    keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]  # type: ignore[attr-defined]
    if keys:
        await client.delete(*keys)  # type: ignore[attr-defined]


def unique_prefix() -> str:
    return f"llmrelay-test-{uuid.uuid4().hex[:12]}:"


async def redis_fixture() -> AsyncIterator[tuple[object, str]]:
    client = await redis_or_skip()
    prefix = unique_prefix()
    try:
        yield client, prefix
    finally:
        await clean(client, prefix)
        await client.aclose()  # type: ignore[attr-defined]
