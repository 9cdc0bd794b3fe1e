"""segments: unintelligible — speech Whisper only turned into repetition loops

Such a segment keeps its start and end and stores no text; pages show a marker, search and
captions leave it out.

Revision ID: 0007
Revises: 0010 (the head when this was written; numbers were reserved per change)
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unintelligible", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_column("unintelligible")
