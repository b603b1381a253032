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

from llmrelay.simulator.engine import count_tokens, expected_text

#: reasoning tokens spent per token of the thought shown, by effort (shared by all protocols)
EFFORT_FACTOR = {"minimal": 1, "low": 2, "medium": 3, "high": 5, "xhigh": 8, "max": 10}


def thought_text(conversation: str, seed: int) -> str:
    """The model's (summarised) thought before answering ``conversation``."""
    return expected_text("thinking\x00" + conversation, seed=seed)


def thought_tokens(text: str, effort: str = "medium") -> int:
    """Output tokens the thinking cost: the shown text times the effort's factor."""
    return count_tokens(text) * EFFORT_FACTOR.get(effort, EFFORT_FACTOR["medium"])


def _mac(kind: str, payload: str, seed: int) -> bytes:
    key = f"llmrelay-simulator-{kind}:{seed}".encode()
    return hmac.new(key, payload.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def sign(kind: str, payload: str, seed: int) -> str:
    """A base64 signature of ``payload`` (``kind`` separates Anthropic's from Gemini's)."""
    # Padded to the length of a real signature blob: clients must carry long opaque strings.
    blob = _mac(kind, payload, seed) + hashlib.sha512(_mac(kind + "/pad", payload, seed)).digest()
    return base64.b64encode(blob).decode("ascii")


def verify(kind: str, payload: str, signature: str, seed: int) -> bool:
    """Whether ``signature`` is this simulator's signature of exactly ``payload``."""
    return hmac.compare_digest(signature.encode("ascii", "replace"), sign(kind, payload, seed).encode())
