"""The diagnosis of a tenant's webhook set-up in words a shop owner understands, with the fix.

The one place these sentences live: the health-check carries them (``webhook.advice``) and a
console shows them as they are. ``repair`` says whether pressing Repair
(``POST /v1/providers/{provider}/webhook/repair``) fixes the condition.
"""

from __future__ import annotations

from hub.credentials.schemas import Advice, ConnectWebhookHealth, WebhookHealth


def advise(provider: str, key_error: str | None, f: WebhookHealth, *, note: str | None = None) -> list[Advice]:
    """Each problem found, most fundamental first; empty when the webhook is healthy and has been used.

    ``key_error`` is the health-check's error code for the key itself (``None`` when it works);
    ``note`` is the provider's own reason why the endpoint cannot be known (``WebhookDiagnosis.note``).
    """
    name = provider.replace("_", " ").title()
    out: list[Advice] = []

    def say(condition: str, message: str, *, repair: bool) -> None:
        out.append(Advice(condition=condition, message=message, repair=repair))

    if key_error == "invalid_credentials":
        say(
            "key_rejected",
            f"{name} refuses your secret key (it was revoked or rolled): copy the current secret key "
            f"from the {name} Dashboard and save it here.",
            repair=False,
        )
    elif key_error is not None:
        say(
            "provider_unreachable",
            f"{name} could not be asked just now: press Check connection again in a minute.",
            repair=False,
        )
    if key_error is None and f.endpoint == "unknown" and note:
        say("endpoint_not_supported", note, repair=False)
    elif key_error is None and f.endpoint == "unknown":
        say(
            "endpoint_unknown",
            f"The hub could not read your {name} webhooks (a restricted key without access to webhook "
            f"endpoints, or {name} did not answer), so it cannot check them: give the key read access to "
            f"webhook endpoints (write access lets Repair fix them), or check in the {name} Dashboard that "
            f"an enabled webhook sends to {f.url}.",
            repair=False,
        )
    if f.endpoint == "missing":
        say(
            "endpoint_missing",
            f"{name} has no webhook sending your payment updates to the hub, so the hub never hears of them: "
            f"press Repair to create it, or add a webhook for {f.url} in the {name} Dashboard and save its "
            f"signing secret here.",
            repair=True,
        )
    if f.endpoint == "disabled":
        say(
            "endpoint_disabled",
            f"Your {name} webhook is disabled, so payment updates stop at {name}: enable it in the "
            f"{name} Dashboard, or press Repair.",
            repair=True,
        )
    if f.url_matches is False:
        say(
            "url_mismatch",
            f"Your {name} webhook sends to an old address: change its URL to {f.url} in the {name} "
            f"Dashboard, or press Repair.",
            repair=True,
        )
    if f.missing_events:
        say(
            "events_missing",
            f"Your {name} webhook does not send {len(f.missing_events)} kind(s) of update the hub needs "
            f"({', '.join(f.missing_events)}): add them to the webhook in the {name} Dashboard, or press Repair.",
            repair=True,
        )
    if not f.secret_set:
        say(
            "secret_missing",
            "The hub has no webhook signing secret, so it must refuse every update: press Repair, or copy "
            f"your webhook's signing secret (whsec_…) from the {name} Dashboard and save it here.",
            repair=True,
        )
    failing = f.last_signature_failure_at is not None and (
        f.last_event_at is None or f.last_signature_failure_at > f.last_event_at
    )
    if f.secret_set and failing:
        say(
            "signature_failing",
            "Updates are arriving signed with a secret the hub does not have: the signing secret saved here "
            f"is not your webhook's. Copy the signing secret of the webhook for {f.url} from the {name} "
            "Dashboard and save it here.",
            repair=False,
        )
    if not out and f.last_event_at is None:
        say(
            "no_events_yet",
            f"Everything is set up, but no update has arrived yet: it comes with your next payment, or send "
            f"a test event from the webhook's page in the {name} Dashboard.",
            repair=False,
        )
    return out


def advise_connect(provider: str, url: str, c: ConnectWebhookHealth) -> list[Advice]:
    """What is wrong with the connected accounts' endpoint (sellers' onboarding news), with the fix."""
    name = provider.replace("_", " ").title()
    out: list[Advice] = []
    if c.endpoint == "missing":
        out.append(
            Advice(
                condition="connect_endpoint_missing",
                message=f"{name} has no webhook sending your sellers' account updates to the hub, so a seller "
                f"who finishes onboarding stays 'onboarding' here: press Repair to create it, or add a webhook "
                f"for {url} with 'Events on Connected accounts' in the {name} Dashboard and save its secret.",
                repair=True,
            )
        )
    elif c.endpoint == "disabled":
        out.append(
            Advice(
                condition="connect_endpoint_disabled",
                message=f"Your {name} webhook for connected accounts is disabled: press Repair to enable it.",
                repair=True,
            )
        )
    if c.endpoint in ("enabled", "disabled") and c.url_matches is False:
        out.append(
            Advice(
                condition="connect_url_mismatch",
                message=f"Your {name} webhook for connected accounts sends to another address: press Repair "
                f"to point it at {url}.",
                repair=True,
            )
        )
    if c.missing_events:
        out.append(
            Advice(
                condition="connect_events_missing",
                message=f"Your {name} webhook for connected accounts does not send "
                f"{', '.join(c.missing_events)}: press Repair to add them.",
                repair=True,
            )
        )
    if c.endpoint != "missing" and not c.secret_set:
        out.append(
            Advice(
                condition="connect_secret_missing",
                message=f"The hub has no signing secret for your {name} webhook for connected accounts, so it "
                "cannot trust its events: save it as the Connect webhook secret, or press Repair to replace "
                "the webhook with one whose secret the hub keeps.",
                repair=True,
            )
        )
    return out
