"""Initial schema: batches, documents, field values, audit log (append-only), outbox, users.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)

DOCUMENT_STATES = (
    "('received', 'extracting', 'review', 'accepted', 'delivered', 'quarantined', 'rejected', 'duplicate')"
)

# The audit log refuses UPDATE, DELETE (and, on PostgreSQL, TRUNCATE) in the database itself.
PG_APPEND_ONLY = [
    """
    CREATE OR REPLACE FUNCTION jimu_audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION jimu_audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION jimu_audit_log_append_only()
    """,
]
SQLITE_APPEND_ONLY = [
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("n_files", sa.Integer(), nullable=False),
        sa.Column("n_documents", sa.Integer(), nullable=False),
        sa.Column("n_accepted", sa.Integer(), nullable=False),
        sa.Column("n_review", sa.Integer(), nullable=False),
        sa.Column("n_quarantined", sa.Integer(), nullable=False),
        sa.Column("n_duplicate", sa.Integer(), nullable=False),
        sa.Column("n_rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('running', 'finished', 'failed')", name=op.f("ck_batches_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_table(
        "users",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('operator', 'supervisor', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("sha256", sa.String(80), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("ward", sa.String(32), nullable=True),
        sa.Column("form_id", sa.String(64), nullable=True),
        sa.Column("form_version", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=True),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("delivered_key", sa.String(64), nullable=True),
        sa.Column("content_key", sa.String(64), nullable=True),
        sa.Column("duplicate_of", sa.String(36), nullable=True),
        sa.Column("quarantine_code", sa.String(32), nullable=True),
        sa.Column("quarantine_message", sa.Text(), nullable=True),
        sa.Column("original_path", sa.Text(), nullable=True),
        sa.Column("scanned_at", TS, nullable=True),
        sa.Column("accepted_at", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("lock_owner", sa.String(64), nullable=True),
        sa.Column("lock_expires", TS, nullable=True),
        sa.CheckConstraint(f"state IN {DOCUMENT_STATES}", name=op.f("ck_documents_state")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_documents_batch_id_batches")),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["documents.id"], name=op.f("fk_documents_duplicate_of_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("sha256", name=op.f("uq_documents_sha256")),
    )
    op.create_index("ix_documents_batch_id", "documents", ["batch_id"])
    op.create_index("ix_documents_content_key", "documents", ["content_key"])
    op.create_index("ix_documents_record_id", "documents", ["record_id"])
    op.create_index("ix_documents_state", "documents", ["state"])
    op.create_table(
        "field_values",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("field_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons_json", sa.Text(), nullable=False),
        sa.Column("crop_png", sa.LargeBinary(), nullable=True),
        sa.Column("crop_path", sa.Text(), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("operator_value_json", sa.Text(), nullable=True),
        sa.Column("corrected_by", sa.String(64), nullable=True),
        sa.Column("corrected_at", TS, nullable=True),
        sa.Column("checked_by", sa.String(64), nullable=True),
        sa.Column("checked_at", TS, nullable=True),
        sa.Column("sensitivity", sa.String(16), nullable=False),
        sa.CheckConstraint("sensitivity IN ('normal', 'restricted')", name=op.f("ck_field_values_sensitivity")),
        sa.CheckConstraint("status IN ('accepted', 'flagged')", name=op.f("ck_field_values_status")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_field_values_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_values")),
        sa.UniqueConstraint("document_id", "field_id", name=op.f("uq_field_values_document_id_field_id")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=True),
        sa.Column("field_id", sa.String(128), nullable=True),
        sa.Column("old_value_masked", sa.Text(), nullable=True),
        sa.Column("new_value_masked", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_document_id", "audit_log", ["document_id"])
    op.create_table(
        "outbox",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_outbox_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "id"])

    dialect = op.get_bind().dialect.name
    for statement in PG_APPEND_ONLY if dialect == "postgresql" else SQLITE_APPEND_ONLY if dialect == "sqlite" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS jimu_audit_log_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("outbox")
    op.drop_index("ix_audit_log_document_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("field_values")
    op.drop_index("ix_documents_state", table_name="documents")
    op.drop_index("ix_documents_record_id", table_name="documents")
    op.drop_index("ix_documents_content_key", table_name="documents")
    op.drop_index("ix_documents_batch_id", table_name="documents")
    op.drop_table("documents")
    op.drop_table("users")
    op.drop_table("batches")
