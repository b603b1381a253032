"""Resilience policies: retries, retry budgets, circuit breakers, routing, key pools, health.

The modules here are policy objects and small stateful stores; the layers in
``llmrelay.middleware`` (``route``, ``retry``, ``hedge``, ``circuit``) put them to work.
Their configuration models live in ``llmrelay.settings.resilience``.
"""
