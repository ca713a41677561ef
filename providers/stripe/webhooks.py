"""Stripe webhook verification and parsing into neutral events, and the tenant's webhook endpoint."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import stripe
from stripe.params import WebhookEndpointListParams

from providers.base.errors import (
    EventNotUnderstood,
    InvalidCredentials,
    NotSupported,
    SignatureInvalid,
    UnexpectedAnswer,
)
from providers.base.jsonbody import EVENT_MAX_DEPTH, NotJson, loads
from providers.base.provider import TenantContext
from providers.base.webhooks import (
    UNKNOWN_ENDPOINT,
    ProviderEvent,
    VerifiedEvent,
    WebhookDiagnosis,
    WebhookEndpoint,
    checked,
)
from providers.stripe import wire
from providers.stripe.connect import CONNECT_EVENTS, connect_event
from providers.stripe.credentials import StripeCredentials
from providers.stripe.errors import stripe_errors
from providers.stripe.recurring_transformers import RECURRING_EVENTS, recurring_event
from providers.stripe.transfers import transfer_event
from providers.stripe.transformers import HANDLED_EVENTS, event_from_stripe

if TYPE_CHECKING:
    from providers.stripe.host import StripeHost

#: Every event the hub applies: the endpoint it keeps at Stripe subscribes to these.
SUBSCRIBED_EVENTS = tuple(sorted(set(HANDLED_EVENTS) | set(RECURRING_EVENTS)))

#: What the health-check and the repair say against the emulator (``HUB_STRIPE_EMULATOR=localstripe``),
#: instead of a restricted-key guess or the SDK's "Invalid response body from API: 404".
NO_ENDPOINT_API = (
    "The emulator has no webhook-endpoint API (HUB_STRIPE_EMULATOR=localstripe): the hub cannot read, "
    "create or repair webhook endpoints there. Save a webhook signing secret (whsec_...) with the "
    "credentials and sign test deliveries with it."
)

#: Stripe's own default: a delivery signed more than 5 minutes ago is refused (replay window).
TOLERANCE_SECONDS = 300
#: Deliberately the same message whatever failed, and never the secret or the header.
_REFUSED = (
    "The Stripe-Signature does not match this tenant's webhook secret, "
    f"or its timestamp is outside the {TOLERANCE_SECONDS} s tolerance"
)


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """The ``t=`` timestamp and the ``v1=`` signatures, read exactly as stripe-python's verifier reads them.

    The one reading of the header: the timestamp checked against the tolerance (both ways) is the
    one the signature is verified over, whatever decoys the header carries. The SDK takes the
    first item named exactly ``t`` (no blank stripped) and the text up to a second ``=``; a header
    with more than one such item is refused outright, since Stripe sends exactly one.
    Raises ``ValueError`` when there is no usable timestamp.
    """
    items = [part.split("=", 2) for part in header.split(",")]
    stamps = [item[1] for item in items if item[0] == "t"]  # IndexError for a bare "t", as the SDK
    if len(stamps) != 1:
        raise ValueError("expected exactly one timestamp")
    return int(stamps[0]), [item[1] for item in items if item[0] == "v1"]


def _canonical(signature: str, now: float, tolerance: int) -> str | None:
    """``t=<t>,v1=...`` rebuilt from the one parse, or None when unreadable or dated past the tolerance ahead.

    The SDK verifies this rebuilt header, so the timestamp it checks is the one checked here.
    """
    try:
        timestamp, signatures = parse_signature_header(signature)
    except (IndexError, ValueError):
        return None
    if timestamp > now + tolerance:  # the SDK checks only the past
        return None
    return ",".join([f"t={timestamp}", *(f"v1={s}" for s in signatures)])


def _is_event(event: Any) -> bool:
    try:
        return (
            event.get("object") == "event"
            and isinstance(event.get("id"), str)
            and bool(event["id"])
            and isinstance(event.get("type"), str)
            and bool(event["type"])
            and isinstance(event.get("data"), Mapping)
            and isinstance(event["data"].get("object"), Mapping)
        )
    except (AttributeError, KeyError, TypeError):
        return False


def verify_event(
    payload: bytes, signature: str | None, secrets: Sequence[str], *, mismatch: str, tolerance: int = TOLERANCE_SECONDS
) -> dict[str, Any]:
    return verify_event_by(payload, signature, secrets, mismatch=mismatch, tolerance=tolerance)[0]


def verify_event_by(
    payload: bytes, signature: str | None, secrets: Sequence[str], *, mismatch: str, tolerance: int = TOLERANCE_SECONDS
) -> tuple[dict[str, Any], int]:
    """Verify one Stripe webhook delivery against any of ``secrets`` and return the event as a dict.

    ``payload`` is the body exactly as received. The secrets are tried in order (current, then a
    previous one during a roll-over). Raises ``SignatureInvalid`` when the header is missing, no
    secret verifies it within ``tolerance`` seconds (``mismatch`` is that message: the caller names
    whose secret it was, never the secret), or the verified body is not an event. No network call.
    Used by the plugin for each tenant and by the hub's platform billing for the platform's own secret.
    """
    if not signature:
        raise SignatureInvalid("The Stripe-Signature header is missing")
    if not secrets:
        raise SignatureInvalid("No webhook signing secret is set")
    header = _canonical(signature, time.time(), tolerance)
    if header is None:
        raise SignatureInvalid(mismatch)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureInvalid(mismatch) from None  # Stripe signs (and sends) UTF-8 text
    verified = None
    for index, secret in enumerate(secrets):
        try:
            # The SDK's own check of the signature and its age. Not construct_event: that also
            # builds a StripeObject tree the hub reads once and drops (a fifth of ingest's CPU).
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
            verified = index
            break
        except stripe.SignatureVerificationError:
            continue
    if verified is None:
        raise SignatureInvalid(mismatch)  # the same message whatever failed
    try:
        data = loads(payload, EVENT_MAX_DEPTH)  # NestedTooDeep (400 invalid_json), before recursing on it
    except NotJson:
        # Signed, but not a Stripe event body: not JSON.
        raise SignatureInvalid("The body is not a Stripe event") from None
    if not _is_event(data):
        raise SignatureInvalid("The body is not a Stripe event")
    return data, verified


class StripeWebhooks:
    """Mixed into StripeProvider."""

    def verify_webhook(
        self: StripeHost, ctx: TenantContext, payload: bytes, headers: Mapping[str, str]
    ) -> VerifiedEvent:
        creds = ctx.credentials
        assert isinstance(creds, StripeCredentials)
        # The account's own secrets first (current, previous), then the Connect endpoint's.
        own = creds.webhook_secrets
        connect = (creds.connect_webhook_secret,) if creds.connect_webhook_secret else ()
        data, index = verify_event_by(payload, headers.get("stripe-signature"), own + connect, mismatch=_REFUSED)
        return VerifiedEvent(provider_event_id=data["id"], type=data["type"], body=data, connect=index >= len(own))

    def interpret_webhook(self, event: VerifiedEvent) -> ProviderEvent:
        name = event.type[:80]  # named in the reason; the type itself may be anything signed
        try:
            parsed = (
                transfer_event(event.body)
                or connect_event(event.body, via_connect=event.connect)
                or recurring_event(event.body)
                or event_from_stripe(event.body)
            )
        except UnexpectedAnswer as exc:  # FieldError among them
            raise EventNotUnderstood(f"The {name} event does not read as Stripe documents it: {exc}") from None
        except (TypeError, ValueError, AttributeError, KeyError):
            raise EventNotUnderstood(f"The {name} event's object does not have the shape Stripe documents") from None
        return checked(parsed)

    async def ensure_webhook_endpoint(
        self: StripeHost, ctx: TenantContext, url: str, *, known_endpoint_id: str | None, has_secret: bool
    ) -> WebhookEndpoint:
        if self.options.emulator == "localstripe":
            raise NotSupported(NO_ENDPOINT_API)
        endpoints = self.client(ctx).v1.webhook_endpoints
        with stripe_errors():
            try:
                existing = [e for e in await _all_endpoints(endpoints) if not is_connect_endpoint(e)]
                match = match_endpoint(existing, url, known_endpoint_id=known_endpoint_id, has_secret=has_secret)
                for endpoint_id in match.stale:
                    # Its signing secret is unknown to the hub (e.g. a registration that failed after
                    # creating it): nothing it sends could be verified, so it must not linger.
                    await endpoints.delete_async(endpoint_id)
                keep = match.keep
                if keep is not None:
                    repair: Any = {}  # the SDK's TypedDict wants Literal event names
                    if keep.status != "enabled":
                        repair["disabled"] = False
                    if missing_events(keep):
                        wanted = set(keep.enabled_events) | set(SUBSCRIBED_EVENTS)
                        repair["enabled_events"] = sorted(wanted)
                    if keep.url != url:
                        repair["url"] = url
                    if repair:
                        await endpoints.update_async(keep.id, repair)
                    return WebhookEndpoint(endpoint_id=keep.id, action="repaired" if repair else "reused")
                params: Any = {
                    "url": url,
                    "enabled_events": list(SUBSCRIBED_EVENTS),
                    "api_version": stripe.api_version,
                    "description": "Payment hub: payment status updates",
                    "metadata": {"hub_tenant_id": ctx.tenant_id},
                }
                created = await endpoints.create_async(params)
            except stripe.PermissionError:
                raise InvalidCredentials(
                    "The secret key may not manage webhook endpoints: give webhook_secret, "
                    "or use a key with write access to webhook endpoints",
                    param="webhook_secret",
                ) from None
        made = wire.decode(created, wire.WebhookEndpoint)
        return WebhookEndpoint(endpoint_id=made.id, action="created", secret=made.secret)

    async def diagnose_webhook_endpoint(
        self: StripeHost, ctx: TenantContext, url: str, *, known_endpoint_id: str | None, has_secret: bool
    ) -> WebhookDiagnosis:
        if self.options.emulator == "localstripe":
            return WebhookDiagnosis(endpoint="unknown", note=NO_ENDPOINT_API)
        with stripe_errors():
            try:
                found = await _all_endpoints(self.client(ctx).v1.webhook_endpoints)
            except stripe.PermissionError:
                # A restricted key without "Webhook Endpoints: read": the key works, the setup is unseen.
                return UNKNOWN_ENDPOINT
        existing = [e for e in found if not is_connect_endpoint(e)]
        keep = match_endpoint(existing, url, known_endpoint_id=known_endpoint_id, has_secret=has_secret).keep
        if keep is None:
            return WebhookDiagnosis(endpoint="missing")
        return WebhookDiagnosis(
            endpoint="enabled" if keep.status == "enabled" else "disabled",
            endpoint_id=keep.id,
            url_matches=keep.url == url,
            missing_events=missing_events(keep),
        )

    async def diagnose_connect_endpoint(
        self: StripeHost, ctx: TenantContext, url: str, *, has_secret: bool
    ) -> WebhookDiagnosis:
        if self.options.emulator == "localstripe":
            return WebhookDiagnosis(endpoint="unknown", note=NO_ENDPOINT_API)
        with stripe_errors():
            try:
                found = await _all_endpoints(self.client(ctx).v1.webhook_endpoints)
            except stripe.PermissionError:
                return UNKNOWN_ENDPOINT
        keep = match_connect(found, url, has_secret=has_secret).keep
        if keep is None:
            return WebhookDiagnosis(endpoint="missing")
        return WebhookDiagnosis(
            endpoint="enabled" if keep.status == "enabled" else "disabled",
            endpoint_id=keep.id,
            url_matches=keep.url == url,
            missing_events=missing_events(keep, CONNECT_EVENTS),
        )

    async def ensure_connect_endpoint(
        self: StripeHost, ctx: TenantContext, url: str, *, has_secret: bool
    ) -> WebhookEndpoint:
        if self.options.emulator == "localstripe":
            raise NotSupported(NO_ENDPOINT_API)
        endpoints = self.client(ctx).v1.webhook_endpoints
        with stripe_errors():
            try:
                match = match_connect(await _all_endpoints(endpoints), url, has_secret=has_secret)
                for endpoint_id in match.stale:
                    await endpoints.delete_async(endpoint_id)  # its secret is unknown: nothing it sends verifies
                keep = match.keep
                if keep is not None:
                    repair: Any = {}
                    if keep.status != "enabled":
                        repair["disabled"] = False
                    if missing_events(keep, CONNECT_EVENTS):
                        repair["enabled_events"] = sorted(set(keep.enabled_events) | set(CONNECT_EVENTS))
                    if keep.url != url:
                        repair["url"] = url
                    if repair:
                        await endpoints.update_async(keep.id, repair)
                    return WebhookEndpoint(endpoint_id=keep.id, action="repaired" if repair else "reused")
                params: Any = {
                    "url": url,
                    "connect": True,
                    "enabled_events": list(CONNECT_EVENTS),
                    "api_version": stripe.api_version,
                    "description": "Payment hub: connected accounts",
                    "metadata": {"hub_tenant_id": ctx.tenant_id, "hub_endpoint": "connect"},
                }
                created = await endpoints.create_async(params)
            except stripe.PermissionError:
                raise InvalidCredentials(
                    "The secret key may not manage webhook endpoints: give connect_webhook_secret, "
                    "or use a key with write access to webhook endpoints",
                    param="connect_webhook_secret",
                ) from None
        made = wire.decode(created, wire.WebhookEndpoint)
        return WebhookEndpoint(endpoint_id=made.id, action="created", secret=made.secret)


def is_connect_endpoint(endpoint: wire.WebhookEndpoint) -> bool:
    """An endpoint for connected accounts' events: made by the hub as one, or sending ``account.updated``
    (Stripe does not say whether an endpoint was made with ``connect=true``; the hub's own endpoint
    for the account never subscribes to account events)."""
    return endpoint.metadata.get("hub_endpoint") == "connect" or "account.updated" in endpoint.enabled_events


def match_connect(existing: list[wire.WebhookEndpoint], url: str, *, has_secret: bool) -> EndpointMatch:
    """The Connect endpoint the hub keeps (at its url, else at its path on an old host), and the stale ones."""
    ours = [e for e in existing if is_connect_endpoint(e) and _path(e.url) == _path(url)]
    ours.sort(key=lambda e: e.url != url)  # the one at the hub's url first
    keep = ours[0] if ours and has_secret else None
    return EndpointMatch(keep, sorted(e.id for e in ours if e is not keep))


class EndpointMatch(NamedTuple):
    """Which of the account's endpoints the hub keeps, and which carry its path but cannot be verified."""

    keep: wire.WebhookEndpoint | None
    stale: list[str]


