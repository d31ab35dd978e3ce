"""Signed webhook deliveries of finished reports, persisted and retried (SPEC 7)."""
