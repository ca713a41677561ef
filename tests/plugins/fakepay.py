"""A test-only second payment provider, installed through the ``hub.providers`` entry-point group.

It keeps its payments in memory, per tenant, and honours idempotency keys; it proves that a
provider other than Stripe serves tenants through the hub's routes with no change to ``hub/``.
"""

from __future__ import annotations

import itertools
import time

from providers.base.capabilities import STRIPE_LIKE, Capabilities, CredentialField, CredentialRole, CredentialsSpec
from providers.base.errors import (
    CardDeclined,
    CredentialsFormatError,
    EventNotUnderstood,
    InvalidCredentials,
    InvalidState,
    SignatureInvalid,
)
from providers.base.payments import (
    CheckoutCreate,
    CheckoutSnapshot,
    CustomerCreate,
    CustomerSnapshot,
    NextAction,
    PaymentCreate,
    PaymentSnapshot,
    RefundSnapshot,
)
from providers.base.provider import Provider, TenantContext
from providers.base.statuses import RefundStatus
from providers.base.types import CredentialCheck, CredentialsInput, ProviderCredentials
from providers.base.webhooks import WebhookEndpoint


class FakeCredentials(ProviderCredentials):
    def __init__(self, publishable_key: str, secret_key: str, salt: str = "") -> None:
        self.mode = "test"
        self.publishable_key = publishable_key
        self._secret_key = secret_key
        self._salt = salt

    def secret_hint(self) -> str:
        return f"fsk_…{self._secret_key[-4:]}"


