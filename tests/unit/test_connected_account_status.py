"""A connected account's status, from what its provider reports (docs/api.md, "Marketplace")."""

from __future__ import annotations

import pytest

from hub.connect.status import account_status
from providers.base.connect import AccountRequirements, ConnectedAccountSnapshot


def snapshot(*, charges: bool, payouts: bool, submitted: bool, past_due=(), reason=None) -> ConnectedAccountSnapshot:
    return ConnectedAccountSnapshot(
        provider_account_id="acct_1",
        type="express",
        charges_enabled=charges,
        payouts_enabled=payouts,
        details_submitted=submitted,
        transfers_enabled=charges,
        requirements=AccountRequirements(past_due=tuple(past_due), disabled_reason=reason),
    )


@pytest.mark.parametrize(
    ("facts", "status"),
    [
        ({"charges": False, "payouts": False, "submitted": False, "reason": "requirements.past_due"}, "onboarding"),
        ({"charges": True, "payouts": False, "submitted": True}, "onboarding"),  # payouts not yet enabled
        ({"charges": True, "payouts": True, "submitted": True}, "active"),
        ({"charges": False, "payouts": True, "submitted": True, "past_due": ["external_account"]}, "restricted"),
        ({"charges": False, "payouts": False, "submitted": True, "reason": "under_review"}, "restricted"),
        ({"charges": False, "payouts": False, "submitted": False, "reason": "rejected.fraud"}, "rejected"),
        ({"charges": False, "payouts": False, "submitted": True, "reason": "rejected.terms_of_service"}, "rejected"),
    ],
)
def test_the_status_follows_the_rule_of_the_contract(facts: dict, status: str) -> None:
    assert account_status(snapshot(**facts)) == status
