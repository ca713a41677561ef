"""What a storefront shows its buyer before paying, read from the tenant's provider: the terms the
buyer must accept, and the banks a bank-transfer method offers (``Provider.terms``,
``Provider.institutions``). A provider without them answers 422 ``not_supported``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.operations.driver import end
from hub.payments import schemas
from hub.services import Services
from hub.tenancy.loader import provider_by_name
from providers.base.provider import Provider, TenantContext


async def _context(
    session: AsyncSession, services: Services, who: TenantPrincipal, name: str
) -> tuple[Provider, TenantContext]:
    provider = provider_by_name(services, name)
    ctx = await services.tenant_contexts.for_request(provider, who.tenant_id, who.stored(provider.name))
    await end(session)  # hold nothing while the provider is called
    return provider, ctx


async def acceptance(session: AsyncSession, services: Services, who: TenantPrincipal, name: str) -> schemas.Acceptance:
    provider, ctx = await _context(session, services, who, name)
    terms = await provider.terms(ctx)
    return schemas.Acceptance(
        acceptance_token=terms.acceptance_token,
        permalink=terms.permalink,
        personal_data_token=terms.personal_data_token,
        personal_data_permalink=terms.personal_data_permalink,
    )


async def banks(
    session: AsyncSession, services: Services, who: TenantPrincipal, name: str, method_type: str
) -> schemas.BankList:
    provider, ctx = await _context(session, services, who, name)
    found = await provider.institutions(ctx, method_type)
    return schemas.BankList(data=[schemas.Bank(code=i.code, name=i.name) for i in found])
