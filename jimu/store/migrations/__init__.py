"""Alembic migrations of the record store (``alembic.ini`` at the repository root points here)."""
