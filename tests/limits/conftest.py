from __future__ import annotations

import pytest
from tests.limits.redis_support import redis_fixture


@pytest.fixture
async def redis():
    """(client, unique key prefix) on the machine's Redis; keys removed afterwards."""
    async for pair in redis_fixture():
        yield pair
