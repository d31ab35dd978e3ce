"""Access control (SPEC 8): API keys, the principal behind a request, and tenant scoping."""
