"""Masking with reversible placeholders, and a rolling window for streamed text.

``Masker`` replaces findings with ``[EMAIL_1]``-style placeholders, remembering each
value for the call (the same value gets the same placeholder), so a reply that
mentions a placeholder can have the value put back (``restore``). It lives for one
call and is never logged: it holds the values.

``StreamScrubber`` guards text that arrives in pieces: it holds back the last
``window`` characters — and any run of non-space characters touching them — so a value
split across two chunks is seen whole before any of it is delivered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from llmrelay.observe.detect import Finding, Kind, find

_PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|CARD|IBAN|API_KEY|JWT)_\d{1,6}\]")
_MAX_PLACEHOLDER = len("[API_KEY_999999]")


@dataclass(slots=True)
class Masker:
    values: dict[str, str] = field(default_factory=dict)  # placeholder -> value
    _by_value: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: Kind, value: str) -> str:
        ph = self._by_value.get(value)
        if ph is None:
            n = self._counts[kind] = self._counts.get(kind, 0) + 1
            ph = f"[{kind.upper()}_{n}]"
            self.values[ph] = value
            self._by_value[value] = ph
        return ph

    def mask(self, text: str, findings: Iterable[Finding]) -> str:
        out: list[str] = []
        pos = 0
        for f in findings:
            out.append(text[pos : f.start])
            out.append(self.placeholder(f.kind, text[f.start : f.end]))
            pos = f.end
        out.append(text[pos:])
        return "".join(out)

    def restore(self, text: str) -> str:
        if not self.values:
            return text
        return _PLACEHOLDER.sub(lambda m: self.values.get(m.group(), m.group()), text)


def redact_findings(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with every finding replaced by ``[KIND]`` (irreversible)."""
    out: list[str] = []
    pos = 0
    for f in findings:
        out.append(text[pos : f.start])
        out.append(f"[{f.kind.upper()}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


@dataclass(slots=True)
class StreamScrubber:
    """Feed text pieces in, get back the text that is safe to deliver.

    ``process(text, findings)`` turns a settled stretch of text into what is delivered
    (masking, restoring placeholders, or raising to block). ``kinds`` are the detectors
    that run on the output."""

    kinds: tuple[Kind, ...]
    process: Callable[[str, list[Finding]], str]
    window: int = 256
    restoring: bool = False
    _buf: str = ""

    def feed(self, piece: str) -> str:
        self._buf += piece
        buf = self._buf
        cut = len(buf) - self.window
        if cut <= 0:
            return ""
        findings = find(buf, self.kinds)
        # never cut through a finding, nor through a run of non-space characters (a
        # key still arriving), nor through a placeholder that may still be completed
        for f in findings:
            if f.start < cut < f.end:
                cut = f.start
        while cut > 0 and not buf[cut - 1].isspace() and not buf[cut].isspace():
            cut -= 1
        if self.restoring:
            bracket = buf.rfind("[", max(0, cut - _MAX_PLACEHOLDER), cut)
            if bracket != -1 and "]" not in buf[bracket:cut]:
                cut = bracket
        if cut <= 0:
            return ""
        settled = [f for f in findings if f.end <= cut]
        self._buf = buf[cut:]
        return self.process(buf[:cut], settled)

    def flush(self) -> str:
        buf, self._buf = self._buf, ""
        return self.process(buf, find(buf, self.kinds)) if buf else ""
