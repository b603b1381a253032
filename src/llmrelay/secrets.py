"""Secret values (API keys) that cannot leak by accident.

A ``Secret`` never shows its value in ``repr``/``str``/f-strings, pickles or logs;
code that really needs it calls ``reveal()``. It is identified in reports by a
fingerprint (a short SHA-256 prefix) which is safe to print.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import NoReturn

# Shapes of well-known provider keys; used to scrub text we did not write ourselves
# (provider error messages sometimes echo part of the key that was sent).
_KEY_PATTERNS = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{6,}|sk-[A-Za-z0-9_\-]{6,}|AIza[0-9A-Za-z_\-]{10,}"
    r"|gsk_[A-Za-z0-9]{6,}|xai-[A-Za-z0-9]{6,}|Bearer\s+[A-Za-z0-9._\-]{6,})"
)


class Secret:
    __slots__ = ("_fingerprint", "_value")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret value must be a string")
        self._value = value
        self._fingerprint: str | None = None  # computed once: key pools look it up per attempt

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        """A stable, non-reversible identifier: the first 8 hex digits of SHA-256."""
        fp = self._fingerprint
        if fp is None:
            fp = self._fingerprint = hashlib.sha256(self._value.encode()).hexdigest()[:8]
        return fp

    def __repr__(self) -> str:
        return f"Secret(fingerprint={self.fingerprint})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled")


def redact(text: str, secrets: Iterable[Secret | str] = ()) -> str:
    """Remove known secret values and anything shaped like a provider key from ``text``."""
    for s in secrets:
        value = s.reveal() if isinstance(s, Secret) else s
        if value and len(value) >= 4:
            text = text.replace(value, "[REDACTED]")
    return _KEY_PATTERNS.sub("[REDACTED]", text)
