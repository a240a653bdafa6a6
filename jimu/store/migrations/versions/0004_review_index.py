"""Review at scale: each document's review stage and flag reasons kept beside it (indexed, so the
work list, /next and the supervisor's queue read one page, not the whole backlog), assignment,
postponement and escalation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NEW_COLUMNS = (
    ("review_stage", sa.String(16)),
    ("review_flagged", sa.Integer()),
    ("assignee", sa.String(64)),
    ("postponed_until", sa.DateTime(timezone=True)),
    ("postponed_by", sa.String(64)),
    ("postpone_reason", sa.Text()),
    ("escalated_by", sa.String(64)),
    ("escalation_reason", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("documents") as b:
        for name, type_ in NEW_COLUMNS:
            b.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ix_documents_review_queue", "documents", ["review_stage", "created_at", "id"])
    op.create_index("ix_documents_assignee", "documents", ["assignee"])
    op.create_index("ix_documents_state_review_stage", "documents", ["state", "review_stage"])
    op.create_table(
        "review_reasons",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(36),
                  sa.ForeignKey("documents.id", name=op.f("fk_review_reasons_document_id_documents"), ondelete="CASCADE"),
                  nullable=False),
        sa.Column("words", sa.String(400), nullable=False),
        sa.Column("fields", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reasons")),
    )
    op.create_index("ix_review_reasons_document_id", "review_reasons", ["document_id"])
    op.create_index("ix_review_reasons_words", "review_reasons", ["words"])


def downgrade() -> None:
    op.drop_index("ix_review_reasons_words", table_name="review_reasons")
    op.drop_index("ix_review_reasons_document_id", table_name="review_reasons")
    op.drop_table("review_reasons")
    op.drop_index("ix_documents_state_review_stage", table_name="documents")
    op.drop_index("ix_documents_assignee", table_name="documents")
    op.drop_index("ix_documents_review_queue", table_name="documents")
    with op.batch_alter_table("documents") as b:
        for name, _ in reversed(NEW_COLUMNS):
            b.drop_column(name)
