"""Live monitoring (SPEC 10): polls as they arrive, live store status, alerts and the event stream."""
