"""The application toolkit: features built on the public Client API only (so retries,
limits, cost and observability apply to them), one subpackage per feature."""
