"""Reasoning the simulator shows or hides, and the signatures that vouch for it on replay.

The thought is deterministic text derived from the seed and the conversation, like every
other reply. Its signature is an HMAC under a key derived from the simulator's seed: the
simulator can check that a replayed thought (Anthropic's ``thinking`` block, Gemini's
``thoughtSignature``) is byte-identical to what it sent, and refuses it otherwise, as the
providers do. Pure functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

from llmrelay.simulator.engine import count_tokens, expected_text

#: reasoning tokens spent per token of the thought shown, by effort (shared by all protocols)
EFFORT_FACTOR = {"minimal": 1, "low": 2, "medium": 3, "high": 5, "xhigh": 8, "max": 10}


def thought_text(conversation: str, seed: int) -> str:
    """The model's (summarised) thought before answering ``conversation``."""
    return expected_text("thinking\x00" + conversation, seed=seed)


def thought_tokens(text: str, effort: str = "medium") -> int:
    """Output tokens the thinking cost: the shown text times the effort's factor."""
    return count_tokens(text) * EFFORT_FACTOR.get(effort, EFFORT_FACTOR["medium"])


def _key(kind: str, seed: int) -> bytes:
    return f"llmrelay-simulator-{kind}:{seed}".encode()


def _digest(payload: str) -> bytes:
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).digest()


def sign(kind: str, payload: str, seed: int) -> str:
    """A base64 signature of ``payload`` (``kind`` separates Anthropic's from Gemini's).

    The blob is a MAC over the payload's digest, the digest itself and padding (the length of a
    real signature: clients must carry long opaque strings). Carrying the digest lets a check
    tell a forged signature from a signature of another text.
    """
    return sign_digest(kind, _digest(payload), seed)


def check(kind: str, payload: str, signature: str, seed: int) -> Literal["ok", "forged", "modified"]:
    """``ok`` when ``signature`` is this simulator's for exactly ``payload``; ``modified`` when it
    is a genuine signature of another payload; ``forged`` when it is not one of its own."""
    try:
        blob = base64.b64decode(signature.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return "forged"
    if len(blob) != 96 or not hmac.compare_digest(
        blob, base64.b64decode(sign_digest(kind, blob[32:64], seed))
    ):
        return "forged"
    return "ok" if hmac.compare_digest(blob[32:64], _digest(payload)) else "modified"


def sign_digest(kind: str, digest: bytes, seed: int) -> str:
    mac = hmac.new(_key(kind, seed), digest, hashlib.sha256).digest()
    pad = hashlib.sha256(mac + digest).digest()
    return base64.b64encode(mac + digest + pad).decode("ascii")


def verify(kind: str, payload: str, signature: str, seed: int) -> bool:
    """Whether ``signature`` is this simulator's signature of exactly ``payload``."""
    return check(kind, payload, signature, seed) == "ok"
