"""The record store: batches, documents, field values, quarantine, the audit log and the outbox.

SQLite in the data dir by default, PostgreSQL by setting ``JIMU_DATABASE_URL``; Alembic migrations.
"""
