"""refund accounting: the provider's cumulative refunded figure with its time, and refund state times

payments gain provider_refunded and provider_refunded_at (the newest cumulative figure the
provider reported, and the provider time it was true at); refunds gain status_at (the earliest
provider time the refund was known in its status). See hub/payments/apply.py for the rule.
A payment already refunded keeps what it shows as a figure from the start of time (0), so a
refund the hub knew only from a charge's figure (made in the Stripe Dashboard) still counts
after the upgrade, and any real figure replaces it. Existing refunds keep a NULL time: a refund
without a time may be in any figure, which never over-counts.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_refunded", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("provider_refunded_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_at", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE payments SET provider_refunded = amount_refunded, provider_refunded_at = 0 WHERE amount_refunded > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("status_at")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("provider_refunded_at")
        batch_op.drop_column("provider_refunded")
