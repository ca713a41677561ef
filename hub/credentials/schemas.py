"""Request and response Structs of the credential routes (the GET shows only a masked view)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

Field = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


#: The credentials body: the fields the provider's plugin declares (``Provider.credentials_spec``),
#: by name, e.g. Stripe's ``publishable_key``, ``secret_key``, ``webhook_secret``. Checked against
#: that declaration by ``hub.credentials.fields``; never logged.
CredentialsPut = dict[str, Any]
#: The longest credential field accepted.
MAX_FIELD = 512

#: The masked view, built from the plugin's declaration (``hub.credentials.fields.view``):
#: ``provider``, ``mode``, the public field as is, ``{key}_hint``, ``{secret}_set`` for every
#: other secret, ``webhook_url``, ``verified_at``, ``updated_at``, ``webhook_endpoint_id``,
#: ``last_event_at``.
CredentialsView = dict[str, Any]


class Advice(msgspec.Struct, frozen=True):
    """One condition found, in a shop owner's words with its fix; ``repair``: the Repair button fixes it."""

    condition: str
    message: str
    repair: bool


class ConnectWebhookHealth(msgspec.Struct, omit_defaults=True):
    """The endpoint that sends the events of the tenant's connected accounts (a marketplace's sellers)."""

    endpoint: str  # enabled | disabled | missing | unknown
    url_matches: bool | None
    missing_events: list[str]
    #: The hub holds the endpoint's signing secret (``connect_webhook_secret``).
    secret_set: bool
    endpoint_id: str | None = None


class WebhookHealth(msgspec.Struct, omit_defaults=True):
    """The tenant's webhook set-up: the endpoint at the provider, and what the hub itself received."""

    endpoint: str  # enabled | disabled | missing | unknown
    url: str
    url_matches: bool | None
    missing_events: list[str]
    secret_set: bool
    last_event_at: datetime | None
    last_signature_failure_at: datetime | None
    #: The conditions found, each with its fix (hub.credentials.advice); always present, even empty.
    advice: list[Advice]
    #: Absent when there is no endpoint the hub can verify, or it could not be read.
    endpoint_id: str | None = None
    #: The connected accounts' endpoint: present for a tenant with a Connect webhook secret or sellers.
    connect: ConnectWebhookHealth | None = None


class HealthCheck(msgspec.Struct):
    ok: bool
    mode: str
    latency_ms: int
    error: str | None
    webhook: WebhookHealth
