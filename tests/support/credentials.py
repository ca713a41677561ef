"""Shared steps of the credential tests: the canonical keys and the stored rows."""

from __future__ import annotations

from sqlalchemy import select

from hub.db.tenants import AuditEntry
from hub.db.vault import ProviderCredential
from hub.tenancy.loader import load_context
from tests.support.problem import db_rows, db_session

PK = "pk_test_51AcmePublishable0001"
SK = "sk_test_51AcmeSecretKeyValue9876"
WH = "whsec_AcmeWebhookSecret0001"
URL = "/v1/providers/stripe/credentials"


def creds(**over):
    return {"publishable_key": PK, "secret_key": SK, "webhook_secret": WH, **over}


async def stored(hub, tenant_id: str) -> list[ProviderCredential]:
    return await db_rows(hub, select(ProviderCredential).where(ProviderCredential.tenant_id == tenant_id))


async def audit_rows(hub, tenant_id: str) -> list[AuditEntry]:
    return await db_rows(
        hub,
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.action.like("credentials.%"))
        .order_by(AuditEntry.created_at, AuditEntry.id),
    )


async def context(hub, tenant_id: str):
    services = hub.http.app.state.services
    async with db_session(hub) as session:
        return await load_context(session, services.vault, services.providers.get("stripe"), tenant_id)
