"""What the schemathesis run over the OpenAPI document found, each kept as the exact input it sent.

Runs on SQLite and PostgreSQL, like the run itself (tests/e2e/test_schema_fuzz.py).
"""

from __future__ import annotations

import pytest

from tests.support.payments import stripe_tenant
from tests.support.problem import assert_problem

ACTIONS = ["capture", "cancel", "refunds"]


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_refused_action_with_an_idempotency_key_can_be_retried_with_the_key_at_once(hub, action):
    # Found as `POST /v1/payments/0/capture` with an Idempotency-Key and no body: on SQLite the refused
    # request's own open read held the write lock while the key was being reopened, so the answer
    # waited for the busy timeout (30 s, every write of the hub stalled meanwhile) and the key stayed
    # "running": the client's retry with its key got 409 idempotency_in_progress instead of an answer.
    tenant, _ = await stripe_tenant(hub)
    headers = {**tenant.admin, "Idempotency-Key": f"{action}-1"}
    for _ in range(2):
        r = await hub.request("POST", f"/v1/payments/0/{action}", headers=headers)
        assert_problem(r, 404, "not_found")

