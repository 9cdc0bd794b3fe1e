"""segments: unintelligible — speech Whisper only turned into repetition loops

Such a segment keeps its start and end and stores no text; pages show a marker, search and
captions leave it out.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0010"  # the head when this was written; numbers were reserved per change


def upgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unintelligible", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_column("unintelligible")
