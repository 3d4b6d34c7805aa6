"""Rules: one module per rule, each declaring a ``RULE`` spec (see ``registry``)."""
