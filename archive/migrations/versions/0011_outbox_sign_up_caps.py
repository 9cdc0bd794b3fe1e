"""outbox: who a confirmation mail was asked for, to cap alert sign-ups

A confirmation mail records the normalised address it goes to (``+tags`` and letter case
stripped) and the client that asked for it, so the sign-up caps count per mailbox, per client and
overall. Earlier rows keep NULL: the caps look back one hour only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("client", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_outbox_recipient", ["recipient"])
        batch_op.create_index("ix_outbox_client", ["client"])
        batch_op.create_index("ix_outbox_kind_created_at", ["kind", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_kind_created_at")
        batch_op.drop_index("ix_outbox_client")
        batch_op.drop_index("ix_outbox_recipient")
        batch_op.drop_column("client")
        batch_op.drop_column("recipient")
