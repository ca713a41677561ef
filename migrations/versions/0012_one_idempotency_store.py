"""one idempotency store: drop request_claims and the per-table Idempotency-Key columns

Every route that honours Idempotency-Key now keeps it in idempotency_records (0010): the
payments' and notification endpoints' own key and fingerprint columns, and the recurring
routes' request_claims table, are no longer read or written.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: (table, unique constraint on (tenant_id, idempotency_key)) of the tables that kept their own keys.
OWN_KEYS = (
    ("payments", "uq_payments_tenant_id_idempotency_key"),
    ("notification_endpoints", "uq_notification_endpoints_tenant_id_idempotency_key"),
)


def upgrade() -> None:
    op.drop_table("request_claims")
    for table, unique in OWN_KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(unique, type_="unique")
            batch_op.drop_column("request_fingerprint")
            batch_op.drop_column("idempotency_key")


def downgrade() -> None:
    # The keys themselves are not brought back: rows made since carry none, as rows without a key did.
    for table, unique in OWN_KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
            batch_op.add_column(sa.Column("request_fingerprint", sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(unique, ["tenant_id", "idempotency_key"])
    op.create_table(
        "request_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("route", sa.String(length=60), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=40), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_request_claims_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_claims")),
        sa.UniqueConstraint(
            "tenant_id", "route", "idempotency_key", name=op.f("uq_request_claims_tenant_id_route_idempotency_key")
        ),
    )
