"""The abstract Provider every payment-gateway plugin implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import msgspec

from providers.base.capabilities import STRIPE_LIKE, Capabilities, CredentialsSpec
from providers.base.connect import ConnectAPI
from providers.base.customers import CustomersAPI
from providers.base.errors import NotSupported
from providers.base.invoices import InvoicesAPI
from providers.base.payments import PaymentCreate, PaymentsAPI
from providers.base.recurring import RecurringAPI
from providers.base.transfers import TransfersAPI
from providers.base.types import CredentialCheck, CredentialsInput, ProviderCredentials
from providers.base.webhooks import WebhooksAPI


class ProviderOptions(msgspec.Struct, frozen=True):
    """Process-wide options the hub passes to every plugin's constructor.

    ``http_transport`` is an ``httpx`` transport used instead of the network; tests use it
    to play a provider where no emulator can.

    ``emulator`` names the emulator ``api_base`` points at (``"localstripe"``), so a plugin can
    leave out what that emulator refuses; ``None`` means the real gateway. It is explicit, never
    inferred from ``api_base``.

    ``call_observer``, when set, is called once per API call to the gateway (retries included in
    that one call) with ``(operation, outcome, seconds)``: ``operation`` a bounded name such as
    ``"POST /v1/payment_intents/{id}/capture"``, ``outcome`` one of ``ok``, ``client_error``,
    ``server_error``, ``unreachable``. The hub records its metrics through it; it must not raise.

    ``deadline_seconds`` bounds one provider call as a whole, retries and their back-off included:
    past it the plugin raises ``ProviderUnavailable``.
    """

    api_base: str | None = None
    #: The API base of each plugin by name (an emulator's): ``api_base`` when the registry builds that
    #: plugin, ``None`` for a plugin not named here (its own gateway).
    api_bases: dict[str, str] = {}
    timeout_seconds: float = 20.0
    max_network_retries: int = 2
    deadline_seconds: float = 25.0
    client_cache_size: int = 1024
    http_transport: Any = None
    emulator: str | None = None
    call_observer: Callable[[str, str, float], None] | None = None


class TenantContext(msgspec.Struct, frozen=True):
    """Who a provider call is made for: the tenant and the version of its stored credentials.

    Plugins key their client caches on ``(tenant_id, credentials_version)`` so a credential
    change is picked up at once and one tenant's client never serves another.
    """

    tenant_id: str
    credentials_version: int
    credentials: ProviderCredentials

    def __repr__(self) -> str:
        return f"TenantContext(tenant_id={self.tenant_id!r}, credentials_version={self.credentials_version})"


class Terms(msgspec.Struct, frozen=True):
    """The gateway's terms a buyer must be shown (``permalink``) and accept before paying; the
    token of the accepted terms goes into the payment (``PaymentCreate.acceptance_token``)."""

    acceptance_token: str
    permalink: str
    personal_data_token: str | None = None
    personal_data_permalink: str | None = None


class Institution(msgspec.Struct, frozen=True):
    """A bank a buyer can pick for a bank-transfer payment method."""

    code: str
    name: str


class Provider(PaymentsAPI, CustomersAPI, RecurringAPI, InvoicesAPI, ConnectAPI, TransfersAPI, WebhooksAPI, ABC):
    """A payment gateway plugin. One instance serves every tenant; tenant state comes in each call."""

    #: The name under which the plugin is registered (``hub.providers`` entry point) and routed.
    name: ClassVar[str]
    #: Its label for people (the console's navigation).
    label: ClassVar[str] = ""
    #: What the gateway can do; the hub refuses the rest (422 ``not_supported``) before any call.
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: The credential fields, their roles and labels.
    credentials_spec: ClassVar[CredentialsSpec] = STRIPE_LIKE

    def __init__(self, options: ProviderOptions | None = None) -> None:
        self.options = options or ProviderOptions()

    @abstractmethod
    def parse_credentials(self, raw: CredentialsInput) -> ProviderCredentials:
        """Validate the format of raw credential fields and return the plugin's typed credentials.

        Raises ``CredentialsFormatError`` (with ``param``) for a malformed field and
        ``ModeMismatch`` when fields of different modes (e.g. test and live) are mixed.
        No network call is made.
        """

    @abstractmethod
    def secret_hint(self, credentials: ProviderCredentials) -> str:
        """A masked hint of the secret key that is safe to show (e.g. ``sk_test_…1234``)."""

    @abstractmethod
    async def check_credentials(self, ctx: TenantContext) -> CredentialCheck:
        """Check the credentials against the provider with a cheap read.

        Returns a ``CredentialCheck`` with ``ok=True`` on success. Raises
        ``InvalidCredentials`` when the provider rejects them and ``ProviderUnavailable``
        when it cannot be reached.
        """

    def validate_payment(self, data: PaymentCreate) -> None:
        """Check a payment request before anything is written or sent (pure, no network call).

        Raises ``InvalidParameter`` (422, with ``param``) for a field the gateway needs that is
        missing or malformed. The hub has already checked the capabilities, the money and the
        metadata.
        """

    async def terms(self, ctx: TenantContext) -> Terms:
        """The gateway's current terms the buyer must accept (read from the gateway)."""
        raise NotSupported(f"{self.name} has no terms a buyer must accept")

    async def institutions(self, ctx: TenantContext, method_type: str) -> list[Institution]:
        """The banks a buyer may pick for ``method_type`` (read from the gateway)."""
        raise NotSupported(f"{self.name} offers no bank list for {method_type}", param="payment_method.type")

    async def aclose(self) -> None:
        """Release shared resources (connection pools). Called once at shutdown."""
