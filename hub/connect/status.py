"""A connected account's status, from what its provider reports: the one derivation rule.

- ``rejected``: the provider refused it for good (its disabled reason starts with ``rejected``);
- ``active``: it can take charges and receive payouts;
- ``restricted``: the seller submitted its details, but something is past due or holds it back;
- ``onboarding``: otherwise (the seller has not finished giving its details).
"""

from __future__ import annotations

from providers.base.connect import ConnectedAccountSnapshot
from providers.base.statuses import ConnectedAccountStatus


def account_status(snap: ConnectedAccountSnapshot) -> ConnectedAccountStatus:
    reason = snap.requirements.disabled_reason or ""
    if reason.startswith("rejected"):
        return ConnectedAccountStatus.REJECTED
    if snap.charges_enabled and snap.payouts_enabled:
        return ConnectedAccountStatus.ACTIVE
    if snap.details_submitted and (snap.requirements.past_due or reason):
        return ConnectedAccountStatus.RESTRICTED
    return ConnectedAccountStatus.ONBOARDING
