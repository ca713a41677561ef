"""What becomes of a write whose provider call did not succeed: one declared table.

Every operation run by the driver (hub/operations/driver.py) ends its call in one of four
outcomes. :data:`POLICY` says, for each, what the row the operation made becomes, what the
Idempotency-Key does, and what repairs the rest later. The driver settles, forgets or reopens
the key from this table (with hub/idempotency/route.py, which also applies it to failures outside
the call: the hub refusing, the database going away); each operation's ``failed`` phase changes
its rows as the table's ``row`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from providers.base.errors import CardDeclined, ProviderError, ProviderUnavailable, RateLimited

#: Errors after which the provider may or may not have acted: what was made stays for a retry.
OUTCOME_UNKNOWN = (ProviderUnavailable, RateLimited)

KeyFate = Literal["settle", "forget", "reopen"]


class Outcome(StrEnum):
    #: The card was declined: the provider keeps the failed attempt.
    DECLINED = "declined"
    #: Any other provider error: the provider made nothing.
    REFUSED = "refused"
    #: Unavailable or rate-limited: the provider may or may not have acted.
    UNKNOWN = "outcome_unknown"
    #: Not the provider: the hub refused (a conflict, bad input) or the database failed.
    HUB_FAILED = "hub_failed"


class RowFate(StrEnum):
    #: Kept as the provider's failed attempt (a payment: ``failed`` with its decline code); a row
    #: for an object the provider did not make (a refund) is dropped.
    KEEP_FAILED = "keep_failed"
    #: Deleted: nothing exists at the provider, so nothing is kept in the hub either.
    DROP = "drop"
    #: Kept as it is, its in-flight marker lifted and the error code noted, for the retry to resume.
    KEEP_FOR_RETRY = "keep_for_retry"


@dataclass(frozen=True)
class Rule:
    key: KeyFate
    row: RowFate
    #: What brings the hub and the provider together afterwards.
    repair: str


POLICY: dict[Outcome, Rule] = {
    Outcome.DECLINED: Rule(
        key="settle",  # the decline is the answer, replayed like a success
        row=RowFate.KEEP_FAILED,
        repair="nothing to repair; the customer retries with another card under another key",
    ),
    Outcome.REFUSED: Rule(
        key="forget",  # the key may be used again, with any body
        row=RowFate.DROP,
        repair="nothing to repair: nothing exists anywhere",
    ),
    Outcome.UNKNOWN: Rule(
        key="reopen",  # a retry with the same request takes over at once, under the same seed
        row=RowFate.KEEP_FOR_RETRY,
        repair="a retry with the key resumes the same row and provider idempotency key; a sync finds "
        "the provider's object by its metadata, or marks a creation that never happened failed",
    ),
    Outcome.HUB_FAILED: Rule(
        key="reopen",
        row=RowFate.KEEP_FOR_RETRY,
        repair="a database outage's unwritten rows and key are written once it is back "
        "(hub/idempotency/deferred.py); otherwise a retry with the key resumes",
    ),
}


def classify(exc: BaseException) -> Outcome:
    if isinstance(exc, CardDeclined):
        return Outcome.DECLINED
    if isinstance(exc, OUTCOME_UNKNOWN):
        return Outcome.UNKNOWN
    if isinstance(exc, ProviderError):
        return Outcome.REFUSED
    return Outcome.HUB_FAILED


def rule_for(exc: BaseException) -> Rule:
    return POLICY[classify(exc)]
