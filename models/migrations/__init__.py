"""Alembic migrations of the database schema; run by `models.schema` (no alembic.ini needed)."""
