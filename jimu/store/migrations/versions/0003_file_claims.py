"""Fan-out: inbox files claimed by workers (owner and lease), the ledger of files read.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("batches") as b:
        b.add_column(sa.Column("owner", sa.String(128), nullable=True))
    op.create_table(
        "file_claims",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("file_key", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(36), sa.ForeignKey("batches.id", name=op.f("fk_file_claims_batch_id_batches")),
                  nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("ward", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'claimed', 'done')", name=op.f("ck_file_claims_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_claims")),
        sa.UniqueConstraint("file_key", name=op.f("uq_file_claims_file_key")),
    )
    op.create_index("ix_file_claims_batch_state", "file_claims", ["batch_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_file_claims_batch_state", table_name="file_claims")
    op.drop_table("file_claims")
    with op.batch_alter_table("batches") as b:
        b.drop_column("owner")
