"""live sessions: the broadcaster's page URL, published instead of the stream URL

A live stream URL can carry a stream key; it stays on the live session (staff only). The
recording's public ``source_url`` is the page URL staff give, if any: recordings captured before
this revision, whose ``source_url`` is their stream URL, lose it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("page_url", sa.String(length=2000), nullable=True))
    op.execute(
        "UPDATE recordings SET source_url = NULL WHERE EXISTS (SELECT 1 FROM live_sessions l"
        " WHERE l.recording_id = recordings.id AND l.url = recordings.source_url)"
    )


def downgrade() -> None:
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.drop_column("page_url")
