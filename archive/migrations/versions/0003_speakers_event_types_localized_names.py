"""speakers, event types, localized names, soft delete, reviewed segments"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "speakers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_kk", sa.String(length=255), nullable=True),
        sa.Column("name_ru", sa.String(length=255), nullable=True),
        sa.Column("name_en", sa.String(length=255), nullable=True),
        sa.Column("position", sa.String(length=500), nullable=True),
        sa.Column("body_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["bodies.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_kk", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("name_ru", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("name_en", sa.String(length=255), nullable=True))
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("speaker_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reviewed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_foreign_key(
            "fk_segments_speaker_id", "speakers", ["speaker_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_segments_speaker_id", type_="foreignkey")
        batch_op.drop_column("reviewed")
        batch_op.drop_column("speaker_id")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("event_type")
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.drop_column("name_en")
        batch_op.drop_column("name_ru")
        batch_op.drop_column("name_kk")
    op.drop_table("speakers")
