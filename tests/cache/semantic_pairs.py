"""A small labelled set for the semantic cache: questions that mean the same, and
questions on the same subject that do not (the hard negatives a cache must not confuse)."""

from __future__ import annotations

#: the same question in other words: the second should be served the first's answer
PARAPHRASES: tuple[tuple[str, str], ...] = (
    ("How do I reset my password?", "How can I reset my password?"),
    ("What is the capital of France?", "Which city is the capital of France?"),
    ("How do I cancel my subscription?", "How can I cancel my subscription?"),
    ("What are your opening hours?", "What are your hours of opening?"),
    ("How do I delete my account?", "How can I delete my account?"),
    ("What is the boiling point of water?", "At what temperature does water boil?"),
    ("Can I get a refund for my order?", "Is it possible to get a refund for my order?"),
    ("How long does shipping take?", "How long does it take to ship?"),
    ("Who wrote Pride and Prejudice?", "Who is the author of Pride and Prejudice?"),
    ("How do I change my email address?", "How can I change my email address?"),
)

#: related but different questions: the second must not get the first's answer
DIFFERENT: tuple[tuple[str, str], ...] = (
    ("What is the capital of France?", "What is the capital of Germany?"),
    ("How do I reset my password?", "How do I reset my router?"),
    ("How do I cancel my subscription?", "How do I upgrade my subscription?"),
    ("What is the boiling point of water?", "What is the freezing point of water?"),
    ("Who wrote Pride and Prejudice?", "Who wrote Hamlet?"),
    ("How long does shipping take?", "How much does shipping cost?"),
    ("How do I delete my account?", "How do I create an account?"),
    ("What are your opening hours?", "Where is your office?"),
    ("Can I get a refund for my order?", "Can I change the delivery address of my order?"),
    ("How do I bake bread?", "What is the speed of light?"),
)
