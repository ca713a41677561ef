"""The one table of what a provider error does to an operation's row and its Idempotency-Key."""

from __future__ import annotations

from hub.errors import Conflict
from hub.operations.policy import POLICY, Outcome, RowFate, classify, rule_for
from providers.base.errors import CardDeclined, InvalidRequest, ProviderUnavailable, RateLimited


def test_every_outcome_has_a_rule() -> None:
    assert set(POLICY) == set(Outcome)


def test_a_decline_is_the_answer_replayed_and_the_attempt_kept_as_failed() -> None:
    rule = rule_for(CardDeclined("Your card was declined."))
    assert (rule.key, rule.row) == ("settle", RowFate.KEEP_FAILED)


def test_a_refusal_forgets_the_key_and_drops_the_row() -> None:
    rule = rule_for(InvalidRequest("No such thing", param="x"))
    assert (rule.key, rule.row) == ("forget", RowFate.DROP)


def test_an_unknown_outcome_reopens_the_key_and_keeps_the_row_for_the_retry() -> None:
    for exc in (ProviderUnavailable("down"), RateLimited("slow down")):
        assert classify(exc) is Outcome.UNKNOWN
        assert (rule_for(exc).key, rule_for(exc).row) == ("reopen", RowFate.KEEP_FOR_RETRY)


def test_a_failure_of_the_hub_itself_reopens_the_key() -> None:
    assert classify(Conflict("busy", code="invalid_state")) is Outcome.HUB_FAILED
    assert rule_for(OSError("the database went away")).key == "reopen"