def match_endpoint(
    existing: list[wire.WebhookEndpoint], url: str, *, known_endpoint_id: str | None, has_secret: bool
) -> EndpointMatch:
    """The one matching rule of both the diagnosis and the repair, so they speak of the same endpoint."""
    known = next((e for e in existing if known_endpoint_id and e.id == known_endpoint_id), None)
    at_url = [e for e in existing if e.url == url]
    # The hub's path on another host or port: an endpoint left behind when the hub moved.
    moved = [e for e in existing if e.url != url and _path(e.url) == _path(url)]
    keep = None
    if has_secret:
        # The secret the hub holds belongs to the endpoint it created, or, for a tenant that set
        # its endpoint up by hand, to the one at the hub's url (else at its path on an old host).
        keep = known or (next(iter([*at_url, *moved]), None) if known_endpoint_id is None else None)
    stale = sorted({e.id for e in [*at_url, *moved, known] if e is not None and e is not keep})
    return EndpointMatch(keep, stale)


def missing_events(endpoint: wire.WebhookEndpoint, wanted: Sequence[str] = SUBSCRIBED_EVENTS) -> tuple[str, ...]:
    """The handled event types the endpoint does not send (none when it sends everything, ``*``)."""
    enabled = set(endpoint.enabled_events)
    return () if "*" in enabled else tuple(sorted(set(wanted) - enabled))


def _path(url: str | None) -> str:
    return urlsplit(url or "").path.rstrip("/")


async def _all_endpoints(endpoints: stripe.WebhookEndpointService) -> list[wire.WebhookEndpoint]:
    found: list[wire.WebhookEndpoint] = []
    params: WebhookEndpointListParams = {"limit": 100}
    while True:
        page = await endpoints.list_async(params)
        found.extend(wire.decode(item, wire.WebhookEndpoint) for item in page.data)
        if not page.has_more or not page.data:
            return found
        params = {"limit": 100, "starting_after": page.data[-1].id}
