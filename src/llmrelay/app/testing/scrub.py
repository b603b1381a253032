"""Scrubbing secrets out of recorded traffic, before anything is kept or written.

A ``Scrubber`` replaces, everywhere in a recorded exchange:

* the values of credential headers (``Authorization``, ``x-api-key``, ``api-key``,
  ``x-goog-api-key``, ``Proxy-Authorization``, cookies) — by name;
* the values of credential query parameters (``key=``, Gemini's) — by name;
* every value it has seen in those places, wherever else it turns up (a provider echoing
  the key in an error message, a body that quotes it);
* text shaped like a provider key (``sk-…``, ``sk-ant-…``, ``AIza…``, ``gsk_…``, ``xai-…``);
* the caller's own ``patterns`` (regular expressions: customer emails, internal hosts).

The same scrubbing runs on a live request before it is matched against a cassette, so a
request whose recorded form was scrubbed still matches itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from llmrelay.app.testing.errors import CassetteError

#: what every scrubbed value becomes
REDACTED = "REDACTED"

#: header names (lower case) whose values are credentials
SECRET_HEADERS: frozenset[str] = frozenset(
    (
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
    )
)

#: query parameters whose values are credentials (Gemini takes its key as ``?key=``)
SECRET_QUERY: frozenset[str] = frozenset(("key", "api_key", "api-key"))

# Shapes of provider keys. Bounded on the left so that "task-…" or "risk-…" in a model's
# answer is never mistaken for one, and long enough that ordinary words are not.
KEY_SHAPES: tuple[str, ...] = (
    r"(?<![A-Za-z0-9_-])sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}",
    r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{30,}",
    r"(?<![A-Za-z0-9_-])gsk_[A-Za-z0-9]{16,}",
    r"(?<![A-Za-z0-9_-])xai-[A-Za-z0-9]{16,}",
)

# A seen value shorter than this is not scrubbed wherever it appears (a key of "x" would
# otherwise blank out every x); it is still scrubbed from its header or parameter.
_MIN_LITERAL = 8


class Scrubber:
    """Removes credentials and ``patterns`` from requests and responses (see the module doc).

    ``secrets`` are literal values to remove wherever they appear (the keys a test uses).
    ``headers`` and ``query`` add names to the defaults. Patterns are Python regular
    expressions; an invalid one is refused here, naming it.
    """

    __slots__ = ("_headers", "_literals", "_pattern", "_query")

    def __init__(
        self,
        patterns: Iterable[str | re.Pattern[str]] = (),
        *,
        secrets: Iterable[str] = (),
        headers: Iterable[str] = (),
        query: Iterable[str] = (),
    ) -> None:
        compiled: list[str] = list(KEY_SHAPES)
        for p in patterns:
            source = p.pattern if isinstance(p, re.Pattern) else p
            if not isinstance(source, str) or not source:
                raise CassetteError(f"a scrub pattern must be a non-empty regular expression, got {p!r}")
            try:
                re.compile(source)
            except re.error as exc:
                raise CassetteError(
                    f"the scrub pattern {source!r} is not a valid regular expression: {exc}"
                ) from None
            compiled.append(source)
        self._pattern = re.compile("|".join(f"(?:{s})" for s in compiled))
        self._headers = SECRET_HEADERS | {h.lower() for h in headers}
        self._query = SECRET_QUERY | {q.lower() for q in query}
        self._literals: set[str] = set()
        for s in secrets:
            self.learn(s)

    def learn(self, value: str) -> None:
        """Remember a secret value, to be removed wherever it appears from now on."""
        value = value.strip()
        if value.lower().startswith("bearer "):
            value = value[7:].strip()
        if len(value) >= _MIN_LITERAL:
            self._literals.add(value)

    def text(self, text: str) -> str:
        """``text`` with every known secret and pattern replaced."""
        # Longest first: a key that contains another known value is removed whole.
        for value in sorted(self._literals, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        return self._pattern.sub(REDACTED, text)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Names lower-cased; credential headers' values learnt and replaced."""
        out: dict[str, str] = {}
        for name, value in headers.items():
            key = name.lower()
            if key in self._headers:
                self.learn(value)
                out[key] = REDACTED
            else:
                out[key] = value
        return {k: (v if k in self._headers else self.text(v)) for k, v in out.items()}

    def url(self, url: str) -> str:
        """``url`` with credential query values learnt and replaced, user info dropped, and
        the query sorted (so that parameter order does not decide a match)."""
        parts = urlsplit(url)
        if parts.password:
            self.learn(parts.password)
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        query = []
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name.lower() in self._query:
                self.learn(value)
                query.append((name, REDACTED))
            else:
                query.append((name, value))
        query.sort()
        rebuilt = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))
        return self.text(rebuilt)
