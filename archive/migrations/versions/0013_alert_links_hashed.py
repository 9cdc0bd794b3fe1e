"""alert link secrets stored as SHA-256 digests, one per mail (alerts.token goes)

Links in mails already sent keep working: each alert's old token is kept as the digest of the
secret those mails carry.
"""

import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    bind = op.get_bind()
    digests = [
        (alert_id, hashlib.sha256(token.encode()).hexdigest())
        for alert_id, token in bind.execute(sa.text("SELECT id, token FROM alerts")).all()
    ]
    # The column goes before the links table exists: on SQLite the batch rebuild drops and
    # recreates ``alerts``, which would cascade into links already written.
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("token")
    op.create_table(
        "alert_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_alert_links_alert_id", "alert_links", ["alert_id"])
    for alert_id, digest in digests:
        bind.execute(
            sa.text(
                "INSERT INTO alert_links (token_hash, alert_id, created_at)"
                " SELECT :h, id, created_at FROM alerts WHERE id = :i"
            ),
            {"h": digest, "i": alert_id},
        )


def downgrade() -> None:
    # The secrets are gone for good: each alert gets a new random token (links already mailed
    # stop working after a downgrade). The links table goes first (see upgrade).
    op.drop_index("ix_alert_links_alert_id", table_name="alert_links")
    op.drop_table("alert_links")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    for (alert_id,) in bind.execute(sa.text("SELECT id FROM alerts")).all():
        bind.execute(
            sa.text("UPDATE alerts SET token = :t WHERE id = :i"),
            {"t": secrets.token_urlsafe(32), "i": alert_id},
        )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column("token", nullable=False)
        batch_op.create_unique_constraint("uq_alerts_token", ["token"])
