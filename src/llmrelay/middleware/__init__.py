"""The pipeline's layers, one module each; their order is ``llmrelay.middleware.stack.STACK``."""
