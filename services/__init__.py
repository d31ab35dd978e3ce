"""Business logic: ingestion, the report engine, report jobs and the reload schedule."""
