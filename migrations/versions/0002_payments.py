"""payments: the creation request's payment method, the in-flight marker, the status listing index

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_method", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("confirm", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("pending_op", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_payments_tenant_id_status_id", ["tenant_id", "status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_tenant_id_status_id")
        batch_op.drop_column("pending_since")
        batch_op.drop_column("pending_op")
        batch_op.drop_column("confirm")
        batch_op.drop_column("payment_method")
