"""tenant context invalidation: PostgreSQL triggers that NOTIFY each process's context cache

Every process keeps tenants' decrypted credentials in memory (hub/tenancy/contexts.py). These
triggers send ``NOTIFY hub_tenant_contexts, '<tenant id>'`` in the very transaction that changes
a tenant's credentials, its status, or deletes it, so the notice is delivered exactly when the
change commits, whichever code (or operator's SQL) made it. SQLite has no NOTIFY: the cache
there keeps entries for at most a second, so this revision does nothing on SQLite.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The columns that alter a decrypted context (hub.tenancy.contexts.CONTEXT_COLUMNS); others
# (verified_at, a last-event time) change often and must not empty every worker's cache.
_CREDENTIAL_COLUMNS = (
    "tenant_id, provider, version, publishable_key, secret_key_ct, webhook_secret_ct, "
    "previous_webhook_secret_ct, previous_webhook_secret_expires_at"
)

_UPGRADE = [
    """
    CREATE FUNCTION hub_notify_tenant_context() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'tenants' THEN
            PERFORM pg_notify('hub_tenant_contexts', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
        ELSE
            PERFORM pg_notify(
                'hub_tenant_contexts', CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END
            );
            IF TG_OP = 'UPDATE' AND NEW.tenant_id <> OLD.tenant_id THEN
                PERFORM pg_notify('hub_tenant_contexts', OLD.tenant_id);
            END IF;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE TRIGGER hub_provider_credentials_notify
    AFTER INSERT OR DELETE OR UPDATE OF {_CREDENTIAL_COLUMNS} ON provider_credentials
    FOR EACH ROW EXECUTE FUNCTION hub_notify_tenant_context()
    """,
    """
    CREATE TRIGGER hub_tenants_notify
    AFTER DELETE OR UPDATE OF status ON tenants
    FOR EACH ROW EXECUTE FUNCTION hub_notify_tenant_context()
    """,
]

_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS hub_tenants_notify ON tenants",
    "DROP TRIGGER IF EXISTS hub_provider_credentials_notify ON provider_credentials",
    "DROP FUNCTION IF EXISTS hub_notify_tenant_context()",
]


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgresql():
        for statement in _UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if _postgresql():
        for statement in _DOWNGRADE:
            op.execute(statement)
