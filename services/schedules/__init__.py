"""Cron schedules of reports: due-time arithmetic in a zone, exactly-once claims, the scheduler thread."""
