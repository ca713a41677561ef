"""connect: the tenant's connected accounts (marketplace sellers) and its Connect webhook secret

Table connected_accounts (one row per seller account at the tenant's provider, unique per
tenant, provider and provider account id); provider_credentials gains connect_webhook_secret_ct,
the vault-sealed signing secret of the tenant's Connect endpoint. On PostgreSQL the trigger that
tells every process's tenant-context cache about a credentials change (0006_cache_notify) is made
again to watch the new column too.

Revision ID: 0017
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

STATUS = ("onboarding", "active", "restricted", "rejected")
_COLUMNS = (
    "tenant_id, provider, version, publishable_key, secret_key_ct, webhook_secret_ct, "
    "previous_webhook_secret_ct, previous_webhook_secret_expires_at"
)


def _trigger(columns: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS hub_provider_credentials_notify ON provider_credentials",
        f"""
        CREATE TRIGGER hub_provider_credentials_notify
        AFTER INSERT OR DELETE OR UPDATE OF {columns} ON provider_credentials
        FOR EACH ROW EXECUTE FUNCTION hub_notify_tenant_context()
        """,
    ]


def upgrade() -> None:
    op.create_table(
        "connected_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("provider_account_id", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("business_type", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("charges_enabled", sa.Boolean(), nullable=False),
        sa.Column("payouts_enabled", sa.Boolean(), nullable=False),
        sa.Column("details_submitted", sa.Boolean(), nullable=False),
        sa.Column("transfers_enabled", sa.Boolean(), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("provider_updated_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"status IN ({', '.join(repr(v) for v in STATUS)})", name=op.f("ck_connected_accounts_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_connected_accounts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connected_accounts")),
        sa.UniqueConstraint(
            "tenant_id",
            "provider",
            "provider_account_id",
            name=op.f("uq_connected_accounts_tenant_id_provider_provider_account_id"),
        ),
    )
    with op.batch_alter_table("connected_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_connected_accounts_tenant_id_id", ["tenant_id", "id"], unique=False)
    with op.batch_alter_table("provider_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connect_webhook_secret_ct", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for statement in _trigger(f"{_COLUMNS}, connect_webhook_secret_ct"):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _trigger(_COLUMNS):
            op.execute(statement)
    with op.batch_alter_table("provider_credentials", schema=None) as batch_op:
        batch_op.drop_column("connect_webhook_secret_ct")
    with op.batch_alter_table("connected_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_connected_accounts_tenant_id_id")
    op.drop_table("connected_accounts")
