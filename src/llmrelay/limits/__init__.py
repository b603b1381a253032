"""Spending budgets (``budget``) and rate limits (``ratelimit``), usable with or without a
Client; see docs/budgets-and-limits.md. Their configuration models live in
``llmrelay.settings.limits``."""
