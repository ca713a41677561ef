"""Stripe webhook verification and parsing into neutral events, and the tenant's webhook endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import stripe

from providers.base.errors import InvalidCredentials, SignatureInvalid
from providers.base.provider import TenantContext
from providers.base.webhooks import ProviderEvent, WebhookEndpoint
from providers.stripe.credentials import StripeCredentials
from providers.stripe.errors import translate
from providers.stripe.recurring_transformers import RECURRING_EVENTS, recurring_event
from providers.stripe.transformers import HANDLED_EVENTS, event_from_stripe

if TYPE_CHECKING:
    from providers.stripe.host import StripeHost

#: Stripe's own default: a delivery signed more than 5 minutes ago is refused (replay window).
TOLERANCE_SECONDS = 300


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


class StripeWebhooks:
    """Mixed into StripeProvider."""

    def parse_webhook(
        self: StripeHost, ctx: TenantContext, payload: bytes, headers: Mapping[str, str]
    ) -> ProviderEvent:
        creds = ctx.credentials
        assert isinstance(creds, StripeCredentials)
        signature = headers.get("stripe-signature")
        if not signature:
            raise SignatureInvalid("The Stripe-Signature header is missing")
        if not creds.webhook_secrets:
            raise SignatureInvalid("This tenant has no webhook signing secret")
        client = self.client(ctx)
        event = None
        # Current secret first, then the previous one while Stripe may still sign with it.
        for secret in creds.webhook_secrets:
            try:
                event = client.construct_event(payload, signature, secret, tolerance=TOLERANCE_SECONDS)
                break
            except stripe.SignatureVerificationError:
                continue
            except (ValueError, TypeError, AttributeError, KeyError):
                # Signed, but not a Stripe event body: undecodable bytes, not JSON, a thin v2
                # notification, a JSON value that is not an object.
                raise SignatureInvalid("The body is not a Stripe event") from None
        if event is None:
            # Deliberately the same message whatever failed, and never the secret or the header.
            raise SignatureInvalid(
                "The Stripe-Signature does not match this tenant's webhook secret, or its timestamp is too old"
            )
        data = event.to_dict()
        if not _is_event(data):
            raise SignatureInvalid("The body is not a Stripe event")
        return recurring_event(data) or event_from_stripe(data)

    async def ensure_webhook_endpoint(
        self: StripeHost, ctx: TenantContext, url: str, *, known_endpoint_id: str | None, has_secret: bool
    ) -> WebhookEndpoint:
        endpoints = self.client(ctx).v1.webhook_endpoints
        wanted = sorted(HANDLED_EVENTS + RECURRING_EVENTS)
        try:
            existing = await _all_endpoints(endpoints)
            known = next((e for e in existing if known_endpoint_id and e["id"] == known_endpoint_id), None)
            at_url = [e for e in existing if e.get("url") == url]
            keep = None
            if has_secret:
                # The secret the hub holds belongs to the endpoint it created, or, for a tenant
                # that set its endpoint up by hand, to the one at the hub's url.
                keep = known or (at_url[0] if at_url and known_endpoint_id is None else None)
            stale = {e["id"] for e in [*at_url, known] if e is not None and e is not keep}
            for endpoint_id in sorted(stale):
                # Its signing secret is unknown to the hub (e.g. a registration that failed after
                # creating it): nothing it sends could be verified, so it must not linger.
                await endpoints.delete_async(endpoint_id)
            if keep is not None:
                enabled = set(keep.get("enabled_events") or [])
                repair: Any = {}  # the SDK's TypedDict wants Literal event names
                if keep.get("status") != "enabled":
                    repair["disabled"] = False
                if "*" not in enabled and not set(wanted) <= enabled:
                    repair["enabled_events"] = sorted(enabled | set(wanted))
                if keep.get("url") != url:
                    repair["url"] = url
                if repair:
                    await endpoints.update_async(keep["id"], repair)
                return WebhookEndpoint(endpoint_id=keep["id"], action="repaired" if repair else "reused")
            params: Any = {
                "url": url,
                "enabled_events": wanted,
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
        except stripe.StripeError as exc:
            raise translate(exc) from None
        return WebhookEndpoint(endpoint_id=created["id"], action="created", secret=getattr(created, "secret", None))


async def _all_endpoints(endpoints: Any) -> list[Any]:
    found: list[Any] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await endpoints.list_async(params)
        found.extend(item.to_dict() for item in page.data)
        if not page.has_more or not page.data:
            return found
        params = {"limit": 100, "starting_after": page.data[-1]["id"]}
