"""Spending budgets (``budget``) and rate limits (``ratelimit``), usable with or without a
Client; see docs/budgets-and-limits.md. Nothing is imported here: ``settings`` loads
``limits.config`` on every start, and should not pay for the rest."""
