from __future__ import annotations

from llmrelay.resilience.keys import KeyPool
from llmrelay.secrets import Secret

A, B, C = Secret("sk-key-aaaaaaaa"), Secret("sk-key-bbbbbbbb"), Secret("sk-key-cccccccc")


def test_rotation_skips_cooling_and_revoked_keys() -> None:
    pool = KeyPool([A, B, C])
    assert [pool.take(0).key for _ in range(4)] == [A, B, C, A]  # type: ignore[union-attr]
    b = pool.slots[1]
    pool.cool(b, until=10)
    assert [pool.take(1).key for _ in range(3)] == [C, A, C]  # type: ignore[union-attr]
    pool.revoke(pool.slots[2])
    assert [pool.take(2).key for _ in range(2)] == [A, A]  # type: ignore[union-attr]
    assert pool.take(10).key in (A, B)  # type: ignore[union-attr]
    assert pool.revoked == [C.fingerprint]


def test_available_in() -> None:
    pool = KeyPool([A, B])
    assert pool.available_in(0) == 0
    pool.cool(pool.slots[0], 5)
    pool.cool(pool.slots[1], 8)
    assert pool.available_in(1) == 4
    assert pool.take(1) is None
    pool.cool(pool.slots[0], 2)  # a shorter cool-down never shortens a longer one
    assert pool.available_in(1) == 4
    pool.revoke(pool.slots[0])
    pool.revoke(pool.slots[1])
    assert pool.available_in(100) is None


def test_keyless_deployments_have_one_slot() -> None:
    pool = KeyPool([])
    slot = pool.take(0)
    assert slot is not None and slot.key is None and slot.fingerprint == "no-key"
    assert len(pool) == 1


def test_reports_never_show_a_key() -> None:
    pool = KeyPool([A])
    pool.revoke(pool.slots[0])
    text = repr(pool) + repr(pool.slots) + str(pool.revoked)
    assert "sk-key" not in text and A.fingerprint in str(pool.revoked)
