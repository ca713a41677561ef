"""destination refunds: a refund that took the seller's share of a destination charge back

Refunds gain ``reversed_transfer``: the refund reversed the destination charge's transfer (and
refunded the platform's fee) in proportion to its amount. Payments gain
``amount_refund_reversed``: the part of ``amount_refunded`` made by such refunds, from which a
destination charge's ``amount_transferred`` (what the seller still holds) follows. No refund
before this revision reversed anything, so both start at false and 0.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reversed_transfer", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amount_refund_reversed", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("amount_refund_reversed")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("reversed_transfer")
