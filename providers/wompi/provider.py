"""WompiProvider: Wompi (Colombia: cards, Nequi, PSE, Bancolombia transfer) behind the plugin contract.

Sources (docs.wompi.co, Colombia): "Ambientes y llaves" (four credentials, sandbox or production
by the keys' prefix), "Tokens de aceptación" (the merchant's presigned terms a buyer must accept),
"Métodos de pago" (the payment method of each type; PSE and the Bancolombia transfer put the bank's
page in ``payment_method.extra.async_payment_url`` a moment after creation), "Referencia de
pagos" (``reference`` is unique per merchant), "Anulaciones" (a void returns the whole of an
APPROVED card transaction), "Eventos" (``transaction.updated``, signed with the events secret).

What Wompi cannot do, declared in ``capabilities`` so the hub refuses it (422 ``not_supported``)
before any call: hold a payment for a later capture, refund part of a payment or a payment made by
another method than a card, keep customers, host a checkout page, or let the hub register its
events URL (the tenant pastes it in Wompi's dashboard). The hub's payment id is Wompi's
``reference``: a create retried under the same Idempotency-Key finds the first transaction
instead of making a second one (``WompiClient.create_transaction``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec

from providers.base.capabilities import Capabilities, CredentialField, CredentialRole, CredentialsSpec
from providers.base.errors import EventNotUnderstood, InvalidParameter, NotSupported, UnexpectedAnswer
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
from providers.base.provider import Institution, Provider, ProviderOptions, TenantContext, Terms
from providers.base.statuses import RefundStatus
from providers.base.types import CredentialCheck, CredentialsInput, ProviderCredentials
from providers.base.webhooks import (
    ProviderEvent,
    RefundUpdate,
    VerifiedEvent,
    WebhookDiagnosis,
    WebhookEndpoint,
    checked,
)
from providers.wompi import signing, transformers, wire
from providers.wompi.client import WompiClient
from providers.wompi.credentials import WompiCredentials, parse_credentials

#: Wompi charges in Colombian pesos only; its minimum is 1,500 COP (in cents).
CURRENCY = "cop"
MINIMUM_IN_CENTS = 150_000
#: The hub's method types -> Wompi's.
WIRE_TYPES = {v: k for k, v in transformers.METHOD_TYPES.items()}
#: Methods whose buyer is sent to their bank: the create waits (briefly) for the bank's URL.
REDIRECTS = frozenset({"pse", "bancolombia_transfer"})
TRANSACTION_UPDATED = "transaction.updated"
#: The suffix of the refund id the hub gives a void (Wompi gives a void no id of its own).
VOID = "void"


def _text(details: Mapping[str, Any], name: str, param: str, *, required: bool = True) -> str | None:
    value = details.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter(f"{param} is required (a text)", param=param)
    return value.strip()


def _int(details: Mapping[str, Any], name: str, param: str, default: int | None = None) -> int:
    value = details.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameter(f"{param} must be an integer", param=param)
    return value


def wire_method(data: PaymentCreate) -> wire.PaymentMethodCreate:
    """The transaction's ``payment_method`` from the request's typed method; ``InvalidParameter`` naming
    the field that is missing or malformed. Known fields only: an unknown one is refused too."""
    method = data.payment_method_data
    if method is None:
        raise InvalidParameter(
            'payment_method must be an object: {"type": "card" | "nequi" | "pse" | "bancolombia_transfer", ...}',
            param="payment_method",
        )
    d = method.details
    allowed = {
        "card": {"token", "installments"},
        "nequi": {"phone_number"},
        "pse": {
            "user_type",
            "user_legal_id_type",
            "user_legal_id",
            "financial_institution_code",
            "payment_description",
        },
        "bancolombia_transfer": {"payment_description"},
    }[method.type]
    for name in d:
        if name not in allowed:
            param = f"payment_method.{name}"
            raise InvalidParameter(f"{param} is not a field of a {method.type} payment", param=param)
    description = data.description or "Payment"
    if method.type == "card":
        installments = _int(d, "installments", "payment_method.installments", 1)
        if not 1 <= installments <= 36:
            raise InvalidParameter("payment_method.installments must be 1 to 36", param="payment_method.installments")
        return wire.CardMethod(token=_text(d, "token", "payment_method.token") or "", installments=installments)
    if method.type == "nequi":
        phone = _text(d, "phone_number", "payment_method.phone_number") or ""
        if not (phone.isdigit() and len(phone) == 10):
            raise InvalidParameter("payment_method.phone_number must be 10 digits", param="payment_method.phone_number")
        return wire.NequiMethod(phone_number=phone)
    if method.type == "pse":
        user_type = _int(d, "user_type", "payment_method.user_type")
        if user_type not in (0, 1):
            param = "payment_method.user_type"
            raise InvalidParameter(f"{param} must be 0 (a person) or 1 (a company)", param=param)
        return wire.PseMethod(
            user_type=user_type,
            user_legal_id_type=_text(d, "user_legal_id_type", "payment_method.user_legal_id_type") or "",
            user_legal_id=_text(d, "user_legal_id", "payment_method.user_legal_id") or "",
            financial_institution_code=_text(
                d, "financial_institution_code", "payment_method.financial_institution_code"
            )
            or "",
            payment_description=(
                _text(d, "payment_description", "payment_method.payment_description", required=False) or description
            )[:64],
        )
    return wire.BancolombiaTransferMethod(
        payment_description=(
            _text(d, "payment_description", "payment_method.payment_description", required=False) or description
        )[:64]
    )


class WompiProvider(Provider):
    name = "wompi"
    label = "Wompi"
    capabilities = Capabilities(
        manual_capture=False,
        partial_refunds=False,
        payment_method_types=tuple(transformers.METHOD_TYPES.values()),
        refundable_method_types=transformers.VOIDABLE_METHOD_TYPES,
        redirect_flows=True,
        # Beside Stripe, Stripe stays the default: Wompi is chosen implicitly only as the sole provider.
        default_among_several=False,
        customers=False,
        checkout_sessions=False,
        # No connected accounts at Wompi: a payment cannot be sent on to a seller (``transfer_to``).
        destination_charges=False,
        webhook_endpoint_api=False,
        minimum_amounts=((CURRENCY, MINIMUM_IN_CENTS),),
    )
    credentials_spec = CredentialsSpec(
        fields=(
            CredentialField("public_key", "Public key", CredentialRole.PUBLIC),
            CredentialField("private_key", "Private key", CredentialRole.KEY),
            CredentialField("events_secret", "Events secret", CredentialRole.SIGNING),
            CredentialField("integrity_secret", "Integrity secret", CredentialRole.SEALED),
        )
    )

    def __init__(self, options: ProviderOptions | None = None) -> None:
        super().__init__(options)
        self.client = WompiClient.from_options(self.options)

    # -- credentials -------------------------------------------------------------------
    def parse_credentials(self, raw: CredentialsInput) -> WompiCredentials:
        return parse_credentials(raw)

    def secret_hint(self, credentials: ProviderCredentials) -> str:
        return _creds(credentials).secret_hint()

    async def check_credentials(self, ctx: TenantContext) -> CredentialCheck:
        """The public key by reading its merchant (unknown: ``InvalidCredentials`` on ``public_key``),
        the private key by a read only it may make (refused: on ``private_key``)."""
        creds = _creds(ctx.credentials)
        started = time.perf_counter()
        await self.client.merchant(creds.public_key)
        await self.client.check_private_key(creds.private_key)
        return CredentialCheck(ok=True, mode=creds.mode, latency_ms=int((time.perf_counter() - started) * 1000))

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- what the buyer is shown -------------------------------------------------------
    async def terms(self, ctx: TenantContext) -> Terms:
        merchant = await self.client.merchant(_creds(ctx.credentials).public_key)
        personal = merchant.presigned_personal_data_auth
        return Terms(
            acceptance_token=merchant.presigned_acceptance.acceptance_token,
            permalink=merchant.presigned_acceptance.permalink,
            personal_data_token=personal.acceptance_token if personal else None,
            personal_data_permalink=personal.permalink if personal else None,
        )

    async def institutions(self, ctx: TenantContext, method_type: str) -> list[Institution]:
        if method_type != "pse":
            return await super().institutions(ctx, method_type)
        banks = await self.client.pse_banks(_creds(ctx.credentials).public_key)
        return [Institution(code=b.financial_institution_code, name=b.financial_institution_name) for b in banks]

    # -- payments ----------------------------------------------------------------------
    def validate_payment(self, data: PaymentCreate) -> None:
        if data.currency != CURRENCY:
            raise NotSupported("Wompi takes payments in Colombian pesos only (cop)", param="currency")
        if data.amount < MINIMUM_IN_CENTS:
            raise InvalidParameter(
                f"Wompi's minimum is {MINIMUM_IN_CENTS} (1,500 COP in cents)", param="amount", code="amount_too_small"
            )
        if not data.customer_email:
            raise InvalidParameter("customer_email is required for a Wompi payment", param="customer_email")
        if not data.acceptance_token:
            raise InvalidParameter(
                "acceptance_token is required: the buyer must accept Wompi's terms "
                "(GET /v1/providers/wompi/acceptance)",
                param="acceptance_token",
            )
        if data.provider_customer_id or data.off_session:
            param = "customer_id" if data.provider_customer_id else "off_session"
            raise NotSupported("Wompi keeps no customers", param=param)
        wire_method(data)

    async def create_payment(self, ctx: TenantContext, data: PaymentCreate, *, idempotency_key: str) -> PaymentSnapshot:
        """A signed transaction whose ``reference`` is the hub's payment id (``idempotency_key`` is not
        needed: Wompi refuses a used reference, and the client answers with the first transaction)."""
        self.validate_payment(data)
        creds = _creds(ctx.credentials)
        method = wire_method(data)
        transaction = await self.client.create_transaction(
            private_key=creds.private_key,
            integrity_secret=creds.integrity_secret,
            reference=data.metadata["hub_payment_id"],
            amount_in_cents=data.amount,
            customer_email=data.customer_email or "",
            acceptance_token=data.acceptance_token or "",
            payment_method=method,
            currency=CURRENCY.upper(),
            redirect_url=data.redirect_url,
        )
        assert data.payment_method_data is not None  # wire_method refused it otherwise
        if data.payment_method_data.type in REDIRECTS:
            # The bank's page appears a moment after the creation: wait for it, briefly.
            transaction = await self.client.wait_for_async_url(creds.private_key, transaction)
        return _snapshot(transaction, data.metadata)

    async def get_payment(self, ctx: TenantContext, provider_payment_id: str) -> PaymentSnapshot:
        transaction = await self.client.transaction(_creds(ctx.credentials).private_key, provider_payment_id)
        return _snapshot(transaction)

    async def find_payment(self, ctx: TenantContext, hub_payment_id: str) -> PaymentSnapshot | None:
        found = await self.client.transactions_by_reference(_creds(ctx.credentials).private_key, hub_payment_id)
        mine = [t for t in found if t.reference == hub_payment_id]
        return _snapshot(mine[0]) if mine else None

    async def capture_payment(
        self, ctx: TenantContext, provider_payment_id: str, amount: int | None, *, idempotency_key: str
    ) -> PaymentSnapshot:
        raise NotSupported("Wompi has no manual capture: its payments are captured when approved")

    async def cancel_payment(
        self, ctx: TenantContext, provider_payment_id: str, *, idempotency_key: str
    ) -> PaymentSnapshot:
        raise NotSupported("Wompi cannot cancel a transaction; an approved card payment can be refunded (a void)")

    async def create_refund(
        self,
        ctx: TenantContext,
        provider_payment_id: str,
        amount: int,
        *,
        reason: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
        reverse_transfer: bool = False,
        refund_application_fee: bool = False,
    ) -> RefundSnapshot:
        """A void of the whole transaction (an approved card payment); its state read back from Wompi.

        The amount is checked against Wompi's own figure BEFORE the void: a void is always whole, so
        a partial amount that got past the hub's capability check must send nothing.
        """
        if reverse_transfer or refund_application_fee:
            # No connected accounts at Wompi: nothing was sent on, so nothing can be taken back.
            raise NotSupported("Wompi has no connected accounts: nothing to reverse", param="reverse_transfers")
        key = _creds(ctx.credentials).private_key
        current = await self.client.transaction(key, provider_payment_id)
        if amount != current.amount_in_cents:
            raise NotSupported("Wompi refunds only the whole payment", param="amount")
        transaction = await self.client.void(key, provider_payment_id)
        # Read back: VOIDED is the refund made; otherwise it is pending until an event or a sync says.
        refund = _void_of(transaction) or _pending_void(transaction)
        return msgspec.structs.replace(refund, metadata=dict(metadata), reason=reason)

    async def list_refunds(self, ctx: TenantContext, provider_payment_id: str) -> list[RefundSnapshot]:
        transaction = await self.client.transaction(_creds(ctx.credentials).private_key, provider_payment_id)
        void = _void_of(transaction)
        return [void] if void is not None else []

    async def create_customer(
        self, ctx: TenantContext, data: CustomerCreate, *, idempotency_key: str
    ) -> CustomerSnapshot:
        raise NotSupported("Wompi keeps no customers")

    async def create_checkout_session(
        self, ctx: TenantContext, data: CheckoutCreate, *, idempotency_key: str
    ) -> CheckoutSnapshot:
        raise NotSupported("Wompi has no hosted checkout pages the hub can make")

    async def get_checkout_session(self, ctx: TenantContext, provider_session_id: str) -> CheckoutSnapshot:
        raise NotSupported("Wompi has no hosted checkout pages the hub can make")

    # -- webhooks ----------------------------------------------------------------------
    def verify_webhook(self, ctx: TenantContext, payload: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        creds = _creds(ctx.credentials)
        event = signing.verify_event(
            payload, creds.events_secrets, header_checksum=headers.get(signing.CHECKSUM_HEADER)
        )
        return VerifiedEvent(provider_event_id=signing.delivery_id(event), type=event.event[:255], body=event)

    def interpret_webhook(self, event: VerifiedEvent) -> ProviderEvent:
        body = event.body
        if not isinstance(body, wire.Event):
            raise EventNotUnderstood("The event is not a verified Wompi event")
        base = ProviderEvent(provider_event_id=event.provider_event_id, type=event.type, created=body.timestamp)
        if body.event != TRANSACTION_UPDATED:
            return checked(base)  # about no payment: stored, ignored
        try:
            transaction = signing.transaction_of(body)
            status = transformers.payment_status(transaction.status)
        except UnexpectedAnswer as exc:  # not the documented shape, or a status Wompi does not document
            raise EventNotUnderstood(exc.message) from None
        paid = transaction.status in ("APPROVED", "VOIDED")
        void = _void_of(transaction)
        return checked(
            msgspec.structs.replace(
                base,
                provider_payment_id=transaction.id,
                # The reference is the hub's payment id; Wompi keeps no tenant stamp of the hub's.
                hub_payment_id=transaction.reference,
                status=status,
                amount_received=transaction.amount_in_cents if paid else None,
                amount_refunded=transaction.amount_in_cents if void is not None else None,
                refund=(
                    RefundUpdate(provider_refund_id=void.provider_refund_id, amount=void.amount, status=void.status)
                    if void is not None
                    else None
                ),
                last_error_code=transformers.failure_code(transaction),
                # Wompi gives no machine-readable reason for a decline: as a read of it says (``snapshot``).
                decline_code=None,
            )
        )

    async def diagnose_webhook_endpoint(
        self, ctx: TenantContext, url: str, *, known_endpoint_id: str | None, has_secret: bool
    ) -> WebhookDiagnosis:
        """Wompi cannot be asked where it sends events: the diagnosis says so, with what to check."""
        return WebhookDiagnosis(
            endpoint="unknown",
            note=(
                "Wompi has no API to read its events URL, so the hub cannot check it: in Wompi's dashboard "
                f"(Desarrolladores > Eventos) the events URL must be {url}."
            ),
        )

    async def ensure_webhook_endpoint(
        self, ctx: TenantContext, url: str, *, known_endpoint_id: str | None, has_secret: bool
    ) -> WebhookEndpoint:
        raise NotSupported(
            "Wompi has no API for its events URL: paste the hub's webhook URL in Wompi's dashboard "
            "(Desarrolladores > Eventos) and register the events secret here"
        )


def _creds(credentials: ProviderCredentials) -> WompiCredentials:
    assert isinstance(credentials, WompiCredentials)
    return credentials


def _snapshot(transaction: wire.Transaction, metadata: dict[str, str] | None = None) -> PaymentSnapshot:
    url = transformers.next_action_url(transaction)
    return msgspec.structs.replace(
        transformers.snapshot(transaction, metadata),
        next_action=NextAction(type="redirect_to_url", url=url) if url else None,
        payment_method_type=transformers.method_type(transaction),
    )


def _void_of(transaction: wire.Transaction) -> RefundSnapshot | None:
    """The refund a voided transaction is (the whole amount), or ``None`` when it is not voided."""
    if transaction.status != "VOIDED":
        return None
    return RefundSnapshot(
        provider_refund_id=f"{transaction.id}-{VOID}",
        amount=transaction.amount_in_cents,
        status=RefundStatus.SUCCEEDED,
        provider_payment_id=transaction.id,
    )


def _pending_void(transaction: wire.Transaction) -> RefundSnapshot:
    return RefundSnapshot(
        provider_refund_id=f"{transaction.id}-{VOID}",
        amount=transaction.amount_in_cents,
        status=RefundStatus.PENDING,
        provider_payment_id=transaction.id,
    )
