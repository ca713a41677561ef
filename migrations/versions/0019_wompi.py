"""provider-neutral credentials and redirect flows: a plugin's other sealed secrets; a payment's
method type and the URL its buyer must be sent to

- ``provider_credentials.sealed_secrets_ct``: the plugin's ``SEALED`` credential fields (an
  integrity secret, say), as one vault ciphertext of a JSON object by field name.
- ``payments.payment_method_type``: the type of the method a payment was made with, when known
  (refunds check it against the plugin's declared capabilities).
- ``payments.next_action_url``: where the buyer must go while the payment waits for them (a bank).
- On PostgreSQL the trigger that tells every process's tenant-context cache about a credentials
  change (0006_cache_notify, made again by 0017) is made again to watch the new column too.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_COLUMNS = (
    "tenant_id, provider, version, publishable_key, secret_key_ct, webhook_secret_ct, "
    "previous_webhook_secret_ct, previous_webhook_secret_expires_at, connect_webhook_secret_ct"
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
    with op.batch_alter_table("provider_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_secrets_ct", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_method_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("next_action_url", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for statement in _trigger(f"{_COLUMNS}, sealed_secrets_ct"):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _trigger(_COLUMNS):
            op.execute(statement)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("next_action_url")
        batch_op.drop_column("payment_method_type")
    with op.batch_alter_table("provider_credentials", schema=None) as batch_op:
        batch_op.drop_column("sealed_secrets_ct")
