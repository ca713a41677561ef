"""transfers: release by transfer to sellers' connected accounts, and held authorizations' expiry

A ``transfers`` table (money sent from a payment to a connected account, with the amount the
provider confirmed reversed) and ``transfer_reversals`` (one row per reversal, written before
the provider is asked). Payments gain ``capture_before`` (the provider's last moment to capture
a held authorization), ``capture_warned_at`` (when the tenant was told it is near) and
``cancellation_reason`` (why the provider canceled it: ``automatic`` for a lapsed hold) and
``amount_transferred`` (its transfers less confirmed reversals), and a destination charge's
``transfer_to`` (the connected account) and ``application_fee_amount``.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capture_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("capture_warned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancellation_reason", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("transfer_to", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("application_fee_amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("amount_transferred", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.create_index("ix_payments_status_capture_before", ["status", "capture_before"], unique=False)
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("connected_account_id", sa.String(length=40), nullable=False),
        sa.Column("provider_transfer_id", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_reversed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'partially_reversed', 'reversed')", name=op.f("ck_transfers_status")
        ),
        sa.ForeignKeyConstraint(
            ["connected_account_id"],
            ["connected_accounts.id"],
            name=op.f("fk_transfers_connected_account_id_connected_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_transfers_payment_id_payments"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_transfers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint(
            "tenant_id", "provider_transfer_id", name=op.f("uq_transfers_tenant_id_provider_transfer_id")
        ),
    )
    op.create_index(op.f("ix_transfers_payment_id"), "transfers", ["payment_id"], unique=False)
    op.create_index(op.f("ix_transfers_tenant_id"), "transfers", ["tenant_id"], unique=False)
    op.create_table(
        "transfer_reversals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("transfer_id", sa.String(length=40), nullable=False),
        sa.Column("refund_id", sa.String(length=40), nullable=True),
        sa.Column("provider_reversal_id", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_transfer_reversals_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfer_reversals_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_reversals")),
        sa.UniqueConstraint(
            "tenant_id", "provider_reversal_id", name=op.f("uq_transfer_reversals_tenant_id_provider_reversal_id")
        ),
    )
    op.create_index(op.f("ix_transfer_reversals_refund_id"), "transfer_reversals", ["refund_id"], unique=False)
    op.create_index(op.f("ix_transfer_reversals_tenant_id"), "transfer_reversals", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_transfer_reversals_transfer_id"), "transfer_reversals", ["transfer_id"], unique=False)


def downgrade() -> None:
    op.drop_table("transfer_reversals")
    op.drop_table("transfers")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status_capture_before")
        batch_op.drop_column("amount_transferred")
        batch_op.drop_column("application_fee_amount")
        batch_op.drop_column("transfer_to")
        batch_op.drop_column("cancellation_reason")
        batch_op.drop_column("capture_warned_at")
        batch_op.drop_column("capture_before")
