"""Detectors for sensitive values and prompt injection: pure functions over text.

Each detector finds spans of one kind: ``email``, ``phone``, ``card`` (payment card
numbers that pass the Luhn check), ``iban`` (checked with ISO 13616's mod-97),
``api_key`` (the shapes of the major providers' keys and tokens) and ``jwt``. Checksums
keep look-alikes out: a 16-digit order number that fails Luhn is not a card.

``injection_score`` is a heuristic, not a classifier: it counts phrases that try to
override instructions or extract the system prompt. Plug a real classifier into the
guard layer for anything that matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

Kind: TypeAlias = Literal["email", "phone", "card", "iban", "api_key", "jwt"]
KINDS: tuple[Kind, ...] = ("email", "phone", "card", "iban", "api_key", "jwt")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    start: int
    end: int


_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
# international (+CC …), North American ((555) 123-4567, 555-123-4567), and national
# trunk-prefixed (0xx … as in the UK, France, Germany); digits counted afterwards
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?)(?:[\s.-]?\d{2,5}){1,4}"
    r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|0\d{1,4}(?:[\s.-]?\d{2,4}){2,4}"
    r")(?![\w])"
)
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
_API_KEY = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-ant-[A-Za-z0-9_-]{20,}"  # Anthropic
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"  # OpenAI
    r"|AIza[0-9A-Za-z_-]{35}"  # Google
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}"  # GitHub
    r"|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|gsk_[A-Za-z0-9]{20,}"  # Groq
    r"|xai-[A-Za-z0-9]{20,}"  # xAI
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|(?:sk|rk)_live_[A-Za-z0-9]{20,}"  # Stripe
    r")"
)
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}")


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _card_ok(text: str) -> bool:
    d = _digits(text)
    return 13 <= len(d) <= 19 and luhn(d)


def _phone_ok(text: str) -> bool:
    return 9 <= len(_digits(text)) <= 15


_RULES: dict[Kind, tuple[re.Pattern[str], Callable[[str], bool] | None]] = {
    "api_key": (_API_KEY, None),
    "jwt": (_JWT, None),
    "email": (_EMAIL, None),
    "iban": (_IBAN, iban_valid),
    "card": (_CARD, _card_ok),
    "phone": (_PHONE, _phone_ok),
}


def find(text: str, kinds: Iterable[Kind] = KINDS) -> list[Finding]:
    """Every finding of ``kinds`` in ``text``, in order, without overlaps (a card
    number is not also reported as a phone number: the earlier rule in ``_RULES`` wins)."""
    wanted = set(kinds)
    out: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for kind, (pattern, check) in _RULES.items():
        if kind not in wanted:
            continue
        for m in pattern.finditer(text):
            s, e = m.span()
            if check is not None and not check(m.group()):
                continue
            if any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            out.append(Finding(kind, s, e))
    out.sort(key=lambda f: f.start)
    return out


_INJECTION = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:previous|prior|above|earlier|all|your|system)\b"
        r".{0,20}\b(?:instructions?|prompts?|rules|directions|guidelines)\b",
        r"\b(?:reveal|show|print|repeat|output|leak)\b.{0,30}\b(?:system|hidden|initial|original)\s+"
        r"(?:prompt|instructions?|message)\b",
        r"\byou\s+are\s+now\b.{0,40}\b(?:DAN|unfiltered|jailbroken|unrestricted|no\s+longer)\b",
        r"\b(?:developer|god|jailbreak|DAN)\s+mode\b",
        r"\bdo\s+anything\s+now\b",
        r"\bpretend\b.{0,30}\b(?:no|without)\s+(?:rules|restrictions|filters|guidelines)\b",
        r"</?\s*system\s*>|<\|im_(?:start|end)\|>|\[/?INST\]|<<SYS>>",
        r"\bnew\s+instructions?\s*:",
    )
]


def injection_score(text: str) -> int:
    """How many distinct injection patterns ``text`` matches (0: none)."""
    return sum(1 for p in _INJECTION if p.search(text))
