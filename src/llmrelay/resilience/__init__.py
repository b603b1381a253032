"""Resilience policies: retries, retry budgets, circuit breakers, routing, key pools.

The modules here are policy objects and small stateful stores; the middleware in
``llmrelay.middleware`` (``route``, ``retry``, ``hedge``, ``circuit``) puts them to work.
This package's ``__init__`` imports nothing, because ``llmrelay.settings`` reads its
configuration models from ``llmrelay.resilience.config``.
"""
