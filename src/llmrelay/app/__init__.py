"""The application toolkit: structured output, tool loops, prompts and conversations, on the public Client."""
