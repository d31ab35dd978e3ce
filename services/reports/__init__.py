"""The report engine and builder: uptime and downtime from polls, hours and zones (SPEC 2)."""
