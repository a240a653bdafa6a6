"""Review app: blind second entries of restricted fields waiting for a match or a supervisor.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_second_entries",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("field_value_id", sa.BigInteger(), nullable=False),
        sa.Column("field_id", sa.String(128), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_second_entries")),
    )
    op.create_index("ix_review_second_entries_document_id", "review_second_entries", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_review_second_entries_document_id", table_name="review_second_entries")
    op.drop_table("review_second_entries")
