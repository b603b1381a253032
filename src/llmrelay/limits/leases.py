"""Leased amounts held in memory: what both in-memory backends keep for calls in flight."""

from __future__ import annotations


def expire(held: dict[str, tuple[int, float]], now: float) -> int:
    """Drop the entries whose lease has ended and return the amount they held.

    Entries sit in the order they were made and every lease has the same length, so the
    oldest expires first and the scan stops at the first live one. A holder that never
    settled (a leaked permit or reservation) is dropped here once its lease ends.
    """
    freed = 0
    while held:
        key = next(iter(held))
        amount, lease = held[key]
        if lease > now:
            break
        del held[key]
        freed += amount
    return freed