class FakePayProvider(Provider):
    name = "fakepay"
    # A wallet whose buyer is sent away to approve; the rest as a card gateway.
    capabilities = Capabilities(payment_method_types=("fakewallet",), redirect_flows=True)
    # Stripe's three fields and a fourth secret of its own: the hub seals and masks it unaided.
    credentials_spec = CredentialsSpec(
        fields=(*STRIPE_LIKE.fields, CredentialField("account_salt", "Account salt", CredentialRole.SEALED))
    )

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self._ids = itertools.count(1)
        self.payments: dict[tuple[str, str], dict] = {}
        self.refunds: dict[tuple[str, str], list[RefundSnapshot]] = {}
        self.by_key: dict[tuple[str, str], object] = {}
        self.calls: list[tuple[str, str]] = []

    def parse_credentials(self, raw: CredentialsInput) -> FakeCredentials:
        if not raw.publishable_key.startswith("fpk_"):
            raise CredentialsFormatError("publishable_key must start with fpk_", param="publishable_key")
        if not raw.secret_key.startswith("fsk_"):
            raise CredentialsFormatError("secret_key must start with fsk_", param="secret_key")
        salt = raw.extra.get("account_salt", "")
        if not salt.startswith("fsalt_"):
            raise CredentialsFormatError("account_salt must start with fsalt_", param="account_salt")
        return FakeCredentials(raw.publishable_key, raw.secret_key, salt)

    def secret_hint(self, credentials: ProviderCredentials) -> str:
        return credentials.secret_hint()

    async def check_credentials(self, ctx: TenantContext) -> CredentialCheck:
        creds = ctx.credentials
        assert isinstance(creds, FakeCredentials)
        if creds._secret_key.endswith("revoked"):
            raise InvalidCredentials("FakePay rejected the key")
        return CredentialCheck(ok=True, mode="test", latency_ms=0)

    def _new(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}_{int(time.time())}"

    def _once(self, ctx: TenantContext, key: str, make):
        slot = (ctx.tenant_id, key)
        if slot not in self.by_key:
            self.by_key[slot] = make()
        return self.by_key[slot]

    def _snap(self, p: dict) -> PaymentSnapshot:
        return PaymentSnapshot(**p)

    async def create_payment(self, ctx, data: PaymentCreate, *, idempotency_key: str) -> PaymentSnapshot:
        self.calls.append((ctx.tenant_id, "create_payment"))

        def make():
            pid = self._new("fp")
            status = "requires_payment_method"
            if data.payment_method:
                status = "requires_confirmation"
            wallet = data.payment_method_data
            if wallet is not None:
                status = "requires_action"
            if data.confirm:
                if data.payment_method == "fake_declined":
                    status = "failed"
                else:
                    status = "requires_capture" if data.capture_method == "manual" else "succeeded"
            p = {
                "provider_payment_id": pid,
                "status": status,
                "amount": data.amount,
                "currency": data.currency,
                "capture_method": data.capture_method,
                "client_secret": f"{pid}_secret",
                "metadata": dict(data.metadata),
                "amount_capturable": data.amount if status == "requires_capture" else 0,
                "amount_received": data.amount if status == "succeeded" else 0,
                "payment_method_type": wallet.type if wallet is not None else None,
                "next_action": NextAction(type="redirect_to_url", url=f"https://wallet.fake.example/{pid}")
                if wallet is not None
                else None,
            }
            self.payments[(ctx.tenant_id, pid)] = p
            return pid

        pid = self._once(ctx, idempotency_key, make)
        p = self.payments[(ctx.tenant_id, pid)]
        if p["status"] == "failed":
            raise CardDeclined("FakePay declined the card", decline_code="do_not_honor", provider_object_id=pid)
        return self._snap(p)

    def _payment(self, ctx, provider_payment_id: str) -> dict:
        return self.payments[(ctx.tenant_id, provider_payment_id)]

    async def get_payment(self, ctx, provider_payment_id):
        return self._snap(self._payment(ctx, provider_payment_id))

    async def find_payment(self, ctx, hub_payment_id):
        for (tenant, _), p in self.payments.items():
            if tenant == ctx.tenant_id and p["metadata"].get("hub_payment_id") == hub_payment_id:
                return self._snap(p)
        return None

    async def capture_payment(self, ctx, provider_payment_id, amount, *, idempotency_key):
        self.calls.append((ctx.tenant_id, "capture_payment"))
        p = self._payment(ctx, provider_payment_id)
        if p["status"] != "requires_capture":
            raise InvalidState("not capturable")
        p.update(status="succeeded", amount_received=amount or p["amount_capturable"], amount_capturable=0)
        return self._snap(p)

    async def cancel_payment(self, ctx, provider_payment_id, *, idempotency_key):
        p = self._payment(ctx, provider_payment_id)
        p.update(status="canceled", amount_capturable=0)
        return self._snap(p)

    async def create_refund(
        self,
        ctx,
        provider_payment_id,
        amount,
        *,
        reason,
        metadata,
        idempotency_key,
        reverse_transfer=False,
        refund_application_fee=False,
    ):
        self.calls.append((ctx.tenant_id, "create_refund"))
        refund = RefundSnapshot(
            provider_refund_id=self._new("fr"),
            amount=amount,
            status=RefundStatus.SUCCEEDED,
            provider_payment_id=provider_payment_id,
            reason=reason,
            metadata=dict(metadata),
        )
        self.refunds.setdefault((ctx.tenant_id, provider_payment_id), []).insert(0, refund)
        return refund

    async def list_refunds(self, ctx, provider_payment_id):
        return list(self.refunds.get((ctx.tenant_id, provider_payment_id), []))

    async def create_customer(self, ctx, data: CustomerCreate, *, idempotency_key):
        return CustomerSnapshot(provider_customer_id=self._new("fc"), email=data.email, name=data.name)

    async def create_checkout_session(self, ctx, data: CheckoutCreate, *, idempotency_key):
        sid = self._new("fcs")
        return CheckoutSnapshot(provider_session_id=sid, url=f"https://pay.fake.example/{sid}", status="open")

    async def get_checkout_session(self, ctx, provider_session_id):
        return CheckoutSnapshot(provider_session_id=provider_session_id, url=None, status="open")

    # -- webhooks: FakePay sends none; the contract still has to be met ------------------------
    def verify_webhook(self, ctx, payload, headers):
        raise SignatureInvalid("FakePay sends no webhooks")

    def interpret_webhook(self, event):
        raise EventNotUnderstood("FakePay sends no webhooks")

    async def ensure_webhook_endpoint(self, ctx, url, *, known_endpoint_id, has_secret):
        if known_endpoint_id:
            return WebhookEndpoint(endpoint_id=known_endpoint_id, action="reused")
        return WebhookEndpoint(endpoint_id=self._new("fwe"), action="created", secret="whsec_fakepay0000000001")
