"""What a plugin declares about itself: what its gateway can do, and what its credentials are.

The hub reads these declarations to refuse, before any provider call, what a gateway cannot do
(422 ``not_supported`` naming the field), and to take, store, seal, show and check a tenant's
credentials for any plugin without code of its own for that plugin.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Capabilities(msgspec.Struct, frozen=True):
    """What the gateway behind a plugin can do. The defaults describe a card gateway like Stripe."""

    #: A payment can be authorized now and captured later (``capture_method: manual``).
    manual_capture: bool = True
    #: A refund may return part of what was received; otherwise only all of it.
    partial_refunds: bool = True
    #: The types a payment may name as an object (``{"type": ..., ...}``); empty: a payment
    #: method is only ever named by the gateway's own id (a string).
    payment_method_types: tuple[str, ...] = ()
    #: The payment method types a refund may be made for; ``None``: any (or unknown to the hub).
    refundable_method_types: tuple[str, ...] | None = None
    #: The gateway may send the buyer elsewhere (a bank's page): the payment carries ``next_action``.
    redirect_flows: bool = False
    #: Chosen for a payment that names no provider although the tenant has others configured.
    #: A plugin that is never the implicit choice beside another declares ``False``: it is then the
    #: default only as the tenant's sole provider.
    default_among_several: bool = True
    #: Customers (and their saved methods) can be kept at the gateway.
    customers: bool = True
    #: Destination charges: a payment's money goes to a connected account (``transfer_to``), less
    #: the platform's ``application_fee_amount``.
    destination_charges: bool = True
    #: Hosted checkout pages.
    checkout_sessions: bool = True
    #: The gateway's own minimum charge per currency (minor units), where it differs from the hub's
    #: table (Stripe's minimums); ``None``: the hub's table.
    minimum_amounts: tuple[tuple[str, int], ...] | None = None
    #: The gateway lets the hub create and read the tenant's webhook endpoint. Without it, the tenant
    #: pastes the hub's URL in the gateway's dashboard and the health-check cannot see the endpoint.
    webhook_endpoint_api: bool = True


class CredentialRole(StrEnum):
    """Where the hub keeps a credential field and how it shows it."""

    #: Public by design (a publishable key): stored in clear, shown as is, sent to storefronts.
    PUBLIC = "public"
    #: The API key calls are made with: sealed; shown only as a hint (``{name}_hint``).
    KEY = "key"
    #: The secret that verifies the gateway's webhooks: sealed; a replaced one keeps verifying for
    #: the roll-over window; shown only as ``{name}_set``.
    SIGNING = "signing"
    #: Any other secret the plugin needs: sealed; shown only as ``{name}_set``.
    SEALED = "sealed"


class CredentialField(msgspec.Struct, frozen=True):
    """One field of the credentials body (``PUT /v1/providers/{provider}/credentials``)."""

    #: The field's name in the body and the masked view's key stem.
    name: str
    #: Its label in the console (its accessible name).
    label: str
    role: CredentialRole
    #: A Stripe-like gateway may leave the signing secret out: the hub then creates the endpoint.
    #: Only a ``SIGNING`` field, or a ``SEALED`` one kept in a column of its own, may be optional:
    #: the other ``SEALED`` ones are sealed together, all or none.
    required: bool = True
    #: A ``SEALED`` field the hub keeps alone in this column of ``provider_credentials`` (Stripe's
    #: ``connect_webhook_secret``), instead of with the plugin's other sealed secrets: it may then be
    #: optional, and a body that leaves it out keeps the stored one.
    column: str | None = None

    @property
    def secret(self) -> bool:
        return self.role is not CredentialRole.PUBLIC


class CredentialsSpec(msgspec.Struct, frozen=True):
    """The plugin's credentials: exactly one ``PUBLIC``, one ``KEY`` and one ``SIGNING`` field, and
    any number of ``SEALED`` ones.

    The plugin's ``parse_credentials`` reads the format and the mode (test or live, from the keys'
    own prefixes) and refuses mixed modes; its ``check_credentials`` checks them at the gateway.
    """

    fields: tuple[CredentialField, ...]

    def by_role(self, role: CredentialRole) -> tuple[CredentialField, ...]:
        return tuple(f for f in self.fields if f.role is role)

    def one(self, role: CredentialRole) -> CredentialField:
        found = self.by_role(role)
        if len(found) != 1:
            raise TypeError(f"a credentials spec needs exactly one {role.value} field")
        return found[0]

    @property
    def public(self) -> CredentialField:
        return self.one(CredentialRole.PUBLIC)

    @property
    def key(self) -> CredentialField:
        return self.one(CredentialRole.KEY)

    @property
    def signing(self) -> CredentialField:
        return self.one(CredentialRole.SIGNING)

    @property
    def sealed(self) -> tuple[CredentialField, ...]:
        return self.by_role(CredentialRole.SEALED)


#: Stripe-like credentials: a publishable key, a secret key, a webhook signing secret.
STRIPE_LIKE = CredentialsSpec(
    fields=(
        CredentialField("publishable_key", "Publishable key", CredentialRole.PUBLIC),
        CredentialField("secret_key", "Secret key", CredentialRole.KEY),
        CredentialField("webhook_secret", "Webhook signing secret", CredentialRole.SIGNING, required=False),
    )
)
