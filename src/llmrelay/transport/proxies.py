"""Proxies from the environment, with httpx2's rules (so they behave as they did under httpx2).

``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` (either case) and ``NO_PROXY`` (hosts,
``.suffix``, IP addresses and networks, ``*``) are read once, when a ``Transport`` is
built, and matched once per URL, so a request pays nothing for them.
"""

from __future__ import annotations

import os

import httpx2
from httpx2._utils import URLPattern, get_environment_proxies

_PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy")

ProxyRules = list[tuple[URLPattern, str | None]]


def environment_proxy_rules() -> ProxyRules | None:
    """The proxy rules, most specific first, or None when no proxy variable is set."""
    if not any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARS):
        return None
    rules = sorted((URLPattern(key), url) for key, url in get_environment_proxies().items())
    return rules or None


def proxy_for(url: httpx2.URL, rules: ProxyRules) -> str | None:
    """The proxy URL for ``url``, or None to connect directly (no rule, or a NO_PROXY one)."""
    for pattern, proxy in rules:
        if pattern.matches(url):
            return proxy
    return None
