"""What the Stripe mixins need from the provider they are mixed into, typed as a Protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import stripe

    from providers.base.provider import ProviderOptions, TenantContext


class StripeHost(Protocol):
    """StripeProvider as its mixins see it: its options and the tenant's own client."""

    @property
    def options(self) -> ProviderOptions: ...

    def client(self, ctx: TenantContext) -> stripe.StripeClient: ...


def is_localstripe(host: StripeHost) -> bool:
    """Whether the plugin talks to the localstripe emulator, which refuses what it does not know.

    Only ``HUB_STRIPE_EMULATOR=localstripe`` says so; an API base alone (Stripe's own mock, an
    egress proxy, a recorder) is Stripe and gets what Stripe expects.
    """
    return host.options.emulator == "localstripe"
